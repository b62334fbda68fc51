//! Alerts as JSON lines, Falco's `json_output` format.

use super::{RespondError, Sink};
use crate::replay::Alert;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes each alert as one line of JSON, flushed before [`Sink::send`] returns, so that an
/// alert sent is never lost when Moat crashes afterwards (it is not synced to disk: a crash
/// of the whole machine can still lose the last alerts).
pub struct JsonLinesSink {
    name: String,
    out: Box<dyn Write + Send>,
    line: Vec<u8>,
}

impl JsonLinesSink {
    /// A sink writing to standard output.
    pub fn stdout() -> JsonLinesSink {
        JsonLinesSink::to_writer("stdout", std::io::stdout())
    }

    /// A sink appending to the file at `path`, created readable and writable by its owner
    /// only (0600) when missing; an existing file keeps its content and its mode.
    pub fn file(path: impl AsRef<Path>) -> Result<JsonLinesSink, RespondError> {
        let path = path.as_ref();
        let name = format!("file {}", path.display());
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| RespondError::Io {
                sink: name.clone(),
                action: "open",
                source,
            })?;
        Ok(JsonLinesSink::to_writer(name, file))
    }

    /// A sink writing to `out`, named `name` in errors.
    pub fn to_writer(name: impl Into<String>, out: impl Write + Send + 'static) -> JsonLinesSink {
        JsonLinesSink {
            name: name.into(),
            out: Box::new(out),
            line: Vec::new(),
        }
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> RespondError {
        RespondError::Io {
            sink: self.name.clone(),
            action,
            source,
        }
    }
}

impl Sink for JsonLinesSink {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Writes the alert and its newline with a single write, so that lines from several
    /// writers appending to one file do not interleave.
    fn send(&mut self, alert: &Alert) -> Result<(), RespondError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, alert).map_err(|source| RespondError::Encode {
            sink: self.name.clone(),
            source,
        })?;
        self.line.push(b'\n');
        if let Err(error) = self.out.write_all(&self.line) {
            return Err(self.io_error("write", error));
        }
        self.out.flush().map_err(|error| self.io_error("flush", error))
    }
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::sample_alert;
    use serde_json::Value;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_file_sink_appends_json_lines_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.json");
        std::fs::write(&path, "{\"earlier\":true}\n").expect("write");
        let mut sink = JsonLinesSink::file(&path).expect("open");
        assert_eq!(sink.name(), format!("file {}", path.display()));
        let mut second = sample_alert();
        second.rule = "Second rule".to_string();
        sink.send(&sample_alert()).expect("send");
        sink.send(&second).expect("send");
        // Flushed per alert: the content is there while the sink is still open.
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], serde_json::json!({"earlier": true}));
        assert_eq!(lines[1]["rule"], "Shell in container");
        assert_eq!(lines[1]["priority"], "Critical");
        assert_eq!(lines[1]["output_fields"]["proc.pid"], 4242);
        assert_eq!(lines[1]["hostname"], "node-1");
        assert_eq!(lines[2]["rule"], "Second rule");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_new_file_is_private_to_its_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.json");
        JsonLinesSink::file(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn errors_name_the_sink_and_the_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no-such-dir").join("alerts.json");
        let error = JsonLinesSink::file(&missing).expect_err("no parent directory");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("file {}: open failed: ", missing.display())),
            "{text}"
        );

        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut sink = JsonLinesSink::to_writer("broken", Broken);
        let error = sink.send(&sample_alert()).expect_err("write fails");
        assert_eq!(error.to_string(), "broken: write failed: disk on fire");
    }
}
