//! Catalogers and the inventory pipeline: one walk of each layer feeds every cataloger, the
//! squash keeps what the final filesystem shows, and the result is a [`moat_core::Inventory`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analyzer;
pub mod cache;
pub mod cataloger;
pub mod distro;
pub mod lang;
pub mod layer;
pub mod license;
pub mod os;
pub mod pipeline;
pub mod purl;
pub mod registry;
pub mod squash;

pub use analyzer::{FileAnalyzer, FileFindings, SpecialFile};
pub use cache::LayerCache;
pub use pipeline::{
    analyze_directory, analyze_file, analyze_image, catalog_directory, catalog_image, Analysis, Catalog,
    CatalogFailure, CatalogOptions,
};
