//! Evaluating a ValidatingAdmissionPolicy through one of its bindings, the way the API server
//! does: match, params, match conditions, validations, validation actions.

use super::code::Failed;
use super::policy::{ParamRef, PolicyBinding, ValidatingPolicy};
use super::program::{to_cel, Budget};
use super::resources::request_resource;
use super::session::{Failure, Session};
use crate::matching::label_selector_matches;
use crate::review::labels_of;
use crate::{EvalError, Inventory, Limits, Operation, Review, Violation};
use kube_cel::cel::Value;
use serde_json::{json, Map, Value as Json};

/// Evaluates `policy` through `binding` against `review`. Returns the violations, one per failed
/// validation (and params object), each with the binding's strongest validation action, named
/// `<policy>/<binding>`; nothing when the binding is for another policy or the request is not
/// matched. Params come from `inventory`; the namespace for `namespaceSelector` and
/// `namespaceObject` too.
///
/// An expression that fails follows the policy's `failurePolicy`: `Fail` (the default) makes
/// this an [`EvalError`], `Ignore` skips it. So does running out of `limits.time`
/// (`EvalError::timed_out`).
pub fn evaluate(
    policy: &ValidatingPolicy,
    binding: &PolicyBinding,
    review: &Review,
    inventory: &Inventory,
    limits: &Limits,
) -> Result<Vec<Violation>, EvalError> {
    if binding.policy_name != policy.name
        || !policy.match_constraints.matches(review, inventory)
        || !binding.match_resources.matches(review, inventory)
    {
        return Ok(Vec::new());
    }
    let evaluation = Evaluation {
        policy,
        binding,
        id: format!("{}/{}", policy.name, binding.name),
        limits,
    };
    let params = match find_params(policy, binding, review, inventory) {
        Params::Unused => vec![None],
        Params::Found(found) => found.into_iter().map(Some).collect(),
        Params::Missing(param_ref) if !param_ref.deny_when_missing => return Ok(Vec::new()),
        Params::Missing(_) => return evaluation.params_missing(),
        Params::Misconfigured(message) => {
            return evaluation.failed(Failure::Error(message)).map(|()| Vec::new())
        }
    };
    let budget = Budget::start(limits);
    let mut violations = Vec::new();
    for param in params {
        let bindings = bindings(review, param, inventory);
        let mut session = Session::new(&budget, bindings, policy.code.variables(), Vec::new());
        match evaluation.run(&mut session, param) {
            Ok(found) => violations.extend(found),
            Err(failure) => evaluation.failed(failure)?,
        }
    }
    Ok(violations)
}

/// One policy and binding being evaluated.
struct Evaluation<'a> {
    policy: &'a ValidatingPolicy,
    binding: &'a PolicyBinding,
    id: String,
    limits: &'a Limits,
}

impl Evaluation<'_> {
    /// Match conditions then validations, with one params object (or none).
    fn run(&self, session: &mut Session, param: Option<&Json>) -> Result<Vec<Violation>, Failure> {
        let code = &self.policy.code;
        if !code.matches(session)? {
            return Ok(Vec::new());
        }
        let failed = code.validate(session)?;
        if failed.is_empty() {
            return Ok(Vec::new());
        }
        let annotations = code.audit_annotations(session);
        Ok(failed
            .into_iter()
            .map(|f| self.violation(f, param, &annotations))
            .collect())
    }

    fn violation(&self, failed: Failed, param: Option<&Json>, annotations: &Map<String, Json>) -> Violation {
        let mut details = json!({"reason": failed.reason, "expression": failed.expression});
        if let Some(param) = param {
            details["param"] = json!(object_name(param));
        }
        if !annotations.is_empty() {
            details["auditAnnotations"] = Json::Object(annotations.clone());
        }
        Violation {
            policy: self.id.clone(),
            engine: "cel".into(),
            message: failed.message,
            action: self.binding.action,
            details: Some(details),
            pointer: None,
        }
    }

    /// No params matched the binding's `paramRef`, whose `parameterNotFoundAction` is Deny:
    /// Kubernetes subjects this to the failure policy and then to the validation actions.
    fn params_missing(&self) -> Result<Vec<Violation>, EvalError> {
        if self.policy.code.failure_policy() == super::code::FailurePolicy::Ignore {
            return Ok(Vec::new());
        }
        Ok(vec![Violation {
            policy: self.id.clone(),
            engine: "cel".into(),
            message: "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
            action: self.binding.action,
            details: None,
            pointer: None,
        }])
    }

    /// Applies the failure policy to what went wrong: an error when it is Fail.
    fn failed(&self, failure: Failure) -> Result<(), EvalError> {
        if self.policy.code.failure_policy() == super::code::FailurePolicy::Ignore {
            tracing::debug!(policy = %self.id, "ignored by failurePolicy: {failure:?}");
            return Ok(());
        }
        Err(eval_error(&self.id, failure, self.limits))
    }
}

