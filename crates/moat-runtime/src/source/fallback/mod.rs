//! The fallback kernel event source, for hosts where the eBPF probes cannot load: the netlink
//! process connector ([`ProcConnector`]: exec, fork, exit) and, where it opens, fanotify
//! ([`Fanotify`]: file opens, modifications, executions and closes-after-write on marked
//! file systems or mounts).
//!
//! Both need privileges: the connector CAP_NET_ADMIN in the initial user namespace, fanotify
//! CAP_SYS_ADMIN. [`ProcConnector::probe`] and [`Fanotify::probe`] say whether each works here.
//! One case no probe can tell: the kernel silently ignores a connector subscription from a
//! process outside the initial user and pid namespaces (events are reported with the host's
//! pids), so there the connector opens but stays quiet; run the agent in the host's pid
//! namespace.

mod fanotify;
mod proc_connector;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub use self::fanotify::{Fanotify, MarkScope, WatchedMount};
pub use self::proc_connector::{count_datagram, ProcConnector};
use super::{EventSource, KernelEvent, SourceError, SourceStats};

/// What the fallback source cannot see that the eBPF source does, one sentence each.
const LIMITATIONS: [&str; 7] = [
    "Syscall arguments are not reported: exec, fork and exit come without the syscall that caused them, and file accesses without flags or modes.",
    "Network activity (connect, accept, listen, bind) is not seen.",
    "ptrace, mount, module loading, setuid/setgid, bpf, memfd_create, unshare and setns calls are not seen.",
    "Failed syscalls are not seen: only completed execs and file accesses are reported.",
    "A short-lived process may be gone before /proc is read, leaving its exec event without a file name, arguments or credentials.",
    "File accesses name the process only: fanotify reports no thread, no credentials and no command name.",
    "File accesses are seen only on marked file systems or mounts (each container root needs its own mark), and renames, deletions, links and permission changes are not seen.",
];

/// The fallback source: the process connector, with fanotify when it could be opened.
#[derive(Debug)]
pub struct FallbackSource {
    proc: ProcConnector,
    files: Option<Fanotify>,
    files_error: Option<String>,
}

impl FallbackSource {
    /// Opens the process connector (required) and fanotify (optional: when it fails, the
    /// reason appears in [`limitations`](EventSource::limitations)), and marks each of
    /// `watch` (see [`watch_mount`](Self::watch_mount)).
    pub fn open(watch: &[PathBuf]) -> Result<FallbackSource, SourceError> {
        let proc = ProcConnector::open()?;
        let (files, files_error) = match Fanotify::open() {
            Ok(files) => (Some(files), None),
            Err(error) => (None, Some(error.to_string())),
        };
        let mut source = FallbackSource {
            proc,
            files,
            files_error,
        };
        if source.files.is_some() {
            for path in watch {
                source.watch_mount(path)?;
            }
        }
        Ok(source)
    }

    /// Whether the required part (the process connector) works here.
    pub fn probe() -> Result<(), SourceError> {
        ProcConnector::probe()
    }

    /// Marks the file system (or mount) `path` is on for file accesses; pass
    /// `/proc/<pid>/root` to cover a container. Fails when fanotify did not open.
    pub fn watch_mount(&mut self, path: &Path) -> Result<(), SourceError> {
        match &mut self.files {
            Some(files) => files.watch_mount(path),
            None => Err(SourceError::Unavailable {
                source_name: "fanotify",
                reason: self
                    .files_error
                    .clone()
                    .unwrap_or_else(|| "it was not opened".to_string()),
            }),
        }
    }

    /// The process connector.
    pub fn proc_connector(&self) -> &ProcConnector {
        &self.proc
    }

    /// fanotify, when it opened.
    pub fn fanotify(&self) -> Option<&Fanotify> {
        self.files.as_ref()
    }

    /// Reads whatever both descriptors hold, without waiting.
    fn drain(&mut self, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        self.proc.drain(out)?;
        if let Some(files) = &mut self.files {
            files.drain(out)?;
        }
        Ok(())
    }

    /// Waits until one of the descriptors is readable or `timeout` passes.
    fn wait(&self, timeout: Duration) -> Result<(), SourceError> {
        let mut fds = vec![PollFd::new(self.proc.as_fd(), PollFlags::POLLIN)];
        if let Some(files) = &self.files {
            fds.push(PollFd::new(files.as_fd(), PollFlags::POLLIN));
        }
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(errno) => Err(SourceError::Io {
                source_name: self.name(),
                context: "waiting for events",
                error: errno.into(),
            }),
        }
    }
}

