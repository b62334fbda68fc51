//! A client for the OCI distribution API: pulls manifests and blobs from a registry.
//!
//! Built on the blocking `ureq` 2 client rather than `oci-client`: `oci-client` is async only, so using it
//! would need a tokio runtime plus a bridge from its async byte streams into this crate's synchronous,
//! streaming tar walk. A handful of GET requests do not justify that.
//!
//! `WWW-Authenticate` challenges are parsed by hand: the RFC 7235 auth-param grammar takes a few lines and
//! no maintained crate covers just that.
//!
//! Safety rules: HTTPS always, except that `insecure` allows plain HTTP to loopback hosts only (a local
//! registry); redirects are followed by hand so that every hop obeys the same rule, and credentials go only
//! to the registry host and to the token realm; every body read is bounded; every manifest and blob is
//! checked against the digest that names it.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::ArtifactError;
use crate::image::{OpenOptions, Platform};
use crate::target::RegistryReference;

/// OCI image manifest.
const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Every manifest type we understand, as sent in `Accept`.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest or index accepted.
const MANIFEST_LIMIT: u64 = 4 << 20;
/// Largest token-endpoint response accepted.
const TOKEN_LIMIT: u64 = 1 << 20;
/// How much of an error body is read to explain a failure.
const ERROR_BODY_LIMIT: u64 = 16 << 10;
/// Largest docker config file or credential-helper answer accepted.
const CONFIG_LIMIT: u64 = 4 << 20;
/// Redirect hops followed per request.
const MAX_REDIRECTS: usize = 5;
/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for each read or write on a connection (not for the whole body: layers are large).
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Time allowed for a credential helper to answer.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// The host that serves Docker Hub's distribution API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The key Docker Hub credentials are stored under in docker config files and helpers.
const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";
/// The OAuth2 client id sent with refresh-token grants.
const CLIENT_ID: &str = "moat";

/// Pulls one image reference's manifest and blobs from a registry.
pub(crate) struct RegistryClient {
    agent: ureq::Agent,
    /// `https`, or `http` for an insecure loopback registry.
    scheme: &'static str,
    /// `host[:port]` requests go to.
    host: String,
    /// The registry as the reference names it (credential lookup, messages).
    registry: String,
    repository: String,
    /// Tag or digest to request.
    reference: String,
    /// The digest the user pinned, if any.
    pinned: Option<String>,
    platform: Platform,
    insecure: bool,
    docker_config: Option<PathBuf>,
    /// Credentials, loaded on the first authentication challenge (outer `None` = not loaded yet).
    credentials: Mutex<Option<Option<Credentials>>>,
    /// The `Authorization` header value obtained from the last challenge.
    authorization: Mutex<Option<String>>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.base_url())
            .field("repository", &self.repository)
            .field("reference", &self.reference)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// What a request fetches, to word errors.
