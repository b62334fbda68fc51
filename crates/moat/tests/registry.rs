//! `moat sbom` against a real registry on loopback (Debian's docker-registry), with the image
//! pushed by skopeo: the same SBOM as the archive gives.

mod common;

use common::{json_stdout, moat, shared_dir, shared_file};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A docker-registry process serving from a temporary directory, killed on drop.
struct LocalRegistry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl LocalRegistry {
    fn start() -> LocalRegistry {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )
        .expect("write config");
        let child = Command::new("docker-registry")
            .args(["serve", config.to_str().expect("utf-8")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is needed for this test (apt-get install docker-registry; .ci/run installs it)");
        let registry = LocalRegistry {
            child,
            port,
            _dir: dir,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "docker-registry did not listen on 127.0.0.1:{} within 20 s",
            self.port
        );
    }

    fn push(&self, archive: &std::path::Path, repo_tag: &str) -> String {
        let reference = format!("127.0.0.1:{}/{repo_tag}", self.port);
        let status = Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .arg(format!("docker-archive:{}", archive.display()))
            .arg(format!("docker://{reference}"))
            .status()
            .expect("skopeo is needed for this test (apt-get install skopeo; .ci/run installs it)");
        assert!(status.success(), "skopeo push to {reference} failed");
        reference
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_pulled_image_gives_the_same_sbom_as_its_archive() {
    let Some(shared) = shared_dir() else { return };
    let registry = LocalRegistry::start();
    for image in ["debian-app", "rpm-sample"] {
        let tar = shared_file(&shared, &format!("images/{image}.tar"));
        let reference = registry.push(&tar, &format!("moat/{image}:test"));
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
            "127.0.0.1:{}/moat/{image}@{}",
            registry.port,
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
    let registry = LocalRegistry::start();
    let missing = format!("127.0.0.1:{}/moat/nothing:here", registry.port);
    let output = moat(&["sbom", &missing, "--insecure", "-f", "json", "-q"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("moat/nothing"), "{stderr}");
}
