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
