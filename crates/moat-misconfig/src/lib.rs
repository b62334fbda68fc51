//! Misconfiguration checks for Dockerfiles, built images' configs and Kubernetes manifests.
//!
//! Every check is listed in one registry ([`all_checks`]) with its id, severity, remediation and
//! compliance references; every finding names the file, line and column of the offending
//! instruction or field. A file that cannot be parsed gives a [`ConfigError`] naming the file and
//! line, and the rest of the scan goes on.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dockerfile;
mod ignore;
pub mod image;
pub mod kubernetes;
mod registry;

pub use ignore::apply_inline_ignores;
pub use kubernetes::pss::{PssLevel, PssVersion};
pub use registry::{all_checks, find_check};

use moat_core::{ConfigKind, Misconfiguration};
use std::collections::BTreeSet;

/// A configuration file that could not be read, or a part of it that was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// The line (1-based), or 0 for the file as a whole.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at one line of one file.
    pub fn new(path: impl Into<String>, line: u32, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// What scanning one file produced: findings, and the errors that made parts of it unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileOutcome {
    /// Failed checks.
    pub findings: Vec<Misconfiguration>,
    /// Parse errors (the file, or the documents or instructions named, were not checked).
    pub errors: Vec<ConfigError>,
}

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Check ids not to run.
    pub skip_checks: BTreeSet<String>,
    /// Which Pod Security Standard to hold pods to; `None` means restricted at the latest version.
    pub pss: Option<(PssLevel, PssVersion)>,
    /// Whether the directory holding a Dockerfile has a `.dockerignore` (unknown counts as no).
    pub has_dockerignore: bool,
}

/// Whether a `USER` / `config.User` value (`name[:group]`) names root: `root`, or uid 0
/// however written (`0`, `00`). Shared by the Dockerfile and image-config checks.
pub(crate) fn is_root_user(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user).trim();
    name == "root" || (!name.is_empty() && name.bytes().all(|b| b == b'0'))
}

/// Tells which kind of configuration a file is, from its name and, for YAML and JSON, its
/// first bytes: `None` for files no check reads.
pub fn detect_kind(path: &str, head: &[u8]) -> Option<ConfigKind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if dockerfile::is_dockerfile_name(name) {
        return Some(ConfigKind::Dockerfile);
    }
    if kubernetes::looks_like_manifest(name, head) {
        return Some(ConfigKind::Kubernetes);
    }
    None
}

/// Whether a file's name alone says it may be a configuration file worth sniffing: a
/// Dockerfile, or YAML or JSON.
pub fn may_be_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    dockerfile::is_dockerfile_name(name)
        || lower.ends_with(".yaml")
        || lower.ends_with(".yml")
        || lower.ends_with(".json")
}

/// Runs every check for `kind` on one file's text, then drops skipped checks and findings
/// silenced by inline `moat:ignore=ID` comments.
pub fn scan_file(path: &str, text: &str, kind: ConfigKind, options: &ScanOptions) -> FileOutcome {
    let mut outcome = match kind {
        ConfigKind::Dockerfile => dockerfile::check(path, text, options),
        ConfigKind::Kubernetes => kubernetes::check(path, text, options),
        ConfigKind::ImageConfig => FileOutcome::default(),
    };
    outcome
        .findings
        .retain(|finding| !options.skip_checks.contains(&finding.check_id));
    apply_inline_ignores(text, &mut outcome.findings);
    outcome
}
