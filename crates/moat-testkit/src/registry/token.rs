//! A token server for the registry's `auth: token` mode (the Docker token protocol), on 127.0.0.1.
//!
//! `GET /token?service=…&scope=…` with HTTP Basic credentials answers a JWT granting exactly the
//! requested scopes; wrong or missing credentials get a 401. The JWT is RS256, signed by shelling out
//! to `openssl dgst -sha256 -sign` with a key made by `openssl req`; its `x5c` header carries the
//! self-signed certificate, which is also the registry's `rootcertbundle`. Every request is recorded,
//! so tests can assert what a client asked for.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `service` the registry names in its challenges (the JWT audience).
pub const SERVICE: &str = "moat-test";
/// The JWT issuer the registry trusts.
pub const ISSUER: &str = "moat-test-issuer";
/// Lifetime of an issued token, in seconds.
const TOKEN_SECONDS: u64 = 300;
/// Largest request head read.
const HEAD_LIMIT: usize = 16 << 10;
/// Time a client gets to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// One request the token server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The user named in the request's HTTP Basic credentials, if any.
    pub user: Option<String>,
    /// True when the credentials were right and a token was issued.
    pub granted: bool,
    /// The `service` query parameter.
    pub service: Option<String>,
    /// Every requested scope (`repository:NAME:pull,push`), in request order.
    pub scopes: Vec<String>,
}

/// The signing key, its certificate and the one user allowed in.
struct Signer {
    openssl: PathBuf,
    key: PathBuf,
    /// The certificate as standard base64 DER (the `x5c` form).
    cert_der_b64: String,
    user: String,
    password: String,
    serial: AtomicU64,
}

