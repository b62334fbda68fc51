//! A real Docker distribution registry (Debian's `docker-registry`) on 127.0.0.1, fed with `skopeo`.
//!
//! A missing `docker-registry` or `skopeo` (and, for the basic-auth registry, `htpasswd` from
//! apache2-utils; for the token-auth one, `openssl`) fails the test naming the tool and its Debian
//! package (`.ci/run` installs them), unless `MOAT_NO_SHARED=1`, which skips with a printed reason.
//!
//! The token-auth registry ([`RegistryServer::start_with_token_auth`]) sends clients to a token server
//! of this crate's own (see [`TokenRequest`]), which checks Basic credentials and signs JWTs with
//! `openssl`; its requests are recorded for tests to assert on.

mod token;

use crate::shared::may_skip;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use token::TokenServer;
pub use token::{TokenRequest, ISSUER as TOKEN_ISSUER, SERVICE as TOKEN_SERVICE};

/// The binaries these tests start.
const REGISTRY_BIN: &str = "docker-registry";
const SKOPEO_BIN: &str = "skopeo";
const HTPASSWD_BIN: &str = "htpasswd";
const OPENSSL_BIN: &str = "openssl";
/// Lines of the registry log quoted in failure messages.
const LOG_TAIL_LINES: usize = 40;

/// How the registry authenticates clients.
enum Auth {
    /// Anyone may pull and push.
    Open,
    /// HTTP Basic against an htpasswd file holding this line.
    Basic(String),
    /// Bearer tokens from a [`TokenServer`] that admits `user`/`password`.
    Token {
        openssl: PathBuf,
        user: String,
        password: String,
    },
}

/// The full path of `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The path of `program`, or a failure naming it and its Debian `package` (a skip with
/// MOAT_NO_SHARED=1).
fn required_tool(program: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = which(program) {
        return Some(path);
    }
    let message = format!("{program} not found on PATH (apt-get install {package}; .ci/run installs it)");
    if may_skip() {
        eprintln!("skipped: {message} and MOAT_NO_SHARED=1");
        return None;
    }
    panic!("{message}");
}

/// The paths of docker-registry and skopeo; fails naming the missing one (skips with MOAT_NO_SHARED=1).
fn required_tools() -> Option<(PathBuf, PathBuf)> {
    let registry = required_tool(REGISTRY_BIN, "docker-registry")?;
    let skopeo = required_tool(SKOPEO_BIN, "skopeo")?;
    Some((registry, skopeo))
}

/// A running registry; killed when dropped.
pub struct RegistryServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    skopeo: PathBuf,
    /// The token server, for a token-auth registry.
    token: Option<TokenServer>,
}

impl RegistryServer {
    /// Starts an open registry; `None` when the tools are missing and MOAT_NO_SHARED=1.
    pub fn start() -> Option<RegistryServer> {
        Self::start_with(&Auth::Open)
    }

