//! Pod Security Standards: the upstream pod-security admission conformance fixtures (every
//! level, every policy version), plus pointer, parsing and version-boundary tests.

use moat_misconfig::kubernetes::pss::{
    check_info, checks_for, evaluate, overridden_by, PssLevel, PssVersion, PssViolation, CHECKS,
};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

/// One row of `cases.tsv`.
struct Case {
    level: PssLevel,
    version: PssVersion,
    allow: bool,
    check_id: String,
    file: String,
}

fn read_cases(root: &Path) -> Vec<Case> {
    let path = root.join("cases.tsv");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 5, "cases.tsv:{}: {line:?}", index + 1);
            Case {
                level: PssLevel::parse(columns[0]).unwrap(),
                version: PssVersion::parse(columns[1]).unwrap(),
                allow: match columns[2] {
                    "allow" => true,
                    "deny" => false,
                    other => panic!("cases.tsv:{}: expect {other:?}", index + 1),
                },
                check_id: columns[3].to_string(),
                file: columns[4].to_string(),
            }
        })
        .collect()
}

fn read_pod(root: &Path, file: &str) -> Value {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn describe(violations: &[PssViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} ({})", v.check_id, v.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The id a deny row's problem is reported under: Restricted reports a Baseline problem under
/// the Restricted check that replaces it at that version.
fn expected_id(case: &Case) -> String {
    if case.level == PssLevel::Restricted {
        if let Some(replacement) = overridden_by(case.version, &case.check_id) {
            return replacement.to_string();
        }
    }
    case.check_id.clone()
}

/// What is wrong with one row, if anything.
fn mismatch(root: &Path, case: &Case) -> Option<String> {
    let pod = read_pod(root, &case.file);
    let null = Value::Null;
    let metadata = pod.get("metadata").unwrap_or(&null);
    let spec = pod.get("spec").unwrap_or(&null);
    let violations = evaluate(case.level, case.version, metadata, spec);
    let label = format!("{} {} {} {}", case.level, case.version, case.check_id, case.file);
    if case.allow {
        return (!violations.is_empty())
            .then(|| format!("{label}: expected allow, got {}", describe(&violations)));
    }
    let expected = expected_id(case);
    if violations.iter().any(|v| v.check_id == expected) {
        return None;
    }
    Some(format!(
        "{label}: expected deny by {expected}, got [{}]",
        describe(&violations)
    ))
}

#[test]
fn upstream_conformance_fixtures_all_pass() {
    let Some(shared) = moat_testkit::shared::shared_dir() else {
        return;
    };
    let root = shared.join("conformance/pss");
    let cases = read_cases(&root);
    assert!(cases.len() > 4000, "only {} cases read", cases.len());
    let denies = cases.iter().filter(|c| !c.allow).count();
    assert!(denies > 3000, "only {denies} deny cases");
    let failures: Vec<String> = cases.iter().filter_map(|case| mismatch(&root, case)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases mismatch:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A pod template with a restricted-compliant container named `app`, changed by `edit`.
fn pod(edit: impl FnOnce(&mut Value)) -> (Value, Value) {
    let mut value = json!({
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app",
                "image": "x",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}
                }
            }]
        }
    });
    edit(&mut value);
    (value["metadata"].clone(), value["spec"].clone())
}

fn restricted_latest(pod: &(Value, Value)) -> Vec<PssViolation> {
    evaluate(PssLevel::Restricted, PssVersion::Latest, &pod.0, &pod.1)
}

fn only<'a>(violations: &'a [PssViolation], id: &str) -> &'a PssViolation {
    let found: Vec<&PssViolation> = violations.iter().filter(|v| v.check_id == id).collect();
    assert_eq!(found.len(), 1, "{id} in {}", describe(violations));
    found[0]
}

#[test]
fn a_compliant_pod_passes_every_level_and_version() {
    let p = pod(|_| {});
    for minor in 0..=40 {
        for level in [PssLevel::Privileged, PssLevel::Baseline, PssLevel::Restricted] {
            let found = evaluate(level, PssVersion::V1(minor), &p.0, &p.1);
            assert!(found.is_empty(), "{level} v1.{minor}: {}", describe(&found));
        }
    }
}

#[test]
fn privileged_points_at_the_field() {
    let p = pod(|v| v["spec"]["containers"][0]["securityContext"]["privileged"] = json!(true));
    let found = restricted_latest(&p);
    let violation = only(&found, "privileged");
    assert_eq!(
        violation.pointers,
        ["/spec/containers/0/securityContext/privileged"]
    );
    assert_eq!(
        violation.detail,
        "container \"app\" must not set securityContext.privileged=true"
    );
    assert!(evaluate(PssLevel::Privileged, PssVersion::Latest, &p.0, &p.1).is_empty());
}

