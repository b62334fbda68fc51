//! Throughput of the per-layer work `moat sbom` does: stream a gzip layer, hand each entry to the
//! catalogers that want it, and parse what they picked. The layer is synthetic but shaped like a
//! Debian application image: a dpkg database, Python dist-info, node_modules and filler files.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::{write::GzEncoder, Compression};
use moat_artifact::{walk_layer_stream, Limits};
use moat_catalog::layer::LayerScanner;
use moat_catalog::registry::{CatalogerSet, TargetKind};
use moat_testkit::tarball::append;
use std::io::Write;

const DPKG_PACKAGES: usize = 400;
const PYTHON_PACKAGES: usize = 150;
const NPM_PACKAGES: usize = 300;
const FILLER_FILES: usize = 4000;

fn dpkg_status() -> String {
    (0..DPKG_PACKAGES)
        .map(|i| {
            format!(
                "Package: pkg{i}\nStatus: install ok installed\nPriority: optional\nSection: libs\n\
                 Installed-Size: {i}\nMaintainer: Someone <a@example.org>\nArchitecture: amd64\n\
                 Source: src{i} (1.{i}-1)\nVersion: 1.{i}-1+deb12u1\nDepends: libc6 (>= 2.34)\n\
                 Description: package number {i}\n more text for package {i}\n\n"
            )
        })
        .collect()
}

/// A gzip layer tar shaped like a small Debian application image, and its uncompressed size.
fn synthetic_layer() -> (Vec<u8>, u64) {
    let mut builder = tar::Builder::new(Vec::new());
    append(&mut builder, "var/lib/dpkg/status", dpkg_status().as_bytes());
    for i in 0..PYTHON_PACKAGES {
        let dir = format!("usr/lib/python3/dist-packages/py{i}-2.{i}.0.dist-info");
        let metadata = format!("Metadata-Version: 2.1\nName: py{i}\nVersion: 2.{i}.0\nLicense: MIT\n\n");
        append(&mut builder, &format!("{dir}/METADATA"), metadata.as_bytes());
        append(&mut builder, &format!("{dir}/RECORD"), b"py/__init__.py,,\n");
    }
    for i in 0..NPM_PACKAGES {
        let manifest = format!(r#"{{"name":"mod{i}","version":"3.{i}.1","license":"ISC"}}"#);
        append(
            &mut builder,
            &format!("app/node_modules/mod{i}/package.json"),
            manifest.as_bytes(),
        );
    }
    let filler = vec![0x5a_u8; 4096];
    for i in 0..FILLER_FILES {
        append(
            &mut builder,
            &format!("usr/share/filler/{}/file{i}.dat", i % 40),
            &filler,
        );
    }
    let tar = builder.into_inner().expect("finish tar");
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&tar).expect("gzip");
    (gz.finish().expect("gzip"), tar.len() as u64)
}

fn scan(layer: &[u8], catalogers: &CatalogerSet) -> usize {
    let mut scanner = LayerScanner::new(catalogers);
    walk_layer_stream(layer, "bench", &Limits::default(), &mut |entry| {
        scanner.visit(entry)
    })
    .expect("synthetic layer walks");
    scanner.finish().found.len()
}

fn layer_scan(c: &mut Criterion) {
    let (layer, uncompressed) = synthetic_layer();
    let catalogers = CatalogerSet::for_target(TargetKind::Image);
    let found_files = scan(&layer, &catalogers);
    assert!(
        found_files > 0,
        "the catalogers found nothing in the synthetic layer"
    );
    let mut group = c.benchmark_group("layer_scan");
    group.throughput(Throughput::Bytes(uncompressed));
    group.bench_function("gzip_debian_like_layer", |b| b.iter(|| scan(&layer, &catalogers)));
    group.finish();
}

criterion_group!(benches, layer_scan);
criterion_main!(benches);
