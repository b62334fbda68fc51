//! gitleaks-format rule files: extension of the builtin rules, allow-lists, and clear errors
//! (naming the file and line) for broken files.

use moat_secret::{RuleError, RuleSet};

fn error_of(text: &str) -> RuleError {
    match RuleSet::from_gitleaks_toml(text, "custom.toml") {
        Ok(set) => panic!("accepted, {} rules", set.len()),
        Err(error) => error,
    }
}

fn assert_names_file_and_line(error: &RuleError, line: usize) {
    let message = error.to_string();
    assert!(message.starts_with(&format!("custom.toml:{line}:")), "{message}");
}

#[test]
fn malformed_toml_names_file_and_line() {
    let error = error_of("title = \"x\"\n\n[[rules]]\nid = \"a\"\nregex = 'abc\nkeywords = []\n");
    assert!(matches!(error, RuleError::Toml { .. }), "{error:?}");
    assert_names_file_and_line(&error, 5);
    let error = error_of("[[rules]]\nid = \"a\"\nregex = 'a'\nentropy = \"high\"\n");
    assert!(matches!(error, RuleError::Toml { .. }), "{error:?}");
    assert_names_file_and_line(&error, 4);
}

#[test]
fn an_invalid_regex_names_rule_file_and_line() {
    let text = "title = \"x\"\n\n[[rules]]\nid = \"ok\"\nregex = '''abc'''\nkeywords = [\"abc\"]\n\n[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\n";
    let error = error_of(text);
    assert!(matches!(error, RuleError::Regex { .. }), "{error:?}");
    assert_names_file_and_line(&error, 10);
    assert!(error.to_string().contains("\"broken\""), "{error}");
}

#[test]
fn an_oversized_regex_is_rejected_quickly() {
    let error = error_of("[[rules]]\nid = \"huge\"\nregex = '''a{100000}{100000}'''\n");
    assert_names_file_and_line(&error, 3);
    assert!(error.to_string().contains("too large"), "{error}");
    let error = error_of("[[rules]]\nid = \"wide\"\nregex = '''(?:\\w{1000}){1000}'''\n");
    assert!(error.to_string().contains("too large"), "{error}");
}

#[test]
fn bad_allowlist_and_field_values_name_their_line() {
    let error =
        error_of("[[rules]]\nid = \"r\"\nregex = 'x'\n[[rules.allowlists]]\nregexes = ['ok', '[z-a]']\n");
    assert_names_file_and_line(&error, 5);
    let error = error_of("[[rules]]\nid = \"r\"\nregex = 'x'\n[[rules.allowlists]]\ncondition = \"XOR\"\n");
    assert_names_file_and_line(&error, 5);
    let error = error_of("[[rules]]\nid = \"r\"\nregex = '(x)'\nsecretGroup = 3\n");
    assert_names_file_and_line(&error, 4);
    let error = error_of("[[rules]]\ndescription = \"no id\"\nregex = 'x'\n");
    assert!(matches!(error, RuleError::Invalid { .. }), "{error:?}");
    let error = error_of("\n[[rules]]\nid = \"nothing\"\nkeywords = [\"a\"]\n");
    assert_names_file_and_line(&error, 3);
    let error = error_of("[[rules]]\nid = \"r\"\nregex = 'x'\nseverity = \"apocalyptic\"\n");
    assert_names_file_and_line(&error, 4);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = RuleSet::load(std::path::Path::new("/nonexistent/moat-rules.toml")).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/moat-rules.toml"),
        "{error}"
    );
}

#[test]
fn extend_use_default_adds_to_and_disables_builtin_rules() {
    let text = r#"
title = "team rules"
[extend]
useDefault = true
disabledRules = ["jwt"]

[[rules]]
id = "acme-internal-token"
description = "ACME internal token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
keywords = ["acme_"]
severity = "critical"
"#;
    let rules = RuleSet::from_gitleaks_toml(text, "team.toml").unwrap();
    let builtin = RuleSet::builtin();
    assert_eq!(rules.len(), builtin.len());
    assert!(rules.rules().all(|r| r.id != "jwt"));
    let acme = rules.rules().find(|r| r.id == "acme-internal-token").unwrap();
    assert_eq!(acme.severity, moat_core::Severity::Critical);
    let text = "t = acme_0123456789abcdefghijklmn\nu = ghp_R7kLm2Qx9TzWv4Ny8Pb3Hc6Jd1Fs5Ga0Ke7U\n";
    let found: Vec<String> = rules
        .scan_bytes("f", text.as_bytes())
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert_eq!(found, ["acme-internal-token", "github-pat"]);
}