    /// Starts a registry that requires `user`/`password` (htpasswd, bcrypt); `None` (test skipped with a
    /// printed reason) when `htpasswd` is missing and MOAT_NO_SHARED=1.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Option<RegistryServer> {
        required_tools()?;
        let htpasswd = required_tool(HTPASSWD_BIN, "apache2-utils")?;
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
        Self::start_with(&Auth::Basic(line))
    }

    /// Starts a registry in `auth: token` mode whose token server (on 127.0.0.1, see [`TokenRequest`])
    /// issues tokens to `user`/`password` only; `None` (test skipped with a printed reason) when
    /// `openssl` is missing and MOAT_NO_SHARED=1. Push with `Some("user:password")` as `creds`.
    pub fn start_with_token_auth(user: &str, password: &str) -> Option<RegistryServer> {
        required_tools()?;
        let openssl = required_tool(OPENSSL_BIN, "openssl")?;
        Self::start_with(&Auth::Token {
            openssl,
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    fn start_with(auth: &Auth) -> Option<RegistryServer> {
        let (registry, skopeo) = required_tools()?;
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let port = free_port();
            let token = match auth {
                Auth::Token {
                    openssl,
                    user,
                    password,
                } => Some(TokenServer::start(dir.path(), openssl, user, password)),
                _ => None,
            };
            let config = write_config(dir.path(), port, auth, token.as_ref());
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
                token,
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

    /// The last lines of the registry's log (`registry.log` in [`Self::dir`]), for failure messages.
    pub fn log_tail(&self) -> String {
        let path = self.dir.path().join("registry.log");
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// Every request the token server answered, in order (empty unless started with token auth).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.token.as_ref().map(TokenServer::requests).unwrap_or_default()
    }

    /// The `Authorization` header the test kit's own requests send: a token minted directly for
    /// `repository:REPO:ACTIONS` (not recorded) on a token-auth registry, else none.
    fn kit_authorization(&self, repo: &str, actions: &str) -> Option<String> {
        let token = self.token.as_ref()?;
        Some(format!(
            "Bearer {}",
            token.mint(&[&format!("repository:{repo}:{actions}")])
        ))
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
            "skopeo copy {} {destination} failed: {}\nregistry log:\n{}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
        reference
    }

    /// GETs a manifest as the registry stores it: (digest header, raw bytes).
    pub fn raw_manifest(&self, repo_ref: &str) -> (String, Vec<u8>) {
        let (repo, reference) = repo_ref.rsplit_once(':').unwrap_or((repo_ref, "latest"));
        let url = format!("http://{}/v2/{repo}/manifests/{reference}", self.host());
        let mut request = ureq::get(&url)
            .set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json");
        if let Some(authorization) = self.kit_authorization(repo, "pull") {
            request = request.set("Authorization", &authorization);
        }
        let response = request
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}\nregistry log:\n{}", self.log_tail()));
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
        let mut request = ureq::put(&url).set("Content-Type", media_type);
        if let Some(authorization) = self.kit_authorization(repo, "pull,push") {
            request = request.set("Authorization", &authorization);
        }
        request
            .send_bytes(body)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}\nregistry log:\n{}", self.log_tail()));
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

/// Writes the registry's config.yml (filesystem storage inside `dir`, the `auth` section) and returns
/// its path. A token-auth registry logs at info level, so rejected tokens are explained in its log.
fn write_config(dir: &Path, port: u16, auth: &Auth, token: Option<&TokenServer>) -> PathBuf {
    let storage = dir.join("storage");
    let level = if token.is_some() { "info" } else { "warn" };
    let mut config = format!(
        "version: 0.1\nlog:\n  level: {level}\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: 127.0.0.1:{port}\n",
        storage.display()
    );
    if let Auth::Basic(line) = auth {
        let htpasswd = dir.join("htpasswd");
        std::fs::write(&htpasswd, format!("{line}\n"))
            .unwrap_or_else(|e| panic!("{}: {e}", htpasswd.display()));
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: moat-test\n    path: {}\n",
            htpasswd.display()
        ));
    }
    if let Some(token) = token {
        config.push_str(&format!(
            "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    \
             rootcertbundle: {}\n",
            token.realm(),
            token.cert().display()
        ));
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GETs `url` with an optional `Authorization`: (status, `WWW-Authenticate`).
    fn status_of(url: &str, authorization: Option<&str>) -> (u16, String) {
        let mut request = ureq::get(url);
        if let Some(authorization) = authorization {
            request = request.set("Authorization", authorization);
        }
        match request.call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => (
                response.status(),
                response
                    .header("www-authenticate")
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(e) => panic!("GET {url}: {e}"),
        }
    }

    #[test]
    fn the_token_registry_checks_credentials_signatures_and_scopes() {
        let Some(server) = RegistryServer::start_with_token_auth("kit", "kit-pass") else {
            return;
        };
        let token_server = server.token.as_ref().unwrap_or_else(|| panic!("no token server"));
        let manifest = format!("http://{}/v2/team/app/manifests/1", server.host());
        let (status, challenge) = status_of(&manifest, None);
        assert_eq!(status, 401);
        let expected = format!(
            r#"Bearer realm="{}",service="{TOKEN_SERVICE}",scope="repository:team/app:pull""#,
            token_server.realm()
        );
        assert_eq!(challenge, expected);

        let basic = |pair: &str| {
            use base64::Engine as _;
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        };
        let token_url = format!(
            "{}?service={TOKEN_SERVICE}&scope=repository%3Ateam%2Fapp%3Apull&scope=repository%3Aother%3Apull%2Cpush",
            token_server.realm()
        );
        assert_eq!(status_of(&token_url, None).0, 401);
        assert_eq!(status_of(&token_url, Some(&basic("kit:wrong"))).0, 401);
        let issued: serde_json::Value = ureq::get(&token_url)
            .set("Authorization", &basic("kit:kit-pass"))
            .call()
            .unwrap_or_else(|e| panic!("GET {token_url}: {e}"))
            .into_json()
            .unwrap_or_else(|e| panic!("GET {token_url}: {e}"));
        let jwt = issued["token"].as_str().unwrap_or_default();
        assert_eq!(issued["access_token"].as_str(), Some(jwt));
        let requests = server.token_requests();
        let scopes = ["repository:team/app:pull", "repository:other:pull,push"];
        assert_eq!(requests.len(), 3);
        assert_eq!(
            requests.last().map(|r| (r.granted, r.scopes.clone())),
            Some((true, scopes.map(String::from).to_vec()))
        );

        // The registry takes the issued token (404: nothing pushed), not a tampered one nor one for
        // another repository.
        assert_eq!(
            status_of(&manifest, Some(&format!("Bearer {jwt}"))).0,
            404,
            "{}",
            server.log_tail()
        );
        let (signed, signature) = jwt.rsplit_once('.').unwrap_or_default();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!(
            "Bearer {signed}.{flipped}{}",
            signature.get(1..).unwrap_or_default()
        );
        assert_eq!(status_of(&manifest, Some(&tampered)).0, 401);
        let log = server.log_tail();
        assert!(
            log.contains("token signature"),
            "the registry should say why: {log}"
        );
        let elsewhere = format!("Bearer {}", token_server.mint(&["repository:other:pull"]));
        let (status, challenge) = status_of(&manifest, Some(&elsewhere));
        assert_eq!(status, 401);
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
    }
}
