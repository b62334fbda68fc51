//! A set of compiled rules loaded from Falco rule files, indexed by event type.
//!
//! Loading follows Falco's rule loader: files are read in order (as `falco -r a -r b`), so a
//! later file can append to or override the lists, macros and rules of an earlier one. Once
//! every file is read, lists are expanded (lists may name lists), macros are substituted
//! into conditions, exceptions are folded into their rule's condition as
//! `and not (exception or …)`, and every condition and output is checked against the
//! [`fields`](crate::fields) catalogue. Every problem found is reported, each naming its file,
//! line and item.

use crate::ast::{CmpOp, Expr, FieldExpr, Operand};
use crate::condition::{self, Condition, Scratch, Source};
use crate::event::Event;
use crate::fields;
use crate::load::{
    self, ExceptionItem, Item, ItemError, ItemKind, ListItem, MacroItem, OneOrMany, OverrideMode,
    PluginRequirement, RuleItem,
};
use crate::output::Output;
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The Falco engine version Moat's rule loader implements: files whose
/// `required_engine_version` is newer are refused. It is the version the Falco 0.4x rule
/// files (`falco_rules.yaml` and the incubating and sandbox files) require.
pub const ENGINE_VERSION: &str = "0.57.0";

/// The only rule source Moat evaluates; rules for other sources are skipped with a warning.
pub const SYSCALL_SOURCE: &str = "syscall";

/// A rule's priority. Ordered by severity: `Debug` is the lowest, `Emergency` the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `DEBUG`.
    Debug,
    /// `INFORMATIONAL` (or `INFO`).
    Informational,
    /// `NOTICE`.
    Notice,
    /// `WARNING` (or `WARN`).
    Warning,
    /// `ERROR`.
    Error,
    /// `CRITICAL`.
    Critical,
    /// `ALERT`.
    Alert,
    /// `EMERGENCY`.
    Emergency,
}

impl Priority {
    /// The name Falco prints (`Notice`, `Warning`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Debug => "Debug",
            Priority::Informational => "Informational",
            Priority::Notice => "Notice",
            Priority::Warning => "Warning",
            Priority::Error => "Error",
            Priority::Critical => "Critical",
            Priority::Alert => "Alert",
            Priority::Emergency => "Emergency",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = String;

    /// Reads a priority name, ignoring case.
    fn from_str(text: &str) -> Result<Priority, String> {
        let priority = match text.trim().to_ascii_lowercase().as_str() {
            "debug" => Priority::Debug,
            "informational" | "info" => Priority::Informational,
            "notice" => Priority::Notice,
            "warning" | "warn" => Priority::Warning,
            "error" => Priority::Error,
            "critical" => Priority::Critical,
            "alert" => Priority::Alert,
            "emergency" => Priority::Emergency,
            _ => return Err(format!("unknown priority '{text}'")),
        };
        Ok(priority)
    }
}

/// A problem (or, in [`Ruleset::warnings`], a warning) with the file, line and item it
/// concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {item}: {message}", file.display())]
pub struct RuleError {
    /// The rule file (or the name given to [`RulesetBuilder::add_text`]).
    pub file: PathBuf,
    /// The line of the item, from 1 (0 when the problem concerns the whole file).
    pub line: u32,
    /// The item: `rule 'Terminal shell in container'`, `macro 'spawned_process'`, `file`.
    pub item: String,
    /// What is wrong.
    pub message: String,
}

/// A warning: same shape as an error, but the load goes on.
pub type Warning = RuleError;

/// Every error of a failed load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<RuleError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rule loading error(s)", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n{error}")?;
        }
        Ok(())
    }
}

/// A compiled rule.
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// `desc`.
    pub description: String,
    /// `priority`.
    pub priority: Priority,
    /// `tags`.
    pub tags: Vec<String>,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// `source` (always [`SYSCALL_SOURCE`] for compiled rules).
    pub source: String,
    /// The output template.
    pub output: Output,
    /// The final condition: macros and lists resolved, exceptions folded in.
    pub condition: Condition,
    /// The file the rule was defined in.
    pub file: PathBuf,
    /// The line it was defined on.
    pub line: u32,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("priority", &self.priority)
            .field("tags", &self.tags)
            .field("enabled", &self.enabled)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// A rule that was read but not compiled because Moat does not evaluate its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRule {
    /// The rule's name.
    pub name: String,
    /// Why it was skipped.
    pub reason: String,
    /// Where it was defined.
    pub file: PathBuf,
    /// The line.
    pub line: u32,
}

