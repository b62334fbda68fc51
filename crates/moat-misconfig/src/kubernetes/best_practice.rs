//! Workload best practice: resources, probes, image pinning, service account tokens, read-only
//! root filesystems, the default namespace and container runtime sockets.

use super::manifest::Resource;
use super::raise;
use super::workload::{pod_template, Container, ContainerGroup, PodTemplate};
use moat_core::standards::{CIS_KUBERNETES, NSA_CISA};
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, Severity, TextLocation};
use serde_json::Value;

const RESOURCE_POLICIES: ComplianceRef =
    ComplianceRef::new(NSA_CISA, "Network separation and hardening: resource policies");
const SECURE_IMAGES: ComplianceRef = ComplianceRef::new(
    NSA_CISA,
    "Kubernetes Pod security: building secure container images",
);

const CPU_REQUEST: CheckInfo = CheckInfo {
    id: "K8S001",
    title: "CPU request not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Without a CPU request the scheduler cannot place the pod sensibly and the container \
                  gets the lowest share of CPU under contention.",
    remediation: "Set resources.requests.cpu on every container.",
    references: &[RESOURCE_POLICIES],
    aliases: &["KSV015", "CKV_K8S_10"],
};

const CPU_LIMIT: CheckInfo = CheckInfo {
    id: "K8S002",
    title: "CPU limit not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "A container without a CPU limit can starve the other workloads on its node, \
                  which makes a compromised or runaway container a denial of service.",
    remediation: "Set resources.limits.cpu on every container (or enforce one with a LimitRange).",
    references: &[RESOURCE_POLICIES],
    aliases: &["KSV011", "CKV_K8S_11"],
};

const MEMORY_REQUEST: CheckInfo = CheckInfo {
    id: "K8S003",
    title: "Memory request not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Without a memory request the scheduler may overcommit the node and the container \
                  is among the first to be evicted.",
    remediation: "Set resources.requests.memory on every container.",
    references: &[RESOURCE_POLICIES],
    aliases: &["KSV016", "CKV_K8S_12"],
};

const MEMORY_LIMIT: CheckInfo = CheckInfo {
    id: "K8S004",
    title: "Memory limit not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "A container without a memory limit can exhaust its node's memory and get other \
                  workloads killed.",
    remediation: "Set resources.limits.memory on every container (or enforce one with a LimitRange).",
    references: &[RESOURCE_POLICIES],
    aliases: &["KSV018", "CKV_K8S_13"],
};

const LIVENESS_PROBE: CheckInfo = CheckInfo {
    id: "K8S005",
    title: "Liveness probe not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Without a liveness probe Kubernetes cannot tell a hung container from a healthy \
                  one and never restarts it.",
    remediation: "Add a livenessProbe to every long-running container.",
    references: &[],
    aliases: &["CKV_K8S_8"],
};

const READINESS_PROBE: CheckInfo = CheckInfo {
    id: "K8S006",
    title: "Readiness probe not set",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Without a readiness probe traffic is sent to the container before it can serve \
                  it, and while it is overloaded.",
    remediation: "Add a readinessProbe to every long-running container.",
    references: &[],
    aliases: &["CKV_K8S_9"],
};

const IMAGE_DIGEST: CheckInfo = CheckInfo {
    id: "K8S007",
    title: "Image not pinned by digest",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "A tag can be moved to point at another image; only a digest names exactly the \
                  image that was reviewed and scanned.",
    remediation: "Refer to images by digest (`image: repo/name@sha256:…`).",
    references: &[SECURE_IMAGES],
    aliases: &["CKV_K8S_43"],
};

const IMAGE_LATEST: CheckInfo = CheckInfo {
    id: "K8S008",
    title: "Image uses the latest tag or no tag",
    severity: Severity::Medium,
    kind: ConfigKind::Kubernetes,
    description: "`:latest` (what no tag means) changes with every push, so what runs depends on \
                  when a node pulled it and rollbacks are not possible.",
    remediation: "Use a specific version tag, or better a digest.",
    references: &[SECURE_IMAGES],
    aliases: &["KSV013", "CKV_K8S_14"],
};

const PULL_POLICY: CheckInfo = CheckInfo {
    id: "K8S009",
    title: "imagePullPolicy is not Always for an image without a digest",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "Tags can be moved to other images; with a pull policy other than Always (the \
                  default for tagged images is IfNotPresent) each node runs whatever the tag named \
                  when it first pulled it, and image pull credentials are not checked again.",
    remediation: "Pin the image by digest, or set imagePullPolicy: Always.",
    references: &[SECURE_IMAGES],
    aliases: &["CKV_K8S_15"],
};

