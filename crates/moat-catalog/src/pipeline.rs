//! From an opened target to an [`Inventory`]: walk each layer once (or take it from the cache),
//! squash, enrich, detect the distribution, then name every package with a purl.

use crate::analyzer::{FileAnalyzer, SpecialFile};
use crate::cache::LayerCache;
use crate::cataloger::SupportFiles;
use crate::layer::{LayerResult, LayerScanner};
use crate::registry::{CatalogerSet, TargetKind};
use crate::squash::{squash, Squashed};
use moat_artifact::{walk_directory, walk_file, ArtifactError, Image, Limits};
use moat_core::{Inventory, Misconfiguration, Package, SecretFinding, SourceDescription, SourceKind};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How to run the catalog.
#[derive(Clone)]
pub struct CatalogOptions {
    /// Where per-layer results are cached; `None` disables the cache.
    pub cache: Option<LayerCache>,
    /// How many layers to walk at once.
    pub parallelism: usize,
    /// Analyzers that see every file of the walk besides the catalogers (secrets, configs).
    pub analyzers: Vec<Arc<dyn FileAnalyzer>>,
    /// Whether to inventory packages (false for walks that only feed analyzers).
    pub packages: bool,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        CatalogOptions {
            cache: None,
            parallelism: cores.min(4),
            analyzers: Vec::new(),
            packages: true,
        }
    }
}

impl std::fmt::Debug for CatalogOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogOptions")
            .field("cache", &self.cache)
            .field("parallelism", &self.parallelism)
            .field("analyzers", &self.analyzers.len())
            .field("packages", &self.packages)
            .finish()
    }
}

/// Everything one walk of a target found: the inventory and what the analyzers reported.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The packages.
    pub inventory: Inventory,
    /// What the analyzers found.
    pub analysis: Analysis,
}

/// What the analyzers of one walk found, squashed.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Secrets, from every layer (also deleted files), in canonical order.
    pub secrets: Vec<SecretFinding>,
    /// Misconfigurations in files of the final filesystem, in canonical order.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Setuid, setgid and world-writable entries of the final filesystem, by path.
    pub special_files: Vec<SpecialFile>,
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
    analyze_image(image, user_input, options).map(|catalog| catalog.inventory)
}

/// Walks every layer of an image once for the catalogers and `options.analyzers`.
pub fn analyze_image(
    image: &Image,
    user_input: &str,
    options: &CatalogOptions,
) -> Result<Catalog, CatalogFailure> {
    let catalogers = cataloger_set(TargetKind::Image, options.packages);
    let results = scan_layers(image, &catalogers, options)?;
    let squashed = squash(&results);
    Ok(finish(squashed, &catalogers, image_source(image, user_input)))
}

fn cataloger_set(kind: TargetKind, packages: bool) -> CatalogerSet {
    match packages {
        true => CatalogerSet::for_target(kind),
        false => CatalogerSet::none(),
    }
}

/// Catalogs a directory tree (an unpacked root filesystem or a source checkout).
pub fn catalog_directory(
    root: &Path,
    user_input: &str,
    limits: &Limits,
) -> Result<Inventory, CatalogFailure> {
    let options = CatalogOptions::default();
    analyze_directory(root, user_input, limits, &options).map(|catalog| catalog.inventory)
}

/// Walks a directory tree once for the catalogers and `options.analyzers` (the cache and
/// parallelism of `options` are for images only).
pub fn analyze_directory(
    root: &Path,
    user_input: &str,
    limits: &Limits,
    options: &CatalogOptions,
) -> Result<Catalog, CatalogFailure> {
    let (result, catalogers) = scan_on_disk(options, |scanner| {
        let mut warnings: Vec<(String, String)> = Vec::new();
        walk_directory(
            root,
            limits,
            &mut |entry| scanner.visit(entry),
            &mut |path, message| warnings.push((path.to_string(), message.to_string())),
        )?;
        for (path, message) in &warnings {
            scanner.warn(path, message);
        }
        Ok(())
    })?;
    let squashed = squash(&[(None, result)]);
    let source = SourceDescription::new(SourceKind::Directory, user_input, root.display().to_string());
    Ok(finish(squashed, &catalogers, source))
}

