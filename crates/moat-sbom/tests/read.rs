//! Reading SBOMs: the peers' real CycloneDX output, Moat's own output (round trip) and bad input.

mod common;

use common::{exact_packages, mixed_licences, options, realistic_inventory, render};
use moat_core::{Package, PackageType, SourceKind};
use moat_sbom::{read, CycloneDxVersion, Format, SbomError, WriteOptions};
use moat_testkit::shared::{shared_dir, shared_file};
use std::collections::BTreeMap;

fn type_counts(packages: &[Package]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for package in packages {
        *counts.entry(package.package_type.to_string()).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn reads_syft_cyclonedx() {
    let Some(shared) = shared_dir() else { return };
    let path = shared_file(&shared, "images/debian-app.expected/syft.cyclonedx.json");
    let inventory = read(&std::fs::read(&path).unwrap(), "syft.cyclonedx.json").unwrap();
    assert_eq!(inventory.source.kind, SourceKind::Sbom);
    assert_eq!(inventory.source.name, "debian-app.tar");
    assert_eq!(inventory.packages.len(), 186);
    assert_eq!(
        type_counts(&inventory.packages),
        counts(&[
            ("deb", 119),
            ("python", 12),
            ("npm", 52),
            ("go-module", 2),
            ("java-archive", 1)
        ])
    );
    let distro = inventory
        .distro
        .as_ref()
        .expect("operating-system component read");
    assert_eq!((distro.id.as_str(), distro.version_id.as_str()), ("debian", "12"));
    assert_eq!(distro.codename, "bookworm");

    let log4j = inventory.packages.iter().find(|p| p.name == "log4j").unwrap();
    assert_eq!(log4j.namespace.as_deref(), Some("org.apache.log4j"));
    assert_eq!(log4j.version, "1.2-1.2.17");
    let stdlib = inventory.packages.iter().find(|p| p.name == "stdlib").unwrap();
    assert_eq!(stdlib.version, "go1.19.8");
    assert_eq!(stdlib.cpes, vec!["cpe:2.3:a:golang:go:1.19.8:-:*:*:*:*:*:*"]);
    let accepts = inventory.packages.iter().find(|p| p.name == "accepts").unwrap();
    assert_eq!(accepts.found_by, "javascript-package-cataloger");
    assert_eq!(accepts.licenses, vec!["MIT"]);
    assert_eq!(
        accepts.primary_path(),
        "/app/node/node_modules/accepts/package.json"
    );
    assert_eq!(
        accepts.locations[0].layer.as_deref(),
        Some("sha256:7ec79cfb43d7733d3401b69bdf1d7afe454655dfbc88e2e695e445df47ae66d3")
    );
    let passwd = inventory.packages.iter().find(|p| p.name == "passwd").unwrap();
    assert_eq!(passwd.source.as_ref().map(|s| s.name.as_str()), Some("shadow"));
    assert_eq!(passwd.arch.as_deref(), Some("amd64"));
}

#[test]
fn reads_trivy_cyclonedx() {
    let Some(shared) = shared_dir() else { return };
    let path = shared_file(&shared, "images/debian-app.expected/trivy.cyclonedx.json");
    let inventory = read(&std::fs::read(&path).unwrap(), "trivy.cyclonedx.json").unwrap();
    assert_eq!(inventory.packages.len(), 219);
    assert_eq!(
        type_counts(&inventory.packages),
        counts(&[
            ("deb", 119),
            ("npm", 52),
            ("rust-crate", 34),
            ("python", 12),
            ("go-module", 2)
        ])
    );
    assert_eq!(
        inventory.source.image_id.as_deref(),
        Some("sha256:d311f56795a8e58d5e371aa26caa05d9a28f4743799c6aa0c9fddd639ab54ce2")
    );
    let adduser = inventory.packages.iter().find(|p| p.name == "adduser").unwrap();
    assert_eq!(
        adduser
            .source
            .as_ref()
            .map(|s| (s.name.as_str(), s.version.as_str())),
        Some(("adduser", "3.134"))
    );
    assert_eq!(adduser.licenses, vec!["GPL-2.0-or-later", "GPL-2.0-only"]);
    let accepts = inventory.packages.iter().find(|p| p.name == "accepts").unwrap();
    assert_eq!(
        accepts.primary_path(),
        "/app/node/node_modules/accepts/package.json"
    );
}

/// write(CycloneDX) then read gives back the very same packages.
#[test]
fn cyclonedx_round_trip_is_exact() {
    for version in [CycloneDxVersion::V1_6, CycloneDxVersion::V1_5] {
        let original = realistic_inventory();
        let opts = WriteOptions {
            cyclonedx_version: version,
            ..options()
        };
        let bytes = render(&original, Format::CycloneDxJson, &opts);
        let back = read(&bytes, "moat.cdx.json").unwrap();

        let mut expected = exact_packages();
        let mut mixed = mixed_licences();
        mixed.licenses = vec!["(MIT OR Apache-2.0) AND LicenseRef-Custom-License-v2".to_string()];
        expected.push(mixed);
        expected.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        assert_eq!(back.packages, expected, "CycloneDX {version}");
        assert_eq!(back.distro, original.distro);
        assert_eq!(back.source.name, original.source.name);
        assert_eq!(back.source.image_id, original.source.image_id);
        assert_eq!(back.source.tags, original.source.tags);
    }
}

#[test]
fn spdx_round_trip_keeps_identity_and_licences() {
    let original = realistic_inventory();
    let back = read(&render(&original, Format::SpdxJson, &options()), "moat.spdx.json").unwrap();
    // busybox has no purl, so SPDX cannot carry it back.
    let with_purl: Vec<&Package> = original.packages.iter().filter(|p| !p.purl.is_empty()).collect();
    assert_eq!(back.packages.len(), with_purl.len());
    for (read_back, written) in back.packages.iter().zip(with_purl) {
        assert_eq!(read_back.package_type, written.package_type);
        assert_eq!(read_back.name, written.name);
        assert_eq!(read_back.version, written.version);
        assert_eq!(read_back.purl, written.purl);
        assert_eq!(read_back.namespace, written.namespace);
        assert_eq!(read_back.cpes, written.cpes);
        assert_eq!(read_back.licenses, written.licenses, "{}", written.name);
    }
    assert_eq!(back.source.name, original.source.name);
    assert_eq!(back.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
}

#[test]
fn moat_json_round_trip() {
    let original = realistic_inventory();
    let back = read(&render(&original, Format::MoatJson, &options()), "scan.json").unwrap();
    assert_eq!(back.packages, original.packages);
    assert_eq!(back.distro, original.distro);
    assert_eq!(back.source.kind, SourceKind::Sbom);
    assert_eq!(back.source.image_id, original.source.image_id);
}

#[test]
fn reads_nested_components_and_purl_types() {
    let document = r#"{
      "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
      "components": [
        { "type": "application", "name": "app", "components": [
          { "type": "library", "name": "serde", "version": "1.0.200", "purl": "pkg:cargo/serde@1.0.200",
            "licenses": [ { "expression": "MIT OR Apache-2.0" } ] },
          { "type": "library", "name": "rails", "version": "7.1.0", "purl": "pkg:gem/rails@7.1.0",
            "components": [ { "type": "library", "name": "Newtonsoft.Json", "version": "13.0.1",
                              "purl": "pkg:nuget/Newtonsoft.Json@13.0.1" } ] }
        ]},
        { "type": "library", "name": "monolog/monolog", "version": "3.5.0", "purl": "pkg:composer/monolog/monolog@3.5.0" },
        { "type": "library", "name": "thing", "version": "1", "purl": "pkg:swift/github.com/x/thing@1" },
        { "type": "library", "name": "lodash", "purl": "pkg:npm/lodash@4.17.21", "unknownField": { "x": [1, 2] } }
      ]
    }"#;
    let inventory = read(document.as_bytes(), "nested.json").unwrap();
    let found: Vec<(PackageType, &str, &str)> = inventory
        .packages
        .iter()
        .map(|p| (p.package_type, p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (PackageType::Npm, "lodash", "4.17.21"),
            (PackageType::RustCrate, "serde", "1.0.200"),
            (PackageType::Gem, "rails", "7.1.0"),
            (PackageType::PhpComposer, "monolog/monolog", "3.5.0"),
            (PackageType::Dotnet, "Newtonsoft.Json", "13.0.1"),
            (PackageType::Binary, "thing", "1"),
        ]
    );
    assert_eq!(inventory.packages[1].licenses, vec!["MIT OR Apache-2.0"]);
    assert_eq!(inventory.packages[1].found_by, "cyclonedx-sbom-reader");
}

#[test]
fn malformed_json_reports_line_and_column() {
    let broken = b"{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.6\",\n  \"components\": [ { \"name\": } ]\n}";
    match read(broken, "broken.json") {
        Err(SbomError::Json {
            origin, line, column, ..
        }) => {
            assert_eq!(origin, "broken.json");
            assert_eq!(line, 4);
            assert!(column > 20, "column {column}");
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let message = read(broken, "broken.json").unwrap_err().to_string();
    assert!(message.starts_with("broken.json:4:"), "{message}");
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    let cases: &[&[u8]] = &[
        b"",
        b"[]",
        b"null",
        b"{}",
        b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"2.0\"}",
        b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": {}}",
        b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [{\"name\": 5}]}",
        b"{\"spdxVersion\": \"SPDX-3.0\"}",
        b"{\"spdxVersion\": \"SPDX-2.3\", \"packages\": 7}",
        b"{\"schema\": \"moat-inventory/v9\", \"source\": {}}",
        b"\xff\xfe{}",
    ];
    for case in cases {
        assert!(
            read(case, "case.json").is_err(),
            "{}",
            String::from_utf8_lossy(case)
        );
    }
    match read(b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"2.0\"}", "x") {
        Err(SbomError::UnsupportedVersion { version, .. }) => assert_eq!(version, "2.0"),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert!(matches!(
        read(b"{\"hello\": 1}", "x"),
        Err(SbomError::UnknownDocument { .. })
    ));
}

#[test]
fn deeply_nested_components_are_bounded() {
    let depth = 100;
    let mut document = String::from("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":");
    for _ in 0..depth {
        document.push_str("[{\"type\":\"library\",\"name\":\"x\",\"purl\":\"pkg:npm/x@1\",\"components\":");
    }
    document.push_str("[]");
    for _ in 0..depth {
        document.push_str("}]");
    }
    document.push('}');
    assert!(read(document.as_bytes(), "deep.json").is_err());
}

#[test]
fn odd_purls_and_names_do_not_panic() {
    let purls = [
        "pkg:",
        "pkg:/",
        "pkg:a/",
        "pkg:npm/%",
        "pkg:npm/%zz@%",
        "pkg:a/b@?#",
        "pkg:npm/é@ü?x=é#ü",
        "pkg:npm/@",
        "pkg:maven/@/@",
        "pkg:deb/debian/x@1?upstream=@",
        "pkg:deb/debian/x@1?upstream=",
        "pkg:golang//x@",
        "not-a-purl",
        "",
    ];
    for purl in purls {
        let document = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [
                { "type": "library", "name": "", "purl": purl,
                  "properties": [ { "name": "moat:location:99999999999999999999:path", "value": "/x" },
                                  { "name": "syft:location:a:path", "value": "/y" },
                                  { "name": "moat:location:3" } ] },
                { "type": "library", "name": "n\u{1b}[31m", "purl": purl, "licenses": [ { "license": {} }, {} ] }
            ]
        });
        let inventory = read(document.to_string().as_bytes(), "odd.json").unwrap();
        for format in [
            Format::CycloneDxJson,
            Format::SpdxJson,
            Format::MoatJson,
            Format::Table,
        ] {
            let written = render(&inventory, format, &options());
            if format == Format::Table {
                assert!(
                    !String::from_utf8(written).unwrap().contains('\x1b'),
                    "escape leaked into table"
                );
            } else {
                read(&written, "again.json").unwrap();
            }
        }
    }
}
