//! CycloneDX 1.6 JSON: the inventory's components, written by moat-sbom exactly as `moat sbom`
//! writes them, plus a `vulnerabilities` array with one entry per finding.
//!
//! Each entry names its vulnerability, the publishers' pages, every CVSS rating, the advisories,
//! a recommendation and the component it affects (by the component's bom-ref). Suppressed
//! findings carry an `analysis` (`not_affected`, `false_positive` or `resolved`) built from what
//! suppressed them. Packages that a finding names but the inventory lacks (or a report without an
//! inventory) are added as components, so every `affects` reference resolves.

use crate::links::{id_source, is_web_url, rfc3339};
use crate::{ReportError, WriteOptions};
use moat_core::{AffectedPackage, FixStatus, Inventory, Package, PackageType, Report, VulnerabilityFinding};
use moat_sbom::cyclonedx_vulnerability::{
    Advisory, Affect, AffectedStatus, AffectedVersion, Analysis, AnalysisJustification, AnalysisState,
    Property, Rating, RatingSeverity, ScoreMethod, Vulnerability, VulnerabilityReference,
    VulnerabilitySource,
};
use moat_sbom::CycloneDxVersion;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Longest version CycloneDX accepts in `affects[].versions[].version`.
const MAX_VERSION_LENGTH: usize = 1024;

/// Writes the report as a CycloneDX 1.6 BOM with vulnerabilities.
pub(crate) fn write(
    report: &Report,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let inventory = inventory_with_findings(report);
    let mut refs: BTreeMap<AffectedPackage, String> = BTreeMap::new();
    for (package, bom_ref) in moat_sbom::cyclonedx_bom_refs(&inventory) {
        refs.entry(AffectedPackage::of(&package)).or_insert(bom_ref);
    }
    let vulnerabilities = vulnerabilities(report, &refs);
    let sbom_options = moat_sbom::WriteOptions {
        cyclonedx_version: CycloneDxVersion::V1_6,
        tool_version: options.version().to_string(),
        color: false,
    };
    moat_sbom::write_cyclonedx_with_vulnerabilities(&inventory, &sbom_options, &vulnerabilities, out)?;
    Ok(())
}

/// Every finding with what suppressed it (if anything), by id, then package.
fn all_findings(report: &Report) -> Vec<(&VulnerabilityFinding, Option<&str>)> {
    let mut findings: Vec<(&VulnerabilityFinding, Option<&str>)> = report
        .vulnerabilities
        .iter()
        .map(|f| (f, None))
        .chain(
            report
                .suppressed
                .iter()
                .map(|s| (&s.finding, Some(s.suppressed_by.as_str()))),
        )
        .collect();
    findings.sort_by(|(a, _), (b, _)| (&a.id, &a.package).cmp(&(&b.id, &b.package)));
    findings
}

/// The report's inventory (or an empty one for its source), with a package added for every
/// finding whose package it does not hold.
fn inventory_with_findings(report: &Report) -> Inventory {
    let mut inventory = report.inventory.clone().unwrap_or_else(|| Inventory {
        source: report.source.clone(),
        distro: report.distro.clone(),
        packages: Vec::new(),
        warnings: Vec::new(),
    });
    let mut known: BTreeSet<AffectedPackage> = inventory.packages.iter().map(AffectedPackage::of).collect();
    for (finding, _) in all_findings(report) {
        if known.insert(finding.package.clone()) {
            inventory.packages.push(package_of(&finding.package));
        }
    }
    inventory
}

/// An inventory package with the identity of `affected` (the inverse of [`AffectedPackage::of`]).
fn package_of(affected: &AffectedPackage) -> Package {
    let (namespace, name) = match affected.name.split_once(':') {
        Some((group, artifact)) if affected.package_type == PackageType::JavaArchive => {
            (Some(group.to_string()), artifact.to_string())
        }
        _ => (None, affected.name.clone()),
    };
    let mut package = Package::new(
        affected.package_type,
        name,
        affected.version.clone(),
        affected.path.clone(),
        "",
    );
    package.namespace = namespace;
    package.purl = affected.purl.clone();
    if let Some(location) = package.locations.first_mut() {
        location.layer = affected.layer.clone();
    }
    package
}

fn vulnerabilities(report: &Report, refs: &BTreeMap<AffectedPackage, String>) -> Vec<Vulnerability> {
    let mut used_refs = BTreeSet::new();
    all_findings(report)
        .into_iter()
        .map(|(finding, suppressed_by)| {
            let component = refs.get(&finding.package).cloned().unwrap_or_default();
            let mut entry = vulnerability(finding, &component, suppressed_by);
            entry.bom_ref = Some(unique_ref(&finding.id, &component, &mut used_refs));
            entry
        })
        .collect()
}

