//! What a rule is matched against: an event that can give the value of any catalogued field.

use crate::ast::FieldExpr;
use std::borrow::Cow;
use std::net::IpAddr;

/// The value of a field for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A string (names, paths, command lines).
    Str(Cow<'a, str>),
    /// An unsigned number (ids, ports, counts, timestamps in ns).
    U64(u64),
    /// A signed number (return values).
    I64(i64),
    /// A flag.
    Bool(bool),
    /// An IP address.
    Ip(IpAddr),
    /// Several values (`proc.args` split, `thread.cap_effective`, `fd.types`).
    List(Vec<Cow<'a, str>>),
    /// Raw bytes (`evt.buffer`), compared with `bcontains` and `bstartswith`.
    Bytes(Cow<'a, [u8]>),
}

/// An event as the rule engine sees it: its type and its fields, extracted on demand.
pub trait Event {
    /// The event type as Falco names it (`execve`, `openat`, `connect`, …).
    fn event_type(&self) -> &str;
    /// The value of a field (without transformers: the engine applies those), or `None`
    /// when the event has no value for it (Falco's `<NA>`).
    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>>;
}
