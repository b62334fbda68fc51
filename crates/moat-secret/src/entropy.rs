//! High-entropy string detectors in the manner of detect-secrets' `Base64HighEntropyString`
//! (limit 4.5) and `HexHighEntropyString` (limit 3.0, lowered for all-digit strings).
//!
//! Candidates are quoted strings, the values of `key = value` / `key: value` lines (a YAML
//! `!!binary` value is also judged by its decoded text), and the indented continuation lines of
//! an INI/YAML key whose value starts on the next line.

use crate::rule::shannon_entropy;
use base64::Engine;
use memchr::memchr;
use std::ops::Range;

/// Base64 strings must exceed this entropy.
pub const BASE64_LIMIT: f64 = 4.5;
/// Hex strings must exceed this entropy.
pub const HEX_LIMIT: f64 = 3.0;

/// Which detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Base64,
    Hex,
}

/// A high-entropy string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntropyHit {
    pub kind: Kind,
    pub secret: Range<usize>,
    pub entropy: f64,
}

/// What the previous lines left open.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineState {
    /// A `key =` / `key:` line with no value came before: indented single tokens are values.
    continuation: bool,
}

/// Scans the lines starting in `range` of `buf`.
pub(crate) fn scan_lines(buf: &[u8], range: Range<usize>, state: &mut LineState, out: &mut Vec<EntropyHit>) {
    let mut start = range.start;
    while start < range.end {
        let newline = buf.get(start..).and_then(|b| memchr(b'\n', b));
        let end = newline.map_or(buf.len(), |i| start + i);
        let content_end = if end > start && buf.get(end - 1) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        scan_line(buf, start..content_end, state, out);
        start = end + 1;
    }
}

fn scan_line(buf: &[u8], line: Range<usize>, state: &mut LineState, out: &mut Vec<EntropyHit>) {
    let Some(text) = buf.get(line.clone()) else {
        return;
    };
    let indent = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let body = &text[indent..];
    if body.is_empty() || body.starts_with(b"#") || body.starts_with(b";") {
        return;
    }
    if indent > 0 && state.continuation && is_single_token(body) {
        let token = body.strip_prefix(b"- ").unwrap_or(body);
        let offset = line.start + indent + (body.len() - token.len());
        check_token(offset..offset + token.len(), token, None, out);
        return;
    }
    if indent == 0 {
        state.continuation = false;
    }
    scan_quoted(buf, line.start, text, out);
    if let Some(value) = key_value(text) {
        match value {
            Value::Empty => state.continuation = true,
            Value::Token { range, tag } => {
                let token = &text[range.clone()];
                let absolute = line.start + range.start..line.start + range.end;
                check_token(absolute, token, tag, out);
            }
            Value::Quoted => {}
        }
    }
}

fn is_single_token(body: &[u8]) -> bool {
    let token = body.strip_prefix(b"- ").unwrap_or(body);
    !token.is_empty()
        && !token
            .iter()
            .any(|b| b.is_ascii_whitespace() || *b == b'=' || *b == b':')
}

/// Every `'...'` / `"..."` on the line.
fn scan_quoted(buf: &[u8], line_start: usize, text: &[u8], out: &mut Vec<EntropyHit>) {
    let mut i = 0;
    while let Some(offset) = text.get(i..).and_then(|t| memchr::memchr2(b'"', b'\'', t)) {
        let open = i + offset;
        let quote = text[open];
        let Some(close) = text.get(open + 1..).and_then(|t| memchr(quote, t)) else {
            i = open + 1;
            continue;
        };
        let content = open + 1..open + 1 + close;
        if !content.is_empty() {
            let absolute = line_start + content.start..line_start + content.end;
            if let Some(token) = buf.get(absolute.clone()) {
                check_token(absolute, token, None, out);
            }
        }
        i = content.end + 1;
    }
}

/// The value part of a `key = value` / `key: value` line.
enum Value {
    /// Nothing after the separator: the value may follow on indented lines.
    Empty,
    /// A quoted value (the quoted-string scan judges it).
    Quoted,
    /// An unquoted value, with a YAML tag before it (`!!binary`) when there is one.
    Token {
        range: Range<usize>,
        tag: Option<Vec<u8>>,
    },
}

fn key_value(text: &[u8]) -> Option<Value> {
    let mut i = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    for prefix in [&b"- "[..], b"export "] {
        if text.get(i..).is_some_and(|t| t.starts_with(prefix)) {
            i += prefix.len();
        }
    }
    let key_quote = text.get(i).copied().filter(|b| *b == b'"' || *b == b'\'');
    if key_quote.is_some() {
        i += 1;
    }
    let key_len = text.get(i..)?.iter().take_while(|b| is_key_byte(**b)).count();
    if key_len == 0 {
        return None;
    }
    i += key_len;
    if let Some(q) = key_quote {
        (text.get(i) == Some(&q)).then_some(())?;
        i += 1;
    }
    i += spaces(text, i);
    let separator = *text.get(i)?;
    if separator != b'=' && separator != b':' {
        return None;
    }
    i += 1;
    if text.get(i) == Some(&b'=') || (separator == b':' && text.get(i) == Some(&b':')) {
        return None;
    }
    i += spaces(text, i);
    value_at(text, i)
}

