//! Alpine and Wolfi secdb files (`distroversion`, `reponame`, `urlprefix`, `apkurl`,
//! `packages: [{pkg: {name, secfixes: {"1.2.3-r4": ["CVE-…"]}}}]`), turned into OSV records:
//! one per (file, vulnerability id), with one affected entry per package that fixes it.

use crate::osv::{Affected, AffectedPackage, Event, Range, Record};
use crate::parse::{yaml_options, ParseError, RecordBatch};
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// An Alpine (or Wolfi) secdb file.
#[derive(Deserialize)]
struct SecDb {
    #[serde(default)]
    distroversion: String,
    #[serde(default)]
    reponame: String,
    #[serde(default)]
    urlprefix: String,
    #[serde(default)]
    apkurl: String,
    #[serde(default)]
    packages: Option<Vec<SecDbPackage>>,
}

#[derive(Deserialize)]
struct SecDbPackage {
    pkg: SecDbPkg,
}

#[derive(Deserialize)]
struct SecDbPkg {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<String, Option<Vec<String>>>>,
}

/// A JSON object with the secdb keys and no OSV `id`.
pub(crate) fn is_secdb_json(value: &serde_json::Value) -> bool {
    value.get("id").is_none()
        && (value.get("distroversion").is_some() || value.get("reponame").is_some())
        && value.get("packages").is_some()
}

/// A YAML text with a top-level `distroversion:` or `reponame:` key.
pub(crate) fn looks_like_secdb_yaml(text: &str) -> bool {
    text.lines()
        .any(|line| line.starts_with("distroversion:") || line.starts_with("reponame:"))
}

/// Reads the JSON variant.
pub(crate) fn parse_json(value: serde_json::Value) -> Result<RecordBatch, ParseError> {
    let secdb: SecDb =
        serde_json::from_value(value).map_err(|e| ParseError(format!("not a secdb file: {e}")))?;
    Ok(secdb.into_batch())
}

/// Reads the YAML variant.
pub(crate) fn parse_yaml(text: &str) -> Result<RecordBatch, ParseError> {
    let secdb: SecDb = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| ParseError(format!("not a secdb file: {e}")))?;
    Ok(secdb.into_batch())
}

/// The fixed version of each package, by vulnerability id.
type FixesById = BTreeMap<String, BTreeMap<String, String>>;

impl SecDb {
    /// Wolfi's files name it in their URLs; its `os` repository has no distribution version.
    fn is_wolfi(&self) -> bool {
        let urls = format!("{} {}", self.urlprefix, self.apkurl).to_ascii_lowercase();
        urls.contains("wolfi") || (self.distroversion.is_empty() && self.reponame == "os")
    }

    fn into_batch(self) -> RecordBatch {
        let wolfi = self.is_wolfi();
        let (prefix, ecosystem, source) = match wolfi {
            true => (
                "WOLFI",
                "Wolfi".to_string(),
                format!("secdb:wolfi/{}", self.reponame),
            ),
            false => (
                "ALPINE",
                format!("Alpine:{}", self.distroversion),
                format!("secdb:{}/{}", self.distroversion, self.reponame),
            ),
        };
        let records = fixes_by_id(self.packages.unwrap_or_default())
            .into_iter()
            .map(|(id, fixes)| secdb_record(prefix, &ecosystem, id, fixes))
            .collect();
        RecordBatch {
            source,
            records,
            rejected: Vec::new(),
        }
    }
}

/// Every (id, package, fixed version) of the file. Fixes under version `0` mean the package
/// was never affected and make no entry. A package that lists the same id under several
/// versions (fixes backported to older branches) keeps the lowest: from there on, every
/// version of this branch has the fix.
fn fixes_by_id(packages: Vec<SecDbPackage>) -> FixesById {
    let mut by_id = FixesById::new();
    for package in packages {
        let name = package.pkg.name;
        for (version, entries) in package.pkg.secfixes.unwrap_or_default() {
            let version = version.trim();
            if version == "0" || version.is_empty() {
                continue;
            }
            let ids = entries.unwrap_or_default();
            for id in ids
                .iter()
                .flat_map(|entry| entry.split_whitespace())
                .filter(|w| looks_like_an_id(w))
            {
                let fixes = by_id.entry(id.to_string()).or_default();
                match fixes.get(&name) {
                    Some(kept) if apk_order(kept, version) != Ordering::Greater => {}
                    _ => {
                        fixes.insert(name.clone(), version.to_string());
                    }
                }
            }
        }
    }
    by_id
}

/// apk ordering, falling back to text order for versions apk cannot read.
fn apk_order(a: &str, b: &str) -> Ordering {
    moat_version::compare(moat_version::Ecosystem::Apk, a, b).unwrap_or_else(|_| a.cmp(b))
}

