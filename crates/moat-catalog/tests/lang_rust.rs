//! Rust catalogers: Cargo.lock files and `cargo auditable` binaries.

mod lang_image;

use flate2::{write::ZlibEncoder, Compression};
use lang_image::{fixture, image_file, owned_pairs, shared_dir, sorted_name_versions};
use moat_catalog::cataloger::{CatalogError, Cataloger};
use moat_catalog::lang::rust::{
    parse_auditable_binary, parse_cargo_lock, CargoAuditableCataloger, CargoLockCataloger,
};
use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};
use std::io::Write;

#[test]
fn cargo_lock_v3_golden() {
    let packages = parse_cargo_lock("/src/Cargo.lock", &fixture("rust/Cargo.lock.v3")).unwrap();
    insta::assert_json_snapshot!("cargo_lock_v3", packages);
}

#[test]
fn cargo_lock_v1_takes_checksums_from_metadata() {
    let packages = parse_cargo_lock("/old/Cargo.lock", &fixture("rust/Cargo.lock.v1")).unwrap();
    insta::assert_json_snapshot!("cargo_lock_v1", packages);
    let libc = packages.iter().find(|p| p.name == "libc").unwrap();
    assert_eq!(
        libc.metadata.get("cargo.checksum").map(String::as_str),
        Some("6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b")
    );
    let rand = packages.iter().find(|p| p.name == "rand").unwrap();
    assert!(
        !rand.metadata.contains_key("cargo.checksum"),
        "<none> is not a checksum"
    );
}

#[test]
fn debian_app_cargo_lock_matches_trivy() {
    let Some(shared) = shared_dir() else { return };
    let lock = image_file(&shared, lang_image::RUST_LAYER, "app/rust/Cargo.lock");
    let packages = CargoLockCataloger.catalog("/app/rust/Cargo.lock", &lock).unwrap();
    let trivy = lang_image::expected_json(&shared, "trivy.cyclonedx.json");
    let mut expected: Vec<(String, String)> = trivy["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:cargo/")))
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 34);
    assert_eq!(sorted_name_versions(&packages), expected);
    assert!(packages
        .iter()
        .all(|p| p.found_by == "rust-cargo-lock-cataloger" && p.primary_path() == "/app/rust/Cargo.lock"));
}

#[test]
fn bad_cargo_lock_is_an_error_naming_the_file() {
    let err = parse_cargo_lock("/x/Cargo.lock", b"[[package]]\nname = \"a\"\nversion = ").unwrap_err();
    assert!(matches!(err, CatalogError::Malformed { .. }));
    assert!(err.to_string().contains("/x/Cargo.lock"), "{err}");
    let missing_version = parse_cargo_lock("/x/Cargo.lock", b"[[package]]\nname = \"a\"\n");
    assert!(missing_version.is_err());
    assert!(parse_cargo_lock("/x/Cargo.lock", b"\xff\xfe").is_err());
}

#[test]
fn cargo_lock_paths() {
    assert!(CargoLockCataloger.wants_path("/app/rust/Cargo.lock"));
    assert!(!CargoLockCataloger.wants_path("/app/rust/Cargo.toml"));
    assert!(!CargoLockCataloger.wants_path("/app/rust/NotCargo.lock"));
}

#[test]
fn auditable_binary_golden() {
    let binary = fixture("rust/hello-auditable");
    assert!(CargoAuditableCataloger.wants_content("/usr/bin/hello", &binary[..64]));
    let packages = CargoAuditableCataloger
        .catalog("/usr/bin/hello-auditable", &binary)
        .unwrap();
    insta::assert_json_snapshot!("auditable_binary", packages);
    // autocfg is a build dependency: compiled into the build script, not the binary.
    assert_eq!(
        sorted_name_versions(&packages),
        owned_pairs(&[("hello-auditable", "0.2.0"), ("itoa", "1.0.11")])
    );
}

fn elf_with_section(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let section = obj.add_section(Vec::new(), name.to_vec(), SectionKind::ReadOnlyData);
    obj.set_section_data(section, data.to_vec(), 1);
    obj.write().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn synthesized_dep_section_is_read() {
    let json = br#"{"packages":[
        {"name":"app","version":"1.0.0","source":"local","dependencies":[1,2],"root":true},
        {"name":"serde","version":"1.0.190","source":"crates.io"},
        {"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"}]}"#;
    let elf = elf_with_section(b".dep-v0", &zlib(json));
    let packages = parse_auditable_binary("/bin/app", &elf).unwrap();
    assert_eq!(
        sorted_name_versions(&packages),
        vec![("app".into(), "1.0.0".into()), ("serde".into(), "1.0.190".into())]
    );
    let app = packages.iter().find(|p| p.name == "app").unwrap();
    assert_eq!(
        app.metadata.get("cargo.source").map(String::as_str),
        Some("local")
    );
    assert_eq!(app.metadata.get("cargo.root").map(String::as_str), Some("true"));
}

#[test]
fn binaries_without_audit_data_give_nothing() {
    let elf = elf_with_section(b".rodata", b"hello");
    assert_eq!(parse_auditable_binary("/bin/plain", &elf).unwrap(), vec![]);
    // A corrupt ELF that does not name the section is not worth a warning.
    assert_eq!(
        parse_auditable_binary("/bin/junk", b"\x7fELF\x02\x01\x01junkjunk").unwrap(),
        vec![]
    );
}

#[test]
fn corrupt_audit_data_is_an_error() {
    let elf = elf_with_section(b".dep-v0", b"not zlib at all");
    let err = parse_auditable_binary("/bin/bad", &elf).unwrap_err();
    assert!(err.to_string().contains("/bin/bad"), "{err}");
    let bad_json = elf_with_section(b".dep-v0", &zlib(b"{\"packages\": [1, 2"));
    assert!(parse_auditable_binary("/bin/bad", &bad_json).is_err());
    // Truncating a real auditable binary must not panic.
    let binary = fixture("rust/hello-auditable");
    for cut in [100, 4096, binary.len() / 2, binary.len() - 10] {
        let _ = parse_auditable_binary("/bin/cut", &binary[..cut]);
    }
}
