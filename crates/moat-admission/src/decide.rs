//! From what the policies said to what the webhook answers: the mode, the failure policy and
//! the exemptions applied in one place, without I/O.

use crate::config::{FailurePolicy, Mode};
use moat_policy::{Action, EvalError, Evaluation, Patch, Violation};
use serde::Serialize;
use serde_json::Value;

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `POST /validate`: validating policies.
    Validate,
    /// `POST /mutate`: mutating policies.
    Mutate,
}

impl Endpoint {
    /// The name used in metrics and the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

/// What happened to a request, as the decision log and metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Allowed after evaluation.
    Allow,
    /// Denied by a policy.
    Deny,
    /// Allowed without evaluation (an exempt namespace, user or group).
    Exempt,
    /// A policy failed or ran out of time, and the failure policy decided; or the request
    /// could not be read.
    Error,
}

impl Verdict {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Exempt => "exempt",
            Verdict::Error => "error",
        }
    }
}

/// What evaluating one request produced.
#[derive(Debug)]
pub enum Outcome {
    /// Not evaluated: exempt, for this reason.
    Exempt(String),
    /// The policies' answer.
    Evaluated(Evaluation),
    /// The evaluation as a whole failed (the request timeout, a crashed evaluation).
    Failed(EvalError),
}

/// The settings a decision depends on (they may change on reload).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Enforce or audit.
    pub mode: Mode,
    /// What errors mean.
    pub failure_policy: FailurePolicy,
}

/// The webhook's answer to one request, with what the decision log needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What happened.
    pub verdict: Verdict,
    /// Whether the request may go on.
    pub allowed: bool,
    /// The denial message (one line per denying policy or failing policy).
    pub message: Option<String>,
    /// Warnings returned to the client.
    pub warnings: Vec<String>,
    /// Patches returned (only from `/mutate`, only when allowed and enforcing).
    pub patches: Vec<Patch>,
    /// Patches the policies asked for, returned or not.
    pub patches_requested: usize,
    /// In audit mode, whether enforcing would have denied the request.
    pub would_deny: bool,
    /// Every violation, for the log.
    pub violations: Vec<Violation>,
    /// Every policy that failed, for the log.
    pub errors: Vec<EvalError>,
    /// Why the request was exempt.
    pub exempt_reason: Option<String>,
}

/// Decides one request.
pub fn decide(rules: Rules, outcome: Outcome) -> Decision {
    let evaluation = match outcome {
        Outcome::Exempt(reason) => return exempt(reason),
        Outcome::Evaluated(evaluation) => evaluation,
        Outcome::Failed(error) => Evaluation {
            errors: vec![error],
            ..Evaluation::default()
        },
    };
    let denials: Vec<&Violation> = evaluation.with_action(Action::Deny).collect();
    let fails = !evaluation.errors.is_empty() && rules.failure_policy == FailurePolicy::Fail;
    let would_deny = !denials.is_empty() || fails;
    let enforcing = rules.mode == Mode::Enforce;
    let verdict = if enforcing && !denials.is_empty() {
        Verdict::Deny
    } else if !evaluation.errors.is_empty() {
        Verdict::Error
    } else {
        Verdict::Allow
    };
    let allowed = !(enforcing && would_deny);
    let message = (!allowed).then(|| denial_message(&denials, &evaluation.errors, fails));
    let warnings = warnings(rules, &evaluation, allowed);
    let patches = if allowed && enforcing {
        evaluation.patches.clone()
    } else {
        Vec::new()
    };
    Decision {
        verdict,
        allowed,
        message,
        warnings,
        patches,
        patches_requested: evaluation.patches.len(),
        would_deny: !enforcing && would_deny,
        violations: evaluation.violations,
        errors: evaluation.errors,
        exempt_reason: None,
    }
}

fn exempt(reason: String) -> Decision {
    Decision {
        verdict: Verdict::Exempt,
        allowed: true,
        message: None,
        warnings: Vec::new(),
        patches: Vec::new(),
        patches_requested: 0,
        would_deny: false,
        violations: Vec::new(),
        errors: Vec::new(),
        exempt_reason: Some(reason),
    }
}

