//! Kubernetes manifests: loading with line numbers ([`load`]), and the checks: workload best
//! practice (`K8S…`), Pod Security Standards (`PSS-…`), RBAC (`RBAC…`) and network (`NET…`).

pub mod best_practice;
pub mod hardening;
pub mod manifest;
pub mod network;
pub mod pss;
pub mod rbac;
pub mod workload;

pub use manifest::{load, LocationIndex, Position, Resource};

use crate::{FileOutcome, ScanOptions};
use moat_core::{CheckInfo, Misconfiguration, TextLocation};
use pss::{PssLevel, PssVersion};

/// Every Kubernetes check, Pod Security Standards included.
pub fn checks() -> Vec<&'static CheckInfo> {
    best_practice::CHECKS
        .iter()
        .chain(hardening::CHECKS.iter())
        .chain(pss::CHECKS.iter())
        .chain(rbac::CHECKS.iter())
        .chain(network::CHECKS.iter())
        .collect()
}

/// Whether a YAML or JSON file looks like a Kubernetes manifest (has `apiVersion` and `kind`).
pub fn looks_like_manifest(name: &str, head: &[u8]) -> bool {
    manifest::looks_like_manifest(name, head)
}

/// Loads every resource in one manifest file and runs every check on it.
pub fn check(path: &str, text: &str, options: &ScanOptions) -> FileOutcome {
    let (resources, errors) = load(path, text);
    let (level, version) = options.pss.unwrap_or((PssLevel::Restricted, PssVersion::Latest));
    let mut findings = Vec::new();
    for resource in &resources {
        best_practice::check(resource, &mut findings);
        hardening::check(resource, &mut findings);
        check_pod_security(resource, level, version, &mut findings);
        rbac::check(resource, &mut findings);
        network::check(resource, &mut findings);
    }
    network::check_namespaces(&resources, &mut findings);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    FileOutcome { findings, errors }
}

/// Evaluates a workload's pod against the Pod Security Standards; each violation becomes a
/// `PSS-<check>` finding at its first offending field. Violations of checks the registry does
/// not describe are not reported.
fn check_pod_security(
    resource: &Resource,
    level: PssLevel,
    version: PssVersion,
    out: &mut Vec<Misconfiguration>,
) {
    let Some(pod) = workload::pod_template(resource) else {
        return;
    };
    let empty = serde_json::Value::Object(serde_json::Map::new());
    let metadata = if pod.metadata.is_object() {
        pod.metadata
    } else {
        &empty
    };
    for violation in pss::evaluate(level, version, metadata, pod.spec) {
        let id = format!("PSS-{}", violation.check_id);
        let Some(info) = pss::CHECKS.iter().find(|check| check.id == id) else {
            continue;
        };
        let location = match violation.pointers.first() {
            Some(pointer) => resource.location(&pod.pod_pointer(pointer)),
            None => resource.location(&pod.spec_pointer("")),
        };
        raise(out, info, resource, location, violation.detail);
    }
}

/// Adds a finding of `check` on `resource`.
fn raise(
    out: &mut Vec<Misconfiguration>,
    check: &CheckInfo,
    resource: &Resource,
    location: TextLocation,
    message: String,
) {
    out.push(Misconfiguration::new(check, message, location).with_resource(resource.display_name()));
}
