//! The Restricted checks: each function is one version of one upstream check, returning the
//! failure (reason, detail, pointers) or `None` when the pod passes.

use super::baseline::allowed_seccomp_type;
use super::pod::{containers_phrase, is_true, items, join_quote, member, pluralize, setters, text, Pod};
use super::Failure;
use serde_json::Value;
use std::collections::BTreeSet;

/// Volume sources Restricted allows (the API default for a volume without a source is
/// `emptyDir`, so such a volume passes too).
const ALLOWED_VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Every other volume source the API knows.
const RESTRICTED_VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "portworxVolume",
    "photonPersistentDisk",
    "scaleIO",
    "storageos",
];

/// Volumes may only use the allowed (ephemeral or persistent-volume backed) sources.
pub(crate) fn restricted_volumes(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = Vec::new();
    let mut kinds = BTreeSet::new();
    let mut pointers = Vec::new();
    for (index, volume) in pod.volumes() {
        if ALLOWED_VOLUME_SOURCES
            .iter()
            .any(|key| member(volume, key).is_some())
        {
            continue;
        }
        let Some(kind) = RESTRICTED_VOLUME_SOURCES
            .iter()
            .find(|key| member(volume, key).is_some())
        else {
            continue;
        };
        names.push(text(member(volume, "name")));
        kinds.insert(*kind);
        pointers.push(format!("/spec/volumes/{index}/{kind}"));
    }
    if names.is_empty() {
        return None;
    }
    let kinds: Vec<&str> = kinds.into_iter().collect();
    Some(Failure {
        reason: "restricted volume types".into(),
        detail: format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names),
            pluralize("uses", "use", names.len()),
            pluralize("restricted volume type", "restricted volume types", kinds.len()),
            join_quote(&kinds)
        ),
        pointers,
    })
}

/// From policy v1.8, every container must set `allowPrivilegeEscalation: false`.
pub(crate) fn allow_privilege_escalation_1_8(pod: &Pod<'_>) -> Option<Failure> {
    let mut names = Vec::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        if !matches!(
            c.security_field("allowPrivilegeEscalation"),
            Some(Value::Bool(false))
        ) {
            pointers.push(c.security_pointer(&["allowPrivilegeEscalation"]));
            names.push(c.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "allowPrivilegeEscalation != false".into(),
        detail: format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&names)
        ),
        pointers,
    })
}

/// From policy v1.25, Windows pods are exempt (the field does not apply to them).
pub(crate) fn allow_privilege_escalation_1_25(pod: &Pod<'_>) -> Option<Failure> {
    if pod.is_windows() {
        return None;
    }
    allow_privilege_escalation_1_8(pod)
}

/// The pod or every container must set `runAsNonRoot: true`, and none may set it to false.
pub(crate) fn run_as_non_root_1_0(pod: &Pod<'_>) -> Option<Failure> {
    let pod_value = pod.security_field("runAsNonRoot");
    let pod_false = matches!(pod_value, Some(Value::Bool(false)));
    let pod_true = is_true(pod_value);
    let mut explicit = Vec::new();
    let mut explicit_pointers = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_pointers = Vec::new();
    for c in pod.containers() {
        let pointer = c.security_pointer(&["runAsNonRoot"]);
        match c.security_field("runAsNonRoot") {
            Some(value) if !is_true(Some(value)) => {
                explicit_pointers.push(pointer);
                explicit.push(c.name);
            }
            Some(_) => {}
            None if !pod_true => {
                implicit_pointers.push(pointer);
                implicit.push(c.name);
            }
            None => {}
        }
    }
    let who = setters(pod_false, &explicit);
    if !who.is_empty() {
        let mut pointers = Vec::new();
        if pod_false {
            pointers.push(pod.security_pointer(&["runAsNonRoot"]));
        }
        pointers.extend(explicit_pointers);
        return Some(Failure {
            reason: "runAsNonRoot != true".into(),
            detail: format!(
                "{} must not set securityContext.runAsNonRoot=false",
                who.join(" and ")
            ),
            pointers,
        });
    }
    if implicit.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "runAsNonRoot != true".into(),
        detail: format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            containers_phrase(&implicit)
        ),
        pointers: implicit_pointers,
    })
}

/// From policy v1.35, pods in a user namespace (`hostUsers: false`) are exempt.
pub(crate) fn run_as_non_root_1_35(pod: &Pod<'_>) -> Option<Failure> {
    if pod.in_user_namespace() {
        return None;
    }
    run_as_non_root_1_0(pod)
}

/// Whether a `runAsUser` value is 0 (root).
fn is_root_uid(value: Option<&Value>) -> bool {
    super::pod::integer(value) == Some(0)
}

/// From policy v1.23, neither the pod nor a container may set `runAsUser: 0`.
pub(crate) fn run_as_user_1_23(pod: &Pod<'_>) -> Option<Failure> {
    let mut pointers = Vec::new();
    let pod_bad = is_root_uid(pod.security_field("runAsUser"));
    if pod_bad {
        pointers.push("/spec/securityContext/runAsUser".to_string());
    }
    let mut names = Vec::new();
    for c in pod.containers() {
        if is_root_uid(c.security_field("runAsUser")) {
            pointers.push(c.security_pointer(&["runAsUser"]));
            names.push(c.name);
        }
    }
    let who = setters(pod_bad, &names);
    if who.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "runAsUser=0".into(),
        detail: format!("{} must not set runAsUser=0", who.join(" and ")),
        pointers,
    })
}

