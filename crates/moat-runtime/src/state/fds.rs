//! The fd table of one process and the names Falco gives fds.
//!
//! The sources report the syscalls that create fds Moat cares about (open, socket, accept,
//! memfd_create) but not `close` or `dup`, so an entry may outlive its fd; the next syscall
//! that creates the same number replaces it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::event::{Endpoint, Fd, FdKind, FdSummary};

/// At most this many fds are kept per process; beyond, new ones are looked up in `/proc`
/// when an event needs them.
const MAX_FDS: usize = 8192;

/// One fd and whether it closes on exec.
#[derive(Debug, Clone, PartialEq)]
struct FdEntry {
    fd: Fd,
    cloexec: bool,
}

/// A process's open fds by number.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct FdTable {
    entries: HashMap<i64, FdEntry>,
}

impl FdTable {
    /// The fd numbered `num`.
    pub fn get(&self, num: i64) -> Option<&Fd> {
        self.entries.get(&num).map(|entry| &entry.fd)
    }

    /// Records `fd` (replacing what had its number); ignored when the table is full and the
    /// number is new.
    pub fn insert(&mut self, fd: Fd, cloexec: bool) {
        if self.entries.len() >= MAX_FDS && !self.entries.contains_key(&fd.num) {
            return;
        }
        self.entries.insert(fd.num, FdEntry { fd, cloexec });
    }

    /// Forgets the fds an exec closes.
    pub fn close_on_exec(&mut self) {
        self.entries.retain(|_, entry| !entry.cloexec);
    }

    /// How many fds are known.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// fds 0, 1 and 2, up to the first unknown one.
    pub fn stdio(&self) -> Vec<FdSummary> {
        (0..3)
            .map_while(|num| self.get(num))
            .map(|fd| FdSummary {
                kind: fd.kind,
                name: fd.name.clone(),
            })
            .collect()
    }
}

/// The fd `/proc/<pid>/fd/<num>` describes by its link target.
pub(super) fn fd_from_link(num: i64, target: &str) -> Fd {
    let kind = if let Some(anon) = target.strip_prefix("anon_inode:") {
        anon_inode_kind(anon)
    } else if target.starts_with("/memfd:") {
        FdKind::Memfd
    } else if target.starts_with('/') {
        FdKind::File
    } else if target.starts_with("pipe:") {
        FdKind::Pipe
    } else {
        // `socket:[inode]` says nothing of the family; connect/bind will.
        FdKind::Other
    };
    let name = match kind {
        FdKind::Memfd => target.trim_end_matches(" (deleted)").to_string(),
        _ => target.to_string(),
    };
    Fd {
        num,
        kind,
        name,
        ..Fd::default()
    }
}

fn anon_inode_kind(anon: &str) -> FdKind {
    match anon.trim_matches(|c| c == '[' || c == ']') {
        "eventfd" => FdKind::Event,
        "eventpoll" => FdKind::Eventpoll,
        "inotify" => FdKind::Inotify,
        "signalfd" => FdKind::Signalfd,
        "timerfd" => FdKind::Timerfd,
        "userfaultfd" => FdKind::Userfaultfd,
        "io_uring" => FdKind::IoUring,
        other if other.starts_with("bpf") => FdKind::Bpf,
        _ => FdKind::Other,
    }
}

/// A network endpoint for an address.
pub(super) fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint {
        ip: addr.ip(),
        port: addr.port(),
        name: None,
    }
}

/// The fd kind of an address's family.
pub(super) fn ip_kind(ip: IpAddr) -> FdKind {
    match ip {
        IpAddr::V4(_) => FdKind::Ipv4,
        IpAddr::V6(_) => FdKind::Ipv6,
    }
}

/// `ip:port`, without brackets for IPv6, as Falco writes it.
pub(super) fn endpoint_text(end: &Endpoint) -> String {
    format!("{}:{}", end.ip, end.port)
}

/// `client->server`; an unknown end is written as the unspecified address of the other
/// end's family with port 0 (IPv4 when both are unknown).
pub(super) fn tuple_name(client: Option<&Endpoint>, server: Option<&Endpoint>) -> String {
    let family = client.or(server).map(|end| end.ip);
    let text = |end: Option<&Endpoint>| match end {
        Some(end) => endpoint_text(end),
        None => {
            let unspecified = match family {
                Some(IpAddr::V6(_)) => IpAddr::from([0u16; 8]),
                _ => IpAddr::from([0, 0, 0, 0]),
            };
            format!("{unspecified}:0")
        }
    };
    format!("{}->{}", text(client), text(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(text: &str) -> Endpoint {
        endpoint(text.parse().expect("address"))
    }

    #[test]
    fn link_targets_give_kinds_and_names() {
        let file = fd_from_link(3, "/etc/passwd");
        assert_eq!((file.kind, file.name.as_str()), (FdKind::File, "/etc/passwd"));
        assert_eq!(fd_from_link(4, "pipe:[15606]").kind, FdKind::Pipe);
        assert_eq!(fd_from_link(5, "anon_inode:[eventfd]").kind, FdKind::Event);
        assert_eq!(fd_from_link(6, "anon_inode:inotify").kind, FdKind::Inotify);
        assert_eq!(fd_from_link(7, "anon_inode:bpf-prog").kind, FdKind::Bpf);
        let memfd = fd_from_link(8, "/memfd:payload (deleted)");
        assert_eq!(
            (memfd.kind, memfd.name.as_str()),
            (FdKind::Memfd, "/memfd:payload")
        );
        assert_eq!(fd_from_link(9, "socket:[1234]").kind, FdKind::Other);
    }

    #[test]
    fn tuples_are_written_as_falco_does() {
        let client = end("10.0.0.1:40000");
        let server = end("1.2.3.4:80");
        assert_eq!(
            tuple_name(Some(&client), Some(&server)),
            "10.0.0.1:40000->1.2.3.4:80"
        );
        assert_eq!(tuple_name(None, Some(&server)), "0.0.0.0:0->1.2.3.4:80");
        assert_eq!(tuple_name(None, Some(&end("[::1]:443"))), ":::0->::1:443");
        assert_eq!(tuple_name(Some(&end("[::1]:5000")), None), "::1:5000->:::0");
    }

    #[test]
    fn the_table_replaces_numbers_and_drops_cloexec_fds_at_exec() {
        let mut table = FdTable::default();
        table.insert(fd_from_link(0, "/dev/null"), false);
        table.insert(fd_from_link(1, "/dev/pts/0"), false);
        table.insert(fd_from_link(3, "/etc/passwd"), true);
        table.insert(fd_from_link(3, "/etc/group"), true);
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(3).map(|fd| fd.name.as_str()), Some("/etc/group"));
        let stdio = table.stdio();
        assert_eq!(stdio.len(), 2, "stops at the unknown fd 2");
        assert_eq!(stdio[1].name, "/dev/pts/0");
        table.close_on_exec();
        assert!(table.get(3).is_none());
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_full_table_keeps_what_it_has() {
        let mut table = FdTable::default();
        for num in 0..MAX_FDS as i64 {
            table.insert(fd_from_link(num, "/x"), false);
        }
        table.insert(fd_from_link(MAX_FDS as i64, "/new"), false);
        assert!(table.get(MAX_FDS as i64).is_none());
        table.insert(fd_from_link(0, "/replaced"), false);
        assert_eq!(table.get(0).map(|fd| fd.name.as_str()), Some("/replaced"));
    }
}
