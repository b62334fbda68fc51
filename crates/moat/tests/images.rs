//! For every shared image, Moat's package set (type, name, version) equals syft's, except for the
//! differences listed here one by one, each with the reason Moat is right.

mod common;

use common::{json_stdout, moat, package_triples};
use moat_testkit::shared::{shared_dir, shared_file};
use std::collections::BTreeSet;

type Triple = (String, String, String);

/// Crates in debian-app's /app/rust/Cargo.lock. syft's image mode does not read Cargo.lock;
/// trivy does and reports these same 34 (its trivy.cyclonedx.json), and the lock file is in the
/// image, so Moat reports them too.
const DEBIAN_APP_CARGO_LOCK: &[(&str, &str)] = &[
    ("bytes", "1.12.2"),
    ("demo-rust", "0.1.0"),
    ("fnv", "1.0.7"),
    ("futures-channel", "0.3.34"),
    ("futures-core", "0.3.34"),
    ("futures-task", "0.3.34"),
    ("futures-util", "0.3.34"),
    ("http", "0.2.12"),
    ("http-body", "0.4.6"),
    ("httparse", "1.10.1"),
    ("httpdate", "1.0.3"),
    ("hyper", "0.14.10"),
    ("itoa", "0.4.8"),
    ("itoa", "1.0.19"),
    ("libc", "0.2.191"),
    ("mio", "1.2.5"),
    ("once_cell", "1.21.4"),
    ("pin-project-lite", "0.2.18"),
    ("smallvec", "0.6.9"),
    ("socket2", "0.4.10"),
    ("socket2", "0.6.5"),
    ("time", "0.1.43"),
    ("tokio", "1.54.1"),
    ("tower-service", "0.3.3"),
    ("tracing", "0.1.44"),
    ("tracing-core", "0.1.36"),
    ("try-lock", "0.2.5"),
    ("want", "0.3.2"),
    ("wasi", "0.11.1+wasi-snapshot-preview1"),
    ("winapi", "0.3.9"),
    ("winapi-i686-pc-windows-gnu", "0.4.0"),
    ("winapi-x86_64-pc-windows-gnu", "0.4.0"),
    ("windows-link", "0.2.1"),
    ("windows-sys", "0.61.2"),
];

fn triple(t: &str, n: &str, v: &str) -> Triple {
    (t.to_string(), n.to_string(), v.to_string())
}

/// Packages syft reports that Moat deliberately does not, with the reason.
fn syft_only(image: &str) -> Vec<(Triple, &'static str)> {
    let busybox = (
        triple("binary", "busybox", "1.35.0"),
        "syft's binary classifier guesses a version from strings in /bin/busybox; no package \
         database or manifest names it, and the issue's ground truth for these images is zero \
         (busybox-static) / five rpm (rpm-sample) packages",
    );
    match image {
        "busybox-static" => vec![
            busybox,
            (
                triple("binary", "gzip", "1.0"),
                "a bogus guess on the same busybox file (MANIFEST.md: there is no gzip 1.0)",
            ),
        ],
        "rpm-sample" => vec![busybox],
        "debian-app" => vec![(
            triple("java-archive", "log4j", "1.2-1.2.17"),
            "syft takes the version from the file name log4j-1.2-1.2.17.jar; the jar's manifest \
             (Bundle-Version) and the image's ground truth say 1.2.17, which Moat reports",
        )],
        _ => Vec::new(),
    }
}

/// Packages Moat reports that syft does not, with the reason.
fn moat_only(image: &str) -> Vec<(Triple, &'static str)> {
    match image {
        "debian-app" => DEBIAN_APP_CARGO_LOCK
            .iter()
            .map(|(n, v)| {
                (
                    triple("rust-crate", n, v),
                    "in /app/rust/Cargo.lock; syft's image mode skips Cargo.lock, trivy reports it",
                )
            })
            .chain([(
                triple("java-archive", "log4j", "1.2.17"),
                "/usr/share/java/log4j-1.2-1.2.17.jar is Log4j 1.2.17 (manifest Bundle-Version)",
            )])
            .collect(),
        _ => Vec::new(),
    }
}

