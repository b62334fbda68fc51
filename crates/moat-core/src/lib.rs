//! Moat's domain model: the types every other crate shares (packages and inventories,
//! vulnerability, secret and misconfiguration findings and the scan report).
//!
//! This crate performs no I/O and depends on serde only, so it compiles fast and
//! can be used from catalogers, writers, the server and tests alike.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cvss;
mod distro;
mod finding;
mod inventory;
mod package;
mod severity;
pub mod time;
mod vulnerability;

pub use distro::Distro;
pub use finding::{
    standards, CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, SecretFinding, SpecialFile,
    TextLocation,
};
pub use inventory::{Inventory, LayerInfo, SourceDescription, SourceKind, Warning};
pub use package::{Evidence, Location, Package, PackageType, SourcePackage};
pub use severity::{Severity, UnknownSeverity};
pub use vulnerability::{
    AffectedPackage, CvssRating, DatabaseInfo, EpssScore, FixStatus, KevEntry, MatchReason, Report,
    SuppressedFinding, VulnerabilityFinding,
};
