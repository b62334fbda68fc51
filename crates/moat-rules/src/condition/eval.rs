//! Evaluating a compiled condition against one event, extracting each field at most once
//! and only when the evaluation reaches it.

use super::compile::{Condition, Lit, LitSet, Node, Prefixes, Slot, Test};
use crate::ast::{CmpOp, FieldExpr, Transformer};
use crate::event::{Event, FieldValue};
use crate::fields::FieldKind;
use base64::Engine as _;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Where a field's value comes from, decided once when a condition or ruleset is built
/// (so that evaluation never compares field names).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// `evt.type`: [`Event::event_type`].
    EventType,
    /// Any other field: [`Event::field`].
    Field(FieldExpr),
}

impl Source {
    /// The source of a raw field (name and argument, no transformers).
    pub(crate) fn of(field: &FieldExpr) -> Source {
        if field.name == "evt.type" && field.arg.is_none() {
            Source::EventType
        } else {
            Source::Field(field.clone())
        }
    }
}

/// Memory reused from one event to the next while matching: which field slots have been
/// extracted for the current event, and the buffer their values live in.
///
/// Values borrow from the event, so they are dropped when the event's evaluation ends; only
/// the buffers are kept. One `Scratch` can serve any number of rulesets and conditions.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Per field slot: the epoch it was last extracted in, and its place in `values`.
    loaded: Vec<(u32, u32)>,
    /// The current event's number; slots stamped with another epoch are not loaded.
    epoch: u32,
    /// The value buffer, always empty between events.
    values: Vec<Option<FieldValue<'static>>>,
}

impl Scratch {
    /// A scratch with no buffers yet.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Starts one event's evaluation over the field slots `sources`.
    pub(crate) fn begin<'e, 's>(
        &'s mut self,
        event: &'e dyn Event,
        sources: &'s [Source],
    ) -> EventCache<'e, 's> {
        if self.loaded.len() < sources.len() {
            self.loaded.resize(sources.len(), (0, 0));
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.loaded.fill((0, 0));
            self.epoch = 1;
        }
        let values = recycle(std::mem::take(&mut self.values));
        EventCache {
            event,
            sources,
            scratch: self,
            values,
        }
    }
}

/// Empties `values` and gives its allocation a new lifetime. Standard library collection
/// of a mapped `into_iter` reuses the allocation when the element layout is the same, so
/// this does not allocate: it is how the buffer survives events without unsafe code.
fn recycle<'a, 'b>(mut values: Vec<Option<FieldValue<'a>>>) -> Vec<Option<FieldValue<'b>>> {
    values.clear();
    values.into_iter().map(|_| None).collect()
}

/// The fields extracted from one event so far, shared by every condition evaluated on it.
pub(crate) struct EventCache<'e, 's> {
    event: &'e dyn Event,
    sources: &'s [Source],
    scratch: &'s mut Scratch,
    values: Vec<Option<FieldValue<'e>>>,
}

impl<'e> EventCache<'e, '_> {
    /// Extracts slot `slot` unless it already was for this event.
    fn load(&mut self, slot: usize) {
        let epoch = self.scratch.epoch;
        if self.scratch.loaded[slot].0 == epoch {
            return;
        }
        let value = match &self.sources[slot] {
            Source::EventType => Some(FieldValue::Str(Cow::Borrowed(self.event.event_type()))),
            Source::Field(field) => self.event.field(field),
        };
        self.scratch.loaded[slot] = (epoch, self.values.len() as u32);
        self.values.push(value);
    }

    /// The value of a loaded slot (`None` when the event has none).
    fn value(&self, slot: usize) -> Option<&FieldValue<'e>> {
        let place = self.scratch.loaded[slot].1 as usize;
        self.values[place].as_ref()
    }
}

impl Drop for EventCache<'_, '_> {
    fn drop(&mut self) {
        self.scratch.values = recycle(std::mem::take(&mut self.values));
    }
}

