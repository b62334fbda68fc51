//! `moat policy eval` (manifests against policies, with file and line and a CI exit code) and
//! `moat policy test` (Gatekeeper `suite.yaml` suites, the way `gator verify` runs them).

use crate::output::write_atomically;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use moat_artifact::{walk_directory, EntryKind, Limits as WalkLimits};
use moat_misconfig::kubernetes::manifest;
use moat_policy::builtin::BuiltinPolicy;
use moat_policy::suite::{self, SuiteResult};
use moat_policy::{Action, Inventory, Limits, PolicySet, Review, Violation};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `moat policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

/// What to do with policies.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate Kubernetes manifests against policies (Gatekeeper templates and constraints,
    /// ValidatingAdmissionPolicies and bindings, Moat built-ins); exit 1 when one denies.
    Eval(EvalArgs),
    /// Run Gatekeeper test suites (suite.yaml files, or directories holding them).
    Test(TestArgs),
}

/// Limits shared by both subcommands.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Time one policy may spend on one object, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub policy_timeout_ms: u64,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            time: Duration::from_millis(self.policy_timeout_ms),
            ..Limits::default()
        }
    }
}

/// Arguments of `moat policy eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Policy files or directories (YAML or JSON).
    #[arg(short, long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Also apply Pod Security Standards at this level (baseline or restricted).
    #[arg(long)]
    pub pss: Option<String>,
    /// The Pod Security Standards version for --pss (v1.0 … v1.37, or latest).
    #[arg(long, default_value = "latest")]
    pub pss_version: String,
    /// Cluster objects policies may refer to (namespaces for namespaceSelector, params,
    /// objects for data.inventory).
    #[arg(long = "inventory", value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, default_value = "table")]
    pub format: EvalFormat,
    /// Write the result to a file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Manifest files or directories to evaluate.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<PathBuf>,
}

/// Output formats of `moat policy eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// One line per violation: `file:line: action policy: message`.
    Table,
    /// A JSON document with every violation and error.
    Json,
}

/// Arguments of `moat policy test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Suite files, or directories searched for suite.yaml files.
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Runs `moat policy`.
///
/// `verbose` (the global `-v`) lists every test and case of `moat policy test`, not only
/// failures.
pub fn run(args: &PolicyArgs, quiet: bool, verbose: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        PolicyCommand::Eval(eval) => run_eval(eval, quiet),
        PolicyCommand::Test(test) => run_test(test, verbose),
    }
}

/// One violation, placed in its manifest.
struct Placed {
    path: String,
    line: u32,
    object: String,
    violation: Violation,
}

fn run_eval(args: &EvalArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let policies = load_policies(args)?;
    let mut inventory = policies.inventory().clone();
    let extra = suite::inventory_from_files(&args.inventory).map_err(anyhow::Error::msg)?;
    for object in extra.objects() {
        inventory.add(object.clone());
    }
    let mut placed = Vec::new();
    let mut problems = Vec::new();
    let mut objects = 0;
    for file in manifest_files(&args.manifests, quiet)? {
        objects += evaluate_file(&file, &policies, &inventory, &mut placed, &mut problems)?;
    }
    if !quiet {
        eprintln!("moat: {objects} objects evaluated against {}", policies.summary());
    }
    write_atomically(args.output.as_deref(), |out| match args.format {
        EvalFormat::Table => write_table(&placed, &problems, out),
        EvalFormat::Json => write_json(&placed, &problems, out),
    })?;
    let denied = placed.iter().any(|p| p.violation.action == Action::Deny);
    Ok(match (denied, problems.is_empty()) {
        (true, _) => ExitCode::from(1),
        (false, false) => ExitCode::from(crate::EXIT_ERROR),
        (false, true) => ExitCode::SUCCESS,
    })
}

fn load_policies(args: &EvalArgs) -> anyhow::Result<PolicySet> {
    let limits = args.limits.limits();
    let mut policies = PolicySet::load(&args.policies, limits).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the policies cannot be loaded:\n  {}", lines.join("\n  "))
    })?;
    if let Some(level) = &args.pss {
        let parameters = json!({"level": level, "version": args.pss_version});
        let pss = BuiltinPolicy::new(&format!("pod-security-{level}"), "pod-security", &parameters)
            .map_err(|err| anyhow::anyhow!("--pss: {err}"))?;
        policies.add_builtin_policy(pss);
    }
    if policies.summary() == Default::default() {
        anyhow::bail!("no policies: give --policy PATH or --pss LEVEL");
    }
    Ok(policies)
}

/// The manifest files under `paths`, directories walked in name order the way `moat config`
/// walks them (symlinks never followed out of the tree); unreadable entries are warned about.
fn manifest_files(paths: &[PathBuf], quiet: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut visit = |entry: &mut moat_artifact::Entry<'_>| {
            let relative = entry.path().trim_start_matches('/');
            let is_manifest = [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| relative.ends_with(ext));
            if matches!(entry.kind(), EntryKind::File) && is_manifest {
                found.push(path.join(relative));
            }
            Ok(())
        };
        let mut warn = |entry: &str, message: &str| {
            if !quiet {
                eprintln!("moat: warning: {}{entry}: {message}", path.display());
            }
        };
        walk_directory(path, &WalkLimits::default(), &mut visit, &mut warn)
            .with_context(|| format!("walking {}", path.display()))?;
        files.extend(found);
    }
    Ok(files)
}

