//! Opening targets and walking image layers, whatever the transport.

use crate::archive::TarFile;
use crate::error::ArtifactError;
use crate::oci::{self, Descriptor, Resolved, MAX_JSON_BYTES};
use crate::registry::RegistryClient;
use crate::target::{RegistryReference, Target};
use crate::walk::{walk_layer_with_progress, Compression, Entry, Limits};
use moat_core::LayerInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// An image platform: `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture, e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// Architecture variant, e.g. `v8`.
    pub variant: Option<String>,
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Platform {
        Platform {
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            variant: None,
        }
    }
}

impl Platform {
    /// Parses `os/architecture[/variant]`, e.g. `linux/arm64/v8`.
    pub fn parse(s: &str) -> Result<Platform, ArtifactError> {
        let bad = || ArtifactError::InvalidTarget {
            input: s.to_string(),
            message: "platform must be os/architecture[/variant]".to_string(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: Some(variant.to_string()),
                })
            }
            _ => Err(bad()),
        }
    }

    /// True when this platform is what `wanted` asks for (a wanted variant must match exactly).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Receives progress of layer reads (bytes of compressed input consumed).
pub trait Progress: Send + Sync {
    /// A layer read starts; `total_bytes` is its compressed size when known.
    fn begin(&self, label: &str, total_bytes: Option<u64>);
    /// `bytes` more compressed bytes were consumed.
    fn advance(&self, bytes: u64);
    /// The layer read ended (successfully or not).
    fn end(&self);
}

/// How to open a target.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// Allow plain HTTP and unverified TLS for registries.
    pub insecure: bool,
    /// The platform to pick from multi-platform images (default: linux/amd64, else the first linux one).
    pub platform: Option<Platform>,
    /// Where layer-read progress goes.
    pub progress: Option<Arc<dyn Progress>>,
    /// Docker credentials file (default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Bounds on everything read.
    pub limits: Limits,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("insecure", &self.insecure)
            .field("platform", &self.platform)
            .field("progress", &self.progress.is_some())
            .field("docker_config", &self.docker_config)
            .field("limits", &self.limits)
            .finish()
    }
}

/// An opened target.
// One value per scan: boxing the image would only complicate matching on it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Opened {
    /// A container image.
    Image(Image),
    /// A directory to walk with [`crate::walk_directory`].
    Directory(PathBuf),
    /// An SBOM document to read back.
    Sbom(PathBuf),
    /// One regular file to walk with [`crate::walk_file`].
    File(PathBuf),
}

/// One image history entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct History {
    /// The build step (`RUN …`, `COPY …`).
    pub created_by: String,
    /// True when the step made no layer.
    pub empty_layer: bool,
    /// Creation time (RFC 3339) as written.
    pub created: String,
}

