//! Fuzzes the Cargo.lock parser: arbitrary bytes must give packages or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::rust::parse_cargo_lock("/fuzz/Cargo.lock", data);
});