/// Evaluates every object of one manifest file; returns how many objects it held.
fn evaluate_file(
    file: &Path,
    policies: &PolicySet,
    inventory: &Inventory,
    placed: &mut Vec<Placed>,
    problems: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let shown = file.display().to_string();
    let text = read_bounded(file)?;
    let (resources, errors) = manifest::load(&shown, &text);
    problems.extend(errors.iter().map(ToString::to_string));
    for resource in &resources {
        let review = match Review::from_object(resource.value.clone()) {
            Ok(review) => review,
            Err(err) => {
                problems.push(format!("{shown}:{}: {err}", resource.line()));
                continue;
            }
        };
        let evaluation = policies.evaluate(&review, inventory);
        problems.extend(evaluation.errors.iter().map(|err| {
            format!(
                "{shown}:{}: {} {}: {err}",
                resource.line(),
                resource.kind,
                resource.name
            )
        }));
        for violation in evaluation.violations {
            let line = match &violation.pointer {
                Some(pointer) => resource.location(pointer).start_line,
                None => resource.line(),
            };
            placed.push(Placed {
                path: shown.clone(),
                line,
                object: resource.display_name(),
                violation,
            });
        }
    }
    Ok(resources.len())
}

/// Largest manifest read, in bytes.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

fn read_bounded(file: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > MAX_MANIFEST_BYTES {
        anyhow::bail!(
            "{}: {size} bytes, over the limit of {MAX_MANIFEST_BYTES} for a manifest",
            file.display()
        );
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

fn write_table(placed: &[Placed], problems: &[String], out: &mut dyn Write) -> anyhow::Result<()> {
    for p in placed {
        let v = &p.violation;
        writeln!(
            out,
            "{}:{}: {} {} ({}): {}",
            p.path,
            p.line,
            v.action.as_str().to_uppercase(),
            v.policy,
            p.object,
            v.message
        )?;
    }
    for problem in problems {
        writeln!(out, "error: {problem}")?;
    }
    let count = |action| placed.iter().filter(|p| p.violation.action == action).count();
    writeln!(
        out,
        "{} violations: {} deny, {} warn, {} audit; {} errors",
        placed.len(),
        count(Action::Deny),
        count(Action::Warn),
        count(Action::Audit),
        problems.len()
    )?;
    Ok(())
}

fn write_json(placed: &[Placed], problems: &[String], out: &mut dyn Write) -> anyhow::Result<()> {
    let violations: Vec<serde_json::Value> = placed
        .iter()
        .map(|p| {
            json!({
                "file": p.path, "line": p.line, "object": p.object,
                "policy": p.violation.policy, "engine": p.violation.engine,
                "action": p.violation.action, "message": p.violation.message,
                "details": p.violation.details,
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &json!({"violations": violations, "errors": problems}))?;
    writeln!(out)?;
    Ok(())
}

fn run_test(args: &TestArgs, verbose: bool) -> anyhow::Result<ExitCode> {
    let results = suite::run_all(&args.suites, args.limits.limits())?;
    if results.is_empty() {
        anyhow::bail!("no suite.yaml found under the given paths");
    }
    let mut out = std::io::stdout().lock();
    let mut totals = (0, 0, 0);
    for result in &results {
        print_suite(result, verbose, &mut out)?;
        let (pass, fail, skip) = result.counts();
        totals = (totals.0 + pass, totals.1 + fail, totals.2 + skip);
    }
    let failed_suites = results.iter().filter(|r| !r.passed()).count();
    writeln!(
        out,
        "{} suites ({} failed); cases: {} passed, {} failed, {} skipped",
        results.len(),
        failed_suites,
        totals.0,
        totals.1,
        totals.2
    )?;
    Ok(if failed_suites == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_suite(result: &SuiteResult, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let status = if result.passed() { "ok  " } else { "FAIL" };
    writeln!(out, "{status} {}", result.path.display())?;
    for test in &result.tests {
        if let Some(err) = &test.error {
            writeln!(out, "    --- FAIL: {}: {err}", test.name)?;
        } else if verbose {
            let word = if test.skipped { "SKIP" } else { "PASS" };
            writeln!(out, "    --- {word}: {}", test.name)?;
        }
        for case in &test.cases {
            match (&case.failure, case.skipped) {
                (Some(failure), _) => writeln!(out, "        --- FAIL: {}: {failure}", case.name)?,
                (None, true) if verbose => writeln!(out, "        --- SKIP: {}", case.name)?,
                (None, false) if verbose => writeln!(out, "        --- PASS: {}", case.name)?,
                _ => {}
            }
        }
    }
    Ok(())
}
