//! Writer output validated against the upstream CycloneDX 1.5/1.6 and SPDX 2.3 JSON schemas
//! (from the shared conformance data; no network: `$ref`s resolve to the local files).

mod common;

use common::{options, realistic_inventory, render};
use moat_sbom::{CycloneDxVersion, Format, WriteOptions};
use moat_testkit::schema::{load_json as load, validation_errors};
use moat_testkit::shared::{shared_dir, shared_file};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn check_cyclonedx(version: CycloneDxVersion, schema_file: &str) {
    let Some(shared) = shared_dir() else { return };
    let schema_dir = shared.join("conformance/cyclonedx/schema");
    let schema = load(&shared_file(
        &shared,
        &format!("conformance/cyclonedx/schema/{schema_file}"),
    ));
    let opts = WriteOptions {
        cyclonedx_version: version,
        ..options()
    };
    let document: Value =
        serde_json::from_slice(&render(&realistic_inventory(), Format::CycloneDxJson, &opts)).unwrap();
    assert_eq!(document["specVersion"], version.to_string());
    let errors = validation_errors(&schema, &schema_dir, &document);
    assert!(
        errors.is_empty(),
        "CycloneDX {version} schema errors:\n{}",
        errors.join("\n")
    );
    // The validator must actually look: a wrong licence id is rejected.
    let mut broken = document.clone();
    broken["components"][0]["licenses"] = serde_json::json!([{ "license": { "id": "Not-A-License" } }]);
    assert!(!validation_errors(&schema, &schema_dir, &broken).is_empty());
}

#[test]
fn cyclonedx_1_6_is_schema_valid() {
    check_cyclonedx(CycloneDxVersion::V1_6, "bom-1.6.schema.json");
}

#[test]
fn cyclonedx_1_5_is_schema_valid() {
    check_cyclonedx(CycloneDxVersion::V1_5, "bom-1.5.schema.json");
}

#[test]
fn cyclonedx_bom_refs_are_unique_and_dependencies_resolve() {
    let document: Value =
        serde_json::from_slice(&render(&realistic_inventory(), Format::CycloneDxJson, &options())).unwrap();
    let components = document["components"].as_array().unwrap();
    let refs: BTreeSet<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), components.len(), "bom-refs collide");
    let ms: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|r| r.starts_with("pkg:npm/ms@2.0.0"))
        .collect();
    assert_eq!(ms.len(), 2);
    assert!(ms.iter().all(|r| r.contains("?package-id=")), "{ms:?}");
    assert_eq!(
        refs.iter()
            .filter(|r| **r == "pkg:npm/%40babel/core@7.23.0")
            .count(),
        1
    );
    let root = document["metadata"]["component"]["bom-ref"].as_str().unwrap();
    let dependencies = document["dependencies"].as_array().unwrap();
    assert_eq!(dependencies[0]["ref"], root);
    let depends_on: BTreeSet<&str> = dependencies[0]["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(depends_on, refs);
}

#[test]
fn cyclonedx_license_forms() {
    let document: Value =
        serde_json::from_slice(&render(&realistic_inventory(), Format::CycloneDxJson, &options())).unwrap();
    let by_name = |name: &str| -> Value {
        document["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["licenses"]
            .clone()
    };
    assert_eq!(
        by_name("cryptography"),
        serde_json::json!([{ "expression": "MIT OR Apache-2.0" }])
    );
    assert_eq!(
        by_name("libc6"),
        serde_json::json!([{ "license": { "id": "LGPL-2.1-or-later" } }, { "license": { "id": "GPL-2.0-or-later" } }])
    );
    assert_eq!(
        by_name("tzdata"),
        serde_json::json!([{ "license": { "name": "public-domain" } }, { "license": { "name": "BSD-like" } }])
    );
    assert_eq!(
        by_name("mixed-lic"),
        serde_json::json!([{ "expression": "(MIT OR Apache-2.0) AND LicenseRef-Custom-License-v2" }])
    );
}

#[test]
fn spdx_is_schema_valid_and_consistent() {
    let Some(shared) = shared_dir() else { return };
    let schema = load(&shared_file(
        &shared,
        "conformance/cyclonedx/spdx-2.3/spdx-schema-2.3.json",
    ));
    let spdx_ids = spdx_license_list(&shared);
    let document: Value =
        serde_json::from_slice(&render(&realistic_inventory(), Format::SpdxJson, &options())).unwrap();
    let errors = validation_errors(&schema, &shared.join("conformance/cyclonedx/schema"), &document);
    assert!(errors.is_empty(), "SPDX schema errors:\n{}", errors.join("\n"));

    let packages = document["packages"].as_array().unwrap();
    let ids: Vec<&str> = packages.iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "SPDXIDs collide"
    );
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "bad SPDXID {id}"
        );
    }
    let extracted: BTreeMap<&str, &str> = document["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["licenseId"].as_str().unwrap(),
                e["extractedText"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(extracted.get("LicenseRef-BSD-like"), Some(&"BSD-like"));
    for package in packages {
        let declared = package["licenseDeclared"].as_str().unwrap();
        for token in declared.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            if token.is_empty() || matches!(token, "AND" | "OR" | "WITH" | "NOASSERTION") {
                continue;
            }
            if token.starts_with("LicenseRef-") {
                assert!(
                    extracted.contains_key(token),
                    "{token} has no hasExtractedLicensingInfos entry"
                );
            } else {
                assert!(
                    spdx_ids.contains(token.trim_end_matches('+')),
                    "{token} is not an SPDX id"
                );
            }
        }
    }
    let relationships = document["relationships"].as_array().unwrap();
    let root = relationships[0]["relatedSpdxElement"].as_str().unwrap();
    assert_eq!(relationships[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert_eq!(relationships[0]["relationshipType"], "DESCRIBES");
    assert_eq!(
        relationships.len(),
        packages.len(),
        "one DESCRIBES plus one CONTAINS per non-root package"
    );
    assert!(relationships[1..]
        .iter()
        .all(|r| r["spdxElementId"] == root && r["relationshipType"] == "CONTAINS"));
}

/// The SPDX licence and exception ids listed in the CycloneDX schema's spdx.schema.json.
fn spdx_license_list(shared: &Path) -> BTreeSet<String> {
    let list = load(&shared_file(
        shared,
        "conformance/cyclonedx/schema/spdx.schema.json",
    ));
    list["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}
