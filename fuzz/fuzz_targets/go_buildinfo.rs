//! Fuzzes the Go build info reader (container parsing, both header formats, module info text).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::go::parse_go_buildinfo(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = moat_catalog::lang::go::buildinfo::parse_modinfo(text);
    }
});
