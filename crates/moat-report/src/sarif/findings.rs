//! SARIF rules and results for secrets and misconfigurations.
//!
//! Secrets get one rule per secret rule (`secret:aws-access-token`), misconfigurations one per
//! check, under the check's own id (`DF002`, `PSS-privileged`). Rules are written after the
//! vulnerability rules, in id order; results after the vulnerability results, in the report's
//! canonical order. Results point at the file (relative, as for vulnerabilities) and at the
//! line and columns when the finding has them.
//!
//! A secret's fingerprint hashes its rule, file, line and the secret in its redacted form, so it
//! is the same whether or not the scan was asked to show secrets, and holds nothing more of the
//! secret than the redacted output shows anyway.

use super::model::{
    ArtifactLocation, Configuration, Location, LogicalLocation, Message, MultiformatMessage,
    PhysicalLocation, Region, Rule, SarifResult,
};
use super::{band_score, first_non_empty, level, markdown_cell, relative_uri};
use crate::describe::SECRET_REMEDIATION;
use moat_core::{Misconfiguration, SecretFinding, Severity, TextLocation};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The `partialFingerprints` key of a secret's identity.
const SECRET_FINGERPRINT_KEY: &str = "moatSecret/v1";
/// The `partialFingerprints` key of a misconfiguration's identity.
const MISCONFIGURATION_FINGERPRINT_KEY: &str = "moatMisconfiguration/v1";
/// What a secret rule's id starts with.
const SECRET_RULE_PREFIX: &str = "secret:";

/// Adds a rule per secret rule and a result per secret.
pub(super) fn add_secrets(secrets: &[SecretFinding], rules: &mut Vec<Rule>, results: &mut Vec<SarifResult>) {
    let groups = group_by(secrets, |s| format!("{SECRET_RULE_PREFIX}{}", s.rule_id));
    let indexes = append_rules(&groups, secret_rule, rules);
    for secret in secrets {
        let id = format!("{SECRET_RULE_PREFIX}{}", secret.rule_id);
        let index = indexes.get(&id).copied().unwrap_or_default();
        results.push(secret_result(secret, id, index));
    }
}

/// Adds a rule per check and a result per misconfiguration.
pub(super) fn add_misconfigurations(
    findings: &[Misconfiguration],
    rules: &mut Vec<Rule>,
    results: &mut Vec<SarifResult>,
) {
    let groups = group_by(findings, |f| f.check_id.clone());
    let indexes = append_rules(&groups, misconfiguration_rule, rules);
    for finding in findings {
        let index = indexes.get(&finding.check_id).copied().unwrap_or_default();
        results.push(misconfiguration_result(finding, index));
    }
}

/// The findings by rule id, in id order.
fn group_by<T>(findings: &[T], rule_id: impl Fn(&T) -> String) -> BTreeMap<String, Vec<&T>> {
    let mut groups: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for finding in findings {
        groups.entry(rule_id(finding)).or_default().push(finding);
    }
    groups
}

/// Appends a rule per group and returns each rule id's index in `rules`.
fn append_rules<T>(
    groups: &BTreeMap<String, Vec<&T>>,
    make_rule: fn(&str, &[&T]) -> Rule,
    rules: &mut Vec<Rule>,
) -> BTreeMap<String, usize> {
    let mut indexes = BTreeMap::new();
    for (id, group) in groups {
        indexes.insert(id.clone(), rules.len());
        rules.push(make_rule(id, group));
    }
    indexes
}

/// The rule of one secret rule, from its findings (the first for the title, all of them for
/// the highest severity).
fn secret_rule(id: &str, group: &[&SecretFinding]) -> Rule {
    let title = group.first().map(|s| s.title.as_str()).unwrap_or_default();
    let severity = highest(group.iter().map(|s| s.severity));
    let text = first_non_empty(&[title, id]);
    let help = MultiformatMessage {
        text: format!("Secret: {text}\nSeverity: {severity}\nRemediation: {SECRET_REMEDIATION}\n"),
        markdown: format!(
            "**Secret: {}**\n\nSeverity: {severity}\n\n{SECRET_REMEDIATION}\n",
            markdown_cell(&text)
        ),
    };
    let tags = vec![
        "secret".to_string(),
        "security".to_string(),
        severity.as_str().to_string(),
    ];
    Rule {
        id: id.to_string(),
        short_description: Message { text: text.clone() },
        full_description: Message { text },
        help_uri: None,
        help,
        default_configuration: Configuration {
            level: level(severity),
        },
        properties: rule_properties(severity, tags, &[]),
    }
}

