//! The netlink process connector: the kernel's exec, fork and exit notifications.
//!
//! A `NETLINK_CONNECTOR` datagram socket bound to the `CN_IDX_PROC` multicast group receives,
//! after a `PROC_CN_MCAST_LISTEN` request, one message per process event. Neither `nix` nor
//! `socket2` knows the connector's message layout, so the parser below is written by hand; it
//! reads every field through bounds-checked slices and reports short or odd messages as
//! malformed instead of failing.
//!
//! Every datagram is laid out in native byte order (little-endian on the targets Moat runs on):
//!
//! ```text
//! struct nlmsghdr   (16 bytes)  len u32 | type u16 | flags u16 | seq u32 | pid u32
//! struct cn_msg     (20 bytes)  idx u32 | val u32 | seq u32 | ack u32 | len u16 | flags u16
//! struct proc_event (40 bytes)  what u32 | cpu u32 | timestamp_ns u64 | event_data (24 bytes)
//!   fork: parent_pid i32 | parent_tgid i32 | child_pid i32 | child_tgid i32
//!   exec: process_pid i32 | process_tgid i32
//!   exit: process_pid i32 | process_tgid i32 | exit_code u32 | exit_signal u32
//!         | parent_pid i32 | parent_tgid i32   (the parent pair only on Linux 5.x and later)
//! ```
//!
//! The kernel's "pid" is a thread id and its "tgid" the process id; [`Task`] names them the
//! other way round (`pid` = tgid, `tid` = kernel pid).
//!
//! Exit codes: the connector reports the wait status (`task->exit_code`); an [`ExitEvent`]'s
//! `code` is the `exit()` value for a normal exit (`status >> 8`) and `128 + signal` for a task
//! killed by a signal, as shells show it. Timestamps: the connector's are `CLOCK_MONOTONIC`;
//! the offset to `CLOCK_REALTIME` taken at open turns them into ns since the Unix epoch (a
//! clock step after open shifts them).

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, NetlinkAddr};
use socket2::{Domain, Protocol, Socket, Type};

use crate::source::{
    realtime_minus_monotonic_ns, ExecEvent, ExitEvent, ForkEvent, KernelEvent, SourceError, SourceStats, Task,
};
use crate::state::proc::{parse_status, split_nul};

/// The name this source reports in errors.
pub(crate) const SOURCE_NAME: &str = "proc-connector";

/// `NETLINK_CONNECTOR` from `<linux/netlink.h>`: `nix::sys::socket::SockProtocol` has no
/// variant for it, so the socket is made with `socket2`, which takes any protocol number.
const NETLINK_CONNECTOR: i32 = 11;
/// `CN_IDX_PROC` and `CN_VAL_PROC` from `<linux/connector.h>`: the proc connector's id, and
/// (the index) its multicast group.
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `enum proc_cn_mcast_op` from `<linux/cn_proc.h>`.
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
/// `enum what` values from `<linux/cn_proc.h>` that this source turns into events.
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// Netlink control message types from `<linux/netlink.h>`.
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;

const NLMSG_HDR_LEN: usize = 16;
const CN_MSG_LEN: usize = 20;
const PROC_EVENT_HDR_LEN: usize = 16;

/// The receive buffer asked of the kernel (as root `SO_RCVBUFFORCE` passes `rmem_max`), so a
/// burst of forks does not overrun the socket before a poll drains it.
const RECV_BUFFER_BYTES: usize = 4 << 20;
/// The most datagrams one drain reads, so a fork storm cannot hold a poll forever.
const MAX_DATAGRAMS_PER_DRAIN: usize = 4096;

/// One process event as the connector reported it, before `/proc` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawProcEvent {
    /// `PROC_EVENT_FORK`.
    Fork {
        ts_mono: u64,
        parent_pid: u32,
        parent_tgid: u32,
        child_pid: u32,
        child_tgid: u32,
    },
    /// `PROC_EVENT_EXEC`.
    Exec { ts_mono: u64, pid: u32, tgid: u32 },
    /// `PROC_EVENT_EXIT`.
    Exit {
        ts_mono: u64,
        pid: u32,
        tgid: u32,
        status: u32,
        parent_tgid: Option<u32>,
    },
}

