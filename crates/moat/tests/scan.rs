//! `moat scan` of the shared images against the shared advisories (imported once with
//! `moat db import`), checked against the advisories' own ranges: for the Go standard library
//! at the binary's toolchain, the crates of debian-app's Cargo.lock and its Python packages,
//! the set of records Moat reports equals the set a plain reading of each record's
//! `introduced`/`fixed`/`last_affected` pairs and `versions` lists gives.

mod common;

use common::{json_stdout, moat, str_of};
use moat_testkit::shared::{shared_dir, shared_file};
use moat_version::Ecosystem;
use moat_vulndb::osv::{normalize_name, Affected, Record};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The database with all shared OSV and secdb data, imported once per test binary.
fn shared_db() -> Option<&'static Path> {
    static DB: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DB.get_or_init(|| {
        let shared = shared_dir()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("moat.db");
        let osv = shared.join("conformance/osv");
        let secdb = shared.join("conformance/secdb");
        let output = moat(&[
            "db",
            "import",
            "--db",
            db.to_str().expect("utf-8"),
            osv.to_str().expect("utf-8"),
            secdb.to_str().expect("utf-8"),
        ]);
        assert!(
            output.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some((dir, db))
    })
    .as_ref()
    .map(|(_, db)| db.as_path())
}

/// `moat scan TARGET -q EXTRA…` against the shared database.
fn scan_output(target: &str, extra: &[&str]) -> Option<std::process::Output> {
    let db = shared_db()?;
    let mut args = vec!["scan", target, "--db", db.to_str().expect("utf-8"), "-q"];
    args.extend_from_slice(extra);
    Some(moat(&args))
}

/// The shared image `NAME.tar`'s path as a target.
fn image_target(name: &str) -> Option<String> {
    let shared = shared_dir()?;
    let image = shared_file(&shared, &format!("images/{name}.tar"));
    Some(image.to_str().expect("utf-8").to_string())
}

/// `moat scan IMAGE -f json` against the shared database.
fn scan_json(image: &str, extra: &[&str]) -> Option<Value> {
    let target = image_target(image)?;
    let mut args = vec!["-f", "json"];
    args.extend_from_slice(extra);
    Some(json_stdout(&scan_output(&target, &args)?))
}

/// Checks that `moat scan IMAGE --exit-code 3 EXTRA…` exits with `expected`.
fn assert_gate(image: &str, extra: &[&str], expected: i32) {
    let mut args = vec!["--exit-code", "3"];
    args.extend_from_slice(extra);
    let Some(output) = image_target(image).and_then(|t| scan_output(&t, &args)) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(expected), "{image}: {stderr}");
}

/// Records reported per (package name, version): the ids in every finding's `matched_by`.
fn reported_records(report: &Value, package_type: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for finding in report["vulnerabilities"].as_array().expect("vulnerabilities") {
        let package = &finding["package"];
        if str_of(&package["type"]) != package_type {
            continue;
        }
        let key = (str_of(&package["name"]), str_of(&package["version"]));
        let records = out.entry(key).or_default();
        for reason in finding["matched_by"].as_array().expect("matched_by") {
            records.insert(str_of(&reason["record"]));
        }
    }
    out
}

/// Every record file of one shared OSV folder, parsed.
fn shared_records(folder: &str) -> Vec<Record> {
    let shared = shared_dir().expect("shared data");
    let mut records = Vec::new();
    let mut pending = vec![shared.join("conformance/osv").join(folder)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("osv folder") {
            let path = entry.expect("entry").path();
            let text = || std::fs::read_to_string(&path).expect("record file");
            match path.extension().and_then(|e| e.to_str()) {
                _ if path.is_dir() => pending.push(path),
                Some("json") => records.push(serde_json::from_str(&text()).expect("OSV JSON")),
                Some("yaml") => records.push(serde_saphyr::from_str(&text()).expect("OSV YAML")),
                _ => {}
            }
        }
    }
    records
}

/// The plain reading of one affected entry: each `introduced` up to the next `fixed`
/// (excluded) or `last_affected` (included) in the order written, or open-ended; plus the
/// `versions` list by text.
fn plainly_affected(affected: &Affected, scheme: Ecosystem, version: &str) -> bool {
    let cmp = |a: &str, b: &str| -> Ordering {
        match (a == "0", b == "0") {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => moat_version::compare(scheme, a, b).expect("comparable versions"),
        }
    };
    let bare = version.trim_start_matches('v');
    if affected.versions.iter().any(|listed| listed == bare) {
        return true;
    }
    for range in affected.ranges.iter().filter(|r| r.kind != "GIT") {
        let mut lower: Option<&str> = None;
        for event in &range.events {
            if let Some(introduced) = &event.introduced {
                if let Some(open) = lower {
                    if cmp(open, bare) != Ordering::Greater {
                        return true;
                    }
                }
                lower = Some(introduced);
            }
            let Some(open) = lower else { continue };
            let inside = match (&event.fixed, &event.last_affected) {
                (Some(fixed), _) => {
                    cmp(open, bare) != Ordering::Greater && cmp(bare, fixed) == Ordering::Less
                }
                (_, Some(last)) => {
                    cmp(open, bare) != Ordering::Greater && cmp(bare, last) != Ordering::Greater
                }
                _ => continue,
            };
            if inside {
                return true;
            }
            lower = None;
        }
        if lower.is_some_and(|open| cmp(open, bare) != Ordering::Greater) {
            return true;
        }
    }
    false
}