/// `vuln:ID:HASH` with a hash of the component's bom-ref, suffixed when a pair repeats.
fn unique_ref(id: &str, component: &str, used: &mut BTreeSet<String>) -> String {
    let digest = Sha256::digest(component.as_bytes());
    let base = format!("vuln:{id}:{}", hex::encode(digest.get(..8).unwrap_or_default()));
    let mut candidate = base.clone();
    let mut suffix = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}-{suffix}");
        suffix += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn vulnerability(
    finding: &VulnerabilityFinding,
    component: &str,
    suppressed_by: Option<&str>,
) -> Vulnerability {
    let (description, detail) = match finding.title.is_empty() {
        true => (non_empty(&finding.description), None),
        false => (non_empty(&finding.title), non_empty(&finding.description)),
    };
    Vulnerability {
        bom_ref: None,
        id: finding.id.clone(),
        source: Some(source_of(&finding.id, finding)),
        references: finding
            .aliases
            .iter()
            .map(|alias| VulnerabilityReference {
                id: alias.clone(),
                source: source_of(alias, finding),
            })
            .collect(),
        ratings: ratings(finding),
        description,
        detail,
        recommendation: Some(recommendation(finding)),
        advisories: finding
            .references
            .iter()
            .filter(|r| is_web_url(r))
            .map(|url| Advisory { url: url.clone() })
            .collect(),
        published: rfc3339(&finding.published),
        updated: rfc3339(&finding.modified),
        analysis: suppressed_by.map(analysis),
        affects: vec![affect(finding, component)],
        properties: properties(finding),
    }
}

/// The publisher of `id`: a well-known one by its prefix, else the data source it was
/// matched from.
fn source_of(id: &str, finding: &VulnerabilityFinding) -> VulnerabilitySource {
    match id_source(id) {
        Some(source) => VulnerabilitySource {
            name: Some(source.name.to_string()),
            url: Some(source.url),
        },
        None => VulnerabilitySource {
            name: finding
                .matched_by
                .iter()
                .find(|m| m.record == id)
                .or(finding.matched_by.first())
                .map(|m| m.source.clone()),
            url: None,
        },
    }
}

/// One rating per CVSS vector; without any, the severity the finding has from its ecosystem.
fn ratings(finding: &VulnerabilityFinding) -> Vec<Rating> {
    if finding.cvss.is_empty() {
        return match finding.severity {
            moat_core::Severity::Unknown => Vec::new(),
            severity => vec![Rating {
                source: Some(VulnerabilitySource {
                    name: non_empty(&finding.severity_source),
                    url: None,
                }),
                score: None,
                severity: Some(RatingSeverity::from(severity)),
                method: Some(ScoreMethod::Other),
                vector: None,
            }],
        };
    }
    finding
        .cvss
        .iter()
        .map(|cvss| Rating {
            source: Some(VulnerabilitySource {
                name: non_empty(&cvss.source),
                url: None,
            }),
            score: Some(cvss.score),
            severity: Some(RatingSeverity::from(cvss.severity)),
            method: Some(score_method(&cvss.version)),
            vector: non_empty(&cvss.vector),
        })
        .collect()
}

fn score_method(cvss_version: &str) -> ScoreMethod {
    match cvss_version.trim() {
        "2" | "2.0" => ScoreMethod::CvssV2,
        "3" | "3.0" => ScoreMethod::CvssV3,
        "3.1" => ScoreMethod::CvssV31,
        "4" | "4.0" => ScoreMethod::CvssV4,
        _ => ScoreMethod::Other,
    }
}

/// `Upgrade NAME to VERSION` (or to one of several), or what the data says about a missing fix.
fn recommendation(finding: &VulnerabilityFinding) -> String {
    let name = &finding.package.name;
    match (finding.fixed_versions.as_slice(), finding.status) {
        ([only], _) => format!("Upgrade {name} to {only}"),
        ([_, _, ..], _) => format!("Upgrade {name} to one of {}", finding.fixed_versions.join(", ")),
        ([], FixStatus::WillNotFix) => format!("No fix: the distribution will not fix {name}"),
        ([], _) => format!("No fixed version of {name} is known yet"),
    }
}

fn affect(finding: &VulnerabilityFinding, component: &str) -> Affect {
    let version = &finding.package.version;
    let versions = match version.is_empty() || version.len() > MAX_VERSION_LENGTH {
        true => Vec::new(),
        false => vec![AffectedVersion {
            version: version.clone(),
            status: AffectedStatus::Affected,
        }],
    };
    Affect {
        reference: component.to_string(),
        versions,
    }
}

