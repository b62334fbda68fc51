//! Errors raised while loading rule files.

use std::path::PathBuf;

/// A rule file that cannot be used. Every variant names the file (`origin`) and, where the
/// problem is in the text, the 1-based line of the offending rule or field.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{}: cannot read rule file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a field has the wrong type.
    #[error("{origin}:{line}: invalid TOML: {message}")]
    Toml {
        /// The file.
        origin: String,
        /// The line the parser stopped at.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A regular expression (a rule's `regex` or `path`, or an allow-list entry) is rejected.
    #[error("{origin}:{line}: rule {rule:?}: bad {field}: {message}")]
    Regex {
        /// The file.
        origin: String,
        /// The line of the field holding the regex.
        line: usize,
        /// The rule id, or `<global allowlist>`.
        rule: String,
        /// The field (`regex`, `path`, `allowlist regexes`, ...).
        field: &'static str,
        /// What is wrong (syntax error, unsupported construct, too large).
        message: String,
    },
    /// A rule or allow-list is well-formed TOML but makes no sense (no id, neither regex nor
    /// path, an unknown severity, a secret group the regex does not have, ...).
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// The line of the offending rule or field.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
