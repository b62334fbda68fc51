//! The apk database: `/lib/apk/db/installed` (Alpine, Wolfi, Chainguard).
//!
//! Hand-written: the format is one `X:value` line per fact in blank-line separated records,
//! simpler than any crate that would wrap it, and no maintained crate reads it.

use super::Parsed;
use crate::cataloger::{CatalogError, Cataloger};
use crate::license::to_spdx;
use moat_core::{Package, PackageType, SourcePackage};

/// The cataloger's name, as syft names it.
pub const NAME: &str = "apk-db-cataloger";
const FORMAT: &str = "apk installed";
const DB_FILE: &str = "/lib/apk/db/installed";

/// Reads the apk installed database.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        path == DB_FILE
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let parsed = parse_installed(contents, path)?;
        parsed.log_problems(NAME, path);
        Ok(parsed.packages)
    }
}

/// One record: its first line (1-based) and its `(key, value)` lines.
#[derive(Debug, Default)]
struct Record {
    line: usize,
    fields: Vec<(char, String)>,
    error: Option<String>,
}

impl Record {
    fn get(&self, key: char) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn records(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut current: Option<Record> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        let record = current.get_or_insert_with(|| Record {
            line: index + 1,
            ..Record::default()
        });
        let mut chars = line.chars();
        match (chars.next(), chars.next()) {
            (Some(key), Some(':')) => record.fields.push((key, chars.as_str().trim().to_string())),
            _ if record.error.is_none() => {
                record.error = Some(format!("line {}: not a `X:value` line", index + 1));
            }
            _ => {}
        }
    }
    out.extend(current);
    out
}

/// Parses an apk `installed` database into packages located at `path`. Records without a name
/// or version, or with lines that are not `X:value`, are skipped and listed in
/// [`Parsed::problems`]; the result is an error only when nothing could be read.
pub fn parse_installed(contents: &[u8], path: &str) -> Result<Parsed, CatalogError> {
    let text = String::from_utf8_lossy(contents);
    let mut parsed = Parsed::default();
    for record in records(&text) {
        match record_package(&record, path) {
            Ok(package) => parsed.packages.push(package),
            Err(problem) => parsed.problems.push(problem),
        }
    }
    if parsed.packages.is_empty() && !parsed.problems.is_empty() {
        return Err(CatalogError::malformed(FORMAT, parsed.problems.join("; ")));
    }
    Ok(parsed)
}

fn record_package(record: &Record, path: &str) -> Result<Package, String> {
    let at = record.line;
    if let Some(error) = &record.error {
        return Err(format!("record at line {at}: {error}"));
    }
    let Some(name) = record.get('P') else {
        return Err(format!("record at line {at}: no P: (name)"));
    };
    let Some(version) = record.get('V') else {
        return Err(format!("record at line {at} ({name}): no V: (version)"));
    };
    let mut package = Package::new(PackageType::Apk, name, version, path, NAME);
    package.arch = record.get('A').map(str::to_string);
    package.source = record.get('o').map(|origin| SourcePackage {
        name: origin.to_string(),
        version: String::new(),
    });
    package.licenses.extend(record.get('L').map(to_spdx));
    let metadata = [
        ('m', "apk.maintainer"),
        ('U', "apk.url"),
        ('I', "apk.installed_size"),
        ('S', "apk.size"),
        ('c', "apk.commit"),
    ];
    for (key, name) in metadata {
        if let Some(value) = record.get(key) {
            package.metadata.insert(name.to_string(), value.to_string());
        }
    }
    Ok(package)
}
