//! Recording events to a file, reading them back and replaying them against Falco's default
//! rules.

mod common;

use common::*;
use moat_rules::Ruleset;
use moat_runtime::{replay, Alert, RecordError, RecordingReader, RecordingWriter, RuntimeEvent};
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor};
use std::path::Path;

fn falco_rules() -> Option<Ruleset> {
    let shared = moat_testkit::shared::shared_dir()?;
    let path = moat_testkit::shared::shared_file(&shared, "conformance/falco/rules/falco_rules.yaml");
    Some(Ruleset::load(&[path]).expect("falco_rules.yaml loads"))
}

fn record(path: &Path, events: &[RuntimeEvent]) {
    let file = File::create(path).expect("create recording");
    let mut writer = RecordingWriter::new(BufWriter::new(file));
    for event in events {
        writer.write(event).expect("write event");
    }
    assert_eq!(writer.events(), events.len() as u64);
    writer.flush().expect("flush");
}

/// Writes the events to a temporary recording, reads it back and replays it.
fn replay_through_file(events: &[RuntimeEvent], rules: &Ruleset) -> (Vec<Alert>, moat_runtime::ReplayStats) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("capture.jsonl");
    record(&path, events);
    let reader = RecordingReader::new(BufReader::new(File::open(&path).expect("open recording")));
    let mut alerts = Vec::new();
    let stats = replay(reader, rules, |alert| alerts.push(alert)).expect("replays");
    (alerts, stats)
}

#[test]
fn recordings_read_back_what_was_written() {
    let events = rich_events();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("capture.jsonl");
    record(&path, &events);
    let reader = RecordingReader::new(BufReader::new(File::open(&path).expect("open")));
    let read: Vec<RuntimeEvent> = reader.collect::<Result<_, _>>().expect("reads");
    assert_eq!(read, events);
}

#[test]
fn terminal_shell_in_a_container_raises_its_alert() {
    let Some(rules) = falco_rules() else { return };
    let (alerts, stats) = replay_through_file(&[terminal_shell(1)], &rules);
    let names: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(names, ["Terminal shell in container"]);
    let alert = &alerts[0];
    assert_eq!(alert.context.container_id, "3f2a9c1e7b4d");
    assert_eq!(
        alert.context.container_image.as_deref(),
        Some("docker.io/library/nginx:1.25")
    );
    assert_eq!(alert.context.event_num, 1);
    assert_eq!(alert.context.proc_name, "bash");
    assert_eq!(alert.priority, moat_rules::Priority::Notice);
    assert!(alert.output.contains("process=bash"), "{}", alert.output);
    assert!(alert.output.contains("parent=runc"), "{}", alert.output);
    assert!(alert.output.contains("terminal=34816"), "{}", alert.output);
    assert!(
        alert.output.contains("exe_flags=EXE_LOWER_LAYER"),
        "{}",
        alert.output
    );
    assert_eq!(stats.events, 1);
    assert_eq!(stats.alerts, 1);
    assert_eq!(stats.per_rule.get("Terminal shell in container"), Some(&1));
}

#[test]
fn a_shell_without_terminal_or_outside_containers_raises_nothing() {
    let Some(rules) = falco_rules() else { return };
    let mut no_tty = terminal_shell(1);
    std::sync::Arc::make_mut(&mut no_tty.process).tty = None;
    let mut on_host = terminal_shell(2);
    on_host.container = None;
    let (alerts, _) = replay_through_file(&[no_tty, on_host], &rules);
    assert!(
        alerts.is_empty(),
        "{:?}",
        alerts.iter().map(|a| &a.rule).collect::<Vec<_>>()
    );
}

