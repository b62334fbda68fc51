//! Killing the process an alert is about (opt-in).

use crate::replay::Alert;
use moat_rules::Priority;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;
use std::fmt;

/// Sends SIGKILL to the process of every alert at or above a priority.
///
/// The pid is the alert's `context.pid`, as the host sees it. A pid can be reused between
/// the event and the kill; the kill follows the alert immediately to keep that window short.
/// The killer never signals pid 0 (its own process group), pid 1 (init), itself or its
/// parent.
#[derive(Debug, Clone)]
pub struct Killer {
    min_priority: Priority,
    containers_only: bool,
}

/// What the killer did with one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum KillOutcome {
    /// SIGKILL was delivered.
    Killed {
        /// The process killed.
        pid: u64,
    },
    /// Nothing was done.
    Skipped {
        /// Why (`below Critical`, `pid 1 is init`, …).
        reason: String,
    },
    /// The signal could not be sent (the process was gone, or not ours to signal).
    Failed {
        /// The process.
        pid: u64,
        /// The system error.
        error: String,
    },
}

impl fmt::Display for KillOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillOutcome::Killed { pid } => write!(f, "killed pid {pid}"),
            KillOutcome::Skipped { reason } => write!(f, "skipped: {reason}"),
            KillOutcome::Failed { pid, error } => write!(f, "kill of pid {pid} failed: {error}"),
        }
    }
}

impl Killer {
    /// A killer of the processes of alerts at `min_priority` or above.
    pub fn new(min_priority: Priority) -> Killer {
        Killer {
            min_priority,
            containers_only: false,
        }
    }

    /// The same killer, leaving alone processes outside containers (`container.id` `host`).
    pub fn containers_only(self) -> Killer {
        Killer {
            containers_only: true,
            ..self
        }
    }

    /// Kills the alert's process, unless the alert is below the killer's priority or the
    /// process is one the killer must not touch.
    pub fn respond(&mut self, alert: &Alert) -> KillOutcome {
        if !self.applies_to(alert) {
            return skipped(format!("below {}", self.min_priority));
        }
        if self.containers_only && alert.context.container_id == "host" {
            return skipped("not in a container".to_string());
        }
        let pid = alert.context.pid;
        if let Some(reason) = protected(pid) {
            return skipped(reason);
        }
        let Ok(raw) = i32::try_from(pid) else {
            return skipped(format!("pid {pid} is out of range"));
        };
        match kill(Pid::from_raw(raw), Signal::SIGKILL) {
            Ok(()) => KillOutcome::Killed { pid },
            Err(errno) => KillOutcome::Failed {
                pid,
                error: errno.desc().to_string(),
            },
        }
    }

    /// Whether the alert's priority is high enough for the killer to act on it.
    pub(crate) fn applies_to(&self, alert: &Alert) -> bool {
        alert.priority >= self.min_priority
    }
}

fn skipped(reason: String) -> KillOutcome {
    KillOutcome::Skipped { reason }
}

/// Why `pid` must not be killed, if it must not.
fn protected(pid: u64) -> Option<String> {
    let own = u64::from(std::process::id());
    let parent = u64::from(std::os::unix::process::parent_id());
    match pid {
        0 => Some("pid 0 is no process".to_string()),
        1 => Some("pid 1 is init".to_string()),
        _ if pid == own => Some(format!("pid {pid} is moat itself")),
        _ if pid == parent => Some(format!("pid {pid} is moat's parent")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::sample_alert;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    fn alert_for(pid: u64) -> Alert {
        let mut alert = sample_alert();
        alert.context.pid = pid;
        alert
    }

    #[test]
    fn kills_the_process_with_sigkill() {
        let mut child = match Command::new("sleep").arg("30").spawn() {
            Ok(child) => child,
            Err(error) => {
                eprintln!("skipped: cannot start `sleep`: {error}");
                return;
            }
        };
        let pid = u64::from(child.id());
        let outcome = Killer::new(Priority::Critical).respond(&alert_for(pid));
        if outcome != (KillOutcome::Killed { pid }) {
            // Do not leave the child running (or the test waiting) when the kill failed.
            let _ = child.kill();
        }
        let status = child.wait().expect("wait for the child");
        assert_eq!(outcome, KillOutcome::Killed { pid });
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32), "{status:?}");
    }

    #[test]
    fn refuses_init_itself_its_parent_and_pid_0() {
        let mut killer = Killer::new(Priority::Debug);
        let own = u64::from(std::process::id());
        let parent = u64::from(std::os::unix::process::parent_id());
        for pid in [0, 1, own, parent] {
            let outcome = killer.respond(&alert_for(pid));
            assert!(matches!(outcome, KillOutcome::Skipped { .. }), "{pid}: {outcome}");
        }
        assert_eq!(
            killer.respond(&alert_for(1)).to_string(),
            "skipped: pid 1 is init"
        );
        assert_eq!(
            killer.respond(&alert_for(own)).to_string(),
            format!("skipped: pid {own} is moat itself")
        );
    }

    #[test]
    fn skips_alerts_below_its_priority_and_out_of_range_pids() {
        let mut killer = Killer::new(Priority::Alert);
        let outcome = killer.respond(&alert_for(4242));
        assert_eq!(outcome.to_string(), "skipped: below Alert");
        let mut killer = Killer::new(Priority::Debug);
        let outcome = killer.respond(&alert_for(u64::from(u32::MAX)));
        assert_eq!(outcome.to_string(), "skipped: pid 4294967295 is out of range");
    }

    #[test]
    fn containers_only_leaves_host_processes_alone() {
        let mut alert = alert_for(4242);
        alert.context.container_id = "host".to_string();
        let outcome = Killer::new(Priority::Debug).containers_only().respond(&alert);
        assert_eq!(outcome.to_string(), "skipped: not in a container");
    }

    #[test]
    fn a_missing_process_is_a_failure() {
        let pid = 1 << 30;
        let outcome = Killer::new(Priority::Debug).respond(&alert_for(pid));
        assert_eq!(
            outcome,
            KillOutcome::Failed {
                pid,
                error: "No such process".to_string()
            }
        );
    }
}
