//! The event model: what a kernel source produces for one syscall event and what a
//! recording stores, one JSON object per line.
//!
//! Readers accept fields they do not know (a newer writer may add some) and refuse values of
//! the wrong type. Most fields are optional or default to empty, so that a source that cannot
//! fill one simply leaves it out; the rule fields that depend on it then have no value.

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::name::Name;

/// One syscall event (enter or exit) with the process, fd and container it concerns.
///
/// In JSON (recordings, `serde`) it is one object with these fields, `event_type` written
/// `type`; fields it does not know are ignored, and only `num`, `ts`, `type` and `dir` are
/// required.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuntimeEvent {
    /// Event number, increasing within a capture.
    pub num: u64,
    /// Timestamp in nanoseconds since the epoch.
    pub ts: u64,
    /// Falco's name of the syscall (`execve`, `openat`, `connect`, …).
    pub event_type: Name,
    /// Enter (`>`) or exit (`<`).
    pub dir: Direction,
    /// Return value (exit events): a non-negative result or a negated errno.
    pub res: i64,
    /// Syscall arguments in order, rendered as Falco renders them (`flags`: `O_RDONLY|O_CLOEXEC`).
    pub args: Args,
    /// CPU the event happened on.
    pub cpu: Option<u32>,
    /// Nanoseconds between the enter and exit events (exit events).
    pub latency: Option<u64>,
    /// Host name of the machine the event happened on.
    pub hostname: Option<String>,
    /// The thread that made the syscall.
    pub process: Arc<Process>,
    /// The fd the event concerns (opened, read, connected, …).
    pub fd: Option<Fd>,
    /// The container of the process; `None` for the host.
    pub container: Option<Arc<Container>>,
}

/// The direction of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Direction {
    /// Syscall entry, written `>`.
    #[serde(rename = ">")]
    Enter,
    /// Syscall exit, written `<`.
    #[default]
    #[serde(rename = "<")]
    Exit,
}

impl Direction {
    /// `>` or `<`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Enter => ">",
            Direction::Exit => "<",
        }
    }
}

/// One syscall argument value: a number or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// A signed number.
    Int(i64),
    /// An unsigned number above `i64::MAX`.
    UInt(u64),
    /// Text: paths, rendered flags, addresses.
    Str(String),
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Int(n) => write!(f, "{n}"),
            ArgValue::UInt(n) => write!(f, "{n}"),
            ArgValue::Str(s) => f.write_str(s),
        }
    }
}

impl From<&str> for ArgValue {
    fn from(text: &str) -> ArgValue {
        ArgValue::Str(text.to_string())
    }
}

impl From<i64> for ArgValue {
    fn from(number: i64) -> ArgValue {
        ArgValue::Int(number)
    }
}

impl Serialize for ArgValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ArgValue::Int(n) => serializer.serialize_i64(*n),
            ArgValue::UInt(n) => serializer.serialize_u64(*n),
            ArgValue::Str(s) => serializer.serialize_str(s),
        }
    }
}

// By hand rather than `#[serde(untagged)]`, whose error ("data did not match any variant")
// does not say what was expected.
impl<'de> Deserialize<'de> for ArgValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ArgValue, D::Error> {
        struct ArgVisitor;
        impl Visitor<'_> for ArgVisitor {
            type Value = ArgValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an argument value (a string or an integer)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ArgValue, E> {
                Ok(ArgValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ArgValue, E> {
                Ok(i64::try_from(v).map_or(ArgValue::UInt(v), ArgValue::Int))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgValue, E> {
                Ok(ArgValue::Str(v.to_string()))
            }
        }
        deserializer.deserialize_any(ArgVisitor)
    }
}

/// One named argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The argument name (`fd`, `name`, `flags`).
    pub name: Name,
    /// Its value.
    pub value: ArgValue,
}

/// Syscall arguments in order; a JSON object in recordings (order kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Args(pub Vec<Arg>);

impl Args {
    /// The first argument named `name`.
    pub fn get(&self, name: &str) -> Option<&ArgValue> {
        self.0.iter().find(|arg| arg.name == name).map(|arg| &arg.value)
    }

    /// Text of the first argument named `name`, when it is text.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            ArgValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends an argument.
    pub fn push(&mut self, name: &'static str, value: impl Into<ArgValue>) {
        self.0.push(Arg {
            name: Name::from_static(name),
            value: value.into(),
        });
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|arg| (&arg.name, &arg.value)))
    }
}

// By hand so that argument order survives without an ordered-map dependency.
impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Args, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of argument names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Args, A::Error> {
                let mut args = Vec::new();
                while let Some((name, value)) = map.next_entry::<Name, ArgValue>()? {
                    args.push(Arg { name, value });
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_map(ArgsVisitor)
    }
}

