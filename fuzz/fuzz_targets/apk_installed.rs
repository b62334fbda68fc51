//! Fuzzes the apk installed-database parser: arbitrary bytes give packages or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::os::apk::parse_installed(data, "/lib/apk/db/installed");
});
