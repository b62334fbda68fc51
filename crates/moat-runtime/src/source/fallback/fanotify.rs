//! fanotify marks on file systems or mounts: which process opened, modified, executed or
//! closed-after-writing which file.
//!
//! Containers are covered one mark per container root: `watch_mount("/proc/<pid>/root")` for
//! a process in the container resolves, in the kernel, to the container's root directory,
//! so the mark lands on the container's root file system (its overlay) or, where file-system
//! marks are not supported, on its root mount. Volumes mounted elsewhere in the container
//! need their own mark.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AT_FDCWD;
use nix::sys::fanotify::{
    EventFFlags, Fanotify as FanotifyGroup, FanotifyEvent, InitFlags, MarkFlags, MaskFlags,
};
use nix::time::{clock_gettime, ClockId};

use crate::source::{FileAccessEvent, FileAccessKind, KernelEvent, SourceError, SourceStats, Task};

/// The name this source reports in errors.
pub(crate) const SOURCE_NAME: &str = "fanotify";

/// The accesses every mark asks for.
const WATCHED: MaskFlags = MaskFlags::FAN_OPEN
    .union(MaskFlags::FAN_MODIFY)
    .union(MaskFlags::FAN_CLOSE_WRITE)
    .union(MaskFlags::FAN_OPEN_EXEC);

/// The watched accesses without `FAN_OPEN_EXEC`, for kernels before 5.0 that lack it.
const WATCHED_WITHOUT_EXEC: MaskFlags = MaskFlags::FAN_OPEN
    .union(MaskFlags::FAN_MODIFY)
    .union(MaskFlags::FAN_CLOSE_WRITE);

/// Each reported mask bit and the access it stands for, in the order they happen.
const KINDS: [(MaskFlags, FileAccessKind); 4] = [
    (MaskFlags::FAN_OPEN, FileAccessKind::Open),
    (MaskFlags::FAN_OPEN_EXEC, FileAccessKind::OpenExec),
    (MaskFlags::FAN_MODIFY, FileAccessKind::Modify),
    (MaskFlags::FAN_CLOSE_WRITE, FileAccessKind::CloseWrite),
];

/// The most reads (of up to 4 KiB of events each) one drain makes.
const MAX_READS_PER_DRAIN: usize = 256;

/// What a mark covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkScope {
    /// The whole file system the path is on (`FAN_MARK_FILESYSTEM`, Linux 4.20+): every mount
    /// of it, bind mounts included.
    Filesystem,
    /// Only the mount the path is on (`FAN_MARK_MOUNT`).
    Mount,
}

/// A path given to [`Fanotify::watch_mount`] and how it ended up marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedMount {
    /// The path as given.
    pub path: PathBuf,
    /// What the mark covers.
    pub scope: MarkScope,
    /// Whether executions (`FAN_OPEN_EXEC`) are reported (not before Linux 5.0).
    pub reports_exec: bool,
}

/// A fanotify notification group (no permission events: it only watches).
#[derive(Debug)]
pub struct Fanotify {
    group: FanotifyGroup,
    marks: Vec<WatchedMount>,
    own_pid: i32,
    stats: SourceStats,
    unresolved: u64,
}

/// Why fanotify cannot be used, from the errno of the step that failed.
fn unavailable(step: &str, errno: Errno) -> SourceError {
    let hint = match errno {
        Errno::EPERM | Errno::EACCES => " (fanotify needs CAP_SYS_ADMIN)",
        Errno::ENOSYS => " (the kernel was built without CONFIG_FANOTIFY)",
        Errno::EINVAL => " (the kernel does not support the requested fanotify flags)",
        _ => "",
    };
    SourceError::Unavailable {
        source_name: SOURCE_NAME,
        reason: format!("{step}: {errno}{hint}"),
    }
}

/// Nanoseconds since the Unix epoch now (fanotify events carry no timestamp).
fn now_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_REALTIME)
        .ok()
        .and_then(|ts| {
            let ns = i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec());
            u64::try_from(ns).ok()
        })
        .unwrap_or(0)
}

impl Fanotify {
    /// Creates a notification group (`FAN_CLASS_NOTIF`, non-blocking, event files opened
    /// read-only). It watches nothing until [`watch_mount`](Self::watch_mount).
    pub fn open() -> Result<Fanotify, SourceError> {
        let group = FanotifyGroup::init(
            InitFlags::FAN_CLASS_NOTIF | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE,
        )
        .map_err(|errno| unavailable("fanotify_init", errno))?;
        Ok(Fanotify {
            group,
            marks: Vec::new(),
            own_pid: i32::try_from(std::process::id()).unwrap_or(-1),
            stats: SourceStats::default(),
            unresolved: 0,
        })
    }

