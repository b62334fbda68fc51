//! Go versions: module versions (`v1.2.3`, `v2.0.0+incompatible`, pseudo-versions such as
//! `v0.0.0-20191109021931-daa7c04131f5`) and toolchain versions (`go1.21.3`, `1.21rc1`, `1.22`).
//!
//! Module versions are semantic versions ([`crate::semver`]): a pseudo-version is a pre-release,
//! so it sorts before the release it precedes, and `+incompatible` is build metadata.
//!
//! Toolchain versions follow the `go/version` package: `1.21` is the language version and sorts
//! before its release candidates, which sort before `1.21.0`; before Go 1.21, `1.20` and
//! `1.20.0` are the same release. A `-suffix` after a `go` version (`go1.21.0-bigcorp`) is
//! ignored. To compare both kinds with one order, a toolchain version is mapped onto the
//! semantic version that the Go vulnerability database uses for it: `1.21.3` is `1.21.3`,
//! `1.21rc1` is `1.21.0-rc.1`, and the language version `1.21` is `1.21.0-0`, the first
//! possible pre-release of 1.21.0. This keeps `go/version`'s order among toolchains.
//!
//! The kind is decided by the text: `go…` is a toolchain version; so is text without a leading
//! `v` that fits the toolchain grammar with fewer than three numbers (`1.22`, `1.21rc1`);
//! everything else is a module version. (With three numbers both readings agree.)

use crate::semver::{self, Identifier};
use crate::{split_while, Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Which kind of Go version the text was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A module version (semver, possibly a pseudo-version).
    Module,
    /// A Go toolchain or language version.
    Toolchain,
}

/// A parsed Go version. Equality is the ordering's (`go1.20` equals `v1.20.0`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    kind: Kind,
    /// The semantic version the ordering uses.
    key: semver::Version,
}

impl Version {
    /// Whether the text was a module or a toolchain version.
    pub fn kind(&self) -> Kind {
        self.kind
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("go") {
            let name = rest.split('-').next().unwrap_or(rest);
            let toolchain = Toolchain::parse(name)
                .ok_or_else(|| VersionError::invalid(Ecosystem::Go, text, "not a Go toolchain version"))?;
            return Ok(toolchain.into_version(text));
        }
        if !trimmed.starts_with('v') {
            if let Some(toolchain) = Toolchain::parse(trimmed).filter(|t| t.patch.is_none()) {
                return Ok(toolchain.into_version(text));
            }
        }
        Ok(Version {
            kind: Kind::Module,
            key: semver::Version::parse_as(text, Ecosystem::Go)?,
        })
    }
}

/// `go/version`'s grammar: `major[.minor[.patch]]` or `major.minor<kind>[n]` (`1.21rc2`),
/// numbers without leading zeros.
#[derive(Debug, PartialEq, Eq)]
struct Toolchain<'t> {
    major: &'t str,
    minor: Option<&'t str>,
    patch: Option<&'t str>,
    /// The pre-release kind (`alpha`, `beta`, `rc`) and its number.
    pre: Option<(&'t str, Option<&'t str>)>,
}

impl<'t> Toolchain<'t> {
    fn parse(text: &'t str) -> Option<Toolchain<'t>> {
        let (major, rest) = cut_number(text)?;
        let mut toolchain = Toolchain {
            major,
            minor: None,
            patch: None,
            pre: None,
        };
        if rest.is_empty() {
            return Some(toolchain);
        }
        let (minor, rest) = cut_number(rest.strip_prefix('.')?)?;
        toolchain.minor = Some(minor);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (patch, rest) = cut_number(after_dot)?;
            toolchain.patch = Some(patch);
            return rest.is_empty().then_some(toolchain);
        }
        if !rest.is_empty() {
            toolchain.pre = Some(parse_pre(rest)?);
        }
        Some(toolchain)
    }

    /// The semantic version with the same place in the order (see the module documentation).
    fn into_version(self, original: &str) -> Version {
        let minor = self.minor.unwrap_or("0");
        let pre = match (self.patch, self.pre) {
            (Some(_), _) => Vec::new(),
            (None, Some((kind, number))) => {
                let mut pre = vec![Identifier::Word(kind.to_string())];
                pre.extend(number.map(Identifier::numeric));
                pre
            }
            // Before 1.21, `1.N` was the first release itself.
            (None, None) if self.minor.is_none() || Number::from_digits(minor) < go1_21() => Vec::new(),
            (None, None) => vec![Identifier::numeric("0")],
        };
        let patch = self.patch.unwrap_or("0");
        Version {
            kind: Kind::Toolchain,
            key: semver::Version::from_parts(original, [self.major, minor, patch], pre),
        }
    }
}

/// The minor version from which `1.N` names the language version, not a release.
fn go1_21() -> Number {
    Number::from_digits("21")
}

