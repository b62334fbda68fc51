//! Compiling one CEL expression, and running it within a time and size budget.
//!
//! Parsing and interpreting are the `cel` crate's (re-exported by `kube-cel`). The crate has no
//! cost limit and no way to interrupt an evaluation, so this module adds both around it:
//!
//! - Before parsing, the number of characters that can start an operator bounds how deep the
//!   syntax tree can be; the parser runs on a thread with a large stack, and a tree deeper than
//!   [`MAX_DEPTH`] is refused. Both interpreter and parser recurse once per level, so an
//!   expression such as `1 + 1 + … + 1` would otherwise overflow the caller's stack.
//! - The tree is then rewritten: every comprehension (`all`, `exists`, `map`, `filter`, …) checks
//!   the deadline on each iteration, and every function call and `+` passes its result through a
//!   check of the deadline and of the result's size (so `'a'.replace('a', 'aaaa')` nested, or
//!   strings doubled in a loop, stop instead of exhausting memory).
//! - `x.?field` is evaluated here: the interpreter gives an error for a missing field of a map
//!   and a nested optional for a missing field of an optional, where CEL wants `optional.none()`.
//! - Struct literals (`Type{field: 1}`), which the interpreter does not implement (it panics),
//!   are refused at compile time.

use crate::Limits;
use kube_cel::cel::common::ast::{operators, EntryExpr, Expr, IdedExpr, LiteralValue};
use kube_cel::cel::objects::{Key, Map, OptionalValue};
use kube_cel::cel::{self, Context, ExecutionError, Value};
use kube_cel::KubeCelExt;
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Deepest syntax tree accepted (the parser alone limits parentheses to 96 levels, not chains
/// of operators). Real policies stay far below it.
pub(crate) const MAX_DEPTH: usize = 200;

/// Most characters that may start an operator, a selection, an index, a call or a literal list
/// or map in one expression; each level of the syntax tree needs at least one of them, so this
/// bounds the depth the parser has to go through before [`MAX_DEPTH`] is checked.
const MAX_OPERATOR_CHARS: usize = 16_384;

/// Characters counted against [`MAX_OPERATOR_CHARS`].
const OPERATOR_CHARS: &[char] = &[
    '+', '-', '*', '/', '%', '<', '>', '=', '!', '&', '|', '?', ':', '.', '[', '(', '{', ',',
];

/// Stack of the parser thread: [`MAX_OPERATOR_CHARS`] levels of recursion need about 16 MiB in
/// a debug build.
const PARSER_STACK_BYTES: usize = 64 << 20;

/// Longest error message kept: the interpreter's errors can print whole values.
const MAX_ERROR_CHARS: usize = 400;

/// The function every guarded call's result goes through.
const GUARD: &str = "@moat_guard";
/// The function each comprehension iteration calls.
const TICK: &str = "@moat_tick";
/// The function that implements `x.?field`.
const OPTIONAL_SELECT: &str = "@moat_optional_select";

/// One compiled expression.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    source: String,
    ast: IdedExpr,
    variables: VariableUses,
    uses_authorizer: bool,
}

/// Which composited variables (`variables.<name>`) an expression reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VariableUses {
    /// These, by name.
    Named(BTreeSet<String>),
    /// Any of them (`variables` used other than as `variables.name` or `variables['name']`).
    All,
}

impl Program {
    /// The expression as written.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The composited variables it reads.
    pub(crate) fn variables(&self) -> &VariableUses {
        &self.variables
    }

    /// Whether it uses `authorizer`, which only the API server can provide.
    pub(crate) fn uses_authorizer(&self) -> bool {
        self.uses_authorizer
    }

    /// Runs it against `context` (built by [`context`] with the budget in force). A panic in the
    /// interpreter becomes an error.
    pub(crate) fn execute(&self, context: &Context) -> Result<Value, String> {
        let run = std::panic::AssertUnwindSafe(|| Value::resolve(&self.ast, context));
        match std::panic::catch_unwind(run) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(shorten(err.to_string())),
            Err(_) => Err("the CEL interpreter failed on this expression".into()),
        }
    }
}

