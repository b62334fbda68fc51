//! One import: inputs parsed, checked and serialized on worker threads, then written in one
//! transaction. A record already stored with the same JSON is left alone, so importing the
//! same data twice changes nothing.

use crate::input::Input;
use crate::osv::normalize_name;
use crate::parse::{parse_file, Parsed, RecordBatch};
use crate::validate;
use moat_core::{EpssScore, KevEntry};
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A record or file the import skipped (or, for an unknown ecosystem, shortened), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The file (`dir/x.json`, or `archive.zip:member.json`).
    pub file: String,
    /// The record id, when known.
    pub id: String,
    /// What is wrong and what was skipped.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Input files (or archive members) read as advisory data, whatever they held.
    pub files: u64,
    /// Records new to the database.
    pub added: u64,
    /// Records that replaced a different stored version of themselves.
    pub replaced: u64,
    /// Records identical to the stored ones.
    pub unchanged: u64,
    /// KEV entries read.
    pub kev: u64,
    /// EPSS rows read.
    pub epss: u64,
    /// Records read per source (`osv`, `secdb:v3.11/main`).
    pub per_source: BTreeMap<String, u64>,
    /// Records read per ecosystem as the data writes it (`PyPI`, `Debian:10`); a record
    /// affecting packages of several ecosystems counts in each.
    pub per_ecosystem: BTreeMap<String, u64>,
    /// What was skipped, in input order.
    pub problems: Vec<ImportProblem>,
}

impl ImportSummary {
    /// True when no input could be read as advisory data.
    pub fn read_nothing(&self) -> bool {
        self.files == 0
    }
}

/// One record ready to write.
struct PreparedRecord {
    id: String,
    withdrawn: bool,
    json: String,
    /// (ecosystem, normalized name) of each affected package, without repeats.
    packages: BTreeSet<(String, String)>,
}

/// One input file, parsed and checked.
enum Prepared {
    Records {
        source: String,
        records: Vec<PreparedRecord>,
    },
    Kev(Vec<(String, KevEntry)>),
    Epss(Vec<(String, EpssScore)>),
    Unreadable,
}

/// A prepared file and the problems found in it.
struct PreparedFile {
    content: Prepared,
    problems: Vec<ImportProblem>,
}

/// Parses `inputs` on up to `workers` threads, in input order. `source` replaces the source
/// name of record files (an update stores each downloaded ecosystem as its own source).
fn prepare_all(inputs: &[Input], source: Option<&str>, workers: usize) -> Vec<PreparedFile> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, PreparedFile)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(index) else { break };
                        out.push((index, prepare(input, source)));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(join_worker).collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, file)| file).collect()
}

/// A worker's results; a worker that panicked (a defect: parsers return errors) is not
/// allowed to pass silently.
fn join_worker(
    handle: std::thread::ScopedJoinHandle<'_, Vec<(usize, PreparedFile)>>,
) -> Vec<(usize, PreparedFile)> {
    handle.join().unwrap_or_else(|_| {
        vec![(
            usize::MAX,
            PreparedFile {
                content: Prepared::Unreadable,
                problems: vec![ImportProblem {
                    file: String::new(),
                    id: String::new(),
                    message: "an import worker failed; some files were not imported".to_string(),
                }],
            },
        )]
    })
}

fn prepare(input: &Input, source: Option<&str>) -> PreparedFile {
    let problem = |id: &str, message: String| ImportProblem {
        file: input.name.clone(),
        id: id.to_string(),
        message,
    };
    match parse_file(&input.bytes, &input.name) {
        Err(error) => PreparedFile {
            content: Prepared::Unreadable,
            problems: vec![problem("", error.0)],
        },
        Ok(Parsed::Kev(entries)) => PreparedFile {
            content: Prepared::Kev(entries),
            problems: Vec::new(),
        },
        Ok(Parsed::Epss(rows)) => PreparedFile {
            content: Prepared::Epss(rows),
            problems: Vec::new(),
        },
        Ok(Parsed::Records(batch)) => prepare_records(batch, source, &problem),
    }
}

fn prepare_records(
    batch: RecordBatch,
    source: Option<&str>,
    problem: &dyn Fn(&str, String) -> ImportProblem,
) -> PreparedFile {
    let mut problems: Vec<ImportProblem> = batch
        .rejected
        .into_iter()
        .map(|rejected| problem(&rejected.id, rejected.message))
        .collect();
    let mut records = Vec::with_capacity(batch.records.len());
    for mut record in batch.records {
        let mut dropped = Vec::new();
        let checked = validate::check(&mut record, &mut dropped);
        problems.extend(dropped.into_iter().map(|message| problem(&record.id, message)));
        if let Err(message) = checked {
            problems.push(problem(&record.id, format!("{message}; the record is skipped")));
            continue;
        }
        let json = match serde_json::to_string(&record) {
            Ok(json) => json,
            Err(e) => {
                problems.push(problem(&record.id, format!("cannot be stored: {e}")));
                continue;
            }
        };
        let packages = record
            .affected
            .iter()
            .map(|a| {
                let name = normalize_name(&a.package.ecosystem, &a.package.name);
                (a.package.ecosystem.clone(), name)
            })
            .collect();
        records.push(PreparedRecord {
            withdrawn: record.withdrawn.is_some(),
            id: record.id,
            json,
            packages,
        });
    }
    let source = source.map_or(batch.source, str::to_string);
    PreparedFile {
        content: Prepared::Records { source, records },
        problems,
    }
}

