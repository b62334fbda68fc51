//! TARGET handling shared by every command that inventories something.

use crate::progress::TerminalProgress;
use anyhow::Context;
use clap::Args;
use moat_artifact::{open, ImageConfig, Limits, OpenOptions, Opened, Platform, Target};
use moat_catalog::{
    analyze_directory, analyze_file, analyze_image, Analysis, Catalog, CatalogOptions, FileAnalyzer,
    LayerCache,
};
use moat_core::Inventory;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// The TARGET argument and the options that say how to read it.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// What to scan: IMAGE.tar, docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG],
    /// dir:PATH (or a directory), file:PATH (one file, for secrets and configs), sbom:FILE, or a
    /// registry reference (host[:port]/repo:tag or @sha256:…).
    pub target: String,
    /// Allow plain HTTP to a registry on a loopback address.
    #[arg(long)]
    pub insecure: bool,
    /// Platform to pick from a multi-platform image, e.g. linux/arm64.
    #[arg(long)]
    pub platform: Option<String>,
    /// Directory for the layer cache (default: the user's cache directory).
    #[arg(long, env = "MOAT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the layer cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Docker config file with registry credentials (default: $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json).
    #[arg(long)]
    pub docker_config: Option<PathBuf>,
}

impl TargetArgs {
    fn cache(&self) -> Option<LayerCache> {
        if self.no_cache {
            return None;
        }
        let dir = self
            .cache_dir
            .clone()
            .or_else(|| dirs::cache_dir().map(|d| d.join("moat")))?;
        Some(LayerCache::new(dir))
    }
}

/// Reads the target and returns its inventory.
pub fn build_inventory(args: &TargetArgs, quiet: bool) -> anyhow::Result<Inventory> {
    Ok(build_catalog(args, quiet, &[], true)?.catalog.inventory)
}

/// What one walk of a target gave: the catalog, and the image's config when it is an image.
pub struct Scanned {
    /// Packages, secrets, misconfigurations and special files.
    pub catalog: Catalog,
    /// The image's config, for image checks and secrets in Env, labels and history.
    pub image_config: Option<ImageConfig>,
}

/// The directory a target names on disk, if any (for analyzers that look beside a file): the
/// directory itself, or the directory holding a `file:` target (so the paths analyzers see,
/// `/<name>`, resolve against it).
pub fn target_directory(args: &TargetArgs) -> Option<PathBuf> {
    match Target::parse(&args.target).ok()? {
        Target::Directory(path) => Some(path),
        Target::File(path) => Some(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
        ),
        _ => None,
    }
}

/// Reads the target once, running the catalogers (when `packages`) and `analyzers` on every
/// file.
pub fn build_catalog(
    args: &TargetArgs,
    quiet: bool,
    analyzers: &[Arc<dyn FileAnalyzer>],
    packages: bool,
) -> anyhow::Result<Scanned> {
    let target = Target::parse(&args.target)?;
    let platform = args
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()
        .with_context(|| format!("--platform {:?}", args.platform.as_deref().unwrap_or("")))?;
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let progress: Option<Arc<dyn moat_artifact::Progress>> = match show_progress {
        true => Some(Arc::new(TerminalProgress::new())),
        false => None,
    };
    let limits = Limits::default();
    let options = OpenOptions {
        insecure: args.insecure,
        platform,
        progress,
        docker_config: args.docker_config.clone(),
        limits,
    };
    let catalog_options = CatalogOptions {
        cache: args.cache(),
        analyzers: analyzers.to_vec(),
        packages,
        ..CatalogOptions::default()
    };
    match open(&target, &options)? {
        Opened::Image(image) => {
            let meta = &image.metadata;
            tracing::info!(
                "image {} ({}, {} layers)",
                meta.config_digest,
                meta.platform,
                meta.layers.len()
            );
            let catalog = analyze_image(&image, &args.target, &catalog_options)?;
            Ok(Scanned {
                catalog,
                image_config: Some(image.metadata.config.clone()),
            })
        }
        Opened::Directory(root) => {
            let catalog = analyze_directory(&root, &args.target, &limits, &catalog_options)?;
            Ok(Scanned {
                catalog,
                image_config: None,
            })
        }
        Opened::File(path) => {
            let catalog = analyze_file(&path, &args.target, &limits, &catalog_options)?;
            Ok(Scanned {
                catalog,
                image_config: None,
            })
        }
        Opened::Sbom(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let inventory = moat_sbom::read(&bytes, &path.display().to_string())?;
            Ok(Scanned {
                catalog: Catalog {
                    inventory,
                    analysis: Analysis::default(),
                },
                image_config: None,
            })
        }
    }
}
