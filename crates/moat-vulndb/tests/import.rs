//! Importing the shared OSV and secdb data: counts against the data's own README, queries
//! checked against the source files, idempotency, replacement, bad records skipped and reported,
//! zip archives, KEV and EPSS, and an import that fails midway leaving the database as it was.

use moat_testkit::shared::shared_dir;
use moat_vulndb::{DbError, ImportSummary, Status, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

fn new_store(dir: &Path) -> Store {
    Store::create(&dir.join("moat.db")).expect("database")
}

/// Every row of every table, as text, sorted: two equal dumps are two equal databases.
fn dump(path: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).expect("open");
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert!(tables.len() >= 6, "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
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

fn counts(pairs: &[(String, u64)]) -> BTreeMap<&str, u64> {
    pairs.iter().map(|(name, n)| (name.as_str(), *n)).collect()
}

fn source_records(status: &Status) -> BTreeMap<&str, u64> {
    status
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.records))
        .collect()
}

fn ids(store: &Store, ecosystem: &str, name: &str) -> BTreeSet<String> {
    store
        .advisories(ecosystem, name)
        .expect("query")
        .into_iter()
        .map(|r| format!("{} {}", r.source, r.record.id))
        .collect()
}

fn no_problems(summary: &ImportSummary) {
    let first: Vec<_> = summary.problems.iter().take(5).collect();
    assert!(
        summary.problems.is_empty(),
        "{} problems: {first:#?}",
        summary.problems.len()
    );
}

/// The secdb records: one per (file, id) that some package fixes at a version other than
/// `0`. Counted from the 18 files (1,652 package entries, 12,028 fix→id pairs) with a
/// YAML reader outside this project: the pairs name 12,169 distinct ids per file once notes,
/// placeholders (`CVE-????-?????`) and `0` fixes are left out. Per file, for the spot checks:
const SECDB_RECORDS: u64 = 12_169;
const SECDB_PER_FILE: &[(&str, u64)] = &[
    ("secdb:v3.3/main", 485),
    ("secdb:v3.3/community", 0),
    ("secdb:v3.4/community", 14),
    ("secdb:v3.10/main", 1201),
    ("secdb:v3.11/main", 1221),
    ("secdb:v3.11/community", 828),
];

