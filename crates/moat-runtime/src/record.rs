//! Recordings: events as JSON lines, one [`RuntimeEvent`] object per line.

use crate::event::RuntimeEvent;
use std::io::{BufRead, Read, Write};

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
}

impl<R: BufRead> RecordingReader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> RecordingReader<R> {
        RecordingReader {
            input,
            line: 0,
            buffer: Vec::new(),
            failed: false,
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

    fn parse(&self) -> Result<RuntimeEvent, RecordError> {
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

/// Writes events as JSON lines.
#[derive(Debug)]
pub struct RecordingWriter<W: Write> {
    output: W,
    events: u64,
}

impl<W: Write> RecordingWriter<W> {
    /// A writer to `output` (wrap files in a `BufWriter`).
    pub fn new(output: W) -> RecordingWriter<W> {
        RecordingWriter { output, events: 0 }
    }

    /// Writes one event as one line.
    pub fn write(&mut self, event: &RuntimeEvent) -> Result<(), RecordError> {
        let fail = |events, source| RecordError::Write { events, source };
        serde_json::to_writer(&mut self.output, event)
            .map_err(|e| fail(self.events, std::io::Error::other(e)))?;
        self.output.write_all(b"\n").map_err(|e| fail(self.events, e))?;
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
