//! `moat db update` against a real HTTP server on 127.0.0.1 serving OSV `all.zip` archives built
//! here from the shared data: a first download, a second run answered 304 from the conditional
//! headers, a download cut off halfway (the old database stays whole, no temporary file is
//! left), a damaged archive, an HTTP error, and then a changed archive that does replace the
//! data.

mod common;

use moat_testkit::shared::shared_dir;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Whole archives, 304 when the client's validators match.
    Normal,
    /// Announces the whole length, sends half the body and closes.
    CutHalfway,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    status: u16,
}

/// What the server serves: archives by path, the answer mode, and the log of requests.
#[derive(Default)]
struct State {
    archives: BTreeMap<String, Vec<u8>>,
    mode: Option<Mode>,
    seen: Vec<Seen>,
}

const LAST_MODIFIED: &str = "Sat, 28 Nov 2026 10:00:00 GMT";

fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(body)))
}

/// Serves at most 64 connections, one request each, then stops; each read waits 10 s at most.
fn start_server(state: Arc<Mutex<State>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(stream) = stream else { continue };
            // A failed exchange shows up in the client's error; the server goes on.
            let _ = answer(stream, &state);
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let mut state = state.lock().expect("server state");
    let body = state.archives.get(&path).cloned();
    let etag = body.as_deref().map(etag_of);
    let if_none_match = headers.get("if-none-match").cloned();
    let status = match (&body, &etag) {
        (None, _) => 404,
        (Some(_), Some(etag)) if if_none_match.as_ref() == Some(etag) => 304,
        _ => 200,
    };
    state.seen.push(Seen {
        path,
        if_none_match,
        if_modified_since: headers.get("if-modified-since").cloned(),
        status,
    });
    let mode = state.mode.unwrap_or(Mode::Normal);
    drop(state);
    match (status, body, etag) {
        (200, Some(body), Some(etag)) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            let sent = match mode {
                Mode::Normal => &body[..],
                Mode::CutHalfway => &body[..body.len() / 2],
            };
            stream.write_all(sent)?;
        }
        (304, _, Some(etag)) => {
            let head = format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n");
            stream.write_all(head.as_bytes())?;
        }
        _ => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        )?,
    }
    stream.flush()
}

/// An OSV-style `all.zip`: one `<ID>.json` member per record.
fn archive(records: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (id, json) in records {
        zip.start_file(format!("{id}.json"), options).expect("member");
        zip.write_all(json).expect("write member");
    }
    zip.finish().expect("finish zip").into_inner()
}

/// The OSV JSON of every record in `dir` (JSON files as they are; YAML records converted).
fn records_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.to_string_lossy().to_string();
        let bytes = std::fs::read(&path).expect("read");
        let batch = match path.extension().and_then(|e| e.to_str()) {
            Some("json" | "yaml") => moat_vulndb::parse::parse_osv(&bytes, &name).expect("an OSV record"),
            _ => continue,
        };
        for record in batch.records {
            out.push((record.id.clone(), serde_json::to_vec(&record).expect("json")));
        }
    }
    out
}

fn moat(db: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--db", db.to_str().expect("utf-8 path")]);
    common::moat(&all)
}

