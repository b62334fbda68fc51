//! Python core metadata (METADATA / PKG-INFO) and requirements files on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = moat_catalog::lang::python::parse_python_metadata("/fuzz/x.dist-info/METADATA", data);
    let _ = moat_catalog::lang::python::parse_requirements("/fuzz/requirements.txt", data);
});
