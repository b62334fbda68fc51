//! apk versions (Alpine, Wolfi, Chainguard): `number{.number}[letter]{_suffix[number]}[~hash][-rN]`,
//! ordered as apk-tools orders them.
//!
//! Written by hand: no maintained crate implements apk's ordering. The parsed form mirrors
//! apk-tools' token order (numbers, letter, suffixes, commit hash, revision) and compares
//! field by field, which gives apk's rules:
//!
//! - The first number compares numerically; later ones too, unless either starts with `0`, in
//!   which case they compare as strings (Gentoo's rule: `1.02 < 1.1`). When one version has
//!   more numbers and the rest are equal, it is the greater (`1.2 < 1.2.1`, `1.2 < 1.2.0`).
//! - No letter sorts before any letter.
//! - Suffixes `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`, each with
//!   an optional number (missing is 0).
//! - Then the `~hash` (none first, then by text), then the `-rN` revision.
//!
//! Text that does not fit the grammar is kept rather than refused, since `apk version -t`
//! compares it too. The vectors (osv-scalibr's, which note where apk 2.x and 3.x differ) fix how:
//!
//! - A malformed revision part (`-ruff`, `-r0-1`, `--r1`) sorts before no revision at all, which
//!   sorts before any valid `-rN`; two malformed revision parts are equal (`1-r0-1 = 1-r-2`).
//!   `-r` alone is `-r0`.
//! - Other text left over (`1.2_blah`, `6.6.2p1`, `0..8`, `.1`) sorts before no leftover, and two
//!   leftovers compare as strings (`0.8.21.r1 < 0.8.21.r2`).
//!
//! Every field has a total order, so sorting never sees an inconsistent comparison.

use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed apk version. Equality is the ordering's (`1-r1` equals `1-r01`); [`fmt::Display`]
/// gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    numbers: Vec<String>,
    letter: Option<char>,
    suffixes: Vec<Suffix>,
    hash: Option<String>,
    revision: Revision,
    /// Text after the last part that fits the grammar, outside the revision part.
    leftover: Option<String>,
}

/// The suffix names, in their order; `None` stands for "no suffix" when one version has more
/// suffixes than the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SuffixName {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl SuffixName {
    fn from_name(name: &str) -> Option<SuffixName> {
        Some(match name {
            "alpha" => SuffixName::Alpha,
            "beta" => SuffixName::Beta,
            "pre" => SuffixName::Pre,
            "rc" => SuffixName::Rc,
            "cvs" => SuffixName::Cvs,
            "svn" => SuffixName::Svn,
            "git" => SuffixName::Git,
            "hg" => SuffixName::Hg,
            "p" => SuffixName::P,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Suffix {
    name: SuffixName,
    number: Number,
}

/// What follows a `-`; the variants are in ascending order.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Revision {
    /// A `-` part that is not `-r` and digits.
    Malformed,
    /// No `-` part.
    #[default]
    Absent,
    /// `-rN` (`-r` alone is `-r0`).
    Number(Number),
}

impl FromStr for Version {
    type Err = VersionError;

    /// Parses any non-empty text; what does not fit the grammar is kept and ordered as the
    /// module documentation says.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::invalid(
                Ecosystem::Apk,
                text,
                "the version is empty",
            ));
        }
        let mut version = Version {
            original: text.to_string(),
            numbers: Vec::new(),
            letter: None,
            suffixes: Vec::new(),
            hash: None,
            revision: Revision::Absent,
            leftover: None,
        };
        let rest = version.parse_numbers(trimmed);
        let rest = if version.numbers.is_empty() {
            rest
        } else {
            version.parse_tail(rest)
        };
        if !rest.is_empty() {
            version.leftover = Some(rest.to_string());
        }
        Ok(version)
    }
}

impl Version {
    /// `number{.number}`: a `.` is taken only when digits follow it.
    fn parse_numbers<'t>(&mut self, mut rest: &'t str) -> &'t str {
        loop {
            let (digits, after) = split_while(rest, |c| c.is_ascii_digit());
            if digits.is_empty() {
                return rest;
            }
            self.numbers.push(digits.to_string());
            match after.strip_prefix('.') {
                Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) => rest = next,
                _ => return after,
            }
        }
    }

    /// Letter, suffixes, hash and revision, in that order; returns the leftover text.
    fn parse_tail<'t>(&mut self, mut rest: &'t str) -> &'t str {
        if let Some(letter) = rest.chars().next().filter(char::is_ascii_lowercase) {
            self.letter = Some(letter);
            rest = &rest[1..];
        }
        while let Some((suffix, after)) = parse_suffix(rest) {
            self.suffixes.push(suffix);
            rest = after;
        }
        if let Some(after_tilde) = rest.strip_prefix('~') {
            let (hash, after) = split_while(after_tilde, |c| matches!(c, '0'..='9' | 'a'..='f'));
            if !hash.is_empty() {
                self.hash = Some(hash.to_string());
                rest = after;
            }
        }
        if rest.starts_with('-') {
            self.revision = parse_revision(rest);
            return "";
        }
        rest
    }
}

/// `_name[digits]` at the start of `text`, with a known name.
fn parse_suffix(text: &str) -> Option<(Suffix, &str)> {
    let after_underscore = text.strip_prefix('_')?;
    let (name, after_name) = split_while(after_underscore, |c| c.is_ascii_lowercase());
    let name = SuffixName::from_name(name)?;
    let (digits, rest) = split_while(after_name, |c| c.is_ascii_digit());
    let number = Number::from_digits(digits);
    Some((Suffix { name, number }, rest))
}

