//! Kubernetes manifests that install the webhook: one multi-document YAML stream with the
//! Namespace, ServiceAccount, TLS Secret, ConfigMaps (configuration and policies), Deployment,
//! Service and the Validating- and MutatingWebhookConfiguration.
//!
//! The serving certificate must be issued for `<name>.<namespace>.svc` (what
//! [`crate::certs::generate`] does given the same name and namespace), and the webhook
//! configurations trust its CA through `caBundle`.

use crate::certs::CertPaths;
use crate::config::{Config, LogTarget, TlsFiles};
use base64::Engine as _;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the Deployment mounts the configuration, the policies and the certificate.
const CONFIG_DIR: &str = "/etc/moat/config";
const POLICY_DIR: &str = "/etc/moat/policies";
const TLS_DIR: &str = "/etc/moat/tls";
/// The container port (the Service's 443 goes there).
const CONTAINER_PORT: u16 = 8443;

/// What to render.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// Name of the Deployment, Service, ServiceAccount and the prefix of every other object.
    pub name: String,
    /// Namespace the webhook runs in (excluded from its own webhooks, with `kube-system`).
    pub namespace: String,
    /// Container image of the `moat` binary.
    pub image: String,
    /// Pods of the Deployment.
    pub replicas: u32,
    /// The CA certificate (PEM) that signed the serving certificate: the `caBundle`.
    pub ca_pem: String,
    /// The serving certificate and key for the Secret; without them the output says how to
    /// create the Secret instead.
    pub tls: Option<TlsPem>,
    /// The webhook's settings (mode, failure policy, exemptions, timeouts, mutation). Its
    /// paths and listen address are replaced by the in-cluster ones.
    pub config: Config,
    /// Policy files put in the policies ConfigMap (keys are file names; keep them unique and
    /// the whole under the 1 MiB a ConfigMap holds).
    pub policy_files: Vec<PolicyFile>,
    /// The API server's timeout for one webhook call, 1 to 30 seconds.
    pub timeout_seconds: u32,
}

/// A serving certificate and key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPem {
    /// Certificate chain.
    pub cert: String,
    /// Private key.
    pub key: String,
}

/// A policy file to ship in the policies ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// File name (`restricted.yaml`).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A certificate file that cannot be read for the manifests.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot read: {source}")]
pub struct ManifestError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl ManifestOptions {
    /// Defaults (`moat-admission` in `moat-system`, two replicas, 10 s timeout) around a CA.
    pub fn new(ca_pem: String) -> ManifestOptions {
        ManifestOptions {
            name: "moat-admission".into(),
            namespace: "moat-system".into(),
            image: format!("ghcr.io/moat-dev/moat:{}", env!("CARGO_PKG_VERSION")),
            replicas: 2,
            ca_pem,
            tls: None,
            config: Config::new(in_cluster_tls()),
            policy_files: Vec::new(),
            timeout_seconds: 10,
        }
    }

    /// Defaults, with the CA and the serving certificate and key read from [`CertPaths`].
    pub fn from_cert_paths(paths: &CertPaths) -> Result<ManifestOptions, ManifestError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| ManifestError {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut options = ManifestOptions::new(read(&paths.ca_cert)?);
        options.tls = Some(TlsPem {
            cert: read(&paths.cert)?,
            key: read(&paths.key)?,
        });
        Ok(options)
    }
}

fn in_cluster_tls() -> TlsFiles {
    TlsFiles {
        cert_file: Path::new(TLS_DIR).join("tls.crt"),
        key_file: Path::new(TLS_DIR).join("tls.key"),
    }
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Renders the manifests: YAML documents separated by `---`.
pub fn render(options: &ManifestOptions) -> String {
    let names = Names::of(options);
    let mut documents = vec![namespace(options), service_account(options, &names)];
    let mut deployment_note = String::new();
    match &options.tls {
        Some(tls) => documents.push(tls_secret(options, &names, tls)),
        None => {
            deployment_note = format!(
                "# The Secret {secret} is not included: create it from the serving certificate, e.g.\n\
                 #   kubectl -n {ns} create secret tls {secret} --cert=tls.crt --key=tls.key\n",
                secret = names.secret,
                ns = options.namespace
            );
        }
    }
    documents.push(config_map(options, &names));
    documents.push(policies_config_map(options, &names));
    let mut text: String = documents.iter().map(|d| to_yaml_document(d, "")).collect();
    text.push_str(&to_yaml_document(&deployment(options, &names), &deployment_note));
    let rest = [service(options, &names), validating_webhook(options, &names)];
    text.extend(rest.iter().map(|d| to_yaml_document(d, "")));
    if options.config.mutation {
        text.push_str(&to_yaml_document(&mutating_webhook(options, &names), ""));
    }
    text
}

fn to_yaml_document(value: &Value, comment: &str) -> String {
    // Serializing a JSON value (strings, numbers, maps, lists) to YAML does not fail.
    let yaml = serde_saphyr::to_string(value).unwrap_or_default();
    format!("---\n{comment}{yaml}")
}

/// Names of the objects, all derived from the options' name.
struct Names {
    secret: String,
    config: String,
    policies: String,
    labels: Value,
}

impl Names {
    fn of(options: &ManifestOptions) -> Names {
        Names {
            secret: format!("{}-tls", options.name),
            config: format!("{}-config", options.name),
            policies: format!("{}-policies", options.name),
            labels: json!({
                "app.kubernetes.io/name": options.name,
                "app.kubernetes.io/part-of": "moat",
                "app.kubernetes.io/component": "admission-webhook",
            }),
        }
    }
}

fn metadata(options: &ManifestOptions, names: &Names, name: &str) -> Value {
    json!({"name": name, "namespace": options.namespace, "labels": names.labels})
}

fn namespace(options: &ManifestOptions) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": options.namespace,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    })
}

