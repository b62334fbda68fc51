//! PEP 440 versions (PyPI): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, ordered as the
//! `packaging` library orders them, with its pre-PEP 440 "legacy" versions for the rest.
//!
//! Written by hand rather than with `pep440_rs`, which the conformance vectors rule out: it
//! refuses legacy versions (`0.1-bulbasaur`, `2013-01-21T20:33:09+0100`), which PyPI advisories
//! still list and which `packaging` before 22.0 ordered, and it keeps numbers in a `u64`. The
//! grammar is the regular expression of PEP 440's appendix B, read by a small scanner:
//!
//! - Case, surrounding whitespace and a leading `v` are ignored.
//! - Alternate spellings are normalised: `alpha` is `a`, `beta` is `b`, `c`, `pre` and
//!   `preview` are `rc`, `rev` and `r` are `post`; `1.0-1` is `1.0.post1`; a missing number
//!   is 0 (`1.0a` is `1.0a0`); `.`, `-` or `_` may separate the parts.
//! - The epoch comes first; trailing zeros of the release do not count (`1.0 = 1.0.0`).
//! - Then `dev < pre < final < post`: a version that is only a development release of its
//!   release sorts before all its pre-releases (`1.0.dev1 < 1.0a1`), a pre-release sorts before
//!   its release, a post-release after it; within each, the development number comes last
//!   (`1.0a1.dev1 < 1.0a1`).
//! - A local version sorts after the same version without one; local segments compare one by
//!   one, numbers numerically and above words (`1.0+local.a < 1.0+local.1`), a longer list
//!   wins when the shorter is its prefix.
//!
//! Text that is not PEP 440 is a legacy version (setuptools' scheme): it sorts before every
//! PEP 440 version, and legacy versions compare by their parts — digit runs padded to 8
//! digits, letter runs, `-` as `final-`, and the rest — exactly as `packaging`'s
//! `LegacyVersion` does, text comparison included.

use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// A parsed PyPI version. Equality is the ordering's (`1.0 = 1.0.0 = v1.0`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    scheme: Scheme,
}

/// Legacy versions sort before PEP 440 ones (`packaging` gives them epoch -1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scheme {
    /// The comparison key of `packaging`'s `LegacyVersion`.
    Legacy(Vec<String>),
    /// A PEP 440 version.
    Pep440(Pep440),
}

/// The parts of a PEP 440 version, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pep440 {
    epoch: Number,
    /// Without trailing zeros.
    release: Vec<Number>,
    pre: Option<(PreLabel, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    /// `None` without a `+local` part.
    local: Option<Vec<LocalSegment>>,
}

/// The pre-release phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreLabel {
    Alpha,
    Beta,
    Rc,
}

/// A segment of a local version label; the variants are in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    /// Letters and digits, compared as lowercase text.
    Word(String),
    /// Only digits, compared numerically.
    Number(Number),
}

/// Where the pre-release part puts a version among its release's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'v> {
    /// A development release of the release itself (`1.0.dev1`): before every pre-release.
    DevOfRelease,
    /// A pre-release.
    Pre(&'v (PreLabel, Number)),
    /// No pre-release.
    Final,
}

/// Where the development part puts a version; the variants are in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey<'v> {
    Dev(&'v Number),
    None,
}

/// Everything that orders a PEP 440 version, in order of importance (`packaging`'s `_cmpkey`).
type Key<'v> = (
    &'v Number,
    &'v [Number],
    PreKey<'v>,
    Option<&'v Number>,
    DevKey<'v>,
    Option<&'v [LocalSegment]>,
);

impl Pep440 {
    fn key(&self) -> Key<'_> {
        let pre = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => PreKey::DevOfRelease,
            (Some(pre), _, _) => PreKey::Pre(pre),
            (None, _, _) => PreKey::Final,
        };
        let dev = self.dev.as_ref().map_or(DevKey::None, DevKey::Dev);
        (
            &self.epoch,
            &self.release,
            pre,
            self.post.as_ref(),
            dev,
            self.local.as_deref(),
        )
    }
}

