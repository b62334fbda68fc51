//! What evaluating policies against one review produces.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a violated policy asks the caller to do: Gatekeeper's `enforcementAction` and a
/// ValidatingAdmissionPolicyBinding's `validationActions`, in one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Reject the request (Gatekeeper `deny`, binding `Deny`).
    Deny,
    /// Allow, and return the message as a warning (Gatekeeper `warn`, binding `Warn`).
    Warn,
    /// Allow silently, and record the violation (Gatekeeper `dryrun`, binding `Audit`).
    Audit,
}

impl Action {
    /// Reads Gatekeeper's and Kubernetes' spellings (`deny`, `Deny`, `warn`, `dryrun`, `Audit`).
    pub fn parse(text: &str) -> Option<Action> {
        match text.to_ascii_lowercase().as_str() {
            "deny" => Some(Action::Deny),
            "warn" => Some(Action::Warn),
            "dryrun" | "audit" => Some(Action::Audit),
            _ => None,
        }
    }

    /// The lower-case name used in reports and the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
            Action::Audit => "audit",
        }
    }
}

/// One policy that one object violates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The policy as its users name it: `K8sRequiredLabels/must-have-owner`, a
    /// ValidatingAdmissionPolicy's name, or a built-in's (`moat:pod-security`).
    pub policy: String,
    /// The engine that evaluated it: `builtin`, `rego` or `cel`.
    pub engine: String,
    /// What the policy says is wrong.
    pub message: String,
    /// What the caller should do about it.
    pub action: Action,
    /// Structured details the policy returned (Gatekeeper's `details`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// JSON pointer of the offending field, relative to the object, when the policy knows it
    /// (built-ins do); `moat policy eval` turns it into a file line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// One JSON-patch operation (RFC 6902) a mutating policy asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// `add`, `replace` or `remove`.
    pub op: String,
    /// JSON pointer into the object.
    pub path: String,
    /// The value for `add` and `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The policy that asked for it.
    #[serde(skip)]
    pub policy: String,
}

/// Everything a policy set said about one review.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Violations, in policy order.
    pub violations: Vec<Violation>,
    /// Policies that could not be evaluated (an evaluation error or a time limit hit), with why.
    /// The caller decides what an error means (the webhook applies its failure policy).
    pub errors: Vec<crate::EvalError>,
    /// Mutations, in policy order; empty unless mutating policies are loaded.
    pub patches: Vec<Patch>,
}

impl Evaluation {
    /// Whether any violation asks for the request to be denied.
    pub fn denied(&self) -> bool {
        self.violations.iter().any(|v| v.action == Action::Deny)
    }

    /// The violations with a given action.
    pub fn with_action(&self, action: Action) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.action == action)
    }
}
