//! Evaluating a compiled condition against one event, extracting each field at most once
//! and only when the evaluation reaches it.

use super::compile::{Condition, Lit, Node, Slot, Test};
use crate::ast::{CmpOp, FieldExpr, Transformer};
use crate::event::{Event, FieldValue};
use crate::fields::FieldKind;
use base64::Engine as _;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Field values extracted so far in one evaluation: `None` when not yet extracted.
struct Cache<'e> {
    event: &'e dyn Event,
    fields: &'e [FieldExpr],
    values: Vec<Option<Option<FieldValue<'e>>>>,
}

impl<'e> Cache<'e> {
    fn load(&mut self, index: usize) {
        if self.values[index].is_none() {
            let field = &self.fields[index];
            let value = if field.name == "evt.type" && field.arg.is_none() {
                Some(FieldValue::Str(Cow::Borrowed(self.event.event_type())))
            } else {
                self.event.field(field)
            };
            self.values[index] = Some(value);
        }
    }

    /// The slot's value after transformers; the field must have been loaded.
    fn get(&self, slot: &Slot) -> Option<Cow<'_, FieldValue<'e>>> {
        let raw = self.values[slot.index].as_ref()?.as_ref()?;
        if slot.transformers.is_empty() {
            return Some(Cow::Borrowed(raw));
        }
        let mut value = raw.clone();
        for transformer in &slot.transformers {
            value = transform(value, *transformer)?;
        }
        Some(Cow::Owned(value))
    }
}

impl Condition {
    /// True when the event satisfies the condition.
    pub fn matches(&self, event: &dyn Event) -> bool {
        let mut cache = Cache {
            event,
            fields: &self.fields,
            values: vec![None; self.fields.len()],
        };
        eval(&self.root, &mut cache)
    }
}

fn eval(node: &Node, cache: &mut Cache<'_>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|item| eval(item, cache)),
        Node::Or(items) => items.iter().any(|item| eval(item, cache)),
        Node::Not(inner) => !eval(inner, cache),
        Node::Const(b) => *b,
        Node::Exists(slot) => {
            cache.load(slot.index);
            cache.get(slot).is_some_and(|v| has_value(&v))
        }
        Node::Compare { left, test } => {
            cache.load(left.index);
            if let Test::Field(_, right) = test {
                cache.load(right.index);
            }
            let Some(value) = cache.get(left) else {
                return false;
            };
            if !has_value(&value) {
                return false;
            }
            match test {
                Test::Field(op, right) => cache
                    .get(right)
                    .is_some_and(|other| compare_fields(&value, *op, &other)),
                _ => check(&value, left.kind, test),
            }
        }
    }
}

fn has_value(value: &FieldValue<'_>) -> bool {
    !matches!(value, FieldValue::List(items) if items.is_empty())
}

fn transform<'e>(value: FieldValue<'e>, transformer: Transformer) -> Option<FieldValue<'e>> {
    let map_str = |value: FieldValue<'e>, f: &dyn Fn(&str) -> String| match value {
        FieldValue::Str(s) => FieldValue::Str(Cow::Owned(f(&s))),
        FieldValue::List(items) => FieldValue::List(items.iter().map(|s| Cow::Owned(f(s))).collect()),
        other => other,
    };
    Some(match transformer {
        Transformer::Tolower => map_str(value, &|s| s.to_lowercase()),
        Transformer::Toupper => map_str(value, &|s| s.to_uppercase()),
        Transformer::Basename => map_str(value, &|s| basename(s).to_string()),
        Transformer::Len => FieldValue::U64(match &value {
            FieldValue::Str(s) => s.len(),
            FieldValue::List(items) => items.len(),
            FieldValue::Bytes(b) => b.len(),
            _ => return None,
        } as u64),
        Transformer::B64 => {
            let FieldValue::Str(s) = value else {
                return None;
            };
            let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?;
            match String::from_utf8(bytes) {
                Ok(text) => FieldValue::Str(Cow::Owned(text)),
                Err(e) => FieldValue::Bytes(Cow::Owned(e.into_bytes())),
            }
        }
    })
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn check(value: &FieldValue<'_>, kind: FieldKind, test: &Test) -> bool {
    if let FieldValue::List(items) = value {
        return check_list(items, kind, test);
    }
    match test {
        Test::Eq(lit) => equals(value, lit),
        Test::Ne(lit) => !equals(value, lit),
        Test::Order(op, lit) => number(value)
            .zip(lit.num)
            .is_some_and(|(a, b)| ordered(a.cmp(&b), *op)),
        Test::In(lits) | Test::Intersects(lits) => lits.iter().any(|lit| equals(value, lit)),
        Test::BContains(needle) => bytes(value).is_some_and(|b| find(&b, needle)),
        Test::BStartsWith(prefix) => bytes(value).is_some_and(|b| b.starts_with(prefix)),
        _ => text(value).is_some_and(|t| check_text(&t, test)),
    }
}

