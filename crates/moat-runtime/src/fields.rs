//! The value of every catalogued rule field for a [`RuntimeEvent`], with Falco's meaning.
//!
//! Choices where the model is simpler than libsinsp:
//! - `evt.is_open_read`/`write` read the `flags` argument: text flags (`O_RDONLY|O_CLOEXEC`,
//!   `O_RDWR`) or a raw number (Linux `O_ACCMODE` bits). `evt.is_open_exec` is an open with
//!   `O_CREAT` whose `mode` has an execute bit; `evt.is_open_create` is an open with `O_CREAT`
//!   (or Falco's `O_F_CREATED`).
//! - Relative paths (`evt.abspath`, `fs.path.*`) are resolved against the process cwd, as
//!   for `AT_FDCWD`.
//! - `fd.ip`, `fd.port` ("either end") are lists of both ends; `fd.net` is the remote
//!   address, since a list of addresses is compared as text, not with CIDR.
//! - Fields about ancestors without an index (`proc.aname`) list every ancestor, parent first.

use crate::clock;
use crate::errno;
use crate::event::{ArgValue, Container, Endpoint, FdKind, ProcessSummary, RuntimeEvent};
use moat_rules::{Event, FieldExpr, FieldValue};
use std::borrow::Cow;

/// Catalogued fields this model has no data for yet, each with why.
pub const UNANSWERED_FIELDS: &[&str] = &[
    // Need the capture's first event or the previous event: a property of the stream,
    // not of one event.
    "evt.reltime",
    "evt.deltatime",
    // Filter-only in Falco (selects events around a time); not a value.
    "evt.around",
    // Scheduler data the sources do not collect.
    "evt.wait_latency",
    "thread.exectime",
    "thread.totexectime",
    // No plugins and no asynchronous events in this model.
    "evt.pluginname",
    "evt.plugininfo",
    "evt.asynctype",
    // Port-to-protocol names need a services database.
    "fd.proto",
    "fd.cproto",
    "fd.sproto",
    "fd.lproto",
    "fd.rproto",
];

type Value<'a> = Option<FieldValue<'a>>;

fn text(value: &str) -> Value<'_> {
    Some(FieldValue::Str(Cow::Borrowed(value)))
}

fn owned<'a>(value: String) -> Value<'a> {
    Some(FieldValue::Str(Cow::Owned(value)))
}

fn u64v<'a>(value: u64) -> Value<'a> {
    Some(FieldValue::U64(value))
}

fn boolv<'a>(value: bool) -> Value<'a> {
    Some(FieldValue::Bool(value))
}

fn list<'a>(items: impl Iterator<Item = Cow<'a, str>>) -> Value<'a> {
    Some(FieldValue::List(items.collect()))
}

fn opt_text(value: &Option<String>) -> Value<'_> {
    value.as_deref().and_then(text)
}

impl Event for RuntimeEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn field(&self, field: &FieldExpr) -> Value<'_> {
        let arg = field.arg.as_deref();
        let name = field.name.as_str();
        // A byte search: `split_once('.')` shows up in profiles of rule matching.
        let dot = name.bytes().position(|b| b == b'.')?;
        let (group, rest) = (&name[..dot], &name[dot + 1..]);
        match group {
            "evt" => self.evt_field(rest, arg),
            "syscall" if rest == "type" => text(&self.event_type),
            "proc" => self
                .proc_field(rest, arg)
                .or_else(|| self.proc_leader_field(rest)),
            "thread" => self.thread_field(rest, arg),
            "user" | "group" => self.user_field(name),
            "fd" => self.fd_field(rest, arg),
            "fs" => self.fs_field(rest),
            "container" => self.container_field(rest, arg),
            "k8s" => self.k8s_field(rest, arg),
            _ => None,
        }
    }
}

/// Read, write and wait syscalls, for `evt.is_io*` and `evt.is_wait`.
pub(crate) const READ_TYPES: &[&str] = &[
    "read", "readv", "pread", "pread64", "preadv", "preadv2", "recv", "recvfrom", "recvmsg", "recvmmsg",
];
pub(crate) const WRITE_TYPES: &[&str] = &[
    "write", "writev", "pwrite", "pwrite64", "pwritev", "pwritev2", "send", "sendto", "sendmsg", "sendmmsg",
];
pub(crate) const WAIT_TYPES: &[&str] = &[
    "nanosleep",
    "clock_nanosleep",
    "futex",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "wait4",
    "waitid",
    "pause",
];
pub(crate) const OPEN_TYPES: &[&str] = &["open", "openat", "openat2", "creat", "open_by_handle_at"];

