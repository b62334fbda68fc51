//! `moat rules check`, run as a user would: Falco's own rule files validate, and broken rule
//! files are reported with file, line and rule, and fail the run.

mod common;

use common::moat;
use moat_testkit::shared::{shared_dir, shared_file};

const FALCO_RULES: [&str; 3] = [
    "conformance/falco/rules/falco_rules.yaml",
    "conformance/falco/rules/falco-incubating_rules.yaml",
    "conformance/falco/rules/falco-sandbox_rules.yaml",
];

#[test]
fn falco_rule_files_validate_and_list_their_rules() {
    let Some(shared) = shared_dir() else { return };
    let files: Vec<String> = FALCO_RULES
        .iter()
        .map(|relative| shared_file(&shared, relative).display().to_string())
        .collect();
    let mut args = vec!["rules", "check", "--list"];
    args.extend(files.iter().map(String::as_str));
    let output = moat(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let terminal = stdout
        .lines()
        .find(|line| line.contains("Terminal shell in container"))
        .expect("the rule is listed");
    assert!(terminal.starts_with("Notice"), "{terminal}");
    assert!(terminal.contains("execve"), "{terminal}");
    assert!(
        stdout.lines().last().unwrap_or("").starts_with("ok: "),
        "{stdout}"
    );
}

#[test]
fn broken_rule_files_name_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "- list: shells\n  items: [bash, sh]\n- rule: Typo\n  desc: a misspelt field\n  condition: evt.type = execve and proc.nmae in (shells)\n  output: \"%proc.name\"\n  priority: WARNING\n- rule: Missing macro\n  desc: an undefined macro\n  condition: evt.type = open and not_defined_anywhere\n  output: x\n  priority: NOTICE\n",
    )
    .unwrap();
    let file = path.display().to_string();
    let output = moat(&["rules", "check", &file]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("{file}:3: rule 'Typo': ")), "{stdout}");
    assert!(stdout.contains("proc.nmae"), "{stdout}");
    assert!(
        stdout.contains(&format!("{file}:8: rule 'Missing macro': ")),
        "{stdout}"
    );
    let json = moat(&["rules", "check", "-f", "json", &file]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(document["valid"], false);
    assert_eq!(document["errors"].as_array().map(Vec::len), Some(2));
    assert_eq!(document["errors"][0]["line"], 3);
}
