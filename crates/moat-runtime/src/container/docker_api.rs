//! The Docker-compatible API over a Unix socket: Docker's own, or podman's
//! `podman system service`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use moat_core::time::parse_rfc3339_ns;
use serde_json::Value;

use super::http;
use super::{ContainerInfo, ContainerRuntime, RuntimeApiError};
use crate::{Container, Mount, Pod};

/// The sockets tried after `DOCKER_HOST` and `CONTAINER_HOST`, in order.
const DEFAULT_SOCKETS: [&str; 2] = ["/run/podman/podman.sock", "/var/run/docker.sock"];

/// The runtime's name when `/version` names no podman component (or cannot be read).
const DOCKER: &str = "docker";
/// The runtime's name when `/version` lists a `Podman Engine` component.
const PODMAN: &str = "podman";

/// A container runtime answering the Docker-compatible API on a Unix socket.
#[derive(Debug)]
pub struct DockerApi {
    socket: PathBuf,
    /// `docker` or `podman`, once `/version` has answered.
    name: OnceLock<&'static str>,
}

impl DockerApi {
    /// The API on `socket` (not contacted until asked).
    pub fn new(socket: PathBuf) -> DockerApi {
        DockerApi {
            socket,
            name: OnceLock::new(),
        }
    }

    /// The first socket that exists of: `DOCKER_HOST` and `CONTAINER_HOST` (when they are
    /// `unix://` addresses), `/run/podman/podman.sock`, `/var/run/docker.sock`.
    pub fn discover() -> Option<DockerApi> {
        let from_env = |name| std::env::var(name).ok();
        let defaults: Vec<&Path> = DEFAULT_SOCKETS.iter().map(Path::new).collect();
        discover_socket(&[from_env("DOCKER_HOST"), from_env("CONTAINER_HOST")], &defaults).map(DockerApi::new)
    }

    /// The socket this API is reached on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `docker` or `podman`, from `GET /version`; not remembered when the request fails, so
    /// that a later call asks again.
    fn ask_name(&self) -> Option<&'static str> {
        let response = http::get(&self.socket, "/version").ok()?;
        if response.status != 200 {
            return None;
        }
        let version: Value = serde_json::from_slice(&response.body).ok()?;
        let components = version.get("Components").and_then(Value::as_array);
        let is_podman = components
            .into_iter()
            .flatten()
            .any(|component| component.get("Name").and_then(Value::as_str) == Some("Podman Engine"));
        Some(if is_podman { PODMAN } else { DOCKER })
    }
}

impl ContainerRuntime for DockerApi {
    fn name(&self) -> &str {
        if let Some(name) = self.name.get() {
            return name;
        }
        match self.ask_name() {
            Some(name) => self.name.get_or_init(|| name),
            None => DOCKER,
        }
    }

    /// `GET /containers/{id}/json`; `Ok(None)` on 404, and for an `id` that is no container
    /// id or name (which could not be put in the request line as it is).
    fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeApiError> {
        if !is_id_or_name(id) {
            return Ok(None);
        }
        let request = format!("/containers/{id}/json");
        let protocol_error = |message: String| RuntimeApiError::Protocol {
            socket: self.socket.clone(),
            request: format!("GET {request}"),
            message,
        };
        let response = http::get(&self.socket, &request)?;
        match response.status {
            200 => {}
            404 => return Ok(None),
            status => return Err(protocol_error(status_message(status, &response.body))),
        }
        let document: Value = serde_json::from_slice(&response.body)
            .map_err(|e| protocol_error(format!("the inspect document is not JSON: {e}")))?;
        container_info_from_inspect(&document, self.name())
            .map(Some)
            .map_err(protocol_error)
    }
}

/// The first existing socket of the `unix://` addresses in `hosts` (unset ones skipped),
/// then of `defaults`.
fn discover_socket(hosts: &[Option<String>], defaults: &[&Path]) -> Option<PathBuf> {
    let from_hosts = hosts
        .iter()
        .flatten()
        .filter_map(|host| host.strip_prefix("unix://"))
        .map(PathBuf::from);
    from_hosts
        .chain(defaults.iter().map(|path| path.to_path_buf()))
        .find(|path| path.exists())
}

