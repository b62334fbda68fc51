//! From a cgroup path to the id of the container it belongs to.
//!
//! Runtimes name a container's cgroup after its 64-hex-digit id, with a prefix that says who
//! made it: `libpod-<id>` (podman), `docker-<id>.scope` (Docker under systemd),
//! `cri-containerd-<id>.scope` (containerd), `crio-<id>.scope` (CRI-O), or the bare id
//! (`/docker/<id>`, `/kubepods/burstable/pod<uid>/<id>` under the cgroupfs driver). The
//! monitor processes next to a container (`libpod-conmon-<id>`, `crio-conmon-<id>`,
//! `/libpod_parent/conmon`) and the pod-level cgroups are not containers.

use std::path::Path;

/// Length of a full container id in hex digits.
const ID_LEN: usize = 64;

/// Runtime kind for podman's cgroups.
const PODMAN: &str = "podman";
/// Runtime kind for Docker's cgroups.
const DOCKER: &str = "docker";
/// Runtime kind for containerd's cgroups.
const CONTAINERD: &str = "containerd";
/// Runtime kind for CRI-O's cgroups.
const CRIO: &str = "cri-o";

/// The container id and runtime kind (`podman`, `docker`, `containerd`, `cri-o`) named by
/// `text`: either one cgroup directory name (`libpod-<id>.scope`, a bare `<id>`) or the
/// whole of `/proc/<pid>/cgroup` (`N:controllers:/path` lines). `None` for host processes,
/// container monitors (conmon) and pod-level cgroups.
///
/// A process may sit in a sub-cgroup of its container (`libpod-<id>.scope/container`,
/// `docker-<id>.scope/init.scope`), so each path is read from its leaf towards the root.
/// A bare id is Docker's unless the path is under `kubepods`, where it is taken for
/// containerd's (the kubelet's cgroupfs driver names containers by bare id).
pub fn container_id_from_cgroup(text: &str) -> Option<(String, &'static str)> {
    text.lines().find_map(|line| container_of_path(cgroup_path(line)))
}

/// [`container_id_from_cgroup`] of `<proc_root>/<pid>/cgroup`; `None` when it cannot be read
/// (the process is gone) or names no container.
pub fn container_id_of_pid(proc_root: &Path, pid: u32) -> Option<(String, &'static str)> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    container_id_from_cgroup(&text)
}

/// The path of one `/proc/<pid>/cgroup` line (`N:controllers:/path`), or the line itself
/// when it has no such fields (a bare directory name or path).
fn cgroup_path(line: &str) -> &str {
    let mut fields = line.trim().splitn(3, ':');
    match (fields.next(), fields.next(), fields.next()) {
        (Some(_), Some(_), Some(path)) => path,
        _ => line.trim(),
    }
}

/// The container of one cgroup path, reading its components from the leaf up.
fn container_of_path(path: &str) -> Option<(String, &'static str)> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    for (index, component) in components.iter().enumerate().rev() {
        if is_monitor(component) {
            return None;
        }
        let parent = index.checked_sub(1).map(|i| components[i]);
        if let Some((id, kind)) = classify(component, parent, &components) {
            return Some((id.to_string(), kind));
        }
    }
    None
}

/// A container monitor's cgroup (conmon), which is next to the container, not in it.
fn is_monitor(component: &str) -> bool {
    component == "conmon" || component.starts_with("libpod-conmon-") || component.starts_with("crio-conmon-")
}

/// The id and kind named by one cgroup directory name, given its parent directory and the
/// whole path.
fn classify<'a>(component: &'a str, parent: Option<&str>, path: &[&str]) -> Option<(&'a str, &'static str)> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    let prefixed = [
        ("libpod-", PODMAN),
        ("docker-", DOCKER),
        ("cri-containerd-", CONTAINERD),
        ("crio-", CRIO),
    ];
    for (prefix, kind) in prefixed {
        if let Some(id) = name.strip_prefix(prefix) {
            return is_full_id(id).then_some((id, kind));
        }
    }
    if !is_full_id(name) {
        return None;
    }
    // `/libpod_parent/<id>` is a podman pod's cgroup, holding its containers' cgroups.
    if parent == Some("libpod_parent") {
        return None;
    }
    let under_kubepods = path.iter().any(|c| c.starts_with("kubepods"));
    Some((name, if under_kubepods { CONTAINERD } else { DOCKER }))
}

