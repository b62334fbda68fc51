//! Kubernetes manifests: loading (YAML streams, JSON, lists), line numbers of findings, every
//! best-practice, RBAC and network check on bad and hardened examples, and hostile input.

use moat_core::ConfigKind;
use moat_misconfig::kubernetes::{self, check, load, pss};
use moat_misconfig::{scan_file, FileOutcome, ScanOptions};
use std::collections::BTreeSet;

fn run(path: &str, text: &str) -> FileOutcome {
    check(path, text, &ScanOptions::default())
}

/// The 1-based line of the only line holding `marker`.
fn line_of(text: &str, marker: &str) -> u32 {
    let lines: Vec<u32> = (1u32..)
        .zip(text.lines())
        .filter(|(_, line)| line.contains(marker))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(lines.len(), 1, "marker {marker} must be on exactly one line");
    lines[0]
}

/// The lines at which check `id` fired, in order.
fn lines_of(outcome: &FileOutcome, id: &str) -> Vec<u32> {
    outcome
        .findings
        .iter()
        .filter(|f| f.check_id == id)
        .map(|f| f.location.start_line)
        .collect()
}

fn ids(outcome: &FileOutcome) -> BTreeSet<String> {
    outcome.findings.iter().map(|f| f.check_id.clone()).collect()
}

const BAD: &str = r#"# A deliberately insecure application.
apiVersion: apps/v1
kind: Deployment
metadata: #@deploy-metadata
  name: web #@deploy-name
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: true #@automount
      hostNetwork: true #@hostNetwork
      containers:
      - name: web #@container
        image: nginx #@image
        imagePullPolicy: IfNotPresent #@pullPolicy
        ports:
        - containerPort: 80
          hostPort: 8080 #@hostPort
        volumeMounts:
        - {name: docker, mountPath: /var/run/docker.sock}
      volumes:
      - name: docker
        hostPath:
          path: /var/run/docker.sock #@socket
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: NodePort #@nodePort
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: too-much
  namespace: shop
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs:
  - get #@secrets
- apiGroups: [""]
  resources:
  - pods/exec
  verbs:
  - create #@exec
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles]
  verbs:
  - bind #@bind
- apiGroups: [apps]
  resources:
  - "*" #@wildcard
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: too-much
  namespace: shop
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: too-much}
subjects:
- kind: ServiceAccount
  name: default #@defaultSa
  namespace: shop
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: alice-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- kind: User
  name: alice #@alice
- kind: Group
  name: system:masters
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - {}
"#;

const HARDENED: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      serviceAccountName: web
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
      initContainers:
      - name: migrate
        image: registry.example.com/web-migrate@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        resources:
          requests: {cpu: 50m, memory: 32Mi}
          limits: {cpu: 100m, memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
      containers:
      - name: web
        image: registry.example.com/web:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        ports: [{containerPort: 8080}]
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 128Mi}
        livenessProbe:
          httpGet: {path: /healthz, port: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes:
      - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: read-config
  namespace: shop
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: web-read-config
  namespace: shop
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-config}
subjects:
- {kind: ServiceAccount, name: web, namespace: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"#;

#[test]
fn a_hardened_application_has_no_findings() {
    let outcome = run("app.yaml", HARDENED);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert!(outcome.findings.is_empty(), "{:#?}", outcome.findings);
    let (resources, _) = load("app.yaml", HARDENED);
    let kinds: Vec<&str> = resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "Deployment",
            "Service",
            "Role",
            "RoleBinding",
            "NetworkPolicy"
        ]
    );
}

