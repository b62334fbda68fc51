//! Moat's built-in policies, loaded from `MoatPolicy` YAML the way users write them.

use moat_policy::{Action, Inventory, Limits, PolicySet, Review};
use serde_json::{json, Value};

fn policies(yaml: &str) -> PolicySet {
    PolicySet::from_text("policies.yaml", yaml, Limits::default()).expect("the policies load")
}

fn review(object: Value) -> Review {
    Review::from_object(object).expect("a reviewable object")
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps", "labels": {"app": "web"}},
           "spec": {"containers": containers}})
}

const RESTRICTED: &str = "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: restricted}\nspec:\n  rule: pod-security\n  parameters: {level: restricted, version: latest}\n";

#[test]
fn restricted_pod_security_denies_a_privileged_pod_and_allows_a_hardened_one() {
    let set = policies(RESTRICTED);
    let privileged =
        pod(json!([{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": true}}]));
    let evaluation = set.evaluate(&review(privileged), &Inventory::new());
    assert!(evaluation.denied());
    let privileged_check = evaluation
        .violations
        .iter()
        .find(|v| v.message.contains("privileged"))
        .expect("the privileged check fails");
    assert!(privileged_check
        .message
        .starts_with("violates PodSecurity \"restricted:latest\""));
    assert_eq!(
        privileged_check.pointer.as_deref(),
        Some("/spec/containers/0/securityContext/privileged")
    );
    assert_eq!(privileged_check.policy, "moat:restricted");

    let hardened = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "apps"},
        "spec": {"template": {"metadata": {}, "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}}}});
    let evaluation = set.evaluate(&review(hardened), &Inventory::new());
    assert!(evaluation.violations.is_empty(), "{:?}", evaluation.violations);
}

#[test]
fn a_deployment_is_judged_by_its_pod_template() {
    let set = policies(RESTRICTED);
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x"}]}}}});
    let evaluation = set.evaluate(&review(deployment), &Inventory::new());
    let host = evaluation
        .violations
        .iter()
        .find(|v| v.message.contains("host namespaces"))
        .expect("hostNetwork is refused");
    assert_eq!(host.pointer.as_deref(), Some("/spec/template/spec/hostNetwork"));
}

#[test]
fn image_rules_check_every_container_list() {
    let set = policies(
        "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: registries}\nspec:\n  rule: allowed-registries\n  parameters: {registries: [ghcr.io/acme, registry.internal:5000]}\n---\n\
         apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: digests}\nspec: {rule: image-digest, enforcementAction: warn}\n---\n\
         apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: no-latest}\nspec: {rule: disallow-latest}\n",
    );
    let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [
            {"name": "ok", "image": "ghcr.io/acme/api:1.2@sha256:0123"},
            {"name": "internal", "image": "registry.internal:5000/tools:3"},
            {"name": "evil", "image": "ghcr.io/acme-evil/api:1"}]}});
    let evaluation = set.evaluate(&review(object), &Inventory::new());
    let by = |policy: &str| -> Vec<String> {
        evaluation
            .violations
            .iter()
            .filter(|v| v.policy == policy)
            .map(|v| v.message.clone())
            .collect()
    };
    let registries = by("moat:registries");
    assert_eq!(registries.len(), 2, "{registries:?}");
    assert!(registries.iter().any(|m| m.contains("initContainer \"init\"")));
    assert!(
        registries.iter().any(|m| m.contains("acme-evil")),
        "a prefix is a path prefix, not a string prefix"
    );
    assert_eq!(by("moat:digests").len(), 3);
    assert!(evaluation
        .violations
        .iter()
        .filter(|v| v.policy == "moat:digests")
        .all(|v| v.action == Action::Warn));
    let latest = by("moat:no-latest");
    assert_eq!(latest.len(), 1, "only busybox has no tag: {latest:?}");
}

#[test]
fn labels_and_resources_are_required_where_matched() {
    let set = policies(
        "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: owner}\nspec:\n  rule: required-labels\n  parameters:\n    labels: [{key: owner, allowedRegex: '^team-'}, {key: app}]\n  match:\n    excludedNamespaces: [kube-*]\n---\n\
         apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: limits}\nspec:\n  rule: resource-limits\n  parameters: {limits: [memory], requests: [cpu]}\n",
    );
    let mut object = pod(json!([{"name": "a", "image": "x:1", "resources": {"limits": {"memory": "1Gi"}}}]));
    object["metadata"]["labels"]["owner"] = json!("bob");
    let evaluation = set.evaluate(&review(object.clone()), &Inventory::new());
    let messages: Vec<&str> = evaluation.violations.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "label owner=\"bob\" does not match \"^team-\"",
            "container \"a\" has no requests for cpu",
        ]
    );
    object["metadata"]["namespace"] = json!("kube-system");
    let evaluation = set.evaluate(&review(object), &Inventory::new());
    assert_eq!(evaluation.violations.len(), 1, "the label policy excludes kube-*");
}