    /// Whether fanotify works here: opens a group, marks `/` and closes it again, or says
    /// why not.
    pub fn probe() -> Result<(), SourceError> {
        let mut fanotify = Self::open()?;
        fanotify.watch_mount(Path::new("/")).map_err(|error| match error {
            SourceError::Io { error, .. } => SourceError::Unavailable {
                source_name: SOURCE_NAME,
                reason: error.to_string(),
            },
            other => other,
        })
    }

    /// Marks the file system `path` is on (`FAN_MARK_FILESYSTEM`) or, where the kernel refuses
    /// that, its mount (`FAN_MARK_MOUNT`), for opens, modifications, executions and
    /// closes-after-write. [`marks`](Self::marks) says which was used. For a container, pass
    /// `/proc/<pid>/root` of one of its processes.
    pub fn watch_mount(&mut self, path: &Path) -> Result<(), SourceError> {
        let attempts = [
            (MarkScope::Filesystem, WATCHED),
            (MarkScope::Mount, WATCHED),
            (MarkScope::Filesystem, WATCHED_WITHOUT_EXEC),
            (MarkScope::Mount, WATCHED_WITHOUT_EXEC),
        ];
        let mut first_error = None;
        for (scope, mask) in attempts {
            match self.mark(path, scope, mask) {
                Ok(()) => {
                    self.marks.push(WatchedMount {
                        path: path.to_path_buf(),
                        scope,
                        reports_exec: mask.contains(MaskFlags::FAN_OPEN_EXEC),
                    });
                    return Ok(());
                }
                // Only an unsupported flag is worth another try; ENOENT, EPERM … are final.
                Err(Errno::EINVAL) => first_error = first_error.or(Some(Errno::EINVAL)),
                Err(errno) => return Err(mark_error(path, errno)),
            }
        }
        Err(mark_error(path, first_error.unwrap_or(Errno::EINVAL)))
    }

    /// Adds one mark.
    fn mark(&self, path: &Path, scope: MarkScope, mask: MaskFlags) -> Result<(), Errno> {
        let scope_flag = match scope {
            MarkScope::Filesystem => MarkFlags::FAN_MARK_FILESYSTEM,
            MarkScope::Mount => MarkFlags::FAN_MARK_MOUNT,
        };
        self.group
            .mark(MarkFlags::FAN_MARK_ADD | scope_flag, mask, AT_FDCWD, Some(path))
    }

    /// The paths marked so far and what each mark covers.
    pub fn marks(&self) -> &[WatchedMount] {
        &self.marks
    }

    /// Events delivered and queue overflows so far.
    pub fn stats(&self) -> SourceStats {
        self.stats
    }

    /// Events skipped because their file's path could not be read or their metadata version
    /// was not the one this build knows.
    pub fn unresolved(&self) -> u64 {
        self.unresolved
    }

    /// Reads the queued events (up to a bound) and appends them, one [`FileAccessEvent`] per
    /// access bit (the kernel merges repeated accesses of one file by one process). Never
    /// blocks; a queue overflow counts as one dropped event.
    pub fn drain(&mut self, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        let ts = now_ns();
        for _ in 0..MAX_READS_PER_DRAIN {
            match self.group.read_events() {
                Ok(events) if events.is_empty() => return Ok(()),
                Ok(events) => {
                    for event in events {
                        self.handle_event(ts, event, out);
                    }
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    return Err(SourceError::Io {
                        source_name: SOURCE_NAME,
                        context: "reading fanotify events",
                        error: io::Error::from(errno),
                    })
                }
            }
        }
        Ok(())
    }

    /// Turns one event into file accesses. The event owns the descriptor the kernel opened
    /// for it, which is closed when `event` is dropped at the end.
    fn handle_event(&mut self, ts: u64, event: FanotifyEvent, out: &mut Vec<KernelEvent>) {
        if !event.check_version() {
            self.unresolved += 1;
            return;
        }
        let mask = event.mask();
        if mask.contains(MaskFlags::FAN_Q_OVERFLOW) {
            self.stats.dropped += 1;
            return;
        }
        if event.pid() == self.own_pid {
            return;
        }
        let Some(path) = event.fd().and_then(|fd| path_of(fd).ok()) else {
            self.unresolved += 1;
            return;
        };
        let pid = u32::try_from(event.pid()).unwrap_or(0);
        for (flag, kind) in KINDS {
            if mask.contains(flag) {
                out.push(KernelEvent::FileAccess(file_access(ts, pid, kind, &path)));
                self.stats.received += 1;
            }
        }
    }
}

impl AsFd for Fanotify {
    /// The group's descriptor, to wait on.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.group.as_fd()
    }
}

