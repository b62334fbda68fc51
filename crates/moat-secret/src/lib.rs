//! Moat's secret scanner: finds credentials (cloud keys, tokens, private keys, passwords) in
//! text, the job of gitleaks, detect-secrets and trivy's secret scanner.
//!
//! A [`RuleSet`] holds compiled rules: Moat's own ([`RuleSet::builtin`]) or a gitleaks TOML file
//! ([`RuleSet::from_gitleaks_toml`], [`RuleSet::load`], which may extend the builtin rules).
//! Scanning runs an Aho-Corasick search for all rules' keywords first; only rules whose keyword
//! occurs run their regex, and only over windows around the keyword hits. A match's secret then
//! passes the rule's entropy threshold and the rule's and global allow-lists before it is
//! reported. [`RuleSet::with_entropy_detectors`] adds detect-secrets style high-entropy string
//! detectors. [`RuleSet::scan_reader`] skips binary content and streams large files in chunks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builtin;
mod config;
mod entropy;
mod error;
mod re2;
mod rule;
mod scan;

pub use entropy::{hex_entropy, BASE64_LIMIT, HEX_LIMIT};
pub use error::RuleError;
pub use rule::{shannon_entropy, RuleInfo};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use config::LoadedRules;
use moat_core::{SecretFinding, Severity};
use rule::{Allowlist, Rule};
use scan::Region;
use std::io::Read;
use std::path::Path;

/// Bytes read per chunk when streaming a file.
pub const CHUNK_SIZE: usize = 1 << 20;
/// Bytes of the previous chunk kept before the next one, so that a secret across a chunk
/// boundary is still seen whole.
pub const CHUNK_OVERLAP: usize = 64 << 10;
/// How much of a file [`is_binary`] looks at.
pub const SNIFF_SIZE: usize = 8 << 10;

/// Compiled secret rules, ready to scan. Cheap to clone and to share between threads.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    global: Vec<Allowlist>,
    prefilter: Prefilter,
    entropy: Option<[RuleInfo; 2]>,
    /// Digest of the rule file texts this set was loaded from (see [`RuleSet::fingerprint`]).
    digest: u64,
}

/// Which rules run where: the keyword automaton and what each keyword triggers.
#[derive(Debug, Clone, Default)]
struct Prefilter {
    /// All keywords, lower-cased, matched ASCII-case-insensitively.
    keywords: Option<AhoCorasick>,
    /// For each keyword (by pattern id), the rules it triggers.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules with a regex and no keywords: they always run.
    always: Vec<usize>,
    /// Rules with a path and no regex.
    path_only: Vec<usize>,
}

impl RuleSet {
    /// Moat's default rules (cloud keys, source-control and CI tokens, chat webhooks, payment
    /// keys, private keys, JWTs, database URLs with passwords, generic password assignments).
    pub fn builtin() -> RuleSet {
        builtin::rule_set().clone()
    }

    /// Compiles a gitleaks-format TOML rule file. `origin` names it in errors; a relative
    /// `[extend] path` is resolved beside `origin` when that is a path to an existing file.
    pub fn from_gitleaks_toml(text: &str, origin: &str) -> Result<RuleSet, RuleError> {
        let origin_path = Path::new(origin);
        let base_dir = origin_path.is_file().then(|| origin_path.parent()).flatten();
        let loaded = config::parse(text, origin, base_dir, &builtin::loaded_rules)?;
        RuleSet::from_loaded(loaded)
    }

