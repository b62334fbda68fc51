//! Reading one rule file: a YAML sequence of `list`, `macro`, `rule`,
//! `required_engine_version` and `required_plugin_versions` items, each with the line it
//! starts on.
//!
//! The YAML is parsed by `serde-saphyr` into [`serde_saphyr::Spanned`] JSON values (so every
//! item keeps its line, and malformed YAML is reported with its line), and each item is then
//! read into the typed structs below. Nothing is resolved here: that is [`crate::ruleset`]'s
//! job.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Rule files larger than this are refused.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// A problem reading a rule file, with the line it was found on (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// The line, from 1; 0 when the problem concerns the whole file.
    pub line: u32,
    /// What the item is (`rule 'Foo'`, `item`) when known.
    pub item: String,
    /// What is wrong.
    pub message: String,
}

/// One item of a rule file, with the line of its `- ` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The line the item starts on, from 1.
    pub line: u32,
    /// What the item is.
    pub kind: ItemKind,
}

/// The kinds of item a rule file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `- list:`.
    List(ListItem),
    /// `- macro:`.
    Macro(MacroItem),
    /// `- rule:`.
    Rule(Box<RuleItem>),
    /// `- required_engine_version:` (a number `N`, meaning `0.N.0`, or a semantic version).
    RequiredEngineVersion(String),
    /// `- required_plugin_versions:`: recorded, not enforced (Moat has no plugins).
    RequiredPluginVersions(Vec<PluginRequirement>),
}

/// How an `override` key changes an earlier definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverrideMode {
    /// Add to the earlier value.
    Append,
    /// Replace the earlier value.
    Replace,
}

/// A `list` item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListItem {
    /// The list's name.
    #[serde(rename = "list", deserialize_with = "scalar")]
    pub name: String,
    /// Its items (which may name other lists).
    #[serde(default, deserialize_with = "scalar_list")]
    pub items: Vec<String>,
    /// `append: true`: add the items to the list defined earlier.
    #[serde(default)]
    pub append: bool,
    /// `override: {items: append|replace}`.
    #[serde(default, rename = "override")]
    pub overrides: BTreeMap<String, OverrideMode>,
}

/// A `macro` item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MacroItem {
    /// The macro's name.
    #[serde(rename = "macro", deserialize_with = "scalar")]
    pub name: String,
    /// Its condition text.
    #[serde(default, deserialize_with = "optional_scalar")]
    pub condition: Option<String>,
    /// `append: true`: add the condition text to the macro defined earlier.
    #[serde(default)]
    pub append: bool,
    /// `override: {condition: append|replace}`.
    #[serde(default, rename = "override")]
    pub overrides: BTreeMap<String, OverrideMode>,
}

/// A `rule` item; fields left out are `None` (so appends and overrides can tell).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RuleItem {
    /// The rule's name.
    #[serde(rename = "rule", deserialize_with = "scalar")]
    pub name: String,
    /// `desc`.
    #[serde(default, deserialize_with = "optional_scalar")]
    pub desc: Option<String>,
    /// `condition`.
    #[serde(default, deserialize_with = "optional_scalar")]
    pub condition: Option<String>,
    /// `output`.
    #[serde(default, deserialize_with = "optional_scalar")]
    pub output: Option<String>,
    /// `priority`, as written.
    #[serde(default, deserialize_with = "optional_scalar")]
    pub priority: Option<String>,
    /// `tags`.
    #[serde(default, deserialize_with = "optional_scalar_list")]
    pub tags: Option<Vec<String>>,
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `exceptions`.
    pub exceptions: Option<Vec<ExceptionItem>>,
    /// `source` (`syscall` when left out).
    pub source: Option<String>,
    /// `append: true`.
    #[serde(default)]
    pub append: bool,
    /// `override:` field → mode.
    #[serde(default, rename = "override")]
    pub overrides: BTreeMap<String, OverrideMode>,
    /// `warn_evttypes` (default true): warn when the rule matches any event type.
    pub warn_evttypes: Option<bool>,
    /// `skip-if-unknown-filter`: skip the rule, with a warning, when its condition does
    /// not compile.
    #[serde(rename = "skip-if-unknown-filter")]
    pub skip_if_unknown_filter: Option<bool>,
    /// `required_plugin_versions`: recorded, not enforced.
    pub required_plugin_versions: Option<Value>,
}

/// One entry of a rule's `exceptions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExceptionItem {
    /// The exception's name.
    pub name: String,
    /// One field, or a list of fields.
    pub fields: Option<OneOrMany>,
    /// One operator or one per field (default `=`, or `in` for a single field).
    pub comps: Option<OneOrMany>,
    /// Tuples of values (one per field), or plain values when `fields` is a single field.
    #[serde(default)]
    pub values: Vec<Value>,
}

/// A single string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// An entry of `required_plugin_versions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginRequirement {
    /// The plugin's name.
    pub name: String,
    /// The version required.
    #[serde(deserialize_with = "scalar")]
    pub version: String,
}