/// Shells, for `proc.loginshellid`.
const SHELLS: &[&str] = &["ash", "bash", "csh", "ksh", "sh", "tcsh", "zsh", "dash", "fish"];

impl RuntimeEvent {
    fn evt_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        match rest {
            "num" => u64v(self.num),
            "time" => owned(clock::time_ns(self.ts)),
            "time.s" => owned(clock::time_s(self.ts)),
            "time.iso8601" => owned(clock::iso8601(self.ts)),
            "datetime" => owned(clock::datetime(self.ts)),
            "rawtime" => u64v(self.ts),
            "rawtime.s" => u64v(self.ts / 1_000_000_000),
            "rawtime.ns" => u64v(self.ts % 1_000_000_000),
            "latency" => self.latency.map(FieldValue::U64),
            "dir" => text(self.dir.as_str()),
            "type" => text(&self.event_type),
            "type.is" => u64v(u64::from(arg == Some(self.event_type.as_str()))),
            "category" => text(self.category()),
            "cpu" => self.cpu.map(|cpu| FieldValue::U64(cpu.into())),
            "args" | "info" => owned(self.rendered_args()),
            "arg" => self.arg_text(arg?),
            "rawarg" => self.raw_arg(arg?),
            "buffer" => self.buffer().map(|b| FieldValue::Bytes(Cow::Borrowed(b))),
            "buflen" => self.buffer().map(|b| FieldValue::U64(b.len() as u64)),
            "res" => owned(self.res_name()),
            "rawres" => Some(FieldValue::I64(self.res)),
            "failed" => boolv(self.res < 0),
            "count" => u64v(1),
            "hostname" => opt_text(&self.hostname),
            "source" => text("syscall"),
            "is_async" => boolv(false),
            _ => self.evt_derived_field(rest),
        }
    }

    fn evt_derived_field(&self, rest: &str) -> Value<'_> {
        match rest {
            "is_io" | "is_io_read" | "is_io_write" | "io_dir" | "is_syslog" => self.evt_io_field(rest),
            "is_wait" => boolv(WAIT_TYPES.contains(&self.event_type.as_str())),
            "abspath" => self.path_arg().map(|p| FieldValue::Str(self.absolute(p))),
            "abspath.src" => self.source_arg().map(|p| FieldValue::Str(self.absolute(p))),
            "abspath.dst" => self.target_arg().map(|p| FieldValue::Str(self.absolute(p))),
            "is_open_read" => boolv(self.is_open() && self.access_mode().0),
            "is_open_write" => boolv(self.is_open() && self.access_mode().1),
            "is_open_exec" => boolv(self.is_open() && self.has_flag("O_CREAT") && self.mode_has_exec()),
            "is_open_create" => {
                boolv(self.is_open() && (self.has_flag("O_CREAT") || self.has_flag("O_F_CREATED")))
            }
            _ => None,
        }
    }

    fn evt_io_field(&self, rest: &str) -> Value<'_> {
        let is_read = READ_TYPES.contains(&self.event_type.as_str());
        let is_write = WRITE_TYPES.contains(&self.event_type.as_str());
        match rest {
            "is_io" => boolv(is_read || is_write),
            "is_io_read" => boolv(is_read),
            "is_io_write" => boolv(is_write),
            "io_dir" if is_read => text("r"),
            "io_dir" if is_write => text("w"),
            "is_syslog" => boolv(is_write && self.fd.as_ref().is_some_and(|fd| fd.name == "/dev/log")),
            _ => None,
        }
    }

    fn category(&self) -> &'static str {
        let kind = self.fd.as_ref().map(|fd| fd.kind);
        match self.event_type.as_str() {
            t if OPEN_TYPES.contains(&t) => "file",
            "execve" | "execveat" | "clone" | "clone3" | "fork" | "vfork" | "exit" | "exit_group"
            | "procexit" | "kill" | "tkill" | "tgkill" | "prctl" | "ptrace" | "setuid" | "setgid"
            | "setresuid" | "setresgid" | "capset" => "process",
            "connect" | "accept" | "accept4" | "bind" | "listen" | "socket" | "socketpair" | "shutdown"
            | "getsockopt" | "setsockopt" => "net",
            "mmap" | "mmap2" | "munmap" | "mprotect" | "brk" => "memory",
            t if READ_TYPES.contains(&t) || WRITE_TYPES.contains(&t) => match kind {
                Some(k) if k.is_ip() || k == FdKind::Unix => "net",
                _ => "io",
            },
            t if WAIT_TYPES.contains(&t) => "wait",
            "unlink" | "unlinkat" | "rename" | "renameat" | "renameat2" | "mkdir" | "mkdirat" | "rmdir"
            | "symlink" | "symlinkat" | "link" | "linkat" | "chmod" | "fchmod" | "fchmodat" | "chown"
            | "fchown" | "fchownat" | "close" | "dup" | "dup2" | "dup3" => "file",
            _ => "other",
        }
    }

    fn rendered_args(&self) -> String {
        let mut out = String::new();
        for arg in &self.args.0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&arg.name);
            out.push('=');
            out.push_str(&arg.value.to_string());
        }
        out
    }

    /// `evt.arg.NAME` or `evt.arg[N]`, as text; `res` is the return value when not an argument.
    fn arg_text(&self, key: &str) -> Value<'_> {
        let value = match key.parse::<usize>() {
            Ok(index) => &self.args.0.get(index)?.value,
            Err(_) => match self.args.get(key) {
                Some(value) => value,
                None if key == "res" => return owned(self.res.to_string()),
                None => return None,
            },
        };
        match value {
            ArgValue::Str(s) => text(s),
            other => owned(other.to_string()),
        }
    }

    fn raw_arg(&self, key: &str) -> Value<'_> {
        let value = match self.args.get(key) {
            Some(value) => value,
            None if key == "res" => return Some(FieldValue::I64(self.res)),
            None => return None,
        };
        Some(match value {
            ArgValue::Int(n) => FieldValue::I64(*n),
            ArgValue::UInt(n) => FieldValue::U64(*n),
            ArgValue::Str(s) => FieldValue::Str(Cow::Borrowed(s)),
        })
    }

    fn buffer(&self) -> Option<&[u8]> {
        self.args.text("data").map(str::as_bytes)
    }

    fn res_name(&self) -> String {
        if self.res >= 0 {
            return "SUCCESS".to_string();
        }
        let number = self.res.unsigned_abs();
        errno::name(number).map_or_else(|| self.res.to_string(), str::to_string)
    }

    fn is_open(&self) -> bool {
        OPEN_TYPES.contains(&self.event_type.as_str())
    }

    fn flags(&self) -> Option<&ArgValue> {
        self.args.get("flags")
    }

    fn has_flag(&self, flag: &str) -> bool {
        match self.flags() {
            Some(ArgValue::Str(flags)) => has_token(flags, flag),
            Some(ArgValue::Int(n)) => raw_flag(flag).is_some_and(|bit| n & bit != 0),
            _ => false,
        }
    }

    /// (readable, writable) from the open flags; `creat` is write-only.
    fn access_mode(&self) -> (bool, bool) {
        if self.event_type == "creat" {
            return (false, true);
        }
        match self.flags() {
            Some(ArgValue::Str(flags)) => {
                let (mut read, mut write) = (false, false);
                for token in flags.as_bytes().split(|&b| b == b'|') {
                    match token.trim_ascii() {
                        b"O_RDONLY" => read = true,
                        b"O_WRONLY" => write = true,
                        b"O_RDWR" => (read, write) = (true, true),
                        _ => {}
                    }
                }
                (read, write)
            }
            Some(ArgValue::Int(n)) => match n & 3 {
                0 => (true, false),
                1 => (false, true),
                _ => (true, true),
            },
            _ => (false, false),
        }
    }

    fn mode_has_exec(&self) -> bool {
        match self.args.get("mode") {
            Some(ArgValue::Int(mode)) => mode & 0o111 != 0,
            Some(ArgValue::Str(mode)) if mode.contains("S_IX") => true,
            Some(ArgValue::Str(mode)) => {
                let digits = mode.trim().trim_start_matches("0o");
                i64::from_str_radix(digits, 8).is_ok_and(|m| m & 0o111 != 0)
            }
            _ => false,
        }
    }

    /// The single path argument of a path syscall.
    fn path_arg(&self) -> Option<&str> {
        ["name", "pathname", "path", "filename"]
            .iter()
            .find_map(|name| self.args.text(name))
    }

    fn source_arg(&self) -> Option<&str> {
        ["oldpath", "target"].iter().find_map(|name| self.args.text(name))
    }

    fn target_arg(&self) -> Option<&str> {
        ["newpath", "linkpath"]
            .iter()
            .find_map(|name| self.args.text(name))
    }

    fn absolute<'a>(&'a self, path: &'a str) -> Cow<'a, str> {
        if path.starts_with('/') || self.process.cwd.is_empty() {
            return Cow::Borrowed(path);
        }
        let cwd = self.process.cwd.trim_end_matches('/');
        Cow::Owned(format!("{cwd}/{}", path.trim_start_matches("./")))
    }
}

