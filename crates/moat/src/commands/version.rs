//! `moat version check ECOSYSTEM [FILE]`: checks Moat's version ordering against a file of
//! `A < B`, `A = B` and `A > B` lines (the format of osv-scalibr's conformance vectors), and
//! prints every line where Moat disagrees.

use crate::{escape_controls, EXIT_ERROR};
use anyhow::Context;
use clap::{Args, Subcommand};
use moat_version::vectors::{self, Report};
use moat_version::Ecosystem;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Vector files are text of a few hundred KiB; refuse anything past this rather than read it all.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Arguments of `moat version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(subcommand)]
    pub command: VersionCommand,
}

/// The subcommands of `moat version`.
#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Check "A < B" / "A = B" / "A > B" lines against Moat's ordering; print each disagreement.
    ///
    /// Exit code 0 when Moat agrees with every line, 1 when it disagrees with some (or cannot
    /// read a version), 2 when the input cannot be read or a line is not a vector.
    Check(CheckArgs),
}

/// Arguments of `moat version check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Version scheme: dpkg, rpm, apk, semver, go, pep440, maven, rubygems, nuget or composer
    /// (OSV ecosystem names such as Debian, npm or crates.io work too).
    pub ecosystem: Ecosystem,
    /// The vector file; standard input when absent or "-".
    pub file: Option<PathBuf>,
}

/// Runs `moat version`.
pub fn run(args: &VersionArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        VersionCommand::Check(check) => run_check(check, quiet),
    }
}

fn run_check(args: &CheckArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let file = args.file.as_deref().filter(|p| *p != Path::new("-"));
    let name = file.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
    let text = read_input(file).with_context(|| format!("reading {name}"))?;
    let report = vectors::check(args.ecosystem, &text);
    print_findings(&name, &report)?;
    if !quiet {
        eprintln!("{}", escape_controls(&summary(args.ecosystem, &name, &report)));
    }
    Ok(if report.has_malformed_lines() {
        ExitCode::from(EXIT_ERROR)
    } else if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The whole of `file` (standard input when `None`) as UTF-8, up to [`MAX_INPUT_BYTES`].
fn read_input(file: Option<&Path>) -> anyhow::Result<String> {
    let reader: Box<dyn Read> = match file {
        Some(path) => Box::new(std::fs::File::open(path)?),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_INPUT_BYTES,
        "larger than {} MiB",
        MAX_INPUT_BYTES / (1024 * 1024)
    );
    String::from_utf8(bytes).context("not UTF-8 text")
}

/// Disagreements to standard output, lines that are not vectors to standard error, each as
/// `file:line: message` with control characters escaped.
fn print_findings(name: &str, report: &Report) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for finding in &report.findings {
        let line = escape_controls(&format!("{name}:{}: {}", finding.line, finding.message));
        if finding.malformed {
            eprintln!("moat: error: {line}");
        } else {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn summary(ecosystem: Ecosystem, name: &str, report: &Report) -> String {
    let disagreeing = report.cases - report.agreed();
    let malformed = report.findings.len() - disagreeing;
    let mut text = if disagreeing == 0 {
        format!("moat: {name}: {ecosystem}: all {} vectors agree", report.cases)
    } else {
        format!(
            "moat: {name}: {ecosystem}: {disagreeing} of {} vectors disagree",
            report.cases
        )
    };
    if malformed > 0 {
        text.push_str(&format!("; lines that are not vectors: {malformed}"));
    }
    text
}