fn service_account(options: &ManifestOptions, names: &Names) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(options, names, &options.name),
        "automountServiceAccountToken": false,
    })
}

fn tls_secret(options: &ManifestOptions, names: &Names, tls: &TlsPem) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(options, names, &names.secret),
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64(&tls.cert),
            "tls.key": base64(&tls.key),
            "ca.crt": base64(&options.ca_pem),
        },
    })
}

/// The configuration as the Deployment's pods read it.
fn in_cluster_config(options: &ManifestOptions) -> Config {
    let mut config = options.config.clone();
    config.listen = SocketAddr::from(([0, 0, 0, 0], CONTAINER_PORT));
    config.tls = in_cluster_tls();
    // Each file named, not the directory: a ConfigMap volume also holds hidden `..data`
    // directories with the same files, which a directory walk would read twice.
    config.policies = options
        .policy_files
        .iter()
        .map(|file| Path::new(POLICY_DIR).join(config_map_key(&file.name)))
        .collect();
    config.inventory = Vec::new();
    config.decision_log = Some(LogTarget::Stdout);
    config.source = None;
    config
}

fn config_map(options: &ManifestOptions, names: &Names) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(options, names, &names.config),
        "data": {"admission.yaml": in_cluster_config(options).to_yaml()},
    })
}

/// A ConfigMap key made of the characters Kubernetes allows (`[-._a-zA-Z0-9]`).
fn config_map_key(name: &str) -> String {
    let file_name = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name);
    file_name
        .chars()
        .map(|c| match c {
            '-' | '.' | '_' => c,
            c if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect()
}

fn policies_config_map(options: &ManifestOptions, names: &Names) -> Value {
    let data: serde_json::Map<String, Value> = options
        .policy_files
        .iter()
        .map(|file| (config_map_key(&file.name), Value::String(file.text.clone())))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(options, names, &names.policies),
        "data": data,
    })
}

fn restricted_security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

fn probe(path: &str, initial_delay: u32, period: u32) -> Value {
    json!({
        "httpGet": {"path": path, "port": "https", "scheme": "HTTPS"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 2,
    })
}

fn deployment(options: &ManifestOptions, names: &Names) -> Value {
    let selector = json!({"app.kubernetes.io/name": options.name});
    let container = json!({
        "name": "webhook",
        "image": options.image,
        "args": ["admission", "serve", "--config", format!("{CONFIG_DIR}/admission.yaml")],
        "ports": [{"name": "https", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "readinessProbe": probe("/readyz", 2, 5),
        "livenessProbe": probe("/healthz", 10, 10),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": restricted_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": true},
            {"name": "policies", "mountPath": POLICY_DIR, "readOnly": true},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": true},
        ],
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(options, names, &options.name),
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": names.labels},
                "spec": {
                    "serviceAccountName": options.name,
                    "automountServiceAccountToken": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector},
                    }],
                    "containers": [container],
                    "volumes": [
                        {"name": "config", "configMap": {"name": names.config}},
                        {"name": "policies", "configMap": {"name": names.policies}},
                        {"name": "tls", "secret": {"secretName": names.secret}},
                    ],
                },
            },
        },
    })
}

fn service(options: &ManifestOptions, names: &Names) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(options, names, &options.name),
        "spec": {
            "selector": {"app.kubernetes.io/name": options.name},
            "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
        },
    })
}

/// The fields both webhook configurations share.
fn webhook(options: &ManifestOptions, name: &str, path: &str, rules: Value) -> Value {
    json!({
        "name": name,
        "clientConfig": {
            "service": {
                "name": options.name,
                "namespace": options.namespace,
                "path": path,
                "port": 443,
            },
            "caBundle": base64(&options.ca_pem),
        },
        "rules": rules,
        "failurePolicy": options.config.failure_policy.as_str(),
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": options.timeout_seconds.clamp(1, 30),
        "matchPolicy": "Equivalent",
        "namespaceSelector": {
            "matchExpressions": [{
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": [options.namespace, "kube-system"],
            }],
        },
    })
}

fn validating_webhook(options: &ManifestOptions, names: &Names) -> Value {
    // Every resource, as Gatekeeper registers: each policy decides which kinds it matches.
    let rules = json!([{
        "apiGroups": ["*"],
        "apiVersions": ["*"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["*"],
        "scope": "*",
    }]);
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": options.name, "labels": names.labels},
        "webhooks": [webhook(options, &format!("validate.{}.moat.dev", options.name), "/validate", rules)],
    })
}

fn mutating_webhook(options: &ManifestOptions, names: &Names) -> Value {
    // Pods only: mutations set pod fields, and every workload's pods are created as pods.
    let rules = json!([{
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["pods"],
        "scope": "Namespaced",
    }]);
    let mut hook = webhook(
        options,
        &format!("mutate.{}.moat.dev", options.name),
        "/mutate",
        rules,
    );
    hook["reinvocationPolicy"] = json!("Never");
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": options.name, "labels": names.labels},
        "webhooks": [hook],
    })
}
