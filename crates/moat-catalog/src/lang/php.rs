//! PHP: Composer packages installed under `vendor/` (`vendor/composer/installed.json`, Composer 1
//! array and Composer 2 `{"packages": […]}` layouts) and declared in `composer.lock`.

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use crate::license::to_spdx;
use moat_core::{Package, PackageType};
use serde_json::Value;
use std::collections::HashSet;

/// Name of the installed-package cataloger.
pub const INSTALLED_CATALOGER: &str = "php-installed-cataloger";
/// Name of the `composer.lock` cataloger.
pub const LOCK_CATALOGER: &str = "php-composer-lock-cataloger";
/// Most packages accepted in one file.
const MAX_ENTRIES: usize = 100_000;

fn malformed(format: &'static str, path: &str, message: impl std::fmt::Display) -> CatalogError {
    CatalogError::malformed(format, format!("{path}: {message}"))
}

/// One Composer package object as a [`Package`]; `None` without a name or a version.
fn composer_package(path: &str, found_by: &str, entry: &Value, dev: bool) -> Option<Package> {
    let text = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (name, version) = (text("name")?, text("version")?);
    let mut p = Package::new(PackageType::PhpComposer, name, version, path, found_by);
    p.licenses = match entry.get("license") {
        Some(Value::String(one)) => vec![to_spdx(one)],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(to_spdx).collect(),
        _ => Vec::new(),
    };
    if let Some(kind) = text("type") {
        p.metadata.insert("php.type".into(), kind.to_string());
    }
    for (section, key) in [("source", "php.source"), ("dist", "php.dist")] {
        let url = entry
            .get(section)
            .and_then(|s| s.get("url"))
            .and_then(Value::as_str);
        if let Some(url) = url {
            p.metadata.insert(key.into(), url.to_string());
        }
    }
    if let Some(reference) = entry
        .get("source")
        .and_then(|s| s.get("reference"))
        .and_then(Value::as_str)
    {
        p.metadata
            .insert("php.source_reference".into(), reference.to_string());
    }
    if dev {
        p.metadata.insert("php.dev".into(), "true".into());
    }
    Some(p)
}

/// The package objects of a list, checked for size and shape.
fn package_list<'a>(format: &'static str, path: &str, list: &'a Value) -> Result<&'a [Value], CatalogError> {
    let items = list
        .as_array()
        .ok_or_else(|| malformed(format, path, "package list is not an array"))?;
    if items.len() > MAX_ENTRIES {
        return Err(malformed(
            format,
            path,
            format!("{} packages, more than {MAX_ENTRIES}", items.len()),
        ));
    }
    Ok(items)
}

/// Parses `vendor/composer/installed.json` of Composer 1 (a bare array) or 2 (an object whose
/// `dev-package-names` marks development packages).
pub fn parse_installed_json(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    const FORMAT: &str = "composer installed.json";
    let doc: Value = serde_json::from_slice(contents).map_err(|e| malformed(FORMAT, path, e))?;
    let (list, dev_names): (&Value, HashSet<&str>) = match &doc {
        Value::Array(_) => (&doc, HashSet::new()),
        Value::Object(fields) => {
            let list = fields
                .get("packages")
                .ok_or_else(|| malformed(FORMAT, path, "no \"packages\" list"))?;
            let dev = fields.get("dev-package-names").and_then(Value::as_array);
            (
                list,
                dev.into_iter().flatten().filter_map(Value::as_str).collect(),
            )
        }
        _ => return Err(malformed(FORMAT, path, "neither an array nor an object")),
    };
    let packages = package_list(FORMAT, path, list)?
        .iter()
        .filter_map(|entry| {
            let dev = entry
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| dev_names.contains(n));
            composer_package(path, INSTALLED_CATALOGER, entry, dev)
        })
        .collect();
    Ok(packages)
}

/// Parses a `composer.lock`: `packages` and `packages-dev` (marked `php.dev`).
pub fn parse_composer_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    const FORMAT: &str = "composer.lock";
    let doc: Value = serde_json::from_slice(contents).map_err(|e| malformed(FORMAT, path, e))?;
    if !doc.is_object() {
        return Err(malformed(FORMAT, path, "not a JSON object"));
    }
    let mut packages = Vec::new();
    for (key, dev) in [("packages", false), ("packages-dev", true)] {
        let Some(list) = doc.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let entries = package_list(FORMAT, path, list)?;
        packages.extend(
            entries
                .iter()
                .filter_map(|e| composer_package(path, LOCK_CATALOGER, e, dev)),
        );
    }
    Ok(packages)
}

/// Reads packages installed by Composer.
#[derive(Debug, Default)]
pub struct PhpInstalledCataloger;

impl Cataloger for PhpInstalledCataloger {
    fn name(&self) -> &'static str {
        INSTALLED_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        path.ends_with("/vendor/composer/installed.json") || path == "vendor/composer/installed.json"
    }

    fn max_size(&self) -> u64 {
        32 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_installed_json(path, contents)
    }
}

/// Reads Composer lock files.
#[derive(Debug, Default)]
pub struct PhpComposerLockCataloger;

impl Cataloger for PhpComposerLockCataloger {
    fn name(&self) -> &'static str {
        LOCK_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn applies(&self) -> Applies {
        Applies::DirectoriesOnly
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "composer.lock"
    }

    fn max_size(&self) -> u64 {
        32 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_composer_lock(path, contents)
    }
}
