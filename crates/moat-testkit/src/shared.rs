//! The shared reference data (images, expected outputs, conformance suites), read in place.
//!
//! The folder is `$MOAT_SHARED`, by default `../shared` beside the checkout. When it is absent a
//! test fails naming the path, unless `MOAT_NO_SHARED=1`, in which case the helpers return `None`
//! after printing why and the test returns early.

use std::path::{Path, PathBuf};

/// True when `MOAT_NO_SHARED=1` allows tests to skip for want of shared data or tools.
pub fn may_skip() -> bool {
    std::env::var("MOAT_NO_SHARED").is_ok_and(|v| v == "1")
}

/// Where the shared data should be: `$MOAT_SHARED`, or `../shared` beside the checkout. Not checked.
pub fn shared_root() -> PathBuf {
    std::env::var_os("MOAT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// The shared data folder; `None` (with a printed reason) when it is absent and
/// `MOAT_NO_SHARED=1`. Panics naming the path when it is absent otherwise.
pub fn shared_dir() -> Option<PathBuf> {
    existing_dir(shared_root())
}

/// The shared test images folder (`images/` of [`shared_dir`]), with the same rules.
pub fn shared_images() -> Option<PathBuf> {
    existing_dir(shared_root().join("images"))
}

/// A file under the shared folder `shared` (as returned by [`shared_dir`]); panics naming it
/// when it is missing.
pub fn shared_file(shared: &Path, relative: &str) -> PathBuf {
    let path = shared.join(relative);
    assert!(path.is_file(), "shared test file {} is missing", path.display());
    path
}

/// `Some(dir)` when it is a directory, `None` when skipping is allowed, a panic otherwise.
fn existing_dir(dir: PathBuf) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    if may_skip() {
        eprintln!(
            "skipped: shared test data {} is missing and MOAT_NO_SHARED=1",
            dir.display()
        );
        return None;
    }
    panic!(
        "shared test data {} is missing (set MOAT_SHARED, or MOAT_NO_SHARED=1 to skip)",
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "no-such-file is missing")]
    fn a_missing_shared_file_names_itself() {
        shared_file(Path::new("/nonexistent-moat-shared"), "no-such-file");
    }
}
