//! The secrets and misconfigurations sections of the table: a titled section per family, the
//! findings grouped by file under a heading naming the file (and its layer), one row per finding
//! with a second indented line (the matched line of a secret, the fix of a misconfiguration),
//! and a severity summary.

use super::{
    column, column_widths, severity_cell, total_line, write_header_row, write_row, Cell, Column, Overflow,
    BOLD, GAP, LINE_WIDTH, RESET,
};
use crate::text::{clean, truncate, width};
use crate::ReportError;
use moat_core::{Misconfiguration, SecretFinding, Severity, TextLocation};
use std::io::Write;

/// How far the rows of a file are indented under its heading.
const INDENT: &str = "  ";
/// Hex digits of a layer's diff id shown in a file heading.
const SHORT_LAYER_ID: usize = 12;

const SECRET_COLUMNS: [Column; 4] = [
    column("LINE", 12, Overflow::Truncate),
    column("SEVERITY", 8, Overflow::Truncate),
    column("RULE", 30, Overflow::Wrap),
    column("TITLE", LINE_WIDTH, Overflow::WrapOnce),
];

const MISCONFIGURATION_COLUMNS: [Column; 5] = [
    column("LINE", 12, Overflow::Truncate),
    column("SEVERITY", 8, Overflow::Truncate),
    column("CHECK", 20, Overflow::Wrap),
    column("RESOURCE", 24, Overflow::Wrap),
    column("ISSUE", LINE_WIDTH, Overflow::WrapOnce),
];

/// One finding as the section shows it: its file, its row and its second line.
struct Entry<'a> {
    location: &'a TextLocation,
    /// Said after the path in the heading (`dockerfile`), if anything.
    file_kind: Option<&'static str>,
    severity: Severity,
    row: Vec<Cell>,
    detail: String,
}

/// The section of a family: its title, columns and findings in canonical order.
struct Section<'a> {
    title: &'static str,
    columns: &'a [Column],
    entries: Vec<Entry<'a>>,
}

/// Writes the secrets section.
pub(super) fn write_secrets(
    secrets: &[SecretFinding],
    color: bool,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let entries = secrets.iter().map(secret_entry).collect();
    let section = Section {
        title: "Secrets",
        columns: &SECRET_COLUMNS,
        entries,
    };
    write_section(&section, color, out)
}

/// Writes the misconfigurations section.
pub(super) fn write_misconfigurations(
    misconfigurations: &[Misconfiguration],
    color: bool,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let entries = misconfigurations.iter().map(misconfiguration_entry).collect();
    let section = Section {
        title: "Misconfigurations",
        columns: &MISCONFIGURATION_COLUMNS,
        entries,
    };
    write_section(&section, color, out)
}

/// A secret's row (where, severity, rule, title) and the matched line, as given (redacted
/// unless the scan was asked to show secrets).
fn secret_entry(secret: &SecretFinding) -> Entry<'_> {
    Entry {
        location: &secret.location,
        file_kind: None,
        severity: secret.severity,
        row: vec![
            Cell::plain(position(&secret.location)),
            severity_cell(secret.severity),
            Cell::plain(&secret.rule_id),
            Cell::plain(&secret.title),
        ],
        detail: secret.line.trim().to_string(),
    }
}

/// A misconfiguration's row (where, severity, check, resource, title and message) and its fix.
fn misconfiguration_entry(finding: &Misconfiguration) -> Entry<'_> {
    let issue = match finding.message.trim().is_empty() {
        true => finding.title.clone(),
        false => format!("{}: {}", finding.title, finding.message),
    };
    let detail = match finding.remediation.trim().is_empty() {
        true => String::new(),
        false => format!("Fix: {}", finding.remediation.trim()),
    };
    Entry {
        location: &finding.location,
        file_kind: Some(finding.kind.as_str()),
        severity: finding.severity,
        row: vec![
            Cell::plain(position(&finding.location)),
            severity_cell(finding.severity),
            Cell::plain(&finding.check_id),
            Cell::plain(finding.resource.as_deref().unwrap_or("")),
            Cell::plain(issue),
        ],
        detail,
    }
}

