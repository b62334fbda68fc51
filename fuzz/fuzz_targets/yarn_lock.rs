//! yarn.lock (v1 hand parser and berry YAML) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::npm::parse_yarn_lock("/fuzz/yarn.lock", data);
});
