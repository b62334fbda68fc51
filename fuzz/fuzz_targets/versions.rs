//! Every version comparator on arbitrary pairs: an error or an ordering, never a panic, and
//! the ordering is antisymmetric (compare(a, b) is the reverse of compare(b, a)).
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_version::{compare, Ecosystem};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    for ecosystem in Ecosystem::ALL {
        if let (Ok(forward), Ok(backward)) = (compare(ecosystem, a, b), compare(ecosystem, b, a)) {
            assert_eq!(forward, backward.reverse(), "{ecosystem}: {a:?} vs {b:?}");
        }
    }
});