fn denial_message(denials: &[&Violation], errors: &[EvalError], fails: bool) -> String {
    let mut lines: Vec<String> = denials
        .iter()
        .map(|v| format!("[{}] {}", v.policy, v.message))
        .collect();
    if fails {
        lines.extend(errors.iter().map(|e| {
            format!(
                "[{}] could not be evaluated: {} (failurePolicy Fail)",
                e.policy, e.message
            )
        }));
    }
    lines.join("\n")
}

fn warnings(rules: Rules, evaluation: &Evaluation, allowed: bool) -> Vec<String> {
    let audit = rules.mode == Mode::Audit;
    let mut warnings: Vec<String> = evaluation
        .violations
        .iter()
        .filter(|v| audit || v.action == Action::Warn)
        .map(|v| match (audit, v.action) {
            (true, Action::Deny) => {
                format!("[{}] {} (audit mode: would deny)", v.policy, v.message)
            }
            _ => format!("[{}] {}", v.policy, v.message),
        })
        .collect();
    if allowed {
        warnings.extend(evaluation.errors.iter().map(|e| {
            format!(
                "[{}] could not be evaluated: {} (failurePolicy {})",
                e.policy,
                e.message,
                rules.failure_policy.as_str()
            )
        }));
    }
    if audit && !evaluation.patches.is_empty() {
        warnings.push(format!(
            "audit mode: {} patch operations not applied",
            evaluation.patches.len()
        ));
    }
    warnings
}

/// Checks that mutating policies' patches apply to `object`, in order; the patches of a
/// policy whose patch does not apply are dropped and the policy becomes an error, so the
/// API server never receives a patch it cannot apply.
pub fn keep_applicable_patches(object: &Value, evaluation: &mut Evaluation) {
    // At most one round per policy that contributed patches: each failed round drops one.
    while !evaluation.patches.is_empty() {
        let Err((policy, message)) = try_patches(object, &evaluation.patches) else {
            return;
        };
        evaluation.patches.retain(|patch| patch.policy != policy);
        evaluation.errors.push(EvalError {
            policy,
            message,
            timed_out: false,
        });
    }
}

