//! apk cataloger: golden output on a small installed database and robustness.

use moat_catalog::cataloger::Cataloger;
use moat_catalog::os::apk::{parse_installed, ApkCataloger};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/os/apk/installed");

#[test]
fn installed_golden() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let parsed = parse_installed(&bytes, "/lib/apk/db/installed").unwrap();
    let names: Vec<&str> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["musl", "busybox-binsh", "ca-certificates-bundle"]);
    // The last record has an empty name.
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert!(
        parsed.problems[0].contains("record at line 60"),
        "{:?}",
        parsed.problems
    );
    insta::assert_json_snapshot!("apk_installed", parsed.packages);
}

#[test]
fn cataloger_paths_and_crlf() {
    let cataloger = ApkCataloger;
    assert!(cataloger.wants_path("/lib/apk/db/installed"));
    assert!(!cataloger.wants_path("/lib/apk/db/installed.old"));
    let bytes = std::fs::read(FIXTURE).unwrap();
    let crlf = String::from_utf8(bytes.clone()).unwrap().replace('\n', "\r\n");
    let a = cataloger.catalog("/lib/apk/db/installed", &bytes).unwrap();
    let b = cataloger
        .catalog("/lib/apk/db/installed", crlf.as_bytes())
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn garbage_is_an_error() {
    assert!(parse_installed(b"\x00\x01\x02 nothing here", "/x").is_err());
    assert!(parse_installed(b"P:name-only\n", "/x").is_err());
    assert!(parse_installed(b"", "/x").unwrap().packages.is_empty());
    let one_good = parse_installed(b"garbage line\n\nP:a\nV:1-r0\n", "/x").unwrap();
    assert_eq!(one_good.packages.len(), 1);
    assert_eq!(one_good.problems.len(), 1);
}
