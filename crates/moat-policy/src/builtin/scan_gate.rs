//! The scan gate: deny images whose Moat report has findings at or above a severity.

use super::images::ImageName;
use moat_core::{Report, Severity};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Largest report file read, in bytes.
const MAX_REPORT_BYTES: u64 = 256 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    /// Report files or directories of them (`moat scan -f json` output).
    reports: Vec<PathBuf>,
    /// The lowest severity that blocks (default `high`).
    #[serde(default = "high")]
    severity: String,
    /// What to do with an image no report covers: `allow` (default) or `deny`.
    #[serde(default = "allow")]
    unscanned: String,
}

fn high() -> String {
    "high".into()
}

fn allow() -> String {
    "allow".into()
}

/// Moat reports, indexed by the image names and digests they describe.
#[derive(Debug, Clone, Default)]
pub struct ScanReports {
    entries: Vec<ReportEntry>,
}

#[derive(Debug, Clone)]
struct ReportEntry {
    /// `registry/repository:tag` names and `sha256:` digests the report covers.
    names: Vec<String>,
    digests: Vec<String>,
    /// (severity, what) of every finding.
    findings: Vec<(Severity, String)>,
}

impl ScanReports {
    /// Reads report files and directories of `.json` reports.
    pub fn load(paths: &[PathBuf]) -> Result<ScanReports, String> {
        let mut reports = ScanReports::default();
        for path in paths {
            reports.load_path(path)?;
        }
        Ok(reports)
    }

    fn load_path(&mut self, path: &Path) -> Result<(), String> {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|err| format!("{}: {err}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            return files.iter().try_for_each(|file| self.load_path(file));
        }
        let size = std::fs::metadata(path)
            .map_err(|err| format!("{}: {err}", path.display()))?
            .len();
        if size > MAX_REPORT_BYTES {
            return Err(format!(
                "{}: {size} bytes, over the limit of {MAX_REPORT_BYTES}",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .map_err(|err| format!("{}: not a Moat JSON report: {err}", path.display()))?;
        self.entries.push(ReportEntry::of(&report));
        Ok(())
    }

    /// The report covering an image: by digest when the reference has one, else by name and
    /// tag.
    fn find(&self, name: &ImageName) -> Option<&ReportEntry> {
        if let Some(digest) = &name.digest {
            if let Some(entry) = self.entries.iter().find(|e| e.digests.contains(digest)) {
                return Some(entry);
            }
        }
        let tagged = format!("{}:{}", name.full_name(), name.effective_tag()?);
        self.entries.iter().find(|e| e.names.contains(&tagged))
    }
}

impl ReportEntry {
    fn of(report: &Report) -> ReportEntry {
        let source = &report.source;
        let mut names = Vec::new();
        let mut digests = Vec::new();
        let mut note = |reference: &str| {
            let name = ImageName::parse(reference);
            if let Some(digest) = name.digest.clone() {
                digests.push(digest);
            }
            if let Some(tag) = name.effective_tag() {
                names.push(format!("{}:{tag}", name.full_name()));
            }
        };
        for reference in source.tags.iter().chain(&source.repo_digests) {
            note(reference);
        }
        note(&source.name);
        digests.extend(source.manifest_digest.iter().cloned());
        let mut findings: Vec<(Severity, String)> = report
            .vulnerabilities
            .iter()
            .map(|v| (v.severity, v.id.clone()))
            .collect();
        findings.extend(
            report
                .secrets
                .iter()
                .map(|s| (s.severity, format!("secret {}", s.rule_id))),
        );
        findings.extend(
            report
                .misconfigurations
                .iter()
                .map(|m| (m.severity, format!("misconfiguration {}", m.check_id))),
        );
        ReportEntry {
            names,
            digests,
            findings,
        }
    }
}

/// A configured scan gate.
#[derive(Debug, Clone)]
pub(crate) struct ScanGate {
    reports: ScanReports,
    threshold: Severity,
    deny_unscanned: bool,
}

impl ScanGate {
    /// Reads the parameters and loads the reports they name (relative to `base`).
    pub fn parse(value: &Value, base: &Path) -> Result<ScanGate, String> {
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value.clone()
        };
        let p: Parameters = serde_json::from_value(value).map_err(|err| format!("spec.parameters: {err}"))?;
        let threshold: Severity = p
            .severity
            .parse()
            .map_err(|_| format!("spec.parameters.severity: unknown severity {:?}", p.severity))?;
        let deny_unscanned = match p.unscanned.as_str() {
            "allow" => false,
            "deny" => true,
            other => {
                return Err(format!(
                    "spec.parameters.unscanned must be allow or deny, not {other:?}"
                ))
            }
        };
        let paths: Vec<PathBuf> = p.reports.iter().map(|r| base.join(r)).collect();
        let reports = ScanReports::load(&paths).map_err(|err| format!("spec.parameters.reports: {err}"))?;
        Ok(ScanGate {
            reports,
            threshold,
            deny_unscanned,
        })
    }

    /// Why an image fails the gate, if it does.
    pub fn check(&self, image: &str, name: &ImageName) -> Option<String> {
        let Some(entry) = self.reports.find(name) else {
            return self
                .deny_unscanned
                .then(|| format!("image {image:?} has no Moat scan report"));
        };
        let mut blocking: Vec<&(Severity, String)> = entry
            .findings
            .iter()
            .filter(|(severity, _)| *severity >= self.threshold)
            .collect();
        if blocking.is_empty() {
            return None;
        }
        blocking.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let shown: Vec<String> = blocking
            .iter()
            .take(5)
            .map(|(s, what)| format!("{what} ({s})"))
            .collect();
        let more = blocking.len().saturating_sub(shown.len());
        Some(format!(
            "image {image:?} has {} findings at or above {} in its scan report: {}{}",
            blocking.len(),
            self.threshold,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ))
    }
}
