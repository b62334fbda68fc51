//! The terminal table, laid out like Trivy's: a header naming the target and its distribution,
//! the vulnerabilities grouped by package, a severity summary and what was suppressed, then the
//! secrets and the misconfigurations grouped by file, each with its own summary.
//!
//! Plain space padding and ANSI codes rather than a table crate, as moat-sbom's table does: the
//! layout is a handful of left-aligned columns fitted to 120 terminal columns, colour wraps a
//! cell's text after its width is measured, and the output stays stable for snapshot tests.

use crate::describe::vulnerability_title;
use crate::text::{clean, truncate, width};
use crate::{ReportError, WriteOptions};
use moat_core::{Report, Severity, SourceKind, SuppressedFinding, VulnerabilityFinding};
use std::io::Write;
use unicode_width::UnicodeWidthChar;

/// The width the table is fitted to.
const LINE_WIDTH: usize = 120;
/// Spaces between columns.
const GAP: usize = 2;
/// The last column never gets fewer columns than this, even when the others are wide.
const MIN_LAST_COLUMN: usize = 16;
/// Warnings listed before the rest are only counted.
const MAX_LISTED_WARNINGS: usize = 5;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const KEV_STYLE: &str = "\x1b[1;35m";

mod sections;

/// What a cell does with text wider than its column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    /// Continue on the next lines (names, versions: every character matters).
    Wrap,
    /// Continue on the next line once, then cut with `…` (titles: the JSON output has them
    /// whole).
    WrapOnce,
    /// Cut with `…`.
    Truncate,
}

/// A column: its header, the most terminal columns it may take (the last one takes the rest of
/// the line) and what happens to longer text.
struct Column {
    header: &'static str,
    max: usize,
    overflow: Overflow,
}

const fn column(header: &'static str, max: usize, overflow: Overflow) -> Column {
    Column {
        header,
        max,
        overflow,
    }
}

const FINDING_COLUMNS: [Column; 7] = [
    column("PACKAGE", 20, Overflow::Wrap),
    column("VULNERABILITY", 25, Overflow::Wrap),
    column("SEVERITY", 8, Overflow::Truncate),
    column("STATUS", 12, Overflow::Truncate),
    column("INSTALLED", 15, Overflow::Wrap),
    column("FIXED", 15, Overflow::Wrap),
    column("TITLE", LINE_WIDTH, Overflow::WrapOnce),
];

const SUPPRESSED_COLUMNS: [Column; 5] = [
    column("PACKAGE", 20, Overflow::Wrap),
    column("VULNERABILITY", 25, Overflow::Wrap),
    column("SEVERITY", 8, Overflow::Truncate),
    column("INSTALLED", 15, Overflow::Wrap),
    column("SUPPRESSED BY", LINE_WIDTH, Overflow::Wrap),
];

/// One table cell: its text and the ANSI style to show it in when colour is on.
#[derive(Clone)]
struct Cell {
    text: String,
    style: Option<&'static str>,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: clean(&text.into()),
            style: None,
        }
    }

    fn styled(text: impl Into<String>, style: &'static str) -> Cell {
        Cell {
            text: clean(&text.into()),
            style: Some(style),
        }
    }
}

/// Writes the table.
pub(crate) fn write(report: &Report, options: &WriteOptions, out: &mut dyn Write) -> Result<(), ReportError> {
    let header = header_line(report);
    writeln!(out, "{header}")?;
    writeln!(out, "{}", "=".repeat(width(&header).min(LINE_WIDTH)))?;
    if has_vulnerability_section(report) {
        writeln!(out)?;
        write_vulnerabilities(report, options, out)?;
    }
    if !report.secrets.is_empty() {
        writeln!(out)?;
        sections::write_secrets(&report.secrets, options.color, out)?;
    }
    if !report.misconfigurations.is_empty() {
        writeln!(out)?;
        sections::write_misconfigurations(&report.misconfigurations, options.color, out)?;
    }
    if !has_vulnerability_section(report) && report.secrets.is_empty() && report.misconfigurations.is_empty()
    {
        writeln!(out)?;
        writeln!(out, "No findings.")?;
        writeln!(out)?;
        writeln!(out, "{}", total_line(std::iter::empty(), options.color))?;
    }
    write_warnings(report, out)
}

/// Whether the vulnerability section is written: for scans that looked for vulnerabilities
/// (advisory data was used, or findings were reported or suppressed). A secret- or config-only
/// scan that found nothing says "No findings." instead.
fn has_vulnerability_section(report: &Report) -> bool {
    report.database.is_some() || !report.vulnerabilities.is_empty() || !report.suppressed.is_empty()
}

