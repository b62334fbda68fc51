//! The `moat sbom` command as a user runs it: outputs, determinism, the cache, SBOM input and
//! bad input.

mod common;

use common::{assert_rejected, json_stdout, moat, package_triples, rejected};
use moat_testkit::shared::{shared_dir, shared_file};
use std::path::Path;
use std::process::Command;

fn run_in(cache: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .env("MOAT_CACHE_DIR", cache)
        .output()
        .expect("run moat")
}

#[test]
fn outputs_are_byte_identical_across_runs_and_cache_states() {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/rpm-sample.tar");
    let tar = tar.to_str().expect("utf-8 path");
    let cache = tempfile::tempdir().expect("temp dir");
    for format in ["cyclonedx-json", "spdx-json", "json", "table"] {
        let cold = run_in(cache.path(), &["sbom", tar, "-f", format, "-q", "--no-cache"]);
        let first = run_in(cache.path(), &["sbom", tar, "-f", format, "-q"]);
        let warm = run_in(cache.path(), &["sbom", tar, "-f", format, "-q"]);
        assert!(
            cold.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&cold.stderr)
        );
        assert_eq!(cold.stdout, first.stdout, "{format}: output differs between runs");
        assert_eq!(
            cold.stdout, warm.stdout,
            "{format}: a cached rescan gives different output"
        );
    }
    let entries = std::fs::read_dir(cache.path().join("layers"))
        .expect("cache written")
        .count();
    assert_eq!(entries, 2, "one cache entry per layer of rpm-sample");
}

#[test]
fn a_damaged_cache_entry_is_ignored_not_trusted() {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/rpm-sample.tar");
    let tar = tar.to_str().expect("utf-8 path");
    let cache = tempfile::tempdir().expect("temp dir");
    let fresh = run_in(cache.path(), &["sbom", tar, "-f", "json", "-q"]);
    for entry in std::fs::read_dir(cache.path().join("layers")).expect("cache") {
        std::fs::write(entry.expect("entry").path(), b"{ not json").expect("damage");
    }
    let again = run_in(cache.path(), &["sbom", tar, "-f", "json", "-q"]);
    assert!(again.status.success());
    assert_eq!(fresh.stdout, again.stdout);
}

#[test]
fn writes_the_output_file_and_reads_it_back_as_a_target() {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/debian-app.tar");
    let dir = tempfile::tempdir().expect("temp dir");
    let direct = json_stdout(&moat(&["sbom", tar.to_str().expect("utf-8"), "-f", "json", "-q"]));
    for format in ["cyclonedx-json", "spdx-json"] {
        let sbom = dir.path().join(format!("{format}.json"));
        let written = moat(&[
            "sbom",
            tar.to_str().expect("utf-8"),
            "-f",
            format,
            "-q",
            "-o",
            sbom.to_str().expect("utf-8"),
        ]);
        assert!(
            written.status.success(),
            "{}",
            String::from_utf8_lossy(&written.stderr)
        );
        assert!(written.stdout.is_empty(), "-o writes nothing to stdout");
        let target = format!("sbom:{}", sbom.display());
        let reread = json_stdout(&moat(&["sbom", &target, "-f", "json", "-q"]));
        assert_eq!(
            package_triples(&reread),
            package_triples(&direct),
            "{format} round trip"
        );
    }
}

#[test]
fn scans_a_directory_tree_including_lock_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join("srv/app");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::write(
        app.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"0.6.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .expect("write");
    std::fs::write(app.join("requirements.txt"), "requests==2.19.1\n").expect("write");
    let target = format!("dir:{}", dir.path().display());
    let inventory = json_stdout(&moat(&["sbom", &target, "-f", "json", "-q"]));
    let triples = package_triples(&inventory);
    assert!(
        triples.contains(&("rust-crate".into(), "smallvec".into(), "0.6.9".into())),
        "{triples:?}"
    );
    assert!(
        triples.contains(&("python".into(), "requests".into(), "2.19.1".into())),
        "{triples:?}"
    );
    assert_eq!(inventory["source"]["kind"], "directory");
}

#[test]
fn bad_input_fails_cleanly_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_an_image = dir.path().join("notes.txt");
    std::fs::write(&not_an_image, "just some text\n").expect("write");
    assert_rejected(not_an_image.to_str().expect("utf-8"), "notes.txt");

    let Some(shared) = shared_dir() else { return };
    let tar = std::fs::read(shared_file(&shared, "images/busybox-static.tar")).expect("read");
    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &tar[..tar.len() * 2 / 3]).expect("write");
    let stderr = rejected(truncated.to_str().expect("utf-8"));
    assert!(
        stderr.contains("truncated.tar") && stderr.contains("truncated archive"),
        "{stderr}"
    );

    let missing = dir.path().join("missing.tar");
    assert_rejected(&format!("docker-archive:{}", missing.display()), "missing.tar");

    let bad_sbom = dir.path().join("bad.cdx.json");
    std::fs::write(&bad_sbom, "{\"bomFormat\": \"CycloneDX\", \"components\": [").expect("write");
    assert_rejected(&format!("sbom:{}", bad_sbom.display()), "bad.cdx.json");
}

#[test]
fn an_oci_layout_gives_the_same_packages_as_the_archive() {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/rpm-sample.tar");
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = dir.path().join("rpm-sample.oci");
    let status = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            &format!("docker-archive:{}", tar.display()),
            &format!("oci:{}:v1", layout.display()),
        ])
        .status()
        .expect("skopeo is needed for this test (apt-get install skopeo; .ci/run installs it)");
    assert!(status.success(), "skopeo copy failed");
    let from_archive = json_stdout(&moat(&["sbom", tar.to_str().expect("utf-8"), "-f", "json", "-q"]));
    let from_layout = json_stdout(&moat(&[
        "sbom",
        &format!("oci:{}:v1", layout.display()),
        "-f",
        "json",
        "-q",
    ]));
    assert_eq!(from_archive["packages"], from_layout["packages"]);
}
