//! rpm versions (Red Hat, Fedora, Rocky, Alma, Amazon, SUSE, …): `[epoch:]version[-release]`
//! ordered as rpm 4.x orders them, with `rpmvercmp` on the version and on the release.
//!
//! Written by hand: no maintained crate implements `rpmvercmp`, and it is short. It works on
//! bytes, like rpm: anything but ASCII letters, digits, `~` and `^` only separates segments.
//!
//! - The epoch is a run of digits before a `:` at the very start; missing means 0. A `:` after
//!   anything else (`1.m+e2:1`) is part of the version.
//! - The release is what follows the last `-`. A version without a release sorts before the
//!   same version with any release (`1 < 1-0`, `1 < 1-`): advisories give full
//!   version-release pairs, and an installed package always has a release. (rpm's own
//!   dependency matching instead ignores the release when one side lacks it.)

use crate::{Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed rpm version (EVR). Equality is the ordering's (`0:1.0-1` equals `1.0-01`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    epoch: Number,
    version: String,
    release: Option<String>,
}

impl Version {
    /// The version part, without epoch and release.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The release part, if there is a `-`.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Splits as rpm's `parseEVR` does. Only an empty (or all-blank) string is an error: rpm
    /// compares any other text.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::invalid(
                Ecosystem::Rpm,
                text,
                "the version is empty",
            ));
        }
        let (epoch, rest) = split_epoch(trimmed);
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release.to_string())),
            None => (rest, None),
        };
        Ok(Version {
            original: text.to_string(),
            epoch,
            version: version.to_string(),
            release,
        })
    }
}

/// The epoch (0 when absent or empty, as in `:1.0`) and the rest.
fn split_epoch(text: &str) -> (Number, &str) {
    let digits_end = text.bytes().take_while(u8::is_ascii_digit).count();
    match text[digits_end..].strip_prefix(':') {
        Some(rest) => (Number::from_digits(&text[..digits_end]), rest),
        None => (Number::default(), text),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(self.version.as_bytes(), other.version.as_bytes()))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

crate::version_type!(Version, "rpm versions (`[epoch:]version[-release]`)");

/// True for the bytes that separate segments: all but ASCII letters, digits, `~` and `^`.
fn is_separator(byte: u8) -> bool {
    !byte.is_ascii_alphanumeric() && byte != b'~' && byte != b'^'
}

/// rpm's `rpmvercmp` (rpm 4.15 and later, with `^`).
fn rpmvercmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    loop {
        a = skip_separators(a);
        b = skip_separators(b);
        match (a.first().copied(), b.first().copied()) {
            // `~` (pre-release) sorts before everything, the end included.
            (Some(b'~'), Some(b'~')) | (Some(b'^'), Some(b'^')) => {
                (a, b) = (&a[1..], &b[1..]);
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            // `^` (post-release) sorts after the end, before anything else.
            (Some(b'^'), None) | (Some(_), Some(b'^')) => return Ordering::Greater,
            (None, Some(b'^')) | (Some(b'^'), Some(_)) => return Ordering::Less,
            (None, _) | (_, None) => break,
            (Some(_), Some(_)) => {}
        }
        let (ordering, a_rest, b_rest) = compare_segment(a, b);
        if ordering != Ordering::Equal {
            return ordering;
        }
        (a, b) = (a_rest, b_rest);
    }
    // Equal so far: whichever still has characters left wins.
    (!a.is_empty()).cmp(&(!b.is_empty()))
}

fn skip_separators(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|&c| !is_separator(c)).unwrap_or(text.len());
    &text[start..]
}

/// Compares the leading segment of `a` (all digits or all letters; `a` starts with one) with a
/// segment of the same kind from `b`, returning the rests after them.
fn compare_segment<'a, 'b>(a: &'a [u8], b: &'b [u8]) -> (Ordering, &'a [u8], &'b [u8]) {
    let numeric = a[0].is_ascii_digit();
    let kind: fn(&u8) -> bool = if numeric {
        u8::is_ascii_digit
    } else {
        u8::is_ascii_alphabetic
    };
    let (a_seg, a_rest) = a.split_at(a.iter().take_while(|c| kind(c)).count());
    let (b_seg, b_rest) = b.split_at(b.iter().take_while(|c| kind(c)).count());
    let ordering = if b_seg.is_empty() {
        // Segments of different kinds: a number is newer than letters.
        if numeric {
            Ordering::Greater
        } else {
            Ordering::Less
        }
    } else if numeric {
        compare_digits(a_seg, b_seg)
    } else {
        a_seg.cmp(b_seg)
    };
    (ordering, a_rest, b_rest)
}

fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|&&c| c == b'0').count()..];
    let b = &b[b.iter().take_while(|&&c| c == b'0').count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    #[test]
    fn tilde_is_a_pre_release() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1", "1.0~rc2"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1~git123", "1.0~rc1"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1", "1.0arc1"), Ordering::Less);
    }

    #[test]
    fn caret_is_a_post_release_below_the_next_version() {
        assert_eq!(cmp("1.0^", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^git1", "1.0^git2"), Ordering::Less);
        assert_eq!(cmp("1.0^git1", "1.01"), Ordering::Less);
        assert_eq!(cmp("1.0^20160101", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1.0~rc1^git1", "1.0~rc1"), Ordering::Greater);
        assert_eq!(cmp("1.0^git1~pre", "1.0^git1"), Ordering::Less);
    }

    #[test]
    fn epochs_come_first_and_only_digits_before_a_colon_make_one() {
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("01:2", "1:2"), Ordering::Equal);
        assert_eq!(cmp("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(cmp("184:2", "177:5"), Ordering::Greater);
        // Not an epoch: compared as part of the version.
        assert_eq!(cmp("a:1", "b:1"), Ordering::Less);
        assert_eq!(cmp("1.m+e2:1", "4.m+e1:1"), Ordering::Less);
        let v: Version = "2:1.0-3.el9-x".parse().expect("valid");
        assert_eq!((v.version(), v.release()), ("1.0-3.el9", Some("x")));
    }

    #[test]
    fn segments_numbers_beat_letters_and_separators_only_separate() {
        assert_eq!(cmp("1.0a", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("2.0.1a", "2.0.1"), Ordering::Greater);
        assert_eq!(cmp("10.0001", "10.1"), Ordering::Equal);
        assert_eq!(cmp("2_0", "2.0"), Ordering::Equal);
        assert_eq!(cmp("xyz.4", "8"), Ordering::Less);
        assert_eq!(cmp("0:3.10.0-229.el7", "0:3.10.0-229.1.2.ael7b"), Ordering::Less);
    }

    #[test]
    fn a_missing_release_sorts_first() {
        assert_eq!(cmp("1", "1-0"), Ordering::Less);
        assert_eq!(cmp("1", "1-"), Ordering::Less);
        assert_eq!(cmp("1-1.", "1-1"), Ordering::Equal);
    }

    #[test]
    fn non_ascii_bytes_separate_like_punctuation() {
        assert_eq!(cmp("1.1.α", "1.1.ββ"), Ordering::Equal);
        assert_eq!(cmp("1.1.α", "1.1.a"), Ordering::Less);
    }

    #[test]
    fn only_an_empty_version_is_invalid() {
        assert!(compare("", "1").is_err());
        assert!(compare("1", " \t").is_err());
        assert_eq!(cmp("-", "-"), Ordering::Equal);
    }
}
