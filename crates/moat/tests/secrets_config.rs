//! Secrets and misconfigurations through the CLI: the planted secrets of the shared images (each
//! checked against the SHA-256 prefix MANIFEST.md gives for it), a secret in a file a later layer
//! deletes, image-config checks, `moat config` on the side-by-side folder with SARIF regions and
//! JUnit, `moat checks list`, and bad input that must not stop the scan.

mod common;

use common::{json_stdout, moat, str_of};
use moat_testkit::shared::{shared_dir, shared_file};
use moat_testkit::tarball::{file, raw_tar, write_docker_archive};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn image(name: &str) -> Option<PathBuf> {
    let shared = shared_dir()?;
    Some(shared_file(&shared, &format!("images/{name}.tar")))
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn scan_json(target: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "scan",
        target,
        "--scanners",
        "secret,misconfig",
        "-q",
        "-f",
        "json",
    ];
    args.extend_from_slice(extra);
    json_stdout(&moat(&args))
}

/// A planted secret as MANIFEST.md's table lists it: file, first line, SHA-256 prefix of the value.
#[derive(Debug)]
struct Planted {
    path: String,
    line: u32,
    sha256_prefix: Option<String>,
    /// For image-config rows, the value the kind column quotes (`DB_PASSWORD=value` gives `value`).
    literal: Option<String>,
}

/// Reads the "planted FAKE secrets" table of an image's MANIFEST.md.
fn planted_secrets(manifest: &str) -> Vec<Planted> {
    let Some(start) = manifest.find("planted FAKE secrets") else {
        return Vec::new();
    };
    manifest[start..]
        .lines()
        .skip_while(|line| !line.starts_with("| file"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let path = cells.get(1)?.trim_matches('`').to_string();
            let line = cells.get(2)?.split('-').next()?.trim().parse().unwrap_or(0);
            let sha = cells
                .get(6)
                .map(|c| c.trim_matches('`').trim_end_matches('…').to_string());
            let literal = cells
                .get(3)
                .and_then(|kind| kind.split('`').nth(1))
                .and_then(|quoted| quoted.split_once('='))
                .map(|(_, value)| value.to_string());
            Some(Planted {
                path,
                line,
                sha256_prefix: sha.filter(|s| !s.is_empty()),
                literal,
            })
        })
        .collect()
}

/// Scans `tar` with secrets shown and checks every planted row: file secrets at their path and
/// first line with the value's SHA-256 prefix, image-config rows in `<image config> Env`.
fn assert_planted_found(tar: &Path, planted: &[Planted]) -> Vec<Value> {
    let report = scan_json(arg(tar), &["--show-secrets"]);
    let secrets = report["secrets"].as_array().expect("secrets").clone();
    for want in planted {
        if !want.path.starts_with('/') {
            let hit = secrets
                .iter()
                .find(|s| str_of(&s["location"]["path"]).starts_with("<image config>"));
            let hit = hit.unwrap_or_else(|| panic!("{}: no secret in the image config", tar.display()));
            if let Some(value) = &want.literal {
                assert!(str_of(&hit["secret"]).contains(value.as_str()), "{hit:#}");
            }
            continue;
        }
        let hit = secrets.iter().find(|s| {
            str_of(&s["location"]["path"]) == want.path
                && s["location"]["start_line"].as_u64() == Some(u64::from(want.line))
        });
        let hit = hit.unwrap_or_else(|| panic!("no secret at {}:{} in {secrets:#?}", want.path, want.line));
        assert!(hit["location"]["layer"]
            .as_str()
            .is_some_and(|l| l.starts_with("sha256:")));
        if let Some(prefix) = &want.sha256_prefix {
            let digest = hex::encode(Sha256::digest(str_of(&hit["secret"]).as_bytes()));
            assert!(
                digest.starts_with(prefix),
                "{}:{}: sha256 {digest} is not {prefix}…",
                want.path,
                want.line
            );
        }
    }
    secrets
}

#[test]
fn every_planted_secret_of_every_shared_image_is_found() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let images = shared.join("images");
    let mut checked = 0;
    for entry in std::fs::read_dir(&images).expect("images folder") {
        let dir = entry.expect("entry").path();
        let Some(name) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".expected"))
        else {
            continue;
        };
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.md")).expect("MANIFEST.md");
        let planted = planted_secrets(&manifest);
        let tar = images.join(format!("{name}.tar"));
        if planted.is_empty() || !tar.is_file() {
            continue;
        }
        assert_planted_found(&tar, &planted);
        checked += planted.len();
    }
    assert!(
        checked >= 6,
        "only {checked} planted secrets found in the shared manifests"
    );
}

