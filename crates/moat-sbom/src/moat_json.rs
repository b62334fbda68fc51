//! Moat's own JSON: the inventory as it is, with a `schema` field naming the format version.

use crate::SbomError;
use moat_core::Inventory;
use serde::{Deserialize, Serialize};

/// The `schema` value of documents this version writes.
pub const MOAT_JSON_SCHEMA: &str = "moat-inventory/v1";

#[derive(Serialize)]
struct DocumentOut<'a> {
    schema: &'static str,
    #[serde(flatten)]
    inventory: &'a Inventory,
}

#[derive(Deserialize)]
struct DocumentIn {
    schema: String,
    #[serde(flatten)]
    inventory: Inventory,
}

/// Writes the inventory as pretty JSON.
pub(crate) fn write(inventory: &Inventory, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
    let document = DocumentOut {
        schema: MOAT_JSON_SCHEMA,
        inventory,
    };
    crate::write_pretty_json(&document, out)
}

/// Reads Moat JSON back; the source keeps its description but becomes an SBOM source.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<Inventory, SbomError> {
    let document: DocumentIn =
        serde_json::from_slice(bytes).map_err(|e| SbomError::json(origin, "Moat JSON document", &e))?;
    if document.schema != MOAT_JSON_SCHEMA {
        return Err(SbomError::UnsupportedVersion {
            origin: origin.to_string(),
            format: "Moat JSON",
            version: document.schema,
        });
    }
    let mut inventory = document.inventory;
    inventory.source.kind = moat_core::SourceKind::Sbom;
    inventory.source.user_input = origin.to_string();
    Ok(inventory)
}