/// The path of an event's file, from `/proc/self/fd/<fd>` (`… (deleted)` once unlinked).
fn path_of(fd: BorrowedFd<'_>) -> io::Result<String> {
    let link = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    Ok(link.to_string_lossy().into_owned())
}

/// A file access by process `pid`: fanotify names no thread (tid = pid), no credentials
/// (uid and gid 0 here, meaning unknown) and no comm, and gives no timestamp (`ts` is when the
/// event was read).
fn file_access(ts: u64, pid: u32, kind: FileAccessKind, path: &str) -> FileAccessEvent {
    FileAccessEvent {
        task: Task {
            ts,
            pid,
            tid: pid,
            ..Task::default()
        },
        kind,
        path: path.to_string(),
    }
}

/// The error for a mark that could not be added, naming the path.
fn mark_error(path: &Path, errno: Errno) -> SourceError {
    SourceError::Io {
        source_name: SOURCE_NAME,
        context: "adding a fanotify mark",
        error: io::Error::new(
            io::Error::from(errno).kind(),
            format!("{}: {errno}", path.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    use super::*;

    /// Opens a group, or says why this kernel or sandbox lacks fanotify.
    fn open_or_explain() -> Option<Fanotify> {
        match Fanotify::open() {
            Ok(fanotify) => Some(fanotify),
            Err(error) if super::super::is_missing_feature(&error) => {
                eprintln!("skipping: {error}");
                None
            }
            Err(error) => panic!("opening fanotify: {error}"),
        }
    }

    /// The accesses of `path` by `pid` among `events`.
    fn accesses(events: &[KernelEvent], pid: u32, path: &str) -> Vec<FileAccessKind> {
        events
            .iter()
            .filter_map(|event| match event {
                KernelEvent::FileAccess(access) if access.task.pid == pid && access.path == path => {
                    Some(access.kind)
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_child_writing_a_file_is_seen_modifying_and_closing_it() {
        let Some(mut fanotify) = open_or_explain() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let dir_path = fs::canonicalize(dir.path()).expect("canonical tempdir");
        fanotify
            .watch_mount(&dir_path)
            .expect("mark the tempdir's file system");
        assert_eq!(fanotify.marks().len(), 1);
        assert_eq!(fanotify.marks()[0].path, dir_path);
        eprintln!("marked: {:?}", fanotify.marks()[0]);

        // Our own accesses are not reported.
        let own = dir_path.join("own.txt");
        fs::write(&own, "mine").expect("write own file");
        let file = dir_path.join("written.txt");
        let script = format!("echo x > '{}'", file.display());
        let mut child = Command::new("/bin/sh")
            .args(["-c", &script])
            .spawn()
            .expect("spawn /bin/sh");
        let pid = child.id();
        assert!(child.wait().expect("wait").success());

        let path = file.to_string_lossy().into_owned();
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !accesses(&events, pid, &path).contains(&FileAccessKind::CloseWrite)
            && Instant::now() < deadline
        {
            let mut fds = [PollFd::new(fanotify.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(200u16)).expect("poll");
            fanotify.drain(&mut events).expect("drain");
        }
        let kinds = accesses(&events, pid, &path);
        for kind in [
            FileAccessKind::Open,
            FileAccessKind::Modify,
            FileAccessKind::CloseWrite,
        ] {
            assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
        }
        let access = events.iter().find_map(|event| match event {
            KernelEvent::FileAccess(access) if access.task.pid == pid => Some(access),
            _ => None,
        });
        let task = &access.expect("an access by the child").task;
        assert_eq!((task.tid, task.uid, task.gid), (pid, 0, 0));
        let own_pid = std::process::id();
        assert!(!events
            .iter()
            .any(|event| matches!(event, KernelEvent::FileAccess(access) if access.task.pid == own_pid)));
        assert_eq!(fanotify.stats().received as usize, events.len());
    }

    #[test]
    fn marking_a_missing_path_names_it() {
        let Some(mut fanotify) = open_or_explain() else {
            return;
        };
        let missing = Path::new("/nonexistent/moat-fanotify-mark");
        let error = fanotify.watch_mount(missing).expect_err("no such path");
        let message = error.to_string();
        assert!(message.contains("/nonexistent/moat-fanotify-mark"), "{message}");
        assert!(message.contains("ENOENT"), "{message}");
        assert!(fanotify.marks().is_empty());
    }

    #[test]
    fn the_probe_agrees_with_open() {
        match (Fanotify::probe(), Fanotify::open()) {
            (Ok(()), Ok(_)) => {}
            (Err(error), Err(_)) if super::super::is_missing_feature(&error) => {
                eprintln!("skipping: {error}");
            }
            (probe, open) => panic!("probe {probe:?} but open {:?}", open.map(|_| ())),
        }
    }
}
