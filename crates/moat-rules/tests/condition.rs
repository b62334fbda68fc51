//! Parsing, compiling and matching conditions.

use moat_rules::ast::{CmpOp, Expr, FieldExpr, Operand, Transformer};
use moat_rules::condition::{compile, parse, Condition};
use moat_rules::event::{Event, FieldValue};
use moat_rules::fields;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// An event made of a type and field values keyed by `name` or `name[arg]`; it counts
/// how often each field is asked for.
struct TestEvent {
    kind: String,
    values: HashMap<String, FieldValue<'static>>,
    asked: RefCell<HashMap<String, usize>>,
}

fn key(field: &FieldExpr) -> String {
    match &field.arg {
        Some(arg) => format!("{}[{arg}]", field.name),
        None => field.name.clone(),
    }
}

impl TestEvent {
    fn new(kind: &str) -> Self {
        TestEvent {
            kind: kind.to_string(),
            values: HashMap::new(),
            asked: RefCell::new(HashMap::new()),
        }
    }

    fn with(mut self, name: &str, value: FieldValue<'static>) -> Self {
        self.values.insert(name.to_string(), value);
        self
    }

    fn s(self, name: &str, value: &str) -> Self {
        self.with(name, FieldValue::Str(Cow::Owned(value.to_string())))
    }

    fn asked(&self, name: &str) -> usize {
        self.asked.borrow().get(name).copied().unwrap_or(0)
    }
}

impl Event for TestEvent {
    fn event_type(&self) -> &str {
        &self.kind
    }

    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>> {
        let key = key(field);
        *self.asked.borrow_mut().entry(key.clone()).or_default() += 1;
        self.values.get(&key).cloned()
    }
}

fn cond(text: &str) -> Condition {
    let expr = parse(text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    compile(&expr).unwrap_or_else(|e| panic!("compile {text:?}: {e}"))
}

fn compile_error(text: &str) -> String {
    let expr = parse(text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    match compile(&expr) {
        Ok(_) => panic!("{text:?} compiled"),
        Err(e) => e.message,
    }
}

fn list(items: &[&str]) -> FieldValue<'static> {
    FieldValue::List(items.iter().map(|s| Cow::Owned(s.to_string())).collect())
}

fn ip(text: &str) -> FieldValue<'static> {
    FieldValue::Ip(text.parse::<IpAddr>().expect("test address"))
}

fn field(name: &str, arg: Option<&str>) -> FieldExpr {
    FieldExpr {
        name: name.to_string(),
        arg: arg.map(str::to_string),
        transformers: vec![],
    }
}

fn types(items: &[&str]) -> Option<BTreeSet<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

// ---- parsing ----

#[test]
fn and_binds_tighter_than_or_and_not_tightest() {
    let expr = parse("a or b and not c").expect("parses");
    let m = |n: &str| Expr::Macro(n.to_string());
    assert_eq!(
        expr,
        Expr::Or(vec![m("a"), Expr::And(vec![m("b"), Expr::Not(Box::new(m("c")))])])
    );
}

