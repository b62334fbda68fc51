//! A real webhook on 127.0.0.1 with a generated CA, and an HTTPS client that trusts it.
#![allow(dead_code)]

use moat_admission::{
    certs, AdmissionError, Config, LogTarget, ServeOptions, Server, ServerHandle, TlsFiles,
};
use moat_policy::builtin::DigestResolver;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Restricted Pod Security Standards, and the mutating secure defaults.
pub const POLICIES: &str = "\
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: restricted}
spec:
  rule: pod-security
  parameters: {level: restricted, version: latest}
---
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: secure-defaults}
spec:
  rule: default-security-context
";

pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub policy_file: PathBuf,
    pub decision_log: PathBuf,
    running: tokio::task::JoinHandle<Result<(), AdmissionError>>,
}

/// Starts a webhook with [`POLICIES`]; `adjust` changes the configuration first.
pub async fn start(adjust: impl FnOnce(&mut Config)) -> TestServer {
    start_with(POLICIES, adjust).await
}

/// Starts a webhook whose one policy file holds `policies`.
pub async fn start_with(policies: &str, adjust: impl FnOnce(&mut Config)) -> TestServer {
    start_resolving(policies, adjust, None).await
}

/// Starts a webhook whose one policy file holds `policies`, looking up image digests with
/// `resolver`.
pub async fn start_resolving(
    policies: &str,
    adjust: impl FnOnce(&mut Config),
    resolver: Option<Arc<dyn DigestResolver>>,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let paths = certs::generate(&dir.path().join("certs"), "moat-admission", "moat-test", &[]).unwrap();
    let policy_dir = dir.path().join("policies");
    std::fs::create_dir(&policy_dir).unwrap();
    let policy_file = policy_dir.join("policies.yaml");
    std::fs::write(&policy_file, policies).unwrap();
    let decision_log = dir.path().join("decisions.log");
    let mut config = Config::new(TlsFiles {
        cert_file: paths.cert.clone(),
        key_file: paths.key.clone(),
    });
    config.policies = vec![policy_dir];
    config.decision_log = Some(LogTarget::File(decision_log.clone()));
    config.reload_interval = Duration::ZERO;
    adjust(&mut config);
    let options = ServeOptions {
        digest_resolver: resolver,
        ..ServeOptions::default()
    };
    launch_with(config, options, dir, &paths.ca_cert, policy_file, decision_log).await
}

/// Starts a webhook with `config` on a free loopback port; `dir` is kept until it stops.
pub async fn launch(
    config: Config,
    dir: tempfile::TempDir,
    ca_file: &Path,
    policy_file: PathBuf,
    decision_log: PathBuf,
) -> TestServer {
    let options = ServeOptions::default();
    launch_with(config, options, dir, ca_file, policy_file, decision_log).await
}

/// [`launch`] with these options, on a free loopback port.
pub async fn launch_with(
    config: Config,
    options: ServeOptions,
    dir: tempfile::TempDir,
    ca_file: &Path,
    policy_file: PathBuf,
    decision_log: PathBuf,
) -> TestServer {
    let options = ServeOptions {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        shutdown_grace: Duration::from_secs(2),
        ..options
    };
    let server = Server::bind(config, options).await.unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let running = tokio::spawn(server.run());
    assert!(handle.ready().await, "the policies did not load");
    let client = client_trusting(ca_file);
    TestServer {
        addr,
        handle,
        client,
        dir,
        policy_file,
        decision_log,
        running,
    }
}

/// An HTTPS client that trusts only the CA in `ca_file`.
pub fn client_trusting(ca_file: &Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_file).unwrap()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap()
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Posts an AdmissionReview and returns its `response`.
    pub async fn admit(&self, path: &str, review: &Value) -> Value {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(review.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path} answered {}", response.status());
        let body = json_body(response).await;
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        body["response"].clone()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The value of a metric line that starts with `prefix`, or 0 when absent.
    pub async fn metric(&self, prefix: &str) -> f64 {
        let (_, text) = self.get_text("/metrics").await;
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn decision_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.decision_log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    pub async fn stop(self) {
        self.handle.shutdown();
        let result = self.running.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

pub async fn json_body(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// An AdmissionReview of a CREATE of `object` (whose kind says which) in `namespace`.
pub fn review(uid: &str, namespace: &str, object: Value) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1").to_string();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let kind = object["kind"].as_str().unwrap_or("Pod").to_string();
    let resource = format!("{}s", kind.to_lowercase());
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "namespace": namespace,
            "name": object["metadata"]["name"],
            "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["developers", "system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
        }
    })
}

/// A pod whose one container runs privileged.
pub fn privileged_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root-shell", "namespace": "apps"},
        "spec": {"containers": [{
            "name": "shell",
            "image": "registry.example/tools/shell:1.0",
            "securityContext": {"privileged": true}
        }]}
    })
}

/// A pod that meets the restricted Pod Security Standard.
pub fn restricted_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "web",
                "image": "registry.example/web:2.1",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "runAsNonRoot": true,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"}
                }
            }]
        }
    })
}

/// A pod with no security context at all: fine for baseline, not for restricted.
pub fn plain_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "plain", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:3"}]}
    })
}

/// A Deployment whose pod template runs privileged.
pub fn privileged_deployment() -> Value {
    let pod = privileged_pod();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "root-shells", "namespace": "apps"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "shell"}},
            "template": {
                "metadata": {"labels": {"app": "shell"}},
                "spec": pod["spec"]
            }
        }
    })
}

/// Replaces a file the way editors and `kubectl` volume updates do: a new file renamed over it.
pub fn replace_file(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp~");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Polls `condition` until it holds; fails after a generous bound.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}