/// The revision part: all the text from its `-`.
fn parse_revision(text: &str) -> Revision {
    match text.strip_prefix("-r") {
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Revision::Number(Number::from_digits(digits))
        }
        _ => Revision::Malformed,
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        compare_numbers(&self.numbers, &other.numbers)
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| compare_suffixes(&self.suffixes, &other.suffixes))
            .then_with(|| self.hash.cmp(&other.hash))
            .then_with(|| self.revision.cmp(&other.revision))
            .then_with(|| compare_leftovers(self.leftover.as_deref(), other.leftover.as_deref()))
    }
}

crate::version_type!(Version, "apk versions");

/// Number by number; a version with more numbers is greater when the shared ones are equal.
fn compare_numbers(a: &[String], b: &[String]) -> Ordering {
    for (index, (x, y)) in a.iter().zip(b).enumerate() {
        let ordering = if index > 0 && (x.starts_with('0') || y.starts_with('0')) {
            x.cmp(y)
        } else {
            Number::from_digits(x).cmp(&Number::from_digits(y))
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.len().cmp(&b.len())
}

/// Suffix by suffix, the shorter list padded with "no suffix" (which sorts after `_rc` and
/// before `_cvs`, so `1.2_rc1 < 1.2 < 1.2_p1`).
fn compare_suffixes(a: &[Suffix], b: &[Suffix]) -> Ordering {
    let none = Suffix {
        name: SuffixName::None,
        number: Number::default(),
    };
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).unwrap_or(&none).cmp(b.get(i).unwrap_or(&none)))
        .find(|ordering| *ordering != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// No leftover is greater than any; two leftovers compare as strings.
fn compare_leftovers(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (x, y) => x.is_none().cmp(&y.is_none()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn pre_release_suffixes_sort_before_the_release_and_post_ones_after() {
        assert_eq!(cmp("1.2_alpha1", "1.2_beta1"), Ordering::Less);
        assert_eq!(cmp("1.2_rc1", "1.2"), Ordering::Less);
        assert_eq!(cmp("1.2", "1.2_cvs1"), Ordering::Less);
        assert_eq!(cmp("1.2_svn2", "1.2_git1"), Ordering::Less);
        assert_eq!(cmp("1.2_hg1", "1.2_p1"), Ordering::Less);
        assert_eq!(cmp("0.1.0_alpha_pre2", "0.1.0_alpha"), Ordering::Less);
        assert_eq!(cmp("3.9_pre20060124", "3.9_pre20060125"), Ordering::Less);
    }

    #[test]
    fn revisions_and_letters() {
        assert_eq!(cmp("1.2.2-r1", "1.2.2"), Ordering::Greater);
        assert_eq!(cmp("1-r1", "1-r01"), Ordering::Equal);
        assert_eq!(cmp("1-r", "1-r0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
        assert_eq!(cmp("1.2.3b", "1.2.0d"), Ordering::Greater);
        assert_eq!(cmp("2.5.1-r8", "2.5.1a-r1"), Ordering::Less);
    }

    #[test]
    fn later_numbers_with_a_leading_zero_compare_as_strings() {
        assert_eq!(cmp("1.02", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.2.07.8", "1.2.12.04"), Ordering::Less);
        assert_eq!(cmp("006", "1.0.0"), Ordering::Greater);
        assert_eq!(cmp("1.2", "1.2.0"), Ordering::Less);
    }

    #[test]
    fn malformed_parts_follow_the_vectors() {
        assert_eq!(cmp("1", "1-ruff"), Ordering::Greater);
        assert_eq!(cmp("1-r-0", "1-r0"), Ordering::Less);
        assert_eq!(cmp("1-r0-1", "1-r-2"), Ordering::Equal);
        assert_eq!(cmp("1-ruff2", "1--ruff1"), Ordering::Equal);
        assert_eq!(cmp("1.2", "1.2_blah"), Ordering::Greater);
        assert_eq!(cmp("6.6.2p1", "6.6.2_p1"), Ordering::Greater);
        assert_eq!(cmp("6.6.2p1", "6.6.2p2"), Ordering::Less);
        assert_eq!(cmp("0..8", "0...8"), Ordering::Greater);
        assert_eq!(cmp(".1", "1"), Ordering::Less);
        assert_eq!(cmp("a", "b"), Ordering::Less);
    }

    #[test]
    fn hashes_are_parsed_and_sort_after_no_hash() {
        let v: Version = "1.0~abc123-r2".parse().expect("valid");
        assert_eq!(v.hash.as_deref(), Some("abc123"));
        assert_eq!(v.revision, Revision::Number(Number::from_digits("2")));
        assert_eq!(cmp("1.0~abc-r1", "1.0-r1"), Ordering::Greater);
        assert_eq!(cmp("1.0~abc", "1.0~abd"), Ordering::Less);
    }

    #[test]
    fn sorting_odd_versions_is_consistent() {
        // A total order: sorting must neither panic nor depend on the input order.
        let mut versions: Vec<Version> = [
            "1-r-0", "1", "1-ruff", "1-r0", ".1", "a", "0..8", "1.2_blah", "1.2_rc1", "1.2", "1_p1",
            "1.0~ab", "1-r2",
        ]
        .iter()
        .map(|v| v.parse().expect("valid"))
        .collect();
        let mut reversed = versions.clone();
        reversed.reverse();
        versions.sort();
        reversed.sort();
        // Equal elements (`1-r-0` and `1-ruff`) may swap places, nothing else.
        assert_eq!(versions, reversed);
        for pair in versions.windows(2) {
            assert_ne!(pair[0].cmp(&pair[1]), Ordering::Greater);
        }
    }

    #[test]
    fn only_an_empty_version_is_invalid() {
        assert!(compare("", "1").is_err());
        assert!(compare("1", "  ").is_err());
    }
}
