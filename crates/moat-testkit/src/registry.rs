//! A real Docker distribution registry (Debian's `docker-registry`) on 127.0.0.1, fed with `skopeo`.
//!
//! A missing `docker-registry` or `skopeo` fails the test naming the tool and its Debian package
//! (`.ci/run` installs them), unless `MOAT_NO_SHARED=1`, which skips with a printed reason. The
//! basic-auth registry also needs `htpasswd` (apache2-utils); without it that test is skipped with
//! a printed reason.

use crate::shared::may_skip;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binaries these tests start.
const REGISTRY_BIN: &str = "docker-registry";
const SKOPEO_BIN: &str = "skopeo";
const HTPASSWD_BIN: &str = "htpasswd";

/// The full path of `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The paths of docker-registry and skopeo; fails naming the missing one (skips with MOAT_NO_SHARED=1).
fn required_tools() -> Option<(PathBuf, PathBuf)> {
    let registry = which(REGISTRY_BIN);
    let skopeo = which(SKOPEO_BIN);
    if let (Some(registry), Some(skopeo)) = (&registry, &skopeo) {
        return Some((registry.clone(), skopeo.clone()));
    }
    let missing: Vec<&str> = [(REGISTRY_BIN, registry.is_none()), (SKOPEO_BIN, skopeo.is_none())]
        .into_iter()
        .filter(|(_, absent)| *absent)
        .map(|(name, _)| name)
        .collect();
    let message = format!(
        "{} not found on PATH (apt-get install {}; .ci/run installs it)",
        missing.join(" and "),
        missing.join(" ")
    );
    if may_skip() {
        eprintln!("skipped: {message} and MOAT_NO_SHARED=1");
        return None;
    }
    panic!("{message}");
}

/// A running registry; killed when dropped.
pub struct RegistryServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    skopeo: PathBuf,
}

impl RegistryServer {
    /// Starts an open registry; `None` when the tools are missing and MOAT_NO_SHARED=1.
    pub fn start() -> Option<RegistryServer> {
        Self::start_with(None)
    }

    /// Starts a registry that requires `user`/`password` (htpasswd, bcrypt); `None` (test skipped with a
    /// printed reason) when `htpasswd` is not installed.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Option<RegistryServer> {
        required_tools()?;
        let Some(htpasswd) = which(HTPASSWD_BIN) else {
            eprintln!(
                "skipped: {HTPASSWD_BIN} (apache2-utils) is not installed, cannot create a bcrypt htpasswd"
            );
            return None;
        };
        let output = Command::new(htpasswd)
            .args(["-Bbn", user, password])
            .output()
            .unwrap_or_else(|e| panic!("running htpasswd: {e}"));
        assert!(
            output.status.success(),
            "htpasswd failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Self::start_with(Some(line))
    }

    fn start_with(htpasswd_line: Option<String>) -> Option<RegistryServer> {
        let (registry, skopeo) = required_tools()?;
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let port = free_port();
            let config = write_config(dir.path(), port, htpasswd_line.as_deref());
            let log_path = dir.path().join("registry.log");
            let log =
                std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
            let log_err = log
                .try_clone()
                .unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
            let child = Command::new(&registry)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", registry.display()));
            let mut server = RegistryServer {
                child,
                port,
                dir,
                skopeo: skopeo.clone(),
            };
            if server.wait_ready() {
                return Some(server);
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
            drop(server);
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    /// Waits until the registry answers on /v2/ (or exits).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                match ureq::get(&format!("http://{}/v2/", self.host())).call() {
                    Ok(_) | Err(ureq::Error::Status(401, _)) => return true,
                    Err(_) => {}
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The directory holding the registry's config and storage.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Pushes a docker-archive tar to `repo:tag` of this registry with skopeo (`creds` =
    /// `user:password`) and returns the pushed reference, `127.0.0.1:PORT/repo:tag`.
    pub fn push(&self, archive: &Path, repo_tag: &str, creds: Option<&str>) -> String {
        let reference = format!("{}/{repo_tag}", self.host());
        let destination = format!("docker://{reference}");
        let mut command = Command::new(&self.skopeo);
        command.args(["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some(creds) = creds {
            command.args(["--dest-creds", creds]);
        }
        let output = command
            .arg(format!("docker-archive:{}", archive.display()))
            .arg(&destination)
            .output()
            .unwrap_or_else(|e| panic!("running skopeo: {e}"));
        assert!(
            output.status.success(),
            "skopeo copy {} {destination} failed: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        reference
    }

    /// GETs a manifest as the registry stores it: (digest header, raw bytes).
    pub fn raw_manifest(&self, repo_ref: &str) -> (String, Vec<u8>) {
        let (repo, reference) = repo_ref.rsplit_once(':').unwrap_or((repo_ref, "latest"));
        let url = format!("http://{}/v2/{repo}/manifests/{reference}", self.host());
        let response = ureq::get(&url)
            .set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let digest = response
            .header("docker-content-digest")
            .unwrap_or_default()
            .to_string();
        let mut bytes = Vec::new();
        response
            .into_reader()
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("reading {url}: {e}"));
        (digest, bytes)
    }

    /// PUTs a manifest (or index) document under `repo:reference`.
    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) {
        let url = format!("http://{}/v2/{repo}/manifests/{reference}", self.host());
        ureq::put(&url)
            .set("Content-Type", media_type)
            .send_bytes(body)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding a port: {e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("local_addr: {e}"))
}

/// Writes the registry's config.yml (filesystem storage inside `dir`) and returns its path.
fn write_config(dir: &Path, port: u16, htpasswd_line: Option<&str>) -> PathBuf {
    let storage = dir.join("storage");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: 127.0.0.1:{port}\n",
        storage.display()
    );
    if let Some(line) = htpasswd_line {
        let htpasswd = dir.join("htpasswd");
        std::fs::write(&htpasswd, format!("{line}\n"))
            .unwrap_or_else(|e| panic!("{}: {e}", htpasswd.display()));
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: moat-test\n    path: {}\n",
            htpasswd.display()
        ));
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}
