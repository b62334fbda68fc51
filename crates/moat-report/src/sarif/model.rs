//! The subset of the SARIF 2.1.0 object model that Moat writes.
//!
//! An own serde model rather than a generated one: about a dozen objects are written, the field
//! order stays the one chosen here, and no builder or derive-helper crates come along.

use serde::Serialize;
use serde_json::{Map, Value};

/// The top-level `sarifLog`.
#[derive(Debug, Serialize)]
pub(crate) struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

/// One run of one tool.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Run {
    pub tool: Tool,
    pub results: Vec<SarifResult>,
    pub column_kind: &'static str,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tool {
    pub driver: Driver,
}

/// The tool component that ran.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Driver {
    pub name: &'static str,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information_uri: Option<&'static str>,
    pub rules: Vec<Rule>,
}

/// A `reportingDescriptor`: one per vulnerability id, secret rule or misconfiguration check.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    pub id: String,
    pub short_description: Message,
    pub full_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    pub help: MultiformatMessage,
    pub default_configuration: Configuration,
    pub properties: Map<String, Value>,
}

/// A plain-text message.
#[derive(Debug, Serialize)]
pub(crate) struct Message {
    pub text: String,
}

/// A message in plain text and Markdown.
#[derive(Debug, Serialize)]
pub(crate) struct MultiformatMessage {
    pub text: String,
    pub markdown: String,
}

/// A rule's default `reportingConfiguration`.
#[derive(Debug, Serialize)]
pub(crate) struct Configuration {
    pub level: &'static str,
}

/// One result: a finding in one package or file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Message,
    pub locations: Vec<Location>,
    pub partial_fingerprints: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    pub properties: Map<String, Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Location {
    pub physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    /// Left out for findings about a file as a whole: SARIF lines start at 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ArtifactLocation {
    pub uri: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Region {
    pub start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
}

impl Region {
    /// The first line of a file, where findings about a package's file point.
    pub fn first_line() -> Region {
        Region {
            start_line: 1,
            start_column: None,
            end_line: None,
            end_column: None,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogicalLocation {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fully_qualified_name: Option<String>,
    pub kind: &'static str,
}

/// Why a result is suppressed.
#[derive(Debug, Serialize)]
pub(crate) struct Suppression {
    pub kind: &'static str,
    pub status: &'static str,
    pub justification: String,
}
