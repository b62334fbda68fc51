//! Decoding of the records `moat.bpf.c` writes into its ring buffer. The offsets below mirror
//! its `struct header`, `struct syscall_event` and `struct proc_event` (native byte order);
//! a record that is too short or of an unknown kind is refused, never read past its end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::syscalls;
use crate::source::{ExecEvent, ExitEvent, ForkEvent, KernelEvent, SyscallEvent, Task};

const KIND_SYSCALL: u32 = 1;
const KIND_EXEC: u32 = 2;
const KIND_FORK: u32 = 3;
const KIND_EXIT: u32 = 4;

const HEADER_LEN: usize = 56;
const SYSCALL_EVENT_LEN: usize = 768;
const PROC_EVENT_LEN: usize = 1552;
const PATH_LEN: usize = 256;
const ADDR_LEN: usize = 128;
const CGROUP_LEN: usize = 128;
const ARGS_LEN: usize = 1024;
const EXE_NAME_LEN: usize = 64;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Why a ring buffer record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its kind's layout.
    #[error("record of kind {kind} is {len} bytes, expected {expected}")]
    Short {
        /// The record kind.
        kind: u32,
        /// Its length.
        len: usize,
        /// The layout's length.
        expected: usize,
    },
    /// A kind the programs do not write.
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
    /// A syscall number Moat did not ask to trace.
    #[error("record for untraced syscall number {0}")]
    UnknownSyscall(i32),
}

/// Reads fixed-layout fields from one record; every read is bounds-checked by `get`.
struct Record<'a>(&'a [u8]);

impl Record<'_> {
    fn bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(slice) = self.0.get(offset..offset + N) {
            out.copy_from_slice(slice);
        }
        out
    }
    fn u32(&self, offset: usize) -> u32 {
        u32::from_ne_bytes(self.bytes(offset))
    }
    fn i32(&self, offset: usize) -> i32 {
        i32::from_ne_bytes(self.bytes(offset))
    }
    fn u64(&self, offset: usize) -> u64 {
        u64::from_ne_bytes(self.bytes(offset))
    }
    fn i64(&self, offset: usize) -> i64 {
        i64::from_ne_bytes(self.bytes(offset))
    }
    /// A NUL-terminated string in a `capacity`-byte buffer, `len` as the kernel's
    /// `*_read_*_str` returned it (bytes including the NUL, or a negative error).
    fn string(&self, offset: usize, capacity: usize, len: i64) -> Option<String> {
        if len <= 0 {
            return None;
        }
        let buffer = self.0.get(offset..offset + capacity)?;
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        Some(String::from_utf8_lossy(&buffer[..end]).into_owned())
    }
    fn comm(&self) -> String {
        self.string(40, 16, 16).unwrap_or_default()
    }
}

/// Decodes one record; `boot_offset_ns` turns the kernel's monotonic clock into time since
/// the Unix epoch.
pub fn decode(data: &[u8], boot_offset_ns: u64) -> Result<KernelEvent, DecodeError> {
    let record = Record(data);
    if data.len() < HEADER_LEN {
        return Err(DecodeError::Short {
            kind: record.u32(0),
            len: data.len(),
            expected: HEADER_LEN,
        });
    }
    let kind = record.u32(0);
    let expected = match kind {
        KIND_SYSCALL => SYSCALL_EVENT_LEN,
        KIND_EXEC | KIND_FORK | KIND_EXIT => PROC_EVENT_LEN,
        other => return Err(DecodeError::UnknownKind(other)),
    };
    if data.len() < expected {
        return Err(DecodeError::Short {
            kind,
            len: data.len(),
            expected,
        });
    }
    let task = task(&record, boot_offset_ns);
    match kind {
        KIND_SYSCALL => syscall(&record, task).map(KernelEvent::Syscall),
        KIND_EXEC => Ok(KernelEvent::Exec(exec(&record, task))),
        KIND_FORK => Ok(KernelEvent::Fork(fork(&record, task))),
        _ => Ok(KernelEvent::Exit(exit(&record, task))),
    }
}

fn task(record: &Record<'_>, boot_offset_ns: u64) -> Task {
    Task {
        ts: record.u64(8).saturating_add(boot_offset_ns),
        pid: record.u32(16),
        tid: record.u32(20),
        ppid: Some(record.u32(24)),
        uid: record.u32(28),
        gid: record.u32(32),
        comm: record.comm(),
        cgroup: None,
    }
}

