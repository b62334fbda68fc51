//! Go: modules compiled into binaries (build info) and modules required by `go.mod` files.

pub mod buildinfo;
pub mod modfile;

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use buildinfo::{BuildInfo, Module};
use moat_core::{Package, PackageType};
use modfile::GoMod;
use std::collections::{HashMap, HashSet};

pub use buildinfo::{parse_go_buildinfo, BuildInfoError};
pub use modfile::{parse_go_mod, GoModError};

/// Largest binary read (Go binaries of big services reach a few hundred MiB).
const MAX_BINARY_SIZE: u64 = 256 * 1024 * 1024;
/// Version syft gives a main module built from a working tree.
const DEVEL: &str = "(devel)";

/// Whether the first bytes are those of an ELF, Mach-O (thin or fat) or PE executable.
pub fn is_executable_header(head: &[u8]) -> bool {
    const MACHO: [[u8; 4]; 5] = [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
        [0xca, 0xfe, 0xba, 0xbe],
    ];
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"MZ")
        || MACHO.iter().any(|magic| head.starts_with(magic))
}

/// Finds Go modules in binaries through their embedded build info.
#[derive(Debug, Default)]
pub struct GoBinaryCataloger;

impl Cataloger for GoBinaryCataloger {
    fn name(&self) -> &'static str {
        "go-module-binary-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, _path: &str) -> bool {
        false
    }

    fn wants_content(&self, _path: &str, head: &[u8]) -> bool {
        is_executable_header(head)
    }

    fn max_size(&self) -> u64 {
        MAX_BINARY_SIZE
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let info = parse_go_buildinfo(contents)
            .map_err(|e| CatalogError::malformed("go build info", format!("{path}: {e}")))?;
        Ok(info
            .map(|info| binary_packages(&info, path, self.name()))
            .unwrap_or_default())
    }
}

/// The packages a binary's build info shows: main module, dependencies and the standard library.
pub fn binary_packages(info: &BuildInfo, path: &str, found_by: &str) -> Vec<Package> {
    let mods = &info.mod_info;
    let main_path = mods.main.as_ref().map(|m| m.path.clone()).unwrap_or_default();
    let toolchain = info
        .go_version
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let new = |original: &Module| {
        let module = original.replace.as_deref().unwrap_or(original);
        let mut p = Package::new(
            PackageType::GoModule,
            &module.path,
            &module.version,
            path,
            found_by,
        );
        if module != original {
            p.metadata.insert(
                "go.replaces".into(),
                format!("{}@{}", original.path, original.version),
            );
        }
        add_common_metadata(&mut p, info, &toolchain, &main_path);
        if let Some(sum) = &module.sum {
            p.metadata.insert("go.h1_digest".into(), sum.clone());
        }
        p
    };
    let mut packages = Vec::new();
    if let Some(main) = mods.main.as_ref() {
        let mut p = new(main);
        p.version = main_module_version(info, &main.version);
        for (key, value) in &mods.settings {
            p.metadata.insert(format!("go.build.{key}"), value.clone());
        }
        packages.push(p);
    }
    packages.extend(mods.deps.iter().map(new));
    if !toolchain.is_empty() {
        packages.push(stdlib_package(info, &toolchain, &main_path, path, found_by));
    }
    packages
}

fn add_common_metadata(p: &mut Package, info: &BuildInfo, toolchain: &str, main_path: &str) {
    p.metadata.insert("go.toolchain".into(), info.go_version.clone());
    if toolchain != info.go_version {
        p.metadata
            .insert("go.compiled_version".into(), toolchain.to_string());
    }
    if !main_path.is_empty() {
        p.metadata.insert("go.main_module".into(), main_path.to_string());
    }
    if let Some(arch) = info.mod_info.setting("GOARCH") {
        p.metadata.insert("go.architecture".into(), arch.to_string());
    }
}

fn stdlib_package(info: &BuildInfo, toolchain: &str, main_path: &str, path: &str, found_by: &str) -> Package {
    let mut p = Package::new(PackageType::GoModule, "stdlib", toolchain, path, found_by);
    add_common_metadata(&mut p, info, toolchain, main_path);
    p.licenses.push("BSD-3-Clause".into());
    let cpe_version = toolchain.trim_start_matches("go");
    p.cpes
        .push(format!("cpe:2.3:a:golang:go:{cpe_version}:-:*:*:*:*:*:*"));
    p
}

/// The main module's version: the recorded one, else one set by `-ldflags -X …version=`, else a
/// pseudo-version from the VCS stamp, else `(devel)`.
fn main_module_version(info: &BuildInfo, recorded: &str) -> String {
    if !recorded.is_empty() && recorded != DEVEL {
        return recorded.to_string();
    }
    let settings = &info.mod_info;
    settings
        .setting("-ldflags")
        .and_then(version_from_ldflags)
        .or_else(|| pseudo_version(settings.setting("vcs.revision")?, settings.setting("vcs.time")?))
        .unwrap_or_else(|| DEVEL.to_string())
}

