//! The SQLite store: records keyed by (source, id), an index of their affected packages by
//! (ecosystem, normalized name), the KEV and EPSS tables, the sources and the time of the last
//! update.

use crate::error::DbError;
use crate::import::{import_inputs, ImportSummary};
use crate::input::read_inputs;
use crate::osv::{normalize_name, StoredRecord};
use moat_core::time::format_rfc3339;
use moat_core::{DatabaseInfo, EpssScore, KevEntry};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

/// The schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// The migrations: entry `n` brings a database from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE records (
        key INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        withdrawn INTEGER NOT NULL,
        json TEXT NOT NULL,
        UNIQUE (source, id)
    );
    CREATE TABLE affected (
        ecosystem TEXT NOT NULL,
        name TEXT NOT NULL,
        record INTEGER NOT NULL REFERENCES records (key) ON DELETE CASCADE,
        PRIMARY KEY (ecosystem, name, record)
    ) WITHOUT ROWID;
    CREATE INDEX affected_by_record ON affected (record);
    CREATE TABLE kev (cve TEXT PRIMARY KEY, date_added TEXT NOT NULL, due_date TEXT NOT NULL,
                      ransomware INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL,
                       date TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL DEFAULT '',
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        sha256 TEXT NOT NULL DEFAULT '',
        updated INTEGER,
        checked INTEGER
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"];

/// One source as `moat db status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// The source name (`osv`, `osv:PyPI`, `secdb:v3.11/main`, `kev`, `epss`).
    pub name: String,
    /// Where it was downloaded from (updates only).
    pub url: String,
    /// Records held (for `kev` and `epss`: rows).
    pub records: u64,
    /// Withdrawn records among them.
    pub withdrawn: u64,
    /// When its data last changed (RFC 3339), or empty.
    pub updated_at: String,
    /// When an update last found it current (RFC 3339), or empty.
    pub checked_at: String,
    /// The `ETag` of the last download.
    pub etag: String,
    /// The `Last-Modified` of the last download.
    pub last_modified: String,
    /// SHA-256 of the last download (hex).
    pub sha256: String,
}

/// The state of a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The file.
    pub path: String,
    /// Its schema version.
    pub schema_version: i64,
    /// The last import or update that changed or confirmed the data (RFC 3339), or empty.
    pub updated_at: String,
    /// The same time in seconds since the Unix epoch.
    pub updated_unix: Option<u64>,
    /// Every source, by name.
    pub sources: Vec<SourceStatus>,
    /// Records per ecosystem as written in the data (`Debian:12`, `PyPI`), by name.
    pub ecosystems: Vec<(String, u64)>,
    /// Records per ecosystem without the release (`Debian`, `PyPI`), by name.
    pub ecosystem_bases: Vec<(String, u64)>,
    /// All records.
    pub records: u64,
    /// Withdrawn records (kept, never matched).
    pub withdrawn: u64,
    /// KEV entries.
    pub kev: u64,
    /// EPSS rows.
    pub epss: u64,
}

/// The advisory database.
pub struct Store {
    connection: Connection,
    path: String,
}

/// The default database file: `<user cache dir>/moat/db/moat.db`.
pub fn default_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("moat").join("db").join("moat.db"))
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Sets a value of the `meta` table.
pub(crate) fn set_meta(connection: &Connection, key: &str, value: u64) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
        )?
        .execute(params![key, value])?;
    Ok(())
}

