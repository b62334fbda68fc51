//! Moat's report JSON: the [`Report`] as it is, with a `schema` field naming the format version
//! and the tool that wrote it. Suppressed findings are included with what suppressed them.

use crate::{ReportError, WriteOptions};
use moat_core::Report;
use serde::Serialize;

/// The `schema` value of the documents this version writes.
pub const REPORT_SCHEMA: &str = "moat-report/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool<'a>,
    #[serde(flatten)]
    report: &'a Report,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

/// Writes the report as pretty JSON.
pub(crate) fn write(
    report: &Report,
    options: &WriteOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let document = Document {
        schema: REPORT_SCHEMA,
        tool: Tool {
            name: "moat",
            version: options.version(),
        },
        report,
    };
    crate::write_pretty_json(&document, out)
}