/// The vulnerability table, its summary and what was suppressed.
fn write_vulnerabilities(
    report: &Report,
    options: &WriteOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match report.vulnerabilities.is_empty() {
        true => writeln!(out, "No vulnerabilities found.")?,
        false => {
            let rows = finding_rows(&report.vulnerabilities);
            write_table(out, &FINDING_COLUMNS, &rows, options.color)?;
        }
    }
    writeln!(out)?;
    let severities = report.vulnerabilities.iter().map(|f| f.severity);
    writeln!(out, "{}", total_line(severities, options.color))?;
    write_suppressed(report, options, out)
}

/// `NAME (debian 12)`, or `NAME (image)` when no distribution was detected.
fn header_line(report: &Report) -> String {
    let name = match report.source.name.is_empty() {
        true => &report.source.user_input,
        false => &report.source.name,
    };
    let detail = match &report.distro {
        Some(distro) => format!("{} {}", distro.id, distro.version_id)
            .trim_end()
            .to_string(),
        None => match report.source.kind {
            SourceKind::Image => "image".to_string(),
            SourceKind::Directory => "directory".to_string(),
            SourceKind::Sbom => "sbom".to_string(),
        },
    };
    clean(&format!("{name} ({detail})"))
}

/// One row per finding; the package and installed version only on a package's first row.
fn finding_rows(findings: &[VulnerabilityFinding]) -> Vec<Vec<Cell>> {
    let mut rows = Vec::with_capacity(findings.len());
    let mut previous = None;
    for finding in findings {
        let first_of_package = previous != Some(&finding.package);
        previous = Some(&finding.package);
        let (package, installed) = match first_of_package {
            true => (finding.package.name.as_str(), finding.package.version.as_str()),
            false => ("", ""),
        };
        rows.push(vec![
            Cell::plain(package),
            id_cell(finding),
            severity_cell(finding.severity),
            Cell::plain(finding.status.as_str()),
            Cell::plain(installed),
            Cell::plain(finding.fixed_versions.join(", ")),
            Cell::plain(vulnerability_title(finding)),
        ]);
    }
    rows
}

/// The id, tagged `[KEV]` when CISA lists it as exploited.
fn id_cell(finding: &VulnerabilityFinding) -> Cell {
    match finding.kev.is_some() {
        true => Cell::styled(format!("{} [KEV]", finding.id), KEV_STYLE),
        false => Cell::plain(&finding.id),
    }
}

fn severity_cell(severity: Severity) -> Cell {
    Cell::styled(severity.as_str(), severity_style(severity))
}

fn severity_style(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[34m",
        Severity::Unknown => DIM,
    }
}

/// `Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)` for the findings' severities.
fn total_line(severities: impl Iterator<Item = Severity>, color: bool) -> String {
    let severities: Vec<Severity> = severities.collect();
    let counts: Vec<String> = Severity::ALL
        .into_iter()
        .map(|severity| {
            let count = severities.iter().filter(|s| **s == severity).count();
            match color {
                true => format!("{}{severity}{RESET}: {count}", severity_style(severity)),
                false => format!("{severity}: {count}"),
            }
        })
        .collect();
    format!("Total: {} ({})", severities.len(), counts.join(", "))
}

/// The count of suppressed findings and, with `show_suppressed`, their list.
fn write_suppressed(report: &Report, options: &WriteOptions, out: &mut dyn Write) -> Result<(), ReportError> {
    if report.suppressed.is_empty() {
        return Ok(());
    }
    let count = report.suppressed.len();
    if !options.show_suppressed {
        writeln!(out, "{count} suppressed (by .moatignore / VEX)")?;
        return Ok(());
    }
    writeln!(out, "{count} suppressed (by .moatignore / VEX):")?;
    writeln!(out)?;
    let rows: Vec<Vec<Cell>> = report.suppressed.iter().map(suppressed_row).collect();
    write_table(out, &SUPPRESSED_COLUMNS, &rows, options.color)
}

fn suppressed_row(suppressed: &SuppressedFinding) -> Vec<Cell> {
    let finding = &suppressed.finding;
    vec![
        Cell::plain(&finding.package.name),
        id_cell(finding),
        severity_cell(finding.severity),
        Cell::plain(&finding.package.version),
        Cell::plain(&suppressed.suppressed_by),
    ]
}

/// Files that could not be read: the first few, then a count.
fn write_warnings(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let warnings = &report.warnings;
    if warnings.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    match warnings.len() {
        1 => writeln!(out, "1 file could not be read:")?,
        count => writeln!(out, "{count} files could not be read:")?,
    }
    for warning in warnings.iter().take(MAX_LISTED_WARNINGS) {
        let line = format!("  {}: {}", warning.path, warning.message);
        writeln!(out, "{}", truncate(&clean(&line), LINE_WIDTH))?;
    }
    if warnings.len() > MAX_LISTED_WARNINGS {
        let rest = warnings.len() - MAX_LISTED_WARNINGS;
        writeln!(out, "  … and {rest} more (the JSON output lists every one)")?;
    }
    Ok(())
}

