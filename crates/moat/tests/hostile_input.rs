//! Hostile and broken images through the real `moat` binary, as a user would meet them: each is
//! built here, and each must fail with exit code 2 and an error naming the file, entry or layer,
//! without a panic and without writing anything. A layer that is odd but legal (a symlink loop)
//! must still scan.

mod common;

use common::{moat, rejected};
use moat_testkit::tarball::{
    file, gzip, raw_tar, sha256, symlink, write_docker_archive, write_docker_archive_blobs, zstd_zeros_layer,
    LayerBlob,
};
use std::path::{Path, PathBuf};

/// The hex part of a `sha256:` digest: how the member names and the layer labels show a blob.
fn hex_of(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// `path` as a command-line argument.
fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Asserts that `stderr` contains every needle.
fn assert_names(stderr: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "the error does not name {needle:?}: {stderr}"
        );
    }
}

/// Asserts that `stderr` says `what` exactly once (a cause is not repeated after itself).
fn assert_said_once(stderr: &str, what: &str) {
    assert_eq!(stderr.matches(what).count(), 1, "{what:?} once in: {stderr}");
}

/// `len` bytes of deterministic noise (xorshift64): incompressible, and without compression magic.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A docker archive `name` in `dir` whose only layer is `layer`, stored gzip.
fn archive_with_layer(dir: &Path, name: &str, layer: &[u8]) -> (PathBuf, LayerBlob) {
    let path = dir.join(name);
    let blob = LayerBlob::gzip(layer);
    write_docker_archive_blobs(&path, std::slice::from_ref(&blob), false);
    (path, blob)
}

#[test]
fn entries_that_climb_out_or_are_absolute_are_refused_naming_entry_and_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (file_name, entry) in [("escape.tar", "../escape"), ("absolute.tar", "/abs/file")] {
        let layer = raw_tar(&[file("etc/ok", b"fine\n"), file(entry, b"evil\n")]);
        let (image, blob) = archive_with_layer(dir.path(), file_name, &layer);
        let stderr = rejected(arg(&image));
        assert_names(&stderr, &[entry, hex_of(&sha256(&blob.blob)), file_name]);
        assert_said_once(&stderr, "unsafe path");
    }
}

#[test]
fn a_truncated_gzip_layer_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = noise(300_000);
    let layer = raw_tar(&[file("usr/lib/libbig.so", &data)]);
    let whole = gzip(&layer);
    let cut = LayerBlob {
        blob: whole[..whole.len() / 2].to_vec(),
        diff_id: sha256(&layer),
    };
    let image = dir.path().join("cut-layer.tar");
    write_docker_archive_blobs(&image, std::slice::from_ref(&cut), false);
    let stderr = rejected(arg(&image));
    assert_names(
        &stderr,
        &["truncated", hex_of(&sha256(&cut.blob)), "cut-layer.tar"],
    );
    assert_said_once(&stderr, "truncated");
}

#[test]
fn a_truncated_gzip_outer_archive_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = noise(300_000);
    let plain = dir.path().join("plain.tar");
    write_docker_archive(&plain, &[raw_tar(&[file("usr/lib/libbig.so", &data)])], false);
    let whole = gzip(&std::fs::read(&plain).expect("read"));
    // Cut in the middle of the layer, and cut only the gzip trailer (the tar itself is whole).
    for (name, keep) in [
        ("img.tar.gz", whole.len() / 2),
        ("trailer.tar.gz", whole.len() - 4),
    ] {
        let image = dir.path().join(name);
        std::fs::write(&image, &whole[..keep]).expect("write");
        let stderr = rejected(arg(&image));
        assert_names(&stderr, &[name]);
        assert!(
            !stderr.contains("layer"),
            "the image file is not a layer: {stderr}"
        );
    }
}

#[test]
fn a_zstd_decompression_bomb_hits_the_ratio_limit_naming_the_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bomb = zstd_zeros_layer("zeros", 256 << 20);
    let image = dir.path().join("bomb.tar");
    write_docker_archive_blobs(&image, std::slice::from_ref(&bomb), false);
    let stderr = rejected(arg(&image));
    assert_names(
        &stderr,
        &[
            "10000 times",
            "decompression bomb",
            hex_of(&sha256(&bomb.blob)),
            "bomb.tar",
        ],
    );
    assert_said_once(&stderr, "decompression bomb");
}

#[test]
fn a_layer_blob_missing_from_the_archive_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let layer = raw_tar(&[file("etc/ok", b"fine\n")]);
    let image = dir.path().join("no-layer.tar");
    write_docker_archive(&image, std::slice::from_ref(&layer), true);
    let member = format!("{}.tar.gz", hex_of(&sha256(&gzip(&layer))));
    let stderr = rejected(arg(&image));
    assert_names(&stderr, &[&member, "no-layer.tar", "missing"]);
}

#[test]
fn a_symlink_loop_in_the_outer_tar_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("loop.tar");
    let outer = raw_tar(&[symlink("manifest.json", "m2"), symlink("m2", "manifest.json")]);
    std::fs::write(&image, outer).expect("write");
    let stderr = rejected(arg(&image));
    assert_names(
        &stderr,
        &[
            "loop.tar",
            "link loop",
            r#""manifest.json" -> "m2" -> "manifest.json""#,
        ],
    );
}

#[test]
fn a_symlink_loop_inside_a_layer_is_legal_and_the_packages_are_still_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = b"Package: hello\nStatus: install ok installed\nPriority: optional\nSection: devel\n\
Installed-Size: 120\nMaintainer: Nobody <nobody@example.org>\nArchitecture: amd64\nVersion: 2.10-3\n\
Description: example package\n the classic greeting\n";
    let layer = raw_tar(&[
        symlink("etc/a", "b"),
        symlink("etc/b", "a"),
        symlink("etc/os-release", "a"),
        file("var/lib/dpkg/status", status),
    ]);
    let (image, _) = archive_with_layer(dir.path(), "links.tar", &layer);
    let out = dir.path().join("sbom.cdx.json");
    let output = moat(&["sbom", arg(&image), "-f", "cyclonedx-json", "-q", "-o", arg(&out)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let bom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("the SBOM was written")).expect("JSON");
    let components: Vec<(&str, &str, &str)> = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["type"] == "library")
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default();
            (field("name"), field("version"), field("purl"))
        })
        .collect();
    assert_eq!(components.len(), 1, "{components:?}");
    let (name, version, purl) = components[0];
    assert_eq!((name, version), ("hello", "2.10-3"));
    assert!(purl.starts_with("pkg:deb/"), "{purl}");
}

#[test]
fn random_bytes_and_an_empty_file_are_not_images() {
    let dir = tempfile::tempdir().expect("temp dir");
    let random_bytes = noise(64 * 1024);
    assert!(!random_bytes.starts_with(&[0x1f, 0x8b]) && !random_bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    let random = dir.path().join("random.bin");
    std::fs::write(&random, &random_bytes).expect("write");
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").expect("write");
    for (path, name) in [(&random, "random.bin"), (&empty, "empty.tar")] {
        let stderr = rejected(arg(path));
        assert_names(&stderr, &[name, "not a container image"]);
        let explicit = rejected(&format!("docker-archive:{}", path.display()));
        assert_names(&explicit, &[name]);
    }
}
