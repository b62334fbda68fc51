//! The field catalogue: the syscall-source fields a condition or an output may name, with
//! their type and the argument they take (`proc.aname[2]`, `evt.arg.flags`).

use crate::ast::FieldExpr;

/// The type of a field's value, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A string (names, paths, command lines).
    Str,
    /// An unsigned number.
    U64,
    /// A signed number.
    I64,
    /// A flag (`true`/`false`).
    Bool,
    /// An IP address; compared with an address or a CIDR network.
    Ip,
    /// The network of an address; the value is the address, compared with a CIDR network.
    IpNet,
    /// Several strings (`fd.types`, `thread.cap_effective`): `in` means every element is in
    /// the set, `intersects` means at least one is.
    List,
    /// Raw bytes, compared with `bcontains`/`bstartswith` and hex values.
    Bytes,
    /// A duration in nanoseconds.
    Duration,
    /// An absolute time in nanoseconds since the epoch.
    AbsTime,
    /// A value whose type depends on the event (`evt.arg.*`, `evt.rawarg.*`): compared as a
    /// number when both sides are numbers, as text otherwise.
    Dyn,
}

impl FieldKind {
    /// True for the kinds compared as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldKind::U64 | FieldKind::I64 | FieldKind::Duration | FieldKind::AbsTime
        )
    }
}

/// The argument a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// No argument.
    None,
    /// A required index: `proc.apid[2]`.
    Index,
    /// An optional index: `proc.aname` (any ancestor) or `proc.aname[2]`.
    OptionalIndex,
    /// A required key, written `.key` or `[key]`: `evt.arg.flags`, `evt.arg[flags]`,
    /// `container.label[app]`.
    Key,
    /// An optional key: `proc.env` (the whole environment) or `proc.env[HOME]`.
    OptionalKey,
}

impl ArgKind {
    /// True when the field cannot be used without an argument.
    pub fn is_required(self) -> bool {
        matches!(self, ArgKind::Index | ArgKind::Key)
    }

    /// True when the field accepts an argument at all.
    pub fn is_allowed(self) -> bool {
        self != ArgKind::None
    }

    /// True when the argument may be written after a dot (`evt.arg.flags`).
    fn takes_dotted_key(self) -> bool {
        matches!(self, ArgKind::Key | ArgKind::OptionalKey)
    }
}

/// One catalogued field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The field name (`proc.name`).
    pub name: &'static str,
    /// The type of its value.
    pub kind: FieldKind,
    /// The argument it takes.
    pub arg: ArgKind,
    /// One line saying what it is.
    pub description: &'static str,
}

const fn f(name: &'static str, kind: FieldKind, description: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        kind,
        arg: ArgKind::None,
        description,
    }
}

const fn fa(name: &'static str, kind: FieldKind, arg: ArgKind, description: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        kind,
        arg,
        description,
    }
}

use ArgKind::{Key, OptionalIndex, OptionalKey};
use FieldKind::{AbsTime, Bool, Bytes, Duration, Dyn, Ip, IpNet, List, Str, I64, U64};

