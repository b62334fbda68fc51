//! The secret and configuration analyzers of the layer walk: adapters from the rule crates to the
//! catalog's [`FileAnalyzer`] hook, so one pass over each layer feeds packages, secrets and checks.

use moat_artifact::{ArtifactError, Entry};
use moat_catalog::{FileAnalyzer, FileFindings};
use moat_core::ConfigKind;
use moat_misconfig::{FileOutcome, ScanOptions};
use moat_secret::RuleSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files up to this size are read whole for secret scanning; larger ones are streamed.
const READ_WHOLE_LIMIT: u64 = 1 << 20;

/// Configuration files larger than this are not checked (real manifests are far smaller).
const MAX_CONFIG_FILE: u64 = 8 << 20;

/// Finds secrets in every text file.
pub struct SecretAnalyzer {
    rules: Arc<RuleSet>,
    fingerprint: String,
}

impl SecretAnalyzer {
    /// An analyzer with these rules; the cache key names them by [`RuleSet::fingerprint`].
    pub fn new(rules: Arc<RuleSet>) -> SecretAnalyzer {
        let fingerprint = format!(
            "moat-secret {} {}",
            env!("CARGO_PKG_VERSION"),
            rules.fingerprint()
        );
        SecretAnalyzer { rules, fingerprint }
    }
}

impl FileAnalyzer for SecretAnalyzer {
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn wants(&self, path: &str, size: u64) -> bool {
        size > 0 && self.rules.path_allowed(path)
    }

    fn analyze(&self, path: &str, entry: &mut Entry<'_>) -> Result<FileFindings, ArtifactError> {
        if moat_secret::is_binary(entry.head()?) {
            let secrets = self.rules.scan_name(path);
            return Ok(FileFindings {
                secrets,
                ..FileFindings::default()
            });
        }
        let secrets = if entry.size() <= READ_WHOLE_LIMIT {
            let contents = entry.contents(READ_WHOLE_LIMIT)?;
            self.rules.scan_bytes(path, &contents)
        } else {
            let found = self.rules.scan_reader(path, entry.stream());
            found.map_err(|err| entry.stream_error(err))?
        };
        Ok(FileFindings {
            secrets,
            ..FileFindings::default()
        })
    }
}

/// Runs the misconfiguration checks on Dockerfiles and Kubernetes manifests.
pub struct ConfigAnalyzer {
    options: ScanOptions,
    fingerprint: String,
    /// For directory targets, the directory on disk, to look for `.dockerignore` files.
    root: Option<PathBuf>,
}

impl ConfigAnalyzer {
    /// An analyzer with these check options; `root` is the scanned directory on disk, if the
    /// target is one.
    pub fn new(options: ScanOptions, root: Option<PathBuf>) -> ConfigAnalyzer {
        let fingerprint = format!(
            "moat-misconfig {} checks={} skip={:?} pss={:?}",
            env!("CARGO_PKG_VERSION"),
            moat_misconfig::all_checks().len(),
            options.skip_checks,
            options.pss
        );
        ConfigAnalyzer {
            options,
            fingerprint,
            root,
        }
    }
}

impl ConfigAnalyzer {
    /// Runs the checks on one file's text: `path` is where it is inside the target (to look for
    /// a `.dockerignore` beside it), `shown` how findings name it.
    pub fn check_text(&self, path: &str, shown: &str, text: &str, kind: ConfigKind) -> FileOutcome {
        let mut options = self.options.clone();
        options.has_dockerignore = self.has_dockerignore(path);
        moat_misconfig::scan_file(shown, text, kind, &options)
    }

    /// Whether the directory of the Dockerfile at `path` (a path inside the target) holds a
    /// `.dockerignore`; always false inside images, which do not carry build contexts.
    fn has_dockerignore(&self, path: &str) -> bool {
        let Some(root) = &self.root else {
            return false;
        };
        let dir = Path::new(path.trim_start_matches('/'))
            .parent()
            .unwrap_or(Path::new(""));
        root.join(dir).join(".dockerignore").is_file()
    }
}

impl FileAnalyzer for ConfigAnalyzer {
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn wants(&self, path: &str, size: u64) -> bool {
        size <= MAX_CONFIG_FILE && moat_misconfig::may_be_config(path)
    }

    fn analyze(&self, path: &str, entry: &mut Entry<'_>) -> Result<FileFindings, ArtifactError> {
        let Some(kind) = moat_misconfig::detect_kind(path, entry.head()?) else {
            return Ok(FileFindings::default());
        };
        let contents = entry.contents(MAX_CONFIG_FILE)?;
        let outcome = self.check_text(path, path, &String::from_utf8_lossy(&contents), kind);
        Ok(FileFindings {
            misconfigurations: outcome.findings,
            warnings: outcome.errors.iter().map(|e| e.to_string()).collect(),
            ..FileFindings::default()
        })
    }
}
