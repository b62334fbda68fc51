//! One pass over one layer (or one directory tree): every cataloger sees each file it wants, and
//! what they find is recorded by path so the squash can tell which findings survive.

use crate::analyzer::{FileAnalyzer, FileFindings, SpecialFile};
use crate::cataloger::Cataloger;
use crate::distro::DISTRO_FILES;
use crate::registry::CatalogerSet;
use moat_artifact::{ArtifactError, Entry, EntryKind};
use moat_core::Package;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest support file (os-release, copyright files) kept for enrichment.
const MAX_SUPPORT_FILE: u64 = 1024 * 1024;

/// Packages one cataloger found in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoundFile {
    /// Absolute path of the file within the layer.
    pub path: String,
    /// The packages, locations without layers yet.
    pub packages: Vec<Package>,
}

/// Everything one layer contributes: findings, kept support files, and what it adds or deletes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerResult {
    /// Files that yielded packages, in walk order.
    pub found: Vec<FoundFile>,
    /// Small text files kept for enrichment and distribution detection, by path.
    pub support: BTreeMap<String, String>,
    /// Every non-directory path the layer holds: each shadows the same path in lower layers.
    pub paths: Vec<String>,
    /// Paths deleted by whiteouts (hiding lower layers' files at and below them).
    pub whiteouts: Vec<String>,
    /// Directories made opaque (hiding lower layers' files below them).
    pub opaque_dirs: Vec<String>,
    /// Files that could not be cataloged: (path, message).
    pub warnings: Vec<(String, String)>,
    /// What the analyzers found, by file, in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyzed: Vec<AnalyzedFile>,
    /// Setuid, setgid and world-writable entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub special_files: Vec<SpecialFile>,
}

/// What the analyzers found in one file of a layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalyzedFile {
    /// Absolute path of the file within the layer.
    pub path: String,
    /// The findings.
    pub findings: FileFindings,
}

/// Collects a [`LayerResult`] from the entries of a walk.
pub struct LayerScanner<'a> {
    catalogers: &'a CatalogerSet,
    analyzers: &'a [&'a dyn FileAnalyzer],
    any_content_sniffers: bool,
    result: LayerResult,
}

impl<'a> LayerScanner<'a> {
    /// A scanner for one layer with the given catalogers.
    pub fn new(catalogers: &'a CatalogerSet) -> LayerScanner<'a> {
        LayerScanner::with_analyzers(catalogers, &[])
    }

    /// A scanner that also runs analyzers on every file they want.
    pub fn with_analyzers(
        catalogers: &'a CatalogerSet,
        analyzers: &'a [&'a dyn FileAnalyzer],
    ) -> LayerScanner<'a> {
        LayerScanner {
            catalogers,
            analyzers,
            any_content_sniffers: true,
            result: LayerResult::default(),
        }
    }

    /// The collected result.
    pub fn finish(self) -> LayerResult {
        self.result
    }

    /// Records a problem with one path that does not stop the scan.
    pub fn warn(&mut self, path: &str, message: &str) {
        self.result.warnings.push((path.to_string(), message.to_string()));
    }

    /// Handles one entry of the walk.
    pub fn visit(&mut self, entry: &mut Entry<'_>) -> Result<(), ArtifactError> {
        let directory = matches!(entry.kind(), EntryKind::Dir);
        if (directory || matches!(entry.kind(), EntryKind::File))
            && SpecialFile::is_special(entry.mode(), directory)
        {
            self.result.special_files.push(SpecialFile {
                path: entry.path().to_string(),
                mode: entry.mode() & 0o7777,
                directory,
                layer: None,
            });
        }
        match entry.kind() {
            EntryKind::Dir => Ok(()),
            EntryKind::Whiteout => {
                self.result.whiteouts.push(entry.path().to_string());
                Ok(())
            }
            EntryKind::OpaqueDir => {
                self.result.opaque_dirs.push(entry.path().to_string());
                Ok(())
            }
            EntryKind::File => {
                self.result.paths.push(entry.path().to_string());
                self.visit_file(entry)?;
                self.analyze_file(entry)
            }
            _ => {
                self.result.paths.push(entry.path().to_string());
                Ok(())
            }
        }
    }

    fn visit_file(&mut self, entry: &mut Entry<'_>) -> Result<(), ArtifactError> {
        let path = entry.path().to_string();
        let mut chosen: Vec<&dyn Cataloger> =
            self.catalogers.iter().filter(|c| c.wants_path(&path)).collect();
        if chosen.is_empty() && self.any_content_sniffers && entry.size() >= 4 {
            let head = entry.head()?;
            chosen = self
                .catalogers
                .iter()
                .filter(|c| c.wants_content(&path, head))
                .collect();
        }
        let keep =
            DISTRO_FILES.contains(&path.as_str()) || self.catalogers.iter().any(|c| c.wants_support(&path));
        let keep = keep && entry.size() <= MAX_SUPPORT_FILE;
        if chosen.is_empty() && !keep {
            return Ok(());
        }
        let limit = chosen
            .iter()
            .map(|c| c.max_size())
            .max()
            .unwrap_or(MAX_SUPPORT_FILE)
            .max(MAX_SUPPORT_FILE);
        if entry.size() > limit {
            let message = format!(
                "skipped: {} bytes is more than the {limit}-byte limit",
                entry.size()
            );
            self.warn(&path, &message);
            return Ok(());
        }
        let contents = entry.contents(limit)?;
        for cataloger in chosen {
            self.run_cataloger(cataloger, &path, &contents);
        }
        if keep {
            self.result
                .support
                .insert(path, String::from_utf8_lossy(&contents).into_owned());
        }
        Ok(())
    }

    fn analyze_file(&mut self, entry: &mut Entry<'_>) -> Result<(), ArtifactError> {
        let mut findings = FileFindings::default();
        for analyzer in self.analyzers {
            if !analyzer.wants(entry.path(), entry.size()) {
                continue;
            }
            let path = entry.path().to_string();
            let found = analyzer.analyze(&path, entry)?;
            findings.secrets.extend(found.secrets);
            findings.misconfigurations.extend(found.misconfigurations);
            for warning in found.warnings {
                self.warn(&path, &warning);
            }
        }
        if !findings.is_empty() {
            self.result.analyzed.push(AnalyzedFile {
                path: entry.path().to_string(),
                findings,
            });
        }
        Ok(())
    }

    fn run_cataloger(&mut self, cataloger: &dyn Cataloger, path: &str, contents: &[u8]) {
        if contents.len() as u64 > cataloger.max_size() {
            let message = format!(
                "{}: skipped, larger than {} bytes",
                cataloger.name(),
                cataloger.max_size()
            );
            self.warn(path, &message);
            return;
        }
        match cataloger.catalog(path, contents) {
            Ok(packages) if packages.is_empty() => {}
            Ok(mut packages) => {
                for package in &mut packages {
                    if package.found_by.is_empty() {
                        package.found_by = cataloger.name().to_string();
                    }
                }
                self.result.found.push(FoundFile {
                    path: path.to_string(),
                    packages,
                });
            }
            Err(err) => self.warn(path, &format!("{}: {err}", cataloger.name())),
        }
    }
}