/// A decimal number without leading zeros at the start of `text`, and the rest.
fn cut_number(text: &str) -> Option<(&str, &str)> {
    let (digits, rest) = split_while(text, |c| c.is_ascii_digit());
    let valid = !digits.is_empty() && (digits == "0" || !digits.starts_with('0'));
    valid.then_some((digits, rest))
}

/// `<lowercase letters>[number]`, the whole of `text`.
fn parse_pre(text: &str) -> Option<(&str, Option<&str>)> {
    let (kind, rest) = split_while(text, |c| c.is_ascii_lowercase());
    if kind.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some((kind, None));
    }
    match cut_number(rest)? {
        (number, "") => Some((kind, Some(number))),
        _ => None,
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.key.cmp(&other.key)
    }
}

crate::equality_from_ord!(Version);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.key.fmt(f)
    }
}

/// Compares two Go versions (module or toolchain, decided for each by its text).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    crate::compare_parsed::<Version>(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    fn kind(text: &str) -> Kind {
        text.parse::<Version>().expect("valid").kind()
    }

    #[test]
    fn toolchains_sort_as_go_version_compare_does() {
        // The example of go/version.Compare.
        let mut versions = ["go1.21.0", "go1.9", "go1.21", "go1.21rc1", "go1.10"]
            .map(|v| v.parse::<Version>().expect("valid"));
        versions.sort();
        let sorted = versions.map(|v| v.to_string());
        assert_eq!(sorted, ["go1.9", "go1.10", "go1.21", "go1.21rc1", "go1.21.0"]);
    }

    #[test]
    fn language_versions_and_release_candidates() {
        assert_eq!(cmp("1.21rc1", "1.21.0"), Ordering::Less);
        assert_eq!(cmp("go1.21", "1.21rc1"), Ordering::Less);
        assert_eq!(cmp("go1.21rc1", "go1.21rc2"), Ordering::Less);
        assert_eq!(cmp("go1.21beta1", "go1.21rc1"), Ordering::Less);
        assert_eq!(cmp("go1.20", "go1.20.0"), Ordering::Equal);
        assert_eq!(cmp("go1.20rc1", "go1.20"), Ordering::Less);
        assert_eq!(cmp("1.22", "1.22.0"), Ordering::Less);
        assert_eq!(cmp("go1", "go1.0.0"), Ordering::Equal);
        assert_eq!(cmp("go1.21.0-bigcorp", "go1.21.0"), Ordering::Equal);
        assert_eq!(cmp("go1.19.3", "go1.100"), Ordering::Less);
    }

    #[test]
    fn toolchains_and_the_vulnerability_database_semvers_agree() {
        assert_eq!(cmp("go1.21", "v1.21.0-0"), Ordering::Equal);
        assert_eq!(cmp("go1.21rc1", "1.21.0-rc.1"), Ordering::Equal);
        assert_eq!(cmp("go1.21.3", "v1.21.3"), Ordering::Equal);
        assert_eq!(cmp("go1.20.7", "v1.21.0-0"), Ordering::Less);
    }

    #[test]
    fn pseudo_versions_are_pre_releases() {
        let pseudo = "v0.0.0-20191109021931-daa7c04131f5";
        assert_eq!(cmp(pseudo, "v0.0.0"), Ordering::Less);
        assert_eq!(cmp(pseudo, "v0.0.0-20200101000000-000000000000"), Ordering::Less);
        // vX.Y.(Z+1)-0.timestamp-hash follows vX.Y.Z and precedes vX.Y.(Z+1).
        let after = "v1.2.4-0.20191109021931-daa7c04131f5";
        assert_eq!(cmp("v1.2.3", after), Ordering::Less);
        assert_eq!(cmp(after, "v1.2.4"), Ordering::Less);
        assert_eq!(
            cmp("v1.2.4-pre.0.20191109021931-daa7c04131f5", "v1.2.4-pre"),
            Ordering::Greater
        );
    }

    #[test]
    fn incompatible_is_build_metadata() {
        assert_eq!(cmp("v2.0.0+incompatible", "v2.0.0"), Ordering::Equal);
        assert_eq!(cmp("v2.0.0+incompatible", "v2.0.1+incompatible"), Ordering::Less);
    }

    #[test]
    fn the_kind_is_read_from_the_text() {
        assert_eq!(kind("go1.21.3"), Kind::Toolchain);
        assert_eq!(kind("1.21rc1"), Kind::Toolchain);
        assert_eq!(kind("1.22"), Kind::Toolchain);
        assert_eq!(kind("1.2.3"), Kind::Module);
        assert_eq!(kind("v1.22"), Kind::Module);
        assert_eq!(kind("v1.2.3-rc.1"), Kind::Module);
    }

    #[test]
    fn malformed_versions_are_errors() {
        for bad in [
            "go",
            "go1.",
            "go01.2",
            "go1.21.3rc1",
            "go1.21rc1x",
            "gox",
            "v",
            "1.2.3_4",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should be invalid");
        }
    }
}