/// From policy v1.35, pods in a user namespace (`hostUsers: false`) are exempt.
pub(crate) fn run_as_user_1_35(pod: &Pod<'_>) -> Option<Failure> {
    if pod.in_user_namespace() {
        return None;
    }
    run_as_user_1_23(pod)
}

/// How a pod's `seccompProfile` fields look.
pub(crate) struct SeccompFindings {
    /// The pod sets a forbidden type.
    pod_bad: bool,
    /// The pod sets an allowed type.
    pod_set: bool,
    /// Containers that set a forbidden type.
    explicit: Vec<String>,
    /// Their pointers (and the pod's, first, when it is bad).
    explicit_pointers: Vec<String>,
    /// Containers that set nothing.
    unset: Vec<String>,
    /// Their pointers.
    unset_pointers: Vec<String>,
    /// The forbidden types seen.
    bad_values: BTreeSet<String>,
}

impl SeccompFindings {
    /// The failure for explicitly forbidden types, if any.
    pub(crate) fn into_failure(self) -> Option<Failure> {
        let who = setters(self.pod_bad, &self.explicit);
        if who.is_empty() {
            return None;
        }
        let values: Vec<String> = self.bad_values.into_iter().collect();
        Some(Failure {
            reason: "seccompProfile".into(),
            detail: format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                who.join(" and "),
                join_quote(&values)
            ),
            pointers: self.explicit_pointers,
        })
    }
}

/// Reads the pod's and containers' `seccompProfile` fields.
pub(crate) fn explicit_seccomp(pod: &Pod<'_>) -> SeccompFindings {
    let mut found = SeccompFindings {
        pod_bad: false,
        pod_set: false,
        explicit: Vec::new(),
        explicit_pointers: Vec::new(),
        unset: Vec::new(),
        unset_pointers: Vec::new(),
        bad_values: BTreeSet::new(),
    };
    if let Some(profile) = pod.security_field("seccompProfile") {
        let kind = text(member(profile, "type"));
        if allowed_seccomp_type(&kind) {
            found.pod_set = true;
        } else {
            found.pod_bad = true;
            found
                .explicit_pointers
                .push(pod.security_pointer(&["seccompProfile", "type"]));
            found.bad_values.insert(kind);
        }
    }
    for c in pod.containers() {
        let pointer = c.security_pointer(&["seccompProfile", "type"]);
        match c.security_field("seccompProfile") {
            Some(profile) => {
                let kind = text(member(profile, "type"));
                if !allowed_seccomp_type(&kind) {
                    found.explicit_pointers.push(pointer);
                    found.explicit.push(c.name);
                    found.bad_values.insert(kind);
                }
            }
            None => {
                found.unset_pointers.push(pointer);
                found.unset.push(c.name);
            }
        }
    }
    found
}

/// From policy v1.19, the pod or every container must set `seccompProfile.type` to
/// `RuntimeDefault` or `Localhost`.
pub(crate) fn seccomp_profile_restricted_1_19(pod: &Pod<'_>) -> Option<Failure> {
    let found = explicit_seccomp(pod);
    let pod_set = found.pod_set;
    let unset = found.unset.clone();
    let unset_pointers = found.unset_pointers.clone();
    if let Some(failure) = found.into_failure() {
        return Some(failure);
    }
    if pod_set || unset.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "seccompProfile".into(),
        detail: format!(
            "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            containers_phrase(&unset)
        ),
        pointers: unset_pointers,
    })
}

/// From policy v1.25, Windows pods are exempt.
pub(crate) fn seccomp_profile_restricted_1_25(pod: &Pod<'_>) -> Option<Failure> {
    if pod.is_windows() {
        return None;
    }
    seccomp_profile_restricted_1_19(pod)
}

/// From policy v1.22, every container must drop `ALL` and may add only `NET_BIND_SERVICE`.
pub(crate) fn capabilities_restricted_1_22(pod: &Pod<'_>) -> Option<Failure> {
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = BTreeSet::new();
    let mut pointers = Vec::new();
    for c in pod.containers() {
        let capabilities = c.security_field("capabilities");
        let dropped = items(capabilities.and_then(|caps| member(caps, "drop")));
        if !dropped.iter().any(|cap| text(Some(cap)) == "ALL") {
            pointers.push(c.security_pointer(&["capabilities", "drop"]));
            missing_drop.push(c.name.clone());
        }
        let added = items(capabilities.and_then(|caps| member(caps, "add")));
        let mut container_adds = false;
        for (index, cap) in added.iter().enumerate() {
            let name = text(Some(cap));
            if name != "NET_BIND_SERVICE" {
                container_adds = true;
                pointers.push(format!(
                    "{}/{index}",
                    c.security_pointer(&["capabilities", "add"])
                ));
                forbidden.insert(name);
            }
        }
        if container_adds {
            adding.push(c.name);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        let forbidden: Vec<String> = forbidden.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&forbidden)
        ));
    }
    if details.is_empty() {
        return None;
    }
    Some(Failure {
        reason: "unrestricted capabilities".into(),
        detail: details.join("; "),
        pointers,
    })
}

/// From policy v1.25, Windows pods are exempt.
pub(crate) fn capabilities_restricted_1_25(pod: &Pod<'_>) -> Option<Failure> {
    if pod.is_windows() {
        return None;
    }
    capabilities_restricted_1_22(pod)
}
