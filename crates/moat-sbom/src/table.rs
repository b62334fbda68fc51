//! A human-readable table: NAME, VERSION, TYPE, LOCATION, like syft's table output.
//!
//! Plain space padding rather than a table crate: four left-aligned columns need nothing more,
//! and the output stays stable for snapshot tests.

use crate::SbomError;
use moat_core::{Inventory, Package, SourceKind};
use std::io::Write;

const HEADERS: [&str; 4] = ["NAME", "VERSION", "TYPE", "LOCATION"];
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Writes the table; `color` adds ANSI bold/dim styling.
pub(crate) fn write(inventory: &Inventory, color: bool, out: &mut dyn Write) -> Result<(), SbomError> {
    writeln!(out, "{}", header_line(inventory))?;
    let mut rows: Vec<[String; 4]> = inventory.packages.iter().map(row).collect();
    rows.sort();
    if rows.is_empty() {
        writeln!(out, "No packages found.")?;
        return Ok(());
    }
    let widths = column_widths(&rows);
    let header: [String; 4] = HEADERS.map(str::to_string);
    write_row(out, &header, &widths, color.then_some(BOLD))?;
    for row in &rows {
        write_row(out, row, &widths, None)?;
    }
    let summary = format!("{} packages", rows.len());
    match color {
        true => writeln!(out, "{DIM}{summary}{RESET}")?,
        false => writeln!(out, "{summary}")?,
    }
    Ok(())
}

fn header_line(inventory: &Inventory) -> String {
    let kind = match inventory.source.kind {
        SourceKind::Image => "image",
        SourceKind::Directory => "directory",
        SourceKind::Sbom => "sbom",
    };
    let name = if inventory.source.name.is_empty() {
        &inventory.source.user_input
    } else {
        &inventory.source.name
    };
    let distro = match &inventory.distro {
        Some(d) if !d.pretty_name.is_empty() => d.pretty_name.clone(),
        Some(d) => format!("{} {}", d.id, d.version_id).trim_end().to_string(),
        None => "none detected".to_string(),
    };
    format!("Source: {name} ({kind})  Distro: {distro}")
}

fn row(package: &Package) -> [String; 4] {
    let location = match package.locations.len() {
        0 => String::new(),
        1 => package.primary_path().to_string(),
        n => format!("{} (+{} more)", package.primary_path(), n - 1),
    };
    [
        clean(&package.name),
        clean(&package.version),
        package.package_type.to_string(),
        clean(&location),
    ]
}

/// Replaces control characters so untrusted names cannot inject terminal escapes.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Widest a column is padded to: a rare very long name (a Go module replaced by a deep local
/// path, say) overflows its cell instead of pushing every other row off the screen.
const MAX_COLUMN_WIDTH: usize = 48;

fn column_widths(rows: &[[String; 4]]) -> [usize; 4] {
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count().min(MAX_COLUMN_WIDTH));
        }
    }
    widths
}

fn write_row(
    out: &mut dyn Write,
    cells: &[String; 4],
    widths: &[usize; 4],
    style: Option<&str>,
) -> Result<(), SbomError> {
    let mut line = String::new();
    let last = cells.len() - 1;
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(cell);
        if index < last {
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.push_str(&" ".repeat(pad));
        }
    }
    match style {
        Some(style) => writeln!(out, "{style}{line}{RESET}")?,
        None => writeln!(out, "{line}")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(name: &str) -> [String; 4] {
        [
            name.to_string(),
            "1.0".to_string(),
            "npm".to_string(),
            "/a".to_string(),
        ]
    }

    #[test]
    fn a_very_long_name_overflows_without_widening_the_column() {
        let long = "x".repeat(120);
        let rows = [cells("short"), cells(&long)];
        let widths = column_widths(&rows);
        assert_eq!(widths[0], MAX_COLUMN_WIDTH);
        let mut out = Vec::new();
        for row in &rows {
            write_row(&mut out, row, &widths, None).expect("write to memory");
        }
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("1.0"), Some(MAX_COLUMN_WIDTH + 2));
        assert!(lines[1].starts_with(&format!("{long}  1.0")), "{}", lines[1]);
    }
}