const AUTOMOUNT_TOKEN: CheckInfo = CheckInfo {
    id: "K8S010",
    title: "Service account token mounted automatically",
    severity: Severity::Medium,
    kind: ConfigKind::Kubernetes,
    description: "Unless automountServiceAccountToken is false, every container gets an API token; a \
                  compromised container can then talk to the API server with the pod's rights.",
    remediation: "Set automountServiceAccountToken: false in the pod spec, and mount a token only \
                  where the workload calls the API.",
    references: &[
        ComplianceRef::new(CIS_KUBERNETES, "5.1.6"),
        ComplianceRef::new(
            NSA_CISA,
            "Kubernetes Pod security: protecting Pod service account tokens",
        ),
    ],
    aliases: &["KSV036", "CKV_K8S_38"],
};

const READ_ONLY_ROOT: CheckInfo = CheckInfo {
    id: "K8S011",
    title: "Root filesystem is writable",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "A writable root filesystem lets an attacker drop tools and persist changes inside \
                  the container.",
    remediation: "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where \
                  the application must write.",
    references: &[
        ComplianceRef::new(CIS_KUBERNETES, "5.7.3"),
        ComplianceRef::new(
            NSA_CISA,
            "Kubernetes Pod security: immutable container file systems",
        ),
    ],
    aliases: &["KSV014", "CKV_K8S_22"],
};

const DEFAULT_NAMESPACE: CheckInfo = CheckInfo {
    id: "K8S012",
    title: "Resource in the default namespace",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "The default namespace mixes unrelated workloads, so RBAC, network policies and \
                  quotas cannot separate them.",
    remediation: "Set metadata.namespace to a dedicated namespace.",
    references: &[
        ComplianceRef::new(CIS_KUBERNETES, "5.7.4"),
        ComplianceRef::new(NSA_CISA, "Network separation and hardening: namespaces"),
    ],
    aliases: &["KSV110", "CKV_K8S_21"],
};

const RUNTIME_SOCKET: CheckInfo = CheckInfo {
    id: "K8S013",
    title: "Container runtime socket mounted",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "A pod that mounts the Docker, containerd or CRI-O socket can start privileged \
                  containers on the node: it owns the node.",
    remediation: "Remove the hostPath volume; use a dedicated, audited agent if the runtime API is \
                  really needed.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.2.12")],
    aliases: &["KSV006", "CKV_K8S_27"],
};

/// Every best-practice check.
pub static CHECKS: &[CheckInfo] = &[
    CPU_REQUEST,
    CPU_LIMIT,
    MEMORY_REQUEST,
    MEMORY_LIMIT,
    LIVENESS_PROBE,
    READINESS_PROBE,
    IMAGE_DIGEST,
    IMAGE_LATEST,
    PULL_POLICY,
    AUTOMOUNT_TOKEN,
    READ_ONLY_ROOT,
    DEFAULT_NAMESPACE,
    RUNTIME_SOCKET,
];

/// Namespaced kinds the default-namespace check looks at (custom kinds may be cluster-scoped).
const NAMESPACED_KINDS: &[&str] = &[
    "ConfigMap",
    "CronJob",
    "DaemonSet",
    "Deployment",
    "Endpoints",
    "HorizontalPodAutoscaler",
    "Ingress",
    "Job",
    "LimitRange",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "Pod",
    "PodDisruptionBudget",
    "ReplicaSet",
    "ReplicationController",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
];

/// Host paths that expose a container runtime's API socket (or the directory holding it).
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/crio",
    "/run/crio",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run",
    "/run",
];

const ALL_CONTAINERS: &[ContainerGroup] = &[
    ContainerGroup::App,
    ContainerGroup::Init,
    ContainerGroup::Ephemeral,
];
const RESOURCE_CONTAINERS: &[ContainerGroup] = &[ContainerGroup::App, ContainerGroup::Init];

/// Runs the best-practice checks on one resource.
pub fn check(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    check_namespace(resource, out);
    let Some(pod) = pod_template(resource) else {
        return;
    };
    for container in pod.containers(RESOURCE_CONTAINERS) {
        check_resources(&pod, &container, out);
        check_read_only_root(&pod, &container, out);
    }
    if !pod.runs_to_completion() {
        for container in pod.containers(&[ContainerGroup::App]) {
            check_probes(&pod, &container, out);
        }
    }
    for container in pod.containers(ALL_CONTAINERS) {
        check_image(&pod, &container, out);
    }
    check_automount(&pod, out);
    check_runtime_sockets(&pod, out);
}

