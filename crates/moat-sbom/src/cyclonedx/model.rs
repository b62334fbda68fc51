//! The subset of the CycloneDX JSON model (1.2–1.7) that Moat writes and reads.
//!
//! One owned model serves both directions: every field is optional or defaulted so that
//! documents from other tools deserialize, and unknown fields are ignored.

use super::vulnerability::Vulnerability;
use serde::{Deserialize, Serialize};

/// A CycloneDX BOM.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bom {
    /// JSON schema URL.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Always `CycloneDX`.
    #[serde(default)]
    pub bom_format: String,
    /// `1.6`, `1.5`, ….
    #[serde(default)]
    pub spec_version: String,
    /// `urn:uuid:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// BOM version, 1 for a new BOM.
    #[serde(default = "one")]
    pub version: u64,
    /// What the BOM describes and who made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The components.
    #[serde(default)]
    pub components: Vec<Component>,
    /// The dependency graph.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Vulnerabilities in the components; written only when there are some, never read.
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
}

fn one() -> u64 {
    1
}

/// BOM metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Metadata {
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The tools that made the BOM (1.5+ object form). Read as raw JSON: older BOMs use an array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<serde_json::Value>,
    /// The scanned target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
}

/// A component: a package, the operating system, or the scanned target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Component {
    /// Unique reference within the BOM.
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// `library`, `operating-system`, `container`, `file`, `application`, ….
    #[serde(rename = "type", default)]
    pub component_type: String,
    /// Group (Maven group id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Licences: either license entries or one expression.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// CPE name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Name/value pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// Nested components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

/// One entry of a `licenses` array.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LicenseChoice {
    /// A single licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    /// An SPDX expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// A licence by SPDX id or by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct License {
    /// SPDX licence id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Free-text name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Licence URL (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A name/value property.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// Name, e.g. `moat:package:type`.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Property {
    /// A property with a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Property {
        Property {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// One node of the dependency graph.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Dependency {
    /// The component's bom-ref.
    #[serde(rename = "ref", default)]
    pub reference: String,
    /// What it depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}
