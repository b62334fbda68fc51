//! CycloneDX JSON: writing 1.5/1.6 and reading 1.2–1.7.
//!
//! Moat-specific facts that CycloneDX has no field for travel as `moat:*` properties, the way
//! syft uses `syft:*`: `moat:package:type`, `moat:package:foundBy`, `moat:package:arch`,
//! `moat:package:sourceName`/`sourceVersion`, `moat:cpe23` (CPEs after the first),
//! `moat:location:N:path`/`layer`/`evidence` and `moat:metadata:<key>`. With them a Moat BOM
//! reads back into the same packages.

mod model;
mod read;
pub mod vulnerability;
mod write;

pub(crate) use read::read;
pub(crate) use write::{package_refs, write};

/// Property names shared by the writer and the reader.
pub(crate) mod props {
    /// Package type (`deb`, `go-module`, …).
    pub const TYPE: &str = "moat:package:type";
    /// Cataloger that found the package.
    pub const FOUND_BY: &str = "moat:package:foundBy";
    /// Architecture.
    pub const ARCH: &str = "moat:package:arch";
    /// Source package name.
    pub const SOURCE_NAME: &str = "moat:package:sourceName";
    /// Source package version.
    pub const SOURCE_VERSION: &str = "moat:package:sourceVersion";
    /// A CPE after the first (the first is the component's `cpe`).
    pub const CPE: &str = "moat:cpe23";
    /// Prefix of `moat:location:N:path|layer|evidence`.
    pub const LOCATION_PREFIX: &str = "moat:location:";
    /// Prefix of `moat:metadata:<key>`.
    pub const METADATA_PREFIX: &str = "moat:metadata:";
    /// Prefix of the distribution properties (`moat:distro:id`, …).
    pub const DISTRO_PREFIX: &str = "moat:distro:";
    /// Kind of the scanned source (`image`, `directory`, `sbom`).
    pub const SOURCE_KIND: &str = "moat:source:kind";
    /// Image id (config digest).
    pub const IMAGE_ID: &str = "moat:image:id";
    /// Image manifest digest.
    pub const MANIFEST_DIGEST: &str = "moat:image:manifestDigest";
    /// An image tag (repeated).
    pub const IMAGE_TAG: &str = "moat:image:tag";
    /// Image platform.
    pub const PLATFORM: &str = "moat:image:platform";
}
