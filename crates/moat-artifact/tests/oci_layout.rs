//! Synthesized OCI layouts and archives: tags, platform selection, digest checks, missing blobs.

mod common;

use common::{recorder, Seen};
use moat_artifact::{open, ArtifactError, EntryKind, Image, OpenOptions, Opened, Platform, Target};
use moat_testkit::tarball::{file, gzip, raw_tar, tar_dir, write_layout, OciImage};
use std::path::Path;

fn multi_platform(dir: &Path) {
    let images = [
        OciImage {
            platform: ("linux", "amd64"),
            layers: vec![raw_tar(&[file("arch", b"amd64")])],
        },
        OciImage {
            platform: ("linux", "arm64"),
            layers: vec![raw_tar(&[file("arch", b"arm64")]), raw_tar(&[file("x", b"")])],
        },
    ];
    write_layout(dir, &images, "v1");
}

fn open_with(target: &Target, platform: Option<&str>) -> Result<Image, ArtifactError> {
    let options = OpenOptions {
        platform: platform.map(|p| Platform::parse(p).unwrap()),
        ..OpenOptions::default()
    };
    match open(target, &options)? {
        Opened::Image(image) => Ok(image),
        other => panic!("not an image: {other:?}"),
    }
}

fn arch_file(image: &Image) -> String {
    let mut found = String::new();
    image
        .walk_layer(0, &mut |e| {
            if e.path() == "/arch" {
                found = String::from_utf8(e.contents(100)?).unwrap();
            }
            Ok(())
        })
        .unwrap();
    found
}

#[test]
fn picks_platforms_from_a_nested_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    multi_platform(&dir);
    let target = Target::parse(&format!("oci:{}:v1", dir.display())).unwrap();

    let default = open_with(&target, None).unwrap();
    assert_eq!(default.metadata.platform.to_string(), "linux/amd64");
    assert_eq!(arch_file(&default), "amd64");
    assert_eq!(default.metadata.repo_tags, ["v1"]);
    assert_eq!(default.metadata.config.user, "1000");
    assert_eq!(
        default.metadata.config.healthcheck,
        Some(vec!["CMD".to_string(), "true".to_string()])
    );
    assert_eq!(default.metadata.config.exposed_ports, ["80/tcp"]);
    assert_eq!(default.metadata.layers[0].created_by, "step 0");
    assert_eq!(
        default.metadata.layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );

    let arm = open_with(&target, Some("linux/arm64")).unwrap();
    assert_eq!(arm.metadata.layers.len(), 2);
    assert_eq!(arch_file(&arm), "arm64");
    assert_ne!(arm.metadata.manifest_digest, default.metadata.manifest_digest);

    let err = open_with(&target, Some("linux/s390x")).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::NoMatchingPlatform { available, .. } if available.len() == 2),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );

    // Without a tag the single top-level entry is used.
    let untagged = open_with(&Target::parse(dir.to_str().unwrap()).unwrap(), None).unwrap();
    assert_eq!(untagged.metadata, default.metadata);
}

#[test]
fn falls_back_to_the_first_linux_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    let images = [
        OciImage {
            platform: ("windows", "amd64"),
            layers: vec![raw_tar(&[file("arch", b"win")])],
        },
        OciImage {
            platform: ("linux", "riscv64"),
            layers: vec![raw_tar(&[file("arch", b"riscv64")])],
        },
    ];
    write_layout(&dir, &images, "latest");
    let image = open_with(&Target::OciLayout { dir, tag: None }, None).unwrap();
    assert_eq!(arch_file(&image), "riscv64");
}

#[test]
fn missing_blob_names_digest_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    multi_platform(&dir);
    let amd = open_with(
        &Target::OciLayout {
            dir: dir.clone(),
            tag: None,
        },
        None,
    )
    .unwrap();
    let layer = amd.metadata.layers[0].digest.clone();
    let blob = dir.join("blobs/sha256").join(layer.trim_start_matches("sha256:"));
    std::fs::remove_file(&blob).unwrap();
    let err = amd.walk_layer(0, &mut |_| Ok(())).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::MissingBlob { digest, .. } if *digest == layer),
        "{err:?}"
    );
    assert!(err.to_string().contains(&blob.display().to_string()), "{err}");

    let config = amd.metadata.config_digest.clone();
    std::fs::remove_file(
        dir.join("blobs/sha256")
            .join(config.trim_start_matches("sha256:")),
    )
    .unwrap();
    let err = open_with(&Target::OciLayout { dir, tag: None }, None).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::MissingBlob { digest, .. } if *digest == config),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(config.trim_start_matches("sha256:")),
        "{err}"
    );
}

#[test]
fn tampered_config_is_a_digest_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    write_layout(
        &dir,
        &[OciImage {
            platform: ("linux", "amd64"),
            layers: vec![raw_tar(&[file("a", b"")])],
        }],
        "t",
    );
    let image = open_with(
        &Target::OciLayout {
            dir: dir.clone(),
            tag: None,
        },
        None,
    )
    .unwrap();
    let config = dir
        .join("blobs/sha256")
        .join(image.metadata.config_digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&config).unwrap();
    bytes.extend_from_slice(b" ");
    std::fs::write(&config, bytes).unwrap();
    let err = open_with(&Target::OciLayout { dir, tag: None }, None).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::DigestMismatch { expected, .. } if *expected == image.metadata.config_digest),
        "{err:?}"
    );
    assert!(err.to_string().contains(&config.display().to_string()), "{err}");
}

#[test]
fn hostile_digest_cannot_escape_the_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        br#"{"manifests":[{"digest":"sha256:../../../../etc/passwd","size":1}]}"#,
    )
    .unwrap();
    let err = open_with(&Target::OciLayout { dir, tag: None }, None).unwrap_err();
    assert!(matches!(err, ArtifactError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("../../../../etc/passwd"), "{err}");
}

#[test]
fn oci_archive_plain_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    multi_platform(&dir);
    let from_dir = open_with(
        &Target::OciLayout {
            dir: dir.clone(),
            tag: Some("v1".into()),
        },
        None,
    )
    .unwrap();
    let tar = tmp.path().join("img.oci.tar");
    tar_dir(&dir, &tar);
    let gz = tmp.path().join("img.oci.tar.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&tar).unwrap())).unwrap();
    for path in [&tar, &gz] {
        let target = Target::parse(path.to_str().unwrap()).unwrap();
        assert_eq!(
            target,
            Target::OciArchive {
                file: path.clone(),
                tag: None
            }
        );
        let image = open_with(&target, None).unwrap();
        assert_eq!(image.metadata, from_dir.metadata);
        let mut seen = Seen::new();
        image.walk_layer(0, &mut recorder(&mut seen)).unwrap();
        assert_eq!(seen, vec![("/arch".to_string(), EntryKind::File, 5)]);
    }
    let tagged = Target::parse(&format!("oci-archive:{}:v1", tar.display())).unwrap();
    assert_eq!(
        tagged,
        Target::OciArchive {
            file: tar.clone(),
            tag: Some("v1".into())
        }
    );
    let err = open_with(
        &Target::OciArchive {
            file: tar,
            tag: Some("v9".into()),
        },
        None,
    )
    .unwrap_err();
    assert!(matches!(err, ArtifactError::TagNotFound { .. }), "{err:?}");
}
