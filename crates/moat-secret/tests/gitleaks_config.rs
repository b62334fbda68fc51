//! The upstream gitleaks default configuration loads and finds what it should.

use moat_secret::RuleSet;
use moat_testkit::shared::{shared_dir, shared_file};

fn gitleaks_rules() -> Option<RuleSet> {
    let shared = shared_dir()?;
    let path = shared_file(&shared, "conformance/secrets/gitleaks/gitleaks.toml");
    Some(RuleSet::load(&path).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn upstream_config_loads_every_rule() {
    let Some(rules) = gitleaks_rules() else {
        return;
    };
    assert_eq!(rules.len(), 222);
    let ids: Vec<&str> = rules.rules().map(|r| r.id.as_str()).collect();
    for id in [
        "aws-access-token",
        "github-pat",
        "slack-webhook-url",
        "private-key",
        "generic-api-key",
        "pkcs12-file",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
    let aws = rules.rules().find(|r| r.id == "aws-access-token").unwrap();
    assert!(aws.keywords.contains(&"akia".to_string()));
}

#[test]
fn upstream_config_finds_sample_secrets() {
    let Some(rules) = gitleaks_rules() else {
        return;
    };
    let aws_id = format!("AKIA{}", "QYLPMN5HHHFPZAM2");
    let pat = format!("ghp_{}", "R7kLm2Qx9TzWv4Ny8Pb3Hc6Jd1Fs5Ga0Ke7U");
    let hook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        "024BE7LH6", "0A1B2C3D4E", "aZ9xY8wV7uT6sR5qP4oN3mL2"
    );
    let text = format!("aws_key = {aws_id}\ntoken: {pat}\n\nwebhook = \"{hook}\"\n");
    let findings = rules.scan_bytes("config/app.yaml", text.as_bytes());
    let find = |rule: &str| {
        findings
            .iter()
            .find(|f| f.rule_id == rule)
            .unwrap_or_else(|| panic!("{rule} not found in {findings:#?}"))
    };
    let aws = find("aws-access-token");
    assert_eq!(
        (
            aws.secret.as_str(),
            aws.location.start_line,
            aws.location.start_column
        ),
        (aws_id.as_str(), 1, 11)
    );
    let github = find("github-pat");
    assert_eq!(
        (github.secret.as_str(), github.location.start_line),
        (pat.as_str(), 2)
    );
    let slack = find("slack-webhook-url");
    assert_eq!(slack.location.start_line, 4);
    assert!(hook.contains(&slack.secret), "{}", slack.secret);
}

#[test]
fn upstream_global_allowlist_excludes_paths() {
    let Some(rules) = gitleaks_rules() else {
        return;
    };
    assert!(!rules.path_allowed("/app/node_modules/left-pad/index.js"));
    assert!(!rules.path_allowed("images/logo.PNG"));
    assert!(rules.path_allowed("/app/.env"));
    let pat = format!("ghp_{}", "R7kLm2Qx9TzWv4Ny8Pb3Hc6Jd1Fs5Ga0Ke7U");
    assert!(rules
        .scan_bytes("/app/node_modules/x/token.txt", pat.as_bytes())
        .is_empty());
    assert_eq!(rules.scan_bytes("/app/token.txt", pat.as_bytes()).len(), 1);
}

#[test]
fn path_only_rules_flag_file_names() {
    let Some(rules) = gitleaks_rules() else {
        return;
    };
    let findings = rules.scan_bytes("/etc/ssl/private/server.p12", b"\x30\x82");
    assert!(findings
        .iter()
        .any(|f| f.rule_id == "pkcs12-file" && f.location.start_line == 0));
    assert!(rules.scan_bytes("/etc/ssl/server.pem", b"nothing").is_empty());
}
