//! Suppression: a `.moatignore` file and VEX documents (OpenVEX, CycloneDX VEX) that take
//! findings out of the report, each suppressed finding keeping what suppressed it.
//!
//! `.moatignore` holds one entry per line: an id (CVE, GHSA or any alias of the finding),
//! then optional `exp:YYYY-MM-DD` (the entry stops working after that day), `package:NAME`
//! (only that package) and `path:PATTERN` (only packages read from matching paths; `*`
//! matches any run of characters). `#` starts a comment.

use moat_core::{Report, SuppressedFinding, VulnerabilityFinding, Warning};
use serde_json::Value;
use std::path::Path;

/// A suppression file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    /// A line of a `.moatignore` file is not an entry.
    #[error("{file}:{line}: {message}")]
    IgnoreLine {
        /// The file.
        file: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A VEX document is neither OpenVEX nor CycloneDX, or is malformed.
    #[error("{file}: {message}")]
    Vex {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// One rule: which findings it hides and how to name it in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The vulnerability id or alias.
    pub id: String,
    /// Only this package name.
    pub package: Option<String>,
    /// Only packages whose purl matches (type, namespace, name; version when given).
    pub purl: Option<String>,
    /// Only packages read from paths matching this pattern.
    pub path: Option<String>,
    /// The last day the rule applies (`YYYY-MM-DD`).
    pub expires: Option<String>,
    /// What the report says suppressed the finding.
    pub origin: String,
}

impl Rule {
    /// Whether the rule still applies on `today` (`YYYY-MM-DD`): it has no expiry date, or the
    /// date has not passed.
    pub fn is_live(&self, today: &str) -> bool {
        self.expires.as_deref().is_none_or(|day| day >= today)
    }

    /// Whether the rule silences a secret or misconfiguration finding with this rule or check
    /// `id` in the file at `path`: the ids match (ignoring case), the rule is not scoped to a
    /// package (package and purl scopes name packages), and a `path:` scope matches the file.
    pub fn silences_file_finding(&self, id: &str, path: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
            && self.package.is_none()
            && self.purl.is_none()
            && self
                .path
                .as_ref()
                .is_none_or(|pattern| wildcard_match(pattern, path))
    }

    fn applies_to(&self, finding: &VulnerabilityFinding) -> bool {
        finding.ids().any(|id| id.eq_ignore_ascii_case(&self.id))
            && self
                .package
                .as_ref()
                .is_none_or(|name| *name == finding.package.name)
            && self
                .path
                .as_ref()
                .is_none_or(|pattern| wildcard_match(pattern, &finding.package.path))
            && self
                .purl
                .as_ref()
                .is_none_or(|purl| purl_matches(purl, &finding.package.purl))
    }
}

/// Reads a `.moatignore` file's text; `file` names it in errors and in the report.
pub fn parse_ignore_file(text: &str, file: &str) -> Result<Vec<Rule>, SuppressError> {
    let mut rules = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let error = |message: String| SuppressError::IgnoreLine {
            file: file.to_string(),
            line: index + 1,
            message,
        };
        let mut words = line.split_whitespace();
        let id = words.next().unwrap_or_default().to_string();
        let mut rule = Rule {
            id,
            package: None,
            purl: None,
            path: None,
            expires: None,
            origin: format!("{file}:{}", index + 1),
        };
        for word in words {
            match word.split_once(':') {
                Some(("exp", date)) if is_date(date) => rule.expires = Some(date.to_string()),
                Some(("exp", date)) => return Err(error(format!("expiry {date:?} is not a YYYY-MM-DD date"))),
                Some(("package", name)) if !name.is_empty() => rule.package = Some(name.to_string()),
                Some(("path", pattern)) if !pattern.is_empty() => rule.path = Some(pattern.to_string()),
                Some(("purl", purl)) if !purl.is_empty() => rule.purl = Some(purl.to_string()),
                _ => {
                    return Err(error(format!(
                        "unexpected {word:?} after the id (use exp:YYYY-MM-DD, package:NAME, path:PATTERN or purl:PURL)"
                    )))
                }
            }
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Reads a VEX document (OpenVEX or CycloneDX JSON); statements saying the product is not
/// affected (OpenVEX `not_affected` or `fixed`; CycloneDX `not_affected`, `false_positive` or
/// `resolved`) become rules.
pub fn parse_vex(bytes: &[u8], file: &str) -> Result<Vec<Rule>, SuppressError> {
    let error = |message: String| SuppressError::Vex {
        file: file.to_string(),
        message,
    };
    let document: Value = serde_json::from_slice(bytes).map_err(|e| error(format!("not JSON: {e}")))?;
    if document.get("statements").is_some() {
        return openvex_rules(&document, file).map_err(error);
    }
    if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return cyclonedx_rules(&document, file).map_err(error);
    }
    Err(error(
        "neither an OpenVEX document (no \"statements\") nor CycloneDX (no \"bomFormat\")".to_string(),
    ))
}

/// The id of an OpenVEX `vulnerability`: a string (v0.0.x) or an object with `name`.
fn openvex_vulnerability(statement: &Value) -> Option<String> {
    let vulnerability = statement.get("vulnerability")?;
    vulnerability
        .as_str()
        .or_else(|| vulnerability.get("name").and_then(Value::as_str))
        .map(str::to_string)
}

/// Product ids of an OpenVEX list: strings or objects with `@id` (or `identifiers.purl`).
fn openvex_products(list: Option<&Value>) -> Vec<String> {
    let Some(items) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            item.as_str()
                .or_else(|| {
                    item.get("identifiers")
                        .and_then(|i| i.get("purl"))
                        .and_then(Value::as_str)
                })
                .or_else(|| item.get("@id").and_then(Value::as_str))
                .map(str::to_string)
        })
        .collect()
}

