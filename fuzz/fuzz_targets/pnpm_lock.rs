//! pnpm-lock.yaml (lockfile versions 5, 6 and 9) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::npm::parse_pnpm_lock("/fuzz/pnpm-lock.yaml", data);
});
