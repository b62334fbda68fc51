//! Compiling gitleaks' Go RE2 patterns with Rust's regex engine.
//!
//! The two dialects mostly agree. The differences handled here: RE2 takes a `{` that does not
//! start a counted repetition as a literal, Rust rejects it; RE2 takes `[`, `&&`, `--` and `~~`
//! inside a character class literally, Rust reads them as nested classes and set operations;
//! RE2 has `\Q...\E` quoting, Rust does not. `\C` (any byte) is refused. Patterns are compiled
//! for bytes with ASCII semantics (`\w`, `\s`, `\d` and `(?i)` are ASCII-only, as in Go), and
//! only patterns that need Unicode (`\p{..}`, non-ASCII classes) are compiled with it.
//!
//! Every compiled pattern is bounded: the compiled program may not exceed [`NFA_SIZE_LIMIT`],
//! and matching is linear in the haystack (no backtracking engine runs unbounded).

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

/// Largest compiled program accepted for one pattern, in bytes of heap.
pub const NFA_SIZE_LIMIT: usize = 8 << 20;
/// Largest compiled program accepted for a group of patterns compiled together.
const MULTI_NFA_SIZE_LIMIT: usize = 48 << 20;
/// Cache for the lazy DFA of one pattern.
const HYBRID_CACHE: usize = 2 << 20;
/// Deepest nesting accepted.
const NEST_LIMIT: u32 = 100;

/// Rewrites an RE2 pattern into the syntax Rust's regex parser accepts with the same meaning.
pub fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut class = ClassState::Outside;
    while let Some(&c) = chars.get(i) {
        if c == '\\' {
            i = translate_escape(&chars, i, &mut out)?;
            if let ClassState::Inside { .. } = class {
                class = ClassState::Inside {
                    fresh: false,
                    last: Some('\\'),
                };
            }
            continue;
        }
        i = match class {
            ClassState::Outside => translate_outside(&chars, i, &mut out, &mut class),
            ClassState::Inside { .. } => translate_in_class(&chars, i, &mut out, &mut class),
        };
    }
    if matches!(class, ClassState::Inside { .. }) {
        return Err("missing closing ]".to_string());
    }
    Ok(out)
}

/// Where the translator is relative to `[...]`.
#[derive(Clone, Copy)]
enum ClassState {
    Outside,
    /// Inside a class; `fresh` right after `[` or `[^`, `last` is the previous class char.
    Inside {
        fresh: bool,
        last: Option<char>,
    },
}

/// Handles `\x` at `i`; returns the next index.
fn translate_escape(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&next) = chars.get(i + 1) else {
        return Err("trailing backslash".to_string());
    };
    match next {
        'Q' => {
            let mut j = i + 2;
            while let Some(&c) = chars.get(j) {
                if c == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                push_literal(out, c);
                j += 1;
            }
            Ok(j)
        }
        'C' => Err("\\C (match any byte) is not supported".to_string()),
        'Z' => Err("\\Z is not RE2 syntax (use \\z)".to_string()),
        _ => {
            out.push('\\');
            out.push(next);
            Ok(i + 2)
        }
    }
}

/// One character outside a class; returns the next index.
fn translate_outside(chars: &[char], i: usize, out: &mut String, class: &mut ClassState) -> usize {
    let c = chars.get(i).copied().unwrap_or_default();
    match c {
        '[' => {
            out.push('[');
            let mut next = i + 1;
            if chars.get(next) == Some(&'^') {
                out.push('^');
                next += 1;
            }
            *class = ClassState::Inside {
                fresh: true,
                last: None,
            };
            next
        }
        '{' => match counted_repetition_len(&chars[i..]) {
            Some(len) => {
                out.extend(&chars[i..i + len]);
                i + len
            }
            None => {
                out.push_str("\\{");
                i + 1
            }
        },
        '}' => {
            out.push_str("\\}");
            i + 1
        }
        _ => {
            out.push(c);
            i + 1
        }
    }
}

/// One character inside a class; returns the next index.
fn translate_in_class(chars: &[char], i: usize, out: &mut String, class: &mut ClassState) -> usize {
    let c = chars.get(i).copied().unwrap_or_default();
    let ClassState::Inside { fresh, last } = *class else {
        return i + 1;
    };
    let mut next = i + 1;
    match c {
        ']' if fresh => out.push_str("\\]"),
        ']' => {
            out.push(']');
            *class = ClassState::Outside;
            return next;
        }
        '[' => match posix_class_len(&chars[i..]) {
            Some(len) => {
                out.extend(&chars[i..i + len]);
                next = i + len;
            }
            None => out.push_str("\\["),
        },
        '&' | '-' | '~' if last == Some(c) => {
            out.push('\\');
            out.push(c);
        }
        _ => out.push(c),
    }
    *class = ClassState::Inside {
        fresh: false,
        last: Some(c),
    };
    next
}

