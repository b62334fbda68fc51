//! The dpkg database: `/var/lib/dpkg/status` and distroless `/var/lib/dpkg/status.d/*`, with
//! licences from `/usr/share/doc/<package>/copyright`.
//!
//! Hand-written: the status file is deb822 (RFC 822-like stanzas), and the available deb822 crates
//! either reject the slightly malformed files found in real images or do not report where a
//! stanza went wrong; this parser skips a bad stanza, says which line it started on, and keeps the
//! others.

use super::Parsed;
use crate::cataloger::{CatalogError, Cataloger, SupportFiles};
use crate::license::to_spdx;
use moat_core::{Evidence, Location, Package, PackageType, SourcePackage};
use std::collections::{BTreeSet, HashMap};

/// The cataloger's name, as syft names it.
pub const NAME: &str = "dpkg-db-cataloger";
const FORMAT: &str = "dpkg status";
const STATUS_FILE: &str = "/var/lib/dpkg/status";
const STATUS_DIR: &str = "/var/lib/dpkg/status.d/";
const DOC_DIR: &str = "/usr/share/doc/";

/// Reads the dpkg status database (and distroless `status.d` stanza files).
#[derive(Debug, Clone, Copy, Default)]
pub struct DpkgCataloger;

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        path == STATUS_FILE || is_status_d_file(path)
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let parsed = parse_status(contents, path)?;
        parsed.log_problems(NAME, path);
        Ok(parsed.packages)
    }

    fn wants_support(&self, path: &str) -> bool {
        copyright_package(path).is_some()
    }

    /// Licences come from the package's own copyright file; when it has none (its doc directory
    /// is a symlink, which the layer walk does not keep), from the copyright file of another
    /// binary package built from the same source, since Debian copyright files are per source.
    fn enrich(&self, packages: &mut [Package], support: &dyn SupportFiles) {
        let mut by_source: HashMap<String, (String, Vec<String>)> = HashMap::new();
        let mut own = Vec::with_capacity(packages.len());
        for package in packages.iter() {
            let path = format!("{DOC_DIR}{}/copyright", package.name);
            let found = support
                .get(&path)
                .map(|text| copyright_licenses(&String::from_utf8_lossy(text)));
            let found = found.filter(|f| !f.is_empty()).map(|f| (path, f));
            if let (Some(found), Some(source)) = (&found, &package.source) {
                by_source
                    .entry(source.name.clone())
                    .or_insert_with(|| found.clone());
            }
            own.push(found);
        }
        for (package, found) in packages.iter_mut().zip(own) {
            let shared = || {
                package
                    .source
                    .as_ref()
                    .and_then(|s| by_source.get(&s.name))
                    .cloned()
            };
            if let Some((path, licenses)) = found.or_else(shared) {
                add_licenses(package, &path, &licenses);
            }
        }
    }
}

/// Adds licences read from the copyright file at `path`, with that file as supporting evidence.
fn add_licenses(package: &mut Package, path: &str, found: &[String]) {
    if found.is_empty() {
        return;
    }
    for license in found {
        if !package.licenses.contains(license) {
            package.licenses.push(license.clone());
        }
    }
    if !package.locations.iter().any(|l| l.path == path) {
        let location = Location {
            path: path.to_string(),
            layer: None,
            evidence: Evidence::Supporting,
        };
        package.locations.push(location);
    }
}

/// A file directly inside `status.d`, other than the `*.md5sums` companions.
fn is_status_d_file(path: &str) -> bool {
    path.strip_prefix(STATUS_DIR)
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"))
}

/// The package name in `/usr/share/doc/<name>/copyright`.
fn copyright_package(path: &str) -> Option<&str> {
    let name = path.strip_prefix(DOC_DIR)?.strip_suffix("/copyright")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// One `Field: value` stanza and the line it starts on (1-based).
#[derive(Debug, Default)]
struct Stanza {
    line: usize,
    fields: Vec<(String, String)>,
    error: Option<String>,
}

impl Stanza {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.trim())
    }

    /// Adds one line of the stanza; records the first problem.
    fn push_line(&mut self, line: &str, number: usize) {
        if self.error.is_some() {
            return;
        }
        if line.starts_with([' ', '\t']) {
            match self.fields.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                None => self.error = Some(format!("line {number}: continuation line before any field")),
            }
            return;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                self.fields.push((name.to_string(), value.trim().to_string()));
            }
            _ => self.error = Some(format!("line {number}: not a `Field: value` line")),
        }
    }
}

