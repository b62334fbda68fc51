//! The matching engine: keyword prefilter, windows around keyword hits, regex, secret group,
//! entropy and allow-lists, then line and column numbers.

use crate::entropy::{self, EntropyHit, LineState};
use crate::rule::{shannon_entropy, Allowlist, Candidate, Rule};
use crate::RuleSet;
use memchr::{memchr, memchr_iter, memrchr};
use moat_core::{SecretFinding, TextLocation};
use regex_automata::util::captures::Captures;
use regex_automata::Input;
use std::ops::Range;

/// How far before a keyword hit a rule's regex starts looking.
const BEFORE: usize = 2 << 10;
/// How far after a keyword hit a rule's regex keeps looking (room for a whole PEM key).
const AFTER: usize = 16 << 10;
/// How far past the window edges to look for a line boundary to snap to.
const LINE_SLACK: usize = 1 << 10;
/// The longest `line` excerpt kept in a finding, in bytes.
const LINE_EXCERPT: usize = 300;
/// How much of the excerpt goes before the secret when the line is cut.
const EXCERPT_LEAD: usize = 100;
/// How far around a match its "line" reaches for `regexTarget = "line"` allow-lists, at most.
const LINE_CONTEXT: usize = 4 << 10;

/// A buffer to scan and which part of it findings are reported for.
pub(crate) struct Region<'a> {
    pub path: &'a str,
    pub buf: &'a [u8],
    /// Findings are reported only for matches starting here; the rest is context.
    pub report: Range<usize>,
    /// Line number of `buf[0]`.
    pub first_line: u64,
    /// Bytes of `buf[0]`'s line that came before the buffer (streaming cut a long line).
    pub column_offset: u64,
}

/// What found a secret.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Rule(usize),
    Entropy(entropy::Kind),
}

/// A secret found, before line numbers are worked out.
struct RawHit {
    source: Source,
    secret: Range<usize>,
    entropy: Option<f64>,
}

/// Per-rule state of one scan.
#[derive(Clone, Copy)]
enum RuleWindow {
    Untouched,
    /// The rule's `path` filter rejects the file.
    Skip,
    Open(usize, usize),
}

