//! Falco's own rule files, read unmodified from the shared conformance data.

use moat_rules::ruleset::{Priority, Rule, Ruleset, RulesetBuilder};
use moat_rules::{Event, FieldExpr, FieldValue};
use moat_testkit::shared;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

const RULES_DIR: &str = "conformance/falco/rules";

fn rule_file(name: &str) -> Option<PathBuf> {
    let dir = shared::shared_dir()?;
    Some(shared::shared_file(&dir, &format!("{RULES_DIR}/{name}")))
}

/// The names of the rules a file defines (not appends or overrides), read with a plain
/// YAML parse, independently of the loader.
fn defined_rule_names(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).expect("readable rule file");
    let items: Vec<Value> = serde_saphyr::from_str(&text).expect("valid YAML");
    items
        .iter()
        .filter(|item| item.get("append").is_none() && item.get("override").is_none())
        .filter_map(|item| item.get("rule")?.as_str().map(str::to_string))
        .collect()
}

/// An event with the given fields (numbers when they parse as one), keyed by `name` or
/// `name[arg]`.
struct MapEvent(&'static str, HashMap<String, String>);

impl Event for MapEvent {
    fn event_type(&self) -> &str {
        self.0
    }

    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>> {
        if field.name == "evt.type" {
            return Some(FieldValue::Str(Cow::Borrowed(self.0)));
        }
        let key = match &field.arg {
            Some(arg) => format!("{}[{arg}]", field.name),
            None => field.name.clone(),
        };
        let value = self.1.get(&key)?;
        Some(match value.parse::<u64>() {
            Ok(number) => FieldValue::U64(number),
            Err(_) => FieldValue::Str(Cow::Borrowed(value)),
        })
    }
}

fn shell_in_container(tty: &str) -> MapEvent {
    let fields = [
        ("container.id", "0123456789ab"),
        ("proc.name", "bash"),
        ("proc.pname", "runc"),
        ("proc.tty", tty),
        ("user.name", "root"),
    ];
    let map = fields.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    MapEvent("execve", map.collect())
}

fn load(paths: &[PathBuf]) -> Ruleset {
    match Ruleset::load(paths) {
        Ok(ruleset) => ruleset,
        Err(errors) => panic!("Falco rules failed to load: {errors}"),
    }
}

#[test]
fn falco_rules_load_without_errors() {
    let Some(path) = rule_file("falco_rules.yaml") else {
        return;
    };
    let ruleset = load(std::slice::from_ref(&path));
    let expected = defined_rule_names(&path);
    let loaded: BTreeSet<String> = ruleset.rules().iter().map(|r| r.name.clone()).collect();
    assert_eq!(loaded, expected);
    assert_eq!(ruleset.rules().len(), expected.len());
    assert!(ruleset.skipped().is_empty(), "{:?}", ruleset.skipped());

    let shell = ruleset
        .rule("Terminal shell in container")
        .expect("Terminal shell in container is loaded");
    assert_eq!(shell.priority, Priority::Notice);
    assert!(shell.enabled);
    assert_eq!(shell.file, path);
    let line = shell.line as usize;
    let text = std::fs::read_to_string(&path).expect("readable");
    let written = text.lines().nth(line - 1).expect("line exists");
    assert_eq!(written, "- rule: Terminal shell in container");
    let types = shell.condition.event_types().expect("constrained by evt.type");
    assert!(types.contains("execve"), "{types:?}");

    let fired: Vec<&str> = ruleset
        .matching(&shell_in_container("34816"))
        .iter()
        .map(|rule| rule.name.as_str())
        .collect();
    assert!(fired.contains(&"Terminal shell in container"), "{fired:?}");
    let rendered = shell.output.render(&shell_in_container("34816"));
    assert!(
        rendered.starts_with("A shell was spawned in a container with an attached terminal | evt_type=execve user=root user_uid=<NA>"),
        "{rendered}"
    );
    assert!(rendered.contains("process=bash "), "{rendered}");
    assert!(rendered.ends_with("terminal=34816 exe_flags=<NA>"), "{rendered}");
    let fired = ruleset.matching(&shell_in_container("0"));
    assert!(fired.iter().all(|rule| rule.name != shell.name), "{fired:?}");
}

#[test]
fn incubating_and_sandbox_rules_load_on_top_of_falco_rules() {
    let names = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ];
    let Some(paths) = names
        .iter()
        .map(|name| rule_file(name))
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    let ruleset = load(&paths);
    let expected: BTreeSet<String> = paths.iter().flat_map(|p| defined_rule_names(p)).collect();
    let loaded: BTreeSet<&str> = ruleset.rules().iter().map(|r| r.name.as_str()).collect();
    let skipped: BTreeSet<&str> = ruleset.skipped().iter().map(|r| r.name.as_str()).collect();
    let all: BTreeSet<String> = loaded.union(&skipped).map(|n| n.to_string()).collect();
    assert_eq!(all, expected);
    let from_sandbox = ruleset
        .rules()
        .iter()
        .filter(|rule: &&Rule| rule.file == paths[2])
        .count();
    assert!(from_sandbox > 0);
}

#[test]
fn a_typo_in_a_field_names_the_rule_file_and_line() {
    let text = r#"
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.dir=<)

- rule: Typo in a field
  desc: a rule whose condition refers to a field that does not exist
  condition: spawned_process and proc.pnmae = bash
  output: "Shell spawned (user=%user.name command=%proc.cmdline)"
  priority: NOTICE
"#;
    let mut builder = RulesetBuilder::new();
    builder.add_text("typo_rules.yaml", text);
    let errors = builder.build().expect_err("the typo is reported");
    assert_eq!(errors.0.len(), 1, "{errors}");
    let error = &errors.0[0];
    assert_eq!(error.file, Path::new("typo_rules.yaml"));
    assert_eq!(error.line, 5);
    assert_eq!(error.item, "rule 'Typo in a field'");
    assert!(error.message.contains("proc.pnmae"), "{error}");
}
