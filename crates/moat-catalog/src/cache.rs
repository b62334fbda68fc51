//! The layer result cache: what the catalogers found in a layer, keyed by the layer's diff id and
//! the cataloger set's fingerprint, so a rescan of an image (or of another image on the same
//! base) skips every layer it has seen.

use crate::layer::LayerResult;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bumped when the stored format of [`LayerResult`] changes.
const FORMAT_VERSION: u32 = 2;

/// A directory of cached layer results, one JSON file per (layer, cataloger set).
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// A cache stored under `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> LayerCache {
        LayerCache { dir: dir.into() }
    }

    /// The directory the cache lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, diff_id: &str, fingerprint: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(format!("{FORMAT_VERSION}\n{diff_id}\n{fingerprint}"));
        self.dir
            .join("layers")
            .join(format!("{}.json", hex::encode(hasher.finalize())))
    }

    /// The stored result for this layer, if any. A damaged entry is ignored (and rewritten by
    /// the next scan), never trusted.
    pub fn get(&self, diff_id: &str, fingerprint: &str) -> Option<LayerResult> {
        let bytes = std::fs::read(self.entry_path(diff_id, fingerprint)).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(result) => Some(result),
            Err(err) => {
                tracing::warn!("ignoring damaged cache entry for layer {diff_id}: {err}");
                None
            }
        }
    }

    /// Stores a layer's result. Written to a temporary file and renamed, so a reader never
    /// sees half an entry.
    pub fn put(&self, diff_id: &str, fingerprint: &str, result: &LayerResult) -> std::io::Result<()> {
        let path = self.entry_path(diff_id, fingerprint);
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent)?;
        let mut file = tempfile::NamedTempFile::new_in(parent)?;
        serde_json::to_writer(&mut file, result)?;
        file.flush()?;
        file.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}
