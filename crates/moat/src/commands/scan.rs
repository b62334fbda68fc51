//! `moat scan TARGET`: one walk of the target finds packages (matched against the advisory
//! database), secrets and misconfigurations; findings are filtered, suppressed and written as a
//! table, JSON, SARIF, JUnit or CycloneDX; `--exit-code` gates CI.

use crate::findings::{self, CheckArgs, ReportArgs, SecretArgs};
use crate::inventory::{build_catalog, target_directory, Scanned, TargetArgs};
use anyhow::Context;
use clap::{Args, ValueEnum};
use moat_artifact::ImageConfig;
use moat_catalog::{Analysis, Catalog};
use moat_core::{Inventory, Report};
use moat_match::suppress::{read_ignore_file, read_vex_file, Rule};
use moat_match::{scan_inventory, ScanOptions};
use moat_secret::RuleSet;
use moat_vulndb::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// The ignore file read from the working directory when `--ignorefile` is not given.
const DEFAULT_IGNORE_FILE: &str = ".moatignore";

/// What a scan looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scanner {
    /// Known vulnerabilities in the inventoried packages.
    Vuln,
    /// Credentials in files (every layer, deleted files too) and in the image config.
    Secret,
    /// Misconfigurations: Dockerfiles, Kubernetes manifests and the image config.
    Misconfig,
}

/// Arguments of `moat scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Scanners to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "vuln,secret,misconfig")]
    pub scanners: Vec<Scanner>,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[command(flatten)]
    pub checks: CheckArgs,
    /// Leave out vulnerabilities that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    /// The advisory database (default: the user's cache directory).
    #[arg(long, env = "MOAT_DB")]
    pub db: Option<PathBuf>,
    /// Ignore file: one id per line, with optional exp:DATE, package:NAME, path:PATTERN
    /// (default: .moatignore in the working directory, when present).
    #[arg(long)]
    pub ignorefile: Option<PathBuf>,
    /// VEX documents (OpenVEX or CycloneDX) whose not-affected statements suppress findings.
    #[arg(long)]
    pub vex: Vec<PathBuf>,
    /// List suppressed findings too, with what suppressed them.
    #[arg(long)]
    pub show_suppressed: bool,
}

/// Runs `moat scan`.
pub fn run(args: &ScanArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let wants = |scanner: Scanner| args.scanners.contains(&scanner);
    let store = match wants(Scanner::Vuln) {
        true => Some(Store::open(&super::db::database_path(args.db.as_deref())?)?),
        false => None,
    };
    let rules = match wants(Scanner::Secret) {
        true => Some(args.secrets.rules()?),
        false => None,
    };
    let check_options = args.checks.options()?;
    let analyzers = findings::analyzers(
        rules.clone(),
        wants(Scanner::Misconfig).then(|| check_options.clone()),
        target_directory(&args.target),
    );
    let suppression = suppression_rules(args)?;
    let today = moat_core::time::format_date(now_seconds());
    let scanned = build_catalog(&args.target, quiet, &analyzers, store.is_some())?;
    let Scanned {
        catalog,
        image_config,
        ..
    } = scanned;
    let Catalog { inventory, analysis } = catalog;
    let mut report = match &store {
        Some(store) => vulnerability_report(inventory, store, args, &suppression, quiet)?,
        None => empty_report(inventory),
    };
    let secret_rules = rules.as_deref();
    let checks = wants(Scanner::Misconfig).then_some(&check_options);
    attach_findings(&mut report, analysis, image_config.as_ref(), secret_rules, checks);
    findings::filter_findings(
        &mut report,
        &args.report.severity,
        &suppression,
        &today,
        args.secrets.show_secrets,
    );
    report.normalize();
    args.report.write(&report, args.show_suppressed)?;
    Ok(args.report.exit_code(&report))
}

/// Puts the walk's secrets and misconfigurations into the report, with the image config's own
/// (secrets in Env, labels and history; the IMG checks), for the scanners that ran.
fn attach_findings(
    report: &mut Report,
    analysis: Analysis,
    image_config: Option<&ImageConfig>,
    secret_rules: Option<&RuleSet>,
    checks: Option<&moat_misconfig::ScanOptions>,
) {
    if let Some(rules) = secret_rules {
        report.secrets = analysis.secrets;
        if let Some(config) = image_config {
            report
                .secrets
                .extend(findings::image_config_secrets(rules, config));
        }
    }
    if let Some(options) = checks {
        report.misconfigurations = analysis.misconfigurations;
        if let Some(config) = image_config {
            let image = findings::image_misconfigurations(config, &analysis.special_files, options);
            report.misconfigurations.extend(image);
        }
    }
}

/// The inventory matched against the advisory database, filtered and suppressed.
fn vulnerability_report(
    inventory: Inventory,
    store: &Store,
    args: &ScanArgs,
    suppression: &[Rule],
    quiet: bool,
) -> anyhow::Result<Report> {
    let database = store.info().context("reading the advisory database")?;
    warn_if_stale(&database.updated_at, quiet);
    let options = ScanOptions {
        severities: args.report.severity.clone(),
        ignore_unfixed: args.ignore_unfixed,
        rules: suppression.to_vec(),
        today: moat_core::time::format_date(now_seconds()),
        database: Some(database),
    };
    Ok(scan_inventory(inventory, store, &options)?)
}

/// A report without vulnerability scanning: the target and its inventory only.
fn empty_report(inventory: Inventory) -> Report {
    Report {
        source: inventory.source.clone(),
        distro: inventory.distro.clone(),
        database: None,
        vulnerabilities: Vec::new(),
        secrets: Vec::new(),
        misconfigurations: Vec::new(),
        suppressed: Vec::new(),
        warnings: inventory.warnings.clone(),
        inventory: Some(inventory),
    }
}

/// Warns on standard error when the data was last updated more than a week ago.
fn warn_if_stale(updated_at: &str, quiet: bool) {
    if !quiet && super::db::is_stale(updated_at) {
        eprintln!(
            "moat: warning: the advisory database was last updated {updated_at}, more than 7 days \
             ago; run `moat db update`"
        );
    }
}

/// The `.moatignore` (given, or found in the working directory) and VEX rules.
fn suppression_rules(args: &ScanArgs) -> anyhow::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    let ignore_file = args.ignorefile.clone().or_else(|| {
        let default = PathBuf::from(DEFAULT_IGNORE_FILE);
        default.is_file().then_some(default)
    });
    if let Some(path) = ignore_file {
        rules.extend(read_ignore_file(&path)?);
    }
    for path in &args.vex {
        rules.extend(read_vex_file(path)?);
    }
    Ok(rules)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
