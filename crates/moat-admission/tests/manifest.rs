//! The rendered manifests parse as YAML documents of the right kinds, wired together.

use base64::Engine as _;
use moat_admission::manifest::{self, ManifestOptions, PolicyFile};
use moat_admission::{certs, Config, FailurePolicy};
use serde_json::Value;
use std::path::Path;

fn decode(text: &Value) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn by_kind<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn manifests_parse_and_trust_the_generated_ca() {
    let dir = tempfile::tempdir().unwrap();
    let paths = certs::generate(dir.path(), "moat-admission", "moat-system", &[]).unwrap();
    let mut options = ManifestOptions::from_cert_paths(&paths).unwrap();
    options.config.failure_policy = FailurePolicy::Ignore;
    options.policy_files = vec![PolicyFile {
        name: "restricted.yaml".into(),
        text: "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: r}\n".into(),
    }];
    let text = manifest::render(&options);
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let kinds: Vec<&str> = documents.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "Service",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration"
        ]
    );
    let ca = std::fs::read_to_string(&paths.ca_cert).unwrap();
    for kind in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] {
        let hook = &by_kind(&documents, kind)["webhooks"][0];
        assert_eq!(decode(&hook["clientConfig"]["caBundle"]), ca);
        assert_eq!(hook["clientConfig"]["service"]["name"], "moat-admission");
        assert_eq!(hook["clientConfig"]["service"]["namespace"], "moat-system");
        assert_eq!(hook["failurePolicy"], "Ignore");
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["admissionReviewVersions"][0], "v1");
        let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
        assert_eq!(excluded["operator"], "NotIn");
        assert_eq!(
            excluded["values"],
            serde_json::json!(["moat-system", "kube-system"])
        );
    }
    let validating = &by_kind(&documents, "ValidatingWebhookConfiguration")["webhooks"][0];
    assert_eq!(validating["clientConfig"]["service"]["path"], "/validate");
    let mutating = &by_kind(&documents, "MutatingWebhookConfiguration")["webhooks"][0];
    assert_eq!(mutating["clientConfig"]["service"]["path"], "/mutate");

    let secret = by_kind(&documents, "Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(
        decode(&secret["data"]["tls.crt"]),
        std::fs::read_to_string(&paths.cert).unwrap()
    );

    let deployment = by_kind(&documents, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(container["resources"]["requests"]["memory"].is_string());
    let service = by_kind(&documents, "Service");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);

    let config_map = documents
        .iter()
        .find(|d| d["metadata"]["name"] == "moat-admission-config")
        .unwrap();
    let config_text = config_map["data"]["admission.yaml"].as_str().unwrap();
    let config = Config::from_text(Path::new("admission.yaml"), config_text).unwrap();
    assert_eq!(config.failure_policy, FailurePolicy::Ignore);
    assert_eq!(config.listen.port(), 8443);
    assert_eq!(config.policies, [Path::new("/etc/moat/policies/restricted.yaml")]);
    let policies = documents
        .iter()
        .find(|d| d["metadata"]["name"] == "moat-admission-policies")
        .unwrap();
    assert!(policies["data"]["restricted.yaml"]
        .as_str()
        .unwrap()
        .contains("MoatPolicy"));
}

#[test]
fn without_tls_files_a_note_replaces_the_secret_and_no_mutation_means_no_mutating_webhook() {
    let mut options =
        ManifestOptions::new("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into());
    options.config.mutation = false;
    let text = manifest::render(&options);
    assert!(
        text.contains("kubectl -n moat-system create secret tls moat-admission-tls"),
        "{text}"
    );
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    assert!(documents.iter().all(|d| d["kind"] != "Secret"));
    assert!(documents
        .iter()
        .all(|d| d["kind"] != "MutatingWebhookConfiguration"));
    assert!(documents
        .iter()
        .any(|d| d["kind"] == "ValidatingWebhookConfiguration"));
}
