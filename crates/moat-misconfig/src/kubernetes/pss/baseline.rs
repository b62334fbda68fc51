//! The Baseline checks: each function is one version of one upstream check, returning the
//! failure (reason, detail, pointers) or `None` when the pod passes.

use super::pod::{
    containers_phrase, integer, is_true, items, join_quote, member, pluralize, pointer, setters, text,
    Container, Pod,
};
use super::Failure;
use serde_json::Value;
use std::collections::BTreeSet;

/// Capabilities a container may add under Baseline (the container runtime's default set).
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// `hostNetwork`, `hostPID` and `hostIPC` must not be true.
pub(crate) fn host_namespaces(pod: &Pod<'_>) -> Option<Failure> {
    let set: Vec<&str> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|key| is_true(member(pod.spec, key)))
        .collect();
    if set.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "host namespaces".into(),
        detail: set
            .iter()
            .map(|key| format!("{key}=true"))
            .collect::<Vec<_>>()
            .join(", "),
        pointers: set.iter().map(|key| pointer("/spec", &[key])).collect(),
    })
}

/// No container may set `securityContext.privileged=true`.
pub(crate) fn privileged(pod: &Pod<'_>) -> Option<Failure> {
    let bad: Vec<Container<'_>> = pod
        .containers()
        .into_iter()
        .filter(|c| is_true(c.security_field("privileged")))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|c| c.name.as_str()).collect();
    Some(Failure {
        reason: "privileged".into(),
        detail: format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&names)
        ),
        pointers: bad.iter().map(|c| c.security_pointer(&["privileged"])).collect(),
    })
}

/// Containers may only add capabilities from the runtime's default set.
pub(crate) fn capabilities_baseline(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = Vec::new();
    let mut capabilities = BTreeSet::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        let added = items(c.at(&["securityContext", "capabilities", "add"]));
        let mut container_bad = false;
        for (index, capability) in added.iter().enumerate() {
            let name = text(Some(capability));
            if !BASELINE_CAPABILITIES.contains(&name.as_str()) {
                container_bad = true;
                pointers.push(format!(
                    "{}/{index}",
                    c.security_pointer(&["capabilities", "add"])
                ));
                capabilities.insert(name);
            }
        }
        if container_bad {
            names.push(c.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let capabilities: Vec<String> = capabilities.into_iter().collect();
    Some(Failure {
        reason: "non-default capabilities".into(),
        detail: format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&names),
            join_quote(&capabilities)
        ),
        pointers,
    })
}

/// No volume may be a `hostPath` volume.
pub(crate) fn host_path_volumes(pod: &Pod<'_>) -> Option<Failure> {
    let bad: Vec<(usize, String)> = pod
        .volumes()
        .into_iter()
        .filter(|(_, volume)| member(volume, "hostPath").is_some())
        .map(|(index, volume)| (index, text(member(volume, "name"))))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<&str> = bad.iter().map(|(_, name)| name.as_str()).collect();
    Some(Failure {
        reason: "hostPath volumes".into(),
        detail: format!(
            "{} {}",
            pluralize("hostPath volume", "hostPath volumes", names.len()),
            join_quote(&names)
        ),
        pointers: bad
            .iter()
            .map(|(index, _)| format!("/spec/volumes/{index}/hostPath"))
            .collect(),
    })
}

