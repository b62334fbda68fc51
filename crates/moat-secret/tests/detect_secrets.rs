//! detect-secrets' own fixtures: every secret its baseline records (on a line that still holds
//! it) is found by Moat's builtin rules plus the entropy detectors.

use moat_core::SecretFinding;
use moat_secret::RuleSet;
use moat_testkit::shared::{shared_dir, shared_file};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Baseline rows Moat deliberately reports differently: (file, type, line, why).
const KNOWN_DIFFERENCES: [(&str, &str, u32, &str); 3] = [
    (
        "config.yaml",
        "Secret Keyword",
        13,
        "detect-secrets took the YAML tag `!!binary` as the value; Moat reports the payload",
    ),
    (
        "config2.yaml",
        "Secret Keyword",
        2,
        "detect-secrets took the YAML tag `!!binary` as the value; Moat reports the payload",
    ),
    (
        "files/private_key",
        "Private Key",
        1,
        "detect-secrets' secret is the BEGIN header text; Moat's is the whole key block",
    ),
];

struct Row {
    file: String,
    kind: String,
    line: u32,
    hashed_secret: String,
}

fn fixtures() -> Option<PathBuf> {
    let shared = shared_dir()?;
    Some(shared.join("conformance/secrets/detect-secrets"))
}

fn baseline_rows(root: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(shared_file(root, "baseline-relocated.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        header,
        [
            "file",
            "type",
            "baseline_line",
            "current_line",
            "status",
            "hashed_secret"
        ]
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let line = cols[3].parse().ok()?;
            Some(Row {
                file: cols[0].to_string(),
                kind: cols[1].to_string(),
                line,
                hashed_secret: cols[5].to_string(),
            })
        })
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn scan_all(test_data: &Path) -> BTreeMap<String, Vec<SecretFinding>> {
    let rules = RuleSet::builtin().with_entropy_detectors();
    let mut files = Vec::new();
    files_under(test_data, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(test_data)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let file = std::fs::File::open(&path).unwrap();
            let findings = rules.scan_reader(&relative, file).unwrap();
            (relative, findings)
        })
        .collect()
}

fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn found(findings: &BTreeMap<String, Vec<SecretFinding>>, row: &Row) -> bool {
    findings.get(&row.file).is_some_and(|list| {
        list.iter()
            .any(|f| f.location.start_line == row.line && sha1_hex(&f.secret) == row.hashed_secret)
    })
}

#[test]
fn every_baseline_secret_is_found_except_the_listed_differences() {
    let Some(root) = fixtures() else {
        return;
    };
    let findings = scan_all(&root.join("test_data"));
    let rows = baseline_rows(&root);
    assert!(rows.len() >= 20, "only {} resolvable baseline rows", rows.len());
    let mut missing = Vec::new();
    for row in &rows {
        let listed = KNOWN_DIFFERENCES
            .iter()
            .any(|(file, kind, line, _)| *file == row.file && *kind == row.kind && *line == row.line);
        let hit = found(&findings, row);
        if listed {
            assert!(
                !hit,
                "{} line {} ({}) is listed as a difference but is found",
                row.file, row.line, row.kind
            );
        } else if !hit {
            missing.push(format!(
                "{}:{} {} {}",
                row.file, row.line, row.kind, row.hashed_secret
            ));
        }
    }
    let dump: Vec<String> = findings
        .iter()
        .flat_map(|(file, list)| {
            list.iter()
                .map(move |f| format!("{file}:{} {} {:?}", f.location.start_line, f.rule_id, f.secret))
        })
        .collect();
    assert!(missing.is_empty(), "not found: {missing:#?}\nfindings: {dump:#?}");
    for (file, kind, line, _) in KNOWN_DIFFERENCES {
        assert!(
            rows.iter()
                .any(|r| r.file == file && r.kind == kind && r.line == line),
            "{file}:{line} {kind} is no longer a baseline row"
        );
    }
}

#[test]
fn the_private_key_fixture_is_found_as_a_key_block() {
    let Some(root) = fixtures() else {
        return;
    };
    let findings = scan_all(&root.join("test_data"));
    let key = findings["files/private_key"]
        .iter()
        .find(|f| f.rule_id == "private-key")
        .expect("private key fixture not found");
    assert_eq!((key.location.start_line, key.location.end_line), (1, 3));
    assert!(key.secret.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(key.secret.ends_with("-----END OPENSSH PRIVATE KEY-----"));
}

#[test]
fn fixtures_without_secrets_stay_clean() {
    let Some(root) = fixtures() else {
        return;
    };
    let findings = scan_all(&root.join("test_data"));
    for clean in [
        "files/file_with_no_secrets.py",
        "files/tmp/file_with_no_secrets.py",
        "only_comments.yaml",
        "files/tmp/__init__.py",
    ] {
        assert!(findings[clean].is_empty(), "{clean}: {:#?}", findings[clean]);
    }
}
