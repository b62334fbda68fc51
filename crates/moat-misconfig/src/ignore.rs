//! Inline suppression: a `moat:ignore=ID[,ID…]` comment (after `#` or `//`) silences those
//! checks on its own line and on the next line that is not a comment; in the comment block at
//! the top of a file it silences them for the whole file. `moat:ignore=*` silences every check.

use moat_core::Misconfiguration;
use std::collections::{BTreeMap, BTreeSet};

const MARKER: &str = "moat:ignore=";

/// Which check ids are silenced where.
#[derive(Debug, Default)]
struct Ignores {
    whole_file: BTreeSet<String>,
    by_line: BTreeMap<u32, BTreeSet<String>>,
}

impl Ignores {
    fn parse(text: &str) -> Ignores {
        let mut ignores = Ignores::default();
        let mut in_header = true;
        let mut pending: BTreeSet<String> = BTreeSet::new();
        for (index, line) in text.lines().enumerate() {
            let number = index as u32 + 1;
            let trimmed = line.trim_start();
            let is_comment = trimmed.starts_with('#') || trimmed.starts_with("//");
            let ids = marker_ids(line);
            if is_comment {
                if in_header {
                    ignores.whole_file.extend(ids.iter().cloned());
                }
                pending.extend(ids.iter().cloned());
                ignores.by_line.entry(number).or_default().extend(ids);
                continue;
            }
            if trimmed.is_empty() || trimmed == "---" {
                continue;
            }
            in_header = false;
            let here = ignores.by_line.entry(number).or_default();
            here.extend(ids);
            here.append(&mut pending);
        }
        ignores
    }

    fn silences(&self, finding: &Misconfiguration) -> bool {
        let hit = |ids: &BTreeSet<String>| ids.contains("*") || ids.contains(&finding.check_id);
        hit(&self.whole_file) || self.by_line.get(&finding.location.start_line).is_some_and(hit)
    }
}

/// The ids named by a `moat:ignore=` marker on this line, if any.
fn marker_ids(line: &str) -> Vec<String> {
    let Some(start) = line.find(MARKER) else {
        return Vec::new();
    };
    let comment_start = line[..start].rfind(['#', '/']);
    if comment_start.is_none() {
        return Vec::new();
    }
    line[start + MARKER.len()..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}

/// Drops the findings that inline `moat:ignore=` comments in `text` silence.
pub fn apply_inline_ignores(text: &str, findings: &mut Vec<Misconfiguration>) {
    if !text.contains(MARKER) {
        return;
    }
    let ignores = Ignores::parse(text);
    findings.retain(|finding| !ignores.silences(finding));
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_core::{ConfigKind, Severity, TextLocation};

    fn finding(id: &str, line: u32) -> Misconfiguration {
        Misconfiguration {
            check_id: id.to_string(),
            title: String::new(),
            severity: Severity::High,
            kind: ConfigKind::Dockerfile,
            message: String::new(),
            remediation: String::new(),
            resource: None,
            location: TextLocation::at("Dockerfile", line, 1),
            references: Vec::new(),
            aliases: Vec::new(),
        }
    }

    fn kept(text: &str, findings: Vec<Misconfiguration>) -> Vec<(String, u32)> {
        let mut findings = findings;
        apply_inline_ignores(text, &mut findings);
        findings
            .into_iter()
            .map(|f| (f.check_id, f.location.start_line))
            .collect()
    }

    #[test]
    fn a_comment_silences_the_next_line_only() {
        let text = "FROM a\n# moat:ignore=DF001\nRUN x\nRUN y\n";
        let out = kept(
            text,
            vec![finding("DF001", 3), finding("DF001", 4), finding("DF002", 3)],
        );
        assert_eq!(out, vec![("DF001".into(), 4), ("DF002".into(), 3)]);
    }

    #[test]
    fn a_trailing_comment_silences_its_own_line() {
        let text = "FROM a\nRUN x # moat:ignore=DF001,DF002\n";
        let out = kept(
            text,
            vec![finding("DF001", 2), finding("DF002", 2), finding("DF003", 2)],
        );
        assert_eq!(out, vec![("DF003".into(), 2)]);
    }

    #[test]
    fn a_header_comment_silences_the_whole_file() {
        let text = "# moat:ignore=K8S001\n\napiVersion: v1\nkind: Pod\n";
        let out = kept(
            text,
            vec![finding("K8S001", 4), finding("K8S001", 0), finding("K8S002", 4)],
        );
        assert_eq!(out, vec![("K8S002".into(), 4)]);
    }

    #[test]
    fn the_marker_outside_a_comment_does_nothing() {
        let text = "FROM a\nRUN echo moat:ignore=DF001\n";
        assert_eq!(kept(text, vec![finding("DF001", 2)]).len(), 1);
    }

    #[test]
    fn a_star_silences_everything_on_the_line() {
        let text = "FROM a\nRUN x # moat:ignore=*\n";
        assert!(kept(text, vec![finding("DF001", 2), finding("DF009", 2)]).is_empty());
    }
}