fn try_patches(object: &Value, patches: &[Patch]) -> Result<(), (String, String)> {
    let operations = serde_json::to_value(patches)
        .and_then(serde_json::from_value::<json_patch::Patch>)
        .map_err(|err| {
            let policy = patches.first().map(|p| p.policy.clone()).unwrap_or_default();
            (policy, format!("its patch is not RFC 6902 JSON patch: {err}"))
        })?;
    let mut target = object.clone();
    json_patch::patch(&mut target, &operations).map_err(|err| {
        let policy = patches
            .get(err.operation)
            .map(|p| p.policy.clone())
            .unwrap_or_default();
        (policy, format!("its patch does not apply: {err}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violation(policy: &str, action: Action) -> Violation {
        Violation {
            policy: policy.into(),
            engine: "builtin".into(),
            message: format!("{policy} says no"),
            action,
            details: None,
            pointer: None,
        }
    }

    fn error(policy: &str) -> EvalError {
        EvalError {
            policy: policy.into(),
            message: "boom".into(),
            timed_out: false,
        }
    }

    fn patch(policy: &str, path: &str) -> Patch {
        Patch {
            op: "add".into(),
            path: path.into(),
            value: Some(json!(true)),
            policy: policy.into(),
        }
    }

    const ENFORCE_FAIL: Rules = Rules {
        mode: Mode::Enforce,
        failure_policy: FailurePolicy::Fail,
    };
    const ENFORCE_IGNORE: Rules = Rules {
        mode: Mode::Enforce,
        failure_policy: FailurePolicy::Ignore,
    };
    const AUDIT: Rules = Rules {
        mode: Mode::Audit,
        failure_policy: FailurePolicy::Fail,
    };

    fn evaluated(violations: Vec<Violation>, errors: Vec<EvalError>) -> Outcome {
        Outcome::Evaluated(Evaluation {
            violations,
            errors,
            patches: vec![],
        })
    }

    #[test]
    fn deny_violations_deny_and_warn_violations_warn() {
        let decision = decide(
            ENFORCE_FAIL,
            evaluated(
                vec![
                    violation("a", Action::Deny),
                    violation("b", Action::Warn),
                    violation("c", Action::Audit),
                    violation("d", Action::Deny),
                ],
                vec![],
            ),
        );
        assert!(!decision.allowed);
        assert_eq!(decision.verdict, Verdict::Deny);
        assert_eq!(decision.message.as_deref(), Some("[a] a says no\n[d] d says no"));
        assert_eq!(decision.warnings, vec!["[b] b says no".to_string()]);
        assert_eq!(decision.violations.len(), 4);
    }

    #[test]
    fn nothing_violated_is_allowed() {
        let decision = decide(ENFORCE_FAIL, evaluated(vec![], vec![]));
        assert!(decision.allowed);
        assert_eq!(decision.verdict, Verdict::Allow);
        assert_eq!(decision.message, None);
    }

    #[test]
    fn the_failure_policy_decides_errors() {
        let failed = decide(ENFORCE_FAIL, evaluated(vec![], vec![error("slow")]));
        assert!(!failed.allowed);
        assert_eq!(failed.verdict, Verdict::Error);
        let message = failed.message.unwrap();
        assert!(
            message.contains("[slow] could not be evaluated: boom"),
            "{message}"
        );
        let ignored = decide(ENFORCE_IGNORE, evaluated(vec![], vec![error("slow")]));
        assert!(ignored.allowed);
        assert_eq!(ignored.verdict, Verdict::Error);
        assert!(ignored.warnings[0].contains("failurePolicy Ignore"));
        let timeout = decide(ENFORCE_FAIL, Outcome::Failed(error("*")));
        assert!(!timeout.allowed);
    }

    #[test]
    fn audit_mode_allows_and_warns_of_everything() {
        let decision = decide(
            AUDIT,
            evaluated(
                vec![violation("a", Action::Deny), violation("c", Action::Audit)],
                vec![error("e")],
            ),
        );
        assert!(decision.allowed);
        assert!(decision.would_deny);
        assert_eq!(decision.verdict, Verdict::Error);
        assert_eq!(decision.warnings.len(), 3, "{:?}", decision.warnings);
        assert!(decision.warnings[0].contains("would deny"));
        let only_deny = decide(AUDIT, evaluated(vec![violation("a", Action::Deny)], vec![]));
        assert_eq!(only_deny.verdict, Verdict::Allow);
        assert!(only_deny.allowed && only_deny.would_deny);
    }

    #[test]
    fn patches_are_returned_only_when_enforcing() {
        let outcome = || {
            Outcome::Evaluated(Evaluation {
                patches: vec![patch("p", "/a")],
                ..Evaluation::default()
            })
        };
        assert_eq!(decide(ENFORCE_FAIL, outcome()).patches.len(), 1);
        let audit = decide(AUDIT, outcome());
        assert!(audit.patches.is_empty());
        assert_eq!(audit.patches_requested, 1);
        assert!(audit.warnings[0].contains("not applied"));
    }

    #[test]
    fn exempt_requests_are_allowed_unevaluated() {
        let decision = decide(ENFORCE_FAIL, Outcome::Exempt("namespace x".into()));
        assert!(decision.allowed);
        assert_eq!(decision.verdict, Verdict::Exempt);
        assert_eq!(decision.exempt_reason.as_deref(), Some("namespace x"));
    }

    #[test]
    fn a_patch_that_does_not_apply_becomes_an_error_of_its_policy() {
        let object = json!({"spec": {}});
        let mut evaluation = Evaluation {
            patches: vec![
                patch("good", "/spec/a"),
                patch("bad", "/missing/b"),
                patch("good", "/spec/c"),
            ],
            ..Evaluation::default()
        };
        keep_applicable_patches(&object, &mut evaluation);
        let paths: Vec<&str> = evaluation.patches.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/spec/a", "/spec/c"]);
        assert_eq!(evaluation.errors.len(), 1);
        assert_eq!(evaluation.errors[0].policy, "bad");
    }
}
