//! ValidatingAdmissionPolicy and Gatekeeper K8sNativeValidation, end to end: policies and
//! bindings as YAML, reviews of objects and admission requests, params from the inventory.

use moat_policy::cel::{evaluate, GatekeeperCel, PolicyBinding, ValidatingPolicy};
use moat_policy::matching::Match;
use moat_policy::{Action, EvalError, Inventory, Limits, PolicyError, Review, Violation};
use serde_json::{json, Value};
use std::time::Duration;

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap_or_else(|err| panic!("bad YAML in the test: {err}"))
}

fn policy(text: &str) -> ValidatingPolicy {
    ValidatingPolicy::from_object(&yaml(text), "policy.yaml", 1, &Limits::default())
        .unwrap_or_else(|err| panic!("{err}"))
}

fn policy_error(text: &str, limits: &Limits) -> PolicyError {
    ValidatingPolicy::from_object(&yaml(text), "policy.yaml", 7, limits)
        .expect_err("the policy should be refused")
}

fn binding(text: &str) -> PolicyBinding {
    PolicyBinding::from_object(&yaml(text), "binding.yaml", 1).unwrap_or_else(|err| panic!("{err}"))
}

fn deployment(namespace: &str, replicas: i64) -> Review {
    Review::from_object(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [
            {"name": "app", "image": "registry.example.com/app:1"},
            {"name": "sidecar", "image": "docker.io/proxy:2"}
        ]}}}
    }))
    .unwrap()
}

fn namespace(name: &str, environment: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"environment": environment}}})
}

fn run(
    policy: &ValidatingPolicy,
    binding: &PolicyBinding,
    review: &Review,
    inventory: &Inventory,
) -> Result<Vec<Violation>, EvalError> {
    evaluate(policy, binding, review, inventory, &Limits::default())
}

// The replica limit example of the Kubernetes documentation, with params from a custom resource.
const REPLICA_LIMIT: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replicalimit-policy.example.com
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: rules.example.com/v1
    kind: ReplicaLimit
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= params.maxReplicas"
      reason: Invalid
"#;

const REPLICA_LIMIT_BINDING: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replicalimit-binding-test.example.com
spec:
  policyName: replicalimit-policy.example.com
  validationActions: [Deny]
  paramRef:
    name: replica-limit-test.example.com
    namespace: default
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
"#;

fn replica_limit(name: &str, namespace: &str, max: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "maxReplicas": max
    })
}

fn test_cluster() -> Inventory {
    Inventory::from_objects([
        namespace("default", "test"),
        namespace("prod", "production"),
        replica_limit("replica-limit-test.example.com", "default", 3, json!({})),
    ])
}

#[test]
fn the_replica_limit_example_denies_too_many_replicas() {
    let (policy, binding, inventory) = (
        policy(REPLICA_LIMIT),
        binding(REPLICA_LIMIT_BINDING),
        test_cluster(),
    );
    assert_eq!(
        policy.param_kind(),
        Some(("rules.example.com/v1", "ReplicaLimit"))
    );
    assert_eq!(binding.policy_name(), policy.name());
    let violations = run(&policy, &binding, &deployment("default", 5), &inventory).unwrap();
    assert_eq!(violations.len(), 1);
    let violation = &violations[0];
    assert_eq!(
        violation.policy,
        "replicalimit-policy.example.com/replicalimit-binding-test.example.com"
    );
    assert_eq!(
        (violation.engine.as_str(), violation.action),
        ("cel", Action::Deny)
    );
    assert_eq!(
        violation.message,
        "failed expression: object.spec.replicas <= params.maxReplicas"
    );
    let details = violation.details.as_ref().unwrap();
    assert_eq!(
        (details["reason"].as_str(), details["param"].as_str()),
        (Some("Invalid"), Some("default/replica-limit-test.example.com"))
    );
    assert!(run(&policy, &binding, &deployment("default", 3), &inventory)
        .unwrap()
        .is_empty());
}

#[test]
fn the_binding_namespace_selector_and_the_policy_rules_narrow_the_match() {
    let (policy, binding, inventory) = (
        policy(REPLICA_LIMIT),
        binding(REPLICA_LIMIT_BINDING),
        test_cluster(),
    );
    assert!(run(&policy, &binding, &deployment("prod", 50), &inventory)
        .unwrap()
        .is_empty());
    let pod = Review::from_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"replicas": 50}}),
    )
    .unwrap();
    assert!(run(&policy, &binding, &pod, &inventory).unwrap().is_empty());
    let other = binding_for("someone-else", "[Deny]", "");
    assert!(run(&policy, &other, &deployment("default", 50), &inventory)
        .unwrap()
        .is_empty());
}

