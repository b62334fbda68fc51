//! Secrets and misconfigurations in every format: the table's sections, the JSON round trip,
//! SARIF rules, regions and fingerprints, and the JUnit document read back with an XML parser.

mod common;

use common::{
    findings_only_report, full_report, options, render, render_json, render_text, sample_report, strip_ansi,
    AWS_KEY_ID, GITHUB_TOKEN, LAYER_APP,
};
use moat_core::Report;
use moat_report::{Format, WriteOptions};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn snapshot_table_with_secrets_and_misconfigurations() {
    insta::assert_snapshot!(
        "table-findings",
        render_text(&full_report(), Format::Table, &options())
    );
}

#[test]
fn snapshot_table_of_a_scan_without_vulnerability_data() {
    insta::assert_snapshot!(
        "table-findings-only",
        render_text(&findings_only_report(), Format::Table, &options())
    );
}

#[test]
fn snapshot_junit() {
    insta::assert_snapshot!("junit", render_text(&full_report(), Format::Junit, &options()));
}

/// The lines of `text` from the one equal to `title` up to the next blank line after its
/// `Total:` line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == title)
        .unwrap_or_else(|| panic!("no {title} section in\n{text}"));
    let end = (start..lines.len())
        .find(|i| lines[*i].starts_with("Total: "))
        .unwrap_or_else(|| panic!("no total in the {title} section"));
    lines[start..=end].to_vec()
}

#[test]
fn table_lists_secrets_by_file_with_their_redacted_lines() {
    let text = render_text(&full_report(), Format::Table, &options());
    let lines = section(&text, "Secrets");
    assert_eq!(lines[1], "=======");
    let heading = lines
        .iter()
        .position(|l| l.starts_with("/app/config/.env"))
        .expect("a heading for the file");
    assert_eq!(lines[heading], "/app/config/.env (layer 7ec79cfb43d7)");
    let header = lines[heading + 1];
    assert!(
        header.starts_with("  LINE") && header.contains("SEVERITY") && header.contains("RULE"),
        "{header}"
    );
    let row = lines[heading + 2];
    assert!(row.starts_with("  3:19 "), "{row}");
    assert!(
        row.contains("CRITICAL") && row.contains("aws-access-token") && row.ends_with("AWS access key id"),
        "{row}"
    );
    // The matched line, as the report holds it, under the row.
    assert_eq!(
        lines[heading + 3].trim_start(),
        "AWS_ACCESS_KEY_ID=AKIA****************"
    );
    assert!(lines[heading + 3].starts_with("    "), "{}", lines[heading + 3]);
    // A secret of the image config has no line: `-`.
    let config = lines
        .iter()
        .position(|l| *l == "<image config> Env")
        .expect("a heading for the image config");
    assert!(
        lines[config + 2].starts_with("  -  ") && lines[config + 2].contains("github-pat"),
        "{}",
        lines[config + 2]
    );
    assert_eq!(
        lines.last().copied(),
        Some("Total: 2 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 1)")
    );
    assert!(!text.contains(AWS_KEY_ID) && !text.contains(GITHUB_TOKEN));
}

#[test]
fn table_shows_secrets_as_given_when_not_redacted() {
    let mut report = full_report();
    for secret in &mut report.secrets {
        secret.line = secret.line.replace("AKIA****************", AWS_KEY_ID);
        secret.redacted = false;
    }
    let text = render_text(&report, Format::Table, &options());
    assert!(
        text.contains(&format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}")),
        "{text}"
    );
}

