//! The secret scanner on arbitrary input: the bytes as a gitleaks TOML rule file (compiled or
//! rejected with an error naming a line, never a panic or a hang), and as file content scanned
//! with the builtin rules (findings point inside the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_secret::{RuleError, RuleSet};
use std::sync::OnceLock;

static BUILTIN: OnceLock<RuleSet> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match RuleSet::from_gitleaks_toml(text, "fuzz.toml") {
            Ok(rules) => {
                let _ = rules.scan_bytes("fuzz.txt", data);
            }
            Err(RuleError::Io { .. }) => {}
            Err(
                RuleError::Toml { line, .. }
                | RuleError::Regex { line, .. }
                | RuleError::Invalid { line, .. },
            ) => assert!(line >= 1),
        }
    }
    let rules = BUILTIN.get_or_init(|| RuleSet::builtin().with_entropy_detectors());
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    for finding in rules.scan_bytes("fuzz.txt", data) {
        assert!(finding.location.start_line >= 1 && finding.location.start_line <= lines);
        assert!(finding.location.end_line >= finding.location.start_line);
        assert!(!finding.secret.is_empty());
    }
});