static FIELDS: &[FieldInfo] = &[
    // evt.*
    f("evt.num", U64, "Event number."),
    f(
        "evt.time",
        Str,
        "Event timestamp as a time string with nanoseconds.",
    ),
    f(
        "evt.time.s",
        Str,
        "Event timestamp as a time string without nanoseconds.",
    ),
    f("evt.time.iso8601", Str, "Event timestamp in ISO 8601 format."),
    f("evt.datetime", Str, "Event timestamp as a date and time string."),
    f(
        "evt.rawtime",
        AbsTime,
        "Absolute event timestamp in nanoseconds since the epoch.",
    ),
    f(
        "evt.rawtime.s",
        U64,
        "Integer part of the event timestamp, in seconds.",
    ),
    f(
        "evt.rawtime.ns",
        U64,
        "Fractional part of the event timestamp, in nanoseconds.",
    ),
    f(
        "evt.reltime",
        Duration,
        "Nanoseconds since the start of the capture.",
    ),
    f(
        "evt.latency",
        Duration,
        "Nanoseconds between the enter and exit events of a syscall.",
    ),
    f("evt.deltatime", Duration, "Nanoseconds since the previous event."),
    f(
        "evt.dir",
        Str,
        "Event direction: `>` for enter events, `<` for exit events.",
    ),
    f("evt.type", Str, "Event type name (`open`, `execve`, …)."),
    f("evt.type.is", U64, "1 if the event type equals the argument."),
    f("syscall.type", Str, "System call name, for syscall events."),
    f(
        "evt.category",
        Str,
        "Event category (`file`, `net`, `process`, …).",
    ),
    f("evt.cpu", U64, "CPU number the event happened on."),
    f("evt.args", Str, "All event arguments, as one string."),
    fa(
        "evt.arg",
        Dyn,
        Key,
        "One event argument by name or index, as text.",
    ),
    fa(
        "evt.rawarg",
        Dyn,
        Key,
        "One event argument by name, as its raw value.",
    ),
    f(
        "evt.info",
        Str,
        "Event arguments, or a description for some events.",
    ),
    f("evt.buffer", Bytes, "The binary data buffer of I/O events."),
    f(
        "evt.buflen",
        U64,
        "Length of the binary data buffer of I/O events.",
    ),
    f(
        "evt.res",
        Str,
        "Event return value: `SUCCESS` or an error code name.",
    ),
    f("evt.rawres", I64, "Event return value as a number."),
    f("evt.failed", Bool, "True for events that returned an error."),
    f("evt.is_io", Bool, "True for events that read or write to an fd."),
    f("evt.is_io_read", Bool, "True for events that read from an fd."),
    f("evt.is_io_write", Bool, "True for events that write to an fd."),
    f("evt.io_dir", Str, "`r` for read events, `w` for write events."),
    f("evt.is_wait", Bool, "True for events that make the thread wait."),
    f(
        "evt.wait_latency",
        Duration,
        "Time spent waiting for the event to return.",
    ),
    f("evt.is_syslog", Bool, "True for writes to /dev/log."),
    f("evt.count", U64, "Always 1; useful for counting."),
    f(
        "evt.around",
        U64,
        "Accepts the events around the given timestamp.",
    ),
    f(
        "evt.abspath",
        Str,
        "Absolute path computed from dirfd and name in *at syscalls.",
    ),
    f(
        "evt.abspath.src",
        Str,
        "Source absolute path of *at syscalls with two paths.",
    ),
    f(
        "evt.abspath.dst",
        Str,
        "Destination absolute path of *at syscalls with two paths.",
    ),
    f(
        "evt.is_open_read",
        Bool,
        "True for open events opening for reading.",
    ),
    f(
        "evt.is_open_write",
        Bool,
        "True for open events opening for writing.",
    ),
    f(
        "evt.is_open_exec",
        Bool,
        "True for open or creat events creating an executable file.",
    ),
    f(
        "evt.is_open_create",
        Bool,
        "True for open events that created a file.",
    ),
    f("evt.hostname", Str, "Hostname of the underlying host."),
    f("evt.source", Str, "Event source name (`syscall`)."),
    f(
        "evt.pluginname",
        Str,
        "Name of the plugin that produced the event.",
    ),
    f("evt.plugininfo", Str, "Plugin-provided event summary."),
    f("evt.is_async", Bool, "True for events not tied to a syscall."),
    f("evt.asynctype", Str, "Type of an asynchronous event."),
    // proc.*
    f(
        "proc.exe",
        Str,
        "First command-line argument (argv[0]) of the process.",
    ),
    f("proc.pexe", Str, "argv[0] of the parent process."),
    fa(
        "proc.aexe",
        Str,
        OptionalIndex,
        "argv[0] of an ancestor (`[1]` is the parent).",
    ),
    f("proc.exepath", Str, "Full path of the process executable."),
    f(
        "proc.pexepath",
        Str,
        "Full path of the parent process executable.",
    ),
    fa(
        "proc.aexepath",
        Str,
        OptionalIndex,
        "Executable path of an ancestor.",
    ),
    f("proc.name", Str, "Process name (executable file name)."),
    f("proc.pname", Str, "Parent process name."),
    fa(
        "proc.aname",
        Str,
        OptionalIndex,
        "Name of an ancestor; without index, any ancestor.",
    ),
    f(
        "proc.args",
        Str,
        "Command-line arguments after the name, as one string.",
    ),
    f("proc.cmdline", Str, "Process name and arguments."),
    f("proc.pcmdline", Str, "Parent process name and arguments."),
    fa(
        "proc.acmdline",
        Str,
        OptionalIndex,
        "Command line of an ancestor.",
    ),
    f("proc.cmdnargs", U64, "Number of command-line arguments."),
    f(
        "proc.cmdlenargs",
        U64,
        "Total length of the command-line arguments.",
    ),
    f(
        "proc.exeline",
        Str,
        "Full command line with argv[0] as the first argument.",
    ),
    fa(
        "proc.env",
        Str,
        OptionalKey,
        "Environment of the process, or one variable.",
    ),
    fa(
        "proc.aenv",
        Str,
        OptionalKey,
        "Environment of the process and its ancestors.",
    ),
    f("proc.cwd", Str, "Current working directory."),
    f(
        "proc.loginshellid",
        I64,
        "PID of the oldest shell among the ancestors.",
    ),
    f(
        "proc.tty",
        U64,
        "Controlling terminal of the process; 0 when none.",
    ),
    f("proc.pid", U64, "Process id."),
    f("proc.ppid", U64, "Parent process id."),
    fa("proc.apid", U64, OptionalIndex, "Pid of an ancestor."),
    f("proc.vpid", U64, "Process id as seen from its own pid namespace."),
    f(
        "proc.pvpid",
        U64,
        "Parent process id as seen from its pid namespace.",
    ),
    f("proc.sid", U64, "Session id of the process."),
    f("proc.sname", Str, "Name of the session leader."),
    f("proc.sid.exe", Str, "argv[0] of the session leader."),
    f("proc.sid.exepath", Str, "Executable path of the session leader."),
    f(
        "proc.vpgid",
        U64,
        "Process group id as seen from its pid namespace.",
    ),
    f("proc.vpgid.name", Str, "Name of the process group leader."),
    f("proc.vpgid.exe", Str, "argv[0] of the process group leader."),
    f(
        "proc.vpgid.exepath",
        Str,
        "Executable path of the process group leader.",
    ),
    f(
        "proc.is_vpgid_leader",
        Bool,
        "True if the process leads its process group.",
    ),
    f(
        "proc.is_sid_leader",
        Bool,
        "True if the process leads its session.",
    ),
    f(
        "proc.duration",
        Duration,
        "Nanoseconds since the process started.",
    ),
    f(
        "proc.ppid.duration",
        Duration,
        "Nanoseconds since the parent process started.",
    ),
    f("proc.pid.ts", AbsTime, "Start time of the process."),
    f("proc.ppid.ts", AbsTime, "Start time of the parent process."),
    f("proc.fdopencount", U64, "Number of open fds of the process."),
    f("proc.fdlimit", I64, "Maximum number of fds the process may open."),
    f("proc.fdusage", Str, "Ratio of open fds to the fd limit."),
    f("proc.vmsize", U64, "Total virtual memory of the process, in KiB."),
    f("proc.vmrss", U64, "Resident memory of the process, in KiB."),
    f("proc.vmswap", U64, "Swapped memory of the process, in KiB."),
    f(
        "proc.is_exe_writable",
        Bool,
        "True if the executable is writable by the process user.",
    ),
    f(
        "proc.is_exe_upper_layer",
        Bool,
        "True if the executable is in an overlayfs upper layer.",
    ),
    f(
        "proc.is_exe_lower_layer",
        Bool,
        "True if the executable is in an overlayfs lower layer.",
    ),
    f(
        "proc.is_exe_from_memfd",
        Bool,
        "True if the executable is a memfd file.",
    ),
    f("proc.exe_ino", U64, "Inode number of the executable."),
    f(
        "proc.exe_ino.ctime",
        AbsTime,
        "Last status change time of the executable.",
    ),
    f(
        "proc.exe_ino.mtime",
        AbsTime,
        "Last modification time of the executable.",
    ),
    f(
        "proc.exe_ino.ctime_duration_proc_start",
        Duration,
        "Time between the executable's ctime and the process start.",
    ),
    f(
        "proc.exe_ino.ctime_duration_pidns_start",
        Duration,
        "Time between the pid namespace start and the executable's ctime.",
    ),
    f(
        "proc.pidns_init_start_ts",
        AbsTime,
        "Start time of the pid namespace init process.",
    ),
    f(
        "proc.thread.cap_permitted",
        List,
        "Permitted capabilities of the process.",
    ),
    f(
        "proc.thread.cap_inheritable",
        List,
        "Inheritable capabilities of the process.",
    ),
    f(
        "proc.thread.cap_effective",
        List,
        "Effective capabilities of the process.",
    ),
    f("proc.stdin.type", Str, "Type of the fd 0 of the process."),
    f("proc.stdout.type", Str, "Type of the fd 1 of the process."),
    f("proc.stderr.type", Str, "Type of the fd 2 of the process."),
    f("proc.stdin.name", Str, "Name of the fd 0 of the process."),
    f("proc.stdout.name", Str, "Name of the fd 1 of the process."),
    f("proc.stderr.name", Str, "Name of the fd 2 of the process."),
    // thread.*
    f("thread.tid", U64, "Thread id."),
    f("thread.vtid", U64, "Thread id as seen from its pid namespace."),
    f("thread.ismain", Bool, "True for the main thread of a process."),
    f(
        "thread.exectime",
        Duration,
        "CPU time spent by the last scheduled thread.",
    ),
    f(
        "thread.totexectime",
        Duration,
        "Total CPU time spent by the thread.",
    ),
    f("thread.cgroups", Str, "All cgroups of the thread."),
    fa(
        "thread.cgroup",
        Str,
        Key,
        "The cgroup of the thread for one subsystem.",
    ),
    f(
        "thread.cap_permitted",
        List,
        "Permitted capabilities of the thread.",
    ),
    f(
        "thread.cap_inheritable",
        List,
        "Inheritable capabilities of the thread.",
    ),
    f(
        "thread.cap_effective",
        List,
        "Effective capabilities of the thread.",
    ),
    // user.* / group.*
    f("user.uid", U64, "User id."),
    f("user.name", Str, "User name."),
    f("user.homedir", Str, "Home directory of the user."),
    f("user.shell", Str, "Login shell of the user."),
    f("user.loginuid", I64, "Audit login uid; -1 when not set."),
    f("user.loginname", Str, "Audit login user name."),
    f("group.gid", U64, "Group id."),
    f("group.name", Str, "Group name."),
    // fd.*
    f("fd.num", I64, "File descriptor number."),
    f(
        "fd.type",
        Str,
        "Type of fd: `file`, `directory`, `ipv4`, `ipv6`, `unix`, …",
    ),
    f(
        "fd.typechar",
        Str,
        "Type of fd as one character: `f`, `4`, `6`, `u`, …",
    ),
    f("fd.name", Str, "Full name of the fd: path, or connection tuple."),
    f("fd.directory", Str, "Directory of a file fd."),
    f(
        "fd.filename",
        Str,
        "File name of a file fd, without the directory.",
    ),
    f("fd.ip", Ip, "IP address of either end of a network fd."),
    f("fd.cip", Ip, "Client IP address."),
    f("fd.sip", Ip, "Server IP address."),
    f("fd.lip", Ip, "Local IP address."),
    f("fd.rip", Ip, "Remote IP address."),
    f("fd.port", U64, "Port of either end of a network fd."),
    f("fd.cport", U64, "Client port."),
    f("fd.sport", U64, "Server port."),
    f("fd.lport", U64, "Local port."),
    f("fd.rport", U64, "Remote port."),
    f("fd.l4proto", Str, "IP protocol: `tcp`, `udp`, `icmp` or `raw`."),
    f("fd.sockfamily", Str, "Socket family: `ip` or `unix`."),
    f(
        "fd.is_server",
        Bool,
        "True if the process owning the fd is the server.",
    ),
    f(
        "fd.uid",
        Str,
        "Unique identifier of the fd (thread id and fd number).",
    ),
    f("fd.containername", Str, "Container id and fd name concatenated."),
    f(
        "fd.containerdirectory",
        Str,
        "Container id and directory concatenated.",
    ),
    f("fd.proto", Str, "Protocol of either end of a network fd."),
    f("fd.cproto", Str, "Client protocol."),
    f("fd.sproto", Str, "Server protocol."),
    f("fd.lproto", Str, "Local protocol."),
    f("fd.rproto", Str, "Remote protocol."),
    f("fd.net", IpNet, "Network of either end of a network fd."),
    f("fd.cnet", IpNet, "Client network."),
    f("fd.snet", IpNet, "Server network."),
    f("fd.lnet", IpNet, "Local network."),
    f("fd.rnet", IpNet, "Remote network."),
    f("fd.connected", Bool, "True if the socket is connected."),
    f(
        "fd.name_changed",
        Bool,
        "True when the event changed the fd name (connect, accept).",
    ),
    f("fd.cip.name", Str, "Domain name of the client IP address."),
    f("fd.sip.name", Str, "Domain name of the server IP address."),
    f("fd.lip.name", Str, "Domain name of the local IP address."),
    f("fd.rip.name", Str, "Domain name of the remote IP address."),
    f("fd.dev", U64, "Device number of the file."),
    f("fd.dev.major", U64, "Major device number of the file."),
    f("fd.dev.minor", U64, "Minor device number of the file."),
    f("fd.ino", U64, "Inode number of the file."),
    f(
        "fd.nameraw",
        Str,
        "Name of the fd as the syscall gave it, not resolved.",
    ),
    fa(
        "fd.types",
        List,
        OptionalIndex,
        "Types of the fds of the event, or of one of them.",
    ),
    // fs.*
    f("fs.path.name", Str, "Path of a filesystem-related event."),
    f(
        "fs.path.nameraw",
        Str,
        "Path of a filesystem-related event, not resolved.",
    ),
    f(
        "fs.path.source",
        Str,
        "Source path of a filesystem-related event.",
    ),
    f(
        "fs.path.sourceraw",
        Str,
        "Source path of a filesystem-related event, not resolved.",
    ),
    f(
        "fs.path.target",
        Str,
        "Target path of a filesystem-related event.",
    ),
    f(
        "fs.path.targetraw",
        Str,
        "Target path of a filesystem-related event, not resolved.",
    ),
    // container.*
    f("container.id", Str, "Container id (12 characters), or `host`."),
    f("container.full_id", Str, "Full container id, or `host`."),
    f("container.name", Str, "Container name, or `host`."),
    f("container.image", Str, "Container image name (`busybox:latest`)."),
    f("container.image.id", Str, "Container image id."),
    f(
        "container.type",
        Str,
        "Container runtime type (`docker`, `cri-o`, …).",
    ),
    f("container.privileged", Bool, "True for privileged containers."),
    f("container.mounts", Str, "All container mounts, as one string."),
    fa(
        "container.mount",
        Str,
        Key,
        "One container mount, by index or source path.",
    ),
    fa(
        "container.mount.source",
        Str,
        Key,
        "Mount source, by index or destination.",
    ),
    fa(
        "container.mount.dest",
        Str,
        Key,
        "Mount destination, by index or source.",
    ),
    fa(
        "container.mount.mode",
        Str,
        Key,
        "Mount mode, by index or source.",
    ),
    fa(
        "container.mount.rdwr",
        Str,
        Key,
        "Mount read/write flag, by index or source.",
    ),
    fa(
        "container.mount.propagation",
        Str,
        Key,
        "Mount propagation, by index or source.",
    ),
    f("container.image.repository", Str, "Container image repository."),
    f("container.image.tag", Str, "Container image tag."),
    f("container.image.digest", Str, "Container image digest."),
    f("container.healthcheck", Str, "Container health check command."),
    f(
        "container.liveness_probe",
        Str,
        "Container liveness probe command.",
    ),
    f(
        "container.readiness_probe",
        Str,
        "Container readiness probe command.",
    ),
    f("container.start_ts", AbsTime, "Container start time."),
    f(
        "container.duration",
        Duration,
        "Nanoseconds since the container started.",
    ),
    f("container.ip", Str, "Container IP address."),
    f("container.cni.json", Str, "Container CNI result as JSON."),
    f(
        "container.host_pid",
        Bool,
        "True if the container shares the host pid namespace.",
    ),
    f(
        "container.host_network",
        Bool,
        "True if the container shares the host network.",
    ),
    f(
        "container.host_ipc",
        Bool,
        "True if the container shares the host IPC namespace.",
    ),
    fa("container.label", Str, Key, "One container label."),
    f("container.labels", Str, "All container labels."),
    // k8s.*
    f("k8s.ns.name", Str, "Kubernetes namespace name."),
    f("k8s.pod.name", Str, "Kubernetes pod name."),
    f(
        "k8s.pod.id",
        Str,
        "Kubernetes pod id (legacy name of k8s.pod.uid).",
    ),
    f("k8s.pod.uid", Str, "Kubernetes pod uid."),
    f("k8s.pod.sandbox_id", Str, "Kubernetes pod sandbox id."),
    f("k8s.pod.full_sandbox_id", Str, "Full Kubernetes pod sandbox id."),
    fa("k8s.pod.label", Str, Key, "One Kubernetes pod label."),
    f("k8s.pod.labels", Str, "All Kubernetes pod labels."),
    f("k8s.pod.ip", Str, "Kubernetes pod IP address."),
    f("k8s.pod.cni.json", Str, "Kubernetes pod CNI result as JSON."),
];