fn check_namespace(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    if !NAMESPACED_KINDS.contains(&resource.kind.as_str()) {
        return;
    }
    let (location, message) = match resource.namespace.as_deref() {
        Some("default") => (
            resource.value_location("/metadata/namespace"),
            format!("{} \"{}\" is in the default namespace", resource.kind, resource.name),
        ),
        Some(_) => return,
        None => (
            resource.location("/metadata/name"),
            format!(
                "{} \"{}\" sets no namespace, so it lands in the default namespace unless one is given when applied",
                resource.kind, resource.name
            ),
        ),
    };
    raise(out, &DEFAULT_NAMESPACE, resource, location, message);
}

/// Whether the field at `pointer` of the pod spec holds something.
fn is_set(pod: &PodTemplate<'_>, pointer: &str) -> bool {
    match pod.spec.pointer(pointer) {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

/// Where to report a missing container field: its deepest existing ancestor, or the
/// container's `name` when nothing of the path exists.
fn container_field_location(pod: &PodTemplate<'_>, container: &Container<'_>, field: &str) -> TextLocation {
    let full = container.pointer(field);
    let own = container.pointer("");
    let mut existing = full.as_str();
    while existing.len() > own.len() && pod.spec.pointer(existing).is_none() {
        existing = existing.rfind('/').map_or(own.as_str(), |cut| &existing[..cut]);
    }
    if existing.len() <= own.len() && container.value.get("name").is_some() {
        return pod
            .resource
            .location(&pod.spec_pointer(&container.pointer("/name")));
    }
    pod.resource.location(&pod.spec_pointer(existing))
}

fn check_resources(pod: &PodTemplate<'_>, container: &Container<'_>, out: &mut Vec<Misconfiguration>) {
    let wanted = [
        (&CPU_REQUEST, "/resources/requests/cpu", "CPU request"),
        (&CPU_LIMIT, "/resources/limits/cpu", "CPU limit"),
        (&MEMORY_REQUEST, "/resources/requests/memory", "memory request"),
        (&MEMORY_LIMIT, "/resources/limits/memory", "memory limit"),
    ];
    for (check, field, what) in wanted {
        let pointer = container.pointer(field);
        if !is_set(pod, &pointer) {
            let location = container_field_location(pod, container, field);
            let message = format!("{} has no {what}", container.label());
            raise(out, check, pod.resource, location, message);
        }
    }
}

fn check_probes(pod: &PodTemplate<'_>, container: &Container<'_>, out: &mut Vec<Misconfiguration>) {
    let wanted = [
        (&LIVENESS_PROBE, "/livenessProbe", "liveness probe"),
        (&READINESS_PROBE, "/readinessProbe", "readiness probe"),
    ];
    for (check, field, what) in wanted {
        let pointer = container.pointer(field);
        if !is_set(pod, &pointer) {
            let location = container_field_location(pod, container, field);
            let message = format!("{} has no {what}", container.label());
            raise(out, check, pod.resource, location, message);
        }
    }
}

fn check_read_only_root(pod: &PodTemplate<'_>, container: &Container<'_>, out: &mut Vec<Misconfiguration>) {
    let pointer = container.pointer("/securityContext/readOnlyRootFilesystem");
    let value = pod.spec.pointer(&pointer);
    if value == Some(&Value::Bool(true)) {
        return;
    }
    let (location, message) = match value {
        Some(set) if !set.is_null() => (
            pod.resource.value_location(&pod.spec_pointer(&pointer)),
            format!("{} sets readOnlyRootFilesystem: {set}", container.label()),
        ),
        _ => (
            container_field_location(pod, container, "/securityContext/readOnlyRootFilesystem"),
            format!("{} does not set readOnlyRootFilesystem: true", container.label()),
        ),
    };
    raise(out, &READ_ONLY_ROOT, pod.resource, location, message);
}

/// The parts of an image reference that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ImageReference<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn parse_image(image: &str) -> ImageReference<'_> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest).filter(|d| !d.is_empty())),
        None => (image, None),
    };
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let tag = last_segment
        .split_once(':')
        .map(|(_, tag)| tag)
        .filter(|t| !t.is_empty());
    ImageReference { tag, digest }
}