/// 64 lowercase hex digits.
fn is_full_id(text: &str) -> bool {
    text.len() == ID_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "05dce14ff6cbd1d5578ea73fc0c7f6a3c44a3953bcf54d7c77e04eaf7f1eaacb";

    fn found(text: &str) -> Option<(String, &'static str)> {
        container_id_from_cgroup(text)
    }

    fn expect(kind: &'static str) -> Option<(String, &'static str)> {
        Some((ID.to_string(), kind))
    }

    #[test]
    fn leaf_names_give_the_id_and_runtime() {
        assert_eq!(found(&format!("libpod-{ID}")), expect("podman"));
        assert_eq!(found(&format!("libpod-{ID}.scope")), expect("podman"));
        assert_eq!(found(&format!("docker-{ID}.scope")), expect("docker"));
        assert_eq!(found(&format!("cri-containerd-{ID}.scope")), expect("containerd"));
        assert_eq!(found(&format!("crio-{ID}.scope")), expect("cri-o"));
        assert_eq!(found(ID), expect("docker"));
    }

    #[test]
    fn proc_cgroup_files_give_the_id_and_runtime() {
        let podman = format!(
            "9:name=systemd:/libpod_parent/libpod-{ID}\n8:pids:/libpod_parent/libpod-{ID}\n0::/libpod_parent/libpod-{ID}\n"
        );
        assert_eq!(found(&podman), expect("podman"));
        assert_eq!(found(&format!("12:memory:/docker/{ID}\n")), expect("docker"));
        let kubepods = format!("0::/kubepods/burstable/pod5b1c0f6e-1111-2222-3333-444455556666/{ID}\n");
        assert_eq!(found(&kubepods), expect("containerd"));
        assert_eq!(
            found(&format!("0::/system.slice/docker-{ID}.scope\n")),
            expect("docker")
        );
        let systemd_kubepods = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/crio-{ID}.scope"
        );
        assert_eq!(found(&systemd_kubepods), expect("cri-o"));
    }

    #[test]
    fn a_line_without_a_container_does_not_hide_one_that_has_it() {
        let mixed = format!("4:memory:/user.slice\n3:cpu:/\n0::/machine.slice/libpod-{ID}.scope\n");
        assert_eq!(found(&mixed), expect("podman"));
    }

    #[test]
    fn sub_cgroups_of_a_container_belong_to_it() {
        assert_eq!(
            found(&format!("0::/machine.slice/libpod-{ID}.scope/container")),
            expect("podman")
        );
        assert_eq!(
            found(&format!("0::/system.slice/docker-{ID}.scope/init.scope")),
            expect("docker")
        );
    }

    #[test]
    fn conmon_and_pod_cgroups_are_not_containers() {
        assert_eq!(found(&format!("libpod-conmon-{ID}.scope")), None);
        assert_eq!(
            found(&format!("0::/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(found(&format!("0::/system.slice/crio-conmon-{ID}.scope")), None);
        assert_eq!(found("9:name=systemd:/\n8:pids:/libpod_parent/conmon\n"), None);
        assert_eq!(found(&format!("8:pids:/libpod_parent/{ID}/conmon\n")), None);
        assert_eq!(found(&format!("8:pids:/libpod_parent/{ID}\n")), None);
        assert_eq!(
            found("0::/kubepods/burstable/pod5b1c0f6e-1111-2222-3333-444455556666\n"),
            None
        );
        assert_eq!(
            found("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5b1c0f6e.slice"),
            None
        );
    }

    #[test]
    fn host_processes_and_malformed_ids_have_no_container() {
        assert_eq!(found("0::/\n"), None);
        assert_eq!(found("0::/user.slice/user-0.slice/session-1.scope\n"), None);
        assert_eq!(
            found("4:memory:/process_api/977c94114eedf5bc368289d8a9518188\n0::/\n"),
            None
        );
        assert_eq!(found(""), None);
        assert_eq!(found(&format!("docker-{}.scope", &ID[..63])), None);
        assert_eq!(found(&format!("docker-{}.scope", ID.to_uppercase())), None);
        assert_eq!(found(&format!("docker-{ID}0.scope")), None);
    }

    #[test]
    fn a_pid_is_read_from_its_proc_cgroup_file() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let dir = proc_root.path().join("4242");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(
            dir.join("cgroup"),
            format!("0::/system.slice/docker-{ID}.scope\n"),
        )
        .expect("write");
        assert_eq!(container_id_of_pid(proc_root.path(), 4242), expect("docker"));
        assert_eq!(container_id_of_pid(proc_root.path(), 4243), None);
    }
}
