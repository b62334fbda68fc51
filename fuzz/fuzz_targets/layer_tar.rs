//! Walks arbitrary bytes as a layer blob (plain, gzip or zstd tar) with small limits, reading
//! the head of every entry: must never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_artifact::{walk_layer_stream, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file_size: 1 << 20,
        max_layer_bytes: 8 << 20,
        max_entries: 10_000,
        max_ratio: 100,
    };
    let _ = walk_layer_stream(data, "fuzz", &limits, &mut |entry| {
        let _ = entry.head();
        let _ = entry.path();
        Ok(())
    });
});
