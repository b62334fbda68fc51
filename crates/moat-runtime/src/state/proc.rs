//! Reading processes from a proc file system (`/proc`, or a copy of its layout in tests).
//!
//! Every reader returns `None` (or leaves a field empty) when a file cannot be read: the
//! process may have ended, or belong to another user, between listing and reading.

use std::fs;
use std::path::{Path, PathBuf};

/// Clock ticks per second of `/proc/<pid>/stat`'s times: Linux reports them in `USER_HZ`,
/// which is 100 on every architecture Linux supports today (`sysconf(_SC_CLK_TCK)` would
/// need libc for a constant).
const TICKS_PER_SECOND: u64 = 100;

/// At most this many bytes of a process's environment are kept.
const MAX_ENVIRON_BYTES: usize = 32 * 1024;

/// At most this many fds of one process are read from `/proc/<pid>/fd`.
pub(super) const MAX_FDS_READ: usize = 4096;

/// The loginuid value the kernel uses for "not set".
const LOGINUID_UNSET: u32 = u32::MAX;

/// One process as its proc directory shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ProcSnapshot {
    pub pid: u32,
    pub ppid: u32,
    /// The pid in the process's own pid namespace (last `NSpid` value).
    pub vpid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Session and process group ids in the host's pid namespace (`stat`).
    pub sid: u32,
    pub pgid: u32,
    /// Session and process group ids in the process's pid namespace (`NSsid`, `NSpgid`).
    pub vsid: u32,
    pub vpgid: u32,
    pub loginuid: Option<i64>,
    pub comm: String,
    /// `readlink exe`; empty for kernel threads.
    pub exepath: String,
    pub cmdline: Vec<String>,
    pub cwd: String,
    /// `tty_nr` of `stat`; `None` when 0.
    pub tty: Option<u64>,
    /// Ns since the epoch; 0 when the boot time is unknown.
    pub start_ts: u64,
    pub env: Option<Vec<String>>,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub vm_size_kb: Option<u64>,
    pub vm_rss_kb: Option<u64>,
    pub vm_swap_kb: Option<u64>,
}

/// The fields of `/proc/<pid>/stat` that Moat uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct StatFields {
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub tty_nr: u64,
    /// Clock ticks after boot.
    pub start_ticks: u64,
}

/// The fields of `/proc/<pid>/status` that Moat uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StatusFields {
    pub name: String,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub nspid: Option<u32>,
    pub nspgid: Option<u32>,
    pub nssid: Option<u32>,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub vm_size_kb: Option<u64>,
    pub vm_rss_kb: Option<u64>,
    pub vm_swap_kb: Option<u64>,
}

/// A proc file system at `root`.
#[derive(Debug, Clone)]
pub(super) struct ProcFs {
    root: PathBuf,
    /// Boot time in ns since the epoch (`btime` of `<root>/stat`).
    boot_ns: Option<u64>,
}

impl ProcFs {
    /// The proc file system at `root`, reading its boot time once.
    pub fn new(root: PathBuf) -> ProcFs {
        let boot_ns = fs::read_to_string(root.join("stat"))
            .ok()
            .and_then(|text| parse_btime(&text))
            .map(|seconds| seconds.saturating_mul(1_000_000_000));
        ProcFs { root, boot_ns }
    }

    /// `<root>/<pid>`.
    pub fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// Every numeric entry of the root: the pids.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Everything Moat reads about `pid`; `None` when its `stat` cannot be read (gone).
    pub fn read_process(&self, pid: u32) -> Option<ProcSnapshot> {
        let dir = self.pid_dir(pid);
        let stat_text = fs::read_to_string(dir.join("stat")).ok()?;
        let (comm, stat) = parse_stat(&stat_text)?;
        let status = self.status(pid).unwrap_or_default();
        Some(ProcSnapshot {
            pid,
            ppid: stat.ppid,
            vpid: status.nspid.unwrap_or(pid),
            uid: status.uid,
            gid: status.gid,
            sid: stat.sid,
            pgid: stat.pgid,
            vsid: status.nssid.unwrap_or(stat.sid),
            vpgid: status.nspgid.unwrap_or(stat.pgid),
            loginuid: self.loginuid(pid),
            comm,
            exepath: read_link_text(&dir.join("exe")).unwrap_or_default(),
            cmdline: self.cmdline(pid).unwrap_or_default(),
            cwd: read_link_text(&dir.join("cwd")).unwrap_or_default(),
            tty: (stat.tty_nr != 0).then_some(stat.tty_nr),
            start_ts: self.start_ns(stat.start_ticks),
            env: self.environ(pid),
            cap_inheritable: status.cap_inheritable,
            cap_permitted: status.cap_permitted,
            cap_effective: status.cap_effective,
            vm_size_kb: status.vm_size_kb,
            vm_rss_kb: status.vm_rss_kb,
            vm_swap_kb: status.vm_swap_kb,
        })
    }