/// Compiles `source`, refusing it when it is longer than `limits.max_source_bytes`, too deep,
/// or uses what the interpreter cannot run. The error is the reason, without a field name.
pub(crate) fn compile(source: &str, limits: &Limits) -> Result<Program, String> {
    if source.len() > limits.max_source_bytes {
        return Err(format!(
            "the expression is {} bytes long, more than the limit of {} bytes",
            source.len(),
            limits.max_source_bytes
        ));
    }
    let operators = source.chars().filter(|c| OPERATOR_CHARS.contains(c)).count();
    if operators > MAX_OPERATOR_CHARS {
        return Err(format!(
            "the expression has {operators} operator characters, more than the limit of {MAX_OPERATOR_CHARS}"
        ));
    }
    let source = source.to_string();
    std::thread::Builder::new()
        .name("cel-parser".into())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || compile_here(source))
        .map_err(|err| format!("cannot start the CEL parser: {err}"))?
        .join()
        .unwrap_or_else(|_| Err("the CEL parser failed on this expression".into()))
}

/// Parses, checks and rewrites on the current thread (which has a large stack).
fn compile_here(source: String) -> Result<Program, String> {
    let ast = cel::parser::Parser::new()
        .enable_optional_syntax(true)
        .parse(&source)
        .map_err(|err| shorten(err.to_string()))?;
    let depth = depth(&ast);
    if depth > MAX_DEPTH {
        return Err(format!(
            "the expression nests {depth} levels deep, more than the limit of {MAX_DEPTH}"
        ));
    }
    check_supported(&ast)?;
    let mut uses = Uses::default();
    uses.collect(&ast, &mut Vec::new());
    if let Some(unknown) = uses.unknown {
        return Err(format!(
            "undeclared reference to {unknown:?} (the variables are object, oldObject, request, params, \
             namespaceObject, variables and authorizer)"
        ));
    }
    Ok(Program {
        source,
        ast: guard(ast),
        variables: if uses.all_variables {
            VariableUses::All
        } else {
            VariableUses::Named(uses.variables)
        },
        uses_authorizer: uses.authorizer,
    })
}

