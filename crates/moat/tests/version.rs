//! `moat version check` as a user runs it: on a file with a wrong line, on a correct one, on
//! standard input, on a shared conformance file, and on bad input.

mod common;

use common::moat;
use moat_testkit::shared::{shared_dir, shared_file};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Writes `text` to a file in `dir` and returns its path as an argument.
fn vectors(dir: &Path, text: &str) -> String {
    let path = dir.join("vectors.txt");
    std::fs::write(&path, text).expect("write vectors");
    path.to_str().expect("utf-8 path").to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_wrong_line_is_printed_and_fails_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = vectors(
        dir.path(),
        "# epochs\n1:0.1 > 9.9\n1.0~rc1 > 1.0\n\n1.0 = 1.0-0\n",
    );
    let output = moat(&["version", "check", "dpkg", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("{file}:3: 1.0~rc1 > 1.0, but moat says 1.0~rc1 < 1.0\n")
    );
    assert!(
        stderr(&output).contains("dpkg: 1 of 3 vectors disagree"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_correct_file_passes_with_exit_code_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = vectors(dir.path(), "1.0~rc1 < 1.0\n1:0.1 > 9.9\n1.0 = 1.0-0\n");
    let output = moat(&["version", "check", "Debian", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("all 3 vectors agree"));
    let quiet = moat(&["version", "check", "dpkg", &file, "-q"]);
    assert_eq!((quiet.status.code(), quiet.stderr.len()), (Some(0), 0));
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["version", "check", "go"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run moat");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"go1.21 < go1.21rc1\ngo1.21.0 < 1.21rc1\n")
        .expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("moat finishes");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "<stdin>:2: go1.21.0 < 1.21rc1, but moat says go1.21.0 > 1.21rc1\n"
    );
}

#[test]
fn an_unreadable_version_is_a_disagreement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = vectors(dir.path(), "1.0 < 1.0_1\n");
    let output = moat(&["version", "check", "dpkg", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output)
            .contains(":1: 1.0 < 1.0_1, but moat cannot compare them: invalid dpkg version \"1.0_1\""),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_shared_conformance_file_passes() {
    let Some(shared) = shared_dir() else { return };
    let file = shared_file(&shared, "conformance/versions/testdata/redhat-versions.txt");
    let output = moat(&["version", "check", "rpm", file.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("rpm: all 165 vectors agree"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_input_and_usage_exit_with_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let malformed = vectors(dir.path(), "1.0 < 2.0\n1.0 ~ 2.0\n");
    let output = moat(&["version", "check", "dpkg", &malformed]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(":2: expected \"A < B\""),
        "{}",
        stderr(&output)
    );

    let missing = dir.path().join("missing.txt");
    let output = moat(&["version", "check", "dpkg", missing.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.txt"), "{}", stderr(&output));

    let binary = dir.path().join("binary.txt");
    std::fs::write(&binary, b"1.0 < \xff\xfe\n").expect("write");
    let output = moat(&["version", "check", "dpkg", binary.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not UTF-8"), "{}", stderr(&output));

    let output = moat(&["version", "check", "cobol", &malformed]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown ecosystem"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn control_characters_from_the_file_are_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = vectors(dir.path(), "1.0\u{1b}[31m < 1.0\n");
    let output = moat(&["version", "check", "rpm", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!output.stdout.contains(&0x1b), "{}", stdout(&output));
    assert!(stdout(&output).contains("\\u{1b}"), "{}", stdout(&output));
}