fn syscall(record: &Record<'_>, task: Task) -> Result<SyscallEvent, DecodeError> {
    let nr = record.i32(4);
    let traced = syscalls::by_number(nr).ok_or(DecodeError::UnknownSyscall(nr))?;
    let mut args = [0u64; 6];
    for (index, arg) in args.iter_mut().enumerate() {
        *arg = record.u64(64 + index * 8);
    }
    let addr_len = (record.u32(120) as usize).min(ADDR_LEN);
    let addr = record.0.get(640..640 + addr_len).and_then(socket_address);
    Ok(SyscallEvent {
        task,
        syscall: traced.syscall,
        ret: record.i64(56),
        args,
        path: record.string(128, PATH_LEN, record.i32(112).into()),
        path2: record.string(128 + PATH_LEN, PATH_LEN, record.i32(116).into()),
        addr,
    })
}

/// An IPv4 or IPv6 `struct sockaddr`; other families (Unix, netlink, packet) give `None`.
fn socket_address(raw: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes(raw.get(0..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(raw.get(2..4)?.try_into().ok()?);
    let ip = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw.get(4..8)?).ok()?)),
        AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw.get(8..24)?).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn cgroup(record: &Record<'_>) -> Option<String> {
    record
        .string(328, CGROUP_LEN, record.i32(64).into())
        .filter(|name| !name.is_empty())
}

