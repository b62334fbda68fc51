//! Deterministic identifiers and timestamps.
//!
//! SBOM formats ask for a serial number (CycloneDX), a document namespace (SPDX) and a creation
//! time. Moat derives all three from nothing that varies between runs so that two scans of the
//! same target produce byte-identical documents:
//!
//! * identifiers are a sha256 of the inventory's canonical JSON, laid out as an RFC 4122 UUID
//!   with the version nibble set to 5 (name-based, SHA) and the RFC 4122 variant bits;
//! * the timestamp is `SOURCE_DATE_EPOCH` (the reproducible-builds convention) when that
//!   variable is set, and otherwise the fixed `1970-01-01T00:00:00Z`. A wall-clock time is
//!   never used.

use crate::SbomError;
use sha2::{Digest, Sha256};

/// The environment variable that pins the creation time of generated documents.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// sha256 of the given parts, each followed by a NUL so that part boundaries matter.
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

/// The first 16 hex digits of the sha256 of `parts`: a short stable id.
pub(crate) fn short_hash(parts: &[&[u8]]) -> String {
    let full = digest(parts);
    hex::encode(&full[..8])
}

/// A UUID (v5 layout) made from the first 16 bytes of a sha256 digest.
pub(crate) fn uuid_from_digest(digest: &[u8; 32]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The creation time to write: `SOURCE_DATE_EPOCH` if set, else the Unix epoch.
pub(crate) fn creation_timestamp() -> Result<String, SbomError> {
    let value = std::env::var(SOURCE_DATE_EPOCH).ok();
    timestamp_from(value.as_deref())
}

/// Formats the value of `SOURCE_DATE_EPOCH` (or its absence) as an RFC 3339 UTC time.
pub(crate) fn timestamp_from(source_date_epoch: Option<&str>) -> Result<String, SbomError> {
    let seconds = match source_date_epoch.map(str::trim).filter(|v| !v.is_empty()) {
        None => 0,
        Some(value) => value
            .parse::<u64>()
            .ok()
            .filter(|s| *s < 253_402_300_800) // year 10000: RFC 3339 has four-digit years
            .ok_or_else(|| SbomError::InvalidSourceDateEpoch {
                value: value.to_string(),
            })?,
    };
    Ok(moat_core::time::format_rfc3339(seconds))
}

/// Replaces every character outside `[A-Za-z0-9.-]` by `-`, for SPDX ids and LicenseRefs.
pub(crate) fn sanitize_id(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "unnamed".to_string()
    } else {
        cleaned
    }
}

/// A short hash of what identifies a package, including where it was found.
pub(crate) fn package_id(package: &moat_core::Package) -> String {
    let (ty, name, version, namespace, path) = package.sort_key();
    let layer = package
        .locations
        .first()
        .and_then(|l| l.layer.as_deref())
        .unwrap_or("");
    short_hash(&[
        ty.as_str().as_bytes(),
        name.as_bytes(),
        version.as_bytes(),
        namespace.as_bytes(),
        path.as_bytes(),
        layer.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_defaults_to_epoch() {
        assert_eq!(timestamp_from(None).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp_from(Some("")).unwrap(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn timestamp_follows_source_date_epoch() {
        assert_eq!(
            timestamp_from(Some("1700000000")).unwrap(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(timestamp_from(Some("951782400")).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(
            timestamp_from(Some("4107542399")).unwrap(),
            "2100-02-28T23:59:59Z"
        );
    }

    #[test]
    fn bad_source_date_epoch_is_an_error() {
        for bad in ["-1", "yesterday", "1.5", "99999999999999999999"] {
            assert!(timestamp_from(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let uuid = uuid_from_digest(&digest(&[b"x"]));
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'5');
        assert!(matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uuid, uuid_from_digest(&digest(&[b"y"])));
    }

    #[test]
    fn ids_are_sanitized() {
        assert_eq!(sanitize_id("@scope/name_1"), "-scope-name-1");
        assert_eq!(sanitize_id(""), "unnamed");
    }
}