#[test]
fn table_groups_misconfigurations_by_file_with_the_fix_below() {
    let text = render_text(&full_report(), Format::Table, &options());
    let lines = section(&text, "Misconfigurations");
    let headings: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("Total") && l.contains(" ("))
        .collect();
    assert_eq!(
        headings,
        [
            "<image config> (image-config)",
            "Dockerfile (dockerfile)",
            "deploy/web.yaml (kubernetes)"
        ]
    );
    let row = |check: &str| {
        lines
            .iter()
            .position(|l| l.contains(check))
            .unwrap_or_else(|| panic!("no row of {check}"))
    };
    let privileged = row("PSS-privileged");
    assert!(lines[privileged].starts_with("  12:9 "), "{}", lines[privileged]);
    assert!(
        lines[privileged].contains("CRITICAL")
            && lines[privileged].contains("Deployment default/web")
            && lines[privileged].contains("Privileged container: container \"app\""),
        "{}",
        lines[privileged]
    );
    // The issue wraps once; the fix follows the row on its own indented line.
    let fix = (privileged + 1..lines.len())
        .find(|i| lines[*i].trim_start().starts_with("Fix: "))
        .expect("a fix line");
    assert!(fix <= privileged + 2, "{lines:#?}");
    assert_eq!(
        lines[fix].trim_start(),
        "Fix: Remove securityContext.privileged or set it to false."
    );
    let dockerfile = row("DF002");
    assert!(
        lines[dockerfile].starts_with("  3 ") && lines[dockerfile].contains("HIGH"),
        "{}",
        lines[dockerfile]
    );
    assert!(
        lines[row("IMG002")].starts_with("  -  "),
        "{}",
        lines[row("IMG002")]
    );
    assert_eq!(
        lines.last().copied(),
        Some("Total: 3 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 1, CRITICAL: 1)")
    );
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "wider than 120 columns: {line}");
    }
}

#[test]
fn table_sections_follow_the_vulnerabilities() {
    let text = render_text(&full_report(), Format::Table, &options());
    let position = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
    assert!(position("CVE-2021-44228") < position("\nSecrets\n"));
    assert!(position("1 suppressed") < position("\nSecrets\n"));
    assert!(position("\nSecrets\n") < position("\nMisconfigurations\n"));
    assert!(position("\nMisconfigurations\n") < position("1 file could not be read"));
    // Advisory data was used: a scan that found no vulnerabilities still says so.
    let mut clean = full_report();
    clean.vulnerabilities.clear();
    let text = render_text(&clean, Format::Table, &options());
    assert!(text.contains("No vulnerabilities found."), "{text}");
    assert!(text.contains("Total: 0 (UNKNOWN: 0"), "{text}");
}

#[test]
fn table_of_a_scan_without_vulnerability_data_has_no_vulnerability_section() {
    let text = render_text(&findings_only_report(), Format::Table, &options());
    assert!(!text.contains("No vulnerabilities found."), "{text}");
    assert!(!text.contains("PACKAGE"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "registry.example/debian-app:1.0 (debian 12)");
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "Secrets");
    // With nothing found at all, the table says so without claiming a vulnerability scan ran.
    let mut nothing = findings_only_report();
    nothing.secrets.clear();
    nothing.misconfigurations.clear();
    let text = render_text(&nothing, Format::Table, &options());
    assert!(!text.contains("No vulnerabilities found."), "{text}");
    assert!(text.contains("\nNo findings.\n\nTotal: 0 (UNKNOWN: 0"), "{text}");
}

#[test]
fn table_sections_are_coloured_like_the_rest() {
    let plain = render_text(&full_report(), Format::Table, &options());
    let opts = WriteOptions {
        color: true,
        ..options()
    };
    let colored = render_text(&full_report(), Format::Table, &opts);
    assert!(colored.contains("\x1b[1mSecrets\x1b[0m"));
    assert!(colored.contains("\x1b[1mDockerfile (dockerfile)\x1b[0m"));
    assert_eq!(strip_ansi(&colored), plain, "colour changes the layout");
}

#[test]
fn table_defuses_hostile_finding_text() {
    let mut report = full_report();
    report.secrets[0].line = "KEY=\x1b[2Jvalue".to_string();
    report.misconfigurations[0].remediation = format!("do\nthis {}", "very ".repeat(40));
    report.misconfigurations[0].location.path = "evil\x1b]0;title\x07".to_string();
    let text = render_text(&report, Format::Table, &options());
    assert!(!text.contains('\x1b') && !text.contains('\x07'));
    assert!(text.contains("KEY=?[2Jvalue"), "{text}");
    assert!(text.contains("Fix: do?this very"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 120));
}