/// The direct sub-expressions of `expr`.
fn children(expr: &IdedExpr) -> Vec<&IdedExpr> {
    match &expr.expr {
        Expr::Call(call) => call.target.iter().map(|t| t.as_ref()).chain(&call.args).collect(),
        Expr::Comprehension(c) => {
            vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result]
        }
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(|e| entry_children(&e.expr)).collect(),
        Expr::Struct(st) => st.entries.iter().flat_map(|e| entry_children(&e.expr)).collect(),
        Expr::Select(select) => vec![select.operand.as_ref()],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn entry_children(entry: &EntryExpr) -> Vec<&IdedExpr> {
    match entry {
        EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
        EntryExpr::StructField(f) => vec![&f.value],
    }
}

/// Depth of the tree (recursive: only called on the parser thread).
fn depth(expr: &IdedExpr) -> usize {
    1 + children(expr).into_iter().map(depth).max().unwrap_or(0)
}

/// Refuses what the interpreter does not implement.
fn check_supported(expr: &IdedExpr) -> Result<(), String> {
    match &expr.expr {
        Expr::Struct(st) => Err(format!(
            "message construction ({}{{…}}) is not supported",
            st.type_name
        )),
        Expr::Unspecified => Err("the expression has an empty part".into()),
        _ => children(expr).into_iter().try_for_each(check_supported),
    }
}

/// The identifiers an admission policy expression may use besides those its comprehensions
/// bind: the variables, and type names.
const KNOWN_IDENTIFIERS: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "variables",
    "authorizer",
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

/// What an expression refers to among the names that need care.
#[derive(Default)]
struct Uses {
    variables: BTreeSet<String>,
    all_variables: bool,
    authorizer: bool,
    unknown: Option<String>,
}

impl Uses {
    /// Walks `expr`; `bound` holds the names comprehensions bind around it.
    fn collect(&mut self, expr: &IdedExpr, bound: &mut Vec<String>) {
        if let Some(name) = variable_reference(expr) {
            self.variables.insert(name.to_string());
            return;
        }
        match &expr.expr {
            Expr::Ident(name) if bound.contains(name) => {}
            Expr::Ident(name) if name == "variables" => self.all_variables = true,
            Expr::Ident(name) if name == "authorizer" => self.authorizer = true,
            Expr::Ident(name) if !KNOWN_IDENTIFIERS.contains(&name.as_str()) => {
                self.unknown.get_or_insert_with(|| name.clone());
            }
            // The target of `sets.contains(…)`, `math.greatest(…)`: a namespace, or a value.
            Expr::Call(call) if target_identifier(call).is_some() => {
                match target_identifier(call) {
                    Some("variables") => self.all_variables = true,
                    Some("authorizer") => self.authorizer = true,
                    _ => {}
                }
                call.args.iter().for_each(|arg| self.collect(arg, bound));
            }
            Expr::Comprehension(c) => {
                self.collect(&c.iter_range, bound);
                self.collect(&c.accu_init, bound);
                let names = [Some(&c.iter_var), c.iter_var2.as_ref(), Some(&c.accu_var)];
                let before = bound.len();
                bound.extend(names.into_iter().flatten().cloned());
                for part in [&c.loop_cond, &c.loop_step, &c.result] {
                    self.collect(part, bound);
                }
                bound.truncate(before);
            }
            _ => children(expr)
                .into_iter()
                .for_each(|child| self.collect(child, bound)),
        }
    }
}

/// The identifier a method is called on (`sets` in `sets.contains(…)`), if it is one.
fn target_identifier(call: &cel::common::ast::CallExpr) -> Option<&str> {
    match call.target.as_deref().map(|target| &target.expr) {
        Some(Expr::Ident(name)) => Some(name),
        _ => None,
    }
}

/// `variables.name`, `has(variables.name)`, `variables['name']` or `variables[?'name']`.
fn variable_reference(expr: &IdedExpr) -> Option<&str> {
    let is_variables = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == "variables");
    match &expr.expr {
        Expr::Select(select) if is_variables(&select.operand) => Some(select.field.as_str()),
        Expr::Call(call)
            if (call.func_name == operators::INDEX || call.func_name == operators::OPT_INDEX)
                && call.args.len() == 2
                && is_variables(&call.args[0]) =>
        {
            match &call.args[1].expr {
                Expr::Literal(LiteralValue::String(name)) => Some(name.inner()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Rewrites the tree so that comprehensions tick and function results are checked.
fn guard(expr: IdedExpr) -> IdedExpr {
    let id = expr.id;
    let rewritten = match expr.expr {
        Expr::Call(mut call) => {
            call.target = call.target.map(|target| Box::new(guard(*target)));
            call.args = call.args.into_iter().map(guard).collect();
            if call.func_name == operators::OPT_SELECT {
                call.func_name = OPTIONAL_SELECT.to_string();
            }
            let checked = call.func_name == operators::ADD
                || call.func_name.starts_with(|c: char| c.is_ascii_alphabetic());
            let call = IdedExpr {
                id,
                expr: Expr::Call(call),
            };
            return if checked { calling(GUARD, vec![call]) } else { call };
        }
        Expr::Comprehension(mut c) => {
            c.iter_range = guard(c.iter_range);
            c.accu_init = guard(c.accu_init);
            c.loop_step = guard(c.loop_step);
            c.result = guard(c.result);
            let condition = guard(std::mem::take(&mut c.loop_cond));
            c.loop_cond = calling(operators::LOGICAL_AND, vec![condition, calling(TICK, Vec::new())]);
            Expr::Comprehension(c)
        }
        Expr::List(mut list) => {
            list.elements = list.elements.into_iter().map(guard).collect();
            Expr::List(list)
        }
        Expr::Map(mut map) => {
            for entry in &mut map.entries {
                if let EntryExpr::MapEntry(e) = &mut entry.expr {
                    e.key = guard(std::mem::take(&mut e.key));
                    e.value = guard(std::mem::take(&mut e.value));
                }
            }
            Expr::Map(map)
        }
        Expr::Select(mut select) => {
            select.operand = Box::new(guard(*select.operand));
            Expr::Select(select)
        }
        other => other,
    };
    IdedExpr { id, expr: rewritten }
}

fn calling(function: &str, args: Vec<IdedExpr>) -> IdedExpr {
    IdedExpr {
        id: 0,
        expr: Expr::Call(cel::common::ast::CallExpr {
            func_name: function.to_string(),
            target: None,
            args,
        }),
    }
}

/// What one evaluation (all expressions of a policy against one review) may spend.
#[derive(Debug)]
pub(crate) struct Budget {
    deadline: Option<Instant>,
    max_size: usize,
    timed_out: AtomicBool,
}

impl Budget {
    /// A budget of `limits.time` from now; strings, lists and maps an expression builds may
    /// hold up to `limits.max_object_bytes` bytes or items.
    pub(crate) fn start(limits: &Limits) -> Arc<Budget> {
        Arc::new(Budget {
            deadline: Instant::now().checked_add(limits.time),
            max_size: limits.max_object_bytes,
            timed_out: AtomicBool::new(false),
        })
    }

    /// Whether a check found the deadline passed.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// Whether the deadline has passed; once it has, [`Budget::timed_out`] says so too.
    pub(crate) fn expired(&self) -> bool {
        if self.timed_out() {
            return true;
        }
        let expired = self.deadline.is_some_and(|deadline| Instant::now() > deadline);
        if expired {
            self.timed_out.store(true, Ordering::Relaxed);
        }
        expired
    }

    fn check_time(&self) -> Result<(), ExecutionError> {
        if self.expired() {
            return Err(ExecutionError::function_error(
                "time limit",
                "the evaluation took longer than the time limit",
            ));
        }
        Ok(())
    }

    fn check_size(&self, value: &Value) -> Result<(), ExecutionError> {
        let size = match value {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::List(l) => l.len(),
            Value::Map(m) => m.map.len(),
            _ => 0,
        };
        if size > self.max_size {
            return Err(ExecutionError::function_error(
                "size limit",
                format!(
                    "a value of {size} bytes or items is larger than the limit of {}",
                    self.max_size
                ),
            ));
        }
        Ok(())
    }
}

/// A context with the standard and Kubernetes functions and this budget's checks; the caller
/// adds the variables.
pub(crate) fn context(budget: &Arc<Budget>) -> Context<'static> {
    let mut context = Context::default().with_all();
    let tick = Arc::clone(budget);
    context.add_function(TICK, move || -> Result<bool, ExecutionError> {
        tick.check_time().map(|()| true)
    });
    context.add_function(OPTIONAL_SELECT, optional_select);
    let guard = Arc::clone(budget);
    context.add_function(GUARD, move |value: Value| -> Result<Value, ExecutionError> {
        guard.check_time()?;
        guard.check_size(&value)?;
        Ok(value)
    });
    context
}

/// `operand.?field`: `optional.none()` when the operand is none or has no such field.
fn optional_select(operand: Value, field: Arc<String>) -> Result<Value, ExecutionError> {
    let none = || Value::Opaque(Arc::new(OptionalValue::none()));
    let operand = match &operand {
        Value::Opaque(opaque) => match opaque.downcast_ref::<OptionalValue>() {
            Some(optional) => match optional.value() {
                Some(value) => value.clone(),
                None => return Ok(none()),
            },
            None => operand,
        },
        _ => operand,
    };
    match operand {
        Value::Map(map) => Ok(match map.map.get(&Key::String(field)) {
            Some(value) => Value::Opaque(Arc::new(OptionalValue::of(value.clone()))),
            None => none(),
        }),
        other => Err(ExecutionError::function_error(
            "_?._",
            format!("cannot select a field of {other:?}"),
        )),
    }
}

/// A JSON value as CEL sees it. Written here rather than taken from kube-cel, whose converter
/// is private to its CRD validation and escapes every map key (`app.kubernetes.io/name`
/// becomes `app__dot__kubernetes__dot__io__slash__name`), which is right for CRD properties
/// but wrong for the label and annotation maps admission policies read.
pub(crate) fn to_cel(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Json::Object(map) => {
            let entries: HashMap<Key, Value> = map
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            Value::Map(Map {
                map: Arc::new(entries),
            })
        }
    }
}

/// A CEL map of these named values.
pub(crate) fn cel_map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_string())), v))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

