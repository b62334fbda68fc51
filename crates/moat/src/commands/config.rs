//! `moat config PATH…`: misconfiguration checks on Dockerfiles and Kubernetes manifests alone,
//! without packages or secrets (what `trivy config` does).

use crate::analyzers::ConfigAnalyzer;
use crate::findings::{self, CheckArgs};
use crate::output::write_atomically;
use anyhow::Context;
use clap::Args;
use moat_artifact::{walk_directory, EntryKind, Limits};
use moat_catalog::FileAnalyzer;
use moat_core::{Misconfiguration, Report, Severity, SourceDescription, SourceKind, Warning};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `moat config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Files and directories to check (directories are searched for Dockerfiles and YAML/JSON
    /// manifests).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub checks: CheckArgs,
    /// Severities to report, comma-separated (LOW, MEDIUM, HIGH, CRITICAL); all by default.
    #[arg(long, value_delimiter = ',')]
    pub severity: Vec<Severity>,
    /// Exit with this code when findings remain after filtering (0: always succeed).
    #[arg(long, default_value_t = 0)]
    pub exit_code: u8,
    /// Output format: table, json, sarif or junit.
    #[arg(short, long, default_value = "table")]
    pub format: moat_report::Format,
    /// Write to this file instead of standard output (written whole or not at all).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs `moat config`.
pub fn run(args: &ConfigArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let options = args.checks.options()?;
    let mut found = Found::default();
    for path in &args.paths {
        let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            check_directory(
                path,
                &ConfigAnalyzer::new(options.clone(), Some(path.clone())),
                &mut found,
            )?;
        } else {
            check_file(path, &options, &mut found)?;
        }
    }
    if !quiet {
        for warning in &found.warnings {
            eprintln!("moat: warning: {}: {}", warning.path, warning.message);
        }
    }
    let names: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let joined = names.join(" ");
    let mut report = Report {
        source: SourceDescription::new(SourceKind::Directory, joined.clone(), joined),
        distro: None,
        database: None,
        vulnerabilities: Vec::new(),
        secrets: Vec::new(),
        misconfigurations: found.findings,
        suppressed: Vec::new(),
        warnings: found.warnings,
        inventory: None,
    };
    let today = moat_core::time::format_date(0);
    findings::filter_findings(&mut report, &args.severity, &[], &today, false);
    report.normalize();
    let write_options = moat_report::WriteOptions {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        color: args.output.is_none() && std::io::stdout().is_terminal(),
        show_suppressed: false,
    };
    write_atomically(args.output.as_deref(), |out| {
        moat_report::write(&report, args.format, &write_options, out).map_err(anyhow::Error::from)
    })?;
    if args.exit_code != 0 && !report.misconfigurations.is_empty() {
        return Ok(ExitCode::from(args.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}

/// Findings and unreadable parts, across every path given.
#[derive(Default)]
struct Found {
    findings: Vec<Misconfiguration>,
    warnings: Vec<Warning>,
}

impl Found {
    fn warn(&mut self, path: String, message: String) {
        self.warnings.push(Warning {
            path,
            layer: None,
            message,
        });
    }
}

/// Walks a directory and checks every configuration file in it; paths in findings are written
/// as the user would (`deploy/app.yaml` under the directory given).
fn check_directory(root: &Path, analyzer: &ConfigAnalyzer, found: &mut Found) -> anyhow::Result<()> {
    let shown = root.display().to_string();
    let prefix = shown.trim_end_matches('/');
    let mut warnings: Vec<(String, String)> = Vec::new();
    let mut visit = |entry: &mut moat_artifact::Entry<'_>| {
        if !matches!(entry.kind(), EntryKind::File) || !analyzer.wants(entry.path(), entry.size()) {
            return Ok(());
        }
        let path = entry.path().to_string();
        match analyzer.analyze(&path, entry) {
            Ok(result) => {
                for mut finding in result.misconfigurations {
                    finding.location.path = format!("{prefix}{}", finding.location.path);
                    found.findings.push(finding);
                }
                let named = format!("{prefix}{path}");
                warnings.extend(result.warnings.into_iter().map(|w| (named.clone(), w)));
            }
            Err(err) => warnings.push((format!("{prefix}{path}"), err.to_string())),
        }
        Ok(())
    };
    let mut walk_warnings: Vec<(String, String)> = Vec::new();
    walk_directory(root, &Limits::default(), &mut visit, &mut |path, message| {
        walk_warnings.push((format!("{prefix}{path}"), message.to_string()))
    })
    .with_context(|| format!("walking {shown}"))?;
    for (path, message) in warnings.into_iter().chain(walk_warnings) {
        found.warn(path, message);
    }
    Ok(())
}

/// Checks one file named on the command line; a file that is neither a Dockerfile nor a
/// manifest by name is sniffed, and skipped with a warning when it is neither.
fn check_file(path: &Path, options: &moat_misconfig::ScanOptions, found: &mut Found) -> anyhow::Result<()> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("reading {shown}"))?;
    let head = &bytes[..bytes.len().min(4096)];
    let Some(kind) = moat_misconfig::detect_kind(&shown, head).or_else(|| sniff_dockerfile(head)) else {
        found.warn(
            shown,
            "not a Dockerfile or a Kubernetes manifest: skipped".to_string(),
        );
        return Ok(());
    };
    let mut options = options.clone();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    options.has_dockerignore = dir.join(".dockerignore").is_file();
    let text = String::from_utf8_lossy(&bytes);
    let outcome = moat_misconfig::scan_file(&shown, &text, kind, &options);
    found.findings.extend(outcome.findings);
    for error in outcome.errors {
        found.warn(shown.clone(), format!("line {}: {}", error.line, error.message));
    }
    Ok(())
}

/// A file whose first instruction is `FROM` (or a parser directive) is a Dockerfile whatever
/// its name.
fn sniff_dockerfile(head: &[u8]) -> Option<moat_core::ConfigKind> {
    let text = String::from_utf8_lossy(head);
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))?;
    let word = first.split_whitespace().next()?;
    word.eq_ignore_ascii_case("FROM")
        .then_some(moat_core::ConfigKind::Dockerfile)
}
