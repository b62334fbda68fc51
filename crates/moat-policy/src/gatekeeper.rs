//! OPA Gatekeeper: `ConstraintTemplate`s (Rego or CEL code) and their constraints.
//!
//! A template compiles once; each constraint of its kind adds `match`, `parameters` and an
//! `enforcementAction`. Rego sees `input.review` (the AdmissionRequest), `input.parameters`
//! and `data.inventory`, as in Gatekeeper; results come from the template's `violation` rule.

use crate::cel::GatekeeperCel;
use crate::matching::Match;
use crate::{Action, EvalError, Inventory, Limits, PolicyError, Review, Violation};
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::Mutex;

/// The admission target every template must have.
const TARGET: &str = "admission.k8s.gatekeeper.sh";
/// The enforcement point a webhook stands for, for `scopedEnforcementActions`.
const ENFORCEMENT_POINTS: [&str; 2] = ["validation.gatekeeper.sh", "*"];

/// A compiled `ConstraintTemplate`.
pub struct Template {
    name: String,
    kind: String,
    code: Code,
}

/// The code a template runs: Gatekeeper prefers its CEL engine when a template has both.
enum Code {
    Cel(Box<GatekeeperCel>),
    Rego(Box<RegoProgram>),
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = match self.code {
            Code::Cel(_) => "cel",
            Code::Rego(_) => "rego",
        };
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("engine", &engine)
            .finish()
    }
}

/// Where a document came from, for errors.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The file.
    pub path: &'a str,
    /// The line the document starts on.
    pub line: u32,
}

impl Origin<'_> {
    fn error(&self, policy: &str, message: impl Into<String>) -> PolicyError {
        PolicyError::new(self.path, self.line, policy, message)
    }
}

impl Template {
    /// Reads and compiles a `ConstraintTemplate` object.
    pub fn from_object(object: &Value, origin: Origin, limits: &Limits) -> Result<Template, PolicyError> {
        let name = text(object, "/metadata/name");
        let label = format!("ConstraintTemplate {name}");
        let kind = text(object, "/spec/crd/spec/names/kind");
        if name.is_empty() || kind.is_empty() {
            return Err(origin.error(&label, "needs metadata.name and spec.crd.spec.names.kind"));
        }
        if name != kind.to_ascii_lowercase() {
            return Err(origin.error(
                &label,
                format!(
                    "metadata.name must be the lower-case kind {:?}",
                    kind.to_ascii_lowercase()
                ),
            ));
        }
        let target = object
            .pointer("/spec/targets")
            .and_then(Value::as_array)
            .and_then(|targets| {
                targets
                    .iter()
                    .find(|t| t.get("target").and_then(Value::as_str) == Some(TARGET))
            })
            .ok_or_else(|| origin.error(&label, format!("no spec.targets entry for {TARGET}")))?;
        let code = template_code(target, &name, limits).map_err(|message| origin.error(&label, message))?;
        Ok(Template { name, kind, code })
    }

    /// `metadata.name` (`k8srequiredlabels`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The constraint kind it defines (`K8sRequiredLabels`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `rego` or `cel`.
    pub fn engine(&self) -> &'static str {
        match self.code {
            Code::Cel(_) => "cel",
            Code::Rego(_) => "rego",
        }
    }

    /// Evaluates one constraint of this template against a review: the (message, details) of
    /// each violation, or an error when the code fails or runs out of time.
    fn run(
        &self,
        review: &Review,
        parameters: &Value,
        inventory: &Inventory,
        limits: &Limits,
        policy: &str,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        match &self.code {
            Code::Cel(cel) => cel.evaluate(review, parameters, inventory, limits),
            Code::Rego(rego) => rego.violations(review, parameters, inventory, limits, policy),
        }
    }
}

