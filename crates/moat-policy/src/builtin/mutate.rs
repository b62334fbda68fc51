//! Mutating built-ins: secure defaults for security contexts, and tags resolved to digests.

use super::images::{containers, pod_base, ImageName};
use super::DigestResolver;
use crate::Patch;
use serde_json::{json, Value};

/// The pod-level fields set when absent.
fn pod_defaults() -> [(&'static str, Value); 2] {
    [
        ("runAsNonRoot", json!(true)),
        ("seccompProfile", json!({"type": "RuntimeDefault"})),
    ]
}

/// The container-level fields set when absent.
fn container_defaults() -> [(&'static str, Value); 2] {
    [
        ("allowPrivilegeEscalation", json!(false)),
        ("capabilities", json!({"drop": ["ALL"]})),
    ]
}

fn add(path: String, value: Value) -> Patch {
    Patch {
        op: "add".into(),
        path,
        value: Some(value),
        policy: String::new(),
    }
}

/// Adds the restricted Pod Security defaults that are missing, never overriding a field the
/// object sets: `runAsNonRoot` and a `RuntimeDefault` seccomp profile for the pod,
/// `allowPrivilegeEscalation: false` and dropping all capabilities for each container.
pub(crate) fn default_security_context(object: &Value) -> Vec<Patch> {
    let Some(base) = pod_base(object) else {
        return Vec::new();
    };
    if object
        .pointer(&format!("{base}/spec"))
        .is_none_or(|s| !s.is_object())
    {
        return Vec::new();
    }
    let mut patches = fill(object, &format!("{base}/spec/securityContext"), &pod_defaults());
    for container in containers(object) {
        if container.list == "ephemeralContainers" {
            continue;
        }
        let context = format!("{}/securityContext", container.pointer);
        patches.extend(fill(object, &context, &container_defaults()));
    }
    patches
}

/// Patches that give the object at `pointer` the missing `defaults`: one `add` of the whole
/// object when it is absent, else one `add` per missing field.
fn fill(object: &Value, pointer: &str, defaults: &[(&str, Value)]) -> Vec<Patch> {
    match object.pointer(pointer) {
        None | Some(Value::Null) => {
            let whole: serde_json::Map<String, Value> = defaults
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone()))
                .collect();
            vec![add(pointer.to_string(), Value::Object(whole))]
        }
        Some(Value::Object(existing)) => defaults
            .iter()
            .filter(|(key, _)| !existing.contains_key(*key))
            .map(|(key, value)| add(format!("{pointer}/{key}"), value.clone()))
            .collect(),
        Some(_) => Vec::new(),
    }
}

/// Replaces every tag-only image with `name:tag@digest`, the digest the registry gives now.
pub(crate) fn resolve_digests(
    object: &Value,
    resolver: Option<&dyn DigestResolver>,
) -> Result<Vec<Patch>, String> {
    let mut patches = Vec::new();
    for container in containers(object) {
        let image = container.image();
        let name = ImageName::parse(image);
        if image.is_empty() || name.digest.is_some() {
            continue;
        }
        let resolver =
            resolver.ok_or("resolving tags to digests needs a registry client, and none is configured")?;
        let digest = resolver
            .resolve(image)
            .map_err(|err| format!("resolving {image:?}: {err}"))?;
        if !digest.starts_with("sha256:") && !digest.starts_with("sha512:") {
            return Err(format!(
                "resolving {image:?}: the registry gave {digest:?}, not a digest"
            ));
        }
        patches.push(Patch {
            op: "replace".into(),
            path: format!("{}/image", container.pointer),
            value: Some(json!(format!("{image}@{digest}"))),
            policy: String::new(),
        });
    }
    Ok(patches)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedDigest;

    impl DigestResolver for FixedDigest {
        fn resolve(&self, image: &str) -> Result<String, String> {
            match image {
                "nginx:1.27" => Ok("sha256:1111".into()),
                _ => Err("not found".into()),
            }
        }
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {
            "securityContext": {"runAsNonRoot": false},
            "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "securityContext": {"allowPrivilegeEscalation": true}}]}});
        let paths: Vec<(String, Value)> = default_security_context(&pod)
            .into_iter()
            .map(|p| (p.path, p.value.unwrap()))
            .collect();
        assert_eq!(
            paths,
            vec![
                (
                    "/spec/securityContext/seccompProfile".to_string(),
                    json!({"type": "RuntimeDefault"})
                ),
                (
                    "/spec/containers/0/securityContext".to_string(),
                    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
                ),
                (
                    "/spec/containers/1/securityContext/capabilities".to_string(),
                    json!({"drop": ["ALL"]})
                ),
            ]
        );
    }

    #[test]
    fn digests_replace_tags_and_failures_are_errors() {
        let pod = |image: &str| json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": image}]}});
        let patches = resolve_digests(&pod("nginx:1.27"), Some(&FixedDigest)).unwrap();
        assert_eq!(patches[0].value, Some(json!("nginx:1.27@sha256:1111")));
        assert!(resolve_digests(&pod("nginx@sha256:22"), None).unwrap().is_empty());
        assert!(resolve_digests(&pod("other:1"), Some(&FixedDigest))
            .unwrap_err()
            .contains("not found"));
        assert!(resolve_digests(&pod("nginx:1.27"), None)
            .unwrap_err()
            .contains("registry client"));
    }
}
