//! Fuzzes the Dockerfile parser and every Dockerfile check: arbitrary bytes (read as lossy
//! UTF-8) give a model, findings and errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_misconfig::{dockerfile, ScanOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = dockerfile::parse("Dockerfile", &text);
    for error in &parsed.errors {
        assert_eq!(error.path, "Dockerfile", "errors name the file");
    }
    for options in [
        ScanOptions::default(),
        ScanOptions {
            has_dockerignore: true,
            ..ScanOptions::default()
        },
    ] {
        let outcome = dockerfile::check("Dockerfile", &text, &options);
        for finding in &outcome.findings {
            assert!(finding.location.start_line >= 1, "findings always have a line");
            assert!(finding.location.end_line >= finding.location.start_line);
        }
    }
});
