//! Classifying licence strings for the SBOM formats.
//!
//! Packages carry licences as SPDX expressions where the catalogers could map them, otherwise as
//! the raw text. CycloneDX wants `license.id` only for ids on the SPDX list, `expression` for
//! compound expressions and `license.name` for anything else; SPDX wants a valid expression where
//! unknown text becomes a `LicenseRef-`. The ids known at run time are a hand-written list of the
//! common ones (a test checks each against the SPDX list in the CycloneDX schema); anything not on
//! it is treated as free text, which is always valid, just less precise. The expression check is a
//! small recursive-descent parser written here because it only needs to say "valid or not" over
//! this list; pulling in a full SPDX crate for that is not worth its size.

/// SPDX licence ids Moat recognises (canonical case), including the deprecated `GPL-2.0`-style ids
/// still common in package metadata.
pub(crate) const KNOWN_LICENSE_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AFL-3.0",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "APSL-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "Beerware",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSD-Source-Code",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "CPL-1.0",
    "curl",
    "ECL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "FSFAP",
    "FSFUL",
    "FSFULLR",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0",
    "GPL-1.0+",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0",
    "GPL-2.0+",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0",
    "GPL-3.0+",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "Imlib2",
    "Info-ZIP",
    "IPL-1.0",
    "ISC",
    "JSON",
    "LGPL-2.0",
    "LGPL-2.0+",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1",
    "LGPL-2.1+",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0",
    "LGPL-3.0+",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libtiff",
    "LPPL-1.3c",
    "MirOS",
    "MIT",
    "MIT-0",
    "MIT-CMU",
    "MPL-1.0",
    "MPL-1.1",
    "MPL-2.0",
    "MPL-2.0-no-copyleft-exception",
    "MS-PL",
    "MS-RL",
    "NCSA",
    "NTP",
    "ODbL-1.0",
    "OFL-1.1",
    "OLDAP-2.8",
    "OpenSSL",
    "PDDL-1.0",
    "PHP-3.0",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Python-2.0.1",
    "Ruby",
    "SGI-B-2.0",
    "Sleepycat",
    "Spencer-94",
    "TCL",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unicode-TOU",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "XFree86-1.1",
    "Zlib",
    "ZPL-2.1",
];

/// SPDX licence exception ids Moat recognises after `WITH`.
pub(crate) const KNOWN_EXCEPTION_IDS: &[&str] = &[
    "389-exception",
    "Autoconf-exception-2.0",
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
    "Classpath-exception-2.0",
    "Font-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "Libtool-exception",
    "Linux-syscall-note",
    "LLVM-exception",
    "Qt-LGPL-exception-1.1",
    "Swift-exception",
    "u-boot-exception-2.0",
    "WxWindows-exception-3.1",
];

/// Longest licence string treated as a possible expression; longer text is free text.
const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted in an expression.
const MAX_EXPRESSION_DEPTH: usize = 16;

/// What one licence string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LicenseKind {
    /// A single SPDX licence id from the known list, in canonical case.
    Id(String),
    /// A `LicenseRef-…` reference, kept as written.
    Ref(String),
    /// A compound SPDX expression (`AND`/`OR`/`WITH`/`+`) over known ids and LicenseRefs.
    Expression(String),
    /// Anything else: free text.
    Text(String),
}

/// Classifies a licence string; surrounding whitespace is ignored.
pub(crate) fn classify(raw: &str) -> LicenseKind {
    let text = raw.trim();
    if let Some(id) = known_id(text) {
        return LicenseKind::Id(id.to_string());
    }
    if is_license_ref(text) {
        return LicenseKind::Ref(text.to_string());
    }
    if is_valid_expression(text) {
        return LicenseKind::Expression(text.to_string());
    }
    LicenseKind::Text(text.to_string())
}

/// The canonical spelling of a known licence id, matched case-insensitively.
pub(crate) fn known_id(text: &str) -> Option<&'static str> {
    KNOWN_LICENSE_IDS
        .iter()
        .copied()
        .find(|id| id.eq_ignore_ascii_case(text))
}

