//! Loading small rule files: lists, macros, rules, append/override, exceptions, errors,
//! the event-type index and output rendering.

use moat_rules::ruleset::{LoadErrors, Priority, Rule, Ruleset, RulesetBuilder, ENGINE_VERSION};
use moat_rules::{Event, FieldExpr, FieldValue, Scratch};
use std::borrow::Cow;
use std::collections::HashMap;

/// An event whose fields are given as text, keyed by `name` or `name[arg]`.
struct MapEvent {
    event_type: String,
    fields: HashMap<String, String>,
}

impl MapEvent {
    fn new(event_type: &str, fields: &[(&str, &str)]) -> MapEvent {
        let mut map: HashMap<String, String> = fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        map.insert("evt.type".to_string(), event_type.to_string());
        MapEvent {
            event_type: event_type.to_string(),
            fields: map,
        }
    }
}

impl Event for MapEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>> {
        let key = match &field.arg {
            Some(arg) => format!("{}[{arg}]", field.name),
            None => field.name.clone(),
        };
        let value = self.fields.get(&key)?;
        Some(match value.parse::<u64>() {
            Ok(number) => FieldValue::U64(number),
            Err(_) => FieldValue::Str(Cow::Borrowed(value)),
        })
    }
}

fn load(text: &str) -> Ruleset {
    match Ruleset::from_text("test.yaml", text) {
        Ok(ruleset) => ruleset,
        Err(errors) => panic!("load failed: {errors}"),
    }
}

fn load_errors(text: &str) -> LoadErrors {
    match Ruleset::from_text("bad.yaml", text) {
        Ok(ruleset) => panic!("expected errors, loaded {ruleset:?}"),
        Err(errors) => errors,
    }
}

fn names(rules: &[&Rule]) -> Vec<String> {
    rules.iter().map(|rule| rule.name.clone()).collect()
}

const BASE: &str = r#"
- list: shell_binaries
  items: [bash, sh]
- list: all_shells
  items: [shell_binaries, zsh]
- macro: spawned_process
  condition: evt.type = execve
- macro: shell_procs
  condition: proc.name in (all_shells)
- rule: Shell spawned
  desc: a shell was started
  condition: spawned_process and shell_procs
  output: "Shell %proc.name started (parent=%proc.pname gparent=%proc.aname[2])"
  priority: notice
  tags: [shell, process]
- rule: File opened
  desc: a file was opened
  condition: evt.type in (open, openat) and fd.name startswith /etc
  output: file=%fd.name
  priority: WARNING
"#;

#[test]
fn lists_nest_and_macros_resolve() {
    let ruleset = load(BASE);
    let zsh = MapEvent::new("execve", &[("proc.name", "zsh")]);
    let bash = MapEvent::new("execve", &[("proc.name", "bash")]);
    let vim = MapEvent::new("execve", &[("proc.name", "vim")]);
    assert_eq!(names(&ruleset.matching(&zsh)), vec!["Shell spawned"]);
    assert_eq!(names(&ruleset.matching(&bash)), vec!["Shell spawned"]);
    assert!(ruleset.matching(&vim).is_empty());
    let rule = ruleset.rule("Shell spawned").expect("rule exists");
    assert_eq!(rule.priority, Priority::Notice);
    assert_eq!(rule.tags, vec!["shell", "process"]);
    assert_eq!(rule.line, 10);
    assert_eq!(rule.file.to_str(), Some("test.yaml"));
}

#[test]
fn the_event_type_index_only_offers_matching_types() {
    let ruleset = load(BASE);
    let open = MapEvent::new("openat", &[("fd.name", "/etc/passwd"), ("proc.name", "bash")]);
    assert_eq!(names(&ruleset.matching(&open)), vec!["File opened"]);
    let other = MapEvent::new("close", &[("fd.name", "/etc/passwd")]);
    assert!(ruleset.matching(&other).is_empty());
    assert!(ruleset.warnings().is_empty(), "{:?}", ruleset.warnings());
}

