//! Version comparison, one module per ecosystem, each following that ecosystem's own rules
//! (dpkg's `~` and epochs, rpmvercmp, apk suffixes, semver pre-releases, Go pseudo-versions and
//! toolchains, PEP 440 with legacy versions, Maven's `ComparableVersion`, `Gem::Version`, NuGet,
//! PHP's `version_compare` for Composer).
//!
//! Every module exposes `compare(a, b) -> Result<Ordering, VersionError>`; [`compare`] picks the
//! module from an [`Ecosystem`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The version schemes Moat compares. Several advisory ecosystems share one scheme (Debian and
/// Ubuntu use dpkg's; Red Hat, Rocky, Alma, Amazon, SUSE use rpm's; npm, crates.io use semver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// dpkg versions: Debian, Ubuntu.
    Dpkg,
    /// rpm versions (rpmvercmp with epochs): Red Hat, Rocky, Alma, CentOS, Fedora, Amazon, SUSE.
    Rpm,
    /// apk versions: Alpine, Wolfi, Chainguard.
    Apk,
    /// Semantic Versioning 2.0 as npm and crates.io apply it.
    Semver,
    /// Go modules: semver with a `v` prefix, pseudo-versions, `go1.21.3` toolchains.
    Go,
    /// PEP 440 (PyPI), with pre-PEP 440 "legacy" versions before every PEP 440 one.
    Pep440,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// NuGet: SemVer 2.0 with up to four numbers and case-insensitive pre-release labels.
    NuGet,
    /// Composer (Packagist): PHP's `version_compare` on the version without a leading `v`.
    Composer,
}

impl Ecosystem {
    /// Every scheme, for listings and tests.
    pub const ALL: [Ecosystem; 10] = [
        Ecosystem::Dpkg,
        Ecosystem::Rpm,
        Ecosystem::Apk,
        Ecosystem::Semver,
        Ecosystem::Go,
        Ecosystem::Pep440,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Composer,
    ];

    /// The short name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Apk => "apk",
            Ecosystem::Semver => "semver",
            Ecosystem::Go => "go",
            Ecosystem::Pep440 => "pep440",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "rubygems",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Composer => "composer",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = VersionError;

    /// Accepts the short names, OSV ecosystem names (`Debian`, `PyPI`, `crates.io`, `Rocky Linux`,
    /// with or without a `:release` suffix) and package types (`deb`, `cargo`, `go-module`).
    fn from_str(s: &str) -> Result<Ecosystem, VersionError> {
        let base = s.split(':').next().unwrap_or(s).trim().to_ascii_lowercase();
        let ecosystem = match base.as_str() {
            "dpkg" | "deb" | "debian" | "ubuntu" => Ecosystem::Dpkg,
            "rpm" | "redhat" | "red hat" | "rocky linux" | "almalinux" | "centos" | "fedora" | "amazon"
            | "amazon linux" | "suse" | "opensuse" | "sles" | "mageia" | "openeuler" => Ecosystem::Rpm,
            "apk" | "alpine" | "wolfi" | "chainguard" | "alpaquita" => Ecosystem::Apk,
            "semver" | "npm" | "crates.io" | "cargo" | "rust-crate" | "hex" | "swifturl" => Ecosystem::Semver,
            "go" | "golang" | "go-module" => Ecosystem::Go,
            "pep440" | "pypi" | "python" | "pip" => Ecosystem::Pep440,
            "maven" | "java" | "java-archive" => Ecosystem::Maven,
            "rubygems" | "gem" | "ruby" => Ecosystem::RubyGems,
            "nuget" | "dotnet" => Ecosystem::NuGet,
            "composer" | "packagist" | "php" => Ecosystem::Composer,
            _ => return Err(VersionError::UnknownEcosystem(s.to_string())),
        };
        Ok(ecosystem)
    }
}

/// A version string that an ecosystem's rules cannot read, or an unknown ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The string is not a valid version in that ecosystem.
    #[error("invalid {ecosystem} version {version:?}: {reason}")]
    Invalid {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// The version as given.
        version: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No comparator for that ecosystem name.
    #[error("unknown ecosystem {0:?}")]
    UnknownEcosystem(String),
}

impl VersionError {
    /// An [`VersionError::Invalid`] for `version` under `ecosystem`.
    pub fn invalid(ecosystem: Ecosystem, version: &str, reason: impl Into<String>) -> VersionError {
        VersionError::Invalid {
            ecosystem,
            version: version.to_string(),
            reason: reason.into(),
        }
    }
}

