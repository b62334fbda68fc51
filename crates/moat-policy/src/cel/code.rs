//! The CEL part shared by a ValidatingAdmissionPolicy's `spec` and Gatekeeper's
//! `K8sNativeValidation` source: `matchConditions`, `variables`, `validations`,
//! `auditAnnotations` and `failurePolicy`, compiled, and their evaluation.

use super::program::{self, Program, VariableUses};
use super::session::{Failure, Session, Variable};
use crate::Limits;
use kube_cel::cel::Value;
use serde_json::{Map, Value as Json};

/// What to do when an expression cannot be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailurePolicy {
    /// Report an error (Kubernetes' default).
    Fail,
    /// Skip what failed.
    Ignore,
}

/// A compiled expression and the field it came from (`spec.validations[1].expression`).
#[derive(Debug, Clone)]
struct Field {
    path: String,
    program: Program,
}

/// One entry of `validations`.
#[derive(Debug, Clone)]
struct Validation {
    expression: Field,
    message: Option<String>,
    message_expression: Option<Field>,
    reason: Option<String>,
}

/// One failed validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failed {
    /// The message to show.
    pub(crate) message: String,
    /// `reason` as given (`Invalid` when not).
    pub(crate) reason: String,
    /// The expression that evaluated to false.
    pub(crate) expression: String,
}

/// The compiled expressions of a policy.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    match_conditions: Vec<Field>,
    variables: Vec<Variable>,
    variable_fields: Vec<String>,
    validations: Vec<Validation>,
    audit_annotations: Vec<(String, Field)>,
    failure_policy: FailurePolicy,
}

/// A list field of an object (absent or null: empty).
fn list<'a>(object: &'a Json, key: &str, path: &str) -> Result<&'a [Json], String> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => Err(format!("{path}.{key} must be a list")),
    }
}

/// An optional string field.
fn optional_text(object: &Json, key: &str, path: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(format!("{path}.{key} must be a string")),
    }
}

/// A required, non-empty string field.
fn text(object: &Json, key: &str, path: &str) -> Result<String, String> {
    optional_text(object, key, path)?
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| format!("{path}.{key} is required"))
}

/// Compiles the expression in `object[key]`, naming the field in errors.
fn field(object: &Json, key: &str, path: &str, limits: &Limits) -> Result<Field, String> {
    let source = text(object, key, path)?;
    let path = format!("{path}.{key}");
    let program = program::compile(&source, limits).map_err(|err| format!("{path}: {err}"))?;
    Ok(Field { path, program })
}

