//! What happens with an [`Alert`]: a [`Responder`] passes it through an optional
//! [`RateLimiter`], an optional [`Killer`] of the offending process, and then to every
//! [`Sink`]: JSON lines on stdout or in a file ([`JsonLinesSink`]), an HTTP POST
//! ([`WebhookSink`]) or syslog ([`SyslogSink`]).
//!
//! The killer acts before the sinks are called, so that a slow webhook never delays the
//! kill, and so that what it did travels with the alert: when a killer is configured, every
//! alert it was asked about carries its outcome as the string field `moat.response` of
//! `output_fields` (`killed pid 4242`, `skipped: pid 1 is init`, …), except alerts below
//! the killer's priority, which are sent unchanged.

mod kill;
mod rate;
mod sinks;
mod syslog;
mod webhook;

pub use kill::{KillOutcome, Killer};
pub use rate::RateLimiter;
pub use sinks::JsonLinesSink;
pub use syslog::{Facility, SyslogSink, DEV_LOG, MAX_SYSLOG_MESSAGE};
pub use webhook::WebhookSink;

use crate::replay::Alert;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::time::Instant;

/// The `output_fields` key of the killer's outcome.
pub const RESPONSE_FIELD: &str = "moat.response";

/// A sink that failed to take an alert, or could not be set up. Every variant names the
/// sink (`file /var/log/moat.json`, `webhook https://hooks.example.com`, …).
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    /// The alert could not be turned into JSON.
    #[error("{sink}: cannot encode the alert as JSON: {source}")]
    Encode {
        /// The sink.
        sink: String,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// Opening, creating or writing a file, socket or stream failed.
    #[error("{sink}: {action} failed: {source}")]
    Io {
        /// The sink.
        sink: String,
        /// What was being done (`open`, `write`, `send`, …).
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sink's configuration is unusable (a bad URL, an address that does not resolve).
    #[error("{sink}: {message}")]
    Config {
        /// The sink.
        sink: String,
        /// What is wrong.
        message: String,
    },
    /// An HTTP server answered with a status other than 2xx.
    #[error("{sink}: the server answered HTTP {status}")]
    HttpStatus {
        /// The sink.
        sink: String,
        /// The HTTP status.
        status: u16,
    },
    /// An HTTP request got no answer (connection refused, timeout, TLS failure).
    #[error("{sink}: request failed: {message}")]
    HttpTransport {
        /// The sink.
        sink: String,
        /// What went wrong.
        message: String,
    },
}

/// Somewhere alerts go.
pub trait Sink: Send {
    /// The sink as named in errors and logs (`stdout`, `syslog udp 10.0.0.5:514`, …).
    fn name(&self) -> String;
    /// Delivers one alert.
    fn send(&mut self, alert: &Alert) -> Result<(), RespondError>;
}

/// What a [`Responder`] has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResponderStats {
    /// Deliveries that succeeded (one alert given to two sinks counts twice).
    pub sent: u64,
    /// Alerts the rate limiter held back: neither sent nor acted on.
    pub suppressed: u64,
    /// Deliveries that failed.
    pub sink_errors: u64,
    /// Processes killed.
    pub killed: u64,
    /// Kills that were attempted and failed.
    pub kill_failures: u64,
    /// The last kill attempted (killed or failed), if any.
    pub last_kill: Option<KillOutcome>,
    /// The last failure, of a sink or of a kill.
    pub last_error: Option<String>,
}

/// Applies the configured responses to every alert it is given.
pub struct Responder {
    sinks: Vec<Box<dyn Sink>>,
    limiter: Option<RateLimiter>,
    killer: Option<Killer>,
    stats: ResponderStats,
}

impl Responder {
    /// A responder sending to `sinks`, rate limited by `limiter` and killing with `killer`
    /// when they are given.
    pub fn new(sinks: Vec<Box<dyn Sink>>, limiter: Option<RateLimiter>, killer: Option<Killer>) -> Responder {
        Responder {
            sinks,
            limiter,
            killer,
            stats: ResponderStats::default(),
        }
    }