#[test]
fn the_shared_advisories_import_with_their_documented_counts() {
    let Some(shared) = shared_dir() else { return };
    let osv = shared.join("conformance/osv");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = new_store(dir.path());
    // conformance/README.md: records (withdrawn) per folder.
    let folders = [
        ("go", 4291, 17),
        ("crates.io", 1206, 13),
        ("pypi", 2661, 10),
        ("npm", 182, 0),
        ("debian", 6, 0),
        ("alpine", 1, 0),
    ];
    let mut withdrawn_so_far = 0;
    for (folder, records, withdrawn) in folders {
        let summary = store.import(&[osv.join(folder)]).expect("import");
        no_problems(&summary);
        assert_eq!(summary.per_source.get("osv"), Some(&records), "{folder}");
        assert_eq!((summary.added, summary.replaced), (records, 0), "{folder}");
        withdrawn_so_far += withdrawn;
        assert_eq!(
            store.status().expect("status").withdrawn,
            withdrawn_so_far,
            "{folder}"
        );
    }
    let summary = store
        .import(&[shared.join("conformance/secdb")])
        .expect("import secdb");
    no_problems(&summary);
    let secdb: u64 = summary
        .per_source
        .iter()
        .filter(|(s, _)| s.starts_with("secdb:"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(secdb, SECDB_RECORDS);
    assert_eq!(summary.per_source.len(), 18, "{:?}", summary.per_source.keys());

    let status = store.status().expect("status");
    assert_eq!(status.records, 8347 + SECDB_RECORDS);
    let per_source = source_records(&status);
    assert_eq!(per_source.get("osv"), Some(&8347));
    for (source, records) in SECDB_PER_FILE {
        assert_eq!(per_source.get(source), Some(records), "{source}");
    }
    // Records per ecosystem, each record once however many packages it names. A few npm
    // records also name Maven, NuGet, Packagist, RubyGems and PyPI packages.
    let bases = counts(&status.ecosystem_bases);
    let expected = [
        ("Go", 4291),
        ("crates.io", 1206),
        ("PyPI", 2662),
        ("npm", 182),
        ("Debian", 6),
        ("Alpine", 1 + SECDB_RECORDS),
    ];
    for (ecosystem, records) in expected {
        assert_eq!(bases.get(ecosystem), Some(&records), "{ecosystem}: {bases:?}");
    }
    let releases = counts(&status.ecosystems);
    assert_eq!(releases.get("Alpine:v3.11"), Some(&(1221 + 828)));
    assert_eq!(releases.get("Alpine:v3.3"), Some(&485));
    assert_eq!(
        releases.get("Alpine:v3.20"),
        Some(&1),
        "the one OSV Alpine record"
    );
    assert!(
        releases.contains_key("Debian:10") && releases.contains_key("Debian:9"),
        "{releases:?}"
    );
}

/// File stems of the OSV files under `dir` whose text satisfies `keep`.
fn file_ids(dir: &Path, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json" || e == "yaml"))
        .filter(|path| keep(&std::fs::read_to_string(path).expect("read")))
        .map(|path| format!("osv {}", path.file_stem().unwrap_or_default().to_string_lossy()))
        .collect()
}

#[test]
fn queries_answer_what_the_source_files_say() {
    let Some(shared) = shared_dir() else { return };
    let osv = shared.join("conformance/osv");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = new_store(dir.path());
    let summary = store
        .import(&[osv.clone(), shared.join("conformance/secdb")])
        .expect("import");
    no_problems(&summary);

    // Django: every record in pypi/django but the withdrawn ones, and the one record among
    // the npm folder's that also names the PyPI package; whatever the spelling asked.
    let mut django = file_ids(&osv.join("pypi/django"), |text| {
        !text.lines().any(|l| l.starts_with("withdrawn:"))
    });
    assert_eq!(django.len(), 116);
    django.extend(file_ids(&osv.join("npm"), |text| {
        text.contains("\"name\": \"django\"")
    }));
    assert_eq!(django.len(), 117);
    assert_eq!(ids(&store, "PyPI", "Django"), django);
    assert_eq!(ids(&store, "PyPI", "DJANGO"), django);
    assert!(
        ids(&store, "pypi", "django").is_empty(),
        "the ecosystem is compared exactly"
    );

    // lodash: the npm records that name it.
    let lodash = file_ids(&osv.join("npm"), |text| text.contains("\"name\": \"lodash\""));
    assert_eq!(lodash.len(), 7);
    assert_eq!(ids(&store, "npm", "lodash"), lodash);

    // GO-2023-1753 affects stdlib with the ranges its file gives.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(osv.join("go/GO-2023-1753.json")).expect("read"))
            .expect("json");
    let stdlib = store.advisories("Go", "stdlib").expect("query");
    let stored = stdlib
        .iter()
        .find(|r| r.record.id == "GO-2023-1753")
        .expect("GO-2023-1753 affects stdlib");
    let ranges = serde_json::to_value(&stored.record.affected[0].ranges).expect("ranges");
    assert_eq!(ranges, file["affected"][0]["ranges"]);
    assert_eq!(stored.record.aliases, ["CVE-2023-29400"]);

    // A withdrawn record is kept but never returned.
    assert!(!ids(&store, "Go", "github.com/gorilla/sessions").contains("osv GO-2024-2730"));

    // YAML versions stay text: '1.0' and '1.10' are not the number 1 and 1.1.
    let yaml = std::fs::read_to_string(osv.join("pypi/urllib3/PYSEC-2019-133.yaml")).expect("read");
    let listed: Vec<String> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .filter(|v| !v.contains(':'))
        .map(|v| v.trim_matches('\'').to_string())
        .collect();
    let urllib3 = store.advisories("PyPI", "urllib3").expect("query");
    let record = &urllib3
        .iter()
        .find(|r| r.record.id == "PYSEC-2019-133")
        .expect("PYSEC-2019-133")
        .record;
    assert_eq!(record.affected[0].versions, listed);
    assert!(
        listed.iter().any(|v| v == "1.0")
            && listed.iter().any(|v| v == "1.10")
            && listed.iter().any(|v| v == "1.20")
    );

    // Alpine: the secdb branch's own fixes (v3.11/main.yaml: musl 1.1.23-r2 fixes
    // CVE-2019-14697), and the OSV record for the later branches.
    let musl = store.advisories("Alpine:v3.11", "musl").expect("query");
    let fix = musl
        .iter()
        .find(|r| r.record.upstream == ["CVE-2019-14697"])
        .expect("CVE-2019-14697");
    assert_eq!(
        (fix.source.as_str(), fix.record.id.as_str()),
        ("secdb:v3.11/main", "ALPINE-CVE-2019-14697")
    );
    assert_eq!(
        fix.record.affected[0].ranges[0].events[1].fixed.as_deref(),
        Some("1.1.23-r2")
    );
    assert_eq!(
        ids(&store, "Alpine:v3.18", "musl"),
        BTreeSet::from(["osv ALPINE-CVE-2025-26519".to_string()])
    );
}

#[test]
fn importing_twice_changes_nothing_and_a_changed_record_replaces_the_old() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let feeds = feed_fixtures(dir.path());
    let db = dir.path().join("moat.db");
    let inputs = [
        shared.join("conformance/osv/crates.io"),
        shared.join("conformance/secdb/v3.11"),
        feeds.0,
        feeds.1,
    ];
    let first = Store::create(&db)
        .expect("create")
        .import(&inputs)
        .expect("import");
    let before = dump(&db);
    let again = Store::create(&db)
        .expect("reopen")
        .import(&inputs)
        .expect("import again");
    assert_eq!(
        dump(&db),
        before,
        "a second import of the same data changed the database"
    );
    assert_eq!((again.added, again.replaced), (0, 0));
    assert_eq!(again.unchanged, first.added);

    // The same id from another file replaces the stored record, and its old packages go.
    let changed = dir.path().join("RUSTSEC-2016-0001.json");
    std::fs::write(&changed, r#"{"id":"RUSTSEC-2016-0001","summary":"moved","affected":[{"package":{"ecosystem":"crates.io","name":"elsewhere"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#).expect("write");
    let mut store = Store::create(&db).expect("reopen");
    let old_names: Vec<String> = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(shared.join("conformance/osv/crates.io/RUSTSEC-2016-0001.json"))
            .expect("read"),
    )
    .expect("json")["affected"]
        .as_array()
        .expect("affected")
        .iter()
        .map(|a| a["package"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(ids(&store, "crates.io", &old_names[0]).contains("osv RUSTSEC-2016-0001"));
    let replaced = store.import(&[changed]).expect("import");
    assert_eq!((replaced.added, replaced.replaced, replaced.unchanged), (0, 1, 0));
    assert!(!ids(&store, "crates.io", &old_names[0]).contains("osv RUSTSEC-2016-0001"));
    let moved = store.advisories("crates.io", "elsewhere").expect("query");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].record.summary, "moved");
}

#[test]
fn the_same_id_from_two_sources_is_kept_twice() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let osv_copy = dir.path().join("ALPINE-CVE-2019-14697.json");
    std::fs::write(&osv_copy, r#"{"id":"ALPINE-CVE-2019-14697","upstream":["CVE-2019-14697"],"affected":[{"package":{"ecosystem":"Alpine:v3.11","name":"musl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1.23-r2"}]}]}]}"#).expect("write");
    let mut store = new_store(dir.path());
    store
        .import(&[shared.join("conformance/secdb/v3.11/main.yaml"), osv_copy])
        .expect("import");
    let both: Vec<String> = store
        .advisories("Alpine:v3.11", "musl")
        .expect("query")
        .into_iter()
        .filter(|r| r.record.id == "ALPINE-CVE-2019-14697")
        .map(|r| r.source)
        .collect();
    assert_eq!(both, ["osv", "secdb:v3.11/main"]);
}

#[test]
fn bad_records_are_reported_by_file_and_id_and_the_rest_imports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let write = |name: &str, text: &str| std::fs::write(data.join(name), text).expect("write");
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
    write(
        "no-start.json",
        r#"{"id":"NOSTART-1","affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.2.0"}]}]}]}"#,
    );
    write("unreadable-version.yaml", "id: BADVER-1\naffected:\n- package:\n    ecosystem: crates.io\n    name: c\n  ranges:\n  - type: SEMVER\n    events:\n    - introduced: '0'\n    - fixed: not-a-version\n");
    write("no-id.json", r#"{"affected":[]}"#);
    write(
        "array.json",
        r#"[{"id":"ARRAY-1","affected":[{"package":{"ecosystem":"npm","name":"r"},"versions":["2.0.0"]}]},{"id":"ARRAY-2","aliases":7}]"#,
    );
    write("notes.txt", "not advisory data: the directory walk leaves it out");
    let mut store = new_store(dir.path());
    let summary = store.import(&[data]).expect("import");
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
    let expect = [
        ("array.json ARRAY-2 ", "not an OSV record"),
        (
            "backwards.json BACK-1 ",
            "impossible range, fixed 2.0 is below introduced 3.0",
        ),
        ("broken.json  ", "bad JSON"),
        ("no-id.json  ", "missing field `id`"),
        ("no-start.json NOSTART-1 ", "no introduced event"),
        ("odd-ecosystem.json ODD-1 ", "unknown ecosystem \"Nowhere\""),
        ("unreadable-version.yaml BADVER-1 ", "not-a-version"),
    ];
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    for (start, needle) in expect {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(start) && p.contains(needle)),
            "{start}{needle}: {problems:#?}"
        );
    }
    assert!(problems
        .iter()
        .any(|p| p.contains("ODD-1") && p.contains("affected entry is skipped")));
    assert_eq!(
        ids(&store, "PyPI", "p"),
        BTreeSet::from(["osv GOOD-1".to_string()])
    );
    assert_eq!(
        ids(&store, "npm", "q"),
        BTreeSet::from(["osv ODD-1".to_string()]),
        "the rest of ODD-1 is kept"
    );
    assert_eq!(
        ids(&store, "npm", "r"),
        BTreeSet::from(["osv ARRAY-1".to_string()])
    );
    assert_eq!((summary.added, summary.per_source.get("osv")), (3, Some(&3)));
}

