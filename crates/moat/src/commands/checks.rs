//! `moat checks list`: every misconfiguration check and secret rule Moat runs, with id,
//! severity, what it reads and its compliance references.

use crate::findings::SecretArgs;
use crate::output::write_atomically;
use clap::{Args, Subcommand, ValueEnum};
use moat_core::{CheckInfo, ConfigKind};
use serde_json::json;
use std::process::ExitCode;

/// Arguments of `moat checks`.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    #[command(subcommand)]
    pub command: ChecksCommand,
}

/// What to do with the checks.
#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// Print every check (and secret rule) with id, severity, kind and references.
    List(ListArgs),
}

/// Arguments of `moat checks list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only checks of this kind.
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Output format.
    #[arg(short, long, default_value = "table")]
    pub format: ListFormat,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// The kinds of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Dockerfile checks.
    Dockerfile,
    /// Checks on built images.
    ImageConfig,
    /// Kubernetes manifest checks (Pod Security Standards, RBAC, network, best practice).
    Kubernetes,
    /// Secret rules.
    Secret,
}

/// Output formats of `moat checks list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// One line of the listing.
struct Row {
    id: String,
    severity: String,
    kind: &'static str,
    title: String,
    references: Vec<String>,
    aliases: Vec<String>,
}

/// Runs `moat checks`.
pub fn run(args: &ChecksArgs) -> anyhow::Result<ExitCode> {
    let ChecksCommand::List(list) = &args.command;
    let rows = rows(list)?;
    write_atomically(None, |out| {
        match list.format {
            ListFormat::Table => write_table(&rows, out)?,
            ListFormat::Json => {
                let items: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
                serde_json::to_writer_pretty(&mut *out, &items)?;
                writeln!(out)?;
            }
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn rows(list: &ListArgs) -> anyhow::Result<Vec<Row>> {
    let wanted = |kind: Kind| list.kind.is_none_or(|k| k == kind);
    let mut rows: Vec<Row> = moat_misconfig::all_checks()
        .into_iter()
        .filter(|check| wanted(kind_of(check)))
        .map(check_row)
        .collect();
    if wanted(Kind::Secret) {
        let rules = list.secrets.rules()?;
        let mut secret_rows: Vec<Row> = rules
            .rules()
            .map(|rule| Row {
                id: rule.id.to_string(),
                severity: rule.severity.as_str().to_string(),
                kind: "secret",
                title: rule.title.to_string(),
                references: Vec::new(),
                aliases: Vec::new(),
            })
            .collect();
        secret_rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows.extend(secret_rows);
    }
    Ok(rows)
}

fn kind_of(check: &CheckInfo) -> Kind {
    match check.kind {
        ConfigKind::Dockerfile => Kind::Dockerfile,
        ConfigKind::ImageConfig => Kind::ImageConfig,
        ConfigKind::Kubernetes => Kind::Kubernetes,
    }
}

fn check_row(check: &CheckInfo) -> Row {
    Row {
        id: check.id.to_string(),
        severity: check.severity.as_str().to_string(),
        kind: check.kind.as_str(),
        title: check.title.to_string(),
        references: check.reference_names(),
        aliases: check.aliases.iter().map(|a| a.to_string()).collect(),
    }
}

fn row_json(row: &Row) -> serde_json::Value {
    json!({
        "id": row.id,
        "severity": row.severity,
        "kind": row.kind,
        "title": row.title,
        "references": row.references,
        "aliases": row.aliases,
    })
}

fn write_table(rows: &[Row], out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let id_width = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let kind_width = rows.iter().map(|r| r.kind.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "{:id_width$}  {:8}  {:kind_width$}  TITLE",
        "ID", "SEVERITY", "KIND"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:id_width$}  {:8}  {:kind_width$}  {}",
            row.id, row.severity, row.kind, row.title
        )?;
        if !row.references.is_empty() {
            writeln!(out, "{:id_width$}  references: {}", "", row.references.join("; "))?;
        }
        if !row.aliases.is_empty() {
            writeln!(out, "{:id_width$}  same as: {}", "", row.aliases.join(", "))?;
        }
    }
    writeln!(out, "{} checks", rows.len())?;
    Ok(())
}
