//! Secret and misconfiguration findings: what rule or check matched, where (layer, file, line
//! and column), and how to fix it.

use crate::Severity;
use serde::{Deserialize, Serialize};

/// Where in a file a finding is. Lines and columns start at 1; columns count bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct TextLocation {
    /// The file: an absolute path inside an image, a path as given on the command line, or a
    /// pseudo-path for image metadata (`<image config>`).
    pub path: String,
    /// The diff id of the layer that holds the file, for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// First line, or 0 when the finding is about the file as a whole.
    pub start_line: u32,
    /// First column (1-based), or 0 when unknown.
    pub start_column: u32,
    /// Last line (inclusive).
    pub end_line: u32,
    /// Column just past the end, or 0 when unknown.
    pub end_column: u32,
}

impl TextLocation {
    /// A location spanning one point of one line.
    pub fn at(path: impl Into<String>, line: u32, column: u32) -> TextLocation {
        TextLocation {
            path: path.into(),
            layer: None,
            start_line: line,
            start_column: column,
            end_line: line,
            end_column: column,
        }
    }

    /// A location for a file as a whole (no line).
    pub fn file(path: impl Into<String>) -> TextLocation {
        TextLocation::at(path, 0, 0)
    }
}

/// A credential found in a file or in image metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretFinding {
    /// The rule that matched (`aws-access-token`).
    pub rule_id: String,
    /// What kind of secret it is (`AWS access key id`).
    pub title: String,
    /// How bad a leak of it is.
    pub severity: Severity,
    /// Where it is.
    pub location: TextLocation,
    /// The secret itself, or its redacted form once [`SecretFinding::redact`] ran.
    pub secret: String,
    /// The line holding it (cut to a sane length), redacted alike.
    pub line: String,
    /// Shannon entropy of the secret, when the rule checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
    /// Whether [`SecretFinding::redact`] has run.
    #[serde(default)]
    pub redacted: bool,
}

impl SecretFinding {
    /// Replaces the secret with asterisks (keeping the first 4 characters of secrets of 12 or
    /// more, so a reader can tell them apart) in both the secret and the line.
    pub fn redact(&mut self) {
        if self.redacted {
            return;
        }
        let masked = redacted_form(&self.secret);
        if !self.secret.is_empty() {
            self.line = self.line.replace(&self.secret, &masked);
        }
        self.secret = masked;
        self.redacted = true;
    }

    /// The canonical order: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, &Option<String>, u32, u32, &str) {
        (
            self.location.path.as_str(),
            &self.location.layer,
            self.location.start_line,
            self.location.start_column,
            self.rule_id.as_str(),
        )
    }
}

fn redacted_form(secret: &str) -> String {
    let chars = secret.chars().count();
    if chars >= 12 {
        let head: String = secret.chars().take(4).collect();
        format!("{head}{}", "*".repeat(chars - 4))
    } else {
        "*".repeat(chars)
    }
}

/// What kind of configuration a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    /// A Dockerfile / Containerfile.
    Dockerfile,
    /// A built image's config and squashed filesystem.
    ImageConfig,
    /// Kubernetes manifests (YAML or JSON).
    Kubernetes,
}

impl ConfigKind {
    /// The name used in output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::Dockerfile => "dockerfile",
            ConfigKind::ImageConfig => "image-config",
            ConfigKind::Kubernetes => "kubernetes",
        }
    }
}

/// A compliance control a check maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ComplianceRef {
    /// The benchmark or guide (`CIS Docker Benchmark v1.6.0`).
    pub standard: &'static str,
    /// The control within it (`4.1`).
    pub control: &'static str,
}

impl ComplianceRef {
    /// A control of a standard (`ComplianceRef::new(standards::CIS_DOCKER, "4.1")`).
    pub const fn new(standard: &'static str, control: &'static str) -> ComplianceRef {
        ComplianceRef { standard, control }
    }
}

/// A check's fixed description: the same for every finding it raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    /// Moat's id (`DF002`, `K8S010`, `PSS-privileged`).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it reads.
    pub kind: ConfigKind,
    /// Why it matters.
    pub description: &'static str,
    /// How to fix it.
    pub remediation: &'static str,
    /// Compliance controls.
    pub references: &'static [ComplianceRef],
    /// The ids peers give the same problem (`DS002`, `DL3002`, `CKV_DOCKER_3`).
    pub aliases: &'static [&'static str],
}

