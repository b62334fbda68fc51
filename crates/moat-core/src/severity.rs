use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is, from [`Severity::Unknown`] (no rating in the data) up to
/// [`Severity::Critical`]; ordered, so `>= Severity::High` selects HIGH and CRITICAL.
/// Written in upper case (`HIGH`), as Trivy writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// The data gives no rating.
    Unknown,
    /// CVSS 0.1–3.9, or the ecosystem's "low"/"unimportant".
    Low,
    /// CVSS 4.0–6.9, or "moderate"/"medium".
    Medium,
    /// CVSS 7.0–8.9, or "high"/"important".
    High,
    /// CVSS 9.0–10.0, or "critical".
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The upper-case name (`HIGH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The qualitative rating of a CVSS base score (the same bands in v3.x and v4.0); a score
    /// of 0.0 ("None") is [`Severity::Unknown`].
    pub fn from_cvss_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// Reads an ecosystem's own word for a rating: GitHub's `MODERATE`, Red Hat's `Important`,
    /// Debian's `unimportant`, Ubuntu's `negligible`; `None` for words that say nothing.
    pub fn from_ecosystem_word(word: &str) -> Option<Severity> {
        let severity = match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "unimportant" | "negligible" | "minor" => Severity::Low,
            _ => return None,
        };
        Some(severity)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a severity name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSeverity(pub String);

impl fmt::Display for UnknownSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity {:?} (use UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSeverity {}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Case-insensitive: `high`, `HIGH` and `High` are the same.
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_bands() {
        assert_eq!(Severity::from_cvss_score(0.0), Severity::Unknown);
        assert_eq!(Severity::from_cvss_score(0.1), Severity::Low);
        assert_eq!(Severity::from_cvss_score(3.9), Severity::Low);
        assert_eq!(Severity::from_cvss_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
        assert_eq!(Severity::from_cvss_score(8.9), Severity::High);
        assert_eq!(Severity::from_cvss_score(9.0), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(10.0), Severity::Critical);
    }

    #[test]
    fn names_round_trip_and_order() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
            assert_eq!(severity.as_str().to_lowercase().parse::<Severity>(), Ok(severity));
        }
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn ecosystem_words() {
        assert_eq!(Severity::from_ecosystem_word("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_ecosystem_word("Important"), Some(Severity::High));
        assert_eq!(Severity::from_ecosystem_word("unimportant"), Some(Severity::Low));
        assert_eq!(Severity::from_ecosystem_word("not yet assigned"), None);
    }
}
