//! SPDX 2.2/2.3 JSON → Inventory.
//!
//! Packages with a purl external reference become packages; the package(s) the document
//! describes name the source, an `OPERATING_SYSTEM` package becomes the distribution, and other
//! packages without a purl (files, aggregates) are skipped.

use super::model::{Document, SpdxPackage};
use super::{DOCUMENT_ID, NOASSERTION};
use crate::license::split_top_level_and;
use crate::purl::{self, PurlParts};
use crate::{SbomError, MAX_PACKAGES};
use moat_core::{Distro, Inventory, Package, SourceDescription, SourceKind};
use std::collections::{BTreeMap, BTreeSet};

/// SPDX versions this reader understands.
const SUPPORTED: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

/// Reads an SPDX JSON document.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<Inventory, SbomError> {
    let document: Document =
        serde_json::from_slice(bytes).map_err(|e| SbomError::json(origin, "SPDX document", &e))?;
    if !SUPPORTED.contains(&document.spdx_version.as_str()) {
        return Err(SbomError::UnsupportedVersion {
            origin: origin.to_string(),
            format: "SPDX",
            version: document.spdx_version.clone(),
        });
    }
    if document.packages.len() > MAX_PACKAGES {
        return Err(SbomError::limit(origin, "packages", MAX_PACKAGES));
    }
    let described = described_ids(&document);
    let texts: BTreeMap<&str, &str> = document
        .has_extracted_licensing_infos
        .iter()
        .map(|e| (e.license_id.as_str(), e.extracted_text.as_str()))
        .collect();
    let mut root = None;
    let mut distro = None;
    let mut packages = Vec::new();
    for spdx in &document.packages {
        if described.contains(spdx.spdx_id.as_str()) {
            root = root.or(Some(spdx));
        } else if is_operating_system(spdx) {
            distro = distro.or_else(|| Some(distro_from(spdx)));
        } else if let Some(package) = package(spdx, &texts) {
            packages.push(package);
        }
    }
    Ok(Inventory {
        source: source_description(&document, root, origin),
        distro,
        packages,
        warnings: Vec::new(),
    })
}

/// Ids the document DESCRIBES (by relationship either way round, or `documentDescribes`).
fn described_ids(document: &Document) -> BTreeSet<&str> {
    let mut ids: BTreeSet<&str> = document.document_describes.iter().map(String::as_str).collect();
    for relationship in &document.relationships {
        match relationship.relationship_type.as_str() {
            "DESCRIBES" if relationship.spdx_element_id == DOCUMENT_ID => {
                ids.insert(&relationship.related_spdx_element);
            }
            "DESCRIBED_BY" if relationship.related_spdx_element == DOCUMENT_ID => {
                ids.insert(&relationship.spdx_element_id);
            }
            _ => {}
        }
    }
    ids
}

fn is_operating_system(package: &SpdxPackage) -> bool {
    matches!(
        package.primary_package_purpose.as_deref(),
        Some("OPERATING_SYSTEM" | "OPERATING-SYSTEM")
    )
}

fn distro_from(package: &SpdxPackage) -> Distro {
    Distro {
        id: package.name.to_ascii_lowercase(),
        version_id: package.version_info.clone().unwrap_or_default(),
        pretty_name: package.description.clone().unwrap_or_default(),
        ..Distro::default()
    }
}

fn source_description(document: &Document, root: Option<&SpdxPackage>, origin: &str) -> SourceDescription {
    let name = root
        .map(|r| r.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(document.name.as_str());
    let version = root
        .and_then(|r| r.version_info.clone())
        .filter(|v| v.starts_with("sha256:"));
    SourceDescription {
        kind: SourceKind::Sbom,
        user_input: origin.to_string(),
        name: if name.is_empty() {
            origin.to_string()
        } else {
            name.to_string()
        },
        image_id: version,
        manifest_digest: None,
        tags: Vec::new(),
        repo_digests: Vec::new(),
        platform: None,
        layers: Vec::new(),
    }
}

fn package(spdx: &SpdxPackage, texts: &BTreeMap<&str, &str>) -> Option<Package> {
    let purl = spdx
        .external_refs
        .iter()
        .find(|r| r.reference_type == "purl" && !r.reference_locator.is_empty())?
        .reference_locator
        .clone();
    let parts = purl::parse(&purl).unwrap_or_default();
    let name = if spdx.name.is_empty() {
        parts.full_name()
    } else {
        spdx.name.clone()
    };
    if name.is_empty() {
        return None;
    }
    Some(Package {
        name,
        version: spdx
            .version_info
            .clone()
            .or_else(|| parts.version.clone())
            .unwrap_or_default(),
        package_type: purl::package_type_for(&parts.ty),
        namespace: maven_namespace(&parts),
        cpes: spdx
            .external_refs
            .iter()
            .filter(|r| matches!(r.reference_type.as_str(), "cpe23Type" | "cpe22Type"))
            .map(|r| r.reference_locator.clone())
            .collect(),
        licenses: licenses(spdx, texts),
        arch: parts.arch.clone(),
        source: parts.source_package(),
        locations: Vec::new(),
        found_by: "spdx-sbom-reader".to_string(),
        metadata: BTreeMap::new(),
        purl,
    })
}

fn maven_namespace(parts: &PurlParts) -> Option<String> {
    (parts.ty == "maven")
        .then(|| parts.namespace.clone())
        .flatten()
        .filter(|ns| !ns.is_empty())
}

/// The declared (else concluded) licence, split at top-level ANDs, with LicenseRefs mapped back
/// to the text they stand for.
fn licenses(spdx: &SpdxPackage, texts: &BTreeMap<&str, &str>) -> Vec<String> {
    fn stated(value: &Option<String>) -> Option<&str> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != NOASSERTION && *v != "NONE")
    }
    let Some(expression) = stated(&spdx.license_declared).or_else(|| stated(&spdx.license_concluded)) else {
        return Vec::new();
    };
    split_top_level_and(expression)
        .into_iter()
        .map(|part| match texts.get(part.as_str()) {
            Some(text) if !text.is_empty() => text.to_string(),
            _ => part,
        })
        .collect()
}
