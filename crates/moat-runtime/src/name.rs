//! [`Name`]: event types and argument names, which come from a small vocabulary.
//!
//! Every event carries its type and the names of its arguments, and rule matching reads them
//! for nearly every event (the event type selects the rules, the argument names find
//! `flags` or `name`). Held as separate heap strings they cost a cache miss each when a
//! stream of events is matched; the common ones therefore point at static text shared by
//! every event. Written here because the interning crates keep their own tables per process
//! and hand out keys, where this needs only "static text when known, owned text otherwise".

use crate::fields::{OPEN_TYPES, READ_TYPES, WAIT_TYPES, WRITE_TYPES};
use crate::source::Syscall;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::{Borrow, Cow};
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::LazyLock;

/// Event types recorded besides the traced syscalls ([`Syscall::ALL`]) and the read, write,
/// wait and open families the rule fields know: the process life cycle, and syscalls other
/// sources (or recordings from other tools) report.
const OTHER_EVENT_TYPES: &[&str] = &[
    "execve",
    "execveat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "procexit",
    "exit",
    "exit_group",
    "close",
    "dup",
    "dup2",
    "dup3",
    "mmap",
    "mmap2",
    "munmap",
    "mprotect",
    "brk",
    "socket",
    "socketpair",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "kill",
    "tkill",
    "tgkill",
    "prctl",
    "capset",
    "chown",
    "fchown",
    "fchownat",
    "rmdir",
    "ioctl",
    "fcntl",
    "sendfile",
    "pipe",
    "pipe2",
];

/// Argument names the sources write and Falco's rules read.
const ARG_NAMES: &[&str] = &[
    "addr",
    "args",
    "backlog",
    "cmd",
    "data",
    "dev",
    "dir",
    "dirfd",
    "domain",
    "exe",
    "fd",
    "filename",
    "flags",
    "length",
    "linkdirfd",
    "linkpath",
    "mode",
    "name",
    "newdir",
    "newdirfd",
    "newpath",
    "nstype",
    "olddir",
    "olddirfd",
    "oldpath",
    "path",
    "pathname",
    "pid",
    "proto",
    "request",
    "res",
    "res_or_fd",
    "size",
    "status",
    "target",
    "tuple",
    "type",
    "uid",
    "gid",
    "euid",
    "egid",
    "ruid",
    "rgid",
    "suid",
    "sgid",
    "ptid",
    "cwd",
    "fdlimit",
    "pgft_maj",
    "pgft_min",
    "vm_size",
    "vm_rss",
    "vm_swap",
    "comm",
    "cgroups",
    "env",
    "tty",
    "loginuid",
    "sig",
    "source",
    "how",
    "level",
    "optname",
    "val",
    "count",
    "offset",
    "prot",
    "whence",
    "option",
    "arg2",
    "arg3",
    "resource",
    "cap",
];

/// The known vocabulary, each entry pointing at static text.
static VOCABULARY: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    Syscall::ALL
        .iter()
        .map(|syscall| syscall.name())
        .chain(OTHER_EVENT_TYPES.iter().copied())
        .chain([READ_TYPES, WRITE_TYPES, WAIT_TYPES, OPEN_TYPES].concat())
        .chain(ARG_NAMES.iter().copied())
        .collect()
});

/// An event type or argument name: static text when it is in the vocabulary or given as a
/// literal, owned text otherwise. Compares, hashes and prints as the text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Name(Cow<'static, str>);

impl Name {
    /// A name from static text, without looking it up.
    pub const fn from_static(text: &'static str) -> Name {
        Name(Cow::Borrowed(text))
    }

    /// The name for `text`: shared static text when the vocabulary has it.
    pub fn new(text: &str) -> Name {
        match VOCABULARY.get(text) {
            Some(known) => Name(Cow::Borrowed(known)),
            None => Name(Cow::Owned(text.to_string())),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        match VOCABULARY.get(text.as_str()) {
            Some(known) => Name(Cow::Borrowed(known)),
            None => Name(Cow::Owned(text)),
        }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Name, E> {
                Ok(Name::new(text))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Name, E> {
                Ok(Name::from(text))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_static(name: &Name) -> bool {
        matches!(name.0, Cow::Borrowed(_))
    }

    #[test]
    fn known_names_share_static_text_and_others_are_kept() {
        let owned = String::from("openat");
        assert!(is_static(&Name::new(&owned)));
        assert!(is_static(&Name::from(String::from("flags"))));
        assert!(is_static(&Name::new("procexit")));
        assert!(is_static(&Name::new("recvmsg")) && is_static(&Name::new("epoll_wait")));
        let unknown = Name::new("io_uring_enter2");
        assert!(!is_static(&unknown));
        assert_eq!(unknown, "io_uring_enter2");
    }

    #[test]
    fn every_traced_syscall_is_known() {
        for syscall in Syscall::ALL {
            assert!(is_static(&Name::new(syscall.name())), "{}", syscall.name());
        }
    }

    #[test]
    fn compares_prints_and_round_trips_as_text() {
        let name = Name::new("connect");
        assert_eq!(name, Name::from_static("connect"));
        assert!(name == "connect");
        assert!("connect" == name);
        assert_eq!(format!("{name} {name:?}"), "connect \"connect\"");
        let json = serde_json::to_string(&name).expect("writes");
        assert_eq!(json, "\"connect\"");
        let back: Name = serde_json::from_str(&json).expect("reads");
        assert!(is_static(&back) && back == name);
        let error = serde_json::from_str::<Name>("7").unwrap_err();
        assert!(error.to_string().contains("expected a string"), "{error}");
    }
}