#[test]
fn every_format_is_deterministic_with_secrets_and_misconfigurations() {
    let report = full_report();
    let mut shuffled = report.clone();
    shuffled.secrets.reverse();
    shuffled.misconfigurations.rotate_left(1);
    assert_ne!(shuffled.misconfigurations, report.misconfigurations);
    for format in Format::ALL {
        let first = render(&report, format, &options());
        assert_eq!(first, render(&report, format, &options()), "{format}");
        assert_eq!(
            first,
            render(&shuffled, format, &options()),
            "{format}: input order leaks"
        );
    }
}

#[test]
fn json_has_the_findings_sorted_and_reads_back() {
    let report = full_report();
    let mut shuffled = report.clone();
    shuffled.secrets.reverse();
    shuffled.misconfigurations.reverse();
    let document = render_json(&shuffled, Format::Json);
    let paths = |key: &str| -> Vec<String> {
        document[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key}"))
            .iter()
            .map(|f| f["location"]["path"].as_str().expect("a path").to_string())
            .collect()
    };
    assert_eq!(paths("secrets"), ["/app/config/.env", "<image config> Env"]);
    assert_eq!(
        paths("misconfigurations"),
        ["<image config>", "Dockerfile", "deploy/web.yaml"]
    );
    assert_eq!(document["secrets"][0]["secret"], "AKIA****************");
    assert_eq!(document["secrets"][0]["redacted"], true);
    assert_eq!(document["secrets"][0]["location"]["layer"], LAYER_APP);
    assert_eq!(document["misconfigurations"][2]["kind"], "kubernetes");
    assert_eq!(
        document["misconfigurations"][2]["resource"],
        "Deployment default/web"
    );
    let mut fields = document.as_object().expect("an object").clone();
    fields.remove("schema");
    fields.remove("tool");
    let back: Report = serde_json::from_value(Value::Object(fields)).expect("reads back as a Report");
    assert_eq!(
        back,
        Report {
            inventory: None,
            ..report
        }
    );
    // A report without them has no such keys.
    let plain = render_json(&sample_report(), Format::Json);
    assert!(plain.get("secrets").is_none() && plain.get("misconfigurations").is_none());
}

fn sarif_run(report: &Report) -> Value {
    render_json(report, Format::Sarif)["runs"][0].clone()
}

fn result_of<'a>(run: &'a Value, rule_id: &str) -> &'a Value {
    run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == rule_id)
        .unwrap_or_else(|| panic!("no result of {rule_id}"))
}

#[test]
fn sarif_rules_for_secret_rules_and_checks() {
    let run = sarif_run(&full_report());
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(
        ids,
        [
            "CVE-2010-4756",
            "CVE-2021-44228",
            "CVE-2021-45046",
            "CVE-2023-4911",
            "secret:aws-access-token",
            "secret:github-pat",
            "DF002",
            "IMG002",
            "PSS-privileged"
        ]
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 9);
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    let aws = &rules[4];
    assert_eq!(aws["shortDescription"]["text"], "AWS access key id");
    assert_eq!(aws["fullDescription"]["text"], "AWS access key id");
    assert_eq!(aws["defaultConfiguration"]["level"], "error");
    assert_eq!(aws["properties"]["security-severity"], "9.5");
    assert_eq!(
        aws["properties"]["tags"],
        json!(["secret", "security", "CRITICAL"])
    );
    assert!(aws["help"]["text"].as_str().is_some_and(|t| t.contains("rotate")));
    let privileged = &rules[8];
    assert_eq!(privileged["shortDescription"]["text"], "Privileged container");
    assert_eq!(
        privileged["properties"]["tags"],
        json!([
            "misconfiguration",
            "security",
            "kubernetes",
            "CRITICAL",
            "Kubernetes Pod Security Standards Baseline",
            "NSA/CISA Kubernetes Hardening Guide v1.2 Pod security"
        ])
    );
    assert_eq!(privileged["properties"]["aliases"], json!(["KSV017"]));
    assert!(privileged["help"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("Remediation: Remove securityContext.privileged or set it to false.")));
    assert_eq!(rules[6]["properties"]["security-severity"], "8.0");
    assert_eq!(rules[7]["defaultConfiguration"]["level"], "note");
}

