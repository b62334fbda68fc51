//! From matched records to findings: records that share an id, alias or upstream id are one
//! vulnerability; its finding takes the CVE id where there is one, the best severity the data
//! gives, every fixed version and every reason.

use crate::query::Query;
use crate::range::{evaluate, RangeHit};
use moat_core::{
    cvss, AffectedPackage, CvssRating, EpssScore, FixStatus, KevEntry, MatchReason, Package, Severity,
    VulnerabilityFinding,
};
use moat_vulndb::osv::{normalize_name, Affected, Record, SeverityEntry, StoredRecord};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// A record that matched a package, with why and the fix of the matching range.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The record, shared by all of its hits (records can be large: PyPI ones list every
    /// affected version).
    pub record: Rc<StoredRecord>,
    /// The affected entry (index into `record.affected`) that matched.
    pub affected_index: usize,
    /// Why.
    pub reason: MatchReason,
    /// The fixed version of the matching range, if it has one.
    pub fixed: Option<String>,
    /// The comparator of the entry, for sorting fixed versions.
    pub scheme: Option<moat_version::Ecosystem>,
}

impl Hit {
    fn affected(&self) -> Option<&Affected> {
        self.record.record.affected.get(self.affected_index)
    }
}

/// The hits of one record for one query; `problem` receives ranges that could not be read.
pub fn record_hits(
    stored: &Rc<StoredRecord>,
    query: &Query,
    wanted_name: &str,
    mut problem: impl FnMut(String),
) -> Vec<Hit> {
    if stored.record.withdrawn.is_some() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for (index, affected) in stored.record.affected.iter().enumerate() {
        let package = &affected.package;
        if package.ecosystem != query.ecosystem
            || normalize_name(&package.ecosystem, &package.name) != wanted_name
        {
            continue;
        }
        let scheme = crate::range::scheme_for("ECOSYSTEM", &package.ecosystem);
        let (range_hits, problems) = evaluate(affected, &query.version, scheme);
        for range_problem in problems {
            problem(range_problem.message);
        }
        hits.extend(range_hits.into_iter().map(|RangeHit { description, fixed }| Hit {
            record: Rc::clone(stored),
            affected_index: index,
            reason: MatchReason {
                record: stored.record.id.clone(),
                source: stored.source.clone(),
                ecosystem: package.ecosystem.clone(),
                package: package.name.clone(),
                matched_on: query.matched_on.clone(),
                range: description,
            },
            fixed,
            scheme,
        }));
    }
    hits
}

