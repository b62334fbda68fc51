//! OCI / Docker manifest, index and config documents, and choosing an image out of an index.
//!
//! Only the handful of fields Moat uses are modelled (the `oci-spec` crate rejects many
//! real-world documents with missing or null fields, and configs are loosely typed in the wild),
//! so configs are read from a `serde_json::Value` field by field.

use crate::error::ArtifactError;
use crate::image::{History, ImageConfig, Platform};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Largest manifest, index or config accepted.
pub(crate) const MAX_JSON_BYTES: u64 = 16 << 20;
/// Deepest chain of nested indexes followed.
const MAX_INDEX_DEPTH: usize = 4;
/// Annotation holding the tag of an image in an OCI layout.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation containerd writes with the full image name.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    #[serde(default)]
    pub(crate) size: u64,
    #[serde(default)]
    pub(crate) platform: Option<PlatformJson>,
    #[serde(default)]
    pub(crate) annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }

    /// The image name recorded in the descriptor's annotations, if any.
    pub(crate) fn ref_name(&self) -> Option<&str> {
        self.annotation(CONTAINERD_NAME)
            .or_else(|| self.annotation(REF_NAME))
    }
}

/// The platform object of an index entry.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PlatformJson {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl PlatformJson {
    fn to_platform(&self) -> Platform {
        Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone().filter(|v| !v.is_empty()),
        }
    }
}

/// Either an image manifest or an index / manifest list.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AnyManifest {
    #[serde(rename = "mediaType", default)]
    pub(crate) media_type: Option<String>,
    #[serde(default)]
    pub(crate) manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub(crate) config: Option<Descriptor>,
    #[serde(default)]
    pub(crate) layers: Option<Vec<Descriptor>>,
}

/// Reads a blob by digest (at most `max` bytes), verified against the digest.
pub(crate) type BlobRead<'a> = dyn Fn(&str, u64) -> Result<Vec<u8>, ArtifactError> + 'a;

/// An image manifest: config plus layers.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
}

/// Parses JSON, naming `what` on failure.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ArtifactError> {
    serde_json::from_slice(bytes).map_err(|e| ArtifactError::malformed(what, e.to_string()))
}

/// Parses an image manifest (not an index).
pub(crate) fn parse_manifest(bytes: &[u8], what: &str) -> Result<Manifest, ArtifactError> {
    let any: AnyManifest = parse_json(bytes, what)?;
    match (any.config, any.layers) {
        (Some(config), Some(layers)) => Ok(Manifest { config, layers }),
        _ => Err(ArtifactError::malformed(
            what,
            "not an image manifest: no config or layers",
        )),
    }
}

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks that `bytes` hash to `digest` (sha256 only; other algorithms are refused).
pub(crate) fn verify_digest(bytes: &[u8], digest: &str, what: &str) -> Result<(), ArtifactError> {
    if !digest.starts_with("sha256:") {
        return Err(ArtifactError::malformed(
            what,
            format!("unsupported digest algorithm in {digest:?}"),
        ));
    }
    let actual = sha256_digest(bytes);
    if actual != digest {
        return Err(ArtifactError::DigestMismatch {
            what: what.to_string(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Splits a digest into a safe `(algorithm, hex)` pair usable as path components.
pub(crate) fn digest_parts<'d>(digest: &'d str, what: &str) -> Result<(&'d str, &'d str), ArtifactError> {
    let bad = || ArtifactError::malformed(what, format!("invalid digest {digest:?}"));
    let (alg, hex) = digest.split_once(':').ok_or_else(bad)?;
    let alg_ok = !alg.is_empty()
        && alg
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    let hex_ok = !hex.is_empty()
        && hex
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c));
    if alg_ok && hex_ok && alg != "." && alg != ".." {
        Ok((alg, hex))
    } else {
        Err(bad())
    }
}

/// True for index / manifest list media types, or documents that look like one.
fn is_index(descriptor: &Descriptor, doc: &AnyManifest) -> bool {
    let types = [
        descriptor.media_type.as_str(),
        doc.media_type.as_deref().unwrap_or(""),
    ];
    types
        .iter()
        .any(|t| t.contains("image.index") || t.contains("manifest.list"))
        || doc.manifests.is_some()
}

/// An image manifest found by following an index.
pub(crate) struct Resolved {
    pub(crate) manifest_digest: String,
    pub(crate) media_type: String,
    pub(crate) manifest: Manifest,
    pub(crate) ref_name: Option<String>,
}

/// Follows `start` (a descriptor from index.json) through nested indexes to an image manifest.
/// `read_blob(digest, max)` must return the verified blob.
pub(crate) fn follow_descriptor(
    start: &Descriptor,
    wanted: Option<&Platform>,
    what: &str,
    read_blob: &BlobRead<'_>,
) -> Result<Resolved, ArtifactError> {
    let ref_name = start.ref_name().map(str::to_string);
    let mut current = start.clone();
    for _ in 0..MAX_INDEX_DEPTH {
        let bytes = read_blob(&current.digest, MAX_JSON_BYTES)?;
        let doc_what = format!("manifest {} in {what}", current.digest);
        let doc: AnyManifest = parse_json(&bytes, &doc_what)?;
        if is_index(&current, &doc) {
            let manifests = doc.manifests.unwrap_or_default();
            current = select_platform(&manifests, wanted, &doc_what)?.clone();
            continue;
        }
        let media_type = doc
            .media_type
            .clone()
            .unwrap_or_else(|| current.media_type.clone());
        let manifest = parse_manifest(&bytes, &doc_what)?;
        return Ok(Resolved {
            manifest_digest: current.digest,
            media_type,
            manifest,
            ref_name,
        });
    }
    Err(ArtifactError::malformed(
        what,
        format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
    ))
}

/// Picks the descriptor of index.json to open: by tag, or the only one, or by platform.
pub(crate) fn select_from_layout<'d>(
    manifests: &'d [Descriptor],
    tag: Option<&str>,
    wanted: Option<&Platform>,
    what: &str,
) -> Result<&'d Descriptor, ArtifactError> {
    let names = || {
        manifests
            .iter()
            .filter_map(|d| d.annotation(REF_NAME).map(str::to_string))
            .collect::<Vec<_>>()
    };
    if let Some(tag) = tag {
        let found = manifests.iter().find(|d| {
            d.annotation(REF_NAME)
                .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
        });
        return found.ok_or_else(|| ArtifactError::TagNotFound {
            tag: tag.to_string(),
            path: what.to_string(),
            available: names(),
        });
    }
    match manifests {
        [] => Err(ArtifactError::malformed(what, "index.json lists no manifests")),
        [only] => Ok(only),
        _ if manifests.iter().any(|d| d.platform.is_some()) => select_platform(manifests, wanted, what),
        _ => Err(ArtifactError::malformed(
            what,
            format!(
                "holds {} images; choose one with :TAG (tags: {})",
                manifests.len(),
                names().join(", ")
            ),
        )),
    }
}