enum Resource<'a> {
    Manifest(&'a str),
    Blob(&'a str),
}

/// A manifest as the registry served it.
struct FetchedManifest {
    media_type: String,
    bytes: Vec<u8>,
    /// `Docker-Content-Digest`, when sent.
    header_digest: Option<String>,
}

impl RegistryClient {
    /// A client for `reference`, honouring `options.insecure`, `options.platform` and `options.docker_config`.
    pub(crate) fn new(reference: &RegistryReference, options: &OpenOptions) -> Result<Self, ArtifactError> {
        let host = api_host(&reference.registry);
        let loopback = is_loopback(&host);
        let scheme = match (options.insecure, loopback) {
            (false, _) => "https",
            (true, true) => "http",
            (true, false) => {
                return Err(ArtifactError::Registry {
                    url: format!("http://{host}/v2/"),
                    message: format!(
                        "--insecure (plain HTTP) is allowed only for loopback registries \
                         (127.0.0.0/8, localhost, [::1]); {host} must be reached over HTTPS"
                    ),
                })
            }
        };
        let reference_text = match (&reference.digest, &reference.tag) {
            (Some(digest), _) => {
                validate_digest(digest)?;
                digest.clone()
            }
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        };
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IO_TIMEOUT)
            .timeout_write(IO_TIMEOUT)
            .redirects(0)
            .user_agent(concat!("moat/", env!("CARGO_PKG_VERSION")))
            // ureq 2 ignores NO_PROXY: never send loopback traffic through a proxy.
            .try_proxy_from_env(!loopback)
            .build();
        Ok(RegistryClient {
            agent,
            scheme,
            host,
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            reference: reference_text,
            pinned: reference.digest.clone(),
            platform: options.platform.clone().unwrap_or_default(),
            insecure: options.insecure,
            docker_config: options.docker_config.clone(),
            credentials: Mutex::new(None),
            authorization: Mutex::new(None),
        })
    }

    /// Resolves tag/digest (and, for an image index / manifest list, the platform in options.platform, default
    /// linux/amd64, error listing the available platforms if absent) to the image manifest;
    /// returns (manifest digest, media type, raw manifest bytes). Verifies the digest when the reference pins one.
    pub(crate) fn resolve_manifest(&self) -> Result<(String, String, Vec<u8>), ArtifactError> {
        let top = self.fetch_manifest(&self.reference)?;
        let what = format!("manifest {}", self.shown(&self.reference));
        let digest = match (&self.pinned, &top.header_digest) {
            (Some(pinned), _) => verify_digest(pinned, &top.bytes, &what)?,
            (None, Some(header)) if validate_digest(header).is_ok() => {
                verify_digest(header, &top.bytes, &what)?
            }
            (None, _) => sha256_digest(&top.bytes),
        };
        if !is_index(&top.media_type) {
            return Ok((digest, top.media_type, top.bytes));
        }
        let child = select_platform(&top.bytes, &self.platform, &what)?;
        tracing::debug!(platform = %self.platform, digest = %child.digest, "selected manifest from index {what}");
        let manifest = self.fetch_manifest(&child.digest)?;
        let child_what = format!(
            "manifest {} (platform {})",
            self.shown(&child.digest),
            self.platform
        );
        verify_digest(&child.digest, &manifest.bytes, &child_what)?;
        if is_index(&manifest.media_type) {
            return Err(ArtifactError::malformed(
                child_what,
                "an index inside an index is not supported",
            ));
        }
        Ok((child.digest, manifest.media_type, manifest.bytes))
    }

    /// The digest the reference points to now, as a pull would see it: for a multi-platform
    /// image, the index's digest (so a pinned reference still serves every platform).
    pub(crate) fn top_digest(&self) -> Result<String, ArtifactError> {
        let top = self.fetch_manifest(&self.reference)?;
        let what = format!("manifest {}", self.shown(&self.reference));
        match (&self.pinned, &top.header_digest) {
            (Some(pinned), _) => verify_digest(pinned, &top.bytes, &what),
            (None, Some(header)) if validate_digest(header).is_ok() => {
                verify_digest(header, &top.bytes, &what)
            }
            (None, _) => Ok(sha256_digest(&top.bytes)),
        }
    }

    /// Fetches a small blob (config) fully (at most `max` bytes), verifying its sha256.
    pub(crate) fn fetch_blob(&self, digest: &str, max: u64) -> Result<Vec<u8>, ArtifactError> {
        validate_digest(digest)?;
        let url = self.url("blobs", digest);
        let response = self.get(&url, None, &Resource::Blob(digest))?;
        let what = format!("blob {}", self.shown(digest));
        let bytes = read_bounded(response, max, &url, &what)?;
        verify_digest(digest, &bytes, &what)?;
        Ok(bytes)
    }

    /// Streams a blob (layer) without buffering it; the reader hashes as it goes and returns an io::Error
    /// (InvalidData, message naming digest) at EOF on mismatch or on a short body.
    ///
    /// The check happens on the read that delivers the last byte the registry announced (`Content-Length`),
    /// else at end of stream: a caller that stops before the end (a plain tar walk stops at the
    /// end-of-archive blocks) must read the rest (e.g. `io::copy` into `io::sink()`) to have it verified.
    pub(crate) fn blob_reader(&self, digest: &str) -> Result<Box<dyn Read + Send>, ArtifactError> {
        validate_digest(digest)?;
        let url = self.url("blobs", digest);
        let response = self.get(&url, None, &Resource::Blob(digest))?;
        let length = content_length(&response);
        let reader = VerifyingReader::new(Box::new(response.into_reader()), digest, length)?;
        Ok(Box::new(reader))
    }

    /// `scheme://host/v2/`.
    fn base_url(&self) -> String {
        format!("{}://{}/v2/", self.scheme, self.host)
    }

    /// The URL of a manifest or blob of this repository.
    fn url(&self, kind: &str, reference: &str) -> String {
        format!("{}{}/{kind}/{reference}", self.base_url(), self.repository)
    }

    /// `registry/repository:tag` or `registry/repository@digest`, for messages.
    fn shown(&self, reference: &str) -> String {
        let separator = if reference.contains(':') { '@' } else { ':' };
        format!("{}/{}{separator}{reference}", self.registry, self.repository)
    }

    /// Fetches a manifest or index by tag or digest, bounded.
    fn fetch_manifest(&self, reference: &str) -> Result<FetchedManifest, ArtifactError> {
        let url = self.url("manifests", reference);
        let response = self.get(&url, Some(MANIFEST_ACCEPT), &Resource::Manifest(reference))?;
        let content_type = response.content_type().to_ascii_lowercase();
        let header_digest = response.header("docker-content-digest").map(str::to_string);
        let what = format!("manifest {}", self.shown(reference));
        let bytes = read_bounded(response, MANIFEST_LIMIT, &url, &what)?;
        let media_type = manifest_media_type(&content_type, &bytes, &what)?;
        Ok(FetchedManifest {
            media_type,
            bytes,
            header_digest,
        })
    }

    /// GETs `url`, authenticating once on 401 and following redirects hop by hop.
    fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        resource: &Resource<'_>,
    ) -> Result<ureq::Response, ArtifactError> {
        let mut current = url.to_string();
        let mut authenticated = false;
        let mut hops = 0;
        loop {
            self.check_transport(&current)?;
            let to_registry = self.is_registry_url(&current);
            let authorization = if to_registry {
                lock(&self.authorization).clone()
            } else {
                None
            };
            tracing::debug!(url = %current, authorized = authorization.is_some(), "GET");
            let response = self.call(&current, accept, authorization.as_deref())?;
            match response.status() {
                200..=299 => return Ok(response),
                401 if to_registry && !authenticated => {
                    self.authenticate(&response, &current)?;
                    authenticated = true;
                }
                301 | 302 | 303 | 307 | 308 if hops < MAX_REDIRECTS => {
                    current = self.redirect_target(&current, &response)?;
                    hops += 1;
                }
                _ => return Err(self.status_error(&current, response, resource)),
            }
        }
    }

    /// Sends one GET without following anything; HTTP error statuses come back as responses.
    fn call(
        &self,
        url: &str,
        accept: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<ureq::Response, ArtifactError> {
        let mut request = self.agent.get(url);
        if let Some(accept) = accept {
            request = request.set("Accept", accept);
        }
        if let Some(authorization) = authorization {
            request = request.set("Authorization", authorization);
        }
        match request.call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => Ok(response),
            Err(ureq::Error::Transport(transport)) => Err(self.transport_error(url, &transport)),
        }
    }

    /// Refuses any URL that is neither HTTPS nor (with `insecure`) plain HTTP to a loopback host.
    fn check_transport(&self, url: &str) -> Result<(), ArtifactError> {
        let parsed = self
            .agent
            .get(url)
            .request_url()
            .map_err(|e| ArtifactError::Registry {
                url: url.to_string(),
                message: format!("invalid URL: {e}"),
            })?;
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if self.insecure && is_loopback(parsed.host()) => Ok(()),
            scheme => Err(ArtifactError::Registry {
                url: url.to_string(),
                message: format!(
                    "refusing {scheme}:// : only HTTPS is used, and plain HTTP only with --insecure to a loopback host"
                ),
            }),
        }
    }

    /// True when `url` points at the registry itself (where the `Authorization` header may go).
    fn is_registry_url(&self, url: &str) -> bool {
        url.starts_with(&format!("{}://{}/", self.scheme, self.host))
    }

    /// The absolute URL a redirect points to.
    fn redirect_target(&self, current: &str, response: &ureq::Response) -> Result<String, ArtifactError> {
        let bad = |message: String| ArtifactError::Registry {
            url: current.to_string(),
            message,
        };
        let location = response.header("location").ok_or_else(|| {
            bad(format!(
                "HTTP {} redirect without a Location header",
                response.status()
            ))
        })?;
        let base = self
            .agent
            .get(current)
            .request_url()
            .map_err(|e| bad(format!("invalid URL: {e}")))?;
        let target = base
            .as_url()
            .join(location)
            .map_err(|e| bad(format!("bad redirect to {location:?}: {e}")))?;
        tracing::debug!(from = %current, to = %target, "redirect");
        Ok(target.to_string())
    }

    /// Answers a 401 challenge: stores a Bearer token or Basic credentials for the next requests.
    fn authenticate(&self, response: &ureq::Response, url: &str) -> Result<(), ArtifactError> {
        let challenges: Vec<Challenge> = response
            .all("www-authenticate")
            .into_iter()
            .flat_map(parse_challenges)
            .collect();
        let credentials = self.credentials()?;
        let header = if let Some(bearer) = challenges
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        {
            format!("Bearer {}", self.fetch_token(bearer, credentials.as_ref())?)
        } else if challenges.iter().any(|c| c.scheme.eq_ignore_ascii_case("basic")) {
            let credentials = credentials.ok_or_else(|| {
                self.auth_error(format!(
                    "{url} requires credentials (Basic) and {}",
                    self.no_credentials_hint()
                ))
            })?;
            basic_header(&credentials).ok_or_else(|| {
                self.auth_error(
                    "Basic authentication needs a username and password, found only a token".into(),
                )
            })?
        } else {
            return Err(self.auth_error(format!("HTTP 401 for {url} without a Bearer or Basic challenge")));
        };
        *lock(&self.authorization) = Some(header);
        Ok(())
    }

    /// Gets a Bearer token from the challenge's realm, with the credentials when known.
    fn fetch_token(
        &self,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
    ) -> Result<String, ArtifactError> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| self.auth_error("Bearer challenge without a realm".to_string()))?;
        self.check_transport(realm)?;
        let default_scope = format!("repository:{}:pull", self.repository);
        let scope = challenge.param("scope").unwrap_or(&default_scope);
        let service = challenge.param("service");
        let result = match credentials {
            Some(Credentials {
                identity_token: Some(refresh),
                ..
            }) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", CLIENT_ID),
                    ("scope", scope),
                    ("refresh_token", refresh.as_str()),
                ];
                form.extend(service.map(|s| ("service", s)));
                self.agent.post(realm).send_form(&form)
            }
            _ => {
                let mut request = self.agent.get(realm).query("scope", scope);
                if let Some(service) = service {
                    request = request.query("service", service);
                }
                if let Some(basic) = credentials.and_then(basic_header) {
                    request = request.set("Authorization", &basic);
                }
                request.call()
            }
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                let detail = error_summary(response);
                let hint = if credentials.is_some() {
                    " (are the credentials right?)".to_string()
                } else {
                    format!("; {}", self.no_credentials_hint())
                };
                return Err(self.auth_error(format!(
                    "token request to {realm} failed: HTTP {status}{detail}{hint}"
                )));
            }
            Err(ureq::Error::Transport(transport)) => return Err(self.transport_error(realm, &transport)),
        };
        let body = read_bounded(
            response,
            TOKEN_LIMIT,
            realm,
            &format!("token response from {realm}"),
        )?;
        token_from_response(&body)
            .map_err(|message| self.auth_error(format!("token response from {realm}: {message}")))
    }

    /// The credentials for this registry from the docker config, loaded once.
    fn credentials(&self) -> Result<Option<Credentials>, ArtifactError> {
        let mut cache = lock(&self.credentials);
        if let Some(loaded) = cache.as_ref() {
            return Ok(loaded.clone());
        }
        let loaded = load_credentials(self.docker_config.as_deref(), &self.registry)?;
        *cache = Some(loaded.clone());
        Ok(loaded)
    }

    /// Explains where credentials were looked for.
    fn no_credentials_hint(&self) -> String {
        match config_path(self.docker_config.as_deref()) {
            Some(path) => format!(
                "no credentials for {} were found in {}",
                self.registry,
                path.display()
            ),
            None => format!(
                "no credentials for {} were found (no docker config file)",
                self.registry
            ),
        }
    }

    /// An [`ArtifactError::Auth`] for this registry.
    fn auth_error(&self, message: String) -> ArtifactError {
        ArtifactError::Auth {
            registry: self.registry.clone(),
            message,
        }
    }

    /// The error for a non-success HTTP status.
    fn status_error(&self, url: &str, response: ureq::Response, resource: &Resource<'_>) -> ArtifactError {
        let status = response.status();
        let status_text = response.status_text().to_string();
        let detail = error_summary(response);
        match status {
            401 | 403 => {
                let sent = lock(&self.credentials).as_ref().is_some_and(Option::is_some);
                let hint = if sent {
                    String::new()
                } else {
                    format!("; {}", self.no_credentials_hint())
                };
                self.auth_error(format!(
                    "access to {url} denied: HTTP {status} {status_text}{detail}{hint}"
                ))
            }
            404 => {
                let what = match resource {
                    Resource::Manifest(r) if r.contains(':') => {
                        format!("manifest unknown: {}", self.shown(r))
                    }
                    Resource::Manifest(tag) => {
                        format!(
                            "manifest unknown: tag {tag:?} not found in {}/{}",
                            self.registry, self.repository
                        )
                    }
                    Resource::Blob(digest) => format!("blob unknown: {}", self.shown(digest)),
                };
                ArtifactError::Registry {
                    url: url.to_string(),
                    message: format!("{what} (HTTP 404){detail}"),
                }
            }
            _ => ArtifactError::Registry {
                url: url.to_string(),
                message: format!("HTTP {status} {status_text}{detail}"),
            },
        }
    }

    /// The error for a failed connection, with a hint for local plain-HTTP registries.
    fn transport_error(&self, url: &str, transport: &ureq::Transport) -> ArtifactError {
        let hint = if url.starts_with("https://") && is_loopback(&self.host) && self.is_registry_url(url) {
            " (for a local plain-HTTP registry, pass --insecure)"
        } else {
            ""
        };
        ArtifactError::Registry {
            url: url.to_string(),
            message: format!("{transport}{hint}"),
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The host serving the distribution API for a registry name.
fn api_host(registry: &str) -> String {
    let registry = registry.to_ascii_lowercase();
    if is_docker_hub(&registry) {
        DOCKER_HUB_API.to_string()
    } else {
        registry
    }
}

/// True for the names of Docker Hub.
fn is_docker_hub(registry: &str) -> bool {
    matches!(registry, "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

/// True when `host[:port]` is `localhost`, an address in 127.0.0.0/8, or `[::1]`.
fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `Content-Length` of a response, when sent and valid.
fn content_length(response: &ureq::Response) -> Option<u64> {
    response
        .header("content-length")
        .and_then(|v| v.trim().parse().ok())
}

/// Reads a whole response body of at most `limit` bytes.
fn read_bounded(
    response: ureq::Response,
    limit: u64,
    url: &str,
    what: &str,
) -> Result<Vec<u8>, ArtifactError> {
    let too_large = || ArtifactError::TooLarge {
        what: what.to_string(),
        limit,
    };
    if content_length(&response).is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ArtifactError::Registry {
            url: url.to_string(),
            message: format!("reading {what}: {e}"),
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A short description of an error response body: the registry's error codes, else its first line.
fn error_summary(response: ureq::Response) -> String {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let mut body = Vec::new();
    if response
        .into_reader()
        .take(ERROR_BODY_LIMIT)
        .read_to_end(&mut body)
        .is_err()
    {
        return String::new();
    }
    let text = match serde_json::from_slice::<Errors>(&body) {
        Ok(parsed) if !parsed.errors.is_empty() => parsed
            .errors
            .iter()
            .map(|e| format!("{} {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::from_utf8_lossy(&body)
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
    };
    let clean: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if clean.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", clean.trim())
    }
}

/// The media type of a manifest: the `Content-Type` when it is one we know, else the document's own.
fn manifest_media_type(content_type: &str, bytes: &[u8], what: &str) -> Result<String, ArtifactError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<i64>,
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
    }
    let known = [
        MEDIA_OCI_MANIFEST,
        MEDIA_OCI_INDEX,
        MEDIA_DOCKER_MANIFEST,
        MEDIA_DOCKER_LIST,
    ];
    if known.contains(&content_type) {
        return Ok(content_type.to_string());
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| ArtifactError::malformed(what, e.to_string()))?;
    if probe.schema_version == Some(1) || content_type.contains("manifest.v1") {
        return Err(ArtifactError::malformed(
            what,
            "Docker schema 1 manifests are not supported",
        ));
    }
    match probe.media_type {
        Some(media) if known.contains(&media.as_str()) => Ok(media),
        Some(media) => Err(ArtifactError::malformed(
            what,
            format!("unsupported manifest media type {media:?}"),
        )),
        None if probe.manifests.is_some() => Ok(MEDIA_OCI_INDEX.to_string()),
        None if probe.layers.is_some() => Ok(MEDIA_OCI_MANIFEST.to_string()),
        None => Err(ArtifactError::malformed(
            what,
            format!("neither an image manifest nor an index (Content-Type {content_type:?})"),
        )),
    }
}

/// True for an OCI index or a Docker manifest list.
fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_OCI_INDEX || media_type == MEDIA_DOCKER_LIST
}

/// An entry of an index chosen for a platform.
#[derive(Debug, PartialEq, Eq)]
struct Selected {
    digest: String,
    media_type: String,
}

/// The `manifests` of an OCI index or Docker manifest list.
#[derive(Deserialize)]
struct IndexDocument {
    manifests: Vec<IndexEntry>,
}

/// One entry of an index.
#[derive(Deserialize)]
struct IndexEntry {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    platform: Option<IndexPlatform>,
}

/// The platform of an index entry.
#[derive(Deserialize)]
struct IndexPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
}

impl IndexPlatform {
    /// `os/architecture[/variant]`.
    fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// Picks the entry of an index for `wanted`: an exact variant match, else (no variant asked) the entry
/// without a variant, then the architecture's usual variant (arm64 → v8, arm → v7), then any.
fn select_platform(index: &[u8], wanted: &Platform, what: &str) -> Result<Selected, ArtifactError> {
    let document: IndexDocument =
        serde_json::from_slice(index).map_err(|e| ArtifactError::malformed(what, e.to_string()))?;
    let best = document
        .manifests
        .iter()
        .filter_map(|entry| {
            entry
                .platform
                .as_ref()
                .and_then(|p| platform_rank(wanted, p))
                .map(|rank| (rank, entry))
        })
        .min_by_key(|(rank, _)| *rank);
    if let Some((_, entry)) = best {
        validate_digest(&entry.digest)?;
        return Ok(Selected {
            digest: entry.digest.clone(),
            media_type: entry.media_type.clone(),
        });
    }
    let mut available: Vec<String> = Vec::new();
    for platform in document.manifests.iter().filter_map(|e| e.platform.as_ref()) {
        let label = platform.label();
        if platform.os != "unknown" && !available.contains(&label) {
            available.push(label);
        }
    }
    Err(ArtifactError::NoMatchingPlatform {
        wanted: wanted.to_string(),
        available,
        what: what.to_string(),
    })
}

/// How well an index entry's platform fits `wanted` (0 best), or `None` when it does not.
fn platform_rank(wanted: &Platform, entry: &IndexPlatform) -> Option<u8> {
    if !entry.os.eq_ignore_ascii_case(&wanted.os)
        || !entry.architecture.eq_ignore_ascii_case(&wanted.architecture)
    {
        return None;
    }
    let usual = usual_variant(&wanted.architecture);
    match (wanted.variant.as_deref(), entry.variant.as_deref()) {
        (Some(w), Some(e)) if w.eq_ignore_ascii_case(e) => Some(0),
        (Some(w), None) if usual == Some(w) => Some(0),
        (Some(_), _) => None,
        (None, None) => Some(0),
        (None, Some(e)) if usual == Some(e) => Some(1),
        (None, Some(_)) => Some(2),
    }
}

/// The variant an architecture has when none is named.
fn usual_variant(architecture: &str) -> Option<&'static str> {
    match architecture {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        _ => None,
    }
}

/// Checks that `digest` is `sha256:` + 64 or `sha512:` + 128 lower-case hex digits (it goes into URLs).
fn validate_digest(digest: &str) -> Result<(), ArtifactError> {
    let valid = match digest.split_once(':') {
        Some(("sha256", hex)) => is_lower_hex(hex, 64),
        Some(("sha512", hex)) => is_lower_hex(hex, 128),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ArtifactError::malformed(
            "digest",
            format!("{digest:?} is not a sha256 or sha512 digest"),
        ))
    }
}

/// True when `hex` is exactly `len` lower-case hex digits.
fn is_lower_hex(hex: &str, len: usize) -> bool {
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `sha256:` digest of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks `bytes` against `expected`, returning the digest.
fn verify_digest(expected: &str, bytes: &[u8], what: &str) -> Result<String, ArtifactError> {
    let mut hasher = Hasher::for_digest(expected)?;
    hasher.update(bytes);
    let actual = hasher.finish();
    if actual == expected {
        Ok(actual)
    } else {
        Err(ArtifactError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// A running hash in the algorithm a digest names.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// The hasher for a (validated) digest's algorithm.
    fn for_digest(digest: &str) -> Result<Hasher, ArtifactError> {
        validate_digest(digest)?;
        Ok(if digest.starts_with("sha512:") {
            Hasher::Sha512(Sha512::new())
        } else {
            Hasher::Sha256(Sha256::new())
        })
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// `algorithm:hex`.
    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Passes a blob through, hashing it, and fails at end of stream when the digest or length is wrong.
struct VerifyingReader {
    inner: Box<dyn Read + Send>,
    /// `None` once the stream ended and verified.
    hasher: Option<Hasher>,
    expected: String,
    expected_len: Option<u64>,
    read: u64,
    /// Set when verification failed; every later read repeats it.
    failure: Option<String>,
}

impl VerifyingReader {
    /// Wraps `inner`, which must hash to `expected` and, when known, hold `expected_len` bytes.
    fn new(
        inner: Box<dyn Read + Send>,
        expected: &str,
        expected_len: Option<u64>,
    ) -> Result<Self, ArtifactError> {
        Ok(VerifyingReader {
            inner,
            hasher: Some(Hasher::for_digest(expected)?),
            expected: expected.to_string(),
            expected_len,
            read: 0,
            failure: None,
        })
    }

    /// Records a failure and returns it as an `InvalidData` error.
    fn fail(&mut self, message: String) -> io::Error {
        self.failure = Some(message.clone());
        io::Error::new(io::ErrorKind::InvalidData, message)
    }

    /// End of stream: checks length and digest.
    fn finish(&mut self) -> io::Result<()> {
        let Some(hasher) = self.hasher.take() else {
            return Ok(());
        };
        if let Some(length) = self.expected_len.filter(|&length| length != self.read) {
            let message = format!(
                "blob {}: short body, got {} of {length} bytes",
                self.expected, self.read
            );
            return Err(self.fail(message));
        }
        let actual = hasher.finish();
        if actual != self.expected {
            let message = format!("digest mismatch for blob {}: got {actual}", self.expected);
            return Err(self.fail(message));
        }
        Ok(())
    }
}

impl Read for VerifyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(failure) = &self.failure {
            return Err(io::Error::new(io::ErrorKind::InvalidData, failure.clone()));
        }
        if buf.is_empty() || self.hasher.is_none() {
            return Ok(0);
        }
        let count = match self.inner.read(buf) {
            Ok(count) => count,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let message = format!(
                    "blob {}: short body after {} bytes: {e}",
                    self.expected, self.read
                );
                return Err(self.fail(message));
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading blob {}: {e}", self.expected),
                ))
            }
        };
        if count == 0 {
            return self.finish().map(|()| 0);
        }
        let chunk = buf.get(..count).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "reader returned more bytes than asked",
            )
        })?;
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(chunk);
        }
        self.read += count as u64;
        if self.expected_len.is_some_and(|length| self.read >= length) {
            // The last promised byte arrived: verify now, as the consumer may never ask for EOF.
            self.finish()?;
        }
        Ok(count)
    }
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter (names are case-insensitive).
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 7235 §4.1).
fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let (token, after) = split_token(rest);
        if token.is_empty() {
            break;
        }
        let after_ws = after.trim_start();
        match (after_ws.strip_prefix('='), challenges.last_mut()) {
            (Some(value_text), Some(current)) => {
                let (value, remaining) = parse_param_value(value_text.trim_start());
                current.params.push((token.to_string(), value));
                rest = remaining;
            }
            (Some(_), None) => break,
            (None, _) => {
                challenges.push(Challenge {
                    scheme: token.to_string(),
                    params: Vec::new(),
                });
                rest = after;
            }
        }
    }
    challenges
}