impl RuleSet {
    /// Scans `region`, appending findings (sorted by position) to `out`.
    pub(crate) fn scan_region(
        &self,
        region: &Region<'_>,
        state: &mut LineState,
        out: &mut Vec<SecretFinding>,
    ) {
        let mut hits = Vec::new();
        for (rule_index, window) in self.windows(region) {
            self.match_window(region, rule_index, window, &mut hits);
        }
        self.drop_generic_duplicates(&mut hits);
        if self.entropy_enabled() {
            self.entropy_hits(region, state, &mut hits);
        }
        if hits.is_empty() {
            return;
        }
        hits.sort_by_key(|h| (h.secret.start, h.secret.end));
        let first_new = out.len();
        self.emit(region, &hits, out);
        if let Some(new) = out.get_mut(first_new..) {
            new.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
    }

    /// Windows of the buffer each rule must run its regex over.
    fn windows(&self, region: &Region<'_>) -> Vec<(usize, Range<usize>)> {
        let buf = region.buf;
        let mut closed = Vec::new();
        let mut states: Vec<RuleWindow> = Vec::new();
        if let Some(keywords) = &self.prefilter.keywords {
            for hit in keywords.find_overlapping_iter(buf) {
                if states.is_empty() {
                    states = vec![RuleWindow::Untouched; self.rules.len()];
                }
                let rules = self.prefilter.keyword_rules.get(hit.pattern().as_usize());
                for &rule in rules.into_iter().flatten() {
                    self.extend_window(region, rule, hit.start(), hit.end(), &mut states, &mut closed);
                }
            }
        }
        for (rule, state) in states.iter().enumerate() {
            if let RuleWindow::Open(start, end) = *state {
                closed.push((rule, start..end));
            }
        }
        for &rule in &self.prefilter.always {
            if self.rules.get(rule).is_some_and(|r| r.applies_to(region.path)) {
                closed.push((rule, 0..buf.len()));
            }
        }
        closed
    }

    fn extend_window(
        &self,
        region: &Region<'_>,
        rule: usize,
        hit_start: usize,
        hit_end: usize,
        states: &mut [RuleWindow],
        closed: &mut Vec<(usize, Range<usize>)>,
    ) {
        let Some(state) = states.get_mut(rule) else {
            return;
        };
        match *state {
            RuleWindow::Skip => {}
            RuleWindow::Untouched => {
                let applies = self.rules.get(rule).is_some_and(|r| r.applies_to(region.path));
                *state = if applies {
                    let (start, end) = window_around(region.buf, hit_start, hit_end);
                    RuleWindow::Open(start, end)
                } else {
                    RuleWindow::Skip
                };
            }
            RuleWindow::Open(start, end) => {
                if hit_end + AFTER / 2 <= end {
                    return;
                }
                let (new_start, new_end) = window_around(region.buf, hit_start, hit_end);
                if new_start <= end {
                    *state = RuleWindow::Open(start, end.max(new_end));
                } else {
                    closed.push((rule, start..end));
                    *state = RuleWindow::Open(new_start, new_end);
                }
            }
        }
    }

    fn match_window(
        &self,
        region: &Region<'_>,
        rule_index: usize,
        window: Range<usize>,
        hits: &mut Vec<RawHit>,
    ) {
        let Some(rule) = self.rules.get(rule_index) else {
            return;
        };
        let Some(regex) = &rule.regex else {
            return;
        };
        let input = Input::new(region.buf).span(window);
        for caps in regex.captures_iter(input) {
            let Some(whole) = caps.get_match() else {
                continue;
            };
            if !region.report.contains(&whole.start()) {
                continue;
            }
            let Some(secret) = secret_span(&caps, rule.secret_group) else {
                continue;
            };
            if let Some(hit) = self.check_candidate(region, rule_index, rule, whole.range(), secret) {
                hits.push(hit);
            }
        }
    }

    /// Applies digit, entropy and allow-list checks to one regex match.
    fn check_candidate(
        &self,
        region: &Region<'_>,
        rule_index: usize,
        rule: &Rule,
        whole: Range<usize>,
        secret: Range<usize>,
    ) -> Option<RawHit> {
        let buf = region.buf;
        let secret_bytes = buf.get(secret.clone())?;
        if rule.require_digit && !secret_bytes.iter().any(u8::is_ascii_digit) {
            return None;
        }
        let entropy = match rule.entropy {
            Some(threshold) => {
                let value = shannon_entropy(secret_bytes);
                if value <= threshold {
                    return None;
                }
                Some(value)
            }
            None => None,
        };
        let candidate = Candidate {
            path: region.path,
            secret: secret_bytes,
            whole_match: buf.get(whole.clone())?,
            line: buf.get(
                line_start_within(buf, whole.start, LINE_CONTEXT)
                    ..line_end_within(buf, whole.end, LINE_CONTEXT),
            )?,
        };
        if has_allow_comment(candidate.line)
            || allowed(&rule.allowlists, &candidate)
            || allowed(&self.global, &candidate)
        {
            return None;
        }
        Some(RawHit {
            source: Source::Rule(rule_index),
            secret,
            entropy,
        })
    }

    /// Drops a `generic*` rule's hit when a specific rule found the same secret.
    fn drop_generic_duplicates(&self, hits: &mut Vec<RawHit>) {
        let is_generic = |hit: &RawHit| match hit.source {
            Source::Rule(i) => self
                .rules
                .get(i)
                .is_some_and(|r| r.info.id.starts_with("generic")),
            Source::Entropy(_) => false,
        };
        let specific = SpanCover::new(hits.iter().filter(|h| !is_generic(h)).map(|h| h.secret.clone()));
        if specific.is_empty() {
            return;
        }
        hits.retain(|h| !is_generic(h) || !specific.covers(&h.secret));
    }

    fn entropy_hits(&self, region: &Region<'_>, state: &mut LineState, hits: &mut Vec<RawHit>) {
        let mut found: Vec<EntropyHit> = Vec::new();
        entropy::scan_lines(region.buf, region.report.clone(), state, &mut found);
        let rule_spans = SpanCover::new(hits.iter().map(|h| h.secret.clone()));
        for hit in found {
            if rule_spans.covers(&hit.secret) || !self.entropy_allowed(region, &hit) {
                continue;
            }
            hits.push(RawHit {
                source: Source::Entropy(hit.kind),
                secret: hit.secret,
                entropy: Some(hit.entropy),
            });
        }
    }

    /// False when a global allow-list drops the entropy hit.
    fn entropy_allowed(&self, region: &Region<'_>, hit: &EntropyHit) -> bool {
        let buf = region.buf;
        let (Some(secret), Some(line)) = (
            buf.get(hit.secret.clone()),
            buf.get(
                line_start_within(buf, hit.secret.start, LINE_CONTEXT)
                    ..line_end_within(buf, hit.secret.end, LINE_CONTEXT),
            ),
        ) else {
            return false;
        };
        let candidate = Candidate {
            path: region.path,
            secret,
            whole_match: secret,
            line,
        };
        !has_allow_comment(line) && !allowed(&self.global, &candidate)
    }

    /// Turns sorted hits into findings with line and column numbers, in one pass over the
    /// buffer (hits are sorted by position).
    fn emit(&self, region: &Region<'_>, hits: &[RawHit], out: &mut Vec<SecretFinding>) {
        let buf = region.buf;
        let mut cursor = Cursor {
            pos: 0,
            line: region.first_line,
            line_start: 0,
        };
        for hit in hits {
            cursor.advance(buf, hit.secret.start.min(buf.len()));
            let Some((rule_id, title, severity)) = self.describe(hit.source) else {
                continue;
            };
            let location = location(region, &cursor, hit.secret.clone());
            let secret =
                String::from_utf8_lossy(buf.get(hit.secret.clone()).unwrap_or_default()).into_owned();
            out.push(SecretFinding {
                rule_id,
                title,
                severity,
                location,
                secret,
                line: excerpt(buf, cursor.pos),
                entropy: hit.entropy,
                redacted: false,
            });
        }
    }

    fn describe(&self, source: Source) -> Option<(String, String, moat_core::Severity)> {
        let info = match source {
            Source::Rule(index) => &self.rules.get(index)?.info,
            Source::Entropy(kind) => self.entropy_info(kind)?,
        };
        Some((info.id.clone(), info.title.clone(), info.severity))
    }

    /// Findings for rules that flag file names alone (`path` without `regex`).
    pub(crate) fn path_findings(&self, path: &str) -> Vec<SecretFinding> {
        self.prefilter
            .path_only
            .iter()
            .filter_map(|&i| self.rules.get(i))
            .filter(|rule| rule.applies_to(path))
            .map(|rule| SecretFinding {
                rule_id: rule.info.id.clone(),
                title: rule.info.title.clone(),
                severity: rule.info.severity,
                location: TextLocation::file(path),
                secret: String::new(),
                line: String::new(),
                entropy: None,
                redacted: false,
            })
            .collect()
    }
}

/// True when the line carries an inline allow marker (`gitleaks:allow`, detect-secrets'
/// `pragma: allowlist secret`).
fn has_allow_comment(line: &[u8]) -> bool {
    const MARKERS: [&[u8]; 2] = [b"gitleaks:allow", b"pragma: allowlist secret"];
    MARKERS.iter().any(|m| memchr::memmem::find(line, m).is_some())
}

/// A set of spans that answers "does one of them contain this span" in logarithmic time.
struct SpanCover {
    /// Span starts, sorted.
    starts: Vec<usize>,
    /// For each position in `starts`, the largest end among the spans up to it.
    max_ends: Vec<usize>,
}

impl SpanCover {
    fn new(spans: impl Iterator<Item = Range<usize>>) -> SpanCover {
        let mut spans: Vec<Range<usize>> = spans.collect();
        spans.sort_by_key(|s| s.start);
        let mut max_end = 0;
        let max_ends = spans
            .iter()
            .map(|s| {
                max_end = max_end.max(s.end);
                max_end
            })
            .collect();
        SpanCover {
            starts: spans.iter().map(|s| s.start).collect(),
            max_ends,
        }
    }

    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// True when some span starts at or before `span` and ends at or after it.
    fn covers(&self, span: &Range<usize>) -> bool {
        let candidates = self.starts.partition_point(|&start| start <= span.start);
        candidates > 0
            && self
                .max_ends
                .get(candidates - 1)
                .is_some_and(|&end| end >= span.end)
    }
}

fn allowed(lists: &[Allowlist], candidate: &Candidate<'_>) -> bool {
    lists.iter().any(|list| list.allows(candidate))
}

/// The secret: the configured group, else the first non-empty group, else the whole match.
fn secret_span(caps: &Captures, group: usize) -> Option<Range<usize>> {
    if group > 0 {
        return caps.get_group(group).map(|s| s.range()).filter(|r| !r.is_empty());
    }
    let first_group = (1..caps.group_len())
        .filter_map(|g| caps.get_group(g))
        .find(|s| !s.is_empty());
    first_group
        .or_else(|| caps.get_match().map(|m| m.span()))
        .map(|s| s.range())
        .filter(|r| !r.is_empty())
}

/// The window a rule searches around a keyword hit, snapped to line boundaries when near.
fn window_around(buf: &[u8], hit_start: usize, hit_end: usize) -> (usize, usize) {
    let low = hit_start.saturating_sub(BEFORE);
    let scan_from = low.saturating_sub(LINE_SLACK);
    let start = match buf.get(scan_from..low).and_then(|s| memrchr(b'\n', s)) {
        Some(i) => scan_from + i + 1,
        None if scan_from == 0 => 0,
        None => low,
    };
    let high = hit_end.saturating_add(AFTER).min(buf.len());
    let scan_to = high.saturating_add(LINE_SLACK).min(buf.len());
    let end = match buf.get(high..scan_to).and_then(|s| memchr(b'\n', s)) {
        Some(i) => high + i + 1,
        None if scan_to == buf.len() => buf.len(),
        None => high,
    };
    (start, end)
}

/// Offset of the first byte of the line holding `pos`.
pub(crate) fn line_start(buf: &[u8], pos: usize) -> usize {
    let pos = pos.min(buf.len());
    buf.get(..pos)
        .and_then(|b| memrchr(b'\n', b))
        .map_or(0, |i| i + 1)
}

/// [`line_start`], looking back at most `limit` bytes (a longer line is cut there).
fn line_start_within(buf: &[u8], pos: usize, limit: usize) -> usize {
    let pos = pos.min(buf.len());
    let from = pos.saturating_sub(limit);
    buf.get(from..pos)
        .and_then(|b| memrchr(b'\n', b))
        .map_or(from, |i| from + i + 1)
}

/// Offset just past the line holding `pos` (before its `\n`, and before a `\r` ending it),
/// looking ahead at most `limit` bytes (a longer line is cut there).
fn line_end_within(buf: &[u8], pos: usize, limit: usize) -> usize {
    let pos = pos.min(buf.len());
    let to = pos.saturating_add(limit).min(buf.len());
    let end = buf
        .get(pos..to)
        .and_then(|b| memchr(b'\n', b))
        .map_or(to, |i| pos + i);
    if end > pos && buf.get(end - 1) == Some(&b'\r') {
        end - 1
    } else {
        end
    }
}

pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    memchr_iter(b'\n', bytes).count() as u64
}

