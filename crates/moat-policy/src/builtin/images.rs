//! Image references and the containers of workload objects.

use moat_misconfig::dockerfile::model::ImageRef;
use moat_misconfig::kubernetes::workload::pod_template_base;
use serde_json::Value;

/// The registry Docker assumes when a reference names none.
const DEFAULT_REGISTRY: &str = "docker.io";

/// An image reference, normalised the way container runtimes read it: `nginx` is
/// `docker.io/library/nginx`, `ghcr.io/org/app:1` keeps its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// The registry host (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// The repository within it (`library/nginx`).
    pub repository: String,
    /// The tag as written, if any.
    pub tag: Option<String>,
    /// The digest as written, if any (`sha256:…`).
    pub digest: Option<String>,
}

impl ImageName {
    /// Splits and normalises a reference.
    pub fn parse(reference: &str) -> ImageName {
        let parts = ImageRef::parse(reference.trim());
        let (registry, repository) = match parts.name.split_once('/') {
            Some((first, rest)) if is_registry(first) => (first.to_string(), rest.to_string()),
            _ => (DEFAULT_REGISTRY.to_string(), parts.name.clone()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_string(),
            _ => registry,
        };
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        ImageName {
            registry,
            repository,
            tag: parts.tag,
            digest: parts.digest,
        }
    }

    /// `registry/repository`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag a runtime would pull: the written one, or `latest` when neither a tag nor a
    /// digest is written.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }
}

/// Docker's rule: the first path component is a registry when it has a `.` or `:`, or is
/// `localhost`.
fn is_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// One container of a workload.
pub(crate) struct ContainerRef<'a> {
    /// JSON pointer of the container object.
    pub pointer: String,
    /// Which list it is in (`containers`, `initContainers`, `ephemeralContainers`).
    pub list: &'static str,
    /// Its name.
    pub name: &'a str,
    /// The container object.
    pub value: &'a Value,
}

impl<'a> ContainerRef<'a> {
    /// Its `image`, or empty.
    pub fn image(&self) -> &'a str {
        self.value.get("image").and_then(Value::as_str).unwrap_or("")
    }
}

/// The container lists a pod spec may hold.
const LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The JSON pointer of the pod inside a workload object, if it is one.
pub(crate) fn pod_base(object: &Value) -> Option<&'static str> {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    pod_template_base(group, kind)
}

/// Every container of a workload object (Pod, Deployment, CronJob, …), in list order.
pub(crate) fn containers(object: &Value) -> Vec<ContainerRef<'_>> {
    let Some(base) = pod_base(object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for list in LISTS {
        let pointer = format!("{base}/spec/{list}");
        let Some(items) = object.pointer(&pointer).and_then(Value::as_array) else {
            continue;
        };
        for (index, value) in items.iter().enumerate() {
            out.push(ContainerRef {
                pointer: format!("{pointer}/{index}"),
                list,
                name: value.get("name").and_then(Value::as_str).unwrap_or(""),
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_normalised_like_a_runtime() {
        let nginx = ImageName::parse("nginx");
        assert_eq!(nginx.full_name(), "docker.io/library/nginx");
        assert_eq!(nginx.effective_tag(), Some("latest"));
        let local = ImageName::parse("localhost:5000/app:1.2@sha256:abcd");
        assert_eq!(
            (local.registry.as_str(), local.repository.as_str()),
            ("localhost:5000", "app")
        );
        assert_eq!(local.tag.as_deref(), Some("1.2"));
        assert_eq!(local.digest.as_deref(), Some("sha256:abcd"));
        let pinned = ImageName::parse("ghcr.io/org/app@sha256:ff");
        assert_eq!(pinned.effective_tag(), None);
        assert_eq!(ImageName::parse("org/app:2").full_name(), "docker.io/org/app");
    }

    #[test]
    fn containers_of_a_cronjob_carry_pointers() {
        let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "main", "image": "app:1"}]}}}}}});
        let found: Vec<(String, &str)> = containers(&cronjob)
            .iter()
            .map(|c| (c.pointer.clone(), c.image()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "/spec/jobTemplate/spec/template/spec/containers/0".to_string(),
                    "app:1"
                ),
                (
                    "/spec/jobTemplate/spec/template/spec/initContainers/0".to_string(),
                    "busybox"
                ),
            ]
        );
        assert!(containers(&json!({"apiVersion": "v1", "kind": "Service"})).is_empty());
    }
}
