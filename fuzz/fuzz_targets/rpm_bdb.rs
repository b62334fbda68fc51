//! Fuzzes the Berkeley DB hash reader behind rpm's `Packages`: arbitrary bytes give packages or
//! an error, never a panic or a loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::os::rpm::parse_bdb(data, "/var/lib/rpm/Packages");
});
