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

/// The code a template runs.
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
        input: &ReviewInput,
        parameters: &Parameters,
        inventory: &Inventory,
        limits: &Limits,
        policy: &str,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        match &self.code {
            Code::Cel(cel) => cel.evaluate(input.review, &parameters.json, inventory, limits),
            Code::Rego(rego) => rego.violations(input, &parameters.rego, inventory, limits, policy),
        }
    }
}

/// A review converted for the Rego interpreter once, shared by every constraint that runs on it.
pub(crate) struct ReviewInput<'a> {
    review: &'a Review,
    converted: std::cell::OnceCell<regorus::Value>,
}

impl<'a> ReviewInput<'a> {
    /// Wraps a review; the conversion happens on first use.
    pub(crate) fn new(review: &'a Review) -> ReviewInput<'a> {
        ReviewInput {
            review,
            converted: std::cell::OnceCell::new(),
        }
    }

    fn rego(&self) -> &regorus::Value {
        self.converted
            .get_or_init(|| regorus::Value::from(self.review.to_request_json()))
    }
}

/// A constraint's `spec.parameters`, as JSON for CEL and converted once for Rego.
#[derive(Debug, Clone)]
struct Parameters {
    json: Value,
    rego: regorus::Value,
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
    // A template with both engines runs its Rego: the library keeps the two equivalent, and
    // the bytecode-compiled Rego is several times faster than the CEL evaluation here (about
    // 20 µs against 300 µs for requiredlabels on a two-container pod).
    let has_rego = entry("Rego").is_some() || target.get("rego").is_some();
    if let Some(cel) = entry("K8sNativeValidation").filter(|_| !has_rego) {
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

/// A template's Rego: compiled to the interpreter's bytecode when it can be (several times
/// faster on the library's templates), else run by the tree-walking interpreter, whose engine
/// is cloned for concurrent evaluations.
struct RegoProgram {
    bytecode: Option<std::sync::Arc<regorus::rvm::program::Program>>,
    time_limit: regorus::utils::limits::ExecutionTimerConfig,
    prototype: regorus::Engine,
    /// Engines ready for reuse, each with the id of the inventory its data was loaded from.
    idle: Mutex<Vec<(regorus::Engine, u64)>>,
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
        engine.set_execution_timer_config(time_limit(limits));
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
        let bytecode = bytecode_for(&mut engine, &rule, rego, libs);
        Ok(RegoProgram {
            uses_inventory: rego.contains("data.inventory")
                || libs.iter().any(|l| l.contains("data.inventory")),
            bytecode,
            time_limit: time_limit(limits),
            prototype: engine,
            idle: Mutex::new(Vec::new()),
            rule,
        })
    }

    fn violations(
        &self,
        review: &ReviewInput,
        parameters: &regorus::Value,
        inventory: &Inventory,
        limits: &Limits,
        policy: &str,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        let mut input = regorus::Value::new_object();
        if let Ok(fields) = input.as_object_mut() {
            fields.insert(regorus::Value::from("review"), review.rego().clone());
            fields.insert(regorus::Value::from("parameters"), parameters.clone());
        }
        if let Some(program) = &self.bytecode {
            return self.run_bytecode(program, input, inventory, limits, policy);
        }
        let (mut engine, mut loaded) = self.checkout();
        engine.set_input(input);
        // Reloading data makes the interpreter analyse the modules again, so it is done only
        // when the inventory differs from the one this engine last saw.
        if self.uses_inventory && loaded != inventory.id() {
            engine.clear_data();
            engine
                .add_data(inventory.rego_data().clone())
                .map_err(|err| eval_error(policy, err.to_string(), limits))?;
            loaded = inventory.id();
        }
        let result = engine.eval_rule(self.rule.clone());
        self.checkin(engine, loaded);
        let value = result.map_err(|err| eval_error(policy, err.to_string(), limits))?;
        Ok(read_results(&value))
    }

    fn run_bytecode(
        &self,
        program: &std::sync::Arc<regorus::rvm::program::Program>,
        input: regorus::Value,
        inventory: &Inventory,
        limits: &Limits,
        policy: &str,
    ) -> Result<Vec<(String, Option<Value>)>, EvalError> {
        let mut vm = regorus::rvm::RegoVM::new();
        vm.load_program(program.clone());
        vm.set_execution_timer_config(Some(self.time_limit));
        // The time limit bounds evaluation; the VM's own default budget of 25,000 instructions
        // would fail ordinary library policies on pods with many containers.
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        if self.uses_inventory {
            vm.set_data(inventory.rego_data().clone())
                .map_err(|err| eval_error(policy, err.to_string(), limits))?;
        }
        vm.set_input(input);
        let value = vm
            .execute()
            .map_err(|err| eval_error(policy, err.to_string(), limits))?;
        Ok(read_results(&value))
    }

    fn checkout(&self) -> (regorus::Engine, u64) {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        pooled.unwrap_or_else(|| (self.prototype.clone(), 0))
    }

    fn checkin(&self, engine: regorus::Engine, loaded: u64) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < 64 {
                idle.push((engine, loaded));
            }
        }
    }
}

/// Instruction budget of one bytecode evaluation; the time limit is the real bound.
const MAX_INSTRUCTIONS: usize = 50_000_000;

/// The execution time limit of one evaluation.
fn time_limit(limits: &Limits) -> regorus::utils::limits::ExecutionTimerConfig {
    regorus::utils::limits::ExecutionTimerConfig {
        limit: limits.time,
        check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
    }
}

/// The template compiled to bytecode, or `None` when the bytecode compiler does not support
/// something it uses, or when it relies on OPA's lenient `sprintf` (which only the
/// tree-walking interpreter has, see [`crate::rego_compat`]).
fn bytecode_for(
    engine: &mut regorus::Engine,
    rule: &str,
    rego: &str,
    libs: &[&str],
) -> Option<std::sync::Arc<regorus::rvm::program::Program>> {
    if std::iter::once(rego)
        .chain(libs.iter().copied())
        .any(crate::rego_compat::has_mismatched_sprintf)
    {
        return None;
    }
    let entry: std::sync::Arc<str> = std::sync::Arc::from(rule);
    let compiled = engine.compile_with_entrypoint(&entry).ok()?;
    regorus::languages::rego::compiler::Compiler::compile_from_policy(&compiled, &[rule]).ok()
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
    parameters: Parameters,
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
            parameters: {
                let json = object
                    .pointer("/spec/parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                Parameters {
                    rego: regorus::Value::from(json.clone()),
                    json,
                }
            },
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
        self.evaluate_input(template, &ReviewInput::new(review), inventory, limits)
    }

    /// [`Constraint::evaluate`] with a review already converted for the interpreter.
    pub(crate) fn evaluate_input(
        &self,
        template: &Template,
        input: &ReviewInput,
        inventory: &Inventory,
        limits: &Limits,
    ) -> Result<Vec<Violation>, EvalError> {
        if !self.matcher.matches(input.review, inventory) {
            return Ok(Vec::new());
        }
        let policy = self.label();
        let results = template.run(input, &self.parameters, inventory, limits, &policy)?;
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
