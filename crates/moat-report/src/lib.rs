//! Writers for `moat scan` reports: a terminal table, Moat's JSON, SARIF 2.1.0, JUnit XML and
//! CycloneDX 1.6 JSON with a `vulnerabilities` array.
//!
//! Reports hold vulnerabilities, secrets and misconfigurations. Every format but CycloneDX (which
//! has no place for them) writes all three; secrets are written as the report holds them,
//! redacted unless the scan was asked to show them.
//!
//! Every writer turns the same [`Report`] into bytes without re-deriving facts, and output is
//! deterministic: findings are written in the report's canonical order (the writers normalize a
//! copy first), identifiers and fingerprints are hashes of the findings, and no wall-clock time
//! is written. The only timestamp is CycloneDX's `metadata.timestamp`, which is
//! `SOURCE_DATE_EPOCH` when set and the Unix epoch otherwise (see [`moat_sbom::ids`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cyclonedx;
mod describe;
mod error;
mod json;
mod junit;
mod links;
mod sarif;
mod table;
mod text;

pub use error::ReportError;
pub use json::REPORT_SCHEMA;
pub use sarif::SARIF_SCHEMA_URI;

use moat_core::Report;
use std::fmt;
use std::str::FromStr;

/// An output format of `moat scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// A table for terminals (`table`).
    #[default]
    Table,
    /// Moat's report JSON (`json`).
    Json,
    /// SARIF 2.1.0 (`sarif`), for code-scanning dashboards.
    Sarif,
    /// JUnit XML (`junit`), one failed test case per finding, for CI test reports.
    Junit,
    /// CycloneDX 1.6 JSON with components and vulnerabilities (`cyclonedx`, `cyclonedx-json`).
    CycloneDx,
}

impl Format {
    /// Every format, in the order they are listed in help texts.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::CycloneDx,
    ];

    /// The canonical name (`table`, `json`, `sarif`, `junit`, `cyclonedx`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::CycloneDx => "cyclonedx",
        }
    }
}

impl FromStr for Format {
    type Err = ReportError;

    /// Case-insensitive; `cyclonedx-json` is accepted for `cyclonedx`.
    fn from_str(name: &str) -> Result<Format, ReportError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            "cyclonedx" | "cyclonedx-json" => Ok(Format::CycloneDx),
            _ => Err(ReportError::UnknownFormat {
                name: name.to_string(),
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options for [`write()`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Moat's version, named as the tool that made the report.
    pub tool_version: String,
    /// Whether the table may use ANSI colours.
    pub color: bool,
    /// Whether the table lists suppressed findings (other formats always include them).
    pub show_suppressed: bool,
}

impl WriteOptions {
    /// The tool version to write: `unknown` when none was given.
    fn version(&self) -> &str {
        match self.tool_version.is_empty() {
            true => "unknown",
            false => &self.tool_version,
        }
    }
}

/// Writes `report` in `format` to `out`.
///
/// A normalized copy of the report is written, so the same findings always give the same bytes.
pub fn write(
    report: &Report,
    format: Format,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let mut normalized = report.clone();
    normalized.normalize();
    match format {
        Format::Table => table::write(&normalized, options, out),
        Format::Json => json::write(&normalized, options, out),
        Format::Sarif => sarif::write(&normalized, options, out),
        Format::Junit => junit::write(&normalized, options, out),
        Format::CycloneDx => cyclonedx::write(&normalized, options, out),
    }
}

/// Writes `document` as pretty JSON (two-space indent) followed by a newline.
fn write_pretty_json(
    document: &impl serde::Serialize,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, document).map_err(ReportError::Serialize)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>().ok(), Some(format));
            assert_eq!(
                format.to_string().to_uppercase().parse::<Format>().ok(),
                Some(format)
            );
        }
        assert_eq!("cyclonedx-json".parse::<Format>().ok(), Some(Format::CycloneDx));
        let error = "xml".parse::<Format>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("unknown report format \"xml\" (expected table, json, sarif, junit or cyclonedx)")
        );
    }
}
