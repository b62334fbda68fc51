//! Fuzzes policy loading: arbitrary bytes as a policy file (templates, constraints,
//! ValidatingAdmissionPolicies, bindings, built-ins) load or give errors naming file and line,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_policy::{Limits, PolicySet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(errors) = PolicySet::from_text("fuzz.yaml", &text, Limits::default()) {
        for error in errors {
            assert_eq!(error.path, "fuzz.yaml");
        }
    }
});
