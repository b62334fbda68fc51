//! Fuzzes the condition language: arbitrary text parses and compiles or gives an error,
//! never a panic; a syntax error's offset lies within the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_rules::condition;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match condition::parse(&text) {
        Ok(expr) => {
            let _ = condition::compile(&expr);
        }
        Err(error) => assert!(error.offset <= text.len()),
    }
});