impl CheckInfo {
    /// The compliance references written `standard control`.
    pub fn reference_names(&self) -> Vec<String> {
        self.references
            .iter()
            .map(|r| format!("{} {}", r.standard, r.control))
            .collect()
    }
}

/// One failed check on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misconfiguration {
    /// The check's id.
    pub check_id: String,
    /// The check's title.
    pub title: String,
    /// Severity of this finding.
    pub severity: Severity,
    /// What it read.
    pub kind: ConfigKind,
    /// What exactly is wrong here (`container "app" runs privileged`).
    pub message: String,
    /// How to fix it.
    pub remediation: String,
    /// The resource (`Deployment default/web`, `stage "build"`), when the file holds several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Where the offending field or instruction is.
    pub location: TextLocation,
    /// Compliance controls, written `standard control`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Peer ids for the same problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl Misconfiguration {
    /// A finding of `check` at `location` with a specific message.
    pub fn new(check: &CheckInfo, message: impl Into<String>, location: TextLocation) -> Self {
        Misconfiguration {
            check_id: check.id.to_string(),
            title: check.title.to_string(),
            severity: check.severity,
            kind: check.kind,
            message: message.into(),
            remediation: check.remediation.to_string(),
            resource: None,
            location,
            references: check.reference_names(),
            aliases: check.aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Sets the resource name.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The canonical order: file, line, column, check.
    pub fn sort_key(&self) -> (&str, &Option<String>, u32, u32, &str, &str) {
        (
            self.location.path.as_str(),
            &self.location.layer,
            self.location.start_line,
            self.location.start_column,
            self.check_id.as_str(),
            self.message.as_str(),
        )
    }
}

/// A file whose mode matters for security: setuid, setgid or writable by everyone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SpecialFile {
    /// Absolute path.
    pub path: String,
    /// Permission bits (including setuid 0o4000, setgid 0o2000, sticky 0o1000).
    pub mode: u32,
    /// Whether it is a directory.
    pub directory: bool,
    /// The layer (diff id) it comes from, for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

impl SpecialFile {
    /// The entry's mode is worth reporting: setuid or setgid files, world-writable files, and
    /// world-writable directories without the sticky bit (`/tmp`'s 1777 is fine).
    pub fn is_special(mode: u32, directory: bool) -> bool {
        let world_writable = mode & 0o002 != 0;
        if directory {
            world_writable && mode & 0o1000 == 0
        } else {
            world_writable || mode & 0o6000 != 0
        }
    }
}

/// The standards checks refer to, spelled once.
pub mod standards {
    /// CIS Docker Benchmark.
    pub const CIS_DOCKER: &str = "CIS Docker Benchmark v1.6.0";
    /// CIS Kubernetes Benchmark.
    pub const CIS_KUBERNETES: &str = "CIS Kubernetes Benchmark v1.9.0";
    /// NSA/CISA Kubernetes Hardening Guide.
    pub const NSA_CISA: &str = "NSA/CISA Kubernetes Hardening Guide v1.2";
    /// Kubernetes Pod Security Standards.
    pub const PSS: &str = "Kubernetes Pod Security Standards";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_secret_everywhere() {
        let mut finding = SecretFinding {
            rule_id: "x".into(),
            title: "x".into(),
            severity: Severity::High,
            location: TextLocation::at("/a", 1, 5),
            secret: "AKIAZC2XABCDEFGH7KZJ".into(),
            line: "KEY=AKIAZC2XABCDEFGH7KZJ # AKIAZC2XABCDEFGH7KZJ".into(),
            entropy: None,
            redacted: false,
        };
        finding.redact();
        assert_eq!(finding.secret, "AKIA****************");
        assert!(!finding.line.contains("ZC2X"));
        assert_eq!(finding.line.matches("AKIA****").count(), 2);
        finding.redact();
        assert_eq!(finding.secret, "AKIA****************");
    }

    #[test]
    fn short_secrets_are_fully_masked() {
        assert_eq!(redacted_form("hunter2"), "*******");
    }
}