impl Ord for Pep440 {
    fn cmp(&self, other: &Pep440) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Pep440) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Reads a PEP 440 version, or else a legacy one; only empty text is refused.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        if text.trim().is_empty() {
            return Err(VersionError::invalid(
                Ecosystem::Pep440,
                text,
                "the version is empty",
            ));
        }
        let scheme = match parse_pep440(text) {
            Some(version) => Scheme::Pep440(version),
            None => Scheme::Legacy(legacy_key(text)),
        };
        Ok(Version {
            original: text.to_string(),
            scheme,
        })
    }
}

impl Version {
    /// True when the text follows PEP 440 (false for a legacy version).
    pub fn is_pep440(&self) -> bool {
        matches!(self.scheme, Scheme::Pep440(_))
    }

    /// True for a pre-release or development release (`1.0a1`, `1.0.dev0`, `1.0.post1.dev2`).
    pub fn is_prerelease(&self) -> bool {
        match &self.scheme {
            Scheme::Pep440(v) => v.pre.is_some() || v.dev.is_some(),
            Scheme::Legacy(_) => false,
        }
    }
}

/// A cursor over the lowercased text, for the PEP 440 grammar.
struct Scanner<'t> {
    rest: &'t str,
}

impl<'t> Scanner<'t> {
    /// Consumes `prefix` if the text starts with it.
    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes one of `.`, `-` or `_`, if there.
    fn eat_separator(&mut self) -> bool {
        self.eat(".") || self.eat("-") || self.eat("_")
    }

    /// Consumes a run of ASCII digits, if any.
    fn digits(&mut self) -> Option<&'t str> {
        let (digits, rest) = split_while(self.rest, |c| c.is_ascii_digit());
        if digits.is_empty() {
            return None;
        }
        self.rest = rest;
        Some(digits)
    }

    /// Consumes the first of `words` the text starts with (longest spellings first, so that
    /// `alpha` is not read as `a` followed by `lpha`).
    fn word<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        let (word, value) = words.iter().find(|(w, _)| self.rest.starts_with(w))?;
        self.rest = &self.rest[word.len()..];
        Some(*value)
    }

    /// An optional part: `[-_.]?` + one of `words` + `[-_.]?` + optional digits (missing: 0).
    /// Restores the position when no word follows. A separator after the word is taken even
    /// without digits after it (`1.0a.` is `1.0a0`), as the regular expression takes it: every
    /// later part starts with an optional separator, so taking it never makes one fail.
    fn labelled<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<(T, Number)> {
        let start = self.rest;
        self.eat_separator();
        let Some(label) = self.word(words) else {
            self.rest = start;
            return None;
        };
        self.eat_separator();
        let number = self.digits().map(Number::from_digits).unwrap_or_default();
        Some((label, number))
    }
}

const PRE_WORDS: &[(&str, PreLabel)] = &[
    ("preview", PreLabel::Rc),
    ("alpha", PreLabel::Alpha),
    ("beta", PreLabel::Beta),
    ("pre", PreLabel::Rc),
    ("rc", PreLabel::Rc),
    ("a", PreLabel::Alpha),
    ("b", PreLabel::Beta),
    ("c", PreLabel::Rc),
];
const POST_WORDS: &[(&str, ())] = &[("post", ()), ("rev", ()), ("r", ())];
const DEV_WORDS: &[(&str, ())] = &[("dev", ())];

