//! Checking a resolved expression against the field catalogue and turning it into a tree
//! that evaluates quickly: numbers parsed, patterns compiled, fields numbered for caching.

use super::eval::{self, Source};
use super::{evttype, CompileError};
use crate::ast::{CmpOp, Expr, FieldExpr, Operand, Transformer};
use crate::fields::{self, FieldKind};
use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};
use rustc_hash::FxHashSet;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Largest compiled size of a `regex` pattern, so that a hostile pattern is refused
/// instead of using unbounded memory (matching is linear-time in the `regex` crate).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled condition, ready to match events.
#[derive(Debug, Clone)]
pub struct Condition {
    pub(super) root: Node,
    /// Distinct fields read (name and argument, no transformers), in first-use order.
    pub(super) fields: Vec<FieldExpr>,
    pub(super) types: Option<BTreeSet<String>>,
    /// Where each of `fields` is read from, for standalone evaluation.
    pub(super) sources: Vec<Source>,
    /// The identity map from `fields` to `sources`.
    pub(super) own_slots: Vec<u32>,
}

impl Condition {
    /// The event types this condition can match, or `None` when it may match any type.
    /// An empty set means it can match no event.
    pub fn event_types(&self) -> Option<BTreeSet<String>> {
        self.types.clone()
    }

    /// The distinct fields the condition reads (name and argument, without transformers),
    /// including those in `val(…)`, in order of first use.
    pub fn fields_used(&self) -> &[FieldExpr] {
        &self.fields
    }

    /// The condition for events of type `event_type` only: its `evt.type` tests (without
    /// transformers) replaced by their outcome and the constants folded away. It matches
    /// an event of that type exactly when `self` does.
    pub(crate) fn for_event_type(&self, event_type: &str) -> Condition {
        Condition {
            root: self.fold_event_type(&self.root, event_type),
            ..self.clone()
        }
    }

    fn fold_event_type(&self, node: &Node, event_type: &str) -> Node {
        let is_type =
            |slot: &Slot| slot.transformers.is_empty() && self.sources[slot.index] == Source::EventType;
        match node {
            Node::And(items) => self.fold_items(items, event_type, true),
            Node::Or(items) => self.fold_items(items, event_type, false),
            Node::Not(inner) => match self.fold_event_type(inner, event_type) {
                Node::Const(b) => Node::Const(!b),
                other => Node::Not(Box::new(other)),
            },
            Node::Exists(slot) if is_type(slot) => Node::Const(true),
            Node::Compare { left, test } if is_type(left) && !matches!(test, Test::Field(..)) => {
                Node::Const(eval::check_event_type(event_type, left.kind, test))
            }
            other => other.clone(),
        }
    }