/// What the parser made of one datagram.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedDatagram {
    /// The events it carried.
    pub(crate) events: Vec<RawProcEvent>,
    /// Messages too short, too long or otherwise not laid out as described above.
    pub(crate) malformed: u64,
    /// `NLMSG_OVERRUN` notices (messages the kernel lost).
    pub(crate) overruns: u64,
}

/// Reads a native-endian `u16` at `offset`, or `None` past the end.
fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let end = offset.checked_add(2)?;
    Some(u16::from_ne_bytes(bytes.get(offset..end)?.try_into().ok()?))
}

/// Reads a native-endian `u32` at `offset`, or `None` past the end.
fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    Some(u32::from_ne_bytes(bytes.get(offset..end)?.try_into().ok()?))
}

/// Reads a native-endian `u64` at `offset`, or `None` past the end.
fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    let end = offset.checked_add(8)?;
    Some(u64::from_ne_bytes(bytes.get(offset..end)?.try_into().ok()?))
}

/// How many process events and malformed messages one proc connector datagram holds: the
/// parser's public face, for fuzzing and diagnostics.
pub fn count_datagram(bytes: &[u8]) -> (usize, u64) {
    let parsed = parse_datagram(bytes);
    (parsed.events.len(), parsed.malformed)
}

/// Parses every netlink message in one datagram. Never panics: whatever does not fit the
/// layouts is counted in [`ParsedDatagram::malformed`] and skipped.
pub(crate) fn parse_datagram(bytes: &[u8]) -> ParsedDatagram {
    let mut parsed = ParsedDatagram::default();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let Some(message_len) = u32_at(bytes, offset).and_then(|n| usize::try_from(n).ok()) else {
            parsed.malformed += 1;
            break;
        };
        let end = offset.checked_add(message_len);
        let Some(message) = end
            .filter(|_| message_len >= NLMSG_HDR_LEN)
            .and_then(|end| bytes.get(offset..end))
        else {
            parsed.malformed += 1;
            break;
        };
        parse_netlink_message(message, &mut parsed);
        // Messages are padded to a multiple of 4 bytes (NLMSG_ALIGN).
        offset = match offset.checked_add(message_len.next_multiple_of(4)) {
            Some(next) => next,
            None => break,
        };
    }
    parsed
}

/// Parses one netlink message (header included) into `parsed`.
fn parse_netlink_message(message: &[u8], parsed: &mut ParsedDatagram) {
    match u16_at(message, 4) {
        Some(NLMSG_DONE) => match message.get(NLMSG_HDR_LEN..).and_then(parse_cn_msg) {
            Some(Some(event)) => parsed.events.push(event),
            Some(None) => {}
            None => parsed.malformed += 1,
        },
        Some(NLMSG_OVERRUN) => parsed.overruns += 1,
        Some(NLMSG_NOOP | NLMSG_ERROR) => {}
        _ => parsed.malformed += 1,
    }
}

/// Parses a `cn_msg` and the `proc_event` it carries: `None` when malformed, `Some(None)` for
/// a well-formed message this source does not report (another connector, an ack, a uid change).
fn parse_cn_msg(payload: &[u8]) -> Option<Option<RawProcEvent>> {
    let idx = u32_at(payload, 0)?;
    let val = u32_at(payload, 4)?;
    let data_len = usize::from(u16_at(payload, 16)?);
    let data = payload.get(CN_MSG_LEN..CN_MSG_LEN.checked_add(data_len)?)?;
    if idx != CN_IDX_PROC || val != CN_VAL_PROC {
        return Some(None);
    }
    parse_proc_event(data)
}

/// Parses a `proc_event`: `None` when malformed, `Some(None)` for kinds not reported.
fn parse_proc_event(event: &[u8]) -> Option<Option<RawProcEvent>> {
    let what = u32_at(event, 0)?;
    let ts_mono = u64_at(event, 8)?;
    let data = event.get(PROC_EVENT_HDR_LEN..)?;
    let raw = match what {
        PROC_EVENT_FORK => RawProcEvent::Fork {
            ts_mono,
            parent_pid: u32_at(data, 0)?,
            parent_tgid: u32_at(data, 4)?,
            child_pid: u32_at(data, 8)?,
            child_tgid: u32_at(data, 12)?,
        },
        PROC_EVENT_EXEC => RawProcEvent::Exec {
            ts_mono,
            pid: u32_at(data, 0)?,
            tgid: u32_at(data, 4)?,
        },
        PROC_EVENT_EXIT => RawProcEvent::Exit {
            ts_mono,
            pid: u32_at(data, 0)?,
            tgid: u32_at(data, 4)?,
            status: u32_at(data, 8)?,
            parent_tgid: u32_at(data, 20).filter(|&tgid| tgid != 0),
        },
        _ => return Some(None),
    };
    Some(Some(raw))
}