/// Reads `text` with PEP 440's grammar; `None` when it does not fit.
fn parse_pep440(text: &str) -> Option<Pep440> {
    let lower = text.trim().to_lowercase();
    let mut s = Scanner {
        rest: lower.strip_prefix('v').unwrap_or(&lower),
    };
    let (epoch, release) = parse_epoch_and_release(&mut s)?;
    let pre = s.labelled(PRE_WORDS);
    let post = parse_post(&mut s);
    let dev = s.labelled(DEV_WORDS).map(|((), n)| n);
    let local = if s.eat("+") {
        Some(parse_local(s.rest)?)
    } else if s.rest.is_empty() {
        None
    } else {
        return None;
    };
    Some(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// `[N!]N(.N)*`, with trailing zeros of the release dropped.
fn parse_epoch_and_release(s: &mut Scanner) -> Option<(Number, Vec<Number>)> {
    let first = s.digits()?;
    let (epoch, first) = if s.eat("!") {
        (Number::from_digits(first), s.digits()?)
    } else {
        (Number::default(), first)
    };
    let mut release = vec![Number::from_digits(first)];
    loop {
        let before = s.rest;
        if !s.eat(".") {
            break;
        }
        match s.digits() {
            Some(digits) => release.push(Number::from_digits(digits)),
            None => {
                s.rest = before;
                break;
            }
        }
    }
    while release.last() == Some(&Number::default()) {
        release.pop();
    }
    Some((epoch, release))
}

/// `-N` (an implicit post-release) or `[-_.]?{post|rev|r}[-_.]?[N]`.
fn parse_post(s: &mut Scanner) -> Option<Number> {
    let start = s.rest;
    if s.eat("-") {
        if let Some(digits) = s.digits() {
            return Some(Number::from_digits(digits));
        }
        s.rest = start;
    }
    s.labelled(POST_WORDS).map(|((), n)| n)
}

/// The label after `+`: `[a-z0-9]+([-_.][a-z0-9]+)*`.
fn parse_local(label: &str) -> Option<Vec<LocalSegment>> {
    label
        .split(['.', '-', '_'])
        .map(|segment| {
            if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_alphanumeric()) {
                None
            } else if segment.bytes().all(|b| b.is_ascii_digit()) {
                Some(LocalSegment::Number(Number::from_digits(segment)))
            } else {
                Some(LocalSegment::Word(segment.to_string()))
            }
        })
        .collect()
}

/// `packaging`'s `LegacyVersion` key: the lowercased text cut into digit runs, letter runs,
/// `.`, `-` and the text between them; then normalised and trimmed as setuptools did.
fn legacy_key(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut parts: Vec<String> = Vec::new();
    for token in legacy_tokens(&lower).chain(std::iter::once("final")) {
        let part = legacy_part(token);
        if part.starts_with('*') {
            // Remove a "-" before a pre-release tag, then trailing zeros of the numbers
            // before any tag.
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

/// One part of the legacy key: numbers padded to 8 digits for comparison as text, words
/// renamed and marked with `*`.
fn legacy_part(token: &str) -> String {
    let renamed = match token {
        "pre" | "preview" | "rc" => "c",
        "-" => "final-",
        "dev" => "@",
        other => other,
    };
    if renamed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{renamed:0>8}")
    } else {
        format!("*{renamed}")
    }
}

/// What Python's `re.split(r"(\d+|[a-z]+|\.|-)", text)` yields, without the empty strings
/// and the dots (which the legacy scheme skips).
fn legacy_tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        let first = rest.chars().next()?;
        let (token, after) = if first.is_ascii_digit() {
            split_while(rest, |c| c.is_ascii_digit())
        } else if first.is_ascii_lowercase() {
            split_while(rest, |c| c.is_ascii_lowercase())
        } else if first == '.' || first == '-' {
            rest.split_at(1)
        } else {
            split_while(rest, |c| {
                !(c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.' || c == '-')
            })
        };
        rest = after;
        if token != "." {
            return Some(token);
        }
    })
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.scheme.cmp(&other.scheme)
    }
}