/// Splits a leading token (up to whitespace, `,`, `=` or `"`).
fn split_token(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| c.is_ascii_whitespace() || matches!(c, ',' | '=' | '"'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Parses a parameter value: a quoted string (with `\` escapes) or a token.
fn parse_param_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let (token, rest) = split_token(text);
        return (token.to_string(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, quoted.get(i + 1..).unwrap_or("")),
            '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
            _ => value.push(c),
        }
    }
    (value, "")
}

/// Pulls `token` (or `access_token`) out of a token endpoint's JSON answer.
fn token_from_response(body: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let parsed: TokenResponse = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let token = [parsed.token, parsed.access_token]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty())
        .ok_or("neither `token` nor `access_token` is present")?;
    if token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(token)
    } else {
        Err("the token holds characters not allowed in an HTTP header".to_string())
    }
}

/// Registry credentials from a docker config file or credential helper.
#[derive(Clone, Default, PartialEq, Eq)]
struct Credentials {
    username: String,
    password: String,
    /// An OAuth2 refresh token (`identitytoken`), used instead of the password for Bearer tokens.
    identity_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `Basic base64(user:pass)`, when there is a username and password.
fn basic_header(credentials: &Credentials) -> Option<String> {
    if credentials.username.is_empty() || credentials.password.is_empty() {
        return None;
    }
    let pair = format!("{}:{}", credentials.username, credentials.password);
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// The parts of a docker `config.json` that hold credentials.
#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
}

/// One `auths` entry.
#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// The docker config file to read: the explicit one, else `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// Loads the credentials for `registry`; a missing default config file means none.
fn load_credentials(explicit: Option<&Path>, registry: &str) -> Result<Option<Credentials>, ArtifactError> {
    let Some(path) = config_path(explicit) else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound && explicit.is_none() => return Ok(None),
        Err(e) => return Err(ArtifactError::io(shown, e)),
    };
    let mut text = Vec::new();
    file.take(CONFIG_LIMIT + 1)
        .read_to_end(&mut text)
        .map_err(|e| ArtifactError::io(shown.clone(), e))?;
    if text.len() as u64 > CONFIG_LIMIT {
        return Err(ArtifactError::TooLarge {
            what: format!("docker config {shown}"),
            limit: CONFIG_LIMIT,
        });
    }
    let config: DockerConfig = serde_json::from_slice(&text)
        .map_err(|e| ArtifactError::malformed(format!("docker config {shown}"), e.to_string()))?;
    credentials_from_config(&config, registry, &shown)
}

/// Looks `registry` up in a parsed docker config: its credential helper, its `auths` entry, then the
/// default credential store.
fn credentials_from_config(
    config: &DockerConfig,
    registry: &str,
    shown: &str,
) -> Result<Option<Credentials>, ArtifactError> {
    let server = helper_server_url(registry);
    let matches = |key: &str| same_registry(key, registry);
    if let Some((_, helper)) = config.cred_helpers.iter().find(|(key, _)| matches(key)) {
        return Ok(run_helper(helper, &server));
    }
    for (key, entry) in config.auths.iter().filter(|(key, _)| matches(key)) {
        if let Some(credentials) = entry_credentials(entry, &format!("auths.{key} in docker config {shown}"))?
        {
            return Ok(Some(credentials));
        }
    }
    Ok(config
        .creds_store
        .as_deref()
        .and_then(|store| run_helper(store, &server)))
}

/// True when a docker config key (`host`, `https://host/v1/`…) names `registry`.
fn same_registry(key: &str, registry: &str) -> bool {
    let host = key.trim_start_matches("https://").trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or("").to_ascii_lowercase();
    let registry = registry.to_ascii_lowercase();
    host == registry || (is_docker_hub(&host) && is_docker_hub(&registry))
}

/// The server URL a credential helper is asked about.
fn helper_server_url(registry: &str) -> String {
    if is_docker_hub(&registry.to_ascii_lowercase()) {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// The credentials in one `auths` entry (`auth` = base64 of `user:password`, or `username`/`password`).
fn entry_credentials(entry: &AuthEntry, what: &str) -> Result<Option<Credentials>, ArtifactError> {
    let identity_token = entry.identitytoken.clone().filter(|t| !t.is_empty());
    let (username, password) = match entry.auth.as_deref().filter(|a| !a.is_empty()) {
        Some(auth) => decode_auth(auth).map_err(|message| ArtifactError::malformed(what, message))?,
        None => (
            entry.username.clone().unwrap_or_default(),
            entry.password.clone().unwrap_or_default(),
        ),
    };
    if username.is_empty() && password.is_empty() && identity_token.is_none() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username,
        password,
        identity_token,
    }))
}

/// Decodes `base64(user:password)`.
fn decode_auth(auth: &str) -> Result<(String, String), String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let raw = STANDARD
        .decode(auth.trim())
        .or_else(|_| STANDARD_NO_PAD.decode(auth.trim()))
        .map_err(|e| format!("`auth` is not base64: {e}"))?;
    let text = String::from_utf8(raw).map_err(|_| "`auth` is not UTF-8 text".to_string())?;
    let (user, password) = text.split_once(':').ok_or("`auth` does not hold user:password")?;
    Ok((user.to_string(), password.to_string()))
}

