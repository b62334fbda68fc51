//! Helpers shared by the CLI integration tests (the shared data, synthesized images and the
//! local registry are in `moat-testkit`).
#![allow(dead_code)]

use std::process::Output;

/// Runs the moat binary with `args` and an isolated cache directory.
pub fn moat(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().expect("temp dir");
    std::process::Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .env("MOAT_CACHE_DIR", cache.path())
        .env_remove("MOAT_LOG")
        .output()
        .expect("run moat")
}

/// The packages of a Moat JSON inventory as (type, name, version) triples.
pub fn package_triples(json: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = json["packages"]
        .as_array()
        .expect("packages array")
        .iter()
        .map(|p| (str_of(&p["type"]), str_of(&p["name"]), str_of(&p["version"])))
        .collect();
    out.sort();
    out
}

/// A JSON string value, or empty.
pub fn str_of(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Parses stdout of a successful run as JSON, failing with stderr when it did not succeed.
pub fn json_stdout(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "moat failed ({:?}): {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("moat printed JSON")
}

/// Runs `moat sbom TARGET -f cyclonedx-json -q -o OUT` on bad input and checks: exit code 2, no
/// panic, no control characters (hostile bytes must not reach the terminal), and nothing written
/// (neither OUT nor a temporary file beside it). Returns stderr.
pub fn rejected(target: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("sbom.json");
    let output = moat(&[
        "sbom",
        target,
        "-f",
        "cyclonedx-json",
        "-q",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{target}: {stderr}");
    assert!(!stderr.contains("panicked"), "{target}: {stderr}");
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{target}: control characters in the error: {stderr:?}"
    );
    assert!(!out.exists(), "{target}: an output file was written");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "{target}: temporary files left"
    );
    stderr
}

/// [`rejected`], with an error that names `needle`.
pub fn assert_rejected(target: &str, needle: &str) {
    let stderr = rejected(target);
    assert!(
        stderr.contains(needle),
        "{target}: error does not name {needle:?}: {stderr}"
    );
}