/// The exit code from the wait status the connector reports (`task->exit_code`): the
/// `exit()` value for a normal exit (`status >> 8`), and `128 + signal` for a task killed by
/// a signal, as shells report it.
pub(crate) fn exit_code_from_status(status: u32) -> i32 {
    let signal = status & 0x7f;
    let code = if signal == 0 {
        (status >> 8) & 0xff
    } else {
        128 + signal
    };
    i32::try_from(code).unwrap_or(i32::MAX)
}

/// The `PROC_CN_MCAST_LISTEN`/`IGNORE` request: an `nlmsghdr`, a `cn_msg` for the proc
/// connector and the 4-byte operation.
fn mcast_request(op: u32) -> Vec<u8> {
    let total = NLMSG_HDR_LEN + CN_MSG_LEN + 4;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&(total as u32).to_ne_bytes()); // nlmsg_len
    message.extend_from_slice(&NLMSG_DONE.to_ne_bytes()); // nlmsg_type
    message.extend_from_slice(&0u16.to_ne_bytes()); // nlmsg_flags
    message.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_seq
    message.extend_from_slice(&std::process::id().to_ne_bytes()); // nlmsg_pid
    message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes()); // id.idx
    message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes()); // id.val
    message.extend_from_slice(&0u32.to_ne_bytes()); // seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // ack
    message.extend_from_slice(&4u16.to_ne_bytes()); // len
    message.extend_from_slice(&0u16.to_ne_bytes()); // flags
    message.extend_from_slice(&op.to_ne_bytes()); // enum proc_cn_mcast_op
    message
}

/// The cgroup leaf name (last path component) of the `0::` (cgroup v2) line of
/// `/proc/<pid>/cgroup`; `None` for the root cgroup or without such a line.
pub(crate) fn cgroup_leaf(text: &str) -> Option<String> {
    let path = text.lines().find_map(|line| line.strip_prefix("0::"))?;
    let leaf = path.trim_end().rsplit('/').next()?;
    (!leaf.is_empty()).then(|| leaf.to_string())
}

/// The task as `/proc` shows it now: `status_dir` is `/proc/<tgid>` or
/// `/proc/<tgid>/task/<tid>`. What cannot be read (the task is gone) stays unknown.
fn task_from_proc(ts: u64, pid: u32, tid: u32, status_dir: &str) -> Task {
    let status = fs::read_to_string(format!("{status_dir}/status"))
        .ok()
        .map(|text| parse_status(&text));
    let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|text| cgroup_leaf(&text));
    Task {
        ts,
        pid,
        tid,
        ppid: status.as_ref().map(|status| status.ppid),
        uid: status.as_ref().map_or(0, |status| status.uid),
        gid: status.as_ref().map_or(0, |status| status.gid),
        comm: status.map(|status| status.name).unwrap_or_default(),
        cgroup,
    }
}