#[test]
fn every_check_fires_on_the_bad_example_at_the_offending_line() {
    let outcome = run("bad.yaml", BAD);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let at = |marker: &str| vec![line_of(BAD, marker)];
    let container = line_of(BAD, "#@container");
    for id in [
        "K8S001", "K8S002", "K8S003", "K8S004", "K8S005", "K8S006", "K8S011",
    ] {
        assert_eq!(lines_of(&outcome, id), vec![container], "{id}");
    }
    assert_eq!(lines_of(&outcome, "K8S007"), at("#@image"));
    assert_eq!(lines_of(&outcome, "K8S008"), at("#@image"));
    assert_eq!(lines_of(&outcome, "K8S009"), at("#@pullPolicy"));
    assert_eq!(lines_of(&outcome, "K8S010"), at("#@automount"));
    // The Deployment and the NetworkPolicy set no namespace; the others are in `shop`.
    let policy_name = line_of(BAD, "name: allow-web");
    assert_eq!(
        lines_of(&outcome, "K8S012"),
        vec![line_of(BAD, "#@deploy-name"), policy_name]
    );
    assert_eq!(lines_of(&outcome, "K8S013"), at("#@socket"));
    assert_eq!(lines_of(&outcome, "NET001"), at("#@deploy-metadata"));
    assert_eq!(lines_of(&outcome, "NET002"), at("#@nodePort"));
    assert_eq!(lines_of(&outcome, "NET003"), at("#@hostNetwork"));
    assert_eq!(lines_of(&outcome, "NET004"), at("#@hostPort"));
    assert_eq!(lines_of(&outcome, "RBAC001"), at("#@wildcard"));
    assert_eq!(lines_of(&outcome, "RBAC002"), at("#@secrets"));
    assert_eq!(lines_of(&outcome, "RBAC003"), at("#@exec"));
    assert_eq!(lines_of(&outcome, "RBAC004"), at("#@bind"));
    assert_eq!(lines_of(&outcome, "RBAC005"), at("#@alice"));
    assert_eq!(lines_of(&outcome, "RBAC006"), at("#@defaultSa"));
}

#[test]
fn findings_name_the_resource_file_column_and_peer_ids() {
    let outcome = run("bad.yaml", BAD);
    let image = outcome
        .findings
        .iter()
        .find(|f| f.check_id == "K8S008")
        .expect("latest-tag finding");
    assert_eq!(image.resource.as_deref(), Some("Deployment default/web"));
    assert_eq!(image.location.path, "bad.yaml");
    assert_eq!(image.location.start_column, 16, "column of the image value");
    assert!(image.message.contains("container \"web\""), "{}", image.message);
    assert!(image.aliases.contains(&"KSV013".to_string()));
    assert!(image.aliases.contains(&"CKV_K8S_14".to_string()));
    let admin = outcome
        .findings
        .iter()
        .find(|f| f.check_id == "RBAC005")
        .expect("cluster-admin");
    assert_eq!(admin.resource.as_deref(), Some("ClusterRoleBinding alice-admin"));
    assert!(
        admin.references.iter().any(|r| r.ends_with(" 5.1.1")),
        "{:?}",
        admin.references
    );
    let system_subjects = outcome
        .findings
        .iter()
        .filter(|f| f.check_id == "RBAC005" && f.message.contains("system:"))
        .count();
    assert_eq!(system_subjects, 0, "system:masters is left alone");
}

#[test]
fn json_manifests_give_exact_lines() {
    let text = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "tool", "namespace": "ops"},
  "spec": {
    "automountServiceAccountToken": false,
    "containers": [
      {
        "name": "tool",
        "image": "busybox:latest",
        "securityContext": {"readOnlyRootFilesystem": false}
      }
    ]
  }
}
"#;
    let outcome = run("pod.json", text);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(
        lines_of(&outcome, "K8S008"),
        vec![line_of(text, "busybox:latest")]
    );
    assert_eq!(
        lines_of(&outcome, "K8S011"),
        vec![line_of(text, "readOnlyRootFilesystem")]
    );
    assert_eq!(
        lines_of(&outcome, "K8S002"),
        vec![line_of(text, "        \"name\": \"tool\"")]
    );
    assert!(lines_of(&outcome, "K8S010").is_empty());
    assert!(lines_of(&outcome, "K8S012").is_empty());
    let finding = outcome.findings.iter().find(|f| f.check_id == "K8S008").unwrap();
    assert_eq!(finding.resource.as_deref(), Some("Pod ops/tool"));
}

#[test]
fn list_items_are_resources_with_their_own_lines() {
    let text = r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: front, namespace: edge}
  spec:
    type: LoadBalancer
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent, namespace: edge}
  spec:
    template:
      spec:
        hostNetwork: true
        containers: [{name: agent, image: "agent:2"}]
---
apiVersion: apps/v1
kind: DeploymentList
items:
- metadata: {name: typed, namespace: edge}
  spec:
    template:
      spec:
        containers:
        - name: typed
          image: typed:1
          ports: [{containerPort: 53, hostPort: 53}]