    /// Folds the operands of `and` (`all`) or `or`: operands equal to the neutral
    /// constant go, one equal to the other constant decides.
    fn fold_items(&self, items: &[Node], event_type: &str, all: bool) -> Node {
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            match self.fold_event_type(item, event_type) {
                Node::Const(b) if b == all => {}
                Node::Const(b) => return Node::Const(b),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => Node::Const(all),
            1 => kept.pop().unwrap_or(Node::Const(all)),
            _ if all => Node::And(kept),
            _ => Node::Or(kept),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    Exists(Slot),
    Compare { left: Slot, test: Test },
}

/// A field as the evaluator reads it: its cache index, transformers and kinds.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) index: usize,
    pub(super) transformers: Vec<Transformer>,
    /// The kind after transformers.
    pub(super) kind: FieldKind,
}

#[derive(Debug, Clone)]
pub(super) enum Test {
    Eq(Lit),
    Ne(Lit),
    Order(CmpOp, Lit),
    Contains(String),
    IContains(String),
    StartsWith(String),
    EndsWith(String),
    BContains(Vec<u8>),
    BStartsWith(Vec<u8>),
    Glob(Box<GlobMatcher>),
    Regex(Box<Regex>),
    PMatch(Prefixes),
    In(LitSet),
    Intersects(LitSet),
    Field(CmpOp, Slot),
}

/// Lists at least this long are looked up by hash rather than scanned.
const HASHED_LIST_MIN: usize = 4;

/// The values of an `in` or `intersects` list, with a hash set of their texts when a text
/// value can be looked up in it exactly (the list is long, and no item also reads as a
/// number, which would make `"010"` equal `10`).
#[derive(Debug, Clone)]
pub(super) struct LitSet {
    pub(super) lits: Vec<Lit>,
    pub(super) texts: Option<FxHashSet<String>>,
}

impl LitSet {
    fn new(lits: Vec<Lit>) -> LitSet {
        let exact = lits.len() >= HASHED_LIST_MIN && lits.iter().all(|lit| lit.num.is_none());
        let texts = exact.then(|| lits.iter().map(|lit| lit.text.clone()).collect());
        LitSet { lits, texts }
    }
}

/// The prefixes of a `pmatch` list, without their trailing `/`, and as a hash set when the
/// list is long (a path is then checked by looking up each of its ancestors).
#[derive(Debug, Clone)]
pub(super) struct Prefixes {
    pub(super) list: Vec<String>,
    pub(super) set: Option<FxHashSet<String>>,
}

impl Prefixes {
    fn new(items: &[String]) -> Prefixes {
        let list: Vec<String> = items
            .iter()
            .map(|item| item.strip_suffix('/').unwrap_or(item).to_string())
            .collect();
        let set = (list.len() >= HASHED_LIST_MIN).then(|| list.iter().cloned().collect());
        Prefixes { list, set }
    }
}

/// A literal value with its readings for the field's kind.
#[derive(Debug, Clone)]
pub(super) struct Lit {
    pub(super) text: String,
    pub(super) num: Option<i128>,
    pub(super) net: Option<Net>,
}

/// An IP network: an address and a prefix length (a lone address is a full-length prefix).
#[derive(Debug, Clone, Copy)]
pub(super) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, or the IPv6 equivalents. Written by hand because it
    /// is a few lines and no network-types crate is a dependency.
    fn parse(text: &str) -> Option<Net> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Net { addr, prefix })
    }

    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        let (net, ip, width) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.prefix);
        shift >= 128 || (net >> shift) == (ip >> shift)
    }
}

fn err(message: String) -> CompileError {
    CompileError { message }
}

pub(super) fn compile(expr: &Expr) -> Result<Condition, CompileError> {
    let mut compiler = Compiler { fields: Vec::new() };
    let root = compiler.node(expr)?;
    let types = evttype::may_match(expr).0.finite();
    let sources = compiler.fields.iter().map(Source::of).collect();
    let own_slots = (0..compiler.fields.len() as u32).collect();
    Ok(Condition {
        root,
        fields: compiler.fields,
        types,
        sources,
        own_slots,
    })
}

struct Compiler {
    fields: Vec<FieldExpr>,
}

impl Compiler {
    fn node(&mut self, expr: &Expr) -> Result<Node, CompileError> {
        Ok(match expr {
            Expr::And(items) => Node::And(self.nodes(items)?),
            Expr::Or(items) => Node::Or(self.nodes(items)?),
            Expr::Not(inner) => Node::Not(Box::new(self.node(inner)?)),
            Expr::Bool(b) => Node::Const(*b),
            Expr::Exists(field) => Node::Exists(self.slot(field)?),
            Expr::Macro(name) => return Err(err(format!("`{name}` is not a known macro or field"))),
            Expr::Compare { field, op, value } => {
                let left = self.slot(field)?;
                let test = self.test(&left, field, *op, value)?;
                Node::Compare { left, test }
            }
        })
    }

    fn nodes(&mut self, items: &[Expr]) -> Result<Vec<Node>, CompileError> {
        items.iter().map(|item| self.node(item)).collect()
    }

    /// Checks the field against the catalogue and gives it a cache index.
    fn slot(&mut self, field: &FieldExpr) -> Result<Slot, CompileError> {
        let info =
            fields::lookup(&field.name).ok_or_else(|| err(format!("unknown field `{}`", field.name)))?;
        check_arg(info, field)?;
        let kind = field
            .transformers
            .iter()
            .try_fold(info.kind, |kind, t| transformed_kind(&field.name, kind, *t))?;
        let raw = FieldExpr {
            name: field.name.clone(),
            arg: field.arg.clone(),
            transformers: Vec::new(),
        };
        let index = match self.fields.iter().position(|f| *f == raw) {
            Some(index) => index,
            None => {
                self.fields.push(raw);
                self.fields.len() - 1
            }
        };
        Ok(Slot {
            index,
            transformers: field.transformers.clone(),
            kind,
        })
    }