fn template_code(target: &Value, name: &str, limits: &Limits) -> Result<Code, String> {
    let code = target.get("code").and_then(Value::as_array);
    let entry = |engine: &str| {
        code.and_then(|entries| {
            entries
                .iter()
                .find(|e| e.get("engine").and_then(Value::as_str) == Some(engine))
        })
    };
    if let Some(cel) = entry("K8sNativeValidation") {
        let source = cel.get("source").unwrap_or(&Value::Null);
        let compiled = GatekeeperCel::from_source(source, name, limits)
            .map_err(|err| format!("K8sNativeValidation: {err}"))?;
        return Ok(Code::Cel(Box::new(compiled)));
    }
    let (source, v1) = match entry("Rego") {
        Some(rego) => {
            let source = rego.get("source").unwrap_or(&Value::Null);
            (
                source,
                source.get("version").and_then(Value::as_str) == Some("v1"),
            )
        }
        None => (target, false),
    };
    let rego = source
        .get("rego")
        .and_then(Value::as_str)
        .ok_or("the template has neither Rego nor K8sNativeValidation code")?;
    let libs: Vec<&str> = source
        .get("libs")
        .and_then(Value::as_array)
        .map(|libs| libs.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    RegoProgram::compile(name, rego, &libs, v1, limits).map(|program| Code::Rego(Box::new(program)))
}

/// A template's Rego, compiled into an engine that is cloned for concurrent evaluations.
struct RegoProgram {
    prototype: regorus::Engine,
    idle: Mutex<Vec<regorus::Engine>>,
    rule: String,
    uses_inventory: bool,
}

impl RegoProgram {
    fn compile(
        name: &str,
        rego: &str,
        libs: &[&str],
        v1: bool,
        limits: &Limits,
    ) -> Result<RegoProgram, String> {
        let total: usize = rego.len() + libs.iter().map(|l| l.len()).sum::<usize>();
        if total > limits.max_source_bytes {
            return Err(format!(
                "the Rego source is {total} bytes, over the limit of {}",
                limits.max_source_bytes
            ));
        }
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(!v1);
        engine.set_strict_builtin_errors(false);
        crate::rego_compat::install_go_sprintf(&mut engine);
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: limits.time,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });
        let package = engine
            .add_policy(format!("{name}.rego"), crate::rego_compat::rewrite(rego))
            .map_err(|err| format!("Rego: {err}"))?;
        for (index, lib) in libs.iter().enumerate() {
            engine
                .add_policy(
                    format!("{name}.lib{index}.rego"),
                    crate::rego_compat::rewrite(lib),
                )
                .map_err(|err| format!("Rego lib {index}: {err}"))?;
        }
        let root = package.strip_prefix("data.").unwrap_or(&package);
        if !engine
            .has_declared_rule_rooted_at(&format!("{name}.rego"), "violation")
            .unwrap_or(false)
        {
            return Err(format!("package {package} has no violation rule"));
        }
        let rule = format!("data.{root}.violation");
        // Evaluate once on an empty review, so compile-time errors (unknown functions, unsafe
        // variables) surface while loading rather than on the first request.
        let mut probe = engine.clone();
        probe.set_input(regorus::Value::from(json!({"review": {}, "parameters": {}})));
        match probe.eval_rule(rule.clone()) {
            Ok(_) => {}
            Err(err) if is_runtime_only(&err.to_string()) => {}
            Err(err) => return Err(format!("Rego: {err}")),
        }
        Ok(RegoProgram {
            uses_inventory: rego.contains("data.inventory")
                || libs.iter().any(|l| l.contains("data.inventory")),
            prototype: engine,
            idle: Mutex::new(Vec::new()),
            rule,
        })
    }

    fn violations(
        &self,
        review: &Review,
        parameters: &Value,
        inventory: &Inventory,
        limits: &Limits,
        policy: &str,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        let mut engine = self.checkout();
        engine.set_input(regorus::Value::from(json!({
            "review": review.to_request_json(),
            "parameters": parameters,
        })));
        if self.uses_inventory {
            engine.clear_data();
            engine
                .add_data(inventory.rego_data().clone())
                .map_err(|err| eval_error(policy, err.to_string(), limits))?;
        }
        let result = engine.eval_rule(self.rule.clone());
        self.checkin(engine);
        let value = result.map_err(|err| eval_error(policy, err.to_string(), limits))?;
        Ok(read_results(&value))
    }

    fn checkout(&self) -> regorus::Engine {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        pooled.unwrap_or_else(|| self.prototype.clone())
    }

    fn checkin(&self, engine: regorus::Engine) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < 64 {
                idle.push(engine);
            }
        }
    }
}

/// Errors that only a real review can avoid (a missing field used arithmetically, say), as
/// opposed to a policy that can never run.
fn is_runtime_only(message: &str) -> bool {
    !(message.contains("unknown function")
        || message.contains("could not find function")
        || message.contains("unsafe var")
        || message.contains("recursion")
        || message.contains("not defined"))
}

fn eval_error(policy: &str, message: String, limits: &Limits) -> EvalError {
    let timed_out = message.contains("time limit") || message.contains("execution timer");
    EvalError {
        policy: policy.to_string(),
        message: if timed_out {
            format!(
                "stopped after the time limit of {} ms: {message}",
                limits.time.as_millis()
            )
        } else {
            message
        },
        timed_out,
    }
}

