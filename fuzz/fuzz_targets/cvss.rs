//! The CVSS calculator on arbitrary text: a score within 0.0..=10.0 whose rating matches it, or
//! an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_core::cvss::score;
use moat_core::Severity;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rated) = score(text) {
        assert!(
            (0.0..=10.0).contains(&rated.base_score),
            "{text:?}: {}",
            rated.base_score
        );
        assert_eq!(rated.severity, Severity::from_cvss_score(rated.base_score));
    }
});