/// No container port may set a `hostPort` other than 0.
pub(crate) fn host_ports(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = Vec::new();
    let mut ports = BTreeSet::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        let mut container_bad = false;
        for (index, port) in items(member(c.value, "ports")).iter().enumerate() {
            let host_port = member(port, "hostPort");
            if host_port.is_some_and(|value| integer(Some(value)) != Some(0)) {
                container_bad = true;
                ports.insert(text(host_port));
                pointers.push(format!("{}/ports/{index}/hostPort", c.pointer));
            }
        }
        if container_bad {
            names.push(c.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let ports: Vec<String> = ports.into_iter().collect();
    Some(Failure {
        reason: "hostPort".into(),
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
        pointers,
    })
}

/// Whether an AppArmor profile type field value is allowed.
fn allowed_apparmor_type(value: &str) -> bool {
    value == "RuntimeDefault" || value == "Localhost"
}

/// Whether a beta AppArmor annotation value is allowed.
fn allowed_apparmor_annotation(value: &str) -> bool {
    value.is_empty() || value == "runtime/default" || value.starts_with("localhost/")
}

/// AppArmor must not be disabled or overridden: the `appArmorProfile` fields (pod and
/// containers) must be `RuntimeDefault` or `Localhost`, and the beta per-container annotations
/// empty, `runtime/default` or `localhost/*`.
pub(crate) fn app_armor_profile(pod: &Pod<'_>) -> Option<Failure> {
    let mut bad_values = BTreeSet::new();
    let mut pointers = Vec::new();
    let pod_bad = bad_apparmor_field(pod.security_field("appArmorProfile"), &mut bad_values);
    if pod_bad {
        pointers.push(pod.security_pointer(&["appArmorProfile", "type"]));
    }
    let mut names = Vec::new();
    for c in pod.containers() {
        if bad_apparmor_field(c.security_field("appArmorProfile"), &mut bad_values) {
            pointers.push(c.security_pointer(&["appArmorProfile", "type"]));
            names.push(c.name);
        }
    }
    let mut who = setters(pod_bad, &names);
    let mut values: Vec<String> = bad_values.into_iter().collect();
    let mut annotations = Vec::new();
    for (key, value) in pod.annotations() {
        if key.starts_with(APPARMOR_ANNOTATION_PREFIX) && !allowed_apparmor_annotation(&text(Some(value))) {
            annotations.push(format!("{key}={:?}", text(Some(value))));
            pointers.push(pointer("/metadata", &["annotations", key]));
        }
    }
    if !annotations.is_empty() {
        who.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        values.extend(annotations);
    }
    if who.is_empty() {
        return None;
    }
    Some(Failure {
        reason: pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        )
        .into(),
        detail: format!(
            "{} must not set AppArmor profile type to {}",
            who.join(" and "),
            join_quote(&values)
        ),
        pointers,
    })
}

/// The beta annotation prefix for per-container AppArmor profiles.
const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// Whether a set `appArmorProfile` object has a forbidden type (recording it).
fn bad_apparmor_field(profile: Option<&Value>, bad_values: &mut BTreeSet<String>) -> bool {
    let Some(profile) = profile else {
        return false;
    };
    let kind = text(member(profile, "type"));
    if allowed_apparmor_type(&kind) {
        return false;
    }
    bad_values.insert(kind);
    true
}

/// SELinux types allowed from policy v1.0.
const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
/// SELinux types allowed from policy v1.31.
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// seLinuxOptions at policy v1.0.
pub(crate) fn se_linux_options_1_0(pod: &Pod<'_>) -> Option<Failure> {
    se_linux_options(pod, SELINUX_TYPES_1_0)
}

/// seLinuxOptions at policy v1.31 (`container_engine_t` allowed).
pub(crate) fn se_linux_options_1_31(pod: &Pod<'_>) -> Option<Failure> {
    se_linux_options(pod, SELINUX_TYPES_1_31)
}

/// What bad seLinuxOptions were found.
#[derive(Default)]
struct SeLinuxFindings {
    types: BTreeSet<String>,
    user: bool,
    role: bool,
    pointers: Vec<String>,
}

impl SeLinuxFindings {
    /// Records the bad parts of one `seLinuxOptions` (at pointer `base`); true when any.
    fn record(&mut self, options: &Value, base: &str, allowed: &[&str]) -> bool {
        let mut bad = false;
        let kind = text(member(options, "type"));
        if !allowed.contains(&kind.as_str()) {
            self.types.insert(kind);
            self.pointers.push(format!("{base}/type"));
            bad = true;
        }
        for (key, flag) in [("user", &mut self.user), ("role", &mut self.role)] {
            if !text(member(options, key)).is_empty() {
                *flag = true;
                self.pointers.push(format!("{base}/{key}"));
                bad = true;
            }
        }
        bad
    }

    /// `type "x"; user may not be set; role may not be set`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.types.is_empty() {
            let types: Vec<&String> = self.types.iter().collect();
            parts.push(format!(
                "{} {}",
                pluralize("type", "types", types.len()),
                join_quote(&types)
            ));
        }
        if self.user {
            parts.push("user may not be set".to_string());
        }
        if self.role {
            parts.push("role may not be set".to_string());
        }
        parts.join("; ")
    }
}

