//! Certificates for the webhook: a private CA, and a serving certificate it signs for the
//! webhook's Service names. The API server trusts the CA through the webhook configurations'
//! `caBundle` (see [`crate::manifest`]).
//!
//! A fresh CA is made on every call: re-running `moat admission certs` replaces both, and the
//! manifests have to be rendered again with the new `ca.crt`.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// How long the CA is valid.
const CA_VALIDITY: Duration = Duration::days(10 * 365);
/// How long the serving certificate is valid.
const SERVING_VALIDITY: Duration = Duration::days(365);
/// Validity starts this much before now, for clocks slightly behind.
const CLOCK_SKEW: Duration = Duration::hours(1);

/// The files [`generate`] writes: `ca.crt`, `ca.key`, `tls.crt`, `tls.key` (the names a
/// `kubernetes.io/tls` Secret uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// The CA certificate (PEM): what clients trust, the `caBundle`.
    pub ca_cert: PathBuf,
    /// The CA private key (PEM, PKCS#8), mode 0600.
    pub ca_key: PathBuf,
    /// The serving certificate (PEM), signed by the CA.
    pub cert: PathBuf,
    /// The serving private key (PEM, PKCS#8), mode 0600.
    pub key: PathBuf,
}

impl CertPaths {
    /// The paths [`generate`] uses in `dir`.
    pub fn in_dir(dir: &Path) -> CertPaths {
        CertPaths {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        }
    }
}

/// Certificates that cannot be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A subject alternative name is not a valid DNS name or IP address.
    #[error("invalid subject alternative name {name:?}: {message}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        message: String,
    },
    /// Key generation or signing failed.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// Which certificate.
        what: &'static str,
        /// Why.
        source: rcgen::Error,
    },
    /// A file cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The names the serving certificate covers: `<service>.<namespace>.svc`,
/// `<service>.<namespace>.svc.cluster.local`, `localhost`, `127.0.0.1`, then `extra_sans`
/// (DNS names or IP addresses), without duplicates.
pub fn serving_names(service: &str, namespace: &str, extra_sans: &[String]) -> Vec<String> {
    let mut names = vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    for extra in extra_sans {
        if !names.contains(extra) {
            names.push(extra.clone());
        }
    }
    names
}

/// Generates a CA and a serving certificate for the webhook's Service `service` in
/// `namespace` (see [`serving_names`]) into `dir` (created if needed). Each file is written
/// to a temporary file in `dir` and renamed into place; key files are mode 0600.
pub fn generate(
    dir: &Path,
    service: &str,
    namespace: &str,
    extra_sans: &[String],
) -> Result<CertPaths, CertError> {
    let names = serving_names(service, namespace, extra_sans);
    let now = OffsetDateTime::now_utc();
    let (ca, ca_pem, ca_key_pem) = make_ca(service, now)?;
    let (cert_pem, key_pem) = make_serving(&ca, service, &names, now)?;
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let paths = CertPaths::in_dir(dir);
    write_atomically(&paths.ca_key, &ca_key_pem, 0o600)?;
    write_atomically(&paths.ca_cert, &ca_pem, 0o644)?;
    write_atomically(&paths.key, &key_pem, 0o600)?;
    write_atomically(&paths.cert, &cert_pem, 0o644)?;
    Ok(paths)
}

type CaIssuer = CertifiedIssuer<'static, KeyPair>;

fn make_ca(service: &str, now: OffsetDateTime) -> Result<(CaIssuer, String, String), CertError> {
    let failed = |source| CertError::Generate {
        what: "CA certificate",
        source,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{service} admission webhook CA"));
    params.distinguished_name.push(DnType::OrganizationName, "Moat");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + CA_VALIDITY;
    let key = KeyPair::generate().map_err(failed)?;
    let key_pem = key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(params, key).map_err(failed)?;
    let pem = ca.pem();
    Ok((ca, pem, key_pem))
}

fn make_serving(
    ca: &CaIssuer,
    service: &str,
    names: &[String],
    now: OffsetDateTime,
) -> Result<(String, String), CertError> {
    let failed = |source| CertError::Generate {
        what: "serving certificate",
        source,
    };
    let mut params = CertificateParams::new(names.to_vec()).map_err(|err| {
        let bad = names
            .iter()
            .find(|name| CertificateParams::new(vec![(*name).clone()]).is_err())
            .cloned()
            .unwrap_or_default();
        CertError::Name {
            name: bad,
            message: err.to_string(),
        }
    })?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| service.to_string()),
    );
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + SERVING_VALIDITY;
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.signed_by(&key, ca).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes `contents` to a temporary file next to `path` with `mode`, then renames it over
/// `path`, so readers (a reloading webhook) see the old file or the new one, never half.
fn write_atomically(path: &Path, contents: &str, mode: u32) -> Result<(), CertError> {
    let failed = |source| CertError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // The temporary file is created 0600, so a key is never readable by others, even briefly.
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    file.write_all(contents.as_bytes()).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    set_mode(file.path(), mode).map_err(failed)?;
    file.persist(path).map_err(|err| failed(err.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_service_and_loopback() {
        let names = serving_names(
            "moat",
            "moat-system",
            &["moat.example".into(), "localhost".into()],
        );
        assert_eq!(
            names,
            [
                "moat.moat-system.svc",
                "moat.moat-system.svc.cluster.local",
                "localhost",
                "127.0.0.1",
                "moat.example"
            ]
        );
    }

    #[test]
    fn generates_pem_files_with_private_keys_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("certs");
        let paths = generate(&out, "moat", "moat-system", &["10.0.0.1".into()]).unwrap();
        assert_eq!(paths, CertPaths::in_dir(&out));
        let read = |path: &Path| std::fs::read_to_string(path).unwrap();
        assert!(read(&paths.ca_cert).starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(read(&paths.cert).starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(read(&paths.key).contains("PRIVATE KEY-----"));
        assert_ne!(read(&paths.ca_cert), read(&paths.cert));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&paths.key), 0o600);
            assert_eq!(mode(&paths.ca_key), 0o600);
            assert_eq!(mode(&paths.cert), 0o644);
        }
        let leftovers = std::fs::read_dir(&out).unwrap().count();
        assert_eq!(leftovers, 4, "only the four files are left");
    }

    #[test]
    fn a_bad_name_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(dir.path(), "moat", "ns", &["bäd.example".into()]).unwrap_err();
        assert!(err.to_string().contains("bäd.example"), "{err}");
    }
}