fn value_at(text: &[u8], mut i: usize) -> Option<Value> {
    match text.get(i) {
        None | Some(b'#') => return Some(Value::Empty),
        Some(b'"') | Some(b'\'') => return Some(Value::Quoted),
        _ => {}
    }
    let mut tag = None;
    if text.get(i..).is_some_and(|t| t.starts_with(b"!!")) {
        let tag_len = text[i..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
        tag = Some(text[i..i + tag_len].to_vec());
        i += tag_len;
        i += spaces(text, i);
        if text.get(i).is_none() {
            return Some(Value::Empty);
        }
    }
    let len = text[i..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
    let mut end = i + len;
    while end > i && matches!(text.get(end - 1), Some(b',') | Some(b';')) {
        end -= 1;
    }
    (end > i).then_some(Value::Token { range: i..end, tag })
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn spaces(text: &[u8], from: usize) -> usize {
    text.get(from..).map_or(0, |t| {
        t.iter().take_while(|b| **b == b' ' || **b == b'\t').count()
    })
}

/// Judges one candidate string; a `!!binary` one is judged by its decoded text.
fn check_token(range: Range<usize>, token: &[u8], tag: Option<Vec<u8>>, out: &mut Vec<EntropyHit>) {
    if tag.as_deref() == Some(b"!!binary") {
        if let Some(decoded) = decode_printable(token) {
            if let Some((kind, entropy)) = judge(&decoded) {
                out.push(EntropyHit {
                    kind,
                    secret: range.clone(),
                    entropy,
                });
                return;
            }
        }
    }
    if let Some((kind, entropy)) = judge(token) {
        out.push(EntropyHit {
            kind,
            secret: range,
            entropy,
        });
    }
}

fn decode_printable(token: &[u8]) -> Option<Vec<u8>> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    decoded
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then_some(decoded)
}

/// Which detector, if any, fires on `token`, with the entropy it saw.
fn judge(token: &[u8]) -> Option<(Kind, f64)> {
    if token.is_empty() || is_sequential(token) || is_uuid(token) {
        return None;
    }
    if token.iter().all(u8::is_ascii_hexdigit) {
        let entropy = hex_entropy(token);
        return (entropy > HEX_LIMIT).then_some((Kind::Hex, entropy));
    }
    if token.iter().all(|b| is_base64_byte(*b)) {
        let entropy = shannon_entropy(token);
        return (entropy > BASE64_LIMIT).then_some((Kind::Base64, entropy));
    }
    None
}

/// Entropy of a hex string, lowered for all-digit strings (which are usually numbers).
pub fn hex_entropy(token: &[u8]) -> f64 {
    let entropy = shannon_entropy(token);
    if token.len() > 1 && token.iter().all(u8::is_ascii_digit) {
        entropy - 1.2 / (token.len() as f64).log2()
    } else {
        entropy
    }
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Runs of the alphabet or of digits (`abcdefgh`, `0123456789a`) are not secrets.
fn is_sequential(token: &[u8]) -> bool {
    const SEQUENCES: [&[u8]; 3] = [
        b"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz",
        b"01234567890123456789",
    ];
    let lower = token.to_ascii_lowercase();
    SEQUENCES
        .iter()
        .any(|seq| lower.len() <= seq.len() && seq.windows(lower.len()).any(|w| w == lower.as_slice()))
}

fn is_uuid(token: &[u8]) -> bool {
    let groups: Vec<&[u8]> = token.split(|b| *b == b'-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12] && groups.iter().all(|g| g.iter().all(u8::is_ascii_hexdigit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        scan_lines(
            text.as_bytes(),
            0..text.len(),
            &mut LineState::default(),
            &mut out,
        );
        out.into_iter()
            .map(|h| (h.kind, text[h.secret].to_string()))
            .collect()
    }

    #[test]
    fn quoted_and_assigned_values_are_judged() {
        assert_eq!(
            hits("x = 'c2VjcmV0IG1lc3NhZ2Ugc28geW91J2xsIG5ldmVyIGd1ZXNzIG15IHBhc3N3b3Jk'\n"),
            vec![(
                Kind::Base64,
                "c2VjcmV0IG1lc3NhZ2Ugc28geW91J2xsIG5ldmVyIGd1ZXNzIG15IHBhc3N3b3Jk".into()
            )]
        );
        assert_eq!(
            hits("aws_secret_key = 23456789a1\n"),
            vec![(Kind::Hex, "23456789a1".into())]
        );
        assert!(hits("red_herring = 'DEADBEEF'\n").is_empty());
        assert!(hits("v = '0123456789a'\n").is_empty());
        assert!(hits("u: '203db13e-70c7-462b-9a3d-bf32640cb0be'\n").is_empty());
    }

    #[test]
    fn continuation_lines_and_binary_tags() {
        let found = hits("[s]\nk =\n    hunter2\n    BEEF0123456789a\n");
        assert_eq!(found, vec![(Kind::Hex, "BEEF0123456789a".into())]);
        let found = hits("k: !!binary MmIwMDA0MmY3NDgxYzdiMDU2YzRiNDEwZDI4ZjMzY2Y=\n");
        assert_eq!(
            found,
            vec![(Kind::Hex, "MmIwMDA0MmY3NDgxYzdiMDU2YzRiNDEwZDI4ZjMzY2Y=".into())]
        );
    }

    #[test]
    fn all_digit_strings_are_discounted() {
        assert!(hex_entropy(b"345678912") < shannon_entropy(b"345678912"));
    }
}