/// Compiled rules, indexed by event type.
pub struct Ruleset {
    rules: Vec<Rule>,
    by_name: HashMap<String, usize>,
    /// Rules by event type, each with its condition specialised to that type (its
    /// `evt.type` tests decided). FxHash: the key is hashed for every event, and event
    /// type names come from rule files, not from anyone able to choose colliding keys.
    by_event_type: FxHashMap<String, Vec<(usize, Condition)>>,
    any_event_type: Vec<usize>,
    /// Every distinct field any rule reads, numbered: one event's cache has one slot each.
    sources: Vec<Source>,
    /// Per rule: its condition's field indexes mapped to slots of `sources`.
    rule_slots: Vec<Vec<u32>>,
    warnings: Vec<Warning>,
    skipped: Vec<SkippedRule>,
    required_plugins: Vec<PluginRequirement>,
}

impl fmt::Debug for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ruleset")
            .field("rules", &self.rules)
            .field("warnings", &self.warnings.len())
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

impl Ruleset {
    /// Loads rule files in order (later files may append to and override earlier ones).
    pub fn load(paths: &[PathBuf]) -> Result<Ruleset, LoadErrors> {
        let mut builder = RulesetBuilder::new();
        for path in paths {
            builder.add_file(path);
        }
        builder.build()
    }

    /// Loads one rule file given as text; `name` is used in errors.
    pub fn from_text(name: &str, text: &str) -> Result<Ruleset, LoadErrors> {
        let mut builder = RulesetBuilder::new();
        builder.add_text(name, text);
        builder.build()
    }

    /// Every compiled rule, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The enabled rules, in load order.
    pub fn enabled_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|rule| rule.enabled)
    }

    /// The compiled rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.by_name.get(name).map(|&index| &self.rules[index])
    }

    /// Enables or disables the rule named `name`; false when there is no such rule.
    pub fn enable(&mut self, name: &str, enabled: bool) -> bool {
        match self.by_name.get(name) {
            Some(&index) => {
                self.rules[index].enabled = enabled;
                true
            }
            None => false,
        }
    }

    /// Enables or disables every rule tagged `tag`; returns how many there are.
    pub fn enable_tagged(&mut self, tag: &str, enabled: bool) -> usize {
        let mut count = 0;
        for rule in self
            .rules
            .iter_mut()
            .filter(|rule| rule.tags.iter().any(|t| t == tag))
        {
            rule.enabled = enabled;
            count += 1;
        }
        count
    }

    /// Warnings of the load: skipped rules, rules that match every event type.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Rules read but not compiled (sources other than `syscall`, or
    /// `skip-if-unknown-filter` rules that did not compile).
    pub fn skipped(&self) -> &[SkippedRule] {
        &self.skipped
    }

    /// The plugin versions the files asked for (recorded; Moat has no plugins).
    pub fn required_plugins(&self) -> &[PluginRequirement] {
        &self.required_plugins
    }

    /// The enabled rules whose condition matches `event`, in load order. Only the rules that
    /// can match the event's type are evaluated.
    ///
    /// Each field is extracted at most once per event, however many rules read it. Uses a
    /// per-thread [`Scratch`]; [`Ruleset::matching_with`] takes one from the caller instead.
    pub fn matching(&self, event: &dyn Event) -> Vec<&Rule> {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
        }
        let mut matched = Vec::new();
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.matching_with(event, &mut scratch, |rule| matched.push(rule)),
            // Only when an event's field extraction itself matches events on this thread.
            Err(_) => self.matching_with(event, &mut Scratch::new(), |rule| matched.push(rule)),
        });
        matched
    }

    /// Calls `on_match` with each enabled rule whose condition matches `event`, in load
    /// order (the rules [`Ruleset::matching`] returns). The field cache lives in `scratch`,
    /// whose buffers are reused from event to event; each field is extracted at most once
    /// for the event.
    pub fn matching_with<'r>(
        &'r self,
        event: &dyn Event,
        scratch: &mut Scratch,
        mut on_match: impl FnMut(&'r Rule),
    ) {
        let typed = self
            .by_event_type
            .get(event.event_type())
            .map_or(&[][..], Vec::as_slice);
        let mut cache = scratch.begin(event, &self.sources);
        for (index, condition) in merge_sorted(typed, &self.any_event_type) {
            let rule = &self.rules[index];
            let condition = condition.unwrap_or(&rule.condition);
            if rule.enabled && condition.matches_in(&mut cache, &self.rule_slots[index]) {
                on_match(rule);
            }
        }
    }
}

