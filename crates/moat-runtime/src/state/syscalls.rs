//! Traced syscalls as events: Falco's argument names and renderings, paths resolved against
//! the working directory or the directory fd, and the fd tables updated by the syscalls that
//! create or name fds.

use crate::event::{ArgValue, Args, Fd, FdKind, RuntimeEvent};
use crate::source::{Syscall, SyscallEvent};

use super::fds::{self, endpoint, endpoint_text, ip_kind, tuple_name};
use super::paths;
use super::render::{self, AT_FDCWD};
use super::State;

/// `-EINPROGRESS`: a non-blocking connect that has started.
const EINPROGRESS: i64 = -115;

/// An fd argument register: a C `int`, so only its low 32 bits count.
fn fd_arg(event: &SyscallEvent, index: usize) -> i64 {
    i64::from(event.args[index] as u32 as i32)
}

/// A uid or gid argument: `-1` (unchanged) or the id.
fn id_arg(event: &SyscallEvent, index: usize) -> Option<u32> {
    let id = event.args[index] as u32;
    (id != u32::MAX).then_some(id)
}

fn path_text(path: &Option<String>) -> &str {
    path.as_deref().unwrap_or("")
}

/// The arguments and fd of an event before it gets its process.
struct Converted {
    args: Args,
    fd: Option<Fd>,
}

impl Converted {
    fn new() -> Converted {
        Converted {
            args: Args::default(),
            fd: None,
        }
    }

    fn with_res(ret: i64) -> Converted {
        let mut converted = Converted::new();
        converted.args.push("res", ret);
        converted
    }

    fn push(&mut self, name: &'static str, value: impl Into<ArgValue>) -> &mut Converted {
        self.args.push(name, value);
        self
    }
}

impl State {
    pub(super) fn on_syscall(&mut self, event: SyscallEvent) -> RuntimeEvent {
        let pid = self.ensure(&event.task, true);
        let converted = self.convert(pid, &event);
        let mut out = self.event(pid, event.task.tid, event.task.ts, event.syscall.name());
        out.res = event.ret;
        out.args = converted.args;
        out.fd = converted.fd;
        out
    }

    fn convert(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        match event.syscall {
            Syscall::Open | Syscall::Openat | Syscall::Openat2 | Syscall::Creat => self.open(pid, event),
            Syscall::Socket => self.socket(pid, event),
            Syscall::Connect => self.connect(pid, event),
            Syscall::Accept | Syscall::Accept4 => self.accept(pid, event),
            Syscall::Bind | Syscall::Listen => self.bind_or_listen(pid, event),
            Syscall::MemfdCreate => self.memfd_create(pid, event),
            Syscall::Setuid
            | Syscall::Setgid
            | Syscall::Setreuid
            | Syscall::Setregid
            | Syscall::Setresuid
            | Syscall::Setresgid => self.set_ids(pid, event),
            Syscall::Fchmod | Syscall::Setns | Syscall::FinitModule => self.fd_syscall(pid, event),
            _ => path_syscall(event).unwrap_or_else(|| other_syscall(event)),
        }
    }

    /// The directory a `*at` path is relative to.
    fn directory(&self, pid: u32, dirfd: i64) -> String {
        let Some(record) = self.processes.get(&pid) else {
            return String::new();
        };
        if dirfd == AT_FDCWD {
            return record.cwd.clone();
        }
        match record.fds.get(dirfd) {
            Some(fd) => fd.name.clone(),
            None => self.proc_fs.fd_target(pid, dirfd).unwrap_or_default(),
        }
    }

    /// The fd `num` of `pid` as the table knows it, else as the proc file system shows it.
    fn known_fd(&self, pid: u32, num: i64) -> Fd {
        if let Some(fd) = self.processes.get(&pid).and_then(|r| r.fds.get(num)) {
            return fd.clone();
        }
        match self.proc_fs.fd_target(pid, num) {
            Some(target) => fds::fd_from_link(num, &target),
            None => Fd {
                num,
                kind: FdKind::Other,
                ..Fd::default()
            },
        }
    }

