//! RBAC checks on Roles, ClusterRoles and their bindings.

use super::manifest::Resource;
use super::raise;
use moat_core::standards::{CIS_KUBERNETES, NSA_CISA};
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, Severity};
use serde_json::Value;

const RBAC_GUIDE: ComplianceRef = ComplianceRef::new(
    NSA_CISA,
    "Authentication and authorization: role-based access control",
);

const WILDCARD: CheckInfo = CheckInfo {
    id: "RBAC001",
    title: "Role uses wildcards",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "A `*` in verbs, resources or apiGroups grants every current and future permission \
                  of that kind, far more than a workload or user needs.",
    remediation: "List the exact apiGroups, resources and verbs needed.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.3"), RBAC_GUIDE],
    aliases: &["KSV044", "KSV045", "KSV046", "CKV_K8S_49"],
};

const READ_SECRETS: CheckInfo = CheckInfo {
    id: "RBAC002",
    title: "Role can read secrets",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "get, list or watch on secrets reveals every credential in scope (service account \
                  tokens included), which usually leads to further escalation.",
    remediation: "Remove read access to secrets, or limit it with resourceNames to the secrets needed.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.2"), RBAC_GUIDE],
    aliases: &["KSV041", "KSV113"],
};

const POD_SHELL: CheckInfo = CheckInfo {
    id: "RBAC003",
    title: "Role can exec or attach into pods",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "create on pods/exec or pods/attach runs commands inside any pod in scope, with that \
                  pod's service account, secrets and network access.",
    remediation: "Remove create on pods/exec and pods/attach except for break-glass roles.",
    references: &[RBAC_GUIDE],
    aliases: &["KSV053", "KSV054"],
};

const ESCALATION_VERBS: CheckInfo = CheckInfo {
    id: "RBAC004",
    title: "Role grants escalate, bind or impersonate",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "escalate and bind bypass RBAC's own escalation prevention; impersonate acts as \
                  another user, group or service account. Each can lead to cluster-admin.",
    remediation: "Remove the escalate, bind and impersonate verbs unless the role administers RBAC.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.8"), RBAC_GUIDE],
    aliases: &["CKV_K8S_157", "CKV_K8S_158"],
};

const CLUSTER_ADMIN: CheckInfo = CheckInfo {
    id: "RBAC005",
    title: "cluster-admin bound to a non-system subject",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "cluster-admin can do anything anywhere; binding it to ordinary users, groups or \
                  service accounts gives them the whole cluster.",
    remediation: "Bind a narrower role, scoped to a namespace with a RoleBinding where possible.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.1"), RBAC_GUIDE],
    aliases: &["KSV111"],
};

const DEFAULT_SERVICE_ACCOUNT: CheckInfo = CheckInfo {
    id: "RBAC006",
    title: "Role bound to a default service account",
    severity: Severity::Medium,
    kind: ConfigKind::Kubernetes,
    description: "Every pod that names no service account runs as `default`, so permissions bound to \
                  it are given to all of them.",
    remediation: "Create a dedicated service account for the workload and bind the role to it.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.5"), RBAC_GUIDE],
    aliases: &["CKV_K8S_42"],
};

const ADMISSION_CONTROL: CheckInfo = CheckInfo {
    id: "RBAC007",
    title: "Role can change admission webhooks or approve certificate requests",
    severity: Severity::High,
    kind: ConfigKind::Kubernetes,
    description: "Whoever can edit validating or mutating webhook configurations can switch off or \
                  rewrite admission control for the whole cluster; whoever can approve \
                  CertificateSigningRequests can mint client certificates for any user.",
    remediation: "Grant these only to the cluster's own controllers; remove them from the role.",
    references: &[ComplianceRef::new(CIS_KUBERNETES, "5.1.8"), RBAC_GUIDE],
    aliases: &["CKV_K8S_155", "CKV_K8S_156"],
};

/// Every RBAC check.
pub static CHECKS: &[CheckInfo] = &[
    WILDCARD,
    READ_SECRETS,
    POD_SHELL,
    ESCALATION_VERBS,
    CLUSTER_ADMIN,
    DEFAULT_SERVICE_ACCOUNT,
    ADMISSION_CONTROL,
];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Runs the RBAC checks on one resource.
pub fn check(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    if resource.api_group() != RBAC_GROUP {
        return;
    }
    match resource.kind.as_str() {
        "Role" | "ClusterRole" => check_rules(resource, out),
        "RoleBinding" | "ClusterRoleBinding" => check_binding(resource, out),
        _ => {}
    }
}

/// One rule of a role, as lists of strings.
struct Rule<'a> {
    index: usize,
    api_groups: Vec<&'a str>,
    resources: Vec<&'a str>,
    verbs: Vec<&'a str>,
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl Rule<'_> {
    fn pointer(&self, field: &str, item: usize) -> String {
        format!("/rules/{}/{field}/{item}", self.index)
    }

    /// Where in `field` the first of `wanted` (or `*`) is.
    fn item_matching(&self, field: &str, wanted: &[&str]) -> Option<usize> {
        let list = match field {
            "apiGroups" => &self.api_groups,
            "resources" => &self.resources,
            _ => &self.verbs,
        };
        list.iter().position(|item| *item == "*" || wanted.contains(item))
    }

    /// Whether the rule grants one of `verbs` on one of `resources` in `group`; returns the
    /// index of the verb that grants it.
    fn grants(&self, group: &str, resources: &[&str], verbs: &[&str]) -> Option<usize> {
        self.item_matching("apiGroups", &[group])?;
        self.item_matching("resources", resources)?;
        self.item_matching("verbs", verbs)
    }
}

