//! Composer (Packagist) versions, ordered as PHP's `version_compare` orders them once a
//! leading `v` is dropped, which is how the Packagist advisories' versions are sorted.
//!
//! Written by hand: no Rust crate implements `version_compare`. This follows PHP's algorithm
//! (`ext/standard/versioning.c`), on bytes:
//!
//! - Canonicalisation: `-`, `_` and `+` become `.`; a `.` is put between a digit and a
//!   non-digit (`1.0rc1` is `1.0.rc.1`); other punctuation after a non-digit becomes `.`;
//!   consecutive dots collapse. The first character is kept as it is.
//! - Parts compare one by one: numbers numerically; words by their special form, matched as a
//!   case-sensitive prefix: `dev < alpha = a < beta = b < RC = rc < # < pl = p`, and any
//!   other word below `dev` (`1.0-stable < 1.0-dev`, `1.0-BETA < 1.0-dev`); a number counts
//!   as `#` against a word (`1.0rc1 < 1.0.1 < 1.0pl1`).
//! - When one version has more parts, a next part that is a number makes it the greater
//!   (`1.0.0 > 1.0`); otherwise its remaining parts compare against `#` (`1.0rc1 < 1.0`,
//!   `1.0pl1 > 1.0`). A trailing dot makes a version the lesser (`1. < 1`).
//!
//! That is, parts compare on one scale, the shorter version padded with a filler:
//! trailing dot < unknown word < `dev` < `alpha` < `beta` < `RC` < filler < numbers < `pl`.
//! Where PHP strays from a total order this module does not, since sorting relies on one:
//!
//! - `#` survives canonicalisation as a part equal to the filler (PHP turns it into a `.`):
//!   `1.2.3.# = 1.2.3`, `1.2.3.#.beta < 1.2.3`. PHP also calls `#` equal to a number, but
//!   `1.2.3.1 = 1.2.3.# = 1.2.3` together would make `1.2.3.1 = 1.2.3`; so `Ord` puts numbers
//!   above the filler (`1.2.3.# < 1.2.3.1`) while [`compare`], which decides one pair as PHP
//!   does ([`Version::php_order`]), says `1.2.3.# = 1.2.3.1`.
//! - PHP's answer for `1.` against `1.x` depends on which comes first; here `1. < 1.x`.
//! - Numbers have any length (PHP's `strtol` stops at `i64::MAX`).
//!
//! Composer's own `VersionParser::normalize` (four numbers, `-stable` dropped, `dev-` branch
//! names) is not applied: the vectors are `version_compare`'s, and they contradict it
//! (`1.0.0 > 1.0`). `dev-main` and other branch names still sort below every release, since
//! `dev` is the lowest special form.

use crate::{Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed Composer version. Equality is the ordering's (`1.0RC1 = 1.0.rc.1 = v1.0-RC1`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    /// The canonical text cut at its dots.
    parts: Vec<Part>,
    /// Which parts were a `#` word, which PHP finds equal to any number.
    hashes: Vec<bool>,
}

/// PHP's canonical form of `text`, as bytes (`php_canonicalize_version`, keeping `#`).
fn canonicalize(text: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = text.split_first() else {
        return Vec::new();
    };
    let is_digit = |b: u8| b.is_ascii_digit();
    let is_non_digit = |b: u8| !b.is_ascii_digit() && b != b'.';
    let mut out = vec![first];
    let mut previous = first;
    for &b in rest {
        let last_is_dot = out.last() == Some(&b'.');
        if matches!(b, b'-' | b'_' | b'+') {
            if !last_is_dot {
                out.push(b'.');
            }
        } else if (is_non_digit(previous) && is_digit(b)) || (is_digit(previous) && is_non_digit(b)) {
            if !last_is_dot {
                out.push(b'.');
            }
            out.push(b);
        } else if !b.is_ascii_alphanumeric() && b != b'#' {
            if !last_is_dot {
                out.push(b'.');
            }
        } else {
            out.push(b);
        }
        previous = b;
    }
    out
}

