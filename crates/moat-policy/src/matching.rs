//! Which objects a policy applies to: label selectors (shared by every engine) and Gatekeeper's
//! constraint `match`.

use crate::{Inventory, Review};
use serde_json::{Map, Value};

/// Whether `labels` satisfy a Kubernetes `LabelSelector` (`matchLabels` and `matchExpressions`
/// with `In`, `NotIn`, `Exists`, `DoesNotExist`). An empty or absent selector matches everything.
/// A malformed selector is an error, naming the offending part.
pub fn label_selector_matches(selector: &Value, labels: &Map<String, Value>) -> Result<bool, String> {
    let Some(selector) = selector.as_object() else {
        return match selector {
            Value::Null => Ok(true),
            _ => Err("a label selector must be an object".into()),
        };
    };
    if let Some(match_labels) = selector.get("matchLabels").filter(|v| !v.is_null()) {
        let match_labels = match_labels.as_object().ok_or("matchLabels must be an object")?;
        for (key, wanted) in match_labels {
            if labels.get(key).and_then(Value::as_str) != wanted.as_str() {
                return Ok(false);
            }
        }
    }
    if let Some(expressions) = selector.get("matchExpressions").filter(|v| !v.is_null()) {
        let expressions = expressions.as_array().ok_or("matchExpressions must be a list")?;
        for expression in expressions {
            if !expression_matches(expression, labels)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn expression_matches(expression: &Value, labels: &Map<String, Value>) -> Result<bool, String> {
    let key = expression
        .get("key")
        .and_then(Value::as_str)
        .ok_or("a matchExpression needs a key")?;
    let operator = expression
        .get("operator")
        .and_then(Value::as_str)
        .ok_or("a matchExpression needs an operator")?;
    let values: Vec<&str> = expression
        .get("values")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let value = labels.get(key).and_then(Value::as_str);
    match operator {
        "In" => Ok(value.is_some_and(|v| values.contains(&v))),
        "NotIn" => Ok(!value.is_some_and(|v| values.contains(&v))),
        "Exists" => Ok(value.is_some()),
        "DoesNotExist" => Ok(value.is_none()),
        other => Err(format!("unknown matchExpression operator {other:?}")),
    }
}

/// Gatekeeper's wildcard for names and namespaces: exact, or a `*` at the start or end
/// (`kube-*`, `*-system`), at both (`*-tmp-*`, anywhere in the name), or `*` alone.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(middle) = pattern.strip_prefix('*').and_then(|p| p.strip_suffix('*')) {
        return name.contains(middle);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return name.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return name.ends_with(suffix);
    }
    pattern == name
}

/// A Gatekeeper constraint's `spec.match`: the objects a constraint (or a Moat built-in policy)
/// applies to. Every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    kinds: Vec<(Vec<String>, Vec<String>)>,
    scope: Scope,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    label_selector: Value,
    namespace_selector: Value,
    name: Option<String>,
}

/// Which objects a `scope` admits: `*`, `Cluster` (cluster-scoped) or `Namespaced`, as
/// Gatekeeper's `match.scope` and Kubernetes' resource rules both write it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Scope {
    #[default]
    All,
    Cluster,
    Namespaced,
}

impl Scope {
    /// Reads a `scope` value (absent: `*`); `None` when it is none of the three.
    pub(crate) fn parse(value: Option<&str>) -> Option<Scope> {
        match value {
            None | Some("*") => Some(Scope::All),
            Some("Cluster") => Some(Scope::Cluster),
            Some("Namespaced") => Some(Scope::Namespaced),
            Some(_) => None,
        }
    }

    /// Whether an object in `namespace` (empty: cluster-scoped) is in scope.
    pub(crate) fn admits(self, namespace: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Cluster => namespace.is_empty(),
            Scope::Namespaced => !namespace.is_empty(),
        }
    }
}

/// The optional list of strings at `object.key` (absent or null: empty); errors name the field
/// as `path.key`.
pub(crate) fn string_list(object: &Value, key: &str, path: &str) -> Result<Vec<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{path}.{key} must be a list of strings")),
        Some(_) => Err(format!("{path}.{key} must be a list")),
    }
}

