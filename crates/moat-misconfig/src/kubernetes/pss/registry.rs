//! Which check runs at which level and policy version, as upstream registers them: each check
//! has one or more revisions, each in force from a minimum policy minor up to the next
//! revision; a Restricted revision may replace (override) Baseline checks.

use super::pod::Pod;
use super::{baseline, restricted, Failure, PssLevel};

/// One revision of a check.
pub(crate) struct Revision {
    /// The first policy minor (`v1.<min>`) it applies to.
    pub min: u32,
    /// The check itself.
    pub run: fn(&Pod<'_>) -> Option<Failure>,
    /// Baseline checks it replaces under Restricted while it is in force.
    pub overrides: &'static [&'static str],
}

/// One upstream check.
pub(crate) struct CheckDef {
    /// Upstream id (`privileged`).
    pub id: &'static str,
    /// Baseline or Restricted.
    pub level: PssLevel,
    /// Its revisions, oldest first.
    pub revisions: &'static [Revision],
}

impl CheckDef {
    /// The revision in force at policy minor `minor`, if the check exists yet.
    pub fn revision_at(&self, minor: u32) -> Option<&Revision> {
        self.revisions.iter().rev().find(|revision| revision.min <= minor)
    }
}

/// A revision that overrides nothing.
const fn plain(min: u32, run: fn(&Pod<'_>) -> Option<Failure>) -> Revision {
    Revision {
        min,
        run,
        overrides: &[],
    }
}

/// A revision that replaces the Baseline checks `overrides` under Restricted.
const fn replacing(
    min: u32,
    run: fn(&Pod<'_>) -> Option<Failure>,
    overrides: &'static [&'static str],
) -> Revision {
    Revision { min, run, overrides }
}

/// Every check, Baseline first, each group in upstream's (byte-wise sorted) id order.
pub(crate) static REGISTRY: &[CheckDef] = &[
    CheckDef {
        id: "appArmorProfile",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::app_armor_profile)],
    },
    CheckDef {
        id: "capabilities_baseline",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::capabilities_baseline)],
    },
    CheckDef {
        id: "hostNamespaces",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::host_namespaces)],
    },
    CheckDef {
        id: "hostPathVolumes",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::host_path_volumes)],
    },
    CheckDef {
        id: "hostPorts",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::host_ports)],
    },
    CheckDef {
        id: "hostProbesAndHostLifecycle",
        level: PssLevel::Baseline,
        revisions: &[plain(34, baseline::host_probes_and_host_lifecycle)],
    },
    CheckDef {
        id: "privileged",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::privileged)],
    },
    CheckDef {
        id: "procMount",
        level: PssLevel::Baseline,
        revisions: &[
            plain(0, baseline::proc_mount_default_only),
            plain(35, baseline::proc_mount_1_35),
        ],
    },
    CheckDef {
        id: "seLinuxOptions",
        level: PssLevel::Baseline,
        revisions: &[
            plain(0, baseline::se_linux_options_1_0),
            plain(31, baseline::se_linux_options_1_31),
        ],
    },
    CheckDef {
        id: "seccompProfile_baseline",
        level: PssLevel::Baseline,
        revisions: &[
            plain(0, baseline::seccomp_profile_baseline_1_0),
            plain(19, baseline::seccomp_profile_baseline_1_19),
        ],
    },
    CheckDef {
        id: "sysctls",
        level: PssLevel::Baseline,
        revisions: &[
            plain(0, baseline::sysctls_1_0),
            plain(27, baseline::sysctls_1_27),
            plain(29, baseline::sysctls_1_29),
            plain(32, baseline::sysctls_1_32),
            plain(37, baseline::sysctls_1_37),
        ],
    },
    CheckDef {
        id: "windowsHostProcess",
        level: PssLevel::Baseline,
        revisions: &[plain(0, baseline::windows_host_process)],
    },
    CheckDef {
        id: "allowPrivilegeEscalation",
        level: PssLevel::Restricted,
        revisions: &[
            plain(8, restricted::allow_privilege_escalation_1_8),
            plain(25, restricted::allow_privilege_escalation_1_25),
        ],
    },
    CheckDef {
        id: "capabilities_restricted",
        level: PssLevel::Restricted,
        revisions: &[
            replacing(
                22,
                restricted::capabilities_restricted_1_22,
                &["capabilities_baseline"],
            ),
            replacing(
                25,
                restricted::capabilities_restricted_1_25,
                &["capabilities_baseline"],
            ),
        ],
    },
    CheckDef {
        id: "procMount_restricted",
        level: PssLevel::Restricted,
        revisions: &[replacing(35, baseline::proc_mount_default_only, &["procMount"])],
    },
    CheckDef {
        id: "restrictedVolumes",
        level: PssLevel::Restricted,
        revisions: &[replacing(0, restricted::restricted_volumes, &["hostPathVolumes"])],
    },
    CheckDef {
        id: "runAsNonRoot",
        level: PssLevel::Restricted,
        revisions: &[
            plain(0, restricted::run_as_non_root_1_0),
            plain(35, restricted::run_as_non_root_1_35),
        ],
    },
    CheckDef {
        id: "runAsUser",
        level: PssLevel::Restricted,
        revisions: &[
            plain(23, restricted::run_as_user_1_23),
            plain(35, restricted::run_as_user_1_35),
        ],
    },
    CheckDef {
        id: "seccompProfile_restricted",
        level: PssLevel::Restricted,
        revisions: &[
            replacing(
                19,
                restricted::seccomp_profile_restricted_1_19,
                &["seccompProfile_baseline"],
            ),
            replacing(
                25,
                restricted::seccomp_profile_restricted_1_25,
                &["seccompProfile_baseline"],
            ),
        ],
    },
];