/// The rule of one check, from its findings (the first for the texts, all of them for the
/// highest severity, the references and the peer ids).
fn misconfiguration_rule(id: &str, group: &[&Misconfiguration]) -> Rule {
    let first = group.first().copied();
    let title = first.map(|f| f.title.as_str()).unwrap_or_default();
    let remediation = first.map(|f| f.remediation.trim()).unwrap_or_default();
    let severity = highest(group.iter().map(|f| f.severity));
    let references = distinct(group.iter().flat_map(|f| &f.references));
    let aliases = distinct(group.iter().flat_map(|f| &f.aliases));
    let text = first_non_empty(&[title, id]);
    let mut tags = vec!["misconfiguration".to_string(), "security".to_string()];
    tags.extend(distinct(group.iter().map(|f| f.kind.as_str())));
    tags.push(severity.as_str().to_string());
    tags.extend(references.iter().cloned());
    Rule {
        id: id.to_string(),
        short_description: Message { text: text.clone() },
        full_description: Message { text: text.clone() },
        help_uri: None,
        help: misconfiguration_help(&text, severity, remediation, &references),
        default_configuration: Configuration {
            level: level(severity),
        },
        properties: rule_properties(severity, tags, &aliases),
    }
}

/// The help text: the remediation and the compliance controls.
fn misconfiguration_help(
    title: &str,
    severity: Severity,
    remediation: &str,
    references: &[String],
) -> MultiformatMessage {
    let mut text = format!("{title}\nSeverity: {severity}\n");
    let mut markdown = format!("**{}**\n\nSeverity: {severity}\n", markdown_cell(title));
    if !remediation.is_empty() {
        text.push_str(&format!("Remediation: {remediation}\n"));
        markdown.push_str(&format!("\n{remediation}\n"));
    }
    if !references.is_empty() {
        text.push_str(&format!("References: {}\n", references.join("; ")));
        markdown.push_str("\nReferences:\n\n");
        for reference in references {
            markdown.push_str(&format!("- {}\n", markdown_cell(reference)));
        }
    }
    MultiformatMessage { text, markdown }
}

fn rule_properties(severity: Severity, tags: Vec<String>, aliases: &[String]) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert(
        "security-severity".into(),
        json!(format!("{:.1}", band_score(severity))),
    );
    properties.insert("precision".into(), json!("high"));
    properties.insert("tags".into(), json!(tags));
    if !aliases.is_empty() {
        properties.insert("aliases".into(), json!(aliases));
    }
    properties
}

fn highest(severities: impl Iterator<Item = Severity>) -> Severity {
    severities.max().unwrap_or(Severity::Unknown)
}

/// The texts once each, sorted.
fn distinct<'a>(texts: impl Iterator<Item = impl AsRef<str> + 'a>) -> Vec<String> {
    let mut distinct: Vec<String> = texts.map(|t| t.as_ref().to_string()).collect();
    distinct.sort();
    distinct.dedup();
    distinct
}

fn secret_result(secret: &SecretFinding, rule_id: String, rule_index: usize) -> SarifResult {
    let mut text = format!(
        "Secret: {}\nRule: {}\nSeverity: {}",
        first_non_empty(&[&secret.title, &secret.rule_id]),
        secret.rule_id,
        secret.severity
    );
    if !secret.line.trim().is_empty() {
        text.push_str(&format!("\nMatch: {}", secret.line.trim()));
    }
    let mut fingerprints = Map::new();
    fingerprints.insert(SECRET_FINGERPRINT_KEY.into(), json!(secret_fingerprint(secret)));
    let mut properties = Map::new();
    properties.insert("severity".into(), json!(secret.severity.as_str()));
    properties.insert("redacted".into(), json!(secret.redacted));
    if let Some(entropy) = secret.entropy {
        properties.insert("entropy".into(), json!(entropy));
    }
    SarifResult {
        rule_id,
        rule_index,
        level: level(secret.severity),
        message: Message { text },
        locations: vec![file_location(&secret.location, None)],
        partial_fingerprints: fingerprints,
        suppressions: Vec::new(),
        properties,
    }
}