/// The thread that made the syscall and its process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Process {
    /// Process id (thread group id).
    pub pid: u64,
    /// Thread id.
    pub tid: u64,
    /// Parent process id, when known (otherwise the first ancestor's pid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u64>,
    /// Process id in its own pid namespace.
    pub vpid: u64,
    /// Thread id in its own pid namespace, when it differs from `tid`'s view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtid: Option<u64>,
    /// Session id.
    pub sid: u64,
    /// Process group id in its own pid namespace.
    pub vpgid: u64,
    /// User id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Audit login uid; `None` when unset (Falco's -1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<i64>,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Home directory of the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homedir: Option<String>,
    /// Login shell of the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Group name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Name of the audit login user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_name: Option<String>,
    /// argv\[0\].
    pub exe: String,
    /// Full path of the executable.
    pub exepath: String,
    /// Command name (`comm`).
    pub name: String,
    /// Arguments after argv\[0\].
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Controlling terminal device number; `None` when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<u64>,
    /// Start time, ns since the epoch.
    pub start_ts: u64,
    /// Environment as `NAME=value` strings, when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The executable is in an overlayfs upper layer.
    pub is_exe_upper_layer: bool,
    /// The executable is in an overlayfs lower layer.
    pub is_exe_lower_layer: bool,
    /// The executable is a memfd file.
    pub is_exe_from_memfd: bool,
    /// The executable is writable by the process user.
    pub is_exe_writable: bool,
    /// Inode number of the executable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe_ino: Option<u64>,
    /// Status change time of the executable, ns since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe_ino_ctime: Option<u64>,
    /// Modification time of the executable, ns since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe_ino_mtime: Option<u64>,
    /// Start time of the init process of the pid namespace, ns since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pidns_init_start_ts: Option<u64>,
    /// Effective capabilities (`CAP_SYS_ADMIN`, …).
    pub cap_effective: Vec<String>,
    /// Permitted capabilities.
    pub cap_permitted: Vec<String>,
    /// Inheritable capabilities.
    pub cap_inheritable: Vec<String>,
    /// Cgroup path by subsystem (`cpu` → `/kubepods/…`).
    pub cgroups: BTreeMap<String, String>,
    /// Number of open fds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd_open_count: Option<u64>,
    /// Maximum number of open fds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd_limit: Option<i64>,
    /// Virtual memory size, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_size_kb: Option<u64>,
    /// Resident memory, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_rss_kb: Option<u64>,
    /// Swapped memory, KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_swap_kb: Option<u64>,
    /// fds 0, 1 and 2 (as many as are known).
    pub stdio: Vec<FdSummary>,
    /// Ancestors, parent first.
    pub ancestors: Vec<ProcessSummary>,
    /// The session leader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_leader: Option<ProcessSummary>,
    /// The process group leader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_leader: Option<ProcessSummary>,
}

/// What is kept of another process: an ancestor or a leader.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessSummary {
    /// Process id.
    pub pid: u64,
    /// Process id in its pid namespace.
    pub vpid: u64,
    /// Command name (`comm`).
    pub name: String,
    /// argv\[0\].
    pub exe: String,
    /// Full path of the executable.
    pub exepath: String,
    /// Arguments after argv\[0\].
    pub args: Vec<String>,
    /// Start time, ns since the epoch.
    pub start_ts: u64,
    /// Environment as `NAME=value` strings, when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
}

/// The kind of an fd, named as Falco's `fd.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FdKind {
    /// A regular file.
    #[default]
    File,
    /// A directory.
    Directory,
    /// An IPv4 socket.
    Ipv4,
    /// An IPv6 socket.
    Ipv6,
    /// A unix socket.
    Unix,
    /// A pipe or FIFO.
    Pipe,
    /// An eventfd.
    Event,
    /// A signalfd.
    Signalfd,
    /// An epoll fd.
    Eventpoll,
    /// An inotify fd.
    Inotify,
    /// A timerfd.
    Timerfd,
    /// A netlink socket.
    Netlink,
    /// A bpf object fd.
    Bpf,
    /// A userfaultfd.
    Userfaultfd,
    /// An io_uring fd.
    IoUring,
    /// A memfd.
    Memfd,
    /// Anything else, including kinds this reader does not know.
    #[serde(other)]
    Other,
}

impl FdKind {
    /// Falco's `fd.type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::Other => "other",
        }
    }

    /// Falco's `fd.typechar`.
    pub fn type_char(self) -> &'static str {
        match self {
            FdKind::File => "f",
            FdKind::Directory => "d",
            FdKind::Ipv4 => "4",
            FdKind::Ipv6 => "6",
            FdKind::Unix => "u",
            FdKind::Pipe => "p",
            FdKind::Event => "e",
            FdKind::Signalfd => "s",
            FdKind::Eventpoll => "l",
            FdKind::Inotify => "i",
            FdKind::Timerfd => "t",
            FdKind::Netlink => "n",
            FdKind::Bpf => "b",
            FdKind::Userfaultfd => "r",
            FdKind::IoUring | FdKind::Memfd | FdKind::Other => "o",
        }
    }

    /// True for IPv4 and IPv6 sockets.
    pub fn is_ip(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// One end of a network connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// Domain name of the address, when the source resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The fd an event concerns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Fd {
    /// fd number; -1 when the open failed.
    pub num: i64,
    /// Kind.
    pub kind: FdKind,
    /// Name: a path, a `1.2.3.4:5->6.7.8.9:80` tuple, a unix socket path.
    pub name: String,
    /// The name as the syscall gave it (unresolved relative path), when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameraw: Option<String>,
    /// Client end of a network socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Endpoint>,
    /// Server end of a network socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Endpoint>,
    /// The process owns the server end (so local is the server, remote the client).
    pub is_server: bool,
    /// `tcp`, `udp`, `icmp` or `raw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l4proto: Option<String>,
    /// The socket is connected.
    pub connected: bool,
    /// The event changed the fd name (connect, accept, rename).
    pub name_changed: bool,
    /// Device number (kernel encoding: major << 20 | minor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    /// Inode number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
}