/// Runs the analyzers (and catalogers, when `options.packages`) on one file; findings name the
/// file as given.
pub fn analyze_file(
    file: &Path,
    user_input: &str,
    limits: &Limits,
    options: &CatalogOptions,
) -> Result<Catalog, CatalogFailure> {
    let (mut result, catalogers) = scan_on_disk(options, |scanner| {
        walk_file(file, limits, &mut |entry| scanner.visit(entry))
    })?;
    let shown = file.display().to_string();
    for analyzed in &mut result.analyzed {
        analyzed.path.clone_from(&shown);
        for secret in &mut analyzed.findings.secrets {
            secret.location.path.clone_from(&shown);
        }
        for finding in &mut analyzed.findings.misconfigurations {
            finding.location.path.clone_from(&shown);
        }
    }
    let squashed = squash(&[(None, result)]);
    let source = SourceDescription::new(SourceKind::Directory, user_input, shown);
    Ok(finish(squashed, &catalogers, source))
}

/// One walk of files on disk (a tree, or one file) through the catalogers and analyzers.
fn scan_on_disk(
    options: &CatalogOptions,
    walk: impl FnOnce(&mut LayerScanner<'_>) -> Result<(), ArtifactError>,
) -> Result<(LayerResult, CatalogerSet), CatalogFailure> {
    let catalogers = cataloger_set(TargetKind::Directory, options.packages);
    let analyzers: Vec<&dyn FileAnalyzer> = options.analyzers.iter().map(|a| a.as_ref()).collect();
    let mut scanner = LayerScanner::with_analyzers(&catalogers, &analyzers);
    walk(&mut scanner).map_err(CatalogFailure::Directory)?;
    let result = scanner.finish();
    Ok((result, catalogers))
}

/// Walks the layers that are not cached, `options.parallelism` at a time, bottom first in the
/// returned vector.
fn scan_layers(
    image: &Image,
    catalogers: &CatalogerSet,
    options: &CatalogOptions,
) -> Result<Vec<(Option<String>, LayerResult)>, CatalogFailure> {
    let layers = &image.metadata.layers;
    let fingerprint = scan_fingerprint(catalogers, &options.analyzers);
    let analyzers: Vec<&dyn FileAnalyzer> = options.analyzers.iter().map(|a| a.as_ref()).collect();
    let walk = LayerWalk {
        catalogers,
        analyzers: &analyzers,
        fingerprint: &fingerprint,
        cache: options.cache.as_ref(),
    };
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
                match walk.scan(image, index) {
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

/// The cache key part that says what looked at a layer: catalogers and analyzers.
fn scan_fingerprint(catalogers: &CatalogerSet, analyzers: &[Arc<dyn FileAnalyzer>]) -> String {
    let catalogers = catalogers.fingerprint();
    if analyzers.is_empty() {
        return catalogers;
    }
    let mut hasher = Sha256::new();
    hasher.update(catalogers);
    for analyzer in analyzers {
        hasher.update(format!("\n{}", analyzer.fingerprint()));
    }
    hex::encode(hasher.finalize())
}

/// What one layer walk needs besides the image.
struct LayerWalk<'a> {
    catalogers: &'a CatalogerSet,
    analyzers: &'a [&'a dyn FileAnalyzer],
    fingerprint: &'a str,
    cache: Option<&'a LayerCache>,
}

impl LayerWalk<'_> {
    /// One layer's result: from the cache, or from a walk that is then cached.
    fn scan(&self, image: &Image, index: usize) -> Result<LayerResult, CatalogFailure> {
        let (catalogers, fingerprint, cache) = (self.catalogers, self.fingerprint, self.cache);
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
        let mut scanner = LayerScanner::with_analyzers(catalogers, self.analyzers);
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
fn finish(squashed: Squashed, catalogers: &CatalogerSet, source: SourceDescription) -> Catalog {
    let Squashed {
        mut packages,
        support,
        warnings,
        mut secrets,
        mut misconfigurations,
        mut special_files,
    } = squashed;
    secrets.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    misconfigurations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // The squash goes top layer first, so the first entry for a path is the visible one.
    let mut seen = std::collections::HashSet::new();
    special_files.retain(|file| seen.insert(file.path.clone()));
    special_files.sort();
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
    Catalog {
        inventory,
        analysis: Analysis {
            secrets,
            misconfigurations,
            special_files,
        },
    }
}
