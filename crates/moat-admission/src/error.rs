//! The webhook's errors.

use moat_policy::PolicyError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the webhook cannot start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// The configuration file cannot be used.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The certificate or key cannot be used.
    #[error("{path}: {message}")]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Some policy files cannot be loaded (each error names file, line and policy).
    #[error("cannot load the policies:{}", lines(.0))]
    Policies(Vec<PolicyError>),
    /// Some inventory files cannot be loaded.
    #[error("cannot load the inventory:{}", lines(.0))]
    Inventory(Vec<PolicyError>),
    /// The decision log cannot be opened.
    #[error("{path}: cannot open the decision log: {source}")]
    DecisionLog {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime cannot start, or the server failed while serving.
    #[error("the HTTPS server failed: {0}")]
    Server(std::io::Error),
}

fn lines(errors: &[PolicyError]) -> String {
    errors.iter().map(|err| format!("\n  {err}")).collect()
}
