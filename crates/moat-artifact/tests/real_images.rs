//! The real images in ../shared/images: metadata against MANIFEST.md, full layer walks, whiteouts,
//! and the same image as an OCI layout and OCI archive (made with skopeo when it is installed).

mod common;

use common::{recorder, Seen};
use moat_artifact::{open, EntryKind, Image, OpenOptions, Opened, Progress, Target};
use moat_testkit::shared::shared_images;
use moat_testkit::tarball::{gzip, tar_dir};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// `(blob digest, diff_id)` per layer and the `created_by` lines, read from MANIFEST.md.
struct Expected {
    layers: Vec<(String, String)>,
    history: Vec<String>,
}

fn expected(images: &Path, name: &str) -> Expected {
    let path = images.join(format!("{name}.expected/MANIFEST.md"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ticked = |line: &str| {
        line.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let layers = text
        .lines()
        .filter(|l| l.contains(". blob `sha256:") && l.contains("diff_id"))
        .map(|l| {
            let t = ticked(l);
            (t[0].clone(), t[1].clone())
        })
        .collect();
    let history_section = text
        .split("History (from the image config):")
        .nth(1)
        .unwrap_or("");
    let history = history_section
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with("- "))
        .filter(|l| !l.contains("(empty layer)"))
        .map(|l| {
            // The line is "- `created_by`"; created_by may itself hold backticks only at its ends.
            let inner = l.trim_start_matches("- ");
            inner
                .strip_prefix('`')
                .and_then(|s| s.strip_suffix('`'))
                .unwrap_or(inner)
                .to_string()
        })
        .collect();
    Expected { layers, history }
}

fn open_image(target: &str) -> Image {
    let target = Target::parse(target).unwrap_or_else(|e| panic!("parse {target}: {e}"));
    match open(&target, &OpenOptions::default()) {
        Ok(Opened::Image(image)) => image,
        other => panic!("expected an image, got {other:?}"),
    }
}

fn walk(image: &Image, index: usize) -> Seen {
    let mut seen = Seen::new();
    image
        .walk_layer(index, &mut recorder(&mut seen))
        .unwrap_or_else(|e| panic!("layer {index}: {e}"));
    seen
}

fn whiteouts(seen: &Seen) -> Vec<&str> {
    seen.iter()
        .filter(|(_, k, _)| *k == EntryKind::Whiteout)
        .map(|(p, _, _)| p.as_str())
        .collect()
}

/// Metadata every transport of debian-app must give.
fn check_debian_metadata(image: &Image, want: &Expected, same_blobs: bool) {
    let m = &image.metadata;
    assert_eq!(m.layers.len(), 8);
    let diff_ids: Vec<_> = m.layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(
        diff_ids,
        want.layers.iter().map(|l| l.1.clone()).collect::<Vec<_>>()
    );
    if same_blobs {
        // skopeo rewrites the config (and so its digest) when it makes an OCI layout.
        assert_eq!(
            m.config_digest,
            "sha256:d311f56795a8e58d5e371aa26caa05d9a28f4743799c6aa0c9fddd639ab54ce2"
        );
        let digests: Vec<_> = m.layers.iter().map(|l| l.digest.clone()).collect();
        assert_eq!(
            digests,
            want.layers.iter().map(|l| l.0.clone()).collect::<Vec<_>>()
        );
    }
    let created_by: Vec<_> = m.layers.iter().map(|l| l.created_by.clone()).collect();
    assert_eq!(created_by, want.history);
    assert_eq!(m.platform.to_string(), "linux/amd64");
    assert_eq!(m.config.cmd, ["python3", "-m", "http.server"]);
    assert_eq!(m.config.exposed_ports, ["22/tcp"]);
    assert_eq!(m.config.working_dir, "/app");
    assert_eq!(m.config.user, "");
    assert!(m.config.env.iter().any(|e| e == "DB_PASSWORD=hunter2-not-real"));
    assert_eq!(m.config.history.len(), 9);
    assert!(m.config.healthcheck.is_none());
}

/// The layer walks every transport of debian-app must give.
fn check_debian_layers(image: &Image) {
    let counts = [6479, 6847, 1478, 6, 2, 43, 7, 2];
    for (i, count) in counts.iter().enumerate() {
        let seen = walk(image, i);
        assert!(
            seen.len() + 1 >= *count && seen.len() <= *count,
            "layer {i}: {} entries, MANIFEST says {count}",
            seen.len()
        );
        for (path, _, _) in &seen {
            assert!(
                path.starts_with('/') && !path.contains("//") && !path.contains("/../"),
                "{path}"
            );
        }
        let w = whiteouts(&seen);
        match i {
            5 => assert_eq!(w, ["/var/lib/apt/lists/lock", "/var/lib/apt/lists/partial"]),
            7 => assert_eq!(w, ["/app/node/node_modules/minimist"]),
            _ => assert!(w.is_empty(), "layer {i} whiteouts {w:?}"),
        }
    }
}

#[test]
fn debian_app_docker_archive() {
    let Some(images) = shared_images() else { return };
    let want = expected(&images, "debian-app");
    assert_eq!(want.layers.len(), 8);
    let image = open_image(&images.join("debian-app.tar").display().to_string());
    check_debian_metadata(&image, &want, true);
    assert_eq!(image.metadata.repo_tags, ["debian-app:latest"]);
    assert_eq!(image.metadata.manifest_digest, None);
    let sizes: Vec<u64> = image.metadata.layers.iter().map(|l| l.size).collect();
    assert_eq!(sizes[7], 136);
    assert!(image
        .metadata
        .layers
        .iter()
        .all(|l| l.media_type.ends_with("tar.gzip")));
    check_debian_layers(&image);
}

#[test]
fn debian_app_reads_file_contents_and_links() {
    let Some(images) = shared_images() else { return };
    let image = open_image(&format!(
        "docker-archive:{}",
        images.join("debian-app.tar").display()
    ));
    let mut os_release = None;
    let mut head_len = None;
    let mut symlinks = 0;
    image
        .walk_layer(0, &mut |e| {
            match e.path() {
                "/usr/lib/os-release" => {
                    os_release = Some(String::from_utf8_lossy(&e.contents(1 << 20)?).into_owned())
                }
                "/var/lib/dpkg/status" => head_len = Some(e.head()?.len()),
                _ => {}
            }
            if matches!(e.kind(), EntryKind::Symlink { .. }) {
                symlinks += 1;
            }
            Ok(())
        })
        .unwrap();
    let os_release = os_release.expect("/usr/lib/os-release in layer 0");
    assert!(os_release.contains("VERSION_CODENAME=bookworm"), "{os_release}");
    assert_eq!(head_len, Some(512));
    assert!(symlinks > 0);
}

#[test]
fn busybox_and_rpm_sample_metadata() {
    let Some(images) = shared_images() else { return };
    let busybox = open_image(&images.join("busybox-static.tar").display().to_string());
    let m = &busybox.metadata;
    assert_eq!(m.layers.len(), 1);
    assert_eq!(
        m.layers[0].diff_id,
        "sha256:15b2c83fb2a52552b98f37900f313066b69b3e1df727518f63c965863a42540f"
    );
    assert_eq!(m.config.user, "1000");
    let seen = walk(&busybox, 0);
    assert!(seen.len() >= 280 && seen.len() <= 281, "{}", seen.len());
    let busybox_bin = seen
        .iter()
        .find(|(p, _, _)| p == "/bin/busybox")
        .expect("/bin/busybox");
    assert_eq!(busybox_bin.1, EntryKind::File);
    assert!(seen.iter().any(|(p, k, _)| p == "/bin/sh"
        && *k
            == EntryKind::Symlink {
                target: "busybox".into()
            }));
    insta::assert_json_snapshot!("busybox_static_metadata", m);

    let rpm = open_image(&images.join("rpm-sample.tar").display().to_string());
    assert_eq!(rpm.metadata.layers.len(), 2);
    let mut paths = Vec::new();
    for i in 0..2 {
        paths.extend(walk(&rpm, i).into_iter().map(|(p, _, _)| p));
    }
    assert!(
        paths.iter().any(|p| p == "/var/lib/rpm/rpmdb.sqlite"),
        "no rpmdb in {paths:?}"
    );
}

#[test]
fn gzip_compressed_docker_archive_and_progress() {
    let Some(images) = shared_images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("busybox.tar.gz");
    std::fs::write(
        &gz,
        gzip(&std::fs::read(images.join("busybox-static.tar")).unwrap()),
    )
    .unwrap();
    let target = Target::parse(gz.to_str().unwrap()).unwrap();
    assert_eq!(target, Target::DockerArchive(gz.clone()));

    #[derive(Default)]
    struct Count(AtomicU64, AtomicU64);
    impl Progress for Count {
        fn begin(&self, _label: &str, total: Option<u64>) {
            self.1.store(total.unwrap_or(0), Ordering::SeqCst);
        }
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::SeqCst);
        }
        fn end(&self) {}
    }
    let count = Arc::new(Count::default());
    let options = OpenOptions {
        progress: Some(count.clone()),
        ..OpenOptions::default()
    };
    let Ok(Opened::Image(image)) = open(&target, &options) else {
        panic!("open {}", gz.display())
    };
    assert_eq!(
        image.metadata.layers[0].diff_id,
        "sha256:15b2c83fb2a52552b98f37900f313066b69b3e1df727518f63c965863a42540f"
    );
    assert_eq!(walk(&image, 0).len(), busybox_entries(&images));
    let total = count.1.load(Ordering::SeqCst);
    assert_eq!(total, 1031650);
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        total,
        "progress must cover the whole blob"
    );
}