/// The union of the typed rules (with their specialised conditions) and the untyped
/// rules (whose own condition applies), by ascending rule index.
fn merge_sorted<'a>(
    typed: &'a [(usize, Condition)],
    untyped: &'a [usize],
) -> impl Iterator<Item = (usize, Option<&'a Condition>)> + 'a {
    let mut left = typed
        .iter()
        .map(|(index, condition)| (*index, Some(condition)))
        .peekable();
    let mut right = untyped.iter().map(|&index| (index, None)).peekable();
    std::iter::from_fn(move || match (left.peek(), right.peek()) {
        (Some(l), Some(r)) if l.0 <= r.0 => left.next(),
        (Some(_), Some(_)) => right.next(),
        (Some(_), None) => left.next(),
        (None, _) => right.next(),
    })
}

/// Builds a [`Ruleset`] from rule files and texts added in order.
#[derive(Debug, Default)]
pub struct RulesetBuilder {
    collector: Collector,
}

impl RulesetBuilder {
    /// An empty builder.
    pub fn new() -> RulesetBuilder {
        RulesetBuilder::default()
    }

    /// Reads a rule file; problems are reported by [`RulesetBuilder::build`].
    pub fn add_file(&mut self, path: &Path) -> &mut RulesetBuilder {
        match read_file(path) {
            Ok(text) => self.add_text_at(path, &text),
            Err(message) => self.collector.error(
                &Origin {
                    file: path.to_path_buf(),
                    line: 0,
                },
                "file",
                message,
            ),
        }
        self
    }

    /// Reads a rule file given as text; `name` stands for the file in errors.
    pub fn add_text(&mut self, name: &str, text: &str) -> &mut RulesetBuilder {
        self.add_text_at(Path::new(name), text);
        self
    }

    fn add_text_at(&mut self, file: &Path, text: &str) {
        match load::parse_rule_file(text) {
            Ok(items) => self.collector.add_items(file, items),
            Err(errors) => {
                for ItemError { line, item, message } in errors {
                    let origin = Origin {
                        file: file.to_path_buf(),
                        line,
                    };
                    self.collector.error(&origin, &item, message);
                }
            }
        }
    }

    /// Resolves and compiles everything added; fails with every error found.
    pub fn build(self) -> Result<Ruleset, LoadErrors> {
        self.collector.compile()
    }
}

/// Reads a file, refusing those larger than [`load::MAX_FILE_BYTES`].
fn read_file(path: &Path) -> Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|error| format!("cannot read rule file: {error}"))?
        .len();
    if size > load::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "rule file is {size} bytes, more than the {} accepted",
            load::MAX_FILE_BYTES
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read rule file: {error}"))?;
    String::from_utf8(bytes).map_err(|error| format!("rule file is not UTF-8: {error}"))
}

/// Where an item was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    file: PathBuf,
    line: u32,
}

#[derive(Debug)]
struct ListDef {
    items: Vec<String>,
    origin: Origin,
}

#[derive(Debug)]
struct MacroDef {
    condition: String,
    origin: Origin,
}

#[derive(Debug)]
struct RuleDef {
    name: String,
    desc: String,
    condition: String,
    output: String,
    priority: Priority,
    tags: Vec<String>,
    enabled: bool,
    source: String,
    exceptions: Vec<ExceptionItem>,
    warn_evttypes: bool,
    skip_if_unknown_filter: bool,
    origin: Origin,
}

/// The definitions read so far, with appends and overrides applied.
#[derive(Debug, Default)]
struct Collector {
    lists: HashMap<String, ListDef>,
    macros: BTreeMap<String, MacroDef>,
    rules: Vec<RuleDef>,
    rule_index: HashMap<String, usize>,
    required_plugins: Vec<PluginRequirement>,
    errors: Vec<RuleError>,
    warnings: Vec<Warning>,
}

impl Collector {
    fn error(&mut self, origin: &Origin, item: &str, message: String) {
        self.errors.push(diagnostic(origin, item, message));
    }

    fn add_items(&mut self, file: &Path, items: Vec<Item>) {
        for Item { line, kind } in items {
            let origin = Origin {
                file: file.to_path_buf(),
                line,
            };
            match kind {
                ItemKind::List(list) => self.add_list(list, origin),
                ItemKind::Macro(item) => self.add_macro(item, origin),
                ItemKind::Rule(rule) => self.add_rule(*rule, origin),
                ItemKind::RequiredEngineVersion(version) => {
                    if let Err(message) = check_engine_version(&version) {
                        self.error(&origin, "required_engine_version", message);
                    }
                }
                ItemKind::RequiredPluginVersions(plugins) => self.required_plugins.extend(plugins),
            }
        }
    }

    fn add_list(&mut self, list: ListItem, origin: Origin) {
        let item = format!("list '{}'", list.name);
        let mode = match change_mode(list.append, &list.overrides, &["items"], &["items"]) {
            Ok(mode) => mode.get("items").copied(),
            Err(message) => return self.error(&origin, &item, message),
        };
        match (mode, self.lists.get_mut(&list.name)) {
            (None, _) => {
                let def = ListDef {
                    items: list.items,
                    origin,
                };
                self.lists.insert(list.name, def);
            }
            (Some(OverrideMode::Append), Some(def)) => def.items.extend(list.items),
            (Some(OverrideMode::Replace), Some(def)) => def.items = list.items,
            (Some(_), None) => self.error(&origin, &item, "no earlier list to change".into()),
        }
    }

