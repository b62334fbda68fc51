use crate::{Distro, Package};
use serde::{Deserialize, Serialize};

/// What kind of thing was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A container image (any transport).
    Image,
    /// A directory or unpacked root filesystem.
    Directory,
    /// An SBOM document read back in.
    Sbom,
}

/// One layer of a scanned image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the layer blob as stored (compressed), `sha256:…`.
    pub digest: String,
    /// Digest of the uncompressed layer tar (the config's `rootfs.diff_ids`), `sha256:…`.
    pub diff_id: String,
    /// Media type of the blob.
    pub media_type: String,
    /// Size of the blob in bytes.
    pub size: u64,
    /// The build step that made it (history `created_by`), if known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
}

/// Describes the scanned target so reports can name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDescription {
    /// What kind of target it was.
    pub kind: SourceKind,
    /// The target as the user wrote it.
    pub user_input: String,
    /// A name for it: the first repo tag, the reference, or the directory path.
    pub name: String,
    /// Image id (config digest) for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Manifest digest for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// Repository tags (`name:tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Repository digests (`name@sha256:…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
    /// `os/architecture[/variant]` of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Layers, bottom first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerInfo>,
}

impl SourceDescription {
    /// A description with only the kind, the target as written and a name; no image facts.
    pub fn new(
        kind: SourceKind,
        user_input: impl Into<String>,
        name: impl Into<String>,
    ) -> SourceDescription {
        SourceDescription {
            kind,
            user_input: user_input.into(),
            name: name.into(),
            image_id: None,
            manifest_digest: None,
            tags: Vec::new(),
            repo_digests: Vec::new(),
            platform: None,
            layers: Vec::new(),
        }
    }
}

/// A problem that did not stop the scan: a file that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// The file (and layer) concerned.
    pub path: String,
    /// The layer diff id, when scanning an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Everything found in one target: the build-time inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// What was scanned.
    pub source: SourceDescription,
    /// The distribution, when one was detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// Packages, sorted by [`Package::sort_key`].
    pub packages: Vec<Package>,
    /// Files that could not be read or parsed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl Inventory {
    /// Sorts packages and warnings into their canonical order so output is deterministic.
    pub fn normalize(&mut self) {
        self.packages.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.packages.dedup_by(|a, b| a.sort_key() == b.sort_key());
        self.warnings.sort();
        self.warnings.dedup();
    }
}