/// The exec event for task `tid` of process `pid`, with what `/proc` still shows of it: a
/// process already gone gives an empty `filename`, no `args` and unknown credentials.
pub(crate) fn exec_event(ts: u64, pid: u32, tid: u32) -> ExecEvent {
    let task = task_from_proc(ts, pid, tid, &format!("/proc/{pid}"));
    let filename = fs::read_link(format!("/proc/{pid}/exe"))
        .map(|path| path.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .map(|bytes| split_nul(&bytes));
    ExecEvent { task, filename, args }
}

/// Why the connector cannot be used, from the errno of the step that failed.
fn unavailable(step: &str, errno: Errno) -> SourceError {
    let hint = match errno {
        Errno::EPERM | Errno::EACCES => " (subscribing needs CAP_NET_ADMIN in the initial user namespace)",
        Errno::EPROTONOSUPPORT | Errno::EAFNOSUPPORT => {
            " (the kernel was built without CONFIG_CONNECTOR/CONFIG_PROC_EVENTS)"
        }
        _ => "",
    };
    SourceError::Unavailable {
        source_name: SOURCE_NAME,
        reason: format!("{step}: {errno}{hint}"),
    }
}

/// The errno of an `io::Error` from a socket call (`EIO` when it carries none).
fn errno_of(error: &io::Error) -> Errno {
    Errno::from_raw(error.raw_os_error().unwrap_or(Errno::EIO as i32))
}

/// A subscription to the kernel's process connector: exec, fork and exit of every task on the
/// host (pids as the initial pid namespace sees them).
#[derive(Debug)]
pub struct ProcConnector {
    socket: Socket,
    realtime_offset_ns: i128,
    stats: SourceStats,
    malformed: u64,
    buffer: Vec<u8>,
}

impl ProcConnector {
    /// Opens a connector socket, joins the proc group and asks the kernel to send events.
    pub fn open() -> Result<ProcConnector, SourceError> {
        let socket = Socket::new(
            Domain::from(AddressFamily::Netlink as i32),
            Type::DGRAM,
            Some(Protocol::from(NETLINK_CONNECTOR)),
        )
        .map_err(|e| unavailable("socket(AF_NETLINK, NETLINK_CONNECTOR)", errno_of(&e)))?;
        Self::grow_receive_buffer(&socket);
        socket::bind(socket.as_raw_fd(), &NetlinkAddr::new(0, CN_IDX_PROC))
            .map_err(|errno| unavailable("bind to the CN_IDX_PROC group", errno))?;
        socket
            .send(&mcast_request(PROC_CN_MCAST_LISTEN))
            .map_err(|e| unavailable("send PROC_CN_MCAST_LISTEN", errno_of(&e)))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| unavailable("set O_NONBLOCK", errno_of(&e)))?;
        let realtime_offset_ns =
            realtime_minus_monotonic_ns().map_err(|errno| unavailable("clock_gettime", errno))?;
        Ok(ProcConnector {
            socket,
            realtime_offset_ns,
            stats: SourceStats::default(),
            malformed: 0,
            buffer: vec![0; 8192],
        })
    }

    /// Whether the connector works here: opens it and closes it again, or says why not.
    pub fn probe() -> Result<(), SourceError> {
        Self::open().map(drop)
    }

    /// Raises the socket's receive buffer: forced past `rmem_max` where privileged, else as
    /// far as `rmem_max` allows. A smaller buffer only means overruns come sooner.
    fn grow_receive_buffer(socket: &Socket) {
        if socket::setsockopt(socket, sockopt::RcvBufForce, &RECV_BUFFER_BYTES).is_err() {
            let _ = socket.set_recv_buffer_size(RECV_BUFFER_BYTES);
        }
    }

    /// Events delivered and overruns so far.
    pub fn stats(&self) -> SourceStats {
        self.stats
    }

    /// Messages that did not have the connector's layout, or came from a sender other than the
    /// kernel, and were skipped.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Reads every datagram waiting on the socket (up to a bound) and appends their events.
    /// Never blocks; an overrun (`ENOBUFS`) counts as one dropped event.
    pub fn drain(&mut self, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        for _ in 0..MAX_DATAGRAMS_PER_DRAIN {
            match socket::recvfrom::<NetlinkAddr>(self.socket.as_raw_fd(), &mut self.buffer) {
                Ok((len, sender)) => self.handle_datagram(len, sender, out),
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::ENOBUFS) => self.stats.dropped += 1,
                Err(Errno::EINTR) => {}
                Err(errno) => {
                    return Err(SourceError::Io {
                        source_name: SOURCE_NAME,
                        context: "receiving from the connector socket",
                        error: io::Error::from(errno),
                    })
                }
            }
        }
        Ok(())
    }

    /// Parses one received datagram, accepting it only from the kernel (port id 0).
    fn handle_datagram(&mut self, len: usize, sender: Option<NetlinkAddr>, out: &mut Vec<KernelEvent>) {
        if sender.map(|addr| addr.pid()) != Some(0) {
            self.malformed += 1;
            return;
        }
        let parsed = parse_datagram(self.buffer.get(..len).unwrap_or(&[]));
        self.malformed += parsed.malformed;
        self.stats.dropped += parsed.overruns;
        for raw in parsed.events {
            out.push(self.kernel_event(raw));
            self.stats.received += 1;
        }
    }

    /// Nanoseconds since the Unix epoch for a connector (monotonic) timestamp.
    fn epoch_ns(&self, ts_mono: u64) -> u64 {
        let ns = i128::from(ts_mono) + self.realtime_offset_ns;
        u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
    }

    /// The kernel event for a raw connector event, with what `/proc` adds.
    fn kernel_event(&self, raw: RawProcEvent) -> KernelEvent {
        match raw {
            RawProcEvent::Fork {
                ts_mono,
                parent_pid,
                parent_tgid,
                child_pid,
                child_tgid,
            } => {
                let status_dir = format!("/proc/{parent_tgid}/task/{parent_pid}");
                let parent = task_from_proc(self.epoch_ns(ts_mono), parent_tgid, parent_pid, &status_dir);
                KernelEvent::Fork(ForkEvent {
                    parent,
                    child_pid: child_tgid,
                    child_tid: child_pid,
                })
            }
            RawProcEvent::Exec { ts_mono, pid, tgid } => {
                KernelEvent::Exec(exec_event(self.epoch_ns(ts_mono), tgid, pid))
            }
            RawProcEvent::Exit {
                ts_mono,
                pid,
                tgid,
                status,
                parent_tgid,
            } => KernelEvent::Exit(ExitEvent {
                task: Task {
                    ts: self.epoch_ns(ts_mono),
                    pid: tgid,
                    tid: pid,
                    ppid: parent_tgid,
                    ..Task::default()
                },
                code: Some(exit_code_from_status(status)),
                process_ended: pid == tgid,
            }),
        }
    }
}