    fn test(
        &mut self,
        left: &Slot,
        field: &FieldExpr,
        op: CmpOp,
        value: &Operand,
    ) -> Result<Test, CompileError> {
        check_op(&field.name, left.kind, op)?;
        let items = match value {
            Operand::Field(other) => return self.field_test(field, op, other),
            Operand::Value(v) => std::slice::from_ref(v),
            Operand::List(items) if is_list_op(op) => items.as_slice(),
            Operand::List(_) => {
                return Err(err(format!(
                    "`{}` takes a single value, not a list, after `{}`",
                    op_name(op),
                    field.name
                )))
            }
        };
        if !is_list_op(op) {
            return single_test(&field.name, left.kind, op, &items[0]);
        }
        let lits = || -> Result<Vec<Lit>, CompileError> {
            items
                .iter()
                .map(|item| lit(&field.name, left.kind, item))
                .collect()
        };
        Ok(match op {
            CmpOp::PMatch => Test::PMatch(Prefixes::new(items)),
            CmpOp::In => Test::In(LitSet::new(lits()?)),
            _ => Test::Intersects(LitSet::new(lits()?)),
        })
    }

    fn field_test(&mut self, field: &FieldExpr, op: CmpOp, other: &FieldExpr) -> Result<Test, CompileError> {
        use CmpOp::*;
        if !matches!(
            op,
            Eq | Ne | Lt | Le | Gt | Ge | Contains | IContains | StartsWith | EndsWith
        ) {
            return Err(err(format!(
                "`{}` cannot compare `{}` with another field (`val({})`)",
                op_name(op),
                field.name,
                other.name
            )));
        }
        Ok(Test::Field(op, self.slot(other)?))
    }
}

fn is_list_op(op: CmpOp) -> bool {
    matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::PMatch)
}

fn check_arg(info: &fields::FieldInfo, field: &FieldExpr) -> Result<(), CompileError> {
    let name = &field.name;
    match &field.arg {
        None if info.arg.is_required() => Err(err(format!(
            "field `{name}` needs an argument, such as `{name}[…]`"
        ))),
        Some(arg) if !info.arg.is_allowed() => Err(err(format!(
            "field `{name}` takes no argument, but was given `{arg}`"
        ))),
        Some(arg)
            if matches!(info.arg, fields::ArgKind::Index | fields::ArgKind::OptionalIndex)
                && arg.parse::<usize>().is_err() =>
        {
            Err(err(format!(
                "field `{name}` takes a number as argument, not `{arg}`"
            )))
        }
        _ => Ok(()),
    }
}

fn transformed_kind(
    name: &str,
    kind: FieldKind,
    transformer: Transformer,
) -> Result<FieldKind, CompileError> {
    let textual = matches!(kind, FieldKind::Str | FieldKind::Dyn | FieldKind::List);
    match transformer {
        Transformer::Len if textual || kind == FieldKind::Bytes => Ok(FieldKind::U64),
        Transformer::B64 if textual => Ok(FieldKind::Str),
        Transformer::Tolower | Transformer::Toupper | Transformer::Basename if textual => Ok(kind),
        _ => Err(err(format!(
            "transformer `{transformer:?}` does not apply to field `{name}` of kind {kind:?}"
        ))),
    }
}

/// Rejects operators that make no sense for the field's kind.
fn check_op(name: &str, kind: FieldKind, op: CmpOp) -> Result<(), CompileError> {
    use CmpOp::*;
    use FieldKind::*;
    let textual = matches!(kind, Str | Dyn | List);
    let ok = match op {
        Eq | Ne | In | Intersects => true,
        Lt | Le | Gt | Ge => kind.is_numeric() || kind == Dyn,
        Contains | IContains | StartsWith | EndsWith | Glob | IGlob | Regex | PMatch => textual,
        BContains | BStartsWith => matches!(kind, Bytes | Str | Dyn),
    };
    if ok {
        return Ok(());
    }
    Err(err(format!(
        "operator `{}` does not apply to field `{name}` of kind {kind:?}",
        op_name(op)
    )))
}

