//! Dockerfile parsing and checks.
//!
//! [`parse`] reads a Dockerfile into a typed model ([`Dockerfile`]: parser directives, build
//! stages, instructions with line ranges, flags, exec vs shell form, heredocs, `ARG`/`ENV`
//! substitution); [`check`] runs every check in [`CHECKS`] (`DF001`…) on it. Findings point at
//! the offending instruction (start line and column, last line) and name the stage they are in.

mod catalog;
mod checks;
mod lines;
pub mod model;
mod packages;
mod parser;
mod run;
mod shell;
mod words;

pub use model::{
    BaseImage, Body, Command, Directive, Dockerfile, Flag, Heredoc, ImageRef, Instruction, Keyword, Stage,
    Transfer, Word,
};
pub use parser::{parse, Parsed};

use crate::{FileOutcome, ScanOptions};
use moat_core::CheckInfo;

/// Every Dockerfile check, in id order.
pub static CHECKS: &[CheckInfo] = catalog::ALL;

/// Whether a file name is a Dockerfile: `Dockerfile`, `Containerfile`, `dockerfile`,
/// `*.Dockerfile`, `*.dockerfile`, `Dockerfile.*`, `Containerfile.*`.
pub fn is_dockerfile_name(name: &str) -> bool {
    const EXACT: &[&str] = &["Dockerfile", "Containerfile", "dockerfile", "containerfile"];
    const SUFFIXES: &[&str] = &[".Dockerfile", ".dockerfile", ".Containerfile", ".containerfile"];
    const PREFIXES: &[&str] = &["Dockerfile.", "Containerfile.", "dockerfile."];
    let has_stem = |affix: &str| name.len() > affix.len();
    EXACT.contains(&name)
        || SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix) && has_stem(suffix))
        || PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix) && has_stem(prefix) && !is_not_a_dockerfile(name))
}

/// `Dockerfile.*` names that are not Dockerfiles (`Dockerfile.dockerignore` and the like).
fn is_not_a_dockerfile(name: &str) -> bool {
    name.ends_with(".dockerignore") || name.ends_with(".md") || name.ends_with(".orig")
}

/// Parses one Dockerfile and runs every check on it. Syntax errors are reported with their
/// line; the instructions that parsed are still checked.
pub fn check(path: &str, text: &str, options: &ScanOptions) -> FileOutcome {
    let Parsed { dockerfile, errors } = parse(path, text);
    let mut findings = checks::run_all(path, &dockerfile, options);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    FileOutcome { findings, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for name in [
            "Dockerfile",
            "Containerfile",
            "dockerfile",
            "api.Dockerfile",
            "api.dockerfile",
            "Dockerfile.prod",
            "Containerfile.dev",
        ] {
            assert!(is_dockerfile_name(name), "{name}");
        }
        for name in [
            "Dockerfile.dockerignore",
            ".Dockerfile",
            "Dockerfile.",
            "Makefile",
            "docker-compose.yml",
            "Dockerfiles",
        ] {
            assert!(!is_dockerfile_name(name), "{name}");
        }
    }
}
