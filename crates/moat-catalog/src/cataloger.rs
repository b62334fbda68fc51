//! The cataloger interface: one implementation per package source (a database, a manifest, a lock
//! file, a binary format). Catalogers see one file at a time during the single walk of each layer.

use moat_core::Package;

/// Which targets a cataloger runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Images and directories: evidence of installed packages (databases, installed manifests,
    /// binaries) and lock files that tools such as Trivy also read inside images (Cargo.lock).
    Everywhere,
    /// Directories only: declared dependencies (lock files, requirements) that an image has
    /// usually installed already, where the installed copy is the better evidence.
    DirectoriesOnly,
}

/// An error a cataloger reports for one file. The scan goes on; the error becomes a warning
/// naming the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not in the format the cataloger expects.
    #[error("{format}: {message}")]
    Malformed {
        /// Which format was being read (e.g. `dpkg status`).
        format: &'static str,
        /// What was wrong, with a line number where there is one.
        message: String,
    },
    /// An I/O error (temporary files, nested archives).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CatalogError {
    /// Shorthand for [`CatalogError::Malformed`].
    pub fn malformed(format: &'static str, message: impl Into<String>) -> CatalogError {
        CatalogError::Malformed {
            format,
            message: message.into(),
        }
    }
}

/// Files that catalogers asked to see after the squash, by absolute path (for example dpkg's
/// copyright files). Read-only.
pub trait SupportFiles {
    /// Contents of the file at `path` in the squashed view, if it was kept.
    fn get(&self, path: &str) -> Option<&[u8]>;
}

/// A source of packages.
///
/// The layer walk calls [`Cataloger::wants_path`] for each regular file; when it returns true,
/// or [`Cataloger::wants_content`] returns true for the first bytes of the file, the walk reads the
/// whole file (up to [`Cataloger::max_size`]) and calls [`Cataloger::catalog`]. Results are kept
/// per layer and path, so a file that a later layer deletes or replaces contributes nothing.
pub trait Cataloger: Send + Sync {
    /// Stable name, shown as `found_by` (`dpkg-db-cataloger`).
    fn name(&self) -> &'static str;
    /// Bumped whenever output for the same input can change: part of the layer cache key.
    fn version(&self) -> u32;
    /// Which targets it runs on.
    fn applies(&self) -> Applies {
        Applies::Everywhere
    }
    /// Whether the file at this absolute path (`/var/lib/dpkg/status`) is one it reads.
    fn wants_path(&self, path: &str) -> bool;
    /// Whether a file it did not ask for by path is one it reads, judged by its first bytes
    /// (up to 512). Used for binaries.
    fn wants_content(&self, _path: &str, _head: &[u8]) -> bool {
        false
    }
    /// Largest file it will read; bigger files are reported as skipped.
    fn max_size(&self) -> u64 {
        64 * 1024 * 1024
    }
    /// Reads one file. `path` is absolute within the target. Returned packages need only their
    /// identity, metadata and locations (paths); layers, purls and distro qualifiers are filled
    /// in by the pipeline.
    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError>;
    /// Whether it wants the file at `path` kept for [`Cataloger::enrich`] (small files only).
    fn wants_support(&self, _path: &str) -> bool {
        false
    }
    /// Adds facts from support files to the packages it found, after the squash.
    fn enrich(&self, _packages: &mut [Package], _support: &dyn SupportFiles) {}
}