/// True when `flag` is one of the `|`-separated names in `flags` (bytes: this runs for
/// every open event and every rule that looks at the open mode).
fn has_token(flags: &str, flag: &str) -> bool {
    flags
        .as_bytes()
        .split(|&b| b == b'|')
        .any(|token| token.trim_ascii() == flag.as_bytes())
}

/// Linux bit of a text open flag, for flags recorded as a number.
fn raw_flag(flag: &str) -> Option<i64> {
    Some(match flag {
        "O_CREAT" => 0o100,
        "O_EXCL" => 0o200,
        "O_TRUNC" => 0o1000,
        "O_APPEND" => 0o2000,
        "O_CLOEXEC" => 0o2000000,
        _ => return None,
    })
}

fn cmdline<'a>(name: &'a str, args: &[String]) -> Cow<'a, str> {
    if args.is_empty() {
        return Cow::Borrowed(name);
    }
    Cow::Owned(format!("{name} {}", args.join(" ")))
}

fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter().find_map(|entry| {
        let (name, value) = entry.split_once('=')?;
        (name == key).then_some(value)
    })
}

impl RuntimeEvent {
    fn parent(&self) -> Option<&ProcessSummary> {
        self.process.ancestors.first()
    }

    fn proc_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        let p = &self.process;
        match rest {
            "exe" => text(&p.exe),
            "exepath" => text(&p.exepath),
            "name" => text(&p.name),
            "args" => owned(p.args.join(" ")),
            "cmdline" => Some(FieldValue::Str(cmdline(&p.name, &p.args))),
            "exeline" => Some(FieldValue::Str(cmdline(&p.exe, &p.args))),
            "cmdnargs" => u64v(p.args.len() as u64),
            "cmdlenargs" => u64v(p.args.iter().map(|a| a.len() as u64).sum()),
            "pexe" => self.parent().map(|a| FieldValue::Str(Cow::Borrowed(&a.exe))),
            "pexepath" => self.parent().map(|a| FieldValue::Str(Cow::Borrowed(&a.exepath))),
            "pname" => self.parent().map(|a| FieldValue::Str(Cow::Borrowed(&a.name))),
            "pcmdline" => self.parent().map(|a| FieldValue::Str(cmdline(&a.name, &a.args))),
            "aexe" => self.ancestor_field(arg, |a| Cow::Borrowed(&a.exe), &p.exe),
            "aexepath" => self.ancestor_field(arg, |a| Cow::Borrowed(&a.exepath), &p.exepath),
            "aname" => self.ancestor_field(arg, |a| Cow::Borrowed(&a.name), &p.name),
            "acmdline" => self.ancestor_cmdline(arg),
            "apid" => self.ancestor_pid(arg),
            "env" => self.env_field(arg, false),
            "aenv" => self.env_field(arg, true),
            "cwd" => text(&p.cwd),
            "loginshellid" => self.login_shell_id(),
            "tty" => u64v(p.tty.unwrap_or(0)),
            "pid" => u64v(p.pid),
            "ppid" => p
                .ppid
                .or_else(|| self.parent().map(|a| a.pid))
                .map(FieldValue::U64),
            "vpid" => u64v(p.vpid),
            "pvpid" => self.parent().map(|a| FieldValue::U64(a.vpid)),
            "sid" => u64v(p.sid),
            "vpgid" => u64v(p.vpgid),
            "is_vpgid_leader" => boolv(p.vpid == p.vpgid),
            "is_sid_leader" => boolv(p.vpid == p.sid),
            "duration" => u64v(self.ts.saturating_sub(p.start_ts)),
            "ppid.duration" => self
                .parent()
                .map(|a| FieldValue::U64(self.ts.saturating_sub(a.start_ts))),
            "pid.ts" => u64v(p.start_ts),
            "ppid.ts" => self.parent().map(|a| FieldValue::U64(a.start_ts)),
            _ => self.proc_resource_field(rest),
        }
    }

    /// Session and process group leaders.
    fn proc_leader_field(&self, rest: &str) -> Value<'_> {
        let p = &self.process;
        let (leader, what) = match rest {
            "sname" => (p.session_leader.as_ref(), "name"),
            "sid.exe" => (p.session_leader.as_ref(), "exe"),
            "sid.exepath" => (p.session_leader.as_ref(), "exepath"),
            "vpgid.name" => (p.group_leader.as_ref(), "name"),
            "vpgid.exe" => (p.group_leader.as_ref(), "exe"),
            "vpgid.exepath" => (p.group_leader.as_ref(), "exepath"),
            _ => return None,
        };
        let leader = leader?;
        text(match what {
            "name" => &leader.name,
            "exe" => &leader.exe,
            _ => &leader.exepath,
        })
    }

    fn proc_resource_field(&self, rest: &str) -> Value<'_> {
        let p = &self.process;
        match rest {
            "fdopencount" => p.fd_open_count.map(FieldValue::U64),
            "fdlimit" => p.fd_limit.map(FieldValue::I64),
            "fdusage" => {
                let (open, limit) = (p.fd_open_count?, p.fd_limit.filter(|l| *l > 0)?);
                owned(format!("{:.2}", open as f64 * 100.0 / limit as f64))
            }
            "vmsize" => p.vm_size_kb.map(FieldValue::U64),
            "vmrss" => p.vm_rss_kb.map(FieldValue::U64),
            "vmswap" => p.vm_swap_kb.map(FieldValue::U64),
            "is_exe_writable" => boolv(p.is_exe_writable),
            "is_exe_upper_layer" => boolv(p.is_exe_upper_layer),
            "is_exe_lower_layer" => boolv(p.is_exe_lower_layer),
            "is_exe_from_memfd" => boolv(p.is_exe_from_memfd),
            "exe_ino" => p.exe_ino.map(FieldValue::U64),
            "exe_ino.ctime" => p.exe_ino_ctime.map(FieldValue::U64),
            "exe_ino.mtime" => p.exe_ino_mtime.map(FieldValue::U64),
            "exe_ino.ctime_duration_proc_start" => p
                .exe_ino_ctime
                .map(|c| FieldValue::U64(p.start_ts.saturating_sub(c))),
            "exe_ino.ctime_duration_pidns_start" => {
                let (ctime, ns_start) = (p.exe_ino_ctime?, p.pidns_init_start_ts?);
                u64v(ctime.saturating_sub(ns_start))
            }
            "pidns_init_start_ts" => p.pidns_init_start_ts.map(FieldValue::U64),
            "thread.cap_permitted" => caps(&p.cap_permitted),
            "thread.cap_inheritable" => caps(&p.cap_inheritable),
            "thread.cap_effective" => caps(&p.cap_effective),
            _ => self.proc_stdio_field(rest),
        }
    }

    fn proc_stdio_field(&self, rest: &str) -> Value<'_> {
        let (stream, what) = rest.split_once('.')?;
        let index = ["stdin", "stdout", "stderr"].iter().position(|s| *s == stream)?;
        let fd = self.process.stdio.get(index)?;
        match what {
            "type" => text(fd.kind.as_str()),
            "name" => text(&fd.name),
            _ => None,
        }
    }

    /// `[0]` is the process itself, `[N]` the Nth ancestor; no index lists every ancestor.
    fn ancestor_field<'a>(
        &'a self,
        arg: Option<&str>,
        get: impl Fn(&'a ProcessSummary) -> Cow<'a, str>,
        own: &'a str,
    ) -> Value<'a> {
        let ancestors = &self.process.ancestors;
        match arg {
            None => list(ancestors.iter().map(get)),
            Some(index) => match index.parse::<usize>().ok()? {
                0 => text(own),
                n => ancestors.get(n - 1).map(|a| FieldValue::Str(get(a))),
            },
        }
    }

    fn ancestor_cmdline(&self, arg: Option<&str>) -> Value<'_> {
        let p = &self.process;
        match arg.map(str::parse::<usize>) {
            Some(Ok(0)) => Some(FieldValue::Str(cmdline(&p.name, &p.args))),
            _ => self.ancestor_field(arg, |a| cmdline(&a.name, &a.args), ""),
        }
    }

    fn ancestor_pid(&self, arg: Option<&str>) -> Value<'_> {
        let ancestors = &self.process.ancestors;
        match arg {
            None => list(ancestors.iter().map(|a| Cow::Owned(a.pid.to_string()))),
            Some(index) => match index.parse::<usize>().ok()? {
                0 => u64v(self.process.pid),
                n => ancestors.get(n - 1).map(|a| FieldValue::U64(a.pid)),
            },
        }
    }

    /// `proc.env` / `proc.aenv`: one variable (searched up the ancestors for `aenv`) or the
    /// whole environment as `NAME=value` separated by spaces.
    fn env_field(&self, key: Option<&str>, ancestors: bool) -> Value<'_> {
        let own = self.process.env.as_deref();
        let Some(key) = key else {
            return own.map(|env| FieldValue::Str(Cow::Owned(env.join(" "))));
        };
        let mut envs = own.into_iter().chain(
            self.process
                .ancestors
                .iter()
                .filter(|_| ancestors)
                .filter_map(|a| a.env.as_deref()),
        );
        envs.find_map(|env| env_value(env, key)).and_then(text)
    }

    /// The pid of the oldest shell among the process and its ancestors.
    fn login_shell_id(&self) -> Value<'_> {
        let p = &self.process;
        let own = std::iter::once((p.pid, p.name.as_str()));
        let ancestors = p.ancestors.iter().map(|a| (a.pid, a.name.as_str()));
        own.chain(ancestors)
            .rfind(|(_, name)| SHELLS.contains(name))
            .map(|(pid, _)| FieldValue::I64(pid as i64))
    }

    fn thread_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        let p = &self.process;
        match rest {
            "tid" => u64v(p.tid),
            "vtid" => u64v(p.vtid.unwrap_or(p.tid)),
            "ismain" => boolv(p.tid == p.pid),
            "cgroups" => (!p.cgroups.is_empty()).then(|| {
                let all: Vec<String> = p.cgroups.iter().map(|(k, v)| format!("{k}={v}")).collect();
                FieldValue::Str(Cow::Owned(all.join(" ")))
            }),
            "cgroup" => p.cgroups.get(arg?).and_then(|v| text(v)),
            "cap_permitted" => caps(&p.cap_permitted),
            "cap_inheritable" => caps(&p.cap_inheritable),
            "cap_effective" => caps(&p.cap_effective),
            _ => None,
        }
    }

    fn user_field(&self, name: &str) -> Value<'_> {
        let p = &self.process;
        match name {
            "user.uid" => u64v(p.uid),
            "user.name" => opt_text(&p.user),
            "user.homedir" => opt_text(&p.homedir),
            "user.shell" => opt_text(&p.shell),
            "user.loginuid" => Some(FieldValue::I64(p.loginuid.unwrap_or(-1))),
            "user.loginname" => opt_text(&p.login_name),
            "group.gid" => u64v(p.gid),
            "group.name" => opt_text(&p.group),
            _ => None,
        }
    }
}