    /// Handles one alert raised at `now`: the rate limiter may suppress it; otherwise the
    /// killer (if any) acts on it and every sink gets it, a failing sink not stopping the
    /// others. Failures are counted in [`Responder::stats`], never returned.
    pub fn handle(&mut self, alert: &Alert, now: Instant) {
        if let Some(limiter) = &mut self.limiter {
            if !limiter.allow(&alert.rule, now) {
                self.stats.suppressed += 1;
                return;
            }
        }
        let alert = self.kill(alert);
        self.deliver(&alert);
    }

    /// What the responder has done so far.
    pub fn stats(&self) -> ResponderStats {
        self.stats.clone()
    }

    /// Runs the killer, returning the alert with its outcome in `moat.response`.
    fn kill<'a>(&mut self, alert: &'a Alert) -> Cow<'a, Alert> {
        let Some(killer) = &mut self.killer else {
            return Cow::Borrowed(alert);
        };
        if !killer.applies_to(alert) {
            return Cow::Borrowed(alert);
        }
        let outcome = killer.respond(alert);
        self.count_kill(&outcome);
        let mut annotated = alert.clone();
        annotated
            .output_fields
            .insert(RESPONSE_FIELD.to_string(), Value::String(outcome.to_string()));
        Cow::Owned(annotated)
    }

    fn count_kill(&mut self, outcome: &KillOutcome) {
        match outcome {
            KillOutcome::Killed { .. } => self.stats.killed += 1,
            KillOutcome::Failed { .. } => {
                self.stats.kill_failures += 1;
                self.stats.last_error = Some(outcome.to_string());
            }
            KillOutcome::Skipped { .. } => return,
        }
        self.stats.last_kill = Some(outcome.clone());
    }

    fn deliver(&mut self, alert: &Alert) {
        for sink in &mut self.sinks {
            match sink.send(alert) {
                Ok(()) => self.stats.sent += 1,
                Err(error) => {
                    self.stats.sink_errors += 1;
                    self.stats.last_error = Some(error.to_string());
                }
            }
        }
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sinks: Vec<String> = self.sinks.iter().map(|sink| sink.name()).collect();
        f.debug_struct("Responder")
            .field("sinks", &sinks)
            .field("limiter", &self.limiter)
            .field("killer", &self.killer)
            .field("stats", &self.stats)
            .finish()
    }
}

