//! JavaScript: installed packages (every `package.json` with a name and a version, in
//! `node_modules` and a project's own) and declared ones (`package-lock.json` /
//! `npm-shrinkwrap.json`, `yarn.lock` v1 and berry, `pnpm-lock.yaml`).

mod package_lock;
mod pnpm;
mod yarn;

pub use package_lock::parse_package_lock;
pub use pnpm::parse_pnpm_lock;
pub use yarn::parse_yarn_lock;

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use crate::license::to_spdx;
use moat_core::{Package, PackageType};
use serde_json::Value;

/// Name of the installed-package cataloger.
pub const PACKAGE_CATALOGER: &str = "javascript-package-cataloger";
/// Name of the lock-file cataloger.
pub const LOCK_CATALOGER: &str = "javascript-lock-cataloger";
/// Most packages accepted in one lock file.
pub(crate) const MAX_ENTRIES: usize = 200_000;

/// Licences declared by a `license` value (an SPDX string, or a legacy `{type, url}` object) or a
/// legacy `licenses` array of either.
pub(crate) fn declared_licenses(license: Option<&Value>, licenses: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        let text = match v {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("type").and_then(Value::as_str)?,
            _ => return None,
        };
        Some(to_spdx(text)).filter(|s| !s.is_empty())
    };
    if let Some(found) = license.and_then(one) {
        return vec![found];
    }
    match licenses {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(other) => one(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// `author` as a string: as written, or `name <email>` from an object.
fn author(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str)?;
            match o.get("email").and_then(Value::as_str) {
                Some(email) => Some(format!("{name} <{email}>")),
                None => Some(name.to_string()),
            }
        }
        _ => None,
    }
}

/// Parses one `package.json`. `Ok(None)` when it lacks a name or a version (build configuration,
/// private workspaces roots without a version); an error when it is not a JSON object.
pub fn parse_package_json(path: &str, contents: &[u8]) -> Result<Option<Package>, CatalogError> {
    let doc: Value = serde_json::from_slice(contents)
        .map_err(|e| CatalogError::malformed("package.json", format!("{path}: {e}")))?;
    let Value::Object(fields) = &doc else {
        return Err(CatalogError::malformed(
            "package.json",
            format!("{path}: not a JSON object"),
        ));
    };
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (Some(name), Some(version)) = (text("name"), text("version")) else {
        return Ok(None);
    };
    let mut p = Package::new(PackageType::Npm, name, version, path, PACKAGE_CATALOGER);
    p.licenses = declared_licenses(fields.get("license"), fields.get("licenses"));
    if let Some(author) = fields.get("author").and_then(author) {
        p.metadata.insert("npm.author".into(), author);
    }
    if let Some(homepage) = text("homepage") {
        p.metadata.insert("npm.homepage".into(), homepage.to_string());
    }
    if fields.get("private").and_then(Value::as_bool) == Some(true) {
        p.metadata.insert("npm.private".into(), "true".into());
    }
    Ok(Some(p))
}

/// Reads `package.json` files: installed packages and projects.
#[derive(Debug, Default)]
pub struct JavascriptPackageCataloger;

impl Cataloger for JavascriptPackageCataloger {
    fn name(&self) -> &'static str {
        PACKAGE_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "package.json"
    }

    fn max_size(&self) -> u64 {
        4 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_package_json(path, contents).map(|p| p.into_iter().collect())
    }
}

/// Which lock format a file name is, if any.
#[derive(Debug, Clone, Copy)]
enum LockFormat {
    Npm,
    Yarn,
    Pnpm,
}

fn lock_format(path: &str) -> Option<LockFormat> {
    match file_name(path) {
        "package-lock.json" | "npm-shrinkwrap.json" => Some(LockFormat::Npm),
        "yarn.lock" => Some(LockFormat::Yarn),
        "pnpm-lock.yaml" => Some(LockFormat::Pnpm),
        _ => None,
    }
}

/// Reads JavaScript lock files (npm, yarn, pnpm).
#[derive(Debug, Default)]
pub struct JavascriptLockCataloger;

impl Cataloger for JavascriptLockCataloger {
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
        lock_format(path).is_some()
    }

    fn max_size(&self) -> u64 {
        64 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        match lock_format(path) {
            Some(LockFormat::Npm) => parse_package_lock(path, contents),
            Some(LockFormat::Yarn) => parse_yarn_lock(path, contents),
            Some(LockFormat::Pnpm) => parse_pnpm_lock(path, contents),
            None => Ok(Vec::new()),
        }
    }
}

/// Splits `name@rest` at the `@` that ends the name (a scoped name starts with `@`).
pub(crate) fn split_name_at(spec: &str) -> Option<(&str, &str)> {
    let from = usize::from(spec.starts_with('@'));
    let at = spec.get(from..)?.find('@')? + from;
    Some((spec.get(..at)?, spec.get(at + 1..)?))
}

/// YAML limits for lock files: generous node counts (large monorepo locks), one-line errors
/// with line and column, later duplicate keys ignored.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::Options {
        budget: Some(serde_saphyr::Budget {
            max_events: 16_000_000,
            max_nodes: 8_000_000,
            max_depth: 64,
            max_documents: 1,
            ..serde_saphyr::Budget::default()
        }),
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::FirstWins,
        with_snippet: false,
        ..serde_saphyr::Options::default()
    }
}

/// Packages found in one lock file, each name and version once (the first entry wins).
#[derive(Debug, Default)]
pub(crate) struct Found {
    seen: std::collections::HashSet<(String, String)>,
    packages: Vec<Package>,
}

impl Found {
    /// Adds `p` unless a package with the same name and version is already there.
    pub(crate) fn push(&mut self, p: Package) {
        if self.seen.insert((p.name.clone(), p.version.clone())) {
            self.packages.push(p);
        }
    }

    /// How many packages were kept.
    pub(crate) fn len(&self) -> usize {
        self.packages.len()
    }

    /// The packages, in the order found.
    pub(crate) fn into_packages(self) -> Vec<Package> {
        self.packages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_scoped_and_plain_specs() {
        assert_eq!(split_name_at("lodash@^4.17.15"), Some(("lodash", "^4.17.15")));
        assert_eq!(split_name_at("@babel/core@7.1.0"), Some(("@babel/core", "7.1.0")));
        assert_eq!(split_name_at("@babel/core"), None);
        assert_eq!(split_name_at("a@npm:b@1"), Some(("a", "npm:b@1")));
    }

    #[test]
    fn license_shapes() {
        let v: Value = serde_json::json!({"type": "MIT", "url": "x"});
        assert_eq!(declared_licenses(Some(&v), None), vec!["MIT"]);
        let list: Value = serde_json::json!([{"type": "MIT"}, "Apache 2.0"]);
        assert_eq!(declared_licenses(None, Some(&list)), vec!["MIT", "Apache-2.0"]);
        assert!(declared_licenses(Some(&Value::Null), None).is_empty());
    }
}
