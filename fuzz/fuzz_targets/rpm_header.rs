//! Fuzzes the rpm header blob parser and the ndb reader: arbitrary bytes give a header or an
//! error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::os::rpm::header::parse_header(data);
    let _ = moat_catalog::os::rpm::parse_ndb(data, "/usr/lib/sysimage/rpm/Packages.db");
});