/// One part of a canonical version; the variants are in ascending order. Words compare by
/// the rank of their special form only (`alpha = a = alphabet`, `stable = BETA`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// An empty last part (`1.`): PHP puts `1.` below `1` and below `1.0`.
    TrailingDot,
    /// A word below the numbers: an unknown word (-1, also an empty first part), `dev` (0),
    /// `alpha`/`a` (1), `beta`/`b` (2), `RC`/`rc` (3).
    Word(i8),
    /// What a version that has run out of parts is padded with, and a word starting with `#`
    /// (PHP compares both as `#`).
    Filler,
    /// Digits, compared numerically.
    Number(Number),
    /// `pl`/`p`: above every number.
    Patch,
}

/// The rank of a word among PHP's special forms, matched as a case-sensitive prefix: -1 for
/// any other word.
fn special_form(part: &[u8]) -> i8 {
    const FORMS: [(&[u8], i8); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| part.starts_with(form))
        .map_or(-1, |(_, rank)| *rank)
}

impl Part {
    /// Reads one part of the canonical text; `last` says whether it ends the text.
    fn new(text: &[u8], last: bool) -> Part {
        if text.is_empty() && last {
            return Part::TrailingDot;
        }
        let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            // `strtol` reads the leading digits; canonical parts that start with a digit hold
            // only digits anyway.
            let digits = std::str::from_utf8(&text[..digits]).unwrap_or_default();
            return Part::Number(Number::from_digits(digits));
        }
        match special_form(text) {
            4 => Part::Filler,
            5 => Part::Patch,
            rank => Part::Word(rank),
        }
    }

    /// True for the parts that `version_compare` treats as words.
    fn is_prerelease(&self) -> bool {
        matches!(self, Part::Word(rank) if *rank >= 0)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Any non-empty text is a version; surrounding whitespace and leading `v`s and `V`s are
    /// ignored (as PHP's `ltrim($version, "vV")` before `version_compare`).
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        let stripped = trimmed.trim_start_matches(['v', 'V']);
        let body = if stripped.is_empty() { trimmed } else { stripped };
        if body.is_empty() {
            return Err(VersionError::invalid(
                Ecosystem::Composer,
                text,
                "the version is empty",
            ));
        }
        let canonical = canonicalize(body.as_bytes());
        let count = canonical.split(|&b| b == b'.').count();
        let parts = canonical
            .split(|&b| b == b'.')
            .enumerate()
            .map(|(i, part)| Part::new(part, i + 1 == count))
            .collect();
        let hashes = canonical
            .split(|&b| b == b'.')
            .map(|part| part.starts_with(b"#"))
            .collect();
        Ok(Version {
            original: text.to_string(),
            parts,
            hashes,
        })
    }
}

impl Version {
    /// True for a version with a `dev`, `alpha`/`a`, `beta`/`b` or `RC`/`rc` part, as a
    /// stability flag reads it (`1.0-dev`, `dev-main`, `2.0.0-RC1`).
    pub fn is_prerelease(&self) -> bool {
        self.parts.iter().any(Part::is_prerelease)
    }
}

