//! Validating writer output against JSON schemas read from disk (the shared CycloneDX and SPDX
//! schemas, the OASIS SARIF schema); no network: the CycloneDX schema's external `$ref`s
//! resolve to files beside it.

use jsonschema::{Retrieve, Uri};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Resolves the CycloneDX schema's external `$ref`s to the schema directory.
struct LocalSchemas {
    dir: PathBuf,
}

impl Retrieve for LocalSchemas {
    fn retrieve(&self, uri: &Uri<&str>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = match uri.as_str().trim_end_matches('#') {
            "http://cyclonedx.org/schema/spdx.schema.json" => "spdx.schema.json",
            "http://cyclonedx.org/schema/jsf-0.82.schema.json" => "jsf-0.82.schema.json",
            other => return Err(format!("no local copy of {other}").into()),
        };
        Ok(serde_json::from_slice(&std::fs::read(self.dir.join(file))?)?)
    }
}

/// A JSON file, panicking with its path when it cannot be read or parsed.
pub fn load_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every validation error of `document` against `schema` (formats checked too), as readable
/// lines; `schema_dir` holds the files the schema's external `$ref`s name.
pub fn validation_errors(schema: &Value, schema_dir: &Path, document: &Value) -> Vec<String> {
    let validator = jsonschema::options()
        .with_retriever(LocalSchemas {
            dir: schema_dir.to_path_buf(),
        })
        .should_validate_formats(true)
        .build(schema)
        .expect("schema compiles");
    validator
        .iter_errors(document)
        .map(|e| format!("{}: {}", e.instance_path, e))
        .collect()
}
