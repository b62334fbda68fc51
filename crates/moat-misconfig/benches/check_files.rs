//! Checking the side-by-side inputs in `bench/configs`: every Dockerfile and manifest parsed and
//! checked, per file kind, in one process (what `moat config` does after reading the files).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use moat_misconfig::{detect_kind, scan_file, ScanOptions};
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// Every configuration file under `dir`, with its text.
fn config_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("bench/configs is readable")
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            config_files(&path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push((path.display().to_string(), text));
        }
    }
}

fn check_all(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/configs");
    let mut files = Vec::new();
    config_files(&root, &mut files);
    let files: Vec<_> = files
        .into_iter()
        .filter_map(|(path, text)| detect_kind(&path, text.as_bytes()).map(|kind| (path, text, kind)))
        .collect();
    assert!(
        files.len() >= 10,
        "bench/configs holds {} config files",
        files.len()
    );
    let bytes: usize = files.iter().map(|(_, text, _)| text.len()).sum();
    let options = ScanOptions::default();
    let mut group = c.benchmark_group("misconfig");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("bench_configs", |b| {
        b.iter(|| {
            let mut findings = 0;
            for (path, text, kind) in &files {
                findings += scan_file(path, text, *kind, &options).findings.len();
            }
            black_box(findings)
        })
    });
    group.finish();
}

criterion_group!(benches, check_all);
criterion_main!(benches);