fn openvex_rules(document: &Value, file: &str) -> Result<Vec<Rule>, String> {
    let statements = document
        .get("statements")
        .and_then(Value::as_array)
        .ok_or("\"statements\" is not a list")?;
    let mut rules = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let status = statement
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(status, "not_affected" | "fixed") {
            continue;
        }
        let id = openvex_vulnerability(statement)
            .ok_or_else(|| format!("statement {index} has no vulnerability name"))?;
        let justification = statement
            .get("justification")
            .and_then(Value::as_str)
            .unwrap_or(status);
        let origin = format!("openvex {file}: {status} ({justification})");
        let mut products = openvex_products(statement.get("products"));
        for product in statement
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            products.extend(openvex_products(product.get("subcomponents")));
        }
        let products: Vec<String> = products.into_iter().filter(|p| is_package_purl(p)).collect();
        rules.extend(rules_for_products(&id, &products, &origin));
    }
    Ok(rules)
}

/// A purl of a package (not of the image itself, which covers every package).
fn is_package_purl(text: &str) -> bool {
    text.starts_with("pkg:") && !text.starts_with("pkg:oci/") && !text.starts_with("pkg:docker/")
}

fn rules_for_products(id: &str, purls: &[String], origin: &str) -> Vec<Rule> {
    let rule = |purl: Option<String>| Rule {
        id: id.to_string(),
        package: None,
        purl,
        path: None,
        expires: None,
        origin: origin.to_string(),
    };
    match purls.is_empty() {
        true => vec![rule(None)],
        false => purls.iter().map(|purl| rule(Some(purl.clone()))).collect(),
    }
}

fn cyclonedx_rules(document: &Value, file: &str) -> Result<Vec<Rule>, String> {
    let purl_of_ref = |reference: &str| -> Option<String> {
        let components = document.get("components").and_then(Value::as_array)?;
        components
            .iter()
            .find(|c| c.get("bom-ref").and_then(Value::as_str) == Some(reference))
            .and_then(|c| c.get("purl").and_then(Value::as_str))
            .map(str::to_string)
    };
    let vulnerabilities = document.get("vulnerabilities").and_then(Value::as_array);
    let mut rules = Vec::new();
    for (index, vulnerability) in vulnerabilities.into_iter().flatten().enumerate() {
        let analysis = vulnerability.get("analysis");
        let state = analysis
            .and_then(|a| a.get("state"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(state, "not_affected" | "false_positive" | "resolved") {
            continue;
        }
        let id = vulnerability
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("vulnerability {index} has no id"))?;
        let justification = analysis
            .and_then(|a| a.get("justification"))
            .and_then(Value::as_str)
            .unwrap_or(state);
        let origin = format!("cyclonedx vex {file}: {state} ({justification})");
        let purls: Vec<String> = vulnerability
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|affects| affects.get("ref").and_then(Value::as_str))
            .filter_map(|reference| {
                let purl = reference.rsplit_once('#').map_or(reference, |(_, tail)| tail);
                match purl.starts_with("pkg:") {
                    true => Some(purl.to_string()),
                    false => purl_of_ref(reference),
                }
            })
            .filter(|p| is_package_purl(p))
            .collect();
        rules.extend(rules_for_products(id, &purls, &origin));
    }
    Ok(rules)
}

/// Whether the rule's purl names the package's: same type, namespace and name, and the same
/// version when the rule gives one; qualifiers and subpaths are not compared.
fn purl_matches(rule: &str, package: &str) -> bool {
    let core = |purl: &str| -> (String, Option<String>) {
        let without_extras = purl.split(['?', '#']).next().unwrap_or(purl);
        match without_extras.rsplit_once('@') {
            Some((name, version)) if !name.ends_with('/') => {
                (name.to_ascii_lowercase(), Some(version.to_string()))
            }
            _ => (without_extras.to_ascii_lowercase(), None),
        }
    };
    let (rule_name, rule_version) = core(rule);
    let (package_name, package_version) = core(package);
    rule_name == package_name && rule_version.is_none_or(|v| Some(v) == package_version)
}

