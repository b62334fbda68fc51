//! The subset of the SPDX 2.2/2.3 JSON model that Moat writes and reads.

use serde::{Deserialize, Serialize};

/// An SPDX document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    /// `SPDX-2.3`.
    #[serde(default)]
    pub spdx_version: String,
    /// Always `CC0-1.0`.
    #[serde(default)]
    pub data_license: String,
    /// Always `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// Document name.
    #[serde(default)]
    pub name: String,
    /// Unique URI of this document.
    #[serde(default)]
    pub document_namespace: String,
    /// Who made it and when.
    #[serde(default)]
    pub creation_info: CreationInfo,
    /// Ids the document describes (SPDX 2.2 style; 2.3 uses relationships).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub document_describes: Vec<String>,
    /// Packages.
    #[serde(default)]
    pub packages: Vec<SpdxPackage>,
    /// Licence texts for every `LicenseRef-` used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_extracted_licensing_infos: Vec<ExtractedLicense>,
    /// Relationships between elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Relationship>,
}

/// `creationInfo`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CreationInfo {
    /// Creation time (RFC 3339 UTC).
    #[serde(default)]
    pub created: String,
    /// `Tool: moat-<version>`.
    #[serde(default)]
    pub creators: Vec<String>,
}

/// A package.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpdxPackage {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID", default)]
    pub spdx_id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// Supplier (`NOASSERTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Download location (`NOASSERTION`).
    #[serde(default)]
    pub download_location: String,
    /// Whether files were analysed (always false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_analyzed: Option<bool>,
    /// Source information (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_info: Option<String>,
    /// Concluded licence (`NOASSERTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_concluded: Option<String>,
    /// Declared licence expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_declared: Option<String>,
    /// Copyright (`NOASSERTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copyright_text: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// purl and CPE references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    /// `CONTAINER`, `OPERATING_SYSTEM`, `FILE`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_package_purpose: Option<String>,
}

/// An external reference of a package.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExternalRef {
    /// `PACKAGE-MANAGER`, `SECURITY`.
    #[serde(default)]
    pub reference_category: String,
    /// `purl`, `cpe23Type`, `cpe22Type`.
    #[serde(default)]
    pub reference_type: String,
    /// The purl or CPE.
    #[serde(default)]
    pub reference_locator: String,
}

/// `hasExtractedLicensingInfos` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExtractedLicense {
    /// `LicenseRef-…`.
    #[serde(default)]
    pub license_id: String,
    /// The licence text as found.
    #[serde(default)]
    pub extracted_text: String,
    /// A name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A relationship.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Relationship {
    /// Subject.
    #[serde(default)]
    pub spdx_element_id: String,
    /// `DESCRIBES`, `CONTAINS`, ….
    #[serde(default)]
    pub relationship_type: String,
    /// Object.
    #[serde(default)]
    pub related_spdx_element: String,
}