impl Ord for Version {
    /// Part by part, the shorter version padded with [`Part::Filler`].
    fn cmp(&self, other: &Version) -> Ordering {
        let (a, b) = (&self.parts, &other.parts);
        (0..a.len().max(b.len()))
            .map(|i| {
                let filler = Part::Filler;
                a.get(i).unwrap_or(&filler).cmp(b.get(i).unwrap_or(&filler))
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

crate::equality_from_ord!(Version);

crate::displayed_as_original!(Version);

impl Version {
    /// PHP's own answer for this pair: as `Ord`, except that a `#` part equals any number
    /// (`1.2.3.# = 1.2.3.1`, while `1.2.3.# = 1.2.3 < 1.2.3.1`). Not transitive, so it is for
    /// deciding one pair, as range checks and the conformance vectors do; sorting uses `Ord`.
    pub fn php_order(&self, other: &Version) -> Ordering {
        let (a, b) = (&self.parts, &other.parts);
        let hash = |hashes: &[bool], i: usize| hashes.get(i).copied().unwrap_or(false);
        for i in 0..a.len().max(b.len()) {
            let filler = Part::Filler;
            let (x, y) = (a.get(i).unwrap_or(&filler), b.get(i).unwrap_or(&filler));
            let hash_against_number = (hash(&self.hashes, i) && matches!(y, Part::Number(_)))
                || (hash(&other.hashes, i) && matches!(x, Part::Number(_)));
            let ordering = match hash_against_number {
                true => Ordering::Equal,
                false => x.cmp(y),
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// Compares two Composer versions as PHP does for one pair (see [`Version::php_order`]).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    crate::compare_parsed_by(a, b, Version::php_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    fn canonical(text: &str) -> String {
        String::from_utf8_lossy(&canonicalize(text.as_bytes())).into_owned()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("1.0rc1"), "1.0.rc.1");
        assert_eq!(canonical("1.0-dev"), "1.0.dev");
        assert_eq!(canonical("1.0.0+bedrock-1.17"), "1.0.0.bedrock.1.17");
        assert_eq!(canonical("1.0__-1"), "1.0.1");
        assert_eq!(canonical("1.0~beta"), "1.0.~beta");
        assert_eq!(canonical("1.x~y"), "1.x.y");
        assert_eq!(canonical("-1"), "-.1");
        assert_eq!(canonical("1.2.3.#"), "1.2.3.#");
        assert_eq!(canonical("1.0."), "1.0.");
    }

    #[test]
    fn special_forms_in_order() {
        let chain = [
            "1.0-stable",
            "1.0-dev",
            "1.0alpha1",
            "1.0a2",
            "1.0b1",
            "1.0beta2",
            "1.0RC1",
            "1.0rc2",
            "1.0",
            "1.0.1",
            "1.0pl1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn extra_parts() {
        assert_eq!(cmp("1.0.0", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0.", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.2.3.#", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.2.3.#.p3", "1.2.3"), Ordering::Greater);
        assert_eq!(cmp("1.2.3.#.beta", "1.2.3"), Ordering::Less);
        assert_eq!(cmp("1.2.3.#.#.#", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.2.3.#.#.4", "1.2.3"), Ordering::Greater);
        // PHP's `=` for the pair; the sorting order keeps `1.2.3.# < 1.2.3.1`, or it would
        // make `1.2.3.1 = 1.2.3`.
        assert_eq!(cmp("1.2.3.#", "1.2.3.1"), Ordering::Equal);
        let (hash, one): (Version, Version) = ("1.2.3.#".parse().expect("v"), "1.2.3.1".parse().expect("v"));
        assert!(hash < one);
        // PHP answers both ways round here.
        assert_eq!(cmp("1.", "1.x"), Ordering::Less);
        assert_eq!(cmp("1.x", "1."), Ordering::Greater);
        assert_eq!(cmp("dev-main", "0.0.1"), Ordering::Less);
    }

    #[test]
    fn leading_v_case_and_big_numbers() {
        assert_eq!(cmp("v1.0.0", "V1.0.0"), Ordering::Equal);
        assert_eq!(cmp("v10", "2"), Ordering::Greater);
        assert_eq!(cmp("1.0RC1", "1.0rc1"), Ordering::Equal);
        assert_eq!(cmp("1.0Beta", "1.0beta"), Ordering::Less);
        assert_eq!(
            cmp("999999999999999999999999999991", "999999999999999999999999999999"),
            Ordering::Less
        );
        assert_eq!(cmp("v", "v"), Ordering::Equal);
        assert!(compare("", "1").is_err());
    }

    #[test]
    fn prerelease_flag() {
        let pre = |v: &str| v.parse::<Version>().expect("valid").is_prerelease();
        assert!(pre("1.0-dev") && pre("dev-main") && pre("2.0.0-RC1") && pre("1.0a1"));
        assert!(!pre("1.0") && !pre("1.0pl1") && !pre("1.0-stable"));
    }
}
