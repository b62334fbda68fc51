//! JUnit XML, the test-report format CI systems show: one `<testsuite>` per family of findings
//! the report holds (`vulnerabilities`, `secrets`, `misconfigurations`), one failed
//! `<testcase>` per finding with its severity as the failure type, and suppressed
//! vulnerabilities as skipped test cases. A report without any finding is one `moat` suite with
//! one passing test case, so CI still shows that the scan ran.
//!
//! Written by hand: a dozen element kinds, every text escaped, characters XML 1.0 cannot hold
//! replaced by `?`, no timestamps or durations, so the same report gives the same bytes.

use crate::describe::{file_position, fixed_text, vulnerability_title, SECRET_REMEDIATION};
use crate::links::first_web_url;
use crate::{ReportError, WriteOptions};
use moat_core::{Misconfiguration, Report, SecretFinding, Severity, SuppressedFinding, VulnerabilityFinding};

/// A suite's name and its test cases.
struct Suite {
    name: &'static str,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, matches: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|case| matches(&case.outcome)).count()
    }
}

/// One test case: the file or package, what was checked, and how it came out.
struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
}

enum Outcome {
    Passed,
    Failed {
        message: String,
        severity: Severity,
        details: String,
    },
    Skipped {
        message: String,
    },
}

fn is_failure(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Failed { .. })
}

fn is_skipped(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Skipped { .. })
}

/// Writes the report as JUnit XML.
pub(crate) fn write(
    report: &Report,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let document = document(report, options.version());
    out.write_all(document.as_bytes())?;
    Ok(())
}

/// The whole document.
fn document(report: &Report, version: &str) -> String {
    let suites = suites(report);
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(|s| s.count(is_failure)).sum();
    let skipped: usize = suites.iter().map(|s| s.count(is_skipped)).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"moat\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n"
    ));
    let target = target_name(report);
    for suite in &suites {
        write_suite(&mut xml, suite, target, version);
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The suites of the families the report holds, or the one passing `moat` suite.
fn suites(report: &Report) -> Vec<Suite> {
    let mut suites = Vec::new();
    let vulnerabilities: Vec<Case> = report
        .vulnerabilities
        .iter()
        .map(vulnerability_case)
        .chain(report.suppressed.iter().map(suppressed_case))
        .collect();
    let secrets: Vec<Case> = report.secrets.iter().map(secret_case).collect();
    let misconfigurations: Vec<Case> = report
        .misconfigurations
        .iter()
        .map(misconfiguration_case)
        .collect();
    for (name, cases) in [
        ("vulnerabilities", vulnerabilities),
        ("secrets", secrets),
        ("misconfigurations", misconfigurations),
    ] {
        if !cases.is_empty() {
            suites.push(Suite { name, cases });
        }
    }
    if suites.is_empty() {
        suites.push(Suite {
            name: "moat",
            cases: vec![Case {
                classname: target_name(report).to_string(),
                name: "no vulnerabilities, secrets or misconfigurations found".to_string(),
                outcome: Outcome::Passed,
            }],
        });
    }
    suites
}

/// The scanned target as the report names it.
fn target_name(report: &Report) -> &str {
    match report.source.name.is_empty() {
        true => &report.source.user_input,
        false => &report.source.name,
    }
}

fn write_suite(xml: &mut String, suite: &Suite, target: &str, version: &str) {
    xml.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
        escape(suite.name),
        suite.cases.len(),
        suite.count(is_failure),
        suite.count(is_skipped),
    ));
    xml.push_str("    <properties>\n");
    for (name, value) in [("target", target), ("moat.version", version)] {
        xml.push_str(&format!(
            "      <property name=\"{}\" value=\"{}\"/>\n",
            escape(name),
            escape(value)
        ));
    }
    xml.push_str("    </properties>\n");
    for case in &suite.cases {
        write_case(xml, case);
    }
    xml.push_str("  </testsuite>\n");
}

fn write_case(xml: &mut String, case: &Case) {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&case.classname),
        escape(&case.name)
    );
    match &case.outcome {
        Outcome::Passed => xml.push_str(&format!("{open}/>\n")),
        Outcome::Failed {
            message,
            severity,
            details,
        } => xml.push_str(&format!(
            "{open}>\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
            escape(message),
            severity.as_str(),
            escape_text(details)
        )),
        Outcome::Skipped { message } => xml.push_str(&format!(
            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
            escape(message)
        )),
    }
}

/// `ID: title`, or the id alone when there is no title.
fn case_name(id: &str, title: &str) -> String {
    match title.trim().is_empty() {
        true => id.to_string(),
        false => format!("{id}: {}", title.trim()),
    }
}

fn vulnerability_case(finding: &VulnerabilityFinding) -> Case {
    let package = &finding.package;
    Case {
        classname: format!("{}@{}", package.name, package.version),
        name: case_name(&finding.id, vulnerability_title(finding)),
        outcome: Outcome::Failed {
            message: format!(
                "{} {} in {} {} (fixed versions: {})",
                finding.severity,
                finding.id,
                package.name,
                package.version,
                fixed_text(finding)
            ),
            severity: finding.severity,
            details: vulnerability_details(finding),
        },
    }
}