/// The non-withdrawn records whose entries for `name` in `ecosystem` plainly affect `version`.
fn expected_records(
    records: &[Record],
    ecosystem: &str,
    scheme: Ecosystem,
    name: &str,
    version: &str,
) -> BTreeSet<String> {
    let wanted = normalize_name(ecosystem, name);
    records
        .iter()
        .filter(|record| record.withdrawn.is_none())
        .filter(|record| {
            record.affected.iter().any(|affected| {
                affected.package.ecosystem == ecosystem
                    && normalize_name(ecosystem, &affected.package.name) == wanted
                    && plainly_affected(affected, scheme, version)
            })
        })
        .map(|record| record.id.clone())
        .collect()
}

/// Checks every package of `package_type` in the report (and in the inventory) against the
/// plain reading, and that the packages listed in `must_have` have findings.
fn check_against_ranges(
    report: &Value,
    inventory: &Value,
    package_type: &str,
    (folder, ecosystem, scheme): (&str, &str, Ecosystem),
    version_of: impl Fn(&str) -> String,
    must_have: &[&str],
) {
    let records = shared_records(folder);
    let reported = reported_records(report, package_type);
    let mut seen_with_findings = BTreeSet::new();
    for package in inventory["packages"].as_array().expect("packages") {
        if str_of(&package["type"]) != package_type {
            continue;
        }
        let (name, version) = (str_of(&package["name"]), str_of(&package["version"]));
        let expected = expected_records(&records, ecosystem, scheme, &name, &version_of(&version));
        let got = reported
            .get(&(name.clone(), version.clone()))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            got, expected,
            "{package_type} {name} {version}: Moat's records vs the ranges"
        );
        if !got.is_empty() {
            seen_with_findings.insert(name);
        }
    }
    for name in must_have {
        assert!(
            seen_with_findings.contains(*name),
            "no {package_type} finding for {name}"
        );
    }
}

#[test]
fn debian_app_findings_follow_the_advisories_own_ranges() {
    let Some(report) = scan_json("debian-app", &[]) else {
        return;
    };
    let shared = shared_dir().expect("shared data");
    let image = shared_file(&shared, "images/debian-app.tar");
    let inventory = json_stdout(&moat(&[
        "sbom",
        image.to_str().expect("utf-8"),
        "-f",
        "json",
        "-q",
    ]));
    check_against_ranges(
        &report,
        &inventory,
        "go-module",
        ("go", "Go", Ecosystem::Go),
        |v| v.trim_start_matches("go").to_string(),
        &["stdlib"],
    );
    check_against_ranges(
        &report,
        &inventory,
        "rust-crate",
        ("crates.io", "crates.io", Ecosystem::Semver),
        str::to_string,
        &["smallvec", "time", "hyper"],
    );
    check_against_ranges(
        &report,
        &inventory,
        "python",
        ("pypi", "PyPI", Ecosystem::Pep440),
        str::to_string,
        &["requests", "urllib3", "django", "pyyaml", "jinja2"],
    );
}

#[test]
fn a_finding_explains_itself_and_merges_aliases() {
    let Some(report) = scan_json("debian-app", &[]) else {
        return;
    };
    let findings = report["vulnerabilities"].as_array().expect("vulnerabilities");
    let stdlib: Vec<&Value> = findings
        .iter()
        .filter(|f| f["package"]["name"] == "stdlib")
        .collect();
    assert!(!stdlib.is_empty());
    for finding in &stdlib {
        let reason = &finding["matched_by"][0];
        assert_eq!(reason["matched_on"], "Go toolchain go1.19.8", "{finding}");
        assert_eq!(reason["ecosystem"], "Go");
        assert!(str_of(&reason["range"]).starts_with("SEMVER: "), "{reason}");
        assert_eq!(finding["package"]["path"], "/usr/local/bin/hello-go");
        assert!(finding["package"]["layer"]
            .as_str()
            .is_some_and(|l| l.starts_with("sha256:")));
    }
    // One finding per vulnerability and package: no id appears twice for the same package.
    let mut seen = BTreeSet::new();
    for finding in findings {
        let ids: Vec<String> = std::iter::once(str_of(&finding["id"]))
            .chain(finding["aliases"].as_array().into_iter().flatten().map(str_of))
            .collect();
        for id in ids {
            let key = (
                str_of(&finding["package"]["name"]),
                str_of(&finding["package"]["version"]),
                id,
            );
            assert!(seen.insert(key.clone()), "{key:?} reported twice");
        }
    }
    let database = &report["database"];
    assert!(
        database["updated_at"].as_str().is_some_and(|t| !t.is_empty()),
        "{database}"
    );
}