    fn remember_fd(&mut self, pid: u32, fd: &Fd, cloexec: bool) {
        if let Some(record) = self.processes.get_mut(&pid) {
            record.fds.insert(fd.clone(), cloexec);
        }
    }

    /// open, openat, openat2 and creat.
    fn open(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let raw = path_text(&event.path);
        let (dirfd, flags, mode) = match event.syscall {
            Syscall::Open => (None, Some(event.args[1]), event.args[2]),
            Syscall::Openat => (Some(fd_arg(event, 0)), Some(event.args[2]), event.args[3]),
            // The flags are in a struct the registers only point to; the kernel shows them
            // for the new fd.
            Syscall::Openat2 => (Some(fd_arg(event, 0)), self.opened_flags(pid, event.ret), 0),
            _ => (None, Some(render::CREAT_FLAGS), event.args[1]),
        };
        let base = self.directory(pid, dirfd.unwrap_or(AT_FDCWD));
        let name = paths::resolve(&base, raw);
        let opened = event.ret >= 0;
        let fd = Fd {
            num: if opened { event.ret } else { -1 },
            kind: match flags {
                Some(flags) if render::opens_directory(flags) => FdKind::Directory,
                _ => FdKind::File,
            },
            nameraw: (raw != name).then(|| raw.to_string()),
            name,
            ..Fd::default()
        };
        if opened {
            let cloexec = flags.is_some_and(|f| f & render::O_CLOEXEC != 0);
            self.remember_fd(pid, &fd, cloexec);
        }
        let mut converted = Converted::new();
        converted.push("fd", fd.num);
        if let Some(dirfd) = dirfd {
            converted.push("dirfd", render::dirfd(dirfd));
        }
        converted.push("name", raw);
        if let Some(flags) = flags.filter(|_| event.syscall != Syscall::Creat) {
            converted.push("flags", render::open_flags(flags).as_str());
        }
        // The mode register means something only when the open may create a file.
        let mode = if flags.is_some_and(render::may_create) {
            mode & 0o7777
        } else {
            0
        };
        converted.push("mode", mode as i64);
        converted.fd = Some(fd);
        converted
    }

    fn opened_flags(&self, pid: u32, ret: i64) -> Option<u64> {
        (ret >= 0).then(|| self.proc_fs.fd_flags(pid, ret)).flatten()
    }

    fn socket(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let [domain, socket_type, protocol, ..] = event.args;
        let kind = match domain {
            render::AF_INET => FdKind::Ipv4,
            render::AF_INET6 => FdKind::Ipv6,
            render::AF_UNIX => FdKind::Unix,
            render::AF_NETLINK => FdKind::Netlink,
            _ => FdKind::Other,
        };
        let mut converted = Converted::new();
        converted
            .push("fd", event.ret)
            .push("domain", render::socket_domain(domain).as_str())
            .push("type", socket_type as i64)
            .push("proto", protocol as i64);
        if event.ret >= 0 {
            let fd = Fd {
                num: event.ret,
                kind,
                l4proto: kind
                    .is_ip()
                    .then(|| render::socket_l4proto(socket_type))
                    .flatten()
                    .map(str::to_string),
                ..Fd::default()
            };
            self.remember_fd(pid, &fd, socket_type & render::SOCK_CLOEXEC != 0);
            converted.fd = Some(fd);
        }
        converted
    }

    fn connect(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let num = fd_arg(event, 0);
        let mut fd = self.known_fd(pid, num);
        let mut converted = Converted::new();
        converted.push("fd", num);
        if let Some(addr) = event.addr {
            let server = endpoint(addr);
            fd.kind = ip_kind(addr.ip());
            fd.name = tuple_name(fd.client.as_ref(), Some(&server));
            fd.server = Some(server);
            fd.is_server = false;
            converted.push("addr", endpoint_text(&endpoint(addr)).as_str());
            converted.push("tuple", fd.name.as_str());
        } else if let Some(path) = &event.path {
            // A unix socket: the source gives its path, as the address has no IP form.
            fd.kind = FdKind::Unix;
            fd.name = path.clone();
            converted.push("addr", path.as_str());
        }
        fd.connected = event.ret == 0 || event.ret == EINPROGRESS;
        fd.name_changed = true;
        if fd.connected {
            self.remember_fd(pid, &fd, false);
        }
        converted.fd = Some(fd);
        converted
    }