fn rfc3339_or_empty(unix: Option<i64>) -> String {
    unix.and_then(|t| u64::try_from(t).ok())
        .map(format_rfc3339)
        .unwrap_or_default()
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

impl Store {
    /// Opens an existing database for queries (read only; no table is scanned).
    pub fn open(path: &Path) -> Result<Store, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing {
                path: path.display().to_string(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let store = Store::connect(path, flags)?;
        match store.schema_version()? {
            0 => Err(DbError::Missing { path: store.path }),
            version => store.check_version(version).map(|()| store),
        }
    }

    /// Opens or creates a database for writing, bringing its schema up to date.
    pub fn create(path: &Path) -> Result<Store, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| DbError::input(parent.display(), format!("cannot create the directory: {e}")))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut store = Store::connect(path, flags)?;
        store.sql(|c| c.execute_batch("PRAGMA foreign_keys = ON"))?;
        let version = store.schema_version()?;
        store.check_version(version)?;
        store.migrate(version)?;
        Ok(store)
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Store, DbError> {
        let display = path.display().to_string();
        let connection = Connection::open_with_flags(path, flags).map_err(|source| DbError::Sqlite {
            path: display.clone(),
            source,
        })?;
        Ok(Store {
            connection,
            path: display,
        })
    }

    /// Runs the migrations from `version` up to [`SCHEMA_VERSION`], each in its own transaction.
    fn migrate(&mut self, version: i64) -> Result<(), DbError> {
        let pending = MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or_default());
        for (index, migration) in pending {
            let script = format!("BEGIN; {migration} PRAGMA user_version = {}; COMMIT;", index + 1);
            self.sql(|c| c.execute_batch(&script))?;
        }
        Ok(())
    }

    /// Runs `f` on the connection, naming the file in its error.
    pub(crate) fn sql<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, DbError> {
        f(&self.connection).map_err(|source| DbError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    fn schema_version(&self) -> Result<i64, DbError> {
        self.sql(|c| c.query_row("PRAGMA user_version", [], |row| row.get(0)))
    }

    fn check_version(&self, found: i64) -> Result<(), DbError> {
        match found > SCHEMA_VERSION {
            true => Err(DbError::TooNew {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
            false => Ok(()),
        }
    }

    /// The database file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Imports files, directories (recursively) and zip archives in one transaction: nothing
    /// is written unless every path could be read. Bad records are skipped and reported.
    pub fn import(&mut self, paths: &[PathBuf]) -> Result<ImportSummary, DbError> {
        self.import_with_source(paths, None)
    }

    /// [`Store::import`], storing the records under `source` (when given) instead of the
    /// source their format implies.
    pub(crate) fn import_with_source(
        &mut self,
        paths: &[PathBuf],
        source: Option<&str>,
    ) -> Result<ImportSummary, DbError> {
        let inputs = read_inputs(paths)?;
        let path = self.path.clone();
        let sqlite = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        let transaction = self.connection.transaction().map_err(sqlite)?;
        let summary = import_inputs(&transaction, &inputs, source, now_unix()).map_err(sqlite)?;
        transaction.commit().map_err(sqlite)?;
        Ok(summary)
    }

    /// Non-withdrawn records with an affected entry for `name` in `ecosystem` (exact, with its
    /// release; the name compared after [`normalize_name`]), by source and id.
    pub fn advisories(&self, ecosystem: &str, name: &str) -> Result<Vec<StoredRecord>, DbError> {
        let key = normalize_name(ecosystem, name);
        let rows: Vec<(String, String, String)> = self.sql(|c| {
            let mut statement = c.prepare_cached(
                "SELECT r.source, r.id, r.json FROM affected a JOIN records r ON r.key = a.record
                 WHERE a.ecosystem = ?1 AND a.name = ?2 AND r.withdrawn = 0
                 ORDER BY r.source, r.id",
            )?;
            let rows = statement.query_map([ecosystem, key.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(|(source, id, json)| {
                let record = serde_json::from_str(&json).map_err(|e| DbError::Damaged {
                    path: self.path.clone(),
                    id,
                    message: e.to_string(),
                })?;
                Ok(StoredRecord { source, record })
            })
            .collect()
    }

    /// The KEV entry for a CVE.
    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>, DbError> {
        self.sql(|c| {
            c.prepare_cached("SELECT date_added, due_date, ransomware FROM kev WHERE cve = ?1")?
                .query_row([cve], |row| {
                    Ok(KevEntry {
                        date_added: row.get(0)?,
                        due_date: row.get(1)?,
                        known_ransomware: row.get(2)?,
                    })
                })
                .optional()
        })
    }

    /// The EPSS figures for a CVE.
    pub fn epss(&self, cve: &str) -> Result<Option<EpssScore>, DbError> {
        self.sql(|c| {
            c.prepare_cached("SELECT score, percentile, date FROM epss WHERE cve = ?1")?
                .query_row([cve], |row| {
                    Ok(EpssScore {
                        score: row.get(0)?,
                        percentile: row.get(1)?,
                        date: row.get(2)?,
                    })
                })
                .optional()
        })
    }

    /// Counts, sources and times for `moat db status`.
    pub fn status(&self) -> Result<Status, DbError> {
        let scalar = |sql: &str| self.sql(|c| c.query_row(sql, [], |row| row.get::<_, i64>(0)));
        let updated: Option<i64> = self.sql(|c| {
            c.query_row("SELECT value FROM meta WHERE key = 'updated'", [], |row| {
                row.get(0)
            })
            .optional()
        })?;
        Ok(Status {
            path: self.path.clone(),
            schema_version: self.schema_version()?,
            updated_at: rfc3339_or_empty(updated),
            updated_unix: updated.and_then(|t| u64::try_from(t).ok()),
            sources: self.sources()?,
            ecosystems: self.ecosystem_counts(false)?,
            ecosystem_bases: self.ecosystem_counts(true)?,
            records: count(scalar("SELECT COUNT(*) FROM records")?),
            withdrawn: count(scalar("SELECT COUNT(*) FROM records WHERE withdrawn = 1")?),
            kev: count(scalar("SELECT COUNT(*) FROM kev")?),
            epss: count(scalar("SELECT COUNT(*) FROM epss")?),
        })
    }

    /// Records per ecosystem (with release, or only the part before `:`), each record once.
    fn ecosystem_counts(&self, base_only: bool) -> Result<Vec<(String, u64)>, DbError> {
        let ecosystem = match base_only {
            true => "CASE WHEN instr(ecosystem, ':') > 0 THEN substr(ecosystem, 1, instr(ecosystem, ':') - 1) ELSE ecosystem END",
            false => "ecosystem",
        };
        let sql = format!(
            "SELECT e, COUNT(*) FROM (SELECT DISTINCT {ecosystem} AS e, record FROM affected) GROUP BY e ORDER BY e"
        );
        self.sql(|c| {
            let mut statement = c.prepare(&sql)?;
            let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, count(row.get(1)?))))?;
            rows.collect()
        })
    }

    fn sources(&self) -> Result<Vec<SourceStatus>, DbError> {
        self.sql(|c| {
            let mut statement = c.prepare(
                "SELECT s.name, s.url, s.etag, s.last_modified, s.sha256, s.updated, s.checked,
                        CASE s.name WHEN 'kev' THEN (SELECT COUNT(*) FROM kev)
                                    WHEN 'epss' THEN (SELECT COUNT(*) FROM epss)
                                    ELSE (SELECT COUNT(*) FROM records r WHERE r.source = s.name) END,
                        (SELECT COUNT(*) FROM records r WHERE r.source = s.name AND r.withdrawn = 1)
                 FROM sources s ORDER BY s.name",
            )?;
            let rows = statement.query_map([], |row| {
                Ok(SourceStatus {
                    name: row.get(0)?,
                    url: row.get(1)?,
                    etag: row.get(2)?,
                    last_modified: row.get(3)?,
                    sha256: row.get(4)?,
                    updated_at: rfc3339_or_empty(row.get(5)?),
                    checked_at: rfc3339_or_empty(row.get(6)?),
                    records: count(row.get(7)?),
                    withdrawn: count(row.get(8)?),
                })
            })?;
            rows.collect()
        })
    }

    /// What a report says about the data it used.
    ///
    /// Reads only the sources and the update time: every scan calls it, and the per-ecosystem
    /// counts of [`Store::status`] take a full pass over the index.
    pub fn info(&self) -> Result<DatabaseInfo, DbError> {
        let updated: Option<i64> = self.sql(|c| {
            c.query_row("SELECT value FROM meta WHERE key = 'updated'", [], |row| {
                row.get(0)
            })
            .optional()
        })?;
        Ok(DatabaseInfo {
            path: self.path.clone(),
            updated_at: rfc3339_or_empty(updated),
            sources: self
                .sources()?
                .iter()
                .map(|s| format!("{} ({} records)", s.name, s.records))
                .collect(),
        })
    }

    /// The `ETag` and `Last-Modified` of the last download of `source`.
    pub(crate) fn validators(&self, source: &str) -> Result<Option<(String, String)>, DbError> {
        self.sql(|c| {
            c.query_row(
                "SELECT etag, last_modified FROM sources WHERE name = ?1",
                [source],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
        })
    }
}

/// What an update writes about one download.
pub(crate) struct Download<'a> {
    /// The source name (`osv:PyPI`).
    pub source: &'a str,
    /// Where it came from.
    pub url: &'a str,
    /// The response's `ETag`.
    pub etag: &'a str,
    /// The response's `Last-Modified`.
    pub last_modified: &'a str,
    /// SHA-256 of the body, hex.
    pub sha256: &'a str,
    /// The archive on disk.
    pub archive: &'a Path,
}

impl Store {
    /// Replaces every record of a downloaded source with the archive's, in one transaction,
    /// and records where it came from.
    pub(crate) fn replace_source(&mut self, download: &Download<'_>) -> Result<ImportSummary, DbError> {
        let now = now_unix();
        self.sql(|c| {
            c.execute("DELETE FROM records WHERE source = ?1", [download.source])?;
            Ok(())
        })?;
        let summary = self.import_with_source(&[download.archive.to_path_buf()], Some(download.source))?;
        self.sql(|c| {
            c.execute(
                "INSERT INTO sources (name, url, etag, last_modified, sha256, updated, checked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (name) DO UPDATE SET url = ?2, etag = ?3, last_modified = ?4, sha256 = ?5,
                                                  updated = ?6, checked = ?6",
                params![
                    download.source,
                    download.url,
                    download.etag,
                    download.last_modified,
                    download.sha256,
                    now
                ],
            )?;
            set_meta(c, "updated", now)
        })?;
        Ok(summary)
    }

    /// Notes that an update found `sources` current (the server answered 304).
    pub(crate) fn mark_checked(&mut self, sources: &[String]) -> Result<(), DbError> {
        let now = now_unix();
        let path = self.path.clone();
        let sqlite = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        let transaction = self.connection.transaction().map_err(sqlite)?;
        for source in sources {
            transaction
                .execute(
                    "UPDATE sources SET checked = ?2 WHERE name = ?1",
                    params![source, now],
                )
                .map_err(sqlite)?;
        }
        set_meta(&transaction, "updated", now).map_err(sqlite)?;
        transaction.commit().map_err(sqlite)
    }

    /// Writes a compact copy of the database to `target` (an empty or missing file).
    pub(crate) fn copy_to(&self, target: &Path) -> Result<(), DbError> {
        let target = target
            .to_str()
            .ok_or_else(|| DbError::input(target.display(), "not a UTF-8 path"))?;
        self.sql(|c| c.execute("VACUUM INTO ?1", [target]).map(|_| ()))
    }
}