/// The SELinux type must be in `allowed`, and user and role must not be set.
fn se_linux_options(pod: &Pod<'_>, allowed: &[&str]) -> Option<Failure> {
    let mut found = SeLinuxFindings::default();
    let pod_bad = pod
        .security_field("seLinuxOptions")
        .is_some_and(|options| found.record(options, "/spec/securityContext/seLinuxOptions", allowed));
    let mut names = Vec::new();
    for c in pod.containers() {
        let Some(options) = c.security_field("seLinuxOptions") else {
            continue;
        };
        let base = c.security_pointer(&["seLinuxOptions"]);
        if found.record(options, &base, allowed) {
            names.push(c.name);
        }
    }
    let who = setters(pod_bad, &names);
    if who.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "seLinuxOptions".into(),
        detail: format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            who.join(" and "),
            found.describe()
        ),
        pointers: found.pointers,
    })
}

/// `procMount` must be unset or `Default`, whatever the pod (Baseline before v1.35, and
/// `procMount_restricted`).
pub(crate) fn proc_mount_default_only(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = Vec::new();
    let mut kinds = BTreeSet::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        let Some(value) = c.security_field("procMount") else {
            continue;
        };
        let kind = text(Some(value));
        if kind != "Default" {
            pointers.push(c.security_pointer(&["procMount"]));
            names.push(c.name);
            kinds.insert(kind);
        }
    }
    if names.is_empty() {
        return None;
    }
    let kinds: Vec<String> = kinds.into_iter().collect();
    Some(Failure {
        reason: "procMount".into(),
        detail: format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&names),
            join_quote(&kinds)
        ),
        pointers,
    })
}

/// procMount at policy v1.35: a pod in a user namespace (`hostUsers: false`) may set any type.
pub(crate) fn proc_mount_1_35(pod: &Pod<'_>) -> Option<Failure> {
    if pod.in_user_namespace() {
        return None;
    }
    proc_mount_default_only(pod)
}

