//! SARIF 2.1.0: one run of `moat`, one rule per vulnerability id, secret rule (`secret:RULE`)
//! and misconfiguration check (`DF002`), one result per finding.
//!
//! Vulnerability results point at the file the package was read from (its path without the
//! leading `/`, so code-scanning dashboards treat it as relative to the scanned root) and name
//! the package and its layer; secret and misconfiguration results point at their file with the
//! line and column region. Rules carry GitHub's `security-severity` (the CVSS score behind the
//! severity) and results stable `partialFingerprints`, so alerts track across runs. Suppressed
//! findings are written too, with an external suppression saying what suppressed them.

mod findings;
mod model;

use crate::describe::fixed_text;
use crate::links::first_web_url;
use crate::{ReportError, WriteOptions};
use moat_core::{AffectedPackage, Report, Severity, SourceKind, VulnerabilityFinding};
use model::{
    ArtifactLocation, Configuration, Driver, Location, Log, LogicalLocation, Message, MultiformatMessage,
    PhysicalLocation, Region, Rule, Run, SarifResult, Suppression, Tool,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The `$schema` written: the OASIS SARIF 2.1.0 (errata 01) JSON schema.
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The tool's home page, from this crate's `repository` metadata; left out while that is unset.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// The `partialFingerprints` key of a finding's identity.
const FINGERPRINT_KEY: &str = "moatVulnerability/v1";

/// Characters escaped in a result's relative file URI: everything a URI path may not hold.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');
/// In the first segment of a relative URI a `:` would read as a scheme, so it is escaped too.
const FIRST_SEGMENT: &AsciiSet = &PATH.add(b':');

/// Writes the report as a SARIF log.
pub(crate) fn write(
    report: &Report,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let log = Log {
        schema: SARIF_SCHEMA_URI,
        version: "2.1.0",
        runs: vec![run(report, options)?],
    };
    crate::write_pretty_json(&log, out)
}

/// Every finding, reported ones first, each with what suppressed it (if anything).
fn all_findings(report: &Report) -> Vec<(&VulnerabilityFinding, Option<&str>)> {
    let reported = report.vulnerabilities.iter().map(|f| (f, None));
    let suppressed = report
        .suppressed
        .iter()
        .map(|s| (&s.finding, Some(s.suppressed_by.as_str())));
    reported.chain(suppressed).collect()
}

fn run(report: &Report, options: &WriteOptions) -> Result<Run, ReportError> {
    let findings = all_findings(report);
    let mut by_id: BTreeMap<&str, Vec<&VulnerabilityFinding>> = BTreeMap::new();
    for (finding, _) in &findings {
        by_id.entry(finding.id.as_str()).or_default().push(finding);
    }
    let rule_index: BTreeMap<&str, usize> = by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut rules: Vec<Rule> = by_id.values().map(|group| rule(group)).collect();
    let mut results = findings
        .iter()
        .map(|(finding, suppressed_by)| {
            let index = rule_index.get(finding.id.as_str()).copied().unwrap_or_default();
            result(finding, index, *suppressed_by)
        })
        .collect::<Result<Vec<_>, _>>()?;
    findings::add_secrets(&report.secrets, &mut rules, &mut results);
    findings::add_misconfigurations(&report.misconfigurations, &mut rules, &mut results);
    Ok(Run {
        tool: Tool {
            driver: Driver {
                name: "moat",
                version: options.version().to_string(),
                information_uri: crate::links::is_web_url(INFORMATION_URI).then_some(INFORMATION_URI),
                rules,
            },
        },
        results,
        column_kind: "utf16CodeUnits",
        properties: run_properties(report),
    })
}

/// What was scanned, for readers of the log.
fn run_properties(report: &Report) -> Map<String, Value> {
    let source = &report.source;
    let mut properties = Map::new();
    let kind = match source.kind {
        SourceKind::Image => "image",
        SourceKind::Directory => "directory",
        SourceKind::Sbom => "sbom",
    };
    properties.insert("target".into(), json!(source.name));
    properties.insert("targetKind".into(), json!(kind));
    if let Some(id) = &source.image_id {
        properties.insert("imageId".into(), json!(id));
    }
    if let Some(digest) = &source.manifest_digest {
        properties.insert("manifestDigest".into(), json!(digest));
    }
    if !source.repo_digests.is_empty() {
        properties.insert("repoDigests".into(), json!(source.repo_digests));
    }
    if let Some(distro) = &report.distro {
        properties.insert(
            "distro".into(),
            json!(format!("{} {}", distro.id, distro.version_id).trim_end()),
        );
    }
    properties
}

/// The rule for one vulnerability id, from every finding of it (first in canonical order for
/// the texts, all of them for the fixed versions and the highest severity).
fn rule(group: &[&VulnerabilityFinding]) -> Rule {
    let first = group.first().copied();
    let id = first.map(|f| f.id.clone()).unwrap_or_default();
    let title = first.map(|f| f.title.as_str()).unwrap_or_default();
    let description = first.map(|f| f.description.as_str()).unwrap_or_default();
    let help_uri = first
        .and_then(|f| first_web_url(&f.references))
        .map(str::to_string);
    let severity = group
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let score = group.iter().map(|f| security_severity(f)).fold(0.0_f64, f64::max);
    let mut properties = Map::new();
    properties.insert("security-severity".into(), json!(format!("{score:.1}")));
    properties.insert("precision".into(), json!("very-high"));
    properties.insert(
        "tags".into(),
        json!(["vulnerability", "security", severity.as_str()]),
    );
    Rule {
        short_description: Message {
            text: first_non_empty(&[title, description.lines().next().unwrap_or_default(), &id]),
        },
        full_description: Message {
            text: first_non_empty(&[description, title, &id]),
        },
        help: help(&id, severity, group, help_uri.as_deref()),
        help_uri,
        default_configuration: Configuration {
            level: level(severity),
        },
        properties,
        id,
    }
}

fn first_non_empty(texts: &[&str]) -> String {
    texts
        .iter()
        .find(|t| !t.trim().is_empty())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The help text: severity, the fixed versions of each affected package, and the link.
fn help(
    id: &str,
    severity: Severity,
    group: &[&VulnerabilityFinding],
    link: Option<&str>,
) -> MultiformatMessage {
    let fixes: Vec<String> = group
        .iter()
        .map(|f| format!("{} {}: {}", f.package.name, f.package.version, fixed_text(f)))
        .collect();
    let mut text = format!("Vulnerability {id}\nSeverity: {severity}\nFixed versions:\n");
    let mut markdown = format!(
        "**Vulnerability {}**\n\n| Severity | Package | Installed | Fixed |\n| --- | --- | --- | --- |\n",
        markdown_cell(id)
    );
    for (fix, finding) in fixes.iter().zip(group) {
        text.push_str(&format!("  {fix}\n"));
        markdown.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            finding.severity,
            markdown_cell(&finding.package.name),
            markdown_cell(&finding.package.version),
            markdown_cell(&fixed_text(finding)),
        ));
    }
    if let Some(link) = link {
        text.push_str(&format!("Link: {link}\n"));
        markdown.push_str(&format!("\n[{}]({link})\n", markdown_cell(id)));
    }
    MultiformatMessage { text, markdown }
}