#[test]
fn sarif_results_point_at_lines_and_columns() {
    let run = sarif_run(&full_report());
    let physical = |rule_id: &str| result_of(&run, rule_id)["locations"][0]["physicalLocation"].clone();
    let aws = physical("secret:aws-access-token");
    assert_eq!(aws["artifactLocation"]["uri"], "app/config/.env");
    assert_eq!(
        aws["region"],
        json!({ "startLine": 3, "startColumn": 19, "endLine": 3, "endColumn": 39 })
    );
    assert_eq!(
        result_of(&run, "secret:aws-access-token")["locations"][0]["properties"]["layer"],
        LAYER_APP
    );
    let dockerfile = physical("DF002");
    assert_eq!(dockerfile["artifactLocation"]["uri"], "Dockerfile");
    assert_eq!(dockerfile["region"], json!({ "startLine": 3, "endLine": 3 }));
    let privileged = physical("PSS-privileged");
    assert_eq!(privileged["artifactLocation"]["uri"], "deploy/web.yaml");
    assert_eq!(
        privileged["region"],
        json!({ "startLine": 12, "startColumn": 9, "endLine": 12, "endColumn": 25 })
    );
    // Line 0 is the file as a whole: no region.
    for rule_id in ["IMG002", "secret:github-pat"] {
        assert!(physical(rule_id).get("region").is_none(), "{rule_id}");
    }
    assert_eq!(
        physical("IMG002")["artifactLocation"]["uri"],
        "%3Cimage%20config%3E"
    );
    let privileged = result_of(&run, "PSS-privileged");
    assert_eq!(privileged["level"], "error");
    assert_eq!(
        privileged["message"]["text"],
        "Deployment default/web: container \"app\" sets privileged: true <&> shares the host's devices"
    );
    assert_eq!(
        privileged["locations"][0]["logicalLocations"],
        json!([{ "name": "Deployment default/web", "kind": "resource" }])
    );
    let aws = result_of(&run, "secret:aws-access-token");
    assert!(aws["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("Match: AWS_ACCESS_KEY_ID=AKIA****************")));
    assert_eq!(result_of(&run, "IMG002")["level"], "note");
}

/// The `partialFingerprints` of every result, by rule id.
fn fingerprints(report: &Report) -> BTreeMap<String, Value> {
    sarif_run(report)["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().expect("ruleId").to_string(),
                r["partialFingerprints"].clone(),
            )
        })
        .collect()
}

#[test]
fn sarif_fingerprints_are_stable_distinct_and_leak_no_secret() {
    let report = full_report();
    let all = fingerprints(&report);
    let distinct: BTreeSet<String> = all.values().map(Value::to_string).collect();
    assert_eq!(distinct.len(), 9, "fingerprints collide: {all:#?}");
    assert!(all["secret:aws-access-token"]["moatSecret/v1"].is_string());
    assert!(all["DF002"]["moatMisconfiguration/v1"].is_string());
    // The same secret shown in full (--show-secrets) keeps its fingerprint.
    let mut shown = report.clone();
    for secret in &mut shown.secrets {
        let raw = match secret.rule_id.as_str() {
            "aws-access-token" => AWS_KEY_ID,
            _ => GITHUB_TOKEN,
        };
        secret.line = secret.line.replace(&secret.secret, raw);
        secret.secret = raw.to_string();
        secret.redacted = false;
    }
    let shown_text = render_text(&shown, Format::Sarif, &options());
    assert!(shown_text.contains(AWS_KEY_ID), "the line is written as given");
    assert_eq!(fingerprints(&shown), all);
    let redacted_text = render_text(&report, Format::Sarif, &options());
    assert!(!redacted_text.contains(AWS_KEY_ID) && !redacted_text.contains("ZC2X"));
    // Moving a finding to another line or file is another alert.
    let mut moved = report.clone();
    moved.secrets[0].location.start_line = 4;
    moved.misconfigurations[1].location.path = "build/Dockerfile".to_string();
    let after = fingerprints(&moved);
    assert_ne!(after["secret:aws-access-token"], all["secret:aws-access-token"]);
    assert_ne!(after["DF002"], all["DF002"]);
    assert_eq!(after["PSS-privileged"], all["PSS-privileged"]);
}

/// An XML element read back: its name, attributes, text and children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn attribute(&self, name: &str) -> &str {
        self.attributes
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn count(&self, name: &str) -> usize {
        self.children_named(name).count()
    }
}

