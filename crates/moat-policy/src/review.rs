//! The neutral request every engine evaluates: an object, or an admission request about one.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Group, version and kind of an object (`apps`, `v1`, `Deployment`; the core group is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gvk {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version within the group.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` (`apps/v1`, `v1`) and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The `apiVersion` spelling: `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The operation an admission request is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object (also what a manifest checked in CI stands for).
    #[default]
    Create,
    /// A change to an existing object.
    Update,
    /// A deletion; the object is the old one.
    Delete,
    /// A connect (exec, attach, port-forward).
    Connect,
}

impl Operation {
    /// Kubernetes' spelling (`CREATE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

/// Who made the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name (`system:serviceaccount:kube-system:replicaset-controller`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// User uid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// An object or admission request that cannot be reviewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReviewError(pub String);

/// What the policies look at: Kubernetes' `AdmissionRequest`, reduced to what policies use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// The request uid (empty for a manifest).
    pub uid: String,
    /// The object's group, version and kind.
    pub kind: Gvk,
    /// The resource (`pods`), when the request names it.
    pub resource: Option<Value>,
    /// The sub-resource (`status`, `exec`), when there is one.
    pub sub_resource: String,
    /// `metadata.name` (or the request's `name`).
    pub name: String,
    /// The namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// The operation.
    pub operation: Operation,
    /// Who asked.
    pub user_info: UserInfo,
    /// The object (for DELETE, the old object).
    pub object: Value,
    /// The object before an UPDATE or DELETE.
    pub old_object: Option<Value>,
    /// Whether the request is a dry run.
    pub dry_run: bool,
    /// The operation's options (`CreateOptions`), when given.
    pub options: Option<Value>,
}

impl Review {
    /// A review of an object as a CREATE, the way `gator` and `moat policy eval` see manifests.
    pub fn from_object(object: Value) -> Result<Review, ReviewError> {
        let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        if api_version.is_empty() || kind.is_empty() {
            return Err(ReviewError("the object has no apiVersion or kind".into()));
        }
        let metadata = |key: &str| {
            object
                .pointer(&format!("/metadata/{key}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(Review {
            kind: Gvk::from_api_version(api_version, kind),
            name: metadata("name"),
            namespace: metadata("namespace"),
            ..Review::with_object(object)
        })
    }

    fn with_object(object: Value) -> Review {
        Review {
            object,
            ..Review::default()
        }
    }

    /// A review of the `request` of an `admission.k8s.io/v1` AdmissionReview.
    pub fn from_admission_request(request: &Value) -> Result<Review, ReviewError> {
        let request = request
            .as_object()
            .ok_or_else(|| ReviewError("the request is not an object".into()))?;
        let field = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or("");
        let present = |key: &str| request.get(key).filter(|v| !v.is_null()).cloned();
        let old_object = present("oldObject");
        let object = present("object")
            .or_else(|| old_object.clone())
            .unwrap_or(Value::Null);
        // A request without `kind` (hand-written reviews, as in test suites) takes the object's.
        let kind: Gvk = match request.get("kind") {
            Some(kind) => serde_json::from_value(kind.clone())
                .map_err(|err| ReviewError(format!("request.kind: {err}")))?,
            None => match Review::from_object(object.clone()) {
                Ok(review) => review.kind,
                Err(_) => {
                    return Err(ReviewError(
                        "the request has no kind, and no object with one".into(),
                    ))
                }
            },
        };
        let from_object = |key: &str| {
            object
                .pointer(&format!("/metadata/{key}"))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        let operation = match field("operation") {
            "" | "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            other => return Err(ReviewError(format!("unknown operation {other:?}"))),
        };
        let user_info = match request.get("userInfo") {
            Some(user) => serde_json::from_value(user.clone())
                .map_err(|err| ReviewError(format!("request.userInfo: {err}")))?,
            None => UserInfo::default(),
        };
        let or_object = |key: &str, field: &str| match field {
            "" => from_object(key).to_string(),
            given => given.to_string(),
        };
        Ok(Review {
            uid: field("uid").to_string(),
            kind,
            resource: present("resource"),
            sub_resource: field("subResource").to_string(),
            name: or_object("name", field("name")),
            namespace: or_object("namespace", field("namespace")),
            operation,
            user_info,
            object,
            old_object,
            dry_run: request.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
            options: present("options"),
        })
    }

    /// The object's labels (empty when it has none).
    pub fn labels(&self) -> Map<String, Value> {
        labels_of(&self.object)
    }

    /// `input.review` as Gatekeeper builds it: the AdmissionRequest's JSON, empty fields left out.
    pub fn to_request_json(&self) -> Value {
        let mut request = Map::new();
        let mut put = |key: &str, value: Value| {
            request.insert(key.to_string(), value);
        };
        if !self.uid.is_empty() {
            put("uid", json!(self.uid));
        }
        put("kind", json!(self.kind));
        if let Some(resource) = &self.resource {
            put("resource", resource.clone());
        }
        if !self.sub_resource.is_empty() {
            put("subResource", json!(self.sub_resource));
        }
        put("name", json!(self.name));
        if !self.namespace.is_empty() {
            put("namespace", json!(self.namespace));
        }
        put("operation", json!(self.operation.as_str()));
        put("userInfo", json!(self.user_info));
        put("object", self.object.clone());
        if let Some(old) = &self.old_object {
            put("oldObject", old.clone());
        }
        if self.dry_run {
            put("dryRun", json!(true));
        }
        if let Some(options) = &self.options {
            put("options", options.clone());
        }
        Value::Object(request)
    }
}

/// `metadata.labels` of an object, or an empty map.
pub(crate) fn labels_of(object: &Value) -> Map<String, Value> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_becomes_a_create_review() {
        let review = Review::from_object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"}
        }))
        .unwrap();
        assert_eq!(review.kind.group, "apps");
        assert_eq!(review.kind.api_version(), "apps/v1");
        assert_eq!((review.name.as_str(), review.namespace.as_str()), ("web", "prod"));
        let request = review.to_request_json();
        assert_eq!(request["operation"], "CREATE");
        assert_eq!(request["kind"]["kind"], "Deployment");
        assert!(request.get("oldObject").is_none());
    }

    #[test]
    fn an_object_without_a_kind_is_refused() {
        assert!(Review::from_object(json!({"metadata": {}})).is_err());
    }

    #[test]
    fn a_delete_request_reviews_the_old_object() {
        let review = Review::from_admission_request(&json!({
            "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "DELETE", "name": "p", "namespace": "ns",
            "userInfo": {"username": "alice", "groups": ["dev"]},
            "oldObject": {"kind": "Pod", "metadata": {"name": "p"}}
        }))
        .unwrap();
        assert_eq!(review.operation, Operation::Delete);
        assert_eq!(review.object["metadata"]["name"], "p");
        assert_eq!(review.user_info.groups, vec!["dev".to_string()]);
        assert!(Review::from_admission_request(&json!({"operation": "CREATE"})).is_err());
    }
}