fn busybox_entries(images: &Path) -> usize {
    walk(
        &open_image(&images.join("busybox-static.tar").display().to_string()),
        0,
    )
    .len()
}

#[test]
fn debian_app_as_oci_layout_and_archive() {
    let Some(images) = shared_images() else { return };
    if std::process::Command::new("skopeo")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: skopeo is not installed (apt-get install -y skopeo)");
        return;
    }
    let want = expected(&images, "debian-app");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("debian-app.oci");
    let status = std::process::Command::new("skopeo")
        .arg("copy")
        .arg(format!(
            "docker-archive:{}",
            images.join("debian-app.tar").display()
        ))
        .arg(format!("oci:{}:latest", layout.display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&status.stderr)
    );

    let plain = layout.display().to_string();
    assert!(matches!(
        Target::parse(&plain),
        Ok(Target::OciLayout { tag: None, .. })
    ));
    let image = open_image(&format!("oci:{plain}:latest"));
    check_debian_metadata(&image, &want, false);
    assert_eq!(image.metadata.repo_tags, ["latest"]);
    assert!(image
        .metadata
        .manifest_digest
        .as_deref()
        .is_some_and(|d| d.starts_with("sha256:")));
    check_debian_layers(&image);
    let missing_tag = Target::parse(&format!("oci:{plain}:nope")).unwrap();
    let err = open(&missing_tag, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(err, moat_artifact::ArtifactError::TagNotFound { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("nope") && err.to_string().contains("latest"),
        "{err}"
    );

    let archive = tmp.path().join("debian-app.oci.tar");
    tar_dir(&layout, &archive);
    let target = Target::parse(archive.to_str().unwrap()).unwrap();
    assert!(matches!(target, Target::OciArchive { .. }), "{target:?}");
    let Ok(Opened::Image(from_archive)) = open(&target, &OpenOptions::default()) else {
        panic!("open archive")
    };
    assert_eq!(from_archive.metadata, image.metadata);
    check_debian_layers(&from_archive);
}