#[test]
fn zip_archives_are_read_member_by_member() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).expect("create"));
    let options = zip::write::SimpleFileOptions::default();
    for id in ["RUSTSEC-2016-0001", "RUSTSEC-2016-0002"] {
        let text = std::fs::read(shared.join(format!("conformance/osv/crates.io/{id}.json"))).expect("read");
        zip.start_file(format!("{id}.json"), options).expect("member");
        zip.write_all(&text).expect("write");
    }
    zip.start_file("BROKEN.json", options).expect("member");
    zip.write_all(b"{\"id\": \"BROKEN\", ").expect("write");
    zip.finish().expect("finish");
    let mut store = new_store(dir.path());
    let summary = store.import(std::slice::from_ref(&archive)).expect("import");
    assert_eq!(summary.per_source.get("osv"), Some(&2));
    assert_eq!(summary.problems.len(), 1, "{:?}", summary.problems);
    assert_eq!(
        summary.problems[0].file,
        format!("{}:BROKEN.json", archive.display())
    );

    // A damaged archive is an error naming it, and nothing is written.
    let bytes = std::fs::read(&archive).expect("read");
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let error = store.import(&[cut]).expect_err("a cut archive");
    assert!(error.to_string().contains("cut.zip"), "{error}");
}

/// A small KEV catalog and a gzipped EPSS file, written the way CISA and FIRST publish them.
fn feed_fixtures(dir: &Path) -> (PathBuf, PathBuf) {
    let kev = dir.join("known_exploited_vulnerabilities.json");
    std::fs::write(&kev, r#"{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.11.27","dateReleased":"2026-11-27T15:00:00.0000Z","count":2,
        "vulnerabilities":[{"cveID":"CVE-2023-44487","vendorProject":"IETF","product":"HTTP/2","vulnerabilityName":"HTTP/2 Rapid Reset","dateAdded":"2023-10-10","shortDescription":"…","requiredAction":"…","dueDate":"2023-10-31","knownRansomwareCampaignUse":"Unknown","notes":"","cwes":["CWE-400"]},
        {"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"}]}"#).expect("write");
    let epss = dir.join("epss_scores-2026-11-27.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(b"#model_version:v2025.03.14,score_date:2026-11-27T00:00:00+0000\ncve,epss,percentile\nCVE-2023-44487,0.94,0.999\nCVE-2021-44228,0.97,1.0\n")
        .expect("gzip");
    std::fs::write(&epss, encoder.finish().expect("gzip")).expect("write");
    (kev, epss)
}

#[test]
fn kev_and_epss_enrich_by_cve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (kev, epss) = feed_fixtures(dir.path());
    let mut store = new_store(dir.path());
    let summary = store.import(&[kev, epss]).expect("import");
    assert_eq!((summary.kev, summary.epss), (2, 2));
    let entry = store.kev("CVE-2023-44487").expect("query").expect("in KEV");
    assert_eq!(
        (
            entry.date_added.as_str(),
            entry.due_date.as_str(),
            entry.known_ransomware
        ),
        ("2023-10-10", "2023-10-31", false)
    );
    assert!(
        store
            .kev("CVE-2021-44228")
            .expect("query")
            .expect("in KEV")
            .known_ransomware
    );
    let score = store.epss("CVE-2023-44487").expect("query").expect("scored");
    assert_eq!(
        (score.score, score.percentile, score.date.as_str()),
        (0.94, 0.999, "2026-11-27")
    );
    assert!(store.kev("CVE-1999-0001").expect("query").is_none());
    assert!(store.epss("CVE-1999-0001").expect("query").is_none());
    let status = store.status().expect("status");
    assert_eq!((status.kev, status.epss), (2, 2));
    assert_eq!(source_records(&status), BTreeMap::from([("epss", 2), ("kev", 2)]));
}

