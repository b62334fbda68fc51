//! `moat runtime watch` (kernel events through rules and detectors to alerts),
//! `moat runtime record` (kernel events to a recording) and `moat runtime replay` (Falco-format
//! rules over a recording of runtime events, printing an alert per matching rule as Falco's
//! JSON output does).

use crate::output::write_atomically;
use anyhow::Context;
use clap::{Args, Subcommand};
use moat_rules::{Priority, Ruleset};
use moat_runtime::{replay, Alert, RecordingReader};
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

mod watch;

/// Arguments of `moat runtime`.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    #[command(subcommand)]
    pub command: RuntimeCommand,
}

/// What to do at runtime.
#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Watch this machine's processes and containers through kernel events; print alerts as JSON lines.
    Watch(watch::WatchArgs),
    /// Write this machine's kernel events, with process and container context, as JSON lines.
    Record(watch::RecordArgs),
    /// Match a recording of events (JSON lines) against rules; print the alerts as JSON lines.
    Replay(ReplayArgs),
}

/// Arguments of `moat runtime replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording: one event per line, as JSON.
    pub recording: PathBuf,
    /// Rule files in Falco's format, in load order.
    #[arg(long = "rules", short = 'r', required = true)]
    pub rules: Vec<PathBuf>,
    /// Only alerts at or above this priority (emergency … debug).
    #[arg(long, default_value = "debug", value_parser = parse_priority)]
    pub min_priority: Priority,
    /// Write the alerts here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub(crate) fn parse_priority(text: &str) -> Result<Priority, String> {
    text.parse::<Priority>().map_err(|_| {
        format!("unknown priority {text:?}: one of emergency, alert, critical, error, warning, notice, informational, debug")
    })
}

/// Runs `moat runtime`.
pub fn run(args: &RuntimeArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        RuntimeCommand::Watch(watch_args) => watch::run_watch(watch_args, quiet),
        RuntimeCommand::Record(record_args) => watch::run_record(record_args, quiet),
        RuntimeCommand::Replay(replay_args) => run_replay(replay_args, quiet),
    }
}

fn run_replay(args: &ReplayArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let rules = Ruleset::load(&args.rules).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let file =
        File::open(&args.recording).with_context(|| format!("opening {}", args.recording.display()))?;
    let events = RecordingReader::new(BufReader::new(file));
    let mut summary = None;
    write_atomically(args.output.as_deref(), |out| {
        let mut written: std::io::Result<()> = Ok(());
        let mut shown = 0u64;
        let stats = replay(events, &rules, |alert: Alert| {
            if written.is_err() || alert.priority < args.min_priority {
                return;
            }
            shown += 1;
            written = serde_json::to_writer(&mut *out, &alert)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out));
        })
        .with_context(|| format!("reading {}", args.recording.display()))?;
        written.context("writing the alerts")?;
        summary = Some((stats, shown));
        Ok(())
    })?;
    if let (false, Some((stats, shown))) = (quiet, summary) {
        eprintln!(
            "{} events, {} alerts ({shown} at or above {})",
            stats.events,
            stats.alerts,
            args.min_priority.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}