/// Text safe inside a Markdown table cell.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The score GitHub code scanning ranks by: the highest CVSS score that gave the finding its
/// severity, or, without one, a score inside the severity's CVSS band (as Trivy writes them).
fn security_severity(finding: &VulnerabilityFinding) -> f64 {
    let cvss = finding
        .cvss
        .iter()
        .filter(|r| Severity::from_cvss_score(r.score) == finding.severity)
        .map(|r| r.score)
        .fold(None, |best: Option<f64>, s| Some(best.map_or(s, |b| b.max(s))));
    cvss.unwrap_or(band_score(finding.severity))
}

/// A score inside the severity's CVSS band, for findings without a CVSS score.
fn band_score(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Unknown => 0.0,
    }
}

/// SARIF level: `error` for CRITICAL and HIGH, `warning` for MEDIUM, `note` below.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn result(
    finding: &VulnerabilityFinding,
    rule_index: usize,
    suppressed_by: Option<&str>,
) -> Result<SarifResult, ReportError> {
    let mut fingerprints = Map::new();
    fingerprints.insert(FINGERPRINT_KEY.into(), json!(fingerprint(finding)));
    let suppressions = suppressed_by
        .map(|by| Suppression {
            kind: "external",
            status: "accepted",
            justification: by.to_string(),
        })
        .into_iter()
        .collect();
    Ok(SarifResult {
        rule_id: finding.id.clone(),
        rule_index,
        level: level(finding.severity),
        message: Message {
            text: result_message(finding),
        },
        locations: vec![location(&finding.package)],
        partial_fingerprints: fingerprints,
        suppressions,
        properties: result_properties(finding)?,
    })
}