fn update(db: &Path, base: &str) -> Output {
    moat(
        db,
        &[
            "db",
            "update",
            "--source",
            base,
            "--ecosystem",
            "PyPI",
            "--ecosystem",
            "crates.io",
        ],
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn status(db: &Path) -> serde_json::Value {
    common::json_stdout(&moat(db, &["db", "status", "--format", "json"]))
}

/// Records per source name, from `moat db status`.
fn source_counts(status: &serde_json::Value) -> BTreeMap<String, u64> {
    status["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["records"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// The files in the database's directory.
fn files_beside(db: &Path) -> Vec<String> {
    let dir = db.parent().expect("parent");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn take_seen(state: &Mutex<State>) -> Vec<Seen> {
    std::mem::take(&mut state.lock().expect("state").seen)
}

#[test]
fn update_downloads_then_revalidates_and_survives_a_cut_download() {
    let Some(shared) = shared_dir() else { return };
    let osv = shared.join("conformance/osv");
    let mut pypi = records_in(&osv.join("pypi/django"));
    pypi.extend(records_in(&osv.join("pypi/urllib3")));
    let crates = records_in(&osv.join("crates.io"));
    assert_eq!((pypi.len(), crates.len()), (116 + 11, 1206));
    let pypi_zip = archive(&pypi);
    let state = Arc::new(Mutex::new(State::default()));
    {
        let mut state = state.lock().expect("state");
        state
            .archives
            .insert("/PyPI/all.zip".to_string(), pypi_zip.clone());
        state
            .archives
            .insert("/crates.io/all.zip".to_string(), archive(&crates));
    }
    let base = start_server(state.clone());
    let home = tempfile::tempdir().expect("temp dir");
    let db = home.path().join("db").join("moat.db");

    // First run: both archives downloaded and stored as their own sources.
    let first = update(&db, &base);
    assert!(first.status.success(), "{}", stderr(&first));
    let seen = take_seen(&state);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.status == 200 && s.if_none_match.is_none() && s.if_modified_since.is_none()),
        "{seen:?}"
    );
    let after_first = status(&db);
    let counts = source_counts(&after_first);
    assert_eq!(counts.get("osv:PyPI"), Some(&127));
    assert_eq!(counts.get("osv:crates.io"), Some(&1206));
    assert_eq!(after_first["ecosystems"]["crates.io"], 1206);
    let pypi_source = after_first["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == "osv:PyPI")
        .expect("osv:PyPI");
    assert_eq!(
        pypi_source["sha256"].as_str(),
        Some(hex::encode(Sha256::digest(&pypi_zip)).as_str())
    );
    assert_eq!(
        pypi_source["url"].as_str(),
        Some(format!("{base}/PyPI/all.zip").as_str())
    );
    assert_eq!(pypi_source["etag"].as_str(), Some(etag_of(&pypi_zip).as_str()));
    assert_eq!(files_beside(&db), ["moat.db"]);

    // Second run: conditional requests, 304 for both, nothing changed.
    let second = update(&db, &base);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("not modified"));
    let seen = take_seen(&state);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for request in &seen {
        assert_eq!(request.status, 304, "{request:?}");
        assert!(
            request
                .if_none_match
                .as_deref()
                .is_some_and(|e| e.starts_with('"')),
            "{request:?}"
        );
        assert_eq!(
            request.if_modified_since.as_deref(),
            Some(LAST_MODIFIED),
            "{request:?}"
        );
    }
    let after_second = status(&db);
    assert_eq!(source_counts(&after_second), counts);
    assert_eq!(
        after_second["sources"][1]["sha256"],
        after_first["sources"][1]["sha256"]
    );

    // A changed PyPI archive, cut off halfway: the command fails naming the URL and the byte
    // counts, the old database still answers with the old counts, no temporary file is left.
    let mut grown = pypi.clone();
    grown.push(("PYSEC-TEST-1".to_string(), br#"{"id":"PYSEC-TEST-1","affected":[{"package":{"ecosystem":"PyPI","name":"django"},"versions":["0.1"]}]}"#.to_vec()));
    let grown_zip = archive(&grown);
    {
        let mut state = state.lock().expect("state");
        state
            .archives
            .insert("/PyPI/all.zip".to_string(), grown_zip.clone());
        state.mode = Some(Mode::CutHalfway);
    }
    let cut = update(&db, &base);
    assert_eq!(cut.status.code(), Some(2), "{}", stderr(&cut));
    let message = stderr(&cut);
    let expected = format!(
        "{base}/PyPI/all.zip: download cut short: received {} of {} bytes",
        grown_zip.len() / 2,
        grown_zip.len()
    );
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("left as it was"), "{message}");
    assert_eq!(source_counts(&status(&db)), counts);
    assert_eq!(files_beside(&db), ["moat.db"]);

    // A body that is not a zip archive, whole: refused before the database is touched.
    {
        let mut state = state.lock().expect("state");
        state.archives.insert(
            "/PyPI/all.zip".to_string(),
            b"PK\x03\x04 this is not an archive".to_vec(),
        );
        state.mode = Some(Mode::Normal);
    }
    let damaged = update(&db, &base);
    assert_eq!(damaged.status.code(), Some(2));
    assert!(
        stderr(&damaged).contains(&format!("{base}/PyPI/all.zip: not a whole zip archive")),
        "{}",
        stderr(&damaged)
    );
    assert_eq!(source_counts(&status(&db)), counts);
    assert_eq!(files_beside(&db), ["moat.db"]);

    // An ecosystem the server does not have: the HTTP status, naming the URL.
    let missing = moat(
        &db,
        &["db", "update", "--source", &base, "--ecosystem", "Red Hat"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains(&format!("{base}/Red%20Hat/all.zip: HTTP 404")),
        "{}",
        stderr(&missing)
    );

    // The whole changed archive: PyPI replaced (one record more), crates.io revalidated.
    state
        .lock()
        .expect("state")
        .archives
        .insert("/PyPI/all.zip".to_string(), grown_zip);
    take_seen(&state);
    let third = update(&db, &base);
    assert!(third.status.success(), "{}", stderr(&third));
    let statuses: Vec<(String, u16)> = take_seen(&state)
        .into_iter()
        .map(|s| (s.path, s.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/PyPI/all.zip".to_string(), 200),
            ("/crates.io/all.zip".to_string(), 304)
        ]
    );
    let after_third = source_counts(&status(&db));
    assert_eq!(after_third.get("osv:PyPI"), Some(&128));
    assert_eq!(after_third.get("osv:crates.io"), Some(&1206));
    assert_eq!(files_beside(&db), ["moat.db"]);
}

#[test]
fn status_without_a_database_says_how_to_get_one() {
    let home = tempfile::tempdir().expect("temp dir");
    let output = moat(&home.path().join("none.db"), &["db", "status"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("moat db update") && message.contains("moat db import"),
        "{message}"
    );
}

#[test]
fn import_reports_skipped_records_and_fails_only_when_nothing_was_read() {
    let home = tempfile::tempdir().expect("temp dir");
    let db = home.path().join("moat.db");
    let good = home.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"id":"GOOD-1","affected":[{"package":{"ecosystem":"npm","name":"p"},"versions":["1.0.0"]}]}"#,
    )
    .expect("write");
    let bad = home.path().join("bad.json");
    std::fs::write(&bad, "{\"id\":\"BAD-1\",\"affected\":[{\"package\":{\"ecosystem\":\"Nowhere\\u001b[31m\",\"name\":\"p\"}}]}")
        .expect("write");
    let output = moat(
        &db,
        &[
            "db",
            "import",
            good.to_str().expect("utf-8"),
            bad.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warnings = stderr(&output);
    assert!(
        warnings.contains(&format!("{}: BAD-1: unknown ecosystem", bad.display())),
        "{warnings}"
    );
    assert!(
        !warnings.contains('\u{1b}'),
        "control characters reach the terminal: {warnings:?}"
    );
    let summary = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        summary.contains("2 records (2 added, 0 replaced, 0 unchanged), 1 problem(s)"),
        "{summary}"
    );
    assert!(summary.contains("npm") && summary.contains("osv"), "{summary}");

    let junk = home.path().join("junk.json");
    std::fs::write(&junk, "{ not json").expect("write");
    let nothing = moat(&db, &["db", "import", junk.to_str().expect("utf-8")]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        stderr(&nothing).contains("junk.json: bad JSON"),
        "{}",
        stderr(&nothing)
    );
    assert!(
        stderr(&nothing).contains("nothing could be imported"),
        "{}",
        stderr(&nothing)
    );
    let missing = moat(
        &db,
        &[
            "db",
            "import",
            home.path().join("absent").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("absent"), "{}", stderr(&missing));
}

#[test]
fn status_calls_out_data_older_than_a_week() {
    let home = tempfile::tempdir().expect("temp dir");
    let db = home.path().join("moat.db");
    let record = home.path().join("r.json");
    std::fs::write(
        &record,
        r#"{"id":"R-1","affected":[{"package":{"ecosystem":"Debian:12","name":"p"},"versions":["1.0-1"]}]}"#,
    )
    .expect("write");
    let imported = moat(&db, &["db", "import", record.to_str().expect("utf-8")]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let fresh = String::from_utf8_lossy(&moat(&db, &["db", "status"]).stdout).into_owned();
    assert!(
        fresh.contains("seconds ago") && !fresh.contains("older than 7 days"),
        "{fresh}"
    );
    assert!(fresh.contains("Debian:12"), "{fresh}");
    assert_eq!(status(&db)["stale"], false);

    // Ten days ago, as the store keeps it (seconds since the epoch).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'updated'",
            [now - 10 * 86_400],
        )
        .expect("age the data");
    let old = String::from_utf8_lossy(&moat(&db, &["db", "status"]).stdout).into_owned();
    assert!(old.contains("10 days ago: older than 7 days"), "{old}");
    assert_eq!(status(&db)["stale"], true);
}
