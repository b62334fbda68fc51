//! Golden output of every format for a small report, byte-identical repeated writes, and what
//! each format must say about the findings.

mod common;

use common::{
    options, render, render_json, render_text, sample_report, strip_ansi, LAYER_APP, SUPPRESSED_BY,
};
use moat_core::Report;
use moat_report::{Format, WriteOptions};
use serde_json::Value;
use std::collections::BTreeSet;

/// The creation time CycloneDX output carries in this environment (`SOURCE_DATE_EPOCH` or the
/// epoch), replaced so snapshots hold either way.
fn without_timestamp(text: &str) -> String {
    let document: Value = serde_json::from_str(text).expect("CycloneDX is JSON");
    let timestamp = document["metadata"]["timestamp"]
        .as_str()
        .expect("a timestamp")
        .to_string();
    if std::env::var("SOURCE_DATE_EPOCH").map_or(true, |v| v.trim().is_empty()) {
        assert_eq!(timestamp, "1970-01-01T00:00:00Z");
    }
    text.replace(&timestamp, "[timestamp]")
}

#[test]
fn snapshot_table() {
    insta::assert_snapshot!("table", render_text(&sample_report(), Format::Table, &options()));
}

#[test]
fn snapshot_table_with_suppressed() {
    let opts = WriteOptions {
        show_suppressed: true,
        ..options()
    };
    insta::assert_snapshot!(
        "table-suppressed",
        render_text(&sample_report(), Format::Table, &opts)
    );
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", render_text(&sample_report(), Format::Json, &options()));
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif", render_text(&sample_report(), Format::Sarif, &options()));
}

#[test]
fn snapshot_cyclonedx() {
    let text = render_text(&sample_report(), Format::CycloneDx, &options());
    insta::assert_snapshot!("cyclonedx", without_timestamp(&text));
}

#[test]
fn every_format_is_deterministic_and_independent_of_input_order() {
    let report = sample_report();
    let mut shuffled = report.clone();
    shuffled.vulnerabilities.reverse();
    shuffled.warnings.reverse();
    assert_ne!(shuffled.vulnerabilities, report.vulnerabilities);
    for format in Format::ALL {
        for color in [false, true] {
            let opts = WriteOptions {
                color,
                show_suppressed: true,
                ..options()
            };
            let first = render(&report, format, &opts);
            assert!(!first.is_empty(), "{format}");
            assert_eq!(
                first,
                render(&report, format, &opts),
                "{format}: two writes differ"
            );
            assert_eq!(
                first,
                render(&shuffled, format, &opts),
                "{format}: input order leaks"
            );
        }
    }
}

#[test]
fn table_groups_by_package_and_summarizes() {
    let text = render_text(&sample_report(), Format::Table, &options());
    assert!(!text.contains('\x1b'), "escape codes with colour off");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "registry.example/debian-app:1.0 (debian 12)");
    assert_eq!(lines[1], "=".repeat(lines[0].len()));
    let header = lines
        .iter()
        .position(|l| l.starts_with("PACKAGE"))
        .expect("a header row");
    for column in [
        "VULNERABILITY",
        "SEVERITY",
        "STATUS",
        "INSTALLED",
        "FIXED",
        "TITLE",
    ] {
        assert!(
            lines[header].contains(column),
            "{column} missing: {}",
            lines[header]
        );
    }
    // Rows start where a vulnerability id is; the lines between them continue wrapped cells.
    let rows: Vec<usize> = (header + 1..lines.len())
        .filter(|i| lines[*i].contains("CVE-"))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    let row = |n: usize| lines[rows[n]];
    // libc6's two findings: the package is named on the first row only.
    assert!(
        row(0).starts_with("libc6 ") && row(0).contains("CVE-2010-4756"),
        "{}",
        row(0)
    );
    assert!(row(0).contains("LOW") && row(0).contains("unfixed"), "{}", row(0));
    assert!(row(0).contains("The glob implementation"), "{}", row(0));
    assert!(
        row(1).starts_with(' ') && row(1).trim_start().starts_with("CVE-2023-4911"),
        "{}",
        row(1)
    );
    assert!(
        row(1).contains("2.36-9+deb12u3") && !row(1).contains("2.36-9+deb12u1"),
        "{}",
        row(1)
    );
    // A Maven name wider than its column continues on the next line.
    assert!(
        row(2).starts_with("org.apache.logging. ") && row(2).contains("CVE-2021-44228 [KEV]"),
        "{}",
        row(2)
    );
    assert!(
        row(2).contains("2.12.2, 2.15.0") && row(2).contains("2.14.1"),
        "{}",
        row(2)
    );
    assert!(
        lines[rows[2] + 1].starts_with("log4j:log4j-core "),
        "{}",
        lines[rows[2] + 1]
    );
    // A title too long for its column takes a second line, cut.
    let continued = lines[rows[0] + 1];
    assert!(
        continued.starts_with(' ') && continued.trim_start().starts_with("in the GNU C"),
        "{continued}"
    );
    assert!(lines.contains(&"Total: 3 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 1, CRITICAL: 1)"));
    assert!(lines.contains(&"1 suppressed (by .moatignore / VEX)"));
    assert!(
        !text.contains("CVE-2021-45046"),
        "suppressed finding listed without show_suppressed"
    );
    assert!(text.contains("1 file could not be read:"));
    for line in &lines {
        assert!(unicode_columns(line) <= 120, "wider than 120 columns: {line}");
    }
}