/// The catalogued field named exactly `name`.
pub fn lookup(name: &str) -> Option<&'static FieldInfo> {
    FIELDS.iter().find(|field| field.name == name)
}

/// Every catalogued field.
pub fn all() -> &'static [FieldInfo] {
    FIELDS
}

/// Reads a whole field reference such as `proc.aname[2]`, `evt.arg.flags`, `evt.arg[0]`
/// or `fd.name`: the longest catalogued name that starts `text`, followed by nothing, by
/// `[arg]` (fields that take an argument) or by `.key` (fields that take a key). `None`
/// when no catalogued field reads the whole text.
pub fn split_field(text: &str) -> Option<FieldExpr> {
    FIELDS
        .iter()
        .filter_map(|info| split_as(info, text).map(|arg| (info.name.len(), info.name, arg)))
        .max_by_key(|(len, _, _)| *len)
        .map(|(_, name, arg)| FieldExpr {
            name: name.to_string(),
            arg,
            transformers: Vec::new(),
        })
}

/// The argument when `text` is `info`'s name with an acceptable argument suffix:
/// `Some(None)` for no argument.
fn split_as(info: &FieldInfo, text: &str) -> Option<Option<String>> {
    let rest = text.strip_prefix(info.name)?;
    if rest.is_empty() {
        return Some(None);
    }
    if !info.arg.is_allowed() {
        return None;
    }
    if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Some(Some(inner.to_string()));
    }
    match rest.strip_prefix('.') {
        Some(key) if info.arg.takes_dotted_key() && !key.is_empty() => Some(Some(key.to_string())),
        _ => None,
    }
}
