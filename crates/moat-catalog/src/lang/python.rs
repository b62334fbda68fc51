//! Python: installed distributions (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and single-file
//! `*.egg-info`) and declared dependencies (`requirements*.txt`, `poetry.lock`, `Pipfile.lock`,
//! `uv.lock`).
//!
//! Two small parsers here are hand-written:
//! - core metadata is an RFC 822 header block that pip and setuptools write loosely (raw UTF-8,
//!   unescaped text, licence texts folded over many lines); mail parsers reject or re-decode it,
//!   and the subset needed (fields, continuation lines, stop at the body) is a few lines;
//! - requirements files: only exact pins (`==`, `===`) are catalogued, so a full PEP 508 parser
//!   (a large dependency tree) would be used for a name/version split.
//!
//! The lock files are TOML (`toml`) and JSON (`serde_json`).

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use crate::license::to_spdx;
use moat_core::{Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Name of the installed-package cataloger.
pub const INSTALLED_CATALOGER: &str = "python-installed-package-cataloger";
/// Name of the declared-dependency cataloger.
pub const DECLARED_CATALOGER: &str = "python-package-cataloger";
/// Most header lines read from one metadata file.
const MAX_HEADER_LINES: usize = 10_000;
/// Most entries accepted in one lock or requirements file.
const MAX_ENTRIES: usize = 100_000;
/// A `License:` value longer than this is a licence text, not a name.
const MAX_LICENSE_NAME: usize = 120;

/// The header fields of one core-metadata file, in file order (a field may repeat).
#[derive(Debug, Default)]
struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// The first value of a field (names compare case-insensitively).
    fn first<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    /// Every value of a field, in order.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |field| field.0.eq_ignore_ascii_case(name))
            .map(|field| field.1.as_str())
    }
}

/// Reads the header block: `Name: value` lines, continuation lines (leading space or tab)
/// appended with a newline, up to the first empty line (the description body follows it). A
/// line of spaces is a continuation line, not the end.
fn parse_headers(text: &str) -> Headers {
    let mut headers = Headers::default();
    for line in text.lines().take(MAX_HEADER_LINES) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers
                .fields
                .push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

/// Normalises a project name as PEP 503 does (and syft reports it): lower case, each run of
/// `-`, `_` and `.` turned into one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            in_separator = true;
            continue;
        }
        if in_separator && !out.is_empty() {
            out.push('-');
        }
        in_separator = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Licences declared by core metadata: `License-Expression`, else a short `License:` value, else
/// the `License ::` classifiers.
fn metadata_licenses(headers: &Headers) -> Vec<String> {
    if let Some(expr) = headers.first("License-Expression").filter(|v| !v.is_empty()) {
        return vec![to_spdx(expr)];
    }
    let short = headers
        .first("License")
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains('\n') && v.len() <= MAX_LICENSE_NAME)
        .filter(|v| !v.eq_ignore_ascii_case("UNKNOWN"));
    if let Some(license) = short {
        return vec![to_spdx(license)];
    }
    let mut licenses: Vec<String> = headers
        .all("Classifier")
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next())
        .map(|c| to_spdx(c.trim()))
        .filter(|c| !c.is_empty() && c != "OSI Approved")
        .collect();
    licenses.dedup();
    licenses
}

/// Parses one core-metadata file (`METADATA`, `PKG-INFO` or a single-file `.egg-info`) into the
/// installed distribution it describes. An error when `Name` or `Version` is missing.
pub fn parse_python_metadata(path: &str, contents: &[u8]) -> Result<Package, CatalogError> {
    let text = String::from_utf8_lossy(contents);
    let headers = parse_headers(&text);
    let missing =
        |field: &str| CatalogError::malformed("python core metadata", format!("{path}: no {field} field"));
    let raw_name = headers
        .first("Name")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Name"))?;
    let version = headers
        .first("Version")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Version"))?;
    let mut p = Package::new(
        PackageType::Python,
        normalize_name(raw_name),
        version,
        path,
        INSTALLED_CATALOGER,
    );
    p.licenses = metadata_licenses(&headers);
    p.metadata.insert("python.name".into(), raw_name.to_string());
    for (field, key) in [
        ("Metadata-Version", "python.metadata_version"),
        ("Requires-Python", "python.requires_python"),
        ("Home-page", "python.homepage"),
    ] {
        if let Some(value) = headers.first(field).filter(|v| !v.is_empty() && *v != "UNKNOWN") {
            p.metadata.insert(key.into(), value.to_string());
        }
    }
    Ok(p)
}

/// Whether `path` is core metadata of an installed distribution.
fn is_installed_metadata(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || path.ends_with(".egg-info")
}

/// Reads installed distributions from their core metadata.
#[derive(Debug, Default)]
pub struct PythonInstalledCataloger;