fn element(start: &BytesStart<'_>) -> Element {
    let name = String::from_utf8(start.name().as_ref().to_vec()).expect("a UTF-8 name");
    let mut attributes = BTreeMap::new();
    for attribute in start.attributes() {
        let attribute = attribute.expect("a well-formed attribute");
        let key = String::from_utf8(attribute.key.as_ref().to_vec()).expect("a UTF-8 key");
        let value = attribute.unescape_value().expect("an escaped value").into_owned();
        assert!(attributes.insert(key.clone(), value).is_none(), "duplicate {key}");
    }
    Element {
        name,
        attributes,
        ..Element::default()
    }
}

/// Parses `xml` strictly (matching end tags, one root, nothing after it) into its root element.
fn parse_xml(xml: &str) -> Element {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"))
        {
            Event::Start(start) => open.push(element(&start)),
            Event::Empty(start) => {
                let done = element(&start);
                match open.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::End(_) => {
                let done = open.pop().expect("an open element");
                match open.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => {
                        assert!(root.is_none(), "two root elements");
                        root = Some(done);
                    }
                }
            }
            Event::Text(text) => {
                let text = text.unescape().expect("escaped text");
                match open.last_mut() {
                    Some(parent) => parent.text.push_str(&text),
                    None => assert!(text.trim().is_empty(), "text outside the root: {text:?}"),
                }
            }
            Event::Eof => break,
            Event::Decl(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    root.expect("a root element")
}

fn junit(report: &Report) -> Element {
    let root = parse_xml(&render_text(report, Format::Junit, &options()));
    assert_eq!(root.name, "testsuites");
    root
}

/// Checks each suite's counts against its test cases, and the totals against the suites.
fn assert_counts_add_up(root: &Element) {
    let mut totals = [0usize; 3];
    for suite in root.children_named("testsuite") {
        let cases: Vec<&Element> = suite.children_named("testcase").collect();
        let failures = cases.iter().filter(|c| c.count("failure") == 1).count();
        let skipped = cases.iter().filter(|c| c.count("skipped") == 1).count();
        assert_eq!(suite.attribute("tests"), cases.len().to_string());
        assert_eq!(suite.attribute("failures"), failures.to_string());
        assert_eq!(suite.attribute("skipped"), skipped.to_string());
        assert_eq!(suite.attribute("errors"), "0");
        for (total, count) in totals.iter_mut().zip([cases.len(), failures, skipped]) {
            *total += count;
        }
    }
    assert_eq!(root.attribute("tests"), totals[0].to_string());
    assert_eq!(root.attribute("failures"), totals[1].to_string());
    assert_eq!(root.attribute("skipped"), totals[2].to_string());
}

#[test]
fn junit_has_a_suite_per_family_and_a_failure_per_finding() {
    let root = junit(&full_report());
    assert_counts_add_up(&root);
    let suites: Vec<&Element> = root.children_named("testsuite").collect();
    let names: Vec<&str> = suites.iter().map(|s| s.attribute("name")).collect();
    assert_eq!(names, ["vulnerabilities", "secrets", "misconfigurations"]);
    assert_eq!(root.attribute("tests"), "9");
    assert_eq!(root.attribute("failures"), "8");
    assert_eq!(root.attribute("skipped"), "1");
    let case = |suite: usize, name: &str| -> &Element {
        suites[suite]
            .children_named("testcase")
            .find(|c| c.attribute("name") == name)
            .unwrap_or_else(|| panic!("no test case {name}"))
    };
    let log4shell = case(0, "CVE-2021-44228: Remote code injection in Log4j");
    assert_eq!(
        log4shell.attribute("classname"),
        "org.apache.logging.log4j:log4j-core@2.14.1"
    );
    let failure = &log4shell.children[0];
    assert_eq!(failure.attribute("type"), "CRITICAL");
    assert!(failure
        .text
        .contains("Remediation: upgrade org.apache.logging.log4j:log4j-core to one of 2.12.2, 2.15.0"));
    let suppressed = case(0, "CVE-2021-45046: Incomplete fix for Apache Log4j vulnerability");
    assert_eq!(suppressed.children[0].name, "skipped");
    assert!(suppressed.children[0]
        .attribute("message")
        .starts_with("suppressed by openvex"));
    let aws = case(1, "aws-access-token: AWS access key id");
    assert_eq!(aws.attribute("classname"), "/app/config/.env");
    let failure = &aws.children[0];
    assert_eq!(
        failure.attribute("message"),
        "AWS access key id at /app/config/.env:3:19"
    );
    assert!(
        failure.text.contains("File: /app/config/.env:3:19\n"),
        "{}",
        failure.text
    );
    assert!(failure
        .text
        .contains("Match: AWS_ACCESS_KEY_ID=AKIA****************"));
    assert!(failure.text.contains("Remediation: "));
    let privileged = case(2, "PSS-privileged: Privileged container");
    assert_eq!(privileged.attribute("classname"), "deploy/web.yaml");
    let failure = &privileged.children[0];
    assert_eq!(failure.attribute("type"), "CRITICAL");
    // Markup characters come back as they were, in attributes and in text.
    assert_eq!(
        failure.attribute("message"),
        "container \"app\" sets privileged: true <&> shares the host's devices"
    );
    assert!(failure
        .text
        .contains("File: deploy/web.yaml:12:9\nResource: Deployment default/web\n"));
    assert!(failure
        .text
        .contains("Message: container \"app\" sets privileged: true <&> shares"));
    assert!(failure
        .text
        .contains("Remediation: Remove securityContext.privileged or set it to false."));
    let healthcheck = case(2, "IMG002: Image has no HEALTHCHECK");
    assert!(healthcheck.children[0].text.contains("File: <image config>\n"));
    assert_eq!(healthcheck.children[0].attribute("type"), "LOW");
}

#[test]
fn junit_writes_only_the_families_present() {
    let root = junit(&findings_only_report());
    assert_counts_add_up(&root);
    let names: Vec<&str> = root
        .children_named("testsuite")
        .map(|s| s.attribute("name"))
        .collect();
    assert_eq!(names, ["secrets", "misconfigurations"]);
    let root = junit(&sample_report());
    let names: Vec<&str> = root
        .children_named("testsuite")
        .map(|s| s.attribute("name"))
        .collect();
    assert_eq!(names, ["vulnerabilities"]);
}

#[test]
fn junit_of_a_clean_scan_is_one_passing_test() {
    let mut report = findings_only_report();
    report.secrets.clear();
    report.misconfigurations.clear();
    let root = junit(&report);
    assert_counts_add_up(&root);
    let suites: Vec<&Element> = root.children_named("testsuite").collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), "moat");
    let cases: Vec<&Element> = suites[0].children_named("testcase").collect();
    assert_eq!(cases.len(), 1);
    assert!(cases[0].children.is_empty(), "the test case passes");
    assert_eq!(cases[0].attribute("classname"), "registry.example/debian-app:1.0");
    assert_eq!(root.attribute("failures"), "0");
}

