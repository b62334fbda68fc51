//! `package-lock.json` and `npm-shrinkwrap.json`: lockfile version 1 (a nested `dependencies`
//! tree) and versions 2 and 3 (a flat `packages` map keyed by install path).

use super::{declared_licenses, Found, LOCK_CATALOGER, MAX_ENTRIES};
use crate::cataloger::CatalogError;
use moat_core::{Package, PackageType};
use serde_json::{Map, Value};

const FORMAT: &str = "package-lock.json";
/// Deepest `dependencies` nesting followed in a version 1 lock file.
const MAX_DEPTH: usize = 64;

fn malformed(path: &str, message: impl std::fmt::Display) -> CatalogError {
    CatalogError::malformed(FORMAT, format!("{path}: {message}"))
}

/// Parses an npm lock file. Uses the `packages` map when there is one (versions 2 and 3),
/// otherwise the version 1 `dependencies` tree. The root project, links to local folders and
/// entries without a registry version are left out.
pub fn parse_package_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let doc: Value = serde_json::from_slice(contents).map_err(|e| malformed(path, e))?;
    let Value::Object(root) = &doc else {
        return Err(malformed(path, "not a JSON object"));
    };
    let mut found = Found::default();
    match root.get("packages") {
        Some(Value::Object(packages)) if !packages.is_empty() => {
            read_packages_map(path, packages, &mut found)?
        }
        _ => {
            if let Some(Value::Object(deps)) = root.get("dependencies") {
                read_dependency_tree(path, deps, &mut found)?;
            }
        }
    }
    Ok(found.into_packages())
}

/// The package name an install path stands for: what follows its last `node_modules/`.
fn name_from_install_path(key: &str) -> Option<&str> {
    let (_, name) = key.rsplit_once("node_modules/")?;
    Some(name).filter(|n| !n.is_empty())
}

/// Lock files record git, tarball and folder dependencies with a URL-like version.
fn is_registry_version(version: &str) -> bool {
    !version.is_empty() && !version.contains(':') && !version.contains('/')
}

fn read_packages_map(
    path: &str,
    packages: &Map<String, Value>,
    found: &mut Found,
) -> Result<(), CatalogError> {
    if packages.len() > MAX_ENTRIES {
        return Err(malformed(
            path,
            format!("{} packages, more than {MAX_ENTRIES}", packages.len()),
        ));
    }
    for (key, entry) in packages {
        let Value::Object(fields) = entry else {
            return Err(malformed(
                path,
                format!("packages entry {key:?} is not an object"),
            ));
        };
        if key.is_empty() || fields.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let text = |k: &str| fields.get(k).and_then(Value::as_str);
        let Some(name) = text("name").or_else(|| name_from_install_path(key)) else {
            continue;
        };
        let Some(version) = text("version").filter(|v| is_registry_version(v)) else {
            continue;
        };
        let mut p = lock_package(path, name, version, fields);
        p.licenses = declared_licenses(fields.get("license"), fields.get("licenses"));
        p.metadata.insert("npm.path".into(), key.clone());
        found.push(p);
    }
    Ok(())
}

/// A package with the facts both lock layouts share (`resolved`, `integrity`, `dev`).
fn lock_package(path: &str, name: &str, version: &str, fields: &Map<String, Value>) -> Package {
    let mut p = Package::new(PackageType::Npm, name, version, path, LOCK_CATALOGER);
    for (field, key) in [("resolved", "npm.resolved"), ("integrity", "npm.integrity")] {
        if let Some(value) = fields.get(field).and_then(Value::as_str) {
            p.metadata.insert(key.into(), value.to_string());
        }
    }
    if fields.get("dev").and_then(Value::as_bool) == Some(true) {
        p.metadata.insert("npm.dev".into(), "true".into());
    }
    p
}

/// Walks the version 1 tree breadth-first (no recursion: depth is bounded explicitly).
fn read_dependency_tree(path: &str, top: &Map<String, Value>, found: &mut Found) -> Result<(), CatalogError> {
    let mut queue: std::collections::VecDeque<(&Map<String, Value>, usize)> = [(top, 0)].into();
    let mut seen_entries = 0usize;
    while let Some((deps, depth)) = queue.pop_front() {
        if depth > MAX_DEPTH {
            return Err(malformed(
                path,
                format!("dependencies nested deeper than {MAX_DEPTH}"),
            ));
        }
        for (name, entry) in deps {
            seen_entries += 1;
            if seen_entries > MAX_ENTRIES {
                return Err(malformed(path, format!("more than {MAX_ENTRIES} dependencies")));
            }
            let Value::Object(fields) = entry else {
                return Err(malformed(path, format!("dependency {name:?} is not an object")));
            };
            if let Some(version) = fields
                .get("version")
                .and_then(Value::as_str)
                .filter(|v| is_registry_version(v))
            {
                found.push(lock_package(path, name, version, fields));
            }
            if let Some(Value::Object(nested)) = fields.get("dependencies") {
                queue.push_back((nested, depth + 1));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_path_names() {
        assert_eq!(name_from_install_path("node_modules/a"), Some("a"));
        assert_eq!(
            name_from_install_path("node_modules/a/node_modules/@s/b"),
            Some("@s/b")
        );
        assert_eq!(name_from_install_path("packages/app"), None);
    }

    #[test]
    fn registry_versions() {
        assert!(is_registry_version("1.2.3-beta.1"));
        assert!(!is_registry_version("file:../x"));
        assert!(!is_registry_version("github:user/repo#abc"));
        assert!(!is_registry_version(""));
    }
}