fn binding_for(policy_name: &str, actions: &str, extra: &str) -> PolicyBinding {
    binding(&format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: b\nspec:\n  policyName: {policy_name}\n  validationActions: {actions}\n{extra}"
    ))
}

const CONFIGMAP_POLICY: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"]}
  matchConditions:
  - name: exclude-nodes
    expression: '!("system:nodes" in request.userInfo.groups)'
  - name: not-the-release-bot
    expression: "request.userInfo.username != 'release-bot'"
  validations:
  - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
    message: "too many replicas"
    messageExpression: "'replicas must be at most ' + params.data.maxReplicas + ', not ' + string(object.spec.replicas)"
"#;

fn configmap(name: &str, namespace: &str, max: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": {"maxReplicas": max}})
}

fn request_by(user: &str, groups: &[&str], namespace: &str, replicas: i64) -> Review {
    Review::from_admission_request(&json!({
        "uid": "1234", "operation": "CREATE", "name": "web", "namespace": namespace,
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "userInfo": {"username": user, "groups": groups},
        "object": deployment(namespace, replicas).object
    }))
    .unwrap()
}

#[test]
fn match_conditions_exclude_a_user_and_message_expressions_explain() {
    let policy = policy(CONFIGMAP_POLICY);
    let binding = binding_for(
        "max-replicas",
        "[Deny]",
        "  paramRef: {name: limits, parameterNotFoundAction: Deny}\n",
    );
    let inventory = Inventory::from_objects([configmap("limits", "default", "4", json!({}))]);
    let violations = run(
        &policy,
        &binding,
        &request_by("alice", &["dev"], "default", 6),
        &inventory,
    )
    .unwrap();
    let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(messages, ["replicas must be at most 4, not 6"]);
    assert!(run(
        &policy,
        &binding,
        &request_by("release-bot", &["dev"], "default", 6),
        &inventory
    )
    .unwrap()
    .is_empty());
    assert!(run(
        &policy,
        &binding,
        &request_by("node-1", &["system:nodes"], "default", 6),
        &inventory
    )
    .unwrap()
    .is_empty());
}

#[test]
fn validation_actions_set_the_action() {
    let policy = policy(CONFIGMAP_POLICY);
    let inventory = Inventory::from_objects([configmap("limits", "default", "1", json!({}))]);
    let param_ref = "  paramRef: {name: limits}\n";
    let action = |actions: &str| {
        let violations = run(
            &policy,
            &binding_for("max-replicas", actions, param_ref),
            &deployment("default", 2),
            &inventory,
        )
        .unwrap();
        assert_eq!(
            violations.len(),
            1,
            "one violation per failed validation with {actions}"
        );
        violations[0].action
    };
    assert_eq!(action("[Warn]"), Action::Warn);
    assert_eq!(action("[Deny]"), Action::Deny);
    assert_eq!(action("[Audit]"), Action::Audit);
    assert_eq!(action("[Audit, Deny]"), Action::Deny);
    assert_eq!(action("[Warn, Audit]"), Action::Warn);
}

