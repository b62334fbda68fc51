//! The rustls server configuration, always with the `ring` provider.

use crate::config::TlsFiles;
use crate::AdmissionError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The crypto provider every TLS configuration here uses. `ring` is the one rustls backend
/// already in the workspace's tree; naming it explicitly means no configuration depends on a
/// process-wide default, which rustls refuses to guess when several backends are compiled in.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes `ring` the process-wide rustls provider, for other TLS clients and servers in the
/// process that ask rustls for the default. Does nothing when one is installed already.
pub fn install_crypto_provider() {
    // An Err only says a provider is already installed, which is all we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads the certificate chain and key, and builds a server configuration offering HTTP/2 and
/// HTTP/1.1.
pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, AdmissionError> {
    let tls_error = |path: &std::path::Path, message: String| AdmissionError::Tls {
        path: path.to_path_buf(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|err| tls_error(&files.cert_file, format!("cannot read certificates: {err}")))?;
    if chain.is_empty() {
        return Err(tls_error(&files.cert_file, "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .map_err(|err| tls_error(&files.key_file, format!("cannot read the private key: {err}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| tls_error(&files.cert_file, err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|err| {
            tls_error(
                &files.cert_file,
                format!(
                    "the certificate and the key in {} do not make a server identity: {err}",
                    files.key_file.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
