//! Kernel event sources and what they report.
//!
//! A source ([`EventSource`]) turns what the kernel tells it into [`KernelEvent`]s: raw facts
//! about one task (pid, tid, credentials, the cgroup it ran in) and one syscall or process
//! life-cycle step, before the process table, fd tables and container attribution of
//! [`crate::state`] make them into [`RuntimeEvent`](crate::RuntimeEvent)s for the rules.

pub mod ebpf;
pub mod fallback;

use std::net::SocketAddr;
use std::time::Duration;

/// The task (thread) that caused an event, as the kernel saw it at that moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Task {
    /// Nanoseconds since the Unix epoch.
    pub ts: u64,
    /// Process id (the kernel's tgid).
    pub pid: u32,
    /// Thread id (the kernel's pid).
    pub tid: u32,
    /// Parent process id, where the source knows it.
    pub ppid: Option<u32>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// The kernel's 16-byte command name (`comm`).
    pub comm: String,
    /// Name of the task's cgroup leaf directory in the default hierarchy
    /// (`libpod-<64 hex>`, `docker-<64 hex>.scope`, …), where the source reads it.
    pub cgroup: Option<String>,
}

/// The syscalls the sources report (besides the exec/fork/exit life cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syscall {
    /// open(2)
    Open,
    /// openat(2)
    Openat,
    /// openat2(2)
    Openat2,
    /// creat(2)
    Creat,
    /// connect(2)
    Connect,
    /// accept(2)
    Accept,
    /// accept4(2)
    Accept4,
    /// bind(2)
    Bind,
    /// listen(2)
    Listen,
    /// socket(2)
    Socket,
    /// unlink(2)
    Unlink,
    /// unlinkat(2)
    Unlinkat,
    /// rename(2)
    Rename,
    /// renameat(2)
    Renameat,
    /// renameat2(2)
    Renameat2,
    /// mkdir(2)
    Mkdir,
    /// mkdirat(2)
    Mkdirat,
    /// symlink(2)
    Symlink,
    /// symlinkat(2)
    Symlinkat,
    /// link(2)
    Link,
    /// linkat(2)
    Linkat,
    /// chmod(2)
    Chmod,
    /// fchmod(2)
    Fchmod,
    /// fchmodat(2)
    Fchmodat,
    /// setuid(2)
    Setuid,
    /// setgid(2)
    Setgid,
    /// setreuid(2)
    Setreuid,
    /// setregid(2)
    Setregid,
    /// setresuid(2)
    Setresuid,
    /// setresgid(2)
    Setresgid,
    /// ptrace(2)
    Ptrace,
    /// mount(2)
    Mount,
    /// init_module(2)
    InitModule,
    /// finit_module(2)
    FinitModule,
    /// memfd_create(2)
    MemfdCreate,
    /// bpf(2)
    Bpf,
    /// unshare(2)
    Unshare,
    /// setns(2)
    Setns,
}

impl Syscall {
    /// Every syscall, in declaration order.
    pub const ALL: [Syscall; 38] = [
        Syscall::Open,
        Syscall::Openat,
        Syscall::Openat2,
        Syscall::Creat,
        Syscall::Connect,
        Syscall::Accept,
        Syscall::Accept4,
        Syscall::Bind,
        Syscall::Listen,
        Syscall::Socket,
        Syscall::Unlink,
        Syscall::Unlinkat,
        Syscall::Rename,
        Syscall::Renameat,
        Syscall::Renameat2,
        Syscall::Mkdir,
        Syscall::Mkdirat,
        Syscall::Symlink,
        Syscall::Symlinkat,
        Syscall::Link,
        Syscall::Linkat,
        Syscall::Chmod,
        Syscall::Fchmod,
        Syscall::Fchmodat,
        Syscall::Setuid,
        Syscall::Setgid,
        Syscall::Setreuid,
        Syscall::Setregid,
        Syscall::Setresuid,
        Syscall::Setresgid,
        Syscall::Ptrace,
        Syscall::Mount,
        Syscall::InitModule,
        Syscall::FinitModule,
        Syscall::MemfdCreate,
        Syscall::Bpf,
        Syscall::Unshare,
        Syscall::Setns,
    ];

    /// The name Falco's rules use for it (`evt.type`).
    pub fn name(self) -> &'static str {
        match self {
            Syscall::Open => "open",
            Syscall::Openat => "openat",
            Syscall::Openat2 => "openat2",
            Syscall::Creat => "creat",
            Syscall::Connect => "connect",
            Syscall::Accept => "accept",
            Syscall::Accept4 => "accept4",
            Syscall::Bind => "bind",
            Syscall::Listen => "listen",
            Syscall::Socket => "socket",
            Syscall::Unlink => "unlink",
            Syscall::Unlinkat => "unlinkat",
            Syscall::Rename => "rename",
            Syscall::Renameat => "renameat",
            Syscall::Renameat2 => "renameat2",
            Syscall::Mkdir => "mkdir",
            Syscall::Mkdirat => "mkdirat",
            Syscall::Symlink => "symlink",
            Syscall::Symlinkat => "symlinkat",
            Syscall::Link => "link",
            Syscall::Linkat => "linkat",
            Syscall::Chmod => "chmod",
            Syscall::Fchmod => "fchmod",
            Syscall::Fchmodat => "fchmodat",
            Syscall::Setuid => "setuid",
            Syscall::Setgid => "setgid",
            Syscall::Setreuid => "setreuid",
            Syscall::Setregid => "setregid",
            Syscall::Setresuid => "setresuid",
            Syscall::Setresgid => "setresgid",
            Syscall::Ptrace => "ptrace",
            Syscall::Mount => "mount",
            Syscall::InitModule => "init_module",
            Syscall::FinitModule => "finit_module",
            Syscall::MemfdCreate => "memfd_create",
            Syscall::Bpf => "bpf",
            Syscall::Unshare => "unshare",
            Syscall::Setns => "setns",
        }
    }
}

