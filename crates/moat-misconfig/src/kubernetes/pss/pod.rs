//! Reading a pod's `metadata` and `spec` as JSON the way the Kubernetes API types read them
//! (a `null` member is the same as a missing one), plus JSON pointers to the fields read and
//! the wording helpers upstream's messages use.

use serde_json::Value;

/// The two halves of a pod (or of a workload's pod template) that the checks read.
pub(crate) struct Pod<'a> {
    /// The pod's `metadata`.
    pub metadata: &'a Value,
    /// The pod's `spec`.
    pub spec: &'a Value,
}

impl<'a> Pod<'a> {
    /// `spec.securityContext`, when set.
    pub fn security_context(&self) -> Option<&'a Value> {
        member(self.spec, "securityContext")
    }

    /// A member of `spec.securityContext`, when set.
    pub fn security_field(&self, key: &str) -> Option<&'a Value> {
        self.security_context().and_then(|context| member(context, key))
    }

    /// The pointer to `spec.securityContext.<keys...>`, or to its deepest part that exists.
    pub fn security_pointer(&self, keys: &[&str]) -> String {
        let mut full = vec!["securityContext"];
        full.extend_from_slice(keys);
        deepest_pointer("/spec", self.spec, &full)
    }

    /// Every container the admission reads: init containers, containers, ephemeral containers.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut all = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(Value::Array(items)) = member(self.spec, list) else {
                continue;
            };
            for (index, value) in items.iter().enumerate() {
                if value.is_object() {
                    all.push(Container {
                        value,
                        pointer: format!("/spec/{list}/{index}"),
                        name: text(member(value, "name")),
                    });
                }
            }
        }
        all
    }

    /// `spec.volumes`, each with its index.
    pub fn volumes(&self) -> Vec<(usize, &'a Value)> {
        match member(self.spec, "volumes") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, volume)| volume.is_object())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `metadata.annotations[key]`, when set.
    pub fn annotation(&self, key: &str) -> Option<&'a Value> {
        member(self.metadata, "annotations").and_then(|annotations| member(annotations, key))
    }

    /// Every annotation, in key order.
    pub fn annotations(&self) -> Vec<(&'a str, &'a Value)> {
        match member(self.metadata, "annotations") {
            Some(Value::Object(map)) => map
                .iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.as_str(), value))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `spec.hostUsers` is explicitly `false` (the pod runs in a user namespace).
    pub fn in_user_namespace(&self) -> bool {
        matches!(member(self.spec, "hostUsers"), Some(Value::Bool(false)))
    }

    /// Whether `spec.os.name` is `windows`.
    pub fn is_windows(&self) -> bool {
        text(member(self.spec, "os").and_then(|os| member(os, "name"))) == "windows"
    }
}

/// One container (or init or ephemeral container) of a pod.
pub(crate) struct Container<'a> {
    /// The container object.
    pub value: &'a Value,
    /// Its pointer (`/spec/containers/0`).
    pub pointer: String,
    /// Its name (empty when unset).
    pub name: String,
}

impl<'a> Container<'a> {
    /// A member of the container's `securityContext`, when set.
    pub fn security_field(&self, key: &str) -> Option<&'a Value> {
        member(self.value, "securityContext").and_then(|context| member(context, key))
    }

    /// The value at `keys` below the container, when every step is set.
    pub fn at(&self, keys: &[&str]) -> Option<&'a Value> {
        path(self.value, keys)
    }

    /// The pointer to `keys` below the container, or to its deepest part that exists.
    pub fn pointer_to(&self, keys: &[&str]) -> String {
        deepest_pointer(&self.pointer, self.value, keys)
    }

    /// The pointer to `securityContext.<keys...>`, or to its deepest part that exists.
    pub fn security_pointer(&self, keys: &[&str]) -> String {
        let mut full = vec!["securityContext"];
        full.extend_from_slice(keys);
        self.pointer_to(&full)
    }
}

/// A member of an object, treating `null` as unset.
pub(crate) fn member<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|found| !found.is_null())
}

/// The value at a path of object keys, treating `null` as unset.
pub(crate) fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |current, key| member(current, key))
}

/// Whether a value is the boolean `true`.
pub(crate) fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true)))
}

/// A scalar as text: strings as they are, numbers and booleans written out, anything else empty.
pub(crate) fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A number, or a string holding one, as an integer.
pub(crate) fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The items of an array member (empty when unset or not an array).
pub(crate) fn items(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(list)) => list,
        _ => &[],
    }
}

/// A JSON pointer token: `~` becomes `~0` and `/` becomes `~1`.
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` extended with each of `keys`, escaped.
pub(crate) fn pointer(base: &str, keys: &[&str]) -> String {
    keys.iter().fold(base.to_string(), |mut out, key| {
        out.push('/');
        out.push_str(&escape(key));
        out
    })
}

/// The pointer to the deepest prefix of `keys` that exists below `value` (which `base` points
/// at): the field itself when it is set, else its closest existing parent.
pub(crate) fn deepest_pointer(base: &str, value: &Value, keys: &[&str]) -> String {
    let mut current = value;
    let mut depth = 0;
    for key in keys {
        match member(current, key) {
            Some(next) => {
                current = next;
                depth += 1;
            }
            None => break,
        }
    }
    pointer(base, keys.get(..depth).unwrap_or_default())
}

/// `"a", "b"`: each item in double quotes, joined by commas.
pub(crate) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|item| format!("\"{}\"", item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `one` for a count of 1, `many` otherwise.
pub(crate) fn pluralize(one: &'static str, many: &'static str, count: usize) -> &'static str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// `container "a"` / `containers "a", "b"`.
pub(crate) fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// The things that set a bad value: `pod` when the pod did, then the containers that did.
pub(crate) fn setters<S: AsRef<str>>(pod_bad: bool, containers: &[S]) -> Vec<String> {
    let mut out = Vec::new();
    if pod_bad {
        out.push("pod".to_string());
    }
    if !containers.is_empty() {
        out.push(containers_phrase(containers));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deepest_pointer_stops_at_the_last_existing_part() {
        let value = json!({"securityContext": {"capabilities": null}});
        assert_eq!(
            deepest_pointer(
                "/spec/containers/0",
                &value,
                &["securityContext", "capabilities", "drop"]
            ),
            "/spec/containers/0/securityContext"
        );
        assert_eq!(deepest_pointer("/spec", &value, &["x"]), "/spec");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(
            pointer("/metadata", &["annotations", "a/b~c"]),
            "/metadata/annotations/a~1b~0c"
        );
    }

    #[test]
    fn integers_read_from_numbers_and_strings() {
        assert_eq!(integer(Some(&json!(8080))), Some(8080));
        assert_eq!(integer(Some(&json!("0"))), Some(0));
        assert_eq!(integer(Some(&json!(true))), None);
    }
}
