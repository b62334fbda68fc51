//! dpkg versions (Debian, Ubuntu): `[epoch:]upstream_version[-debian_revision]`, ordered as
//! deb-version(7) and dpkg's `verrevcmp` order them.
//!
//! Written by hand rather than with the `debversion` crate: the algorithm is some forty lines,
//! while that crate brings `chrono`, `lazy-regex` and `num-bigint`, keeps epochs in a `u32` and
//! unwraps while comparing. Numbers here are digit strings of any length.
//!
//! - The epoch is the part before the first `:`, a number; missing means 0.
//! - The revision is the part after the last `-`; missing compares like `0` (`1.0 = 1.0-0`).
//! - Upstream version and revision are compared as alternating runs of non-digits and digits.
//!   Non-digit runs compare character by character with `~` before everything (even the end
//!   of the run), then letters, then all other characters; digit runs compare numerically.

use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed dpkg version. Equality is the ordering's (`1.0` equals `0:1.0-0`); [`fmt::Display`]
/// gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    epoch: Number,
    upstream: String,
    /// Empty when the version has none, which orders like `0`.
    revision: String,
}

impl Version {
    /// The epoch as its digits, `"0"` when the version has none.
    pub fn epoch(&self) -> String {
        match self.epoch.0.as_str() {
            "" => "0".to_string(),
            digits => digits.to_string(),
        }
    }

    /// The upstream version: what remains without the epoch and the revision.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision, if the version has one.
    pub fn revision(&self) -> Option<&str> {
        Some(self.revision.as_str()).filter(|r| !r.is_empty())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Parses as dpkg's `parseversion` does: surrounding whitespace is ignored; an empty
    /// version, an empty or non-numeric epoch, an empty revision after `-`, and characters
    /// outside those Debian policy allows are errors.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let invalid = |reason: &str| VersionError::invalid(Ecosystem::Dpkg, text, reason);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("the version is empty"));
        }
        if trimmed.contains(char::is_whitespace) {
            return Err(invalid("the version contains whitespace"));
        }
        let (epoch, rest) = split_epoch(trimmed).map_err(invalid)?;
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(invalid("the revision after '-' is empty")),
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, ""),
        };
        check_characters(upstream, revision).map_err(invalid)?;
        Ok(Version {
            original: text.to_string(),
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

/// The epoch (0 when absent) and the rest of the version.
fn split_epoch(version: &str) -> Result<(Number, &str), &'static str> {
    let Some((epoch, rest)) = version.split_once(':') else {
        return Ok((Number::default(), version));
    };
    if epoch.is_empty() {
        return Err("the epoch before ':' is empty");
    }
    if !epoch.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the epoch before ':' is not a number");
    }
    Ok((Number::from_digits(epoch), rest))
}

/// Debian policy's character sets: the upstream version is not empty and holds letters, digits
/// and `.+-~:`; the revision holds letters, digits and `.+~`.
fn check_characters(upstream: &str, revision: &str) -> Result<(), &'static str> {
    if upstream.is_empty() {
        return Err("the upstream version is empty");
    }
    if !upstream
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".+-~:".contains(c))
    {
        return Err("invalid character in the upstream version");
    }
    if !revision
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c))
    {
        return Err("invalid character in the revision");
    }
    Ok(())
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
    }
}

crate::version_type!(Version, "dpkg versions");

/// dpkg's `verrevcmp`: alternating non-digit and digit runs, until both strings are used up.
fn compare_part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_while(a, |c| !c.is_ascii_digit());
        let (b_text, b_rest) = split_while(b, |c| !c.is_ascii_digit());
        let by_text = compare_text(a_text, b_text);
        if by_text != Ordering::Equal {
            return by_text;
        }
        let (a_digits, a_rest) = split_while(a_rest, |c| c.is_ascii_digit());
        let (b_digits, b_rest) = split_while(b_rest, |c| c.is_ascii_digit());
        let by_number = Number::from_digits(a_digits).cmp(&Number::from_digits(b_digits));
        if by_number != Ordering::Equal {
            return by_number;
        }
        (a, b) = (a_rest, b_rest);
    }
    Ordering::Equal
}

/// Compares two non-digit runs character by character; the shorter run is padded with a
/// weight between `~` and every other character.
fn compare_text(a: &str, b: &str) -> Ordering {
    let mut a = a.bytes().map(weight);
    let mut b = b.bytes().map(weight);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => match x.unwrap_or(0).cmp(&y.unwrap_or(0)) {
                Ordering::Equal => {}
                unequal => return unequal,
            },
        }
    }
}

/// dpkg's `order()`: `~` sorts first, then the end of the run (weight 0), then letters, then
/// every other character.
fn weight(byte: u8) -> i32 {
    match byte {
        b'~' => -1,
        b if b.is_ascii_alphabetic() => i32::from(b),
        b => i32::from(b) + 256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1~git1", "1.0~rc1"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.2.3-1~deb7u1", "1.2.3-1"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1", "1.0a"), Ordering::Less);
    }

    #[test]
    fn letters_sort_before_other_characters() {
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0."), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
        assert_eq!(
            cmp("2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1"),
            Ordering::Less
        );
    }

    #[test]
    fn epochs_decide_first_and_default_to_zero() {
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("01:1.0", "1:1.0"), Ordering::Equal);
        assert_eq!(cmp("2:1.0", "10:0.1"), Ordering::Less);
    }

    #[test]
    fn a_missing_revision_is_zero() {
        assert_eq!(cmp("0.0.0", "0.0.0-0"), Ordering::Equal);
        assert_eq!(cmp("0.0.0", "0.0.0-00"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        let v: Version = "1:2.0-3-4".parse().expect("valid");
        assert_eq!(
            (v.epoch().as_str(), v.upstream(), v.revision()),
            ("1", "2.0-3", Some("4"))
        );
    }

    #[test]
    fn numbers_have_no_width_limit() {
        assert_eq!(
            cmp("1.99999999999999999999999", "1.100000000000000000000000"),
            Ordering::Less
        );
        assert_eq!(cmp("1.007", "1.7"), Ordering::Equal);
    }

    #[test]
    fn malformed_versions_are_errors_not_panics() {
        for bad in [
            "", "  ", "a:1.0", ":1.0", "1.0-", "1:", "1.0 2", "1.0_1", "1.0-1_2", "1.é",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should be invalid");
        }
        let err = compare("1.2.3", "1.2.3-not-a-debian:version!@#$").unwrap_err();
        assert!(err.to_string().contains("invalid dpkg version"), "{err}");
    }

    #[test]
    fn equality_follows_the_ordering_and_display_keeps_the_text() {
        let a: Version = "0:1.0-0".parse().expect("valid");
        let b: Version = "1.0".parse().expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "0:1.0-0");
    }
}