"#;
    let (resources, errors) = load("list.yaml", text);
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<String> = resources.iter().map(|r| r.display_name()).collect();
    assert_eq!(
        names,
        [
            "Service edge/front",
            "DaemonSet edge/agent",
            "Deployment edge/typed"
        ]
    );
    let outcome = run("list.yaml", text);
    assert_eq!(
        lines_of(&outcome, "NET002"),
        vec![line_of(text, "type: LoadBalancer")]
    );
    assert_eq!(
        lines_of(&outcome, "NET003"),
        vec![line_of(text, "hostNetwork: true")]
    );
    assert_eq!(lines_of(&outcome, "NET004"), vec![line_of(text, "hostPort: 53")]);
    let typed = outcome.findings.iter().find(|f| f.check_id == "NET004").unwrap();
    assert_eq!(typed.resource.as_deref(), Some("Deployment edge/typed"));
}

#[test]
fn cron_job_pod_templates_are_checked_without_probes() {
    let text = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  namespace: ops
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: backup:3.1
            resources:
              requests: {cpu: 100m, memory: 64Mi}
"#;
    let outcome = run("cron.yaml", text);
    let found = ids(&outcome);
    assert!(
        !found.contains("K8S005") && !found.contains("K8S006"),
        "{found:?}"
    );
    assert!(
        !found.contains("K8S001") && !found.contains("K8S003"),
        "{found:?}"
    );
    let resources = line_of(text, "resources:");
    assert_eq!(lines_of(&outcome, "K8S002"), vec![resources]);
    assert_eq!(lines_of(&outcome, "K8S004"), vec![resources]);
    // The pod spec's own key: the line before its first field.
    assert_eq!(
        lines_of(&outcome, "K8S010"),
        vec![line_of(text, "restartPolicy") - 1]
    );
}

#[test]
fn a_malformed_document_is_reported_and_the_next_one_still_checked() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   bad: indent\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  namespace: x\nspec:\n  containers:\n  - name: b\n    image: nginx:latest\n";
    let outcome = run("two.yaml", text);
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    assert_eq!(outcome.errors[0].line, 5);
    assert_eq!(outcome.errors[0].path, "two.yaml");
    assert_eq!(lines_of(&outcome, "K8S008"), vec![16]);
}

#[test]
fn invalid_json_names_its_line() {
    let outcome = run(
        "bad.json",
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",,\n}\n",
    );
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    assert_eq!(outcome.errors[0].line, 3);
    assert!(outcome.findings.is_empty());
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=12 {
        let previous = level - 1;
        let refs = vec![format!("*a{previous}"); 9].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    let outcome = run("bomb.yaml", &bomb);
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    assert!(
        outcome.errors[0].message.contains("nodes"),
        "{}",
        outcome.errors[0].message
    );
    assert!(outcome.findings.is_empty());

    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(200),
        "]".repeat(200)
    );
    let block = format!("apiVersion: v1\nkind: ConfigMap\ndata:\n{}x\n", "- ".repeat(5000));
    for deep in [flow, block] {
        let outcome = run("deep.yaml", &deep);
        assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
        assert!(
            outcome.errors[0].message.contains("nesting"),
            "{}",
            outcome.errors[0].message
        );
        assert!(outcome.errors[0].line >= 3, "{:?}", outcome.errors[0]);
    }
}