/// Splits deb822 text into stanzas separated by blank lines. CRLF line ends are accepted.
fn stanzas(text: &str) -> Vec<Stanza> {
    let mut out = Vec::new();
    let mut current: Option<Stanza> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        let stanza = current.get_or_insert_with(|| Stanza {
            line: index + 1,
            ..Stanza::default()
        });
        stanza.push_line(line, index + 1);
    }
    out.extend(current);
    out
}

/// Parses a dpkg status file (or one `status.d` file) into the installed packages, located at
/// `path`. Bad stanzas are skipped and listed in [`Parsed::problems`]; the result is an error
/// only when the file has content but not one stanza could be read.
pub fn parse_status(contents: &[u8], path: &str) -> Result<Parsed, CatalogError> {
    let text = String::from_utf8_lossy(contents);
    let mut parsed = Parsed::default();
    let all = stanzas(&text);
    let mut readable = 0usize;
    for stanza in &all {
        match stanza_package(stanza, path) {
            Ok(Some(package)) => {
                readable += 1;
                parsed.packages.push(package);
            }
            Ok(None) => readable += 1,
            Err(problem) => parsed.problems.push(problem),
        }
    }
    if readable == 0 && !parsed.problems.is_empty() {
        return Err(CatalogError::malformed(FORMAT, parsed.problems.join("; ")));
    }
    Ok(parsed)
}

/// The package a stanza describes: `Ok(None)` when it is not installed, `Err` when malformed.
fn stanza_package(stanza: &Stanza, path: &str) -> Result<Option<Package>, String> {
    let at = stanza.line;
    if let Some(error) = &stanza.error {
        return Err(format!("stanza at line {at}: {error}"));
    }
    let name = stanza.get("Package").filter(|n| !n.is_empty());
    let Some(name) = name else {
        return Err(format!("stanza at line {at}: no Package field"));
    };
    let version = stanza.get("Version").filter(|v| !v.is_empty());
    let Some(version) = version else {
        return Err(format!("stanza at line {at} ({name}): no Version field"));
    };
    if !stanza.get("Status").is_none_or(is_installed) {
        return Ok(None);
    }
    let mut package = Package::new(PackageType::Deb, name, version, path, NAME);
    package.arch = stanza
        .get("Architecture")
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    package.source = Some(source_package(stanza.get("Source"), name, version));
    let metadata = [
        ("Maintainer", "dpkg.maintainer"),
        ("Installed-Size", "dpkg.installed_size"),
    ];
    for (field, key) in metadata {
        if let Some(value) = stanza.get(field).filter(|v| !v.is_empty()) {
            package.metadata.insert(key.to_string(), value.to_string());
        }
    }
    Ok(Some(package))
}

/// Whether a `Status:` value (`want flag state`) says the package's files are on disk and
/// configured (`install ok installed`; also pending triggers and held packages).
fn is_installed(status: &str) -> bool {
    let state = status.split_whitespace().nth(2).unwrap_or("");
    matches!(state, "installed" | "triggers-pending" | "triggers-awaited")
}

/// Reads `Source: name` or `Source: name (version)`; absent means the binary's own name and
/// version.
fn source_package(field: Option<&str>, name: &str, version: &str) -> SourcePackage {
    let field = field.map(str::trim).filter(|f| !f.is_empty());
    let Some(field) = field else {
        return SourcePackage {
            name: name.to_string(),
            version: version.to_string(),
        };
    };
    match field.split_once('(') {
        Some((source, rest)) => {
            let source_version = rest.split(')').next().unwrap_or("").trim();
            let source_version = if source_version.is_empty() {
                version
            } else {
                source_version
            };
            SourcePackage {
                name: source.trim().to_string(),
                version: source_version.to_string(),
            }
        }
        None => SourcePackage {
            name: field.to_string(),
            version: version.to_string(),
        },
    }
}