    fn accept(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let listening = self.known_fd(pid, fd_arg(event, 0));
        let mut converted = Converted::new();
        converted.push("fd", event.ret);
        if event.ret < 0 {
            converted.fd = Some(listening);
            return converted;
        }
        let client = event.addr.map(endpoint);
        let server = listening.server.clone();
        let name = if client.is_some() || server.is_some() {
            tuple_name(client.as_ref(), server.as_ref())
        } else {
            listening.name.clone()
        };
        let fd = Fd {
            num: event.ret,
            kind: match event.addr {
                Some(addr) => ip_kind(addr.ip()),
                None => listening.kind,
            },
            name,
            client,
            server,
            is_server: true,
            l4proto: listening.l4proto.clone().or_else(|| Some("tcp".to_string())),
            connected: true,
            name_changed: true,
            ..Fd::default()
        };
        if fd.kind.is_ip() {
            converted.push("tuple", fd.name.as_str());
        }
        let cloexec = event.syscall == Syscall::Accept4 && event.args[3] & render::SOCK_CLOEXEC != 0;
        self.remember_fd(pid, &fd, cloexec);
        converted.fd = Some(fd);
        converted
    }

    fn bind_or_listen(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let num = fd_arg(event, 0);
        let mut fd = self.known_fd(pid, num);
        fd.is_server = true;
        let mut converted = Converted::with_res(event.ret);
        converted.push("fd", num);
        if event.syscall == Syscall::Listen {
            converted.push("backlog", event.args[1] as u32 as i32 as i64);
        } else if let Some(addr) = event.addr {
            let server = endpoint(addr);
            fd.kind = ip_kind(addr.ip());
            fd.name = endpoint_text(&server);
            fd.server = Some(server);
            converted.push("addr", fd.name.as_str());
        } else if let Some(path) = &event.path {
            fd.kind = FdKind::Unix;
            fd.name = path.clone();
            converted.push("addr", path.as_str());
        }
        if event.ret == 0 {
            self.remember_fd(pid, &fd, false);
        }
        converted.fd = Some(fd);
        converted
    }

    fn memfd_create(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let name = path_text(&event.path);
        let flags = event.args[1];
        let mut converted = Converted::new();
        converted
            .push("fd", event.ret)
            .push("name", name)
            .push("flags", render::memfd_flags(flags).as_str());
        if event.ret >= 0 {
            let fd = Fd {
                num: event.ret,
                kind: FdKind::Memfd,
                name: format!("/memfd:{name}"),
                ..Fd::default()
            };
            self.remember_fd(pid, &fd, flags & render::MFD_CLOEXEC != 0);
            converted.fd = Some(fd);
        }
        converted
    }

    /// setuid and friends: ids by name where the process's user database has them (as
    /// Falco shows them: `evt.arg.uid=nobody`).
    fn set_ids(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let (names, is_user): (&[&str], bool) = match event.syscall {
            Syscall::Setuid => (&["uid"], true),
            Syscall::Setgid => (&["gid"], false),
            Syscall::Setreuid => (&["ruid", "euid"], true),
            Syscall::Setregid => (&["rgid", "egid"], false),
            Syscall::Setresuid => (&["ruid", "euid", "suid"], true),
            _ => (&["rgid", "egid", "sgid"], false),
        };
        let key = self
            .processes
            .get(&pid)
            .map_or("host", |record| record.users_key())
            .to_string();
        let mut converted = Converted::with_res(event.ret);
        for (index, name) in names.iter().enumerate() {
            let value = match id_arg(event, index) {
                None => ArgValue::Int(-1),
                Some(id) => {
                    let known = if is_user {
                        self.users.user_name(&key, id)
                    } else {
                        self.users.group_name(&key, id)
                    };
                    ArgValue::Str(known.map_or_else(|| id.to_string(), str::to_string))
                }
            };
            converted.push(name, value);
        }
        converted
    }

