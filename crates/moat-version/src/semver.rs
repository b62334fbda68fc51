//! Semantic Versioning 2.0 as npm and crates.io apply it: `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
//!
//! Written by hand rather than with the `semver` crate, which the conformance vectors rule out:
//! it keeps numbers in a `u64` (`999999999999999999999999999999` overflows) and refuses the
//! leading `v`, `=` and short forms that real advisories and lock files carry. Reading is
//! lenient where npm's loose mode is, ordering is exactly SemVer's:
//!
//! - A leading `v`, `=` or whitespace is ignored (`v1.2.3`, `=1.2.3`).
//! - Missing minor and patch numbers are 0 (`1.2` is `1.2.0`); numbers past the third are
//!   build metadata (`1.1.3.4.5` is `1.1.3+4.5`).
//! - A pre-release may start without its `-` (`1.2.3beta`, as npm's loose mode reads it).
//! - A version with a pre-release sorts before the release; pre-release identifiers compare
//!   one by one, numbers numerically and below words, words in ASCII order, and a longer list
//!   wins when the shorter is its prefix.
//! - Build metadata is kept but ignored for ordering (`1.2.3+a = 1.2.3+b`).

use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed semantic version. Equality is the ordering's, so build metadata is ignored;
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    major: Number,
    minor: Number,
    patch: Number,
    pre: Vec<Identifier>,
    build: Option<String>,
}

/// One dot-separated pre-release identifier; numbers sort before words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Identifier {
    /// Only digits, compared numerically.
    Numeric(Number),
    /// Anything else, compared in ASCII order.
    Word(String),
}

impl Identifier {
    /// A numeric identifier from ASCII `digits`.
    pub(crate) fn numeric(digits: &str) -> Identifier {
        Identifier::Numeric(Number::from_digits(digits))
    }
}

impl Version {
    /// A version from its parts (for schemes that map onto semver, like Go toolchains).
    pub(crate) fn from_parts(
        original: &str,
        [major, minor, patch]: [&str; 3],
        pre: Vec<Identifier>,
    ) -> Version {
        Version {
            original: original.to_string(),
            major: Number::from_digits(major),
            minor: Number::from_digits(minor),
            patch: Number::from_digits(patch),
            pre,
            build: None,
        }
    }

    /// Parses `text`, naming `ecosystem` in errors (Go module versions use this reader too).
    pub(crate) fn parse_as(text: &str, ecosystem: Ecosystem) -> Result<Version, VersionError> {
        let invalid = |reason: String| VersionError::invalid(ecosystem, text, reason);
        let body = text
            .trim()
            .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
        let (numbers, rest) = split_numbers(body).map_err(invalid)?;
        let (pre, build) = split_pre_and_build(rest).map_err(invalid)?;
        let mut build = build.map(str::to_string);
        if numbers.len() > 3 {
            let extra = numbers[3..].join(".");
            build = Some(match build {
                Some(b) => format!("{extra}.{b}"),
                None => extra,
            });
        }
        let number = |i: usize| numbers.get(i).copied().unwrap_or("0");
        Ok(Version {
            pre: parse_identifiers(pre).map_err(invalid)?,
            build,
            ..Version::from_parts(text, [number(0), number(1), number(2)], Vec::new())
        })
    }

    /// The pre-release identifiers as text (empty for a release).
    pub fn pre_release(&self) -> Vec<String> {
        self.pre
            .iter()
            .map(|id| match id {
                Identifier::Numeric(n) if n.0.is_empty() => "0".to_string(),
                Identifier::Numeric(n) => n.0.clone(),
                Identifier::Word(w) => w.clone(),
            })
            .collect()
    }

    /// The build metadata, if any (ignored for ordering).
    pub fn build(&self) -> Option<&str> {
        self.build.as_deref()
    }
}

/// The dot-separated numbers at the start (at least one) and the rest.
fn split_numbers(text: &str) -> Result<(Vec<&str>, &str), String> {
    let mut numbers = Vec::new();
    let mut rest = text;
    loop {
        let (digits, after) = split_while(rest, |c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(if numbers.is_empty() {
                "it does not start with a number".to_string()
            } else {
                format!("no number after '.' in {text:?}")
            });
        }
        numbers.push(digits);
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None => return Ok((numbers, after)),
        }
    }
}

