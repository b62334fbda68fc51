//! Helpers for the language cataloger tests: fixtures, and files taken from the shared
//! debian-app image (located through `MOAT_SHARED`).
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;

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

#[allow(unused_imports)] // not every test file that includes this module needs it
pub use moat_testkit::shared::shared_dir;

/// A file (path without the leading `/`) from one gzip layer blob of debian-app.tar.
pub fn image_file(shared: &Path, layer_blob: &str, inner_path: &str) -> Vec<u8> {
    let image = shared.join("images/debian-app.tar");
    let file = std::fs::File::open(&image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    let mut outer = tar::Archive::new(file);
    let blob_name = format!("{layer_blob}.tar.gz");
    for entry in outer.entries().expect("image tar entries") {
        let entry = entry.expect("image tar entry");
        if entry.path().expect("entry path").to_string_lossy() != blob_name {
            continue;
        }
        let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(entry));
        for inner in layer.entries().expect("layer entries") {
            let mut inner = inner.expect("layer entry");
            let path = inner
                .path()
                .expect("layer entry path")
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if path == inner_path {
                let mut bytes = Vec::new();
                inner.read_to_end(&mut bytes).expect("read layer file");
                return bytes;
            }
        }
        panic!("{inner_path} not in layer {layer_blob}");
    }
    panic!("layer {layer_blob} not in {}", image.display());
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
