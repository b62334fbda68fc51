//! Hot reload: a broken policy set is rejected and the active one stays; a good one replaces
//! it; a changed configuration file takes effect.

mod common;

use common::*;
use moat_admission::{certs, Config};
use std::time::Duration;

const BROKEN: &str = "\
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: broken}
spec:
  rule: no-such-rule
";

const BASELINE: &str = "\
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: baseline}
spec:
  rule: pod-security
  parameters: {level: baseline, version: latest}
";

async fn allowed(server: &TestServer, uid: &str, pod: serde_json::Value) -> bool {
    let response = server.admit("/validate", &review(uid, "apps", pod)).await;
    response["allowed"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_set_is_rejected_and_a_good_one_takes_effect() {
    let server = start(|config| config.reload_interval = Duration::from_millis(50)).await;
    assert!(!allowed(&server, "before-plain", plain_pod()).await);

    replace_file(&server.policy_file, BROKEN);
    let failures = "moat_admission_reloads_total{result=\"failure\"}";
    wait_until("the broken set to be rejected", || async {
        server.metric(failures).await >= 1.0
    })
    .await;
    assert!(
        !allowed(&server, "broken-plain", plain_pod()).await,
        "the restricted set stays"
    );
    assert!(!allowed(&server, "broken-privileged", privileged_pod()).await);
    let (status, _) = server.get_text("/readyz").await;
    assert_eq!(status, 200, "still ready on the old set");

    replace_file(&server.policy_file, BASELINE);
    let successes = "moat_admission_reloads_total{result=\"success\"}";
    wait_until("the baseline set to load", || async {
        server.metric(successes).await >= 1.0
    })
    .await;
    assert!(
        allowed(&server, "after-plain", plain_pod()).await,
        "baseline allows it"
    );
    assert!(!allowed(&server, "after-privileged", privileged_pod()).await);
    assert_eq!(server.metric("moat_admission_policies_loaded").await, 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_configuration_file_takes_effect_and_a_broken_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let paths = certs::generate(&dir.path().join("certs"), "moat-admission", "moat-test", &[]).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    let policy_file = dir.path().join("policies/policies.yaml");
    std::fs::write(&policy_file, POLICIES).unwrap();
    let config_file = dir.path().join("admission.yaml");
    let config_text = |mode: &str| {
        format!(
            "tls: {{certFile: certs/tls.crt, keyFile: certs/tls.key}}\n\
             policies: [policies]\ndecisionLog: decisions.log\nreloadInterval: 50ms\nmode: {mode}\n"
        )
    };
    std::fs::write(&config_file, config_text("enforce")).unwrap();
    let config = Config::load(&config_file).unwrap();
    let decision_log = dir.path().join("decisions.log");
    let server = launch(config, dir, &paths.ca_cert, policy_file, decision_log).await;
    assert!(!allowed(&server, "enforced", privileged_pod()).await);

    replace_file(
        &config_file,
        "tls: {certFile: certs/tls.crt, keyFile: certs/tls.key}\nmode: loud\n",
    );
    let failures = "moat_admission_reloads_total{result=\"failure\"}";
    wait_until("the broken configuration to be rejected", || async {
        server.metric(failures).await >= 1.0
    })
    .await;
    assert!(!allowed(&server, "still-enforced", privileged_pod()).await);

    replace_file(&config_file, &config_text("audit"));
    let successes = "moat_admission_reloads_total{result=\"success\"}";
    wait_until("the audit configuration to load", || async {
        server.metric(successes).await >= 1.0
    })
    .await;
    let response = server
        .admit("/validate", &review("audited", "apps", privileged_pod()))
        .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(!response["warnings"].as_array().unwrap().is_empty());
    server.stop().await;
}