/// Compares two versions under `ecosystem`'s rules.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match ecosystem {
        Ecosystem::Dpkg => dpkg::compare(a, b),
        Ecosystem::Rpm => rpm::compare(a, b),
        Ecosystem::Apk => apk::compare(a, b),
        Ecosystem::Semver => semver::compare(a, b),
        Ecosystem::Go => go::compare(a, b),
        Ecosystem::Pep440 => pep440::compare(a, b),
        Ecosystem::Maven => maven::compare(a, b),
        Ecosystem::RubyGems => rubygems::compare(a, b),
        Ecosystem::NuGet => nuget::compare(a, b),
        Ecosystem::Composer => composer::compare(a, b),
    }
}

/// An unsigned decimal number of any length, kept as its digits without leading zeros so that
/// the derived-by-hand `Ord` is numeric order. Version schemes put dates and other long digit
/// runs in numeric fields (`1.0_pre20191002222144`, `999999999999999999999999999991`), which
/// would overflow a fixed-width integer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Number(String);

impl Number {
    /// The number written as `digits`, which holds only ASCII digits (empty reads as zero).
    pub(crate) fn from_digits(digits: &str) -> Number {
        Number(digits.trim_start_matches('0').to_string())
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        // Without leading zeros, the longer number is the larger; equal lengths compare digit
        // by digit, which byte order does for ASCII digits.
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Splits `text` after its longest prefix of characters that satisfy `pred` (always on a char
/// boundary, whatever the input).
pub(crate) fn split_while(text: &str, pred: impl Fn(char) -> bool) -> (&str, &str) {
    let end = text.find(|c: char| !pred(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// Derives `PartialOrd`, `PartialEq` and `Eq` from a type's hand-written `Ord`: versions that
/// order equal are equal (`1.0` and `0:1.0-0` in dpkg), which `#[derive]` would not give.
macro_rules! equality_from_ord {
    ($type:ty) => {
        impl PartialOrd for $type {
            fn partial_cmp(&self, other: &$type) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $type {
            fn eq(&self, other: &$type) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $type {}
    };
}
pub(crate) use equality_from_ord;

/// For a version type that keeps its text in `original`: equality from `Ord`
/// ([`equality_from_ord`]), `Display` as the text it was parsed from, and the module's
/// `compare(a, b)` over two strings.
macro_rules! version_type {
    ($type:ty, $what:literal) => {
        $crate::equality_from_ord!($type);
        $crate::displayed_as_original!($type);

        #[doc = concat!("Compares two ", $what, ".")]
        pub fn compare(a: &str, b: &str) -> Result<std::cmp::Ordering, $crate::VersionError> {
            $crate::compare_parsed::<$type>(a, b)
        }
    };
}
pub(crate) use version_type;

/// `Display` as the parsed text (`original`); with [`equality_from_ord`], the version types
/// whose `compare` is not `Ord` (Maven's and PHP's pairwise answers) use it alone.
macro_rules! displayed_as_original {
    ($type:ty) => {
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.original)
            }
        }
    };
}
pub(crate) use displayed_as_original;

/// Parses both strings as `V` and compares them.
fn compare_parsed<V: FromStr<Err = VersionError> + Ord>(a: &str, b: &str) -> Result<Ordering, VersionError> {
    compare_parsed_by(a, b, V::cmp)
}

/// Parses both strings as `V` and compares them with `order`.
fn compare_parsed_by<V: FromStr<Err = VersionError>>(
    a: &str,
    b: &str,
    order: fn(&V, &V) -> Ordering,
) -> Result<Ordering, VersionError> {
    Ok(order(&a.parse::<V>()?, &b.parse::<V>()?))
}

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;
pub mod vectors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_by_value_at_any_length() {
        let n = Number::from_digits;
        assert_eq!(n("007"), n("7"));
        assert_eq!(n(""), n("000"));
        assert!(n("10") > n("9"));
        assert!(n("100000000000000000000000000000") > n("99999999999999999999999999999"));
    }

    #[test]
    fn split_while_stays_on_char_boundaries() {
        assert_eq!(split_while("12ab", |c| c.is_ascii_digit()), ("12", "ab"));
        assert_eq!(split_while("αβ1", |c| !c.is_ascii_digit()), ("αβ", "1"));
        assert_eq!(split_while("1α", |c| c.is_ascii_digit()), ("1", "α"));
    }
}