#[test]
fn extend_path_is_resolved_beside_the_file() {
    let dir = std::env::temp_dir().join(format!("moat-secret-extend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("base.toml"),
        "[[rules]]\nid = \"base-rule\"\nregex = '''base_[0-9]{6}'''\nkeywords = [\"base_\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("top.toml"), "[extend]\npath = \"base.toml\"\n[[rules]]\nid = \"top-rule\"\nregex = '''top_[0-9]{6}'''\nkeywords = [\"top_\"]\n").unwrap();
    let rules = RuleSet::load(&dir.join("top.toml")).unwrap();
    let ids: Vec<&str> = rules.rules().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["base-rule", "top-rule"]);
    std::fs::write(dir.join("loop.toml"), "[extend]\npath = \"loop.toml\"\n").unwrap();
    let error = RuleSet::load(&dir.join("loop.toml")).unwrap_err();
    assert!(error.to_string().contains("too deep"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn allowlists_follow_gitleaks_semantics() {
    let text = r#"
[allowlist]
paths = ['''(?:^|/)fixtures/''']
regexes = ['''^tok_test''']

[[rules]]
id = "tok"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
[[rules.allowlists]]
stopwords = ["dead"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''^#''']
[[rules.allowlists]]
condition = "AND"
paths = ['''\.md$''']
regexTarget = "match"
regexes = ['''tok_doc''']
"#;
    let rules = RuleSet::from_gitleaks_toml(text, "allow.toml").unwrap();
    let scan = |path: &str, line: &str| rules.scan_bytes(path, line.as_bytes()).len();
    assert_eq!(scan("a.txt", "x tok_a1b2c3d4e5f6\n"), 1);
    assert!(!rules.path_allowed("src/fixtures/a.txt"));
    assert_eq!(
        scan("src/fixtures/a.txt", "x tok_a1b2c3d4e5f6\n"),
        0,
        "global path"
    );
    assert_eq!(scan("a.txt", "x tok_test12345678\n"), 0, "global regex");
    assert_eq!(scan("a.txt", "x tok_00dead000000\n"), 0, "stopword");
    assert_eq!(scan("a.txt", "# tok_a1b2c3d4e5f6\n"), 0, "line target");
    assert_eq!(scan("README.md", "x tok_doc123456789\n"), 0, "AND: both hold");
    assert_eq!(
        scan("a.txt", "x tok_doc123456789\n"),
        1,
        "AND: path does not hold"
    );
    assert_eq!(
        scan("README.md", "x tok_a1b2c3d4e5f6\n"),
        1,
        "AND: regex does not hold"
    );
}

#[test]
fn secret_group_and_entropy_are_honoured() {
    let text = r#"
[[rules]]
id = "pair"
regex = '''user=(\w+) pass=(\w+)'''
secretGroup = 2
entropy = 2.0
keywords = ["pass="]
"#;
    let rules = RuleSet::from_gitleaks_toml(text, "pair.toml").unwrap();
    let found = rules.scan_bytes("f", b"user=bob pass=Zq81xLmw\nuser=bob pass=aaaa\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].secret, "Zq81xLmw");
    assert_eq!(found[0].location.start_column, 15);
    assert!(found[0].entropy.is_some_and(|e| e > 2.0));
}

#[test]
fn rules_without_keywords_always_run_and_generic_ones_need_a_digit() {
    let text = r#"
[[rules]]
id = "generic-word"
regex = '''word=(\w+)'''
[[rules]]
id = "plain-word"
regex = '''plain=(\w+)'''
"#;
    let rules = RuleSet::from_gitleaks_toml(text, "k.toml").unwrap();
    let found = rules.scan_bytes("f", b"word=abcdef\nword=abc123\nplain=abcdef\n");
    let lines: Vec<(u32, &str)> = found
        .iter()
        .map(|f| (f.location.start_line, f.rule_id.as_str()))
        .collect();
    assert_eq!(lines, [(2, "generic-word"), (3, "plain-word")]);
}

#[test]
fn extend_refuses_devices_and_missing_files() {
    for target in ["/dev/zero", "/nonexistent/base.toml", "/"] {
        let text = format!("[extend]\npath = \"{target}\"\n");
        let error = error_of(&text);
        assert_names_file_and_line(&error, 2);
        assert!(error.to_string().contains(target), "{error}");
    }
}

#[test]
fn the_fingerprint_changes_with_any_file_read_even_an_extended_one() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    let main = dir.path().join("main.toml");
    std::fs::write(
        &base,
        "[[rules]]\nid = \"a\"\nregex = '''tok_[0-9]{8}'''\nkeywords = [\"tok_\"]\n",
    )
    .unwrap();
    std::fs::write(&main, "[extend]\npath = \"base.toml\"\n").unwrap();
    let before = RuleSet::load(&main).unwrap().fingerprint();
    assert_eq!(
        RuleSet::load(&main).unwrap().fingerprint(),
        before,
        "stable for the same files"
    );
    std::fs::write(
        &base,
        "[[rules]]\nid = \"a\"\nregex = '''tok_[0-9]{9}'''\nkeywords = [\"tok_\"]\n",
    )
    .unwrap();
    let after = RuleSet::load(&main).unwrap().fingerprint();
    assert_ne!(
        before, after,
        "editing the extended file must change the fingerprint"
    );
    let builtin = RuleSet::builtin();
    assert_ne!(
        builtin.fingerprint(),
        builtin.clone().with_entropy_detectors().fingerprint()
    );
}
