//! Network checks: namespaces without a default-deny NetworkPolicy, Services exposed on nodes or
//! load balancers, host networking and host ports.

use super::manifest::Resource;
use super::raise;
use super::workload::{pod_template, ContainerGroup};
use moat_core::standards::{CIS_KUBERNETES, NSA_CISA};
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, Severity};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const NETWORK_POLICIES: ComplianceRef =
    ComplianceRef::new(NSA_CISA, "Network separation and hardening: network policies");

const NO_DEFAULT_DENY: CheckInfo = CheckInfo {
    id: "NET001",
    title: "Namespace has no default-deny NetworkPolicy",
    severity: Severity::Medium,
    kind: ConfigKind::Kubernetes,
    description: "Without a NetworkPolicy selecting every pod, all pods accept traffic from anywhere \
                  in the cluster, so one compromised pod can reach all the others.",
    remediation: "Add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Ingress, Egress]` and no \
                  rules to each namespace, then allow the traffic each workload needs.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.3.2"), NETWORK_POLICIES],
    aliases: &["CKV2_K8S_6"],
};

const EXPOSED_SERVICE: CheckInfo = CheckInfo {
    id: "NET002",
    title: "Service exposed through a node port or load balancer",
    severity: Severity::Low,
    kind: ConfigKind::Kubernetes,
    description: "NodePort and LoadBalancer Services open the workload to traffic from outside the \
                  cluster, bypassing an ingress controller's TLS, authentication and logging.",
    remediation: "Use type ClusterIP behind an Ingress or Gateway, or restrict the load balancer \
                  with loadBalancerSourceRanges.",
    references: &[NETWORK_POLICIES],
    aliases: &[],
};

const HOST_NETWORK: CheckInfo = CheckInfo {
    id: "NET003",
    title: "Pod uses the host network",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "With hostNetwork the pod shares the node's network stack: it can sniff node \
                  traffic, reach services bound to localhost and bypass NetworkPolicies.",
    remediation: "Remove hostNetwork: true.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.2.5"), NETWORK_POLICIES],
    aliases: &["KSV009", "CKV_K8S_19"],
};

const HOST_PORT: CheckInfo = CheckInfo {
    id: "NET004",
    title: "Container uses a host port",
    severity: Severity::Medium,
    kind: ConfigKind::Kubernetes,
    description: "A hostPort binds the node's own address, exposing the container outside the \
                  cluster network and around NetworkPolicies.",
    remediation: "Remove hostPort and expose the container through a Service.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.2.13"), NETWORK_POLICIES],
    aliases: &["KSV024", "CKV_K8S_26"],
};

/// Every network check.
pub static CHECKS: &[CheckInfo] = &[NO_DEFAULT_DENY, EXPOSED_SERVICE, HOST_NETWORK, HOST_PORT];

const ALL_CONTAINERS: &[ContainerGroup] = &[
    ContainerGroup::App,
    ContainerGroup::Init,
    ContainerGroup::Ephemeral,
];

/// Runs the per-resource network checks on one resource.
pub fn check(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    if resource.kind == "Service" && resource.api_group().is_empty() {
        check_service(resource, out);
    }
    let Some(pod) = pod_template(resource) else {
        return;
    };
    if pod.spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        let location = resource.value_location(&pod.spec_pointer("/hostNetwork"));
        raise(
            out,
            &HOST_NETWORK,
            resource,
            location,
            "pod spec sets hostNetwork: true".to_string(),
        );
    }
    for container in pod.containers(ALL_CONTAINERS) {
        let Some(ports) = container.value.get("ports").and_then(Value::as_array) else {
            continue;
        };
        for (index, port) in ports.iter().enumerate() {
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let location = resource
                .value_location(&pod.spec_pointer(&container.pointer(&format!("/ports/{index}/hostPort"))));
            let message = format!("{} binds host port {host_port}", container.label());
            raise(out, &HOST_PORT, resource, location, message);
        }
    }
}

fn check_service(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    let kind = resource
        .get("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if kind != "NodePort" && kind != "LoadBalancer" {
        return;
    }
    let location = resource.value_location("/spec/type");
    let message = format!("Service \"{}\" has type {kind}", resource.name);
    raise(out, &EXPOSED_SERVICE, resource, location, message);
}

/// Whether a NetworkPolicy denies all ingress to every pod of its namespace: an empty pod
/// selector, Ingress among its policy types (the default) and no ingress rules.
fn is_default_deny(policy: &Resource) -> bool {
    let selects_all = match policy.get("/spec/podSelector") {
        Some(Value::Object(selector)) => selector.values().all(|v| match v {
            Value::Object(map) => map.is_empty(),
            Value::Array(list) => list.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        Some(Value::Null) => true,
        _ => false,
    };
    let types: Vec<&str> = policy
        .get("/spec/policyTypes")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let covers_ingress = types.is_empty() || types.contains(&"Ingress");
    let no_ingress_rules = match policy.get("/spec/ingress") {
        None | Some(Value::Null) => true,
        Some(Value::Array(rules)) => rules.is_empty(),
        Some(_) => false,
    };
    selects_all && covers_ingress && no_ingress_rules
}

/// Reports every namespace that holds workloads in this file but no default-deny NetworkPolicy.
/// The finding is on the Namespace object when the file declares it, else on the first workload.
pub fn check_namespaces(resources: &[Resource], out: &mut Vec<Misconfiguration>) {
    let mut first_workload: BTreeMap<&str, &Resource> = BTreeMap::new();
    let mut protected: BTreeSet<&str> = BTreeSet::new();
    let mut declared: BTreeMap<&str, &Resource> = BTreeMap::new();
    for resource in resources {
        match resource.kind.as_str() {
            "NetworkPolicy" if is_default_deny(resource) => {
                protected.insert(resource.namespace_or_default());
            }
            "Namespace" if resource.api_group().is_empty() => {
                declared.entry(resource.name.as_str()).or_insert(resource);
            }
            _ if pod_template(resource).is_some() => {
                first_workload
                    .entry(resource.namespace_or_default())
                    .or_insert(resource);
            }
            _ => {}
        }
    }
    for (namespace, workload) in first_workload {
        if protected.contains(namespace) {
            continue;
        }
        let message = format!(
            "namespace {namespace} runs workloads ({}) but this file has no default-deny NetworkPolicy for it",
            workload.display_name()
        );
        let (anchor, location) = match declared.get(namespace) {
            Some(object) => (*object, object.location("/metadata/name")),
            None => (workload, workload.location("/metadata/namespace")),
        };
        raise(out, &NO_DEFAULT_DENY, anchor, location, message);
    }
}