impl AsFd for ProcConnector {
    /// The socket's descriptor, to wait on.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Drop for ProcConnector {
    /// Tells the kernel this listener is gone, so it stops building events when no one else
    /// listens (best effort: the socket closes either way).
    fn drop(&mut self) {
        let _ = self.socket.send(&mcast_request(PROC_CN_MCAST_IGNORE));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    use super::*;

    /// A datagram as the kernel sends it: nlmsghdr, cn_msg and a 40-byte proc_event whose
    /// union starts with `data`.
    fn datagram(idx: u32, what: u32, ts: u64, data: &[u32]) -> Vec<u8> {
        let mut event = Vec::new();
        event.extend_from_slice(&what.to_ne_bytes());
        event.extend_from_slice(&0u32.to_ne_bytes()); // cpu
        event.extend_from_slice(&ts.to_ne_bytes());
        for word in data {
            event.extend_from_slice(&word.to_ne_bytes());
        }
        event.resize(40, 0);
        let total = NLMSG_HDR_LEN + CN_MSG_LEN + event.len();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(total as u32).to_ne_bytes());
        bytes.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        bytes.extend_from_slice(&[0; 10]); // flags, seq, pid
        bytes.extend_from_slice(&idx.to_ne_bytes());
        bytes.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        bytes.extend_from_slice(&[0; 8]); // seq, ack
        bytes.extend_from_slice(&(event.len() as u16).to_ne_bytes());
        bytes.extend_from_slice(&0u16.to_ne_bytes());
        bytes.extend_from_slice(&event);
        bytes
    }

    #[test]
    fn fork_exec_and_exit_messages_parse_with_the_kernel_pid_as_thread_id() {
        let fork = datagram(CN_IDX_PROC, PROC_EVENT_FORK, 7, &[10, 11, 20, 21]);
        let exec = datagram(CN_IDX_PROC, PROC_EVENT_EXEC, 8, &[30, 31]);
        let exit = datagram(CN_IDX_PROC, PROC_EVENT_EXIT, 9, &[40, 41, 0x300, 17, 50, 51]);
        let mut all = fork.clone();
        all.extend_from_slice(&exec);
        all.extend_from_slice(&exit);
        let parsed = parse_datagram(&all);
        assert_eq!(parsed.malformed, 0);
        assert_eq!(
            parsed.events,
            vec![
                RawProcEvent::Fork {
                    ts_mono: 7,
                    parent_pid: 10,
                    parent_tgid: 11,
                    child_pid: 20,
                    child_tgid: 21
                },
                RawProcEvent::Exec {
                    ts_mono: 8,
                    pid: 30,
                    tgid: 31
                },
                RawProcEvent::Exit {
                    ts_mono: 9,
                    pid: 40,
                    tgid: 41,
                    status: 0x300,
                    parent_tgid: Some(51)
                },
            ]
        );
    }

