//! `moat sbom TARGET`: the package inventory as CycloneDX, SPDX, Moat JSON or a table.

use crate::inventory::{build_inventory, TargetArgs};
use crate::output::write_atomically;
use clap::Args;
use moat_sbom::{CycloneDxVersion, Format, WriteOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `moat sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format: cyclonedx-json, spdx-json, json or table.
    #[arg(short, long, default_value = "table")]
    pub format: Format,
    /// CycloneDX specification version (1.5 or 1.6).
    #[arg(long, default_value = "1.6", value_parser = parse_cyclonedx_version)]
    pub cyclonedx_version: CycloneDxVersion,
    /// Write to this file instead of standard output (written whole or not at all).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn parse_cyclonedx_version(text: &str) -> Result<CycloneDxVersion, String> {
    match text {
        "1.5" => Ok(CycloneDxVersion::V1_5),
        "1.6" => Ok(CycloneDxVersion::V1_6),
        other => Err(format!(
            "unsupported CycloneDX version {other:?} (use 1.5 or 1.6)"
        )),
    }
}

/// Runs `moat sbom`.
pub fn run(args: &SbomArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let inventory = build_inventory(&args.target, quiet)?;
    let options = WriteOptions {
        cyclonedx_version: args.cyclonedx_version,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        color: args.output.is_none() && std::io::stdout().is_terminal(),
    };
    write_atomically(args.output.as_deref(), |out| {
        moat_sbom::write(&inventory, args.format, &options, out).map_err(anyhow::Error::from)
    })?;
    Ok(ExitCode::SUCCESS)
}