/// Runs `docker-credential-<name> get` if it is on PATH; failures are logged and mean no credentials.
fn run_helper(name: &str, server: &str) -> Option<Credentials> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        tracing::warn!("ignoring credential helper with an invalid name {name:?}");
        return None;
    }
    let program = format!("docker-credential-{name}");
    let Some(path) = find_on_path(&program, &std::env::var_os("PATH").unwrap_or_default()) else {
        tracing::warn!(
            "credential helper {program} is not on PATH; continuing without credentials for {server}"
        );
        return None;
    };
    match query_helper(&path, server) {
        Ok(credentials) => credentials,
        Err(message) => {
            tracing::warn!(
                "credential helper {}: {message}; continuing without credentials",
                path.display()
            );
            None
        }
    }
}

/// The first executable file named `program` in a PATH-style list.
fn find_on_path(program: &str, path_var: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Asks a credential helper for `server`'s credentials; `Ok(None)` when it has none.
fn query_helper(helper: &Path, server: &str) -> Result<Option<Credentials>, String> {
    #[derive(Deserialize)]
    struct HelperAnswer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let (success, output) = run_with_timeout(helper, server)?;
    if !success {
        let text = String::from_utf8_lossy(&output);
        if text.to_ascii_lowercase().contains("credentials not found") {
            tracing::debug!(
                "credential helper {} has no credentials for {server}",
                helper.display()
            );
            return Ok(None);
        }
        return Err(format!(
            "`get` failed: {}",
            text.trim().chars().take(200).collect::<String>()
        ));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&output).map_err(|e| format!("answer is not JSON: {e}"))?;
    Ok(Some(if answer.username == "<token>" {
        Credentials {
            identity_token: Some(answer.secret),
            ..Credentials::default()
        }
    } else {
        Credentials {
            username: answer.username,
            password: answer.secret,
            identity_token: None,
        }
    }))
}

/// Runs `helper get` with `server` on stdin; returns (exited successfully, bounded stdout).
fn run_with_timeout(helper: &Path, server: &str) -> Result<(bool, Vec<u8>), String> {
    let mut child = start_helper(helper)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin closes the pipe: its exit status tells the rest.
        let _ = stdin.write_all(server.as_bytes());
    }
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut output = Vec::new();
        if let Some(stdout) = stdout {
            let _ = stdout.take(CONFIG_LIMIT).read_to_end(&mut output);
        }
        output
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| format!("waiting: {e}"))? {
            Some(status) => break status,
            None if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", HELPER_TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let output = reader
        .join()
        .map_err(|_| "reading its output failed".to_string())?;
    Ok((status.success(), output))
}