    fn add_macro(&mut self, macro_item: MacroItem, origin: Origin) {
        let item = format!("macro '{}'", macro_item.name);
        let modes = change_mode(
            macro_item.append,
            &macro_item.overrides,
            &["condition"],
            &["condition"],
        );
        let mode = match modes {
            Ok(modes) => modes.get("condition").copied(),
            Err(message) => return self.error(&origin, &item, message),
        };
        let Some(condition) = macro_item.condition else {
            return self.error(&origin, &item, "missing 'condition'".into());
        };
        match (mode, self.macros.get_mut(&macro_item.name)) {
            (None, _) => {
                let def = MacroDef { condition, origin };
                self.macros.insert(macro_item.name, def);
            }
            (Some(OverrideMode::Append), Some(def)) => append_text(&mut def.condition, &condition),
            (Some(OverrideMode::Replace), Some(def)) => def.condition = condition,
            (Some(_), None) => self.error(&origin, &item, "no earlier macro to change".into()),
        }
    }

    fn add_rule(&mut self, rule: RuleItem, origin: Origin) {
        let item = format!("rule '{}'", rule.name);
        let existing = self.rule_index.get(&rule.name).copied();
        let result = if rule.append || !rule.overrides.is_empty() {
            match existing {
                Some(index) => change_rule(&mut self.rules[index], rule),
                None => Err("no earlier rule to append to or override".to_string()),
            }
        } else if let (Some(index), true) = (existing, only_enables(&rule)) {
            self.rules[index].enabled = rule.enabled.unwrap_or(true);
            Ok(())
        } else {
            self.define_rule(rule, origin.clone(), existing)
        };
        if let Err(message) = result {
            self.error(&origin, &item, message);
        }
    }

    fn define_rule(&mut self, rule: RuleItem, origin: Origin, existing: Option<usize>) -> Result<(), String> {
        let required =
            |value: Option<String>, key: &str| value.ok_or_else(|| format!("missing required '{key}'"));
        let priority_text = required(rule.priority, "priority")?;
        let def = RuleDef {
            desc: required(rule.desc, "desc")?,
            condition: required(rule.condition, "condition")?,
            output: required(rule.output, "output")?,
            priority: priority_text.parse()?,
            tags: rule.tags.unwrap_or_default(),
            enabled: rule.enabled.unwrap_or(true),
            source: rule.source.unwrap_or_else(|| SYSCALL_SOURCE.to_string()),
            exceptions: rule.exceptions.unwrap_or_default(),
            warn_evttypes: rule.warn_evttypes.unwrap_or(true),
            skip_if_unknown_filter: rule.skip_if_unknown_filter.unwrap_or(false),
            name: rule.name,
            origin,
        };
        match existing {
            Some(index) => self.rules[index] = def,
            None => {
                self.rule_index.insert(def.name.clone(), self.rules.len());
                self.rules.push(def);
            }
        }
        Ok(())
    }

    /// Resolves and compiles every rule.
    fn compile(mut self) -> Result<Ruleset, LoadErrors> {
        let resolver = Resolver::new(&self.lists, &self.macros, &mut self.errors);
        let mut ruleset = Ruleset {
            rules: Vec::new(),
            by_name: HashMap::new(),
            by_event_type: FxHashMap::default(),
            any_event_type: Vec::new(),
            sources: Vec::new(),
            rule_slots: Vec::new(),
            warnings: std::mem::take(&mut self.warnings),
            skipped: Vec::new(),
            required_plugins: std::mem::take(&mut self.required_plugins),
        };
        let mut errors = Vec::new();
        for def in std::mem::take(&mut self.rules) {
            let item = format!("rule '{}'", def.name);
            if def.source != SYSCALL_SOURCE {
                let reason = format!("source {} not supported", def.source);
                ruleset.skip(&def, &item, reason);
                continue;
            }
            match compile_rule(&def, &resolver) {
                Ok(rule) => ruleset.add(rule, def.warn_evttypes, &item),
                Err(message) if def.skip_if_unknown_filter => {
                    ruleset.skip(&def, &item, format!("skip-if-unknown-filter: {message}"));
                }
                Err(message) => errors.push(diagnostic(&def.origin, &item, message)),
            }
        }
        self.errors.extend(errors);
        if self.errors.is_empty() {
            Ok(ruleset)
        } else {
            Err(LoadErrors(self.errors))
        }
    }
}

