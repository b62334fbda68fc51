//! Errors of the report writers.

use thiserror::Error;

/// Everything that can go wrong writing a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A format name that is not one of `table`, `json`, `sarif`, `junit`, `cyclonedx`.
    #[error("unknown report format {name:?} (expected table, json, sarif, junit or cyclonedx)")]
    UnknownFormat {
        /// The name that was given.
        name: String,
    },
    /// Writing the output failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    /// Serializing the output failed.
    #[error("serializing the report: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The CycloneDX writer failed (for example on a malformed `SOURCE_DATE_EPOCH`).
    #[error("writing the CycloneDX report: {0}")]
    CycloneDx(#[from] moat_sbom::SbomError),
}
