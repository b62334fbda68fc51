//! Fuzzes runtime rule loading: arbitrary bytes as a Falco-format rule file load or give
//! errors naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_rules::RulesetBuilder;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut builder = RulesetBuilder::new();
    builder.add_text("fuzz.yaml", &text);
    if let Err(errors) = builder.build() {
        for error in errors.0 {
            assert_eq!(error.file.to_str(), Some("fuzz.yaml"));
        }
    }
});