/// The [`EvalError`] for a failure of `policy`.
pub(crate) fn eval_error(policy: &str, failure: Failure, limits: &Limits) -> EvalError {
    match failure {
        Failure::Error(message) => EvalError {
            policy: policy.to_string(),
            message,
            timed_out: false,
        },
        Failure::TimedOut => EvalError {
            policy: policy.to_string(),
            message: format!(
                "the evaluation took longer than the time limit of {:?}",
                limits.time
            ),
            timed_out: true,
        },
    }
}

/// `namespace/name` (or `name`) of an object.
fn object_name(object: &Json) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Json::as_str).unwrap_or("");
    match text("/metadata/namespace") {
        "" => text("/metadata/name").to_string(),
        namespace => format!("{namespace}/{}", text("/metadata/name")),
    }
}

/// The params a binding gives a policy.
enum Params<'a> {
    /// The policy has no `paramKind`.
    Unused,
    /// These objects (evaluated once each).
    Found(Vec<&'a Json>),
    /// None matched this `paramRef`.
    Missing(&'a ParamRef),
    /// The binding cannot give params (Kubernetes applies the failure policy).
    Misconfigured(String),
}

/// Looks params up in the inventory: objects of the policy's `paramKind` (same apiVersion), by
/// name or selector, in `paramRef.namespace`; without one, in the request's namespace or
/// cluster-scoped. By name, a namespaced object comes before a cluster-scoped one.
fn find_params<'a>(
    policy: &'a ValidatingPolicy,
    binding: &'a PolicyBinding,
    review: &Review,
    inventory: &'a Inventory,
) -> Params<'a> {
    let Some((api_version, kind)) = policy.param_kind() else {
        return Params::Unused;
    };
    let Some(param_ref) = &binding.param_ref else {
        return Params::Misconfigured(format!(
            "policy {} has a paramKind but binding {} has no paramRef",
            policy.name, binding.name
        ));
    };
    let explicit = param_ref.namespace.as_deref();
    let request_namespace = (!review.namespace.is_empty()).then_some(review.namespace.as_str());
    let in_scope = |object: &&Json| {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .filter(|n| !n.is_empty());
        match explicit {
            Some(explicit) => namespace == Some(explicit),
            None => namespace.is_none() || namespace == request_namespace,
        }
    };
    let candidates = inventory
        .list(kind, None)
        .filter(|object| object.get("apiVersion").and_then(Json::as_str) == Some(api_version))
        .filter(in_scope);
    let mut found: Vec<&Json> = match (&param_ref.name, &param_ref.selector) {
        (Some(name), _) => candidates
            .filter(|object| object.pointer("/metadata/name").and_then(Json::as_str) == Some(name.as_str()))
            .collect(),
        (None, Some(selector)) => candidates
            .filter(|object| label_selector_matches(selector, &labels_of(object)).unwrap_or(false))
            .collect(),
        (None, None) => Vec::new(),
    };
    if param_ref.name.is_some() {
        found.sort_by_key(|object| object.pointer("/metadata/namespace").is_none());
        found.truncate(1);
    }
    if found.is_empty() {
        Params::Missing(param_ref)
    } else {
        Params::Found(found)
    }
}

/// The CEL variables of a review: `object` (null on DELETE), `oldObject` (null unless UPDATE
/// or DELETE), `request`, `params` and `namespaceObject` (null for cluster-scoped requests or
/// a namespace missing from the inventory).
pub(crate) fn bindings(
    review: &Review,
    params: Option<&Json>,
    inventory: &Inventory,
) -> Vec<(&'static str, Value)> {
    let (object, old_object) = objects(review);
    let namespace = match review.namespace.as_str() {
        "" => None,
        name => inventory.namespace(name),
    };
    vec![
        ("object", to_cel(object)),
        ("oldObject", to_cel(old_object)),
        ("request", to_cel(&request(review))),
        ("params", params.map(to_cel).unwrap_or(Value::Null)),
        ("namespaceObject", namespace.map(to_cel).unwrap_or(Value::Null)),
    ]
}

/// `object` and `oldObject`.
pub(crate) fn objects(review: &Review) -> (&Json, &Json) {
    match review.operation {
        Operation::Delete => (&Json::Null, review.old_object.as_ref().unwrap_or(&review.object)),
        _ => (&review.object, review.old_object.as_ref().unwrap_or(&Json::Null)),
    }
}

/// The `request` variable: the AdmissionRequest without its objects, every field present.
fn request(review: &Review) -> Json {
    let resource = request_resource(review);
    let user = &review.user_info;
    json!({
        "uid": review.uid,
        "kind": review.kind,
        "resource": resource,
        "subResource": review.sub_resource,
        "requestKind": review.kind,
        "requestResource": resource,
        "requestSubResource": review.sub_resource,
        "name": review.name,
        "namespace": review.namespace,
        "operation": review.operation.as_str(),
        "userInfo": {"username": user.username, "uid": user.uid, "groups": user.groups, "extra": user.extra},
        "dryRun": review.dry_run,
        "options": review.options,
    })
}