/// Starts `helper get`. A helper file still open for writing somewhere (just installed, or held
/// for an instant by another thread's fork before its exec) refuses to execute with "text file
/// busy"; that passes within milliseconds, so the start is tried a few times before failing.
fn start_helper(helper: &Path) -> Result<std::process::Child, String> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        let started = Command::new(helper)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        match started {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.map_err(|e| format!("cannot start: {e}")),
        }
    }
}

/// The manifest digest (`sha256:…`) an image reference (`registry/repo:tag`) resolves to now,
/// asking its registry; for a multi-platform image, the index's digest.
pub fn resolve_digest(reference: &str, options: &OpenOptions) -> Result<String, ArtifactError> {
    let parsed = RegistryReference::parse(reference)?;
    RegistryClient::new(&parsed, options)?.top_digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_testkit::registry::RegistryServer;
    use moat_testkit::shared::shared_images;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::Arc;

    const HELLO_DIGEST: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn reference(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> RegistryReference {
        RegistryReference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        }
    }

    fn insecure(docker_config: Option<PathBuf>, platform: Option<&str>) -> OpenOptions {
        OpenOptions {
            insecure: true,
            docker_config,
            platform: platform.map(|p| Platform::parse(p).unwrap_or_else(|e| panic!("{e}"))),
            ..OpenOptions::default()
        }
    }

    fn client(reference: &RegistryReference, options: &OpenOptions) -> RegistryClient {
        RegistryClient::new(reference, options).unwrap_or_else(|e| panic!("client: {e}"))
    }

    fn read_all(mut reader: impl Read) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map(|_| bytes)
    }

    fn write_docker_config(dir: &Path, registry: &str, auth: &str) -> PathBuf {
        let path = dir.join("config.json");
        let json = serde_json::json!({ "auths": { registry: { "auth": auth } } });
        std::fs::write(&path, json.to_string()).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    // ---- pure parts ----

    #[test]
    fn challenges_are_parsed_with_quotes_escapes_and_several_schemes() {
        let parsed = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="reg \"x\"",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(parsed.len(), 1);
        let bearer = &parsed[0];
        assert_eq!(bearer.scheme, "Bearer");
        assert_eq!(bearer.param("REALM"), Some("https://auth.example/token"));
        assert_eq!(bearer.param("service"), Some(r#"reg "x""#));
        assert_eq!(bearer.param("scope"), Some("repository:a/b:pull,push"));

        let two = parse_challenges(
            r#"Basic realm="moat-test", Bearer realm=https://t.example/x , error=invalid_token"#,
        );
        let schemes: Vec<&str> = two.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer"]);
        assert_eq!(two[1].param("realm"), Some("https://t.example/x"));
        assert_eq!(two[1].param("error"), Some("invalid_token"));
        assert!(parse_challenges("").is_empty());
        assert!(
            parse_challenges(r#"realm="x""#).is_empty(),
            "a parameter without a scheme is ignored"
        );
        assert_eq!(
            parse_challenges(r#"Bearer realm="unterminated"#)[0].param("realm"),
            Some("unterminated")
        );
    }

    #[test]
    fn token_responses_accept_token_or_access_token_and_refuse_header_injection() {
        assert_eq!(token_from_response(br#"{"token":"abc"}"#), Ok("abc".to_string()));
        assert_eq!(
            token_from_response(br#"{"token":"","access_token":"def"}"#),
            Ok("def".to_string())
        );
        assert!(token_from_response(br#"{"expires_in":300}"#).is_err());
        assert!(token_from_response(b"<html>").is_err());
        assert!(token_from_response(br#"{"token":"a\r\nX-Evil: 1"}"#).is_err());
    }

    const INDEX: &str = r#"{
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
             "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
             "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444",
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
             "digest": "sha256:5555555555555555555555555555555555555555555555555555555555555555",
             "platform": {"os": "unknown", "architecture": "unknown"}}
        ]
    }"#;

    fn pick(platform: &str) -> Result<String, ArtifactError> {
        let wanted = Platform::parse(platform).unwrap_or_else(|e| panic!("{e}"));
        select_platform(INDEX.as_bytes(), &wanted, "index").map(|s| s.digest)
    }

    #[test]
    fn index_selection_follows_platform_and_variant_rules() {
        let digest = |d: char| format!("sha256:{}", d.to_string().repeat(64));
        let default = select_platform(INDEX.as_bytes(), &Platform::default(), "index").map(|s| s.digest);
        assert_eq!(default.ok(), Some(digest('4')));
        assert_eq!(
            pick("linux/arm64").ok(),
            Some(digest('3')),
            "arm64 without a variant takes v8"
        );
        assert_eq!(pick("linux/arm64/v8").ok(), Some(digest('3')));
        assert_eq!(
            pick("linux/arm").ok(),
            Some(digest('2')),
            "arm without a variant prefers v7"
        );
        assert_eq!(pick("linux/arm/v6").ok(), Some(digest('1')));
        match pick("linux/s390x") {
            Err(ArtifactError::NoMatchingPlatform {
                wanted,
                available,
                what,
            }) => {
                assert_eq!(wanted, "linux/s390x");
                assert_eq!(
                    available,
                    ["linux/arm/v6", "linux/arm/v7", "linux/arm64/v8", "linux/amd64"]
                );
                assert_eq!(what, "index");
            }
            other => panic!("expected NoMatchingPlatform, got {other:?}"),
        }
        assert!(matches!(
            pick("linux/arm64/v9"),
            Err(ArtifactError::NoMatchingPlatform { .. })
        ));
    }

    #[test]
    fn an_index_without_a_platform_match_or_with_bad_json_is_an_error() {
        let bad_digest = r#"{"manifests":[{"digest":"sha256:../../etc","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        assert!(matches!(
            select_platform(bad_digest.as_bytes(), &Platform::default(), "i"),
            Err(ArtifactError::Malformed { .. })
        ));
        assert!(matches!(
            select_platform(b"{\"manifests\": 3}", &Platform::default(), "i"),
            Err(ArtifactError::Malformed { .. })
        ));
    }

    #[test]
    fn media_types_come_from_content_type_or_the_document() {
        let oci = br#"{"schemaVersion":2,"layers":[]}"#;
        assert_eq!(
            manifest_media_type(MEDIA_DOCKER_LIST, b"", "m").ok().as_deref(),
            Some(MEDIA_DOCKER_LIST)
        );
        assert_eq!(
            manifest_media_type("application/json", oci, "m").ok().as_deref(),
            Some(MEDIA_OCI_MANIFEST)
        );
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            manifest_media_type("text/plain", index, "m").ok().as_deref(),
            Some(MEDIA_OCI_INDEX)
        );
        let typed = format!(r#"{{"mediaType":"{MEDIA_DOCKER_MANIFEST}"}}"#);
        assert_eq!(
            manifest_media_type("", typed.as_bytes(), "m").ok().as_deref(),
            Some(MEDIA_DOCKER_MANIFEST)
        );
        let schema1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        let err = manifest_media_type(
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            schema1,
            "m",
        );
        assert!(err.is_err_and(|e| e.to_string().contains("schema 1")));
        assert!(manifest_media_type("application/json", b"{}", "m").is_err());
        assert!(manifest_media_type("application/json", b"not json", "m").is_err());
    }

    #[test]
    fn digests_are_validated_before_use_in_urls() {
        assert!(validate_digest(HELLO_DIGEST).is_ok());
        assert!(validate_digest(&format!("sha512:{}", "a".repeat(128))).is_ok());
        for bad in [
            "sha256:../../../etc/passwd",
            "sha256:ABC",
            "md5:abc",
            "",
            &HELLO_DIGEST.to_uppercase(),
        ] {
            assert!(validate_digest(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(verify_digest(HELLO_DIGEST, b"hello", "x").is_ok());
        match verify_digest(HELLO_DIGEST, b"hellO", "blob x") {
            Err(ArtifactError::DigestMismatch {
                what,
                expected,
                actual,
            }) => {
                assert_eq!((what.as_str(), expected.as_str()), ("blob x", HELLO_DIGEST));
                assert_eq!(actual, sha256_digest(b"hellO"));
            }
            other => panic!("expected DigestMismatch, got {other:?}"),
        }
    }

    #[test]
    fn verifying_reader_passes_good_blobs_and_fails_bad_ones_at_eof() {
        let good = VerifyingReader::new(Box::new(&b"hello"[..]), HELLO_DIGEST, Some(5));
        assert_eq!(
            good.map(read_all).ok().and_then(Result::ok),
            Some(b"hello".to_vec())
        );

        let mut bad = VerifyingReader::new(Box::new(&b"hellO"[..]), HELLO_DIGEST, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = read_all(&mut bad)
            .err()
            .unwrap_or_else(|| panic!("a wrong blob must fail"));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(HELLO_DIGEST), "{err}");
        assert!(read_all(&mut bad).is_err(), "the failure repeats on later reads");

        // With a known length the check fires on the last byte, without waiting for an EOF read.
        let mut bad = VerifyingReader::new(Box::new(&b"hellO"[..]), HELLO_DIGEST, Some(5))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut five = [0u8; 5];
        let err = bad
            .read_exact(&mut five)
            .err()
            .unwrap_or_else(|| panic!("must fail on the last byte"));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut good = VerifyingReader::new(Box::new(&b"hello"[..]), HELLO_DIGEST, Some(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(good.read_exact(&mut five).is_ok());
        assert!(
            good.hasher.is_none(),
            "verified once the announced length arrived"
        );

        let short = VerifyingReader::new(Box::new(&b"hel"[..]), HELLO_DIGEST, Some(5));
        let err = short
            .map(read_all)
            .ok()
            .and_then(Result::err)
            .unwrap_or_else(|| panic!("short must fail"));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("short body"), "{err}");
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "127.0.0.1:5000",
            "127.8.9.1",
            "localhost:5000",
            "LOCALHOST",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1:5000",
            "example.com",
            "localhost.example.com",
            "[::2]:5000",
            "128.0.0.1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn insecure_is_refused_for_remote_hosts_and_docker_hub_maps_to_its_api_host() {
        let remote = reference("registry.example.com", "team/app", Some("1"), None);
        match RegistryClient::new(&remote, &insecure(None, None)) {
            Err(ArtifactError::Registry { url, message }) => {
                assert_eq!(url, "http://registry.example.com/v2/");
                assert!(message.contains("loopback"), "{message}");
            }
            other => panic!("expected a Registry error, got {other:?}"),
        }
        let hub = client(
            &reference("docker.io", "library/alpine", None, None),
            &OpenOptions::default(),
        );
        assert_eq!(
            hub.url("manifests", &hub.reference),
            "https://registry-1.docker.io/v2/library/alpine/manifests/latest"
        );
        let local = client(
            &reference("localhost:5000", "a", Some("v1"), None),
            &insecure(None, None),
        );
        assert_eq!(local.base_url(), "http://localhost:5000/v2/");
        let secure = client(
            &reference("localhost:5000", "a", Some("v1"), None),
            &OpenOptions::default(),
        );
        assert_eq!(secure.base_url(), "https://localhost:5000/v2/");
    }

    #[test]
    fn docker_config_entries_are_matched_and_decoded() {
        let config: DockerConfig = serde_json::from_value(serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": { "auth": b64("hubuser:hubpass") },
                "ghcr.io": { "username": "gh", "password": "tok" },
                "http://quay.io/v2/": { "identitytoken": "refresh-me" },
                "bad.example": { "auth": "!!!" },
                "nocolon.example": { "auth": b64("justuser") }
            }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let find = |registry: &str| credentials_from_config(&config, registry, "config.json");
        let hub = find("docker.io")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("hub credentials"));
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("hubuser", "hubpass")
        );
        assert_eq!(
            basic_header(&hub),
            Some(format!("Basic {}", b64("hubuser:hubpass")))
        );
        let gh = find("GHCR.io")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("ghcr credentials"));
        assert_eq!((gh.username.as_str(), gh.password.as_str()), ("gh", "tok"));
        let quay = find("quay.io")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("quay credentials"));
        assert_eq!(quay.identity_token.as_deref(), Some("refresh-me"));
        assert_eq!(basic_header(&quay), None);
        assert!(matches!(find("other.example"), Ok(None)));
        assert!(matches!(
            find("bad.example"),
            Err(ArtifactError::Malformed { .. })
        ));
        assert!(matches!(
            find("nocolon.example"),
            Err(ArtifactError::Malformed { .. })
        ));
        assert!(
            !format!("{hub:?}").contains("hubpass"),
            "Debug must not print secrets"
        );
    }

    #[test]
    fn docker_config_files_missing_or_broken() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = dir.path().join("nope.json");
        assert!(matches!(
            load_credentials(Some(&missing), "x.io"),
            Err(ArtifactError::Io { .. })
        ));
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{ not json").unwrap_or_else(|e| panic!("{e}"));
        match load_credentials(Some(&broken), "x.io") {
            Err(ArtifactError::Malformed { what, .. }) => assert!(what.contains("broken.json"), "{what}"),
            other => panic!("expected Malformed, got {other:?}"),
        }
        let good = write_docker_config(dir.path(), "x.io:5000", &b64("u:p"));
        let found = load_credentials(Some(&good), "x.io:5000").ok().flatten();
        assert_eq!(found.map(|c| c.username), Some("u".to_string()));
    }

    fn write_helper(dir: &Path, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, script).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn credential_helpers_are_queried_and_their_failures_tolerated() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let echo = write_helper(
            dir.path(),
            "echo",
            "#!/bin/sh\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"u-%s\",\"Secret\":\"s\"}' \"$server\" \"$1\"\n",
        );
        let got = query_helper(&echo, "reg.example:5000").ok().flatten();
        assert_eq!(
            got.map(|c| (c.username, c.password)),
            Some(("u-get".to_string(), "s".to_string()))
        );

        let token = write_helper(
            dir.path(),
            "token",
            "#!/bin/sh\necho '{\"Username\":\"<token>\",\"Secret\":\"rt\"}'\n",
        );
        let got = query_helper(&token, "x").ok().flatten();
        assert_eq!(got.and_then(|c| c.identity_token), Some("rt".to_string()));

        let none = write_helper(
            dir.path(),
            "none",
            "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n",
        );
        assert!(matches!(query_helper(&none, "x"), Ok(None)));
        let broken = write_helper(dir.path(), "broken", "#!/bin/sh\necho 'boom'\nexit 3\n");
        let failure = query_helper(&broken, "x");
        assert!(failure.as_ref().is_err_and(|m| m.contains("boom")), "{failure:?}");

        assert_eq!(
            find_on_path("docker-credential-echo", dir.path().as_os_str()),
            Some(echo)
        );
        assert_eq!(
            find_on_path("docker-credential-absent", dir.path().as_os_str()),
            None
        );
        assert_eq!(run_helper("moat-test-surely-absent", "x"), None);
        assert_eq!(run_helper("../evil", "x"), None);
    }

    // ---- a scripted HTTP server, for what a real registry will not do (lie, redirect, hand out tokens) ----

    /// One canned answer: status, extra headers, body.
    type Reply = (u16, Vec<(String, String)>, Vec<u8>);

    /// A minimal HTTP/1.1 server on 127.0.0.1 answering every request with `handler(path, headers)`;
    /// it records each request line and headers. The thread ends with the test process.
    fn fake_server(
        handler: impl Fn(&str, &str) -> Reply + Send + Sync + 'static,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let host = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    head.push_str(&line);
                    line.clear();
                }
                lock(&seen).push(head.clone());
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, headers, body) = handler(&path, &head);
                let mut response = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                {
                    response.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str("\r\n");
                let mut out = &stream;
                let _ = out
                    .write_all(response.as_bytes())
                    .and_then(|()| out.write_all(&body));
            }
        });
        (host, log)
    }

    fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn ok(content_type: &str, body: &[u8]) -> Reply {
        (
            200,
            vec![("Content-Type".into(), content_type.into())],
            body.to_vec(),
        )
    }

    #[test]
    fn bearer_tokens_are_fetched_with_basic_credentials_and_reused() {
        let manifest =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        let (host, log) = fake_server(move |path, head| {
            let authorized = header_of(head, "authorization") == Some("Bearer tok-1");
            match path {
                p if p.starts_with("/token?") => {
                    let basic = format!("Basic {}", b64("alice:pw"));
                    if header_of(head, "authorization") == Some(basic.as_str()) {
                        ok(
                            "application/json",
                            br#"{"access_token":"tok-1","expires_in":300}"#,
                        )
                    } else {
                        (401, vec![], b"{}".to_vec())
                    }
                }
                _ if !authorized => {
                    let realm = format!("http://{}/token", header_of(head, "host").unwrap_or(""));
                    let challenge =
                        format!(r#"Bearer realm="{realm}",service="fake",scope="repository:team/app:pull""#);
                    (
                        401,
                        vec![("WWW-Authenticate".into(), challenge)],
                        br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                            .to_vec(),
                    )
                }
                "/v2/team/app/manifests/1" => ok(MEDIA_OCI_MANIFEST, manifest),
                p if p == format!("/v2/team/app/blobs/{HELLO_DIGEST}") => {
                    ok("application/octet-stream", b"hello")
                }
                _ => (404, vec![], Vec::new()),
            }
        });
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = write_docker_config(dir.path(), &host, &b64("alice:pw"));
        let c = client(
            &reference(&host, "team/app", Some("1"), None),
            &insecure(Some(config), None),
        );
        let (digest, media_type, bytes) = c.resolve_manifest().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (digest, media_type, bytes),
            (
                sha256_digest(manifest),
                MEDIA_OCI_MANIFEST.to_string(),
                manifest.to_vec()
            )
        );
        assert_eq!(c.fetch_blob(HELLO_DIGEST, 100).ok(), Some(b"hello".to_vec()));
        let requests = lock(&log).clone();
        let token_requests: Vec<&String> = requests.iter().filter(|r| r.contains("/token?")).collect();
        assert_eq!(
            token_requests.len(),
            1,
            "the token is fetched once and reused: {requests:#?}"
        );
        assert!(
            token_requests[0].contains("scope=repository%3Ateam%2Fapp%3Apull"),
            "{}",
            token_requests[0]
        );
        assert!(
            token_requests[0].contains("service=fake"),
            "{}",
            token_requests[0]
        );

        let wrong = write_docker_config(dir.path(), &host, &b64("alice:wrong"));
        let c = client(
            &reference(&host, "team/app", Some("1"), None),
            &insecure(Some(wrong), None),
        );
        match c.resolve_manifest() {
            Err(ArtifactError::Auth { registry, message }) => {
                assert_eq!(registry, host);
                assert!(message.contains("401") && message.contains("/token"), "{message}");
            }
            other => panic!("expected an Auth error, got {other:?}"),
        }
    }

    #[test]
    fn lying_registries_are_caught() {
        let (host, _) = fake_server(|path, _| match path {
            p if p == format!("/v2/app/blobs/{HELLO_DIGEST}") => ok("application/octet-stream", b"hellO"),
            p if p.contains("/blobs/sha256:2cf2") => {
                (200, vec![("Content-Length".into(), "5".into())], b"hel".to_vec())
            }
            p if p.contains("/manifests/") => ok(MEDIA_OCI_MANIFEST, br#"{"schemaVersion":2,"layers":[]}"#),
            _ => (404, vec![], Vec::new()),
        });
        let c = client(&reference(&host, "app", Some("1"), None), &insecure(None, None));
        assert!(matches!(
            c.fetch_blob(HELLO_DIGEST, 100),
            Err(ArtifactError::DigestMismatch { .. })
        ));
        let err = c.blob_reader(HELLO_DIGEST).map(read_all);
        let err = err
            .ok()
            .and_then(Result::err)
            .unwrap_or_else(|| panic!("a wrong blob must fail"));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(HELLO_DIGEST), "{err}");

        // A manifest fetched by a pinned digest must hash to it.
        let pinned = reference(&host, "app", None, Some(HELLO_DIGEST));
        match client(&pinned, &insecure(None, None)).resolve_manifest() {
            Err(ArtifactError::DigestMismatch { expected, .. }) => assert_eq!(expected, HELLO_DIGEST),
            other => panic!("expected DigestMismatch, got {other:?}"),
        }

        // Short body: Content-Length promises more than arrives.
        let other = reference(&host, "short", Some("1"), None);
        let short = format!("sha256:2cf2{}", "0".repeat(60));
        let err = client(&other, &insecure(None, None))
            .blob_reader(&short)
            .map(read_all);
        let err = err
            .ok()
            .and_then(Result::err)
            .unwrap_or_else(|| panic!("a short blob must fail"));
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(&short), "{err}");
    }

    #[test]
    fn redirects_are_followed_only_to_allowed_places_and_without_credentials() {
        let basic = format!("Basic {}", b64("bob:pw"));
        let expected = basic.clone();
        let (storage_host, storage_log) = fake_server(|path, _| match path {
            "/hello?sig=1" => ok("application/octet-stream", b"hello"),
            _ => (404, vec![], vec![]),
        });
        let storage_url = format!("http://{storage_host}/hello?sig=1");
        let (host, log) = fake_server(move |path, head| {
            let authorized = header_of(head, "authorization") == Some(expected.as_str());
            let challenge = || {
                (
                    401,
                    vec![("WWW-Authenticate".into(), r#"Basic realm="x""#.into())],
                    vec![],
                )
            };
            match path {
                "/v2/app/manifests/1" => challenge(),
                p if p.contains("/blobs/") && !authorized => challenge(),
                p if p.contains("/blobs/") && p.ends_with("24") => {
                    (307, vec![("Location".into(), storage_url.clone())], vec![])
                }
                p if p.contains("/blobs/") => (
                    302,
                    vec![("Location".into(), "http://203.0.113.7/evil".into())],
                    vec![],
                ),
                _ => (404, vec![], vec![]),
            }
        });
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = write_docker_config(dir.path(), &host, &b64("bob:pw"));
        let c = client(
            &reference(&host, "app", Some("1"), None),
            &insecure(Some(config), None),
        );
        assert_eq!(c.fetch_blob(HELLO_DIGEST, 100).ok(), Some(b"hello".to_vec()));
        let elsewhere = format!("sha256:{}", "b".repeat(64));
        match c.fetch_blob(&elsewhere, 100) {
            Err(ArtifactError::Registry { url, message }) => {
                assert_eq!(url, "http://203.0.113.7/evil");
                assert!(message.contains("refusing http"), "{message}");
            }
            other => panic!("expected a refused redirect, got {other:?}"),
        }
        // Basic challenge: credentials go to the registry, then a 401 again is an Auth error.
        assert!(matches!(c.resolve_manifest(), Err(ArtifactError::Auth { .. })));
        let requests = lock(&log).clone();
        let storage = lock(&storage_log).clone();
        assert_eq!(storage.len(), 1, "{storage:#?}");
        assert!(
            header_of(&storage[0], "authorization").is_none(),
            "credentials must not follow a redirect"
        );
        assert!(
            requests
                .iter()
                .any(|r| header_of(r, "authorization") == Some(basic.as_str())),
            "{requests:#?}"
        );
    }

    #[test]
    fn oversized_manifests_and_blobs_are_refused() {
        let (host, _) = fake_server(|path, _| match path {
            p if p.contains("/manifests/") => (
                200,
                vec![("Content-Type".into(), MEDIA_OCI_MANIFEST.into())],
                vec![b' '; (MANIFEST_LIMIT + 1) as usize],
            ),
            _ => ok("application/octet-stream", b"hello"),
        });
        let c = client(&reference(&host, "app", Some("1"), None), &insecure(None, None));
        assert!(matches!(
            c.resolve_manifest(),
            Err(ArtifactError::TooLarge {
                limit: MANIFEST_LIMIT,
                ..
            })
        ));
        assert!(matches!(
            c.fetch_blob(HELLO_DIGEST, 4),
            Err(ArtifactError::TooLarge { limit: 4, .. })
        ));
    }

    // ---- a real registry (Debian docker-registry), images pushed with skopeo ----

    fn layer_digests(manifest: &[u8]) -> (String, Vec<(String, u64)>) {
        let value: serde_json::Value = serde_json::from_slice(manifest).unwrap_or_else(|e| panic!("{e}"));
        let config = value["config"]["digest"].as_str().unwrap_or_default().to_string();
        let layers = value["layers"]
            .as_array()
            .map(|layers| {
                layers
                    .iter()
                    .map(|l| {
                        (
                            l["digest"].as_str().unwrap_or_default().to_string(),
                            l["size"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        (config, layers)
    }

    /// Resolves, fetches the config and streams every layer, checking sizes; returns the manifest digest.
    fn pull_everything(c: &RegistryClient) -> String {
        let (digest, media_type, manifest) = c.resolve_manifest().unwrap_or_else(|e| panic!("resolve: {e}"));
        assert_eq!(media_type, MEDIA_DOCKER_MANIFEST);
        let (config, layers) = layer_digests(&manifest);
        let config_bytes = c
            .fetch_blob(&config, 1 << 20)
            .unwrap_or_else(|e| panic!("config: {e}"));
        assert!(serde_json::from_slice::<serde_json::Value>(&config_bytes).is_ok());
        assert!(!layers.is_empty());
        for (layer, size) in layers {
            let reader = c
                .blob_reader(&layer)
                .unwrap_or_else(|e| panic!("layer {layer}: {e}"));
            let bytes = read_all(reader).unwrap_or_else(|e| panic!("layer {layer}: {e}"));
            assert_eq!(bytes.len() as u64, size, "layer {layer}");
        }
        digest
    }

    #[test]
    fn real_registry_by_tag_by_digest_and_unknown_names() {
        let Some(images) = shared_images() else { return };
        let Some(server) = RegistryServer::start() else {
            return;
        };
        server.push(&images.join("rpm-sample.tar"), "test/rpm-sample:1", None);
        let host = server.host();
        let options = insecure(None, None);

        let by_tag = client(&reference(&host, "test/rpm-sample", Some("1"), None), &options);
        let digest = pull_everything(&by_tag);
        let (served_digest, raw) = server.raw_manifest("test/rpm-sample:1");
        assert_eq!(digest, served_digest);
        assert_eq!(digest, sha256_digest(&raw));

        let by_digest = client(
            &reference(&host, "test/rpm-sample", None, Some(&digest)),
            &options,
        );
        assert_eq!(pull_everything(&by_digest), digest);

        let unknown_tag = client(&reference(&host, "test/rpm-sample", Some("nope"), None), &options);
        match unknown_tag.resolve_manifest() {
            Err(ArtifactError::Registry { url, message }) => {
                assert!(url.ends_with("/v2/test/rpm-sample/manifests/nope"), "{url}");
                assert!(
                    message.contains("manifest unknown") && message.contains("\"nope\""),
                    "{message}"
                );
                assert!(message.contains("404"), "{message}");
            }
            other => panic!("expected a Registry error, got {other:?}"),
        }
        let absent = format!("sha256:{}", "0".repeat(64));
        match by_tag.fetch_blob(&absent, 10) {
            Err(ArtifactError::Registry { message, .. }) => {
                assert!(
                    message.contains("blob unknown") && message.contains(&absent),
                    "{message}"
                );
            }
            other => panic!("expected a Registry error, got {other:?}"),
        }
        let wrong_pin = client(
            &reference(&host, "test/rpm-sample", None, Some(&absent)),
            &options,
        );
        assert!(wrong_pin
            .resolve_manifest()
            .is_err_and(|e| e.to_string().contains("manifest unknown")));
    }

    #[test]
    fn real_registry_manifest_list_selects_the_platform() {
        let Some(images) = shared_images() else { return };
        let Some(server) = RegistryServer::start() else {
            return;
        };
        server.push(&images.join("busybox-static.tar"), "test/multi:amd64", None);
        server.push(&images.join("rpm-sample.tar"), "test/multi:arm64", None);
        let (amd64, amd64_raw) = server.raw_manifest("test/multi:amd64");
        let (arm64, arm64_raw) = server.raw_manifest("test/multi:arm64");
        let entry = |digest: &str, size: usize, platform: serde_json::Value| serde_json::json!({"mediaType": MEDIA_DOCKER_MANIFEST, "digest": digest, "size": size, "platform": platform});
        let list = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_DOCKER_LIST,
            "manifests": [
                entry(&arm64, arm64_raw.len(), serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})),
                entry(&amd64, amd64_raw.len(), serde_json::json!({"os": "linux", "architecture": "amd64"})),
            ]
        });
        server.put_manifest(
            "test/multi",
            "all",
            MEDIA_DOCKER_LIST,
            list.to_string().as_bytes(),
        );
        let host = server.host();
        let at = |platform: Option<&str>| {
            client(
                &reference(&host, "test/multi", Some("all"), None),
                &insecure(None, platform),
            )
            .resolve_manifest()
        };
        assert_eq!(at(None).map(|m| m.0).ok(), Some(amd64.clone()));
        assert_eq!(
            at(Some("linux/arm64")).map(|m| (m.0, m.2)).ok(),
            Some((arm64, arm64_raw))
        );
        match at(Some("linux/s390x")) {
            Err(ArtifactError::NoMatchingPlatform { available, what, .. }) => {
                assert_eq!(available, ["linux/arm64/v8", "linux/amd64"]);
                assert!(what.contains("test/multi:all"), "{what}");
            }
            other => panic!("expected NoMatchingPlatform, got {other:?}"),
        }
    }

    #[test]
    fn real_registry_with_basic_auth_reads_the_docker_config() {
        let Some(images) = shared_images() else { return };
        let Some(server) = RegistryServer::start_with_basic_auth("moat", "s3cret") else {
            return;
        };
        server.push(
            &images.join("busybox-static.tar"),
            "test/private:1",
            Some("moat:s3cret"),
        );
        let host = server.host();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let private = reference(&host, "test/private", Some("1"), None);

        let config = write_docker_config(dir.path(), &format!("http://{host}"), &b64("moat:s3cret"));
        pull_everything(&client(&private, &insecure(Some(config), None)));

        let wrong = write_docker_config(dir.path(), &host, &b64("moat:wrong"));
        match client(&private, &insecure(Some(wrong), None)).resolve_manifest() {
            Err(ArtifactError::Auth { registry, message }) => {
                assert_eq!(registry, host);
                assert!(message.contains("401"), "{message}");
            }
            other => panic!("expected an Auth error, got {other:?}"),
        }
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, "{}").unwrap_or_else(|e| panic!("{e}"));
        match client(&private, &insecure(Some(empty), None)).resolve_manifest() {
            Err(ArtifactError::Auth { message, .. }) => {
                assert!(
                    message.contains("no credentials") && message.contains("empty.json"),
                    "{message}"
                );
            }
            other => panic!("expected an Auth error, got {other:?}"),
        }
    }
}