/// A successful execve/execveat: the task now runs a new program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecEvent {
    /// The task after the exec (its `comm` is the new program's).
    pub task: Task,
    /// The path that was executed, as the kernel resolved it (`/usr/bin/cat`; `/memfd:x (deleted)`
    /// for a memfd).
    pub filename: String,
    /// The argument vector, where the source could read it; otherwise the state reads
    /// `/proc/<pid>/cmdline`.
    pub args: Option<Vec<String>>,
}

/// A new process or thread.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForkEvent {
    /// The parent at the time of the fork.
    pub parent: Task,
    /// The child's process id (tgid).
    pub child_pid: u32,
    /// The child's thread id.
    pub child_tid: u32,
}

/// A task ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitEvent {
    /// The task that exited.
    pub task: Task,
    /// Its exit code (the wait status), where known.
    pub code: Option<i32>,
    /// Whether the whole process ended (the thread group leader's exit), not just one thread.
    pub process_ended: bool,
}

/// One traced syscall at its exit, with the arguments it was entered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEvent {
    /// The calling task.
    pub task: Task,
    /// Which syscall.
    pub syscall: Syscall,
    /// The return value (negative errno on failure).
    pub ret: i64,
    /// The raw argument registers at entry.
    pub args: [u64; 6],
    /// The first path argument as read from the caller's memory (the open/unlink/chmod/mount
    /// source path, the rename/link/symlink source or target as the syscall names it first).
    pub path: Option<String>,
    /// The second path argument (rename/link target, symlink link path, mount target).
    pub path2: Option<String>,
    /// The socket address argument of connect/bind, or the peer address accept returned.
    pub addr: Option<SocketAddr>,
}

/// What fanotify saw happen to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileAccessKind {
    /// Opened.
    Open,
    /// Opened for execution.
    OpenExec,
    /// Modified (a write).
    Modify,
    /// Closed after being opened for writing.
    CloseWrite,
}

/// A file access reported by fanotify (the fallback source), which names the process and the
/// file but not the syscall or its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAccessEvent {
    /// The accessing process (pid only: fanotify reports no thread or credentials).
    pub task: Task,
    /// Which access.
    pub kind: FileAccessKind,
    /// The file's path, from the event's fd (`/proc/self/fd/N`).
    pub path: String,
}

/// One fact from a kernel source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// A program was executed.
    Exec(ExecEvent),
    /// A process or thread was created.
    Fork(ForkEvent),
    /// A process or thread ended.
    Exit(ExitEvent),
    /// A traced syscall returned.
    Syscall(SyscallEvent),
    /// A file was accessed (fanotify).
    FileAccess(FileAccessEvent),
}

/// Counters a source keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceStats {
    /// Events delivered by [`EventSource::poll`].
    pub received: u64,
    /// Events the kernel side had to drop (ring buffer full, netlink overrun, fanotify queue
    /// overflow).
    pub dropped: u64,
}

/// Why a source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source cannot start here; the message says what is missing.
    #[error("{source_name} is unavailable: {reason}")]
    Unavailable {
        /// Which source.
        source_name: &'static str,
        /// What is missing (a kernel feature, a privilege, a build without clang, …).
        reason: String,
    },
    /// Reading from a running source failed.
    #[error("{source_name}: {context}: {error}")]
    Io {
        /// Which source.
        source_name: &'static str,
        /// What it was doing.
        context: &'static str,
        /// The error.
        error: std::io::Error,
    },
}

/// Nanoseconds to add to a `CLOCK_MONOTONIC` reading (the kernel's event clock) to get ns
/// since the Unix epoch, as of now: a clock step afterwards shifts later events by that step.
pub(crate) fn realtime_minus_monotonic_ns() -> Result<i128, nix::errno::Errno> {
    use nix::time::{clock_gettime, ClockId};
    let as_ns =
        |ts: nix::sys::time::TimeSpec| i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec());
    let realtime = clock_gettime(ClockId::CLOCK_REALTIME)?;
    let monotonic = clock_gettime(ClockId::CLOCK_MONOTONIC)?;
    Ok(as_ns(realtime) - as_ns(monotonic))
}

/// A running source of kernel events.
pub trait EventSource {
    /// Its name as Moat reports it (`ebpf`, `proc-connector+fanotify`).
    fn name(&self) -> &'static str;
    /// What this source cannot see, one sentence each (empty for the full eBPF source).
    fn limitations(&self) -> Vec<String>;
    /// Waits up to `timeout` for events and appends those that arrived to `out`.
    fn poll(&mut self, timeout: Duration, out: &mut Vec<KernelEvent>) -> Result<(), SourceError>;
    /// Its counters so far.
    fn stats(&self) -> SourceStats;
    /// Called once for each new container, with the host pid of a process in it: a source
    /// that must be told about each container's file system (fanotify marks) starts watching
    /// it; the others need nothing.
    fn watch_container(&mut self, _pid: u32) -> Result<(), SourceError> {
        Ok(())
    }
}