/// Parsed image config (OCI / Docker), the parts Moat uses, plus the raw JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImageConfig {
    /// `User`; empty when unset (root).
    pub user: String,
    /// `Env` as `NAME=value`.
    pub env: Vec<String>,
    /// `ExposedPorts` keys, e.g. `22/tcp`.
    pub exposed_ports: Vec<String>,
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `WorkingDir`.
    pub working_dir: String,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `Healthcheck.Test`, when a health check is set.
    pub healthcheck: Option<Vec<String>>,
    /// `history`, including empty layers.
    pub history: Vec<History>,
    /// The config document exactly as stored.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// What is known about an image before any layer is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageMetadata {
    /// Digest of the image manifest (OCI layouts and registries; `None` for docker-archive).
    pub manifest_digest: Option<String>,
    /// Digest of the config blob: the image id.
    pub config_digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// `name:tag` names the image carries.
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` names (registry images).
    pub repo_digests: Vec<String>,
    /// The image's platform, from its config.
    pub platform: Platform,
    /// The parsed config.
    pub config: ImageConfig,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

/// Where an image's blobs are read from.
enum Backend {
    /// Layers are members of a docker-archive, named per layer.
    DockerArchive { archive: TarFile, members: Vec<String> },
    /// An OCI image layout directory.
    OciLayout { dir: PathBuf },
    /// A tar of an OCI image layout.
    OciArchive { archive: TarFile },
    /// A registry.
    Registry(Box<RegistryClient>),
}

/// An opened container image: metadata plus streaming access to its layers.
pub struct Image {
    /// Everything known before reading layers.
    pub metadata: ImageMetadata,
    backend: Backend,
    /// The target for messages (`debian-app.tar`, `ghcr.io/a/b:1`).
    shown: String,
    limits: Limits,
    progress: Option<Arc<dyn Progress>>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("source", &self.shown)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// Opens a target: images are read up to their metadata, directories and SBOMs are checked to exist.
pub fn open(target: &Target, options: &OpenOptions) -> Result<Opened, ArtifactError> {
    match target {
        Target::DockerArchive(path) => open_docker_archive(path, options).map(Opened::Image),
        Target::OciLayout { dir, tag } => open_oci_layout(dir, tag.as_deref(), options).map(Opened::Image),
        Target::OciArchive { file, tag } => {
            open_oci_archive(file, tag.as_deref(), options).map(Opened::Image)
        }
        Target::Registry(reference) => open_registry(reference, options).map(Opened::Image),
        Target::Directory(dir) => {
            let meta = std::fs::metadata(dir).map_err(|e| ArtifactError::io(dir.display().to_string(), e))?;
            if !meta.is_dir() {
                return Err(ArtifactError::InvalidTarget {
                    input: dir.display().to_string(),
                    message: "not a directory".to_string(),
                });
            }
            Ok(Opened::Directory(dir.clone()))
        }
        Target::Sbom(file) => {
            File::open(file).map_err(|e| ArtifactError::io(file.display().to_string(), e))?;
            Ok(Opened::Sbom(file.clone()))
        }
        Target::File(file) => {
            let meta =
                std::fs::metadata(file).map_err(|e| ArtifactError::io(file.display().to_string(), e))?;
            if !meta.is_file() {
                return Err(ArtifactError::InvalidTarget {
                    input: file.display().to_string(),
                    message: "not a regular file".to_string(),
                });
            }
            Ok(Opened::File(file.clone()))
        }
    }
}

impl Image {
    /// An opened image reading through `backend` with the limits and progress of `options`.
    fn new(metadata: ImageMetadata, backend: Backend, shown: String, options: &OpenOptions) -> Image {
        Image {
            metadata,
            backend,
            shown,
            limits: options.limits,
            progress: options.progress.clone(),
        }
    }

    /// Streams layer `index` (0 = bottom), decompressing gzip/zstd/none (detected by magic bytes, not trusted media type),
    /// checking the blob digest while reading where it can (registry), and calls `visit` for each entry in tar order.
    pub fn walk_layer(
        &self,
        index: usize,
        visit: &mut dyn FnMut(&mut Entry<'_>) -> Result<(), ArtifactError>,
    ) -> Result<(), ArtifactError> {
        let count = self.metadata.layers.len();
        let layer = self
            .metadata
            .layers
            .get(index)
            .ok_or(ArtifactError::NoSuchLayer { index, count })?;
        let label = format!("#{index} {} of {}", layer.digest, self.shown);
        let reader = self.layer_reader(index, layer)?;
        let progress = self.progress.as_deref();
        if let Some(p) = progress {
            p.begin(&label, Some(layer.size));
        }
        let result = walk_layer_with_progress(reader, &label, &self.limits, progress, visit);
        if let Some(p) = progress {
            p.end();
        }
        result
    }

    /// The compressed blob of a layer.
    fn layer_reader(&self, index: usize, layer: &LayerInfo) -> Result<Box<dyn Read + Send>, ArtifactError> {
        match &self.backend {
            Backend::DockerArchive { archive, members } => {
                let member = members.get(index).ok_or(ArtifactError::NoSuchLayer {
                    index,
                    count: members.len(),
                })?;
                archive.reader(member)
            }
            Backend::OciLayout { dir } => {
                let path = blob_path(dir, &layer.digest, &self.shown)?;
                let file = File::open(&path).map_err(|e| missing_or_io(&layer.digest, &path, e))?;
                Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
            }
            Backend::OciArchive { archive } => {
                archive.reader(&archive_blob_name(&layer.digest, &self.shown)?)
            }
            Backend::Registry(client) => client.blob_reader(&layer.digest),
        }
    }
}

/// `manifest.json` entry of a docker-archive.
#[derive(serde::Deserialize)]
struct DockerManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

fn open_docker_archive(path: &Path, options: &OpenOptions) -> Result<Image, ArtifactError> {
    let archive = TarFile::open(path, &options.limits)?;
    let shown = archive.shown().to_string();
    let what = format!("manifest.json in {shown}");
    if !archive.contains("manifest.json")? {
        return Err(ArtifactError::NotAnImage {
            path: shown,
            reason: "no manifest.json in the tar".to_string(),
        });
    }
    let manifests: Vec<DockerManifest> =
        oci::parse_json(&archive.read_small("manifest.json", MAX_JSON_BYTES)?, &what)?;
    if manifests.len() > 1 {
        tracing::warn!(
            "{shown} holds {} images; reading the first ({})",
            manifests.len(),
            manifests[0].repo_tags.as_deref().unwrap_or_default().join(", ")
        );
    }
    let manifest = manifests
        .into_iter()
        .next()
        .ok_or_else(|| ArtifactError::malformed(&what, "lists no images"))?;
    let raw_config = archive.read_small(&manifest.config, MAX_JSON_BYTES)?;
    let config_digest = oci::sha256_digest(&raw_config);
    if let Some(named) = digest_from_name(&manifest.config) {
        oci::verify_digest(
            &raw_config,
            &named,
            &format!("config {} in {shown}", manifest.config),
        )?;
    }
    let parsed = oci::parse_config(raw_config, &format!("config {} in {shown}", manifest.config))?;
    check_layer_count(manifest.layers.len(), parsed.diff_ids.len(), &shown)?;
    let history = oci::layer_history(&parsed.config.history);
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for (i, member) in manifest.layers.iter().enumerate() {
        let diff_id = parsed.diff_ids.get(i).cloned().unwrap_or_default();
        let compression = member_compression(&archive, member)?;
        let digest = match digest_from_name(member) {
            Some(d) => d,
            None if compression == Compression::None && !diff_id.is_empty() => diff_id.clone(),
            None => hash_member(&archive, member)?,
        };
        let media_type = match compression {
            Compression::Gzip => DOCKER_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
            Compression::None => DOCKER_LAYER_TAR,
        };
        layers.push(LayerInfo {
            digest,
            diff_id,
            media_type: media_type.to_string(),
            size: archive.size(member)?,
            created_by: history.get(i).cloned().unwrap_or_default(),
        });
    }
    let metadata = ImageMetadata {
        manifest_digest: None,
        config_digest,
        media_type: DOCKER_MANIFEST_V2.to_string(),
        repo_tags: manifest.repo_tags.unwrap_or_default(),
        repo_digests: Vec::new(),
        platform: parsed.platform,
        config: parsed.config,
        layers,
    };
    let backend = Backend::DockerArchive {
        archive,
        members: manifest.layers,
    };
    Ok(Image::new(metadata, backend, shown, options))
}

/// A manifest and its config must agree on the number of layers.
fn check_layer_count(layers: usize, diff_ids: usize, shown: &str) -> Result<(), ArtifactError> {
    if layers != diff_ids {
        return Err(ArtifactError::malformed(
            format!("image {shown}"),
            format!("manifest lists {layers} layers but the config has {diff_ids} diff_ids"),
        ));
    }
    Ok(())
}

/// Compression of an archive member, from its first bytes.
fn member_compression(archive: &TarFile, member: &str) -> Result<Compression, ArtifactError> {
    let mut magic = Vec::with_capacity(4);
    archive
        .reader(member)?
        .take(4)
        .read_to_end(&mut magic)
        .map_err(|e| ArtifactError::io(format!("{member} in {}", archive.shown()), e))?;
    Ok(Compression::detect(&magic))
}

/// sha256 of a whole member, streamed.
fn hash_member(archive: &TarFile, member: &str) -> Result<String, ArtifactError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut reader = archive.reader(member)?;
    std::io::copy(&mut reader, &mut hasher)
        .map_err(|e| ArtifactError::io(format!("{member} in {}", archive.shown()), e))?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// The digest a member's name carries: `blobs/sha256/<hex>`, `<hex>.json`, `<hex>.tar.gz`, …
fn digest_from_name(name: &str) -> Option<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base.split('.').next().unwrap_or(base);
    let is_hex = stem.len() == 64
        && stem
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    is_hex.then(|| format!("sha256:{stem}"))
}

/// Path of a blob in an OCI layout, with the digest checked to be path-safe.
fn blob_path(dir: &Path, digest: &str, shown: &str) -> Result<PathBuf, ArtifactError> {
    let (alg, hex) = oci::digest_parts(digest, &format!("OCI layout {shown}"))?;
    Ok(dir.join("blobs").join(alg).join(hex))
}

/// Member name of a blob in an OCI archive.
fn archive_blob_name(digest: &str, shown: &str) -> Result<String, ArtifactError> {
    let (alg, hex) = oci::digest_parts(digest, &format!("OCI archive {shown}"))?;
    Ok(format!("blobs/{alg}/{hex}"))
}

fn missing_or_io(digest: &str, path: &Path, error: std::io::Error) -> ArtifactError {
    if error.kind() == std::io::ErrorKind::NotFound {
        ArtifactError::MissingBlob {
            digest: digest.to_string(),
            path: path.display().to_string(),
        }
    } else {
        ArtifactError::io(path.display().to_string(), error)
    }
}

/// Reads a small blob from an OCI layout directory, verifying its digest.
fn read_layout_blob(dir: &Path, shown: &str, digest: &str, max: u64) -> Result<Vec<u8>, ArtifactError> {
    let path = blob_path(dir, digest, shown)?;
    let file = File::open(&path).map_err(|e| missing_or_io(digest, &path, e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ArtifactError::io(path.display().to_string(), e))?;
    if bytes.len() as u64 > max {
        return Err(ArtifactError::TooLarge {
            what: format!("blob {}", path.display()),
            limit: max,
        });
    }
    oci::verify_digest(&bytes, digest, &format!("blob {}", path.display()))?;
    Ok(bytes)
}

/// Reads a small blob from an OCI archive, verifying its digest.
fn read_archive_blob(archive: &TarFile, digest: &str, max: u64) -> Result<Vec<u8>, ArtifactError> {
    let name = archive_blob_name(digest, archive.shown())?;
    let bytes = archive.read_small(&name, max).map_err(|e| match e {
        ArtifactError::MissingBlob { path, .. } => ArtifactError::MissingBlob {
            digest: digest.to_string(),
            path,
        },
        other => other,
    })?;
    oci::verify_digest(&bytes, digest, &format!("blob {name} in {}", archive.shown()))?;
    Ok(bytes)
}

fn open_oci_layout(dir: &Path, tag: Option<&str>, options: &OpenOptions) -> Result<Image, ArtifactError> {
    let shown = dir.display().to_string();
    let layout = dir.join("oci-layout");
    if !layout.is_file() {
        return Err(ArtifactError::NotAnImage {
            path: shown,
            reason: "no oci-layout file in the directory".to_string(),
        });
    }
    let index_path = dir.join("index.json");
    let index_bytes = read_file_bounded(&index_path, MAX_JSON_BYTES)?;
    let read_blob = |digest: &str, max: u64| read_layout_blob(dir, &shown, digest, max);
    let resolved = resolve_layout(&index_bytes, tag, options, &shown, &read_blob)?;
    let metadata = layout_metadata(resolved, &shown, &read_blob)?;
    let backend = Backend::OciLayout {
        dir: dir.to_path_buf(),
    };
    Ok(Image::new(metadata, backend, shown, options))
}

fn open_oci_archive(file: &Path, tag: Option<&str>, options: &OpenOptions) -> Result<Image, ArtifactError> {
    let archive = TarFile::open(file, &options.limits)?;
    let shown = archive.shown().to_string();
    if !archive.contains("index.json")? {
        return Err(ArtifactError::NotAnImage {
            path: shown,
            reason: "no index.json in the tar".to_string(),
        });
    }
    let index_bytes = archive.read_small("index.json", MAX_JSON_BYTES)?;
    let read_blob = |digest: &str, max: u64| read_archive_blob(&archive, digest, max);
    let resolved = resolve_layout(&index_bytes, tag, options, &shown, &read_blob)?;
    let metadata = layout_metadata(resolved, &shown, &read_blob)?;
    let backend = Backend::OciArchive { archive };
    Ok(Image::new(metadata, backend, shown, options))
}

fn read_file_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ArtifactError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| ArtifactError::io(&shown, e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ArtifactError::io(&shown, e))?;
    if bytes.len() as u64 > max {
        return Err(ArtifactError::TooLarge {
            what: shown,
            limit: max,
        });
    }
    Ok(bytes)
}

/// index.json → (tag) → descriptor → (platform) → image manifest.
fn resolve_layout(
    index_bytes: &[u8],
    tag: Option<&str>,
    options: &OpenOptions,
    shown: &str,
    read_blob: &oci::BlobRead<'_>,
) -> Result<Resolved, ArtifactError> {
    let what = format!("index.json in {shown}");
    let index: oci::AnyManifest = oci::parse_json(index_bytes, &what)?;
    let manifests: Vec<Descriptor> = index.manifests.unwrap_or_default();
    let start = oci::select_from_layout(&manifests, tag, options.platform.as_ref(), shown)?;
    oci::follow_descriptor(start, options.platform.as_ref(), shown, read_blob)
}

/// Config and layer list of a resolved manifest.
fn layout_metadata(
    resolved: Resolved,
    shown: &str,
    read_blob: &oci::BlobRead<'_>,
) -> Result<ImageMetadata, ArtifactError> {
    let config_digest = resolved.manifest.config.digest.clone();
    let raw_config = read_blob(&config_digest, MAX_JSON_BYTES)?;
    let mut metadata = metadata_from_manifest(resolved.manifest, raw_config, shown)?;
    metadata.manifest_digest = Some(resolved.manifest_digest);
    metadata.media_type = resolved.media_type;
    metadata.repo_tags = resolved.ref_name.into_iter().collect();
    Ok(metadata)
}

/// Builds metadata from a manifest and its (verified) config.
fn metadata_from_manifest(
    manifest: oci::Manifest,
    raw_config: Vec<u8>,
    shown: &str,
) -> Result<ImageMetadata, ArtifactError> {
    let config_digest = manifest.config.digest.clone();
    let parsed = oci::parse_config(raw_config, &format!("config {config_digest} of {shown}"))?;
    check_layer_count(manifest.layers.len(), parsed.diff_ids.len(), shown)?;
    let history = oci::layer_history(&parsed.config.history);
    let layers = manifest
        .layers
        .into_iter()
        .enumerate()
        .map(|(i, d)| LayerInfo {
            digest: d.digest,
            diff_id: parsed.diff_ids.get(i).cloned().unwrap_or_default(),
            media_type: d.media_type,
            size: d.size,
            created_by: history.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    Ok(ImageMetadata {
        manifest_digest: None,
        config_digest,
        media_type: String::new(),
        repo_tags: Vec::new(),
        repo_digests: Vec::new(),
        platform: parsed.platform,
        config: parsed.config,
        layers,
    })
}

fn open_registry(reference: &RegistryReference, options: &OpenOptions) -> Result<Image, ArtifactError> {
    let client = RegistryClient::new(reference, options)?;
    let shown = reference.to_string();
    let (manifest_digest, media_type, bytes) = client.resolve_manifest()?;
    let manifest = oci::parse_manifest(&bytes, &format!("manifest {manifest_digest} of {shown}"))?;
    let raw_config = client.fetch_blob(&manifest.config.digest, MAX_JSON_BYTES)?;
    let mut metadata = metadata_from_manifest(manifest, raw_config, &shown)?;
    let name = format!("{}/{}", reference.registry, reference.repository);
    metadata.repo_tags = reference.tag.iter().map(|t| format!("{name}:{t}")).collect();
    metadata.repo_digests = vec![format!("{name}@{manifest_digest}")];
    metadata.manifest_digest = Some(manifest_digest);
    metadata.media_type = media_type;
    let backend = Backend::Registry(Box::new(client));
    Ok(Image::new(metadata, backend, shown, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_member_names() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_from_name(&format!("{hex}.tar.gz")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_from_name(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_from_name(&format!("{hex}/layer.tar")), None);
    }

    #[test]
    fn images_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Image>();
        assert_send_sync::<OpenOptions>();
    }

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").ok();
        assert_eq!(
            p.as_ref().map(|p| p.to_string()),
            Some("linux/arm64/v8".to_string())
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v8").is_err());
    }
}
