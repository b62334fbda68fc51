//! Inventory → SPDX 2.3 JSON.

use super::model::{CreationInfo, Document, ExternalRef, ExtractedLicense, Relationship, SpdxPackage};
use super::{DOCUMENT_ID, NAMESPACE_BASE, NOASSERTION};
use crate::ids::{self, package_id, sanitize_id};
use crate::license::{classify, is_license_ref, join_with_and, LicenseKind};
use crate::{SbomError, WriteOptions};
use moat_core::{Distro, Inventory, Package, SourceDescription, SourceKind};
use std::collections::{BTreeMap, BTreeSet};

/// Writes `inventory` (already normalized) as an SPDX 2.3 JSON document.
pub(crate) fn write(
    inventory: &Inventory,
    options: &WriteOptions,
    canonical: &[u8],
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    let document = build_document(inventory, options, canonical)?;
    crate::write_pretty_json(&document, out)
}

fn build_document(
    inventory: &Inventory,
    options: &WriteOptions,
    canonical: &[u8],
) -> Result<Document, SbomError> {
    let name = source_name(&inventory.source);
    let uuid = ids::uuid_from_digest(&ids::digest(&[b"spdx", b"2.3", canonical]));
    let kind = kind_name(inventory.source.kind);
    let root = root_package(&inventory.source, &name);
    let mut licenses = LicenseRefs::default();
    let mut packages = vec![root.clone()];
    if let Some(distro) = &inventory.distro {
        packages.push(distro_package(distro));
    }
    let mut used_ids = BTreeSet::new();
    for package in &inventory.packages {
        packages.push(spdx_package(package, &mut used_ids, &mut licenses));
    }
    let relationships = relationships(&root.spdx_id, &packages);
    let tool_version = if options.tool_version.is_empty() {
        "unknown"
    } else {
        options.tool_version.as_str()
    };
    Ok(Document {
        spdx_version: "SPDX-2.3".to_string(),
        data_license: "CC0-1.0".to_string(),
        spdx_id: DOCUMENT_ID.to_string(),
        name: name.clone(),
        document_namespace: format!("{NAMESPACE_BASE}/{kind}/{}-{uuid}", sanitize_id(&name)),
        creation_info: CreationInfo {
            created: ids::creation_timestamp()?,
            creators: vec![format!("Tool: moat-{tool_version}")],
        },
        document_describes: Vec::new(),
        packages,
        has_extracted_licensing_infos: licenses.into_entries(),
        relationships,
    })
}

fn source_name(source: &SourceDescription) -> String {
    [&source.name, &source.user_input]
        .into_iter()
        .find(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| "unknown".to_string())
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Image => "image",
        SourceKind::Directory => "dir",
        SourceKind::Sbom => "sbom",
    }
}

/// The package standing for the scanned image or directory.
fn root_package(source: &SourceDescription, name: &str) -> SpdxPackage {
    let (label, purpose) = match source.kind {
        SourceKind::Image => ("Image", "CONTAINER"),
        SourceKind::Directory => ("Directory", "FILE"),
        SourceKind::Sbom => ("Sbom", "FILE"),
    };
    SpdxPackage {
        spdx_id: format!("SPDXRef-DocumentRoot-{label}-{}", sanitize_id(name)),
        name: name.to_string(),
        version_info: source.image_id.clone().or_else(|| source.manifest_digest.clone()),
        primary_package_purpose: Some(purpose.to_string()),
        ..noassertion_package()
    }
}

fn distro_package(distro: &Distro) -> SpdxPackage {
    let version = (!distro.version_id.is_empty()).then(|| distro.version_id.clone());
    SpdxPackage {
        spdx_id: format!(
            "SPDXRef-OperatingSystem-{}-{}",
            sanitize_id(&distro.id),
            sanitize_id(version.as_deref().unwrap_or("none"))
        ),
        name: distro.id.clone(),
        version_info: version,
        description: (!distro.pretty_name.is_empty()).then(|| distro.pretty_name.clone()),
        primary_package_purpose: Some("OPERATING_SYSTEM".to_string()),
        ..noassertion_package()
    }
}

/// A package with every "unknown" field set to NOASSERTION.
fn noassertion_package() -> SpdxPackage {
    SpdxPackage {
        supplier: Some(NOASSERTION.to_string()),
        download_location: NOASSERTION.to_string(),
        files_analyzed: Some(false),
        license_concluded: Some(NOASSERTION.to_string()),
        license_declared: Some(NOASSERTION.to_string()),
        copyright_text: Some(NOASSERTION.to_string()),
        ..SpdxPackage::default()
    }
}

