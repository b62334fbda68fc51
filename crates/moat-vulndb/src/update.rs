//! `moat db update`: downloads OSV's `<base>/<Ecosystem>/all.zip` archives (conditionally, with
//! the stored `ETag` / `Last-Modified`), checks each (length, SHA-256, every zip member), then
//! builds the new database in a temporary file beside the old one and renames it over the old
//! file. Any failure leaves the old database as it was and removes the temporary files.

use crate::error::DbError;
use crate::import::ImportProblem;
use crate::store::{Download, Store};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;
use tempfile::NamedTempFile;

/// Where OSV publishes its per-ecosystem archives.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems Moat inventories, as OSV names them.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "Wolfi",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "PyPI",
    "npm",
    "crates.io",
    "Go",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
];

/// The largest archive accepted.
const MAX_DOWNLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What to update and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOptions {
    /// The base URL; archives are at `<base>/<Ecosystem>/all.zip`.
    pub base_url: String,
    /// The OSV ecosystem names to download.
    pub ecosystems: Vec<String>,
    /// How long to wait for a connection and for each read.
    pub timeout: Duration,
}

impl Default for UpdateOptions {
    fn default() -> UpdateOptions {
        UpdateOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|e| e.to_string()).collect(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// What happened to one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The server said the stored copy is current (HTTP 304); the data was kept.
    NotModified,
    /// A new archive replaced the source's records.
    Downloaded {
        /// Its size.
        bytes: u64,
        /// Its SHA-256 (hex).
        sha256: String,
        /// Records stored from it.
        records: u64,
    },
}

/// One ecosystem's update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcosystemUpdate {
    /// The OSV ecosystem name.
    pub ecosystem: String,
    /// The store's source name for it (`osv:PyPI`).
    pub source: String,
    /// The archive's URL.
    pub url: String,
    /// What happened.
    pub outcome: UpdateOutcome,
}

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    /// Each ecosystem, in the order asked.
    pub ecosystems: Vec<EcosystemUpdate>,
    /// Records of the archives that were skipped, as an import reports them.
    pub problems: Vec<ImportProblem>,
}

/// The store's source name for an ecosystem's archive.
pub fn source_name(ecosystem: &str) -> String {
    format!("osv:{ecosystem}")
}

