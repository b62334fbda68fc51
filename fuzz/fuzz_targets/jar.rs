//! Fuzzes the Java archive reader (zip container, manifests, pom.properties, nested archives).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::java::parse_java_archive("/fuzz/app.jar", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = moat_catalog::lang::java::manifest::parse_manifest(text);
    }
});
