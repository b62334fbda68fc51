//! Replaying events against a ruleset: every matching rule gives a Falco-shaped [`Alert`].

use crate::clock;
use crate::event::RuntimeEvent;
use crate::record::RecordError;
use moat_rules::fields::{self, ArgKind};
use moat_rules::output::format_value;
use moat_rules::{Event, FieldExpr, FieldValue, Priority, Rule, Ruleset, Scratch};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One rule matching one event, serialized as Falco's JSON output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Event time, ISO 8601 UTC with nanoseconds.
    pub time: String,
    /// The rule name.
    pub rule: String,
    /// The rule priority.
    #[serde(serialize_with = "priority_name")]
    pub priority: Priority,
    /// The rendered output.
    pub output: String,
    /// The value of every field of the rule's output (`null` when it has none).
    pub output_fields: Map<String, Value>,
    /// The rule tags.
    pub tags: Vec<String>,
    /// Always `syscall`.
    pub source: &'static str,
    /// The host name the event came from, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Where the alert comes from (not part of Falco's output).
    #[serde(skip)]
    pub context: AlertContext,
}

/// The event an alert comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertContext {
    /// Event number.
    pub event_num: u64,
    /// Container id (`host` for the host).
    pub container_id: String,
    /// Container name (`host` for the host).
    pub container_name: String,
    /// Container image, when in a container.
    pub container_image: Option<String>,
    /// Process name.
    pub proc_name: String,
    /// Process id.
    pub pid: u64,
}

fn priority_name<S: Serializer>(priority: &Priority, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(priority.as_str())
}

/// Counts of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReplayStats {
    /// Events read.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Alerts by rule name.
    pub per_rule: BTreeMap<String, u64>,
}

/// Matches every event against `rules`, calling `on_alert` for each matching rule in load
/// order. Stops at the first event that cannot be read.
pub fn replay(
    events: impl Iterator<Item = Result<RuntimeEvent, RecordError>>,
    rules: &Ruleset,
    mut on_alert: impl FnMut(Alert),
) -> Result<ReplayStats, RecordError> {
    let mut stats = ReplayStats::default();
    let mut scratch = Scratch::new();
    for event in events {
        let event = event?;
        stats.events += 1;
        rules.matching_with(&event, &mut scratch, |rule| {
            stats.alerts += 1;
            *stats.per_rule.entry(rule.name.clone()).or_default() += 1;
            on_alert(Alert::new(rule, &event));
        });
    }
    Ok(stats)
}

impl AlertContext {
    /// Where an alert for `event` comes from.
    pub fn of(event: &RuntimeEvent) -> AlertContext {
        let container = event.container.as_ref();
        AlertContext {
            event_num: event.num,
            container_id: container.map_or("host", |c| c.short_id()).to_string(),
            container_name: container.map_or("host", |c| c.name.as_str()).to_string(),
            container_image: container.map(|c| c.image.clone()),
            proc_name: event.process.name.clone(),
            pid: event.process.pid,
        }
    }
}

impl Alert {
    /// The alert `rule` raises for `event`.
    pub fn new(rule: &Rule, event: &RuntimeEvent) -> Alert {
        let mut output_fields: Map<String, Value> = rule
            .output
            .fields()
            .map(|field| (field_key(field), json_value(event.field(field))))
            .collect();
        for name in EXTRA_FIELDS {
            if !output_fields.contains_key(name) {
                let field = FieldExpr {
                    name: name.to_string(),
                    arg: None,
                    transformers: Vec::new(),
                };
                output_fields.insert(name.to_string(), json_value(event.field(&field)));
            }
        }
        Alert {
            time: clock::iso8601(event.ts),
            rule: rule.name.clone(),
            priority: rule.priority,
            output: rule.output.render(event),
            output_fields,
            tags: rule.tags.clone(),
            source: "syscall",
            hostname: event.hostname.clone(),
            context: AlertContext::of(event),
        }
    }
}

/// The field as Falco names it in `output_fields`: `proc.aname[2]`, `evt.arg.flags`.
/// Fields every alert carries in `output_fields` besides its rule's own, so that an alert
/// always names its workload: what Falco users add with `append_output`'s `extra_fields`.
pub const EXTRA_FIELDS: [&str; 6] = [
    "container.id",
    "container.name",
    "container.image.repository",
    "container.image.tag",
    "k8s.ns.name",
    "k8s.pod.name",
];

fn field_key(field: &FieldExpr) -> String {
    let Some(arg) = &field.arg else {
        return field.name.clone();
    };
    let dotted = matches!(field.name.as_str(), "evt.arg" | "evt.rawarg")
        && arg.parse::<usize>().is_err()
        && fields::lookup(&field.name).is_some_and(|info| info.arg == ArgKind::Key);
    if dotted {
        format!("{}.{arg}", field.name)
    } else {
        format!("{}[{arg}]", field.name)
    }
}

/// Numbers and flags as JSON numbers and booleans, the rest as Falco prints it.
fn json_value(value: Option<FieldValue<'_>>) -> Value {
    match value {
        None => Value::Null,
        Some(FieldValue::U64(n)) => Value::from(n),
        Some(FieldValue::I64(n)) => Value::from(n),
        Some(FieldValue::Bool(b)) => Value::Bool(b),
        Some(other) => Value::String(format_value(&other)),
    }
}
