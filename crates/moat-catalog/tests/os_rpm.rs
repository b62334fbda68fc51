//! rpm cataloger: header blobs, the three database formats (SQLite, Berkeley DB hash, ndb), and
//! the real rpm-sample image's SQLite database.

mod os_support;

use moat_catalog::cataloger::Cataloger;
use moat_catalog::os::rpm::{self, header::parse_header, header_package, RpmCataloger};
use moat_core::Package;
use os_support::{bdb_hash, image_files, ndb, package_blob, shared_dir, Endian};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/os/rpm");

/// The header blob of a package (`openssl`, `openssl-libs`) built from the
/// `openssl-1.1.1k-1.el8` source rpm.
fn openssl_blob(name: &str) -> Vec<u8> {
    package_blob(
        name,
        Some(1),
        "1.1.1k",
        "1.el8",
        "x86_64",
        "openssl-1.1.1k-1.el8.src.rpm",
        "OpenSSL and ASL 2.0",
    )
}

/// Overwrites `count` bytes of `bytes` at places and with values drawn from the xorshift state
/// `seed` (each value is the state shifted right by `value_shift`).
fn scramble(bytes: &mut [u8], seed: &mut u32, count: usize, value_shift: u32) {
    for _ in 0..count {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        let at = *seed as usize % bytes.len();
        bytes[at] = (*seed >> value_shift) as u8;
    }
}

fn sample_records() -> Vec<(u32, Vec<u8>)> {
    vec![
        // rpm's instance counter lives under key 0 in Berkeley DB databases: not a package.
        (0, 4u32.to_le_bytes().to_vec()),
        (1, openssl_blob("openssl-libs")),
        (
            2,
            package_blob(
                "bash",
                None,
                "4.4.19",
                "12.el8",
                "x86_64",
                "bash-4.4.19-12.el8.src.rpm",
                "GPLv3+",
            ),
        ),
        (
            3,
            package_blob("gpg-pubkey", None, "8483c65d", "5ccc5b19", "", "", "pubkey"),
        ),
        (
            4,
            package_blob(
                "rocky-release",
                Some(0),
                "8.4",
                "29.el8",
                "noarch",
                "rocky-release-8.4-29.el8.src.rpm",
                "GPLv2",
            ),
        ),
    ]
}

fn summary(packages: &[Package]) -> Vec<String> {
    let mut out: Vec<String> = packages
        .iter()
        .map(|p| {
            let source = p
                .source
                .as_ref()
                .map(|s| format!("{}@{}", s.name, s.version))
                .unwrap_or_default();
            format!(
                "{} {} {} {}",
                p.name,
                p.version,
                p.arch.as_deref().unwrap_or("-"),
                source
            )
        })
        .collect();
    out.sort();
    out
}

const EXPECTED_SAMPLE: [&str; 3] = [
    "bash 4.4.19-12.el8 x86_64 bash@4.4.19-12.el8",
    "openssl-libs 1:1.1.1k-1.el8 x86_64 openssl@1.1.1k-1.el8",
    "rocky-release 8.4-29.el8 noarch rocky-release@8.4-29.el8",
];

#[test]
fn header_blob_golden() {
    let blob = openssl_blob("openssl");
    let header = parse_header(&blob).unwrap();
    let package = header_package(&blob, "/var/lib/rpm/rpmdb.sqlite")
        .unwrap()
        .unwrap();
    insta::assert_json_snapshot!("rpm_header", (header, package));
}

#[test]
fn truncated_and_mutated_headers_never_panic() {
    let blob = package_blob(
        "zlib",
        None,
        "1.2.11",
        "17.el8",
        "x86_64",
        "zlib-1.2.11-17.el8.src.rpm",
        "zlib and Boost",
    );
    for len in 0..blob.len() {
        assert!(
            parse_header(&blob[..len]).is_err(),
            "prefix of {len} bytes parsed"
        );
    }
    let mut seed = 0x9e37_79b9_u32;
    for _ in 0..2000 {
        let mut bytes = blob.clone();
        scramble(&mut bytes, &mut seed, 4, 11);
        let _ = parse_header(&bytes);
    }
}

#[test]
fn sqlite_database_golden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
        .unwrap();
    for (hnum, blob) in sample_records().into_iter().skip(1) {
        conn.execute(
            "INSERT INTO Packages (hnum, blob) VALUES (?1, ?2)",
            rusqlite::params![hnum, blob],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO Packages (hnum, blob) VALUES (9, ?1)",
        [vec![0xffu8; 40]],
    )
    .unwrap();
    drop(conn);
    let bytes = std::fs::read(&path).unwrap();
    let parsed = rpm::parse_sqlite(&bytes, "/var/lib/rpm/rpmdb.sqlite").unwrap();
    assert_eq!(summary(&parsed.packages), EXPECTED_SAMPLE);
    assert_eq!(
        parsed.problems.len(),
        1,
        "the garbage row is reported: {:?}",
        parsed.problems
    );
    assert!(parsed.problems[0].starts_with("hnum 9"), "{:?}", parsed.problems);
    insta::assert_json_snapshot!("rpm_sqlite", parsed.packages);
}

#[test]
fn berkeley_db_both_byte_orders_and_overflow_chains() {
    for endian in [Endian::Little, Endian::Big] {
        for (page_size, buckets) in [(512, 1), (512, 2), (4096, 4)] {
            let db = bdb_hash(&sample_records(), page_size, buckets, endian);
            let parsed = rpm::parse_bdb(&db, "/var/lib/rpm/Packages").unwrap();
            assert_eq!(
                summary(&parsed.packages),
                EXPECTED_SAMPLE,
                "page size {page_size}, {buckets} buckets"
            );
            assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        }
    }
}