#[test]
fn a_param_selector_evaluates_once_per_params_object() {
    let policy = policy(CONFIGMAP_POLICY);
    let selector =
        "  paramRef:\n    selector: {matchLabels: {policy: replicas}}\n    parameterNotFoundAction: Deny\n";
    let binding = binding_for("max-replicas", "[Deny]", selector);
    let labels = json!({"policy": "replicas"});
    let inventory = Inventory::from_objects([
        configmap("strict", "default", "3", labels.clone()),
        configmap("loose", "default", "10", labels.clone()),
        configmap("unrelated", "default", "1", json!({})),
        configmap("elsewhere", "prod", "1", labels),
    ]);
    let params_of = |replicas: i64| -> Vec<String> {
        let violations = run(&policy, &binding, &deployment("default", replicas), &inventory).unwrap();
        violations
            .iter()
            .map(|v| v.details.as_ref().unwrap()["param"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(params_of(2).is_empty());
    assert_eq!(params_of(5), ["default/strict"]);
    assert_eq!(params_of(12), ["default/strict", "default/loose"]);
}

#[test]
fn parameter_not_found_action_allows_or_denies() {
    let policy = policy(CONFIGMAP_POLICY);
    let inventory = Inventory::from_objects([configmap("limits", "other", "1", json!({}))]);
    let review = deployment("default", 20);
    let deny = binding_for(
        "max-replicas",
        "[Deny]",
        "  paramRef: {name: limits, parameterNotFoundAction: Deny}\n",
    );
    let violations = run(&policy, &deny, &review, &inventory).unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].action, Action::Deny);
    assert!(
        violations[0].message.contains("no params found"),
        "{}",
        violations[0].message
    );
    let allow = binding_for(
        "max-replicas",
        "[Deny]",
        "  paramRef: {name: limits, parameterNotFoundAction: Allow}\n",
    );
    assert!(run(&policy, &allow, &review, &inventory).unwrap().is_empty());
    // With an explicit namespace the params are found there.
    let there = binding_for(
        "max-replicas",
        "[Deny]",
        "  paramRef: {name: limits, namespace: other}\n",
    );
    assert_eq!(
        run(&policy, &there, &review, &inventory).unwrap()[0].message,
        "replicas must be at most 1, not 20"
    );
    // A policy with a paramKind and a binding without a paramRef is misconfigured: failurePolicy Fail.
    let missing = binding_for("max-replicas", "[Deny]", "");
    let error = run(&policy, &missing, &review, &inventory).unwrap_err();
    assert!(
        error.message.contains("no paramRef") && !error.timed_out,
        "{error}"
    );
}

const IMAGE_POLICY: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: trusted-images
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: ["apps"], apiVersions: ["*"], operations: ["*"], resources: ["deployments", "statefulsets"]}
  variables:
  - name: containers
    expression: "object.spec.template.spec.containers"
  - name: untrusted
    expression: "variables.containers.filter(c, !c.image.startsWith('registry.example.com/'))"
  validations:
  - expression: "size(variables.untrusted) == 0"
    messageExpression: "'images must come from registry.example.com: ' + variables.untrusted.map(c, c.name).join(', ')"
  - expression: "namespaceObject == null || namespaceObject.metadata.labels.environment != 'production' || object.spec.replicas >= 2"
    message: "production needs at least two replicas"
  auditAnnotations:
  - key: untrusted-count
    valueExpression: "string(size(variables.untrusted))"
"#;

#[test]
fn variables_and_namespace_object_feed_validations() {
    let policy = policy(IMAGE_POLICY);
    let binding = binding_for("trusted-images", "[Deny]", "");
    let inventory =
        Inventory::from_objects([namespace("prod", "production"), namespace("dev", "development")]);
    let violations = run(&policy, &binding, &deployment("prod", 1), &inventory).unwrap();
    let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "images must come from registry.example.com: sidecar",
            "production needs at least two replicas"
        ]
    );
    assert_eq!(
        violations[0].details.as_ref().unwrap()["auditAnnotations"]["untrusted-count"],
        "1"
    );
    assert_eq!(
        run(&policy, &binding, &deployment("dev", 1), &inventory)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn delete_requests_see_the_old_object() {
    let policy = policy(
        r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: protect}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["configmaps"]}]
  validations:
  - expression: "object == null && oldObject.metadata.?labels.?protected.orValue('') != 'true'"
    message: "protected"
"#,
    );
    let binding = binding_for("protect", "[Deny]", "");
    let delete = |labels: Value| {
        Review::from_admission_request(&json!({
            "operation": "DELETE", "name": "cm", "namespace": "default",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "oldObject": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": labels}}
        }))
        .unwrap()
    };
    let inventory = Inventory::new();
    assert_eq!(
        run(
            &policy,
            &binding,
            &delete(json!({"protected": "true"})),
            &inventory
        )
        .unwrap()
        .len(),
        1
    );
    assert!(run(&policy, &binding, &delete(json!({"app": "x"})), &inventory)
        .unwrap()
        .is_empty());
    let create =
        Review::from_object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}))
            .unwrap();
    assert!(
        run(&policy, &binding, &create, &inventory).unwrap().is_empty(),
        "CREATE is not matched"
    );
}

fn policy_with(failure_policy: &str, validations: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: p\nspec:\n  failurePolicy: {failure_policy}\n  matchConstraints:\n    resourceRules: [{{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}}]\n  validations:\n{validations}"
    )
}

