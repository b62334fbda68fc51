//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

/// The shared reference data folder (`MOAT_SHARED`, default `../shared` beside the checkout).
/// `None` (with a printed reason) when it is absent and `MOAT_NO_SHARED=1`; otherwise a missing
/// folder fails the test, naming the path.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("MOAT_NO_SHARED").as_deref() == Ok("1") {
        eprintln!(
            "skipped: shared data {} is absent and MOAT_NO_SHARED=1",
            dir.display()
        );
        return None;
    }
    panic!(
        "shared test data not found at {} (set MOAT_SHARED, or MOAT_NO_SHARED=1 to skip)",
        dir.display()
    );
}

/// A path inside the shared folder that must exist.
pub fn shared_file(dir: &std::path::Path, relative: &str) -> PathBuf {
    let path = dir.join(relative);
    assert!(path.exists(), "shared test data missing: {}", path.display());
    path
}

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
