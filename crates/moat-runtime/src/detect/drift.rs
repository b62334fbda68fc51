//! Container drift: a program run in a container that is not part of its image.
//!
//! For each container, the detector remembers the paths created or written after it first
//! saw the container (write opens, `creat`, rename targets, new links, a `chmod` that sets an
//! execute bit). A program run from one of them, from the container's writable overlay layer
//! or from a memory file raises [`DRIFT_RULE`], once per container and path until the file is
//! written again.

use super::{
    build_alert, chmod_path, is_exec, mode_has_exec, written_paths, ContainerTable, Detector, Finding,
};
use crate::event::RuntimeEvent;
use crate::replay::Alert;
use moat_rules::Priority;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};

/// Rule name of drift alerts.
pub const DRIFT_RULE: &str = "Moat: drift detected (executable written after start)";

/// Paths remembered per container; past it, the oldest are forgotten.
const MAX_PATHS: usize = 10_000;

/// Follows writes and program runs in containers.
pub struct DriftDetector {
    containers: ContainerTable<Written>,
}

/// What one container wrote, oldest first, and the paths already reported.
#[derive(Default)]
struct Written {
    paths: HashSet<String>,
    order: VecDeque<String>,
    reported: HashSet<String>,
}

impl Written {
    fn insert(&mut self, path: String) {
        self.reported.remove(&path);
        if self.paths.contains(&path) {
            return;
        }
        if self.order.len() >= MAX_PATHS {
            if let Some(oldest) = self.order.pop_front() {
                self.paths.remove(&oldest);
            }
        }
        self.order.push_back(path.clone());
        self.paths.insert(path);
    }

    /// True the first time `path` is reported (until it is written again).
    fn first_report(&mut self, path: &str) -> bool {
        if self.reported.len() >= MAX_PATHS {
            self.reported.clear();
        }
        self.reported.insert(path.to_string())
    }
}

impl DriftDetector {
    /// A detector that has seen nothing yet.
    pub fn new() -> DriftDetector {
        DriftDetector {
            containers: ContainerTable::new(),
        }
    }
}

impl Default for DriftDetector {
    fn default() -> DriftDetector {
        DriftDetector::new()
    }
}

impl Detector for DriftDetector {
    fn name(&self) -> &'static str {
        "drift"
    }

    fn observe(&mut self, event: &RuntimeEvent, out: &mut Vec<Alert>) {
        let Some(container) = &event.container else {
            return;
        };
        if self.containers.forget_on_init_exit(event) {
            return;
        }
        let (tracked, _) = self.containers.track(container, event.ts, Written::default);
        let written = &mut tracked.state;
        if is_exec(event) {
            if let Some(alert) = check_exec(event, written) {
                out.push(alert);
            }
            return;
        }
        for path in written_paths(event) {
            written.insert(path);
        }
        if let Some(path) = chmod_path(event).filter(|_| mode_has_exec(event.args.get("mode"))) {
            written.insert(path);
        }
    }
}