#[test]
fn berkeley_db_damage_is_reported_not_fatal() {
    let mut db = bdb_hash(&sample_records(), 512, 1, Endian::Little);
    // Page 2 is the first overflow page of record 0; make page 3 (the first of record 1) a
    // non-overflow page.
    db[3 * 512 + 25] = 5;
    let parsed = rpm::parse_bdb(&db, "/var/lib/rpm/Packages").unwrap();
    assert_eq!(parsed.packages.len(), 2, "{:?}", summary(&parsed.packages));
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert!(rpm::parse_bdb(b"definitely not a database", "/p").is_err());
    assert!(rpm::parse_bdb(&db[..300], "/p").is_err());
    let mut seed = 0x1234_5678_u32;
    for _ in 0..500 {
        let mut bytes = bdb_hash(&sample_records(), 512, 2, Endian::Little);
        scramble(&mut bytes, &mut seed, 6, 9);
        let _ = rpm::parse_bdb(&bytes, "/p");
    }
}

/// A hash database written by Berkeley DB 5.3 itself (`db5.3_load`, page size 512 so headers
/// span overflow chains) and read back by `rpm -qa` with rpm's `bdb_ro` backend.
#[test]
fn berkeley_db_written_by_libdb() {
    let bytes = std::fs::read(format!("{FIXTURES}/Packages-libdb")).unwrap();
    let packages = RpmCataloger.catalog("/var/lib/rpm/Packages", &bytes).unwrap();
    assert_eq!(summary(&packages), EXPECTED_SAMPLE);
}

/// Writes the `db5.3_load` input for `Packages-libdb`, and runs it when `MOAT_REGENERATE_BDB`
/// names the output file.
#[test]
#[ignore = "regenerates a fixture; needs db5.3_load (Debian db5.3-util)"]
fn regenerate_libdb_fixture() {
    let Ok(out) = std::env::var("MOAT_REGENERATE_BDB") else {
        return;
    };
    let mut text = String::from("VERSION=3\nformat=print\ntype=hash\ndb_pagesize=512\nHEADER=END\n");
    let printable = |bytes: &[u8]| -> String {
        let mut s = String::from(" ");
        for &b in bytes {
            match b {
                b'\\' => s.push_str("\\\\"),
                0x20..=0x7e => s.push(b as char),
                _ => s.push_str(&format!("\\{b:02x}")),
            }
        }
        s + "\n"
    };
    for (key, value) in sample_records() {
        text.push_str(&printable(&key.to_le_bytes()));
        text.push_str(&printable(&value));
    }
    text.push_str("DATA=END\n");
    let input = format!("{out}.txt");
    std::fs::write(&input, text).unwrap();
    let status = std::process::Command::new("db5.3_load")
        .args(["-f", &input, &out])
        .status()
        .expect("db5.3_load builds the Berkeley DB fixture: apt-get install db5.3-util");
    assert!(status.success());
}

#[test]
fn ndb_database() {
    let blobs: Vec<(u32, Vec<u8>)> = sample_records().into_iter().skip(1).collect();
    let db = ndb(&blobs);
    let packages = RpmCataloger
        .catalog("/usr/lib/sysimage/rpm/Packages.db", &db)
        .unwrap();
    assert_eq!(summary(&packages), EXPECTED_SAMPLE);
    // A blob whose magic is broken is reported and skipped.
    let mut damaged = db.clone();
    damaged[4096] = b'X';
    let parsed = rpm::parse_ndb(&damaged, "/p").unwrap();
    assert_eq!(parsed.packages.len(), 2);
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert!(rpm::parse_ndb(&db[..100], "/p").is_err());
    assert!(rpm::parse_ndb(b"RpmP", "/p").is_err());
}

#[test]
fn real_rpm_sample_sqlite_database() {
    let Some(shared) = shared_dir() else { return };
    let files = image_files(&shared.join("images/rpm-sample.tar"), &|p| {
        p == "/var/lib/rpm/rpmdb.sqlite"
    });
    let db = &files["/var/lib/rpm/rpmdb.sqlite"];
    let cataloger = RpmCataloger;
    assert!(cataloger.wants_path("/var/lib/rpm/rpmdb.sqlite"));
    assert!(db.len() as u64 <= cataloger.max_size());
    let packages = cataloger.catalog("/var/lib/rpm/rpmdb.sqlite", db).unwrap();
    assert_eq!(
        summary(&packages),
        vec![
            "bash 4.4.19-12.el8 x86_64 bash@4.4.19-12.el8",
            "openssl 1:1.1.1k-1.el8 x86_64 openssl@1.1.1k-1.el8",
            "openssl-libs 1:1.1.1k-1.el8 x86_64 openssl@1.1.1k-1.el8",
            "rocky-release 8.4-29.el8 noarch rocky-release@8.4-29.el8",
            "zlib 1.2.11-17.el8 x86_64 zlib@1.2.11-17.el8",
        ]
    );
    let licence = |name: &str| packages.iter().find(|p| p.name == name).unwrap().licenses.clone();
    assert_eq!(licence("openssl"), vec!["OpenSSL and ASL 2.0"]);
    assert_eq!(licence("bash"), vec!["GPL-3.0-or-later"]);
    assert!(packages.iter().all(|p| p.found_by == "rpm-db-cataloger"));
}
