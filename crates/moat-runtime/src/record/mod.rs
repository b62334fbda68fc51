//! Recordings: events as JSON lines, one [`RuntimeEvent`] object per line.
//!
//! A recording writes each process and container out once. The first event of a thread
//! carries its process with `"process_ref": TID`; the events after it that share that
//! process carry only `"process_ref": TID`, until the process changes (an exec, a new cwd,
//! new user names), when it is written out again with the same reference. Containers get
//! `"container_ref": N`, numbered in order of appearance. A thread's reference ends with
//! its `procexit` event. This keeps a recording at about a third of the size of whole
//! events, and the events read back share their process and container, as the agent's do.
//! Whole events (no references) are read as well.

mod line;

use crate::event::{Container, Process, RuntimeEvent};
use line::{EventLine, Given};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::sync::Arc;

/// The longest line a reader accepts, in bytes (without the newline).
pub const MAX_LINE_LEN: usize = 1 << 20;

/// A recording that cannot be read or written. Lines are numbered from 1.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading failed.
    #[error("recording line {line}: read failed: {source}")]
    Read {
        /// The line being read.
        line: u64,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is longer than [`MAX_LINE_LEN`].
    #[error("recording line {line}: longer than {limit} bytes")]
    LineTooLong {
        /// The line.
        line: u64,
        /// The limit.
        limit: usize,
    },
    /// A line names a process or container no earlier line defined.
    #[error("recording line {line}: {what} {reference} is not defined by an earlier line")]
    UndefinedRef {
        /// The line.
        line: u64,
        /// `process_ref` or `container_ref`.
        what: &'static str,
        /// The reference.
        reference: u64,
    },
    /// A line is not a valid event.
    #[error("recording line {line}, column {column}: {message}")]
    BadEvent {
        /// The line.
        line: u64,
        /// The column in the line where the problem is.
        column: usize,
        /// What is wrong (wrong type, missing field, bad JSON).
        message: String,
    },
    /// Writing failed.
    #[error("recording write failed after {events} events: {source}")]
    Write {
        /// Events written before.
        events: u64,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Reads events from JSON lines, skipping blank lines. Stops after the first error.
#[derive(Debug)]
pub struct RecordingReader<R> {
    input: R,
    line: u64,
    buffer: Vec<u8>,
    failed: bool,
    references: References,
}

impl<R: BufRead> RecordingReader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> RecordingReader<R> {
        RecordingReader {
            input,
            line: 0,
            buffer: Vec::new(),
            failed: false,
            references: References::default(),
        }
    }

    /// Reads the next line into the buffer, at most one byte more than the limit; false at
    /// the end of the input.
    fn read_line(&mut self) -> Result<bool, RecordError> {
        self.buffer.clear();
        self.line += 1;
        let limit = MAX_LINE_LEN as u64 + 2;
        let read = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|source| RecordError::Read {
                line: self.line,
                source,
            })?;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        if self.buffer.len() > MAX_LINE_LEN {
            return Err(RecordError::LineTooLong {
                line: self.line,
                limit: MAX_LINE_LEN,
            });
        }
        Ok(read > 0)
    }

    fn next_event(&mut self) -> Option<Result<RuntimeEvent, RecordError>> {
        loop {
            match self.read_line() {
                Err(error) => return Some(Err(error)),
                Ok(false) => return None,
                Ok(true) if self.buffer.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(true) => return Some(self.parse()),
            }
        }
    }

    fn parse(&mut self) -> Result<RuntimeEvent, RecordError> {
        let line = self.parse_line()?;
        let process_ref = line.process_ref;
        let (mut event, process, container) = line.into_parts();
        let undefined = |what, reference| RecordError::UndefinedRef {
            line: self.line,
            what,
            reference,
        };
        let references = &mut self.references;
        event.process = resolve(&mut references.processes, process)
            .map_err(|reference| undefined("process_ref", reference))?
            .unwrap_or_default();
        event.container = resolve(&mut references.containers, container)
            .map_err(|reference| undefined("container_ref", reference))?;
        if let Some(reference) = process_ref.filter(|_| event.event_type == "procexit") {
            references.processes.remove(&reference);
        }
        Ok(event)
    }

    fn parse_line(&self) -> Result<EventLine<'static>, RecordError> {
        serde_json::from_slice(&self.buffer).map_err(|error| {
            let full = error.to_string();
            // serde_json appends its own " at line 1 column N"; the column is kept apart.
            let message = match full.rfind(" at line ") {
                Some(at) => full[..at].to_string(),
                None => full,
            };
            RecordError::BadEvent {
                line: self.line,
                column: error.column(),
                message,
            }
        })
    }
}

