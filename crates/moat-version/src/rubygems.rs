//! RubyGems versions, ordered as `Gem::Version#<=>` orders them.
//!
//! Written by hand: no crate implements `Gem::Version`, and its rules are a few lines:
//!
//! - A `-` means `.pre.` (`1.0-rc1` is `1.0.pre.rc1`).
//! - The text is cut into segments at dots and where digits change to letters or back:
//!   `1.0.a10` and `1.0a.10` are both `[1, 0, "a", 10]`. Numbers have any length.
//! - Trailing zeros are dropped, both from the numbers before the first letter segment and
//!   from the segments after it (`1.0 = 1`, `1.a.0 = 1.a`).
//! - Segments compare one by one, a missing segment being 0: numbers numerically, letters as
//!   bytes (case-sensitive, as Ruby compares strings), and letters below any number, so that a
//!   version with a letter segment is a pre-release of the one without (`1.2.4.beta < 1.2.4`).
//!
//! `Gem::Version` insists on a dot before the first letter segment (`1.0a` but not `1a`); this
//! reader does not, since advisories and the conformance vectors use `1beta` too. Any other
//! character than ASCII letters, digits, `.` and `-`, or a first character that is not a
//! digit, is refused as `Gem::Version` refuses it.

use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed RubyGems version. Equality is the ordering's (`1.0 = 1`, `1.0.a2 = 1.0.a.2`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    /// `Gem::Version#canonical_segments`.
    segments: Vec<Segment>,
    prerelease: bool,
}

/// One segment; the variants are in ascending order (letters below numbers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Letters(String),
    Number(Number),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(n) if *n == Number::default())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        let invalid = |reason: &str| VersionError::invalid(Ecosystem::RubyGems, text, reason);
        if !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid("a version starts with a digit"));
        }
        if let Some(c) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
        {
            return Err(invalid(&format!("unexpected character {c:?}")));
        }
        let normalized = trimmed.replace('-', ".pre.");
        Ok(Version {
            original: text.to_string(),
            prerelease: normalized.contains(|c: char| c.is_ascii_alphabetic()),
            segments: canonical_segments(segments(&normalized)),
        })
    }
}

/// `scan(/[0-9]+|[a-z]+/i)`: digit runs and letter runs, skipping everything else.
fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let (run, after) = if first.is_ascii_digit() {
            split_while(rest, |c| c.is_ascii_digit())
        } else if first.is_ascii_alphabetic() {
            split_while(rest, |c| c.is_ascii_alphabetic())
        } else {
            rest = &rest[first.len_utf8()..];
            continue;
        };
        out.push(if first.is_ascii_digit() {
            Segment::Number(Number::from_digits(run))
        } else {
            Segment::Letters(run.to_string())
        });
        rest = after;
    }
    out
}

/// Drops the trailing zeros of the numbers before the first letter segment and of the
/// segments from it on.
fn canonical_segments(mut segments: Vec<Segment>) -> Vec<Segment> {
    let first_letters = segments
        .iter()
        .position(|s| matches!(s, Segment::Letters(_)))
        .unwrap_or(segments.len());
    let mut rest = segments.split_off(first_letters);
    let mut numbers = segments;
    for part in [&mut numbers, &mut rest] {
        while part.last().is_some_and(Segment::is_zero) {
            part.pop();
        }
    }
    numbers.extend(rest);
    numbers
}

impl Version {
    /// True when some segment holds a letter (`Gem::Version#prerelease?`).
    pub fn is_prerelease(&self) -> bool {
        self.prerelease
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        let zero = Segment::Number(Number::default());
        let (a, b) = (&self.segments, &other.segments);
        (0..a.len().max(b.len()))
            .map(|i| a.get(i).unwrap_or(&zero).cmp(b.get(i).unwrap_or(&zero)))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

crate::version_type!(Version, "RubyGems versions");

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn prereleases_sort_before_their_release() {
        let chain = [
            "0.9", "1.0.a.2", "1.0.a10", "1.0.b1", "1.0.pre", "1.0.rc1", "1.0", "1.0.0.1", "1.1.a", "1.1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn equal_spellings() {
        for (a, b) in [
            ("1.0", "1"),
            ("1.0.0", "1"),
            ("1.0.a2", "1.0.a.2"),
            ("1.0a2", "1.0.a.2"),
            ("1.a.0", "1.a"),
            ("1.0-rc1", "1.0.pre.rc.1"),
            (" 1.0 ", "1"),
            ("01.002", "1.2"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn letters_are_case_sensitive_and_numbers_unbounded() {
        assert_eq!(cmp("1.0.B", "1.0.a"), Ordering::Less);
        assert_eq!(
            cmp("999999999999999999999999999991", "999999999999999999999999999999"),
            Ordering::Less
        );
        assert_eq!(cmp("1.0.a", "1.0.0.1"), Ordering::Less);
    }

    #[test]
    fn prerelease_flag_and_invalid_text() {
        let pre = |v: &str| v.parse::<Version>().expect("valid").is_prerelease();
        assert!(pre("1.0.a") && pre("1-1") && !pre("1.0.0"));
        for bad in ["", " ", "a1", "1.0+b", "1_0", ".1", "1é"] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }
}