/// The newest policy minor any check has a revision for: what `latest` means, and where
/// newer requested versions are clamped to.
pub(crate) fn newest_minor() -> u32 {
    REGISTRY
        .iter()
        .filter_map(|check| check.revisions.last())
        .map(|revision| revision.min)
        .max()
        .unwrap_or(0)
}

/// The checks (with the revision in force) that run at `level` and policy minor `minor`, in
/// upstream's order: Baseline checks first, then Restricted ones.
pub(crate) fn active(level: PssLevel, minor: u32) -> Vec<(&'static CheckDef, &'static Revision)> {
    let in_force: Vec<(&'static CheckDef, &'static Revision)> = REGISTRY
        .iter()
        .filter_map(|check| check.revision_at(minor).map(|revision| (check, revision)))
        .collect();
    match level {
        PssLevel::Privileged => Vec::new(),
        PssLevel::Baseline => in_force
            .into_iter()
            .filter(|(check, _)| check.level == PssLevel::Baseline)
            .collect(),
        PssLevel::Restricted => {
            let overridden: Vec<&str> = in_force
                .iter()
                .filter(|(check, _)| check.level == PssLevel::Restricted)
                .flat_map(|(_, revision)| revision.overrides.iter().copied())
                .collect();
            in_force
                .into_iter()
                .filter(|(check, _)| check.level == PssLevel::Restricted || !overridden.contains(&check.id))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_in_upstream_order_within_each_level() {
        for level in [PssLevel::Baseline, PssLevel::Restricted] {
            let ids: Vec<&str> = REGISTRY
                .iter()
                .filter(|check| check.level == level)
                .map(|check| check.id)
                .collect();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(ids, sorted);
        }
    }

    #[test]
    fn revisions_strictly_increase() {
        for check in REGISTRY {
            let mins: Vec<u32> = check.revisions.iter().map(|r| r.min).collect();
            assert!(mins.windows(2).all(|pair| pair[0] < pair[1]), "{}", check.id);
        }
    }

    #[test]
    fn overrides_name_baseline_checks() {
        for check in REGISTRY {
            for revision in check.revisions {
                for id in revision.overrides {
                    let target = REGISTRY.iter().find(|c| c.id == *id);
                    assert!(target.is_some_and(|t| t.level == PssLevel::Baseline), "{id}");
                    assert_eq!(check.level, PssLevel::Restricted);
                }
            }
        }
    }
}
