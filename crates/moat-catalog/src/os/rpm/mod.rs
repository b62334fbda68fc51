//! The rpm database in its three on-disk forms: SQLite `rpmdb.sqlite` (RHEL 9, Fedora ≥ 33),
//! Berkeley DB `Packages` (RHEL 7/8, Amazon Linux 2) and ndb `Packages.db` (SUSE), under
//! `/var/lib/rpm/` or `/usr/lib/sysimage/rpm/`. Each holds one header blob per installed package.

pub mod bdb;
pub mod header;
pub mod ndb;

use super::Parsed;
use crate::cataloger::{CatalogError, Cataloger};
use crate::license::to_spdx;
use header::{parse_header, split_source_rpm};
use moat_core::{Package, PackageType, SourcePackage};
use std::io::Write;

/// The cataloger's name, as syft names it.
pub const NAME: &str = "rpm-db-cataloger";
const DB_DIRS: [&str; 2] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"];
/// A header blob is at least the 8-byte preamble and one index entry; shorter values in a
/// Berkeley DB (rpm's instance counter under key 0) are not packages.
const MIN_HEADER_LEN: usize = 24;

/// Which database format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbKind {
    Sqlite,
    BerkeleyDb,
    Ndb,
}

fn db_kind(path: &str) -> Option<DbKind> {
    let file = DB_DIRS.iter().find_map(|dir| path.strip_prefix(dir))?;
    match file {
        "rpmdb.sqlite" => Some(DbKind::Sqlite),
        "Packages" => Some(DbKind::BerkeleyDb),
        "Packages.db" => Some(DbKind::Ndb),
        _ => None,
    }
}

/// Reads the rpm database in any of its formats.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        db_kind(path).is_some()
    }

    fn max_size(&self) -> u64 {
        // rpm databases of full distributions pass 100 MB.
        512 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let parsed = match db_kind(path) {
            Some(DbKind::Sqlite) => parse_sqlite(contents, path)?,
            Some(DbKind::BerkeleyDb) => parse_bdb(contents, path)?,
            Some(DbKind::Ndb) => parse_ndb(contents, path)?,
            None => return Ok(Vec::new()),
        };
        parsed.log_problems(NAME, path);
        Ok(parsed.packages)
    }
}

/// The package a header blob describes, located at `path`; `None` for `gpg-pubkey`
/// pseudo-packages.
pub fn header_package(blob: &[u8], path: &str) -> Result<Option<Package>, CatalogError> {
    let header = parse_header(blob)?;
    if header.name == "gpg-pubkey" {
        return Ok(None);
    }
    let mut package = Package::new(PackageType::Rpm, &header.name, header.full_version(), path, NAME);
    package.arch = Some(header.arch.clone()).filter(|a| !a.is_empty());
    package.source =
        split_source_rpm(&header.source_rpm).map(|(name, version)| SourcePackage { name, version });
    if !header.license.trim().is_empty() {
        package.licenses.push(to_spdx(&header.license));
    }
    let metadata = [
        ("rpm.vendor", header.vendor.clone()),
        ("rpm.sourcerpm", header.source_rpm.clone()),
        ("rpm.size", header.size.map(|s| s.to_string()).unwrap_or_default()),
        (
            "rpm.epoch",
            header.epoch.map(|e| e.to_string()).unwrap_or_default(),
        ),
    ];
    for (key, value) in metadata {
        if !value.is_empty() {
            package.metadata.insert(key.to_string(), value);
        }
    }
    Ok(Some(package))
}

/// Turns a list of (record label, header blob) into packages; an error only when there were
/// records and none could be read.
fn packages_from_blobs<'a>(
    blobs: impl IntoIterator<Item = (String, &'a [u8])>,
    path: &str,
    mut problems: Vec<String>,
    format: &'static str,
) -> Result<Parsed, CatalogError> {
    let mut parsed = Parsed::default();
    let mut readable = 0usize;
    for (label, blob) in blobs {
        if blob.len() < MIN_HEADER_LEN {
            continue;
        }
        match header_package(blob, path) {
            Ok(package) => {
                readable += 1;
                parsed.packages.extend(package);
            }
            Err(err) => problems.push(format!("{label}: {err}")),
        }
    }
    if readable == 0 && !problems.is_empty() {
        return Err(CatalogError::malformed(format, problems.join("; ")));
    }
    parsed.problems = problems;
    Ok(parsed)
}

/// Parses a Berkeley DB `Packages` file.
pub fn parse_bdb(bytes: &[u8], path: &str) -> Result<Parsed, CatalogError> {
    let db = bdb::read_hash_values(bytes)?;
    let blobs = db
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("value {i}"), v.as_slice()));
    packages_from_blobs(blobs, path, db.problems, "rpm Berkeley DB")
}

/// Parses an ndb `Packages.db` file.
pub fn parse_ndb(bytes: &[u8], path: &str) -> Result<Parsed, CatalogError> {
    let db = ndb::read_blobs(bytes)?;
    let blobs = db
        .blobs
        .iter()
        .map(|(index, blob)| (format!("package {index}"), blob.as_slice()));
    packages_from_blobs(blobs, path, db.problems, "rpm ndb")
}

/// Parses an `rpmdb.sqlite` file: the bytes are written to a private temporary directory
/// (SQLite reads files, and a WAL-mode database needs its side files next to it) and the
/// `Packages(hnum, blob)` table is read.
pub fn parse_sqlite(bytes: &[u8], path: &str) -> Result<Parsed, CatalogError> {
    let rows = sqlite_rows(bytes).map_err(|e| CatalogError::malformed("rpm sqlite", e))?;
    let blobs = rows
        .iter()
        .map(|(hnum, blob)| (format!("hnum {hnum}"), blob.as_slice()));
    packages_from_blobs(blobs, path, Vec::new(), "rpm sqlite")
}

fn sqlite_rows(bytes: &[u8]) -> Result<Vec<(i64, Vec<u8>)>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let file_path = dir.path().join("rpmdb.sqlite");
    let mut file = std::fs::File::create(&file_path).map_err(|e| format!("temporary file: {e}"))?;
    file.write_all(bytes)
        .map_err(|e| format!("temporary file: {e}"))?;
    drop(file);
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(&file_path, flags).map_err(|e| e.to_string())?;
    let mut statement = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(|e| e.to_string())?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(db_kind("/var/lib/rpm/rpmdb.sqlite"), Some(DbKind::Sqlite));
        assert_eq!(db_kind("/usr/lib/sysimage/rpm/Packages.db"), Some(DbKind::Ndb));
        assert_eq!(db_kind("/var/lib/rpm/Packages"), Some(DbKind::BerkeleyDb));
        assert_eq!(db_kind("/var/lib/rpm/Name"), None);
        assert_eq!(db_kind("/opt/var/lib/rpm/Packages"), None);
    }

    #[test]
    fn garbage_sqlite_is_an_error() {
        assert!(parse_sqlite(b"not a database at all", "/var/lib/rpm/rpmdb.sqlite").is_err());
    }
}