#[test]
fn debian_app_secrets_exclude_its_look_alikes() {
    let (Some(tar), Some(shared)) = (image("debian-app"), shared_dir()) else {
        return;
    };
    let manifest =
        std::fs::read_to_string(shared.join("images/debian-app.expected/MANIFEST.md")).expect("MANIFEST.md");
    let planted = planted_secrets(&manifest);
    assert_eq!(
        planted.len(),
        6,
        "the table lists 5 file secrets and the Env password: {planted:?}"
    );
    let secrets = assert_planted_found(&tar, &planted);
    let env = secrets
        .iter()
        .find(|s| str_of(&s["location"]["path"]) == "<image config> Env")
        .expect("the DB_PASSWORD in Env");
    assert!(str_of(&env["secret"]).contains("hunter2-not-real"));
    let paths: BTreeSet<String> = secrets.iter().map(|s| str_of(&s["location"]["path"])).collect();
    assert!(
        !paths.contains("/root/.ssh/id_rsa.pub"),
        "a public key is not a secret"
    );
    let not_secret_lines = [("/app/.env", 3), ("/app/config.yml", 16)];
    for (path, line) in not_secret_lines {
        assert!(
            !secrets.iter().any(|s| str_of(&s["location"]["path"]) == path
                && s["location"]["start_line"].as_u64() == Some(line)),
            "{path}:{line} is not a secret"
        );
    }
}

#[test]
fn secrets_are_redacted_unless_asked_for() {
    let Some(tar) = image("debian-app") else {
        return;
    };
    let output = moat(&["scan", arg(&tar), "--scanners", "secret", "-q", "-f", "json"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let report: Value = serde_json::from_str(&text).expect("json");
    assert!(!report["secrets"].as_array().expect("secrets").is_empty());
    assert!(
        !text.contains("hunter2-not-real"),
        "the Env password leaked into the report"
    );
    assert!(
        !text.contains("BEGIN RSA PRIVATE KEY-----\\nMII"),
        "the private key leaked"
    );
    for secret in report["secrets"].as_array().expect("secrets") {
        assert_eq!(secret["redacted"], true);
        assert!(str_of(&secret["secret"]).contains('*'));
    }
}

#[test]
fn image_config_checks_match_what_trivy_flags_on_the_shared_images() {
    let (Some(debian), Some(busybox)) = (image("debian-app"), image("busybox-static")) else {
        return;
    };
    let ids = |report: &Value| -> BTreeSet<String> {
        report["misconfigurations"]
            .as_array()
            .expect("misconfigurations")
            .iter()
            .filter(|m| m["kind"] == "image-config")
            .flat_map(|m| m["aliases"].as_array().cloned().unwrap_or_default())
            .map(|a| str_of(&a))
            .collect()
    };
    let debian_ids = ids(&scan_json(arg(&debian), &[]));
    for trivy in ["DS002", "DS026", "DS031"] {
        assert!(
            debian_ids.contains(trivy),
            "debian-app: no finding for trivy's {trivy}: {debian_ids:?}"
        );
    }
    assert!(debian_ids.contains("DS004"), "debian-app exposes port 22");
    let busybox_report = scan_json(arg(&busybox), &[]);
    let busybox_ids = ids(&busybox_report);
    assert!(busybox_ids.contains("DS026"));
    assert!(!busybox_ids.contains("DS002"), "busybox-static runs as user 1000");
    assert!(busybox_report["secrets"].as_array().is_none_or(Vec::is_empty));
}

#[test]
fn a_secret_in_a_file_a_later_layer_deletes_is_still_reported_with_its_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = format!("AKIA{}", "QX7RZ3M5T2W6K4PD");
    let env = format!("APP=demo\nAWS_ACCESS_KEY_ID={key}\n");
    let lower = raw_tar(&[file("app/deploy.env", env.as_bytes())]);
    let upper = raw_tar(&[file("app/.wh.deploy.env", b"")]);
    let tar = dir.path().join("deleted.tar");
    write_docker_archive(&tar, &[lower.clone(), upper], false);
    let report = scan_json(arg(&tar), &[]);
    let secrets = report["secrets"].as_array().expect("secrets");
    let hit = secrets
        .iter()
        .find(|s| str_of(&s["location"]["path"]) == "/app/deploy.env")
        .unwrap_or_else(|| panic!("the deleted file's secret is missing: {secrets:#?}"));
    assert_eq!(hit["location"]["start_line"], 2);
    let lower_diff_id = moat_testkit::tarball::sha256(&lower);
    assert_eq!(str_of(&hit["location"]["layer"]), lower_diff_id);
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/configs")
}

#[test]
fn moat_config_reports_every_planted_problem_family_with_lines() {
    let dir = configs_dir();
    let report = json_stdout(&moat(&["config", arg(&dir), "-q", "-f", "json"]));
    let findings = report["misconfigurations"].as_array().expect("misconfigurations");
    let ids: BTreeSet<String> = findings.iter().map(|m| str_of(&m["check_id"])).collect();
    for family in ["DF", "K8S", "RBAC", "NET", "PSS-"] {
        assert!(
            ids.iter().any(|id| id.starts_with(family)),
            "no {family} finding: {ids:?}"
        );
    }
    for finding in findings {
        let path = str_of(&finding["location"]["path"]);
        assert!(
            path.starts_with(arg(&dir)),
            "{path} is not under the folder given"
        );
        assert!(
            !path.contains("hardened"),
            "the hardened inputs must pass: {finding:#}"
        );
        assert!(
            finding["location"]["start_line"].as_u64().unwrap_or(0) >= 1,
            "no line: {finding:#}"
        );
    }
}

#[test]
fn moat_config_writes_sarif_regions_and_junit_and_gates_with_exit_codes() {
    let dir = configs_dir();
    let sarif = json_stdout(&moat(&["config", arg(&dir), "-q", "-f", "sarif"]));
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(
            region["startLine"].as_u64().unwrap_or(0) >= 1,
            "no region: {result:#}"
        );
    }
    let junit = moat(&["config", arg(&dir), "-q", "-f", "junit"]);
    let text = String::from_utf8_lossy(&junit.stdout);
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(text.contains("<testsuite") && text.contains("<failure"));
    let gated = moat(&[
        "config",
        arg(&dir),
        "-q",
        "--exit-code",
        "3",
        "--severity",
        "CRITICAL",
    ]);
    assert_eq!(gated.status.code(), Some(3));
    let clean = dir.join("docker/hardened/Dockerfile");
    let passed = moat(&["config", arg(&clean), "-q", "--exit-code", "3"]);
    assert_eq!(
        passed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passed.stdout)
    );
}