/// A position in the buffer with its line number and the offset its line starts at.
struct Cursor {
    pos: usize,
    line: u64,
    line_start: usize,
}

impl Cursor {
    /// Moves forward to `pos` (never backward).
    fn advance(&mut self, buf: &[u8], pos: usize) {
        if pos <= self.pos {
            return;
        }
        let passed = buf.get(self.pos..pos).unwrap_or_default();
        self.line += count_newlines(passed);
        if let Some(i) = memrchr(b'\n', passed) {
            self.line_start = self.pos + i + 1;
        }
        self.pos = pos;
    }
}

/// The location of `secret`, which starts at the cursor.
fn location(region: &Region<'_>, cursor: &Cursor, secret: Range<usize>) -> TextLocation {
    let column = |pos: usize, line_start: usize| {
        let carried = if line_start == 0 { region.column_offset } else { 0 };
        (pos - line_start) as u64 + carried + 1
    };
    let inside = region.buf.get(secret.clone()).unwrap_or_default();
    let end_line_start = memrchr(b'\n', inside).map_or(cursor.line_start, |i| secret.start + i + 1);
    TextLocation {
        path: region.path.to_string(),
        layer: None,
        start_line: clamp(cursor.line),
        start_column: clamp(column(secret.start, cursor.line_start)),
        end_line: clamp(cursor.line + count_newlines(inside)),
        end_column: clamp(column(secret.end, end_line_start)),
    }
}

