//! From an opened target to an [`Inventory`]: walk each layer once (or take it from the cache),
//! squash, enrich, detect the distribution, then name every package with a purl.

use crate::cache::LayerCache;
use crate::cataloger::SupportFiles;
use crate::layer::{LayerResult, LayerScanner};
use crate::registry::{CatalogerSet, TargetKind};
use crate::squash::{squash, Squashed};
use moat_artifact::{walk_directory, ArtifactError, Image, Limits};
use moat_core::{Inventory, Package, SourceDescription, SourceKind};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How to run the catalog.
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// Where per-layer results are cached; `None` disables the cache.
    pub cache: Option<LayerCache>,
    /// How many layers to walk at once.
    pub parallelism: usize,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        CatalogOptions {
            cache: None,
            parallelism: cores.min(4),
        }
    }
}

/// A scan that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFailure {
    /// A layer could not be read.
    #[error("layer {index} ({diff_id}): {source}")]
    Layer {
        /// Layer index, 0 = bottom.
        index: usize,
        /// The layer's diff id.
        diff_id: String,
        /// What went wrong.
        source: ArtifactError,
    },
    /// The directory could not be walked.
    #[error("{0}")]
    Directory(ArtifactError),
}

/// Catalogs every layer of an image and returns the squashed inventory.
pub fn catalog_image(
    image: &Image,
    user_input: &str,
    options: &CatalogOptions,
) -> Result<Inventory, CatalogFailure> {
    let catalogers = CatalogerSet::for_target(TargetKind::Image);
    let results = scan_layers(image, &catalogers, options)?;
    let squashed = squash(&results);
    Ok(finish(squashed, &catalogers, image_source(image, user_input)))
}

/// Catalogs a directory tree (an unpacked root filesystem or a source checkout).
pub fn catalog_directory(
    root: &Path,
    user_input: &str,
    limits: &Limits,
) -> Result<Inventory, CatalogFailure> {
    let catalogers = CatalogerSet::for_target(TargetKind::Directory);
    let mut scanner = LayerScanner::new(&catalogers);
    let mut warnings: Vec<(String, String)> = Vec::new();
    walk_directory(
        root,
        limits,
        &mut |entry| scanner.visit(entry),
        &mut |path, message| warnings.push((path.to_string(), message.to_string())),
    )
    .map_err(CatalogFailure::Directory)?;
    for (path, message) in &warnings {
        scanner.warn(path, message);
    }
    let squashed = squash(&[(None, scanner.finish())]);
    let source = SourceDescription::new(SourceKind::Directory, user_input, root.display().to_string());
    Ok(finish(squashed, &catalogers, source))
}

/// Walks the layers that are not cached, `options.parallelism` at a time, bottom first in the
/// returned vector.
fn scan_layers(
    image: &Image,
    catalogers: &CatalogerSet,
    options: &CatalogOptions,
) -> Result<Vec<(Option<String>, LayerResult)>, CatalogFailure> {
    let layers = &image.metadata.layers;
    let fingerprint = catalogers.fingerprint();
    let slots: Vec<Mutex<Option<LayerResult>>> = layers.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<CatalogFailure>> = Mutex::new(None);
    let workers = options.parallelism.clamp(1, layers.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= layers.len() || lock(&failure).is_some() {
                    break;
                }
                match scan_one_layer(image, index, catalogers, &fingerprint, options.cache.as_ref()) {
                    Ok(result) => *lock(&slots[index]) = Some(result),
                    Err(err) => {
                        lock(&failure).get_or_insert(err);
                        break;
                    }
                }
            });
        }
    });
    if let Some(err) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(err);
    }
    Ok(layers
        .iter()
        .zip(slots)
        .map(|(info, slot)| {
            let result = slot
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_default();
            (Some(info.diff_id.clone()), result)
        })
        .collect())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn scan_one_layer(
    image: &Image,
    index: usize,
    catalogers: &CatalogerSet,
    fingerprint: &str,
    cache: Option<&LayerCache>,
) -> Result<LayerResult, CatalogFailure> {
    let diff_id = image.metadata.layers[index].diff_id.clone();
    let cacheable = diff_id.starts_with("sha256:");
    if let Some(hit) = cache
        .filter(|_| cacheable)
        .and_then(|c| c.get(&diff_id, fingerprint))
    {
        tracing::info!("layer {index} ({diff_id}): from cache");
        return Ok(hit);
    }
    let started = std::time::Instant::now();
    let mut scanner = LayerScanner::new(catalogers);
    image
        .walk_layer(index, &mut |entry| scanner.visit(entry))
        .map_err(|source| CatalogFailure::Layer {
            index,
            diff_id: diff_id.clone(),
            source,
        })?;
    let result = scanner.finish();
    tracing::info!(
        "layer {index} ({diff_id}): {} paths, {} package files, {} ms",
        result.paths.len(),
        result.found.len(),
        started.elapsed().as_millis()
    );
    if let Some(cache) = cache.filter(|_| cacheable) {
        if let Err(err) = cache.put(&diff_id, fingerprint, &result) {
            tracing::warn!(
                "could not write the layer cache in {}: {err}",
                cache.dir().display()
            );
        }
    }
    Ok(result)
}

fn image_source(image: &Image, user_input: &str) -> SourceDescription {
    let meta = &image.metadata;
    SourceDescription {
        kind: SourceKind::Image,
        user_input: user_input.to_string(),
        name: meta
            .repo_tags
            .first()
            .cloned()
            .unwrap_or_else(|| user_input.to_string()),
        image_id: Some(meta.config_digest.clone()),
        manifest_digest: meta.manifest_digest.clone(),
        tags: meta.repo_tags.clone(),
        repo_digests: meta.repo_digests.clone(),
        platform: Some(meta.platform.to_string()),
        layers: meta.layers.clone(),
    }
}

struct SupportView<'a>(&'a BTreeMap<String, String>);

impl SupportFiles for SupportView<'_> {
    fn get(&self, path: &str) -> Option<&[u8]> {
        self.0.get(path).map(|s| s.as_bytes())
    }
}

/// Enrichment, distribution detection, purls and CPEs, canonical order.
fn finish(squashed: Squashed, catalogers: &CatalogerSet, source: SourceDescription) -> Inventory {
    let Squashed {
        mut packages,
        support,
        warnings,
    } = squashed;
    let view = SupportView(&support);
    for cataloger in catalogers.iter() {
        let (mut mine, rest): (Vec<Package>, Vec<Package>) =
            packages.into_iter().partition(|p| p.found_by == cataloger.name());
        cataloger.enrich(&mut mine, &view);
        packages = rest;
        packages.extend(mine);
    }
    let distro = crate::distro::detect(&view, &packages);
    match &distro {
        Some(d) => tracing::info!("distribution: {} {}", d.id, d.version_id),
        None => tracing::info!("no distribution detected"),
    }
    for package in &mut packages {
        package.purl = crate::purl::package_url(package, distro.as_ref());
        if package.cpes.is_empty() {
            package.cpes.extend(crate::purl::generated_cpe(package));
        }
    }
    let mut inventory = Inventory {
        source,
        distro,
        packages,
        warnings,
    };
    inventory.normalize();
    tracing::info!(
        "{} packages, {} warnings",
        inventory.packages.len(),
        inventory.warnings.len()
    );
    inventory
}
