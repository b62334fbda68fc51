//! Which requests a policy (`spec.matchConstraints`) or a binding (`spec.matchResources`)
//! applies to: resource rules, excluded resource rules, namespace and object selectors.
//! `matchPolicy` is ignored: requests are matched as sent.

use crate::matching::{
    label_selector_matches, namespace_selector_matches, object_selector_matches, string_list, Scope,
};
use crate::{Inventory, Operation, Review};
use serde_json::{json, Map, Value};

/// `resourceRules` or `excludeResourceRules` entry (`NamedRuleWithOperations`).
#[derive(Debug, Clone, Default, PartialEq)]
struct ResourceRule {
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    operations: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    scope: Scope,
}

/// A `MatchResources`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MatchResources {
    resource_rules: Vec<ResourceRule>,
    exclude_rules: Vec<ResourceRule>,
    namespace_selector: Value,
    object_selector: Value,
}

/// What rules look at in a request: resource, sub-resource, kind and so on.
struct Target<'a> {
    group: String,
    version: String,
    resource: String,
    sub_resource: &'a str,
    operation: Operation,
    name: &'a str,
    namespace: &'a str,
}

impl MatchResources {
    /// Reads a `MatchResources` at `path` (absent or null: the default, which matches every
    /// request when resource rules are optional).
    pub(crate) fn parse(value: Option<&Value>, path: &str) -> Result<MatchResources, String> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(MatchResources::default());
        };
        if !value.is_object() {
            return Err(format!("{path} must be an object"));
        }
        let selector = |key: &str| -> Result<Value, String> {
            let selector = value.get(key).cloned().unwrap_or(Value::Null);
            label_selector_matches(&selector, &Map::new()).map_err(|err| format!("{path}.{key}: {err}"))?;
            Ok(selector)
        };
        Ok(MatchResources {
            namespace_selector: selector("namespaceSelector")?,
            object_selector: selector("objectSelector")?,
            resource_rules: rules(value, "resourceRules", path)?,
            exclude_rules: rules(value, "excludeResourceRules", path)?,
        })
    }

    /// Whether it has resource rules (a policy's `matchConstraints` must).
    pub(crate) fn has_resource_rules(&self) -> bool {
        !self.resource_rules.is_empty()
    }

    /// Whether the request is matched. Empty resource rules match every resource (callers
    /// requiring rules check [`MatchResources::has_resource_rules`] when loading).
    pub(crate) fn matches(&self, review: &Review, inventory: &Inventory) -> bool {
        let target = Target::of(review);
        (self.resource_rules.is_empty() || self.resource_rules.iter().any(|rule| rule.matches(&target)))
            && !self.exclude_rules.iter().any(|rule| rule.matches(&target))
            && self.namespace_matches(review, inventory)
            && self.object_matches(review)
    }

    fn namespace_matches(&self, review: &Review, inventory: &Inventory) -> bool {
        namespace_selector_matches(&self.namespace_selector, review, inventory)
    }

    fn object_matches(&self, review: &Review) -> bool {
        object_selector_matches(&self.object_selector, review)
    }
}

fn rules(value: &Value, key: &str, path: &str) -> Result<Vec<ResourceRule>, String> {
    let items = match value.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(format!("{path}.{key} must be a list")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| ResourceRule::parse(item, &format!("{path}.{key}[{i}]")))
        .collect()
}

impl ResourceRule {
    fn parse(item: &Value, path: &str) -> Result<ResourceRule, String> {
        let strings = |key: &str| string_list(item, key, path);
        let scope_text = item.get("scope").and_then(Value::as_str);
        let scope = Scope::parse(scope_text).ok_or_else(|| {
            format!(
                "{path}.scope {:?} is not *, Cluster or Namespaced",
                scope_text.unwrap_or_default()
            )
        })?;
        Ok(ResourceRule {
            api_groups: strings("apiGroups")?,
            api_versions: strings("apiVersions")?,
            operations: strings("operations")?,
            resources: strings("resources")?,
            resource_names: strings("resourceNames")?,
            scope,
        })
    }

    /// Kubernetes' rule matching: `*` matches anything; `pods` matches the resource without a
    /// sub-resource, `pods/*` with any (or none), `*/scale` any resource's scale.
    fn matches(&self, target: &Target) -> bool {
        let listed = |list: &[String], value: &str| list.iter().any(|item| item == "*" || item == value);
        let resource = self.resources.iter().any(|entry| {
            let (resource, sub) = entry.split_once('/').unwrap_or((entry, ""));
            (resource == "*" || resource == target.resource) && (sub == "*" || sub == target.sub_resource)
        });
        let scope = self.scope.admits(target.namespace);
        listed(&self.api_groups, &target.group)
            && listed(&self.api_versions, &target.version)
            && listed(&self.operations, target.operation.as_str())
            && resource
            && scope
            && (self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == target.name))
    }
}