fn spdx_package(
    package: &Package,
    used_ids: &mut BTreeSet<String>,
    licenses: &mut LicenseRefs,
) -> SpdxPackage {
    let base = format!(
        "SPDXRef-Package-{}-{}-{}",
        package.package_type,
        sanitize_id(&package.name),
        package_id(package)
    );
    let mut spdx_id = base.clone();
    let mut suffix = 2;
    while used_ids.contains(&spdx_id) {
        spdx_id = format!("{base}-{suffix}");
        suffix += 1;
    }
    used_ids.insert(spdx_id.clone());
    SpdxPackage {
        spdx_id,
        name: package.name.clone(),
        version_info: (!package.version.is_empty()).then(|| package.version.clone()),
        source_info: Some(source_info(package)),
        license_declared: Some(licenses.declared(&package.licenses)),
        external_refs: external_refs(package),
        ..noassertion_package()
    }
}

fn source_info(package: &Package) -> String {
    let paths: Vec<&str> = package.locations.iter().map(|l| l.path.as_str()).collect();
    let found_by = if package.found_by.is_empty() {
        "moat"
    } else {
        package.found_by.as_str()
    };
    let mut info = format!("acquired package info from {found_by}: {}", paths.join(", "));
    if let Some(source) = &package.source {
        info.push_str(&format!("; source package: {} {}", source.name, source.version));
    }
    info.trim_end().to_string()
}

fn external_refs(package: &Package) -> Vec<ExternalRef> {
    let mut refs = Vec::new();
    for cpe in &package.cpes {
        let reference_type = if cpe.starts_with("cpe:/") {
            "cpe22Type"
        } else {
            "cpe23Type"
        };
        refs.push(ExternalRef {
            reference_category: "SECURITY".to_string(),
            reference_type: reference_type.to_string(),
            reference_locator: cpe.clone(),
        });
    }
    if !package.purl.is_empty() {
        refs.push(ExternalRef {
            reference_category: "PACKAGE-MANAGER".to_string(),
            reference_type: "purl".to_string(),
            reference_locator: package.purl.clone(),
        });
    }
    refs
}

/// DOCUMENT DESCRIBES root; root CONTAINS everything else.
fn relationships(root_id: &str, packages: &[SpdxPackage]) -> Vec<Relationship> {
    let describes = Relationship {
        spdx_element_id: DOCUMENT_ID.to_string(),
        relationship_type: "DESCRIBES".to_string(),
        related_spdx_element: root_id.to_string(),
    };
    let contains = packages
        .iter()
        .filter(|p| p.spdx_id != root_id)
        .map(|p| Relationship {
            spdx_element_id: root_id.to_string(),
            relationship_type: "CONTAINS".to_string(),
            related_spdx_element: p.spdx_id.clone(),
        });
    std::iter::once(describes).chain(contains).collect()
}

/// The `LicenseRef-`s used by the document, with the text each stands for.
#[derive(Default)]
struct LicenseRefs {
    by_ref: BTreeMap<String, String>,
    by_text: BTreeMap<String, String>,
}

impl LicenseRefs {
    /// The declared-licence expression for a package's licences.
    fn declared(&mut self, licenses: &[String]) -> String {
        let licenses: Vec<String> = licenses
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if licenses.is_empty() {
            return NOASSERTION.to_string();
        }
        join_with_and(&licenses, |license| match classify(license) {
            LicenseKind::Id(id) => id,
            LicenseKind::Ref(reference) => self.register_ref(reference),
            LicenseKind::Expression(expression) => {
                for token in expression.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
                    if is_license_ref(token) {
                        self.register_ref(token.to_string());
                    }
                }
                expression
            }
            LicenseKind::Text(text) => self.ref_for_text(&text),
        })
    }

    /// Records a LicenseRef used as written; its text is the reference itself.
    fn register_ref(&mut self, reference: String) -> String {
        if !reference.starts_with("DocumentRef-") {
            self.by_ref
                .entry(reference.clone())
                .or_insert_with(|| reference.clone());
        }
        reference
    }

    /// A LicenseRef for free text, unique per distinct text.
    fn ref_for_text(&mut self, text: &str) -> String {
        if let Some(existing) = self.by_text.get(text) {
            return existing.clone();
        }
        let mut reference = format!("LicenseRef-{}", sanitize_id(text));
        if self.by_ref.contains_key(&reference) {
            reference = format!("{reference}-{}", ids::short_hash(&[text.as_bytes()]));
        }
        self.by_ref.insert(reference.clone(), text.to_string());
        self.by_text.insert(text.to_string(), reference.clone());
        reference
    }

    fn into_entries(self) -> Vec<ExtractedLicense> {
        self.by_ref
            .into_iter()
            .map(|(license_id, extracted_text)| ExtractedLicense {
                name: Some(license_id.trim_start_matches("LicenseRef-").to_string()),
                license_id,
                extracted_text,
            })
            .collect()
    }
}
