//! Matching an inventory against advisory records. Each package is looked up under the keys
//! its ecosystem's data uses ([`query`]), each record's `affected` entries are evaluated with
//! the ecosystem's version order ([`range`]), and the records that name the same vulnerability
//! (by id, alias or upstream id) become one finding that lists every record and range that
//! matched ([`finding`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod finding;
pub mod query;
pub mod range;
pub mod suppress;

use moat_core::{
    DatabaseInfo, EpssScore, FixStatus, Inventory, KevEntry, Package, Report, Severity, VulnerabilityFinding,
    Warning,
};
use moat_vulndb::osv::{normalize_name, StoredRecord};
use std::collections::BTreeSet;

/// Where advisories come from: the SQLite store in production, anything in tests.
pub trait AdvisorySource {
    /// The source's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Records with an `affected` entry for `name` in `ecosystem` (exact, with release).
    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Vec<StoredRecord>, Self::Error>;
    /// The KEV entry for a CVE id.
    fn kev(&self, cve: &str) -> Result<Option<KevEntry>, Self::Error>;
    /// The EPSS figures for a CVE id.
    fn epss(&self, cve: &str) -> Result<Option<EpssScore>, Self::Error>;
}

impl AdvisorySource for moat_vulndb::Store {
    type Error = moat_vulndb::DbError;

    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Vec<StoredRecord>, Self::Error> {
        moat_vulndb::Store::advisories(self, ecosystem, name)
    }

    fn kev(&self, cve: &str) -> Result<Option<KevEntry>, Self::Error> {
        moat_vulndb::Store::kev(self, cve)
    }

    fn epss(&self, cve: &str) -> Result<Option<EpssScore>, Self::Error> {
        moat_vulndb::Store::epss(self, cve)
    }
}

/// A lookup in the advisory source failed.
#[derive(Debug, thiserror::Error)]
#[error("looking up advisories for {ecosystem} {name}: {source}")]
pub struct MatchError<E: std::error::Error + 'static> {
    /// The ecosystem looked up.
    pub ecosystem: String,
    /// The package name looked up.
    pub name: String,
    /// The source's error.
    #[source]
    pub source: E,
}

/// The findings for an inventory, and what could not be matched.
#[derive(Debug, Clone, Default)]
pub struct MatchOutcome {
    /// One finding per (package, vulnerability), unsorted.
    pub findings: Vec<VulnerabilityFinding>,
    /// Packages or ranges that could not be evaluated.
    pub warnings: Vec<Warning>,
}

/// Matches every package of `inventory` against `source`.
pub fn match_inventory<S: AdvisorySource>(
    inventory: &Inventory,
    source: &S,
) -> Result<MatchOutcome, MatchError<S::Error>> {
    let mut outcome = MatchOutcome::default();
    let mut unmatchable = BTreeSet::new();
    for package in &inventory.packages {
        let queries = match query::queries_for(package, inventory.distro.as_ref()) {
            Ok(queries) => queries,
            Err(reason) => {
                unmatchable.insert(reason.reason);
                continue;
            }
        };
        let hits = package_hits(package, &queries, source, &mut outcome.warnings)?;
        for group in finding::group_by_vulnerability(hits) {
            let finding =
                finding::build(package, group, |cve| lookup_enrichment(source, cve)).map_err(|source| {
                    MatchError {
                        ecosystem: "kev/epss".to_string(),
                        name: package.name.clone(),
                        source,
                    }
                })?;
            outcome.findings.push(finding);
        }
    }
    outcome
        .warnings
        .extend(unmatchable.into_iter().map(|message| Warning {
            path: inventory.source.name.clone(),
            layer: None,
            message,
        }));
    Ok(outcome)
}

/// What a scan keeps and hides.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Severities to report; empty means all.
    pub severities: Vec<Severity>,
    /// Leave out findings that have no fix.
    pub ignore_unfixed: bool,
    /// `.moatignore` and VEX rules.
    pub rules: Vec<suppress::Rule>,
    /// Today's date (`YYYY-MM-DD`), for rule expiry.
    pub today: String,
    /// The advisory data used, for the report.
    pub database: Option<DatabaseInfo>,
}

/// Matches `inventory` against `source` and builds the report: findings filtered by severity
/// and fix status, then suppressed by the rules, sorted.
pub fn scan_inventory<S: AdvisorySource>(
    inventory: Inventory,
    source: &S,
    options: &ScanOptions,
) -> Result<Report, MatchError<S::Error>> {
    let outcome = match_inventory(&inventory, source)?;
    let wanted = |finding: &VulnerabilityFinding| {
        (options.severities.is_empty() || options.severities.contains(&finding.severity))
            && !(options.ignore_unfixed && finding.status != FixStatus::Fixed)
    };
    let mut report = Report {
        source: inventory.source.clone(),
        distro: inventory.distro.clone(),
        database: options.database.clone(),
        vulnerabilities: outcome.findings.into_iter().filter(wanted).collect(),
        secrets: Vec::new(),
        misconfigurations: Vec::new(),
        suppressed: Vec::new(),
        warnings: inventory
            .warnings
            .iter()
            .cloned()
            .chain(outcome.warnings)
            .collect(),
        inventory: Some(inventory),
    };
    suppress::apply(&mut report, &options.rules, &options.today);
    report.normalize();
    Ok(report)
}

fn lookup_enrichment<S: AdvisorySource>(
    source: &S,
    cve: &str,
) -> Result<(Option<KevEntry>, Option<EpssScore>), S::Error> {
    Ok((source.kev(cve)?, source.epss(cve)?))
}

/// Every (record, range) that says `package` is affected, over all of its queries.
fn package_hits<S: AdvisorySource>(
    package: &Package,
    queries: &[query::Query],
    source: &S,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<finding::Hit>, MatchError<S::Error>> {
    let mut hits: Vec<finding::Hit> = Vec::new();
    for query in queries {
        let records = source
            .advisories(&query.ecosystem, &query.name)
            .map_err(|source| MatchError {
                ecosystem: query.ecosystem.clone(),
                name: query.name.clone(),
                source,
            })?;
        let wanted_name = normalize_name(&query.ecosystem, &query.name);
        for stored in records {
            if hits
                .iter()
                .any(|hit| hit.record.source == stored.source && hit.record.record.id == stored.record.id)
            {
                continue;
            }
            let stored = std::rc::Rc::new(stored);
            let found = finding::record_hits(&stored, query, &wanted_name, |message| {
                warnings.push(Warning {
                    path: package.primary_path().to_string(),
                    layer: None,
                    message: format!(
                        "{} ({} in {}): {message}",
                        stored.record.id, query.name, query.ecosystem
                    ),
                })
            });
            hits.extend(found);
        }
    }
    Ok(hits)
}