    /// Start time in ns since the epoch from clock ticks after boot; 0 without a boot time.
    fn start_ns(&self, ticks: u64) -> u64 {
        let Some(boot) = self.boot_ns else { return 0 };
        let after_boot = (ticks / TICKS_PER_SECOND) * 1_000_000_000
            + (ticks % TICKS_PER_SECOND) * (1_000_000_000 / TICKS_PER_SECOND);
        boot.saturating_add(after_boot)
    }

    /// The parsed `status` of `pid`.
    pub fn status(&self, pid: u32) -> Option<StatusFields> {
        let text = fs::read_to_string(self.pid_dir(pid).join("status")).ok()?;
        Some(parse_status(&text))
    }

    /// The argument vector, split on NUL.
    pub fn cmdline(&self, pid: u32) -> Option<Vec<String>> {
        let bytes = fs::read(self.pid_dir(pid).join("cmdline")).ok()?;
        Some(split_nul(&bytes))
    }

    /// The environment (the first [`MAX_ENVIRON_BYTES`]), split on NUL.
    pub fn environ(&self, pid: u32) -> Option<Vec<String>> {
        let mut bytes = fs::read(self.pid_dir(pid).join("environ")).ok()?;
        if bytes.len() > MAX_ENVIRON_BYTES {
            bytes.truncate(MAX_ENVIRON_BYTES);
            // Drop the variable the cut went through.
            let end = bytes.iter().rposition(|&b| b == 0).map_or(0, |i| i + 1);
            bytes.truncate(end);
        }
        Some(split_nul(&bytes))
    }

    /// The audit login uid; `None` when unset or unreadable.
    fn loginuid(&self, pid: u32) -> Option<i64> {
        let text = fs::read_to_string(self.pid_dir(pid).join("loginuid")).ok()?;
        let value: u32 = text.trim().parse().ok()?;
        (value != LOGINUID_UNSET).then_some(i64::from(value))
    }

    /// Where `fd` of `pid` points (`/etc/passwd`, `socket:[123]`).
    pub fn fd_target(&self, pid: u32, fd: i64) -> Option<String> {
        read_link_text(&self.pid_dir(pid).join("fd").join(fd.to_string()))
    }

    /// Every open fd of `pid` (at most [`MAX_FDS_READ`]) with its target.
    pub fn fds(&self, pid: u32) -> Vec<(i64, String)> {
        let dir = self.pid_dir(pid).join("fd");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let num: i64 = entry.file_name().to_str()?.parse().ok()?;
                Some((num, read_link_text(&entry.path())?))
            })
            .take(MAX_FDS_READ)
            .collect()
    }

    /// The open flags of `fd` of `pid` (`flags:` of `fdinfo`, octal).
    pub fn fd_flags(&self, pid: u32, fd: i64) -> Option<u64> {
        let path = self.pid_dir(pid).join("fdinfo").join(fd.to_string());
        let text = fs::read_to_string(path).ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|value| u64::from_str_radix(value.trim(), 8).ok())
    }

    /// The executable's metadata through `exe` (which works for files of other mount
    /// namespaces and for deleted files).
    pub fn exe_metadata(&self, pid: u32) -> Option<fs::Metadata> {
        fs::metadata(self.pid_dir(pid).join("exe")).ok()
    }

    /// `<root>/<pid>/root/<relative>`: a file as the process sees it.
    pub fn in_root(&self, pid: u32, relative: &str) -> PathBuf {
        self.pid_dir(pid).join("root").join(relative)
    }
}

fn read_link_text(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    Some(target.to_string_lossy().into_owned())
}

/// NUL-separated strings, without the empty string after the last NUL.
pub(crate) fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

/// Undoes the escapes `/proc/<pid>/status` applies to the command name (`\n` and `\\`).
fn unescape_comm(escaped: &str) -> String {
    let mut name = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                name.push('\n');
                chars.next();
            }
            ('\\', Some('\\')) => {
                name.push('\\');
                chars.next();
            }
            _ => name.push(c),
        }
    }
    name
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
pub(super) fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok())
}

