//! `ValidatingAdmissionPolicy` and `ValidatingAdmissionPolicyBinding` objects, read and checked.

use super::code::Code;
use super::resources::MatchResources;
use crate::matching::label_selector_matches;
use crate::{Action, Limits, PolicyError};
use serde_json::{Map, Value};

/// API versions a policy or binding may have.
const API_VERSIONS: [&str; 3] = [
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1beta1",
    "admissionregistration.k8s.io/v1alpha1",
];

/// A ValidatingAdmissionPolicy (`admissionregistration.k8s.io/v1`, also `v1beta1` and
/// `v1alpha1`), with every expression compiled.
///
/// The CEL variables are `object`, `oldObject`, `request`, `params`, `namespaceObject` and
/// `variables`. `authorizer` is not: there is no API server to ask, so an expression that uses
/// it fails when evaluated (and the policy's `failurePolicy` decides).
#[derive(Debug, Clone)]
pub struct ValidatingPolicy {
    pub(crate) name: String,
    pub(crate) param_kind: Option<(String, String)>,
    pub(crate) match_constraints: MatchResources,
    pub(crate) code: Code,
}

/// A ValidatingAdmissionPolicyBinding.
#[derive(Debug, Clone)]
pub struct PolicyBinding {
    pub(crate) name: String,
    pub(crate) policy_name: String,
    pub(crate) param_ref: Option<ParamRef>,
    pub(crate) match_resources: MatchResources,
    pub(crate) action: Action,
}

/// A binding's `paramRef`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamRef {
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) selector: Option<Value>,
    pub(crate) deny_when_missing: bool,
}

/// Checks `apiVersion` and `kind`, and returns `metadata.name`.
fn header(object: &Value, kind: &str, path: &str, line: u32) -> Result<String, PolicyError> {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let name = text("/metadata/name").to_string();
    let label = if name.is_empty() {
        "-".to_string()
    } else {
        format!("{kind} {name}")
    };
    let error = |message: String| PolicyError::new(path, line, label.clone(), message);
    if text("/kind") != kind {
        return Err(error(format!("expected kind {kind}, found {:?}", text("/kind"))));
    }
    if !API_VERSIONS.contains(&text("/apiVersion")) {
        return Err(error(format!(
            "unsupported apiVersion {:?} (expected one of {})",
            text("/apiVersion"),
            API_VERSIONS.join(", ")
        )));
    }
    if name.is_empty() {
        return Err(error("metadata.name is required".into()));
    }
    Ok(name)
}

impl ValidatingPolicy {
    /// Reads a ValidatingAdmissionPolicy and compiles every expression (`matchConditions`,
    /// `variables`, `validations[].expression` and `messageExpression`, `auditAnnotations[]`'s
    /// `valueExpression`). An error names the field (`spec.validations[1].expression`) and the
    /// reason; `path` and `line` locate the document.
    pub fn from_object(
        object: &Value,
        path: &str,
        line: u32,
        limits: &Limits,
    ) -> Result<ValidatingPolicy, PolicyError> {
        let name = header(object, "ValidatingAdmissionPolicy", path, line)?;
        let error = |message: String| {
            PolicyError::new(path, line, format!("ValidatingAdmissionPolicy {name}"), message)
        };
        let spec = object
            .get("spec")
            .filter(|s| s.is_object())
            .ok_or_else(|| error("spec is required".into()))?;
        let match_constraints =
            MatchResources::parse(spec.get("matchConstraints"), "spec.matchConstraints").map_err(error)?;
        if !match_constraints.has_resource_rules() {
            return Err(error("spec.matchConstraints.resourceRules is required".into()));
        }
        Ok(ValidatingPolicy {
            param_kind: param_kind(spec).map_err(error)?,
            match_constraints,
            code: Code::parse(spec, "spec", &[], limits).map_err(error)?,
            name,
        })
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `spec.paramKind` as (apiVersion, kind), if any.
    pub fn param_kind(&self) -> Option<(&str, &str)> {
        self.param_kind.as_ref().map(|(v, k)| (v.as_str(), k.as_str()))
    }
}

fn param_kind(spec: &Value) -> Result<Option<(String, String)>, String> {
    let Some(param_kind) = spec.get("paramKind").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = |key: &str| {
        param_kind
            .get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("spec.paramKind.{key} is required"))
    };
    Ok(Some((text("apiVersion")?, text("kind")?)))
}