/// Reads a rule file's text into its items, or the errors found (every item is checked).
pub fn parse_rule_file(text: &str) -> Result<Vec<Item>, Vec<ItemError>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![file_error(format!(
            "rule file is {} bytes, more than the {} accepted",
            text.len(),
            MAX_FILE_BYTES
        ))]);
    }
    let values = parse_yaml(text).map_err(|error| vec![error])?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for value in values {
        match read_item(value.value, line_of(&value.referenced)) {
            Ok(item) => items.push(item),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

type SpannedValues = Vec<serde_saphyr::Spanned<Value>>;

/// Parses the YAML into the top-level sequence; an empty file has no items.
fn parse_yaml(text: &str) -> Result<SpannedValues, ItemError> {
    let options = serde_saphyr::Options {
        with_snippet: false,
        // Names such as `y`, `no` or `on` are strings in rule files, not YAML 1.1 booleans.
        strict_booleans: true,
        ..serde_saphyr::Options::default()
    };
    let parsed: Option<SpannedValues> =
        serde_saphyr::from_str_with_options(text, options).map_err(|error| ItemError {
            line: error.location().map_or(0, |location| line_of(&location)),
            item: "file".to_string(),
            message: format!("invalid YAML: {error}"),
        })?;
    Ok(parsed.unwrap_or_default())
}

fn line_of(location: &serde_saphyr::Location) -> u32 {
    u32::try_from(location.line()).unwrap_or(u32::MAX)
}

fn file_error(message: String) -> ItemError {
    ItemError {
        line: 0,
        item: "file".to_string(),
        message,
    }
}

/// Reads one item; its kind is the first of the known keys present (Falco accepts the keys
/// in any order, e.g. `condition:` before `macro:`).
fn read_item(value: Value, line: u32) -> Result<Item, ItemError> {
    let Value::Object(map) = &value else {
        return Err(ItemError {
            line,
            item: "item".to_string(),
            message: format!("expected a mapping, found {}", kind_name(&value)),
        });
    };
    let described = describe(map);
    let fail = |message: String| ItemError {
        line,
        item: described.clone(),
        message,
    };
    let kind = if map.contains_key("rule") {
        ItemKind::Rule(Box::new(typed(value, fail)?))
    } else if map.contains_key("macro") {
        ItemKind::Macro(typed(value, fail)?)
    } else if map.contains_key("list") {
        ItemKind::List(typed(value, fail)?)
    } else if let Some(version) = map.get("required_engine_version") {
        ItemKind::RequiredEngineVersion(
            scalar_text(version)
                .ok_or_else(|| fail("required_engine_version must be a number or a version".to_string()))?,
        )
    } else if let Some(plugins) = map.get("required_plugin_versions") {
        ItemKind::RequiredPluginVersions(typed(plugins.clone(), fail)?)
    } else {
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        return Err(fail(format!("unknown item type (keys: {})", keys.join(", "))));
    };
    Ok(Item { line, kind })
}

/// `rule 'Name'`, `macro 'name'`, `list 'name'` or `item`.
fn describe(map: &serde_json::Map<String, Value>) -> String {
    for kind in ["rule", "macro", "list"] {
        if let Some(name) = map.get(kind) {
            return format!("{kind} '{}'", scalar_text(name).unwrap_or_default());
        }
    }
    "item".to_string()
}

fn typed<T: serde::de::DeserializeOwned>(
    value: Value,
    fail: impl Fn(String) -> ItemError,
) -> Result<T, ItemError> {
    serde_json::from_value(value).map_err(|error| fail(error.to_string()))
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The text of a scalar (numbers and booleans as written), `None` for lists, maps and null.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn scalar<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    scalar_text(&value)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a string, found {}", kind_name(&value))))
}

fn optional_scalar<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    scalar_text(&value)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a string, found {}", kind_name(&value))))
}

fn scalar_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(optional_scalar_list(deserializer)?.unwrap_or_default())
}

fn optional_scalar_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Array(values) => values
            .iter()
            .map(|value| {
                scalar_text(value).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "expected a list of strings, found {} in it",
                        kind_name(value)
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(serde::de::Error::custom(format!(
            "expected a list, found {}",
            kind_name(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_lines_and_kinds() {
        let text = "# comment\n- list: shells\n  items: [bash, 1]\n\n- condition: proc.name in (shells)\n  macro: spawned\n- rule: R\n  desc: d\n  condition: spawned\n  output: x\n  priority: INFO\n- required_engine_version: 8\n";
        let items = parse_rule_file(text).expect("parses");
        let flags = parse_rule_file("- list: y\n  items: [no, on, true]\n").expect("parses");
        let ItemKind::List(flags) = &flags[0].kind else {
            panic!("not a list: {flags:?}");
        };
        assert_eq!(
            (flags.name.as_str(), flags.items.clone()),
            ("y", vec!["no".to_string(), "on".to_string(), "true".to_string()])
        );
        let lines: Vec<u32> = items.iter().map(|item| item.line).collect();
        assert_eq!(lines, vec![2, 5, 7, 12]);
        let ItemKind::List(list) = &items[0].kind else {
            panic!("not a list: {:?}", items[0]);
        };
        assert_eq!(list.items, vec!["bash", "1"]);
        assert!(matches!(&items[1].kind, ItemKind::Macro(m) if m.name == "spawned"));
        assert!(matches!(&items[3].kind, ItemKind::RequiredEngineVersion(v) if v == "8"));
    }

    #[test]
    fn unknown_items_and_bad_yaml_name_their_line() {
        let errors = parse_rule_file("- list: a\n  items: []\n- frobnicate: 1\n").unwrap_err();
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("frobnicate"), "{errors:?}");
        let errors = parse_rule_file("- list: a\n  items: [a, b\n- rule: x\n").unwrap_err();
        assert!(errors[0].line >= 2, "{errors:?}");
        assert!(errors[0].message.contains("invalid YAML"), "{errors:?}");
    }

    #[test]
    fn oversized_files_are_refused() {
        let text = " ".repeat(MAX_FILE_BYTES + 1);
        let errors = parse_rule_file(&text).unwrap_err();
        assert!(errors[0].message.contains("more than"), "{errors:?}");
    }
}