#[test]
fn runtime_errors_follow_the_failure_policy() {
    let validations = "  - expression: \"object.spec.strategy.type == 'Recreate'\"\n  - expression: \"object.spec.replicas < 3\"\n    message: too many\n";
    let binding = binding_for("p", "[Deny]", "");
    let review = deployment("default", 5);
    let inventory = Inventory::new();
    let fail = policy(&policy_with("Fail", validations));
    let error = run(&fail, &binding, &review, &inventory).unwrap_err();
    assert_eq!(error.policy, "p/b");
    assert!(
        error.message.starts_with("spec.validations[0].expression: "),
        "{error}"
    );
    assert!(error.message.contains("strategy"), "{error}");
    assert!(!error.timed_out);
    let ignore = policy(&policy_with("Ignore", validations));
    let messages: Vec<String> = run(&ignore, &binding, &review, &inventory)
        .unwrap()
        .into_iter()
        .map(|v| v.message)
        .collect();
    assert_eq!(
        messages,
        ["too many"],
        "the failing validation is skipped, the others still run"
    );
}

#[test]
fn authorizer_is_not_available() {
    let validations =
        "  - expression: \"authorizer.group('apps').resource('deployments').check('scale').allowed()\"\n";
    let error = run(
        &policy(&policy_with("Fail", validations)),
        &binding_for("p", "[Deny]", ""),
        &deployment("d", 1),
        &Inventory::new(),
    )
    .unwrap_err();
    assert!(error.message.contains("authorizer"), "{error}");
}

#[test]
fn compile_errors_name_the_field() {
    let limits = Limits::default();
    let error = policy_error(
        &policy_with(
            "Fail",
            "  - expression: \"true\"\n  - expression: \"object.spec.replicas >\"\n",
        ),
        &limits,
    );
    assert_eq!(
        (error.path.as_str(), error.line, error.policy.as_str()),
        ("policy.yaml", 7, "ValidatingAdmissionPolicy p")
    );
    assert!(
        error.message.starts_with("spec.validations[1].expression: "),
        "{error}"
    );
    let error = policy_error(
        &policy_with(
            "Fail",
            "  - expression: \"true\"\n    messageExpression: \"'a' + \"\n",
        ),
        &limits,
    );
    assert!(
        error
            .message
            .starts_with("spec.validations[0].messageExpression: "),
        "{error}"
    );
    let with_variable = IMAGE_POLICY.replace("variables.containers.filter", "variables.unknown.filter");
    let error = policy_error(&with_variable, &limits);
    assert!(
        error
            .message
            .starts_with("spec.variables[1].expression: variables.unknown is not defined"),
        "{error}"
    );
    let misspelt = policy_error(
        &policy_with("Fail", "  - expression: \"objet.spec.replicas > 1\"\n"),
        &limits,
    );
    assert!(
        misspelt.message.contains("undeclared reference to \"objet\""),
        "{misspelt}"
    );
    let with_condition = CONFIGMAP_POLICY.replace(
        "request.userInfo.username != 'release-bot'",
        "request.userInfo.username ==",
    );
    let error = policy_error(&with_condition, &limits);
    assert!(
        error.message.starts_with("spec.matchConditions[1].expression: "),
        "{error}"
    );
}

#[test]
fn too_long_an_expression_is_refused() {
    let limits = Limits {
        max_source_bytes: 40,
        ..Limits::default()
    };
    let expression = ["object.spec.replicas > 0"; 3].join(" && ");
    let error = policy_error(
        &policy_with("Fail", &format!("  - expression: \"{expression}\"\n")),
        &limits,
    );
    let expected = format!(
        "spec.validations[0].expression: the expression is {} bytes long",
        expression.len()
    );
    assert!(error.message.starts_with(&expected), "{error}");
    assert!(ValidatingPolicy::from_object(
        &yaml(&policy_with("Fail", "  - expression: \"true\"\n")),
        "p",
        1,
        &limits
    )
    .is_ok());
}

