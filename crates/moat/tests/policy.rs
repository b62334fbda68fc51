//! `moat policy eval` and `moat policy test`, run as a user would.

mod common;

use common::moat;
use moat_testkit::shared::{shared_dir, shared_file};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path.to_str().expect("utf-8").to_string()
}

const PRIVILEGED_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      privileged: true
";

#[test]
fn pss_violations_are_reported_at_their_line_and_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write(dir.path(), "pod.yaml", PRIVILEGED_POD);
    let output = moat(&["policy", "eval", "--pss", "baseline", "-q", &manifest]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{manifest}:11: DENY moat:pod-security-baseline (Pod shop/web): violates PodSecurity \"baseline:latest\": privileged")),
        "{stdout}"
    );
    let output = moat(&["policy", "eval", "--pss", "strict", "-q", &manifest]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--pss"));
}

#[test]
fn gatekeeper_templates_from_the_library_gate_manifests() {
    let Some(shared) = shared_dir() else { return };
    let template = shared_file(
        &shared,
        "conformance/gatekeeper/general/allowedrepos/template.yaml",
    );
    let dir = tempfile::tempdir().unwrap();
    let constraint = write(
        dir.path(),
        "constraint.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata: {name: only-acme}\nspec:\n  enforcementAction: warn\n  match: {kinds: [{apiGroups: [\"\"], kinds: [Pod]}]}\n  parameters: {repos: [\"ghcr.io/acme/\"]}\n",
    );
    let manifest = write(dir.path(), "pod.yaml", PRIVILEGED_POD);
    let output = moat(&[
        "policy",
        "eval",
        "-q",
        "-f",
        "json",
        "--policy",
        template.to_str().unwrap(),
        "--policy",
        &constraint,
        &manifest,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a warn constraint does not fail the run"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let violations = json["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{json}");
    assert_eq!(violations[0]["policy"], "K8sAllowedRepos/only-acme");
    assert_eq!(violations[0]["action"], "warn");
    assert_eq!(violations[0]["engine"], "rego");
    assert!(violations[0]["message"].as_str().unwrap().contains("nginx"));
}

#[test]
fn a_broken_policy_is_an_error_naming_file_line_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "broken.yaml",
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8sbroken}\nspec:\n  crd: {spec: {names: {kind: K8sBroken}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package k8sbroken\n      violation[{\"msg\": msg}] {\n        msg := no_such_function(input.review)\n      }\n",
    );
    let manifest = write(dir.path(), "pod.yaml", PRIVILEGED_POD);
    let output = moat(&["policy", "eval", "-q", "--policy", &policy, &manifest]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{policy}:1: ConstraintTemplate k8sbroken")),
        "{stderr}"
    );
    assert!(stderr.contains("no_such_function"), "{stderr}");
}

#[test]
fn the_scan_gate_denies_images_whose_report_has_high_findings() {
    let Some(shared) = shared_dir() else { return };
    let image = shared_file(&shared, "images/debian-app.tar");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("debian-app.json");
    let target = format!("docker-archive:{}", image.display());
    let scan = moat(&[
        "scan",
        &target,
        "--scanners",
        "secret,misconfig",
        "-q",
        "-f",
        "json",
        "-o",
        report.to_str().unwrap(),
        "--exit-code",
        "0",
    ]);
    assert!(scan.status.success(), "{}", String::from_utf8_lossy(&scan.stderr));
    let report_json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let image_name = report_json["source"]["name"]
        .as_str()
        .expect("the report names the image")
        .to_string();
    let policy = write(
        dir.path(),
        "gate.yaml",
        "apiVersion: policy.moat.dev/v1alpha1\nkind: MoatPolicy\nmetadata: {name: scan-gate}\nspec:\n  rule: scan-gate\n  parameters: {reports: [debian-app.json], severity: high}\n",
    );
    let manifest = write(
        dir.path(),
        "pod.yaml",
        &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: app}}\nspec:\n  containers:\n  - name: app\n    image: {image_name}\n  - name: other\n    image: ghcr.io/acme/unscanned:1\n"),
    );
    let output = moat(&["policy", "eval", "-q", "--policy", &policy, &manifest]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{manifest}:7: DENY moat:scan-gate")),
        "{stdout}"
    );
    assert!(
        stdout.contains("secret aws-access-token"),
        "the AWS key planted in debian-app blocks it: {stdout}"
    );
    assert!(
        !stdout.contains("unscanned"),
        "images without a report are allowed by default: {stdout}"
    );
}

#[test]
fn the_gatekeeper_library_suites_pass_through_the_cli() {
    let Some(shared) = shared_dir() else { return };
    let suites = shared.join("conformance/gatekeeper/general");
    let output = moat(&["policy", "test", suites.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("30 suites (0 failed); cases: 130 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn admission_certs_and_manifest_fit_together() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let output = moat(&[
        "admission",
        "certs",
        "--dir",
        certs.to_str().unwrap(),
        "--namespace",
        "guard",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ca = std::fs::read_to_string(certs.join("ca.crt")).unwrap();
    let output = moat(&[
        "admission",
        "manifest",
        "--certs",
        certs.to_str().unwrap(),
        "--namespace",
        "guard",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for kind in [
        "Deployment",
        "Service",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        assert!(text.contains(&format!("kind: {kind}")), "{kind} missing:\n{text}");
    }
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(ca.as_bytes());
    assert!(text.contains(&encoded), "the caBundle is the generated CA");
    assert!(text.contains("namespace: guard"));
}

#[test]
fn a_manifest_directory_is_walked_without_following_symlink_loops() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("apps/web");
    std::fs::create_dir_all(&nested).unwrap();
    write(&nested, "pod.yaml", PRIVILEGED_POD);
    write(dir.path(), "notes.txt", "not a manifest");
    std::os::unix::fs::symlink(dir.path(), nested.join("loop")).unwrap();
    let output = moat(&[
        "policy",
        "eval",
        "--pss",
        "baseline",
        "-q",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.matches("DENY").count(),
        1,
        "the pod is evaluated once: {stdout}"
    );
    assert!(stdout.contains("apps/web/pod.yaml:11:"), "{stdout}");
}
