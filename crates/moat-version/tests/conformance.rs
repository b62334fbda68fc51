//! The shared conformance vectors (osv-scalibr's `semantic/testdata`), every file through every
//! comparator that [`SHARED_FILES`] assigns it to. One test per ecosystem, so that a failing
//! comparator does not hide the others; each failure lists every disagreeing `file:line`.

use moat_testkit::shared::shared_dir;
use moat_version::vectors::{check, KNOWN_DISAGREEMENTS, SHARED_DIR, SHARED_FILES, UNCOVERED_SHARED_FILES};
use moat_version::Ecosystem;
use std::path::PathBuf;

/// The vector folder, or `None` when the shared data is absent and `MOAT_NO_SHARED=1`.
fn vector_dir() -> Option<PathBuf> {
    Some(shared_dir()?.join(SHARED_DIR))
}

/// Runs every file listed for `ecosystem`; panics listing every disagreement other than the
/// [`KNOWN_DISAGREEMENTS`], and every known one that no longer disagrees.
fn run(ecosystem: Ecosystem) {
    let Some(dir) = vector_dir() else { return };
    let mut failures = Vec::new();
    for file in SHARED_FILES.iter().filter(|f| f.ecosystem == ecosystem) {
        let path = dir.join(file.name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let report = check(ecosystem, &text);
        let known: Vec<&str> = KNOWN_DISAGREEMENTS
            .iter()
            .filter(|k| k.file == file.name && k.ecosystem == ecosystem)
            .map(|k| k.line)
            .collect();
        println!(
            "{ecosystem}: {}: {} of {} vectors agree ({} known disagreement(s))",
            file.name,
            report.agreed(),
            report.cases,
            known.len()
        );
        assert!(report.cases > 0, "{} holds no vectors", file.name);
        let line_text = |n: usize| text.lines().nth(n - 1).unwrap_or_default().trim();
        let mut seen = Vec::new();
        for f in &report.findings {
            if !f.malformed && known.contains(&line_text(f.line)) {
                seen.push(line_text(f.line));
            } else {
                failures.push(format!("{}:{}: {}", file.name, f.line, f.message));
            }
        }
        failures.extend(known.iter().filter(|k| !seen.contains(k)).map(|k| {
            format!(
                "{}: {k:?} is listed as a known disagreement but agrees",
                file.name
            )
        }));
    }
    assert!(
        failures.is_empty(),
        "{ecosystem}: {} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn dpkg() {
    run(Ecosystem::Dpkg);
}

#[test]
fn rpm() {
    run(Ecosystem::Rpm);
}

#[test]
fn apk() {
    run(Ecosystem::Apk);
}

#[test]
fn semver() {
    run(Ecosystem::Semver);
}

#[test]
fn go() {
    run(Ecosystem::Go);
}

#[test]
fn pep440() {
    run(Ecosystem::Pep440);
}

#[test]
fn maven() {
    run(Ecosystem::Maven);
}

#[test]
fn rubygems() {
    run(Ecosystem::RubyGems);
}

#[test]
fn nuget() {
    run(Ecosystem::NuGet);
}

#[test]
fn composer() {
    run(Ecosystem::Composer);
}

/// Every vector file in the shared folder is either checked or known to have no comparator, so
/// a file added upstream is not silently skipped.
#[test]
fn every_shared_vector_file_is_accounted_for() {
    let Some(dir) = vector_dir() else { return };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut unknown = Vec::new();
    for entry in entries {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        let listed =
            SHARED_FILES.iter().any(|f| f.name == name) || UNCOVERED_SHARED_FILES.contains(&name.as_ref());
        if name.ends_with(".txt") && !listed {
            unknown.push(name.into_owned());
        }
    }
    assert!(unknown.is_empty(), "vector files in no table: {unknown:?}");
    for file in SHARED_FILES {
        assert!(dir.join(file.name).is_file(), "{} is missing", file.name);
    }
}
