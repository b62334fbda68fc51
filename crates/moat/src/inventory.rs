//! TARGET handling shared by every command that inventories something.

use crate::progress::TerminalProgress;
use anyhow::Context;
use clap::Args;
use moat_artifact::{open, Limits, OpenOptions, Opened, Platform, Target};
use moat_catalog::{catalog_directory, catalog_image, CatalogOptions, LayerCache};
use moat_core::Inventory;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// The TARGET argument and the options that say how to read it.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// What to scan: IMAGE.tar, docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG],
    /// dir:PATH (or a directory), sbom:FILE, or a registry reference (host[:port]/repo:tag or @sha256:…).
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
    match open(&target, &options)? {
        Opened::Image(image) => {
            let meta = &image.metadata;
            tracing::info!(
                "image {} ({}, {} layers)",
                meta.config_digest,
                meta.platform,
                meta.layers.len()
            );
            let catalog_options = CatalogOptions {
                cache: args.cache(),
                ..CatalogOptions::default()
            };
            Ok(catalog_image(&image, &args.target, &catalog_options)?)
        }
        Opened::Directory(root) => Ok(catalog_directory(&root, &args.target, &limits)?),
        Opened::Sbom(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(moat_sbom::read(&bytes, &path.display().to_string())?)
        }
    }
}