fn check_rules(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    let Some(rules) = resource.get("/rules").and_then(Value::as_array) else {
        return;
    };
    for (index, rule) in rules.iter().enumerate() {
        let rule = Rule {
            index,
            api_groups: strings(rule.get("apiGroups")),
            resources: strings(rule.get("resources")),
            verbs: strings(rule.get("verbs")),
        };
        check_wildcards(resource, &rule, out);
        check_secrets(resource, &rule, out);
        check_pod_shell(resource, &rule, out);
        check_escalation(resource, &rule, out);
        check_admission_control(resource, &rule, out);
    }
}

fn check_admission_control(resource: &Resource, rule: &Rule<'_>, out: &mut Vec<Misconfiguration>) {
    let grants = [
        (
            "admissionregistration.k8s.io",
            &["validatingwebhookconfigurations", "mutatingwebhookconfigurations"][..],
            &["create", "update", "patch", "delete"][..],
            "webhook configurations",
        ),
        (
            "certificates.k8s.io",
            &["certificatesigningrequests/approval"][..],
            &["update", "patch"][..],
            "certificate signing request approval",
        ),
        (
            "certificates.k8s.io",
            &["signers"][..],
            &["approve"][..],
            "certificate signers",
        ),
    ];
    for (group, resources, verbs, what) in grants {
        if let Some(at) = rule.grants(group, resources, verbs) {
            let location = resource.value_location(&rule.pointer("verbs", at));
            let message = format!(
                "rule {} grants {} on {what}",
                rule.index,
                rule.verbs.get(at).unwrap_or(&"")
            );
            raise(out, &ADMISSION_CONTROL, resource, location, message);
        }
    }
}

fn check_wildcards(resource: &Resource, rule: &Rule<'_>, out: &mut Vec<Misconfiguration>) {
    let fields = [
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
        ("verbs", &rule.verbs),
    ];
    let wild: Vec<(&str, usize)> = fields
        .iter()
        .filter_map(|(field, list)| list.iter().position(|i| *i == "*").map(|at| (*field, at)))
        .collect();
    let Some((first_field, first_item)) = wild.first() else {
        return;
    };
    let names: Vec<&str> = wild.iter().map(|(field, _)| *field).collect();
    let location = resource.value_location(&rule.pointer(first_field, *first_item));
    let message = format!("rule {} grants `*` in {}", rule.index, names.join(", "));
    raise(out, &WILDCARD, resource, location, message);
}

fn check_secrets(resource: &Resource, rule: &Rule<'_>, out: &mut Vec<Misconfiguration>) {
    let Some(verb) = rule.grants("", &["secrets"], &["get", "list", "watch"]) else {
        return;
    };
    let location = resource.value_location(&rule.pointer("verbs", verb));
    let message = format!(
        "rule {} grants {} on secrets",
        rule.index,
        rule.verbs.get(verb).unwrap_or(&"")
    );
    raise(out, &READ_SECRETS, resource, location, message);
}

fn check_pod_shell(resource: &Resource, rule: &Rule<'_>, out: &mut Vec<Misconfiguration>) {
    for subresource in ["pods/exec", "pods/attach"] {
        if let Some(verb) = rule.grants("", &[subresource], &["create"]) {
            let location = resource.value_location(&rule.pointer("verbs", verb));
            let message = format!("rule {} grants create on {subresource}", rule.index);
            raise(out, &POD_SHELL, resource, location, message);
        }
    }
}

fn check_escalation(resource: &Resource, rule: &Rule<'_>, out: &mut Vec<Misconfiguration>) {
    let grants = [
        (RBAC_GROUP, &["roles", "clusterroles"][..], "escalate"),
        (RBAC_GROUP, &["roles", "clusterroles"][..], "bind"),
        ("", &["users", "groups", "serviceaccounts"][..], "impersonate"),
    ];
    for (group, resources, verb) in grants {
        if let Some(at) = rule.grants(group, resources, &[verb]) {
            let location = resource.value_location(&rule.pointer("verbs", at));
            let message = format!("rule {} grants {verb} on {}", rule.index, resources.join("/"));
            raise(out, &ESCALATION_VERBS, resource, location, message);
        }
    }
}

fn check_binding(resource: &Resource, out: &mut Vec<Misconfiguration>) {
    let role_kind = resource
        .get("/roleRef/kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    let role_name = resource
        .get("/roleRef/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let binds_cluster_admin = role_kind == "ClusterRole" && role_name == "cluster-admin";
    let Some(subjects) = resource.get("/subjects").and_then(Value::as_array) else {
        return;
    };
    for (index, subject) in subjects.iter().enumerate() {
        let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
        let location = resource.value_location(&format!("/subjects/{index}/name"));
        if binds_cluster_admin && !name.starts_with("system:") {
            let message = format!("{kind} \"{name}\" is bound to cluster-admin");
            raise(out, &CLUSTER_ADMIN, resource, location.clone(), message);
        }
        if kind == "ServiceAccount" && name == "default" {
            let namespace = subject
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(resource.namespace_or_default());
            let message = format!("{role_kind} \"{role_name}\" is bound to the default service account of namespace {namespace}");
            raise(out, &DEFAULT_SERVICE_ACCOUNT, resource, location, message);
        }
    }
}