/// The length of `{n}`, `{n,}` or `{n,m}` at the start of `rest`, if it is one.
fn counted_repetition_len(rest: &[char]) -> Option<usize> {
    let close = rest.iter().position(|&c| c == '}')?;
    let body: String = rest.get(1..close)?.iter().collect();
    let (low, high) = match body.split_once(',') {
        Some((low, high)) => (low, Some(high)),
        None => (body.as_str(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let high_ok = match high {
        Some(h) => h.is_empty() || digits(h),
        None => true,
    };
    let valid = digits(low) && high_ok;
    valid.then_some(close + 1)
}

/// The length of `[:name:]` or `[:^name:]` at the start of `rest`, if it is one.
fn posix_class_len(rest: &[char]) -> Option<usize> {
    if rest.get(1) != Some(&':') {
        return None;
    }
    let end = rest.windows(2).skip(2).position(|w| w == [':', ']'])? + 2;
    let name = rest.get(2..end)?;
    let name = name.strip_prefix(&['^']).unwrap_or(name);
    (!name.is_empty() && name.iter().all(|c| c.is_ascii_alphabetic())).then_some(end + 2)
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() {
        out.push('\\');
    }
    out.push(c);
}

/// Translates and compiles one RE2 pattern.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    build(&[translated.as_str()], NFA_SIZE_LIMIT)
}

/// Translates and compiles several patterns into one regex that matches where any does.
pub fn compile_many(patterns: &[&str]) -> Result<Regex, String> {
    let translated = patterns
        .iter()
        .map(|p| translate(p))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&str> = translated.iter().map(String::as_str).collect();
    build(&refs, MULTI_NFA_SIZE_LIMIT)
}

fn build(patterns: &[&str], limit: usize) -> Result<Regex, String> {
    match build_with(patterns, limit, false) {
        Ok(regex) => Ok(regex),
        Err(ascii_error) if ascii_error.size_limit().is_none() => {
            build_with(patterns, limit, true).map_err(|_| describe(&ascii_error))
        }
        Err(error) => Err(describe(&error)),
    }
}

fn build_with(patterns: &[&str], limit: usize, unicode: bool) -> Result<Regex, Box<meta::BuildError>> {
    Regex::builder()
        .syntax(
            syntax::Config::new()
                .unicode(unicode)
                .utf8(false)
                .nest_limit(NEST_LIMIT),
        )
        .configure(
            Regex::config()
                .utf8_empty(false)
                .nfa_size_limit(Some(limit))
                .onepass_size_limit(Some(1 << 20))
                .dfa_size_limit(Some(1 << 20))
                .hybrid_cache_capacity(HYBRID_CACHE),
        )
        .build_many(patterns)
        .map_err(Box::new)
}

fn describe(error: &meta::BuildError) -> String {
    if let Some(limit) = error.size_limit() {
        return format!("pattern too large (compiled size exceeds the limit of {limit} bytes)");
    }
    let text = error.to_string();
    let detail = std::error::Error::source(error)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if detail.is_empty() {
        text
    } else {
        format!("{text}: {}", detail.lines().last().unwrap_or_default().trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces_are_escaped_but_repetitions_kept() {
        assert_eq!(translate(r"^\${(?:[A-Z_]+)}$").unwrap(), r"^\$\{(?:[A-Z_]+)\}$");
        assert_eq!(translate(r"a{2,5}b{3}c{1,}").unwrap(), r"a{2,5}b{3}c{1,}");
        assert_eq!(translate(r"\{\{[ \t]*}}").unwrap(), r"\{\{[ \t]*\}\}");
    }

    #[test]
    fn class_quirks_are_made_literal() {
        assert_eq!(translate(r"[^]]+").unwrap(), r"[^\]]+");
        assert_eq!(translate(r"[^\r\n]x[a]").unwrap(), r"[^\r\n]x[a]");
        assert_eq!(translate(r"[a[b]").unwrap(), r"[a\[b]");
        assert_eq!(translate(r"[[:alpha:]_]").unwrap(), r"[[:alpha:]_]");
        assert_eq!(translate(r"[a&&b]").unwrap(), r"[a&\&b]");
        assert_eq!(translate(r"\Qa.b\E+").unwrap(), r"a\.b+");
    }

    #[test]
    fn translated_patterns_compile_and_match_like_go() {
        let re = compile(r"^\${(?:[A-Z_]+|[a-z_]+)}$").unwrap();
        assert!(re.is_match("${HOME}"));
        let re = compile(r"[^:]+:\[[^]]+]").unwrap();
        assert!(re.is_match("user:[x]"));
        let re = compile(r"(?i)abc\z").unwrap();
        assert!(re.is_match("xABC"));
        assert!(!re.is_match("abc\n"));
    }

    #[test]
    fn errors_are_reported_not_panics() {
        assert!(compile(r"a{100000}{100000}").unwrap_err().contains("too large"));
        assert!(compile(r"(unclosed").is_err());
        assert!(compile(r"\C").is_err());
        assert!(compile(r"[abc").is_err());
        assert!(compile("\\").is_err());
    }
}
