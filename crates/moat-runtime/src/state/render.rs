//! Syscall argument values rendered as Falco renders them: flag names joined by `|`,
//! enumerations by name, so that rules such as `evt.arg.flags contains O_TRUNC` or
//! `evt.arg.request contains PTRACE_ATTACH` match.
//!
//! The numbers are Linux's (x86_64 and aarch64 share them except where noted); the tables
//! are written out here because no dependency of this crate carries them as names.

/// Open flag bits whose value is the same on x86_64 and aarch64.
const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o4000000, "O_SYNC"),
    (0o10000000, "O_PATH"),
    (0o20000000, "O_TMPFILE"),
];

/// Open flag bits that differ between architectures.
#[cfg(not(target_arch = "aarch64"))]
const ARCH_OPEN_FLAGS: &[(u64, &str)] = &[
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
];
#[cfg(target_arch = "aarch64")]
const ARCH_OPEN_FLAGS: &[(u64, &str)] = &[
    (0o40000, "O_DIRECTORY"),
    (0o100000, "O_NOFOLLOW"),
    (0o200000, "O_DIRECT"),
    (0o400000, "O_LARGEFILE"),
];

/// `O_CLOEXEC`.
pub(super) const O_CLOEXEC: u64 = 0o2000000;
/// `O_CREAT`, `O_WRONLY` and `O_TRUNC`: what `creat(2)` opens with.
pub(super) const CREAT_FLAGS: u64 = 0o100 | 0o1 | 0o1000;

/// Whether open flags include `O_DIRECTORY` (whose value depends on the architecture).
pub(super) fn opens_directory(flags: u64) -> bool {
    ARCH_OPEN_FLAGS
        .iter()
        .any(|&(bit, name)| name == "O_DIRECTORY" && flags & bit != 0)
}

/// Whether open flags may create a file (`O_CREAT` or `O_TMPFILE`), so that the mode counts.
pub(super) fn may_create(flags: u64) -> bool {
    flags & (0o100 | 0o20000000) != 0
}

/// Open flags: the access mode first (`O_RDONLY`, `O_WRONLY` or `O_RDWR`, always present),
/// then the other set bits by name, unknown bits as one hexadecimal number.
pub(super) fn open_flags(flags: u64) -> String {
    let access = match flags & 0o3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        _ => "O_RDWR",
    };
    let mut names = vec![access.to_string()];
    let mut rest = flags & !0o3;
    for &(bit, name) in OPEN_FLAGS.iter().chain(ARCH_OPEN_FLAGS) {
        if rest & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

/// Set bits by name, unknown bits as one hexadecimal number, `0` for none.
fn bit_names(value: u64, table: &[(u64, &str)]) -> String {
    let mut names = Vec::new();
    let mut rest = value;
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        return "0".to_string();
    }
    names.join("|")
}

/// A value's name, or the number itself when it has none.
fn enum_name(value: u64, table: &[(u64, &str)]) -> String {
    table
        .iter()
        .find(|(number, _)| *number == value)
        .map_or_else(|| value.to_string(), |(_, name)| name.to_string())
}

const MODE_BITS: &[(u64, &str)] = &[
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
    (0o400, "S_IRUSR"),
    (0o200, "S_IWUSR"),
    (0o100, "S_IXUSR"),
    (0o40, "S_IRGRP"),
    (0o20, "S_IWGRP"),
    (0o10, "S_IXGRP"),
    (0o4, "S_IROTH"),
    (0o2, "S_IWOTH"),
    (0o1, "S_IXOTH"),
];

/// A chmod mode: `S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR`.
pub(super) fn file_mode(mode: u64) -> String {
    bit_names(mode & 0o7777, MODE_BITS)
}

