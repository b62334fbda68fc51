//! CEL policies: Kubernetes `ValidatingAdmissionPolicy` with its bindings, and Gatekeeper's
//! `K8sNativeValidation` code.
//!
//! Expressions are parsed and interpreted by the `cel` crate with the Kubernetes extension
//! libraries of `kube-cel` (strings, lists, sets, regex, URLs, IPs, quantities, semver, format,
//! math, base64). kube-cel's `VapEvaluator` is not used: it has no composited `variables`, turns
//! evaluation errors into failed validations (so `failurePolicy` could not be honoured), escapes
//! label and annotation keys, and cannot be stopped. What this module adds:
//!
//! - matching (`matchConstraints`, a binding's `matchResources`, `matchConditions`), params from
//!   the [`Inventory`](crate::Inventory) (`paramKind`, `paramRef` by name or selector,
//!   `parameterNotFoundAction`), `validationActions` and `failurePolicy`;
//! - `variables.<name>`, computed once per evaluation and only when read;
//! - limits: expressions longer than `Limits::max_source_bytes` or nested too deeply are
//!   refused when loading, and evaluation stops at `Limits::time` (checked on every
//!   comprehension iteration and function call) and when a built string or list grows larger
//!   than `Limits::max_object_bytes`.
//!
//! There is no API server, so `authorizer` is not available: an expression using it fails
//! when evaluated, and the policy's `failurePolicy` decides what that means.

mod code;
mod evaluate;
mod gatekeeper;
mod policy;
mod program;
mod resources;
mod session;

pub use evaluate::evaluate;
pub use gatekeeper::GatekeeperCel;
pub use policy::{PolicyBinding, ValidatingPolicy};
