//! The fixed description of every Pod Security Standards check (`PSS-<upstream id>`).

use moat_core::standards::{CIS_KUBERNETES, NSA_CISA, PSS};
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Severity};

/// A compliance reference.
/// The Baseline profile.
const BASELINE: ComplianceRef = ComplianceRef::new(PSS, "Baseline");
/// The Restricted profile.
const RESTRICTED: ComplianceRef = ComplianceRef::new(PSS, "Restricted");

/// Every PSS check (`PSS-<upstream id>`), Baseline first.
pub static CHECKS: &[CheckInfo] = &[
    CheckInfo {
        id: "PSS-hostNamespaces",
        title: "Pod shares a host namespace",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod sets hostNetwork, hostPID or hostIPC. Sharing the node's network, \
                      process or IPC namespace lets the pod see and reach the node's traffic, \
                      processes and shared memory, which undoes container isolation.",
        remediation: "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC, or set them to false.",
        references: &[
            BASELINE,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.3"),
            ComplianceRef::new(CIS_KUBERNETES, "5.2.4"),
            ComplianceRef::new(CIS_KUBERNETES, "5.2.5"),
            ComplianceRef::new(NSA_CISA, "Share host process namespaces"),
            ComplianceRef::new(NSA_CISA, "Use the host network"),
        ],
        aliases: &[
            "KSV008",
            "KSV009",
            "KSV010",
            "CKV_K8S_17",
            "CKV_K8S_18",
            "CKV_K8S_19",
        ],
    },
    CheckInfo {
        id: "PSS-privileged",
        title: "Container runs privileged",
        severity: Severity::Critical,
        kind: ConfigKind::Kubernetes,
        description: "A container sets securityContext.privileged=true. A privileged container \
                      has every capability and access to the node's devices, so a compromise of \
                      it is a compromise of the node.",
        remediation: "Remove securityContext.privileged or set it to false; grant only the \
                      specific capabilities the workload needs.",
        references: &[
            BASELINE,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.2"),
            ComplianceRef::new(NSA_CISA, "Preventing privileged containers"),
        ],
        aliases: &["KSV017", "CKV_K8S_16"],
    },
    CheckInfo {
        id: "PSS-capabilities_baseline",
        title: "Container adds a non-default capability",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "A container adds a Linux capability outside the runtime's default set \
                      (for example NET_RAW, SYS_ADMIN or NET_ADMIN). Extra capabilities widen \
                      what a compromised process can do to the node and its neighbours.",
        remediation: "Remove the capability from securityContext.capabilities.add; only \
                      AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, \
                      NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT are allowed.",
        references: &[
            BASELINE,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.8"),
            ComplianceRef::new(CIS_KUBERNETES, "5.2.9"),
        ],
        aliases: &["KSV005", "KSV022", "CKV_K8S_25", "CKV_K8S_39"],
    },
    CheckInfo {
        id: "PSS-hostPathVolumes",
        title: "Pod mounts a hostPath volume",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod uses a hostPath volume. Mounting the node's filesystem exposes \
                      credentials, the container runtime socket and system files, and is a common \
                      route to escaping the container.",
        remediation: "Replace the hostPath volume with an emptyDir, a configMap or secret, or a \
                      persistentVolumeClaim.",
        references: &[BASELINE, ComplianceRef::new(CIS_KUBERNETES, "5.2.12")],
        aliases: &["KSV023"],
    },
    CheckInfo {
        id: "PSS-hostPorts",
        title: "Container uses a host port",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "A container port sets hostPort. Binding the node's ports bypasses network \
                      policy and service routing and ties the pod to one port per node.",
        remediation: "Remove hostPort from the container's ports and expose the pod through a \
                      Service instead.",
        references: &[BASELINE, ComplianceRef::new(CIS_KUBERNETES, "5.2.13")],
        aliases: &["KSV024", "CKV_K8S_26"],
    },
    CheckInfo {
        id: "PSS-appArmorProfile",
        title: "AppArmor profile is disabled or overridden",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod or a container sets an AppArmor profile other than the runtime \
                      default or a localhost profile (for example Unconfined), through the \
                      appArmorProfile field or the container.apparmor.security.beta.kubernetes.io \
                      annotation, removing mandatory access control.",
        remediation: "Set securityContext.appArmorProfile.type to RuntimeDefault or Localhost, \
                      or drop the field and the annotation to get the runtime default.",
        references: &[
            BASELINE,
            ComplianceRef::new(
                NSA_CISA,
                "Restrict a container's access to resources with AppArmor",
            ),
        ],
        aliases: &["KSV002"],
    },
    CheckInfo {
        id: "PSS-seLinuxOptions",
        title: "SELinux options are overridden",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod or a container sets an SELinux type outside container_t, \
                      container_init_t, container_kvm_t (and container_engine_t from v1.31), or \
                      sets an SELinux user or role, which can lift the container's confinement.",
        remediation: "Remove seLinuxOptions.user and seLinuxOptions.role and use an allowed \
                      SELinux type, or leave seLinuxOptions unset.",
        references: &[
            BASELINE,
            ComplianceRef::new(NSA_CISA, "Sets the SELinux context of the container"),
        ],
        aliases: &["KSV025"],
    },
    CheckInfo {
        id: "PSS-procMount",
        title: "Container unmasks /proc",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "A container sets securityContext.procMount to something other than \
                      Default. The default /proc masks hide kernel interfaces that leak host \
                      information or allow changes to the host. From v1.35 Baseline allows it for \
                      pods in a user namespace (hostUsers: false).",
        remediation: "Remove securityContext.procMount or set it to Default.",
        references: &[BASELINE],
        aliases: &["KSV027"],
    },
    CheckInfo {
        id: "PSS-seccompProfile_baseline",
        title: "Seccomp is disabled",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod or a container sets a seccomp profile other than the runtime \
                      default or a localhost profile (for example Unconfined), through the \
                      seccompProfile field (v1.19+) or the seccomp alpha annotations (before \
                      v1.19), exposing every system call to the workload.",
        remediation: "Set securityContext.seccompProfile.type to RuntimeDefault or Localhost.",
        references: &[
            BASELINE,
            ComplianceRef::new(CIS_KUBERNETES, "5.7.2"),
            ComplianceRef::new(NSA_CISA, "Sets the seccomp profile used to sandbox containers"),
        ],
        aliases: &["KSV104"],
    },
    CheckInfo {
        id: "PSS-sysctls",
        title: "Pod sets an unsafe sysctl",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "The pod sets a sysctl outside the safe, namespaced set. Unsafe sysctls can \
                      affect every workload on the node or disable security mechanisms. The safe \
                      set grows with the policy version (v1.27, v1.29, v1.32, v1.37).",
        remediation: "Remove the sysctl from spec.securityContext.sysctls, or run the workload \
                      in a namespace that allows it.",
        references: &[BASELINE],
        aliases: &["KSV026"],
    },
    CheckInfo {
        id: "PSS-windowsHostProcess",
        title: "Windows HostProcess container",
        severity: Severity::Critical,
        kind: ConfigKind::Kubernetes,
        description: "The pod or a container sets windowsOptions.hostProcess=true. A HostProcess \
                      container runs directly on the Windows node with host access, the \
                      equivalent of a privileged container.",
        remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false.",
        references: &[BASELINE, ComplianceRef::new(CIS_KUBERNETES, "5.2.11")],
        aliases: &["KSV103"],
    },
    CheckInfo {
        id: "PSS-hostProbesAndHostLifecycle",
        title: "Probe or lifecycle hook targets another host",
        severity: Severity::High,
        kind: ConfigKind::Kubernetes,
        description: "A container's liveness, readiness or startup probe, or its postStart or \
                      preStop hook, sets httpGet.host or tcpSocket.host. The kubelet then makes \
                      requests to an arbitrary address from the node, which can reach services \
                      the pod itself cannot (checked from policy v1.34).",
        remediation: "Remove the host field so the probe or hook targets the pod's own IP.",
        references: &[BASELINE],
        aliases: &[],
    },
    CheckInfo {
        id: "PSS-restrictedVolumes",
        title: "Pod uses a restricted volume type",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "The pod uses a volume type other than configMap, csi, downwardAPI, \
                      emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret. \
                      Other inline volume types reach node or network storage directly instead \
                      of through persistent volumes an administrator set up.",
        remediation: "Use one of the allowed volume types; reach other storage through a \
                      PersistentVolume and a persistentVolumeClaim.",
        references: &[RESTRICTED, ComplianceRef::new(CIS_KUBERNETES, "5.2.12")],
        aliases: &["KSV028", "KSV121", "KSV023"],
    },
    CheckInfo {
        id: "PSS-allowPrivilegeEscalation",
        title: "Container allows privilege escalation",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "A container does not set securityContext.allowPrivilegeEscalation=false, \
                      so a process can gain more privileges than its parent (through setuid \
                      binaries or file capabilities). Windows pods are exempt from v1.25.",
        remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
        references: &[
            RESTRICTED,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.6"),
            ComplianceRef::new(NSA_CISA, "Restricts escalation to root privileges"),
        ],
        aliases: &["KSV001", "CKV_K8S_20"],
    },
    CheckInfo {
        id: "PSS-runAsNonRoot",
        title: "Containers may run as root",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "Neither the pod nor every container sets securityContext.runAsNonRoot=true \
                      (or one sets it to false), so the kubelet will start containers whose image \
                      runs as root. From v1.35 pods in a user namespace (hostUsers: false) are \
                      exempt.",
        remediation: "Set spec.securityContext.runAsNonRoot: true (or on every container) and \
                      run the image as a non-root user.",
        references: &[
            RESTRICTED,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.7"),
            ComplianceRef::new(NSA_CISA, "Non-root containers"),
        ],
        aliases: &["KSV012", "CKV_K8S_23"],
    },
    CheckInfo {
        id: "PSS-runAsUser",
        title: "Container runs as UID 0",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "The pod or a container sets runAsUser: 0, running as root (checked from \
                      v1.23; pods in a user namespace are exempt from v1.35).",
        remediation: "Set runAsUser to a non-zero UID, or remove it and run the image as a \
                      non-root user.",
        references: &[
            RESTRICTED,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.7"),
            ComplianceRef::new(NSA_CISA, "Run with root privileges or with root group membership"),
        ],
        aliases: &["KSV105"],
    },
    CheckInfo {
        id: "PSS-seccompProfile_restricted",
        title: "Seccomp profile not set to RuntimeDefault or Localhost",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "The pod or every container must set seccompProfile.type to RuntimeDefault \
                      or Localhost (checked from v1.19; Windows pods are exempt from v1.25). \
                      Without a profile every system call is open to the workload.",
        remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault.",
        references: &[
            RESTRICTED,
            ComplianceRef::new(CIS_KUBERNETES, "5.7.2"),
            ComplianceRef::new(NSA_CISA, "Sets the seccomp profile used to sandbox containers"),
        ],
        aliases: &["KSV030", "KSV104", "CKV_K8S_31"],
    },
    CheckInfo {
        id: "PSS-capabilities_restricted",
        title: "Container does not drop ALL capabilities",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "A container does not drop ALL capabilities, or adds one other than \
                      NET_BIND_SERVICE (checked from v1.22; Windows pods are exempt from v1.25).",
        remediation: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add \
                      back at most NET_BIND_SERVICE.",
        references: &[
            RESTRICTED,
            ComplianceRef::new(CIS_KUBERNETES, "5.2.9"),
            ComplianceRef::new(CIS_KUBERNETES, "5.2.10"),
        ],
        aliases: &[
            "KSV003",
            "KSV004",
            "KSV106",
            "KSV005",
            "KSV022",
            "CKV_K8S_25",
            "CKV_K8S_28",
            "CKV_K8S_37",
            "CKV_K8S_39",
        ],
    },
    CheckInfo {
        id: "PSS-procMount_restricted",
        title: "Container unmasks /proc (Restricted)",
        severity: Severity::Medium,
        kind: ConfigKind::Kubernetes,
        description: "A container sets securityContext.procMount to something other than \
                      Default. Restricted forbids it even for pods in a user namespace (from \
                      v1.35, where it replaces the Baseline procMount check).",
        remediation: "Remove securityContext.procMount or set it to Default.",
        references: &[RESTRICTED],
        aliases: &["KSV027"],
    },
];

/// The description of upstream check `check_id` (`privileged` gives `PSS-privileged`).
pub fn check_info(check_id: &str) -> Option<&'static CheckInfo> {
    CHECKS
        .iter()
        .find(|info| info.id.strip_prefix("PSS-") == Some(check_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::pss::registry::REGISTRY;

    #[test]
    fn every_upstream_check_has_one_description() {
        assert_eq!(CHECKS.len(), REGISTRY.len());
        for check in REGISTRY {
            assert!(check_info(check.id).is_some(), "{}", check.id);
        }
    }
}