impl<'a> Target<'a> {
    fn of(review: &'a Review) -> Target<'a> {
        let resource = request_resource(review);
        let text = |key: &str| {
            resource
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Target {
            group: text("group"),
            version: text("version"),
            resource: text("resource"),
            sub_resource: &review.sub_resource,
            operation: review.operation,
            name: &review.name,
            namespace: &review.namespace,
        }
    }
}

/// The request's resource (`{group, version, resource}`): as the request names it, else the
/// kind's group and version with the kind made a resource name.
pub(crate) fn request_resource(review: &Review) -> Value {
    match &review.resource {
        Some(resource) if resource.get("resource").and_then(Value::as_str).is_some() => resource.clone(),
        _ => json!({
            "group": review.kind.group,
            "version": review.kind.version,
            "resource": resource_name(&review.kind.kind),
        }),
    }
}

/// The resource name of a kind: lower case, plural (`Pod` → `pods`, `Ingress` → `ingresses`,
/// `NetworkPolicy` → `networkpolicies`), as the API server's default REST mapping makes it.
pub(crate) fn resource_name(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower == "endpoints" || lower.is_empty() {
        return lower;
    }
    if lower.ends_with('s')
        || lower.ends_with('x')
        || lower.ends_with('z')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        return format!("{lower}es");
    }
    if let Some(stem) = lower.strip_suffix('y') {
        if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) {
            return format!("{stem}ies");
        }
    }
    format!("{lower}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(api_version: &str, kind: &str, namespace: &str, labels: Value) -> Review {
        Review::from_object(json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": "x", "namespace": namespace, "labels": labels}
        }))
        .unwrap()
    }

    #[test]
    fn kinds_become_resource_names() {
        let names: Vec<String> = [
            "Pod",
            "Ingress",
            "NetworkPolicy",
            "Gateway",
            "Endpoints",
            "StorageClass",
            "Deployment",
        ]
        .iter()
        .map(|k| resource_name(k))
        .collect();
        assert_eq!(
            names,
            [
                "pods",
                "ingresses",
                "networkpolicies",
                "gateways",
                "endpoints",
                "storageclasses",
                "deployments"
            ]
        );
    }

    #[test]
    fn rules_match_groups_versions_operations_and_resources() {
        let rules = MatchResources::parse(
            Some(&json!({
                "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}],
                "excludeResourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"], "resourceNames": ["skip-me"]}]
            })),
            "spec.matchConstraints",
        )
        .unwrap();
        let inventory = Inventory::new();
        let deployment = review("apps/v1", "Deployment", "prod", json!({}));
        assert!(rules.matches(&deployment, &inventory));
        assert!(!rules.matches(&review("v1", "Pod", "prod", json!({})), &inventory));
        let delete = Review {
            operation: Operation::Delete,
            ..deployment.clone()
        };
        assert!(!rules.matches(&delete, &inventory));
        let skipped = Review {
            name: "skip-me".into(),
            ..deployment.clone()
        };
        assert!(!rules.matches(&skipped, &inventory));
        let status = Review {
            sub_resource: "status".into(),
            ..deployment
        };
        assert!(!rules.matches(&status, &inventory));
    }

    #[test]
    fn sub_resources_and_scopes() {
        let rule = |resources: Value, scope: &str| {
            MatchResources::parse(
                Some(&json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": resources, "scope": scope}]})),
                "m",
            )
            .unwrap()
        };
        let inventory = Inventory::new();
        let pod = review("v1", "Pod", "prod", json!({}));
        let exec = Review {
            sub_resource: "exec".into(),
            ..pod.clone()
        };
        assert!(rule(json!(["pods/*"]), "*").matches(&exec, &inventory));
        assert!(rule(json!(["pods/*"]), "*").matches(&pod, &inventory));
        assert!(rule(json!(["*/exec"]), "*").matches(&exec, &inventory));
        assert!(!rule(json!(["*"]), "*").matches(&exec, &inventory));
        assert!(!rule(json!(["pods"]), "Cluster").matches(&pod, &inventory));
        assert!(rule(json!(["namespaces"]), "Cluster")
            .matches(&review("v1", "Namespace", "", json!({})), &inventory));
        assert!(MatchResources::parse(Some(&json!({"resourceRules": [{"scope": "Galaxy"}]})), "m").is_err());
    }

    #[test]
    fn selectors_read_the_namespace_and_the_object() {
        let inventory = Inventory::from_objects([json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}
        })]);
        let rules = MatchResources::parse(
            Some(&json!({
                "namespaceSelector": {"matchLabels": {"env": "prod"}},
                "objectSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
            })),
            "m",
        )
        .unwrap();
        assert!(rules.matches(&review("v1", "Pod", "prod", json!({"app": "web"})), &inventory));
        assert!(!rules.matches(&review("v1", "Pod", "prod", json!({})), &inventory));
        assert!(!rules.matches(&review("v1", "Pod", "dev", json!({"app": "web"})), &inventory));
        assert!(MatchResources::parse(
            Some(&json!({"objectSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}})),
            "m"
        )
        .unwrap_err()
        .starts_with("m.objectSelector: "));
    }
}