const SOCKET_DOMAINS: &[(u64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (7, "AF_BRIDGE"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (21, "AF_RDS"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
];

/// `AF_UNIX`.
pub(super) const AF_UNIX: u64 = 1;
/// `AF_INET`.
pub(super) const AF_INET: u64 = 2;
/// `AF_INET6`.
pub(super) const AF_INET6: u64 = 10;
/// `AF_NETLINK`.
pub(super) const AF_NETLINK: u64 = 16;

/// A socket domain: `AF_INET`, `AF_PACKET`.
pub(super) fn socket_domain(domain: u64) -> String {
    enum_name(domain, SOCKET_DOMAINS)
}

/// The transport of a socket `type` argument (flags masked off): `tcp`, `udp`, `raw`.
pub(super) fn socket_l4proto(socket_type: u64) -> Option<&'static str> {
    match socket_type & 0xf {
        1 => Some("tcp"),
        2 => Some("udp"),
        3 => Some("raw"),
        _ => None,
    }
}

/// `SOCK_CLOEXEC` in a socket type.
pub(super) const SOCK_CLOEXEC: u64 = 0o2000000;

const PTRACE_REQUESTS: &[(u64, &str)] = &[
    (0, "PTRACE_TRACEME"),
    (1, "PTRACE_PEEKTEXT"),
    (2, "PTRACE_PEEKDATA"),
    (3, "PTRACE_PEEKUSR"),
    (4, "PTRACE_POKETEXT"),
    (5, "PTRACE_POKEDATA"),
    (6, "PTRACE_POKEUSR"),
    (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"),
    (9, "PTRACE_SINGLESTEP"),
    (12, "PTRACE_GETREGS"),
    (13, "PTRACE_SETREGS"),
    (14, "PTRACE_GETFPREGS"),
    (15, "PTRACE_SETFPREGS"),
    (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"),
    (18, "PTRACE_GETFPXREGS"),
    (19, "PTRACE_SETFPXREGS"),
    (24, "PTRACE_SYSCALL"),
    (31, "PTRACE_SYSEMU"),
    (32, "PTRACE_SYSEMU_SINGLESTEP"),
    (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"),
    (0x4202, "PTRACE_GETSIGINFO"),
    (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"),
    (0x4205, "PTRACE_SETREGSET"),
    (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"),
    (0x4208, "PTRACE_LISTEN"),
    (0x4209, "PTRACE_PEEKSIGINFO"),
    (0x420a, "PTRACE_GETSIGMASK"),
    (0x420b, "PTRACE_SETSIGMASK"),
    (0x420c, "PTRACE_SECCOMP_GET_FILTER"),
    (0x420d, "PTRACE_SECCOMP_GET_METADATA"),
    (0x420e, "PTRACE_GET_SYSCALL_INFO"),
];

/// A ptrace request: `PTRACE_ATTACH`.
pub(super) fn ptrace_request(request: u64) -> String {
    enum_name(request, PTRACE_REQUESTS)
}

const MOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MS_RDONLY"),
    (2, "MS_NOSUID"),
    (4, "MS_NODEV"),
    (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"),
    (32, "MS_REMOUNT"),
    (64, "MS_MANDLOCK"),
    (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"),
    (1024, "MS_NOATIME"),
    (2048, "MS_NODIRATIME"),
    (4096, "MS_BIND"),
    (8192, "MS_MOVE"),
    (16384, "MS_REC"),
    (32768, "MS_SILENT"),
    (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"),
    (1 << 18, "MS_PRIVATE"),
    (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"),
    (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"),
    (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"),
];

/// The magic number old programs put in the top 16 bits of mount flags.
const MS_MGC_VAL: u64 = 0xc0ed_0000;

/// Mount flags: `MS_BIND|MS_REC`.
pub(super) fn mount_flags(flags: u64) -> String {
    let flags = if flags & 0xffff_0000 == MS_MGC_VAL {
        flags & 0xffff
    } else {
        flags
    };
    bit_names(flags, MOUNT_FLAGS)
}

const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x80, "CLONE_NEWTIME"),
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
];

/// unshare flags and setns namespace types: `CLONE_NEWNS|CLONE_NEWUSER`.
pub(super) fn clone_flags(flags: u64) -> String {
    bit_names(flags, CLONE_FLAGS)
}

const MEMFD_FLAGS: &[(u64, &str)] = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

/// `MFD_CLOEXEC`.
pub(super) const MFD_CLOEXEC: u64 = 1;

/// memfd_create flags: `MFD_CLOEXEC|MFD_ALLOW_SEALING`.
pub(super) fn memfd_flags(flags: u64) -> String {
    // The huge page size may be encoded in bits 26 and up with MFD_HUGETLB; it is not a flag.
    bit_names(flags & 0x3ff_ffff, MEMFD_FLAGS)
}

const BPF_COMMANDS: &[&str] = &[
    "BPF_MAP_CREATE",
    "BPF_MAP_LOOKUP_ELEM",
    "BPF_MAP_UPDATE_ELEM",
    "BPF_MAP_DELETE_ELEM",
    "BPF_MAP_GET_NEXT_KEY",
    "BPF_PROG_LOAD",
    "BPF_OBJ_PIN",
    "BPF_OBJ_GET",
    "BPF_PROG_ATTACH",
    "BPF_PROG_DETACH",
    "BPF_PROG_TEST_RUN",
    "BPF_PROG_GET_NEXT_ID",
    "BPF_MAP_GET_NEXT_ID",
    "BPF_PROG_GET_FD_BY_ID",
    "BPF_MAP_GET_FD_BY_ID",
    "BPF_OBJ_GET_INFO_BY_FD",
    "BPF_PROG_QUERY",
    "BPF_RAW_TRACEPOINT_OPEN",
    "BPF_BTF_LOAD",
    "BPF_BTF_GET_FD_BY_ID",
    "BPF_TASK_FD_QUERY",
    "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
    "BPF_MAP_FREEZE",
    "BPF_BTF_GET_NEXT_ID",
    "BPF_MAP_LOOKUP_BATCH",
    "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
    "BPF_MAP_UPDATE_BATCH",
    "BPF_MAP_DELETE_BATCH",
    "BPF_LINK_CREATE",
    "BPF_LINK_UPDATE",
    "BPF_LINK_GET_FD_BY_ID",
    "BPF_LINK_GET_NEXT_ID",
    "BPF_ENABLE_STATS",
    "BPF_ITER_CREATE",
    "BPF_LINK_DETACH",
    "BPF_PROG_BIND_MAP",
    "BPF_TOKEN_CREATE",
];

/// A bpf command: `BPF_PROG_LOAD`.
pub(super) fn bpf_command(command: u64) -> String {
    usize::try_from(command)
        .ok()
        .and_then(|index| BPF_COMMANDS.get(index))
        .map_or_else(|| command.to_string(), |name| name.to_string())
}

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x1000, "AT_EMPTY_PATH"),
];

/// `*at` flags: `AT_REMOVEDIR`, `AT_SYMLINK_FOLLOW`.
pub(super) fn at_flags(flags: u64) -> String {
    bit_names(flags, AT_FLAGS)
}

const RENAME_FLAGS: &[(u64, &str)] = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

/// renameat2 flags: `RENAME_NOREPLACE`.
pub(super) fn rename_flags(flags: u64) -> String {
    bit_names(flags, RENAME_FLAGS)
}

/// `AT_FDCWD`: a `*at` directory fd meaning the working directory.
pub(super) const AT_FDCWD: i64 = -100;

/// A directory fd argument: `AT_FDCWD` by name, others as their number.
pub(super) fn dirfd(fd: i64) -> crate::ArgValue {
    if fd == AT_FDCWD {
        crate::ArgValue::Str("AT_FDCWD".to_string())
    } else {
        crate::ArgValue::Int(fd)
    }
}

/// The exec flags Falco reports in execve's `flags` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ExeFlags {
    /// `EXE_WRITABLE`.
    pub writable: bool,
    /// `EXE_UPPER_LAYER`.
    pub upper_layer: bool,
    /// `EXE_FROM_MEMFD`.
    pub from_memfd: bool,
    /// `EXE_LOWER_LAYER`.
    pub lower_layer: bool,
}

impl ExeFlags {
    /// `EXE_WRITABLE|EXE_LOWER_LAYER`, or `0` for none.
    pub fn render(self) -> String {
        let names: Vec<&str> = [
            (self.writable, "EXE_WRITABLE"),
            (self.upper_layer, "EXE_UPPER_LAYER"),
            (self.from_memfd, "EXE_FROM_MEMFD"),
            (self.lower_layer, "EXE_LOWER_LAYER"),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| *name)
        .collect();
        if names.is_empty() {
            return "0".to_string();
        }
        names.join("|")
    }
}

const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `CAP_DAC_OVERRIDE`'s bit.
pub(super) const CAP_DAC_OVERRIDE: u64 = 1 << 1;

/// The names of the capabilities set in a `CapEff`-style mask (unknown bits left out).
pub(super) fn capabilities(mask: u64) -> Vec<String> {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_always_name_the_access_mode() {
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(
            open_flags(0o1 | 0o100 | 0o1000 | 0o2000000),
            "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"
        );
        assert_eq!(open_flags(0o2 | 0o2000), "O_RDWR|O_APPEND");
        assert_eq!(open_flags(0o3), "O_RDWR");
        assert_eq!(open_flags(CREAT_FLAGS), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(1 << 40), "O_RDONLY|0x10000000000");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn architecture_specific_open_flags_use_this_architecture() {
        assert_eq!(
            open_flags(0o100000 | 0o200000),
            "O_RDONLY|O_LARGEFILE|O_DIRECTORY"
        );
    }

    #[test]
    fn directory_and_create_opens_are_recognised() {
        let directory = ARCH_OPEN_FLAGS
            .iter()
            .find(|(_, name)| *name == "O_DIRECTORY")
            .map_or(0, |(bit, _)| *bit);
        assert!(opens_directory(directory | O_CLOEXEC));
        assert!(!opens_directory(O_CLOEXEC));
        assert!(may_create(CREAT_FLAGS));
        assert!(!may_create(O_CLOEXEC | 0o2));
    }

    #[test]
    fn modes_name_every_bit() {
        assert_eq!(
            file_mode(0o4755),
            "S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH"
        );
        assert_eq!(file_mode(0o600), "S_IRUSR|S_IWUSR");
        assert_eq!(file_mode(0), "0");
    }

    #[test]
    fn enumerations_use_names_and_fall_back_to_numbers() {
        assert_eq!(socket_domain(17), "AF_PACKET");
        assert_eq!(socket_domain(2), "AF_INET");
        assert_eq!(socket_domain(99), "99");
        assert_eq!(ptrace_request(16), "PTRACE_ATTACH");
        assert_eq!(ptrace_request(0), "PTRACE_TRACEME");
        assert_eq!(ptrace_request(0x4206), "PTRACE_SEIZE");
        assert_eq!(ptrace_request(4), "PTRACE_POKETEXT");
        assert_eq!(bpf_command(5), "BPF_PROG_LOAD");
        assert_eq!(bpf_command(500), "500");
        assert_eq!(socket_l4proto(1 | SOCK_CLOEXEC), Some("tcp"));
        assert_eq!(socket_l4proto(2), Some("udp"));
    }

    #[test]
    fn bit_sets_use_names_and_keep_unknown_bits() {
        assert_eq!(mount_flags(4096 | 16384), "MS_BIND|MS_REC");
        assert_eq!(mount_flags(MS_MGC_VAL | 1), "MS_RDONLY");
        assert_eq!(mount_flags(0), "0");
        assert_eq!(clone_flags(0x20000 | 0x1000_0000), "CLONE_NEWNS|CLONE_NEWUSER");
        assert_eq!(clone_flags(0x4000_0000 | 1), "CLONE_NEWNET|0x1");
        assert_eq!(memfd_flags(3), "MFD_CLOEXEC|MFD_ALLOW_SEALING");
        assert_eq!(at_flags(0x200), "AT_REMOVEDIR");
        assert_eq!(rename_flags(1), "RENAME_NOREPLACE");
    }

    #[test]
    fn exe_flags_and_capabilities() {
        let flags = ExeFlags {
            writable: true,
            lower_layer: true,
            ..ExeFlags::default()
        };
        assert_eq!(flags.render(), "EXE_WRITABLE|EXE_LOWER_LAYER");
        assert_eq!(ExeFlags::default().render(), "0");
        assert_eq!(capabilities((1 << 21) | 1), ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
        assert_eq!(capabilities(1 << 63), Vec::<String>::new());
        assert_eq!(CAPABILITIES.len(), 41);
    }
}
