//! Reading advisory files: OSV JSON and YAML, Alpine/Wolfi secdb JSON and YAML, the CISA KEV
//! catalog and FIRST's EPSS CSV, each recognised by its content (the name only decides
//! between JSON and YAML where the content does not).

use crate::feeds;
use crate::osv::Record;
use crate::secdb;
use moat_core::{EpssScore, KevEntry};
use serde::Deserialize;

/// The source name of OSV records read from files.
pub const OSV_SOURCE: &str = "osv";

/// What one input file held.
#[derive(Debug)]
pub enum Parsed {
    /// OSV records (or secdb entries turned into them) from one source.
    Records(RecordBatch),
    /// KEV catalog entries by CVE id.
    Kev(Vec<(String, KevEntry)>),
    /// EPSS figures by CVE id.
    Epss(Vec<(String, EpssScore)>),
}

/// The records of one file, and those of its records that could not be read.
#[derive(Debug, Default)]
pub struct RecordBatch {
    /// The source name (`osv`, `secdb:v3.18/main`).
    pub source: String,
    /// The records read.
    pub records: Vec<Record>,
    /// Records of the file that were not OSV records (in a JSON array, the others still count).
    pub rejected: Vec<Rejected>,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its id, when it has one.
    pub id: String,
    /// Why.
    pub message: String,
}

/// A file that is not advisory data, or not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    fn new(message: impl Into<String>) -> ParseError {
        ParseError(message.into())
    }
}

/// Reads one file of any supported kind. `name` is the path (or `archive:member`) and only
/// breaks the tie between JSON and YAML.
pub fn parse_file(bytes: &[u8], name: &str) -> Result<Parsed, ParseError> {
    let text = text_of(bytes)?;
    if feeds::looks_like_epss(text) {
        return feeds::parse_epss(text).map(Parsed::Epss);
    }
    if is_json(text) {
        return parse_json(text);
    }
    if looks_like_yaml(text, name) {
        return match secdb::looks_like_secdb_yaml(text) {
            true => secdb::parse_yaml(text).map(Parsed::Records),
            false => parse_osv_yaml(text).map(Parsed::Records),
        };
    }
    Err(ParseError::new("neither JSON, YAML nor an EPSS CSV"))
}

/// Reads an OSV file: one JSON record, a JSON array of records, or one YAML record. A bad
/// record in an array is rejected on its own; the others are kept.
pub fn parse_osv(bytes: &[u8], name: &str) -> Result<RecordBatch, ParseError> {
    let text = text_of(bytes)?;
    match is_json(text) {
        true => osv_from_json(json_value(text)?),
        false if looks_like_yaml(text, name) => parse_osv_yaml(text),
        false => Err(ParseError::new("neither an OSV JSON nor an OSV YAML record")),
    }
}

/// Reads an Alpine or Wolfi secdb file (JSON or YAML) into one OSV record per (file, id).
pub fn parse_secdb(bytes: &[u8], _name: &str) -> Result<RecordBatch, ParseError> {
    let text = text_of(bytes)?;
    match is_json(text) {
        true => secdb::parse_json(json_value(text)?),
        false => secdb::parse_yaml(text),
    }
}

/// The text without a byte-order mark and leading blank space.
fn text_of(bytes: &[u8]) -> Result<&str, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError(format!("not UTF-8 text: {e}")))?;
    Ok(text.trim_start_matches('\u{feff}').trim_start())
}

fn is_json(text: &str) -> bool {
    text.starts_with('{') || text.starts_with('[')
}