#[test]
fn an_unreadable_path_fails_the_import_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first.json");
    std::fs::write(
        &first,
        r#"{"id":"FIRST-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}"#,
    )
    .expect("write");
    let db = dir.path().join("moat.db");
    Store::create(&db)
        .expect("database")
        .import(&[first])
        .expect("import");
    let before = dump(&db);

    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"id":"GOOD-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["2.0.0"]}]}"#,
    )
    .expect("write");
    let mut store = Store::create(&db).expect("reopen");
    let error = store
        .import(&[good, dir.path().join("missing.json")])
        .expect_err("missing input");
    assert!(
        matches!(error, DbError::Input { .. }) && error.to_string().contains("missing.json"),
        "{error}"
    );
    drop(store);
    assert_eq!(dump(&db), before);
    let store = Store::open(&db).expect("open");
    assert_eq!(
        ids(&store, "npm", "p"),
        BTreeSet::from(["osv FIRST-1".to_string()])
    );
}

#[test]
fn missing_and_newer_databases_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = Store::open(&dir.path().join("none.db"))
        .err()
        .expect("no database");
    let message = error.to_string();
    assert!(
        message.contains("none.db")
            && message.contains("moat db update")
            && message.contains("moat db import"),
        "{message}"
    );

    let db = dir.path().join("future.db");
    drop(Store::create(&db).expect("create"));
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute_batch("PRAGMA user_version = 99")
        .expect("pragma");
    for error in [
        Store::open(&db).err().expect("too new"),
        Store::create(&db).err().expect("too new"),
    ] {
        let message = error.to_string();
        assert!(
            message.contains("99") && message.contains(&moat_vulndb::SCHEMA_VERSION.to_string()),
            "{message}"
        );
    }
}
