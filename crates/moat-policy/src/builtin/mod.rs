//! Moat's built-in policies, written as `MoatPolicy` objects:
//!
//! ```yaml
//! apiVersion: policy.moat.dev/v1alpha1
//! kind: MoatPolicy
//! metadata: {name: restricted}
//! spec:
//!   rule: pod-security            # which built-in
//!   parameters: {level: restricted, version: latest}
//!   match: {kinds: [{apiGroups: [""], kinds: [Pod]}]}   # optional, Gatekeeper's match
//!   enforcementAction: deny       # deny (default), warn or dryrun
//! ```
//!
//! Validating rules: `pod-security`, `allowed-registries`, `image-digest`, `disallow-latest`,
//! `required-labels`, `resource-limits`, `scan-gate`. Mutating rules: `default-security-context`,
//! `resolve-digests`.

mod images;
mod mutate;
mod rules;
mod scan_gate;

pub use images::ImageName;
pub use scan_gate::ScanReports;

use crate::matching::Match;
use crate::{Action, EvalError, Inventory, Patch, PolicyError, Review, Violation};
use serde_json::Value;

/// The API group and kind of a built-in policy object.
pub const API_GROUP: &str = "policy.moat.dev";
/// The kind of a built-in policy object.
pub const KIND: &str = "MoatPolicy";

/// Looks up the digest an image tag points to, for `resolve-digests` (a registry client in the
/// binary implements it; policies themselves never touch the network).
pub trait DigestResolver: Send + Sync {
    /// The manifest digest (`sha256:…`) that `image` (`registry/repo:tag`) resolves to.
    fn resolve(&self, image: &str) -> Result<String, String>;
}

/// Whether an object is a `MoatPolicy`.
pub fn is_builtin(object: &Value) -> bool {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    api_version.starts_with(&format!("{API_GROUP}/"))
        && object.get("kind").and_then(Value::as_str) == Some(KIND)
}

/// One configured built-in policy.
#[derive(Debug, Clone)]
pub struct BuiltinPolicy {
    name: String,
    rule: rules::Rule,
    matcher: Match,
    action: Action,
}

impl BuiltinPolicy {
    /// Reads a `MoatPolicy` object; unknown rules, parameters or values are errors naming the
    /// file, line and policy. Relative paths in parameters (scan reports) are read from the
    /// directory of `path`.
    pub fn from_object(object: &Value, path: &str, line: u32) -> Result<BuiltinPolicy, PolicyError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let label = format!("MoatPolicy {name}");
        let error = |message: String| PolicyError::new(path, line, &label, message);
        if name.is_empty() {
            return Err(error("needs metadata.name".into()));
        }
        let spec = object.get("spec").unwrap_or(&Value::Null);
        let rule_name = spec.get("rule").and_then(Value::as_str).unwrap_or("");
        let parameters = spec.get("parameters").cloned().unwrap_or(Value::Null);
        let base = std::path::Path::new(path)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let rule = rules::Rule::parse(rule_name, &parameters, base).map_err(error)?;
        let matcher = Match::parse(spec.get("match")).map_err(|e| error(format!("spec.{e}")))?;
        let declared = spec
            .get("enforcementAction")
            .and_then(Value::as_str)
            .unwrap_or("deny");
        let action = Action::parse(declared)
            .ok_or_else(|| error(format!("unknown spec.enforcementAction {declared:?}")))?;
        Ok(BuiltinPolicy {
            name,
            rule,
            matcher,
            action,
        })
    }

    /// A built-in policy made in code (`moat policy eval --pss restricted`).
    pub fn new(name: &str, rule: &str, parameters: &Value) -> Result<BuiltinPolicy, String> {
        Ok(BuiltinPolicy {
            name: name.to_string(),
            rule: rules::Rule::parse(rule, parameters, std::path::Path::new("."))?,
            matcher: Match::default(),
            action: Action::Deny,
        })
    }

    /// `moat:<name>`, how violations name it.
    pub fn label(&self) -> String {
        format!("moat:{}", self.name)
    }

    /// Whether it changes objects rather than judging them.
    pub fn is_mutating(&self) -> bool {
        self.rule.is_mutating()
    }

    /// The policy's violations for one review (none when it does not match).
    pub fn evaluate(&self, review: &Review, inventory: &Inventory) -> Vec<Violation> {
        if review.operation == crate::Operation::Delete || !self.matcher.matches(review, inventory) {
            return Vec::new();
        }
        self.rule
            .check(&review.object)
            .into_iter()
            .map(|problem| Violation {
                policy: self.label(),
                engine: "builtin".into(),
                message: problem.message,
                action: self.action,
                details: None,
                pointer: Some(problem.pointer),
            })
            .collect()
    }

    /// The JSON patches a mutating policy asks for.
    pub fn mutate(
        &self,
        review: &Review,
        inventory: &Inventory,
        resolver: Option<&dyn DigestResolver>,
    ) -> Result<Vec<Patch>, EvalError> {
        if !matches!(
            review.operation,
            crate::Operation::Create | crate::Operation::Update
        ) || !self.matcher.matches(review, inventory)
        {
            return Ok(Vec::new());
        }
        let mut patches = self
            .rule
            .mutate(&review.object, resolver)
            .map_err(|message| EvalError {
                policy: self.label(),
                message,
                timed_out: false,
            })?;
        for patch in &mut patches {
            patch.policy = self.label();
        }
        Ok(patches)
    }
}

/// One problem a built-in rule finds: what, and where in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub pointer: String,
}
