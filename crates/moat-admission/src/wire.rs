//! `admission.k8s.io/v1` AdmissionReview, as it comes in and goes out.
//!
//! Own serde types rather than `kube-core`'s `admission` module: that module needs
//! `k8s-openapi` (generated code for every Kubernetes API, a large compile) for four small
//! structs, and policies take the request as JSON anyway
//! ([`moat_policy::Review::from_admission_request`]), so a typed request would be turned back
//! into JSON on every call.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

/// The only AdmissionReview version the webhook speaks (what its manifests register).
pub const ADMISSION_API_VERSION: &str = "admission.k8s.io/v1";

/// An AdmissionReview whose `request` is there, with its uid.
#[derive(Debug)]
pub struct IncomingReview {
    /// `request.uid`, echoed in the response.
    pub uid: String,
    /// The `request` member, as policies read it.
    pub request: Value,
}

/// Why a body is not an AdmissionReview the webhook can answer (an HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedReview(pub String);

impl IncomingReview {
    /// Reads an AdmissionReview body.
    pub fn parse(body: &[u8]) -> Result<IncomingReview, MalformedReview> {
        let mut review: Value = serde_json::from_slice(body)
            .map_err(|err| MalformedReview(format!("the body is not JSON: {err}")))?;
        let text = |key: &str| review.get(key).and_then(Value::as_str).unwrap_or("");
        if text("kind") != "AdmissionReview" {
            return Err(MalformedReview(format!(
                "expected kind AdmissionReview, got {:?}",
                text("kind")
            )));
        }
        if text("apiVersion") != ADMISSION_API_VERSION {
            return Err(MalformedReview(format!(
                "expected apiVersion {ADMISSION_API_VERSION}, got {:?}",
                text("apiVersion")
            )));
        }
        let request = match review.get_mut("request").map(Value::take) {
            Some(request @ Value::Object(_)) => request,
            Some(_) => return Err(MalformedReview("`request` is not an object".into())),
            None => return Err(MalformedReview("the AdmissionReview has no `request`".into())),
        };
        let uid = match request.get("uid").and_then(Value::as_str) {
            Some(uid) if !uid.is_empty() => uid.to_string(),
            _ => return Err(MalformedReview("`request.uid` is missing or empty".into())),
        };
        Ok(IncomingReview { uid, request })
    }
}

/// The `response` of an AdmissionReview.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request may go on.
    pub allowed: bool,
    /// Why it may not (set when denied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Warnings shown to the client (`kubectl` prints them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `JSONPatch` when `patch` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Base64 of an RFC 6902 JSON patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

/// The part of a `metav1.Status` a webhook sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// HTTP-like code (403 for a denial).
    pub code: u16,
    /// `Failure`.
    pub status: &'static str,
    /// Machine-readable reason (`Forbidden`).
    pub reason: &'static str,
    /// What the client sees.
    pub message: String,
}

impl Status {
    /// A 403 Forbidden with this message.
    pub fn forbidden(message: String) -> Status {
        Status {
            code: 403,
            status: "Failure",
            reason: "Forbidden",
            message,
        }
    }
}

impl AdmissionResponse {
    /// Sets a JSON patch (an array of RFC 6902 operations), base64-encoded.
    pub fn with_patch(mut self, operations: &Value) -> AdmissionResponse {
        let json = operations.to_string();
        self.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
        self.patch_type = Some("JSONPatch");
        self
    }

    /// The whole AdmissionReview carrying this response.
    pub fn into_review(self) -> Value {
        serde_json::json!({
            "apiVersion": ADMISSION_API_VERSION,
            "kind": "AdmissionReview",
            "response": self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_review_gives_its_uid_and_request() {
        let body = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "abc", "kind": {"group": "", "version": "v1", "kind": "Pod"}}
        });
        let review = IncomingReview::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(review.uid, "abc");
        assert_eq!(review.request["kind"]["kind"], "Pod");
    }

    #[test]
    fn malformed_reviews_say_what_is_wrong() {
        let error = |body: &str| IncomingReview::parse(body.as_bytes()).unwrap_err().0;
        assert!(error("{").contains("not JSON"));
        assert!(
            error(r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#)
                .contains("no `request`")
        );
        assert!(error(
            r#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}"#
        )
        .contains("admission.k8s.io/v1beta1"));
        assert!(
            error(r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}"#)
                .contains("request.uid")
        );
        assert!(error(r#"{"kind": "Pod"}"#).contains("AdmissionReview"));
    }

    #[test]
    fn a_response_serializes_as_kubernetes_expects() {
        let response = AdmissionResponse {
            uid: "u".into(),
            allowed: false,
            status: Some(Status::forbidden("no".into())),
            warnings: vec![],
            patch_type: None,
            patch: None,
        }
        .with_patch(&json!([{"op": "add", "path": "/a", "value": 1}]));
        let review = response.into_review();
        assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(review["response"]["status"]["code"], 403);
        assert_eq!(review["response"]["patchType"], "JSONPatch");
        assert!(review["response"].get("warnings").is_none());
        let patch = base64::engine::general_purpose::STANDARD
            .decode(review["response"]["patch"].as_str().unwrap())
            .unwrap();
        let patch: Value = serde_json::from_slice(&patch).unwrap();
        assert_eq!(patch[0]["path"], "/a");
    }
}