/// The alert for a program run from a drifted file, unless already reported.
fn check_exec(event: &RuntimeEvent, written: &mut Written) -> Option<Alert> {
    let process = &event.process;
    let path = if process.exepath.is_empty() {
        &process.name
    } else {
        &process.exepath
    };
    let reason = if written.paths.contains(path) {
        "written after the container started"
    } else if process.is_exe_from_memfd {
        "run from a memory file (memfd)"
    } else if process.is_exe_upper_layer {
        "in the container's writable layer, not in the image"
    } else {
        return None;
    };
    if !written.first_report(path) {
        return None;
    }
    let finding = Finding {
        rule: DRIFT_RULE,
        priority: Priority::Critical,
        tags: &["container", "drift", "mitre_execution"],
        summary: "Executable not in the container image was run",
        fields: vec![
            ("drift.path", Value::from(path.as_str())),
            ("drift.reason", Value::from(reason)),
        ],
    };
    Some(build_alert(event, event.ts, finding))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn run(detector: &mut DriftDetector, events: &[crate::event::RuntimeEvent]) -> Vec<Alert> {
        let mut out = Vec::new();
        for event in events {
            detector.observe(event, &mut out);
        }
        out
    }

    #[test]
    fn a_file_written_then_run_raises_drift_once() {
        let c = container("c1", "web:1");
        let mut detector = DriftDetector::new();
        let alerts = run(
            &mut detector,
            &[
                open(1, "/tmp/payload", "O_WRONLY|O_CREAT|O_TRUNC", Some(&c)),
                exec(2, "/tmp/payload", Some(&c)),
                exec(3, "/tmp/payload", Some(&c)),
            ],
        );
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.rule, DRIFT_RULE);
        assert_eq!(alert.priority, Priority::Critical);
        assert_eq!(alert.tags, ["container", "drift", "mitre_execution"]);
        assert_eq!(alert.source, "syscall");
        assert_eq!(alert.output_fields["drift.path"], "/tmp/payload");
        assert_eq!(
            alert.output_fields["drift.reason"],
            "written after the container started"
        );
        assert_eq!(alert.output_fields["container.id"], "c1");
        assert!(alert.output_fields.contains_key("k8s.pod.name"));
        assert!(
            alert.output.contains("drift.path=/tmp/payload"),
            "{}",
            alert.output
        );
        assert_eq!(alert.context.container_id, "c1");
        assert_eq!(alert.context.event_num, 2);
        // Written again: a new file, reported again.
        let again = run(
            &mut detector,
            &[
                open(4, "/tmp/payload", "O_RDWR", Some(&c)),
                exec(5, "/tmp/payload", Some(&c)),
            ],
        );
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn image_files_host_processes_and_other_containers_raise_nothing() {
        let c1 = container("c1", "web:1");
        let c2 = container("c2", "web:1");
        let mut detector = DriftDetector::new();
        let alerts = run(
            &mut detector,
            &[
                open(1, "/etc/hosts", "O_RDONLY", Some(&c1)),
                exec(2, "/usr/bin/ls", Some(&c1)),
                exec(3, "/etc/hosts", Some(&c1)),
                open(4, "/tmp/host-tool", "O_WRONLY|O_CREAT", None),
                exec(5, "/tmp/host-tool", None),
                open(6, "/tmp/tool", "O_WRONLY|O_CREAT", Some(&c1)),
                exec(7, "/tmp/tool", Some(&c2)),
            ],
        );
        assert!(alerts.is_empty(), "{alerts:#?}");
    }

    #[test]
    fn renames_links_and_chmod_plus_x_count_as_writes() {
        let c = container("c1", "web:1");
        let mut detector = DriftDetector::new();
        let rename = with_args(
            1,
            "renameat2",
            &[("oldpath", "/tmp/a"), ("newpath", "/usr/local/bin/a")],
            Some(&c),
        );
        let symlink = with_args(
            2,
            "symlinkat",
            &[("target", "/tmp/x"), ("linkpath", "/usr/bin/b")],
            Some(&c),
        );
        let mut chmod = with_args(3, "fchmodat", &[("filename", "/opt/c")], Some(&c));
        chmod.args.push("mode", 0o755_i64);
        let mut chmod_plain = with_args(4, "chmod", &[("filename", "/opt/d")], Some(&c));
        chmod_plain.args.push("mode", 0o644_i64);
        let alerts = run(
            &mut detector,
            &[
                rename,
                symlink,
                chmod,
                chmod_plain,
                exec(5, "/usr/local/bin/a", Some(&c)),
                exec(6, "/usr/bin/b", Some(&c)),
                exec(7, "/opt/c", Some(&c)),
                exec(8, "/opt/d", Some(&c)),
            ],
        );
        let paths: Vec<&Value> = alerts.iter().map(|a| &a.output_fields["drift.path"]).collect();
        assert_eq!(paths, ["/usr/local/bin/a", "/usr/bin/b", "/opt/c"]);
    }

    #[test]
    fn upper_layer_and_memfd_executables_are_drift_too() {
        let c = container("c1", "web:1");
        let mut upper = exec(1, "/usr/bin/copied", Some(&c));
        std::sync::Arc::make_mut(&mut upper.process).is_exe_upper_layer = true;
        let mut memfd = exec(2, "memfd:x (deleted)", Some(&c));
        std::sync::Arc::make_mut(&mut memfd.process).is_exe_from_memfd = true;
        let mut failed = exec(3, "/usr/bin/other", Some(&c));
        std::sync::Arc::make_mut(&mut failed.process).is_exe_upper_layer = true;
        failed.res = -2;
        let alerts = run(&mut DriftDetector::new(), &[upper, memfd, failed]);
        let reasons: Vec<&Value> = alerts.iter().map(|a| &a.output_fields["drift.reason"]).collect();
        assert_eq!(
            reasons,
            [
                "in the container's writable layer, not in the image",
                "run from a memory file (memfd)"
            ]
        );
    }

    #[test]
    fn a_restarted_container_starts_afresh() {
        let c = container("c1", "web:1");
        let mut init_exit = event(2, "procexit", Some(&c));
        std::sync::Arc::make_mut(&mut init_exit.process).vpid = 1;
        let alerts = run(
            &mut DriftDetector::new(),
            &[
                open(1, "/tmp/tool", "O_WRONLY|O_CREAT", Some(&c)),
                init_exit,
                exec(3, "/tmp/tool", Some(&c)),
            ],
        );
        assert!(
            alerts.is_empty(),
            "the write belonged to the stopped container: {alerts:#?}"
        );
    }

    #[test]
    fn memory_per_container_is_bounded() {
        let mut written = Written::default();
        for n in 0..MAX_PATHS + 5 {
            written.insert(format!("/tmp/{n}"));
        }
        assert_eq!(written.paths.len(), MAX_PATHS);
        assert!(!written.paths.contains("/tmp/0"), "the oldest is forgotten");
        assert!(written.paths.contains(&format!("/tmp/{}", MAX_PATHS + 4)));
    }
}