fn misconfiguration_result(finding: &Misconfiguration, rule_index: usize) -> SarifResult {
    let message = first_non_empty(&[&finding.message, &finding.title, &finding.check_id]);
    let text = match &finding.resource {
        Some(resource) => format!("{resource}: {message}"),
        None => message,
    };
    let mut fingerprints = Map::new();
    fingerprints.insert(
        MISCONFIGURATION_FINGERPRINT_KEY.into(),
        json!(misconfiguration_fingerprint(finding)),
    );
    let mut properties = Map::new();
    properties.insert("severity".into(), json!(finding.severity.as_str()));
    properties.insert("kind".into(), json!(finding.kind.as_str()));
    if let Some(resource) = &finding.resource {
        properties.insert("resource".into(), json!(resource));
    }
    SarifResult {
        rule_id: finding.check_id.clone(),
        rule_index,
        level: level(finding.severity),
        message: Message { text },
        locations: vec![file_location(&finding.location, finding.resource.as_deref())],
        partial_fingerprints: fingerprints,
        suppressions: Vec::new(),
        properties,
    }
}

/// The file as a relative URI, the region when the finding has a line, the resource as a
/// logical location, and the original path and layer as properties.
fn file_location(location: &TextLocation, resource: Option<&str>) -> Location {
    let mut properties = Map::new();
    properties.insert("path".into(), json!(location.path));
    if let Some(layer) = &location.layer {
        properties.insert("layer".into(), json!(layer));
    }
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: relative_uri(&location.path),
            },
            region: region(location),
        },
        logical_locations: resource
            .map(|name| LogicalLocation {
                name: name.to_string(),
                fully_qualified_name: None,
                kind: "resource",
            })
            .into_iter()
            .collect(),
        properties,
    }
}

/// The SARIF region: none for a file as a whole (line 0), columns only when known, the end no
/// earlier than the start.
fn region(location: &TextLocation) -> Option<Region> {
    let start_line = location.start_line;
    if start_line == 0 {
        return None;
    }
    let end_line = location.end_line.max(start_line);
    let start_column = (location.start_column > 0).then_some(location.start_column);
    let end_column = match start_column {
        Some(start) if location.end_column > 0 && (end_line > start_line || location.end_column >= start) => {
            Some(location.end_column)
        }
        _ => None,
    };
    Some(Region {
        start_line,
        start_column,
        end_line: Some(end_line),
        end_column,
    })
}

/// Rule, file, line and the redacted secret: stable across runs and across `--show-secrets`.
fn secret_fingerprint(secret: &SecretFinding) -> String {
    let mut redacted = secret.clone();
    redacted.redact();
    let line = secret.location.start_line.to_string();
    hash(&[
        secret.rule_id.as_str(),
        secret.location.path.as_str(),
        line.as_str(),
        redacted.secret.as_str(),
    ])
}

/// Check, file, line, resource and message: a check raised twice on one line (or, at line 0,
/// in one file) differs in its message.
fn misconfiguration_fingerprint(finding: &Misconfiguration) -> String {
    let line = finding.location.start_line.to_string();
    hash(&[
        finding.check_id.as_str(),
        finding.location.path.as_str(),
        line.as_str(),
        finding.resource.as_deref().unwrap_or_default(),
        finding.message.as_str(),
    ])
}

/// SHA-256 of the parts, each followed by a NUL, in hex.
fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_start_at_line_one_and_leave_out_unknown_columns() {
        assert!(region(&TextLocation::file("f")).is_none());
        let full = region(&TextLocation::at("f", 3, 7)).expect("a region");
        assert_eq!(
            (full.start_line, full.start_column, full.end_line, full.end_column),
            (3, Some(7), Some(3), Some(7))
        );
        let no_columns = region(&TextLocation::at("f", 12, 0)).expect("a region");
        assert_eq!(
            (
                no_columns.start_column,
                no_columns.end_line,
                no_columns.end_column
            ),
            (None, Some(12), None)
        );
        let mut backwards = TextLocation::at("f", 5, 9);
        backwards.end_line = 2;
        backwards.end_column = 3;
        let clamped = region(&backwards).expect("a region");
        assert_eq!((clamped.end_line, clamped.end_column), (Some(5), None));
    }
}