fn known_exception(text: &str) -> bool {
    KNOWN_EXCEPTION_IDS.iter().any(|id| id.eq_ignore_ascii_case(text))
}

/// `LicenseRef-[A-Za-z0-9.-]+` (optionally `DocumentRef-…:` prefixed).
pub(crate) fn is_license_ref(text: &str) -> bool {
    let local = match text.split_once(':') {
        Some((document, local)) if document.starts_with("DocumentRef-") => local,
        Some(_) => return false,
        None => text,
    };
    local
        .strip_prefix("LicenseRef-")
        .is_some_and(|idstring| !idstring.is_empty() && idstring.chars().all(is_idstring_char))
}

fn is_idstring_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// True when `text` is a valid SPDX expression over known ids, LicenseRefs and exceptions.
pub(crate) fn is_valid_expression(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_EXPRESSION_LEN {
        return false;
    }
    let tokens = tokenize(text);
    let mut parser = ExpressionParser {
        tokens: &tokens,
        position: 0,
        depth: 0,
    };
    parser.or_expression() && parser.position == tokens.len()
}

/// Splits an expression into `(`, `)` and words.
fn tokenize(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (index, c) in text.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(begin) = start.take() {
                tokens.push(&text[begin..index]);
            }
            if c == '(' || c == ')' {
                tokens.push(&text[index..index + 1]);
            }
        } else if start.is_none() {
            start = Some(index);
        }
    }
    if let Some(begin) = start {
        tokens.push(&text[begin..]);
    }
    tokens
}

/// Recursive descent over `or := and (OR and)*`, `and := atom (AND atom)*`,
/// `atom := '(' or ')' | license ['WITH' exception]`.
struct ExpressionParser<'a> {
    tokens: &'a [&'a str],
    position: usize,
    depth: usize,
}

impl ExpressionParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.position).copied()
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.peek() == Some(token) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn or_expression(&mut self) -> bool {
        if !self.and_expression() {
            return false;
        }
        while self.eat("OR") {
            if !self.and_expression() {
                return false;
            }
        }
        true
    }

    fn and_expression(&mut self) -> bool {
        if !self.atom() {
            return false;
        }
        while self.eat("AND") {
            if !self.atom() {
                return false;
            }
        }
        true
    }

    fn atom(&mut self) -> bool {
        if self.eat("(") {
            self.depth += 1;
            let inner = self.depth <= MAX_EXPRESSION_DEPTH && self.or_expression();
            self.depth -= 1;
            return inner && self.eat(")");
        }
        if !self.simple_license() {
            return false;
        }
        if self.eat("WITH") {
            return match self.peek() {
                Some(exception) if known_exception(exception) => {
                    self.position += 1;
                    true
                }
                _ => false,
            };
        }
        true
    }

    fn simple_license(&mut self) -> bool {
        let Some(token) = self.peek() else { return false };
        let id = token.strip_suffix('+').unwrap_or(token);
        if known_id(id).is_some() || is_license_ref(token) {
            self.position += 1;
            true
        } else {
            false
        }
    }
}

/// Joins several licences into one SPDX expression with `AND`, parenthesising compound ones.
/// `to_operand` turns each licence into a valid expression operand.
pub(crate) fn join_with_and(licenses: &[String], mut to_operand: impl FnMut(&str) -> String) -> String {
    let operands: Vec<String> = licenses
        .iter()
        .map(|license| {
            let operand = to_operand(license);
            if licenses.len() > 1 && operand.contains(' ') {
                format!("({operand})")
            } else {
                operand
            }
        })
        .collect();
    operands.join(" AND ")
}

