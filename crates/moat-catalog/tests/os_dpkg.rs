//! dpkg cataloger: golden output on small fixtures, robustness, licences from copyright files,
//! and the real debian-app image's status file.

mod os_support;

use moat_catalog::cataloger::Cataloger;
use moat_catalog::os::dpkg::{copyright_licenses, parse_status, DpkgCataloger};
use moat_core::{Evidence, Package};
use os_support::{image_files, shared_dir, MapSupport};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/os/dpkg");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

fn names(packages: &[Package]) -> Vec<&str> {
    packages.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn status_file_golden() {
    let parsed = parse_status(&fixture("status"), "/var/lib/dpkg/status").expect("parses");
    // vim-tiny (config-files only) is not installed; the two malformed stanzas are skipped.
    assert_eq!(
        names(&parsed.packages),
        vec!["base-files", "bsdutils", "libsystemd0", "tzdata"]
    );
    assert_eq!(parsed.problems.len(), 2, "{:?}", parsed.problems);
    assert!(
        parsed.problems[0].contains("stanza at line 74: line 76"),
        "{:?}",
        parsed.problems
    );
    assert!(parsed.problems[1].contains("no-version"), "{:?}", parsed.problems);
    insta::assert_json_snapshot!("dpkg_status", parsed.packages);
}

#[test]
fn status_d_files_golden() {
    let cataloger = DpkgCataloger;
    let mut all = Vec::new();
    for name in ["base-files", "tzdata", "tzdata.md5sums"] {
        let path = format!("/var/lib/dpkg/status.d/{name}");
        if !cataloger.wants_path(&path) {
            assert_eq!(name, "tzdata.md5sums");
            continue;
        }
        all.extend(
            cataloger
                .catalog(&path, &fixture(&format!("status.d/{name}")))
                .expect("parses"),
        );
    }
    // No Status field in distroless stanzas: installed. tzdata's file has no trailing newline.
    assert_eq!(names(&all), vec!["base-files", "tzdata"]);
    insta::assert_json_snapshot!("dpkg_status_d", all);
}

#[test]
fn crlf_and_missing_final_newline_parse_the_same() {
    let lf = fixture("status");
    let crlf = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n");
    let trimmed = &lf[..lf.len() - 1];
    let a = parse_status(&lf, "/s").unwrap();
    let b = parse_status(crlf.as_bytes(), "/s").unwrap();
    let c = parse_status(trimmed, "/s").unwrap();
    assert_eq!(a.packages, b.packages);
    assert_eq!(a.packages, c.packages);
}

#[test]
fn garbage_is_an_error_and_empty_is_nothing() {
    assert!(parse_status(b"\x00\xff\xfe binary junk\nmore junk", "/s").is_err());
    assert!(parse_status(b" leading continuation\n", "/s").is_err());
    let empty = parse_status(b"\n\n", "/s").unwrap();
    assert!(empty.packages.is_empty() && empty.problems.is_empty());
    // Only not-installed packages: fine, and nothing to report.
    let removed = parse_status(b"Package: a\nVersion: 1\nStatus: purge ok not-installed\n", "/s").unwrap();
    assert!(removed.packages.is_empty() && removed.problems.is_empty());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let base = fixture("status");
    let mut seed = 0x2545_f491_u32;
    for round in 0..300 {
        let mut bytes = base.clone();
        for _ in 0..(round % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let at = seed as usize % bytes.len();
            bytes[at] = (seed >> 8) as u8;
        }
        bytes.truncate(seed as usize % (bytes.len() + 1));
        let _ = parse_status(&bytes, "/s");
    }
}

#[test]
fn copyright_licences_golden() {
    let dep5 = copyright_licenses(&String::from_utf8(fixture("copyright-dep5")).unwrap());
    let plain = copyright_licenses(&String::from_utf8(fixture("copyright-plain")).unwrap());
    insta::assert_json_snapshot!("dpkg_copyright_licenses", (dep5, plain));
}

#[test]
fn enrich_adds_licences_and_a_supporting_location() {
    let cataloger = DpkgCataloger;
    assert!(cataloger.wants_support("/usr/share/doc/bsdutils/copyright"));
    assert!(!cataloger.wants_support("/usr/share/doc/bsdutils/changelog.gz"));
    let mut packages = parse_status(&fixture("status"), "/var/lib/dpkg/status")
        .unwrap()
        .packages;
    let dep5 = String::from_utf8(fixture("copyright-dep5")).unwrap();
    let support = MapSupport::of(&[("/usr/share/doc/bsdutils/copyright", &dep5)]);
    cataloger.enrich(&mut packages, &support);
    let bsdutils = packages.iter().find(|p| p.name == "bsdutils").unwrap();
    assert!(
        bsdutils.licenses.contains(&"GPL-2.0-or-later".to_string()),
        "{:?}",
        bsdutils.licenses
    );
    assert_eq!(bsdutils.locations[1].path, "/usr/share/doc/bsdutils/copyright");
    assert_eq!(bsdutils.locations[1].evidence, Evidence::Supporting);
    let tzdata = packages.iter().find(|p| p.name == "tzdata").unwrap();
    assert!(tzdata.licenses.is_empty() && tzdata.locations.len() == 1);
}

/// `name version arch [(source: src [(ver)])]` lines of the manifest's dpkg lists.
fn manifest_packages(manifest: &str) -> Vec<(String, String, String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut armed = false;
    for line in manifest.lines() {
        if line.contains("dpkg packages in layer 0") || line.contains("New dpkg packages") {
            armed = true;
            continue;
        }
        if line.starts_with("```") {
            in_block = armed && !in_block;
            if !in_block {
                armed = false;
            }
            continue;
        }
        if !in_block {
            continue;
        }
        let (main, source) = match line.split_once(" (source: ") {
            Some((main, rest)) => (main, Some(rest.trim_end_matches(')'))),
            None => (line, None),
        };
        let mut words = main.split_whitespace();
        let (name, version, arch) = (
            words.next().unwrap(),
            words.next().unwrap(),
            words.next().unwrap(),
        );
        let (src_name, src_version) = match source {
            Some(s) => match s.split_once(" (") {
                Some((n, v)) => (n.to_string(), Some(v.trim_end_matches(')').to_string())),
                None => (s.to_string(), None),
            },
            None => (name.to_string(), None),
        };
        out.push((name.into(), version.into(), arch.into(), src_name, src_version));
    }
    out
}

#[test]
fn real_debian_app_status_matches_the_manifest() {
    let Some(shared) = shared_dir() else { return };
    let image = shared.join("images/debian-app.tar");
    let files = image_files(&image, &|p| {
        p == "/var/lib/dpkg/status" || (p.starts_with("/usr/share/doc/") && p.ends_with("/copyright"))
    });
    let status = &files["/var/lib/dpkg/status"];
    let cataloger = DpkgCataloger;
    let mut packages = cataloger
        .catalog("/var/lib/dpkg/status", status)
        .expect("real status parses");
    let manifest = std::fs::read_to_string(shared.join("images/debian-app.expected/MANIFEST.md")).unwrap();
    let expected = manifest_packages(&manifest);
    assert_eq!(expected.len(), 119, "manifest lists 119 dpkg packages");
    assert_eq!(packages.len(), 119);
    for (name, version, arch, src_name, src_version) in &expected {
        let p = packages
            .iter()
            .find(|p| &p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(&p.version, version, "{name}");
        assert_eq!(p.arch.as_deref(), Some(arch.as_str()), "{name}");
        let source = p.source.as_ref().unwrap();
        assert_eq!(&source.name, src_name, "{name}");
        assert_eq!(&source.version, src_version.as_ref().unwrap_or(version), "{name}");
    }
    let support = MapSupport(files);
    cataloger.enrich(&mut packages, &support);
    let licences = |name: &str| packages.iter().find(|p| p.name == name).unwrap().licenses.clone();
    assert!(
        licences("bsdutils").contains(&"GPL-2.0-or-later".into()),
        "{:?}",
        licences("bsdutils")
    );
    assert!(licences("bsdutils").contains(&"BSD-3-Clause".into()));
    assert_eq!(licences("zlib1g"), vec!["Zlib"]);
    assert_eq!(licences("libexpat1"), vec!["MIT"]);
    assert_eq!(licences("base-files"), vec!["GPL"]);
    assert_eq!(licences("tzdata"), vec!["LicenseRef-public-domain"]);
    // libgcc-s1's doc directory is a symlink: its licences come from gcc-12-base (same source).
    assert_eq!(licences("libgcc-s1"), licences("gcc-12-base"));
    assert!(!licences("libgcc-s1").is_empty());
    let with_licences = packages.iter().filter(|p| !p.licenses.is_empty()).count();
    assert!(with_licences >= 112, "only {with_licences} packages got licences");
}
