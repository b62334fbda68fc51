//! `moat`: container security in one binary. This crate is the command line only; every
//! capability is a library call in the other crates.
#![forbid(unsafe_code)]

mod analyzers;
mod commands;
mod findings;
mod inventory;
mod output;
mod progress;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for bad input or a failed scan (as opposed to 1, reserved for policy gates).
const EXIT_ERROR: u8 = 2;

/// Moat: inventory, scan and guard container images.
#[derive(Debug, Parser)]
#[command(name = "moat", version, about, propagate_version = true)]
struct Cli {
    /// No progress bars and no informational messages.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More logging (-v info, -vv debug, -vvv trace); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inventory every package in a target and write an SBOM.
    Sbom(commands::sbom::SbomArgs),
    /// Scan a target for vulnerabilities, secrets and misconfigurations, with filters,
    /// suppression and CI exit codes.
    Scan(Box<commands::scan::ScanArgs>),
    /// Check Dockerfiles and Kubernetes manifests for misconfigurations.
    Config(commands::config::ConfigArgs),
    /// The misconfiguration checks and secret rules Moat runs.
    Checks(commands::checks::ChecksArgs),
    /// Policy as code: evaluate manifests against Gatekeeper, ValidatingAdmissionPolicy and
    /// built-in policies; run Gatekeeper test suites.
    Policy(commands::policy::PolicyArgs),
    /// The Kubernetes admission webhook: serve it, make its certificates, print its manifests.
    Admission(commands::admission::AdmissionArgs),
    /// Runtime rules (Falco's rule format): validate rule files.
    Rules(commands::rules::RulesArgs),
    /// Runtime detection: match recorded kernel events against rules.
    Runtime(commands::runtime::RuntimeArgs),
    /// The advisory database: import data, show its state.
    Db(commands::db::DbArgs),
    /// Version ordering per ecosystem: check Moat against conformance vectors.
    Version(commands::version::VersionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let result = match &cli.command {
        Command::Sbom(args) => commands::sbom::run(args, cli.quiet),
        Command::Scan(args) => commands::scan::run(args, cli.quiet),
        Command::Config(args) => commands::config::run(args, cli.quiet),
        Command::Checks(args) => commands::checks::run(args),
        Command::Policy(args) => commands::policy::run(args, cli.quiet, cli.verbose > 0),
        Command::Admission(args) => commands::admission::run(args, cli.quiet),
        Command::Rules(args) => commands::rules::run(args, cli.quiet),
        Command::Runtime(args) => commands::runtime::run(args, cli.quiet),
        Command::Db(args) => commands::db::run(args, cli.quiet),
        Command::Version(args) => commands::version::run(args, cli.quiet),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("moat: error: {}", escape_controls(&error_line(&err)));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error and its causes on one line, like `{:#}`, but without repeating a cause that the
/// message before it already shows: the library errors include their source in their own
/// message (`{path}: {source}`) and also return it from `source()`.
fn error_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

/// `text` with control and bidirectional-override characters escaped (`\u{1b}`): messages quote
/// names and bytes from hostile input, which must not drive the terminal.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that, like the library errors, shows its source and also returns it.
    #[derive(Debug)]
    struct ShowsItsSource {
        path: String,
        source: std::io::Error,
    }

    impl std::fmt::Display for ShowsItsSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reading {}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for ShowsItsSource {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::from(ShowsItsSource {
            path: "img.tar".into(),
            source: io,
        });
        assert_eq!(error_line(&err), "reading img.tar: no such file");
        let wrapped = err.context("opening the target");
        assert_eq!(
            error_line(&wrapped),
            "opening the target: reading img.tar: no such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&plain), format!("{plain:#}"));
    }

    #[test]
    fn control_characters_are_escaped_and_text_is_kept() {
        assert_eq!(
            escape_controls("bad \u{1b}]0;x\u{7} name\u{202e}: é ok"),
            "bad \\u{1b}]0;x\\u{7} name\\u{202e}: é ok"
        );
    }
}