fn exec(record: &Record<'_>, mut task: Task) -> ExecEvent {
    task.cgroup = cgroup(record);
    let args_len = (record.u32(68) as usize).min(ARGS_LEN);
    let args = record.0.get(456..456 + args_len).map(|raw| {
        raw.split(|&b| b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect()
    });
    let path = record
        .string(72, PATH_LEN, record.i32(60).into())
        .unwrap_or_default();
    // An executed memfd is known by its file's own name (`memfd:NAME`), not by the path the
    // exec was given (`/proc/self/fd/3`); it is reported as the kernel shows it in
    // /proc/<pid>/exe.
    let exe_name = record.string(1488, EXE_NAME_LEN, record.i32(1480).into());
    let filename = match exe_name {
        Some(name) if name.starts_with("memfd:") => format!("/{name} (deleted)"),
        _ => path,
    };
    ExecEvent { filename, args, task }
}

/// The record comes from the child: a thread when its tid differs from its pid (tgid), a new
/// process otherwise, whose parent is `ppid`.
fn fork(record: &Record<'_>, task: Task) -> ForkEvent {
    let cgroup = cgroup(record);
    let (child_pid, child_tid) = (task.pid, task.tid);
    let parent_pid = if child_tid == child_pid {
        task.ppid.unwrap_or(0)
    } else {
        child_pid
    };
    ForkEvent {
        parent: Task {
            pid: parent_pid,
            tid: parent_pid,
            ppid: None,
            cgroup,
            ..task
        },
        child_pid,
        child_tid,
    }
}

/// `exit_code` is the wait status: the exit code in bits 8–15 after a normal exit, the
/// signal number in bits 0–6 otherwise (given as 128 + signal, as shells report it).
fn exit(record: &Record<'_>, task: Task) -> ExitEvent {
    let status = record.i32(56);
    let signal = status & 0x7f;
    let code = if signal == 0 {
        (status >> 8) & 0xff
    } else {
        128 + signal
    };
    ExitEvent {
        process_ended: task.pid == task.tid,
        code: Some(code),
        task,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, nr: i32, len: usize) -> Vec<u8> {
        let mut data = vec![0u8; len];
        data[0..4].copy_from_slice(&kind.to_ne_bytes());
        data[4..8].copy_from_slice(&nr.to_ne_bytes());
        data[8..16].copy_from_slice(&1_000u64.to_ne_bytes());
        data[16..20].copy_from_slice(&42u32.to_ne_bytes());
        data[20..24].copy_from_slice(&43u32.to_ne_bytes());
        data[24..28].copy_from_slice(&7u32.to_ne_bytes());
        data[28..32].copy_from_slice(&1000u32.to_ne_bytes());
        data[40..43].copy_from_slice(b"cat");
        data
    }

    fn put_str(data: &mut [u8], offset: usize, len_offset: usize, text: &str) {
        data[offset..offset + text.len()].copy_from_slice(text.as_bytes());
        let len = i32::try_from(text.len() + 1).expect("short");
        data[len_offset..len_offset + 4].copy_from_slice(&len.to_ne_bytes());
    }

    #[test]
    fn an_openat_record_gives_its_path_result_and_task() {
        let Some(openat) = syscalls::TRACED.iter().find(|t| t.name == "openat") else {
            return;
        };
        let mut data = record(KIND_SYSCALL, openat.nr, SYSCALL_EVENT_LEN);
        data[56..64].copy_from_slice(&3i64.to_ne_bytes());
        put_str(&mut data, 128, 112, "/etc/shadow");
        let KernelEvent::Syscall(event) = decode(&data, 5).expect("decodes") else {
            panic!("not a syscall event");
        };
        assert_eq!(event.syscall, crate::source::Syscall::Openat);
        assert_eq!(event.ret, 3);
        assert_eq!(event.path.as_deref(), Some("/etc/shadow"));
        assert_eq!(event.path2, None);
        assert_eq!((event.task.pid, event.task.tid, event.task.uid), (42, 43, 1000));
        assert_eq!((event.task.ts, event.task.comm.as_str()), (1_005, "cat"));
    }

    #[test]
    fn socket_addresses_of_both_families_are_read() {
        let mut v4 = vec![0u8; 16];
        v4[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
        v4[2..4].copy_from_slice(&4444u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[10, 0, 0, 9]);
        assert_eq!(socket_address(&v4), Some("10.0.0.9:4444".parse().expect("addr")));
        let mut v6 = vec![0u8; 28];
        v6[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        v6[2..4].copy_from_slice(&443u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(socket_address(&v6), Some("[::1]:443".parse().expect("addr")));
        assert_eq!(socket_address(&v6[..10]), None);
        assert_eq!(socket_address(&[1, 0, b'/', b'x']), None);
    }

    #[test]
    fn exec_fork_and_exit_records_decode() {
        let mut data = record(KIND_EXEC, -1, PROC_EVENT_LEN);
        put_str(&mut data, 72, 60, "/usr/bin/cat");
        put_str(&mut data, 328, 64, "libpod-abc");
        let args = b"cat\0/etc/shadow\0";
        data[456..456 + args.len()].copy_from_slice(args);
        data[68..72].copy_from_slice(&u32::try_from(args.len()).expect("len").to_ne_bytes());
        let KernelEvent::Exec(exec) = decode(&data, 0).expect("decodes") else {
            panic!("not exec");
        };
        assert_eq!(exec.filename, "/usr/bin/cat");
        assert_eq!(
            exec.args,
            Some(vec!["cat".to_string(), "/etc/shadow".to_string()])
        );
        assert_eq!(exec.task.cgroup.as_deref(), Some("libpod-abc"));

        put_str(&mut data, 72, 60, "/proc/self/fd/3");
        put_str(&mut data, 1488, 1480, "memfd:payload");
        let KernelEvent::Exec(exec) = decode(&data, 0).expect("decodes") else {
            panic!("not exec");
        };
        assert_eq!(exec.filename, "/memfd:payload (deleted)");

        let mut data = record(KIND_FORK, 56, PROC_EVENT_LEN);
        data[20..24].copy_from_slice(&42u32.to_ne_bytes());
        let KernelEvent::Fork(fork) = decode(&data, 0).expect("decodes") else {
            panic!("not fork");
        };
        assert_eq!((fork.parent.pid, fork.child_pid, fork.child_tid), (7, 42, 42));

        let mut data = record(KIND_EXIT, -1, PROC_EVENT_LEN);
        data[56..60].copy_from_slice(&(3i32 << 8).to_ne_bytes());
        let KernelEvent::Exit(exit) = decode(&data, 0).expect("decodes") else {
            panic!("not exit");
        };
        assert_eq!((exit.code, exit.process_ended), (Some(3), false));
    }

    #[test]
    fn short_unknown_and_garbage_records_are_refused_without_panic() {
        assert!(matches!(decode(&[1, 0], 0), Err(DecodeError::Short { .. })));
        let data = record(KIND_SYSCALL, 257, 100);
        assert!(matches!(decode(&data, 0), Err(DecodeError::Short { .. })));
        let data = record(9, 0, PROC_EVENT_LEN);
        assert_eq!(decode(&data, 0), Err(DecodeError::UnknownKind(9)));
        let data = record(KIND_SYSCALL, 100_000, SYSCALL_EVENT_LEN);
        assert_eq!(decode(&data, 0), Err(DecodeError::UnknownSyscall(100_000)));
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..2000 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state & 0xff) as u8
                })
                .collect();
            let _ = decode(&data, u64::MAX);
        }
    }
}
