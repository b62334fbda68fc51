//! Helpers for the language cataloger tests: fixtures, summaries of cataloged packages, and files
//! taken from the shared debian-app image (located through `MOAT_SHARED`).
#![allow(dead_code)]

use moat_catalog::cataloger::Cataloger;
use moat_core::Package;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

/// Layer blob holding `/app/venv` (layer 1).
pub const VENV_LAYER: &str = "15e359dfbeea376eb72f235abcbaa4d1bba49fa66f17ecd6fade7c941993fe99";
/// Layer blob holding `/app/node` (layer 2).
pub const NODE_LAYER: &str = "efb51bab08cf101f7c6e885016ed27a2da8ef9d40a8b9c342a2ab220df551e2a";
/// Layer blob holding `/app/rust/Cargo.lock` (layer 3).
pub const RUST_LAYER: &str = "91a6ca344f8ca423891a8373289c0f8659305ca8904b6d3d13113dd87fc16757";
/// Layer blob holding `/usr/local/bin/hello-go` (layer 4).
pub const GO_LAYER: &str = "32cacd30d488da52a821f839f43b59676ee3da647859aefe58458fe3c99e6771";
/// Layer blob holding `/usr/share/java/log4j-1.2-1.2.17.jar` (layer 5).
pub const JAVA_LAYER: &str = "b23f4bde983f60c580905de700ac3dcf615313b589b08456a8087e1f576968f2";

/// Contents of a fixture under `tests/fixtures/`.
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Calls `parse` with every proper prefix (from empty to all but the last byte) of each fixture.
pub fn for_each_fixture_prefix(relatives: &[&str], mut parse: impl FnMut(&[u8])) {
    for relative in relatives {
        let data = fixture(relative);
        for end in 0..data.len() {
            parse(&data[..end]);
        }
    }
}

/// What `cataloger` finds in a fixture read as the file at `path`; panics on an error.
pub fn catalog_fixture(cataloger: &dyn Cataloger, path: &str, relative: &str) -> Vec<Package> {
    cataloger
        .catalog(path, &fixture(relative))
        .unwrap_or_else(|e| panic!("{relative} as {path}: {e}"))
}

/// `(name, version)` of each package, sorted.
pub fn sorted_name_versions(packages: &[Package]) -> Vec<(String, String)> {
    let mut found = name_versions_in_order(packages);
    found.sort();
    found
}

/// `(name, version)` of each package, in the order given.
pub fn name_versions_in_order(packages: &[Package]) -> Vec<(String, String)> {
    packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

/// Owned copies of `(name, version)` literals, to compare with [`sorted_name_versions`].
pub fn owned_pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// Asserts that every package says it was found by `cataloger`.
pub fn assert_all_found_by(packages: &[Package], cataloger: &str) {
    let others: Vec<&str> = packages
        .iter()
        .map(|p| p.found_by.as_str())
        .filter(|found_by| *found_by != cataloger)
        .collect();
    assert!(others.is_empty(), "not found by {cataloger}: {others:?}");
}

#[allow(unused_imports)] // not every test file that includes this module needs it
pub use moat_testkit::shared::shared_dir;

/// Calls `visit` with the path (without the leading `./`), type and reader of each entry of one
/// gzip layer blob of debian-app.tar, until it breaks; what it broke with, if it did.
fn walk_layer<T>(
    shared: &Path,
    layer_blob: &str,
    mut visit: impl FnMut(&str, tar::EntryType, &mut dyn Read) -> ControlFlow<T>,
) -> Option<T> {
    let image = shared.join("images/debian-app.tar");
    let file = std::fs::File::open(&image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    let mut outer = tar::Archive::new(file);
    let blob_name = format!("{layer_blob}.tar.gz");
    let entry = outer
        .entries()
        .expect("image tar entries")
        .map(|entry| entry.expect("image tar entry"))
        .find(|entry| entry.path().expect("entry path").to_string_lossy() == blob_name)
        .unwrap_or_else(|| panic!("layer {layer_blob} not in {}", image.display()));
    let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(entry));
    for inner in layer.entries().expect("layer entries") {
        let mut inner = inner.expect("layer entry");
        let path = inner
            .path()
            .expect("layer entry path")
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let kind = inner.header().entry_type();
        if let ControlFlow::Break(found) = visit(&path, kind, &mut inner) {
            return Some(found);
        }
    }
    None
}

/// A file (path without the leading `/`) from one gzip layer blob of debian-app.tar.
pub fn image_file(shared: &Path, layer_blob: &str, inner_path: &str) -> Vec<u8> {
    let found = walk_layer(shared, layer_blob, |path, _, reader| {
        if path != inner_path {
            return ControlFlow::Continue(());
        }
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).expect("read layer file");
        ControlFlow::Break(bytes)
    });
    found.unwrap_or_else(|| panic!("{inner_path} not in layer {layer_blob}"))
}

/// Every regular file of one debian-app layer that `cataloger` asks for, run through it.
pub fn catalog_layer(shared: &Path, layer_blob: &str, cataloger: &dyn Cataloger) -> Vec<Package> {
    let mut packages = Vec::new();
    walk_layer::<()>(shared, layer_blob, |path, kind, reader| {
        let path = format!("/{path}");
        if kind.is_file() && cataloger.wants_path(&path) {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).expect("read layer file");
            packages.extend(
                cataloger
                    .catalog(&path, &bytes)
                    .unwrap_or_else(|e| panic!("{path}: {e}")),
            );
        }
        ControlFlow::Continue(())
    });
    packages
}

/// The JSON document of a peer's output for debian-app.
pub fn expected_json(shared: &Path, file: &str) -> serde_json::Value {
    let path = shared.join("images/debian-app.expected").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("peer output is JSON")
}

/// `(name, version)` of syft's artifacts of one type, sorted.
pub fn syft_packages(shared: &Path, package_type: &str) -> Vec<(String, String)> {
    let doc = expected_json(shared, "syft.syft.json");
    let mut found: Vec<(String, String)> = doc["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter(|a| a["type"] == package_type)
        .map(|a| {
            (
                a["name"].as_str().unwrap_or("").to_string(),
                a["version"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    found.sort();
    found
}