#[test]
fn parses_fields_arguments_values_and_lists() {
    let expr =
        parse(r#"proc.aname[2] in (sh, "b c", 'd') and evt.arg.flags contains O_TRUNC"#).expect("parses");
    let Expr::And(items) = expr else {
        panic!("not an and: {expr:?}")
    };
    assert_eq!(
        items[0],
        Expr::Compare {
            field: field("proc.aname", Some("2")),
            op: CmpOp::In,
            value: Operand::List(vec!["sh".into(), "b c".into(), "d".into()]),
        }
    );
    assert_eq!(
        items[1],
        Expr::Compare {
            field: field("evt.arg", Some("flags")),
            op: CmpOp::Contains,
            value: Operand::Value("O_TRUNC".into()),
        }
    );
}

#[test]
fn parses_symbols_without_spaces_transformers_and_val() {
    let expr = parse("evt.dir=< and tolower(basename(fd.name)) != val(proc.name)").expect("parses");
    let Expr::And(items) = expr else {
        panic!("not an and: {expr:?}")
    };
    assert_eq!(
        items[0],
        Expr::Compare {
            field: field("evt.dir", None),
            op: CmpOp::Eq,
            value: Operand::Value("<".into()),
        }
    );
    let mut fd_name = field("fd.name", None);
    fd_name.transformers = vec![Transformer::Basename, Transformer::Tolower];
    assert_eq!(
        items[1],
        Expr::Compare {
            field: fd_name,
            op: CmpOp::Ne,
            value: Operand::Field(field("proc.name", None)),
        }
    );
}

#[test]
fn parses_quoted_escapes_and_bracketed_bare_words() {
    let expr = parse(r#"proc.pname in (runc:[0:PARENT], "a\"b", 'it\'s', "\d+")"#).expect("parses");
    let Expr::Compare { value, .. } = expr else {
        panic!("not a comparison: {expr:?}")
    };
    assert_eq!(
        value,
        Operand::List(vec![
            "runc:[0:PARENT]".into(),
            "a\"b".into(),
            "it's".into(),
            "\\d+".into()
        ])
    );
}

#[test]
fn parses_exists_empty_lists_and_dotted_keys_in_brackets() {
    assert_eq!(
        parse("not fd.sport exists").expect("parses"),
        Expr::Not(Box::new(Expr::Exists(field("fd.sport", None))))
    );
    assert_eq!(
        parse("container.mount.dest[/var/run/docker.sock] in ()").expect("parses"),
        Expr::Compare {
            field: field("container.mount.dest", Some("/var/run/docker.sock")),
            op: CmpOp::In,
            value: Operand::List(vec![]),
        }
    );
}

#[test]
fn syntax_errors_name_the_offset_and_what_was_expected() {
    let cases: &[(&str, usize, &str)] = &[
        ("proc.name =", 11, "expected a value"),
        ("(proc.name = a", 14, "`)`"),
        ("proc.name = a b", 14, "expected `and`, `or`"),
        ("proc.name", 9, "expected an operator"),
        ("proc.name in (a b)", 16, "`,` or `)`"),
        ("proc.name = \"abc", 12, "closing `\"`"),
        ("", 0, "expected a field"),
        ("a and or b", 6, "before `or`"),
        ("proc.name = (a)", 12, "list is only allowed"),
    ];
    for (text, offset, expected) in cases {
        let error = parse(text).expect_err(text);
        assert_eq!(error.offset, *offset, "{text:?}: {error}");
        assert!(error.message.contains(expected), "{text:?}: {error}");
        assert!(error.to_string().contains(&format!("byte {offset}")), "{error}");
    }
}

// ---- the catalogue ----

#[test]
fn split_field_reads_arguments_and_prefers_the_longest_name() {
    let split = |t: &str| fields::split_field(t).map(|f| (f.name, f.arg));
    let some = |n: &str, a: Option<&str>| Some((n.to_string(), a.map(str::to_string)));
    assert_eq!(split("proc.aname[2]"), some("proc.aname", Some("2")));
    assert_eq!(split("evt.arg.flags"), some("evt.arg", Some("flags")));
    assert_eq!(split("evt.arg[0]"), some("evt.arg", Some("0")));
    assert_eq!(split("fd.sip.name"), some("fd.sip.name", None));
    assert_eq!(
        split("container.image.repository"),
        some("container.image.repository", None)
    );
    assert_eq!(split("fd.name"), some("fd.name", None));
    assert_eq!(split("fd.name.x"), None);
    assert_eq!(split("proc.exe_inox"), None);
    assert_eq!(split("nope.field"), None);
}

#[test]
fn catalogue_names_are_unique_and_described() {
    let mut seen = BTreeSet::new();
    for info in fields::all() {
        assert!(seen.insert(info.name), "{} twice", info.name);
        assert!(!info.description.is_empty(), "{} undescribed", info.name);
        assert_eq!(fields::lookup(info.name), Some(info));
    }
}

// ---- compiling ----

#[test]
fn compile_errors_name_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("proc.nam = x", "unknown field `proc.nam`"),
        (
            "proc.pid contains 1",
            "`contains` does not apply to field `proc.pid`",
        ),
        ("proc.pid = abc", "`abc`"),
        ("proc.pid in (1, x2)", "`x2`"),
        ("evt.arg exists", "needs an argument"),
        ("proc.name[1] = x", "takes no argument"),
        ("proc.aname[x] = y", "takes a number"),
        ("fd.name < 3", "`<` does not apply"),
        ("evt.buffer bcontains zz", "not hex"),
        ("fd.sip = notanip", "IP address"),
        ("container.privileged = yes", "`true` or `false`"),
        ("proc.name regex \"(\"", "bad regex"),
        ("proc.name regex \"a{1000}{1000}{1000}\"", "bad regex"),
        ("proc.name glob \"[a\"", "bad glob"),
        ("len(proc.pid) = 1", "does not apply"),
        ("proc.name glob val(fd.name)", "another field"),
        ("some_macro", "`some_macro`"),
    ];
    for (text, expected) in cases {
        let message = compile_error(text);
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn fields_used_are_distinct_raw_fields_in_order() {
    let c = cond("proc.name = a and (tolower(proc.name) = b or fd.name = val(proc.aname[2]))");
    assert_eq!(
        c.fields_used(),
        &[
            field("proc.name", None),
            field("fd.name", None),
            field("proc.aname", Some("2"))
        ]
    );
}

// ---- matching ----

#[test]
fn equality_and_order_on_every_kind() {
    let e = TestEvent::new("open")
        .s("proc.name", "bash")
        .with("proc.pid", FieldValue::U64(42))
        .with("evt.rawres", FieldValue::I64(-2))
        .with("container.privileged", FieldValue::Bool(true));
    for (text, expected) in [
        ("proc.name = bash", true),
        ("proc.name == bash", true),
        ("proc.name != bash", false),
        ("proc.name = sh", false),
        ("proc.pid = 42", true),
        (
            "proc.pid > 41 and proc.pid >= 42 and proc.pid < 43 and proc.pid <= 42",
            true,
        ),
        ("proc.pid > 42", false),
        ("evt.rawres < 0", true),
        ("evt.rawres >= 0", false),
        ("container.privileged = true", true),
        ("container.privileged = false", false),
        ("proc.pid in (1, 42)", true),
        ("proc.pid in (1, 2)", false),
    ] {
        assert_eq!(cond(text).matches(&e), expected, "{text}");
    }
}

#[test]
fn string_operators() {
    let e = TestEvent::new("open")
        .s("fd.name", "/etc/Shadow")
        .s("proc.cmdline", "sh -c ls");
    for (text, expected) in [
        ("fd.name contains /etc", true),
        ("fd.name contains shadow", false),
        ("fd.name icontains SHADOW", true),
        ("fd.name startswith /etc/", true),
        ("fd.name startswith /var", false),
        ("fd.name endswith Shadow", true),
        ("fd.name glob '/etc/*'", true),
        ("fd.name glob '/etc/s*'", false),
        ("fd.name iglob '/ETC/s*'", true),
        ("fd.name regex '/etc/[A-Z]hadow'", true),
        ("fd.name regex 'etc'", false),
        ("proc.cmdline contains \"-c\"", true),
        ("fd.name in (/etc/Shadow, /x)", true),
        ("fd.name intersects (/etc/Shadow)", true),
    ] {
        assert_eq!(cond(text).matches(&e), expected, "{text}");
    }
}

#[test]
fn pmatch_is_a_path_prefix_match() {
    let c = cond("fd.name pmatch (/etc, /usr/lib/)");
    let m = |path: &str| c.matches(&TestEvent::new("open").s("fd.name", path));
    assert!(m("/etc"));
    assert!(m("/etc/passwd"));
    assert!(!m("/etcx"));
    assert!(m("/usr/lib/x.so"));
    assert!(!m("/usr/libexec"));
    assert!(!m("/var/etc"));
}

#[test]
fn long_pmatch_lists_match_the_same_paths_as_short_ones() {
    let long = cond("fd.name pmatch (/etc, /usr/lib/, /var/run, /, /opt/app/, /srv)");
    let rooted = cond("fd.name pmatch (/etc, /usr/lib/, /var/run, /srv)");
    let m = |c: &Condition, path: &str| c.matches(&TestEvent::new("open").s("fd.name", path));
    for path in ["/etc", "/etc/passwd", "/usr/lib/x.so", "/var/run/a/b", "/srv"] {
        assert!(m(&rooted, path), "{path}");
        assert!(m(&long, path), "{path}");
    }
    for path in ["/etcx", "/usr/libexec", "/var/etc", "relative/etc", "", "/srvx/a"] {
        assert!(!m(&rooted, path), "{path}");
    }
    assert!(m(&long, "/anything/below/root"), "`/` is every absolute path");
    assert!(!m(&long, "relative"), "`/` is not a prefix of a relative path");
}

#[test]
fn long_in_lists_match_exactly_and_numbers_still_compare_as_numbers() {
    let names = cond("proc.name in (sh, bash, zsh, dash, ksh)");
    let m = |c: &Condition, value: &str| c.matches(&TestEvent::new("execve").s("proc.name", value));
    assert!(m(&names, "bash"));
    assert!(m(&names, "ksh"));
    assert!(!m(&names, "bas"));
    assert!(!m(&names, "fish"));
    let args = cond("evt.arg.flags in (10, 20, 30, 40, x)");
    let flags = |value: &str| args.matches(&TestEvent::new("open").s("evt.arg[flags]", value));
    assert!(
        flags("010"),
        "a numeric item equals the same number written otherwise"
    );
    assert!(flags("x"));
    assert!(!flags("50"));
    let caps = |items: &[&str]| TestEvent::new("capset").with("thread.cap_effective", list(items));
    let any = cond("thread.cap_effective intersects (A, B, C, D)");
    let all = cond("thread.cap_effective in (A, B, C, D)");
    assert!(any.matches(&caps(&["Z", "C"])));
    assert!(
        !all.matches(&caps(&["Z", "C"])),
        "`in` on a list field needs every element"
    );
    assert!(all.matches(&caps(&["D", "A"])));
    let ancestors = cond("proc.aname in (a, b, c, d)");
    let e = TestEvent::new("execve").with("proc.aname", list(&["z", "c"]));
    assert!(ancestors.matches(&e), "any ancestor in the list");
}

#[test]
fn byte_operators_take_hex() {
    let e = TestEvent::new("write").with(
        "evt.buffer",
        FieldValue::Bytes(Cow::Owned(vec![0xca, 0xfe, 0xba, 0xbe, 0x00])),
    );
    assert!(cond("evt.buffer bcontains babe00").matches(&e));
    assert!(cond("evt.buffer bstartswith CAFE").matches(&e));
    assert!(!cond("evt.buffer bstartswith babe").matches(&e));
    assert!(!cond("evt.buffer bcontains 0102").matches(&e));
}

#[test]
fn ip_fields_compare_with_addresses_and_networks() {
    let e = TestEvent::new("connect")
        .with("fd.sip", ip("10.1.2.3"))
        .with("fd.snet", ip("10.1.2.3"))
        .with("fd.rip", ip("2001:db8::1"));
    for (text, expected) in [
        ("fd.sip = 10.1.2.3", true),
        ("fd.sip = 10.1.2.4", false),
        ("fd.snet in (\"10.0.0.0/8\")", true),
        ("fd.snet in (\"192.168.0.0/16\", \"10.1.2.0/24\")", true),
        ("fd.snet = \"11.0.0.0/8\"", false),
        ("fd.rip = \"2001:db8::/32\"", true),
        ("fd.rip = 10.1.2.3", false),
        ("fd.sip in (0.0.0.0/0)", true),
    ] {
        assert_eq!(cond(text).matches(&e), expected, "{text}");
    }
}

#[test]
fn list_fields_in_means_all_intersects_means_any() {
    let e = TestEvent::new("capset").with("thread.cap_effective", list(&["CAP_CHOWN", "CAP_SYS_ADMIN"]));
    assert!(cond("thread.cap_effective in (CAP_CHOWN, CAP_SYS_ADMIN, CAP_KILL)").matches(&e));
    assert!(!cond("thread.cap_effective in (CAP_CHOWN)").matches(&e));
    assert!(cond("thread.cap_effective intersects (CAP_SYS_ADMIN, CAP_KILL)").matches(&e));
    assert!(!cond("thread.cap_effective intersects (CAP_KILL)").matches(&e));
    assert!(cond("thread.cap_effective icontains sys_admin").matches(&e));
    assert!(cond("len(thread.cap_effective) = 2").matches(&e));
    let empty = TestEvent::new("capset").with("thread.cap_effective", list(&[]));
    assert!(!cond("thread.cap_effective exists").matches(&empty));
}

#[test]
fn multi_valued_scalar_fields_match_any_element() {
    // proc.aname without index lists every ancestor.
    let e = TestEvent::new("execve").with("proc.aname", list(&["bash", "sshd", "systemd"]));
    assert!(cond("proc.aname = sshd").matches(&e));
    assert!(cond("proc.aname in (sshd, nope)").matches(&e));
    assert!(!cond("proc.aname = containerd").matches(&e));
    assert!(cond("proc.aname != containerd").matches(&e));
    assert!(!cond("proc.aname != sshd").matches(&e));
}

#[test]
fn missing_fields_make_comparisons_false() {
    let e = TestEvent::new("open");
    for (text, expected) in [
        ("proc.name = a", false),
        ("proc.name != a", false),
        ("not proc.name = a", true),
        ("proc.name exists", false),
        ("not proc.name exists", true),
        ("proc.pid < 5", false),
        ("proc.name in (a)", false),
        ("proc.name = val(fd.name)", false),
    ] {
        assert_eq!(cond(text).matches(&e), expected, "{text}");
    }
    let e = e.s("proc.name", "");
    assert!(cond("proc.name exists").matches(&e));
}

#[test]
fn transformers_apply_innermost_first() {
    let e = TestEvent::new("open")
        .s("fd.name", "/tmp/EVIL.sh")
        .s("proc.env", "aGVsbG8gd29ybGQ=");
    for (text, expected) in [
        ("tolower(basename(fd.name)) = evil.sh", true),
        ("toupper(fd.name) = /TMP/EVIL.SH", true),
        ("basename(fd.name) = EVIL.sh", true),
        ("len(fd.name) = 12", true),
        ("len(basename(fd.name)) > 7", false),
        ("b64(proc.env) = \"hello world\"", true),
        ("b64(fd.name) exists", false),
    ] {
        assert_eq!(cond(text).matches(&e), expected, "{text}");
    }
}

#[test]
fn field_to_field_comparisons() {
    let e = TestEvent::new("execve")
        .s("proc.name", "bash")
        .s("proc.pname", "bash")
        .s("proc.exe", "/bin/bash")
        .with("proc.pid", FieldValue::U64(10))
        .with("proc.ppid", FieldValue::U64(9));
    assert!(cond("proc.name = val(proc.pname)").matches(&e));
    assert!(cond("proc.exe endswith val(proc.name)").matches(&e));
    assert!(cond("proc.pid > val(proc.ppid)").matches(&e));
    assert!(!cond("proc.pid <= val(proc.ppid)").matches(&e));
}

#[test]
fn dynamic_event_arguments_compare_as_numbers_or_text() {
    let e = TestEvent::new("setuid")
        .s("evt.arg[uid]", "nobody")
        .s("evt.arg[flags]", "O_RDWR|O_TRUNC")
        .with("evt.rawarg[res]", FieldValue::I64(-13));
    assert!(cond("evt.arg.uid = nobody").matches(&e));
    assert!(cond("evt.arg[flags] contains O_TRUNC").matches(&e));
    assert!(cond("evt.rawarg.res < 0").matches(&e));
    assert!(cond("evt.rawarg.res = -13").matches(&e));
    assert!(!cond("evt.rawarg.res >= 0").matches(&e));
}

#[test]
fn evaluation_short_circuits_and_reads_each_field_once() {
    let e = TestEvent::new("open").s("proc.name", "bash");
    let c = cond("(proc.name = sh or proc.name startswith ba or fd.name = x) and proc.name != zsh");
    assert!(c.matches(&e));
    assert_eq!(e.asked("proc.name"), 1);
    assert_eq!(e.asked("fd.name"), 0, "or stops at the first true operand");
    let c = cond("proc.name = sh and fd.name = x");
    assert!(!c.matches(&e));
    assert_eq!(e.asked("fd.name"), 0, "and stops at the first false operand");
    assert!(!c.matches(&e));
    assert_eq!(e.asked("proc.name"), 3, "each evaluation reads afresh");
}

#[test]
fn evt_type_comes_from_the_event() {
    let e = TestEvent::new("openat");
    assert!(cond("evt.type in (open, openat)").matches(&e));
    assert!(!cond("evt.type = execve").matches(&e));
    assert!(cond("evt.type startswith open").matches(&e));
    assert_eq!(e.asked("evt.type"), 0);
}

#[test]
fn constants_and_real_rule_shapes() {
    let e = TestEvent::new("connect")
        .s("evt.dir", "<")
        .s("fd.typechar", "4")
        .s("container.id", "abc123");
    let c = cond(
        "(evt.type = connect and evt.dir=< and (fd.typechar=4 or fd.typechar=6)) and container.id != host",
    );
    assert!(c.matches(&e));
    let always = compile(&Expr::Bool(true)).expect("compiles");
    assert!(always.matches(&e));
    assert!(!compile(&Expr::Not(Box::new(Expr::Bool(true))))
        .expect("compiles")
        .matches(&e));
}

// ---- event types ----

#[test]
fn event_types_follow_and_or_not() {
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("proc.name = a", None),
        ("evt.type = open", Some(&["open"])),
        (
            "evt.type in (open, openat) and proc.name = a",
            Some(&["open", "openat"]),
        ),
        (
            "evt.type in (open, openat) and evt.type in (openat, execve)",
            Some(&["openat"]),
        ),
        ("evt.type = open or evt.type = execve", Some(&["execve", "open"])),
        ("evt.type = open or proc.name = a", None),
        ("evt.type != open", None),
        ("not evt.type in (open, openat)", None),
        (
            "evt.type in (open, openat) and not evt.type = open",
            Some(&["openat"]),
        ),
        (
            "evt.type in (open, openat) and evt.type != openat",
            Some(&["open"]),
        ),
        ("not (evt.type = open and proc.name = a)", None),
        ("not (evt.type != open or proc.name = a)", Some(&["open"])),
        ("not not evt.type = open", Some(&["open"])),
        ("evt.type = open and evt.type = execve", Some(&[])),
        ("evt.type startswith open", None),
        ("tolower(evt.type) = open", None),
        (
            "(evt.type = open and proc.name = a) or (evt.type = connect and fd.num = 3)",
            Some(&["connect", "open"]),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            cond(text).event_types(),
            expected.map(|e| types(e).expect("set")),
            "{text}"
        );
    }
}

// ---- the Falco rule files ----

/// Every `condition:` of the rule files' macros and rules.
fn falco_conditions() -> Option<Vec<(String, String)>> {
    let shared = moat_testkit::shared::shared_dir()?;
    let mut out = Vec::new();
    for file in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let path = moat_testkit::shared::shared_file(&shared, &format!("conformance/falco/rules/{file}"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let items = doc.as_array().unwrap_or_else(|| panic!("{file} is not a list"));
        for item in items {
            let name = item
                .get("macro")
                .or_else(|| item.get("rule"))
                .and_then(|n| n.as_str());
            if let (Some(name), Some(c)) = (name, item.get("condition").and_then(|c| c.as_str())) {
                out.push((format!("{file}: {name}"), c.to_string()));
            }
        }
    }
    Some(out)
}

#[test]
fn every_falco_condition_parses() {
    let Some(conditions) = falco_conditions() else {
        return;
    };
    assert!(conditions.len() > 400, "only {} conditions", conditions.len());
    let failures: Vec<String> = conditions
        .iter()
        .filter_map(|(name, text)| parse(text).err().map(|e| format!("{name}: {e}\n  {text}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_field_in_the_falco_rules_is_catalogued() {
    let Some(conditions) = falco_conditions() else {
        return;
    };
    let mut unknown = BTreeSet::new();
    for (_, text) in &conditions {
        collect_unknown(&parse(text).expect("parses"), &mut unknown);
    }
    assert!(unknown.is_empty(), "not catalogued: {unknown:?}");
}

fn collect_unknown(expr: &Expr, unknown: &mut BTreeSet<String>) {
    let mut check = |f: &FieldExpr| {
        if fields::lookup(&f.name).is_none() {
            unknown.insert(f.name.clone());
        }
    };
    match expr {
        Expr::And(items) | Expr::Or(items) => {
            items.iter().for_each(|i| collect_unknown(i, unknown));
        }
        Expr::Not(inner) => collect_unknown(inner, unknown),
        Expr::Exists(f) => check(f),
        Expr::Compare { field, value, .. } => {
            check(field);
            if let Operand::Field(other) = value {
                check(other);
            }
        }
        Expr::Macro(_) | Expr::Bool(_) => {}
    }
}

/// Names of the `list:` items of the rule files.
fn falco_list_names() -> Option<BTreeSet<String>> {
    let shared = moat_testkit::shared::shared_dir()?;
    let mut names = BTreeSet::new();
    for file in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let path = moat_testkit::shared::shared_file(&shared, &format!("conformance/falco/rules/{file}"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let items = doc.as_array().into_iter().flatten();
        names.extend(items.filter_map(|i| i.get("list")?.as_str().map(str::to_string)));
    }
    Some(names)
}

#[test]
fn every_falco_comparison_without_list_names_compiles() {
    let (Some(conditions), Some(lists)) = (falco_conditions(), falco_list_names()) else {
        return;
    };
    let mut failures = Vec::new();
    let mut compiled = 0;
    for (name, text) in &conditions {
        let mut leaves = Vec::new();
        comparisons(&parse(text).expect("parses"), &mut leaves);
        for leaf in leaves {
            let Expr::Compare {
                value: Operand::List(items),
                ..
            } = &leaf
            else {
                if let Err(e) = compile(&leaf) {
                    failures.push(format!("{name}: {e}"));
                }
                compiled += 1;
                continue;
            };
            if items.iter().any(|item| lists.contains(item)) {
                continue;
            }
            compiled += 1;
            if let Err(e) = compile(&leaf) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(compiled > 500, "only {compiled} comparisons");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn comparisons(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| comparisons(i, out)),
        Expr::Not(inner) => comparisons(inner, out),
        Expr::Compare { .. } | Expr::Exists(_) => out.push(expr.clone()),
        Expr::Macro(_) | Expr::Bool(_) => {}
    }
}