#[test]
fn rules_without_event_type_are_evaluated_for_every_type_and_warned_about() {
    let text = format!(
        "{BASE}- rule: Any\n  desc: d\n  condition: proc.name = bash\n  output: o\n  priority: DEBUG\n"
    );
    let ruleset = load(&text);
    let bash = MapEvent::new("execve", &[("proc.name", "bash")]);
    assert_eq!(names(&ruleset.matching(&bash)), vec!["Shell spawned", "Any"]);
    let close = MapEvent::new("close", &[("proc.name", "bash")]);
    assert_eq!(names(&ruleset.matching(&close)), vec!["Any"]);
    let warning = &ruleset.warnings()[0];
    assert_eq!(warning.item, "rule 'Any'");
    assert!(warning.message.contains("evt.type"), "{warning}");
}

#[test]
fn priorities_parse_in_any_case_and_order_by_severity() {
    assert_eq!("info".parse::<Priority>(), Ok(Priority::Informational));
    assert_eq!("Emergency".parse::<Priority>(), Ok(Priority::Emergency));
    assert!("loud".parse::<Priority>().is_err());
    assert!(Priority::Critical > Priority::Warning);
    assert!(Priority::Debug < Priority::Informational);
}

#[test]
fn append_and_override_change_earlier_definitions_across_files() {
    let later = r#"
- list: shell_binaries
  items: [fish]
  append: true
- macro: shell_procs
  condition: or proc.name = ksh
  append: true
- rule: Shell spawned
  condition: and proc.pname != sshd
  override:
    condition: append
- rule: File opened
  priority: critical
  output: opened %fd.name
  override:
    priority: replace
    output: replace
"#;
    let mut builder = RulesetBuilder::new();
    builder.add_text("base.yaml", BASE).add_text("later.yaml", later);
    let ruleset = builder.build().expect("loads");
    let fish = MapEvent::new("execve", &[("proc.name", "fish"), ("proc.pname", "init")]);
    let ksh = MapEvent::new("execve", &[("proc.name", "ksh"), ("proc.pname", "init")]);
    let from_sshd = MapEvent::new("execve", &[("proc.name", "bash"), ("proc.pname", "sshd")]);
    assert_eq!(names(&ruleset.matching(&fish)), vec!["Shell spawned"]);
    assert_eq!(names(&ruleset.matching(&ksh)), vec!["Shell spawned"]);
    assert!(ruleset.matching(&from_sshd).is_empty());
    let opened = ruleset.rule("File opened").expect("rule exists");
    assert_eq!(opened.priority, Priority::Critical);
    assert_eq!(opened.output.template(), "opened %fd.name");
    assert_eq!(opened.file.to_str(), Some("base.yaml"));
}

#[test]
fn list_override_replaces_items() {
    let later = "- list: all_shells\n  items: [tcsh]\n  override:\n    items: replace\n";
    let mut builder = RulesetBuilder::new();
    builder.add_text("base.yaml", BASE).add_text("later.yaml", later);
    let ruleset = builder.build().expect("loads");
    let bash = MapEvent::new("execve", &[("proc.name", "bash")]);
    let tcsh = MapEvent::new("execve", &[("proc.name", "tcsh")]);
    assert!(ruleset.matching(&bash).is_empty());
    assert_eq!(ruleset.matching(&tcsh).len(), 1);
}

#[test]
fn appending_to_an_undefined_rule_is_an_error() {
    let errors = load_errors("- rule: Nope\n  condition: and proc.name = x\n  append: true\n");
    assert_eq!(errors.0[0].item, "rule 'Nope'");
    assert_eq!(errors.0[0].line, 1);
}

#[test]
fn disabled_rules_are_kept_but_not_matched_until_enabled() {
    let text = format!("{BASE}- rule: Shell spawned\n  enabled: false\n");
    let mut ruleset = load(&text);
    let bash = MapEvent::new("execve", &[("proc.name", "bash")]);
    assert!(ruleset.matching(&bash).is_empty());
    assert_eq!(ruleset.enabled_rules().count(), 1);
    assert!(ruleset.enable("Shell spawned", true));
    assert_eq!(names(&ruleset.matching(&bash)), vec!["Shell spawned"]);
    assert_eq!(ruleset.enable_tagged("shell", false), 1);
    assert!(ruleset.matching(&bash).is_empty());
    assert!(!ruleset.enable("No such rule", true));
}