    /// Reads and compiles a gitleaks-format TOML rule file.
    pub fn load(path: &Path) -> Result<RuleSet, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let loaded = config::parse(&text, &origin, path.parent(), &builtin::loaded_rules)?;
        RuleSet::from_loaded(loaded)
    }

    /// Adds detect-secrets style high-entropy string detectors (`high-entropy-base64`,
    /// `high-entropy-hex`). Off by default: they are noisy on package files.
    pub fn with_entropy_detectors(mut self) -> RuleSet {
        self.entropy = Some(entropy_infos());
        self
    }

    /// The rules, in file order, then the entropy detectors when enabled.
    pub fn rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.rules
            .iter()
            .map(|r| &r.info)
            .chain(self.entropy.iter().flatten())
    }

    /// How many rules and detectors there are.
    pub fn len(&self) -> usize {
        self.rules.len() + self.entropy.as_ref().map_or(0, |e| e.len())
    }

    /// True when there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// False when a global allow-list excludes the file at `path` from scanning.
    pub fn path_allowed(&self, path: &str) -> bool {
        !self.global.iter().any(|list| list.excludes_path(path))
    }

    /// What distinguishes this rule set from another, for result caches: the digest of every
    /// rule file it was read from (extended files included), its rule count and whether the
    /// entropy detectors are on.
    pub fn fingerprint(&self) -> String {
        format!(
            "rules={:016x} count={} entropy={}",
            self.digest,
            self.rules.len(),
            self.entropy.is_some()
        )
    }

    /// The findings of rules that match file names only (gitleaks rules with a `path` and no
    /// `regex`, such as `pkcs12-file`): for files whose content is not scanned (binaries).
    pub fn scan_name(&self, path: &str) -> Vec<SecretFinding> {
        if !self.path_allowed(path) {
            return Vec::new();
        }
        self.path_findings(path)
    }

    /// Scans a whole file held in memory. `path` is used for path rules and allow-lists and
    /// copied into the findings. No binary sniffing is done here (see [`RuleSet::scan_reader`]).
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<SecretFinding> {
        if !self.path_allowed(path) {
            return Vec::new();
        }
        let mut findings = self.path_findings(path);
        let region = Region {
            path,
            buf: data,
            report: 0..data.len(),
            first_line: 1,
            column_offset: 0,
        };
        self.scan_region(&region, &mut Default::default(), &mut findings);
        findings
    }

    /// Scans a file read from `reader` in chunks of [`CHUNK_SIZE`] bytes, so that memory stays
    /// bounded whatever its size. Binary content (see [`is_binary`]) yields no content
    /// findings; rules on file names still apply.
    pub fn scan_reader(&self, path: &str, reader: impl Read) -> std::io::Result<Vec<SecretFinding>> {
        self.scan_reader_chunked(path, reader, CHUNK_SIZE)
    }

    /// [`RuleSet::scan_reader`] with a chosen chunk size (at least `4 * CHUNK_OVERLAP` is used).
    pub fn scan_reader_chunked(
        &self,
        path: &str,
        mut reader: impl Read,
        chunk_size: usize,
    ) -> std::io::Result<Vec<SecretFinding>> {
        if !self.path_allowed(path) {
            return Ok(Vec::new());
        }
        let mut findings = self.path_findings(path);
        let chunk_size = chunk_size.max(4 * CHUNK_OVERLAP);
        let mut buf = Vec::with_capacity(chunk_size + CHUNK_OVERLAP + SNIFF_SIZE);
        let mut eof = fill(&mut reader, &mut buf, SNIFF_SIZE)?;
        if is_binary(&buf) {
            return Ok(findings);
        }
        if !eof {
            eof = fill(&mut reader, &mut buf, chunk_size)?;
        }
        let mut stream = StreamState::default();
        loop {
            let report_end = if eof { buf.len() } else { split_point(&buf) };
            let region = Region {
                path,
                buf: &buf,
                report: 0..report_end,
                first_line: stream.line,
                column_offset: stream.column_offset,
            };
            self.scan_region(&region, &mut stream.lines, &mut findings);
            if eof {
                break;
            }
            stream.advance(buf.get(..report_end).unwrap_or_default());
            buf.drain(..report_end);
            let keep = buf.len();
            eof = fill(&mut reader, &mut buf, keep + chunk_size)?;
        }
        Ok(findings)
    }

    fn from_loaded(loaded: LoadedRules) -> Result<RuleSet, RuleError> {
        let prefilter = build_prefilter(&loaded.rules);
        Ok(RuleSet {
            rules: loaded.rules,
            global: loaded.global,
            prefilter,
            entropy: None,
            digest: loaded.digest,
        })
    }

    fn loaded(&self) -> LoadedRules {
        LoadedRules {
            rules: self.rules.clone(),
            global: self.global.clone(),
            digest: self.digest,
        }
    }

    fn entropy_enabled(&self) -> bool {
        self.entropy.is_some()
    }

    fn entropy_info(&self, kind: entropy::Kind) -> Option<&RuleInfo> {
        let infos = self.entropy.as_ref()?;
        match kind {
            entropy::Kind::Base64 => infos.first(),
            entropy::Kind::Hex => infos.get(1),
        }
    }
}

/// Where a stream is: line number and partial-line length at the start of the buffer.
struct StreamState {
    line: u64,
    column_offset: u64,
    lines: entropy::LineState,
}

impl Default for StreamState {
    fn default() -> StreamState {
        StreamState {
            line: 1,
            column_offset: 0,
            lines: entropy::LineState::default(),
        }
    }
}

