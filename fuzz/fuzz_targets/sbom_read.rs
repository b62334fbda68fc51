//! Fuzzes the SBOM reader: arbitrary bytes must give an inventory or an error, never a panic,
//! and whatever reads must write back as CycloneDX and read again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inventory) = moat_sbom::read(data, "fuzz.json") {
        let mut out = Vec::new();
        let options = moat_sbom::WriteOptions::default();
        if moat_sbom::write(&inventory, moat_sbom::Format::CycloneDxJson, &options, &mut out).is_ok() {
            let _ = moat_sbom::read(&out, "fuzz-roundtrip.json");
        }
    }
});