/// Splits hits into groups, one per vulnerability: two hits are in one group when their
/// records share any id (own id, alias or upstream id), directly or through other records.
pub fn group_by_vulnerability(hits: Vec<Hit>) -> Vec<Vec<Hit>> {
    let mut group_of_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    for (index, hit) in hits.iter().enumerate() {
        for id in hit.record.record.all_ids() {
            match group_of_id.get(id) {
                Some(&other) => union(&mut parent, index, other),
                None => {
                    group_of_id.insert(id.to_string(), index);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<Hit>> = BTreeMap::new();
    for (index, hit) in hits.into_iter().enumerate() {
        let root = find(&mut parent, index);
        groups.entry(root).or_default().push(hit);
    }
    groups.into_values().collect()
}

fn find(parent: &mut [usize], mut node: usize) -> usize {
    while parent[node] != node {
        parent[node] = parent[parent[node]];
        node = parent[node];
    }
    node
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (root_a, root_b) = (find(parent, a), find(parent, b));
    if root_a != root_b {
        parent[root_a.max(root_b)] = root_a.min(root_b);
    }
}

/// The finding for one group of hits on `package`; `enrich` looks up KEV and EPSS for a CVE.
pub fn build<E>(
    package: &Package,
    mut group: Vec<Hit>,
    mut enrich: impl FnMut(&str) -> Result<(Option<KevEntry>, Option<EpssScore>), E>,
) -> Result<VulnerabilityFinding, E> {
    group.sort_by(|a, b| a.reason.cmp(&b.reason));
    let ids: BTreeSet<&str> = group.iter().flat_map(|hit| hit.record.record.all_ids()).collect();
    let id = primary_id(&ids, &group);
    let aliases = ids
        .iter()
        .filter(|other| **other != id)
        .map(|s| s.to_string())
        .collect();
    let primary = group
        .iter()
        .find(|hit| hit.record.record.id == id)
        .or(group.first())
        .map(|hit| &hit.record.record);
    let cvss = cvss_ratings(&group);
    let (severity, severity_source) = severity_of(&cvss, &group);
    let fixed_versions = fixed_versions(&group);
    let status = fix_status(&fixed_versions, &group);
    let (kev, epss) = enrichment(&ids, &mut enrich)?;
    Ok(VulnerabilityFinding {
        id: id.clone(),
        aliases,
        title: primary.map(title_of).unwrap_or_default(),
        description: primary.map(|r| r.details.clone()).unwrap_or_default(),
        severity,
        severity_source,
        cvss,
        package: AffectedPackage::of(package),
        fixed_versions,
        status,
        kev,
        epss,
        references: references(&group),
        published: latest(&group, |r| &r.published),
        modified: latest(&group, |r| &r.modified),
        matched_by: dedup_reasons(&group),
    })
}

/// The CVE id where the group has one (the lowest, for determinism), else the lowest record id.
fn primary_id(ids: &BTreeSet<&str>, group: &[Hit]) -> String {
    if let Some(cve) = ids.iter().find(|id| id.starts_with("CVE-")) {
        return cve.to_string();
    }
    group
        .iter()
        .map(|hit| hit.record.record.id.as_str())
        .min()
        .unwrap_or_default()
        .to_string()
}

/// The summary, else the first line of the details.
fn title_of(record: &Record) -> String {
    if !record.summary.trim().is_empty() {
        return record.summary.trim().to_string();
    }
    record
        .details
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Every CVSS vector of the group's records and matched entries, scored; unreadable vectors
/// are left out.
fn cvss_ratings(group: &[Hit]) -> Vec<CvssRating> {
    let mut ratings: Vec<CvssRating> = Vec::new();
    for hit in group {
        let record = &hit.record.record;
        let entry_severity = hit.affected().map(|a| a.severity.as_slice()).unwrap_or_default();
        for entry in record.severity.iter().chain(entry_severity) {
            let Some(rating) = rate(entry, &record.id) else {
                continue;
            };
            if !ratings.iter().any(|known| known.vector == rating.vector) {
                ratings.push(rating);
            }
        }
    }
    ratings
}

fn rate(entry: &SeverityEntry, record_id: &str) -> Option<CvssRating> {
    if !entry.kind.starts_with("CVSS_") {
        return None;
    }
    let score = cvss::score(&entry.score).ok()?;
    Some(CvssRating {
        version: score.version.as_str().to_string(),
        vector: entry.score.clone(),
        score: score.base_score,
        severity: score.severity,
        source: record_id.to_string(),
    })
}

/// The severity: from CVSS v3.x where the data has it (what Trivy and Grype show), else v4.0,
/// else v2, the highest score of that version; else the ecosystem's own word; else unknown.
fn severity_of(cvss: &[CvssRating], group: &[Hit]) -> (Severity, String) {
    let preference = ["3.1", "3.0", "4.0", "2.0"];
    for version in preference {
        let best = cvss
            .iter()
            .filter(|rating| rating.version == version)
            .max_by(|a, b| a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal));
        if let Some(rating) = best {
            return (rating.severity, format!("cvss-v{version}"));
        }
    }
    let word = group.iter().filter_map(ecosystem_severity).max();
    match word {
        Some(severity) => (severity, "ecosystem".to_string()),
        None => (Severity::Unknown, "none".to_string()),
    }
}

/// The ecosystem's own rating in a hit: GitHub's `database_specific.severity`, an entry's
/// `ecosystem_specific.severity`, Debian's `urgency`, Ubuntu's severity entries.
fn ecosystem_severity(hit: &Hit) -> Option<Severity> {
    let record = &hit.record.record;
    let affected = hit.affected();
    let words = [
        text_field(record.database_specific.as_ref(), "severity"),
        text_field(affected.and_then(|a| a.ecosystem_specific.as_ref()), "severity"),
        text_field(affected.and_then(|a| a.database_specific.as_ref()), "severity"),
        text_field(affected.and_then(|a| a.ecosystem_specific.as_ref()), "urgency"),
    ];
    let ubuntu = record
        .severity
        .iter()
        .filter(|e| e.kind == "Ubuntu")
        .map(|e| e.score.as_str());
    words
        .into_iter()
        .flatten()
        .chain(ubuntu)
        .filter_map(Severity::from_ecosystem_word)
        .max()
}

fn text_field<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a str> {
    value?.get(key)?.as_str()
}

/// The distinct fixed versions, lowest first in the package's version order.
fn fixed_versions(group: &[Hit]) -> Vec<String> {
    let scheme = group.iter().find_map(|hit| hit.scheme);
    let mut fixed: Vec<String> = group.iter().filter_map(|hit| hit.fixed.clone()).collect();
    crate::range::insertion_sort_by(&mut fixed, |a, b| match scheme {
        Some(scheme) => moat_version::compare(scheme, a, b).unwrap_or_else(|_| a.cmp(b)),
        None => a.cmp(b),
    });
    fixed.dedup();
    fixed
}

/// Fixed when a fix is known; will-not-fix when Debian's data rates it `unimportant` or says
/// the release is end-of-life; unfixed otherwise.
fn fix_status(fixed_versions: &[String], group: &[Hit]) -> FixStatus {
    if !fixed_versions.is_empty() {
        return FixStatus::Fixed;
    }
    let wont_fix = group.iter().any(|hit| {
        let urgency = text_field(
            hit.affected().and_then(|a| a.ecosystem_specific.as_ref()),
            "urgency",
        );
        matches!(urgency, Some("unimportant" | "end-of-life"))
    });
    match wont_fix {
        true => FixStatus::WillNotFix,
        false => FixStatus::Unfixed,
    }
}

/// The first KEV entry and EPSS figures found for the group's CVE ids.
fn enrichment<E>(
    ids: &BTreeSet<&str>,
    enrich: &mut impl FnMut(&str) -> Result<(Option<KevEntry>, Option<EpssScore>), E>,
) -> Result<(Option<KevEntry>, Option<EpssScore>), E> {
    let (mut kev, mut epss) = (None, None);
    for cve in ids.iter().filter(|id| id.starts_with("CVE-")) {
        let (found_kev, found_epss) = enrich(cve)?;
        kev = kev.or(found_kev);
        epss = epss.or(found_epss);
    }
    Ok((kev, epss))
}

fn references(group: &[Hit]) -> Vec<String> {
    let urls: BTreeSet<&str> = group
        .iter()
        .flat_map(|hit| hit.record.record.references.iter().map(|r| r.url.as_str()))
        .collect();
    urls.into_iter().map(str::to_string).collect()
}

fn latest(group: &[Hit], field: impl Fn(&Record) -> &String) -> String {
    group
        .iter()
        .map(|hit| field(&hit.record.record))
        .max()
        .cloned()
        .unwrap_or_default()
}

fn dedup_reasons(group: &[Hit]) -> Vec<MatchReason> {
    let reasons: BTreeSet<&MatchReason> = group.iter().map(|hit| &hit.reason).collect();
    reasons.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_core::PackageType;

    fn record(json: serde_json::Value) -> StoredRecord {
        StoredRecord {
            source: "osv".to_string(),
            record: serde_json::from_value(json).expect("valid record"),
        }
    }

    fn query(ecosystem: &str, name: &str, version: &str) -> Query {
        Query {
            ecosystem: ecosystem.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            matched_on: "package".to_string(),
        }
    }

    fn findings(records: &[StoredRecord], query: &Query, package: &Package) -> Vec<VulnerabilityFinding> {
        let wanted = normalize_name(&query.ecosystem, &query.name);
        let hits: Vec<Hit> = records
            .iter()
            .flat_map(|r| {
                record_hits(&Rc::new(r.clone()), query, &wanted, |p| {
                    panic!("unexpected problem {p}")
                })
            })
            .collect();
        group_by_vulnerability(hits)
            .into_iter()
            .map(|group| build(package, group, |_| Ok::<_, ()>((None, None))).expect("no lookup errors"))
            .collect()
    }

    fn pypi(id: &str, aliases: &[&str], fixed: &str, extra: serde_json::Value) -> StoredRecord {
        let mut json = serde_json::json!({
            "id": id, "aliases": aliases, "summary": format!("summary of {id}"),
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Requests"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
        });
        if let (Some(target), Some(extra)) = (json.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        record(json)
    }

    #[test]
    fn records_sharing_an_alias_are_one_finding_named_by_its_cve() {
        let records = [
            pypi(
                "PYSEC-2018-28",
                &["CVE-2018-18074", "GHSA-x84v"],
                "2.20.0",
                serde_json::json!({}),
            ),
            pypi(
                "GHSA-x84v",
                &["CVE-2018-18074"],
                "2.20",
                serde_json::json!({
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}),
            ),
            pypi(
                "PYSEC-2023-74",
                &["CVE-2023-32681"],
                "2.31.0",
                serde_json::json!({
                "database_specific": {"severity": "MODERATE"}}),
            ),
            pypi("PYSEC-2099-1", &[], "2.0.0", serde_json::json!({})),
        ];
        let package = Package::new(
            PackageType::Python,
            "requests",
            "2.19.1",
            "/site-packages/requests",
            "t",
        );
        let found = findings(&records, &query("PyPI", "requests", "2.19.1"), &package);
        assert_eq!(found.len(), 2, "{found:#?}");
        let first = &found[0];
        assert_eq!(first.id, "CVE-2018-18074");
        assert_eq!(first.aliases, ["GHSA-x84v", "PYSEC-2018-28"]);
        assert_eq!(first.matched_by.len(), 2);
        assert_eq!(first.severity, Severity::High);
        assert_eq!(first.severity_source, "cvss-v3.1");
        assert_eq!(first.cvss[0].score, 7.5);
        assert_eq!(
            first.fixed_versions,
            ["2.20", "2.20.0"],
            "PEP 440 order keeps both spellings"
        );
        assert_eq!(first.status, FixStatus::Fixed);
        assert_eq!(first.title, "summary of GHSA-x84v");
        let second = &found[1];
        assert_eq!(second.id, "CVE-2023-32681");
        assert_eq!(
            (second.severity, second.severity_source.as_str()),
            (Severity::Medium, "ecosystem")
        );
    }

    #[test]
    fn debian_unimportant_without_fix_is_will_not_fix_and_low() {
        let records = [record(serde_json::json!({
            "id": "CVE-2024-1013",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "unixodbc"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                          "ecosystem_specific": {"urgency": "unimportant"}}]
        }))];
        let package = Package::new(
            PackageType::Deb,
            "libodbc2",
            "2.3.11-2",
            "/var/lib/dpkg/status",
            "t",
        );
        let found = findings(&records, &query("Debian:12", "unixodbc", "2.3.11-2"), &package);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, FixStatus::WillNotFix);
        assert_eq!(found[0].severity, Severity::Low);
        assert!(found[0].fixed_versions.is_empty());
    }

    #[test]
    fn other_releases_and_withdrawn_records_do_not_match() {
        let records = [
            record(
                serde_json::json!({"id": "A-1", "affected": [{"package": {"ecosystem": "Alpine:v3.11", "name": "musl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3-r4"}]}]}]}),
            ),
            record(
                serde_json::json!({"id": "A-2", "withdrawn": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "Alpine:v3.18", "name": "musl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3-r4"}]}]}]}),
            ),
            record(
                serde_json::json!({"id": "A-3", "affected": [{"package": {"ecosystem": "Alpine:v3.18", "name": "musl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.4-r1"}]}]}]}),
            ),
        ];
        let package = Package::new(PackageType::Apk, "musl", "1.2.3-r5", "/lib/apk/db/installed", "t");
        let found = findings(&records, &query("Alpine:v3.18", "musl", "1.2.3-r5"), &package);
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["A-3"]);
        assert_eq!(found[0].fixed_versions, ["1.2.4-r1"]);
    }
}
