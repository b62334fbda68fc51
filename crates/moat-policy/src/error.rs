//! Errors: a policy that cannot be loaded, and one that fails while evaluating.

use serde::Serialize;

/// A policy document that cannot be loaded: names the file and line, and the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {policy}: {message}")]
pub struct PolicyError {
    /// The file (or another source name) the policy came from.
    pub path: String,
    /// The line its document starts on (1-based), or 0 when unknown.
    pub line: u32,
    /// The policy's name (`ConstraintTemplate k8srequiredlabels`), or `-` when it has none yet.
    pub policy: String,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    /// An error about `policy` at `path:line`.
    pub fn new(
        path: impl Into<String>,
        line: u32,
        policy: impl Into<String>,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            path: path.into(),
            line,
            policy: policy.into(),
            message: message.into(),
        }
    }
}

/// A policy that failed while evaluating one review (an interpreter error, or a limit hit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{policy}: {message}")]
pub struct EvalError {
    /// The policy.
    pub policy: String,
    /// What went wrong.
    pub message: String,
    /// Whether a time limit stopped it (the webhook treats this like a timeout).
    pub timed_out: bool,
}
