//! Importing the shared OSV and secdb data: counts against the data's own README, queries
//! against the source files, idempotency, bad records skipped and reported, and an import that
//! fails midway leaving the database as it was.

use moat_testkit::shared::shared_dir;
use moat_vulndb::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn imported(paths: &[PathBuf]) -> (tempfile::TempDir, Store, moat_vulndb::ImportSummary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::create(&dir.path().join("moat.db")).expect("database");
    let summary = store.import(paths).expect("import");
    (dir, store, summary)
}

/// Every table's rows, as text, for comparing two states of a database.
fn dump(path: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).expect("open");
    let mut out = Vec::new();
    for table in ["records", "affected", "kev", "epss"] {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("select");
        let columns = statement.column_count();
        let mut rows = statement.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            let cells: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).expect("cell")))
                .collect();
            out.push(format!("{table}: {}", cells.join("|")));
        }
    }
    out.sort();
    out
}

#[test]
fn the_shared_advisories_import_with_their_documented_counts() {
    let Some(shared) = shared_dir() else { return };
    let osv = shared.join("conformance/osv");
    let (dir, store, summary) = imported(&[osv.clone(), shared.join("conformance/secdb")]);
    assert!(
        summary.problems.is_empty(),
        "{:#?}",
        &summary.problems[..summary.problems.len().min(5)]
    );
    // conformance/README.md: go 4,291, crates.io 1,206, pypi 2,661, npm 182, debian 6, alpine 1.
    assert_eq!(summary.per_source["osv"], 4291 + 1206 + 2661 + 182 + 6 + 1);
    let status = store.status().expect("status");
    // Withdrawn: go 17, crates.io 13, pypi 10.
    assert_eq!(status.withdrawn, 17 + 13 + 10);
    let per_ecosystem: BTreeMap<&str, u64> =
        status.ecosystems.iter().map(|(e, n)| (e.as_str(), *n)).collect();
    assert!(per_ecosystem["Go"] > 4000, "{per_ecosystem:?}");
    assert!(per_ecosystem.contains_key("Debian:10") && per_ecosystem.contains_key("Alpine:v3.11"));
    // secdb: one record per (file, id); every file holds some.
    let secdb_sources = status
        .sources
        .iter()
        .filter(|s| s.name.starts_with("secdb:"))
        .count();
    assert_eq!(secdb_sources, 18, "{:?}", status.sources);

    let django = store.advisories("PyPI", "Django").expect("query");
    let on_disk = std::fs::read_dir(osv.join("pypi/django"))
        .expect("django folder")
        .count();
    // Every file in pypi/django is about Django (a few are withdrawn); other folders' records
    // may list Django too.
    assert!(django.len() + 5 >= on_disk, "{} of {on_disk}", django.len());
    let stdlib = store.advisories("Go", "stdlib").expect("query");
    assert!(
        stdlib.iter().any(|r| r.record.id == "GO-2023-1753"),
        "GO-2023-1753 affects stdlib"
    );
    let musl = store.advisories("Alpine:v3.11", "musl").expect("query");
    assert!(
        musl.iter().any(|r| r.record.upstream == ["CVE-2019-14697"]),
        "{musl:?}"
    );
    assert!(store
        .advisories("Alpine:v3.18", "musl")
        .expect("query")
        .iter()
        .all(|r| !r.source.starts_with("secdb:v3.11")));

    // Importing again changes nothing.
    let db = dir.path().join("moat.db");
    drop(store);
    let before = dump(&db);
    let mut store = Store::create(&db).expect("reopen");
    let again = store
        .import(&[osv, shared.join("conformance/secdb")])
        .expect("import again");
    assert_eq!((again.added, again.replaced), (0, 0));
    drop(store);
    assert_eq!(before, dump(&db));
}

#[test]
fn bad_records_are_reported_by_file_and_id_and_the_rest_imports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "good.json",
        r#"{"id":"GOOD-1","affected":[{"package":{"ecosystem":"PyPI","name":"p"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}]}"#,
    );
    write("broken.json", r#"{"id":"BROKEN-1","affected":[{"package""#);
    write(
        "odd-ecosystem.json",
        r#"{"id":"ODD-1","affected":[{"package":{"ecosystem":"Nowhere","name":"p"}},{"package":{"ecosystem":"npm","name":"q"},"versions":["1.0.0"]}]}"#,
    );
    write(
        "backwards.json",
        r#"{"id":"BACK-1","affected":[{"package":{"ecosystem":"PyPI","name":"p"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.0"},{"fixed":"2.0"}]}]}]}"#,
    );
    write("no-id.json", r#"{"affected":[]}"#);
    write("notes.txt", "not advisory data, skipped by the directory walk");
    let (_db, store, summary) = imported(&[dir.path().to_path_buf()]);
    let problems: Vec<String> = summary
        .problems
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                Path::new(&p.file)
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy(),
                p.id,
                p.message
            )
        })
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("broken.json") && p.contains("bad JSON")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("odd-ecosystem.json ODD-1 unknown ecosystem")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("backwards.json BACK-1") && p.contains("impossible range")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("no-id.json")),
        "{problems:#?}"
    );
    assert_eq!(store.advisories("PyPI", "p").expect("query").len(), 1);
    assert_eq!(store.advisories("npm", "q").expect("query")[0].record.id, "ODD-1");
}

#[test]
fn an_unreadable_path_fails_the_import_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"id":"GOOD-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}"#,
    )
    .expect("write");
    let db = dir.path().join("moat.db");
    let mut store = Store::create(&db).expect("database");
    let error = store
        .import(&[good.clone(), dir.path().join("missing.json")])
        .expect_err("missing input");
    assert!(error.to_string().contains("missing.json"), "{error}");
    assert!(store.advisories("npm", "p").expect("query").is_empty());
    let error = Store::open(&dir.path().join("none.db"))
        .err()
        .expect("no database");
    assert!(error.to_string().contains("moat db update"), "{error}");
}

#[test]
fn kev_and_epss_enrich_by_cve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kev = dir.path().join("known_exploited_vulnerabilities.json");
    std::fs::write(&kev, r#"{"title":"CISA KEV","catalogVersion":"2026.11.27","dateReleased":"2026-11-27T00:00:00Z","count":1,
        "vulnerabilities":[{"cveID":"CVE-2023-44487","vendorProject":"IETF","product":"HTTP/2","dateAdded":"2023-10-10","dueDate":"2023-10-31","knownRansomwareCampaignUse":"Unknown"}]}"#).expect("write");
    let epss = dir.path().join("epss_scores-current.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, b"#model_version:v2025.03.14,score_date:2026-11-27T12:55:00Z\ncve,epss,percentile\nCVE-2023-44487,0.94,0.999\n").expect("gzip");
    std::fs::write(&epss, encoder.finish().expect("gzip")).expect("write");
    let (_db, store, summary) = imported(&[kev, epss]);
    assert_eq!((summary.kev, summary.epss), (1, 1));
    let entry = store.kev("CVE-2023-44487").expect("query").expect("in KEV");
    assert_eq!(
        (entry.date_added.as_str(), entry.known_ransomware),
        ("2023-10-10", false)
    );
    let score = store.epss("CVE-2023-44487").expect("query").expect("scored");
    assert_eq!((score.score, score.date.as_str()), (0.94, "2026-11-27"));
    assert!(store.kev("CVE-1999-0001").expect("query").is_none());
}