/// `CVE-2021-1234`, `XSA-201`, `GHSA-abcd-…`, `TALOS-2017-0488`: an upper-case prefix, then
/// dash-separated letters and digits, with a digit somewhere. Entries also hold notes
/// (`(BGP)`), placeholders (`CVE-????-?????`) and file names (`CVE-2017-8073.patch`): not ids.
fn looks_like_an_id(word: &str) -> bool {
    let mut parts = word.split('-');
    let prefix = parts.next().unwrap_or_default();
    let prefix_ok = prefix.len() >= 2
        && prefix.starts_with(|c: char| c.is_ascii_uppercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let rest: Vec<&str> = parts.collect();
    prefix_ok
        && !rest.is_empty()
        && rest
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
        && rest.iter().any(|part| part.chars().any(|c| c.is_ascii_digit()))
}

fn secdb_record(prefix: &str, ecosystem: &str, id: String, fixes: BTreeMap<String, String>) -> Record {
    let affected = fixes
        .into_iter()
        .map(|(name, fixed)| fixed_in(ecosystem, name, fixed))
        .collect();
    Record {
        id: format!("{prefix}-{id}"),
        modified: String::new(),
        published: String::new(),
        withdrawn: None,
        aliases: Vec::new(),
        upstream: vec![id],
        related: Vec::new(),
        summary: String::new(),
        details: String::new(),
        severity: Vec::new(),
        affected,
        references: Vec::new(),
        database_specific: None,
    }
}

/// `name` in `ecosystem`, affected from the beginning up to `fixed`.
fn fixed_in(ecosystem: &str, name: String, fixed: String) -> Affected {
    let event = |introduced: Option<String>, fixed: Option<String>| Event {
        introduced,
        fixed,
        last_affected: None,
        limit: None,
    };
    Affected {
        package: AffectedPackage {
            ecosystem: ecosystem.to_string(),
            name,
            purl: None,
        },
        ranges: vec![Range {
            kind: "ECOSYSTEM".to_string(),
            repo: None,
            events: vec![event(Some("0".to_string()), None), event(None, Some(fixed))],
        }],
        versions: Vec::new(),
        severity: Vec::new(),
        ecosystem_specific: None,
        database_specific: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "distroversion: v3.11\nreponame: main\nurlprefix: https://dl-cdn.alpinelinux.org/alpine\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.24-r2:\n          - CVE-2020-28928\n        0:\n          - CVE-2019-0000\n  - pkg:\n      name: busybox\n      secfixes:\n        1.31.1-r10:\n          - CVE-2020-28928 GHSA-xxxx-yyyy-zz12\n        1.30.1-r2:\n          - CVE-2020-28928 (second branch)\n          - CVE-????-????? XPTI\n";

    #[test]
    fn secdb_yaml_becomes_one_record_per_id() {
        let batch = parse_yaml(YAML).expect("secdb");
        assert_eq!(batch.source, "secdb:v3.11/main");
        let ids: Vec<&str> = batch.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ALPINE-CVE-2020-28928", "ALPINE-GHSA-xxxx-yyyy-zz12"]);
        let cve = &batch.records[0];
        assert_eq!(cve.upstream, ["CVE-2020-28928"]);
        let fixes: Vec<(&str, &str, Option<&str>)> = cve
            .affected
            .iter()
            .map(|a| {
                let fixed = a.ranges[0].events[1].fixed.as_deref();
                (a.package.ecosystem.as_str(), a.package.name.as_str(), fixed)
            })
            .collect();
        // busybox lists the id twice: the lower fixed version (the older branch's) is kept.
        assert_eq!(
            fixes,
            [
                ("Alpine:v3.11", "busybox", Some("1.30.1-r2")),
                ("Alpine:v3.11", "musl", Some("1.1.24-r2"))
            ]
        );
    }

    #[test]
    fn the_json_variant_and_wolfi_are_recognised() {
        let value = serde_json::json!({"apkurl": "{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
            "archs": ["x86_64"], "reponame": "os", "urlprefix": "https://packages.wolfi.dev",
            "packages": [{"pkg": {"name": "glibc", "secfixes": {"2.38-r1": ["CVE-2023-4911"], "0": ["CVE-2020-1"]}}}]});
        assert!(is_secdb_json(&value));
        let batch = parse_json(value).expect("secdb json");
        assert_eq!(batch.source, "secdb:wolfi/os");
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.records[0].id, "WOLFI-CVE-2023-4911");
        assert_eq!(batch.records[0].affected[0].package.ecosystem, "Wolfi");
    }

    #[test]
    fn ids_are_told_from_notes() {
        for id in [
            "CVE-2019-1234",
            "XSA-201",
            "TALOS-2017-0488",
            "ZBX-11023",
            "CVE-2017-17434-1",
        ] {
            assert!(looks_like_an_id(id), "{id}");
        }
        for word in [
            "(BGP)",
            "CVE-????-?????",
            "CVE_2019-2426",
            "CVE-2017-8073.patch",
            "XPTI",
            "CVE",
            "-",
            "wnpa-sec-2017-18",
            "2018-16859",
            "GHSA-abcd-efgh",
        ] {
            assert!(!looks_like_an_id(word), "{word}");
        }
    }
}
