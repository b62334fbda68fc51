//! Field extraction: every catalogued field has a value of the right kind for some event,
//! and the values follow Falco's meaning.

mod common;

use common::*;
use moat_rules::fields::{self, ArgKind, FieldInfo, FieldKind};
use moat_rules::{Event, FieldExpr, FieldValue};
use moat_runtime::{RuntimeEvent, UNANSWERED_FIELDS};
use std::net::IpAddr;

fn expr(name: &str, arg: Option<&str>) -> FieldExpr {
    FieldExpr {
        name: name.to_string(),
        arg: arg.map(str::to_string),
        transformers: Vec::new(),
    }
}

fn get(event: &RuntimeEvent, name: &str) -> Option<String> {
    let field = fields::split_field(name).unwrap_or_else(|| panic!("{name} is not catalogued"));
    event.field(&field).map(|v| moat_rules::output::format_value(&v))
}

/// The argument to try for a field that takes one.
fn sample_arg(info: &FieldInfo) -> Option<&'static str> {
    match (info.arg, info.name) {
        (ArgKind::None, _) => None,
        (_, "evt.arg" | "evt.rawarg") => Some("flags"),
        (_, "thread.cgroup") => Some("cpu"),
        (_, "container.label" | "k8s.pod.label") => Some("app"),
        (_, "proc.env" | "proc.aenv") => Some("HOME"),
        (_, "fd.types") => Some("0"),
        (ArgKind::Key, _) => Some("0"),
        _ => Some("1"),
    }
}

/// True when the value has the variant the rule engine expects for the field's kind.
/// Fields about "either end" or "any ancestor" give several values.
fn kind_fits(info: &FieldInfo, arg: Option<&str>, value: &FieldValue<'_>) -> bool {
    let many = matches!(value, FieldValue::List(_))
        && (info.name == "fd.ip"
            || info.name == "fd.port"
            || (info.arg == ArgKind::OptionalIndex && arg.is_none()));
    many || match info.kind {
        FieldKind::Str => matches!(value, FieldValue::Str(_)),
        FieldKind::U64 | FieldKind::Duration | FieldKind::AbsTime => matches!(value, FieldValue::U64(_)),
        FieldKind::I64 => matches!(value, FieldValue::I64(_)),
        FieldKind::Bool => matches!(value, FieldValue::Bool(_)),
        FieldKind::Ip | FieldKind::IpNet => matches!(value, FieldValue::Ip(_)),
        FieldKind::List => matches!(value, FieldValue::List(_)),
        FieldKind::Bytes => matches!(value, FieldValue::Bytes(_)),
        FieldKind::Dyn => true,
    }
}

#[test]
fn every_catalogued_field_has_a_value_of_its_kind_unless_listed() {
    let events = rich_events();
    let mut missing = Vec::new();
    for info in fields::all() {
        let mut args = vec![sample_arg(info)];
        if !info.arg.is_required() && info.arg.is_allowed() {
            args.push(None);
        }
        for arg in args {
            let field = expr(info.name, arg);
            let values: Vec<FieldValue<'_>> = events.iter().filter_map(|e| e.field(&field)).collect();
            for value in &values {
                assert!(
                    kind_fits(info, arg, value),
                    "{}[{arg:?}] gave {value:?}",
                    info.name
                );
            }
            if values.is_empty() && !UNANSWERED_FIELDS.contains(&info.name) {
                missing.push(format!("{}[{arg:?}]", info.name));
            }
        }
    }
    assert!(missing.is_empty(), "fields without a value: {missing:?}");
    for name in UNANSWERED_FIELDS {
        assert!(fields::lookup(name).is_some(), "{name} is not catalogued");
    }
}

#[test]
fn process_fields_follow_falco() {
    let event = shadow_read(7);
    assert_eq!(get(&event, "proc.name").as_deref(), Some("cat"));
    assert_eq!(get(&event, "proc.exe").as_deref(), Some("/usr/bin/cat"));
    assert_eq!(get(&event, "proc.cmdline").as_deref(), Some("cat /etc/shadow"));
    assert_eq!(get(&event, "proc.args").as_deref(), Some("/etc/shadow"));
    assert_eq!(get(&event, "proc.pname").as_deref(), Some("bash"));
    assert_eq!(get(&event, "proc.aname[0]").as_deref(), Some("cat"));
    assert_eq!(get(&event, "proc.aname[2]").as_deref(), Some("runc"));
    assert_eq!(get(&event, "proc.aname[3]"), None);
    assert_eq!(get(&event, "proc.aname").as_deref(), Some("(bash,runc)"));
    assert_eq!(get(&event, "proc.apid[2]").as_deref(), Some("900"));
    assert_eq!(get(&event, "proc.tty").as_deref(), Some("0"));
    assert_eq!(get(&event, "proc.duration").as_deref(), Some("10000007000"));
    assert_eq!(get(&event, "proc.loginshellid").as_deref(), Some("1000"));
    assert_eq!(get(&event, "user.loginuid").as_deref(), Some("-1"));
}