/// Picks the manifest for a platform: the wanted one, or by default linux/amd64, falling back to
/// the first linux image.
pub(crate) fn select_platform<'d>(
    manifests: &'d [Descriptor],
    wanted: Option<&Platform>,
    what: &str,
) -> Result<&'d Descriptor, ArtifactError> {
    let platform_of = |d: &Descriptor| d.platform.as_ref().map(PlatformJson::to_platform);
    let default = Platform::default();
    let target = wanted.unwrap_or(&default);
    if let Some(found) = manifests
        .iter()
        .find(|d| platform_of(d).is_some_and(|p| p.satisfies(target)))
    {
        return Ok(found);
    }
    if wanted.is_none() {
        let linux = manifests
            .iter()
            .find(|d| platform_of(d).is_some_and(|p| p.os == "linux" && p.architecture != "unknown"));
        if let Some(found) = linux.or(if manifests.len() == 1 {
            manifests.first()
        } else {
            None
        }) {
            return Ok(found);
        }
    }
    Err(ArtifactError::NoMatchingPlatform {
        wanted: target.to_string(),
        available: manifests
            .iter()
            .filter_map(|d| platform_of(d).map(|p| p.to_string()))
            .collect(),
        what: what.to_string(),
    })
}

/// The parts of an image config Moat uses.
pub(crate) struct ParsedConfig {
    pub(crate) config: ImageConfig,
    pub(crate) platform: Platform,
    pub(crate) diff_ids: Vec<String>,
}

/// Parses an image config (OCI or Docker).
pub(crate) fn parse_config(raw: Vec<u8>, what: &str) -> Result<ParsedConfig, ArtifactError> {
    let doc: serde_json::Value = parse_json(&raw, what)?;
    if !doc.is_object() {
        return Err(ArtifactError::malformed(what, "not a JSON object"));
    }
    let text =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let platform = Platform {
        os: text(&doc, "os"),
        architecture: text(&doc, "architecture"),
        variant: doc
            .get("variant")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string),
    };
    let diff_ids = string_list(doc.get("rootfs").and_then(|r| r.get("diff_ids")));
    let history = doc
        .get("history")
        .and_then(|h| h.as_array())
        .map(|items| items.iter().map(parse_history).collect())
        .unwrap_or_default();
    let null = serde_json::Value::Null;
    let cfg = doc.get("config").unwrap_or(&null);
    let labels = cfg
        .get("Labels")
        .and_then(|l| l.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let exposed_ports = cfg
        .get("ExposedPorts")
        .and_then(|p| p.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let healthcheck = cfg
        .get("Healthcheck")
        .and_then(|h| h.get("Test"))
        .filter(|t| !t.is_null())
        .map(|t| string_list(Some(t)));
    let config = ImageConfig {
        user: text(cfg, "User"),
        env: string_list(cfg.get("Env")),
        exposed_ports,
        entrypoint: string_list(cfg.get("Entrypoint")),
        cmd: string_list(cfg.get("Cmd")),
        working_dir: text(cfg, "WorkingDir"),
        labels,
        healthcheck,
        history,
        raw,
    };
    Ok(ParsedConfig {
        config,
        platform,
        diff_ids,
    })
}

fn parse_history(item: &serde_json::Value) -> History {
    let text = |key: &str| item.get(key).and_then(|x| x.as_str()).unwrap_or("").to_string();
    History {
        created_by: text("created_by"),
        created: text("created"),
        empty_layer: item.get("empty_layer").and_then(|x| x.as_bool()).unwrap_or(false),
    }
}

/// A list of strings; a single string becomes a one-element list, anything else is empty.
fn string_list(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The `created_by` of each non-empty history entry, in order.
pub(crate) fn layer_history(history: &[History]) -> Vec<String> {
    history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone())
        .collect()
}
