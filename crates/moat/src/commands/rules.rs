//! `moat rules check`: load runtime rule files (Falco's format) the way `moat runtime` will,
//! and report every error with its file, line and rule, as `falco --validate` does.

use crate::output::write_atomically;
use clap::{Args, Subcommand, ValueEnum};
use moat_rules::{Rule, Ruleset};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `moat rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// What to do with rule files.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files, loaded in order as one set (later files append to and override
    /// earlier ones); exit 1 when any has an error.
    Check(CheckArgs),
}

/// Arguments of `moat rules check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files, in load order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also list every rule: priority, name, whether it is enabled and the event types it
    /// is evaluated for.
    #[arg(long)]
    pub list: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Table,
    /// One JSON document.
    Json,
}

/// Runs `moat rules`.
pub fn run(args: &RulesArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        RulesCommand::Check(check) => run_check(check, quiet),
    }
}

fn run_check(args: &CheckArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    match Ruleset::load(&args.files) {
        Ok(ruleset) => {
            write_atomically(args.output.as_deref(), |out| match args.format {
                Format::Table => write_summary(out, &ruleset, args.list, quiet),
                Format::Json => write_json(out, Some(&ruleset), &[]),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            write_atomically(args.output.as_deref(), |out| match args.format {
                Format::Table => {
                    for error in &errors.0 {
                        writeln!(out, "{error}")?;
                    }
                    writeln!(out, "{} error(s)", errors.0.len())?;
                    Ok(())
                }
                Format::Json => write_json(out, None, &errors.0),
            })?;
            Ok(ExitCode::from(1))
        }
    }
}

fn write_summary(out: &mut dyn Write, ruleset: &Ruleset, list: bool, quiet: bool) -> anyhow::Result<()> {
    if !quiet {
        for warning in ruleset.warnings() {
            writeln!(out, "warning: {warning}")?;
        }
    }
    if list {
        for rule in ruleset.rules() {
            let state = if rule.enabled { "" } else { " (disabled)" };
            writeln!(
                out,
                "{:<13} {}{state}  [{}]",
                rule.priority.as_str(),
                rule.name,
                event_types_text(rule)
            )?;
        }
    }
    let enabled = ruleset.enabled_rules().count();
    writeln!(
        out,
        "ok: {} rules ({enabled} enabled), {} skipped, {} warnings",
        ruleset.rules().len(),
        ruleset.skipped().len(),
        ruleset.warnings().len()
    )?;
    Ok(())
}

/// The event types a rule is evaluated for, comma-separated, or `any`.
fn event_types_text(rule: &Rule) -> String {
    match rule.condition.event_types() {
        Some(types) => types.into_iter().collect::<Vec<_>>().join(","),
        None => "any".to_string(),
    }
}

fn write_json(
    out: &mut dyn Write,
    ruleset: Option<&Ruleset>,
    errors: &[moat_rules::RuleError],
) -> anyhow::Result<()> {
    let problem = |e: &moat_rules::RuleError| json!({"file": e.file.display().to_string(), "line": e.line, "item": e.item, "message": e.message});
    let rules: Vec<_> = ruleset
        .map(|set| {
            set.rules()
                .iter()
                .map(|rule| {
                    json!({
                        "name": rule.name,
                        "priority": rule.priority.as_str(),
                        "enabled": rule.enabled,
                        "tags": rule.tags,
                        "file": rule.file.display().to_string(),
                        "line": rule.line,
                        "event_types": rule.condition.event_types(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let skipped: Vec<_> = ruleset
        .map(|set| {
            set.skipped()
                .iter()
                .map(|s| json!({"name": s.name, "reason": s.reason, "file": s.file.display().to_string(), "line": s.line}))
                .collect()
        })
        .unwrap_or_default();
    let warnings: Vec<_> = ruleset
        .map(|set| set.warnings().iter().map(problem).collect())
        .unwrap_or_default();
    let document = json!({
        "valid": errors.is_empty(),
        "errors": errors.iter().map(problem).collect::<Vec<_>>(),
        "warnings": warnings,
        "rules": rules,
        "skipped": skipped,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}
