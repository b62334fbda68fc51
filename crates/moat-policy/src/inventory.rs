//! What policies may know of the cluster besides the reviewed object: Gatekeeper's
//! `data.inventory`, the namespaces `namespaceSelector`s read, and ValidatingAdmissionPolicy
//! params.

use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// Objects of the cluster, given as files in CI or synced by the webhook.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    objects: Vec<Value>,
    gatekeeper: OnceLock<Value>,
    rego: OnceLock<regorus::Value>,
    id: u64,
}

/// Source of inventory ids: every inventory content gets a number no other one had.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// An inventory of these objects (those without `apiVersion`, `kind` and a name are ignored).
    pub fn from_objects(objects: impl IntoIterator<Item = Value>) -> Inventory {
        let mut inventory = Inventory::new();
        for object in objects {
            inventory.add(object);
        }
        inventory
    }

    /// Adds one object; a later object with the same kind, namespace and name replaces it.
    pub fn add(&mut self, object: Value) {
        let Some(key) = Key::of(&object) else {
            return;
        };
        self.objects
            .retain(|existing| Key::of(existing).as_ref() != Some(&key));
        self.objects.push(object);
        self.gatekeeper = OnceLock::new();
        self.rego = OnceLock::new();
        self.id = fresh_id();
    }

    /// Whether it holds no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Every object, in the order added.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// The `Namespace` object called `name`, if known.
    pub fn namespace(&self, name: &str) -> Option<&Value> {
        self.find("Namespace", None, name)
    }

    /// The object of `kind` called `name` in `namespace` (`None` for cluster-scoped objects).
    pub fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Value> {
        self.objects.iter().find(|object| {
            Key::of(object).is_some_and(|key| {
                key.kind == kind && key.name == name && key.namespace.as_deref() == namespace
            })
        })
    }

    /// Every object of `kind` (any API group), in `namespace` when one is given.
    pub fn list<'a>(
        &'a self,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |object| {
            Key::of(object).is_some_and(|key| {
                key.kind == kind && (namespace.is_none() || key.namespace.as_deref() == namespace)
            })
        })
    }

    /// `data.inventory` as Gatekeeper syncs it:
    /// `namespace[ns][apiVersion][kind][name]` and `cluster[apiVersion][kind][name]`.
    pub fn gatekeeper_data(&self) -> &Value {
        self.gatekeeper.get_or_init(|| {
            let mut namespaced = Map::new();
            let mut cluster = Map::new();
            for object in &self.objects {
                let Some(key) = Key::of(object) else { continue };
                let root = match &key.namespace {
                    Some(namespace) => entry(&mut namespaced, namespace),
                    None => &mut cluster,
                };
                let by_kind = entry(entry(root, &key.api_version), &key.kind);
                by_kind.insert(key.name.clone(), object.clone());
            }
            json!({"namespace": namespaced, "cluster": cluster})
        })
    }
}

impl Inventory {
    /// A number that changes whenever the content does (0 for an empty inventory), so the
    /// interpreter reloads its data only when needed.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// `{"inventory": ...}` as the Rego data document, converted once.
    pub(crate) fn rego_data(&self) -> &regorus::Value {
        self.rego
            .get_or_init(|| regorus::Value::from(json!({"inventory": self.gatekeeper_data().clone()})))
    }
}

fn entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let value = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("the value was just made an object"),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Key {
    api_version: String,
    kind: String,
    namespace: Option<String>,
    name: String,
}

impl Key {
    fn of(object: &Value) -> Option<Key> {
        let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        Some(Key {
            api_version: text("/apiVersion")?.to_string(),
            kind: text("/kind")?.to_string(),
            namespace: text("/metadata/namespace")
                .filter(|ns| !ns.is_empty())
                .map(str::to_string),
            name: text("/metadata/name")?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gatekeeper_data_splits_namespaced_and_cluster_objects() {
        let inventory = Inventory::from_objects([
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb", "namespace": "prod"}}),
            json!({"kind": "NoApiVersion", "metadata": {"name": "x"}}),
        ]);
        let data = inventory.gatekeeper_data();
        assert_eq!(
            data["cluster"]["v1"]["Namespace"]["prod"]["metadata"]["labels"]["env"],
            "prod"
        );
        assert_eq!(
            data["namespace"]["prod"]["policy/v1"]["PodDisruptionBudget"]["pdb"]["metadata"]["name"],
            "pdb"
        );
        assert_eq!(inventory.objects().len(), 2);
        assert!(inventory.namespace("prod").is_some());
        assert_eq!(inventory.list("PodDisruptionBudget", Some("prod")).count(), 1);
    }
}