/// An alert for tests: rule `Shell in container`, priority `Critical`, pid 4242.
#[cfg(test)]
pub(crate) fn sample_alert() -> Alert {
    use crate::replay::AlertContext;
    use moat_rules::Priority;
    let mut output_fields = serde_json::Map::new();
    output_fields.insert("proc.name".to_string(), Value::from("bash"));
    output_fields.insert("proc.pid".to_string(), Value::from(4242));
    Alert {
        time: "2024-02-29T12:34:56.000000123Z".to_string(),
        rule: "Shell in container".to_string(),
        priority: Priority::Critical,
        output: "A shell was spawned (proc.name=bash container=web)".to_string(),
        output_fields,
        tags: vec!["container".to_string(), "shell".to_string()],
        source: "syscall",
        hostname: Some("node-1".to_string()),
        context: AlertContext {
            event_num: 7,
            container_id: "0123456789ab".to_string(),
            container_name: "web".to_string(),
            container_image: Some("nginx:1.25".to_string()),
            proc_name: "bash".to_string(),
            pid: 4242,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_rules::Priority;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Above the kernel's largest pid_max (2^22), so no process has it.
    const NO_SUCH_PID: u64 = 1 << 30;

    /// A sink that records what it is given, or always fails.
    struct Recording {
        seen: Arc<Mutex<Vec<Alert>>>,
        fail: bool,
    }

    impl Sink for Recording {
        fn name(&self) -> String {
            "recording".to_string()
        }

        fn send(&mut self, alert: &Alert) -> Result<(), RespondError> {
            if self.fail {
                return Err(RespondError::Config {
                    sink: self.name(),
                    message: "refuses everything".to_string(),
                });
            }
            self.seen.lock().expect("lock").push(alert.clone());
            Ok(())
        }
    }

    fn recording(fail: bool) -> (Box<dyn Sink>, Arc<Mutex<Vec<Alert>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Recording {
            seen: Arc::clone(&seen),
            fail,
        };
        (Box::new(sink), seen)
    }

    #[test]
    fn a_failing_sink_does_not_stop_the_others() {
        let (failing, _) = recording(true);
        let (working, seen) = recording(false);
        let mut responder = Responder::new(vec![failing, working], None, None);
        let now = Instant::now();
        responder.handle(&sample_alert(), now);
        responder.handle(&sample_alert(), now);
        let stats = responder.stats();
        assert_eq!(stats.sent, 2);
        assert_eq!(stats.sink_errors, 2);
        assert_eq!(stats.last_error.as_deref(), Some("recording: refuses everything"));
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], sample_alert(), "sent unchanged without a killer");
    }

    #[test]
    fn suppressed_alerts_are_neither_sent_nor_acted_on() {
        let (sink, seen) = recording(false);
        let limiter = RateLimiter::new(1.0, 1);
        // Every kill the killer attempts fails (no such pid), so attempts can be counted.
        let mut alert = sample_alert();
        alert.context.pid = NO_SUCH_PID;
        let killer = Killer::new(Priority::Debug);
        let mut responder = Responder::new(vec![sink], Some(limiter), Some(killer));
        let start = Instant::now();
        responder.handle(&alert, start);
        responder.handle(&alert, start + Duration::from_millis(10));
        responder.handle(&alert, start + Duration::from_millis(1010));
        let stats = responder.stats();
        assert_eq!(stats.suppressed, 1);
        assert_eq!(stats.sent, 2);
        assert_eq!(stats.kill_failures, 2);
        assert_eq!(seen.lock().expect("lock").len(), 2);
    }

    #[test]
    fn the_kill_outcome_travels_with_the_alert_and_shows_in_the_stats() {
        let (sink, seen) = recording(false);
        let mut alert = sample_alert();
        alert.context.pid = 1;
        let mut responder = Responder::new(vec![sink], None, Some(Killer::new(Priority::Error)));
        responder.handle(&alert, Instant::now());
        let seen = seen.lock().expect("lock");
        let response = seen[0].output_fields.get(RESPONSE_FIELD);
        assert_eq!(response, Some(&Value::from("skipped: pid 1 is init")));
        assert_eq!(responder.stats().killed, 0);
        assert_eq!(responder.stats().last_kill, None);
    }

    #[test]
    fn a_failed_kill_is_counted_and_kept_as_the_last_error() {
        let mut alert = sample_alert();
        alert.context.pid = NO_SUCH_PID;
        let (sink, seen) = recording(false);
        let mut responder = Responder::new(vec![sink], None, Some(Killer::new(Priority::Error)));
        responder.handle(&alert, Instant::now());
        let stats = responder.stats();
        assert_eq!(stats.kill_failures, 1);
        assert!(matches!(stats.last_kill, Some(KillOutcome::Failed { pid, .. }) if pid == NO_SUCH_PID));
        let last_error = stats.last_error.unwrap_or_default();
        assert!(last_error.contains("1073741824"), "{last_error}");
        assert_eq!(stats.sent, 1, "the alert is still sent");
        let field = seen.lock().expect("lock")[0].output_fields[RESPONSE_FIELD].clone();
        assert!(field
            .as_str()
            .is_some_and(|text| text.starts_with("kill of pid 1073741824 failed")));
    }

    #[test]
    fn alerts_below_the_killer_priority_are_sent_unchanged() {
        let (sink, seen) = recording(false);
        let mut responder = Responder::new(vec![sink], None, Some(Killer::new(Priority::Emergency)));
        responder.handle(&sample_alert(), Instant::now());
        assert_eq!(seen.lock().expect("lock")[0], sample_alert());
    }
}