/// A multi-valued field: `in` on a list-kind field needs every element in the set,
/// `!=` needs no element equal, anything else one element satisfying the test.
fn check_list(items: &[Cow<'_, str>], kind: FieldKind, test: &Test) -> bool {
    match test {
        Test::In(_) if kind == FieldKind::List => items.iter().all(|item| check(&element(item), kind, test)),
        Test::Ne(lit) => !items.iter().any(|item| equals(&element(item), lit)),
        _ => items.iter().any(|item| check(&element(item), kind, test)),
    }
}

fn element(item: &str) -> FieldValue<'_> {
    FieldValue::Str(Cow::Borrowed(item))
}

fn check_text(value: &str, test: &Test) -> bool {
    match test {
        Test::Contains(needle) => value.contains(needle.as_str()),
        Test::IContains(needle) => value.to_lowercase().contains(needle.as_str()),
        Test::StartsWith(prefix) => value.starts_with(prefix.as_str()),
        Test::EndsWith(suffix) => value.ends_with(suffix.as_str()),
        Test::Glob(glob) => glob.is_match(value),
        Test::Regex(regex) => regex.is_match(value),
        Test::PMatch(prefixes) => prefixes.iter().any(|p| path_prefix(p, value)),
        _ => false,
    }
}

/// `/etc` matches `/etc` and `/etc/passwd` but not `/etcx`.
fn path_prefix(prefix: &str, path: &str) -> bool {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn equals(value: &FieldValue<'_>, lit: &Lit) -> bool {
    match value {
        FieldValue::Str(s) => {
            s.as_ref() == lit.text
                || lit
                    .num
                    .is_some_and(|n| s.trim().parse::<i128>().is_ok_and(|v| v == n))
        }
        FieldValue::Ip(ip) => match &lit.net {
            Some(net) => net.contains(*ip),
            None => ip.to_string() == lit.text,
        },
        FieldValue::Bytes(b) => b.as_ref() == lit.text.as_bytes(),
        FieldValue::List(_) => false,
        other => match (number(other), lit.num) {
            (Some(a), Some(b)) => a == b,
            _ => text(other).is_some_and(|t| t == lit.text),
        },
    }
}

fn ordered(ordering: Ordering, op: CmpOp) -> bool {
    match op {
        CmpOp::Lt => ordering.is_lt(),
        CmpOp::Le => ordering.is_le(),
        CmpOp::Gt => ordering.is_gt(),
        CmpOp::Ge => ordering.is_ge(),
        CmpOp::Eq => ordering.is_eq(),
        CmpOp::Ne => ordering.is_ne(),
        _ => false,
    }
}

fn number(value: &FieldValue<'_>) -> Option<i128> {
    match value {
        FieldValue::U64(n) => Some((*n).into()),
        FieldValue::I64(n) => Some((*n).into()),
        FieldValue::Bool(b) => Some((*b).into()),
        FieldValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'v>(value: &'v FieldValue<'_>) -> Option<Cow<'v, str>> {
    Some(match value {
        FieldValue::Str(s) => Cow::Borrowed(s.as_ref()),
        FieldValue::U64(n) => Cow::Owned(n.to_string()),
        FieldValue::I64(n) => Cow::Owned(n.to_string()),
        FieldValue::Bool(b) => Cow::Owned(b.to_string()),
        FieldValue::Ip(ip) => Cow::Owned(ip.to_string()),
        FieldValue::Bytes(b) => String::from_utf8_lossy(b),
        FieldValue::List(items) => Cow::Owned(items.join(" ")),
    })
}

fn bytes<'v>(value: &'v FieldValue<'_>) -> Option<Cow<'v, [u8]>> {
    match value {
        FieldValue::Bytes(b) => Some(Cow::Borrowed(b.as_ref())),
        FieldValue::Str(s) => Some(Cow::Borrowed(s.as_bytes())),
        _ => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `val(other)` comparisons: as numbers when both are numbers, as text otherwise.
fn compare_fields(left: &FieldValue<'_>, op: CmpOp, right: &FieldValue<'_>) -> bool {
    if let (Some(a), Some(b)) = (number(left), number(right)) {
        if matches!(
            op,
            CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge
        ) {
            return ordered(a.cmp(&b), op);
        }
    }
    let (Some(a), Some(b)) = (text(left), text(right)) else {
        return false;
    };
    match op {
        CmpOp::Contains => a.contains(b.as_ref()),
        CmpOp::IContains => a.to_lowercase().contains(&b.to_lowercase()),
        CmpOp::StartsWith => a.starts_with(b.as_ref()),
        CmpOp::EndsWith => a.ends_with(b.as_ref()),
        _ => ordered(a.cmp(&b), op),
    }
}
