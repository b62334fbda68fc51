//! Conformance vectors: text files of `A < B`, `A = B` and `A > B` lines, as in osv-scalibr's
//! `semantic/testdata` (copied to `conformance/versions/testdata` in the shared data). Blank
//! lines and lines starting with `#` or `//` are comments.
//!
//! [`check`] runs every case of a file through one ecosystem's comparator, both ways round
//! (`A < B` also means `B > A`), and reports each disagreement with its line number. The
//! conformance test and `moat version check` both use it; [`SHARED_FILES`] says which
//! comparator each shared file is for.

use crate::{compare, Ecosystem, VersionError};
use std::cmp::Ordering;
use std::fmt;

/// Where the vector files are, relative to the shared data folder.
pub const SHARED_DIR: &str = "conformance/versions/testdata";

/// A shared vector file and the comparator it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorFile {
    /// The file name in [`SHARED_DIR`].
    pub name: &'static str,
    /// The comparator that must agree with every line.
    pub ecosystem: Ecosystem,
}

const fn file(name: &'static str, ecosystem: Ecosystem) -> VectorFile {
    VectorFile { name, ecosystem }
}

/// Which comparator each shared vector file is for; a file may appear for several. This is the
/// one table to extend when a comparator or a vector file is added.
pub const SHARED_FILES: &[VectorFile] = &[
    file("debian-versions.txt", Ecosystem::Dpkg),
    file("debian-versions-generated.txt", Ecosystem::Dpkg),
    file("redhat-versions.txt", Ecosystem::Rpm),
    file("alpine-versions.txt", Ecosystem::Apk),
    file("alpine-versions-generated.txt", Ecosystem::Apk),
    file("semver-versions.txt", Ecosystem::Semver),
    // osv-scalibr runs the semver file for Go as well: module versions are semver.
    file("semver-versions.txt", Ecosystem::Go),
    file("pypi-versions.txt", Ecosystem::Pep440),
    file("pypi-versions-generated.txt", Ecosystem::Pep440),
    file("maven-versions.txt", Ecosystem::Maven),
    file("maven-versions-generated.txt", Ecosystem::Maven),
    file("rubygems-versions.txt", Ecosystem::RubyGems),
    file("rubygems-versions-generated.txt", Ecosystem::RubyGems),
    file("nuget-versions.txt", Ecosystem::NuGet),
    file("packagist-versions.txt", Ecosystem::Composer),
    file("packagist-versions-generated.txt", Ecosystem::Composer),
];

/// A vector line that a comparator knowingly disagrees with, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDisagreement {
    /// The file name in [`SHARED_DIR`].
    pub file: &'static str,
    /// The comparator that disagrees.
    pub ecosystem: Ecosystem,
    /// The line as written in the file (without surrounding whitespace).
    pub line: &'static str,
    /// Why the comparator cannot or should not agree.
    pub reason: &'static str,
}

/// Lines of the shared files that a comparator knowingly disagrees with, each with its reason.
/// None today: the pairwise Maven and Composer comparisons follow their tools even where those
/// are not transitive. The conformance test expects exactly these to disagree, so an entry
/// that starts agreeing, or a new disagreement, fails it.
pub const KNOWN_DISAGREEMENTS: &[KnownDisagreement] = &[];

/// Shared vector files for schemes Moat has no comparator for (CRAN, Hackage and Pub are not
/// planned).
pub const UNCOVERED_SHARED_FILES: &[&str] = &[
    "cran-versions.txt",
    "cran-versions-generated.txt",
    "hackage-versions.txt",
    "pub-versions.txt",
];

/// One `A op B` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The 1-based line number.
    pub line: usize,
    /// The version on the left.
    pub left: String,
    /// How the left version compares to the right one.
    pub expected: Ordering,
    /// The version on the right.
    pub right: String,
}

/// A line that is neither a comment nor `A op B`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}", self.problem())]
pub struct MalformedLine {
    /// The 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
}

impl MalformedLine {
    /// What is wrong, without the line number.
    pub fn problem(&self) -> String {
        format!(
            "expected \"A < B\", \"A = B\" or \"A > B\", found {:?}",
            self.text
        )
    }
}

/// Reads one line: `Ok(None)` for a blank or comment line.
pub fn parse_line(line: usize, text: &str) -> Result<Option<Case>, MalformedLine> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
        return Ok(None);
    }
    let malformed = || MalformedLine {
        line,
        text: text.to_string(),
    };
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    let [left, op, right] = fields[..] else {
        return Err(malformed());
    };
    let expected = match op {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => return Err(malformed()),
    };
    Ok(Some(Case {
        line,
        left: left.to_string(),
        expected,
        right: right.to_string(),
    }))
}

/// Reads every line of a vector file, skipping comments.
pub fn parse(text: &str) -> impl Iterator<Item = Result<Case, MalformedLine>> + '_ {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| parse_line(index + 1, line).transpose())
}

/// The symbol for an ordering in a vector line.
pub fn symbol(ordering: Ordering) -> &'static str {
    match ordering {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// What a comparator makes of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both `compare(A, B)` and `compare(B, A)` give the expected result.
    Agrees,
    /// `compare(A, B)` gives `actual` instead.
    Disagrees {
        /// What the comparator says of A against B.
        actual: Ordering,
    },
    /// `compare(A, B)` is right but `compare(B, A)` gives `backward`, not the reverse.
    Asymmetric {
        /// What the comparator says of B against A.
        backward: Ordering,
    },
    /// One of the versions cannot be read under the ecosystem's rules.
    Invalid(VersionError),
}

