//! npm package-lock.json (v1 tree and v2/v3 packages map) and package.json on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::npm::parse_package_lock("/fuzz/package-lock.json", data);
    let _ = moat_catalog::lang::npm::parse_package_json("/fuzz/package.json", data);
});
