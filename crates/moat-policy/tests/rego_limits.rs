//! Rego evaluation under limits: a slow policy is stopped by the time limit, and a large but
//! ordinary object is not refused by any budget other than time.

use moat_policy::{Inventory, Limits, PolicySet, Review};
use serde_json::json;
use std::time::Duration;

fn template(name: &str, kind: &str, body: &str) -> String {
    format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {{name: {name}}}\nspec:\n  crd: {{spec: {{names: {{kind: {kind}}}}}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package {name}\n{body}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata: {{name: c}}\nspec: {{}}\n"
    )
}

fn pod(containers: usize) -> Review {
    let list: Vec<_> = (0..containers)
        .map(|i| json!({"name": format!("c{i}"), "image": "x:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}))
        .collect();
    Review::from_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list}}),
    )
    .unwrap()
}

#[test]
fn a_slow_policy_is_stopped_by_the_time_limit() {
    let body = "      violation[{\"msg\": msg}] {\n        n := count([x | x := numbers.range(1, 4000)[_]; y := numbers.range(1, 4000)[_]; x == y])\n        n > 0\n        msg := sprintf(\"%v\", [n])\n      }\n";
    let limits = Limits {
        time: Duration::from_millis(50),
        ..Limits::default()
    };
    let set = PolicySet::from_text("slow.yaml", &template("k8sslow", "K8sSlow", body), limits).unwrap();
    let started = std::time::Instant::now();
    let evaluation = set.evaluate(&pod(1), &Inventory::new());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the evaluation was stopped"
    );
    let error = evaluation.errors.first().expect("the policy fails");
    assert!(error.timed_out, "{error:?}");
    assert_eq!(error.policy, "K8sSlow/c");
}

#[test]
fn a_pod_with_many_containers_is_evaluated_in_full() {
    let body = "      violation[{\"msg\": msg}] {\n        c := input.review.object.spec.containers[_]\n        some i\n        parts := [p | p := split(c.name, \"\")[i]]\n        count(parts) > 0\n        not startswith(c.image, \"ghcr.io/\")\n        msg := sprintf(\"%v\", [c.name])\n      }\n";
    let set = PolicySet::from_text(
        "many.yaml",
        &template("k8smany", "K8sMany", body),
        Limits::default(),
    )
    .unwrap();
    let evaluation = set.evaluate(&pod(300), &Inventory::new());
    assert!(evaluation.errors.is_empty(), "{:?}", evaluation.errors);
    assert_eq!(evaluation.violations.len(), 300);
}