fn check_image(pod: &PodTemplate<'_>, container: &Container<'_>, out: &mut Vec<Misconfiguration>) {
    let Some(image) = container
        .value
        .get("image")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty())
    else {
        return;
    };
    let reference = parse_image(image);
    let image_pointer = pod.spec_pointer(&container.pointer("/image"));
    let image_location = pod.resource.value_location(&image_pointer);
    if reference.digest.is_some() {
        return;
    }
    let label = container.label();
    raise(
        out,
        &IMAGE_DIGEST,
        pod.resource,
        image_location.clone(),
        format!("{label} uses image {image} without a digest"),
    );
    check_pull_policy(pod, container, image, reference.tag, out);
    if !matches!(reference.tag, None | Some("latest")) {
        return;
    }
    let why = match reference.tag {
        Some(_) => "the latest tag",
        None => "no tag (latest)",
    };
    raise(
        out,
        &IMAGE_LATEST,
        pod.resource,
        image_location,
        format!("{label} uses image {image} with {why}"),
    );
}

/// The pull policy Kubernetes applies: the one set, else Always for `latest` or untagged
/// images and IfNotPresent for the rest; a finding when it is not Always (digest-pinned images
/// return before this, since they cannot change).
fn check_pull_policy(
    pod: &PodTemplate<'_>,
    container: &Container<'_>,
    image: &str,
    tag: Option<&str>,
    out: &mut Vec<Misconfiguration>,
) {
    let label = container.label();
    let pointer = pod.spec_pointer(&container.pointer("/imagePullPolicy"));
    let (policy, location) = match container.value.get("imagePullPolicy").and_then(Value::as_str) {
        Some(policy) => (policy, pod.resource.value_location(&pointer)),
        None if matches!(tag, None | Some("latest")) => return,
        None => (
            "IfNotPresent (the default)",
            pod.resource
                .value_location(&pod.spec_pointer(&container.pointer("/image"))),
        ),
    };
    if policy != "Always" {
        let message = format!("{label} pulls {image} with imagePullPolicy: {policy}");
        raise(out, &PULL_POLICY, pod.resource, location, message);
    }
}

fn check_automount(pod: &PodTemplate<'_>, out: &mut Vec<Misconfiguration>) {
    let value = pod.spec.get("automountServiceAccountToken");
    if value == Some(&Value::Bool(false)) {
        return;
    }
    let pointer = pod.spec_pointer("/automountServiceAccountToken");
    let (location, message) = match value {
        Some(set) if !set.is_null() => (
            pod.resource.value_location(&pointer),
            format!("pod spec sets automountServiceAccountToken: {set}"),
        ),
        _ => (
            pod.resource.location(&pod.spec_pointer("")),
            "pod spec does not set automountServiceAccountToken: false".to_string(),
        ),
    };
    raise(out, &AUTOMOUNT_TOKEN, pod.resource, location, message);
}

fn check_runtime_sockets(pod: &PodTemplate<'_>, out: &mut Vec<Misconfiguration>) {
    let Some(volumes) = pod.spec.get("volumes").and_then(Value::as_array) else {
        return;
    };
    for (index, volume) in volumes.iter().enumerate() {
        let Some(path) = volume.pointer("/hostPath/path").and_then(Value::as_str) else {
            continue;
        };
        let normalized = normalize_host_path(path);
        if !RUNTIME_SOCKETS.contains(&normalized.as_str()) {
            continue;
        }
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        let location = pod
            .resource
            .value_location(&pod.spec_pointer(&format!("/volumes/{index}/hostPath/path")));
        let message =
            format!("volume \"{name}\" mounts the container runtime socket path {path} from the host");
        raise(out, &RUNTIME_SOCKET, pod.resource, location, message);
    }
}

/// `/var//run/docker.sock/` → `/var/run/docker.sock`.
fn normalize_host_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_tag_and_digest() {
        let at = |image| parse_image(image);
        assert_eq!(at("nginx").tag, None);
        assert_eq!(at("nginx:1.25").tag, Some("1.25"));
        assert_eq!(at("registry:5000/team/app").tag, None);
        assert_eq!(at("registry:5000/team/app:v2").tag, Some("v2"));
        assert_eq!(at("app@sha256:abc").digest, Some("sha256:abc"));
        assert_eq!(at("app:1@sha256:abc").tag, Some("1"));
    }

    #[test]
    fn host_paths_are_normalized() {
        assert_eq!(
            normalize_host_path("/var//run/./docker.sock/"),
            "/var/run/docker.sock"
        );
        assert_eq!(normalize_host_path("/"), "/");
    }
}