#[test]
fn mutation_adds_restricted_defaults_that_then_pass() {
    let set = policies(&format!(
        "{RESTRICTED}---\napiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {{name: defaults}}\nspec: {{rule: default-security-context}}\n"
    ));
    let mut object = pod(json!([{"name": "a", "image": "x:1"}]));
    let mutation = set.mutate(&review(object.clone()), &Inventory::new());
    assert!(!mutation.patches.is_empty());
    for patch in &mutation.patches {
        assert_eq!(patch.op, "add");
        let (parent, key) = patch.path.rsplit_once('/').unwrap();
        object
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.to_string(), patch.value.clone().unwrap());
    }
    let evaluation = set.evaluate(&review(object), &Inventory::new());
    assert!(evaluation.violations.is_empty(), "{:?}", evaluation.violations);
}

#[test]
fn bad_policies_name_the_file_line_and_policy() {
    let errors = PolicySet::from_text(
        "bad.yaml",
        "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: a}\nspec: {rule: pod-security, parameters: {level: strict}}\n---\n\
         apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: b}\nspec: {rule: allowed-registries, parameters: {registry: [x]}}\n---\n\
         apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: c}\nspec: {rule: nonsense}\n",
        Limits::default(),
    )
    .unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("bad.yaml:1: MoatPolicy a: spec.parameters.level"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("bad.yaml:6: MoatPolicy b: spec.parameters: unknown field `registry`"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("unknown spec.rule \"nonsense\""),
        "{}",
        lines[2]
    );
}

#[test]
fn hostile_objects_are_refused_before_any_policy_runs() {
    let set = policies(RESTRICTED);
    let mut deep = json!("leaf");
    for _ in 0..200 {
        deep = json!({"a": deep});
    }
    let mut object = pod(json!([{"name": "a", "image": "x:1"}]));
    object["metadata"]["annotations"] = json!({"deep": deep.to_string()});
    object["spec"]["deep"] = deep;
    let evaluation = set.evaluate(&review(object), &Inventory::new());
    assert!(evaluation.violations.is_empty());
    assert!(
        evaluation.errors[0]
            .message
            .contains("nested deeper than the limit"),
        "{:?}",
        evaluation.errors
    );
}

#[test]
fn policy_directories_skip_hidden_entries_and_links_to_directories() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("..data")).unwrap();
    std::fs::write(policies.join("restricted.yaml"), RESTRICTED).unwrap();
    std::fs::write(policies.join("..data/restricted.yaml"), RESTRICTED).unwrap();
    std::os::unix::fs::symlink(&policies, policies.join("loop")).unwrap();
    let files = moat_policy::policy_files(std::slice::from_ref(&policies)).unwrap();
    assert_eq!(files, vec![policies.join("restricted.yaml")]);
    assert_eq!(
        PolicySet::load(&[policies], Limits::default())
            .unwrap()
            .summary()
            .builtins,
        1
    );
}