#[test]
fn skip_checks_and_pss_options_change_the_result() {
    let pod = configs_dir().join("k8s/debug-pod.json");
    let all = json_stdout(&moat(&["config", arg(&pod), "-q", "-f", "json"]));
    let count = |report: &Value, id: &str| {
        report["misconfigurations"]
            .as_array()
            .expect("misconfigurations")
            .iter()
            .filter(|m| m["check_id"] == id)
            .count()
    };
    assert!(count(&all, "PSS-hostNamespaces") > 0);
    assert!(count(&all, "PSS-runAsNonRoot") > 0);
    let skipped = json_stdout(&moat(&[
        "config",
        arg(&pod),
        "-q",
        "-f",
        "json",
        "--skip-checks",
        "PSS-hostNamespaces",
    ]));
    assert_eq!(count(&skipped, "PSS-hostNamespaces"), 0);
    let baseline = json_stdout(&moat(&[
        "config",
        arg(&pod),
        "-q",
        "-f",
        "json",
        "--pss",
        "baseline",
        "--pss-version",
        "v1.30",
    ]));
    assert_eq!(
        count(&baseline, "PSS-runAsNonRoot"),
        0,
        "runAsNonRoot is a restricted check"
    );
    assert!(count(&baseline, "PSS-hostNamespaces") > 0);
    let bad = moat(&["config", arg(&pod), "--pss", "strict"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn broken_files_are_reported_with_file_and_line_and_the_rest_is_still_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM debian:12\nFROBNICATE now\nUSER root\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("ok.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx\n      securityContext:\n        privileged: true\n",
    )
    .expect("write");
    let output = moat(&["config", arg(dir.path()), "-f", "json"]);
    let report = json_stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yaml") && stderr.contains(":4"),
        "no file:line for the YAML error: {stderr}"
    );
    assert!(
        stderr.contains("Dockerfile") && stderr.contains(":2"),
        "no file:line for the Dockerfile error: {stderr}"
    );
    let ids: BTreeSet<String> = report["misconfigurations"]
        .as_array()
        .expect("misconfigurations")
        .iter()
        .map(|m| str_of(&m["check_id"]))
        .collect();
    assert!(ids.contains("PSS-privileged"), "ok.yaml was not checked: {ids:?}");
}

#[test]
fn checks_list_names_every_family_with_severities_and_references() {
    let output = moat(&["checks", "list", "-f", "json"]);
    let list = json_stdout(&output);
    let items = list.as_array().expect("array");
    let ids: BTreeSet<String> = items.iter().map(|i| str_of(&i["id"])).collect();
    for id in [
        "IMG001",
        "PSS-privileged",
        "PSS-runAsNonRoot",
        "aws-access-token",
        "private-key",
    ] {
        assert!(ids.contains(id), "{id} missing from moat checks list");
    }
    assert!(items.iter().all(|i| !str_of(&i["severity"]).is_empty()));
    assert!(items.iter().any(|i| i["references"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| str_of(r).starts_with("CIS Kubernetes")))));
    let table = moat(&["checks", "list", "--kind", "dockerfile"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("DF0") && !text.contains("PSS-"), "{text}");
}

#[test]
fn a_hostile_or_broken_secret_rule_file_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "title = \"x\"\n\n[[rules]]\nid = \"huge\"\nregex = '''a{100000}{100000}'''\n",
    )
    .expect("write");
    let output = moat(&[
        "scan",
        arg(dir.path()),
        "--scanners",
        "secret",
        "--secret-config",
        arg(&rules),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rules.toml") && stderr.contains("huge"),
        "{stderr}"
    );
}