#[test]
fn documents_that_are_not_kubernetes_objects_are_ignored() {
    let text = "name: chart\nversion: 1.0.0\n---\n- a\n- b\n---\nplain\n";
    let (resources, errors) = load("Chart.yaml", text);
    assert!(resources.is_empty());
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn inline_ignores_work_through_scan_file() {
    let text = BAD.replace("image: nginx #@image", "image: nginx # moat:ignore=K8S008");
    let outcome = scan_file("bad.yaml", &text, ConfigKind::Kubernetes, &ScanOptions::default());
    let found = ids(&outcome);
    assert!(!found.contains("K8S008"), "{found:?}");
    assert!(found.contains("K8S007"), "other checks on the line still fire");
    let mut skip = ScanOptions::default();
    skip.skip_checks.insert("RBAC001".to_string());
    let outcome = scan_file("bad.yaml", BAD, ConfigKind::Kubernetes, &skip);
    assert!(!ids(&outcome).contains("RBAC001"));
    assert!(ids(&outcome).contains("RBAC002"));
}

#[test]
fn manifests_are_recognized_by_name_and_content() {
    assert_eq!(
        moat_misconfig::detect_kind("k8s/app.yaml", BAD.as_bytes()),
        Some(ConfigKind::Kubernetes)
    );
    let helm = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n";
    assert_eq!(
        moat_misconfig::detect_kind("templates/deploy.yaml", helm.as_bytes()),
        None
    );
    assert_eq!(moat_misconfig::detect_kind("values.yaml", b"replicas: 2\n"), None);
}

#[test]
fn the_registry_lists_every_kubernetes_check_once() {
    let listed: Vec<&str> = kubernetes::checks().iter().map(|c| c.id).collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len());
    for id in ["K8S001", "K8S013", "RBAC001", "RBAC006", "NET001", "NET004"] {
        assert!(unique.contains(id), "{id} missing");
        assert!(
            moat_misconfig::find_check(id).is_some(),
            "{id} not in the global registry"
        );
    }
    assert_eq!(listed.len(), 27 + pss::CHECKS.len());
}

#[test]
fn pod_security_violations_become_findings_at_the_offending_field() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: priv, namespace: x}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n        securityContext:\n          privileged: true\n";
    let (resources, _) = load("priv.yaml", text);
    let spec = resources[0].get("/spec/template/spec").unwrap().clone();
    let metadata = serde_json::json!({});
    let violations = pss::evaluate(
        pss::PssLevel::Restricted,
        pss::PssVersion::Latest,
        &metadata,
        &spec,
    );
    let outcome = run("priv.yaml", text);
    let mut expected = 0;
    for violation in &violations {
        let id = format!("PSS-{}", violation.check_id);
        if !pss::CHECKS.iter().any(|c| c.id == id) {
            continue;
        }
        expected += 1;
        let finding = outcome
            .findings
            .iter()
            .find(|f| f.check_id == id && f.message == violation.detail)
            .unwrap_or_else(|| panic!("no finding for {id}"));
        let pointer = violation.pointers.first().map(String::as_str).unwrap_or("/spec");
        let want = resources[0].location(&format!("/spec/template{pointer}"));
        assert_eq!(finding.location.start_line, want.start_line, "{id}");
        if violation.check_id == "privileged" {
            assert_eq!(finding.location.start_line, 11);
        }
    }
    let pss_findings = outcome
        .findings
        .iter()
        .filter(|f| f.check_id.starts_with("PSS-"))
        .count();
    assert_eq!(pss_findings, expected);
    if !pss::CHECKS.is_empty() {
        assert!(
            expected > 0,
            "a privileged container violates the restricted standard"
        );
    }
}

#[test]
fn hardening_admission_rbac_and_pull_policy_checks_fire_at_their_fields() {
    let text = "\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: web
    image: nginx:1.25
    ports:
    - containerPort: 80
  - name: side
    image: sidecar:2@sha256:2bc5c236e9b262645a323e9088dfa3bb1ecb16cc75811daf40a23a824d665be9
    imagePullPolicy: IfNotPresent
    securityContext: {runAsUser: 20000, runAsGroup: 20000}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hooks}
rules:
- apiGroups: [admissionregistration.k8s.io]
  resources: [mutatingwebhookconfigurations]
  verbs: [get, patch]
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests/approval]
  verbs: [update]
";
    let outcome =
        moat_misconfig::scan_file("pod.yaml", text, ConfigKind::Kubernetes, &ScanOptions::default());
    let lines = |id: &str| -> Vec<u32> {
        outcome
            .findings
            .iter()
            .filter(|f| f.check_id == id)
            .map(|f| f.location.start_line)
            .collect()
    };
    assert_eq!(
        lines("K8S014"),
        vec![6],
        "only the container without ids above 10000"
    );
    assert_eq!(
        lines("K8S015"),
        vec![4, 6],
        "the pod and the container without a securityContext"
    );
    assert_eq!(lines("K8S016"), vec![9]);
    assert_eq!(
        lines("K8S009"),
        vec![7],
        "a tagged image defaults to IfNotPresent; a digest may"
    );
    assert_eq!(lines("RBAC007"), vec![21, 24]);
}