/// Writes a header row and `rows`, each column padded to its width.
fn write_table(
    out: &mut dyn Write,
    columns: &[Column],
    rows: &[Vec<Cell>],
    color: bool,
) -> Result<(), ReportError> {
    let widths = column_widths(columns, rows, LINE_WIDTH);
    write_header_row(out, "", columns, &widths, color)?;
    for row in rows {
        write_row(out, "", columns, row, &widths, color)?;
    }
    Ok(())
}

/// Writes the columns' headers, in bold when colour is on.
fn write_header_row(
    out: &mut dyn Write,
    indent: &str,
    columns: &[Column],
    widths: &[usize],
    color: bool,
) -> Result<(), ReportError> {
    let header: Vec<Cell> = columns.iter().map(|c| Cell::styled(c.header, BOLD)).collect();
    write_row(out, indent, columns, &header, widths, color)
}

/// Each column as wide as its widest cell, up to its maximum; the last takes what is left of
/// `line_width`.
fn column_widths(columns: &[Column], rows: &[Vec<Cell>], line_width: usize) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| width(c.header)).collect();
    for row in rows {
        for ((column_width, cell), column) in widths.iter_mut().zip(row).zip(columns) {
            *column_width = (*column_width).max(width(&cell.text).min(column.max));
        }
    }
    if let Some((last, others)) = widths.split_last_mut() {
        let used: usize = others.iter().map(|w| w + GAP).sum();
        *last = (*last).min(line_width.saturating_sub(used).max(MIN_LAST_COLUMN));
    }
    widths
}

/// Writes one row after `indent`: as many lines as its most wrapped cell needs.
fn write_row(
    out: &mut dyn Write,
    indent: &str,
    columns: &[Column],
    cells: &[Cell],
    widths: &[usize],
    color: bool,
) -> Result<(), ReportError> {
    let laid_out: Vec<Vec<String>> = cells
        .iter()
        .zip(columns)
        .zip(widths)
        .map(|((cell, column), column_width)| match column.overflow {
            Overflow::Wrap => wrap(&cell.text, *column_width),
            Overflow::WrapOnce => wrap_in_two_lines(&cell.text, *column_width),
            Overflow::Truncate => vec![truncate(&cell.text, *column_width)],
        })
        .collect();
    let height = laid_out.iter().map(Vec::len).max().unwrap_or(1);
    for line_index in 0..height {
        let mut line = indent.to_string();
        for (index, ((parts, cell), column_width)) in laid_out.iter().zip(cells).zip(widths).enumerate() {
            let text = parts.get(line_index).map(String::as_str).unwrap_or("");
            match (color, cell.style) {
                (true, Some(style)) if !text.is_empty() => line.push_str(&format!("{style}{text}{RESET}")),
                _ => line.push_str(text),
            }
            if index + 1 < cells.len() {
                line.push_str(&" ".repeat(column_width.saturating_sub(width(text)) + GAP));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `text` in lines of at most `max` columns, broken after the last `:`, `/`, `,`, `.`, `-` or
/// space inside the line, else at the width.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = text;
    while width(rest) > max && max > 0 {
        let hard = cut_at_width(rest, max);
        let soft = rest
            .get(..hard)
            .and_then(|head| head.rfind([':', '/', ',', '.', '-', ' ']))
            .map(|at| at + 1)
            .filter(|at| *at > 0);
        let (line, tail) = rest.split_at(soft.unwrap_or(hard));
        lines.push(line.trim_end().to_string());
        rest = tail.trim_start();
    }
    lines.push(rest.to_string());
    lines
}

/// `text` wrapped, in two lines at most: the second one cut with `…` when more text follows.
fn wrap_in_two_lines(text: &str, max: usize) -> Vec<String> {
    let mut lines = wrap(text, max);
    if lines.len() > 2 {
        let rest = lines.split_off(1).join(" ");
        lines.push(truncate(&rest, max));
    }
    lines
}

/// The byte index where the first `max` terminal columns of `text` end (at least one character).
fn cut_at_width(text: &str, max: usize) -> usize {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max {
            return match index {
                0 => c.len_utf8(),
                _ => index,
            };
        }
        used += w;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_prefers_separators() {
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(
            wrap("org.apache.logging.log4j:log4j-core", 20),
            ["org.apache.logging.", "log4j:log4j-core"]
        );
        assert_eq!(wrap("2.12.2, 2.15.0, 2.16.0", 15), ["2.12.2, 2.15.0,", "2.16.0"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("漢字漢字", 3), ["漢", "字", "漢", "字"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(
            wrap_in_two_lines("one two three four five six", 9),
            ["one two", "three fo…"]
        );
        assert_eq!(wrap_in_two_lines("one two three", 9), ["one two", "three"]);
    }
}