/// Parses `inputs` and writes them in `transaction`; problems are collected, never fatal.
pub(crate) fn import_inputs(
    transaction: &Transaction,
    inputs: &[Input],
    source: Option<&str>,
    now: u64,
) -> rusqlite::Result<ImportSummary> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let prepared = prepare_all(inputs, source, workers);
    let mut writer = Writer {
        transaction,
        summary: ImportSummary::default(),
        changed_sources: BTreeSet::new(),
    };
    for file in prepared {
        writer.summary.problems.extend(file.problems);
        writer.write(file.content, now)?;
    }
    writer.finish(now)
}

struct Writer<'t, 'c> {
    transaction: &'t Transaction<'c>,
    summary: ImportSummary,
    /// Sources whose data this import changed.
    changed_sources: BTreeSet<String>,
}

impl Writer<'_, '_> {
    fn write(&mut self, content: Prepared, now: u64) -> rusqlite::Result<()> {
        if !matches!(content, Prepared::Unreadable) {
            self.summary.files += 1;
        }
        match content {
            Prepared::Unreadable => Ok(()),
            Prepared::Records { source, records } => {
                self.transaction
                    .prepare_cached(
                        "INSERT INTO sources (name, updated) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![source, now])?;
                *self.summary.per_source.entry(source.clone()).or_default() += records.len() as u64;
                records
                    .into_iter()
                    .try_for_each(|record| self.write_record(&source, record))
            }
            Prepared::Kev(entries) => self.write_kev(entries),
            Prepared::Epss(rows) => self.write_epss(rows),
        }
    }

    /// Stores one record, replacing a different stored version of it.
    fn write_record(&mut self, source: &str, record: PreparedRecord) -> rusqlite::Result<()> {
        let ecosystems: BTreeSet<&str> = record.packages.iter().map(|(e, _)| e.as_str()).collect();
        for ecosystem in ecosystems {
            *self
                .summary
                .per_ecosystem
                .entry(ecosystem.to_string())
                .or_default() += 1;
        }
        let stored: Option<(i64, String)> = self
            .transaction
            .prepare_cached("SELECT key, json FROM records WHERE source = ?1 AND id = ?2")?
            .query_row(params![source, record.id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let key = match stored {
            Some((_, json)) if json == record.json => {
                self.summary.unchanged += 1;
                return Ok(());
            }
            Some((key, _)) => {
                self.summary.replaced += 1;
                self.transaction
                    .prepare_cached("UPDATE records SET withdrawn = ?2, json = ?3 WHERE key = ?1")?
                    .execute(params![key, record.withdrawn, record.json])?;
                self.transaction
                    .prepare_cached("DELETE FROM affected WHERE record = ?1")?
                    .execute([key])?;
                key
            }
            None => {
                self.summary.added += 1;
                self.transaction
                    .prepare_cached(
                        "INSERT INTO records (source, id, withdrawn, json) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![source, record.id, record.withdrawn, record.json])?;
                self.transaction.last_insert_rowid()
            }
        };
        let mut insert = self
            .transaction
            .prepare_cached("INSERT OR IGNORE INTO affected (ecosystem, name, record) VALUES (?1, ?2, ?3)")?;
        for (ecosystem, name) in &record.packages {
            insert.execute(params![ecosystem, name, key])?;
        }
        self.changed_sources.insert(source.to_string());
        Ok(())
    }

    fn write_kev(&mut self, entries: Vec<(String, KevEntry)>) -> rusqlite::Result<()> {
        let mut upsert = self.transaction.prepare_cached(
            "INSERT INTO kev (cve, date_added, due_date, ransomware) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (cve) DO UPDATE SET date_added = ?2, due_date = ?3, ransomware = ?4
             WHERE date_added IS NOT ?2 OR due_date IS NOT ?3 OR ransomware IS NOT ?4",
        )?;
        let mut changed = 0;
        for (cve, entry) in &entries {
            changed += upsert.execute(params![
                cve,
                entry.date_added,
                entry.due_date,
                entry.known_ransomware
            ])?;
        }
        self.summary.kev += entries.len() as u64;
        self.note_feed("kev", changed)
    }

    fn write_epss(&mut self, rows: Vec<(String, EpssScore)>) -> rusqlite::Result<()> {
        let mut upsert = self.transaction.prepare_cached(
            "INSERT INTO epss (cve, score, percentile, date) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (cve) DO UPDATE SET score = ?2, percentile = ?3, date = ?4
             WHERE score IS NOT ?2 OR percentile IS NOT ?3 OR date IS NOT ?4",
        )?;
        let mut changed = 0;
        for (cve, score) in &rows {
            changed += upsert.execute(params![cve, score.score, score.percentile, score.date])?;
        }
        self.summary.epss += rows.len() as u64;
        self.note_feed("epss", changed)
    }

    /// Makes sure the feed's source row exists and notes whether its data changed.
    fn note_feed(&mut self, source: &str, changed: usize) -> rusqlite::Result<()> {
        self.transaction
            .prepare_cached("INSERT INTO sources (name) VALUES (?1) ON CONFLICT DO NOTHING")?
            .execute([source])?;
        if changed > 0 {
            self.changed_sources.insert(source.to_string());
        }
        Ok(())
    }

    /// Stamps the sources that changed, and the database, with `now`.
    fn finish(self, now: u64) -> rusqlite::Result<ImportSummary> {
        let mut stamp = self
            .transaction
            .prepare_cached("UPDATE sources SET updated = ?2 WHERE name = ?1")?;
        for source in &self.changed_sources {
            stamp.execute(params![source, now])?;
        }
        if !self.changed_sources.is_empty() {
            crate::store::set_meta(self.transaction, "updated", now)?;
        }
        Ok(self.summary)
    }
}
