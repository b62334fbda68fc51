//! Scanning throughput on a synthetic multi-megabyte text corpus: mostly ordinary source and
//! configuration lines (many holding keywords such as `key`, `token` or `password`), with a few
//! real-looking secrets sprinkled in.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use moat_secret::RuleSet;
use std::hint::black_box;

/// Lines of an ordinary corpus, cycled.
const FILLER: [&str; 8] = [
    "fn main() { let value = compute(42); println!(\"{value}\"); }",
    "    # configure the access token lookup for the cache layer",
    "export PATH=/usr/local/bin:/usr/bin:/bin",
    "The quick brown fox jumps over the lazy dog; keys are sorted by name.",
    "    password_from_env: DB_PASSWORD",
    "<div class=\"secret-panel\" data-key=\"sidebar\">Settings</div>",
    "DATABASE_URL=postgres://app@db.internal:5432/app",
    "    let api_key = std::env::var(\"API_KEY\")?;",
];

/// Builds about `size` bytes of text with a secret every few thousand lines.
fn corpus(size: usize) -> Vec<u8> {
    let mut text = String::with_capacity(size + 256);
    let mut n = 0usize;
    while text.len() < size {
        if n % 5000 == 4999 {
            text.push_str("GITHUB_TOKEN=ghp_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5\n");
        } else {
            text.push_str(FILLER[n % FILLER.len()]);
            text.push('\n');
        }
        n += 1;
    }
    text.into_bytes()
}

fn bench_scan(c: &mut Criterion) {
    let data = corpus(8 << 20);
    let rules = RuleSet::builtin();
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.bench_function("builtin_scan_bytes_8MiB", |b| {
        b.iter(|| black_box(rules.scan_bytes("corpus.txt", black_box(&data))))
    });
    group.bench_function("builtin_scan_reader_8MiB", |b| {
        b.iter(|| black_box(rules.scan_reader("corpus.txt", black_box(data.as_slice()))))
    });
    group.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
