//! Policy evaluation cost per review: restricted Pod Security on a typical pod (the built-in),
//! and a Gatekeeper Rego constraint, as the admission webhook runs them.

use criterion::{criterion_group, criterion_main, Criterion};
use moat_policy::{Inventory, Limits, PolicySet, Review};
use serde_json::json;
use std::hint::black_box;

const RESTRICTED: &str = "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: restricted}\nspec:\n  rule: pod-security\n  parameters: {level: restricted, version: latest}\n";

const REQUIRED_PROBES: &str = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sdisallowedtagsbench}
spec:
  crd: {spec: {names: {kind: K8sDisallowedTagsBench}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sdisallowedtagsbench
      violation[{"msg": msg}] {
        container := input.review.object.spec.containers[_]
        tags := [forbid | tag = input.parameters.tags[_] ; forbid = endswith(container.image, concat(":", ["", tag]))]
        any(tags)
        msg := sprintf("container <%v> uses a disallowed tag <%v>", [container.name, container.image])
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDisallowedTagsBench
metadata: {name: no-latest}
spec:
  match: {kinds: [{apiGroups: [""], kinds: [Pod]}]}
  parameters: {tags: [latest, dev]}
"#;

/// A typical pod: two containers with probes, resources and a hardened security context.
fn typical_pod() -> Review {
    let container = |name: &str| {
        json!({
            "name": name, "image": format!("registry.example.com/shop/{name}:1.4.2"),
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "production"}, {"name": "LOG", "value": "info"}],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                 "capabilities": {"drop": ["ALL"]}}
        })
    };
    Review::from_object(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "shop-7d9f", "namespace": "shop", "labels": {"app": "shop", "tier": "web"},
                     "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "serviceAccountName": "shop",
            "containers": [container("web"), container("sidecar")],
            "volumes": [{"name": "tmp", "emptyDir": {}}]
        }
    }))
    .expect("a pod")
}

fn evaluate(c: &mut Criterion) {
    let review = typical_pod();
    let inventory = Inventory::new();
    let pss = PolicySet::from_text("restricted.yaml", RESTRICTED, Limits::default()).expect("loads");
    assert!(
        pss.evaluate(&review, &inventory).violations.is_empty(),
        "the typical pod is compliant"
    );
    c.bench_function("restricted PSS, typical pod", |b| {
        b.iter(|| black_box(pss.evaluate(black_box(&review), &inventory)))
    });
    let rego = PolicySet::from_text("tags.yaml", REQUIRED_PROBES, Limits::default()).expect("loads");
    c.bench_function("Gatekeeper Rego constraint, typical pod", |b| {
        b.iter(|| black_box(rego.evaluate(black_box(&review), &inventory)))
    });
}

/// Every template and sample constraint of the shared Gatekeeper library plus restricted PSS,
/// the set the admission load test serves.
fn library(c: &mut Criterion) {
    let root = moat_testkit::shared::shared_root().join("conformance/gatekeeper/general");
    if !root.is_dir() {
        eprintln!("skipping the library bench: {} is missing", root.display());
        return;
    }
    let mut paths = vec![];
    for entry in std::fs::read_dir(&root)
        .expect("the library is readable")
        .flatten()
    {
        let dir = entry.path();
        if dir.join("template.yaml").is_file() {
            paths.push(dir.join("template.yaml"));
            let samples = std::fs::read_dir(dir.join("samples"))
                .into_iter()
                .flatten()
                .flatten();
            paths.extend(
                samples
                    .map(|s| s.path().join("constraint.yaml"))
                    .filter(|p| p.is_file()),
            );
        }
    }
    let dir = tempfile_dir();
    let pss = dir.join("restricted.yaml");
    std::fs::write(&pss, RESTRICTED).expect("write");
    paths.push(pss);
    let set = PolicySet::load(&paths, Limits::default()).expect("the library loads");
    let review = typical_pod();
    let inventory = Inventory::new();
    c.bench_function("whole Gatekeeper library + restricted PSS, typical pod", |b| {
        b.iter(|| black_box(set.evaluate(black_box(&review), &inventory)))
    });
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("moat-policy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

criterion_group!(benches, evaluate, library);
criterion_main!(benches);
