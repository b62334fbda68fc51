//! SBOM writers and readers.
//!
//! [`write`] turns an [`Inventory`] into CycloneDX 1.5/1.6 JSON, SPDX 2.3 JSON, Moat's own JSON
//! or a text table; [`read`] turns CycloneDX (1.2–1.7), SPDX (2.2/2.3) or Moat JSON back into an
//! inventory whose source is [`SourceKind::Sbom`](moat_core::SourceKind::Sbom).
//!
//! [`write_cyclonedx_with_vulnerabilities`] adds a CycloneDX `vulnerabilities` array (see
//! [`cyclonedx_vulnerability`]) for vulnerability reports.
//!
//! Output is deterministic: packages are written in the inventory's canonical order, the
//! CycloneDX `serialNumber` and SPDX `documentNamespace` are UUIDs derived from a sha256 of the
//! inventory, and the creation time is `SOURCE_DATE_EPOCH` when set, otherwise the fixed
//! `1970-01-01T00:00:00Z` (never the wall clock). See [`ids`] for the details.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cyclonedx;
mod error;
pub mod ids;
mod license;
mod moat_json;
mod purl;
mod spdx;
mod table;

pub use cyclonedx::vulnerability as cyclonedx_vulnerability;
pub use error::SbomError;
pub use moat_json::MOAT_JSON_SCHEMA;

use cyclonedx_vulnerability::Vulnerability;
use moat_core::{Inventory, Package};
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// Largest document [`read`] accepts, in bytes.
pub const MAX_INPUT_BYTES: usize = 512 * 1024 * 1024;
/// Most packages (components) [`read`] accepts from one document.
pub const MAX_PACKAGES: usize = 1_000_000;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CycloneDX JSON (`cyclonedx-json`, `cyclonedx`).
    CycloneDxJson,
    /// SPDX 2.3 JSON (`spdx-json`, `spdx`).
    SpdxJson,
    /// Moat's inventory JSON (`json`).
    MoatJson,
    /// A text table (`table`).
    Table,
}

impl Format {
    /// The canonical name (`cyclonedx-json`, `spdx-json`, `json`, `table`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CycloneDxJson => "cyclonedx-json",
            Format::SpdxJson => "spdx-json",
            Format::MoatJson => "json",
            Format::Table => "table",
        }
    }
}

impl FromStr for Format {
    type Err = SbomError;

    fn from_str(name: &str) -> Result<Format, SbomError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cyclonedx-json" | "cyclonedx" => Ok(Format::CycloneDxJson),
            "spdx-json" | "spdx" => Ok(Format::SpdxJson),
            "json" => Ok(Format::MoatJson),
            "table" => Ok(Format::Table),
            _ => Err(SbomError::UnknownFormatName {
                name: name.to_string(),
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CycloneDX spec version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CycloneDxVersion {
    /// CycloneDX 1.5.
    V1_5,
    /// CycloneDX 1.6 (the default).
    #[default]
    V1_6,
}

impl FromStr for CycloneDxVersion {
    type Err = SbomError;

    fn from_str(name: &str) -> Result<CycloneDxVersion, SbomError> {
        match name.trim() {
            "1.5" => Ok(CycloneDxVersion::V1_5),
            "1.6" => Ok(CycloneDxVersion::V1_6),
            _ => Err(SbomError::UnknownCycloneDxVersion {
                name: name.to_string(),
            }),
        }
    }
}

impl fmt::Display for CycloneDxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options for [`write`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// CycloneDX spec version (1.6 by default).
    pub cyclonedx_version: CycloneDxVersion,
    /// Moat's version, named as the creating tool.
    pub tool_version: String,
    /// Whether the table may use ANSI colours.
    pub color: bool,
}

/// Writes `inventory` in `format` to `out`.
///
/// The inventory is normalized (sorted, deduplicated) first, so the same findings always give
/// the same bytes.
pub fn write(
    inventory: &Inventory,
    format: Format,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    let mut normalized = inventory.clone();
    normalized.normalize();
    match format {
        Format::CycloneDxJson => cyclonedx::write(&normalized, options, &canonical(&normalized)?, &[], out),
        Format::SpdxJson => spdx::write(&normalized, options, &canonical(&normalized)?, out),
        Format::MoatJson => moat_json::write(&normalized, out),
        Format::Table => table::write(&normalized, options.color, out),
    }
}

/// The bom-ref the CycloneDX writer gives each package of `inventory`: `(package, bom-ref)`
/// pairs in the canonical package order. Use them as [`cyclonedx_vulnerability::Affect`]
/// references for [`write_cyclonedx_with_vulnerabilities`] on the same inventory.
pub fn cyclonedx_bom_refs(inventory: &Inventory) -> Vec<(Package, String)> {
    let mut normalized = inventory.clone();
    normalized.normalize();
    let refs = cyclonedx::package_refs(&normalized.packages);
    normalized.packages.into_iter().zip(refs).collect()
}

/// Writes `inventory` as CycloneDX JSON (the version in `options`) like [`write()`] does, with a
/// `vulnerabilities` array holding `vulnerabilities` (left out when empty). Their `affects`
/// should name bom-refs from [`cyclonedx_bom_refs`]; their own bom-refs must not collide
/// with those. The serial number covers the vulnerabilities too.
pub fn write_cyclonedx_with_vulnerabilities(
    inventory: &Inventory,
    options: &WriteOptions,
    vulnerabilities: &[Vulnerability],
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    let mut normalized = inventory.clone();
    normalized.normalize();
    let canonical = canonical(&normalized)?;
    cyclonedx::write(&normalized, options, &canonical, vulnerabilities, out)
}

/// Writes `document` as pretty JSON followed by a newline.
fn write_pretty_json(
    document: &impl serde::Serialize,
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    serde_json::to_writer_pretty(&mut *out, document).map_err(SbomError::Serialize)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The inventory's canonical JSON, hashed into document identifiers.
fn canonical(inventory: &Inventory) -> Result<Vec<u8>, SbomError> {
    serde_json::to_vec(inventory).map_err(SbomError::Serialize)
}

/// Just enough of a document to tell which format it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    bom_format: Option<String>,
    #[serde(default)]
    spdx_version: Option<String>,
    #[serde(default)]
    schema: Option<String>,
}

/// Reads a CycloneDX, SPDX or Moat JSON document. `origin` (a file name) is used in errors and
/// as the source's `user_input`. Packages come back sorted in the canonical order.
pub fn read(bytes: &[u8], origin: &str) -> Result<Inventory, SbomError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(SbomError::limit(
            origin,
            "document size in bytes",
            MAX_INPUT_BYTES,
        ));
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| SbomError::json(origin, "JSON", &e))?;
    let mut inventory = if probe.bom_format.as_deref() == Some("CycloneDX") {
        cyclonedx::read(bytes, origin)?
    } else if probe.spdx_version.is_some() {
        spdx::read(bytes, origin)?
    } else if probe
        .schema
        .as_deref()
        .is_some_and(|s| s.starts_with("moat-inventory/"))
    {
        moat_json::read(bytes, origin)?
    } else {
        return Err(SbomError::UnknownDocument {
            origin: origin.to_string(),
        });
    };
    if inventory.packages.len() > MAX_PACKAGES {
        return Err(SbomError::limit(origin, "packages", MAX_PACKAGES));
    }
    inventory.packages.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(inventory)
}