fn single_test(name: &str, kind: FieldKind, op: CmpOp, value: &str) -> Result<Test, CompileError> {
    use CmpOp::*;
    Ok(match op {
        Eq => Test::Eq(lit(name, kind, value)?),
        Ne => Test::Ne(lit(name, kind, value)?),
        Lt | Le | Gt | Ge => {
            let lit = lit(name, kind, value)?;
            if lit.num.is_none() {
                return Err(err(format!(
                    "`{}` on field `{name}` needs a number, not `{value}`",
                    op_name(op)
                )));
            }
            Test::Order(op, lit)
        }
        Contains => Test::Contains(value.to_string()),
        IContains => Test::IContains(value.to_lowercase()),
        StartsWith => Test::StartsWith(value.to_string()),
        EndsWith => Test::EndsWith(value.to_string()),
        BContains => Test::BContains(hex(name, value)?),
        BStartsWith => Test::BStartsWith(hex(name, value)?),
        Glob | IGlob => Test::Glob(Box::new(glob(name, value, op == IGlob)?)),
        Regex => Test::Regex(Box::new(regex(name, value)?)),
        PMatch | In | Intersects => unreachable_list_op(op)?,
    })
}

/// List operators are handled by the caller; reaching here is an internal mistake,
/// reported as an error rather than a panic.
fn unreachable_list_op(op: CmpOp) -> Result<Test, CompileError> {
    Err(err(format!("internal: `{}` is a list operator", op_name(op))))
}

/// Reads a value for a field of `kind`: numbers and addresses must parse.
fn lit(name: &str, kind: FieldKind, value: &str) -> Result<Lit, CompileError> {
    let bad = |what: &str| err(format!("field `{name}` needs {what}, not `{value}`"));
    let mut lit = Lit {
        text: value.to_string(),
        num: None,
        net: None,
    };
    match kind {
        FieldKind::U64 | FieldKind::Duration | FieldKind::AbsTime => {
            lit.num = Some(value.trim().parse::<u64>().map_err(|_| bad("a number"))?.into());
        }
        FieldKind::I64 => {
            lit.num = Some(value.trim().parse::<i64>().map_err(|_| bad("a number"))?.into());
        }
        FieldKind::Bool => {
            lit.num = Some(match value {
                "true" => 1,
                "false" => 0,
                _ => return Err(bad("`true` or `false`")),
            });
        }
        FieldKind::Ip | FieldKind::IpNet => {
            lit.net = Some(Net::parse(value).ok_or_else(|| bad("an IP address or network"))?);
        }
        FieldKind::Dyn => lit.num = value.trim().parse::<i128>().ok(),
        FieldKind::Str | FieldKind::List | FieldKind::Bytes => {}
    }
    Ok(lit)
}

fn hex(name: &str, value: &str) -> Result<Vec<u8>, CompileError> {
    let bad = || err(format!("`{value}` is not hex bytes (for field `{name}`)"));
    if !value.len().is_multiple_of(2) || !value.is_ascii() {
        return Err(bad());
    }
    (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).map_err(|_| bad()))
        .collect()
}

fn glob(name: &str, pattern: &str, case_insensitive: bool) -> Result<GlobMatcher, CompileError> {
    GlobBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| err(format!("bad glob `{pattern}` for field `{name}`: {e}")))
}

/// The pattern must match the whole value, as with libsinsp's `regex`.
fn regex(name: &str, pattern: &str) -> Result<Regex, CompileError> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| err(format!("bad regex `{pattern}` for field `{name}`: {e}")))
}

pub(super) fn op_name(op: CmpOp) -> &'static str {
    use CmpOp::*;
    match op {
        Eq => "=",
        Ne => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        Contains => "contains",
        IContains => "icontains",
        BContains => "bcontains",
        StartsWith => "startswith",
        BStartsWith => "bstartswith",
        EndsWith => "endswith",
        Glob => "glob",
        IGlob => "iglob",
        PMatch => "pmatch",
        In => "in",
        Intersects => "intersects",
        Regex => "regex",
    }
}