impl Case {
    /// Runs the case through `ecosystem`'s comparator, both ways round.
    pub fn check(&self, ecosystem: Ecosystem) -> Verdict {
        let forward = match compare(ecosystem, &self.left, &self.right) {
            Ok(ordering) => ordering,
            Err(err) => return Verdict::Invalid(err),
        };
        if forward != self.expected {
            return Verdict::Disagrees { actual: forward };
        }
        match compare(ecosystem, &self.right, &self.left) {
            Ok(backward) if backward == self.expected.reverse() => Verdict::Agrees,
            Ok(backward) => Verdict::Asymmetric { backward },
            Err(err) => Verdict::Invalid(err),
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.left, symbol(self.expected), self.right)
    }
}

/// A line where the comparator does not agree with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong, as `A < B, but moat says A > B` (without the file and line).
    pub message: String,
    /// True when the line is not a vector at all (the file is malformed, not the comparator).
    pub malformed: bool,
}

/// The result of checking a whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// How many `A op B` lines were checked.
    pub cases: usize,
    /// Every disagreement, invalid version and malformed line, in line order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many cases the comparator agreed with.
    pub fn agreed(&self) -> usize {
        self.cases - self.findings.iter().filter(|f| !f.malformed).count()
    }

    /// True when some line was not a vector.
    pub fn has_malformed_lines(&self) -> bool {
        self.findings.iter().any(|f| f.malformed)
    }
}

/// Checks every line of `text` against `ecosystem`'s comparator.
pub fn check(ecosystem: Ecosystem, text: &str) -> Report {
    let mut report = Report::default();
    for parsed in parse(text) {
        let finding = match parsed {
            Ok(case) => {
                report.cases += 1;
                explain(&case, &case.check(ecosystem)).map(|message| Finding {
                    line: case.line,
                    message,
                    malformed: false,
                })
            }
            Err(err) => Some(Finding {
                line: err.line,
                message: err.problem(),
                malformed: true,
            }),
        };
        report.findings.extend(finding);
    }
    report
}

/// The message for a verdict other than [`Verdict::Agrees`].
pub fn explain(case: &Case, verdict: &Verdict) -> Option<String> {
    let (a, b) = (&case.left, &case.right);
    match verdict {
        Verdict::Agrees => None,
        Verdict::Disagrees { actual } => Some(format!("{case}, but moat says {a} {} {b}", symbol(*actual))),
        Verdict::Asymmetric { backward } => {
            Some(format!("{case}, but moat says {b} {} {a}", symbol(*backward)))
        }
        Verdict::Invalid(err) => Some(format!("{case}, but moat cannot compare them: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_malformed_lines() {
        let text = "# comment\n\n// another\n1.0 < 2.0\n  2.0   =   2.0  \n1 >\n1 ~ 2\n3 > 2 # no\n";
        let parsed: Vec<_> = parse(text).collect();
        assert_eq!(parsed.len(), 5);
        let case = parsed[0].clone().expect("a case");
        assert_eq!((case.line, case.expected), (4, Ordering::Less));
        assert_eq!(case.to_string(), "1.0 < 2.0");
        assert_eq!(parsed[1].clone().expect("a case").expected, Ordering::Equal);
        for (index, line) in [(2, 6), (3, 7), (4, 8)] {
            assert_eq!(parsed[index].clone().expect_err("malformed").line, line);
        }
    }

    #[test]
    fn a_report_names_every_disagreement() {
        let text = "1.0 < 2.0\n2.0 < 1.0\n1.0 = 1.0\n1.0_1 < 1.0\n1 ~ 2\n";
        let report = check(Ecosystem::Dpkg, text);
        assert_eq!(report.cases, 4);
        assert_eq!(report.agreed(), 2);
        assert!(report.has_malformed_lines());
        let lines: Vec<_> = report.findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert_eq!(report.findings[0].message, "2.0 < 1.0, but moat says 2.0 > 1.0");
        assert!(report.findings[1].message.contains("cannot compare"));
    }

    #[test]
    fn known_disagreements_name_checked_files_and_real_vectors() {
        for known in KNOWN_DISAGREEMENTS {
            assert!(
                SHARED_FILES.contains(&file(known.file, known.ecosystem)),
                "{known:?} names a file its comparator does not check"
            );
            assert!(parse_line(1, known.line).is_ok_and(|c| c.is_some()), "{known:?}");
            assert!(!known.reason.is_empty());
        }
    }

    #[test]
    fn every_ecosystem_has_a_shared_file_and_names_are_unique_per_ecosystem() {
        for ecosystem in Ecosystem::ALL {
            assert!(
                SHARED_FILES.iter().any(|f| f.ecosystem == ecosystem),
                "no vectors for {ecosystem}"
            );
        }
        for (i, a) in SHARED_FILES.iter().enumerate() {
            assert!(!SHARED_FILES[i + 1..].contains(a), "{a:?} listed twice");
            assert!(!UNCOVERED_SHARED_FILES.contains(&a.name));
        }
    }
}
