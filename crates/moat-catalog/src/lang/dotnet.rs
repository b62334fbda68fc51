//! .NET: NuGet packages from `*.deps.json` (written next to a built application, so evidence of
//! what is deployed) and from `packages.lock.json` (declared, directories only).

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use moat_core::{Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most libraries or dependencies accepted in one file.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Deserialize)]
struct DepsJson {
    #[serde(default)]
    libraries: BTreeMap<String, DepsLibrary>,
}

#[derive(Debug, Deserialize)]
struct DepsLibrary {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    sha512: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// Parses a `*.deps.json`: one package per library of type `package` (projects, which are the
/// application's own assemblies, and reference assemblies are left out, as Trivy does).
pub fn parse_deps_json(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let deps: DepsJson = serde_json::from_slice(contents)
        .map_err(|e| CatalogError::malformed("deps.json", format!("{path}: {e}")))?;
    check_count("deps.json", path, deps.libraries.len())?;
    let mut packages = Vec::new();
    for (key, library) in &deps.libraries {
        if library.kind != "package" {
            continue;
        }
        let (name, version) = key.split_once('/').ok_or_else(|| {
            CatalogError::malformed("deps.json", format!("{path}: library key {key:?} lacks '/'"))
        })?;
        let mut p = Package::new(PackageType::Dotnet, name, version, path, "dotnet-deps-cataloger");
        if let Some(sha) = &library.sha512 {
            p.metadata.insert("dotnet.sha512".into(), sha.clone());
        }
        if let Some(lib_path) = &library.path {
            p.metadata.insert("dotnet.path".into(), lib_path.clone());
        }
        packages.push(p);
    }
    Ok(packages)
}

fn check_count(format: &'static str, path: &str, count: usize) -> Result<(), CatalogError> {
    if count > MAX_ENTRIES {
        return Err(CatalogError::malformed(
            format,
            format!("{path}: {count} entries, more than {MAX_ENTRIES}"),
        ));
    }
    Ok(())
}

/// Reads `*.deps.json` files.
#[derive(Debug, Default)]
pub struct DotnetDepsCataloger;

impl Cataloger for DotnetDepsCataloger {
    fn name(&self) -> &'static str {
        "dotnet-deps-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        path.ends_with(".deps.json")
    }

    fn max_size(&self) -> u64 {
        32 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_deps_json(path, contents)
    }
}

#[derive(Debug, Deserialize)]
struct PackagesLock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, LockDependency>>,
}

#[derive(Debug, Deserialize)]
struct LockDependency {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(rename = "contentHash", default)]
    content_hash: Option<String>,
}

/// Parses a NuGet `packages.lock.json`: one package per resolved name and version across target
/// frameworks (`Direct`, `Transitive` and `CentralTransitive`; `Project` references left out).
pub fn parse_packages_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let lock: PackagesLock = serde_json::from_slice(contents)
        .map_err(|e| CatalogError::malformed("packages.lock.json", format!("{path}: {e}")))?;
    let count = lock.dependencies.values().map(BTreeMap::len).sum();
    check_count("packages.lock.json", path, count)?;
    let mut by_id: BTreeMap<(String, String), Package> = BTreeMap::new();
    for (framework, deps) in &lock.dependencies {
        for (name, dep) in deps {
            let Some(version) = dep.resolved.as_deref().filter(|_| dep.kind != "Project") else {
                continue;
            };
            let key = (name.clone(), version.to_string());
            let p = by_id
                .entry(key)
                .or_insert_with(|| new_lock_package(path, name, version, dep));
            append_framework(p, framework);
            if dep.kind == "Direct" {
                p.metadata
                    .insert("dotnet.dependency_type".into(), "Direct".into());
            }
        }
    }
    Ok(by_id.into_values().collect())
}

fn new_lock_package(path: &str, name: &str, version: &str, dep: &LockDependency) -> Package {
    let mut p = Package::new(
        PackageType::Dotnet,
        name,
        version,
        path,
        "dotnet-packages-lock-cataloger",
    );
    p.metadata
        .insert("dotnet.dependency_type".into(), dep.kind.clone());
    if let Some(hash) = &dep.content_hash {
        p.metadata.insert("dotnet.content_hash".into(), hash.clone());
    }
    p
}

fn append_framework(p: &mut Package, framework: &str) {
    let entry = p.metadata.entry("dotnet.target_frameworks".into()).or_default();
    if !entry.split(',').any(|f| f == framework) {
        if !entry.is_empty() {
            entry.push(',');
        }
        entry.push_str(framework);
    }
}

/// Reads NuGet `packages.lock.json` files (declared dependencies: directories only).
#[derive(Debug, Default)]
pub struct DotnetPackagesLockCataloger;

impl Cataloger for DotnetPackagesLockCataloger {
    fn name(&self) -> &'static str {
        "dotnet-packages-lock-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn applies(&self) -> Applies {
        Applies::DirectoriesOnly
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "packages.lock.json"
    }

    fn max_size(&self) -> u64 {
        32 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_packages_lock(path, contents)
    }
}
