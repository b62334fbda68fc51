//! The enrichment feeds: CISA's Known Exploited Vulnerabilities catalog (JSON) and FIRST's
//! EPSS scores (CSV, often gzipped; the gzip layer is removed when the file is read).

use crate::parse::ParseError;
use moat_core::{EpssScore, KevEntry};
use serde::Deserialize;

#[derive(Deserialize)]
struct KevCatalog {
    vulnerabilities: Vec<KevItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevItem {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    date_added: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

/// A KEV catalog has `catalogVersion` and a `vulnerabilities` array.
pub(crate) fn is_kev(value: &serde_json::Value) -> bool {
    value.get("catalogVersion").is_some() && value.get("vulnerabilities").is_some_and(|v| v.is_array())
}

/// The catalog's entries by CVE id.
pub(crate) fn parse_kev(value: serde_json::Value) -> Result<Vec<(String, KevEntry)>, ParseError> {
    let catalog: KevCatalog =
        serde_json::from_value(value).map_err(|e| ParseError(format!("not a KEV catalog: {e}")))?;
    let entries = catalog
        .vulnerabilities
        .into_iter()
        .map(|item| {
            let entry = KevEntry {
                date_added: item.date_added,
                due_date: item.due_date,
                known_ransomware: item.known_ransomware_campaign_use.eq_ignore_ascii_case("known"),
            };
            (item.cve_id, entry)
        })
        .collect();
    Ok(entries)
}

/// FIRST's CSV starts with `#model_version:…` or with its `cve,epss,percentile` header.
pub(crate) fn looks_like_epss(text: &str) -> bool {
    text.starts_with("#model_version") || text.starts_with("cve,epss")
}

/// FIRST's CSV: an optional `#model_version:…,score_date:…` line, a `cve,epss,percentile`
/// header, then rows. A row that does not read fails the file, naming its line.
pub(crate) fn parse_epss(text: &str) -> Result<Vec<(String, EpssScore)>, ParseError> {
    let mut date = String::new();
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(found) = score_date(comment) {
                date = found;
            }
            continue;
        }
        if line.is_empty() || line.starts_with("cve,") {
            continue;
        }
        let row = epss_row(line, &date)
            .ok_or_else(|| ParseError(format!("line {}: not `cve,epss,percentile`", index + 1)))?;
        rows.push(row);
    }
    Ok(rows)
}

/// The `YYYY-MM-DD` of `score_date:2024-05-01T00:00:00+0000` in the comment line.
fn score_date(comment: &str) -> Option<String> {
    let value = comment
        .split(',')
        .find_map(|field| field.trim().strip_prefix("score_date:"))?;
    Some(value.chars().take(10).collect())
}

fn epss_row(line: &str, date: &str) -> Option<(String, EpssScore)> {
    let mut fields = line.split(',').map(str::trim);
    let cve = fields.next().filter(|cve| !cve.is_empty())?;
    let score = fields
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=1.0).contains(s))?;
    let percentile = fields
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))?;
    let entry = EpssScore {
        score,
        percentile,
        date: date.to_string(),
    };
    Some((cve.to_string(), entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kev_entries_read_with_the_ransomware_flag() {
        let value = serde_json::json!({"catalogVersion": "2024.01.01", "vulnerabilities": [
            {"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "dueDate": "2021-12-24",
             "knownRansomwareCampaignUse": "Known"},
            {"cveID": "CVE-2023-1", "dateAdded": "2023-01-01", "knownRansomwareCampaignUse": "Unknown"}]});
        assert!(is_kev(&value));
        let entries = parse_kev(value).expect("kev");
        assert_eq!(entries[0].0, "CVE-2021-44228");
        assert!(entries[0].1.known_ransomware);
        assert!(!entries[1].1.known_ransomware);
        assert_eq!(entries[1].1.due_date, "");
    }

    #[test]
    fn epss_rows_carry_the_score_date() {
        let csv = "#model_version:v2023.03.01,score_date:2024-05-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\n";
        assert!(looks_like_epss(csv));
        let rows = parse_epss(csv).expect("epss");
        assert_eq!(rows[0].0, "CVE-2021-44228");
        assert_eq!((rows[0].1.score, rows[0].1.percentile), (0.97565, 0.99996));
        assert_eq!(rows[0].1.date, "2024-05-01");
    }

    #[test]
    fn a_bad_epss_row_names_its_line() {
        let error = parse_epss("cve,epss,percentile\nCVE-1,0.1,0.2\nCVE-2,x,y\n").expect_err("bad row");
        assert!(error.0.starts_with("line 3:"), "{error}");
        assert!(
            parse_epss("cve,epss,percentile\nCVE-1,1.5,0.2\n").is_err(),
            "a score above 1"
        );
    }
}