    /// Syscalls whose first argument is an fd: fchmod, setns, finit_module.
    fn fd_syscall(&mut self, pid: u32, event: &SyscallEvent) -> Converted {
        let num = fd_arg(event, 0);
        let mut converted = Converted::with_res(event.ret);
        converted.push("fd", num);
        match event.syscall {
            Syscall::Fchmod => converted.push("mode", render::file_mode(event.args[1]).as_str()),
            Syscall::Setns => converted.push("nstype", render::clone_flags(event.args[1]).as_str()),
            _ => converted.push("flags", event.args[2] as i64),
        };
        converted.fd = Some(self.known_fd(pid, num));
        converted
    }
}

/// Syscalls that name paths: their arguments as passed (Falco's `evt.arg.*` are the raw
/// paths; `fs.path.*` resolve them).
fn path_syscall(event: &SyscallEvent) -> Option<Converted> {
    let first = path_text(&event.path);
    let second = path_text(&event.path2);
    let dirfd = |index: usize| render::dirfd(fd_arg(event, index));
    let mut converted = Converted::with_res(event.ret);
    let c = &mut converted;
    match event.syscall {
        Syscall::Unlink => c.push("path", first),
        Syscall::Unlinkat => c
            .push("dirfd", dirfd(0))
            .push("name", first)
            .push("flags", render::at_flags(event.args[2]).as_str()),
        Syscall::Rename => c.push("oldpath", first).push("newpath", second),
        Syscall::Renameat | Syscall::Renameat2 => {
            c.push("olddirfd", dirfd(0))
                .push("oldpath", first)
                .push("newdirfd", dirfd(2))
                .push("newpath", second);
            if event.syscall == Syscall::Renameat2 {
                c.push("flags", render::rename_flags(event.args[4]).as_str());
            }
            c
        }
        Syscall::Mkdir => c
            .push("path", first)
            .push("mode", (event.args[1] & 0o7777) as i64),
        Syscall::Mkdirat => c
            .push("dirfd", dirfd(0))
            .push("path", first)
            .push("mode", (event.args[2] & 0o7777) as i64),
        Syscall::Symlink => c.push("target", first).push("linkpath", second),
        Syscall::Symlinkat => c
            .push("target", first)
            .push("linkdirfd", dirfd(1))
            .push("linkpath", second),
        Syscall::Link => c.push("oldpath", first).push("newpath", second),
        Syscall::Linkat => c
            .push("olddir", dirfd(0))
            .push("oldpath", first)
            .push("newdir", dirfd(2))
            .push("newpath", second)
            .push("flags", render::at_flags(event.args[4]).as_str()),
        Syscall::Chmod => c
            .push("filename", first)
            .push("mode", render::file_mode(event.args[1]).as_str()),
        Syscall::Fchmodat => c
            .push("dirfd", dirfd(0))
            .push("filename", first)
            .push("mode", render::file_mode(event.args[2]).as_str()),
        Syscall::Mount => c
            .push("dev", first)
            .push("dir", second)
            .push("flags", render::mount_flags(event.args[3]).as_str()),
        _ => return None,
    };
    Some(converted)
}

/// The syscalls that name neither a path nor an fd.
fn other_syscall(event: &SyscallEvent) -> Converted {
    let mut converted = Converted::with_res(event.ret);
    let c = &mut converted;
    match event.syscall {
        Syscall::Ptrace => c
            .push("request", render::ptrace_request(event.args[0]).as_str())
            .push("pid", i64::from(event.args[1] as u32 as i32)),
        Syscall::InitModule => c.push("length", event.args[1] as i64),
        Syscall::Bpf => c
            .push("res_or_fd", event.ret)
            .push("cmd", render::bpf_command(event.args[0]).as_str()),
        Syscall::Unshare => c.push("flags", render::clone_flags(event.args[0]).as_str()),
        _ => c,
    };
    converted
}