#[test]
fn exceptions_exclude_matching_tuples() {
    let text = format!(
        r#"{BASE}- rule: Shell spawned
  exceptions:
    - name: known_parents
      fields: [proc.pname, proc.cwd]
      comps: [in, startswith]
      values:
        - [cron, /var]
        - [[make, ninja], /src]
    - name: by_name
      fields: proc.name
      values: [zsh]
    - name: unused
      fields: [proc.name]
  override:
    exceptions: append
"#
    );
    let ruleset = load(&text);
    let fires = |fields: &[(&str, &str)]| !ruleset.matching(&MapEvent::new("execve", fields)).is_empty();
    assert!(fires(&[
        ("proc.name", "bash"),
        ("proc.pname", "cron"),
        ("proc.cwd", "/home")
    ]));
    assert!(!fires(&[
        ("proc.name", "bash"),
        ("proc.pname", "cron"),
        ("proc.cwd", "/var/x")
    ]));
    assert!(!fires(&[
        ("proc.name", "sh"),
        ("proc.pname", "ninja"),
        ("proc.cwd", "/src/a")
    ]));
    assert!(fires(&[
        ("proc.name", "sh"),
        ("proc.pname", "ninja"),
        ("proc.cwd", "/tmp")
    ]));
    assert!(!fires(&[
        ("proc.name", "zsh"),
        ("proc.pname", "x"),
        ("proc.cwd", "/")
    ]));
}

#[test]
fn exception_values_may_name_lists() {
    let text = format!(
        r#"{BASE}- list: trusted_parents
  items: [cron, systemd]
- rule: Shell spawned
  exceptions:
    - name: trusted
      fields: [proc.pname]
      comps: [in]
      values: [[trusted_parents]]
  append: true
"#
    );
    let ruleset = load(&text);
    let from = |parent: &str| {
        let event = MapEvent::new("execve", &[("proc.name", "bash"), ("proc.pname", parent)]);
        ruleset.matching(&event).len()
    };
    assert_eq!(from("systemd"), 0);
    assert_eq!(from("sshd"), 1);
}

#[test]
fn an_undefined_macro_names_rule_file_and_line() {
    let errors = load_errors(
        "- macro: m\n  condition: evt.type = execve\n\n- rule: Uses missing\n  desc: d\n  condition: m and not_defined_anywhere\n  output: o\n  priority: ERROR\n",
    );
    assert_eq!(errors.0.len(), 1, "{errors}");
    let error = &errors.0[0];
    assert_eq!(error.item, "rule 'Uses missing'");
    assert_eq!(error.line, 4);
    assert!(error.message.contains("not_defined_anywhere"), "{error}");
    assert!(
        errors.to_string().contains("bad.yaml:4: rule 'Uses missing'"),
        "{errors}"
    );
}

#[test]
fn macro_and_list_cycles_are_errors() {
    let errors = load_errors(
        "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: R\n  desc: d\n  condition: evt.type = execve and a\n  output: o\n  priority: INFO\n- list: x\n  items: [y]\n- list: y\n  items: [x]\n",
    );
    let text = errors.to_string();
    assert!(text.contains("macro cycle"), "{text}");
    assert!(text.contains("list cycle"), "{text}");
    assert!(text.contains("bad.yaml:5: rule 'R'"), "{text}");
}

#[test]
fn unknown_fields_in_conditions_and_outputs_name_rule_file_and_line() {
    let errors = load_errors(
        "- rule: Typo\n  desc: d\n  condition: evt.type = execve and proc.nmae = bash\n  output: o\n  priority: INFO\n- rule: Bad output\n  desc: d\n  condition: evt.type = execve\n  output: x=%proc.nmae\n  priority: INFO\n",
    );
    assert_eq!(errors.0.len(), 2, "{errors}");
    assert_eq!((errors.0[0].item.as_str(), errors.0[0].line), ("rule 'Typo'", 1));
    assert!(errors.0[0].message.contains("proc.nmae"), "{errors}");
    assert_eq!(
        (errors.0[1].item.as_str(), errors.0[1].line),
        ("rule 'Bad output'", 6)
    );
    assert!(errors.0[1].message.contains("proc.nmae"), "{errors}");
}

#[test]
fn syntax_errors_in_rules_and_macros_are_reported() {
    let errors = load_errors(
        "- macro: broken\n  condition: proc.name = (\n- rule: R\n  desc: d\n  condition: evt.type = execve and (proc.name = x\n  output: o\n  priority: INFO\n",
    );
    let text = errors.to_string();
    assert!(
        text.contains("bad.yaml:1: macro 'broken': condition syntax error"),
        "{text}"
    );
    assert!(
        text.contains("bad.yaml:3: rule 'R': condition syntax error"),
        "{text}"
    );
}

