//! `moat db`: import advisory data into the local database, and show what it holds.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use moat_vulndb::{ImportSummary, Status, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `moat db`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The advisory database (default: the user's cache directory).
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
    let mut store = Store::create(path)?;
    let summary = store.import(inputs)?;
    for problem in &summary.problems {
        let id = match problem.id.is_empty() {
            true => String::new(),
            false => format!("{}: ", problem.id),
        };
        eprintln!("moat: skipped: {}: {id}{}", problem.file, problem.message);
    }
    if !quiet {
        print_import_summary(path, &summary);
    }
    let read_nothing = summary.per_source.is_empty() && summary.kev == 0 && summary.epss == 0;
    if read_nothing && !summary.problems.is_empty() {
        anyhow::bail!("nothing could be imported from {} path(s)", inputs.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_import_summary(path: &Path, summary: &ImportSummary) {
    println!(
        "imported into {}: {} added, {} replaced, {} unchanged, {} skipped",
        path.display(),
        summary.added,
        summary.replaced,
        summary.unchanged,
        summary.problems.len()
    );
    for (source, records) in &summary.per_source {
        println!("  {source}: {records} records");
    }
    if summary.kev > 0 {
        println!("  kev: {} entries", summary.kev);
    }
    if summary.epss > 0 {
        println!("  epss: {} scores", summary.epss);
    }
}

fn run_status(path: &Path, format: StatusFormat) -> anyhow::Result<ExitCode> {
    let status = Store::open(path)?.status()?;
    match format {
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&status_json(&status))?),
        StatusFormat::Table => print_status(&status),
    }
    Ok(ExitCode::SUCCESS)
}

fn status_json(status: &Status) -> serde_json::Value {
    serde_json::json!({
        "path": status.path,
        "schema_version": status.schema_version,
        "updated_at": status.updated_at,
        "stale": is_stale(&status.updated_at),
        "sources": status.sources.iter().map(|s| serde_json::json!({
            "name": s.name, "url": s.url, "records": s.records,
            "updated_at": s.updated_at, "sha256": s.sha256,
        })).collect::<Vec<_>>(),
        "ecosystems": status.ecosystems.iter().map(|(e, n)| (e.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        "withdrawn": status.withdrawn,
        "kev": status.kev,
        "epss": status.epss,
    })
}

fn print_status(status: &Status) {
    let age = match is_stale(&status.updated_at) {
        true => " (older than 7 days: run `moat db update`)",
        false => "",
    };
    println!("database: {} (schema {})", status.path, status.schema_version);
    println!("updated:  {}{age}", status.updated_at);
    println!("sources:");
    for source in &status.sources {
        let from = match source.url.is_empty() {
            true => String::new(),
            false => format!(" from {}", source.url),
        };
        println!(
            "  {:<24} {:>7} records  {}{from}",
            source.name, source.records, source.updated_at
        );
    }
    println!("records per ecosystem:");
    for (ecosystem, records) in &status.ecosystems {
        println!("  {ecosystem:<24} {records:>7}");
    }
    println!(
        "withdrawn records: {}; KEV entries: {}; EPSS scores: {}",
        status.withdrawn, status.kev, status.epss
    );
}

/// True when `updated_at` (RFC 3339) is more than seven days old.
pub fn is_stale(updated_at: &str) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let cutoff = moat_core::time::format_date(now.saturating_sub(7 * 86_400));
    !updated_at.is_empty() && updated_at < cutoff.as_str()
}