fn caps(values: &[String]) -> Value<'_> {
    list(values.iter().map(|c| Cow::Borrowed(c.as_str())))
}

fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(index) => &path[..index],
        None => path,
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl RuntimeEvent {
    fn fd_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        let fd = self.fd.as_ref()?;
        let is_file = fd.kind == FdKind::File;
        match rest {
            "num" => Some(FieldValue::I64(fd.num)),
            "type" => text(fd.kind.as_str()),
            "typechar" => text(fd.kind.type_char()),
            "name" => text(&fd.name),
            "nameraw" => text(fd.nameraw.as_deref().unwrap_or(&fd.name)),
            "directory" if is_file => text(dirname(&fd.name)),
            "directory" if fd.kind == FdKind::Directory => text(&fd.name),
            "filename" if is_file => text(basename(&fd.name)),
            "l4proto" => opt_text(&fd.l4proto),
            "sockfamily" if fd.kind.is_ip() => text("ip"),
            "sockfamily" if fd.kind == FdKind::Unix => text("unix"),
            "is_server" => boolv(fd.is_server),
            "uid" => owned(format!("{}{}", self.process.tid, fd.num)),
            "containername" => owned(format!("{}{}", self.container_id(), fd.name)),
            "containerdirectory" => owned(format!("{}{}", self.container_id(), dirname(&fd.name))),
            "connected" => boolv(fd.connected),
            "name_changed" => boolv(fd.name_changed),
            "dev" => fd.dev.map(FieldValue::U64),
            "dev.major" => fd.dev.map(|d| FieldValue::U64(d >> 20)),
            "dev.minor" => fd.dev.map(|d| FieldValue::U64(d & 0xfffff)),
            "ino" => fd.ino.map(FieldValue::U64),
            "types" => match arg.map(str::parse::<usize>) {
                None | Some(Ok(0)) => list(std::iter::once(Cow::Borrowed(fd.kind.as_str()))),
                _ => None,
            },
            _ => self.fd_endpoint_field(rest),
        }
    }

    fn fd_endpoint_field(&self, rest: &str) -> Value<'_> {
        let fd = self.fd.as_ref()?;
        let (head, what) = match rest.strip_suffix(".name") {
            Some(ip) => (ip, "name"),
            None => (rest, rest.get(1..).unwrap_or("")),
        };
        let end = head.get(..1).unwrap_or("");
        let endpoint = match end {
            "c" => fd.client.as_ref(),
            "s" => fd.server.as_ref(),
            "l" => fd.local(),
            "r" => fd.remote(),
            _ => return self.fd_either_end(rest),
        };
        endpoint_value(endpoint?, what)
    }

    /// `fd.ip`, `fd.port`, `fd.net`: either end.
    fn fd_either_end(&self, rest: &str) -> Value<'_> {
        let fd = self.fd.as_ref()?;
        let ends = || fd.client.iter().chain(fd.server.iter());
        match rest {
            "ip" => list(ends().map(|e| Cow::Owned(e.ip.to_string()))),
            "port" => list(ends().map(|e| Cow::Owned(e.port.to_string()))),
            "net" => fd.remote().map(|e| FieldValue::Ip(e.ip)),
            _ => None,
        }
    }
}

