//! The syscalls the eBPF source traces on this architecture: their numbers, tracepoint names
//! and which arguments are paths or socket addresses (written into the program's `specs` map,
//! so the C side holds no per-architecture table).

use crate::source::Syscall;

/// Marks an argument role a syscall does not have (the C side's `NO_ARG`).
const NO: u8 = 0xff;

/// One traced syscall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TracedSyscall {
    /// The tracepoint name without `sys_enter_`/`sys_exit_`.
    pub name: &'static str,
    /// The architecture's syscall number.
    pub nr: i32,
    /// What Moat calls it.
    pub syscall: Syscall,
    /// Index of the first path argument.
    pub path: u8,
    /// Index of the second path argument.
    pub path2: u8,
    /// Index of the socket address argument.
    pub addr: u8,
    /// Index of the address length argument.
    pub addr_len: u8,
    /// Whether the length argument points to the length (accept) instead of being it.
    pub addr_len_is_pointer: bool,
}

impl TracedSyscall {
    /// The argument roles packed as the C side reads them (see `specs` in `moat.bpf.c`).
    pub fn spec(&self) -> u64 {
        u64::from(self.path)
            | u64::from(self.path2) << 8
            | u64::from(self.addr) << 16
            | u64::from(self.addr_len) << 24
            | u64::from(self.addr_len_is_pointer) << 32
    }
}

const fn plain(name: &'static str, nr: i32, syscall: Syscall) -> TracedSyscall {
    paths(name, nr, syscall, NO, NO)
}

const fn paths(name: &'static str, nr: i32, syscall: Syscall, path: u8, path2: u8) -> TracedSyscall {
    TracedSyscall {
        name,
        nr,
        syscall,
        path,
        path2,
        addr: NO,
        addr_len: NO,
        addr_len_is_pointer: false,
    }
}

const fn address(name: &'static str, nr: i32, syscall: Syscall, len_is_pointer: bool) -> TracedSyscall {
    TracedSyscall {
        name,
        nr,
        syscall,
        path: NO,
        path2: NO,
        addr: 1,
        addr_len: 2,
        addr_len_is_pointer: len_is_pointer,
    }
}

/// x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
#[cfg(target_arch = "x86_64")]
pub(crate) const TRACED: &[TracedSyscall] = &[
    paths("open", 2, Syscall::Open, 0, NO),
    paths("openat", 257, Syscall::Openat, 1, NO),
    paths("openat2", 437, Syscall::Openat2, 1, NO),
    paths("creat", 85, Syscall::Creat, 0, NO),
    address("connect", 42, Syscall::Connect, false),
    address("accept", 43, Syscall::Accept, true),
    address("accept4", 288, Syscall::Accept4, true),
    address("bind", 49, Syscall::Bind, false),
    plain("listen", 50, Syscall::Listen),
    plain("socket", 41, Syscall::Socket),
    paths("unlink", 87, Syscall::Unlink, 0, NO),
    paths("unlinkat", 263, Syscall::Unlinkat, 1, NO),
    paths("rename", 82, Syscall::Rename, 0, 1),
    paths("renameat", 264, Syscall::Renameat, 1, 3),
    paths("renameat2", 316, Syscall::Renameat2, 1, 3),
    paths("mkdir", 83, Syscall::Mkdir, 0, NO),
    paths("mkdirat", 258, Syscall::Mkdirat, 1, NO),
    paths("symlink", 88, Syscall::Symlink, 0, 1),
    paths("symlinkat", 266, Syscall::Symlinkat, 0, 2),
    paths("link", 86, Syscall::Link, 0, 1),
    paths("linkat", 265, Syscall::Linkat, 1, 3),
    paths("chmod", 90, Syscall::Chmod, 0, NO),
    plain("fchmod", 91, Syscall::Fchmod),
    paths("fchmodat", 268, Syscall::Fchmodat, 1, NO),
    paths("fchmodat2", 452, Syscall::Fchmodat, 1, NO),
    plain("setuid", 105, Syscall::Setuid),
    plain("setgid", 106, Syscall::Setgid),
    plain("setreuid", 113, Syscall::Setreuid),
    plain("setregid", 114, Syscall::Setregid),
    plain("setresuid", 117, Syscall::Setresuid),
    plain("setresgid", 119, Syscall::Setresgid),
    plain("ptrace", 101, Syscall::Ptrace),
    paths("mount", 165, Syscall::Mount, 0, 1),
    plain("init_module", 175, Syscall::InitModule),
    plain("finit_module", 313, Syscall::FinitModule),
    paths("memfd_create", 319, Syscall::MemfdCreate, 0, NO),
    plain("bpf", 321, Syscall::Bpf),
    plain("unshare", 272, Syscall::Unshare),
    plain("setns", 308, Syscall::Setns),
];

/// Other architectures: none built in yet, so the eBPF source reports itself unavailable.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) const TRACED: &[TracedSyscall] = &[];

/// The syscalls whose exit in the child marks a new process or thread.
pub(crate) const FORKS: &[&str] = &["clone", "clone3", "fork", "vfork"];

/// The traced syscall with number `nr`.
pub(crate) fn by_number(nr: i32) -> Option<&'static TracedSyscall> {
    TRACED.iter().find(|traced| traced.nr == nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_specs_pack_their_roles() {
        let mut numbers: Vec<i32> = TRACED.iter().map(|t| t.nr).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), TRACED.len());
        if let Some(renameat) = TRACED.iter().find(|t| t.name == "renameat") {
            assert_eq!(renameat.spec(), 0x00_ff_ff_03_01);
        }
        if let Some(accept) = TRACED.iter().find(|t| t.name == "accept") {
            assert_eq!(accept.spec(), 0x01_02_01_ff_ff);
        }
    }

    #[test]
    fn every_moat_syscall_is_traced() {
        if TRACED.is_empty() {
            return;
        }
        for syscall in Syscall::ALL {
            assert!(
                TRACED.iter().any(|t| t.syscall == syscall),
                "{} is not traced",
                syscall.name()
            );
        }
    }
}