/// `<base>/<Ecosystem>/all.zip`, the ecosystem name percent-encoded as a path segment.
pub fn archive_url(base: &str, ecosystem: &str) -> Result<String, DbError> {
    let mut url = url::Url::parse(base).map_err(|e| DbError::download(base, format!("not a URL: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| DbError::download(base, "not a base URL for downloads"))?
        .pop_if_empty()
        .push(ecosystem)
        .push("all.zip");
    Ok(url.to_string())
}

/// A checked archive on disk.
struct Fetched {
    file: NamedTempFile,
    bytes: u64,
    sha256: String,
    etag: String,
    last_modified: String,
}

/// Downloads what changed and swaps in the rebuilt database at `db`.
pub fn update(db: &Path, options: &UpdateOptions) -> Result<UpdateSummary, DbError> {
    let dir = directory_of(db)?;
    let existing = open_existing(db)?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(options.timeout)
        .timeout_read(options.timeout)
        .user_agent(concat!("moat/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut fetched = Vec::new();
    for ecosystem in &options.ecosystems {
        let source = source_name(ecosystem);
        let url = archive_url(&options.base_url, ecosystem)?;
        let validators = match &existing {
            Some(store) => store.validators(&source)?,
            None => None,
        };
        let archive = fetch(&agent, &url, validators, &dir)?;
        fetched.push((ecosystem.clone(), source, url, archive));
    }
    match fetched.iter().any(|(.., archive)| archive.is_some()) {
        true => rebuild(db, &dir, existing, fetched),
        false => confirm_current(db, existing, fetched),
    }
}

/// The directory of the database file, created if missing.
fn directory_of(db: &Path) -> Result<std::path::PathBuf, DbError> {
    let dir = match db.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => parent.to_path_buf(),
        None => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| DbError::input(dir.display(), format!("cannot create the directory: {e}")))?;
    Ok(dir)
}

/// The current database, if there is one.
fn open_existing(db: &Path) -> Result<Option<Store>, DbError> {
    match Store::open(db) {
        Ok(store) => Ok(Some(store)),
        Err(DbError::Missing { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

type Fetches = Vec<(String, String, String, Option<Fetched>)>;

/// Every server answered 304: the data stays, and the check is noted.
fn confirm_current(db: &Path, existing: Option<Store>, fetched: Fetches) -> Result<UpdateSummary, DbError> {
    let existing_db = existing.is_some();
    drop(existing);
    let mut summary = UpdateSummary::default();
    let sources: Vec<String> = fetched.iter().map(|(_, source, ..)| source.clone()).collect();
    if existing_db && !sources.is_empty() {
        Store::create(db)?.mark_checked(&sources)?;
    }
    for (ecosystem, source, url, _) in fetched {
        summary.ecosystems.push(EcosystemUpdate {
            ecosystem,
            source,
            url,
            outcome: UpdateOutcome::NotModified,
        });
    }
    Ok(summary)
}

/// Copies the database to a temporary file beside it, replaces the downloaded sources there
/// and renames it over the old file.
fn rebuild(
    db: &Path,
    dir: &Path,
    existing: Option<Store>,
    fetched: Fetches,
) -> Result<UpdateSummary, DbError> {
    let temp = tempfile::Builder::new()
        .prefix(".moat-update-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| DbError::input(dir.display(), format!("cannot create a temporary file: {e}")))?;
    if let Some(store) = existing {
        store.copy_to(temp.path())?;
    }
    let mut store = Store::create(temp.path())?;
    // The copy is thrown away on any failure and synced before the rename: no need for
    // SQLite to sync each step.
    store.sql(|c| c.execute_batch("PRAGMA synchronous = OFF"))?;
    let mut summary = UpdateSummary::default();
    let mut unchanged = Vec::new();
    for (ecosystem, source, url, archive) in fetched {
        let outcome = match archive {
            None => {
                unchanged.push(source.clone());
                UpdateOutcome::NotModified
            }
            Some(archive) => {
                let download = Download {
                    source: &source,
                    url: &url,
                    etag: &archive.etag,
                    last_modified: &archive.last_modified,
                    sha256: &archive.sha256,
                    archive: archive.file.path(),
                };
                let imported = store.replace_source(&download)?;
                summary.problems.extend(imported.problems);
                UpdateOutcome::Downloaded {
                    bytes: archive.bytes,
                    sha256: archive.sha256,
                    records: imported.per_source.values().sum(),
                }
            }
        };
        summary.ecosystems.push(EcosystemUpdate {
            ecosystem,
            source,
            url,
            outcome,
        });
    }
    if !unchanged.is_empty() {
        store.mark_checked(&unchanged)?;
    }
    drop(store);
    temp.as_file()
        .sync_all()
        .map_err(|e| DbError::input(temp.path().display(), e))?;
    temp.persist(db)
        .map_err(|e| DbError::input(db.display(), format!("cannot replace the database: {}", e.error)))?;
    Ok(summary)
}

/// Downloads `url` into a temporary file in `dir`, unless the server says the copy described
/// by `validators` (`ETag`, `Last-Modified`) is current.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    validators: Option<(String, String)>,
    dir: &Path,
) -> Result<Option<Fetched>, DbError> {
    let mut request = agent.get(url).set("Accept-Encoding", "identity");
    if let Some((etag, last_modified)) = &validators {
        if !etag.is_empty() {
            request = request.set("If-None-Match", etag);
        }
        if !last_modified.is_empty() {
            request = request.set("If-Modified-Since", last_modified);
        }
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(code, response)) => {
            return Err(DbError::download(
                url,
                format!("HTTP {code} {}", response.status_text()),
            ));
        }
        Err(ureq::Error::Transport(error)) => {
            // The transport error's own text repeats the URL, which the error already names.
            let detail = match error.message() {
                Some(message) => format!("{}: {message}", error.kind()),
                None => error.kind().to_string(),
            };
            return Err(DbError::download(url, format!("cannot download: {detail}")));
        }
    };
    match response.status() {
        304 => Ok(None),
        200 => save(response, url, dir).map(Some),
        other => Err(DbError::download(
            url,
            format!("unexpected HTTP {other} {}", response.status_text()),
        )),
    }
}

/// Streams the body to a temporary file, hashing it and checking its length, then checks
/// that it is a whole zip archive.
fn save(response: ureq::Response, url: &str, dir: &Path) -> Result<Fetched, DbError> {
    let header = |name: &str| response.header(name).unwrap_or_default().to_string();
    let (etag, last_modified) = (header("ETag"), header("Last-Modified"));
    let expected = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if expected.is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
        return Err(DbError::download(
            url,
            format!("larger than {MAX_DOWNLOAD_BYTES} bytes"),
        ));
    }
    let mut file = tempfile::Builder::new()
        .prefix(".moat-download-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| DbError::input(dir.display(), format!("cannot create a temporary file: {e}")))?;
    let (bytes, sha256) = copy_hashing(response.into_reader(), file.as_file_mut(), url, expected)?;
    if let Some(expected) = expected.filter(|n| *n != bytes) {
        return Err(DbError::Truncated {
            url: url.to_string(),
            received: bytes,
            expected,
        });
    }
    check_zip(file.path(), url)?;
    Ok(Fetched {
        file,
        bytes,
        sha256,
        etag,
        last_modified,
    })
}

/// Copies `reader` to `out`; returns the byte count and SHA-256. A body cut short is a
/// [`DbError::Truncated`] when the length was announced.
fn copy_hashing(
    mut reader: impl Read,
    out: &mut std::fs::File,
    url: &str,
    expected: Option<u64>,
) -> Result<(u64, String), DbError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received: u64 = 0;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match expected {
                    Some(expected) if e.kind() == std::io::ErrorKind::UnexpectedEof => DbError::Truncated {
                        url: url.to_string(),
                        received,
                        expected,
                    },
                    _ => DbError::download(url, format!("download failed after {received} bytes: {e}")),
                });
            }
        };
        let chunk = buffer.get(..read).unwrap_or_default();
        hasher.update(chunk);
        out.write_all(chunk)
            .map_err(|e| DbError::download(url, format!("cannot save the download: {e}")))?;
        received += read as u64;
        if received > MAX_DOWNLOAD_BYTES {
            return Err(DbError::download(
                url,
                format!("larger than {MAX_DOWNLOAD_BYTES} bytes"),
            ));
        }
    }
    out.flush()
        .map_err(|e| DbError::download(url, format!("cannot save the download: {e}")))?;
    Ok((received, hex::encode(hasher.finalize())))
}

/// Reads every member of the archive to its end, so that a damaged one (bad CRC, cut short)
/// fails here, naming the URL, before the database is touched.
fn check_zip(path: &Path, url: &str) -> Result<(), DbError> {
    let bad = |e: &dyn std::fmt::Display| DbError::download(url, format!("not a whole zip archive: {e}"));
    let file = std::fs::File::open(path).map_err(|e| bad(&e))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(&e))?;
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(|e| bad(&e))?;
        let name = member.name().to_string();
        std::io::copy(&mut member, &mut std::io::sink()).map_err(|e| bad(&format!("{name}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_urls_encode_the_ecosystem() {
        let base = "https://osv-vulnerabilities.storage.googleapis.com";
        assert_eq!(
            archive_url(base, "Red Hat").expect("url"),
            "https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip"
        );
        assert_eq!(
            archive_url("http://127.0.0.1:8080/mirror/", "crates.io").expect("url"),
            "http://127.0.0.1:8080/mirror/crates.io/all.zip"
        );
        assert!(archive_url("not a url", "PyPI").is_err());
    }

    #[test]
    fn a_damaged_archive_is_named_by_url() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("all.zip");
        std::fs::write(&path, b"PK\x03\x04 not really").expect("write");
        let error = check_zip(&path, "http://127.0.0.1:1/PyPI/all.zip").expect_err("bad zip");
        assert!(
            error
                .to_string()
                .starts_with("http://127.0.0.1:1/PyPI/all.zip: not a whole zip archive"),
            "{error}"
        );
    }
}
