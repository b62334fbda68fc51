//! Moat's built-in rules: they load cleanly and fire on the behaviour they name, and stay
//! quiet on ordinary events.

mod common;

use common::*;
use moat_rules::Ruleset;
use moat_runtime::agent::{DEFAULT_RULES, DEFAULT_RULES_NAME};
use moat_runtime::{Args, RuntimeEvent};

fn rules() -> Ruleset {
    Ruleset::from_text(DEFAULT_RULES_NAME, DEFAULT_RULES)
        .unwrap_or_else(|errors| panic!("the built-in rules load: {errors}"))
}

fn fired(rules: &Ruleset, event: &RuntimeEvent) -> Vec<String> {
    rules
        .matching(event)
        .iter()
        .map(|rule| rule.name.clone())
        .collect()
}

fn in_container(mut event: RuntimeEvent) -> RuntimeEvent {
    event.container = Some(container().into());
    event
}

fn with_args(event_type: &str, name: &str, pairs: &[(&'static str, &str)]) -> RuntimeEvent {
    let mut args = Args::default();
    for (key, value) in pairs {
        args.push(key, *value);
    }
    event(
        1,
        event_type,
        process(7, name, &format!("/usr/bin/{name}"), &[], Vec::new()),
        args,
    )
}

#[test]
fn the_built_in_rules_load_without_warnings_and_are_all_enabled() {
    let rules = rules();
    assert!(rules.rules().len() >= 12, "{} rules", rules.rules().len());
    assert!(rules.warnings().is_empty(), "{:?}", rules.warnings());
    assert!(rules.rules().iter().all(|rule| rule.enabled));
}

#[test]
fn each_behaviour_fires_its_rule() {
    let rules = rules();
    let cases: Vec<(RuntimeEvent, &str)> = vec![
        (terminal_shell(1), "Moat interactive shell in container"),
        (shadow_read(2), "Moat sensitive file read in container"),
        (
            in_container(open(
                3,
                process(8, "cp", "/usr/bin/cp", &[], Vec::new()),
                "/usr/local/bin/miner",
                "O_WRONLY|O_CREAT|O_TRUNC",
            )),
            "Moat write below binary directory in container",
        ),
        (
            in_container(open(
                4,
                process(9, "sh", "/bin/sh", &[], Vec::new()),
                "/var/log/auth.log",
                "O_WRONLY|O_CREAT|O_TRUNC",
            )),
            "Moat log truncated in container",
        ),
        (
            with_args(
                "symlinkat",
                "ln",
                &[("target", "/etc/shadow"), ("linkpath", "/tmp/x")],
            ),
            "Moat link over sensitive file",
        ),
        (
            in_container(with_args(
                "ptrace",
                "gdb",
                &[("request", "PTRACE_ATTACH"), ("pid", "12")],
            )),
            "Moat ptrace in container",
        ),
        (
            in_container(with_args(
                "socket",
                "tcpdump",
                &[("domain", "AF_PACKET"), ("type", "SOCK_RAW")],
            )),
            "Moat packet socket in container",
        ),
    ];
    for (event, rule) in cases {
        let names = fired(&rules, &event);
        assert!(
            names.iter().any(|name| name == rule),
            "{rule} did not fire for {}: {names:?}",
            event.event_type
        );
    }
}

#[test]
fn ordinary_events_raise_nothing() {
    let rules = rules();
    let mut sshd_read = shadow_read(1);
    std::sync::Arc::make_mut(&mut sshd_read.process).name = "sshd".to_string();
    let host_shell = {
        let mut event = terminal_shell(2);
        event.container = None;
        event
    };
    let mut quiet = quiet_events(10);
    quiet.push(sshd_read);
    quiet.push(host_shell);
    for event in &quiet {
        assert_eq!(fired(&rules, event), Vec::<String>::new(), "{event:?}");
    }
}