/// YAML by name, or a text whose first line is a `key:` mapping entry or a document start.
fn looks_like_yaml(text: &str, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let first_line = text.lines().next().unwrap_or_default();
    lower.ends_with(".yaml")
        || lower.ends_with(".yml")
        || first_line.starts_with("---")
        || first_line
            .split_once(':')
            .is_some_and(|(key, _)| is_plain_key(key))
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn json_value(text: &str) -> Result<serde_json::Value, ParseError> {
    serde_json::from_str(text).map_err(|e| ParseError(format!("bad JSON: {e}")))
}

fn parse_json(text: &str) -> Result<Parsed, ParseError> {
    let value = json_value(text)?;
    if feeds::is_kev(&value) {
        return feeds::parse_kev(value).map(Parsed::Kev);
    }
    if secdb::is_secdb_json(&value) {
        return secdb::parse_json(value).map(Parsed::Records);
    }
    osv_from_json(value).map(Parsed::Records)
}

/// One record (an object) or many (an array); each array element is read on its own.
fn osv_from_json(value: serde_json::Value) -> Result<RecordBatch, ParseError> {
    let mut batch = RecordBatch {
        source: OSV_SOURCE.to_string(),
        ..RecordBatch::default()
    };
    let items = match value {
        serde_json::Value::Array(items) => items,
        object @ serde_json::Value::Object(_) => vec![object],
        _ => {
            return Err(ParseError::new(
                "not an OSV record: neither an object nor an array",
            ))
        }
    };
    for item in items {
        let id = item
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        match serde_json::from_value::<Record>(item) {
            Ok(record) => batch.records.push(record),
            Err(e) => batch.rejected.push(Rejected {
                id,
                message: format!("not an OSV record: {e}"),
            }),
        }
    }
    Ok(batch)
}

fn parse_osv_yaml(text: &str) -> Result<RecordBatch, ParseError> {
    let mut batch = RecordBatch {
        source: OSV_SOURCE.to_string(),
        ..RecordBatch::default()
    };
    match serde_saphyr::from_str_with_options::<Record>(text, yaml_options()) {
        Ok(record) => batch.records.push(record),
        Err(e) => batch.rejected.push(Rejected {
            id: yaml_record_id(text),
            message: format!("not an OSV record: {e}"),
        }),
    }
    Ok(batch)
}

/// The `id` of a YAML record that did not read as a whole, for the problem report.
fn yaml_record_id(text: &str) -> String {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<String>,
    }
    serde_saphyr::from_str_with_options::<IdOnly>(text, yaml_options())
        .ok()
        .and_then(|found| found.id)
        .unwrap_or_default()
}

/// Bounds for untrusted YAML: one document, limited size and depth.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::Options {
        budget: Some(serde_saphyr::Budget {
            max_events: 4_000_000,
            max_nodes: 2_000_000,
            max_depth: 64,
            max_documents: 1,
            ..serde_saphyr::Budget::default()
        }),
        with_snippet: false,
        ..serde_saphyr::Options::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(parsed: Parsed) -> RecordBatch {
        match parsed {
            Parsed::Records(batch) => batch,
            other => panic!("not records: {other:?}"),
        }
    }

    #[test]
    fn yaml_versions_stay_text() {
        let yaml = "id: PYSEC-1\naffected:\n- package:\n    name: x\n    ecosystem: PyPI\n  versions:\n  - 1.0\n  - 1.10\n  - 2\n";
        let batch = records(parse_file(yaml.as_bytes(), "x.yaml").expect("record"));
        assert_eq!(batch.records[0].affected[0].versions, ["1.0", "1.10", "2"]);
    }

    #[test]
    fn a_json_array_keeps_its_good_records() {
        let json = br#"[{"id":"A-1"},{"summary":"no id"},{"id":"A-3","aliases":"not a list"},{"id":"A-4"}]"#;
        let batch = parse_osv(json, "many.json").expect("array");
        let ids: Vec<&str> = batch.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["A-1", "A-4"]);
        assert_eq!(batch.rejected.len(), 2);
        assert_eq!(batch.rejected[0].id, "");
        assert!(
            batch.rejected[0].message.contains("missing field `id`"),
            "{:?}",
            batch.rejected
        );
        assert_eq!(batch.rejected[1].id, "A-3");
    }

    #[test]
    fn a_yaml_record_without_a_usable_shape_is_rejected_by_id() {
        let batch = parse_osv(b"id: PYSEC-9\naffected: 3\n", "x.yaml").expect("yaml");
        assert!(batch.records.is_empty());
        assert_eq!(batch.rejected[0].id, "PYSEC-9");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_file(b"{\"id\": ", "cut.json").is_err());
        assert!(parse_file(&[0xff, 0xfe, 0], "bin").is_err());
        assert!(parse_file(b"just words", "x.txt").is_err());
        assert!(parse_file(b"[1, 2]", "numbers.json").is_ok_and(|p| records(p).rejected.len() == 2));
        assert!(parse_file(b"\"text\"", "string.json").is_err());
        assert!(parse_file(b"id: [unclosed\n", "x.yaml").is_ok_and(|p| records(p).rejected.len() == 1));
    }
}
