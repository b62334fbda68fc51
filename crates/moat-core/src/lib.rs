//! Moat's domain model: the types every other crate shares.
//!
//! This crate performs no I/O and depends on serde only, so it compiles fast and
//! can be used from catalogers, writers, the server and tests alike.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod distro;
mod inventory;
mod package;

pub use distro::Distro;
pub use inventory::{Inventory, LayerInfo, SourceDescription, SourceKind, Warning};
pub use package::{Evidence, Location, Package, PackageType, SourcePackage};