#[test]
fn malformed_yaml_and_unknown_items_name_file_and_line() {
    let errors = load_errors("- list: a\n  items: [x]\n- whatever: 1\n");
    assert_eq!(errors.0[0].line, 3);
    assert!(errors.0[0].message.contains("unknown item type"), "{errors}");
    let errors = load_errors("- list: a\n  items: [x\n");
    assert!(errors.0[0].message.contains("invalid YAML"), "{errors}");
    assert!(errors.0[0].line >= 2, "{errors}");
}

#[test]
fn newer_required_engine_versions_are_refused() {
    load(&format!(
        "- required_engine_version: {ENGINE_VERSION}\n- required_engine_version: 12\n"
    ));
    let errors = load_errors("- list: a\n  items: []\n- required_engine_version: 99.0.0\n");
    assert_eq!(errors.0[0].line, 3);
    assert!(errors.0[0].message.contains("99.0.0"), "{errors}");
}

#[test]
fn rules_for_other_sources_are_skipped_with_a_warning() {
    let ruleset = load(
        "- rule: K8s thing\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
    );
    assert!(ruleset.rules().is_empty());
    assert_eq!(ruleset.skipped()[0].name, "K8s thing");
    assert!(ruleset.warnings()[0].message.contains("k8s_audit"));
}

#[test]
fn outputs_render_values_and_missing_fields() {
    let ruleset = load(BASE);
    let event = MapEvent::new("execve", &[("proc.name", "bash"), ("proc.aname[2]", "systemd")]);
    let rule = ruleset.matching(&event)[0];
    assert_eq!(
        rule.output.render(&event),
        "Shell bash started (parent=<NA> gparent=systemd)"
    );
}

#[test]
fn missing_required_keys_are_errors() {
    let errors = load_errors("- rule: Half\n  condition: evt.type = execve\n  output: o\n");
    assert!(errors.0[0].message.contains("priority"), "{errors}");
}

