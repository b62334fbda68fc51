//! Rust: crates listed in `Cargo.lock` files and crates embedded in binaries by
//! `cargo auditable` (the zlib-compressed JSON in the `.dep-v0` section, read with the
//! `auditable-info` crate).

use super::file_name;
use crate::cataloger::{CatalogError, Cataloger};
use moat_core::{Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest binary read for audit data.
const MAX_BINARY_SIZE: u64 = 256 * 1024 * 1024;
/// Largest decompressed audit JSON accepted (the `auditable-info` default).
const MAX_AUDIT_JSON: usize = 8 * 1024 * 1024;
/// Most `[[package]]` entries accepted in one lock file.
const MAX_LOCK_PACKAGES: usize = 100_000;

/// The parts of a `Cargo.lock` (versions 1 to 4) that name packages.
#[derive(Debug, Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockPackage>,
    /// Version 1 keeps checksums here: `"checksum <name> <version> (<source>)" = "<hex>"`.
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// Parses a `Cargo.lock` into packages, one per `[[package]]` entry (local workspace members
/// included, as Trivy reports them).
pub fn parse_cargo_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let malformed = |message: String| CatalogError::malformed("Cargo.lock", format!("{path}: {message}"));
    let text = std::str::from_utf8(contents).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let lock: LockFile = toml::from_str(text).map_err(|e| malformed(e.to_string()))?;
    if lock.package.len() > MAX_LOCK_PACKAGES {
        return Err(malformed(format!(
            "{} packages, more than {MAX_LOCK_PACKAGES}",
            lock.package.len()
        )));
    }
    let mut packages: Vec<Package> = Vec::with_capacity(lock.package.len());
    let mut seen = std::collections::HashSet::new();
    for entry in &lock.package {
        if !seen.insert((&entry.name, &entry.version, &entry.source)) {
            continue;
        }
        let mut p = Package::new(
            PackageType::RustCrate,
            &entry.name,
            &entry.version,
            path,
            "rust-cargo-lock-cataloger",
        );
        if let Some(source) = &entry.source {
            p.metadata.insert("cargo.source".into(), source.clone());
        }
        if let Some(checksum) = entry.checksum.clone().or_else(|| v1_checksum(&lock, entry)) {
            p.metadata.insert("cargo.checksum".into(), checksum);
        }
        packages.push(p);
    }
    Ok(packages)
}

fn v1_checksum(lock: &LockFile, entry: &LockPackage) -> Option<String> {
    let source = entry.source.as_deref()?;
    let key = format!("checksum {} {} ({source})", entry.name, entry.version);
    lock.metadata
        .get(&key)?
        .as_str()
        .map(str::to_string)
        .filter(|s| s != "<none>")
}

/// Reads `Cargo.lock` files, in images too (Trivy does).
#[derive(Debug, Default)]
pub struct CargoLockCataloger;

impl Cataloger for CargoLockCataloger {
    fn name(&self) -> &'static str {
        "rust-cargo-lock-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "Cargo.lock"
    }

    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_cargo_lock(path, contents)
    }
}

/// Parses the `cargo auditable` data of a binary. `Ok(empty)` when the binary has none; an
/// error when it has a `.dep-v0` section that cannot be read. Build-time dependencies are left
/// out: they are not in the binary.
pub fn parse_auditable_binary(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let info = match auditable_info::audit_info_from_slice(contents, MAX_AUDIT_JSON) {
        Ok(info) => info,
        Err(auditable_info::Error::NoAuditData) => return Ok(Vec::new()),
        Err(auditable_info::Error::BinaryParsing(_)) if !mentions_audit_section(contents) => {
            return Ok(Vec::new())
        }
        Err(e) => {
            return Err(CatalogError::malformed(
                "cargo auditable data",
                format!("{path}: {e}"),
            ))
        }
    };
    let packages = info
        .packages
        .iter()
        .filter(|p| p.kind == auditable_serde::DependencyKind::Runtime)
        .map(|dep| auditable_package(path, dep))
        .collect();
    Ok(packages)
}

fn auditable_package(path: &str, dep: &auditable_serde::Package) -> Package {
    let version = dep.version.to_string();
    let mut p = Package::new(
        PackageType::RustCrate,
        &dep.name,
        version,
        path,
        "cargo-auditable-binary-cataloger",
    );
    let source = String::from(dep.source.clone());
    p.metadata.insert("cargo.source".into(), source);
    if dep.root {
        p.metadata.insert("cargo.root".into(), "true".into());
    }
    p
}

/// A binary that failed to parse is only worth a warning when it names the audit section.
fn mentions_audit_section(contents: &[u8]) -> bool {
    contents.windows(7).any(|w| w == b".dep-v0")
}

/// Reads crates embedded in binaries built with `cargo auditable`.
#[derive(Debug, Default)]
pub struct CargoAuditableCataloger;

impl Cataloger for CargoAuditableCataloger {
    fn name(&self) -> &'static str {
        "cargo-auditable-binary-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, _path: &str) -> bool {
        false
    }

    fn wants_content(&self, _path: &str, head: &[u8]) -> bool {
        super::go::is_executable_header(head)
    }

    fn max_size(&self) -> u64 {
        MAX_BINARY_SIZE
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_auditable_binary(path, contents)
    }
}