impl PolicyBinding {
    /// Reads a ValidatingAdmissionPolicyBinding: `policyName`, `paramRef`, `matchResources` and
    /// `validationActions` (absent: `[Deny]`, as before `v1`). Violations take the strongest of
    /// the actions (Deny, then Warn, then Audit).
    pub fn from_object(object: &Value, path: &str, line: u32) -> Result<PolicyBinding, PolicyError> {
        let name = header(object, "ValidatingAdmissionPolicyBinding", path, line)?;
        let error = |message: String| {
            PolicyError::new(
                path,
                line,
                format!("ValidatingAdmissionPolicyBinding {name}"),
                message,
            )
        };
        let spec = object
            .get("spec")
            .filter(|s| s.is_object())
            .ok_or_else(|| error("spec is required".into()))?;
        let policy_name = spec
            .get("policyName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| error("spec.policyName is required".into()))?
            .to_string();
        Ok(PolicyBinding {
            param_ref: param_ref(spec).map_err(error)?,
            match_resources: MatchResources::parse(spec.get("matchResources"), "spec.matchResources")
                .map_err(error)?,
            action: strongest_action(spec).map_err(error)?,
            policy_name,
            name,
        })
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy it binds (`spec.policyName`).
    pub fn policy_name(&self) -> &str {
        &self.policy_name
    }

    /// The action its violations take: the strongest of `validationActions`.
    pub fn action(&self) -> Action {
        self.action
    }
}

fn strongest_action(spec: &Value) -> Result<Action, String> {
    let actions = match spec.get("validationActions") {
        None | Some(Value::Null) => return Ok(Action::Deny),
        Some(Value::Array(actions)) if !actions.is_empty() => actions,
        Some(_) => return Err("spec.validationActions must be a non-empty list".into()),
    };
    let mut parsed = Vec::new();
    for action in actions {
        let text = action.as_str().unwrap_or("");
        match text {
            "Deny" => parsed.push(Action::Deny),
            "Warn" => parsed.push(Action::Warn),
            "Audit" => parsed.push(Action::Audit),
            _ => {
                return Err(format!(
                    "spec.validationActions: unknown action {action} (expected Deny, Warn or Audit)"
                ))
            }
        }
    }
    if parsed.contains(&Action::Deny) && parsed.contains(&Action::Warn) {
        return Err("spec.validationActions: Deny and Warn may not be used together".into());
    }
    // `Action` orders Deny before Warn before Audit.
    Ok(parsed.into_iter().min().unwrap_or(Action::Deny))
}

fn param_ref(spec: &Value) -> Result<Option<ParamRef>, String> {
    let Some(param_ref) = spec.get("paramRef").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let param_ref = param_ref.as_object().ok_or("spec.paramRef must be an object")?;
    let text = |key: &str| -> Result<Option<String>, String> {
        match param_ref.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("spec.paramRef.{key} must be a string")),
        }
    };
    let selector = param_ref.get("selector").filter(|v| !v.is_null()).cloned();
    if let Some(selector) = &selector {
        label_selector_matches(selector, &Map::new())
            .map_err(|err| format!("spec.paramRef.selector: {err}"))?;
    }
    let name = text("name")?;
    if name.is_some() == selector.is_some() {
        return Err("spec.paramRef needs exactly one of name and selector".into());
    }
    let deny_when_missing = match text("parameterNotFoundAction")?.as_deref() {
        None | Some("Deny") => true,
        Some("Allow") => false,
        Some(other) => {
            return Err(format!(
                "spec.paramRef.parameterNotFoundAction {other:?} is neither Allow nor Deny"
            ))
        }
    };
    Ok(Some(ParamRef {
        name,
        namespace: text("namespace")?,
        selector,
        deny_when_missing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(spec: Value) -> Result<PolicyBinding, PolicyError> {
        PolicyBinding::from_object(
            &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                    "metadata": {"name": "b"}, "spec": spec}),
            "bindings.yaml",
            3,
        )
    }

    #[test]
    fn bindings_take_their_strongest_action() {
        let action = |actions: Value| {
            binding(json!({"policyName": "p", "validationActions": actions})).map(|b| b.action())
        };
        assert_eq!(action(json!(["Audit", "Deny"])), Ok(Action::Deny));
        assert_eq!(action(json!(["Audit", "Warn"])), Ok(Action::Warn));
        assert_eq!(action(json!(["Audit"])), Ok(Action::Audit));
        assert!(action(json!(["Deny", "Warn"])).is_err());
        let error = action(json!(["Block"])).unwrap_err();
        assert_eq!(
            (error.path.as_str(), error.line, error.policy.as_str()),
            ("bindings.yaml", 3, "ValidatingAdmissionPolicyBinding b")
        );
    }

    #[test]
    fn param_refs_need_a_name_or_a_selector() {
        let spec = |param_ref: Value| {
            binding(json!({"policyName": "p", "validationActions": ["Deny"], "paramRef": param_ref}))
        };
        let by_name =
            spec(json!({"name": "limits", "namespace": "prod", "parameterNotFoundAction": "Allow"})).unwrap();
        let param_ref = by_name.param_ref.unwrap();
        assert_eq!(
            (
                param_ref.name.as_deref(),
                param_ref.namespace.as_deref(),
                param_ref.deny_when_missing
            ),
            (Some("limits"), Some("prod"), false)
        );
        assert!(
            spec(json!({"selector": {"matchLabels": {"a": "b"}}}))
                .unwrap()
                .param_ref
                .unwrap()
                .deny_when_missing
        );
        assert!(spec(json!({})).is_err());
        assert!(spec(json!({"name": "x", "parameterNotFoundAction": "Maybe"})).is_err());
        assert!(binding(json!({"validationActions": ["Deny"]}))
            .unwrap_err()
            .message
            .contains("policyName"));
    }

    #[test]
    fn policies_need_resource_rules_and_a_known_api_version() {
        let policy = |api_version: &str, spec: Value| {
            ValidatingPolicy::from_object(
                &json!({"apiVersion": api_version, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "p"}, "spec": spec}),
                "p.yaml",
                1,
                &Limits::default(),
            )
        };
        let spec = json!({"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                          "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                          "validations": [{"expression": "true"}]});
        let loaded = policy("admissionregistration.k8s.io/v1beta1", spec.clone()).unwrap();
        assert_eq!(loaded.param_kind(), Some(("v1", "ConfigMap")));
        assert!(policy("admissionregistration.k8s.io/v2", spec).is_err());
        let error = policy(
            "admissionregistration.k8s.io/v1",
            json!({"validations": [{"expression": "true"}]}),
        )
        .unwrap_err();
        assert!(error.message.contains("resourceRules"), "{error}");
        assert_eq!(error.policy, "ValidatingAdmissionPolicy p");
    }
}