/// Package, installed and fixed version, in the style code-scanning alerts show.
fn result_message(finding: &VulnerabilityFinding) -> String {
    let mut text = format!(
        "Package: {}\nInstalled Version: {}\nVulnerability: {}\nSeverity: {}\nFixed Version: {}",
        finding.package.name,
        finding.package.version,
        finding.id,
        finding.severity,
        fixed_text(finding)
    );
    if finding.kev.is_some() {
        text.push_str("\nKnown exploited (CISA KEV)");
    }
    if let Some(link) = first_web_url(&finding.references) {
        text.push_str(&format!("\nLink: {link}"));
    }
    text
}

/// The identity of a finding across runs: the vulnerability and the package's type, name and
/// path, but not its version, so an upgrade that does not fix it keeps the same alert.
fn fingerprint(finding: &VulnerabilityFinding) -> String {
    let package = &finding.package;
    let mut hasher = Sha256::new();
    for part in [
        finding.id.as_str(),
        package.package_type.as_str(),
        package.name.as_str(),
        package.path.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

fn location(package: &AffectedPackage) -> Location {
    let mut properties = Map::new();
    properties.insert("path".into(), json!(package.path));
    if let Some(layer) = &package.layer {
        properties.insert("layer".into(), json!(layer));
    }
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: relative_uri(match package.path.is_empty() {
                    true => &package.name,
                    false => &package.path,
                }),
            },
            region: Some(Region::first_line()),
        },
        logical_locations: vec![LogicalLocation {
            name: format!("{}@{}", package.name, package.version),
            fully_qualified_name: (!package.purl.is_empty()).then(|| package.purl.clone()),
            kind: "package",
        }],
        properties,
    }
}

/// A path inside the scanned image or directory as a relative URI reference: without the
/// leading `/`, percent-encoded where a URI needs it.
fn relative_uri(path: &str) -> String {
    let relative = path.trim_start_matches('/');
    let (first, rest) = match relative.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (relative, None),
    };
    let mut uri = utf8_percent_encode(first, FIRST_SEGMENT).to_string();
    if let Some(rest) = rest {
        uri.push('/');
        uri.push_str(&utf8_percent_encode(rest, PATH).to_string());
    }
    uri
}

/// Package facts and exploit data for tools that read result properties.
fn result_properties(finding: &VulnerabilityFinding) -> Result<Map<String, Value>, ReportError> {
    let package = &finding.package;
    let mut properties = Map::new();
    properties.insert("packageType".into(), json!(package.package_type.as_str()));
    properties.insert("packageName".into(), json!(package.name));
    properties.insert("installedVersion".into(), json!(package.version));
    if !package.purl.is_empty() {
        properties.insert("purl".into(), json!(package.purl));
    }
    properties.insert("fixedVersions".into(), json!(finding.fixed_versions));
    properties.insert("fixStatus".into(), json!(finding.status.as_str()));
    properties.insert("severity".into(), json!(finding.severity.as_str()));
    if !finding.aliases.is_empty() {
        properties.insert("aliases".into(), json!(finding.aliases));
    }
    if let Some(kev) = &finding.kev {
        properties.insert(
            "kev".into(),
            serde_json::to_value(kev).map_err(ReportError::Serialize)?,
        );
    }
    if let Some(epss) = &finding.epss {
        properties.insert(
            "epss".into(),
            serde_json::to_value(epss).map_err(ReportError::Serialize)?,
        );
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_escaped() {
        assert_eq!(relative_uri("/var/lib/dpkg/status"), "var/lib/dpkg/status");
        assert_eq!(
            relative_uri("/app/lib/app.jar:BOOT-INF/lib/log4j-core-2.14.1.jar"),
            "app/lib/app.jar:BOOT-INF/lib/log4j-core-2.14.1.jar"
        );
        assert_eq!(relative_uri("/my dir/a#b?.txt"), "my%20dir/a%23b%3F.txt");
        assert_eq!(relative_uri("/c:x/y"), "c%3Ax/y");
        assert_eq!(relative_uri("/ü"), "%C3%BC");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Unknown), "note");
    }
}