fn clamp(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// The line holding `pos`, cut to [`LINE_EXCERPT`] bytes around `pos` when longer.
fn excerpt(buf: &[u8], pos: usize) -> String {
    let mut start = line_start_within(buf, pos, LINE_EXCERPT);
    let mut end = line_end_within(buf, pos, LINE_EXCERPT);
    if end - start > LINE_EXCERPT {
        start = pos.saturating_sub(EXCERPT_LEAD).max(start);
        end = (start + LINE_EXCERPT).min(end);
        while start < end && buf.get(start).is_some_and(|b| is_continuation(*b)) {
            start += 1;
        }
        while end > start && buf.get(end).is_some_and(|b| is_continuation(*b)) {
            end -= 1;
        }
    }
    String::from_utf8_lossy(buf.get(start..end).unwrap_or_default()).into_owned()
}

fn is_continuation(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_snap_to_lines() {
        let buf = b"first line\nsecond token line\nthird\n";
        let (s, e) = window_around(buf, 18, 23);
        assert_eq!((s, e), (0, buf.len()));
        assert_eq!(line_start(buf, 18), 11);
        assert_eq!(line_end_within(buf, 18, 100), 28);
        assert_eq!(line_end_within(buf, 18, 3), 21);
        assert_eq!(line_start_within(buf, 18, 3), 15);
    }

    #[test]
    fn span_cover_answers_containment() {
        let cover = SpanCover::new([10..20, 0..5, 30..31].into_iter());
        assert!(cover.covers(&(12..18)) && cover.covers(&(0..5)) && cover.covers(&(10..20)));
        assert!(!cover.covers(&(4..6)) && !cover.covers(&(25..26)) && !cover.covers(&(19..21)));
        assert!(SpanCover::new(std::iter::empty()).is_empty());
    }

    #[test]
    fn long_lines_are_cut_around_the_secret() {
        let mut line = "x".repeat(1000);
        line.push_str("SECRET");
        line.push_str(&"y".repeat(1000));
        let cut = excerpt(line.as_bytes(), 1000);
        assert!(cut.len() <= LINE_EXCERPT);
        assert!(cut.contains("SECRET"));
    }
}
