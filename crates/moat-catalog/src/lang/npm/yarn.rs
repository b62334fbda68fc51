//! `yarn.lock`: the classic (v1) format and yarn berry's (v2+) YAML.
//!
//! The v1 format is parsed by hand: it looks like YAML but is not (unquoted keys with spaces,
//! `key "value"` pairs without a colon), and no maintained crate reads it. Only two levels
//! matter: unindented entry headers listing the specs an entry satisfies, and the entry's
//! two-space indented fields. Berry files are real YAML, read with `serde-saphyr`.

use super::{split_name_at, Found, LOCK_CATALOGER, MAX_ENTRIES};
use crate::cataloger::CatalogError;
use moat_core::{Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

const FORMAT_V1: &str = "yarn.lock v1";
const FORMAT_BERRY: &str = "yarn.lock (berry)";

/// Parses a `yarn.lock` of either generation: one package per entry (an entry lists every spec
/// it satisfies, so `"a@^1, a@^1.2"` is one package). Berry's workspace, link, portal and patch
/// entries are left out.
pub fn parse_yarn_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let text = std::str::from_utf8(contents)
        .map_err(|e| CatalogError::malformed(FORMAT_V1, format!("{path}: not UTF-8: {e}")))?;
    if text.lines().any(|line| line.trim_end() == "__metadata:") {
        parse_berry(path, text)
    } else {
        parse_v1(path, text)
    }
}

/// One v1 entry while it is being read.
#[derive(Debug)]
struct V1Entry {
    name: String,
    line: usize,
    fields: BTreeMap<String, String>,
}

fn parse_v1(path: &str, text: &str) -> Result<Vec<Package>, CatalogError> {
    let mut found = Found::default();
    let mut current: Option<V1Entry> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            finish_v1_entry(path, current.take(), &mut found)?;
            current = Some(v1_header(path, line, line_no)?);
            continue;
        }
        let entry = current
            .as_mut()
            .ok_or_else(|| v1_error(path, line_no, "indented line before any entry"))?;
        if let Some((key, value)) = v1_field(line) {
            entry
                .fields
                .entry(key.to_string())
                .or_insert_with(|| value.to_string());
        }
    }
    finish_v1_entry(path, current, &mut found)?;
    Ok(found.into_packages())
}

fn v1_error(path: &str, line: usize, message: &str) -> CatalogError {
    CatalogError::malformed(FORMAT_V1, format!("{path}: line {line}: {message}"))
}

/// Reads an entry header such as `"@babel/core@^7.0.0", "@babel/core@^7.1.0":`.
fn v1_header(path: &str, line: &str, line_no: usize) -> Result<V1Entry, CatalogError> {
    let specs = line
        .strip_suffix(':')
        .ok_or_else(|| v1_error(path, line_no, "entry header does not end with ':'"))?;
    let first = specs.split(',').next().map(unquote).unwrap_or_default();
    let name =
        spec_package_name(first).ok_or_else(|| v1_error(path, line_no, "entry spec has no name@range"))?;
    Ok(V1Entry {
        name: name.to_string(),
        line: line_no,
        fields: BTreeMap::new(),
    })
}

/// The package a spec installs: the name before the range, or for an alias
/// (`alias@npm:real@^1`) the real package's name.
fn spec_package_name(spec: &str) -> Option<&str> {
    let (name, range) = split_name_at(spec)?;
    if let Some(aliased) = range.strip_prefix("npm:") {
        if let Some((real, _)) = split_name_at(aliased) {
            return Some(real);
        }
    }
    Some(name).filter(|n| !n.is_empty())
}

/// A two-space indented `key value` or `key: value` field (deeper lines are sub-maps: skipped).
fn v1_field(line: &str) -> Option<(&str, &str)> {
    let body = line.strip_prefix("  ")?;
    if body.starts_with(' ') {
        return None;
    }
    let (key, value) = body.split_once([' ', ':'])?;
    let value = unquote(value.trim_start_matches(':').trim());
    Some((unquote(key), value))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s)
}

