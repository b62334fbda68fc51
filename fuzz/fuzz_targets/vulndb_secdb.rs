//! The Alpine/Wolfi secdb reader (JSON or YAML) on arbitrary bytes: records or an error, never
//! a panic; every record is `ALPINE-<id>` or `WOLFI-<id>` with its id upstream and one
//! `introduced 0, fixed <version>` range per package.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_vulndb::parse::parse_secdb;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = parse_secdb(data, "secdb.yaml") else {
        return;
    };
    assert!(batch.source.starts_with("secdb:"));
    for record in batch.records {
        let upstream = record.upstream.first().expect("an upstream id");
        assert!(record.id == format!("ALPINE-{upstream}") || record.id == format!("WOLFI-{upstream}"));
        for affected in &record.affected {
            let events = &affected.ranges[0].events;
            assert_eq!(events[0].introduced.as_deref(), Some("0"));
            assert!(events[1]
                .fixed
                .as_deref()
                .is_some_and(|v| v != "0" && !v.is_empty()));
        }
    }
});
