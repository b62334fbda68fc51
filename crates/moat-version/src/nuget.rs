//! NuGet versions: `N[.N[.N[.N]]][-LABEL(.LABEL)*][+METADATA]`, ordered as NuGet.Versioning's
//! `VersionComparer.Default` orders them.
//!
//! Written by hand: no Rust crate reads NuGet versions, and they are SemVer 2.0 with three
//! differences, which this module applies:
//!
//! - Up to four numbers; missing ones are 0 (`1.0 = 1.0.0.0`), leading zeros are allowed
//!   (`1.0.01 = 1.0.1`). Numbers have any length here, where NuGet stops at `int`.
//! - Pre-release labels compare case-insensitively (`1.0.0-BETA = 1.0.0-beta`): numeric labels
//!   numerically and below other labels, others as ordinal text after upper-casing, and a
//!   longer list wins when the shorter is its prefix. A version with labels sorts before the
//!   same version without.
//! - Build metadata is checked but ignored for ordering (`1.0.0+a = 1.0.0`).

use crate::{Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed NuGet version. Equality is the ordering's (`1.0 = 1.0.0.0 = 1.0.0+meta`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    numbers: [Number; 4],
    labels: Vec<Label>,
    metadata: Option<String>,
}

/// One pre-release label; the variants are in ascending order (numbers below words).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    Numeric(Number),
    /// Kept upper-cased, which gives `StringComparer.OrdinalIgnoreCase`'s order.
    Word(String),
}

impl FromStr for Version {
    type Err = VersionError;

    /// Surrounding whitespace is ignored; anything else outside the grammar is refused.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let invalid = |reason: String| VersionError::invalid(Ecosystem::NuGet, text, reason);
        let trimmed = text.trim();
        let (rest, metadata) = match trimmed.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (trimmed, None),
        };
        let (numbers, labels) = match rest.split_once('-') {
            Some((numbers, labels)) => (numbers, Some(labels)),
            None => (rest, None),
        };
        if let Some(metadata) = metadata {
            check_labels(metadata, "metadata").map_err(invalid)?;
        }
        let labels = match labels {
            Some(labels) => parse_labels(labels).map_err(invalid)?,
            None => Vec::new(),
        };
        Ok(Version {
            original: text.to_string(),
            numbers: parse_numbers(numbers).map_err(invalid)?,
            labels,
            metadata: metadata.map(str::to_string),
        })
    }
}

/// One to four dot-separated numbers; the missing ones are 0.
fn parse_numbers(text: &str) -> Result<[Number; 4], String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return Err(format!("more than four numbers in {text:?}"));
    }
    let mut numbers: [Number; 4] = Default::default();
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{part:?} is not a number"));
        }
        *slot = Number::from_digits(part);
    }
    Ok(numbers)
}

/// Labels are non-empty and made of ASCII letters, digits and `-`.
fn check_labels(text: &str, what: &str) -> Result<(), String> {
    for label in text.split('.') {
        if label.is_empty() {
            return Err(format!("empty label in the {what} {text:?}"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("invalid character in the {what} {text:?}"));
        }
    }
    Ok(())
}

fn parse_labels(text: &str) -> Result<Vec<Label>, String> {
    check_labels(text, "pre-release")?;
    Ok(text
        .split('.')
        .map(|label| {
            if label.bytes().all(|b| b.is_ascii_digit()) {
                Label::Numeric(Number::from_digits(label))
            } else {
                Label::Word(label.to_ascii_uppercase())
            }
        })
        .collect())
}

impl Version {
    /// True when the version has pre-release labels.
    pub fn is_prerelease(&self) -> bool {
        !self.labels.is_empty()
    }

    /// The build metadata, if any (ignored for ordering).
    pub fn metadata(&self) -> Option<&str> {
        self.metadata.as_deref()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (false, false) => self.labels.cmp(&other.labels),
                // A release sorts after its pre-releases.
                (a_release, b_release) => a_release.cmp(&b_release),
            }
        })
    }
}

crate::version_type!(Version, "NuGet versions");

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn four_numbers_and_metadata() {
        for (a, b) in [
            ("1.0", "1.0.0.0"),
            ("1", "1.0.0"),
            ("1.0.01", "1.0.1.0"),
            ("1.0.0+build.5", "1.0.0"),
            ("1.0.0-RC.1+X", "1.0.0-rc.01"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
        let v: Version = "1.2.3-beta+sha.abc".parse().expect("valid");
        assert_eq!(v.metadata(), Some("sha.abc"));
        assert!(v.is_prerelease());
    }

    #[test]
    fn pre_release_order() {
        let chain = [
            "1.0.0-1",
            "1.0.0-2",
            "1.0.0-10",
            "1.0.0-alpha",
            "1.0.0-ALPHA.1",
            "1.0.0-alpha.b",
            "1.0.0-Beta",
            "1.0.0-beta-2",
            "1.0.0-beta2",
            "1.0.0",
            "1.0.0.1-alpha",
            "1.0.0.1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn invalid_versions_are_refused() {
        for bad in [
            "",
            "v1.0",
            "1.0.0.0.0",
            "1..0",
            "1.0-",
            "1.0-a..b",
            "1.0+",
            "1.0-a_b",
            "1.a",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }
}
