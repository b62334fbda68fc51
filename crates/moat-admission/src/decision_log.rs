//! The decision log: one JSON object per line and per request.
//!
//! ```json
//! {"uid":"…","time":"2026-11-28T10:00:00.123456Z","endpoint":"validate","user":"alice",
//!  "groups":["dev"],"operation":"CREATE","apiVersion":"v1","kind":"Pod","resource":"pods",
//!  "namespace":"prod","name":"web","decision":"deny","allowed":false,"mode":"enforce",
//!  "latency_us":812,"policies":[{"policy":"restricted","engine":"builtin","action":"deny",
//!  "message":"…"}],"errors":[],"patches":0}
//! ```
//!
//! `decision` is `allow`, `deny`, `exempt` or `error` (a policy failed and the failure policy
//! decided, or the request could not be read: then `error` holds why and `status` the HTTP
//! status). Audit mode adds `"wouldDeny": true` where enforcing would have denied.

use crate::config::{LogTarget, Mode};
use crate::decide::{Decision, Endpoint};
use crate::AdmissionError;
use moat_policy::Review;
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Where decision lines go. One lock around a buffered writer: each line is written whole
/// and flushed before the next request's line, so concurrent requests never interleave.
pub(crate) struct DecisionLog {
    out: Mutex<Box<dyn Write + Send>>,
    target: String,
}

impl DecisionLog {
    /// Opens the target (a file is created if needed and appended to).
    pub(crate) fn open(target: &LogTarget) -> Result<DecisionLog, AdmissionError> {
        let (out, name): (Box<dyn Write + Send>, String) = match target {
            LogTarget::Stdout => (Box::new(std::io::stdout()), "stdout".into()),
            LogTarget::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| AdmissionError::DecisionLog {
                        path: path.clone(),
                        source,
                    })?;
                (Box::new(BufWriter::new(file)), path.display().to_string())
            }
        };
        Ok(DecisionLog {
            out: Mutex::new(out),
            target: name,
        })
    }

    /// Writes one record as one line and flushes it. A failed write is reported on stderr
    /// and does not fail the request.
    pub(crate) fn write(&self, record: &LogRecord<'_>) {
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(err) => {
                tracing::warn!("decision log: cannot serialize a record: {err}");
                return;
            }
        };
        line.push(b'\n');
        // A writer poisoned by a panic elsewhere is still a writer: keep logging.
        let mut out = self.out.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Err(err) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::warn!("decision log {}: write failed: {err}", self.target);
        }
    }
}

/// One line of the decision log.
#[derive(Debug, Serialize)]
pub(crate) struct LogRecord<'a> {
    uid: &'a str,
    time: String,
    endpoint: &'static str,
    user: &'a str,
    groups: &'a [String],
    operation: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: &'a str,
    resource: &'a str,
    namespace: &'a str,
    name: &'a str,
    decision: &'static str,
    allowed: bool,
    mode: &'static str,
    latency_us: u128,
    policies: Vec<LoggedPolicy<'a>>,
    errors: &'a [moat_policy::EvalError],
    patches: usize,
    #[serde(rename = "wouldDeny", skip_serializing_if = "std::ops::Not::not")]
    would_deny: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    exempt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

#[derive(Debug, Serialize)]
struct LoggedPolicy<'a> {
    policy: &'a str,
    engine: &'a str,
    action: &'static str,
    message: &'a str,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

impl<'a> LogRecord<'a> {
    /// The record of a decided request.
    pub(crate) fn decided(
        endpoint: Endpoint,
        mode: Mode,
        review: &'a Review,
        decision: &'a Decision,
        latency: Duration,
    ) -> LogRecord<'a> {
        LogRecord {
            uid: &review.uid,
            time: now_rfc3339(),
            endpoint: endpoint.as_str(),
            user: &review.user_info.username,
            groups: &review.user_info.groups,
            operation: review.operation.as_str(),
            api_version: review.kind.api_version(),
            kind: &review.kind.kind,
            resource: review
                .resource
                .as_ref()
                .and_then(|r| r.get("resource"))
                .and_then(|r| r.as_str())
                .unwrap_or(""),
            namespace: &review.namespace,
            name: &review.name,
            decision: decision.verdict.as_str(),
            allowed: decision.allowed,
            mode: mode.as_str(),
            latency_us: latency.as_micros(),
            policies: decision
                .violations
                .iter()
                .map(|v| LoggedPolicy {
                    policy: &v.policy,
                    engine: &v.engine,
                    action: v.action.as_str(),
                    message: &v.message,
                })
                .collect(),
            errors: &decision.errors,
            patches: decision.patches.len(),
            would_deny: decision.would_deny,
            exempt: decision.exempt_reason.as_deref(),
            error: None,
            status: None,
        }
    }

    /// The record of a request answered with an HTTP error before any decision.
    pub(crate) fn rejected(
        endpoint: Endpoint,
        mode: Mode,
        uid: &'a str,
        status: u16,
        error: &'a str,
        latency: Duration,
    ) -> LogRecord<'a> {
        LogRecord {
            uid,
            time: now_rfc3339(),
            endpoint: endpoint.as_str(),
            user: "",
            groups: &[],
            operation: "",
            api_version: String::new(),
            kind: "",
            resource: "",
            namespace: "",
            name: "",
            decision: "error",
            allowed: false,
            mode: mode.as_str(),
            latency_us: latency.as_micros(),
            policies: Vec::new(),
            errors: &[],
            patches: 0,
            would_deny: false,
            exempt: None,
            error: Some(error),
            status: Some(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FailurePolicy;
    use crate::decide::{decide, Outcome, Rules};
    use moat_policy::{Action, Evaluation, Violation};
    use serde_json::{json, Value};
    use std::sync::Arc;

    #[test]
    fn concurrent_records_are_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.log");
        let log = Arc::new(DecisionLog::open(&LogTarget::File(path.clone())).unwrap());
        let review = Review::from_admission_request(&json!({
            "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE", "namespace": "prod", "name": "web",
            "userInfo": {"username": "alice", "groups": ["dev"]},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
        }))
        .unwrap();
        let evaluation = Evaluation {
            violations: vec![Violation {
                policy: "restricted".into(),
                engine: "builtin".into(),
                message: "x".repeat(5000),
                action: Action::Deny,
                details: None,
                pointer: None,
            }],
            ..Evaluation::default()
        };
        let rules = Rules {
            mode: Mode::Enforce,
            failure_policy: FailurePolicy::Fail,
        };
        let decision = decide(rules, Outcome::Evaluated(evaluation));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let record = LogRecord::decided(
                            Endpoint::Validate,
                            Mode::Enforce,
                            &review,
                            &decision,
                            Duration::from_micros(42),
                        );
                        log.write(&record);
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 200);
        let line = &lines[0];
        assert_eq!(line["uid"], "u-1");
        assert_eq!(line["decision"], "deny");
        assert_eq!(line["resource"], "pods");
        assert_eq!(line["groups"], json!(["dev"]));
        assert_eq!(line["latency_us"], 42);
        assert_eq!(line["policies"][0]["action"], "deny");
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }
}
