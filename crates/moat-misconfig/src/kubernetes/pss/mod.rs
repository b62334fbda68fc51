//! Pod Security Standards, as the Kubernetes pod-security admission evaluates them, for every
//! policy version from v1.0 to the newest one Moat knows.
//!
//! [`evaluate`] runs the checks of one level at one version on a pod's `metadata` and `spec`
//! (for workloads, the pod template's) and returns each failed check with upstream's reason and
//! detail and JSON pointers to the offending fields. Restricted runs every Baseline check in force
//! at that version except those a Restricted check in force replaces (`hostPathVolumes` by
//! `restrictedVolumes`, `capabilities_baseline` by `capabilities_restricted` from v1.22,
//! `seccompProfile_baseline` by `seccompProfile_restricted` from v1.19, `procMount` by
//! `procMount_restricted` from v1.35). A version newer than the newest known one is evaluated at
//! the newest one, as upstream does.

mod baseline;
mod catalog;
mod pod;
mod registry;
mod restricted;

pub use catalog::{check_info, CHECKS};

use pod::Pod;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PssLevel {
    /// Everything allowed.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Hardening best practice; includes baseline.
    Restricted,
}

impl PssLevel {
    /// Reads `privileged`, `baseline` or `restricted` (any case).
    pub fn parse(s: &str) -> Result<PssLevel, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "privileged" => Ok(PssLevel::Privileged),
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown Pod Security Standards level {s:?} (expected privileged, baseline or restricted)"
            )),
        }
    }

    /// The level's name as Kubernetes writes it (`baseline`).
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<PssLevel, String> {
        PssLevel::parse(s)
    }
}

/// A policy version: `v1.N`, or the latest Moat knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PssVersion {
    /// `v1.<minor>`.
    V1(u32),
    /// The newest version.
    Latest,
}

impl PssVersion {
    /// Reads `v1.30`, `1.30` or `latest` (any case).
    pub fn parse(s: &str) -> Result<PssVersion, String> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("latest") {
            return Ok(PssVersion::Latest);
        }
        let bare = trimmed
            .strip_prefix('v')
            .or_else(|| trimmed.strip_prefix('V'))
            .unwrap_or(trimmed);
        let minor = bare
            .strip_prefix("1.")
            .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|rest| rest.parse::<u32>().ok());
        minor.map(PssVersion::V1).ok_or_else(|| {
            format!("invalid Pod Security Standards version {s:?} (expected v1.<minor>, 1.<minor> or latest)")
        })
    }

    /// The newest policy minor Moat has checks for (what `latest` means).
    pub fn newest_minor() -> u32 {
        registry::newest_minor()
    }

    /// The policy minor this version is evaluated at: its own, clamped to the newest known.
    pub fn effective_minor(self) -> u32 {
        match self {
            PssVersion::V1(minor) => minor.min(registry::newest_minor()),
            PssVersion::Latest => registry::newest_minor(),
        }
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PssVersion::V1(minor) => write!(f, "v1.{minor}"),
            PssVersion::Latest => f.write_str("latest"),
        }
    }
}

impl FromStr for PssVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<PssVersion, String> {
        PssVersion::parse(s)
    }
}

/// One PSS check that a pod fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PssViolation {
    /// The upstream check id (`privileged`, `capabilities_baseline`).
    pub check_id: &'static str,
    /// Upstream's forbidden reason (`privileged`).
    pub reason: String,
    /// Upstream's forbidden detail (`container "a" must not set securityContext.privileged=true`).
    pub detail: String,
    /// JSON pointers of each offending field, relative to the pod (`/spec/containers/0/securityContext/privileged`,
    /// `/metadata/annotations/...`). When the problem is a missing field, the pointer names its
    /// closest existing parent.
    pub pointers: Vec<String>,
}

/// What one check found wrong, before it is labelled with the check's id.
pub(crate) struct Failure {
    /// Upstream's short reason.
    pub reason: String,
    /// Upstream's detail.
    pub detail: String,
    /// Pointers to the offending fields.
    pub pointers: Vec<String>,
}

/// Evaluates a pod's metadata and spec against a level at a version.
pub fn evaluate(level: PssLevel, version: PssVersion, metadata: &Value, spec: &Value) -> Vec<PssViolation> {
    let pod = Pod { metadata, spec };
    registry::active(level, version.effective_minor())
        .into_iter()
        .filter_map(|(check, revision)| {
            (revision.run)(&pod).map(|failure| PssViolation {
                check_id: check.id,
                reason: failure.reason,
                detail: failure.detail,
                pointers: failure.pointers,
            })
        })
        .collect()
}

/// The upstream ids of the checks in force at a level and version, in evaluation order.
pub fn checks_for(level: PssLevel, version: PssVersion) -> Vec<&'static str> {
    registry::active(level, version.effective_minor())
        .into_iter()
        .map(|(check, _)| check.id)
        .collect()
}

/// The Restricted check that replaces Baseline check `baseline_id` at `version`, if any (so a
/// Restricted evaluation reports that problem under the returned id).
pub fn overridden_by(version: PssVersion, baseline_id: &str) -> Option<&'static str> {
    let minor = version.effective_minor();
    registry::REGISTRY
        .iter()
        .filter(|check| check.level == PssLevel::Restricted)
        .find(|check| {
            check
                .revision_at(minor)
                .is_some_and(|revision| revision.overrides.contains(&baseline_id))
        })
        .map(|check| check.id)
}

/// The level an upstream check belongs to, or `None` for an unknown id.
pub fn check_level(check_id: &str) -> Option<PssLevel> {
    registry::REGISTRY
        .iter()
        .find(|check| check.id == check_id)
        .map(|check| check.level)
}