#[test]
fn a_single_file_is_scanned_with_file_prefix_and_named_as_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = dir.path().join("deploy.env");
    let key = format!("AKIA{}", "QX7RZ3M5T2W6K4PD");
    std::fs::write(&env, format!("# deploy\nAWS_ACCESS_KEY_ID={key}\n")).expect("write");
    let target = format!("file:{}", arg(&env));
    let report = json_stdout(&moat(&[
        "scan",
        &target,
        "--scanners",
        "secret",
        "-q",
        "-f",
        "json",
    ]));
    let secrets = report["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    assert_eq!(str_of(&secrets[0]["location"]["path"]), arg(&env));
    assert_eq!(secrets[0]["location"]["start_line"], 2);
    let plain = moat(&["scan", arg(&env), "--scanners", "secret", "-q"]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("file:"),
        "the error should say how to scan one file"
    );
}

#[test]
fn a_secret_at_the_end_of_a_large_layer_file_is_found_by_streaming() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::with_capacity(3 << 20);
    let mut lines = 0u32;
    while text.len() < (3 << 20) {
        text.push_str("INFO 2026-11-29 request served in 12 ms from the cache layer\n");
        lines += 1;
    }
    let token = format!("ghp_{}", "Lf49x2KqT7mZpR8sW3vB6nY1cD5hJ0aGuE4i");
    text.push_str(&format!("github_token: {token}\n"));
    let layer = raw_tar(&[file("var/log/app.log", text.as_bytes())]);
    let tar = dir.path().join("big.tar");
    write_docker_archive(&tar, &[layer], false);
    let report = scan_json(arg(&tar), &[]);
    let secrets = report["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    assert_eq!(str_of(&secrets[0]["location"]["path"]), "/var/log/app.log");
    assert_eq!(
        secrets[0]["location"]["start_line"].as_u64(),
        Some(u64::from(lines + 1))
    );
    assert_eq!(str_of(&secrets[0]["rule_id"]), "github-pat");
}

#[test]
fn a_dockerignore_beside_the_dockerfile_is_honoured_for_files_and_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dockerfile = dir.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM alpine:3.19\nCOPY . /app\nUSER 10001\n").expect("write");
    let copies_context = |target: &Path| {
        let report = json_stdout(&moat(&["config", arg(target), "-q", "-f", "json"]));
        report["misconfigurations"]
            .as_array()
            .expect("misconfigurations")
            .iter()
            .any(|m| m["check_id"] == "DF032")
    };
    assert!(copies_context(&dockerfile));
    assert!(copies_context(dir.path()));
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    assert!(!copies_context(&dockerfile));
    assert!(!copies_context(dir.path()));
}