/// Container ids and names: letters, digits, `_`, `.`, `-`.
fn is_id_or_name(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `status <code>: <message>` from an error response, whose JSON body has a `message`.
fn status_message(status: u16, body: &[u8]) -> String {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    format!("status {status}: {message}")
}

/// The text at JSON pointer `pointer`, when it is non-empty text.
fn text_at<'a>(document: &'a Value, pointer: &str) -> Option<&'a str> {
    document
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The string-to-string object at `pointer`; values that are not text are left out.
fn labels_at(document: &Value, pointer: &str) -> BTreeMap<String, String> {
    let Some(object) = document.pointer(pointer).and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    object
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
        .collect()
}

/// Maps a `GET /containers/{id}/json` document; `runtime` names the API (`container.type`).
/// Only `Id` is required; anything else missing, null or of another type is left unset.
pub(crate) fn container_info_from_inspect(document: &Value, runtime: &str) -> Result<ContainerInfo, String> {
    let id = text_at(document, "/Id").ok_or("the inspect document has no Id")?;
    let image = text_at(document, "/Config/Image").unwrap_or_default();
    let (repository, tag, digest) = split_image_reference(image);
    let labels = labels_at(document, "/Config/Labels");
    let host_config = |field: &str| text_at(document, &format!("/HostConfig/{field}"));
    let container = Container {
        id: id.to_string(),
        name: text_at(document, "/Name")
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: image.to_string(),
        image_id: text_at(document, "/Image").map(str::to_string),
        repository,
        tag,
        digest,
        runtime: runtime.to_string(),
        privileged: document
            .pointer("/HostConfig/Privileged")
            .and_then(Value::as_bool)
            == Some(true),
        start_ts: text_at(document, "/State/StartedAt").and_then(parse_rfc3339_ns),
        pod: pod_from_labels(&labels),
        labels,
        mounts: mounts(document),
        ip: ip_address(document),
        healthcheck: healthcheck(document),
        host_pid: host_config("PidMode") == Some("host"),
        host_network: host_config("NetworkMode") == Some("host"),
        host_ipc: host_config("IpcMode") == Some("host"),
        ..Container::default()
    };
    Ok(ContainerInfo {
        container,
        upper_dir: text_at(document, "/GraphDriver/Data/UpperDir").map(PathBuf::from),
        merged_dir: text_at(document, "/GraphDriver/Data/MergedDir").map(PathBuf::from),
        init_pid: document
            .pointer("/State/Pid")
            .and_then(Value::as_u64)
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|&pid| pid > 0),
    })
}

/// `Mounts[]`: `Source`, `Destination`, `Mode`, `RW`, `Propagation`.
fn mounts(document: &Value) -> Vec<Mount> {
    let Some(mounts) = document.get("Mounts").and_then(Value::as_array) else {
        return Vec::new();
    };
    mounts
        .iter()
        .map(|mount| Mount {
            source: text_at(mount, "/Source").unwrap_or_default().to_string(),
            dest: text_at(mount, "/Destination").unwrap_or_default().to_string(),
            mode: text_at(mount, "/Mode").unwrap_or_default().to_string(),
            rdwr: mount.get("RW").and_then(Value::as_bool) == Some(true),
            propagation: text_at(mount, "/Propagation").unwrap_or_default().to_string(),
        })
        .collect()
}

/// `NetworkSettings.IPAddress`, else the first network's address (user-defined networks
/// leave the top-level one empty).
fn ip_address(document: &Value) -> Option<String> {
    if let Some(ip) = text_at(document, "/NetworkSettings/IPAddress") {
        return Some(ip.to_string());
    }
    let networks = document
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)?;
    networks
        .values()
        .find_map(|network| text_at(network, "/IPAddress"))
        .map(str::to_string)
}

/// `Config.Healthcheck.Test` as a command line: `["CMD", "a", "b"]` is `a b`,
/// `["CMD-SHELL", "s"]` is `/bin/sh -c s`; `["NONE"]` (disabled) and an empty test are none.
fn healthcheck(document: &Value) -> Option<String> {
    let test = document
        .pointer("/Config/Healthcheck/Test")
        .and_then(Value::as_array)?;
    let words: Vec<&str> = test.iter().filter_map(Value::as_str).collect();
    let command = match words.split_first() {
        Some((&"CMD", rest)) => rest.join(" "),
        Some((&"CMD-SHELL", rest)) => format!("/bin/sh -c {}", rest.join(" ")),
        Some((&"NONE", _)) | None => return None,
        Some(_) => words.join(" "),
    };
    Some(command).filter(|c| !c.is_empty())
}