impl Fd {
    /// The local end: the server end for the server, the client end otherwise.
    pub fn local(&self) -> Option<&Endpoint> {
        if self.is_server {
            self.server.as_ref()
        } else {
            self.client.as_ref()
        }
    }

    /// The remote end.
    pub fn remote(&self) -> Option<&Endpoint> {
        if self.is_server {
            self.client.as_ref()
        } else {
            self.server.as_ref()
        }
    }
}

/// What is kept of one of a process's standard fds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FdSummary {
    /// Kind.
    pub kind: FdKind,
    /// Name.
    pub name: String,
}

/// A container mount.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mount {
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub dest: String,
    /// Mode (`rw`, `ro`, …).
    pub mode: String,
    /// Writable.
    pub rdwr: bool,
    /// Propagation (`rprivate`, …).
    pub propagation: String,
}

/// A Kubernetes pod.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    /// Pod name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Pod uid.
    pub uid: String,
    /// Full id of the pod sandbox container.
    pub sandbox_id: String,
    /// Pod labels.
    pub labels: BTreeMap<String, String>,
    /// Pod IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// CNI result as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cni_json: Option<String>,
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Container {
    /// Full container id (64 hex digits for most runtimes).
    pub id: String,
    /// Container name.
    pub name: String,
    /// Image as configured (`nginx:1.25`).
    pub image: String,
    /// Image id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Image repository (`docker.io/library/nginx`).
    pub repository: String,
    /// Image tag.
    pub tag: String,
    /// Image digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Runtime type (`docker`, `containerd`, `cri-o`, …).
    pub runtime: String,
    /// Privileged container.
    pub privileged: bool,
    /// Start time, ns since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ts: Option<u64>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Container IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// CNI result as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cni_json: Option<String>,
    /// Health check command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<String>,
    /// Liveness probe command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<String>,
    /// Readiness probe command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<String>,
    /// Shares the host pid namespace.
    pub host_pid: bool,
    /// Shares the host network.
    pub host_network: bool,
    /// Shares the host IPC namespace.
    pub host_ipc: bool,
    /// The Kubernetes pod; when absent, the `io.kubernetes.*` labels give what they can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Pod>,
}

impl Container {
    /// The short id Falco shows as `container.id`: the first 12 characters.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_accepted_and_args_keep_their_order() {
        let line = r#"{"num":1,"ts":5,"type":"openat","dir":"<","args":{"name":"/x","flags":"O_RDONLY","mode":420},"future":{"a":1},"fd":{"kind":"new_kind","num":3}}"#;
        let event: RuntimeEvent = serde_json::from_str(line).expect("reads");
        let names: Vec<&str> = event.args.0.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["name", "flags", "mode"]);
        assert_eq!(event.args.get("mode"), Some(&ArgValue::Int(420)));
        assert_eq!(event.fd.map(|fd| fd.kind), Some(FdKind::Other));
    }

    #[test]
    fn wrong_types_are_refused_naming_the_expectation() {
        let line = r#"{"num":"one","ts":5,"type":"openat","dir":"<"}"#;
        let error = serde_json::from_str::<RuntimeEvent>(line).unwrap_err();
        assert!(error.to_string().contains("expected u64"), "{error}");
        let line = r#"{"num":1,"ts":5,"type":"openat","dir":"<","args":{"x":[1]}}"#;
        let error = serde_json::from_str::<RuntimeEvent>(line).unwrap_err();
        assert!(error.to_string().contains("a string or an integer"), "{error}");
    }

    #[test]
    fn local_and_remote_follow_the_server_role() {
        let end = |port| Endpoint {
            ip: IpAddr::from([10, 0, 0, 1]),
            port,
            name: None,
        };
        let mut fd = Fd {
            client: Some(end(40000)),
            server: Some(end(80)),
            ..Fd::default()
        };
        assert_eq!(fd.local().map(|e| e.port), Some(40000));
        fd.is_server = true;
        assert_eq!(fd.local().map(|e| e.port), Some(80));
        assert_eq!(fd.remote().map(|e| e.port), Some(40000));
    }
}
