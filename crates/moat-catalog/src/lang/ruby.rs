//! Ruby: installed gems (`specifications/*.gemspec`, written by RubyGems on install) and declared
//! ones (`Gemfile.lock`).
//!
//! Both parsers are hand-written. Installed gemspecs are Ruby code; evaluating it is out of the
//! question, and RubyGems writes them in one fixed shape (`s.name = "rack".freeze`), so the
//! literal assignments are read line by line. `Gemfile.lock` is Bundler's own indentation-based
//! format, for which no Rust crate exists.

use super::file_name;
use crate::cataloger::{Applies, CatalogError, Cataloger};
use crate::license::to_spdx;
use moat_core::{Package, PackageType};
use std::collections::HashSet;

/// Name of the installed-gem cataloger.
pub const GEMSPEC_CATALOGER: &str = "ruby-installed-gemspec-cataloger";
/// Name of the `Gemfile.lock` cataloger.
pub const GEMFILE_LOCK_CATALOGER: &str = "ruby-gemfile-lock-cataloger";
/// Most lines read from one file.
const MAX_LINES: usize = 500_000;

/// What a gemspec says about the gem.
#[derive(Debug, Default)]
struct GemspecFields {
    name: Option<String>,
    version: Option<String>,
    licenses: Vec<String>,
    platform: Option<String>,
    homepage: Option<String>,
}

/// Parses an installed gemspec: `<var>.name`, `.version`, `.license(s)`, `.platform` and
/// `.homepage` assignments of string literals, falling back to the `# stub: name version` line.
pub fn parse_gemspec(path: &str, contents: &[u8]) -> Result<Package, CatalogError> {
    let text = String::from_utf8_lossy(contents);
    let mut fields = GemspecFields::default();
    for line in text.lines().take(MAX_LINES) {
        read_gemspec_line(line.trim(), &mut fields);
    }
    let missing = |what: &str| CatalogError::malformed("gemspec", format!("{path}: no {what} assignment"));
    let name = fields.name.ok_or_else(|| missing("name"))?;
    let version = fields.version.ok_or_else(|| missing("version"))?;
    let mut p = Package::new(PackageType::Gem, name, version, path, GEMSPEC_CATALOGER);
    p.licenses = fields.licenses.iter().map(|l| to_spdx(l)).collect();
    if let Some(platform) = fields.platform.filter(|p| p != "ruby") {
        p.metadata.insert("gem.platform".into(), platform);
    }
    if let Some(homepage) = fields.homepage {
        p.metadata.insert("gem.homepage".into(), homepage);
    }
    Ok(p)
}

fn read_gemspec_line(line: &str, fields: &mut GemspecFields) {
    if let Some(stub) = line.strip_prefix("# stub:") {
        let mut words = stub.split_whitespace();
        if let (Some(name), Some(version)) = (words.next(), words.next()) {
            fields.name.get_or_insert_with(|| name.to_string());
            fields.version.get_or_insert_with(|| version.to_string());
        }
        return;
    }
    let Some((attribute, value)) = assignment(line) else {
        return;
    };
    let first = || string_literals(value).into_iter().next();
    match attribute {
        "name" => fields.name = first().or(fields.name.take()),
        "version" => fields.version = first().or(fields.version.take()),
        "platform" => fields.platform = first(),
        "homepage" => fields.homepage = first(),
        "license" | "licenses" => fields.licenses = string_literals(value),
        _ => {}
    }
}

/// `(attribute, right-hand side)` of `ident.attribute = value`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (target, value) = line.split_once('=')?;
    if value.starts_with(['=', '~']) {
        return None;
    }
    let (receiver, attribute) = target.trim().split_once('.')?;
    let is_ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (is_ident(receiver) && is_ident(attribute)).then_some((attribute, value.trim()))
}