/// `*` matches any run of characters (also `/`); everything else matches itself. Written by
/// hand: one wildcard kind does not need a glob library.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, inner)) = middle.split_last() else {
        return rest.is_empty();
    };
    for part in inner {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Moves the findings that a rule applies to from `report.vulnerabilities` to
/// `report.suppressed`; rules past their expiry date (compared with `today`, `YYYY-MM-DD`) are
/// skipped with a warning.
pub fn apply(report: &mut Report, rules: &[Rule], today: &str) {
    let (live, expired): (Vec<&Rule>, Vec<&Rule>) = rules.iter().partition(|rule| rule.is_live(today));
    for rule in expired {
        report.warnings.push(Warning {
            path: rule.origin.clone(),
            layer: None,
            message: format!(
                "ignore entry for {} expired on {}; it no longer suppresses anything",
                rule.id,
                rule.expires.as_deref().unwrap_or_default()
            ),
        });
    }
    let findings = std::mem::take(&mut report.vulnerabilities);
    for finding in findings {
        match live.iter().find(|rule| rule.applies_to(&finding)) {
            Some(rule) => report.suppressed.push(SuppressedFinding {
                finding,
                suppressed_by: rule.origin.clone(),
            }),
            None => report.vulnerabilities.push(finding),
        }
    }
}

/// Reads the rules of a `.moatignore` file at `path`.
pub fn read_ignore_file(path: &Path) -> Result<Vec<Rule>, SuppressError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SuppressError::IgnoreLine {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_ignore_file(&text, &file)
}

/// Reads the rules of a VEX document at `path`.
pub fn read_vex_file(path: &Path) -> Result<Vec<Rule>, SuppressError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| SuppressError::Vex {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    parse_vex(&bytes, &file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_core::{AffectedPackage, FixStatus, PackageType, Severity, SourceDescription, SourceKind};

    fn finding(id: &str, aliases: &[&str], name: &str, path: &str) -> VulnerabilityFinding {
        VulnerabilityFinding {
            id: id.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            title: String::new(),
            description: String::new(),
            severity: Severity::High,
            severity_source: "none".to_string(),
            cvss: Vec::new(),
            package: AffectedPackage {
                package_type: PackageType::Python,
                name: name.to_string(),
                version: "1.0".to_string(),
                purl: format!("pkg:pypi/{name}@1.0"),
                path: path.to_string(),
                layer: None,
            },
            fixed_versions: Vec::new(),
            status: FixStatus::Unfixed,
            kev: None,
            epss: None,
            matched_by: Vec::new(),
            references: Vec::new(),
            published: String::new(),
            modified: String::new(),
        }
    }

    fn report(findings: Vec<VulnerabilityFinding>) -> Report {
        Report {
            source: SourceDescription::new(SourceKind::Directory, "x", "x"),
            distro: None,
            database: None,
            vulnerabilities: findings,
            secrets: Vec::new(),
            misconfigurations: Vec::new(),
            suppressed: Vec::new(),
            warnings: Vec::new(),
            inventory: None,
        }
    }

    fn suppressed_ids(report: &Report) -> Vec<(&str, &str)> {
        report
            .suppressed
            .iter()
            .map(|s| (s.finding.id.as_str(), s.suppressed_by.as_str()))
            .collect()
    }

    #[test]
    fn ignore_file_entries_match_ids_aliases_scopes_and_expire() {
        let text = "# comment\nCVE-1 \nGHSA-2 exp:2030-01-01 package:requests\nCVE-3 path:/app/*/site-packages/*\nCVE-4 exp:2020-01-01\n";
        let rules = parse_ignore_file(text, ".moatignore").expect("valid file");
        assert_eq!(rules.len(), 4);
        let mut report = report(vec![
            finding("CVE-1", &[], "django", "/a"),
            finding("CVE-2", &["GHSA-2"], "requests", "/a"),
            finding("CVE-2", &["GHSA-2"], "urllib3", "/a"),
            finding("CVE-3", &[], "django", "/app/venv/lib/site-packages/x"),
            finding("CVE-3", &[], "django", "/usr/lib/x"),
            finding("CVE-4", &[], "django", "/a"),
        ]);
        apply(&mut report, &rules, "2026-11-28");
        assert_eq!(
            suppressed_ids(&report),
            [
                ("CVE-1", ".moatignore:2"),
                ("CVE-2", ".moatignore:3"),
                ("CVE-3", ".moatignore:4")
            ]
        );
        let kept: Vec<_> = report
            .vulnerabilities
            .iter()
            .map(|f| (f.id.as_str(), f.package.name.as_str()))
            .collect();
        assert_eq!(
            kept,
            [("CVE-2", "urllib3"), ("CVE-3", "django"), ("CVE-4", "django")]
        );
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].message.contains("expired on 2020-01-01"));
    }

    #[test]
    fn bad_ignore_lines_name_file_and_line() {
        let error = parse_ignore_file("CVE-1\nCVE-2 exp:tomorrow\n", "ignore.txt").expect_err("bad date");
        assert_eq!(
            error.to_string(),
            "ignore.txt:2: expiry \"tomorrow\" is not a YYYY-MM-DD date"
        );
        let error = parse_ignore_file("CVE-1 severity:low", "i").expect_err("unknown key");
        assert!(
            error.to_string().starts_with("i:1: unexpected \"severity:low\""),
            "{error}"
        );
    }

    #[test]
    fn openvex_not_affected_statements_suppress_by_purl() {
        let vex = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
            {"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:pypi/django@1.0"}]}],
             "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
            {"vulnerability":{"name":"CVE-2"},"products":[{"@id":"pkg:pypi/requests"}],"status":"affected"},
            {"vulnerability":"CVE-3","products":["pkg:oci/app"],"status":"fixed"}]}"#;
        let rules = parse_vex(vex, "vex.json").expect("valid OpenVEX");
        let mut report = report(vec![
            finding("CVE-1", &[], "django", "/a"),
            finding("CVE-1", &[], "flask", "/a"),
            finding("CVE-2", &[], "requests", "/a"),
            finding("CVE-3", &[], "urllib3", "/a"),
        ]);
        apply(&mut report, &rules, "2026-11-28");
        let suppressed = suppressed_ids(&report);
        assert_eq!(suppressed.len(), 2);
        assert_eq!(
            suppressed[0],
            (
                "CVE-1",
                "openvex vex.json: not_affected (vulnerable_code_not_in_execute_path)"
            )
        );
        assert_eq!(suppressed[1].0, "CVE-3");
        assert_eq!(report.vulnerabilities.len(), 2);
    }

    #[test]
    fn cyclonedx_vex_resolves_bom_refs_to_purls() {
        let vex = br#"{"bomFormat":"CycloneDX","specVersion":"1.6",
            "components":[{"bom-ref":"c1","type":"library","name":"django","purl":"pkg:pypi/django@1.0"}],
            "vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected","justification":"code_not_reachable"},"affects":[{"ref":"c1"}]},
                               {"id":"CVE-2","analysis":{"state":"exploitable"},"affects":[{"ref":"c1"}]}]}"#;
        let rules = parse_vex(vex, "bom.json").expect("valid CycloneDX VEX");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].purl.as_deref(), Some("pkg:pypi/django@1.0"));
        let error = parse_vex(b"{\"x\":1}", "odd.json").expect_err("not VEX");
        assert!(error.to_string().starts_with("odd.json: neither"), "{error}");
        assert!(parse_vex(b"{", "cut.json").is_err());
    }

    #[test]
    fn wildcards_and_purls() {
        assert!(wildcard_match("/app/*", "/app/x/y"));
        assert!(wildcard_match("*.jar", "/usr/share/java/log4j.jar"));
        assert!(wildcard_match("/a/*/c/*", "/a/b/c/d"));
        assert!(!wildcard_match("/a/*/c", "/a/b/d"));
        assert!(!wildcard_match("/a", "/ab"));
        assert!(purl_matches("pkg:pypi/django", "pkg:pypi/django@3.2"));
        assert!(purl_matches("pkg:pypi/django@3.2", "pkg:pypi/django@3.2?x=y"));
        assert!(!purl_matches("pkg:pypi/django@3.1", "pkg:pypi/django@3.2"));
        assert!(!purl_matches("pkg:pypi/flask", "pkg:pypi/django@3.2"));
    }

    #[test]
    fn file_findings_are_silenced_by_id_path_and_date_but_not_by_package_scopes() {
        let text = "aws-access-token path:/app/*\nDF002\npkg-scoped package:requests\nold exp:2000-01-01\n";
        let rules = parse_ignore_file(text, ".moatignore").expect("valid file");
        let silenced = |id: &str, path: &str| {
            rules
                .iter()
                .any(|rule| rule.is_live("2026-11-29") && rule.silences_file_finding(id, path))
        };
        assert!(silenced("aws-access-token", "/app/.env"));
        assert!(
            !silenced("aws-access-token", "/etc/env"),
            "the path scope limits it"
        );
        assert!(
            silenced("df002", "Dockerfile"),
            "ids compare without case, as for vulnerabilities"
        );
        assert!(
            !silenced("pkg-scoped", "/app/x"),
            "package scopes name packages, not files"
        );
        assert!(!silenced("old", "/app/x"), "expired entries no longer apply");
    }
}
