//! One event as a JSON object: the wire form of [`RuntimeEvent`], in full or with its
//! process and container named by reference to an earlier line of a recording.

use super::resolve;
use crate::event::{Args, Container, Direction, Fd, Name, Process, RuntimeEvent};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// An event line. Borrowed when written, owned when read.
///
/// `process_ref` and `container_ref` are what keeps a recording small: a process or
/// container is written out once, with its reference, and the events after it that share it
/// carry only the reference (see [`RecordingWriter`](super::RecordingWriter)).
#[derive(Serialize, Deserialize)]
pub(super) struct EventLine<'a> {
    num: u64,
    ts: u64,
    #[serde(rename = "type")]
    event_type: Cow<'a, Name>,
    dir: Direction,
    #[serde(default)]
    res: i64,
    #[serde(default)]
    args: Cow<'a, Args>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hostname: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process: Option<Cow<'a, Process>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) process_ref: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fd: Option<Cow<'a, Fd>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<Cow<'a, Container>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) container_ref: Option<u64>,
}

/// How a line gives its process or container: written out (and, with a reference, defining
/// it), or by a reference alone.
pub(super) enum Given<T> {
    /// Neither: the event has none (a container) or an unknown one (a process).
    Absent,
    /// Written out, without a reference.
    Inline(T),
    /// Written out with the reference it defines.
    Defined(u64, T),
    /// A reference to an earlier definition.
    Reference(u64),
}

fn given<T>(value: Option<Cow<'_, T>>, reference: Option<u64>) -> Given<T>
where
    T: Clone,
{
    match (value.map(Cow::into_owned), reference) {
        (None, None) => Given::Absent,
        (Some(value), None) => Given::Inline(value),
        (Some(value), Some(reference)) => Given::Defined(reference, value),
        (None, Some(reference)) => Given::Reference(reference),
    }
}

impl<'a> EventLine<'a> {
    /// The whole event, with its process and container written out.
    pub(super) fn full(event: &'a RuntimeEvent) -> EventLine<'a> {
        EventLine {
            num: event.num,
            ts: event.ts,
            event_type: Cow::Borrowed(&event.event_type),
            dir: event.dir,
            res: event.res,
            args: Cow::Borrowed(&event.args),
            cpu: event.cpu,
            latency: event.latency,
            hostname: event.hostname.as_deref().map(Cow::Borrowed),
            process: Some(Cow::Borrowed(&event.process)),
            process_ref: None,
            fd: event.fd.as_ref().map(Cow::Borrowed),
            container: event.container.as_deref().map(Cow::Borrowed),
            container_ref: None,
        }
    }

    /// Gives the process by `reference`, written out only when `define` is set.
    pub(super) fn with_process_ref(mut self, reference: u64, define: bool) -> EventLine<'a> {
        self.process_ref = Some(reference);
        if !define {
            self.process = None;
        }
        self
    }

    /// Gives the container (if any) by `reference`, written out only when `define` is set.
    pub(super) fn with_container_ref(mut self, reference: u64, define: bool) -> EventLine<'a> {
        self.container_ref = Some(reference);
        if !define {
            self.container = None;
        }
        self
    }

    /// The event, with the process and container the line gives; the caller resolves
    /// references (`None` in the event until then).
    pub(super) fn into_parts(self) -> (RuntimeEvent, Given<Process>, Given<Container>) {
        let process = given(self.process, self.process_ref);
        let container = given(self.container, self.container_ref);
        let event = RuntimeEvent {
            num: self.num,
            ts: self.ts,
            event_type: self.event_type.into_owned(),
            dir: self.dir,
            res: self.res,
            args: self.args.into_owned(),
            cpu: self.cpu,
            latency: self.latency,
            hostname: self.hostname.map(Cow::into_owned),
            process: Arc::default(),
            fd: self.fd.map(Cow::into_owned),
            container: None,
        };
        (event, process, container)
    }
}

impl Serialize for RuntimeEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventLine::full(self).serialize(serializer)
    }
}

/// A single event object must be whole: references only make sense inside a recording, so
/// it is resolved against empty tables (what it defines is used, a bare reference refused).
impl<'de> Deserialize<'de> for RuntimeEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RuntimeEvent, D::Error> {
        let (mut event, process, container) = EventLine::deserialize(deserializer)?.into_parts();
        let outside = |_| de::Error::custom(OUTSIDE_RECORDING);
        event.process = resolve(&mut HashMap::new(), process)
            .map_err(outside)?
            .unwrap_or_default();
        event.container = resolve(&mut HashMap::new(), container).map_err(outside)?;
        Ok(event)
    }
}

const OUTSIDE_RECORDING: &str =
    "a process_ref or container_ref without its definition: read recordings with RecordingReader";
