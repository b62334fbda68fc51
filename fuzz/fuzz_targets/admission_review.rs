//! Fuzzes the webhook's request path: arbitrary bytes read as an AdmissionReview, reviewed by
//! restricted Pod Security, a Rego constraint and the mutating defaults, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_policy::{Inventory, Limits, PolicySet, Review};
use std::sync::OnceLock;

const POLICIES: &str = r#"
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: restricted}
spec: {rule: pod-security, parameters: {level: restricted}}
---
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: defaults}
spec: {rule: default-security-context}
---
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8snolatest}
spec:
  crd: {spec: {names: {kind: K8sNoLatest}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8snolatest
      violation[{"msg": msg}] {
        c := input.review.object.spec.containers[_]
        endswith(c.image, ":latest")
        msg := sprintf("%v uses latest", [c.name])
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNoLatest
metadata: {name: no-latest}
"#;

fn policies() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| PolicySet::from_text("fuzz.yaml", POLICIES, Limits::default()).expect("the fuzz policies load"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let request = body.get("request").unwrap_or(&body);
    if let Ok(review) = Review::from_admission_request(request) {
        let inventory = Inventory::new();
        let _ = policies().evaluate(&review, &inventory);
        let _ = policies().mutate(&review, &inventory);
    }
});