#[test]
fn rule_files_are_read_from_disk_and_missing_ones_named() {
    let dir = std::env::temp_dir().join(format!("moat-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("rules.yaml");
    std::fs::write(&path, BASE).expect("write");
    let missing = dir.join("missing.yaml");
    let ruleset = Ruleset::load(std::slice::from_ref(&path)).expect("loads");
    assert_eq!(ruleset.rules().len(), 2);
    let errors = Ruleset::load(&[path, missing.clone()]).unwrap_err();
    assert_eq!(errors.0[0].file, missing);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn quoted_list_items_lose_their_quotes_as_in_a_condition() {
    let ruleset = load(
        "- list: apps\n  items: ['\"my app\"', plain]\n- rule: R\n  desc: d\n  condition: evt.type = execve and proc.name in (apps)\n  output: o\n  priority: INFO\n",
    );
    let fires = |name: &str| {
        ruleset
            .matching(&MapEvent::new("execve", &[("proc.name", name)]))
            .len()
    };
    assert_eq!(fires("my app"), 1);
    assert_eq!(fires("plain"), 1);
    assert_eq!(fires("\"my app\""), 0);
}

/// A [`MapEvent`] that counts how often each field (`name` or `name[arg]`) is extracted.
struct CountingEvent {
    inner: MapEvent,
    extracted: std::cell::RefCell<HashMap<String, usize>>,
}

impl CountingEvent {
    fn new(event_type: &str, fields: &[(&str, &str)]) -> CountingEvent {
        CountingEvent {
            inner: MapEvent::new(event_type, fields),
            extracted: Default::default(),
        }
    }

    fn extracted(&self, key: &str) -> usize {
        self.extracted.borrow().get(key).copied().unwrap_or(0)
    }
}

impl Event for CountingEvent {
    fn event_type(&self) -> &str {
        self.inner.event_type()
    }

    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>> {
        let key = match &field.arg {
            Some(arg) => format!("{}[{arg}]", field.name),
            None => field.name.clone(),
        };
        *self.extracted.borrow_mut().entry(key).or_default() += 1;
        self.inner.field(field)
    }
}

const SHARED_FIELDS: &str = r#"
- macro: in_container
  condition: container.id != host
- rule: Shell in container
  desc: d
  condition: evt.type = execve and in_container and proc.name in (sh, bash)
  output: o
  priority: notice
- rule: Editor in container
  desc: d
  condition: evt.type = execve and in_container and proc.name = vim
  output: o
  priority: notice
- rule: Any process in container
  desc: d
  condition: in_container and proc.name exists and tolower(proc.name) != zsh and not proc.aname[2] = sshd
  output: o
  priority: notice
"#;

#[test]
fn each_field_is_extracted_once_per_event_across_rules() {
    let ruleset = load(SHARED_FIELDS);
    let bash = CountingEvent::new("execve", &[("container.id", "c1"), ("proc.name", "bash")]);
    assert_eq!(
        names(&ruleset.matching(&bash)),
        vec!["Shell in container", "Any process in container"]
    );
    assert_eq!(bash.extracted("container.id"), 1, "read by three rules");
    assert_eq!(
        bash.extracted("proc.name"),
        1,
        "read by three rules, once transformed"
    );
    assert_eq!(bash.extracted("proc.aname[2]"), 1);
    assert_eq!(
        bash.extracted("evt.type"),
        0,
        "the event type is not a field extraction"
    );
    // Matching the same event again extracts afresh: nothing is kept between calls.
    ruleset.matching(&bash);
    assert_eq!(bash.extracted("container.id"), 2);
}

#[test]
fn a_reused_scratch_never_carries_values_to_the_next_event() {
    let ruleset = load(SHARED_FIELDS);
    let mut scratch = Scratch::new();
    let mut matched = |event: &CountingEvent| {
        let mut names = Vec::new();
        ruleset.matching_with(event, &mut scratch, |rule| names.push(rule.name.clone()));
        names
    };
    let vim = CountingEvent::new("execve", &[("container.id", "c1"), ("proc.name", "vim")]);
    let host = CountingEvent::new("execve", &[("container.id", "host"), ("proc.name", "sh")]);
    let sh = CountingEvent::new("execve", &[("container.id", "c2"), ("proc.name", "sh")]);
    assert_eq!(
        matched(&vim),
        vec!["Editor in container", "Any process in container"]
    );
    assert!(matched(&host).is_empty());
    assert_eq!(
        matched(&sh),
        vec!["Shell in container", "Any process in container"]
    );
    for event in [&vim, &host, &sh] {
        assert_eq!(event.extracted("container.id"), 1);
    }
    assert_eq!(
        host.extracted("proc.name"),
        0,
        "no rule got past the container test"
    );
    assert_eq!(sh.extracted("proc.name"), 1);
}

const TYPE_TESTS: &str = r#"
- rule: Open a or exec b
  desc: d
  condition: (evt.type = open and fd.name = a) or (evt.type = execve and proc.name = b)
  output: o
  priority: notice
- rule: Exec but not open
  desc: d
  condition: evt.type in (open, execve) and not evt.type = open and proc.name exists
  output: o
  priority: notice
- rule: Transformed type
  desc: d
  condition: evt.type in (open, connect) and toupper(evt.type) = OPEN
  output: o
  priority: notice
- rule: Any type
  desc: d
  condition: proc.name = b or evt.type startswith conn
  output: o
  priority: notice
"#;

#[test]
fn the_index_matches_exactly_what_each_condition_matches() {
    let ruleset = load(TYPE_TESTS);
    let fields: &[(&str, &str)] = &[("fd.name", "a"), ("proc.name", "b")];
    for event_type in ["open", "execve", "connect", "close"] {
        let event = MapEvent::new(event_type, fields);
        let expected: Vec<String> = ruleset
            .rules()
            .iter()
            .filter(|rule| rule.condition.matches(&event))
            .map(|rule| rule.name.clone())
            .collect();
        assert_eq!(names(&ruleset.matching(&event)), expected, "{event_type}");
    }
    let open = MapEvent::new("open", fields);
    assert_eq!(
        names(&ruleset.matching(&open)),
        vec!["Open a or exec b", "Transformed type", "Any type"]
    );
    let execve = MapEvent::new("execve", &[("fd.name", "a"), ("proc.name", "c")]);
    assert_eq!(names(&ruleset.matching(&execve)), vec!["Exec but not open"]);
    let connect = MapEvent::new("connect", &[]);
    assert_eq!(names(&ruleset.matching(&connect)), vec!["Any type"]);
}
