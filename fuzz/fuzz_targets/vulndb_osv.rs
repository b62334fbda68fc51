//! The OSV record reader (JSON object or array, YAML) on arbitrary bytes, then the checks an
//! import applies: records or an error, never a panic; every record kept has an id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_vulndb::parse::parse_osv;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the name, so both the JSON and the YAML paths are reached.
    let name = match data.first() {
        Some(b) if b % 2 == 0 => "record.yaml",
        _ => "record.json",
    };
    if let Ok(batch) = parse_osv(data, name) {
        for mut record in batch.records {
            let mut dropped = Vec::new();
            if moat_vulndb::validate::check(&mut record, &mut dropped).is_ok() {
                assert!(!record.id.trim().is_empty());
                assert!(record
                    .affected
                    .iter()
                    .all(|a| moat_vulndb::validate::is_known_ecosystem(&a.package.ecosystem)));
            }
        }
    }
});