impl StreamState {
    /// Moves past `consumed`, the bytes dropped from the front of the buffer.
    fn advance(&mut self, consumed: &[u8]) {
        let newlines = scan::count_newlines(consumed);
        self.line += newlines;
        let tail = consumed.len() - scan::line_start(consumed, consumed.len());
        self.column_offset = if newlines > 0 {
            tail as u64
        } else {
            self.column_offset + tail as u64
        };
    }
}

/// Where to cut a full buffer: the start of the line holding `len - CHUNK_OVERLAP`, or that
/// point itself when the line is very long.
fn split_point(buf: &[u8]) -> usize {
    let target = buf.len().saturating_sub(CHUNK_OVERLAP);
    let start = scan::line_start(buf, target);
    if target - start > CHUNK_OVERLAP || start == 0 {
        target
    } else {
        start
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends; true at end of input.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let missing = want.saturating_sub(buf.len());
    let before = buf.len();
    reader.take(missing as u64).read_to_end(buf)?;
    Ok(buf.len() - before < missing)
}

fn build_prefilter(rules: &[Rule]) -> Prefilter {
    let mut keywords: Vec<String> = Vec::new();
    let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
    let mut prefilter = Prefilter::default();
    for (index, rule) in rules.iter().enumerate() {
        if rule.is_path_only() {
            prefilter.path_only.push(index);
            continue;
        }
        if rule.info.keywords.is_empty() {
            prefilter.always.push(index);
        }
        for keyword in &rule.info.keywords {
            match keywords.iter().position(|k| k == keyword) {
                Some(i) => keyword_rules[i].push(index),
                None => {
                    keywords.push(keyword.clone());
                    keyword_rules.push(vec![index]);
                }
            }
        }
    }
    prefilter.keywords = keyword_automaton(&keywords);
    prefilter.keyword_rules = keyword_rules;
    prefilter
}

fn keyword_automaton(keywords: &[String]) -> Option<AhoCorasick> {
    if keywords.is_empty() {
        return None;
    }
    let build = |kind| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(keywords)
    };
    build(Some(AhoCorasickKind::DFA)).or_else(|_| build(None)).ok()
}

fn entropy_infos() -> [RuleInfo; 2] {
    let info = |id: &str, title: &str, description: &str| RuleInfo {
        id: id.to_string(),
        title: title.to_string(),
        description: description.to_string(),
        severity: Severity::Medium,
        keywords: Vec::new(),
        tags: vec!["entropy".to_string()],
    };
    [
        info(
            "high-entropy-base64",
            "High entropy base64 string",
            "A quoted or assigned base64 string whose Shannon entropy exceeds 4.5.",
        ),
        info(
            "high-entropy-hex",
            "High entropy hex string",
            "A quoted or assigned hex string whose Shannon entropy exceeds 3.0.",
        ),
    ]
}

/// True when `head` (the first [`SNIFF_SIZE`] bytes of a file) looks like binary data: it holds
/// a NUL byte, or more than a tenth of it is invalid UTF-8 or control characters.
pub fn is_binary(head: &[u8]) -> bool {
    let head = head.get(..SNIFF_SIZE).unwrap_or(head);
    if head.is_empty() {
        return false;
    }
    if memchr::memchr(0, head).is_some() {
        return true;
    }
    let mut odd = 0usize;
    let mut chunks = head.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        odd += chunk
            .valid()
            .bytes()
            .filter(|b| b.is_ascii_control() && !matches!(b, b'\n' | b'\r' | b'\t' | b'\x0c' | b'\x1b'))
            .count();
        let truncated_at_end = chunks.peek().is_none() && head.len() == SNIFF_SIZE;
        if !truncated_at_end {
            odd += chunk.invalid().len();
        }
    }
    odd * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn rule_sets_can_be_shared_between_threads() {
        assert_send_sync::<RuleSet>();
    }

    #[test]
    fn binary_sniffing() {
        assert!(is_binary(b"ELF\0\x01\x02"));
        assert!(!is_binary(b"plain text\nwith lines\n"));
        assert!(!is_binary("unicode: h\u{e9}llo w\u{f6}rld\n".as_bytes()));
        assert!(is_binary(&[0xff, 0xfe, 0x80, 0x81, 0x82, 0x90, b'a']));
        assert!(!is_binary(b""));
    }

    #[test]
    fn stream_state_tracks_lines_and_partial_lines() {
        let mut state = StreamState::default();
        state.advance(b"a\nb\ncc");
        assert_eq!((state.line, state.column_offset), (3, 2));
        state.advance(b"ddd");
        assert_eq!((state.line, state.column_offset), (3, 5));
    }
}