/// Cuts an error message to [`MAX_ERROR_CHARS`] characters.
pub(crate) fn shorten(message: String) -> String {
    if message.chars().count() <= MAX_ERROR_CHARS {
        return message;
    }
    let cut: String = message.chars().take(MAX_ERROR_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn run(source: &str, bindings: &[(&str, Json)]) -> Result<Value, String> {
        let limits = Limits::default();
        let program = compile(source, &limits)?;
        let budget = Budget::start(&limits);
        let mut context = context(&budget);
        for (name, value) in bindings {
            context.add_variable_from_value(*name, to_cel(value));
        }
        program.execute(&context)
    }

    #[test]
    fn map_keys_keep_their_spelling() {
        let object = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web"}, "namespace": "prod"}});
        let bindings = [("object", object)];
        assert_eq!(
            run(
                "object.metadata.labels['app.kubernetes.io/name'] == 'web'",
                &bindings
            ),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            run("'app.kubernetes.io/name' in object.metadata.labels", &bindings),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            run("object.metadata.namespace", &bindings),
            Ok(Value::String(Arc::new("prod".into())))
        );
        let text = |s: &str| Ok(Value::String(Arc::new(s.into())));
        assert_eq!(run("object.?spec.orValue('none')", &bindings), text("none"));
        assert_eq!(
            run("object.?spec.?replicas.orValue('none')", &bindings),
            text("none")
        );
        assert_eq!(
            run("object.metadata.?namespace.orValue('none')", &bindings),
            text("prod")
        );
        assert_eq!(
            run("object.?metadata.?labels.?app.hasValue()", &bindings),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            run("object.metadata.labels[?'x'].orValue('none')", &bindings),
            text("none")
        );
    }

    #[test]
    fn numbers_are_ints_unless_they_must_not_be() {
        let bindings = [("params", json!({"i": 3, "f": 1.5, "u": u64::MAX}))];
        assert_eq!(run("params.i + 1 == 4", &bindings), Ok(Value::Bool(true)));
        assert_eq!(run("params.f", &bindings), Ok(Value::Float(1.5)));
        assert_eq!(run("params.u", &bindings), Ok(Value::UInt(u64::MAX)));
    }

    #[test]
    fn kubernetes_functions_are_available() {
        assert_eq!(
            run("['a', 'b'].join(', ')", &[]),
            Ok(Value::String(Arc::new("a, b".into())))
        );
        assert_eq!(
            run("quantity('1Gi').isGreaterThan(quantity('512Mi'))", &[]),
            Ok(Value::Bool(true))
        );
    }

    #[test]
    fn variable_references_are_collected() {
        let limits = Limits::default();
        let program = compile("variables.a + variables['b'] > 0 && has(variables.c)", &limits).unwrap();
        let names = ["a", "b", "c"].map(String::from).into_iter().collect();
        assert_eq!(program.variables(), &VariableUses::Named(names));
        let program = compile("variables.size() > 0", &limits).unwrap();
        assert_eq!(program.variables(), &VariableUses::All);
        assert!(compile("authorizer.group('').check('x')", &limits)
            .unwrap()
            .uses_authorizer());
        assert!(compile("objet.spec.replicas > 1", &limits)
            .unwrap_err()
            .contains("\"objet\""));
        let bound = "object.spec.containers.all(c, c.ports.exists(p, p.containerPort > 0)) && sets.contains([1], [1])";
        assert!(compile(bound, &limits).is_ok());
        assert!(compile("[1].all(c, c > 0) && c > 0", &limits)
            .unwrap_err()
            .contains("\"c\""));
    }

    #[test]
    fn deep_chains_and_long_sources_are_refused() {
        let limits = Limits::default();
        let chain = vec!["1"; MAX_DEPTH + 10].join(" + ");
        assert!(compile(&chain, &limits).unwrap_err().contains("levels deep"));
        // The deepest chains the operator count lets through reach the parser, on its own stack.
        let longest = vec!["1"; MAX_OPERATOR_CHARS].join("+");
        assert!(compile(&longest, &limits).unwrap_err().contains("levels deep"));
        let selections = format!("object{}", ".a".repeat(MAX_OPERATOR_CHARS));
        assert!(compile(&selections, &limits).unwrap_err().contains("levels deep"));
        let calls = format!("x{}", ".f()".repeat(MAX_OPERATOR_CHARS / 2));
        assert!(compile(&calls, &limits).unwrap_err().contains("levels deep"));
        let indexes = format!("x{}", "[0]".repeat(MAX_OPERATOR_CHARS));
        assert!(compile(&indexes, &limits).unwrap_err().contains("levels deep"));
        let mixed = vec!["a.b[0]"; MAX_OPERATOR_CHARS / 3].join("-");
        assert!(compile(&mixed, &limits).unwrap_err().contains("levels deep"));
        let huge = vec!["1"; MAX_OPERATOR_CHARS + 10].join("+");
        assert!(compile(&huge, &limits)
            .unwrap_err()
            .contains("operator characters"));
        let small = Limits {
            max_source_bytes: 8,
            ..Limits::default()
        };
        assert!(compile("1 + 2 + 3 + 4", &small).unwrap_err().contains("13 bytes"));
        assert!(compile("Pod{name: 'x'}", &limits)
            .unwrap_err()
            .contains("not supported"));
    }

    /// The deepest expressions accepted, of two shapes, run on a 1 MiB stack (half of what
    /// Rust and Tokio give their threads).
    #[test]
    fn the_deepest_accepted_expressions_run_on_a_small_stack() {
        let chain = vec!["'a'.lowerAscii()"; MAX_DEPTH - 5].join(" + ");
        let mut nested = "x >= 0".to_string();
        let mut levels = 0;
        while compile(&format!("[1].all(x, {nested})"), &Limits::default()).is_ok() {
            nested = format!("[1].all(x, {nested})");
            levels += 1;
        }
        assert!(levels > 30, "{levels} nested comprehensions");
        for source in [format!("size({chain}) > 0"), nested] {
            let program = compile(&source, &Limits::default()).unwrap();
            let thread = std::thread::Builder::new().stack_size(1 << 20).spawn(move || {
                let budget = Budget::start(&Limits::default());
                program.execute(&context(&budget))
            });
            assert_eq!(thread.unwrap().join().unwrap(), Ok(Value::Bool(true)));
        }
    }

    #[test]
    fn a_hostile_loop_stops_at_the_deadline() {
        let limits = Limits {
            time: Duration::from_millis(50),
            ..Limits::default()
        };
        let ten = "[0,1,2,3,4,5,6,7,8,9]";
        let source = format!(
            "{ten}.all(a, {ten}.all(b, {ten}.all(c, {ten}.all(d, {ten}.all(e, {ten}.all(f, {ten}.all(g, {ten}.all(h, {ten}.all(i, a + b + c + d + e + f + g + h + i >= 0)))))))))"
        );
        let program = compile(&source, &limits).unwrap();
        let budget = Budget::start(&limits);
        let result = program.execute(&context(&budget));
        assert!(budget.timed_out());
        assert!(result.unwrap_err().contains("time limit"));
    }

    #[test]
    fn growing_strings_stop_at_the_size_limit() {
        let limits = Limits {
            max_object_bytes: 1000,
            ..Limits::default()
        };
        let program = compile(
            "'a'.replace('a', 'aaaaaaaaaa').replace('a', 'aaaaaaaaaa').replace('a', 'aaaaaaaaaa').replace('a', 'aaaaaaaaaa').size() > 0",
            &limits,
        )
        .unwrap();
        let budget = Budget::start(&limits);
        let error = program.execute(&context(&budget)).unwrap_err();
        assert!(error.contains("larger than the limit"), "{error}");
        assert!(!budget.timed_out());
    }
}