/// What the lines read so far defined.
#[derive(Debug, Default)]
struct References {
    /// By `process_ref` (the thread id).
    processes: HashMap<u64, Arc<Process>>,
    /// By `container_ref`.
    containers: HashMap<u64, Arc<Container>>,
}

/// What `given` stands for: the value written out (remembered under its reference, if it
/// has one) or the one its reference names; `Err` with the reference when none does.
fn resolve<T>(table: &mut HashMap<u64, Arc<T>>, given: Given<T>) -> Result<Option<Arc<T>>, u64> {
    Ok(match given {
        Given::Absent => None,
        Given::Inline(value) => Some(Arc::new(value)),
        Given::Defined(reference, value) => {
            let value = Arc::new(value);
            table.insert(reference, Arc::clone(&value));
            Some(value)
        }
        Given::Reference(reference) => Some(Arc::clone(table.get(&reference).ok_or(reference)?)),
    })
}

impl<R: BufRead> Iterator for RecordingReader<R> {
    type Item = Result<RuntimeEvent, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_event();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

/// Writes events as JSON lines, each process and container written out once (see the
/// module documentation).
#[derive(Debug)]
pub struct RecordingWriter<W: Write> {
    output: W,
    events: u64,
    written: Written,
}

/// The processes and containers a writer has written out, to refer to them.
///
/// Entries for threads end with their `procexit`; a thread whose exit was never seen (a
/// dropped event) stays until its id is reused or the table passes [`MAX_WRITTEN`] and is
/// emptied, after which everything is written out again once.
#[derive(Debug, Default)]
struct Written {
    /// By thread id: the process last written out for it.
    processes: HashMap<u64, Arc<Process>>,
    /// By container id: its reference and the container last written out.
    containers: HashMap<String, (u64, Arc<Container>)>,
    /// The reference the next new container gets.
    next_container_ref: u64,
}

/// Entries a writer keeps before starting over.
const MAX_WRITTEN: usize = 1 << 16;

impl Written {
    /// True when `process` must be written out: its thread has no process written yet, or
    /// a different one.
    fn process_is_new(&mut self, process: &Arc<Process>) -> bool {
        match self.processes.get(&process.tid) {
            Some(last) if Arc::ptr_eq(last, process) || **last == **process => false,
            _ => {
                if self.processes.len() >= MAX_WRITTEN {
                    self.processes.clear();
                }
                self.processes.insert(process.tid, Arc::clone(process));
                true
            }
        }
    }

    /// The reference of `container`, and whether it must be written out.
    fn container_ref(&mut self, container: &Arc<Container>) -> (u64, bool) {
        if let Some((reference, last)) = self.containers.get_mut(&container.id) {
            if Arc::ptr_eq(last, container) || **last == **container {
                return (*reference, false);
            }
            *last = Arc::clone(container);
            return (*reference, true);
        }
        if self.containers.len() >= MAX_WRITTEN {
            self.containers.clear();
        }
        self.next_container_ref += 1;
        let reference = self.next_container_ref;
        self.containers
            .insert(container.id.clone(), (reference, Arc::clone(container)));
        (reference, true)
    }

    /// The line for `event`, its process and container by reference.
    fn line<'e>(&mut self, event: &'e RuntimeEvent) -> EventLine<'e> {
        let define = self.process_is_new(&event.process);
        let mut line = EventLine::full(event).with_process_ref(event.process.tid, define);
        if let Some(container) = &event.container {
            let (reference, define) = self.container_ref(container);
            line = line.with_container_ref(reference, define);
        }
        line
    }
}

impl<W: Write> RecordingWriter<W> {
    /// A writer to `output` (wrap files in a `BufWriter`).
    pub fn new(output: W) -> RecordingWriter<W> {
        RecordingWriter {
            output,
            events: 0,
            written: Written::default(),
        }
    }

    /// Writes one event as one line.
    pub fn write(&mut self, event: &RuntimeEvent) -> Result<(), RecordError> {
        let line = self.written.line(event);
        let written = serde_json::to_writer(&mut self.output, &line)
            .map_err(std::io::Error::other)
            .and_then(|()| self.output.write_all(b"\n"));
        if let Err(source) = written {
            // What was defined may not have reached the output: define it all again.
            self.written = Written::default();
            return Err(RecordError::Write {
                events: self.events,
                source,
            });
        }
        if event.event_type == "procexit" {
            self.written.processes.remove(&event.process.tid);
        }
        self.events += 1;
        Ok(())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.output.flush().map_err(|source| RecordError::Write {
            events: self.events,
            source,
        })
    }

    /// How many events were written.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes and returns the output.
    pub fn into_inner(mut self) -> Result<W, RecordError> {
        self.flush()?;
        Ok(self.output)
    }
}
