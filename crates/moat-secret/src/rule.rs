//! Compiled rules and allow-lists.

use aho_corasick::AhoCorasick;
use moat_core::Severity;
use regex_automata::meta::Regex;
use serde::Serialize;

/// What `moat checks list` shows about a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// The rule id (`aws-access-token`).
    pub id: String,
    /// A short title (`AWS access key id`).
    pub title: String,
    /// A longer description, when the rule file gives one.
    pub description: String,
    /// How bad a leak of what it finds is.
    pub severity: Severity,
    /// Lower-cased keywords: the rule only runs where one of them occurs (none: always runs).
    pub keywords: Vec<String>,
    /// Free-form tags from the rule file.
    pub tags: Vec<String>,
}

/// What an allow-list regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegexTarget {
    /// The captured secret (the default).
    Secret,
    /// The whole regex match.
    Match,
    /// The line(s) holding the match.
    Line,
}

/// How the criteria of one allow-list combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Any criterion allows the finding.
    Or,
    /// Every criterion that is set must hold.
    And,
}

/// One allow-list: a finding it matches is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Allowlist {
    pub condition: Condition,
    pub target: RegexTarget,
    /// All `regexes` compiled together: a match of any allows.
    pub regexes: Option<Regex>,
    /// All `paths` compiled together.
    pub paths: Option<Regex>,
    /// ASCII-case-insensitive search for any stop word in the secret.
    pub stopwords: Option<AhoCorasick>,
}

/// What an allow-list is checked against.
pub(crate) struct Candidate<'a> {
    pub path: &'a str,
    pub secret: &'a [u8],
    pub whole_match: &'a [u8],
    pub line: &'a [u8],
}

impl Allowlist {
    /// True when the list lets the candidate through (it is not reported).
    pub fn allows(&self, candidate: &Candidate<'_>) -> bool {
        let checks = [
            self.paths.as_ref().map(|p| p.is_match(candidate.path)),
            self.regexes.as_ref().map(|r| {
                let target = match self.target {
                    RegexTarget::Secret => candidate.secret,
                    RegexTarget::Match => candidate.whole_match,
                    RegexTarget::Line => candidate.line,
                };
                r.is_match(target)
            }),
            self.stopwords.as_ref().map(|s| s.is_match(candidate.secret)),
        ];
        let mut set = checks.iter().flatten().peekable();
        if set.peek().is_none() {
            return false;
        }
        match self.condition {
            Condition::Or => set.any(|&hit| hit),
            Condition::And => set.all(|&hit| hit),
        }
    }

    /// True when this list, on its own, excludes every file whose path matches it.
    pub fn excludes_path(&self, path: &str) -> bool {
        let Some(paths) = &self.paths else {
            return false;
        };
        let path_only = self.regexes.is_none() && self.stopwords.is_none();
        (self.condition == Condition::Or || path_only) && paths.is_match(path)
    }

    /// True when the list has no criterion at all (it allows nothing).
    pub fn is_empty(&self) -> bool {
        self.regexes.is_none() && self.paths.is_none() && self.stopwords.is_none()
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub info: RuleInfo,
    /// What to find in the content; `None` for rules that flag file paths only.
    pub regex: Option<Regex>,
    /// Which capture group is the secret (0: the first non-empty group, else the match).
    pub secret_group: usize,
    /// Shannon entropy the secret must exceed.
    pub entropy: Option<f64>,
    /// The rule only applies to files whose path matches.
    pub path: Option<Regex>,
    /// Drop secrets without a digit (gitleaks does this for its `generic*` rules).
    pub require_digit: bool,
    pub allowlists: Vec<Allowlist>,
}

impl Rule {
    /// True when the rule applies to the file at `path` (its `path` filter, if any, matches).
    pub fn applies_to(&self, path: &str) -> bool {
        match &self.path {
            Some(filter) => filter.is_match(path),
            None => true,
        }
    }

    /// True when the rule is about file names only.
    pub fn is_path_only(&self) -> bool {
        self.regex.is_none()
    }
}

/// The severity of a rule that does not state one, from its id.
pub(crate) fn default_severity(id: &str) -> Severity {
    const CRITICAL_PREFIXES: [&str; 7] = [
        "aws-",
        "gcp-",
        "azure-",
        "alibaba-",
        "private-key",
        "pkcs12",
        "age-secret",
    ];
    if id.contains("private-key") || CRITICAL_PREFIXES.iter().any(|p| id.starts_with(p)) {
        Severity::Critical
    } else if id.starts_with("generic") {
        Severity::Medium
    } else {
        Severity::High
    }
}

/// A title for a rule that does not state one, from its id (`github-pat` → `Github pat`).
pub(crate) fn default_title(id: &str) -> String {
    let spaced = id.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Shannon entropy (bits per symbol) of a byte string.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let len = data.len() as f64;
    let mut entropy = 0.0;
    // Visit each distinct byte once, through the data, not through all 256 counters.
    for &b in data {
        let count = std::mem::take(&mut counts[usize::from(b)]);
        if count > 0 {
            let p = f64::from(count) / len;
            entropy -= p * p.log2();
        }
    }
    entropy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_matches_known_values() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"0123456789") - 10f64.log2()).abs() < 1e-9);
    }

    #[test]
    fn defaults_from_ids() {
        assert_eq!(default_severity("aws-access-token"), Severity::Critical);
        assert_eq!(default_severity("generic-api-key"), Severity::Medium);
        assert_eq!(default_severity("github-pat"), Severity::High);
        assert_eq!(default_title("github-pat"), "Github pat");
    }
}