fn syft_triples(path: &std::path::Path) -> BTreeSet<Triple> {
    let text = std::fs::read(path).expect("read syft output");
    let json: serde_json::Value = serde_json::from_slice(&text).expect("syft json");
    json["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| {
            triple(
                a["type"].as_str().unwrap_or(""),
                a["name"].as_str().unwrap_or(""),
                a["version"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

fn check_image(name: &str) {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, &format!("images/{name}.tar"));
    let syft = syft_triples(&shared_file(
        &shared,
        &format!("images/{name}.expected/syft.syft.json"),
    ));
    let output = moat(&[
        "sbom",
        tar.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "-q",
    ]);
    let inventory = json_stdout(&output);
    let ours: BTreeSet<Triple> = package_triples(&inventory).into_iter().collect();

    let allowed_missing: BTreeSet<Triple> = syft_only(name).into_iter().map(|(t, _)| t).collect();
    let allowed_extra: BTreeSet<Triple> = moat_only(name).into_iter().map(|(t, _)| t).collect();
    let missing: BTreeSet<&Triple> = syft
        .difference(&ours)
        .filter(|t| !allowed_missing.contains(*t))
        .collect();
    let extra: BTreeSet<&Triple> = ours
        .difference(&syft)
        .filter(|t| !allowed_extra.contains(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: packages syft found and Moat did not: {missing:#?}"
    );
    assert!(
        extra.is_empty(),
        "{name}: packages Moat found and syft did not (unexplained): {extra:#?}"
    );
    // Every listed difference must still be a difference, so the list cannot go stale.
    for t in &allowed_missing {
        assert!(
            syft.contains(t) && !ours.contains(t),
            "{name}: listed syft-only package {t:?} is not one"
        );
    }
    for t in &allowed_extra {
        assert!(
            ours.contains(t) && !syft.contains(t),
            "{name}: listed Moat-only package {t:?} is not one"
        );
    }
}

#[test]
fn debian_app_matches_syft() {
    check_image("debian-app");
}

#[test]
fn rpm_sample_matches_syft() {
    check_image("rpm-sample");
}

#[test]
fn busybox_static_has_no_packages_and_exits_zero() {
    check_image("busybox-static");
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/busybox-static.tar");
    let output = moat(&[
        "sbom",
        tar.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(package_triples(&json_stdout(&output)).is_empty());
}

#[test]
fn debian_app_names_layers_distro_and_evidence() {
    let Some(shared) = shared_dir() else { return };
    let tar = shared_file(&shared, "images/debian-app.tar");
    let inventory = json_stdout(&moat(&[
        "sbom",
        tar.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(inventory["distro"]["id"], "debian");
    assert_eq!(inventory["distro"]["version_id"], "12");
    let packages = inventory["packages"].as_array().expect("packages");
    let find = |name: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    // dpkg status is rewritten by the log4j layer (5): the squashed view's copy is the evidence.
    let bash = find("bash");
    assert_eq!(bash["locations"][0]["path"], "/var/lib/dpkg/status");
    assert_eq!(
        bash["locations"][0]["layer"],
        "sha256:844a989736b17afaab2b69094db60671ff8bf7cdec2eae41e80b63292de2b25d"
    );
    assert_eq!(
        bash["purl"],
        "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
    );
    let lodash = find("lodash");
    assert_eq!(
        lodash["locations"][0]["path"],
        "/app/node/node_modules/lodash/package.json"
    );
    assert_eq!(
        lodash["locations"][0]["layer"],
        "sha256:7ec79cfb43d7733d3401b69bdf1d7afe454655dfbc88e2e695e445df47ae66d3"
    );
    assert!(
        packages.iter().all(|p| p["name"] != "minimist"),
        "minimist is deleted by layer 7"
    );
    let stdlib = find("stdlib");
    assert_eq!(stdlib["version"], "go1.19.8");
    assert_eq!(stdlib["locations"][0]["path"], "/usr/local/bin/hello-go");
}
