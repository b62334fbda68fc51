//! The OSV schema (<https://ossf.github.io/osv-schema/>), as far as Moat reads it. Unknown
//! fields are ignored; `ecosystem_specific` and `database_specific` stay JSON values.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One OSV record: a vulnerability and the package versions it affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id (`GHSA-…`, `PYSEC-…`, `GO-…`, `RUSTSEC-…`, `DSA-…`, `CVE-…`).
    pub id: String,
    /// Last change (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modified: String,
    /// First publication (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub published: String,
    /// Set when the record was withdrawn: it must not match anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability (CVE, GHSA, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids of the upstream vulnerabilities a distribution record is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    /// Ids of related but different vulnerabilities (not merged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Longer description (Markdown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    /// Severity vectors for the whole record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// The affected packages and versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Reference links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// Database-specific extras (GitHub's `severity` word lives here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A severity score: `type` is `CVSS_V2`, `CVSS_V3`, `CVSS_V4` or `Ubuntu`, `score` the vector
/// (or, for `Ubuntu`, the word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityEntry {
    /// The scoring system.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector or rating.
    pub score: String,
}

/// One affected package: its ranges and/or explicit versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package, in its ecosystem.
    pub package: AffectedPackage,
    /// Version ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Severity for this package only (overrides the record's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// Ecosystem-specific extras (Debian's `urgency`, Go's `imports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A package in an ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// The ecosystem, with an optional `:release` suffix (`PyPI`, `Debian:12`, `Alpine:v3.18`).
    #[serde(default)]
    pub ecosystem: String,
    /// The package name as the ecosystem spells it.
    #[serde(default)]
    pub name: String,
    /// Package URL, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A version range: a list of events read in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT` (the last is not version-matched).
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository, for `GIT` ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// A range event: exactly one of its fields is set in valid data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The version from which the package is affected (`0` for all earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// The first version no longer affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The last version still affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// An upper bound on the range (for `GIT` ranges mostly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A reference link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `PACKAGE`, `REPORT`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The URL.
    pub url: String,
}

impl Record {
    /// Every id of this vulnerability: its own, its aliases and (for distribution records)
    /// the upstream ids.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain(self.upstream.iter().map(String::as_str))
    }
}

/// A record as stored: the record and the source it was imported from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The import source (`osv`, `secdb:alpine v3.18/main`).
    pub source: String,
    /// The record.
    pub record: Record,
}

/// The ecosystem without its `:release` suffix, and the release (`Debian:12` → `Debian`, `12`).
pub fn split_ecosystem(ecosystem: &str) -> (&str, &str) {
    ecosystem.split_once(':').unwrap_or((ecosystem, ""))
}

/// The name as the store indexes it: PyPI names normalized as PEP 503 says (lower case, runs
/// of `-`, `_` and `.` as one `-`), other ecosystems' names unchanged.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let (base, _) = split_ecosystem(ecosystem);
    if base != "PyPI" {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_names_are_normalized_others_kept() {
        assert_eq!(
            normalize_name("PyPI", "Django_Rest.Framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_name("PyPI", "jinja2"), "jinja2");
        assert_eq!(normalize_name("PyPI", "zope..interface"), "zope-interface");
        assert_eq!(normalize_name("npm", "@Scope/Name"), "@Scope/Name");
    }

    #[test]
    fn ecosystem_release_split() {
        assert_eq!(split_ecosystem("Debian:12"), ("Debian", "12"));
        assert_eq!(split_ecosystem("Alpine:v3.18"), ("Alpine", "v3.18"));
        assert_eq!(split_ecosystem("Ubuntu:22.04:LTS"), ("Ubuntu", "22.04:LTS"));
        assert_eq!(split_ecosystem("PyPI"), ("PyPI", ""));
    }

    #[test]
    fn a_record_reads_with_unknown_fields() {
        let json = r#"{"id":"GO-2023-1","aliases":["CVE-2023-1"],"credits":[{"name":"x"}],
            "affected":[{"package":{"ecosystem":"Go","name":"stdlib"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.5"}]}]}]}"#;
        let record: Record = serde_json::from_str(json).expect("valid record");
        assert_eq!(record.all_ids().collect::<Vec<_>>(), ["GO-2023-1", "CVE-2023-1"]);
        assert_eq!(
            record.affected[0].ranges[0].events[1].fixed.as_deref(),
            Some("1.20.5")
        );
    }
}