impl Ruleset {
    fn skip(&mut self, def: &RuleDef, item: &str, reason: String) {
        self.warnings
            .push(diagnostic(&def.origin, item, format!("skipped: {reason}")));
        self.skipped.push(SkippedRule {
            name: def.name.clone(),
            reason,
            file: def.origin.file.clone(),
            line: def.origin.line,
        });
    }

    fn add(&mut self, rule: Rule, warn_evttypes: bool, item: &str) {
        let index = self.rules.len();
        let slots = self.field_slots(rule.condition.fields_used());
        self.rule_slots.push(slots);
        match rule.condition.event_types() {
            Some(types) => {
                for event_type in types {
                    let condition = rule.condition.for_event_type(&event_type);
                    self.by_event_type
                        .entry(event_type)
                        .or_default()
                        .push((index, condition));
                }
            }
            None => {
                if warn_evttypes {
                    let message = "condition has no evt.type constraint: it is evaluated \
                                   for every event"
                        .to_string();
                    let origin = Origin {
                        file: rule.file.clone(),
                        line: rule.line,
                    };
                    self.warnings.push(diagnostic(&origin, item, message));
                }
                self.any_event_type.push(index);
            }
        }
        self.by_name.insert(rule.name.clone(), index);
        self.rules.push(rule);
    }
}

impl Ruleset {
    /// The shared cache slots of `fields`, numbering those not seen in earlier rules.
    fn field_slots(&mut self, fields: &[FieldExpr]) -> Vec<u32> {
        fields
            .iter()
            .map(|field| {
                let source = Source::of(field);
                let slot = match self.sources.iter().position(|known| *known == source) {
                    Some(slot) => slot,
                    None => {
                        self.sources.push(source);
                        self.sources.len() - 1
                    }
                };
                slot as u32
            })
            .collect()
    }
}

fn diagnostic(origin: &Origin, item: &str, message: String) -> RuleError {
    RuleError {
        file: origin.file.clone(),
        line: origin.line,
        item: item.to_string(),
        message,
    }
}

/// Falco appends condition, output and description text with a space in between.
fn append_text(target: &mut String, addition: &str) {
    if !target.is_empty() && !addition.is_empty() {
        target.push(' ');
    }
    target.push_str(addition);
}

/// The changes an item asks for: `append: true` (every key in `append_keys`, as Falco's
/// legacy `append`) or an `override` map. Errors on both at once and on keys that cannot be
/// changed that way.
fn change_mode(
    append: bool,
    overrides: &BTreeMap<String, OverrideMode>,
    append_keys: &[&str],
    replace_keys: &[&str],
) -> Result<BTreeMap<String, OverrideMode>, String> {
    if append && !overrides.is_empty() {
        return Err("'append' and 'override' cannot be used together".to_string());
    }
    if append {
        let all = append_keys
            .iter()
            .map(|key| (key.to_string(), OverrideMode::Append));
        return Ok(all.collect());
    }
    for (key, mode) in overrides {
        let allowed = match mode {
            OverrideMode::Append => append_keys,
            OverrideMode::Replace => replace_keys,
        };
        if !allowed.contains(&key.as_str()) {
            return Err(format!("'{key}' cannot be overridden with {mode:?}"));
        }
    }
    Ok(overrides.clone())
}

/// An item naming an existing rule with nothing but `enabled` (Falco's way of turning
/// rules on and off from a later file).
fn only_enables(rule: &RuleItem) -> bool {
    rule.enabled.is_some()
        && rule.condition.is_none()
        && rule.output.is_none()
        && rule.desc.is_none()
        && rule.priority.is_none()
        && rule.exceptions.is_none()
        && rule.tags.is_none()
}

