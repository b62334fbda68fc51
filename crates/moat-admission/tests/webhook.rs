//! The webhook over real HTTPS: validation, mutation, errors, modes, exemptions, the decision
//! log and metrics.

mod common;

use base64::Engine as _;
use common::*;
use moat_admission::{FailurePolicy, Mode, NamePattern};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privileged_pod_is_denied_with_the_policy_and_its_message() {
    let server = start(|_| {}).await;
    let response = server
        .admit("/validate", &review("uid-privileged", "apps", privileged_pod()))
        .await;
    assert_eq!(response["uid"], "uid-privileged");
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("[moat:restricted]"), "{message}");
    assert!(message.to_lowercase().contains("privileged"), "{message}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliant_pod_is_allowed() {
    let server = start(|_| {}).await;
    let response = server
        .admit("/validate", &review("uid-ok", "apps", restricted_pod()))
        .await;
    assert_eq!(response["uid"], "uid-ok");
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("status").is_none(), "{response}");
    assert!(response.get("patch").is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_judged_by_its_pod_template() {
    let server = start(|_| {}).await;
    let response = server
        .admit(
            "/validate",
            &review("uid-deploy", "apps", privileged_deployment()),
        )
        .await;
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("[moat:restricted]"), "{message}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_returns_a_json_patch_that_applies_to_the_pod() {
    let server = start(|_| {}).await;
    let pod = plain_pod();
    let response = server
        .admit("/mutate", &review("uid-mutate", "apps", pod.clone()))
        .await;
    assert_eq!(response["uid"], "uid-mutate");
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let operations: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
    assert!(!operations.0.is_empty());
    let mut patched = pod.clone();
    json_patch::patch(&mut patched, &operations).unwrap();
    assert_ne!(patched, pod);
    assert!(
        patched.pointer("/spec/securityContext").is_some()
            || patched.pointer("/spec/containers/0/securityContext").is_some(),
        "{patched}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutation_switched_off_allows_without_a_patch() {
    let server = start(|config| config.mutation = false).await;
    let response = server
        .admit("/mutate", &review("uid-nomut", "apps", plain_pod()))
        .await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none(), "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_requests_get_http_errors() {
    let server = start(|config| config.max_request_bytes = 64 * 1024).await;
    let post = |body: String, content_type: &'static str| {
        server
            .client
            .post(server.url("/validate"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = post("{\"apiVersion\": ".into(), "application/json")
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert!(malformed.text().await.unwrap().contains("not JSON"));
    let no_request = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
    let missing = post(no_request.to_string(), "application/json").await.unwrap();
    assert_eq!(missing.status(), 400);
    assert!(missing.text().await.unwrap().contains("request"));
    let mut big = review("uid-big", "apps", restricted_pod());
    big["request"]["object"]["metadata"]["annotations"] = json!({"filler": "x".repeat(100 * 1024)});
    let too_large = post(big.to_string(), "application/json").await.unwrap();
    assert_eq!(too_large.status(), 413);
    let wrong_type = post(review("u", "apps", restricted_pod()).to_string(), "text/plain")
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(
        server
            .metric("moat_admission_errors_total{kind=\"bad_request\"}")
            .await,
        2.0
    );
    assert_eq!(
        server
            .metric("moat_admission_errors_total{kind=\"too_large\"}")
            .await,
        1.0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_mode_allows_and_warns() {
    let server = start(|config| config.mode = Mode::Audit).await;
    let response = server
        .admit("/validate", &review("uid-audit", "apps", privileged_pod()))
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let warnings = response["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty());
    assert!(
        warnings
            .iter()
            .all(|w| w.as_str().unwrap().contains("[moat:restricted]")),
        "{warnings:?}"
    );
    let lines = server.decision_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["mode"], "audit");
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["wouldDeny"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exempt_namespaces_and_groups_are_allowed_unevaluated() {
    let server = start(|config| {
        config.exemptions.namespaces = vec![NamePattern::parse("*-system").unwrap()];
        config.exemptions.groups = vec![NamePattern::parse("break-glass").unwrap()];
    })
    .await;
    let response = server
        .admit(
            "/validate",
            &review("uid-exempt", "infra-system", privileged_pod()),
        )
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let mut by_group = review("uid-group", "apps", privileged_pod());
    by_group["request"]["userInfo"]["groups"] = json!(["break-glass"]);
    assert_eq!(server.admit("/validate", &by_group).await["allowed"], true);
    let not_exempt = server
        .admit("/validate", &review("uid-apps", "apps", privileged_pod()))
        .await;
    assert_eq!(not_exempt["allowed"], false);
    let lines = server.decision_lines();
    let decisions: Vec<&str> = lines.iter().map(|l| l["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["exempt", "exempt", "deny"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_one_decision_line_and_counted() {
    let server = start(|_| {}).await;
    let reviews = [
        ("/validate", review("uid-1", "apps", privileged_pod())),
        ("/validate", review("uid-2", "apps", restricted_pod())),
        ("/mutate", review("uid-3", "apps", plain_pod())),
    ];
    let answers = futures_join(&server, &reviews).await;
    assert_eq!(answers.len(), 3);
    let _ = server
        .client
        .post(server.url("/validate"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    let mut lines = server.decision_lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    lines.sort_by_key(|line| line["uid"].as_str().unwrap_or("").to_string());
    let summary: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["uid"].as_str().unwrap().into(),
                l["decision"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("", "error"),
        ("uid-1", "deny"),
        ("uid-2", "allow"),
        ("uid-3", "allow"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(u, d)| (u.to_string(), d.to_string()))
        .collect();
    assert_eq!(summary, expected);
    let denied = &lines[1];
    assert_eq!(denied["user"], "alice");
    assert_eq!(denied["kind"], "Pod");
    assert_eq!(denied["resource"], "pods");
    assert_eq!(denied["operation"], "CREATE");
    assert_eq!(denied["namespace"], "apps");
    assert_eq!(denied["policies"][0]["policy"], "moat:restricted");
    assert_eq!(denied["policies"][0]["action"], "deny");
    assert!(denied["latency_us"].as_u64().is_some());
    assert!(lines[3]["patches"].as_u64().unwrap() > 0, "{}", lines[3]);
    let deny = "moat_admission_decisions_total{decision=\"deny\",endpoint=\"validate\"}";
    let allow = "moat_admission_decisions_total{decision=\"allow\",endpoint=\"validate\"}";
    let mutate = "moat_admission_decisions_total{decision=\"allow\",endpoint=\"mutate\"}";
    assert_eq!(server.metric(deny).await, 1.0);
    assert_eq!(server.metric(allow).await, 1.0);
    assert_eq!(server.metric(mutate).await, 1.0);
    assert_eq!(server.metric("moat_admission_policies_loaded").await, 2.0);
    let (_, text) = server.get_text("/metrics").await;
    assert!(
        text.contains("moat_admission_request_duration_seconds_bucket"),
        "{text}"
    );
    server.stop().await;
}

/// Sends the reviews concurrently and returns the responses in order.
async fn futures_join(server: &TestServer, reviews: &[(&str, Value)]) -> Vec<Value> {
    let mut tasks = Vec::new();
    for (path, review) in reviews {
        let request = server
            .client
            .post(server.url(path))
            .header("content-type", "application/json")
            .body(review.to_string())
            .send();
        tasks.push(tokio::spawn(
            async move { json_body(request.await.unwrap()).await },
        ));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap()["response"].clone());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let server = start(|_| {}).await;
    assert_eq!(server.get_text("/healthz").await.0, 200);
    let (status, text) = server.get_text("/readyz").await;
    assert_eq!(status, 200);
    assert!(text.contains("built-in"), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_policy_follows_the_failure_policy() {
    // A Gatekeeper template whose Rego cannot finish within the per-policy time limit, with
    // its constraint.
    let failing = "\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sslow}
spec:
  crd: {spec: {names: {kind: K8sSlow}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sslow
      violation[{\"msg\": \"never\"}] {
        count([x | x := numbers.range(1, 5000)[_]; y := numbers.range(1, 5000)[_]; x == y]) < 0
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSlow
metadata: {name: conflicting}
";
    let short =
        |config: &mut moat_admission::Config| config.policy_timeout = std::time::Duration::from_millis(30);
    let fail = start_with(failing, |config| {
        short(config);
        config.failure_policy = FailurePolicy::Fail;
    })
    .await;
    let response = fail
        .admit("/validate", &review("uid-f", "apps", restricted_pod()))
        .await;
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("conflicting"), "{message}");
    assert!(message.contains("failurePolicy Fail"), "{message}");
    fail.stop().await;
    let ignore = start_with(failing, |config| {
        short(config);
        config.failure_policy = FailurePolicy::Ignore;
    })
    .await;
    let response = ignore
        .admit("/validate", &review("uid-i", "apps", restricted_pod()))
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("conflicting") && warning.contains("failurePolicy Ignore"),
        "{warning}"
    );
    assert_eq!(ignore.decision_lines()[0]["decision"], "error");
    ignore.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_applies_the_failure_policy() {
    // Far more work than a one-millisecond request timeout allows; the per-policy limit ends
    // the abandoned evaluation soon after.
    let slow = "\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sslow}
spec:
  crd: {spec: {names: {kind: K8sSlow}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sslow
      violation[{\"msg\": \"counted\"}] { count([x | x := numbers.range(1, 3000000)[_]]) < 0 }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSlow
metadata: {name: slow}
";
    let server = start_with(slow, |config| {
        config.request_timeout = std::time::Duration::from_millis(1);
        config.policy_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let response = server
        .admit("/validate", &review("uid-slow", "apps", restricted_pod()))
        .await;
    assert_eq!(response["allowed"], false, "{response}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("request timeout"), "{message}");
    assert_eq!(
        server
            .metric("moat_admission_errors_total{kind=\"timeout\"}")
            .await,
        1.0
    );
    let line = &server.decision_lines()[0];
    assert_eq!(line["decision"], "error");
    assert_eq!(line["errors"][0]["timed_out"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_policies_do_not_load_stops_with_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let paths = moat_admission::certs::generate(dir.path(), "moat-admission", "t", &[]).unwrap();
    let policy_file = dir.path().join("bad.yaml");
    std::fs::write(
        &policy_file,
        "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: bad}\nspec: {rule: nope}\n",
    )
    .unwrap();
    let mut config = moat_admission::Config::new(moat_admission::TlsFiles {
        cert_file: paths.cert,
        key_file: paths.key,
    });
    config.policies = vec![policy_file];
    let options = moat_admission::ServeOptions {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let server = moat_admission::Server::bind(config, options).await.unwrap();
    let handle = server.handle();
    let running = tokio::spawn(server.run());
    assert!(!handle.ready().await);
    let err = running.await.unwrap().unwrap_err().to_string();
    assert!(
        err.contains("bad.yaml") && err.contains("MoatPolicy bad"),
        "{err}"
    );
}

/// The registry, as far as this test goes: one tag and its digest.
struct OneTag;

impl moat_policy::builtin::DigestResolver for OneTag {
    fn resolve(&self, image: &str) -> Result<String, String> {
        match image {
            "registry.example/app:3" => Ok(format!("sha256:{}", "ab".repeat(32))),
            other => Err(format!("{other}: manifest unknown")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_resolver_given_to_the_server_pins_images() {
    let policies = "\
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: pin}
spec: {rule: resolve-digests}
";
    let resolver: std::sync::Arc<dyn moat_policy::builtin::DigestResolver> = std::sync::Arc::new(OneTag);
    let server = start_resolving(policies, |_| {}, Some(resolver)).await;
    let pod = plain_pod();
    let response = server
        .admit("/mutate", &review("uid-pin", "apps", pod.clone()))
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let operations: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
    let mut patched = pod;
    json_patch::patch(&mut patched, &operations).unwrap();
    let expected = format!("registry.example/app:3@sha256:{}", "ab".repeat(32));
    assert_eq!(patched["spec"]["containers"][0]["image"], expected.as_str());
    server.stop().await;
}