fn unicode_columns(line: &str) -> usize {
    line.chars().count()
}

#[test]
fn table_lists_suppressed_findings_on_request() {
    let opts = WriteOptions {
        show_suppressed: true,
        ..options()
    };
    let text = render_text(&sample_report(), Format::Table, &opts);
    let line = text
        .lines()
        .find(|l| l.contains("CVE-2021-45046"))
        .expect("the suppressed finding is listed");
    assert!(
        line.starts_with("org.apache.logging.") && line.contains("CRITICAL"),
        "{line}"
    );
    assert!(line.contains("openvex vex.json: not_affected"), "{line}");
    assert!(text.contains("1 suppressed (by .moatignore / VEX):"));
}

#[test]
fn table_colours_severities_and_kev() {
    let plain = render_text(&sample_report(), Format::Table, &options());
    let opts = WriteOptions {
        color: true,
        ..options()
    };
    let colored = render_text(&sample_report(), Format::Table, &opts);
    assert!(colored.contains("\x1b[1;31mCRITICAL\x1b[0m"));
    assert!(colored.contains("\x1b[31mHIGH\x1b[0m"));
    assert!(colored.contains("\x1b[1;35mCVE-2021-44228 [KEV]\x1b[0m"));
    assert_eq!(strip_ansi(&colored), plain, "colour changes the layout");
}

#[test]
fn table_of_a_clean_report() {
    let mut report = sample_report();
    report.vulnerabilities.clear();
    report.suppressed.clear();
    report.warnings.clear();
    let text = render_text(&report, Format::Table, &options());
    assert!(text.contains("No vulnerabilities found."));
    assert!(text.contains("Total: 0 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0)"));
    assert!(!text.contains("suppressed"));
}

#[test]
fn long_titles_take_two_lines_and_hostile_text_is_defused() {
    let mut report = sample_report();
    report.vulnerabilities[0].title = format!("evil\x1b[2J\n{}", "long title ".repeat(30));
    report.vulnerabilities[0].package.name = "x".repeat(80);
    let text = render_text(&report, Format::Table, &options());
    assert!(!text.contains('\x1b'));
    let lines: Vec<&str> = text.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("CVE-2010-4756"))
        .expect("row");
    assert!(lines[row].starts_with(&"x".repeat(20)), "{}", lines[row]);
    assert!(lines[row].contains("evil?[2J?long title"), "{}", lines[row]);
    assert!(!lines[row].ends_with('…'), "{}", lines[row]);
    // The title's second line is its last, cut; the name wraps on until it is whole.
    assert!(lines[row + 1].ends_with('…'), "{}", lines[row + 1]);
    assert_eq!(lines[row + 1].chars().count(), 120, "{}", lines[row + 1]);
    assert_eq!(lines[row + 3], "x".repeat(20));
    assert!(lines.iter().all(|l| l.chars().count() <= 120));
}

