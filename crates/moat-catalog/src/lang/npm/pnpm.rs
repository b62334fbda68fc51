//! `pnpm-lock.yaml`: lockfile versions 5 (`/name/1.2.3_peer@1` keys), 6 (`/name@1.2.3(peer@1)`)
//! and 9 (`name@1.2.3`, peers only in `snapshots`). Read with `serde-saphyr`.

use super::{split_name_at, Found, LOCK_CATALOGER, MAX_ENTRIES};
use crate::cataloger::CatalogError;
use moat_core::{Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

const FORMAT: &str = "pnpm-lock.yaml";

#[derive(Debug, Deserialize)]
struct PnpmLock {
    /// `5.4` (a YAML float), `'6.0'`, `'9.0'`: read as its text.
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<String>,
    packages: Option<BTreeMap<String, Option<PnpmEntry>>>,
}

#[derive(Debug, Deserialize)]
struct PnpmEntry {
    /// Given for tarball and git dependencies, whose keys are URLs.
    name: Option<String>,
    version: Option<String>,
    dev: Option<bool>,
    resolution: Option<PnpmResolution>,
}

#[derive(Debug, Deserialize)]
struct PnpmResolution {
    integrity: Option<String>,
    tarball: Option<String>,
}

/// Parses a `pnpm-lock.yaml`: one package per `packages` entry, peer-dependency suffixes
/// stripped from versions; local (`link:`, `file:`) and URL-versioned entries are left out.
pub fn parse_pnpm_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let malformed = |message: String| CatalogError::malformed(FORMAT, format!("{path}: {message}"));
    let text = std::str::from_utf8(contents).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let lock: PnpmLock = serde_saphyr::from_str_with_options(text, super::yaml_options())
        .map_err(|e| malformed(e.to_string()))?;
    let entries = lock.packages.unwrap_or_default();
    if entries.len() > MAX_ENTRIES {
        return Err(malformed(format!(
            "{} packages, more than {MAX_ENTRIES}",
            entries.len()
        )));
    }
    let slash_keys = major_version(lock.lockfile_version.as_deref()).is_some_and(|major| major < 6);
    let mut found = Found::default();
    for (key, entry) in &entries {
        let Some((name, version)) = identity(key, entry.as_ref(), slash_keys) else {
            continue;
        };
        let mut p = Package::new(PackageType::Npm, name, version, path, LOCK_CATALOGER);
        if let Some(entry) = entry {
            add_entry_facts(&mut p, entry);
        }
        found.push(p);
    }
    Ok(found.into_packages())
}

/// The major lockfile version (`5.4` → 5, `'9.0'` → 9).
fn major_version(text: Option<&str>) -> Option<u32> {
    let text = text?.trim().trim_matches(['\'', '"']);
    text.split('.').next()?.parse().ok()
}

/// Name and version from the entry's own fields, else from its key.
fn identity<'a>(key: &'a str, entry: Option<&'a PnpmEntry>, slash_keys: bool) -> Option<(&'a str, &'a str)> {
    let (name, version) = match entry.and_then(|e| Some((e.name.as_deref()?, e.version.as_deref()?))) {
        Some(fields) => fields,
        None => key_identity(key, slash_keys)?,
    };
    let local_or_url = version.contains(':') || version.contains('/');
    Some((name, version)).filter(|(n, v)| !n.is_empty() && !v.is_empty() && !local_or_url)
}

/// Splits a package key: `/name/1.2.3_peer@1` (v5) or `/name@1.2.3(peer@1)` / `name@1.2.3` (v6+).
pub(crate) fn key_identity(key: &str, slash_keys: bool) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next()?;
    if slash_keys {
        let (name, version) = key.rsplit_once('/')?;
        return Some((name, version.split('_').next()?));
    }
    let (name, version) = split_name_at(key)?;
    Some((name, version))
}

fn add_entry_facts(p: &mut Package, entry: &PnpmEntry) {
    if let Some(resolution) = &entry.resolution {
        if let Some(integrity) = &resolution.integrity {
            p.metadata.insert("npm.integrity".into(), integrity.clone());
        }
        if let Some(tarball) = &resolution.tarball {
            p.metadata.insert("npm.resolved".into(), tarball.clone());
        }
    }
    if entry.dev == Some(true) {
        p.metadata.insert("npm.dev".into(), "true".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_version() {
        assert_eq!(key_identity("/lodash/4.17.21", true), Some(("lodash", "4.17.21")));
        assert_eq!(
            key_identity("/@babel/core/7.12.0_supports-color@8.1.1", true),
            Some(("@babel/core", "7.12.0"))
        );
        assert_eq!(
            key_identity("/@babel/core@7.12.0(supports-color@8.1.1)", false),
            Some(("@babel/core", "7.12.0"))
        );
        assert_eq!(key_identity("ms@2.1.3", false), Some(("ms", "2.1.3")));
        assert_eq!(key_identity("ms", false), None);
    }

    #[test]
    fn major_versions() {
        assert_eq!(major_version(Some("5.4")), Some(5));
        assert_eq!(major_version(Some("'9.0'")), Some(9));
        assert_eq!(major_version(None), None);
    }
}
