//! Analyzers beside the catalogers: code that looks at every file of the same layer walk and
//! finds secrets or misconfigurations, so each layer is read once for every kind of finding.
//!
//! The analyzers themselves live with the crates that know the rules (secrets, checks); this
//! crate only defines the hook, caches what they find per layer, and squashes it.

use moat_artifact::{ArtifactError, Entry};
use moat_core::{Misconfiguration, SecretFinding};

pub use moat_core::SpecialFile;
use serde::{Deserialize, Serialize};

/// What analyzers found in one file (locations without layer; the squash fills it in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileFindings {
    /// Secrets.
    pub secrets: Vec<SecretFinding>,
    /// Misconfigurations.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Problems with the file that did not stop the walk (`path:line: message`).
    pub warnings: Vec<String>,
}

impl FileFindings {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.misconfigurations.is_empty() && self.warnings.is_empty()
    }
}

/// One analyzer of the layer walk.
pub trait FileAnalyzer: Send + Sync {
    /// What it is and how it is configured (name, version, rule-set digest…): part of the
    /// layer cache key, so changing rules or options never reuses stale results.
    fn fingerprint(&self) -> String;

    /// Whether it wants to read this regular file.
    fn wants(&self, path: &str, size: u64) -> bool;

    /// Reads the file (with [`Entry::contents`] for small files, [`Entry::stream`] for large
    /// ones) and reports what it found. An analyzer that reads the whole file into memory
    /// should come before one that streams it, since a streamed entry is not kept.
    fn analyze(&self, path: &str, entry: &mut Entry<'_>) -> Result<FileFindings, ArtifactError>;
}