/// Licences named in a Debian copyright file: the identifiers of every DEP-5 `License:` field
/// (`GPL-2+ or Artistic` gives both) and every `/usr/share/common-licenses/<name>` reference,
/// each mapped to SPDX where known. Sorted and without duplicates.
pub fn copyright_licenses(text: &str) -> Vec<String> {
    let mut raw = BTreeSet::new();
    for line in text.lines() {
        if let Some(value) = strip_field(line, "License:") {
            raw.extend(license_ids(value));
        }
        raw.extend(common_license_refs(line));
    }
    let mapped: BTreeSet<String> = raw.iter().map(|id| to_spdx(id)).collect();
    mapped.into_iter().collect()
}

/// The value of `Field:` at the start of a line (case-insensitive).
fn strip_field<'a>(line: &'a str, field: &str) -> Option<&'a str> {
    let head = line.get(..field.len())?;
    head.eq_ignore_ascii_case(field).then(|| &line[field.len()..])
}

/// Licence identifiers in the first line of a DEP-5 `License:` field: `or`/`and` split it,
/// `with … exception` clauses are dropped.
fn license_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut skipping_exception = false;
    for token in value.split_whitespace() {
        let token = token.trim_matches(|c: char| matches!(c, ',' | '(' | ')' | ';'));
        let lower = token.to_ascii_lowercase();
        if skipping_exception {
            skipping_exception = !lower.ends_with("exception");
            continue;
        }
        match lower.as_str() {
            "" | "or" | "and" | "and/or" | "|" | "&" => {}
            "with" => skipping_exception = true,
            _ if is_license_token(token) => out.push(token.to_string()),
            _ => {}
        }
    }
    out
}

fn is_license_token(token: &str) -> bool {
    token.len() <= 64
        && token.starts_with(|c: char| c.is_ascii_alphanumeric())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | '_'))
}

/// Licence names referenced as `/usr/share/common-licenses/<name>` in a line.
fn common_license_refs(line: &str) -> Vec<String> {
    const PREFIX: &str = "/usr/share/common-licenses/";
    line.match_indices(PREFIX)
        .filter_map(|(at, _)| {
            let rest = &line[at + PREFIX.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | '_')))
                .unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            is_license_token(name).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_forms() {
        let plain = source_package(Some("util-linux"), "bsdutils", "1:2.38.1-5");
        assert_eq!(
            (plain.name.as_str(), plain.version.as_str()),
            ("util-linux", "1:2.38.1-5")
        );
        let versioned = source_package(Some("bash (5.2.15-2)"), "bash", "5.2.15-2+b13");
        assert_eq!(
            (versioned.name.as_str(), versioned.version.as_str()),
            ("bash", "5.2.15-2")
        );
        let absent = source_package(None, "dash", "0.5.12-2");
        assert_eq!(
            (absent.name.as_str(), absent.version.as_str()),
            ("dash", "0.5.12-2")
        );
    }

    #[test]
    fn status_states() {
        assert!(is_installed("install ok installed"));
        assert!(is_installed("hold ok installed"));
        assert!(!is_installed("deinstall ok config-files"));
        assert!(!is_installed("install ok half-installed"));
        assert!(!is_installed("garbage"));
    }

    #[test]
    fn paths() {
        assert!(is_status_d_file("/var/lib/dpkg/status.d/base-files"));
        assert!(!is_status_d_file("/var/lib/dpkg/status.d/base-files.md5sums"));
        assert!(!is_status_d_file("/var/lib/dpkg/status.d/"));
        assert_eq!(copyright_package("/usr/share/doc/bash/copyright"), Some("bash"));
        assert_eq!(copyright_package("/usr/share/doc/bash/x/copyright"), None);
    }

    #[test]
    fn license_lines() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
                    License: GPL-2+ or Artistic-2.0, and BSD-3-clause\n\
                    License: GPL-2+ with OpenSSL exception\n \
                    On Debian systems, see /usr/share/common-licenses/GPL-2.\n";
        assert_eq!(
            copyright_licenses(text),
            vec!["Artistic-2.0", "BSD-3-Clause", "GPL-2.0-only", "GPL-2.0-or-later"]
        );
    }
}