/// One condition's view of the event cache: its field indexes mapped to shared slots.
struct Cache<'c, 'e, 's> {
    shared: &'c mut EventCache<'e, 's>,
    slots: &'c [u32],
}

impl<'e> Cache<'_, 'e, '_> {
    fn load(&mut self, index: usize) {
        self.shared.load(self.slots[index] as usize);
    }

    /// Calls `f` with the slot's value after transformers (`None` when it has no value);
    /// the field must have been loaded. Untransformed values are not copied.
    fn with_value<R>(&self, slot: &Slot, f: impl FnOnce(&FieldValue<'e>) -> R) -> Option<R> {
        let raw = self.shared.value(self.slots[slot.index] as usize)?;
        if slot.transformers.is_empty() {
            return Some(f(raw));
        }
        let mut value = raw.clone();
        for transformer in &slot.transformers {
            value = transform(value, *transformer)?;
        }
        Some(f(&value))
    }
}

impl Condition {
    /// True when the event satisfies the condition.
    pub fn matches(&self, event: &dyn Event) -> bool {
        let mut scratch = Scratch::new();
        let mut cache = scratch.begin(event, &self.sources);
        self.matches_in(&mut cache, &self.own_slots)
    }

    /// Evaluates against an event cache shared with other conditions; `slots` maps this
    /// condition's field indexes ([`Condition::fields_used`]) to the cache's slots.
    pub(crate) fn matches_in(&self, shared: &mut EventCache<'_, '_>, slots: &[u32]) -> bool {
        let mut cache = Cache { shared, slots };
        eval(&self.root, &mut cache)
    }
}

fn eval(node: &Node, cache: &mut Cache<'_, '_, '_>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|item| eval(item, cache)),
        Node::Or(items) => items.iter().any(|item| eval(item, cache)),
        Node::Not(inner) => !eval(inner, cache),
        Node::Const(b) => *b,
        Node::Exists(slot) => {
            cache.load(slot.index);
            cache.with_value(slot, has_value).unwrap_or(false)
        }
        Node::Compare { left, test } => {
            cache.load(left.index);
            if let Test::Field(_, right) = test {
                cache.load(right.index);
            }
            let cache = &*cache;
            cache
                .with_value(left, |value| {
                    has_value(value)
                        && match test {
                            Test::Field(op, right) => cache
                                .with_value(right, |other| compare_fields(value, *op, other))
                                .unwrap_or(false),
                            _ => check(value, left.kind, test),
                        }
                })
                .unwrap_or(false)
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

/// The outcome of `test` on `evt.type` for events of type `event_type`.
pub(super) fn check_event_type(event_type: &str, kind: FieldKind, test: &Test) -> bool {
    check(&FieldValue::Str(Cow::Borrowed(event_type)), kind, test)
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
        Test::In(set) | Test::Intersects(set) => in_set(value, set),
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
        Test::PMatch(prefixes) => pmatch(prefixes, value),
        _ => false,
    }
}

/// True when `value` equals an item of the list.
fn in_set(value: &FieldValue<'_>, set: &LitSet) -> bool {
    match (value, &set.texts) {
        (FieldValue::Str(s), Some(texts)) => texts.contains(s.as_ref()),
        _ => set.lits.iter().any(|lit| equals(value, lit)),
    }
}

/// True when one of the prefixes is `path` or a directory above it: with a set, `path`
/// and each of its ancestors (the text before each `/`) is looked up.
fn pmatch(prefixes: &Prefixes, path: &str) -> bool {
    match &prefixes.set {
        Some(set) => {
            set.contains(path)
                || path
                    .bytes()
                    .enumerate()
                    .any(|(i, byte)| byte == b'/' && set.contains(&path[..i]))
        }
        None => prefixes.list.iter().any(|prefix| path_prefix(prefix, path)),
    }
}

/// `/etc` matches `/etc` and `/etc/passwd` but not `/etcx` (`prefix` has no trailing `/`).
fn path_prefix(prefix: &str, path: &str) -> bool {
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