const RULE_APPEND_KEYS: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACE_KEYS: &[&str] = &[
    "condition",
    "output",
    "desc",
    "tags",
    "exceptions",
    "priority",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

/// Applies an `append: true` or `override` item to an earlier rule.
fn change_rule(def: &mut RuleDef, rule: RuleItem) -> Result<(), String> {
    let legacy_append = rule.append;
    let modes = change_mode(rule.append, &rule.overrides, RULE_APPEND_KEYS, RULE_REPLACE_KEYS)?;
    for (key, mode) in &modes {
        let present = change_rule_key(def, &rule, key, *mode)?;
        if !present && !legacy_append {
            return Err(format!("override of '{key}' but no '{key}' given"));
        }
    }
    if legacy_append {
        if let Some(enabled) = rule.enabled {
            def.enabled = enabled;
        }
    }
    Ok(())
}

/// Changes one key of a rule; false when the item does not give that key.
fn change_rule_key(
    def: &mut RuleDef,
    rule: &RuleItem,
    key: &str,
    mode: OverrideMode,
) -> Result<bool, String> {
    let append = mode == OverrideMode::Append;
    let text = |target: &mut String, value: &Option<String>| match value {
        Some(value) if append => append_text(target, value),
        Some(value) => *target = value.clone(),
        None => {}
    };
    match key {
        "condition" => text(&mut def.condition, &rule.condition),
        "output" => text(&mut def.output, &rule.output),
        "desc" => text(&mut def.desc, &rule.desc),
        "tags" => match &rule.tags {
            Some(tags) if append => {
                let new = tags.iter().filter(|tag| !def.tags.contains(tag)).cloned();
                def.tags.extend(new.collect::<Vec<_>>());
            }
            Some(tags) => def.tags = tags.clone(),
            None => {}
        },
        "exceptions" => match &rule.exceptions {
            Some(exceptions) if append => merge_exceptions(&mut def.exceptions, exceptions),
            Some(exceptions) => def.exceptions = exceptions.clone(),
            None => {}
        },
        "priority" => {
            if let Some(priority) = &rule.priority {
                def.priority = priority.parse()?;
            }
            return Ok(rule.priority.is_some());
        }
        "enabled" => {
            def.enabled = rule.enabled.unwrap_or(def.enabled);
            return Ok(rule.enabled.is_some());
        }
        "warn_evttypes" => {
            def.warn_evttypes = rule.warn_evttypes.unwrap_or(def.warn_evttypes);
            return Ok(rule.warn_evttypes.is_some());
        }
        _ => {
            def.skip_if_unknown_filter = rule.skip_if_unknown_filter.unwrap_or(def.skip_if_unknown_filter);
            return Ok(rule.skip_if_unknown_filter.is_some());
        }
    }
    Ok(match key {
        "condition" => rule.condition.is_some(),
        "output" => rule.output.is_some(),
        "desc" => rule.desc.is_some(),
        "tags" => rule.tags.is_some(),
        _ => rule.exceptions.is_some(),
    })
}

/// Appended exceptions add their values to an existing exception of the same name, or are
/// added as new exceptions.
fn merge_exceptions(existing: &mut Vec<ExceptionItem>, added: &[ExceptionItem]) {
    for exception in added {
        match existing.iter_mut().find(|e| e.name == exception.name) {
            Some(earlier) => earlier.values.extend(exception.values.iter().cloned()),
            None => existing.push(exception.clone()),
        }
    }
}

/// Checks a `required_engine_version` against [`ENGINE_VERSION`].
fn check_engine_version(required: &str) -> Result<(), String> {
    let wanted =
        parse_engine_version(required).ok_or_else(|| format!("'{required}' is not an engine version"))?;
    let ours = parse_engine_version(ENGINE_VERSION).unwrap_or_default();
    if wanted > ours {
        return Err(format!(
            "requires engine version {required}, newer than Moat's {ENGINE_VERSION}"
        ));
    }
    Ok(())
}

/// `N` (Falco's old numbering, meaning `0.N.0`) or `major.minor[.patch]`.
fn parse_engine_version(text: &str) -> Option<(u64, u64, u64)> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let number = |index: usize| -> Option<u64> { parts.get(index).map_or(Some(0), |part| part.parse().ok()) };
    match parts.len() {
        1 => Some((0, number(0)?, 0)),
        2 | 3 => Some((number(0)?, number(1)?, number(2)?)),
        _ => None,
    }
}

/// Parses, folds exceptions into, resolves and compiles a rule.
fn compile_rule(def: &RuleDef, resolver: &Resolver) -> Result<Rule, String> {
    let parsed =
        condition::parse(&def.condition).map_err(|error| format!("condition syntax error: {error}"))?;
    let with_exceptions = fold_exceptions(parsed, &def.exceptions)?;
    let resolved = resolver.resolve(&with_exceptions, &mut Vec::new())?;
    let condition = condition::compile(&resolved).map_err(|error| error.to_string())?;
    let output = Output::parse(&def.output).map_err(|error| error.to_string())?;
    Ok(Rule {
        name: def.name.clone(),
        description: def.desc.clone(),
        priority: def.priority,
        tags: def.tags.clone(),
        enabled: def.enabled,
        source: def.source.clone(),
        output,
        condition,
        file: def.origin.file.clone(),
        line: def.origin.line,
    })
}

/// `condition and not (exception or …)`; exceptions without values add nothing.
fn fold_exceptions(condition: Expr, exceptions: &[ExceptionItem]) -> Result<Expr, String> {
    let mut alternatives = Vec::new();
    for exception in exceptions {
        if let Some(expr) = exception_expr(exception)
            .map_err(|message| format!("exception '{}': {message}", exception.name))?
        {
            alternatives.push(expr);
        }
    }
    if alternatives.is_empty() {
        return Ok(condition);
    }
    let excepted = Expr::Not(Box::new(Expr::Or(alternatives)));
    Ok(Expr::And(vec![condition, excepted]))
}

