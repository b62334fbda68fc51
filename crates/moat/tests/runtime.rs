//! `moat runtime replay`, run as a user would: a recording of events against Falco's
//! default rules prints Falco-shaped alerts for the events that break a rule, and nothing
//! for the others.

mod common;

use common::moat;
use moat_runtime::{Args, Container, Direction, Process, ProcessSummary, RecordingWriter, RuntimeEvent};
use moat_testkit::shared::{shared_dir, shared_file};

const CONTAINER_ID: &str = "9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f3f2a";

/// `name` exec'd by runc in a container, with a terminal when `tty` is given.
fn exec_in_container(num: u64, name: &str, path: &str, tty: Option<u64>) -> RuntimeEvent {
    let runc = ProcessSummary {
        pid: 900,
        vpid: 900,
        name: "runc".into(),
        exe: "/usr/bin/runc".into(),
        exepath: "/usr/bin/runc".into(),
        args: vec!["init".into()],
        ..ProcessSummary::default()
    };
    let mut args = Args::default();
    args.push("exe", path);
    RuntimeEvent {
        num,
        ts: 1_709_210_096_000_000_000 + num,
        event_type: "execve".into(),
        dir: Direction::Exit,
        args,
        process: Process {
            pid: 1000 + num,
            tid: 1000 + num,
            vpid: 1000 + num,
            name: name.into(),
            exe: path.into(),
            exepath: path.into(),
            cwd: "/".into(),
            tty,
            ancestors: vec![runc],
            ..Process::default()
        }
        .into(),
        container: Some(
            Container {
                id: CONTAINER_ID.into(),
                name: "web".into(),
                image: "docker.io/library/nginx:1.25".into(),
                repository: "docker.io/library/nginx".into(),
                tag: "1.25".into(),
                ..Container::default()
            }
            .into(),
        ),
        ..RuntimeEvent::default()
    }
}

#[test]
fn a_recording_replayed_against_falco_rules_prints_its_alerts() {
    let Some(shared) = shared_dir() else { return };
    let rules = shared_file(&shared, "conformance/falco/rules/falco_rules.yaml");
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("events.jsonl");
    let mut writer = RecordingWriter::new(std::fs::File::create(&recording).unwrap());
    for event in [
        exec_in_container(1, "nginx", "/usr/sbin/nginx", None),
        exec_in_container(2, "bash", "/bin/bash", Some(34816)),
    ] {
        writer.write(&event).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    let output = moat(&[
        "runtime",
        "replay",
        "--rules",
        rules.to_str().unwrap(),
        recording.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("an alert per line"))
        .collect();
    assert_eq!(alerts.len(), 1, "{stdout}");
    assert_eq!(alerts[0]["rule"], "Terminal shell in container");
    assert_eq!(alerts[0]["priority"], "Notice");
    assert_eq!(alerts[0]["source"], "syscall");
    assert_eq!(alerts[0]["output_fields"]["container.id"], &CONTAINER_ID[..12]);
    assert_eq!(
        alerts[0]["output_fields"]["container.image.repository"],
        "docker.io/library/nginx"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("2 events, 1 alerts"));

    // Above its priority the alert is filtered out.
    let filtered = moat(&[
        "runtime",
        "replay",
        "-q",
        "--min-priority",
        "warning",
        "--rules",
        rules.to_str().unwrap(),
        recording.to_str().unwrap(),
    ]);
    assert_eq!(filtered.status.code(), Some(0));
    assert!(
        filtered.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&filtered.stdout)
    );
}

#[test]
fn a_broken_recording_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Any exec\n  desc: d\n  condition: evt.type = execve\n  output: \"%proc.name\"\n  priority: NOTICE\n",
    )
    .unwrap();
    let recording = dir.path().join("events.jsonl");
    std::fs::write(
        &recording,
        "\n{\"type\": \"execve\", \"num\": \"not a number\"}\n",
    )
    .unwrap();
    let output = moat(&[
        "runtime",
        "replay",
        "--rules",
        rules.to_str().unwrap(),
        recording.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("events.jsonl"), "{stderr}");

    // With -o, a replay that fails leaves no partial alerts file.
    let alerts = dir.path().join("alerts.jsonl");
    let output = moat(&[
        "runtime",
        "replay",
        "-o",
        alerts.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        recording.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!alerts.exists(), "a partial alerts file was left behind");
}
