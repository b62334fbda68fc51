//! Dockerfile word handling: splitting arguments into words (quotes kept), and quote removal
//! with `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}` substitution as Docker does
//! for `FROM`, `COPY`, `ENV`, `USER`, `WORKDIR` and the like.

use super::model::Word;
use std::collections::BTreeMap;

/// The variables visible at one point of a Dockerfile: a name maps to its value, or to `None`
/// when it is declared (an `ARG` with no default) but its value is only known at build time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    vars: BTreeMap<String, Option<String>>,
}

/// What a variable lookup found.
enum Lookup<'a> {
    Unset,
    Unknown,
    Value(&'a str),
}

/// Build arguments BuildKit predefines; their values depend on the build.
const PREDEFINED_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
    "BUILDKIT_SBOM_SCAN_STAGE",
];

impl Scope {
    /// The scope `FROM` lines see before any `ARG`: BuildKit's platform arguments.
    pub(crate) fn with_predefined() -> Scope {
        let mut scope = Scope::default();
        for name in PREDEFINED_ARGS {
            scope.vars.insert((*name).to_string(), None);
        }
        scope
    }

    /// Sets a variable (`None`: declared, value unknown).
    pub(crate) fn set(&mut self, name: &str, value: Option<String>) {
        self.vars.insert(name.to_string(), value);
    }

    /// Whether a variable is declared.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// The value of a declared variable (`Some(None)`: declared, value unknown).
    pub(crate) fn get(&self, name: &str) -> Option<Option<&str>> {
        self.vars.get(name).map(|value| value.as_deref())
    }

    fn lookup(&self, name: &str) -> Lookup<'_> {
        match self.vars.get(name) {
            None => Lookup::Unset,
            Some(None) => Lookup::Unknown,
            Some(Some(value)) => Lookup::Value(value),
        }
    }
}

/// Splits arguments into words on unquoted whitespace, keeping quotes and escapes as written.
pub(crate) fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == escape && quote != Some('\'') {
            current.push(c);
            if let Some(next) = chars.next() {
                current.push(next);
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Removes quotes and escapes from one word and substitutes variables from `scope`.
pub(crate) fn process_word(raw: &str, escape: char, scope: &Scope) -> Word {
    let chars: Vec<char> = raw.chars().collect();
    let mut expander = Expander {
        chars: &chars,
        pos: 0,
        escape,
        scope,
        unresolved: false,
    };
    let out = expander.run(&[]);
    Word {
        raw: raw.to_string(),
        value: (!expander.unresolved).then_some(out),
    }
}

struct Expander<'a> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    scope: &'a Scope,
    unresolved: bool,
}

impl Expander<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Processes characters until one of `stops` (outside quotes) or the end.
    fn run(&mut self, stops: &[char]) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                break;
            }
            self.pos += 1;
            match c {
                '\'' => self.single_quoted(&mut out),
                '"' => self.double_quoted(&mut out),
                '$' => self.dollar(&mut out),
                _ if c == self.escape => match self.peek() {
                    Some(next) => {
                        self.pos += 1;
                        out.push(next);
                    }
                    None => out.push(c),
                },
                _ => out.push(c),
            }
        }
        out
    }

    fn single_quoted(&mut self, out: &mut String) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == '\'' {
                return;
            }
            out.push(c);
        }
    }

    fn double_quoted(&mut self, out: &mut String) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => return,
                '$' => self.dollar(out),
                _ if c == self.escape => match self.peek() {
                    Some(next) if matches!(next, '"' | '$') || next == self.escape => {
                        self.pos += 1;
                        out.push(next);
                    }
                    _ => out.push(c),
                },
                _ => out.push(c),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// Handles what follows a `$`.
    fn dollar(&mut self, out: &mut String) {
        match self.peek() {
            Some('{') => self.braced(out),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                self.substitute(&name, out);
            }
            _ => out.push('$'),
        }
    }

    fn substitute(&mut self, name: &str, out: &mut String) {
        match self.scope.lookup(name) {
            Lookup::Value(value) => out.push_str(value),
            Lookup::Unknown => self.unresolved = true,
            Lookup::Unset => {}
        }
    }

    /// `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`.
    fn braced(&mut self, out: &mut String) {
        let start = self.pos;
        self.pos += 1;
        let name = self.name();
        let modifier: String = match self.peek() {
            Some(':') => {
                self.pos += 1;
                self.peek().map(|c| format!(":{c}")).unwrap_or_default()
            }
            Some(c) => c.to_string(),
            None => String::new(),
        };
        if modifier == "}" && !name.is_empty() {
            self.pos += 1;
            self.substitute(&name, out);
            return;
        }
        let Some(kind) = ["-", "+", ":-", ":+"].iter().find(|m| **m == modifier) else {
            self.skip_unsupported(start, out);
            return;
        };
        self.pos += 1;
        let word = self.run(&['}']);
        if self.peek() != Some('}') || name.is_empty() {
            self.pos = start;
            out.push('$');
            return;
        }
        self.pos += 1;
        self.apply_modifier(&name, kind, word, out);
    }

    fn apply_modifier(&mut self, name: &str, kind: &str, word: String, out: &mut String) {
        let colon = kind.starts_with(':');
        let (set, known) = match self.scope.lookup(name) {
            Lookup::Unset => (false, true),
            Lookup::Unknown => (false, false),
            Lookup::Value(value) => (!(colon && value.is_empty()), true),
        };
        if !known {
            self.unresolved = true;
            return;
        }
        if kind.ends_with('-') {
            if set {
                self.substitute(name, out);
            } else {
                out.push_str(&word);
            }
        } else if set {
            out.push_str(&word);
        }
    }

    /// A `${…}` form this expander does not evaluate (`${NAME#pattern}`…): its value is
    /// unknown; a `${` with no closing brace stays as written.
    fn skip_unsupported(&mut self, start: usize, out: &mut String) {
        match self.chars[start..].iter().position(|c| *c == '}') {
            Some(offset) => {
                self.pos = start + offset + 1;
                self.unresolved = true;
            }
            None => {
                self.pos = start;
                out.push('$');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut scope = Scope::default();
        scope.set("A", Some("one".into()));
        scope.set("EMPTY", Some(String::new()));
        scope.set("LATER", None);
        scope
    }

    fn value(raw: &str) -> Option<String> {
        process_word(raw, '\\', &scope()).value
    }

    #[test]
    fn substitution_forms() {
        assert_eq!(value("$A-${A}"), Some("one-one".into()));
        assert_eq!(value("${NOPE:-def}"), Some("def".into()));
        assert_eq!(value("${EMPTY:-def}"), Some("def".into()));
        assert_eq!(value("${EMPTY-def}"), Some(String::new()));
        assert_eq!(value("${A:+x}"), Some("x".into()));
        assert_eq!(value("${NOPE:+x}"), Some(String::new()));
        assert_eq!(value("$LATER"), None);
        assert_eq!(value("${LATER:-x}"), None);
        assert_eq!(value("'$A'\"$A\"\\$A"), Some("$Aone$A".into()));
        assert_eq!(value("${A"), Some("${A".into()));
        assert_eq!(value("${A#x}"), None);
    }

    #[test]
    fn splitting_keeps_quotes() {
        assert_eq!(
            split_words("a=\"b c\" d\\ e 'f g'", '\\'),
            vec!["a=\"b c\"", "d\\ e", "'f g'"]
        );
    }
}