#[test]
fn junit_escapes_hostile_text() {
    let mut report = full_report();
    let hostile = "a]]></failure><x y=\"1\">&amp; \x1b[2J\x07 'q'\r\nnext\ttab";
    report.misconfigurations[0].message = hostile.to_string();
    report.misconfigurations[0].location.path = "<dir>/\"file\"&".to_string();
    report.secrets[0].title = hostile.to_string();
    let root = junit(&report);
    assert_counts_add_up(&root);
    let expected = "a]]></failure><x y=\"1\">&amp; ?[2J? 'q'\r\nnext\ttab";
    let misconfigurations = root
        .children_named("testsuite")
        .find(|s| s.attribute("name") == "misconfigurations")
        .expect("the misconfigurations suite");
    let case = misconfigurations
        .children_named("testcase")
        .find(|c| c.attribute("classname") == "<dir>/\"file\"&")
        .expect("the test case of the renamed file");
    assert_eq!(case.children[0].attribute("message"), expected);
    assert!(case.children[0].text.contains(&format!("Message: {expected}")));
    let secrets = root
        .children_named("testsuite")
        .find(|s| s.attribute("name") == "secrets")
        .expect("the secrets suite");
    assert!(secrets
        .children_named("testcase")
        .any(|c| c.attribute("name") == format!("aws-access-token: {}", expected.trim())));
}