fn suppressed_case(suppressed: &SuppressedFinding) -> Case {
    let finding = &suppressed.finding;
    Case {
        outcome: Outcome::Skipped {
            message: format!("suppressed by {}", suppressed.suppressed_by),
        },
        ..vulnerability_case(finding)
    }
}

fn vulnerability_details(finding: &VulnerabilityFinding) -> String {
    let package = &finding.package;
    let mut lines = vec![
        format!("Vulnerability: {}", finding.id),
        format!("Severity: {}", finding.severity),
        format!(
            "Package: {} {} ({})",
            package.name,
            package.version,
            package.package_type.as_str()
        ),
        format!("File: {}", package.path),
    ];
    if let Some(layer) = &package.layer {
        lines.push(format!("Layer: {layer}"));
    }
    lines.push(format!("Status: {}", finding.status.as_str()));
    lines.push(match finding.fixed_versions.is_empty() {
        true => format!("Remediation: no fixed version ({})", fixed_text(finding)),
        false => format!(
            "Remediation: upgrade {} to one of {}",
            package.name,
            fixed_text(finding)
        ),
    });
    if finding.kev.is_some() {
        lines.push("Known exploited (CISA KEV)".to_string());
    }
    if let Some(link) = first_web_url(&finding.references) {
        lines.push(format!("Link: {link}"));
    }
    lines.join("\n")
}

fn secret_case(secret: &SecretFinding) -> Case {
    let position = file_position(&secret.location);
    let mut lines = vec![
        format!("Rule: {}", secret.rule_id),
        format!("Severity: {}", secret.severity),
        format!("File: {position}"),
    ];
    if let Some(layer) = &secret.location.layer {
        lines.push(format!("Layer: {layer}"));
    }
    if !secret.line.trim().is_empty() {
        lines.push(format!("Match: {}", secret.line.trim()));
    }
    lines.push(format!("Remediation: {SECRET_REMEDIATION}"));
    Case {
        classname: secret.location.path.clone(),
        name: case_name(&secret.rule_id, &secret.title),
        outcome: Outcome::Failed {
            message: format!("{} at {position}", secret.title),
            severity: secret.severity,
            details: lines.join("\n"),
        },
    }
}

fn misconfiguration_case(finding: &Misconfiguration) -> Case {
    let position = file_position(&finding.location);
    let mut lines = vec![
        format!("Check: {} ({})", finding.check_id, finding.kind.as_str()),
        format!("Severity: {}", finding.severity),
        format!("File: {position}"),
    ];
    if let Some(layer) = &finding.location.layer {
        lines.push(format!("Layer: {layer}"));
    }
    if let Some(resource) = &finding.resource {
        lines.push(format!("Resource: {resource}"));
    }
    lines.push(format!("Message: {}", finding.message));
    if !finding.remediation.trim().is_empty() {
        lines.push(format!("Remediation: {}", finding.remediation.trim()));
    }
    if !finding.references.is_empty() {
        lines.push(format!("References: {}", finding.references.join("; ")));
    }
    if !finding.aliases.is_empty() {
        lines.push(format!("Aliases: {}", finding.aliases.join(", ")));
    }
    let message = match finding.message.trim().is_empty() {
        true => finding.title.clone(),
        false => finding.message.clone(),
    };
    Case {
        classname: finding.location.path.clone(),
        name: case_name(&finding.check_id, &finding.title),
        outcome: Outcome::Failed {
            message,
            severity: finding.severity,
            details: lines.join("\n"),
        },
    }
}

/// `text` safe in an XML 1.0 attribute value: markup characters as entities, line breaks and
/// tabs as character references (a parser would fold them into spaces otherwise), and
/// characters XML cannot hold at all as `?`.
fn escape(text: &str) -> String {
    escape_with(text, true)
}

/// `text` safe in XML 1.0 element content: as [`escape`], but line breaks and tabs kept as
/// they are, so multi-line details stay readable (only `\r`, which parsers would drop, is a
/// character reference).
fn escape_text(text: &str) -> String {
    escape_with(text, false)
}

fn escape_with(text: &str, attribute: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if attribute => escaped.push_str("&quot;"),
            '\'' if attribute => escaped.push_str("&apos;"),
            '\n' if attribute => escaped.push_str("&#10;"),
            '\t' if attribute => escaped.push_str("&#9;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' | '\t' | '"' | '\'' => escaped.push(c),
            c if is_xml_char(c) => escaped.push(c),
            _ => escaped.push('?'),
        }
    }
    escaped
}

/// Whether XML 1.0 allows `c` (its `Char` production, less the whitespace handled above).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_whitespace_and_forbidden_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("x\ny\tz\r"), "x&#10;y&#9;z&#13;");
        assert_eq!(escape("bell\u{7}\u{1b}[2J\u{FFFE}"), "bell??[2J?");
        assert_eq!(escape("ünïcode 漢字 🦀"), "ünïcode 漢字 🦀");
        assert_eq!(
            escape_text("a<b>\n\t\"c\" 'd' &\r\u{0}"),
            "a&lt;b&gt;\n\t\"c\" 'd' &amp;&#13;?"
        );
    }
}