#[test]
fn annotation_pointers_escape_the_slash() {
    let p = pod(|v| {
        v["metadata"]["annotations"] =
            json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"})
    });
    let found = restricted_latest(&p);
    assert_eq!(
        only(&found, "appArmorProfile").pointers,
        ["/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app"]
    );
}

#[test]
fn missing_fields_point_at_the_closest_existing_parent() {
    let p = pod(|v| {
        v["spec"]["securityContext"] = json!({});
        v["spec"]["initContainers"] = json!([{"name": "init", "image": "x"}]);
    });
    let found = restricted_latest(&p);
    assert_eq!(
        only(&found, "runAsNonRoot").pointers,
        ["/spec/initContainers/0", "/spec/containers/0/securityContext"]
    );
    assert_eq!(
        only(&found, "capabilities_restricted").pointers,
        ["/spec/initContainers/0"]
    );
    assert_eq!(
        only(&found, "allowPrivilegeEscalation").pointers,
        ["/spec/initContainers/0"]
    );
}

#[test]
fn pod_level_fields_and_list_items_are_pointed_at() {
    let p = pod(|v| {
        v["spec"]["securityContext"]["runAsNonRoot"] = json!(false);
        v["spec"]["securityContext"]["sysctls"] = json!([{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]);
        v["spec"]["hostPID"] = json!(true);
        v["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] =
            json!(["NET_BIND_SERVICE", "SYS_ADMIN"]);
        v["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 80}, {"containerPort": 81, "hostPort": 81}]);
    });
    let found = restricted_latest(&p);
    assert_eq!(
        only(&found, "runAsNonRoot").pointers,
        ["/spec/securityContext/runAsNonRoot"]
    );
    assert_eq!(
        only(&found, "sysctls").pointers,
        ["/spec/securityContext/sysctls/1/name"]
    );
    assert_eq!(only(&found, "sysctls").detail, "kernel.msgmax");
    assert_eq!(only(&found, "hostNamespaces").pointers, ["/spec/hostPID"]);
    assert_eq!(
        only(&found, "capabilities_restricted").pointers,
        ["/spec/containers/0/securityContext/capabilities/add/1"]
    );
    assert_eq!(
        only(&found, "hostPorts").pointers,
        ["/spec/containers/0/ports/1/hostPort"]
    );
    assert!(found.iter().all(|v| v.check_id != "capabilities_baseline"));
}

#[test]
fn restricted_replaces_baseline_checks_only_where_upstream_does() {
    let p = pod(|v| {
        v["spec"]["volumes"] = json!([{"name": "h", "hostPath": {"path": "/"}}]);
    });
    let found = restricted_latest(&p);
    assert_eq!(
        only(&found, "restrictedVolumes").pointers,
        ["/spec/volumes/0/hostPath"]
    );
    assert!(found.iter().all(|v| v.check_id != "hostPathVolumes"));
    let baseline = evaluate(PssLevel::Baseline, PssVersion::Latest, &p.0, &p.1);
    assert_eq!(
        only(&baseline, "hostPathVolumes").pointers,
        ["/spec/volumes/0/hostPath"]
    );

    assert_eq!(overridden_by(PssVersion::V1(18), "seccompProfile_baseline"), None);
    assert_eq!(
        overridden_by(PssVersion::V1(19), "seccompProfile_baseline"),
        Some("seccompProfile_restricted")
    );
    assert_eq!(overridden_by(PssVersion::V1(21), "capabilities_baseline"), None);
    assert_eq!(
        overridden_by(PssVersion::V1(22), "capabilities_baseline"),
        Some("capabilities_restricted")
    );
    assert_eq!(overridden_by(PssVersion::V1(34), "procMount"), None);
    assert_eq!(
        overridden_by(PssVersion::V1(35), "procMount"),
        Some("procMount_restricted")
    );
}

#[test]
fn version_boundaries_follow_upstream() {
    let has = |level, minor, id: &str| checks_for(level, PssVersion::V1(minor)).contains(&id);
    assert!(!has(PssLevel::Restricted, 7, "allowPrivilegeEscalation"));
    assert!(has(PssLevel::Restricted, 8, "allowPrivilegeEscalation"));
    assert!(!has(PssLevel::Restricted, 22, "runAsUser"));
    assert!(has(PssLevel::Restricted, 23, "runAsUser"));
    assert!(!has(PssLevel::Baseline, 33, "hostProbesAndHostLifecycle"));
    assert!(has(PssLevel::Baseline, 34, "hostProbesAndHostLifecycle"));
    assert!(!has(PssLevel::Baseline, 30, "runAsNonRoot"));
    assert!(checks_for(PssLevel::Privileged, PssVersion::Latest).is_empty());
    assert_eq!(checks_for(PssLevel::Baseline, PssVersion::Latest).len(), 12);
    assert_eq!(checks_for(PssLevel::Restricted, PssVersion::Latest).len(), 15);
    assert_eq!(
        checks_for(PssLevel::Restricted, PssVersion::V1(99)),
        checks_for(PssLevel::Restricted, PssVersion::Latest)
    );
}

#[test]
fn user_namespace_pods_are_relaxed_from_v1_35_only() {
    let p = pod(|v| {
        v["spec"]["hostUsers"] = json!(false);
        v["spec"]["securityContext"] = json!({"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}});
        v["spec"]["containers"][0]["securityContext"]["procMount"] = json!("Unmasked");
    });
    let ids = |level, minor| -> Vec<&'static str> {
        evaluate(level, PssVersion::V1(minor), &p.0, &p.1)
            .iter()
            .map(|v| v.check_id)
            .collect()
    };
    assert_eq!(ids(PssLevel::Baseline, 34), ["procMount"]);
    assert!(ids(PssLevel::Baseline, 35).is_empty());
    assert_eq!(
        ids(PssLevel::Restricted, 34),
        ["procMount", "runAsNonRoot", "runAsUser"]
    );
    assert_eq!(ids(PssLevel::Restricted, 35), ["procMount_restricted"]);
}

#[test]
fn windows_pods_are_exempt_from_linux_only_restricted_checks_from_v1_25() {
    let p = pod(|v| {
        v["spec"] = json!({
            "os": {"name": "windows"},
            "securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "app", "image": "x"}]
        });
    });
    let ids = |minor| -> Vec<&'static str> {
        evaluate(PssLevel::Restricted, PssVersion::V1(minor), &p.0, &p.1)
            .iter()
            .map(|v| v.check_id)
            .collect()
    };
    assert_eq!(
        ids(24),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "seccompProfile_restricted"
        ]
    );
    assert!(ids(25).is_empty());
}

#[test]
fn sysctl_safe_set_grows_by_version() {
    let with =
        |name: &str| pod(|v| v["spec"]["securityContext"]["sysctls"] = json!([{"name": name, "value": "1"}]));
    let denied = |name: &str, minor| {
        let p = with(name);
        !evaluate(PssLevel::Baseline, PssVersion::V1(minor), &p.0, &p.1).is_empty()
    };
    assert!(denied("net.ipv4.ip_local_reserved_ports", 26));
    assert!(!denied("net.ipv4.ip_local_reserved_ports", 27));
    assert!(denied("net.ipv4.tcp_keepalive_time", 28));
    assert!(!denied("net.ipv4.tcp_keepalive_time", 29));
    assert!(denied("net.ipv4.tcp_rmem", 31));
    assert!(!denied("net.ipv4.tcp_rmem", 32));
    assert!(denied("net.ipv4.tcp_notsent_lowat", 36));
    assert!(!denied("net.ipv4.tcp_notsent_lowat", 37));
}

#[test]
fn versions_and_levels_parse() {
    assert_eq!(PssVersion::parse("v1.30"), Ok(PssVersion::V1(30)));
    assert_eq!(PssVersion::parse("1.30"), Ok(PssVersion::V1(30)));
    assert_eq!(PssVersion::parse("latest"), Ok(PssVersion::Latest));
    assert_eq!(PssVersion::parse("v1.0"), Ok(PssVersion::V1(0)));
    for bad in ["v2.0", "1", "v1.", "1.x", "", "v1.30.1"] {
        assert!(PssVersion::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(PssVersion::V1(30).to_string(), "v1.30");
    assert_eq!(PssVersion::Latest.effective_minor(), PssVersion::newest_minor());
    assert_eq!(PssLevel::parse("Restricted"), Ok(PssLevel::Restricted));
    assert_eq!(PssLevel::parse("baseline"), Ok(PssLevel::Baseline));
    assert_eq!(PssLevel::parse("privileged"), Ok(PssLevel::Privileged));
    assert!(PssLevel::parse("strict").is_err());
}

#[test]
fn every_check_is_described() {
    for level in [PssLevel::Baseline, PssLevel::Restricted] {
        for id in checks_for(level, PssVersion::Latest) {
            let info = check_info(id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(info.id, format!("PSS-{id}"));
            assert!(!info.references.is_empty());
        }
    }
    let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CHECKS.len());
}