impl Cataloger for PythonInstalledCataloger {
    fn name(&self) -> &'static str {
        INSTALLED_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        is_installed_metadata(path)
    }

    fn max_size(&self) -> u64 {
        8 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_python_metadata(path, contents).map(|p| vec![p])
    }
}

/// A declared dependency found in the requirements or lock file at `path`, its name normalised.
fn declared_package(path: &str, name: &str, version: impl Into<String>) -> Package {
    Package::new(
        PackageType::Python,
        normalize_name(name),
        version,
        path,
        DECLARED_CATALOGER,
    )
}

// ---------------------------------------------------------------------------------------------
// requirements*.txt
// ---------------------------------------------------------------------------------------------

/// Parses a pip requirements file: one package per exactly pinned requirement (`name==1.2`,
/// `name[extra]===1.2`). Options (`-r`, `-e`, `--hash`), URLs, comments, environment markers and
/// ranges are skipped. Never fails on content; only non-UTF-8 text is an error.
pub fn parse_requirements(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let text = std::str::from_utf8(contents)
        .map_err(|e| CatalogError::malformed("requirements.txt", format!("{path}: not UTF-8: {e}")))?;
    let mut packages = Vec::new();
    for (line_no, line) in logical_lines(text).into_iter().take(MAX_ENTRIES) {
        if let Some((name, version)) = pinned_requirement(&line) {
            let mut p = declared_package(path, name, version);
            p.metadata.insert("python.line".into(), line_no.to_string());
            packages.push(p);
        }
    }
    Ok(packages)
}

/// Joins backslash-continued lines; yields each logical line with its first line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let line = line.trim_end_matches('\r');
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push((start, std::mem::take(&mut current)));
            }
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// `(name, version)` of a requirement line pinned with `==` or `===`, if it is one.
fn pinned_requirement(line: &str) -> Option<(&str, &str)> {
    let line = strip_comment(line).trim();
    if line.is_empty() || line.starts_with('-') || line.contains("://") || line.contains(" @ ") {
        return None;
    }
    let line = line.split(';').next()?.trim();
    let line = line.split(" -").next()?.trim();
    let (name_part, version) = line.split_once("===").or_else(|| line.split_once("=="))?;
    let name = name_part.split('[').next()?.trim();
    let version = version.trim();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let version_ok =
        !version.is_empty() && !version.contains(|c: char| c.is_whitespace() || ",*<>=!~".contains(c));
    (name_ok && version_ok).then_some((name, version))
}

/// The part of a requirements line before a `#` comment (which starts a line or follows a space).
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(at) => &line[..at],
        None => line,
    }
}

// ---------------------------------------------------------------------------------------------
// poetry.lock, uv.lock, Pipfile.lock
// ---------------------------------------------------------------------------------------------

/// The parts of `poetry.lock` and `uv.lock` that name packages (both are `[[package]]` arrays).
#[derive(Debug, Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlLockPackage>,
}

#[derive(Debug, Deserialize)]
struct TomlLockPackage {
    name: String,
    /// Absent in uv.lock for dynamic-version workspace members.
    version: Option<String>,
    /// poetry: `main` or `dev` (lock format 1.x).
    category: Option<String>,
    /// poetry: `{type = "git", …}`; uv: `{registry = …}`, `{editable = "."}`, `{virtual = "."}`, …
    source: Option<toml::Table>,
}

fn parse_toml_lock(
    format: &'static str,
    path: &str,
    contents: &[u8],
) -> Result<Vec<TomlLockPackage>, CatalogError> {
    let malformed = |message: String| CatalogError::malformed(format, format!("{path}: {message}"));
    let text = std::str::from_utf8(contents).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let lock: TomlLock = toml::from_str(text).map_err(|e| malformed(e.to_string()))?;
    if lock.package.len() > MAX_ENTRIES {
        return Err(malformed(format!(
            "{} packages, more than {MAX_ENTRIES}",
            lock.package.len()
        )));
    }
    Ok(lock.package)
}

/// Parses a `poetry.lock`: one package per `[[package]]`.
pub fn parse_poetry_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let entries = parse_toml_lock("poetry.lock", path, contents)?;
    let mut packages = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(version) = entry.version else { continue };
        let mut p = declared_package(path, &entry.name, version);
        if let Some(category) = entry.category {
            p.metadata.insert("python.category".into(), category);
        }
        if let Some(kind) = entry
            .source
            .as_ref()
            .and_then(|s| s.get("type"))
            .and_then(toml::Value::as_str)
        {
            p.metadata.insert("python.source_type".into(), kind.to_string());
        }
        packages.push(p);
    }
    Ok(packages)
}

