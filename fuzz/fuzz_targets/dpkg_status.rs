//! Fuzzes the dpkg status parser and the copyright licence reader: arbitrary bytes give packages
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::os::dpkg::parse_status(data, "/var/lib/dpkg/status");
    let _ = moat_catalog::os::dpkg::copyright_licenses(&String::from_utf8_lossy(data));
});
