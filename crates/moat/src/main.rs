//! `moat`: container security in one binary. This crate is the command line only; every
//! capability is a library call in the other crates.
#![forbid(unsafe_code)]

mod commands;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let result = match &cli.command {
        Command::Sbom(args) => commands::sbom::run(args, cli.quiet),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("moat: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
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
