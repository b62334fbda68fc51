//! Links and dates taken from advisory data, checked before they go into formats whose schemas
//! constrain them (SARIF `helpUri` is a URI, CycloneDX `advisories[].url` an IRI reference and
//! `published` a date-time). Data that does not fit is left out rather than written invalid.

/// Who publishes vulnerabilities under an identifier, and the identifier's page there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdSource {
    /// The publisher (`NVD`, `GitHub Advisories`).
    pub name: &'static str,
    /// The identifier's page.
    pub url: String,
}

/// Identifier prefixes with a well-known publisher, and the page URL before the identifier.
const PUBLISHERS: [(&str, &str, &str, &str); 5] = [
    ("CVE-", "NVD", "https://nvd.nist.gov/vuln/detail/", ""),
    ("GHSA-", "GitHub Advisories", "https://github.com/advisories/", ""),
    ("GO-", "Go Vulnerability Database", "https://pkg.go.dev/vuln/", ""),
    ("RUSTSEC-", "RustSec", "https://rustsec.org/advisories/", ".html"),
    ("PYSEC-", "OSV", "https://osv.dev/vulnerability/", ""),
];

/// The publisher of `id` when its prefix is a well-known one (CVE, GHSA, GO, RUSTSEC, PYSEC).
pub(crate) fn id_source(id: &str) -> Option<IdSource> {
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    PUBLISHERS
        .iter()
        .find(|(prefix, ..)| id.starts_with(prefix))
        .map(|(_, name, before, after)| IdSource {
            name,
            url: format!("{before}{id}{after}"),
        })
}

/// True for an absolute `http`/`https` URL made of characters a URI may hold unescaped.
/// Written by hand: advisory references are plain web links, and this is the whole check the
/// output schemas need (a URL parser would accept spaces and other text they reject).
pub(crate) fn is_web_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let host_present = rest.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let allowed =
        |c: char| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`');
    host_present && rest.chars().all(allowed)
}

/// The first reference that is a web URL.
pub(crate) fn first_web_url(references: &[String]) -> Option<&str> {
    references.iter().map(String::as_str).find(|r| is_web_url(r))
}

/// `text` as an RFC 3339 date-time: kept when it is one, a bare `YYYY-MM-DD` date becomes
/// midnight UTC, anything else is `None`. Written by hand: a shape check of twenty characters
/// does not need a date library.
pub(crate) fn rfc3339(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() == 10 && is_date(text) {
        return Some(format!("{text}T00:00:00Z"));
    }
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let time = rest.strip_prefix('T')?;
    let (clock, zone) = (time.get(..8)?, time.get(8..)?);
    let zone = match zone.strip_prefix('.') {
        Some(fraction) => {
            let after_digits = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
            (after_digits.len() < fraction.len()).then_some(after_digits)?
        }
        None => zone,
    };
    (is_date(date) && is_clock(clock) && is_zone(zone)).then(|| text.to_string())
}

/// `YYYY-MM-DD` with a month 01–12 and a day 01–31.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => {
            year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && in_range(month, 1, 12)
                && in_range(day, 1, 31)
        }
        _ => false,
    }
}

/// `HH:MM:SS` (a leap second allowed).
fn is_clock(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [hour, minute, second] => in_range(hour, 0, 23) && in_range(minute, 0, 59) && in_range(second, 0, 60),
        _ => false,
    }
}

/// `Z` or `±HH:MM`.
fn is_zone(text: &str) -> bool {
    if text == "Z" {
        return true;
    }
    let Some(offset) = text.strip_prefix('+').or_else(|| text.strip_prefix('-')) else {
        return false;
    };
    match offset.split_once(':') {
        Some((hours, minutes)) => in_range(hours, 0, 23) && in_range(minutes, 0, 59),
        None => false,
    }
}

/// Two digits whose value lies in `low..=high`.
fn in_range(text: &str, low: u32, high: u32) -> bool {
    text.len() == 2
        && text.chars().all(|c| c.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|v| (low..=high).contains(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_by_prefix() {
        assert_eq!(
            id_source("CVE-2021-44228").map(|s| s.url),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2021-44228".to_string())
        );
        assert_eq!(
            id_source("GHSA-jfh8-c2jp-5v3q").map(|s| s.name),
            Some("GitHub Advisories")
        );
        assert_eq!(
            id_source("RUSTSEC-2023-0001").map(|s| s.url),
            Some("https://rustsec.org/advisories/RUSTSEC-2023-0001.html".to_string())
        );
        assert_eq!(id_source("DSA-5000-1"), None);
        assert_eq!(id_source("CVE-2021-1 x"), None);
    }

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://example.org/a?b=c#d"));
        assert!(is_web_url("http://example.org"));
        assert!(!is_web_url("ftp://example.org"));
        assert!(!is_web_url("https://example.org/a b"));
        assert!(!is_web_url("https://"));
        assert!(!is_web_url("see https://example.org"));
        let references = ["not a url".to_string(), "https://b.example/".to_string()];
        assert_eq!(first_web_url(&references), Some("https://b.example/"));
    }

    #[test]
    fn dates() {
        assert_eq!(
            rfc3339("2021-12-10T00:15:09Z").as_deref(),
            Some("2021-12-10T00:15:09Z")
        );
        assert_eq!(
            rfc3339("2021-12-10T00:15:09.123456+01:00").as_deref(),
            Some("2021-12-10T00:15:09.123456+01:00")
        );
        assert_eq!(rfc3339("2021-12-10").as_deref(), Some("2021-12-10T00:00:00Z"));
        for bad in [
            "",
            "yesterday",
            "2021-13-10",
            "2021-12-10 00:15:09Z",
            "2021-12-10T25:00:00Z",
            "2021-12-10T00:00:00",
            "2021-12-10T00:00:00.Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }
}
