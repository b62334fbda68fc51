//! OS package database catalogers: dpkg (Debian, Ubuntu, distroless), apk (Alpine, Wolfi,
//! Chainguard) and rpm (RHEL and its rebuilds, Fedora, Amazon Linux, SUSE).
//!
//! Each database format has a pure `parse_*` function over bytes (fuzzed, golden-tested) and a
//! [`Cataloger`] that wraps it for the layer walk.

use crate::cataloger::Cataloger;

pub mod apk;
pub mod dpkg;
pub mod rpm;

/// Every OS cataloger, in registry order.
pub fn catalogers() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::DpkgCataloger),
        Box::new(apk::ApkCataloger),
        Box::new(rpm::RpmCataloger),
    ]
}

/// Parsed packages plus the problems met on the way (entries that were skipped).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The packages that parsed.
    pub packages: Vec<moat_core::Package>,
    /// One message per skipped entry, naming the entry (stanza line, record number).
    pub problems: Vec<String>,
}

impl Parsed {
    /// Logs each problem as a warning naming `path` and `cataloger`.
    pub(crate) fn log_problems(&self, cataloger: &str, path: &str) {
        for problem in &self.problems {
            tracing::warn!("{cataloger}: {path}: {problem}");
        }
    }
}
