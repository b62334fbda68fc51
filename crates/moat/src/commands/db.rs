//! `moat db`: import advisory data into the local database, update it from OSV, and show what
//! it holds.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use moat_vulndb::update::{
    UpdateOptions, UpdateOutcome, UpdateSummary, DEFAULT_BASE_URL, DEFAULT_ECOSYSTEMS,
};
use moat_vulndb::{ImportProblem, ImportSummary, SourceStatus, Status, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Data older than this is called out by `moat db status`.
const STALE_AFTER_SECONDS: u64 = 7 * 86_400;

/// Arguments of `moat db`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The advisory database (default: <user cache dir>/moat/db/moat.db).
    #[arg(long, env = "MOAT_DB", global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DbCommand,
}

/// `moat db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV JSON/YAML records (files, directories, all.zip archives), Alpine/Wolfi secdb
    /// files, the CISA KEV catalog and EPSS CSV files. Importing twice changes nothing.
    Import(ImportArgs),
    /// Download OSV's per-ecosystem archives (only those that changed) and swap the rebuilt
    /// database in; a failure leaves the old one as it was.
    Update(UpdateArgs),
    /// Show the sources, record counts per ecosystem and the age of the data.
    Status(StatusArgs),
}

/// Arguments of `moat db import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files, directories or zip archives to import.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `moat db update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Base URL of the archives, each at <URL>/<Ecosystem>/all.zip.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    pub source: String,
    /// An OSV ecosystem to download (repeatable; default: every ecosystem Moat inventories).
    #[arg(long = "ecosystem", value_name = "NAME")]
    pub ecosystems: Vec<String>,
}

/// Output formats of `moat db status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Lines for people.
    Table,
    /// A JSON object.
    Json,
}

/// Arguments of `moat db status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(short, long, default_value = "table")]
    pub format: StatusFormat,
}

/// Runs `moat db`.
pub fn run(args: &DbArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let path = database_path(args.db.as_deref())?;
    match &args.command {
        DbCommand::Import(import) => run_import(&path, &import.paths, quiet),
        DbCommand::Update(update) => run_update(&path, update, quiet),
        DbCommand::Status(status) => run_status(&path, status.format),
    }
}

/// `--db`, or the default place in the user's cache directory.
pub fn database_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) => Ok(path.to_path_buf()),
        None => moat_vulndb::default_path()
            .context("no cache directory for the advisory database; pass --db PATH"),
    }
}

