//! Wording shared by the writers, so every format says the same about a finding.

use moat_core::{FixStatus, TextLocation, VulnerabilityFinding};

/// The advice given for every secret: the credential is exposed wherever the file or the image
/// went, so removing it is not enough.
pub(crate) const SECRET_REMEDIATION: &str = "Revoke and rotate the credential, then remove it from \
     the file (in an image, from the layer that added it: a later layer deleting it does not remove it).";

/// The fixed versions, or what the data says about a missing fix.
pub(crate) fn fixed_text(finding: &VulnerabilityFinding) -> String {
    match (finding.status, finding.fixed_versions.is_empty()) {
        (_, false) => finding.fixed_versions.join(", "),
        (FixStatus::WillNotFix, true) => "none (will not be fixed)".to_string(),
        _ => "none yet".to_string(),
    }
}

/// The title, or the first line of the description when the data has no title.
pub(crate) fn vulnerability_title(finding: &VulnerabilityFinding) -> &str {
    match finding.title.is_empty() {
        true => finding.description.lines().next().unwrap_or(""),
        false => &finding.title,
    }
}

/// `path:line:column`, leaving out what is unknown (a line of 0 is the file as a whole).
pub(crate) fn file_position(location: &TextLocation) -> String {
    match (location.start_line, location.start_column) {
        (0, _) => location.path.clone(),
        (line, 0) => format!("{}:{line}", location.path),
        (line, column) => format!("{}:{line}:{column}", location.path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_leave_out_unknown_parts() {
        assert_eq!(file_position(&TextLocation::at("a/b", 3, 7)), "a/b:3:7");
        assert_eq!(file_position(&TextLocation::at("a/b", 3, 0)), "a/b:3");
        assert_eq!(
            file_position(&TextLocation::file("<image config>")),
            "<image config>"
        );
    }
}