#[test]
fn filters_and_exit_codes() {
    let Some(all) = scan_json("debian-app", &[]) else {
        return;
    };
    let Some(high) = scan_json("debian-app", &["--severity", "HIGH,CRITICAL"]) else {
        return;
    };
    let Some(fixed_only) = scan_json("debian-app", &["--ignore-unfixed"]) else {
        return;
    };
    let count = |report: &Value| report["vulnerabilities"].as_array().map_or(0, Vec::len);
    assert!(count(&high) < count(&all) && count(&high) > 0);
    for finding in high["vulnerabilities"].as_array().expect("vulnerabilities") {
        assert!(
            matches!(finding["severity"].as_str(), Some("HIGH" | "CRITICAL")),
            "{finding}"
        );
    }
    for finding in fixed_only["vulnerabilities"].as_array().expect("vulnerabilities") {
        assert_eq!(finding["status"], "fixed", "{finding}");
    }
    assert_gate("debian-app", &[], 3);
    assert_gate("busybox-static", &["--scanners", "vuln"], 0);
    // No vulnerabilities, but the image config has no HEALTHCHECK (IMG002), as trivy's DS026 says.
    assert_gate("busybox-static", &[], 3);
    assert_gate("busybox-static", &["--scanners", "vuln,secret"], 0);
}

#[test]
fn ignore_file_and_vex_suppress_and_are_counted() {
    let Some(all) = scan_json("debian-app", &[]) else {
        return;
    };
    let findings = all["vulnerabilities"].as_array().expect("vulnerabilities");
    let first = findings
        .iter()
        .find(|f| f["package"]["type"] == "python")
        .expect("a python finding");
    let second = findings
        .iter()
        .find(|f| f["package"]["type"] == "rust-crate")
        .expect("a crate finding");
    let dir = tempfile::tempdir().expect("temp dir");
    let ignore = dir.path().join("ignore");
    std::fs::write(
        &ignore,
        format!("# test\n{} exp:2999-01-01\n", str_of(&first["id"])),
    )
    .expect("write");
    let vex = dir.path().join("vex.json");
    let statement = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "statements": [{
            "vulnerability": {"name": str_of(&second["id"])},
            "products": [{"@id": str_of(&second["package"]["purl"])}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path"
        }]
    });
    std::fs::write(&vex, statement.to_string()).expect("write");
    let Some(filtered) = scan_json(
        "debian-app",
        &[
            "--ignorefile",
            ignore.to_str().expect("utf-8"),
            "--vex",
            vex.to_str().expect("utf-8"),
        ],
    ) else {
        return;
    };
    let suppressed = filtered["suppressed"].as_array().expect("suppressed findings");
    let by: BTreeSet<String> = suppressed.iter().map(|s| str_of(&s["suppressed_by"])).collect();
    assert!(by.iter().any(|b| b.ends_with("ignore:2")), "{by:?}");
    assert!(
        by.iter()
            .any(|b| b.contains("not_affected (vulnerable_code_not_in_execute_path)")),
        "{by:?}"
    );
    let remaining = filtered["vulnerabilities"].as_array().map_or(0, Vec::len);
    assert_eq!(remaining + suppressed.len(), findings.len());
}

#[test]
fn a_missing_database_is_a_clear_error() {
    let Some(shared) = shared_dir() else { return };
    let image = shared_file(&shared, "images/busybox-static.tar");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("none.db");
    let output = moat(&[
        "scan",
        image.to_str().expect("utf-8"),
        "--db",
        db.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("none.db") && stderr.contains("moat db"),
        "{stderr}"
    );
    assert!(!db.exists(), "scanning must not create a database");
}

/// (package, version, id) of every finding.
fn finding_keys(report: &Value) -> BTreeSet<(String, String, String)> {
    report["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities")
        .iter()
        .map(|f| {
            (
                str_of(&f["package"]["name"]),
                str_of(&f["package"]["version"]),
                str_of(&f["id"]),
            )
        })
        .collect()
}

#[test]
fn scanning_an_sbom_finds_what_scanning_the_image_finds() {
    let Some(from_image) = scan_json("debian-app", &[]) else {
        return;
    };
    let shared = shared_dir().expect("shared data");
    let image = shared_file(&shared, "images/debian-app.tar");
    let dir = tempfile::tempdir().expect("temp dir");
    for format in ["cyclonedx-json", "spdx-json"] {
        let sbom = dir.path().join(format!("{format}.json"));
        let written = moat(&[
            "sbom",
            image.to_str().expect("utf-8"),
            "-q",
            "-f",
            format,
            "-o",
            sbom.to_str().expect("utf-8"),
        ]);
        assert!(
            written.status.success(),
            "{}",
            String::from_utf8_lossy(&written.stderr)
        );
        let target = format!("sbom:{}", sbom.display());
        let from_sbom = json_stdout(&scan_output(&target, &["-f", "json"]).expect("database"));
        assert_eq!(finding_keys(&from_sbom), finding_keys(&from_image), "{format}");
    }
}
