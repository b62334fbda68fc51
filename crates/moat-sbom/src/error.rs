//! Errors of the SBOM writers and readers.

use thiserror::Error;

/// Everything that can go wrong writing or reading an SBOM.
#[derive(Debug, Error)]
pub enum SbomError {
    /// An output format name that is not one of `cyclonedx-json`, `spdx-json`, `json`, `table`.
    #[error("unknown SBOM format {name:?} (expected cyclonedx-json, spdx-json, json or table)")]
    UnknownFormatName {
        /// The name that was given.
        name: String,
    },
    /// A CycloneDX spec version name that is not `1.5` or `1.6`.
    #[error("unsupported CycloneDX output version {name:?} (expected 1.5 or 1.6)")]
    UnknownCycloneDxVersion {
        /// The name that was given.
        name: String,
    },
    /// `SOURCE_DATE_EPOCH` is set but is not a number of seconds since the Unix epoch.
    #[error("SOURCE_DATE_EPOCH={value:?} is not a non-negative integer number of seconds")]
    InvalidSourceDateEpoch {
        /// The value of the variable.
        value: String,
    },
    /// Writing the output failed.
    #[error("writing SBOM output: {0}")]
    Io(#[from] std::io::Error),
    /// Serializing the output failed.
    #[error("serializing SBOM output: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The input is not well-formed JSON or does not have the shape of its format.
    #[error("{origin}:{line}:{column}: invalid {what}: {message}")]
    Json {
        /// Where the input came from (a file name).
        origin: String,
        /// What was being read (`JSON`, `CycloneDX document`, `SPDX document`, …).
        what: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The input is JSON but neither CycloneDX, SPDX nor Moat JSON.
    #[error(
        "{origin}: not a CycloneDX, SPDX or Moat JSON document (no bomFormat, spdxVersion or schema field)"
    )]
    UnknownDocument {
        /// Where the input came from.
        origin: String,
    },
    /// The document's format version is not one this reader understands.
    #[error("{origin}: unsupported {format} version {version:?}")]
    UnsupportedVersion {
        /// Where the input came from.
        origin: String,
        /// `CycloneDX`, `SPDX` or `Moat JSON`.
        format: &'static str,
        /// The version found in the document.
        version: String,
    },
    /// The input exceeds a size, count or depth limit.
    #[error("{origin}: {what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// Where the input came from.
        origin: String,
        /// What was counted (`document size in bytes`, `components`, `component nesting depth`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl SbomError {
    /// Wraps a serde_json read error with the origin and position it carries.
    pub(crate) fn json(origin: &str, what: &'static str, error: &serde_json::Error) -> SbomError {
        SbomError::Json {
            origin: origin.to_string(),
            what,
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        }
    }

    /// A limit error for `origin`.
    pub(crate) fn limit(origin: &str, what: &'static str, limit: usize) -> SbomError {
        SbomError::LimitExceeded {
            origin: origin.to_string(),
            what,
            limit,
        }
    }
}

/// serde_json appends " at line L column C" to its messages; the position is kept in fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}
