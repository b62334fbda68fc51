//! `moat sbom` against a real registry on loopback (Debian's docker-registry), with the image
//! pushed by skopeo: the same SBOM as the archive gives.

mod common;

use common::{json_stdout, moat};
use moat_testkit::registry::RegistryServer;
use moat_testkit::shared::{shared_dir, shared_file};

#[test]
fn a_pulled_image_gives_the_same_sbom_as_its_archive() {
    let Some(shared) = shared_dir() else { return };
    let Some(registry) = RegistryServer::start() else {
        return;
    };
    for image in ["debian-app", "rpm-sample"] {
        let tar = shared_file(&shared, &format!("images/{image}.tar"));
        let reference = registry.push(&tar, &format!("moat/{image}:test"), None);
        let pulled = json_stdout(&moat(&["sbom", &reference, "--insecure", "-f", "json", "-q"]));
        let archive = json_stdout(&moat(&["sbom", tar.to_str().expect("utf-8"), "-f", "json", "-q"]));
        assert_eq!(
            pulled["packages"], archive["packages"],
            "{image}: packages differ"
        );
        assert_eq!(pulled["distro"], archive["distro"], "{image}: distro differs");
        assert_eq!(
            pulled["source"]["image_id"], archive["source"]["image_id"],
            "{image}: image id differs"
        );
        let by_digest = format!(
            "{}/moat/{image}@{}",
            registry.host(),
            pulled["source"]["manifest_digest"]
                .as_str()
                .expect("manifest digest")
        );
        let pinned = json_stdout(&moat(&["sbom", &by_digest, "--insecure", "-f", "json", "-q"]));
        assert_eq!(
            pinned["packages"], archive["packages"],
            "{image}: pull by digest differs"
        );
    }
}

#[test]
fn plain_http_needs_insecure_and_unknown_tags_are_named() {
    if shared_dir().is_none() {
        return;
    }
    let Some(registry) = RegistryServer::start() else {
        return;
    };
    let missing = format!("{}/moat/nothing:here", registry.host());
    // The registry speaks plain HTTP: without --insecure Moat insists on HTTPS and says how to opt in.
    let output = moat(&["sbom", &missing, "-f", "json", "-q"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--insecure"), "{stderr}");
    let output = moat(&["sbom", &missing, "--insecure", "-f", "json", "-q"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("moat/nothing"), "{stderr}");
}

#[test]
fn a_token_auth_registry_is_read_with_the_docker_config_credentials() {
    let Some(shared) = shared_dir() else { return };
    let Some(registry) = RegistryServer::start_with_token_auth("ci", "ci-secret") else {
        return;
    };
    let tar = shared_file(&shared, "images/rpm-sample.tar");
    let reference = registry.push(&tar, "private/rpm-sample:1", Some("ci:ci-secret"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.json");
    // The `username`/`password` form of an `auths` entry (the moat-artifact test uses `auth`).
    let json = format!(
        r#"{{"auths":{{"{}":{{"username":"ci","password":"ci-secret"}}}}}}"#,
        registry.host()
    );
    std::fs::write(&config, json).expect("write config.json");
    let config = config.to_str().expect("utf-8");

    let pulled = moat(&[
        "sbom",
        &reference,
        "--insecure",
        "--docker-config",
        config,
        "-f",
        "json",
        "-q",
    ]);
    let pulled = json_stdout(&pulled);
    let archive = json_stdout(&moat(&["sbom", tar.to_str().expect("utf-8"), "-f", "json", "-q"]));
    assert_eq!(pulled["packages"], archive["packages"]);

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").expect("write empty.json");
    let empty = empty.to_str().expect("utf-8");
    let output = moat(&[
        "sbom",
        &reference,
        "--insecure",
        "--docker-config",
        empty,
        "-f",
        "json",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&registry.host()) && stderr.contains("401") && stderr.contains("no credentials"),
        "{stderr}"
    );
}