#[test]
fn event_fields_follow_falco() {
    let mut event = shadow_read(7);
    assert_eq!(get(&event, "evt.res").as_deref(), Some("SUCCESS"));
    assert_eq!(get(&event, "evt.is_open_read").as_deref(), Some("true"));
    assert_eq!(get(&event, "evt.is_open_write").as_deref(), Some("false"));
    assert_eq!(
        get(&event, "evt.arg.flags").as_deref(),
        Some("O_RDONLY|O_CLOEXEC")
    );
    assert_eq!(get(&event, "evt.arg[1]").as_deref(), Some("/etc/shadow"));
    assert_eq!(
        get(&event, "evt.args").as_deref(),
        Some("dirfd=AT_FDCWD name=/etc/shadow flags=O_RDONLY|O_CLOEXEC mode=0")
    );
    assert_eq!(
        get(&event, "evt.time.iso8601").as_deref(),
        Some("2024-02-29T12:34:56.000007000Z")
    );
    event.res = -2;
    assert_eq!(get(&event, "evt.res").as_deref(), Some("ENOENT"));
    assert_eq!(get(&event, "evt.failed").as_deref(), Some("true"));
    let rich = rich_events();
    assert_eq!(get(&rich[1], "evt.is_open_exec").as_deref(), Some("true"));
    assert_eq!(get(&rich[1], "evt.is_open_write").as_deref(), Some("true"));
    assert_eq!(get(&rich[2], "evt.abspath.src").as_deref(), Some("/srv/a.txt"));
    assert_eq!(get(&rich[2], "fs.path.targetraw").as_deref(), Some("/srv/b.txt"));
}

#[test]
fn fd_fields_follow_falco() {
    let file = shadow_read(1);
    assert_eq!(get(&file, "fd.typechar").as_deref(), Some("f"));
    assert_eq!(get(&file, "fd.directory").as_deref(), Some("/etc"));
    assert_eq!(get(&file, "fd.filename").as_deref(), Some("shadow"));
    assert_eq!(get(&file, "fd.lip"), None);
    let net = connect(2);
    assert_eq!(get(&net, "fd.typechar").as_deref(), Some("4"));
    assert_eq!(get(&net, "fd.directory"), None);
    assert_eq!(get(&net, "fd.sport").as_deref(), Some("5432"));
    assert_eq!(get(&net, "fd.rport").as_deref(), Some("5432"));
    assert_eq!(get(&net, "fd.lip").as_deref(), Some("172.17.0.2"));
    assert_eq!(get(&net, "fd.sip.name").as_deref(), Some("db.shop.svc"));
    let rnet = net.field(&expr("fd.rnet", None));
    assert_eq!(rnet, Some(FieldValue::Ip(IpAddr::from([10, 0, 0, 5]))));
}

#[test]
fn container_fields_say_host_outside_containers() {
    let mut event = shadow_read(1);
    assert_eq!(get(&event, "container.id").as_deref(), Some("3f2a9c1e7b4d"));
    assert_eq!(get(&event, "k8s.pod.name").as_deref(), Some("web-7d9f"));
    assert_eq!(get(&event, "k8s.ns.name").as_deref(), Some("shop"));
    event.container = None;
    assert_eq!(get(&event, "container.id").as_deref(), Some("host"));
    assert_eq!(get(&event, "container.name").as_deref(), Some("host"));
    assert_eq!(get(&event, "container.image"), None);
    assert_eq!(get(&event, "k8s.pod.name"), None);
}

#[test]
fn conditions_over_the_fields_match_as_in_falco() {
    let rules = r#"
- rule: any ancestor
  desc: d
  condition: evt.type = openat and proc.aname = runc and fd.typechar = f and fd.num >= 0 and evt.is_open_read = true
  output: "x %proc.name"
  priority: WARNING
- rule: remote network
  desc: d
  condition: evt.type = connect and fd.snet in ("10.0.0.0/8") and fd.port in (5432) and not fd.rip = "192.168.0.1"
  output: "x %fd.name"
  priority: WARNING
"#;
    let ruleset = moat_rules::Ruleset::from_text("test.yaml", rules).expect("rules load");
    let names = |event: &RuntimeEvent| -> Vec<String> {
        ruleset.matching(event).iter().map(|r| r.name.clone()).collect()
    };
    assert_eq!(names(&shadow_read(1)), ["any ancestor"]);
    assert_eq!(names(&connect(2)), ["remote network"]);
    assert!(
        names(&quiet_events(3)[0]).is_empty(),
        "nginx has no runc ancestor"
    );
}