crate::version_type!(Version, "PyPI versions");

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    fn assert_ascending(chain: &[&str]) {
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn the_pep_440_example_is_in_order() {
        assert_ascending(&[
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ]);
    }

    #[test]
    fn spellings_are_normalised() {
        for (a, b) in [
            ("1.0", "1.0.0.0"),
            ("v1.0", "1.0"),
            (" 1.0\n", "1.0"),
            ("1.0ALPHA1", "1.0a1"),
            ("1.0-beta.2", "1.0b2"),
            ("1.0_c_3", "1.0rc3"),
            ("1.0pre", "1.0rc0"),
            ("1.0preview4", "1.0rc4"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev", "1.0.post0"),
            ("1.0r2", "1.0.post2"),
            ("1.0-post_3", "1.0.post3"),
            ("1.0.DEV", "1.0.dev0"),
            ("1.0-dev-4", "1.0.dev4"),
            ("0!1.0", "1.0"),
            ("1.0+ABC", "1.0+abc"),
            ("1.0+a-b_c", "1.0+a.b.c"),
            ("1.0+07", "1.0+7"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn epochs_local_versions_and_big_numbers() {
        assert_ascending(&["2.0", "1!0.1", "2!0.0.dev0"]);
        assert_ascending(&["1.0", "1.0+a", "1.0+a.b", "1.0+a.0", "1.0+a.1", "1.0+0", "1.0+1"]);
        assert_ascending(&["1.99999999999999999999", "1.100000000000000000000"]);
    }

    #[test]
    fn legacy_versions_sort_before_pep_440_and_among_themselves() {
        assert_ascending(&["0.1-bulbasaur", "0.1-charmander", "0.9-doduo", "0.0.0.1"]);
        assert_ascending(&[
            "1.0.x-dev",
            "1.0.x-alpha",
            "1.0.x-rc",
            "1.0.x",
            "1.0.x-foo",
            "1.0.y",
        ]);
        assert_ascending(&["french toast", "trunk"]);
        assert_eq!(cmp("1.0.x-pre", "1.0.x-c"), Ordering::Equal);
        assert_eq!(legacy_key("1.0-pre3"), ["00000001", "*c", "00000003", "*final"]);
        assert_eq!(
            legacy_key("2013-01-21T20:33:09+0100"),
            [
                "00002013", "*final-", "00000001", "*final-", "00000021", "*t", "00000020", "*:", "00000033",
                "*:", "00000009", "*+", "00000100", "*final"
            ]
        );
        let legacy: Version = "2013-01-21T20:33:09+0100".parse().expect("legacy");
        assert!(!legacy.is_pep440());
        assert!("1.0.post1".parse::<Version>().expect("valid").is_pep440());
    }

    #[test]
    fn prerelease_and_empty() {
        let pre = |v: &str| v.parse::<Version>().expect("valid").is_prerelease();
        assert!(pre("1.0a1") && pre("1.0.dev0") && pre("1.0.post1.dev2"));
        assert!(!pre("1.0.post1") && !pre("1.0+dev"));
        assert!(compare("", "1.0").is_err());
        assert!(compare("1.0", " ").is_err());
    }

    #[test]
    fn the_scanner_backs_off_separators_it_cannot_use() {
        // `1.0a.dev1`: the `.` after `a` belongs to the dev part.
        assert_eq!(cmp("1.0a.dev1", "1.0a0.dev1"), Ordering::Equal);
        // A separator after a label needs no number: `1.0a.` is `1.0a0`.
        assert_eq!(cmp("1.0a.", "1.0a0"), Ordering::Equal);
        assert_eq!(cmp("1.0.post-", "1.0.post0"), Ordering::Equal);
        // `1.0-` and `1.0.` are not PEP 440.
        assert!(!"1.0-".parse::<Version>().expect("legacy").is_pep440());
        assert!(!"1.0.".parse::<Version>().expect("legacy").is_pep440());
        assert!(!"1.0+".parse::<Version>().expect("legacy").is_pep440());
        assert!(!"1.0+a..b".parse::<Version>().expect("legacy").is_pep440());
    }
}