/// Splits an expression at its top-level `AND`s, removing one level of wrapping parentheses
/// from each part: the inverse of [`join_with_and`].
pub(crate) fn split_top_level_and(expression: &str) -> Vec<String> {
    let tokens = tokenize(expression);
    let mut parts = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut depth = 0usize;
    for token in tokens {
        match token {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "AND" if depth == 0 => {
                parts.push(render(&current));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(token);
    }
    parts.push(render(&current));
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Renders tokens back into text, dropping one pair of parentheses around the whole.
fn render(tokens: &[&str]) -> String {
    let inner = match tokens {
        [first, middle @ .., last] if *first == "(" && *last == ")" && wraps_whole(middle) => middle,
        _ => tokens,
    };
    let mut text = String::new();
    for token in inner {
        let glue = !(text.is_empty() || text.ends_with('(') || *token == ")");
        if glue {
            text.push(' ');
        }
        text.push_str(token);
    }
    text
}

/// True when the parentheses in `tokens` balance without closing the outer pair early.
fn wraps_whole(tokens: &[&str]) -> bool {
    let mut depth = 0i64;
    for token in tokens {
        match *token {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ids_case_insensitively() {
        assert_eq!(classify("mit"), LicenseKind::Id("MIT".into()));
        assert_eq!(classify(" Apache-2.0 "), LicenseKind::Id("Apache-2.0".into()));
        assert_eq!(classify("GPL-2.0+"), LicenseKind::Id("GPL-2.0+".into()));
    }

    #[test]
    fn classifies_expressions() {
        for text in [
            "MIT OR Apache-2.0",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "LGPL-2.1+ AND LicenseRef-public-domain",
        ] {
            assert_eq!(classify(text), LicenseKind::Expression(text.into()), "{text}");
        }
    }

    #[test]
    fn rejects_invalid_expressions() {
        for text in [
            "MIT OR",
            "MIT Apache-2.0",
            "(MIT",
            "MIT)",
            "GPL-2+ or Artistic",
            "MIT WITH Nonsense-exception",
            "Apache 2.0",
            "BSD-like",
        ] {
            assert_eq!(classify(text), LicenseKind::Text(text.into()), "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let deep = format!("{}MIT{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(!is_valid_expression(&deep));
        let nested = format!("{}MIT{}", "(".repeat(5), ")".repeat(5));
        assert!(is_valid_expression(&nested));
    }

    #[test]
    fn license_refs() {
        assert!(is_license_ref("LicenseRef-BSD-like"));
        assert!(is_license_ref("DocumentRef-x:LicenseRef-y"));
        assert!(!is_license_ref("LicenseRef-"));
        assert!(!is_license_ref("LicenseRef-a b"));
    }

    #[test]
    fn join_and_split_are_inverse() {
        let licenses = vec![
            "MIT".to_string(),
            "MIT OR Apache-2.0".to_string(),
            "Zlib".to_string(),
        ];
        let joined = join_with_and(&licenses, |l| l.to_string());
        assert_eq!(joined, "MIT AND (MIT OR Apache-2.0) AND Zlib");
        assert_eq!(split_top_level_and(&joined), licenses);
        assert_eq!(split_top_level_and("(MIT) AND (ISC)"), vec!["MIT", "ISC"]);
        assert_eq!(
            split_top_level_and("(MIT OR ISC) AND (Zlib OR 0BSD)"),
            vec!["MIT OR ISC", "Zlib OR 0BSD"]
        );
    }

    /// Every hand-listed id must be on the SPDX list embedded in the CycloneDX schema, so that
    /// `license.id` output always validates.
    #[test]
    fn known_ids_are_on_the_spdx_list() {
        let shared = std::env::var_os("MOAT_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
            });
        let path = shared.join("conformance/cyclonedx/schema/spdx.schema.json");
        if !path.is_file() {
            if std::env::var("MOAT_NO_SHARED").as_deref() == Ok("1") {
                eprintln!("skipping: {} is absent and MOAT_NO_SHARED=1", path.display());
                return;
            }
            panic!(
                "shared test file {} is missing (set MOAT_SHARED or MOAT_NO_SHARED=1)",
                path.display()
            );
        }
        let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        for id in KNOWN_LICENSE_IDS.iter().chain(KNOWN_EXCEPTION_IDS) {
            assert!(listed.contains(id), "{id} is not in {}", path.display());
        }
    }
}
