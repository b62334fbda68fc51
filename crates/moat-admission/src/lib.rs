//! Moat's Kubernetes admission webhook.
//!
//! An HTTPS server (axum on rustls) that answers `admission.k8s.io/v1` AdmissionReviews with
//! the policies of a [`moat_policy::PolicySet`]:
//!
//! - `POST /validate`: validating policies. A `deny` violation denies the request (403, one
//!   line per policy); `warn` violations come back as warnings. In audit [`Mode`] everything
//!   is allowed and every violation is a warning.
//! - `POST /mutate`: mutating built-in policies; their patches come back as a base64 JSON
//!   patch, checked to apply to the object first.
//! - `GET /healthz` (serving), `GET /readyz` (policies loaded), `GET /metrics` (Prometheus).
//!
//! A policy that fails or runs out of time is decided by the [`FailurePolicy`]; exempt
//! namespaces, users and groups are allowed without evaluation. Every decision is a JSON line
//! in the decision log. The configuration, policy, inventory and certificate files are polled
//! and reloaded when they change; a set that does not load is rejected and the previous one
//! stays active.
//!
//! ```no_run
//! use moat_admission::{Config, ServeOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let paths = moat_admission::certs::generate("certs".as_ref(), "moat-admission", "moat-system", &[])?;
//! let config = Config::load("admission.yaml".as_ref())?;
//! moat_admission::serve(config, ServeOptions::default())?; // until SIGTERM
//! # let _ = paths; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod active;
pub mod certs;
mod config;
mod decide;
mod decision_log;
mod error;
pub mod manifest;
mod metrics;
mod server;
mod tls;
mod wire;

pub use config::{Config, ConfigError, Exemptions, FailurePolicy, LogTarget, Mode, NamePattern, TlsFiles};
pub use error::AdmissionError;
pub use server::{serve, ServeOptions, Server, ServerHandle};
pub use tls::install_crypto_provider;