fn endpoint_value<'a>(endpoint: &'a Endpoint, what: &str) -> Value<'a> {
    match what {
        "ip" | "net" => Some(FieldValue::Ip(endpoint.ip)),
        "port" => u64v(endpoint.port.into()),
        "name" => opt_text(&endpoint.name),
        _ => None,
    }
}

impl RuntimeEvent {
    fn fs_field<'a>(&'a self, rest: &str) -> Value<'a> {
        let resolved = |raw: Option<&'a str>| raw.map(|p| FieldValue::Str(self.absolute(p)));
        match rest {
            "path.name" => resolved(self.path_arg()),
            "path.nameraw" => self.path_arg().and_then(text),
            "path.source" => resolved(self.source_arg()),
            "path.sourceraw" => self.source_arg().and_then(text),
            "path.target" => resolved(self.target_arg()),
            "path.targetraw" => self.target_arg().and_then(text),
            _ => None,
        }
    }

    fn container_id(&self) -> &str {
        self.container.as_deref().map_or("host", Container::short_id)
    }

    fn container_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        let Some(c) = self.container.as_ref() else {
            return match rest {
                "id" | "full_id" | "name" => text("host"),
                "privileged" | "host_pid" | "host_network" | "host_ipc" => boolv(false),
                _ => None,
            };
        };
        match rest {
            "id" => text(c.short_id()),
            "full_id" => text(&c.id),
            "name" => text(&c.name),
            "image" => text(&c.image),
            "image.id" => opt_text(&c.image_id),
            "type" => text(&c.runtime),
            "privileged" => boolv(c.privileged),
            "image.repository" => text(&c.repository),
            "image.tag" => text(&c.tag),
            "image.digest" => opt_text(&c.digest),
            "healthcheck" => opt_text(&c.healthcheck),
            "liveness_probe" => opt_text(&c.liveness_probe),
            "readiness_probe" => opt_text(&c.readiness_probe),
            "start_ts" => c.start_ts.map(FieldValue::U64),
            "duration" => c.start_ts.map(|s| FieldValue::U64(self.ts.saturating_sub(s))),
            "ip" => opt_text(&c.ip),
            "cni.json" => opt_text(&c.cni_json),
            "host_pid" => boolv(c.host_pid),
            "host_network" => boolv(c.host_network),
            "host_ipc" => boolv(c.host_ipc),
            "label" => c.labels.get(arg?).and_then(|v| text(v)),
            "labels" => owned(join_labels(c.labels.iter())),
            _ => mount_field(c, rest, arg),
        }
    }

    fn k8s_field(&self, rest: &str, arg: Option<&str>) -> Value<'_> {
        let c = self.container.as_ref()?;
        let pod = c.pod.as_ref();
        let label = |key: &str| c.labels.get(key).map(String::as_str);
        let value: Option<&str> = match rest {
            "ns.name" => pod
                .map(|p| p.namespace.as_str())
                .or_else(|| label("io.kubernetes.pod.namespace")),
            "pod.name" => pod
                .map(|p| p.name.as_str())
                .or_else(|| label("io.kubernetes.pod.name")),
            "pod.id" | "pod.uid" => pod
                .map(|p| p.uid.as_str())
                .or_else(|| label("io.kubernetes.pod.uid")),
            "pod.full_sandbox_id" => pod
                .map(|p| p.sandbox_id.as_str())
                .or_else(|| label("io.kubernetes.sandbox.id")),
            "pod.sandbox_id" => {
                let full = pod
                    .map(|p| p.sandbox_id.as_str())
                    .or_else(|| label("io.kubernetes.sandbox.id"))?;
                full.get(..12).or(Some(full))
            }
            "pod.label" => pod?.labels.get(arg?).map(String::as_str),
            "pod.labels" => return owned(join_labels(pod?.labels.iter())),
            "pod.ip" => pod?.ip.as_deref(),
            "pod.cni.json" => pod?.cni_json.as_deref(),
            _ => None,
        };
        value.filter(|v| !v.is_empty()).and_then(text)
    }
}

