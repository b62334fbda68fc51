//! `go.mod` files: the `require` and `replace` directives.
//!
//! Hand-written: the format is a small line-based grammar (the Go toolchain's own parser lives
//! in `golang.org/x/mod`, with no Rust port). Only the directives that name dependencies are
//! read; `exclude`, `retract`, `toolchain` and unknown directives are skipped.

/// Most directives accepted in one file.
const MAX_DIRECTIVES: usize = 100_000;

/// Why a `go.mod` file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GoModError {
    /// A line is malformed.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// The file is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
}

/// One `require` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Requirement {
    /// Module path.
    pub path: String,
    /// Required version.
    pub version: String,
    /// Marked `// indirect`.
    pub indirect: bool,
}

/// One `replace` entry: `old [version] => new [version]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Replacement {
    /// Replaced module path.
    pub old_path: String,
    /// Replaced version, when the directive names one (else every version).
    pub old_version: Option<String>,
    /// Replacement module path or local directory.
    pub new_path: String,
    /// Replacement version; absent for local directories.
    pub new_version: Option<String>,
}

/// A parsed `go.mod`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GoMod {
    /// The `module` path.
    pub module: Option<String>,
    /// The `go` directive.
    pub go_version: Option<String>,
    /// `require` entries, in order.
    pub requires: Vec<Requirement>,
    /// `replace` entries, in order.
    pub replaces: Vec<Replacement>,
}

impl GoMod {
    /// The replacement that applies to `path@version`, if any (a versioned one wins).
    pub fn replacement_for(&self, path: &str, version: &str) -> Option<&Replacement> {
        let matching = || self.replaces.iter().filter(move |r| r.old_path == path);
        matching()
            .find(|r| r.old_version.as_deref() == Some(version))
            .or_else(|| matching().find(|r| r.old_version.is_none()))
    }
}

/// Parses the text of a `go.mod` file.
pub fn parse_go_mod(contents: &[u8]) -> Result<GoMod, GoModError> {
    let text = std::str::from_utf8(contents).map_err(|_| GoModError::NotUtf8)?;
    let mut module = GoMod::default();
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let (code, comment) = split_comment(raw);
        let tokens = tokenize(code);
        if module.requires.len() + module.replaces.len() > MAX_DIRECTIVES {
            return Err(GoModError::Line {
                line: line_no,
                message: "too many directives".into(),
            });
        }
        match (&block, tokens.as_slice()) {
            (_, []) => {}
            (Some(_), [close]) if close == ")" => block = None,
            (Some(verb), args) => directive(&mut module, verb, args, comment, line_no)?,
            (None, [verb, open]) if open == "(" => block = Some(verb.clone()),
            (None, [verb, args @ ..]) => directive(&mut module, verb, args, comment, line_no)?,
        }
    }
    Ok(module)
}

fn directive(
    module: &mut GoMod,
    verb: &str,
    args: &[String],
    comment: &str,
    line: usize,
) -> Result<(), GoModError> {
    let bad = |message: &str| GoModError::Line {
        line,
        message: message.to_string(),
    };
    match (verb, args) {
        ("module", [path]) => module.module = Some(path.clone()),
        ("go", [version]) => module.go_version = Some(version.clone()),
        ("require", [path, version]) => module.requires.push(Requirement {
            path: path.clone(),
            version: version.clone(),
            indirect: comment.split_whitespace().next() == Some("indirect") || comment.contains("indirect;"),
        }),
        ("require", _) => return Err(bad("require needs a module path and a version")),
        ("replace", _) => module
            .replaces
            .push(parse_replace(args).ok_or_else(|| bad("bad replace"))?),
        _ => {}
    }
    Ok(())
}

fn parse_replace(args: &[String]) -> Option<Replacement> {
    let arrow = args.iter().position(|t| t == "=>")?;
    let (left, right) = (args.get(..arrow)?, args.get(arrow + 1..)?);
    let (old_path, old_version) = match left {
        [path] => (path.clone(), None),
        [path, version] => (path.clone(), Some(version.clone())),
        _ => return None,
    };
    let (new_path, new_version) = match right {
        [path] => (path.clone(), None),
        [path, version] => (path.clone(), Some(version.clone())),
        _ => return None,
    };
    Some(Replacement {
        old_path,
        old_version,
        new_path,
        new_version,
    })
}

/// Splits a line into code and the text of its `//` comment (trimmed).
fn split_comment(line: &str) -> (&str, &str) {
    match line.find("//") {
        Some(at) => (
            line.get(..at).unwrap_or(line),
            line.get(at + 2..).unwrap_or("").trim(),
        ),
        None => (line, ""),
    }
}

/// Whitespace-separated tokens; `"…"` and `` `…` `` quoted tokens lose their quotes.
fn tokenize(code: &str) -> Vec<String> {
    code.split_whitespace()
        .map(|t| {
            let unquoted = t
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .or_else(|| t.strip_prefix('`').and_then(|t| t.strip_suffix('`')));
            unquoted.unwrap_or(t).to_string()
        })
        .collect()
}

/// Whether a replacement target is a local directory rather than a module.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with("./") || path.starts_with("../") || path.starts_with('/') || path == "." || path == ".."
}