/// `12:5`, `12` without a column, `-` for a finding about the whole file.
fn position(location: &TextLocation) -> String {
    match (location.start_line, location.start_column) {
        (0, _) => "-".to_string(),
        (line, 0) => line.to_string(),
        (line, column) => format!("{line}:{column}"),
    }
}

/// The title, each file's heading and rows, and the summary.
fn write_section(section: &Section<'_>, color: bool, out: &mut dyn Write) -> Result<(), ReportError> {
    write_title(section.title, color, out)?;
    let rows: Vec<Vec<Cell>> = section.entries.iter().map(|e| e.row.clone()).collect();
    let widths = column_widths(section.columns, &rows, LINE_WIDTH - INDENT.len());
    let detail_indent = " ".repeat(INDENT.len() + widths.first().copied().unwrap_or(0) + GAP);
    let mut previous_file = None;
    for entry in &section.entries {
        let file = (&entry.location.path, &entry.location.layer);
        if previous_file != Some(file) {
            if previous_file.is_some() {
                writeln!(out)?;
            }
            write_file_heading(entry, color, out)?;
            write_header_row(out, INDENT, section.columns, &widths, color)?;
            previous_file = Some(file);
        }
        write_row(out, INDENT, section.columns, &entry.row, &widths, color)?;
        if !entry.detail.is_empty() {
            let room = LINE_WIDTH.saturating_sub(detail_indent.len());
            writeln!(out, "{detail_indent}{}", truncate(&clean(&entry.detail), room))?;
        }
    }
    writeln!(out)?;
    let severities = section.entries.iter().map(|e| e.severity);
    writeln!(out, "{}", total_line(severities, color))?;
    Ok(())
}

/// The section's title, underlined.
fn write_title(title: &str, color: bool, out: &mut dyn Write) -> Result<(), ReportError> {
    match color {
        true => writeln!(out, "{BOLD}{title}{RESET}")?,
        false => writeln!(out, "{title}")?,
    }
    writeln!(out, "{}", "=".repeat(width(title)))?;
    writeln!(out)?;
    Ok(())
}

/// `path (dockerfile, layer 7ec79cfb43d7)`: the file, what kind it is and the layer holding it.
fn write_file_heading(entry: &Entry<'_>, color: bool, out: &mut dyn Write) -> Result<(), ReportError> {
    let location = entry.location;
    let mut details: Vec<String> = entry.file_kind.iter().map(|k| k.to_string()).collect();
    if let Some(layer) = &location.layer {
        details.push(format!("layer {}", short_layer_id(layer)));
    }
    let heading = match details.is_empty() {
        true => location.path.clone(),
        false => format!("{} ({})", location.path, details.join(", ")),
    };
    let heading = truncate(&clean(&heading), LINE_WIDTH);
    match color {
        true => writeln!(out, "{BOLD}{heading}{RESET}")?,
        false => writeln!(out, "{heading}")?,
    }
    Ok(())
}

/// The first hex digits of a diff id (`sha256:7ec79cfb43d7…` → `7ec79cfb43d7`).
fn short_layer_id(diff_id: &str) -> String {
    let hex = diff_id.split_once(':').map_or(diff_id, |(_, hex)| hex);
    hex.chars().take(SHORT_LAYER_ID).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_layer_ids() {
        assert_eq!(position(&TextLocation::at("f", 12, 5)), "12:5");
        assert_eq!(position(&TextLocation::at("f", 12, 0)), "12");
        assert_eq!(position(&TextLocation::file("f")), "-");
        assert_eq!(
            short_layer_id("sha256:7ec79cfb43d7733d3401b69bdf1d7afe"),
            "7ec79cfb43d7"
        );
        assert_eq!(short_layer_id("abc"), "abc");
    }
}