/// The seccomp annotation for the whole pod.
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// The seccomp annotation prefix for one container.
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Whether an alpha seccomp annotation value is allowed.
fn allowed_seccomp_annotation(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

/// Whether a `seccompProfile.type` value is allowed.
pub(crate) fn allowed_seccomp_type(value: &str) -> bool {
    value == "RuntimeDefault" || value == "Localhost"
}

/// seccomp before policy v1.19: the alpha annotations, if set, must name the runtime default or
/// a localhost profile.
pub(crate) fn seccomp_profile_baseline_1_0(pod: &Pod<'_>) -> Option<Failure> {
    let mut keys = vec![SECCOMP_POD_ANNOTATION.to_string()];
    keys.extend(
        pod.containers()
            .iter()
            .map(|c| format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name)),
    );
    let mut forbidden = BTreeSet::new();
    for key in keys {
        let Some(value) = pod.annotation(&key) else {
            continue;
        };
        let value = text(Some(value));
        if !allowed_seccomp_annotation(&value) {
            forbidden.insert((
                format!("{key}={value:?}"),
                pointer("/metadata", &["annotations", &key]),
            ));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let described: Vec<&str> = forbidden.iter().map(|(d, _)| d.as_str()).collect();
    Some(Failure {
        reason: "seccompProfile".into(),
        detail: format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", described.len()),
            described.join(", ")
        ),
        pointers: forbidden.into_iter().map(|(_, p)| p).collect(),
    })
}

/// seccomp from policy v1.19: a `seccompProfile` that is set (pod or container) must be
/// `RuntimeDefault` or `Localhost`.
pub(crate) fn seccomp_profile_baseline_1_19(pod: &Pod<'_>) -> Option<Failure> {
    let explicit = super::restricted::explicit_seccomp(pod);
    explicit.into_failure()
}

/// The safe sysctls at policy v1.0.
const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
/// Added at policy v1.27.
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
/// Added at policy v1.29.
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
/// Added at policy v1.32.
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
/// Added at policy v1.37.
const SYSCTLS_1_37: &[&str] = &["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"];

/// sysctls at policy v1.0.
pub(crate) fn sysctls_1_0(pod: &Pod<'_>) -> Option<Failure> {
    sysctls(pod, &[SYSCTLS_1_0])
}

/// sysctls at policy v1.27.
pub(crate) fn sysctls_1_27(pod: &Pod<'_>) -> Option<Failure> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27])
}

/// sysctls at policy v1.29.
pub(crate) fn sysctls_1_29(pod: &Pod<'_>) -> Option<Failure> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}

/// sysctls at policy v1.32.
pub(crate) fn sysctls_1_32(pod: &Pod<'_>) -> Option<Failure> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32])
}

/// sysctls at policy v1.37.
pub(crate) fn sysctls_1_37(pod: &Pod<'_>) -> Option<Failure> {
    sysctls(
        pod,
        &[
            SYSCTLS_1_0,
            SYSCTLS_1_27,
            SYSCTLS_1_29,
            SYSCTLS_1_32,
            SYSCTLS_1_37,
        ],
    )
}

/// Every `spec.securityContext.sysctls[].name` must be in one of the `safe` lists.
fn sysctls(pod: &Pod<'_>, safe: &[&[&str]]) -> Option<Failure> {
    let mut names = Vec::new();
    let mut pointers = Vec::new();
    for (index, sysctl) in items(pod.security_field("sysctls")).iter().enumerate() {
        let name = text(member(sysctl, "name"));
        if !safe.iter().any(|list| list.contains(&name.as_str())) {
            pointers.push(format!("/spec/securityContext/sysctls/{index}/name"));
            names.push(name);
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "forbidden sysctls".into(),
        detail: names.join(", "),
        pointers,
    })
}

/// Neither the pod nor a container may set `windowsOptions.hostProcess=true`.
pub(crate) fn windows_host_process(pod: &Pod<'_>) -> Option<Failure> {
    let host_process = |options: Option<&Value>| is_true(options.and_then(|o| member(o, "hostProcess")));
    let mut pointers = Vec::new();
    let pod_bad = host_process(pod.security_field("windowsOptions"));
    if pod_bad {
        pointers.push("/spec/securityContext/windowsOptions/hostProcess".to_string());
    }
    let mut names = Vec::new();
    for c in pod.containers() {
        if host_process(c.security_field("windowsOptions")) {
            pointers.push(c.security_pointer(&["windowsOptions", "hostProcess"]));
            names.push(c.name);
        }
    }
    let who = setters(pod_bad, &names);
    if who.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "hostProcess".into(),
        detail: format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            who.join(" and ")
        ),
        pointers,
    })
}

/// Where a container may name a host for a probe or a lifecycle handler.
const HOST_FIELDS: &[&[&str]] = &[
    &["livenessProbe", "httpGet", "host"],
    &["livenessProbe", "tcpSocket", "host"],
    &["readinessProbe", "httpGet", "host"],
    &["readinessProbe", "tcpSocket", "host"],
    &["startupProbe", "httpGet", "host"],
    &["startupProbe", "tcpSocket", "host"],
    &["lifecycle", "postStart", "httpGet", "host"],
    &["lifecycle", "postStart", "tcpSocket", "host"],
    &["lifecycle", "preStop", "httpGet", "host"],
    &["lifecycle", "preStop", "tcpSocket", "host"],
];

/// From policy v1.34, probes and lifecycle handlers must not set a `host`.
pub(crate) fn host_probes_and_host_lifecycle(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        for keys in HOST_FIELDS {
            let host = text(c.at(keys));
            if !host.is_empty() {
                pointers.push(c.pointer_to(keys));
                names.insert(c.name.clone());
                hosts.insert(host);
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let names: Vec<String> = names.into_iter().collect();
    let hosts: Vec<String> = hosts.into_iter().collect();
    Some(Failure {
        reason: "probe or lifecycle host".into(),
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&names),
            pluralize("uses", "use", names.len()),
            pluralize("probe or lifecycle host", "probe or lifecycle hosts", hosts.len()),
            join_quote(&hosts)
        ),
        pointers,
    })
}
