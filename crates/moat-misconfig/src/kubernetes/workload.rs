//! The pod template inside every workload kind, and the containers in it.

use super::manifest::Resource;
use serde_json::Value;

/// Where each workload kind keeps its pod (metadata and spec), as a JSON pointer.
const POD_TEMPLATES: &[(&str, &str)] = &[
    ("Pod", ""),
    ("Deployment", "/spec/template"),
    ("StatefulSet", "/spec/template"),
    ("DaemonSet", "/spec/template"),
    ("ReplicaSet", "/spec/template"),
    ("ReplicationController", "/spec/template"),
    ("Job", "/spec/template"),
    ("CronJob", "/spec/jobTemplate/spec/template"),
];

/// API groups whose kinds of these names are the built-in workloads (CRDs reusing a name are not).
const WORKLOAD_GROUPS: &[&str] = &["", "apps", "extensions", "batch"];

/// The container lists of a pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerGroup {
    /// `containers`.
    App,
    /// `initContainers`.
    Init,
    /// `ephemeralContainers`.
    Ephemeral,
}

impl ContainerGroup {
    /// The field name in the pod spec.
    pub fn field(self) -> &'static str {
        match self {
            ContainerGroup::App => "containers",
            ContainerGroup::Init => "initContainers",
            ContainerGroup::Ephemeral => "ephemeralContainers",
        }
    }
}

/// The pod a workload runs: the template's metadata and spec, and where they are.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The workload.
    pub resource: &'a Resource,
    /// JSON pointer of the pod (`""` for a Pod, `/spec/template` for a Deployment).
    pub base: &'static str,
    /// The pod's metadata (`Value::Null` when absent).
    pub metadata: &'a Value,
    /// The pod spec.
    pub spec: &'a Value,
}

/// One container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// Which list it is in.
    pub group: ContainerGroup,
    /// Its index in that list.
    pub index: usize,
    /// Its `name` (empty when missing).
    pub name: &'a str,
    /// The container object.
    pub value: &'a Value,
}

static NULL: Value = Value::Null;

/// The JSON pointer of the pod (its `metadata` and `spec`) inside a workload of this API group
/// and kind: `""` for a Pod, `/spec/template` for a Deployment, `None` for other kinds.
pub fn pod_template_base(api_group: &str, kind: &str) -> Option<&'static str> {
    if !WORKLOAD_GROUPS.contains(&api_group) {
        return None;
    }
    POD_TEMPLATES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, base)| *base)
}

/// The pod template of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// ReplicationController, Job, CronJob), or `None` for other kinds.
pub fn pod_template(resource: &Resource) -> Option<PodTemplate<'_>> {
    let base = pod_template_base(resource.api_group(), &resource.kind)?;
    let spec = resource
        .get(&format!("{base}/spec"))
        .filter(|spec| spec.is_object())?;
    let metadata = resource.get(&format!("{base}/metadata")).unwrap_or(&NULL);
    Some(PodTemplate {
        resource,
        base,
        metadata,
        spec,
    })
}

impl<'a> PodTemplate<'a> {
    /// The JSON pointer (relative to the resource) of a field of the pod spec (`/containers/0`).
    pub fn spec_pointer(&self, relative: &str) -> String {
        format!("{}/spec{relative}", self.base)
    }

    /// The JSON pointer of a field relative to the pod itself (`/spec/...`, `/metadata/...`).
    pub fn pod_pointer(&self, relative: &str) -> String {
        format!("{}{relative}", self.base)
    }

    /// Whether the pod runs to completion (Job, CronJob), so probes do not apply.
    pub fn runs_to_completion(&self) -> bool {
        matches!(self.resource.kind.as_str(), "Job" | "CronJob")
    }

    /// The containers of the given lists, in order.
    pub fn containers(&self, groups: &[ContainerGroup]) -> Vec<Container<'a>> {
        let mut found = Vec::new();
        for &group in groups {
            let Some(list) = self.spec.get(group.field()).and_then(Value::as_array) else {
                continue;
            };
            for (index, value) in list.iter().enumerate() {
                if !value.is_object() {
                    continue;
                }
                let name = value.get("name").and_then(Value::as_str).unwrap_or("");
                found.push(Container {
                    group,
                    index,
                    name,
                    value,
                });
            }
        }
        found
    }
}

impl Container<'_> {
    /// The JSON pointer of a field of the container, relative to the pod spec
    /// (`/containers/0/image`).
    pub fn pointer(&self, field: &str) -> String {
        format!("/{}/{}{field}", self.group.field(), self.index)
    }

    /// How messages name it: `container "app"` or `init container "setup"`.
    pub fn label(&self) -> String {
        let noun = match self.group {
            ContainerGroup::App => "container",
            ContainerGroup::Init => "init container",
            ContainerGroup::Ephemeral => "ephemeral container",
        };
        format!("{noun} \"{}\"", self.name)
    }
}