/// The contents of every `"…"` or `'…'` literal in `value`, in order (escapes are not expanded;
/// gem names, versions and licence ids do not use them).
fn string_literals(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let after = &rest[start + 1..];
        let Some(end) = after.find(quote) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Whether `path` is an installed gem specification.
fn is_installed_gemspec(path: &str) -> bool {
    path.ends_with(".gemspec") && path.contains("/specifications/")
}

/// Reads gems installed by RubyGems.
#[derive(Debug, Default)]
pub struct RubyGemspecCataloger;

impl Cataloger for RubyGemspecCataloger {
    fn name(&self) -> &'static str {
        GEMSPEC_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants_path(&self, path: &str) -> bool {
        is_installed_gemspec(path)
    }

    fn max_size(&self) -> u64 {
        4 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_gemspec(path, contents).map(|p| vec![p])
    }
}

/// Sections of a `Gemfile.lock` whose `specs:` list resolved gems.
const SOURCE_SECTIONS: [&str; 4] = ["GEM", "GIT", "PATH", "PLUGIN SOURCE"];

/// Parses a `Gemfile.lock`: every gem of the `specs:` lists of the GEM, GIT, PATH and PLUGIN
/// SOURCE sections (four-space indented `name (version)` lines). A platform suffix
/// (`1.13.10-x86_64-linux`) is moved from the version to `gem.platform`.
pub fn parse_gemfile_lock(path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
    let text = std::str::from_utf8(contents)
        .map_err(|e| CatalogError::malformed("Gemfile.lock", format!("{path}: not UTF-8: {e}")))?;
    let mut packages = Vec::new();
    let mut seen = HashSet::new();
    let mut section = "";
    for (index, raw) in text.lines().enumerate().take(MAX_LINES) {
        let line = raw.trim_end_matches('\r');
        if !line.starts_with(' ') && !line.trim().is_empty() {
            section = line.trim();
            continue;
        }
        if !SOURCE_SECTIONS.contains(&section) {
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|s| !s.starts_with(' ')) else {
            continue;
        };
        let (name, version) = spec_line(spec).ok_or_else(|| {
            CatalogError::malformed(
                "Gemfile.lock",
                format!("{path}: line {}: expected `name (version)`", index + 1),
            )
        })?;
        let (version, platform) = split_platform(version);
        if !seen.insert((name.to_string(), version.to_string(), platform.to_string())) {
            continue;
        }
        let mut p = Package::new(PackageType::Gem, name, version, path, GEMFILE_LOCK_CATALOGER);
        if !platform.is_empty() {
            p.metadata.insert("gem.platform".into(), platform.to_string());
        }
        p.metadata.insert("gem.source".into(), section.to_string());
        packages.push(p);
    }
    Ok(packages)
}

/// `name (version)` → `(name, version)`.
fn spec_line(spec: &str) -> Option<(&str, &str)> {
    let (name, rest) = spec.trim().split_once(" (")?;
    let version = rest.strip_suffix(')')?;
    (!name.is_empty() && !version.is_empty() && !name.contains(' ')).then_some((name, version))
}

/// `1.13.10-x86_64-linux` → (`1.13.10`, `x86_64-linux`); gem versions never contain `-`.
fn split_platform(version: &str) -> (&str, &str) {
    version.split_once('-').unwrap_or((version, ""))
}

/// Reads Bundler lock files.
#[derive(Debug, Default)]
pub struct RubyGemfileLockCataloger;

impl Cataloger for RubyGemfileLockCataloger {
    fn name(&self) -> &'static str {
        GEMFILE_LOCK_CATALOGER
    }

    fn version(&self) -> u32 {
        1
    }

    fn applies(&self) -> Applies {
        Applies::DirectoriesOnly
    }

    fn wants_path(&self, path: &str) -> bool {
        file_name(path) == "Gemfile.lock"
    }

    fn max_size(&self) -> u64 {
        16 * 1024 * 1024
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_gemfile_lock(path, contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_and_literals() {
        assert_eq!(
            assignment("s.name = \"rack\".freeze"),
            Some(("name", "\"rack\".freeze"))
        );
        assert_eq!(assignment("if s.respond_to? :x then"), None);
        assert_eq!(assignment("s.version == 1"), None);
        assert_eq!(
            string_literals("[\"MIT\".freeze, 'Ruby'.freeze]"),
            vec!["MIT", "Ruby"]
        );
        assert!(string_literals("\"unterminated").is_empty());
    }

    #[test]
    fn platforms() {
        assert_eq!(
            split_platform("1.13.10-x86_64-linux"),
            ("1.13.10", "x86_64-linux")
        );
        assert_eq!(split_platform("7.0.4"), ("7.0.4", ""));
        assert_eq!(
            spec_line("nokogiri (1.13.10-java)"),
            Some(("nokogiri", "1.13.10-java"))
        );
        assert_eq!(spec_line("rack"), None);
    }
}
