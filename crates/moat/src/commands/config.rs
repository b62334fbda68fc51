//! `moat config PATH…`: misconfiguration checks on Dockerfiles and Kubernetes manifests alone,
//! without packages or secrets (what `trivy config` does).

use crate::analyzers::ConfigAnalyzer;
use crate::findings::{self, CheckArgs, ReportArgs};
use anyhow::Context;
use clap::Args;
use moat_artifact::{walk_directory, EntryKind, Limits};
use moat_catalog::FileAnalyzer;
use moat_core::{Misconfiguration, Report, SourceDescription, SourceKind, Warning};
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
    #[command(flatten)]
    pub report: ReportArgs,
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
    findings::filter_findings(&mut report, &args.report.severity, &[], "", false);
    report.normalize();
    args.report.write(&report, false)?;
    Ok(args.report.exit_code(&report))
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
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let analyzer = ConfigAnalyzer::new(options.clone(), Some(dir.to_path_buf()));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let outcome = analyzer.check_text(&format!("/{name}"), &shown, &text, kind);
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
