//! Policy engines shared by CI gates (`moat policy eval`) and the admission webhook.
//!
//! Every engine answers the same question: given a [`Review`] (an object, or an admission
//! request about one), which policies does it violate, with which enforcement [`Action`]?
//!
//! - [`builtin`]: Moat's own policies (Pod Security Standards, allowed registries, digests, no
//!   `latest`, required labels, resource limits, a scan gate), each with parameters.
//! - [`gatekeeper`]: OPA Gatekeeper `ConstraintTemplate`s and constraints, with Rego evaluated by
//!   a Rego v1 interpreter and Gatekeeper's `input.review`, `match` and `enforcementAction`.
//! - [`cel`]: Kubernetes `ValidatingAdmissionPolicy` and its bindings, and Gatekeeper's
//!   `K8sNativeValidation` (CEL) code.
//!
//! [`PolicySet`] loads any mix of them from YAML or JSON files and evaluates them together.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod builtin;
pub mod cel;
mod decision;
mod error;
pub mod gatekeeper;
mod inventory;
mod limits;
pub mod matching;
mod rego_compat;
mod review;
mod set;
pub mod suite;

pub use decision::{Action, Evaluation, Patch, Violation};
pub use error::{EvalError, PolicyError};
pub use inventory::Inventory;
pub use limits::Limits;
pub use review::{Gvk, Operation, Review, ReviewError, UserInfo};
pub use set::{policy_files, PolicyDocument, PolicySet, PolicySummary};