/// The pod named by the kubelet's `io.kubernetes.*` container labels, when there is one.
/// The pod's own labels are not on its containers, so they stay empty.
fn pod_from_labels(labels: &BTreeMap<String, String>) -> Option<Pod> {
    let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
    let pod = Pod {
        name: label("io.kubernetes.pod.name"),
        namespace: label("io.kubernetes.pod.namespace"),
        uid: label("io.kubernetes.pod.uid"),
        sandbox_id: label("io.kubernetes.sandbox.id"),
        ..Pod::default()
    };
    (!pod.name.is_empty() || !pod.namespace.is_empty() || !pod.uid.is_empty()).then_some(pod)
}

/// Splits an image reference into repository, tag and digest:
/// `registry:5000/ns/name:tag` → (`registry:5000/ns/name`, `tag`, none);
/// `name@sha256:…` → (`name`, empty, `sha256:…`); `name` → (`name`, `latest`, none).
/// A reference by digest has no tag unless it names one (`name:tag@sha256:…`). An image id
/// (`sha256:…`, as when a container is created from an id) has neither repository nor tag.
pub fn split_image_reference(image: &str) -> (String, String, Option<String>) {
    if image.is_empty() || image.starts_with("sha256:") {
        return (String::new(), String::new(), None);
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest.to_string())),
        None => (image, None),
    };
    // A ':' after the last '/' separates the tag; one before it is a registry's port.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            let split = last_slash + colon;
            (name[..split].to_string(), name[split + 1..].to_string(), digest)
        }
        None if digest.is_some() => (name.to_string(), String::new(), digest),
        None => (name.to_string(), "latest".to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::http::tests::CannedServer;

    const ID: &str = "05dce14ff6cbd1d5578ea73fc0c7f6a3c44a3953bcf54d7c77e04eaf7f1eaacb";

    fn split(image: &str) -> (String, String, Option<String>) {
        split_image_reference(image)
    }

    fn parts(repository: &str, tag: &str, digest: Option<&str>) -> (String, String, Option<String>) {
        (
            repository.to_string(),
            tag.to_string(),
            digest.map(str::to_string),
        )
    }

    #[test]
    fn image_references_split_into_repository_tag_and_digest() {
        let digest = "sha256:0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f";
        assert_eq!(
            split("registry:5000/ns/name:tag"),
            parts("registry:5000/ns/name", "tag", None)
        );
        assert_eq!(
            split("registry:5000/ns/name"),
            parts("registry:5000/ns/name", "latest", None)
        );
        assert_eq!(split("nginx"), parts("nginx", "latest", None));
        assert_eq!(
            split("docker.io/library/nginx:1.25"),
            parts("docker.io/library/nginx", "1.25", None)
        );
        assert_eq!(
            split("localhost/busybox-static:latest"),
            parts("localhost/busybox-static", "latest", None)
        );
        assert_eq!(split(&format!("name@{digest}")), parts("name", "", Some(digest)));
        assert_eq!(
            split(&format!("r:5000/name:1@{digest}")),
            parts("r:5000/name", "1", Some(digest))
        );
        assert_eq!(split(digest), parts("", "", None));
        assert_eq!(split(""), parts("", "", None));
    }

    fn inspect_document() -> Value {
        serde_json::json!({
            "Id": ID,
            "Name": "/web",
            "Image": "sha256:da2b4fdba6bee03948512a7ac2072367b25592a64ef32e2b2efdd2406b5b33bf",
            "State": {"Pid": 7003, "StartedAt": "2024-02-29T12:34:56.745319069Z"},
            "HostConfig": {"Privileged": true, "NetworkMode": "host", "PidMode": "private", "IpcMode": "host"},
            "GraphDriver": {"Data": {
                "UpperDir": "/var/lib/containers/storage/overlay/8a1c/diff",
                "MergedDir": "/var/lib/containers/storage/overlay/8a1c/merged"
            }},
            "Mounts": [
                {"Type": "bind", "Source": "/srv/data", "Destination": "/data", "Mode": "ro", "RW": false,
                 "Propagation": "rprivate"},
                {"Source": "/var/log", "Destination": "/logs", "Mode": "", "RW": true, "Propagation": ""}
            ],
            "Config": {
                "Image": "registry:5000/shop/web:2.1",
                "Labels": {
                    "io.kubernetes.pod.name": "web-0",
                    "io.kubernetes.pod.namespace": "shop",
                    "io.kubernetes.pod.uid": "5b1c0f6e-1111-2222-3333-444455556666",
                    "io.kubernetes.sandbox.id": "aa11",
                    "team": "payments"
                },
                "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/"]}
            },
            "NetworkSettings": {"IPAddress": "", "Networks": {"shop": {"IPAddress": "10.89.0.7"}}}
        })
    }

    #[test]
    fn an_inspect_document_maps_to_container_info() {
        let info = container_info_from_inspect(&inspect_document(), "podman").expect("maps");
        let c = &info.container;
        assert_eq!(c.id, ID);
        assert_eq!(c.name, "web");
        assert_eq!(c.image, "registry:5000/shop/web:2.1");
        assert_eq!(c.repository, "registry:5000/shop/web");
        assert_eq!(c.tag, "2.1");
        assert_eq!(c.digest, None);
        assert_eq!(
            c.image_id.as_deref(),
            Some("sha256:da2b4fdba6bee03948512a7ac2072367b25592a64ef32e2b2efdd2406b5b33bf")
        );
        assert_eq!(c.runtime, "podman");
        assert!(c.privileged && c.host_network && c.host_ipc && !c.host_pid);
        assert_eq!(c.start_ts, Some(1_709_210_096_745_319_069));
        assert_eq!(c.labels.get("team").map(String::as_str), Some("payments"));
        assert_eq!(c.ip.as_deref(), Some("10.89.0.7"));
        assert_eq!(
            c.healthcheck.as_deref(),
            Some("/bin/sh -c curl -f http://localhost/")
        );
        let first = Mount {
            source: "/srv/data".into(),
            dest: "/data".into(),
            mode: "ro".into(),
            rdwr: false,
            propagation: "rprivate".into(),
        };
        assert_eq!(c.mounts.first(), Some(&first));
        assert!(c.mounts[1].rdwr);
        let pod = c.pod.as_ref().expect("pod");
        assert_eq!((pod.name.as_str(), pod.namespace.as_str()), ("web-0", "shop"));
        assert_eq!(pod.uid, "5b1c0f6e-1111-2222-3333-444455556666");
        assert_eq!(pod.sandbox_id, "aa11");
        assert!(pod.labels.is_empty());
        assert_eq!(info.init_pid, Some(7003));
        assert_eq!(
            info.upper_dir,
            Some(PathBuf::from("/var/lib/containers/storage/overlay/8a1c/diff"))
        );
        assert_eq!(
            info.merged_dir,
            Some(PathBuf::from("/var/lib/containers/storage/overlay/8a1c/merged"))
        );
    }

    #[test]
    fn nulls_and_missing_fields_leave_values_unset_but_an_id_is_required() {
        let sparse = serde_json::json!({
            "Id": ID, "Name": "/lone", "Mounts": null,
            "Config": {"Image": "busybox", "Labels": null, "Healthcheck": {"Test": ["NONE"]}},
            "State": {"Pid": 0, "StartedAt": "0001-01-01T00:00:00Z"},
            "NetworkSettings": {"IPAddress": "172.17.0.2"}
        });
        let info = container_info_from_inspect(&sparse, "docker").expect("maps");
        assert_eq!(info.container.name, "lone");
        assert_eq!(
            (info.container.repository.as_str(), info.container.tag.as_str()),
            ("busybox", "latest")
        );
        assert_eq!(info.container.ip.as_deref(), Some("172.17.0.2"));
        assert!(info.container.labels.is_empty() && info.container.mounts.is_empty());
        assert_eq!(
            (info.container.pod.clone(), info.container.healthcheck.clone()),
            (None, None)
        );
        assert_eq!(
            (info.init_pid, info.container.start_ts, info.upper_dir),
            (None, None, None)
        );

        let error = container_info_from_inspect(&serde_json::json!({"Name": "/x"}), "docker").unwrap_err();
        assert!(error.contains("no Id"), "{error}");
    }

    fn http_ok(body: &str) -> Vec<Vec<u8>> {
        vec![format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()]
    }

    #[test]
    fn inspect_asks_the_api_and_names_the_runtime_from_its_version() {
        let version = r#"{"Components":[{"Name":"Podman Engine","Version":"4.3.1"}]}"#;
        let server =
            CannedServer::serve_many(vec![http_ok(&inspect_document().to_string()), http_ok(version)]);
        let api = DockerApi::new(server.socket.clone());
        let info = api.inspect(ID).expect("inspect").expect("known");
        assert_eq!(info.container.runtime, "podman");
        assert_eq!(api.name(), "podman");
        let requests = server.requests();
        assert!(
            requests.starts_with(&format!("GET /containers/{ID}/json HTTP/1.1\r\n")),
            "{requests}"
        );
        assert!(requests.contains("GET /version HTTP/1.1\r\n"), "{requests}");
    }

    #[test]
    fn a_docker_engine_is_named_docker() {
        let server = CannedServer::serve(http_ok(
            r#"{"Components":[{"Name":"Engine","Version":"24.0.7"}]}"#,
        ));
        assert_eq!(DockerApi::new(server.socket.clone()).name(), "docker");
        assert!(server.requests().starts_with("GET /version HTTP/1.1\r\n"));
    }

    #[test]
    fn a_failed_version_request_is_asked_again() {
        let version = r#"{"Components":[{"Name":"Podman Engine","Version":"4.3.1"}]}"#;
        let busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
            .as_bytes()
            .to_vec();
        let server = CannedServer::serve_many(vec![vec![busy], http_ok(version)]);
        let api = DockerApi::new(server.socket.clone());
        assert_eq!(api.name(), "docker");
        assert_eq!(api.name(), "podman");
        assert_eq!(server.requests().matches("GET /version").count(), 2);
    }

    #[test]
    fn an_unknown_container_is_none_and_other_statuses_are_errors() {
        let not_found = r#"{"message":"no such container"}"#;
        let server = CannedServer::serve(vec![format!(
            "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{not_found}",
            not_found.len()
        )
        .into_bytes()]);
        assert!(DockerApi::new(server.socket.clone())
            .inspect(ID)
            .expect("answer")
            .is_none());

        let failure = r#"{"message":"database is locked"}"#;
        let server = CannedServer::serve(vec![format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{failure}",
            failure.len()
        )
        .into_bytes()]);
        let error = DockerApi::new(server.socket.clone())
            .inspect(ID)
            .unwrap_err()
            .to_string();
        assert!(error.contains("status 500: database is locked"), "{error}");
        assert!(error.contains(&format!("GET /containers/{ID}/json")), "{error}");
    }

    #[test]
    fn an_answer_that_is_not_an_inspect_document_is_an_error() {
        let server = CannedServer::serve(http_ok("<html>"));
        let error = DockerApi::new(server.socket.clone())
            .inspect(ID)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not JSON"), "{error}");
    }

    #[test]
    fn ids_that_cannot_be_in_a_request_line_are_unknown_without_asking() {
        let api = DockerApi::new(PathBuf::from("/nonexistent/api.sock"));
        for id in ["", "a b", "x\r\nHost: evil", "../../version"] {
            assert!(api.inspect(id).expect("no request made").is_none(), "{id:?}");
        }
    }

    #[test]
    fn discovery_takes_the_first_existing_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let present = dir.path().join("present.sock");
        let other = dir.path().join("other.sock");
        std::fs::write(&present, "").expect("write");
        std::fs::write(&other, "").expect("write");
        let absent = dir.path().join("absent.sock");
        let unix = |path: &Path| Some(format!("unix://{}", path.display()));

        let hosts = [unix(&absent), unix(&present)];
        assert_eq!(discover_socket(&hosts, &[&other]), Some(present.clone()));
        let tcp = [Some("tcp://127.0.0.1:2375".to_string()), None];
        assert_eq!(discover_socket(&tcp, &[&absent, &other]), Some(other.clone()));
        assert_eq!(discover_socket(&[None, None], &[&absent]), None);
    }
}