/// The `{"msg": ..., "details": ...}` entries of a `violation` set, ordered by message.
fn read_results(value: &regorus::Value) -> Vec<(String, Option<Value>)> {
    let Ok(json) = serde_json::to_value(value) else {
        return Vec::new();
    };
    let mut results: Vec<(String, Option<Value>)> = match json {
        Value::Array(items) => items
            .into_iter()
            .map(|item| {
                let message = match item.get("msg") {
                    Some(Value::String(msg)) => msg.clone(),
                    Some(other) => other.to_string(),
                    None => item.to_string(),
                };
                (message, item.get("details").cloned())
            })
            .collect(),
        _ => Vec::new(),
    };
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// A constraint: an instance of a template's kind with `match`, `parameters` and an action.
#[derive(Debug, Clone)]
pub struct Constraint {
    kind: String,
    name: String,
    matcher: Match,
    parameters: Value,
    action: Action,
}

impl Constraint {
    /// Reads a constraint object (`constraints.gatekeeper.sh/*`).
    pub fn from_object(object: &Value, origin: Origin) -> Result<Constraint, PolicyError> {
        let kind = text(object, "/kind");
        let name = text(object, "/metadata/name");
        let label = format!("{kind}/{name}");
        if name.is_empty() {
            return Err(origin.error(&label, "the constraint has no metadata.name"));
        }
        let matcher = Match::parse(object.pointer("/spec/match"))
            .map_err(|message| origin.error(&label, format!("spec.{message}")))?;
        let action = enforcement_action(object).map_err(|message| origin.error(&label, message))?;
        Ok(Constraint {
            kind,
            name,
            matcher,
            parameters: object
                .pointer("/spec/parameters")
                .cloned()
                .unwrap_or_else(|| json!({})),
            action,
        })
    }

    /// The template kind (`K8sRequiredLabels`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `Kind/name`, how violations name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The action its violations carry.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Evaluates the constraint with its template: no violations when it does not match.
    pub fn evaluate(
        &self,
        template: &Template,
        review: &Review,
        inventory: &Inventory,
        limits: &Limits,
    ) -> Result<Vec<Violation>, EvalError> {
        if !self.matcher.matches(review, inventory) {
            return Ok(Vec::new());
        }
        let policy = self.label();
        let results = template.run(review, &self.parameters, inventory, limits, &policy)?;
        Ok(results
            .into_iter()
            .map(|(message, details)| Violation {
                policy: policy.clone(),
                engine: template.engine().to_string(),
                message,
                action: self.action,
                details,
                pointer: None,
            })
            .collect())
    }
}

/// `spec.enforcementAction`: `deny` (the default), `warn`, `dryrun`, or `scoped` with the
/// strongest of the `scopedEnforcementActions` that name the webhook's enforcement point.
fn enforcement_action(object: &Value) -> Result<Action, String> {
    let declared = object
        .pointer("/spec/enforcementAction")
        .and_then(Value::as_str)
        .unwrap_or("deny");
    if declared != "scoped" {
        return Action::parse(declared).ok_or(format!("unknown spec.enforcementAction {declared:?}"));
    }
    let scoped = object
        .pointer("/spec/scopedEnforcementActions")
        .and_then(Value::as_array)
        .ok_or("enforcementAction scoped needs spec.scopedEnforcementActions")?;
    let mut strongest = None;
    for entry in scoped {
        let action = entry.get("action").and_then(Value::as_str).unwrap_or("");
        let action = Action::parse(action).ok_or(format!("unknown scoped action {action:?}"))?;
        let applies = entry
            .get("enforcementPoints")
            .and_then(Value::as_array)
            .is_some_and(|points| {
                points.iter().any(|point| {
                    let name = point.get("name").and_then(Value::as_str).unwrap_or("");
                    ENFORCEMENT_POINTS.contains(&name)
                })
            });
        if applies {
            strongest = Some(strongest.map_or(action, |current: Action| current.min(action)));
        }
    }
    Ok(strongest.unwrap_or(Action::Audit))
}

/// Whether an object is a Gatekeeper constraint.
pub fn is_constraint(object: &Value) -> bool {
    text(object, "/apiVersion").starts_with("constraints.gatekeeper.sh/")
}

/// Whether an object is a ConstraintTemplate.
pub fn is_template(object: &Value) -> bool {
    text(object, "/apiVersion").starts_with("templates.gatekeeper.sh/")
        && text(object, "/kind") == "ConstraintTemplate"
}

fn text(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}