/// Parses a `uv.lock`: one package per `[[package]]`, leaving out the project itself and other
/// local workspace members (sources `editable` and `virtual`).
pub fn parse_uv_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let entries = parse_toml_lock("uv.lock", path, contents)?;
    let mut packages = Vec::with_capacity(entries.len());
    for entry in entries {
        let source = entry.source.unwrap_or_default();
        if source.contains_key("editable") || source.contains_key("virtual") {
            continue;
        }
        let Some(version) = entry.version else { continue };
        let mut p = declared_package(path, &entry.name, version);
        if let Some((kind, value)) = source.iter().next() {
            p.metadata.insert("python.source_type".into(), kind.clone());
            if let Some(url) = value.as_str() {
                p.metadata.insert("python.source".into(), url.to_string());
            }
        }
        packages.push(p);
    }
    Ok(packages)
}

#[derive(Debug, Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Debug, Deserialize)]
struct PipfileEntry {
    /// `==1.2.3`; absent for VCS and editable entries.
    version: Option<String>,
    index: Option<String>,
}

/// Parses a `Pipfile.lock`: the `default` and `develop` groups; entries without a pinned version
/// (VCS, editable paths) are left out.
pub fn parse_pipfile_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let lock: PipfileLock = serde_json::from_slice(contents)
        .map_err(|e| CatalogError::malformed("Pipfile.lock", format!("{path}: {e}")))?;
    let count = lock.default.len() + lock.develop.len();
    if count > MAX_ENTRIES {
        return Err(CatalogError::malformed(
            "Pipfile.lock",
            format!("{path}: {count} entries, more than {MAX_ENTRIES}"),
        ));
    }
    let mut packages = Vec::with_capacity(count);
    for (group, entries) in [("default", &lock.default), ("develop", &lock.develop)] {
        for (name, entry) in entries {
            let Some(version) = entry.version.as_deref().map(|v| v.trim_start_matches('=').trim()) else {
                continue;
            };
            if version.is_empty() {
                continue;
            }
            let mut p = declared_package(path, name, version);
            p.metadata.insert("python.group".into(), group.to_string());
            if let Some(index) = &entry.index {
                p.metadata.insert("python.index".into(), index.clone());
            }
            packages.push(p);
        }
    }
    Ok(packages)
}

/// Which declared-dependency format a file name is, if any.
fn declared_format(path: &str) -> Option<DeclaredFormat> {
    let name = file_name(path);
    match name {
        "poetry.lock" => Some(DeclaredFormat::Poetry),
        "Pipfile.lock" => Some(DeclaredFormat::Pipfile),
        "uv.lock" => Some(DeclaredFormat::Uv),
        _ if name.ends_with(".txt") && name.contains("requirements") => Some(DeclaredFormat::Requirements),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum DeclaredFormat {
    Requirements,
    Poetry,
    Pipfile,
    Uv,
}

/// Reads declared Python dependencies: requirements files and poetry, Pipfile and uv lock files.
#[derive(Debug, Default)]
pub struct PythonPackageCataloger;

impl Cataloger for PythonPackageCataloger {
    fn name(&self) -> &'static str {
        DECLARED_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn applies(&self) -> Applies {
        Applies::DirectoriesOnly
    }

    fn wants_path(&self, path: &str) -> bool {
        declared_format(path).is_some()
    }

    fn max_size(&self) -> u64 {
        32 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        match declared_format(path) {
            Some(DeclaredFormat::Requirements) => parse_requirements(path, contents),
            Some(DeclaredFormat::Poetry) => parse_poetry_lock(path, contents),
            Some(DeclaredFormat::Pipfile) => parse_pipfile_lock(path, contents),
            Some(DeclaredFormat::Uv) => parse_uv_lock(path, contents),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_names_like_pep_503() {
        assert_eq!(normalize_name("Django"), "django");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("Foo__Bar-._baz"), "foo-bar-baz");
        assert_eq!(normalize_name("_leading"), "leading");
    }

    #[test]
    fn pins_only() {
        assert_eq!(
            pinned_requirement("requests==2.19.1"),
            Some(("requests", "2.19.1"))
        );
        assert_eq!(
            pinned_requirement("Foo[bar,baz] === 1.0 ; python_version<'3'"),
            Some(("Foo", "1.0"))
        );
        assert_eq!(pinned_requirement("a==1.0 --hash=sha256:abc"), Some(("a", "1.0")));
        assert_eq!(pinned_requirement("a==1.0 # comment"), Some(("a", "1.0")));
        assert_eq!(pinned_requirement("a>=1.0"), None);
        assert_eq!(pinned_requirement("a==1.*"), None);
        assert_eq!(pinned_requirement("a==1.0,<2"), None);
        assert_eq!(pinned_requirement("-e git+https://x/y.git#egg=y"), None);
        assert_eq!(pinned_requirement("-r other.txt"), None);
        assert_eq!(pinned_requirement("pkg @ https://x/pkg-1.0.whl"), None);
        assert_eq!(pinned_requirement("# a==1.0"), None);
    }
}