/// Labels as Falco prints them: `key:value` separated by `, `.
fn join_labels<'a>(labels: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    labels
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `container.mounts` and `container.mount*[key]`: key is an index, or a path (the
/// destination for `mount.source`, the source otherwise).
fn mount_field<'a>(c: &'a Container, rest: &str, arg: Option<&str>) -> Value<'a> {
    let render =
        |m: &crate::event::Mount| format!("{}:{}:{}:{}:{}", m.source, m.dest, m.mode, m.rdwr, m.propagation);
    if rest == "mounts" {
        return owned(c.mounts.iter().map(render).collect::<Vec<_>>().join(","));
    }
    let key = arg?;
    let by_dest = rest == "mount.source";
    let mount = match key.parse::<usize>() {
        Ok(index) => c.mounts.get(index),
        Err(_) => c
            .mounts
            .iter()
            .find(|m| if by_dest { m.dest == key } else { m.source == key }),
    }?;
    match rest {
        "mount" => owned(render(mount)),
        "mount.source" => text(&mount.source),
        "mount.dest" => text(&mount.dest),
        "mount.mode" => text(&mount.mode),
        "mount.rdwr" => owned(mount.rdwr.to_string()),
        "mount.propagation" => text(&mount.propagation),
        _ => None,
    }
}