fn run_import(path: &Path, inputs: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
    let summary = Store::create(path)?.import(inputs)?;
    print_problems(&summary.problems);
    if summary.read_nothing() {
        anyhow::bail!(
            "nothing could be imported: no advisory data in {} ({} problem(s))",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            summary.problems.len()
        );
    }
    if !quiet {
        print_import_summary(path, &summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Each problem on standard error as `file: id: message` (warnings: the rest was imported).
fn print_problems(problems: &[ImportProblem]) {
    for problem in problems {
        let line = match problem.id.is_empty() {
            true => format!("{}: {}", problem.file, problem.message),
            false => format!("{}: {}: {}", problem.file, problem.id, problem.message),
        };
        eprintln!("moat: warning: {}", crate::escape_controls(&line));
    }
}

fn print_import_summary(path: &Path, summary: &ImportSummary) {
    let records: u64 = summary.per_source.values().sum();
    println!(
        "imported into {}: {records} records ({} added, {} replaced, {} unchanged), {} problem(s)",
        path.display(),
        summary.added,
        summary.replaced,
        summary.unchanged,
        summary.problems.len()
    );
    if !summary.per_source.is_empty() {
        println!("records per source:");
        for (source, n) in &summary.per_source {
            println!("  {:<28} {n:>8}", crate::escape_controls(source));
        }
    }
    if !summary.per_ecosystem.is_empty() {
        println!("records per ecosystem:");
        for (ecosystem, n) in &summary.per_ecosystem {
            println!("  {:<28} {n:>8}", crate::escape_controls(ecosystem));
        }
    }
    if summary.kev > 0 {
        println!("KEV entries: {}", summary.kev);
    }
    if summary.epss > 0 {
        println!("EPSS scores: {}", summary.epss);
    }
}

fn run_update(path: &Path, args: &UpdateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let ecosystems = match args.ecosystems.is_empty() {
        true => DEFAULT_ECOSYSTEMS.iter().map(|e| e.to_string()).collect(),
        false => args.ecosystems.clone(),
    };
    let options = UpdateOptions {
        base_url: args.source.clone(),
        ecosystems,
        ..UpdateOptions::default()
    };
    let summary = moat_vulndb::update::update(path, &options).with_context(|| {
        format!(
            "the update failed; the database at {} was left as it was",
            path.display()
        )
    })?;
    print_problems(&summary.problems);
    if !quiet {
        print_update_summary(path, &summary);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_update_summary(path: &Path, summary: &UpdateSummary) {
    for ecosystem in &summary.ecosystems {
        let what = match &ecosystem.outcome {
            UpdateOutcome::NotModified => "not modified, kept".to_string(),
            UpdateOutcome::Downloaded {
                bytes,
                sha256,
                records,
            } => {
                format!("downloaded {bytes} bytes (sha256 {sha256}), {records} records")
            }
        };
        println!("  {:<14} {what}", ecosystem.ecosystem);
    }
    println!("updated {}", path.display());
}

fn run_status(path: &Path, format: StatusFormat) -> anyhow::Result<ExitCode> {
    let status = Store::open(path)?.status()?;
    let now = now_unix();
    match format {
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&status_json(&status, now))?),
        StatusFormat::Table => print_status(&status, now),
    }
    Ok(ExitCode::SUCCESS)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// True when `updated_at` (RFC 3339, UTC, as the store writes it) is more than seven days old;
/// false when it is empty.
pub fn is_stale(updated_at: &str) -> bool {
    let cutoff = moat_core::time::format_rfc3339(now_unix().saturating_sub(STALE_AFTER_SECONDS));
    // Both are `YYYY-MM-DDTHH:MM:SSZ`: text order is time order.
    !updated_at.is_empty() && updated_at < cutoff.as_str()
}

/// Seconds since the last update, when there was one.
fn age_seconds(status: &Status, now: u64) -> Option<u64> {
    status.updated_unix.map(|t| now.saturating_sub(t))
}

fn status_json(status: &Status, now: u64) -> serde_json::Value {
    let age = age_seconds(status, now);
    let counts = |pairs: &[(String, u64)]| {
        pairs
            .iter()
            .map(|(name, n)| (name.clone(), serde_json::json!(n)))
            .collect::<serde_json::Map<_, _>>()
    };
    serde_json::json!({
        "path": status.path,
        "schema_version": status.schema_version,
        "updated_at": status.updated_at,
        "age_seconds": age,
        "stale": !matches!(age, Some(a) if a <= STALE_AFTER_SECONDS),
        "records": status.records,
        "withdrawn": status.withdrawn,
        "kev": status.kev,
        "epss": status.epss,
        "sources": status.sources.iter().map(source_json).collect::<Vec<_>>(),
        "ecosystems": counts(&status.ecosystem_bases),
        "ecosystem_releases": counts(&status.ecosystems),
    })
}

fn source_json(source: &SourceStatus) -> serde_json::Value {
    serde_json::json!({
        "name": source.name,
        "records": source.records,
        "withdrawn": source.withdrawn,
        "updated_at": source.updated_at,
        "checked_at": source.checked_at,
        "url": source.url,
        "etag": source.etag,
        "last_modified": source.last_modified,
        "sha256": source.sha256,
    })
}

fn print_status(status: &Status, now: u64) {
    println!("database: {} (schema {})", status.path, status.schema_version);
    let updated = match age_seconds(status, now) {
        None => "never".to_string(),
        Some(age) if age > STALE_AFTER_SECONDS => format!(
            "{} ({}: older than 7 days, run `moat db update`)",
            status.updated_at,
            describe_age(age)
        ),
        Some(age) => format!("{} ({})", status.updated_at, describe_age(age)),
    };
    println!("updated:  {updated}");
    println!(
        "records:  {} ({} withdrawn); KEV entries: {}; EPSS scores: {}",
        status.records, status.withdrawn, status.kev, status.epss
    );
    println!("sources:");
    for source in &status.sources {
        print_source(source);
    }
    println!("records per ecosystem:");
    for (base, n) in &status.ecosystem_bases {
        println!("  {:<28} {n:>8}", crate::escape_controls(base));
        let releases = status.ecosystems.iter().filter(|(name, _)| {
            name.strip_prefix(base.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
        });
        for (release, n) in releases {
            println!("    {:<26} {n:>8}", crate::escape_controls(release));
        }
    }
}

fn print_source(source: &SourceStatus) {
    let when = match source.updated_at.is_empty() {
        true => "-".to_string(),
        false => source.updated_at.clone(),
    };
    println!(
        "  {:<28} {:>8} records  {when}",
        crate::escape_controls(&source.name),
        source.records
    );
    if !source.url.is_empty() {
        let mut details = vec![format!("from {}", source.url)];
        if !source.checked_at.is_empty() {
            details.push(format!("checked {}", source.checked_at));
        }
        for (label, value) in [("etag", &source.etag), ("last-modified", &source.last_modified)] {
            if !value.is_empty() {
                details.push(format!("{label} {value}"));
            }
        }
        if !source.sha256.is_empty() {
            details.push(format!("sha256 {}", source.sha256));
        }
        println!("      {}", crate::escape_controls(&details.join(", ")));
    }
}

/// `3 minutes ago`, `5 hours ago`, `12 days ago`.
fn describe_age(seconds: u64) -> String {
    let (amount, unit) = match seconds {
        0..=119 => (seconds, "seconds"),
        120..=7_199 => (seconds / 60, "minutes"),
        7_200..=172_799 => (seconds / 3600, "hours"),
        _ => (seconds / 86_400, "days"),
    };
    format!("{amount} {unit} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(describe_age(5), "5 seconds ago");
        assert_eq!(describe_age(600), "10 minutes ago");
        assert_eq!(describe_age(3 * 3600), "3 hours ago");
        assert_eq!(describe_age(12 * 86_400 + 5), "12 days ago");
    }
}
