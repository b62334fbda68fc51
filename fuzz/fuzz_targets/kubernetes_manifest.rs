//! Fuzzes Kubernetes manifest loading and every Kubernetes check: arbitrary bytes (read as lossy
//! UTF-8) give findings or errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_misconfig::{kubernetes, ScanOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = kubernetes::looks_like_manifest("fuzz.yaml", data);
    let outcome = kubernetes::check("fuzz.yaml", &text, &ScanOptions::default());
    for finding in &outcome.findings {
        assert!(finding.location.start_line >= 1, "findings always have a line");
    }
    let _ = kubernetes::check("fuzz.json", &text, &ScanOptions::default());
});