    #[test]
    fn other_connectors_and_event_kinds_are_skipped_without_counting_them_malformed() {
        let mut bytes = datagram(7, PROC_EVENT_EXEC, 1, &[1, 1]);
        bytes.extend_from_slice(&datagram(CN_IDX_PROC, 0x4, 1, &[1, 1, 0, 0])); // uid change
        bytes.extend_from_slice(&datagram(CN_IDX_PROC, 0, 1, &[0])); // ack
        assert_eq!(parse_datagram(&bytes), ParsedDatagram::default());
    }

    #[test]
    fn every_truncation_of_a_message_is_malformed_and_yields_nothing() {
        let exit = datagram(CN_IDX_PROC, PROC_EVENT_EXIT, 9, &[40, 41, 0x300, 17, 50, 51]);
        for len in 1..exit.len() {
            let parsed = parse_datagram(&exit[..len]);
            assert!(parsed.events.is_empty(), "{len} bytes gave {parsed:?}");
            assert_eq!(parsed.malformed, 1, "{len} bytes");
        }
        assert!(parse_datagram(&[]).events.is_empty());
    }

    #[test]
    fn lengths_that_lie_are_malformed() {
        let exec = datagram(CN_IDX_PROC, PROC_EVENT_EXEC, 8, &[30, 31]);
        for nlmsg_len in [0u32, 3, 15, u32::MAX, exec.len() as u32 + 1] {
            let mut bytes = exec.clone();
            bytes[..4].copy_from_slice(&nlmsg_len.to_ne_bytes());
            let parsed = parse_datagram(&bytes);
            assert!(parsed.events.is_empty(), "nlmsg_len {nlmsg_len}");
            assert_eq!(parsed.malformed, 1, "nlmsg_len {nlmsg_len}");
        }
        // A cn_msg claiming more data than the netlink message holds.
        let mut bytes = exec.clone();
        bytes[32..34].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(parse_datagram(&bytes).malformed, 1);
        // A proc_event too short for its kind.
        let mut bytes = exec;
        bytes[32..34].copy_from_slice(&18u16.to_ne_bytes());
        assert_eq!(parse_datagram(&bytes).malformed, 1);
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = datagram(CN_IDX_PROC, PROC_EVENT_FORK, 7, &[10, 11, 20, 21]);
        for _ in 0..20_000 {
            let len = (next() % 160) as usize;
            let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            parse_datagram(&random);
            let mut mutated = valid.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % mutated.len();
                mutated[at] = next() as u8;
            }
            let parsed = parse_datagram(&mutated);
            assert!(parsed.events.len() <= 1);
        }
    }

    #[test]
    fn exit_codes_come_from_the_wait_status() {
        assert_eq!(exit_code_from_status(0), 0);
        assert_eq!(exit_code_from_status(3 << 8), 3);
        assert_eq!(exit_code_from_status(255 << 8), 255);
        assert_eq!(exit_code_from_status(9), 137); // SIGKILL
        assert_eq!(exit_code_from_status(0x80 | 11), 139); // SIGSEGV with a core dump
    }

    #[test]
    fn the_listen_request_has_the_connector_layout() {
        let request = mcast_request(PROC_CN_MCAST_LISTEN);
        assert_eq!(request.len(), 40);
        assert_eq!(u32_at(&request, 0), Some(40));
        assert_eq!(u16_at(&request, 4), Some(NLMSG_DONE));
        assert_eq!(u32_at(&request, 16), Some(CN_IDX_PROC));
        assert_eq!(u32_at(&request, 20), Some(CN_VAL_PROC));
        assert_eq!(u16_at(&request, 32), Some(4));
        assert_eq!(u32_at(&request, 36), Some(PROC_CN_MCAST_LISTEN));
    }

    #[test]
    fn the_cgroup_leaf_is_the_last_component_of_the_v2_line() {
        let cgroup = "4:memory:/x\n0::/machine.slice/libpod-abc.scope\n";
        assert_eq!(cgroup_leaf(cgroup), Some("libpod-abc.scope".to_string()));
        assert_eq!(cgroup_leaf("0::/\n"), None);
        assert_eq!(cgroup_leaf("1:cpu:/a\n"), None);
    }

    #[test]
    fn an_exec_of_a_process_already_gone_keeps_what_is_known() {
        let mut child = Command::new("/bin/true").spawn().expect("spawn /bin/true");
        let pid = child.id();
        child.wait().expect("wait");
        let event = exec_event(5, pid, pid);
        assert_eq!(event.filename, "");
        assert_eq!(event.args, None);
        assert_eq!((event.task.ts, event.task.pid, event.task.tid), (5, pid, pid));
    }

    /// Opens the connector, or says why this kernel or sandbox lacks it.
    fn open_or_explain() -> Option<ProcConnector> {
        match ProcConnector::open() {
            Ok(connector) => Some(connector),
            Err(error) if super::super::is_missing_feature(&error) => {
                eprintln!("skipping: {error}");
                None
            }
            Err(error) => panic!("opening the proc connector: {error}"),
        }
    }

    /// Drains `connector` into `events` until `done` holds or 20 s pass.
    fn collect_until(
        connector: &mut ProcConnector,
        events: &mut Vec<KernelEvent>,
        done: impl Fn(&[KernelEvent]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(events) && Instant::now() < deadline {
            let mut fds = [PollFd::new(connector.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(200u16)).expect("poll");
            connector.drain(events).expect("drain");
        }
    }

    #[test]
    fn a_shell_is_seen_forking_executing_and_exiting_with_its_code() {
        let Some(mut connector) = open_or_explain() else {
            return;
        };
        let sh = fs::canonicalize("/bin/sh").expect("/bin/sh resolves");
        // The shell waits on stdin so that /proc still shows it when its exec is read.
        let mut child = Command::new("/bin/sh")
            .args(["-c", "read line; exit 3"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn /bin/sh");
        let pid = child.id();
        let mut events = Vec::new();
        let is_exec = |e: &KernelEvent| matches!(e, KernelEvent::Exec(x) if x.task.pid == pid);
        collect_until(&mut connector, &mut events, |all| all.iter().any(is_exec));
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"go\n").expect("write to the shell");
        drop(stdin);
        assert_eq!(child.wait().expect("wait").code(), Some(3));
        let is_exit = |e: &KernelEvent| matches!(e, KernelEvent::Exit(x) if x.task.tid == pid);
        collect_until(&mut connector, &mut events, |all| all.iter().any(is_exit));

        let fork = events.iter().find_map(|e| match e {
            KernelEvent::Fork(fork) if fork.child_pid == pid => Some(fork),
            _ => None,
        });
        let fork = fork.expect("a fork event for the shell");
        assert_eq!(fork.child_tid, pid);
        assert_eq!(fork.parent.pid, std::process::id());

        let exec = events.iter().find_map(|e| match e {
            KernelEvent::Exec(exec) if exec.task.pid == pid => Some(exec),
            _ => None,
        });
        let exec = exec.expect("an exec event for the shell");
        assert_eq!(exec.filename, sh.to_string_lossy());
        assert_eq!(exec.task.tid, pid);
        assert_eq!(exec.task.ppid, Some(std::process::id()));
        let args = ["/bin/sh", "-c", "read line; exit 3"].map(String::from);
        assert_eq!(exec.args.as_deref(), Some(&args[..]));
        let now = SystemTimeNs::now();
        assert!(exec.task.ts <= now && exec.task.ts > now - 60_000_000_000);

        let exit = events.iter().find_map(|e| match e {
            KernelEvent::Exit(exit) if exit.task.tid == pid => Some(exit),
            _ => None,
        });
        let exit = exit.expect("an exit event for the shell");
        assert_eq!(exit.code, Some(3));
        assert!(exit.process_ended);
        assert_eq!(exit.task.pid, pid);
        assert_eq!(connector.stats().received as usize, events.len());
    }

    /// Now, in ns since the Unix epoch.
    struct SystemTimeNs;

    impl SystemTimeNs {
        fn now() -> u64 {
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970");
            u64::try_from(since_epoch.as_nanos()).expect("fits")
        }
    }
}