/// The command name and the fields after it of `/proc/<pid>/stat`. The name is between the
/// first `(` and the last `)`, since it may itself contain spaces and parentheses.
pub(super) fn parse_stat(text: &str) -> Option<(String, StatFields)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    // After ")": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) ... starttime(22).
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3).copied();
    let stat = StatFields {
        ppid: field(4)?.parse().ok()?,
        pgid: field(5)?.parse().ok()?,
        sid: field(6)?.parse().ok()?,
        tty_nr: field(7)?.parse::<i64>().ok()?.max(0) as u64,
        start_ticks: field(22)?.parse().ok()?,
    };
    Some((comm, stat))
}

/// The lines of `/proc/<pid>/status` that Moat uses; absent lines stay at their default.
pub(crate) fn parse_status(text: &str) -> StatusFields {
    let mut status = StatusFields::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let first = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u32>().ok())
        };
        let last = || {
            value
                .split_whitespace()
                .last()
                .and_then(|v| v.parse::<u32>().ok())
        };
        let kib = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        };
        let hex = || u64::from_str_radix(value, 16).unwrap_or(0);
        match key {
            "Name" => status.name = unescape_comm(value),
            "PPid" => status.ppid = first().unwrap_or(0),
            "Uid" => status.uid = first().unwrap_or(0),
            "Gid" => status.gid = first().unwrap_or(0),
            "NSpid" => status.nspid = last(),
            "NSpgid" => status.nspgid = last(),
            "NSsid" => status.nssid = last(),
            "CapInh" => status.cap_inheritable = hex(),
            "CapPrm" => status.cap_permitted = hex(),
            "CapEff" => status.cap_effective = hex(),
            "VmSize" => status.vm_size_kb = kib(),
            "VmRSS" => status.vm_rss_kb = kib(),
            "VmSwap" => status.vm_swap_kb = kib(),
            _ => {}
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_tricky_command_name_is_parsed() {
        let text = "42 (a) b (c)) S 7 40 41 34816 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 12345 3133440 388";
        let (comm, stat) = parse_stat(text).expect("parses");
        assert_eq!(comm, "a) b (c)");
        assert_eq!(
            stat,
            StatFields {
                ppid: 7,
                pgid: 40,
                sid: 41,
                tty_nr: 34816,
                start_ticks: 12345,
            }
        );
        assert_eq!(parse_stat("42 (short) S 1 2"), None);
    }

    #[test]
    fn status_takes_real_ids_and_innermost_namespace_ids() {
        let text = "Name:\tbash\nPPid:\t9\nUid:\t1000\t0\t0\t0\nGid:\t50\t50\t50\t50\n\
                    NSpid:\t1234\t7\nNSpgid:\t1230\t3\nNSsid:\t1200\t1\nCapEff:\t0000000000200000\n\
                    VmRSS:\t  1652 kB\n";
        let status = parse_status(text);
        assert_eq!(status.name, "bash");
        assert_eq!((status.ppid, status.uid, status.gid), (9, 1000, 50));
        assert_eq!(
            (status.nspid, status.nspgid, status.nssid),
            (Some(7), Some(3), Some(1))
        );
        assert_eq!(status.cap_effective, 1 << 21);
        assert_eq!(status.vm_rss_kb, Some(1652));
        assert_eq!(status.vm_size_kb, None);
        // The kernel escapes a newline and a backslash in the command name.
        assert_eq!(parse_status("Name:\ta\\nb\\\\c\n").name, "a\nb\\c");
    }

    #[test]
    fn nul_separated_lists_drop_the_final_terminator() {
        assert_eq!(split_nul(b"cat\0/etc/shadow\0"), ["cat", "/etc/shadow"]);
        assert_eq!(split_nul(b"a\0\0b\0"), ["a", "", "b"]);
        assert!(split_nul(b"").is_empty());
        assert_eq!(parse_btime("cpu 1 2\nbtime 1700000000\n"), Some(1_700_000_000));
    }

    #[test]
    fn start_time_adds_ticks_at_user_hz_to_the_boot_time() {
        let proc_fs = ProcFs {
            root: PathBuf::from("/nonexistent"),
            boot_ns: Some(1_000 * 1_000_000_000),
        };
        assert_eq!(proc_fs.start_ns(250), 1_002_500_000_000);
        let unknown = ProcFs {
            root: PathBuf::from("/nonexistent"),
            boot_ns: None,
        };
        assert_eq!(unknown.start_ns(250), 0);
    }
}
