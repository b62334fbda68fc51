//! Options and steps shared by `moat scan` and `moat config`: loading secret rules and check
//! options, secrets and checks on an image's config, severity filters and ignore rules for
//! secret and misconfiguration findings.

use crate::analyzers::{ConfigAnalyzer, SecretAnalyzer};
use crate::output::write_atomically;
use anyhow::Context;
use clap::Args;
use moat_artifact::ImageConfig;
use moat_catalog::{FileAnalyzer, SpecialFile};
use moat_core::{Misconfiguration, Report, SecretFinding, Severity};
use moat_match::suppress::Rule;
use moat_misconfig::image::{check_image, ImageFacts, IMAGE_CONFIG_PATH};
use moat_misconfig::{PssLevel, PssVersion, ScanOptions};
use moat_secret::RuleSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Which findings to report, where and how, and the CI gate: shared by `moat scan` and
/// `moat config`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Severities to report, comma-separated (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL); all by default.
    #[arg(long, value_delimiter = ',')]
    pub severity: Vec<Severity>,
    /// Exit with this code when findings remain after filtering (0: always succeed).
    #[arg(long, default_value_t = 0)]
    pub exit_code: u8,
    /// Output format: table, json, sarif, junit or cyclonedx.
    #[arg(short, long, default_value = "table")]
    pub format: moat_report::Format,
    /// Write to this file instead of standard output (written whole or not at all).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

impl ReportArgs {
    /// Writes the report (normalized) in the chosen format.
    pub fn write(&self, report: &Report, show_suppressed: bool) -> anyhow::Result<()> {
        let write_options = moat_report::WriteOptions {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            color: self.output.is_none() && std::io::stdout().is_terminal(),
            show_suppressed,
        };
        write_atomically(self.output.as_deref(), |out| {
            moat_report::write(report, self.format, &write_options, out).map_err(anyhow::Error::from)
        })
    }

    /// The exit code: `--exit-code` when findings remain, else success.
    pub fn exit_code(&self, report: &Report) -> ExitCode {
        let found = !report.vulnerabilities.is_empty()
            || !report.secrets.is_empty()
            || !report.misconfigurations.is_empty();
        match self.exit_code != 0 && found {
            true => ExitCode::from(self.exit_code),
            false => ExitCode::SUCCESS,
        }
    }
}

/// Options of the secret scanner.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// A gitleaks-format TOML rule file to use instead of the built-in rules (its
    /// `[extend] useDefault = true` adds Moat's built-in rules).
    #[arg(long, value_name = "FILE")]
    pub secret_config: Option<PathBuf>,
    /// Also report high-entropy base64 and hex strings (noisy; off by default).
    #[arg(long)]
    pub secret_entropy: bool,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
}

impl SecretArgs {
    /// The rule set: the built-in rules or `--secret-config`, with the entropy detectors when asked.
    pub fn rules(&self) -> anyhow::Result<Arc<RuleSet>> {
        let rules = match &self.secret_config {
            Some(path) => RuleSet::load(path)?,
            None => RuleSet::builtin(),
        };
        let rules = match self.secret_entropy {
            true => rules.with_entropy_detectors(),
            false => rules,
        };
        Ok(Arc::new(rules))
    }
}

/// Options of the misconfiguration checks.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check ids not to run, comma-separated (see `moat checks list`).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub skip_checks: Vec<String>,
    /// Pod Security Standards level pods are held to: baseline or restricted.
    #[arg(long, value_name = "LEVEL", default_value = "restricted")]
    pub pss: String,
    /// Pod Security Standards version: v1.0 … v1.37, or latest.
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    pub pss_version: String,
}

impl CheckArgs {
    /// The options for `moat_misconfig`.
    pub fn options(&self) -> anyhow::Result<ScanOptions> {
        let level = PssLevel::parse(&self.pss)
            .map_err(anyhow::Error::msg)
            .context("--pss")?;
        let version = PssVersion::parse(&self.pss_version)
            .map_err(anyhow::Error::msg)
            .context("--pss-version")?;
        Ok(ScanOptions {
            skip_checks: self.skip_checks.iter().map(|id| id.trim().to_string()).collect(),
            pss: Some((level, version)),
            has_dockerignore: false,
        })
    }
}

/// The analyzers for a walk: secrets first would stream big files, so configs go first.
pub fn analyzers(
    secrets: Option<Arc<RuleSet>>,
    checks: Option<ScanOptions>,
    directory: Option<PathBuf>,
) -> Vec<Arc<dyn FileAnalyzer>> {
    let mut analyzers: Vec<Arc<dyn FileAnalyzer>> = Vec::new();
    if let Some(options) = checks {
        analyzers.push(Arc::new(ConfigAnalyzer::new(options, directory)));
    }
    if let Some(rules) = secrets {
        analyzers.push(Arc::new(SecretAnalyzer::new(rules)));
    }
    analyzers
}

/// Secrets in an image's config: Env, labels and the history's `created_by` commands, each
/// reported at `<image config> Env` (and so on), line = position in the list.
pub fn image_config_secrets(rules: &RuleSet, config: &ImageConfig) -> Vec<SecretFinding> {
    let labels: Vec<String> = config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let history: Vec<String> = config.history.iter().map(|h| h.created_by.clone()).collect();
    let mut found = Vec::new();
    for (field, lines) in [("Env", &config.env), ("Labels", &labels), ("history", &history)] {
        let text = lines.join("\n");
        found.extend(rules.scan_bytes(&format!("{IMAGE_CONFIG_PATH} {field}"), text.as_bytes()));
    }
    found
}

/// The image checks on a config and the special files of its final filesystem.
pub fn image_misconfigurations(
    config: &ImageConfig,
    special_files: &[SpecialFile],
    options: &ScanOptions,
) -> Vec<Misconfiguration> {
    let facts = ImageFacts {
        user: &config.user,
        env: &config.env,
        exposed_ports: &config.exposed_ports,
        healthcheck: config.healthcheck.as_deref(),
        special_files,
    };
    check_image(&facts, &options.skip_checks)
}

/// Keeps the secrets and misconfigurations at the wanted severities (all when empty) that no
/// live ignore rule silences (see [`Rule::silences_file_finding`]); redacts secrets unless
/// `show_secrets`.
pub fn filter_findings(
    report: &mut Report,
    severities: &[Severity],
    ignore: &[Rule],
    today: &str,
    show_secrets: bool,
) {
    let wanted = |severity: Severity| severities.is_empty() || severities.contains(&severity);
    let live: Vec<&Rule> = ignore.iter().filter(|rule| rule.is_live(today)).collect();
    let ignored = |id: &str, path: &str| live.iter().any(|rule| rule.silences_file_finding(id, path));
    report
        .secrets
        .retain(|s| wanted(s.severity) && !ignored(&s.rule_id, &s.location.path));
    report
        .misconfigurations
        .retain(|m| wanted(m.severity) && !ignored(&m.check_id, &m.location.path));
    if !show_secrets {
        report.secrets.iter_mut().for_each(SecretFinding::redact);
    }
}
