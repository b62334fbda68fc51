//! Golden output of every format for a small inventory, and byte-identical repeated writes.

mod common;

use common::{options, realistic_inventory, render, small_inventory};
use moat_sbom::{CycloneDxVersion, Format, WriteOptions};

/// The creation time the writers use in this environment (`SOURCE_DATE_EPOCH` or the epoch).
fn expected_timestamp() -> String {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => {
            let doc: serde_json::Value =
                serde_json::from_slice(&render(&small_inventory(), Format::SpdxJson, &options())).unwrap();
            doc["creationInfo"]["created"].as_str().unwrap().to_string()
        }
        _ => "1970-01-01T00:00:00Z".to_string(),
    }
}

/// Output as text with the creation time replaced, so snapshots hold with SOURCE_DATE_EPOCH set.
fn snapshot_text(format: Format, options: &WriteOptions) -> String {
    let text = String::from_utf8(render(&small_inventory(), format, options)).unwrap();
    let timestamp = expected_timestamp();
    assert!(format == Format::Table || format == Format::MoatJson || text.contains(&timestamp));
    text.replace(&timestamp, "[timestamp]")
}

#[test]
fn snapshot_cyclonedx_1_6() {
    insta::assert_snapshot!("cyclonedx-1.6", snapshot_text(Format::CycloneDxJson, &options()));
}

#[test]
fn snapshot_cyclonedx_1_5() {
    let opts = WriteOptions {
        cyclonedx_version: CycloneDxVersion::V1_5,
        ..options()
    };
    insta::assert_snapshot!("cyclonedx-1.5", snapshot_text(Format::CycloneDxJson, &opts));
}

#[test]
fn snapshot_spdx() {
    insta::assert_snapshot!("spdx-2.3", snapshot_text(Format::SpdxJson, &options()));
}

#[test]
fn snapshot_moat_json() {
    insta::assert_snapshot!("moat-json", snapshot_text(Format::MoatJson, &options()));
}

#[test]
fn snapshot_table_plain_and_colored() {
    let plain = snapshot_text(Format::Table, &options());
    assert!(!plain.contains('\x1b'), "plain table has escape codes");
    insta::assert_snapshot!("table", plain);
    let colored = snapshot_text(
        Format::Table,
        &WriteOptions {
            color: true,
            ..options()
        },
    );
    assert!(colored.contains("\x1b[1mNAME"));
    assert_eq!(
        strip_ansi(&colored),
        strip_ansi(&snapshot_text(Format::Table, &options()))
    );
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for end in chars.by_ref() {
                if end == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn writes_are_byte_identical() {
    for format in [
        Format::CycloneDxJson,
        Format::SpdxJson,
        Format::MoatJson,
        Format::Table,
    ] {
        let first = render(&realistic_inventory(), format, &options());
        let second = render(&realistic_inventory(), format, &options());
        assert_eq!(first, second, "{format} output differs between runs");
    }
}

#[test]
fn package_order_does_not_change_output() {
    let inventory = realistic_inventory();
    let mut shuffled = inventory.clone();
    shuffled.packages.reverse();
    for format in [Format::CycloneDxJson, Format::SpdxJson] {
        assert_eq!(
            render(&inventory, format, &options()),
            render(&shuffled, format, &options()),
            "{format}"
        );
    }
}

#[test]
fn identifiers_follow_content() {
    let serial = |inventory: &moat_core::Inventory| {
        let doc: serde_json::Value =
            serde_json::from_slice(&render(inventory, Format::CycloneDxJson, &options())).unwrap();
        doc["serialNumber"].as_str().unwrap().to_string()
    };
    let namespace = |inventory: &moat_core::Inventory| {
        let doc: serde_json::Value =
            serde_json::from_slice(&render(inventory, Format::SpdxJson, &options())).unwrap();
        doc["documentNamespace"].as_str().unwrap().to_string()
    };
    let base = realistic_inventory();
    let mut changed = base.clone();
    changed.packages[0].version.push_str("-1");
    assert_ne!(serial(&base), serial(&changed));
    assert_ne!(namespace(&base), namespace(&changed));
    assert!(serial(&base).starts_with("urn:uuid:"));
}

#[test]
fn default_timestamp_is_the_epoch() {
    if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        eprintln!("skipping: SOURCE_DATE_EPOCH is set in this environment");
        return;
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&render(&small_inventory(), Format::CycloneDxJson, &options())).unwrap();
    assert_eq!(doc["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
}

#[test]
fn format_names_parse() {
    for (name, format) in [
        ("cyclonedx-json", Format::CycloneDxJson),
        ("cyclonedx", Format::CycloneDxJson),
        ("spdx-json", Format::SpdxJson),
        ("spdx", Format::SpdxJson),
        ("json", Format::MoatJson),
        ("table", Format::Table),
    ] {
        assert_eq!(name.parse::<Format>().unwrap(), format);
    }
    assert!("xml".parse::<Format>().is_err());
    assert_eq!("1.5".parse::<CycloneDxVersion>().unwrap(), CycloneDxVersion::V1_5);
    assert!("1.4".parse::<CycloneDxVersion>().is_err());
    assert_eq!(WriteOptions::default().cyclonedx_version, CycloneDxVersion::V1_6);
}