/// `-X pkg.version=1.2.3` (or `Version`, `gitVersion`, …) in the linker flags.
fn version_from_ldflags(flags: &str) -> Option<String> {
    let tokens: Vec<&str> = flags.split_whitespace().collect();
    let assignments = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.strip_prefix("-X") {
            Some("") => tokens.get(i + 1).copied(),
            Some(rest) => Some(rest.trim_start_matches('=')),
            None => None,
        });
    assignments.filter_map(ldflag_version).next()
}

fn ldflag_version(assignment: &str) -> Option<String> {
    let (symbol, value) = assignment.split_once('=')?;
    let var = symbol.rsplit('.').next()?;
    let known = [
        "version",
        "Version",
        "gitVersion",
        "GitVersion",
        "buildVersion",
        "BuildVersion",
    ];
    if !known.contains(&var) {
        return None;
    }
    let value = value.trim_matches(|c| c == '\'' || c == '"');
    let digits = value.strip_prefix('v').unwrap_or(value);
    digits
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| format!("v{digits}"))
}

/// Go's pseudo-version `v0.0.0-YYYYMMDDhhmmss-<12 hex>` from a VCS revision and RFC 3339 time.
fn pseudo_version(revision: &str, time: &str) -> Option<String> {
    let stamp: String = time.chars().take(19).filter(char::is_ascii_digit).collect();
    let short = revision.get(..12)?;
    (stamp.len() == 14).then(|| format!("v0.0.0-{stamp}-{short}"))
}

/// Finds modules required by `go.mod` files (declared dependencies: directories only).
#[derive(Debug, Default)]
pub struct GoModCataloger;

impl Cataloger for GoModCataloger {
    fn name(&self) -> &'static str {
        "go-mod-file-cataloger"
    }

    fn version(&self) -> u32 {
        1
    }

    fn applies(&self) -> Applies {
        Applies::DirectoriesOnly
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "go.mod"
    }

    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let module =
            parse_go_mod(contents).map_err(|e| CatalogError::malformed("go.mod", format!("{path}: {e}")))?;
        Ok(go_mod_packages(&module, path, self.name()))
    }
}

/// The required modules of a `go.mod`, with replacements applied; modules replaced by local
/// directories are left out (they are not fetched modules and have no version).
pub fn go_mod_packages(module: &GoMod, path: &str, found_by: &str) -> Vec<Package> {
    let mut replacements: HashMap<&str, Vec<&modfile::Replacement>> = HashMap::new();
    for r in &module.replaces {
        replacements.entry(r.old_path.as_str()).or_default().push(r);
    }
    let mut seen = HashSet::new();
    let mut packages: Vec<Package> = Vec::new();
    for req in &module.requires {
        let candidates = replacements
            .get(req.path.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let replacement = candidates
            .iter()
            .find(|r| r.old_version.as_deref() == Some(req.version.as_str()))
            .or_else(|| candidates.iter().find(|r| r.old_version.is_none()));
        let (name, version) = match replacement {
            Some(r) if modfile::is_local_path(&r.new_path) => continue,
            Some(r) => (r.new_path.clone(), r.new_version.clone().unwrap_or_default()),
            None => (req.path.clone(), req.version.clone()),
        };
        if !seen.insert((name.clone(), version.clone())) {
            continue;
        }
        let mut p = Package::new(PackageType::GoModule, name, version, path, found_by);
        p.metadata.insert("go.indirect".into(), req.indirect.to_string());
        if let Some(main) = &module.module {
            p.metadata.insert("go.main_module".into(), main.clone());
        }
        packages.push(p);
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldflags_versions() {
        assert_eq!(
            version_from_ldflags("-s -w -X main.version=1.2.3"),
            Some("v1.2.3".into())
        );
        assert_eq!(
            version_from_ldflags("-X=ex.com/a/cmd.Version=v0.9.0-rc1"),
            Some("v0.9.0-rc1".into())
        );
        assert_eq!(
            version_from_ldflags("-X main.commit=abc -X main.version=dev"),
            None
        );
    }

    #[test]
    fn pseudo_versions() {
        let got = pseudo_version("0123456789abcdef0123", "2023-04-05T06:07:08Z");
        assert_eq!(got, Some("v0.0.0-20230405060708-0123456789ab".into()));
        assert_eq!(pseudo_version("short", "2023-04-05T06:07:08Z"), None);
    }

    #[test]
    fn executable_headers() {
        assert!(is_executable_header(b"\x7fELF\x02\x01"));
        assert!(is_executable_header(b"MZ\x90\x00"));
        assert!(is_executable_header(&[0xcf, 0xfa, 0xed, 0xfe, 7]));
        assert!(!is_executable_header(b"#!/bin/sh\n"));
    }
}