/// Whether `name` is a CEL identifier (what Kubernetes requires of variable names).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Code {
    /// Reads and compiles the expressions of `spec` (field names start with `path`); `preset`
    /// names variables the caller provides before the spec's own.
    pub(crate) fn parse(spec: &Json, path: &str, preset: &[&str], limits: &Limits) -> Result<Code, String> {
        let mut code = Code {
            match_conditions: Vec::new(),
            variables: Vec::new(),
            variable_fields: Vec::new(),
            validations: Vec::new(),
            audit_annotations: Vec::new(),
            failure_policy: match optional_text(spec, "failurePolicy", path)?.as_deref() {
                None | Some("Fail") => FailurePolicy::Fail,
                Some("Ignore") => FailurePolicy::Ignore,
                Some(other) => {
                    return Err(format!(
                        "{path}.failurePolicy {other:?} is neither Fail nor Ignore"
                    ))
                }
            },
        };
        code.parse_variables(spec, path, preset, limits)?;
        for (i, condition) in list(spec, "matchConditions", path)?.iter().enumerate() {
            let item = format!("{path}.matchConditions[{i}]");
            text(condition, "name", &item)?;
            code.match_conditions
                .push(code.checked(field(condition, "expression", &item, limits)?, preset)?);
        }
        for (i, validation) in list(spec, "validations", path)?.iter().enumerate() {
            let item = format!("{path}.validations[{i}]");
            let expression = code.checked(field(validation, "expression", &item, limits)?, preset)?;
            let message_expression = match optional_text(validation, "messageExpression", &item)? {
                Some(_) => {
                    Some(code.checked(field(validation, "messageExpression", &item, limits)?, preset)?)
                }
                None => None,
            };
            code.validations.push(Validation {
                expression,
                message: optional_text(validation, "message", &item)?,
                message_expression,
                reason: optional_text(validation, "reason", &item)?,
            });
        }
        for (i, annotation) in list(spec, "auditAnnotations", path)?.iter().enumerate() {
            let item = format!("{path}.auditAnnotations[{i}]");
            let key = text(annotation, "key", &item)?;
            let value = code.checked(field(annotation, "valueExpression", &item, limits)?, preset)?;
            code.audit_annotations.push((key, value));
        }
        if code.validations.is_empty() && code.audit_annotations.is_empty() {
            return Err(format!(
                "{path}.validations: at least one validation or audit annotation is required"
            ));
        }
        Ok(code)
    }

    fn parse_variables(
        &mut self,
        spec: &Json,
        path: &str,
        preset: &[&str],
        limits: &Limits,
    ) -> Result<(), String> {
        for (i, variable) in list(spec, "variables", path)?.iter().enumerate() {
            let item = format!("{path}.variables[{i}]");
            let name = text(variable, "name", &item)?;
            if !is_identifier(&name) {
                return Err(format!("{item}.name {name:?} is not a valid identifier"));
            }
            if preset.contains(&name.as_str()) || self.variables.iter().any(|v| v.name == name) {
                return Err(format!("{item}.name: variables.{name} is already defined"));
            }
            let field = self.checked(field(variable, "expression", &item, limits)?, preset)?;
            self.variables.push(Variable {
                name,
                program: field.program,
            });
            self.variable_fields.push(field.path);
        }
        Ok(())
    }

    /// Refuses an expression that reads a variable not defined (before it, for a variable).
    fn checked(&self, field: Field, preset: &[&str]) -> Result<Field, String> {
        if let VariableUses::Named(names) = field.program.variables() {
            let known = |name: &str| preset.contains(&name) || self.variables.iter().any(|v| v.name == name);
            if let Some(unknown) = names.iter().find(|name| !known(name)) {
                return Err(format!(
                    "{}: variables.{unknown} is not defined (before it)",
                    field.path
                ));
            }
        }
        Ok(field)
    }

    /// The composited variables, for a [`Session`].
    pub(crate) fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The failure policy.
    pub(crate) fn failure_policy(&self) -> FailurePolicy {
        self.failure_policy
    }

    /// Every compiled field path, in order (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn fields(&self) -> Vec<&str> {
        let conditions = self.match_conditions.iter().map(|f| f.path.as_str());
        let variables = self.variable_fields.iter().map(String::as_str);
        let validations = self.validations.iter().flat_map(|v| {
            std::iter::once(v.expression.path.as_str())
                .chain(v.message_expression.iter().map(|f| f.path.as_str()))
        });
        let annotations = self.audit_annotations.iter().map(|(_, f)| f.path.as_str());
        conditions
            .chain(variables)
            .chain(validations)
            .chain(annotations)
            .collect()
    }

    /// Applies the failure policy to an error: `Err` when it is Fail, `Ok` when Ignore.
    fn fail(&self, failure: Failure) -> Result<(), Failure> {
        match self.failure_policy {
            FailurePolicy::Fail => Err(failure),
            FailurePolicy::Ignore => Ok(()),
        }
    }

    /// Evaluates a field that must give a bool.
    fn boolean(&self, session: &mut Session, field: &Field) -> Result<bool, Failure> {
        match session.run(&field.program) {
            Ok(Value::Bool(value)) => Ok(value),
            Ok(other) => Err(Failure::Error(program::shorten(format!(
                "{}: expected a bool, got {other:?}",
                field.path
            )))),
            Err(Failure::Error(error)) => Err(Failure::Error(format!("{}: {error}", field.path))),
            Err(Failure::TimedOut) => Err(Failure::TimedOut),
        }
    }

    /// Whether every match condition holds. Any false one: no; otherwise an error follows the
    /// failure policy (Ignore: the policy does not apply).
    pub(crate) fn matches(&self, session: &mut Session) -> Result<bool, Failure> {
        let mut error = None;
        for condition in &self.match_conditions {
            match self.boolean(session, condition) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(failure) => error = error.or(Some(failure)),
            }
        }
        match error {
            None => Ok(true),
            Some(failure) => self.fail(failure).map(|()| false),
        }
    }

    /// The validations that fail, in order. An error follows the failure policy (Ignore: that
    /// validation is skipped).
    pub(crate) fn validate(&self, session: &mut Session) -> Result<Vec<Failed>, Failure> {
        let mut failed = Vec::new();
        for validation in &self.validations {
            let passed = match self.boolean(session, &validation.expression) {
                Ok(passed) => passed,
                Err(failure) => {
                    self.fail(failure)?;
                    continue;
                }
            };
            if !passed {
                failed.push(Failed {
                    message: self.message(session, validation),
                    reason: validation.reason.clone().unwrap_or_else(|| "Invalid".into()),
                    expression: validation.expression.program.source().to_string(),
                });
            }
        }
        Ok(failed)
    }

    /// The message of a failed validation: `messageExpression` when it gives a non-empty single
    /// line, else `message`, else Kubernetes' `failed expression: <expression>`.
    fn message(&self, session: &mut Session, validation: &Validation) -> String {
        let evaluated = validation.message_expression.as_ref().and_then(|field| {
            match session.run(&field.program) {
                Ok(Value::String(text)) => Some(text.trim().to_string()),
                Ok(other) => {
                    tracing::debug!(field = %field.path, "messageExpression gave {other:?}, not a string");
                    None
                }
                Err(failure) => {
                    tracing::debug!(field = %field.path, "messageExpression failed: {failure:?}");
                    None
                }
            }
        });
        evaluated
            .filter(|text| !text.is_empty() && !text.contains('\n'))
            .or_else(|| validation.message.clone().filter(|m| !m.trim().is_empty()))
            .unwrap_or_else(|| {
                format!(
                    "failed expression: {}",
                    validation.expression.program.source().trim()
                )
            })
    }

    /// `auditAnnotations` whose value expression gives a string (null and errors are left out,
    /// as Kubernetes leaves them out of the audit event).
    pub(crate) fn audit_annotations(&self, session: &mut Session) -> Map<String, Json> {
        let mut annotations = Map::new();
        for (key, field) in &self.audit_annotations {
            match session.run(&field.program) {
                Ok(Value::String(value)) => {
                    annotations.insert(key.clone(), Json::String(value.to_string()));
                }
                Ok(_) => {}
                Err(failure) => tracing::debug!(field = %field.path, "audit annotation failed: {failure:?}"),
            }
        }
        annotations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cel::program::Budget;
    use serde_json::json;

    fn parse(spec: Json) -> Result<Code, String> {
        Code::parse(&spec, "spec", &[], &Limits::default())
    }

    #[test]
    fn compile_errors_name_the_field() {
        let error =
            parse(json!({"validations": [{"expression": "true"}, {"expression": "object.spec.replicas <"}]}))
                .unwrap_err();
        assert!(error.starts_with("spec.validations[1].expression: "), "{error}");
        let error = parse(json!({"validations": [{"expression": "true", "messageExpression": "'a' +"}]}))
            .unwrap_err();
        assert!(
            error.starts_with("spec.validations[0].messageExpression: "),
            "{error}"
        );
        let error = parse(json!({"variables": [{"name": "a", "expression": "variables.b"}, {"name": "b", "expression": "1"}],
            "validations": [{"expression": "true"}]}))
        .unwrap_err();
        assert!(
            error.contains("spec.variables[0].expression: variables.b is not defined"),
            "{error}"
        );
        assert!(parse(json!({"validations": []}))
            .unwrap_err()
            .contains("at least one"));
        assert!(parse(json!({"failurePolicy": "Maybe", "validations": [{"expression": "true"}]})).is_err());
        let error = parse(json!({"auditAnnotations": [{"key": "k", "valueExpression": "("}]})).unwrap_err();
        assert!(
            error.starts_with("spec.auditAnnotations[0].valueExpression: "),
            "{error}"
        );
    }

    #[test]
    fn every_expression_is_compiled() {
        let code = parse(json!({
            "matchConditions": [{"name": "m", "expression": "true"}],
            "variables": [{"name": "v", "expression": "1"}],
            "validations": [{"expression": "variables.v == 1", "messageExpression": "'x'"}],
            "auditAnnotations": [{"key": "k", "valueExpression": "'v'"}]
        }))
        .unwrap();
        assert_eq!(
            code.fields(),
            [
                "spec.matchConditions[0].expression",
                "spec.variables[0].expression",
                "spec.validations[0].expression",
                "spec.validations[0].messageExpression",
                "spec.auditAnnotations[0].valueExpression"
            ]
        );
    }

    #[test]
    fn messages_fall_back_in_kubernetes_order() {
        let code = parse(json!({"validations": [
            {"expression": "1 > 2", "message": "static", "messageExpression": "'dynamic ' + string(2)"},
            {"expression": "1 > 2", "message": "static", "messageExpression": "1 / 0 == 1 ? 'x' : 'y'"},
            {"expression": "1 > 2", "messageExpression": "''"},
            {"expression": "1 < 2"}
        ]}))
        .unwrap();
        let budget = Budget::start(&Limits::default());
        let mut session = Session::new(&budget, vec![], code.variables(), vec![]);
        let messages: Vec<String> = code
            .validate(&mut session)
            .unwrap()
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(messages, ["dynamic 2", "static", "failed expression: 1 > 2"]);
    }
}