/// A running token server; stopped when dropped.
pub(super) struct TokenServer {
    port: u16,
    cert: PathBuf,
    signer: Arc<Signer>,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Makes a key and certificate in `dir` with `openssl` and starts serving on a free port.
    pub(super) fn start(dir: &Path, openssl: &Path, user: &str, password: &str) -> TokenServer {
        let (key, cert) = make_key_and_cert(dir, openssl);
        let signer = Arc::new(Signer {
            openssl: openssl.to_path_buf(),
            key,
            cert_der_b64: pem_body(&cert),
            user: user.to_string(),
            password: password.to_string(),
            serial: AtomicU64::new(0),
        });
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding the token server: {e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("token server local_addr: {e}"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (signer, requests, stop) = (signer.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || serve(&listener, &signer, &requests, &stop))
        };
        TokenServer {
            port,
            cert,
            signer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/token`, the realm the registry sends clients to.
    pub(super) fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The PEM certificate that signs tokens (the registry's `rootcertbundle`).
    pub(super) fn cert(&self) -> &Path {
        &self.cert
    }

    /// Every request answered so far.
    pub(super) fn requests(&self) -> Vec<TokenRequest> {
        lock(&self.requests).clone()
    }

    /// A token for `scopes`, issued directly (not recorded): for the test kit's own requests.
    pub(super) fn mint(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.signer.token(&self.signer.user, SERVICE, &scopes)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `openssl` with `args`, panicking with its stderr on failure; returns stdout.
fn openssl_run(openssl: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(openssl)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", openssl.display()));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .unwrap_or_else(|e| panic!("writing to openssl {args:?}: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for openssl {args:?}: {e}"));
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Creates an RSA 2048 key and a self-signed certificate for it in `dir`: (key path, cert path).
fn make_key_and_cert(dir: &Path, openssl: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("token-signer.key");
    let cert = dir.join("token-signer.pem");
    let (key_arg, cert_arg) = (key.display().to_string(), cert.display().to_string());
    let args = [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=moat-test-token-signer",
        "-keyout",
        &key_arg,
        "-out",
        &cert_arg,
    ];
    openssl_run(openssl, &args, b"");
    (key, cert)
}

/// The base64 body of a one-certificate PEM file: the DER certificate in standard base64.
fn pem_body(path: &Path) -> String {
    let pem = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    assert!(
        STANDARD.decode(&body).is_ok_and(|der| !der.is_empty()),
        "{} holds no certificate",
        path.display()
    );
    body
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Signer {
    /// True when an `Authorization` header holds this server's user and password.
    fn accepts(&self, authorization: Option<&str>) -> bool {
        basic_user_password(authorization) == Some((self.user.clone(), self.password.clone()))
    }

    /// A signed RS256 JWT for `subject`, audience `service`, granting exactly `scopes`.
    fn token(&self, subject: &str, service: &str, scopes: &[String]) -> String {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]});
        let issued = now();
        let serial = self.serial.fetch_add(1, Ordering::SeqCst);
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": service,
            "exp": issued + TOKEN_SECONDS,
            "nbf": issued,
            "iat": issued,
            "jti": format!("moat-test-{issued}-{serial}"),
            "access": access_claims(scopes),
        });
        let signing_input = format!("{}.{}", b64url_json(&header), b64url_json(&claims));
        let key = self.key.display().to_string();
        let signature = openssl_run(
            &self.openssl,
            &["dgst", "-sha256", "-sign", &key],
            signing_input.as_bytes(),
        );
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Unpadded base64url of a JSON value.
fn b64url_json(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The `access` claim for scopes `type:name:action,action` (others are ignored).
fn access_claims(scopes: &[String]) -> Vec<serde_json::Value> {
    scopes
        .iter()
        .filter_map(|scope| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
        })
        .collect()
}

/// (user, password) from a `Basic` authorization header.
fn basic_user_password(authorization: Option<&str>) -> Option<(String, String)> {
    let (scheme, encoded) = authorization?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Accepts connections one at a time until `stop` is set.
fn serve(listener: &TcpListener, signer: &Signer, requests: &Mutex<Vec<TokenRequest>>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(stream) = stream {
            handle(stream, signer, requests);
        }
    }
}

/// A parsed request head: method, path, query pairs and the `Authorization` header.
struct RequestHead {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
}

/// Answers one connection (HTTP/1.1, `Connection: close`).
fn handle(mut stream: TcpStream, signer: &Signer, requests: &Mutex<Vec<TokenRequest>>) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let (status, extra_header, body) = match read_head(&mut stream) {
        Some(head) if head.method == "GET" && head.path == "/token" => answer(&head, signer, requests),
        Some(_) => (404, "", error_body("NOT_FOUND", "only GET /token is served")),
        None => (400, "", error_body("BAD_REQUEST", "unreadable request")),
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {extra_header}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// The token request's answer: (status, extra header line, JSON body); records the request.
fn answer(
    head: &RequestHead,
    signer: &Signer,
    requests: &Mutex<Vec<TokenRequest>>,
) -> (u16, &'static str, String) {
    let param = |name: &str| head.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let scopes: Vec<String> = head
        .query
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(str::to_string))
        .collect();
    let granted = signer.accepts(head.authorization.as_deref());
    let service = param("service");
    lock(requests).push(TokenRequest {
        user: basic_user_password(head.authorization.as_deref()).map(|(user, _)| user),
        granted,
        service: service.clone(),
        scopes: scopes.clone(),
    });
    if !granted {
        return (
            401,
            "WWW-Authenticate: Basic realm=\"moat-test-token\"\r\n",
            error_body("UNAUTHORIZED", "missing or wrong username or password"),
        );
    }
    let token = signer.token(&signer.user, service.as_deref().unwrap_or(SERVICE), &scopes);
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_SECONDS,
    });
    (200, "", body.to_string())
}

/// A registry-style JSON error body.
fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string()
}

/// Reads and parses the request head; `None` when it is unreadable or too large.
fn read_head(stream: &mut TcpStream) -> Option<RequestHead> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(buf.get(..n)?);
        if raw.len() > HEAD_LIMIT {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?, request_line.next()?);
    let url = ureq::get(&format!("http://127.0.0.1{target}"))
        .request_url()
        .ok()?;
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_string());
    Some(RequestHead {
        method: method.to_string(),
        path: url.path().to_string(),
        query: url
            .query_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        authorization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_become_access_claims_and_basic_headers_decode() {
        let scopes = vec![
            "repository:team/app:pull,push".to_string(),
            "registry:catalog:*".to_string(),
            "junk".to_string(),
        ];
        assert_eq!(
            serde_json::Value::Array(access_claims(&scopes)),
            serde_json::json!([
                {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
                {"type": "registry", "name": "catalog", "actions": ["*"]},
            ])
        );
        let header = format!("Basic {}", STANDARD.encode("u:p:w"));
        assert_eq!(
            basic_user_password(Some(&header)),
            Some(("u".to_string(), "p:w".to_string()))
        );
        assert_eq!(basic_user_password(Some("Bearer abc")), None);
        assert_eq!(basic_user_password(None), None);
    }
}
