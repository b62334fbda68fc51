//! The one place that lists every cataloger Moat runs (OS databases first, then languages).

use crate::cataloger::{Applies, Cataloger};
use sha2::{Digest, Sha256};

/// The catalogers that run on one kind of target.
pub struct CatalogerSet {
    catalogers: Vec<Box<dyn Cataloger>>,
}

/// Which kind of target a set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A container image: installed-package evidence (and the lock files peers read in images).
    Image,
    /// A directory or root filesystem: everything, including declared dependencies.
    Directory,
}

impl CatalogerSet {
    /// Every cataloger Moat has that applies to `kind`.
    pub fn for_target(kind: TargetKind) -> CatalogerSet {
        let all = crate::os::catalogers()
            .into_iter()
            .chain(crate::lang::catalogers());
        let catalogers = all
            .filter(|c| kind == TargetKind::Directory || c.applies() == Applies::Everywhere)
            .collect();
        CatalogerSet { catalogers }
    }

    /// No catalogers: for walks that only feed analyzers (a secret-only scan).
    pub fn none() -> CatalogerSet {
        CatalogerSet {
            catalogers: Vec::new(),
        }
    }

    /// The catalogers, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Cataloger> {
        self.catalogers.iter().map(|c| c.as_ref())
    }

    /// A digest of every cataloger's name and version: part of the layer cache key, so a new
    /// cataloger version never reuses results made by an older one.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("moat-catalog {}\n", env!("CARGO_PKG_VERSION")));
        for c in &self.catalogers {
            hasher.update(format!("{} {}\n", c.name(), c.version()));
        }
        hex::encode(hasher.finalize())
    }
}
