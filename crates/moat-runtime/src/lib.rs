//! Moat's runtime detection: the events the kernel sources produce ([`RuntimeEvent`]), the
//! value of every rule field for them (`impl moat_rules::Event`), recordings of events as
//! JSON lines ([`RecordingReader`], [`RecordingWriter`]) and their [`replay`] against a
//! Falco [`Ruleset`](moat_rules::Ruleset), producing Falco-shaped [`Alert`]s.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
mod clock;
pub mod container;
pub mod detect;
mod errno;
pub mod event;
mod fields;
mod name;
pub mod record;
pub mod replay;
pub mod respond;
pub mod source;
pub mod state;

pub use event::{
    Arg, ArgValue, Args, Container, Direction, Endpoint, Fd, FdKind, FdSummary, Mount, Name, Pod, Process,
    ProcessSummary, RuntimeEvent,
};
pub use fields::UNANSWERED_FIELDS;
pub use record::{RecordError, RecordingReader, RecordingWriter, MAX_LINE_LEN};
pub use replay::{replay, Alert, AlertContext, ReplayStats, EXTRA_FIELDS};