/// One exception as a condition: `or` over its value tuples of `and` over its fields.
fn exception_expr(exception: &ExceptionItem) -> Result<Option<Expr>, String> {
    if exception.values.is_empty() {
        return Ok(None);
    }
    match &exception.fields {
        None => Err("missing 'fields'".to_string()),
        Some(OneOrMany::One(field)) => single_field_exception(field, exception).map(Some),
        Some(OneOrMany::Many(fields)) => tuple_exception(fields, exception).map(Some),
    }
}

/// `fields: one.field`: `values` is a list of values compared with one operator
/// (default `in`).
fn single_field_exception(field: &str, exception: &ExceptionItem) -> Result<Expr, String> {
    let comp = match &exception.comps {
        None => "in",
        Some(OneOrMany::One(comp)) => comp.as_str(),
        Some(OneOrMany::Many(_)) => return Err("a single field takes a single comp".into()),
    };
    let op = parse_operator(comp)?;
    let values = exception
        .values
        .iter()
        .map(value_strings)
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    if takes_list(op) {
        return compare(field, op, Operand::List(values));
    }
    let each = values
        .into_iter()
        .map(|value| compare(field, op, Operand::Value(value)));
    Ok(Expr::Or(each.collect::<Result<_, _>>()?))
}

/// `fields: [a, b]`: `values` is a list of tuples, one value (or list) per field.
fn tuple_exception(fields: &[String], exception: &ExceptionItem) -> Result<Expr, String> {
    let comps: Vec<String> = match &exception.comps {
        None => vec!["=".to_string(); fields.len()],
        Some(OneOrMany::One(comp)) => vec![comp.clone(); fields.len()],
        Some(OneOrMany::Many(comps)) => comps.clone(),
    };
    if comps.len() != fields.len() {
        return Err(format!("{} fields but {} comps", fields.len(), comps.len()));
    }
    let ops = comps
        .iter()
        .map(|comp| parse_operator(comp))
        .collect::<Result<Vec<_>, _>>()?;
    let mut alternatives = Vec::new();
    for tuple in &exception.values {
        let Value::Array(values) = tuple else {
            return Err(format!("value {tuple} is not a list of {} values", fields.len()));
        };
        if values.len() != fields.len() {
            return Err(format!("value {tuple} has not {} values", fields.len()));
        }
        let mut terms = Vec::new();
        for ((field, op), value) in fields.iter().zip(&ops).zip(values) {
            terms.push(compare(field, *op, tuple_operand(*op, value)?)?);
        }
        alternatives.push(Expr::And(terms));
    }
    Ok(Expr::Or(alternatives))
}

/// A tuple element: a list of values, or one value (a list of one for list operators, so
/// a list name is expanded like in a condition).
fn tuple_operand(op: CmpOp, value: &Value) -> Result<Operand, String> {
    let strings = value_strings(value)?;
    match (value, strings.as_slice()) {
        (Value::Array(_), _) => Ok(Operand::List(strings)),
        (_, [one]) if !takes_list(op) => Ok(Operand::Value(one.clone())),
        _ => Ok(Operand::List(strings)),
    }
}

fn value_strings(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(values) => values
            .iter()
            .map(|value| {
                load::scalar_text(value)
                    .map(|text| unquote(&text).to_string())
                    .ok_or_else(|| format!("bad value {value}"))
            })
            .collect(),
        other => load::scalar_text(other)
            .map(|text| vec![unquote(&text).to_string()])
            .ok_or_else(|| format!("bad value {other}")),
    }
}

fn compare(field: &str, op: CmpOp, value: Operand) -> Result<Expr, String> {
    let field = fields::split_field(field).ok_or_else(|| format!("unknown field '{field}'"))?;
    Ok(Expr::Compare { field, op, value })
}

fn takes_list(op: CmpOp) -> bool {
    matches!(op, CmpOp::In | CmpOp::PMatch | CmpOp::Intersects)
}

/// An operator as written in an exception's `comps`.
fn parse_operator(text: &str) -> Result<CmpOp, String> {
    let op = match text.trim() {
        "=" | "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::Ge,
        "contains" => CmpOp::Contains,
        "icontains" => CmpOp::IContains,
        "bcontains" => CmpOp::BContains,
        "startswith" => CmpOp::StartsWith,
        "bstartswith" => CmpOp::BStartsWith,
        "endswith" => CmpOp::EndsWith,
        "glob" => CmpOp::Glob,
        "iglob" => CmpOp::IGlob,
        "pmatch" => CmpOp::PMatch,
        "in" => CmpOp::In,
        "intersects" => CmpOp::Intersects,
        "regex" => CmpOp::Regex,
        other => return Err(format!("unknown comparison operator '{other}'")),
    };
    Ok(op)
}