#[test]
fn json_carries_the_report_the_schema_and_the_tool() {
    let report = sample_report();
    let document = render_json(&report, Format::Json);
    assert_eq!(document["schema"], moat_report::REPORT_SCHEMA);
    assert_eq!(
        document["tool"],
        serde_json::json!({ "name": "moat", "version": "0.1.0" })
    );
    assert_eq!(document["suppressed"][0]["suppressed_by"], SUPPRESSED_BY);
    assert_eq!(document["vulnerabilities"][2]["kev"]["date_added"], "2021-12-10");
    let mut fields = document.as_object().expect("an object").clone();
    fields.remove("schema");
    fields.remove("tool");
    let back: Report = serde_json::from_value(Value::Object(fields)).expect("reads back as a Report");
    let expected = Report {
        inventory: None,
        ..report
    };
    assert_eq!(back, expected);
    let text = render_text(&sample_report(), Format::Json, &options());
    assert!(text.starts_with("{\n  \"schema\": \"moat-report/v1\",\n  \"tool\": {\n    \"name\""));
}

#[test]
fn sarif_rules_results_and_fingerprints() {
    let document = render_json(&sample_report(), Format::Sarif);
    assert_eq!(document["version"], "2.1.0");
    let run = &document["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "moat");
    assert_eq!(run["tool"]["driver"]["version"], "0.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(
        rule_ids,
        [
            "CVE-2010-4756",
            "CVE-2021-44228",
            "CVE-2021-45046",
            "CVE-2023-4911"
        ]
    );
    let log4shell = &rules[1];
    assert_eq!(
        log4shell["shortDescription"]["text"],
        "Remote code injection in Log4j"
    );
    assert_eq!(
        log4shell["helpUri"],
        "https://logging.apache.org/log4j/2.x/security.html"
    );
    assert_eq!(log4shell["properties"]["security-severity"], "10.0");
    assert_eq!(
        log4shell["properties"]["tags"],
        serde_json::json!(["vulnerability", "security", "CRITICAL"])
    );
    assert!(log4shell["help"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("org.apache.logging.log4j:log4j-core 2.14.1: 2.12.2, 2.15.0")));
    assert_eq!(rules[3]["properties"]["security-severity"], "7.8");
    // No CVSS: a score inside the LOW band.
    assert_eq!(rules[0]["properties"]["security-severity"], "2.0");

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    let by_id = |id: &str| results.iter().find(|r| r["ruleId"] == id).expect("result");
    let log4shell = by_id("CVE-2021-44228");
    assert_eq!(log4shell["level"], "error");
    let message = log4shell["message"]["text"].as_str().expect("message");
    assert!(message.contains("Package: org.apache.logging.log4j:log4j-core\nInstalled Version: 2.14.1"));
    assert!(message.contains("Fixed Version: 2.12.2, 2.15.0"), "{message}");
    let location = &log4shell["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        "app/lib/app.jar:BOOT-INF/lib/log4j-core-2.14.1.jar"
    );
    assert_eq!(location["physicalLocation"]["region"]["startLine"], 1);
    assert_eq!(location["properties"]["layer"], LAYER_APP);
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    );
    assert_eq!(log4shell["properties"]["epss"]["score"], 0.94358);
    assert_eq!(by_id("CVE-2023-4911")["level"], "error");
    assert_eq!(by_id("CVE-2010-4756")["level"], "note");
    assert!(by_id("CVE-2023-4911").get("suppressions").is_none());
    let suppressed = by_id("CVE-2021-45046");
    assert_eq!(
        suppressed["suppressions"],
        serde_json::json!([{ "kind": "external", "status": "accepted", "justification": SUPPRESSED_BY }])
    );

    let fingerprints: BTreeSet<String> = results
        .iter()
        .map(|r| r["partialFingerprints"]["moatVulnerability/v1"].to_string())
        .collect();
    assert_eq!(fingerprints.len(), 4, "fingerprints collide");
}