fn finish_v1_entry(path: &str, entry: Option<V1Entry>, found: &mut Found) -> Result<(), CatalogError> {
    let Some(entry) = entry else { return Ok(()) };
    let Some(version) = entry.fields.get("version").filter(|v| !v.is_empty()) else {
        return Err(v1_error(path, entry.line, "entry has no version"));
    };
    if found.len() >= MAX_ENTRIES {
        return Err(v1_error(path, entry.line, "too many entries"));
    }
    let mut p = Package::new(PackageType::Npm, &entry.name, version, path, LOCK_CATALOGER);
    for (field, key) in [("resolved", "npm.resolved"), ("integrity", "npm.integrity")] {
        if let Some(value) = entry.fields.get(field) {
            p.metadata.insert(key.into(), value.clone());
        }
    }
    found.push(p);
    Ok(())
}

/// The fields of a berry entry that identify a package.
#[derive(Debug, Deserialize)]
struct BerryEntry {
    version: Option<String>,
    resolution: Option<String>,
    checksum: Option<String>,
}

/// Protocols whose entries are local sources or rewrites of another entry, not packages.
const BERRY_SKIPPED_PROTOCOLS: [&str; 5] = ["workspace:", "link:", "portal:", "patch:", "file:"];

fn parse_berry(path: &str, text: &str) -> Result<Vec<Package>, CatalogError> {
    let entries: BTreeMap<String, BerryEntry> =
        serde_saphyr::from_str_with_options(text, super::yaml_options())
            .map_err(|e| CatalogError::malformed(FORMAT_BERRY, format!("{path}: {e}")))?;
    if entries.len() > MAX_ENTRIES {
        return Err(CatalogError::malformed(
            FORMAT_BERRY,
            format!("{path}: more than {MAX_ENTRIES} entries"),
        ));
    }
    let mut found = Found::default();
    for (key, entry) in &entries {
        if key == "__metadata" {
            continue;
        }
        if let Some((name, version)) = berry_identity(key, entry) {
            let mut p = Package::new(PackageType::Npm, name, version, path, LOCK_CATALOGER);
            if let Some(resolution) = &entry.resolution {
                p.metadata.insert("npm.resolved".into(), resolution.clone());
            }
            if let Some(checksum) = &entry.checksum {
                p.metadata.insert("npm.integrity".into(), checksum.clone());
            }
            found.push(p);
        }
    }
    Ok(found.into_packages())
}

/// Name and version of a berry entry, from `resolution` (`name@npm:1.2.3`; for aliases it names
/// the real package) or else the key and `version`; `None` for local and patched entries.
fn berry_identity<'a>(key: &'a str, entry: &'a BerryEntry) -> Option<(&'a str, &'a str)> {
    let first_spec = key.split(',').next().map(unquote)?;
    let resolution = entry.resolution.as_deref().unwrap_or(first_spec);
    let (name, reference) = split_name_at(resolution)?;
    if BERRY_SKIPPED_PROTOCOLS.iter().any(|p| reference.starts_with(p)) {
        return None;
    }
    let resolved_version = entry
        .resolution
        .as_ref()
        .and_then(|_| reference.strip_prefix("npm:"));
    let version = resolved_version.or(entry.version.as_deref())?;
    Some((name, version)).filter(|(n, v)| !n.is_empty() && !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names() {
        assert_eq!(spec_package_name("lodash@^4"), Some("lodash"));
        assert_eq!(spec_package_name("@types/node@*"), Some("@types/node"));
        assert_eq!(spec_package_name("my-lodash@npm:lodash@^4"), Some("lodash"));
        assert_eq!(spec_package_name("lodash"), None);
    }

    #[test]
    fn fields() {
        assert_eq!(v1_field("  version \"1.2.3\""), Some(("version", "1.2.3")));
        assert_eq!(
            v1_field("  integrity sha512-abc=="),
            Some(("integrity", "sha512-abc=="))
        );
        assert_eq!(v1_field("    ms \"2.0.0\""), None);
    }
}