/// The analysis of a suppressed finding, read from what suppressed it: moat-match writes
/// `.moatignore:LINE`, `openvex FILE: STATUS (JUSTIFICATION)` or
/// `cyclonedx vex FILE: STATE (JUSTIFICATION)`; the whole text goes into `detail`.
fn analysis(suppressed_by: &str) -> Analysis {
    let statement = suppressed_by
        .rsplit_once(": ")
        .map(|(_, statement)| statement)
        .unwrap_or_default();
    let (status, reason) = match statement.split_once(" (") {
        Some((status, rest)) => (status.trim(), rest.trim_end().trim_end_matches(')')),
        None => (statement.trim(), ""),
    };
    let state = match status {
        "false_positive" => AnalysisState::FalsePositive,
        "fixed" | "resolved" => AnalysisState::Resolved,
        _ => AnalysisState::NotAffected,
    };
    let justification = match state {
        AnalysisState::NotAffected => justification(reason),
        _ => None,
    };
    Analysis {
        state,
        justification,
        detail: Some(format!("suppressed by {suppressed_by}")),
    }
}

/// A CycloneDX justification, or the OpenVEX one that means the same thing. OpenVEX's
/// `vulnerable_code_cannot_be_controlled_by_adversary` has no single CycloneDX equivalent and is
/// left to the detail text.
fn justification(word: &str) -> Option<AnalysisJustification> {
    let justification = match word {
        "code_not_present" | "component_not_present" | "vulnerable_code_not_present" => {
            AnalysisJustification::CodeNotPresent
        }
        "code_not_reachable" | "vulnerable_code_not_in_execute_path" => {
            AnalysisJustification::CodeNotReachable
        }
        "requires_configuration" => AnalysisJustification::RequiresConfiguration,
        "requires_dependency" => AnalysisJustification::RequiresDependency,
        "requires_environment" => AnalysisJustification::RequiresEnvironment,
        "protected_by_compiler" => AnalysisJustification::ProtectedByCompiler,
        "protected_at_runtime" => AnalysisJustification::ProtectedAtRuntime,
        "protected_at_perimeter" => AnalysisJustification::ProtectedAtPerimeter,
        "protected_by_mitigating_control" | "inline_mitigations_already_exist" => {
            AnalysisJustification::ProtectedByMitigatingControl
        }
        _ => return None,
    };
    Some(justification)
}

/// Facts CycloneDX has no field for: fix status and versions, KEV and EPSS.
fn properties(finding: &VulnerabilityFinding) -> Vec<Property> {
    let mut properties = vec![Property::new("moat:fixStatus", finding.status.as_str())];
    properties.extend(
        finding
            .fixed_versions
            .iter()
            .map(|v| Property::new("moat:fixedVersion", v)),
    );
    if let Some(kev) = &finding.kev {
        properties.push(Property::new("moat:kev:dateAdded", &kev.date_added));
        if !kev.due_date.is_empty() {
            properties.push(Property::new("moat:kev:dueDate", &kev.due_date));
        }
        properties.push(Property::new(
            "moat:kev:knownRansomware",
            kev.known_ransomware.to_string(),
        ));
    }
    if let Some(epss) = &finding.epss {
        properties.push(Property::new("moat:epss:score", epss.score.to_string()));
        properties.push(Property::new("moat:epss:percentile", epss.percentile.to_string()));
        if !epss.date.is_empty() {
            properties.push(Property::new("moat:epss:date", &epss.date));
        }
    }
    properties
}

fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_from_what_suppressed() {
        let ignore = analysis(".moatignore:3");
        assert_eq!(ignore.state, AnalysisState::NotAffected);
        assert_eq!(ignore.justification, None);
        assert_eq!(ignore.detail.as_deref(), Some("suppressed by .moatignore:3"));
        let openvex = analysis("openvex vex.json: not_affected (vulnerable_code_not_in_execute_path)");
        assert_eq!(openvex.state, AnalysisState::NotAffected);
        assert_eq!(
            openvex.justification,
            Some(AnalysisJustification::CodeNotReachable)
        );
        let cyclonedx = analysis("cyclonedx vex bom.json: false_positive (false_positive)");
        assert_eq!(cyclonedx.state, AnalysisState::FalsePositive);
        assert_eq!(cyclonedx.justification, None);
        assert_eq!(
            analysis("openvex v.json: fixed (fixed)").state,
            AnalysisState::Resolved
        );
        let tricky_name = analysis("openvex fixed: list.json: not_affected (component_not_present)");
        assert_eq!(tricky_name.state, AnalysisState::NotAffected);
        assert_eq!(
            tricky_name.justification,
            Some(AnalysisJustification::CodeNotPresent)
        );
    }

    #[test]
    fn java_names_split_back_into_group_and_artifact() {
        let mut package = Package::new(
            PackageType::JavaArchive,
            "log4j-core",
            "2.14.1",
            "/app/app.jar",
            "java-archive-cataloger",
        );
        package.namespace = Some("org.apache.logging.log4j".to_string());
        let affected = AffectedPackage::of(&package);
        assert_eq!(AffectedPackage::of(&package_of(&affected)), affected);
    }
}