#[test]
fn alerts_serialize_as_falco_json() {
    let Some(rules) = falco_rules() else { return };
    let (alerts, _) = replay_through_file(&[terminal_shell(1)], &rules);
    let json = serde_json::to_value(&alerts[0]).expect("serializes");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "time",
            "rule",
            "priority",
            "output",
            "output_fields",
            "tags",
            "source",
            "hostname"
        ]
    );
    assert_eq!(json["priority"], "Notice");
    assert_eq!(json["source"], "syscall");
    assert_eq!(json["time"], "2024-02-29T12:34:56.000001000Z");
    assert_eq!(json["output_fields"]["proc.name"], "bash");
    assert_eq!(json["output_fields"]["proc.tty"], 34816);
    assert_eq!(json["output_fields"]["evt.arg.flags"], "EXE_LOWER_LAYER");
    assert_eq!(json["output_fields"]["user.loginuid"], -1);
    assert!(json["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "shell")));
}

#[test]
fn untrusted_read_of_shadow_raises_its_alert() {
    let Some(rules) = falco_rules() else { return };
    let (alerts, _) = replay_through_file(&[shadow_read(5)], &rules);
    let names: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(names, ["Read sensitive file untrusted"]);
    let alert = &alerts[0];
    assert!(alert.output.contains("file=/etc/shadow"), "{}", alert.output);
    assert!(alert.output.contains("gparent=runc"), "{}", alert.output);
    assert_eq!(alert.output_fields["proc.aname[2]"], "runc");
    assert_eq!(alert.output_fields["proc.aname[3]"], serde_json::Value::Null);
    assert_eq!(alert.context.container_id, "3f2a9c1e7b4d");
}

#[test]
fn trusted_programs_reading_shadow_raise_nothing() {
    let Some(rules) = falco_rules() else { return };
    let mut event = shadow_read(5);
    std::sync::Arc::make_mut(&mut event.process).name = "sshd".to_string();
    let (alerts, _) = replay_through_file(&[event], &rules);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn ordinary_activity_raises_nothing() {
    let Some(rules) = falco_rules() else { return };
    let events = quiet_events(1);
    let (alerts, stats) = replay_through_file(&events, &rules);
    assert!(
        alerts.is_empty(),
        "{:?}",
        alerts.iter().map(|a| &a.rule).collect::<Vec<_>>()
    );
    assert_eq!(stats.events, events.len() as u64);
    assert_eq!(stats.alerts, 0);
}

#[test]
fn a_bad_line_is_an_error_naming_it() {
    let good = serde_json::to_string(&connect(1)).expect("serializes");
    let text = format!(
        "{good}\n\n{}\n{good}\n",
        r#"{"num":2,"ts":"late","type":"read","dir":"<"}"#
    );
    let rules = Ruleset::from_text("none.yaml", "[]").expect("empty ruleset");
    let reader = RecordingReader::new(Cursor::new(text));
    let error = replay(reader, &rules, |_| {}).unwrap_err();
    assert!(
        matches!(error, RecordError::BadEvent { line: 3, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("recording line 3, column "), "{message}");
    assert!(message.contains("expected u64"), "{message}");
}

#[test]
fn an_overlong_line_is_an_error_naming_it() {
    let good = serde_json::to_string(&connect(1)).expect("serializes");
    let long = format!(
        r#"{{"num":2,"ts":1,"type":"read","dir":"<","args":{{"data":"{}"}}}}"#,
        "x".repeat(moat_runtime::MAX_LINE_LEN)
    );
    let text = format!("{good}\n{long}\n{good}\n");
    let mut reader = RecordingReader::new(Cursor::new(text));
    assert!(reader.next().is_some_and(|r| r.is_ok()));
    let error = reader.next().expect("an item").unwrap_err();
    assert!(
        matches!(error, RecordError::LineTooLong { line: 2, .. }),
        "{error:?}"
    );
    assert!(reader.next().is_none(), "reading stops after an error");
}

#[test]
fn a_line_of_exactly_the_limit_is_read() {
    let prefix = r#"{"num":2,"ts":1,"type":"read","dir":"<","args":{"data":""#;
    let suffix = r#""}}"#;
    let fill = moat_runtime::MAX_LINE_LEN - prefix.len() - suffix.len();
    let line = format!("{prefix}{}{suffix}", "y".repeat(fill));
    assert_eq!(line.len(), moat_runtime::MAX_LINE_LEN);
    let mut reader = RecordingReader::new(Cursor::new(line));
    let event = reader.next().expect("an item").expect("reads");
    assert_eq!(event.args.text("data").map(str::len), Some(fill));
}

/// Writes `events` to a recording in memory.
fn recording_of(events: &[RuntimeEvent]) -> Vec<u8> {
    let mut writer = RecordingWriter::new(Vec::new());
    for event in events {
        writer.write(event).expect("writes");
    }
    writer.into_inner().expect("flushes")
}

fn read_all(recording: &[u8]) -> Result<Vec<RuntimeEvent>, RecordError> {
    RecordingReader::new(recording).collect()
}

/// A thread's stream as the agent makes it: events share their process and container.
fn shared_stream(count: u64) -> Vec<RuntimeEvent> {
    let first = connect(1);
    (1..=count)
        .map(|num| RuntimeEvent { num, ..first.clone() })
        .collect()
}

#[test]
fn a_recording_writes_each_process_and_container_once() {
    let events = shared_stream(50);
    let recording = recording_of(&events);
    let whole: usize = events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("serializes").len() + 1)
        .sum();
    assert!(
        recording.len() * 3 < whole,
        "{} bytes with references, {whole} whole",
        recording.len()
    );
    let text = String::from_utf8(recording.clone()).expect("utf-8");
    assert_eq!(text.matches("\"process\":").count(), 1, "{text}");
    assert_eq!(text.matches("\"container\":").count(), 1, "{text}");
    assert_eq!(text.matches("\"process_ref\":").count(), 50);
    let read = read_all(&recording).expect("reads");
    assert_eq!(read, events);
    assert!(std::sync::Arc::ptr_eq(&read[0].process, &read[49].process));
    let containers = (read[0].container.as_ref(), read[49].container.as_ref());
    assert!(matches!(containers, (Some(a), Some(b)) if std::sync::Arc::ptr_eq(a, b)));
}

#[test]
fn a_changed_process_is_written_again_and_read_back_changed() {
    let mut events = shared_stream(3);
    std::sync::Arc::make_mut(&mut events[1].process).cwd = "/srv".to_string();
    events[2].process = events[1].process.clone();
    let recording = recording_of(&events);
    let text = String::from_utf8(recording.clone()).expect("utf-8");
    assert_eq!(text.matches("\"process\":").count(), 2, "{text}");
    let read = read_all(&recording).expect("reads");
    assert_eq!(read, events);
    assert_eq!(read[2].process.cwd, "/srv");
}

#[test]
fn a_reference_after_its_thread_exited_is_an_error_naming_line_and_reference() {
    let mut events = shared_stream(2);
    events[0].event_type = "procexit".into();
    let recording = recording_of(&events);
    assert_eq!(read_all(&recording).expect("reads"), events);
    // After the exit the writer defines the thread's process again; a reader that meets a
    // bare reference instead has nothing it could stand for.
    let text = String::from_utf8(recording).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("\"process\":"), "{}", lines[1]);
    let tid = events[1].process.tid;
    let bare = format!(r#"{{"num":3,"ts":1,"type":"read","dir":"<","process_ref":{tid}}}"#);
    let error = read_all(format!("{}\n{bare}", lines[0]).as_bytes()).unwrap_err();
    assert!(
        matches!(
            error,
            RecordError::UndefinedRef {
                line: 2,
                what: "process_ref",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("recording line 2: process_ref {tid} is not defined by an earlier line")
    );
}

#[test]
fn an_undefined_container_reference_is_an_error() {
    let line = r#"{"num":1,"ts":1,"type":"read","dir":"<","container_ref":4}"#;
    let error = read_all(line.as_bytes()).unwrap_err().to_string();
    assert_eq!(
        error,
        "recording line 1: container_ref 4 is not defined by an earlier line"
    );
}

#[test]
fn a_single_event_object_with_a_reference_is_refused() {
    let line = r#"{"num":1,"ts":1,"type":"read","dir":"<","process_ref":4}"#;
    let error = serde_json::from_str::<RuntimeEvent>(line)
        .unwrap_err()
        .to_string();
    assert!(error.contains("read recordings with RecordingReader"), "{error}");
}