impl Match {
    /// Reads `spec.match` (absent or null: everything matches).
    pub fn parse(value: Option<&Value>) -> Result<Match, String> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(Match::default());
        };
        let object = value.as_object().ok_or("match must be an object")?;
        let strings = |key: &str| string_list(value, key, "match");
        let mut kinds = Vec::new();
        if let Some(list) = object.get("kinds").filter(|v| !v.is_null()) {
            for entry in list.as_array().ok_or("match.kinds must be a list")? {
                let field = |key: &str| -> Vec<String> {
                    entry
                        .get(key)
                        .and_then(Value::as_array)
                        .map(|v| v.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default()
                };
                kinds.push((field("apiGroups"), field("kinds")));
            }
        }
        let scope_text = object.get("scope").and_then(Value::as_str);
        let scope = Scope::parse(scope_text)
            .ok_or_else(|| format!("unknown match.scope {:?}", scope_text.unwrap_or_default()))?;
        for key in ["labelSelector", "namespaceSelector"] {
            if let Some(selector) = object.get(key) {
                label_selector_matches(selector, &Map::new()).map_err(|e| format!("match.{key}: {e}"))?;
            }
        }
        Ok(Match {
            kinds,
            scope,
            namespaces: strings("namespaces")?,
            excluded_namespaces: strings("excludedNamespaces")?,
            label_selector: object.get("labelSelector").cloned().unwrap_or(Value::Null),
            namespace_selector: object.get("namespaceSelector").cloned().unwrap_or(Value::Null),
            name: object.get("name").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// Whether the reviewed object is matched. Namespace labels come from the inventory; an
    /// unknown namespace has no labels.
    pub fn matches(&self, review: &Review, inventory: &Inventory) -> bool {
        self.kind_matches(review)
            && self.scope_matches(review)
            && self.namespace_matches(review)
            && self.name_matches(review)
            && self.labels_match(review)
            && self.namespace_labels_match(review, inventory)
    }

    fn kind_matches(&self, review: &Review) -> bool {
        self.kinds.is_empty()
            || self.kinds.iter().any(|(groups, kinds)| {
                let any = |list: &[String], value: &str| {
                    list.is_empty() || list.iter().any(|item| item == "*" || item == value)
                };
                any(groups, &review.kind.group) && any(kinds, &review.kind.kind)
            })
    }

    fn scope_matches(&self, review: &Review) -> bool {
        self.scope.admits(&review.namespace)
    }

    /// `namespaces` and `excludedNamespaces` apply to namespaced objects and to Namespaces
    /// themselves (by name); other cluster-scoped objects are not filtered by them.
    fn namespace_matches(&self, review: &Review) -> bool {
        let Some(namespace) = own_namespace(review) else {
            return true;
        };
        let listed = |patterns: &[String]| patterns.iter().any(|p| glob_matches(p, namespace));
        (self.namespaces.is_empty() || listed(&self.namespaces)) && !listed(&self.excluded_namespaces)
    }

    fn name_matches(&self, review: &Review) -> bool {
        self.name
            .as_deref()
            .is_none_or(|pattern| glob_matches(pattern, &review.name))
    }

    fn labels_match(&self, review: &Review) -> bool {
        object_selector_matches(&self.label_selector, review)
    }

    fn namespace_labels_match(&self, review: &Review, inventory: &Inventory) -> bool {
        namespace_selector_matches(&self.namespace_selector, review, inventory)
    }
}

/// Whether the object's labels, or on a DELETE or UPDATE the old object's, satisfy `selector`
/// (Gatekeeper's `labelSelector`, a binding's `objectSelector`); null matches everything.
pub(crate) fn object_selector_matches(selector: &Value, review: &Review) -> bool {
    if selector.is_null() {
        return true;
    }
    let matches =
        |object: &Value| label_selector_matches(selector, &crate::review::labels_of(object)).unwrap_or(false);
    matches(&review.object) || review.old_object.as_ref().is_some_and(matches)
}

/// Whether a `namespaceSelector` holds: for namespaced objects on the namespace's labels (from
/// the inventory; an unknown namespace has none), for a Namespace on its own labels; other
/// cluster-scoped objects always match. Null matches everything.
pub(crate) fn namespace_selector_matches(selector: &Value, review: &Review, inventory: &Inventory) -> bool {
    if selector.is_null() {
        return true;
    }
    let labels = if is_namespace(review) {
        crate::review::labels_of(new_or_old(review))
    } else if review.namespace.is_empty() {
        return true;
    } else {
        inventory
            .namespace(&review.namespace)
            .map(crate::review::labels_of)
            .unwrap_or_default()
    };
    label_selector_matches(selector, &labels).unwrap_or(false)
}

/// Whether the reviewed object is a core `Namespace`.
pub(crate) fn is_namespace(review: &Review) -> bool {
    review.kind.kind == "Namespace" && review.kind.group.is_empty()
}

/// The object, or the old object when there is no new one (a DELETE).
pub(crate) fn new_or_old(review: &Review) -> &Value {
    if review.object.is_null() {
        review.old_object.as_ref().unwrap_or(&review.object)
    } else {
        &review.object
    }
}

/// The namespace an object is in, or its own name for a Namespace; `None` for other
/// cluster-scoped objects.
fn own_namespace(review: &Review) -> Option<&str> {
    if is_namespace(review) {
        Some(review.name.as_str())
    } else if review.namespace.is_empty() {
        None
    } else {
        Some(review.namespace.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(namespace: &str, labels: Value) -> Review {
        Review::from_object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": namespace, "labels": labels}
        }))
        .unwrap()
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let labels = json!({"app": "web", "tier": "front"});
        let labels = labels.as_object().unwrap();
        let check = |selector: Value| label_selector_matches(&selector, labels).unwrap();
        assert!(check(json!({})));
        assert!(check(json!({"matchLabels": {"app": "web"}})));
        assert!(!check(json!({"matchLabels": {"app": "db"}})));
        assert!(check(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]})
        ));
        assert!(check(
            json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]})
        ));
        assert!(!check(
            json!({"matchExpressions": [{"key": "env", "operator": "Exists"}]})
        ));
        assert!(check(
            json!({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]})
        ));
        assert!(label_selector_matches(
            &json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
            labels
        )
        .is_err());
    }

    #[test]
    fn match_kinds_namespaces_and_selectors() {
        let inventory = Inventory::from_objects([json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}
        })]);
        let rule = Match::parse(Some(&json!({
            "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
            "excludedNamespaces": ["kube-*"],
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
        })))
        .unwrap();
        assert!(rule.matches(&pod("prod", json!({"app": "web"})), &inventory));
        assert!(!rule.matches(&pod("prod", json!({})), &inventory));
        assert!(!rule.matches(&pod("kube-system", json!({"app": "web"})), &inventory));
        assert!(!rule.matches(&pod("dev", json!({"app": "web"})), &inventory));
        let deployment = Review::from_object(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "prod", "labels": {"app": "x"}}})).unwrap();
        assert!(!rule.matches(&deployment, &inventory));
        assert!(Match::parse(Some(&json!({"scope": "Everywhere"}))).is_err());
        assert!(glob_matches("*-system", "kube-system") && !glob_matches("kube", "kube-system"));
        assert!(glob_matches("*-tmp-*", "ci-tmp-42") && !glob_matches("*-tmp-*", "ci-42"));
    }
}