#[test]
fn sarif_fingerprint_survives_an_upgrade_that_does_not_fix() {
    let fingerprint = |report: &Report| {
        let document = render_json(report, Format::Sarif);
        document["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["ruleId"] == "CVE-2010-4756")
            .expect("result")["partialFingerprints"]
            .clone()
    };
    let before = sample_report();
    let mut upgraded = before.clone();
    upgraded.vulnerabilities[0].package.version = "2.36-9+deb12u9".to_string();
    assert_eq!(fingerprint(&before), fingerprint(&upgraded));
    let mut moved = before.clone();
    moved.vulnerabilities[0].package.path = "/other/status".to_string();
    assert_ne!(fingerprint(&before), fingerprint(&moved));
}

/// Component bom-refs of a CycloneDX document.
fn component_refs(document: &Value) -> BTreeSet<String> {
    document["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["bom-ref"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn cyclonedx_vulnerabilities_point_at_components() {
    let document = render_json(&sample_report(), Format::CycloneDx);
    assert_eq!(document["specVersion"], "1.6");
    let refs = component_refs(&document);
    let vulnerabilities = document["vulnerabilities"].as_array().expect("vulnerabilities");
    assert_eq!(vulnerabilities.len(), 4);
    let mut own_refs = BTreeSet::new();
    for vulnerability in vulnerabilities {
        for affect in vulnerability["affects"].as_array().expect("affects") {
            let target = affect["ref"].as_str().expect("ref");
            assert!(refs.contains(target), "{target} is no component");
        }
        let own = vulnerability["bom-ref"].as_str().expect("bom-ref");
        assert!(
            !refs.contains(own) && own_refs.insert(own.to_string()),
            "{own} is not unique"
        );
    }
    let by_id = |id: &str| {
        vulnerabilities
            .iter()
            .find(|v| v["id"] == id)
            .expect("vulnerability")
    };
    let log4shell = by_id("CVE-2021-44228");
    assert_eq!(
        log4shell["source"],
        serde_json::json!({ "name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228" })
    );
    assert_eq!(log4shell["references"][0]["id"], "GHSA-jfh8-c2jp-5v3q");
    assert_eq!(log4shell["references"][0]["source"]["name"], "GitHub Advisories");
    let methods: Vec<&Value> = log4shell["ratings"]
        .as_array()
        .expect("ratings")
        .iter()
        .map(|r| &r["method"])
        .collect();
    assert_eq!(methods, ["CVSSv31", "CVSSv4"]);
    assert_eq!(log4shell["ratings"][0]["severity"], "critical");
    assert_eq!(
        log4shell["recommendation"],
        "Upgrade org.apache.logging.log4j:log4j-core to one of 2.12.2, 2.15.0"
    );
    assert_eq!(
        log4shell["affects"][0]["versions"],
        serde_json::json!([{ "version": "2.14.1", "status": "affected" }])
    );
    assert!(log4shell.get("analysis").is_none());
    let suppressed = by_id("CVE-2021-45046");
    assert_eq!(suppressed["analysis"]["state"], "not_affected");
    assert_eq!(suppressed["analysis"]["justification"], "code_not_reachable");
    assert_eq!(suppressed["published"], "2021-12-14T00:00:00Z");
    let unfixed = by_id("CVE-2010-4756");
    assert_eq!(
        unfixed["recommendation"],
        "No fixed version of libc6 is known yet"
    );
    assert_eq!(
        unfixed["ratings"],
        serde_json::json!([{ "source": { "name": "ecosystem" }, "severity": "low", "method": "other" }])
    );
    assert_eq!(
        by_id("CVE-2023-4911")["references"][0]["source"]["name"],
        "osv:Debian"
    );
}

#[test]
fn cyclonedx_without_an_inventory_lists_the_vulnerable_packages() {
    let mut report = sample_report();
    report.inventory = None;
    let document = render_json(&report, Format::CycloneDx);
    let refs = component_refs(&document);
    let with_inventory = component_refs(&render_json(&sample_report(), Format::CycloneDx));
    assert_eq!(refs, with_inventory);
    let log4j = document["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "log4j-core")
        .expect("log4j-core is a component");
    assert_eq!(log4j["group"], "org.apache.logging.log4j");
    assert_eq!(
        log4j["purl"],
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    );
}

#[test]
fn cyclonedx_serial_number_covers_the_vulnerabilities() {
    let serial = |report: &Report| render_json(report, Format::CycloneDx)["serialNumber"].clone();
    let report = sample_report();
    let mut fewer = report.clone();
    fewer.suppressed.clear();
    assert_ne!(serial(&report), serial(&fewer));
}