/// Splits what follows the numbers into the pre-release and the build metadata.
fn split_pre_and_build(rest: &str) -> Result<(&str, Option<&str>), String> {
    let (pre, build) = match rest.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (rest, None),
    };
    let pre = match pre.strip_prefix('-') {
        Some("") => return Err("the pre-release after '-' is empty".into()),
        Some(pre) => pre,
        None if pre.starts_with(|c: char| c.is_ascii_alphabetic()) || pre.is_empty() => pre,
        None => return Err(format!("unexpected {pre:?} after the numbers")),
    };
    if let Some(build) = build {
        check_identifiers(build, "build metadata")?;
    }
    Ok((pre, build))
}

/// The pre-release identifiers of `text` (empty text: none).
fn parse_identifiers(text: &str) -> Result<Vec<Identifier>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    check_identifiers(text, "pre-release")?;
    Ok(text
        .split('.')
        .map(|id| {
            if id.bytes().all(|b| b.is_ascii_digit()) {
                Identifier::numeric(id)
            } else {
                Identifier::Word(id.to_string())
            }
        })
        .collect())
}

/// SemVer's identifier rule: non-empty, ASCII letters, digits and hyphens.
fn check_identifiers(text: &str, what: &str) -> Result<(), String> {
    for id in text.split('.') {
        if id.is_empty() {
            return Err(format!("empty identifier in the {what} {text:?}"));
        }
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("invalid character in the {what} {text:?}"));
        }
    }
    Ok(())
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        Version::parse_as(text, Ecosystem::Semver)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        (&self.major, &self.minor, &self.patch)
            .cmp(&(&other.major, &other.minor, &other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (false, false) => self.pre.cmp(&other.pre),
                // A release sorts after its pre-releases.
                (a_release, b_release) => a_release.cmp(&b_release),
            })
    }
}

crate::version_type!(Version, "semantic versions");

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn the_specification_example_is_in_order() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn pre_release_identifiers() {
        assert_eq!(cmp("1.2.3-a.10", "1.2.3-a.5"), Ordering::Greater);
        assert_eq!(cmp("1.2.3-a.b", "1.2.3-a.5"), Ordering::Greater);
        assert_eq!(cmp("1.2.3-r2", "1.2.3-r100"), Ordering::Greater);
        assert_eq!(cmp("1.2.3-R2", "1.2.3-r100"), Ordering::Less);
        assert_eq!(cmp("1.2.3-5-foo", "1.2.3-5"), Ordering::Greater);
        let v: Version = "1.2.3-rc.01+b".parse().expect("valid");
        assert_eq!(v.pre_release(), ["rc", "1"]);
    }

    #[test]
    fn build_metadata_is_ignored_and_prefixes_tolerated() {
        assert_eq!(cmp("1.2.3+build", "1.2.3+other"), Ordering::Equal);
        assert_eq!(cmp("v1.2.3", "=1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(cmp("1.1.3.4.5", "1.1.3+4.5"), Ordering::Equal);
        assert_eq!(
            "1.1.3.4.5+x".parse::<Version>().expect("valid").build(),
            Some("4.5.x")
        );
        assert_eq!(cmp("1.2.3beta", "1.2.3-beta"), Ordering::Equal);
    }

    #[test]
    fn numbers_have_no_width_limit() {
        assert_eq!(
            cmp("999999999999999999999999999991", "999999999999999999999999999999"),
            Ordering::Less
        );
        assert_eq!(
            cmp("18446744073709551616.0.0", "18446744073709551615.9.9"),
            Ordering::Greater
        );
    }

    #[test]
    fn malformed_versions_are_errors() {
        for bad in [
            "",
            "v",
            "x1.2.3",
            "1..2",
            "1.2.3-",
            "1.2.3-a..b",
            "1.2.3+",
            "1.2.3-é",
            "1.2.3_4",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should be invalid");
        }
    }
}