#[test]
fn a_hostile_expression_stops_at_the_time_limit() {
    let ten = "[0,1,2,3,4,5,6,7,8,9]";
    let mut expression = "a0 >= 0".to_string();
    for depth in 0..9 {
        expression = format!("{ten}.all(a{depth}, {expression})");
    }
    let policy = policy(&policy_with(
        "Fail",
        &format!("  - expression: \"{expression}\"\n"),
    ));
    let limits = Limits {
        time: Duration::from_millis(20),
        ..Limits::default()
    };
    let error = evaluate(
        &policy,
        &binding_for("p", "[Deny]", ""),
        &deployment("d", 1),
        &Inventory::new(),
        &limits,
    )
    .unwrap_err();
    assert!(error.timed_out, "{error}");
}

/// Gatekeeper's `requiredlabels` template carries K8sNativeValidation code; its conformance
/// suite's cases must give the expected violations.
#[test]
fn gatekeeper_requiredlabels_suite() {
    let Some(shared) = moat_testkit::shared::shared_dir() else {
        return;
    };
    let folder = shared.join("conformance/gatekeeper/general/requiredlabels");
    let read = |relative: &str| -> Value {
        let path = moat_testkit::shared::shared_file(&folder, relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        yaml(&text)
    };
    let suite = read("suite.yaml");
    let mut cases = 0;
    for test in suite["tests"].as_array().expect("suite.yaml has tests") {
        let template = read(test["template"].as_str().unwrap());
        let cel = native_validation(&template);
        let constraint = read(test["constraint"].as_str().unwrap());
        let matcher = Match::parse(constraint.pointer("/spec/match")).unwrap();
        let parameters = constraint
            .pointer("/spec/parameters")
            .cloned()
            .unwrap_or(Value::Null);
        for case in test["cases"].as_array().unwrap() {
            let object = read(case["object"].as_str().unwrap());
            let review = Review::from_object(object).unwrap();
            let inventory = Inventory::new();
            let found = if matcher.matches(&review, &inventory) {
                cel.evaluate(&review, &parameters, &inventory, &Limits::default())
                    .unwrap()
            } else {
                Vec::new()
            };
            for assertion in case["assertions"].as_array().unwrap() {
                check_count(
                    &assertion["violations"],
                    found.len(),
                    &format!("{} / {}", test["name"], case["name"]),
                );
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 5, "the suite's cases were all run");
}

fn native_validation(template: &Value) -> GatekeeperCel {
    let name = template
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap();
    let source = template["spec"]["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|target| target["code"].as_array().into_iter().flatten())
        .find(|code| code["engine"] == "K8sNativeValidation")
        .map(|code| &code["source"])
        .expect("the template has K8sNativeValidation code");
    GatekeeperCel::from_source(source, name, &Limits::default()).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// Gatekeeper's `violations:` assertion: yes (at least one), no (none) or a count.
fn check_count(expected: &Value, found: usize, case: &str) {
    match expected {
        Value::String(s) if s == "yes" => assert!(found > 0, "{case}: expected violations, found none"),
        Value::Bool(true) => assert!(found > 0, "{case}: expected violations, found none"),
        Value::String(s) if s == "no" => assert_eq!(found, 0, "{case}: expected no violations"),
        Value::Bool(false) => assert_eq!(found, 0, "{case}: expected no violations"),
        Value::Number(n) => assert_eq!(Some(found as u64), n.as_u64(), "{case}"),
        other => panic!("{case}: unknown assertion {other}"),
    }
}

#[test]
fn gatekeeper_messages_come_from_the_template() {
    let source = json!({
        "variables": [{"name": "missing", "expression": "variables.params.labels.filter(l, !(l in variables.anyObject.metadata.?labels.orValue({})))"}],
        "validations": [{"expression": "size(variables.missing) == 0", "messageExpression": "'missing: ' + variables.missing.join(', ')"}]
    });
    let cel = GatekeeperCel::from_source(&source, "k8srequired", &Limits::default()).unwrap();
    let review = Review::from_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}}),
    )
    .unwrap();
    let found = cel
        .evaluate(
            &review,
            &json!({"labels": ["a", "b", "c"]}),
            &Inventory::new(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(found, vec![("missing: b, c".to_string(), None)]);
    let error = GatekeeperCel::from_source(
        &json!({"validations": [{"expression": "1 +"}]}),
        "t",
        &Limits::default(),
    )
    .unwrap_err();
    assert!(error.starts_with("source.validations[0].expression: "), "{error}");
}

/// Compiles only if loaded policies can be shared by the webhook's threads.
#[test]
fn policies_are_shareable_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ValidatingPolicy>();
    shareable::<PolicyBinding>();
    shareable::<GatekeeperCel>();
}