/// Lists expanded and macros parsed, ready to resolve conditions.
struct Resolver {
    lists: HashMap<String, Vec<String>>,
    macros: HashMap<String, Result<Expr, String>>,
}

impl Resolver {
    /// Expands every list and parses every macro, reporting cycles and syntax errors.
    fn new(
        lists: &HashMap<String, ListDef>,
        macros: &BTreeMap<String, MacroDef>,
        errors: &mut Vec<RuleError>,
    ) -> Resolver {
        let mut expanded = HashMap::new();
        let mut names: Vec<&String> = lists.keys().collect();
        names.sort_by_key(|name| (&lists[*name].origin.file, lists[*name].origin.line));
        for name in names {
            match expand_list(name, lists, &mut Vec::new()) {
                Ok(items) => {
                    expanded.insert(name.clone(), items);
                }
                Err(message) => errors.push(diagnostic(
                    &lists[name].origin,
                    &format!("list '{name}'"),
                    message,
                )),
            }
        }
        let mut parsed = HashMap::new();
        for (name, def) in macros {
            let result = condition::parse(&def.condition).map_err(|error| {
                let message = format!("condition syntax error: {error}");
                errors.push(diagnostic(&def.origin, &format!("macro '{name}'"), message));
                format!("macro '{name}' has a syntax error")
            });
            parsed.insert(name.clone(), result);
        }
        Resolver {
            lists: expanded,
            macros: parsed,
        }
    }

    /// Replaces macros by their conditions and list names by their items. `stack` holds the
    /// macros being resolved, to report cycles.
    fn resolve(&self, expr: &Expr, stack: &mut Vec<String>) -> Result<Expr, String> {
        Ok(match expr {
            Expr::And(items) => Expr::And(self.resolve_all(items, stack)?),
            Expr::Or(items) => Expr::Or(self.resolve_all(items, stack)?),
            Expr::Not(inner) => Expr::Not(Box::new(self.resolve(inner, stack)?)),
            Expr::Macro(name) => self.resolve_macro(name, stack)?,
            Expr::Compare { field, op, value } => Expr::Compare {
                field: field.clone(),
                op: *op,
                value: self.resolve_operand(*op, value),
            },
            Expr::Exists(_) | Expr::Bool(_) => expr.clone(),
        })
    }

    fn resolve_all(&self, items: &[Expr], stack: &mut Vec<String>) -> Result<Vec<Expr>, String> {
        items.iter().map(|item| self.resolve(item, stack)).collect()
    }

    fn resolve_macro(&self, name: &str, stack: &mut Vec<String>) -> Result<Expr, String> {
        if stack.iter().any(|entry| entry == name) {
            stack.push(name.to_string());
            return Err(format!("macro cycle: {}", stack.join(" -> ")));
        }
        let parsed = match self.macros.get(name) {
            Some(parsed) => parsed.as_ref().map_err(Clone::clone)?,
            None if stack.is_empty() => return Err(format!("undefined macro '{name}'")),
            None => {
                return Err(format!(
                    "undefined macro '{name}' (used in macro '{}')",
                    stack.join("' -> '")
                ))
            }
        };
        stack.push(name.to_string());
        let resolved = self.resolve(parsed, stack);
        stack.pop();
        resolved
    }

    fn resolve_operand(&self, op: CmpOp, value: &Operand) -> Operand {
        match value {
            Operand::List(items) => Operand::List(self.expand_items(items)),
            Operand::Value(name) if takes_list(op) && self.lists.contains_key(name) => {
                Operand::List(self.lists[name].clone())
            }
            other => other.clone(),
        }
    }

    fn expand_items(&self, items: &[String]) -> Vec<String> {
        let mut expanded = Vec::new();
        for item in items {
            match self.lists.get(item) {
                Some(list) => expanded.extend(list.iter().cloned()),
                None => expanded.push(item.clone()),
            }
        }
        expanded
    }
}

/// A list's items with the lists it names expanded; `stack` reports cycles.
fn expand_list(
    name: &str,
    lists: &HashMap<String, ListDef>,
    stack: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    if stack.iter().any(|entry| entry == name) {
        stack.push(name.to_string());
        return Err(format!("list cycle: {}", stack.join(" -> ")));
    }
    stack.push(name.to_string());
    let mut items = Vec::new();
    for item in &lists[name].items {
        if lists.contains_key(item) {
            items.extend(expand_list(item, lists, stack)?);
        } else {
            items.push(unquote(item).to_string());
        }
    }
    stack.pop();
    Ok(items)
}

/// A list item or exception value without the quotes it may carry: Falco pastes list items
/// into the condition text, where `'"10.0.0.0/8"'` reads as the string `10.0.0.0/8`.
fn unquote(item: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = item.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)) {
            return inner;
        }
    }
    item
}
