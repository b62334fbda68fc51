//! Workload hardening beyond the Pod Security Standards: user and group ids above the host's
//! range, a security context on every pod and container, and ports below 1024.

use super::manifest::Resource;
use super::raise;
use super::workload::{pod_template, Container, ContainerGroup, PodTemplate};
use moat_core::standards::{CIS_KUBERNETES, NSA_CISA};
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, Severity};
use serde_json::Value;

const NON_ROOT_GUIDE: ComplianceRef =
    ComplianceRef::new(NSA_CISA, "Kubernetes Pod security: non-root containers");

const LOW_IDS: CheckInfo = CheckInfo {
    id: "K8S014",
    title: "Container runs with a UID or GID of 10000 or less",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Low user and group ids overlap the node's own accounts, so a container process \
                  that escapes acts as a real host user; ids above 10000 do not collide.",
    remediation: "Set securityContext.runAsUser and runAsGroup to ids above 10000 (e.g. 10001).",
    references: &[NON_ROOT_GUIDE],
    aliases: &["KSV020", "KSV021", "CKV_K8S_40"],
};

const NO_SECURITY_CONTEXT: CheckInfo = CheckInfo {
    id: "K8S015",
    title: "Pod or container has no securityContext",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Without a securityContext every setting takes the runtime's default: root user, \
                  writable root filesystem, default capabilities, privilege escalation allowed.",
    remediation: "Set a securityContext on the pod (runAsNonRoot, runAsUser, seccompProfile) and \
                  on each container (allowPrivilegeEscalation: false, capabilities.drop: [ALL], \
                  readOnlyRootFilesystem: true).",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.7.3"), NON_ROOT_GUIDE],
    aliases: &["KSV118", "CKV_K8S_29", "CKV_K8S_30"],
};

const PRIVILEGED_PORT: CheckInfo = CheckInfo {
    id: "K8S016",
    title: "Container listens on a privileged port (below 1024)",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Binding ports below 1024 needs root or CAP_NET_BIND_SERVICE, so a container that \
                  does so cannot drop all capabilities and run as an unprivileged user.",
    remediation: "Listen on a port of 1024 or above and map it with the Service's `port`.",
    references: &[NON_ROOT_GUIDE],
    aliases: &["KSV117"],
};

/// Every hardening check.
pub static CHECKS: &[CheckInfo] = &[LOW_IDS, NO_SECURITY_CONTEXT, PRIVILEGED_PORT];

/// The highest id that may collide with the node's own accounts.
const HIGHEST_HOST_ID: i64 = 10000;

/// Runs the hardening checks on one workload.
pub fn check(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    let Some(pod) = pod_template(resource) else {
        return;
    };
    if !has_object(pod.spec.get("securityContext")) {
        let location = resource.location(&pod.spec_pointer(""));
        let message = "the pod sets no securityContext".to_string();
        raise(out, &NO_SECURITY_CONTEXT, resource, location, message);
    }
    for container in pod.containers(&[ContainerGroup::App, ContainerGroup::Init]) {
        check_container(&pod, &container, out);
    }
}

fn has_object(value: Option<&Value>) -> bool {
    value.and_then(Value::as_object).is_some_and(|o| !o.is_empty())
}

fn check_container(pod: &PodTemplate<'_>, container: &Container<'_>, out: &mut Vec<Misconfiguration>) {
    let name_location = pod
        .resource
        .location(&pod.spec_pointer(&container.pointer("/name")));
    if !has_object(container.value.get("securityContext")) {
        let message = format!("{} sets no securityContext", container.label());
        raise(
            out,
            &NO_SECURITY_CONTEXT,
            pod.resource,
            name_location.clone(),
            message,
        );
    }
    let low: Vec<String> = [("runAsUser", "UID"), ("runAsGroup", "GID")]
        .into_iter()
        .filter_map(|(field, what)| match effective_id(pod, container, field) {
            Some(id) if id > HIGHEST_HOST_ID => None,
            Some(id) => Some(format!("{what} {id}")),
            None => Some(format!("no {field} (the image's user)")),
        })
        .collect();
    if !low.is_empty() {
        let message = format!("{} runs with {}", container.label(), low.join(" and "));
        raise(out, &LOW_IDS, pod.resource, name_location, message);
    }
    let ports = container.value.get("ports").and_then(Value::as_array);
    for (index, port) in ports.into_iter().flatten().enumerate() {
        let Some(number) = port.get("containerPort").and_then(Value::as_i64) else {
            continue;
        };
        if (1..1024).contains(&number) {
            let pointer = pod.spec_pointer(&container.pointer(&format!("/ports/{index}/containerPort")));
            let location = pod.resource.value_location(&pointer);
            let message = format!("{} listens on port {number}", container.label());
            raise(out, &PRIVILEGED_PORT, pod.resource, location, message);
        }
    }
}

/// The container's `securityContext.<field>`, else the pod's.
fn effective_id(pod: &PodTemplate<'_>, container: &Container<'_>, field: &str) -> Option<i64> {
    let own = container.value.get("securityContext").and_then(|c| c.get(field));
    let inherited = pod.spec.get("securityContext").and_then(|c| c.get(field));
    own.or(inherited).and_then(Value::as_i64)
}
