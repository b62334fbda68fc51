//! Helpers shared by this crate's integration tests that need moat-artifact's own types; the
//! shared data and the archive builders are in `moat-testkit`.
#![allow(dead_code)]

use moat_artifact::{ArtifactError, Entry, EntryKind};

/// What a walk saw, in order: (path, kind, size).
pub type Seen = Vec<(String, EntryKind, u64)>;

/// Walks with a visitor that records every entry.
pub fn recorder(seen: &mut Seen) -> impl FnMut(&mut Entry<'_>) -> Result<(), ArtifactError> + '_ {
    move |e: &mut Entry<'_>| {
        seen.push((e.path().to_string(), e.kind().clone(), e.size()));
        Ok(())
    }
}