impl EventSource for FallbackSource {
    fn name(&self) -> &'static str {
        if self.files.is_some() {
            "proc-connector+fanotify"
        } else {
            "proc-connector"
        }
    }

    fn limitations(&self) -> Vec<String> {
        let mut limitations: Vec<String> = LIMITATIONS.iter().map(|s| s.to_string()).collect();
        if let Some(error) = &self.files_error {
            limitations.push(format!("No file accesses are seen at all: {error}."));
        }
        limitations
    }

    fn poll(&mut self, timeout: Duration, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        self.wait(timeout)?;
        self.drain(out)
    }

    /// Marks the container's root file system (`/proc/<pid>/root`), which the mark on the
    /// host's `/` does not cover (each container has its own overlay file system).
    fn watch_container(&mut self, pid: u32) -> Result<(), SourceError> {
        self.watch_mount(&std::path::PathBuf::from(format!("/proc/{pid}/root")))
    }

    fn stats(&self) -> SourceStats {
        let proc = self.proc.stats();
        let files = self.files.as_ref().map(Fanotify::stats).unwrap_or_default();
        SourceStats {
            received: proc.received + files.received,
            dropped: proc.dropped + files.dropped,
        }
    }
}

/// Whether a source failed to open because this kernel or sandbox lacks the feature or the
/// privilege (tests then say so and stop), rather than because of a bug.
#[cfg(test)]
fn is_missing_feature(error: &SourceError) -> bool {
    let SourceError::Unavailable { reason, .. } = error else {
        return false;
    };
    ["EPERM", "EACCES", "EPROTONOSUPPORT", "EAFNOSUPPORT", "ENOSYS"]
        .iter()
        .any(|errno| reason.contains(errno))
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Instant;

    use super::*;
    use crate::source::FileAccessKind;

    /// Opens the fallback source on `watch`, or says why this host lacks it.
    fn open_or_explain(watch: &[PathBuf]) -> Option<FallbackSource> {
        match FallbackSource::open(watch) {
            Ok(source) => Some(source),
            Err(error) if is_missing_feature(&error) => {
                eprintln!("skipping: {error}");
                None
            }
            Err(error) => panic!("opening the fallback source: {error}"),
        }
    }

    #[test]
    fn one_poll_loop_sees_a_child_start_write_a_file_and_exit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir_path = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
        let Some(mut source) = open_or_explain(std::slice::from_ref(&dir_path)) else {
            return;
        };
        if source.fanotify().is_none() {
            eprintln!("skipping: fanotify did not open: {:?}", source.limitations());
            return;
        }
        assert_eq!(source.name(), "proc-connector+fanotify");
        assert_eq!(source.limitations().len(), LIMITATIONS.len());
        let file = dir_path.join("out.txt");
        let script = format!("echo x > '{}'", file.display());
        let mut child = Command::new("/bin/sh")
            .args(["-c", &script])
            .spawn()
            .expect("spawn /bin/sh");
        let pid = child.id();
        assert!(child.wait().expect("wait").success());

        let path = file.to_string_lossy().into_owned();
        let wrote = |e: &KernelEvent| {
            matches!(e, KernelEvent::FileAccess(a)
                if a.task.pid == pid && a.kind == FileAccessKind::CloseWrite && a.path == path)
        };
        let exited = |e: &KernelEvent| matches!(e, KernelEvent::Exit(x) if x.task.tid == pid);
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(events.iter().any(wrote) && events.iter().any(exited)) && Instant::now() < deadline {
            source
                .poll(Duration::from_millis(200), &mut events)
                .expect("poll");
        }
        assert!(events.iter().any(wrote), "no close-write of {path} by {pid}");
        let exit = events.iter().find_map(|e| match e {
            KernelEvent::Exit(exit) if exit.task.tid == pid => Some(exit),
            _ => None,
        });
        assert_eq!(exit.expect("the child's exit").code, Some(0));
        assert!(events
            .iter()
            .any(|e| matches!(e, KernelEvent::Fork(f) if f.child_pid == pid)));
        assert_eq!(source.stats().received as usize, events.len());
    }

    #[test]
    fn without_fanotify_the_source_says_so_and_refuses_marks() {
        let proc = match ProcConnector::open() {
            Ok(proc) => proc,
            Err(error) if is_missing_feature(&error) => {
                eprintln!("skipping: {error}");
                return;
            }
            Err(error) => panic!("opening the proc connector: {error}"),
        };
        let mut source = FallbackSource {
            proc,
            files: None,
            files_error: Some("fanotify is unavailable: fanotify_init: EPERM".to_string()),
        };
        assert_eq!(source.name(), "proc-connector");
        let limitations = source.limitations();
        assert_eq!(limitations.len(), LIMITATIONS.len() + 1);
        assert!(limitations[LIMITATIONS.len()].contains("fanotify_init: EPERM"));
        let error = source.watch_mount(Path::new("/")).expect_err("no fanotify");
        assert!(matches!(error, SourceError::Unavailable { .. }), "{error}");
        let mut events = Vec::new();
        source.poll(Duration::ZERO, &mut events).expect("poll");
    }

    #[test]
    fn the_connector_probe_agrees_with_open() {
        match (FallbackSource::probe(), ProcConnector::open()) {
            (Ok(()), Ok(_)) => {}
            (Err(error), Err(_)) if is_missing_feature(&error) => eprintln!("skipping: {error}"),
            (probe, open) => panic!("probe {probe:?} but open {:?}", open.map(|_| ())),
        }
    }
}
