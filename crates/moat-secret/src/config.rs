//! Reading gitleaks-format rule files (TOML) into compiled rules.
//!
//! Supported: `title`, `[extend]` (`useDefault`, `path`, `disabledRules`), `[[rules]]` with `id`,
//! `description`, `regex`, `secretGroup`, `entropy`, `keywords`, `path`, `tags`, the older
//! `[rules.allowlist]` and `[[rules.allowlists]]`, and the global `[allowlist]` /
//! `[[allowlists]]`; allow-lists take `condition`, `regexTarget`, `regexes`, `paths`,
//! `stopwords` (and `commits`, which mean nothing for files and are ignored). Moat adds three
//! optional rule fields: `title`, `severity` and `requireDigit`.

use crate::re2;
use crate::rule::{default_severity, default_title, Allowlist, Condition, RegexTarget, Rule, RuleInfo};
use crate::RuleError;
use aho_corasick::AhoCorasick;
use moat_core::Severity;
use regex_automata::meta::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// How deep `[extend] path` may chain.
const MAX_EXTEND_DEPTH: usize = 3;
/// The largest rule file `[extend] path` reads.
const MAX_RULE_FILE: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
struct FileConfig {
    #[allow(dead_code)]
    title: Option<String>,
    extend: Option<Spanned<ExtendConfig>>,
    allowlist: Option<Spanned<AllowlistConfig>>,
    #[serde(default)]
    allowlists: Vec<Spanned<AllowlistConfig>>,
    #[serde(default)]
    rules: Vec<Spanned<RuleConfig>>,
}

#[derive(Debug, Deserialize)]
struct ExtendConfig {
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    #[serde(rename = "useDefault", default)]
    use_default: bool,
    #[serde(rename = "disabledRules", default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RuleConfig {
    id: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    regex: Option<Spanned<String>>,
    #[serde(rename = "secretGroup")]
    secret_group: Option<Spanned<i64>>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    allowlist: Option<Spanned<AllowlistConfig>>,
    #[serde(default)]
    allowlists: Vec<Spanned<AllowlistConfig>>,
    title: Option<String>,
    severity: Option<Spanned<String>>,
    #[serde(rename = "requireDigit")]
    require_digit: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct AllowlistConfig {
    condition: Option<Spanned<String>>,
    #[serde(rename = "regexTarget")]
    regex_target: Option<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
}

/// Rules and global allow-lists read from one file (and what it extends).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadedRules {
    pub rules: Vec<Rule>,
    pub global: Vec<Allowlist>,
    /// A digest of every rule file text read (the file and what it extends), so results made
    /// with other rules are never taken for these.
    pub digest: u64,
}

/// Mixes a rule file's text into a digest (std's SipHash with fixed keys: stable for one build,
/// which is all a cache key that also names Moat's version needs).
fn mix_text(digest: u64, text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    digest.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

/// Where a file being read is, for messages and for resolving `[extend] path`.
struct Source<'a> {
    text: &'a str,
    origin: &'a str,
    base_dir: Option<&'a Path>,
    depth: usize,
}

impl Source<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn invalid(&self, offset: usize, message: impl Into<String>) -> RuleError {
        RuleError::Invalid {
            origin: self.origin.to_string(),
            line: self.line_of(offset),
            message: message.into(),
        }
    }

    fn regex(&self, pattern: &Spanned<String>, rule: &str, field: &'static str) -> Result<Regex, RuleError> {
        re2::compile(pattern.get_ref()).map_err(|message| self.regex_error(pattern, rule, field, message))
    }

    fn regex_error(
        &self,
        pattern: &Spanned<String>,
        rule: &str,
        field: &'static str,
        message: String,
    ) -> RuleError {
        RuleError::Regex {
            origin: self.origin.to_string(),
            line: self.line_of(pattern.span().start),
            rule: rule.to_string(),
            field,
            message,
        }
    }
}

/// Parses gitleaks TOML `text`. `builtin` supplies the rules `[extend] useDefault` brings in.
pub(crate) fn parse(
    text: &str,
    origin: &str,
    base_dir: Option<&Path>,
    builtin: &dyn Fn() -> LoadedRules,
) -> Result<LoadedRules, RuleError> {
    let source = Source {
        text,
        origin,
        base_dir,
        depth: 0,
    };
    parse_source(&source, builtin)
}

fn parse_source(source: &Source<'_>, builtin: &dyn Fn() -> LoadedRules) -> Result<LoadedRules, RuleError> {
    let config: FileConfig = toml::from_str(source.text).map_err(|e| RuleError::Toml {
        origin: source.origin.to_string(),
        line: e.span().map_or(1, |s| source.line_of(s.start)),
        message: e.message().to_string(),
    })?;
    let mut loaded = match &config.extend {
        Some(extend) => load_extended(source, extend, builtin)?,
        None => LoadedRules::default(),
    };
    for list in config.allowlist.iter().chain(&config.allowlists) {
        let compiled = compile_allowlist(source, list, "<global allowlist>")?;
        if !compiled.is_empty() {
            loaded.global.push(compiled);
        }
    }
    for rule in &config.rules {
        add_rule(source, rule, &mut loaded.rules)?;
    }
    loaded.digest = mix_text(loaded.digest, source.text);
    Ok(loaded)
}

fn load_extended(
    source: &Source<'_>,
    extend: &Spanned<ExtendConfig>,
    builtin: &dyn Fn() -> LoadedRules,
) -> Result<LoadedRules, RuleError> {
    let settings = extend.get_ref();
    if let Some(url) = &settings.url {
        return Err(source.invalid(url.span().start, "[extend] url is not supported (use path)"));
    }
    let mut base = if settings.use_default {
        builtin()
    } else {
        LoadedRules::default()
    };
    if let Some(path) = &settings.path {
        let extended = read_extended_file(source, path, builtin)?;
        merge(&mut base, extended);
    }
    base.rules
        .retain(|r| !settings.disabled_rules.contains(&r.info.id));
    Ok(base)
}

fn read_extended_file(
    source: &Source<'_>,
    path: &Spanned<String>,
    builtin: &dyn Fn() -> LoadedRules,
) -> Result<LoadedRules, RuleError> {
    if source.depth + 1 >= MAX_EXTEND_DEPTH {
        return Err(source.invalid(path.span().start, "[extend] chains too deep"));
    }
    let resolved: PathBuf = match source.base_dir {
        Some(dir) if Path::new(path.get_ref()).is_relative() => dir.join(path.get_ref()),
        _ => PathBuf::from(path.get_ref()),
    };
    let text = read_rule_file(&resolved).map_err(|e| {
        source.invalid(
            path.span().start,
            format!("[extend] path {}: {e}", resolved.display()),
        )
    })?;
    let origin = resolved.display().to_string();
    let nested = Source {
        text: &text,
        origin: &origin,
        base_dir: resolved.parent(),
        depth: source.depth + 1,
    };
    parse_source(&nested, builtin)
}

/// Reads a rule file named by `[extend] path`: a regular file of at most [`MAX_RULE_FILE`]
/// bytes of UTF-8.
fn read_rule_file(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_RULE_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_RULE_FILE {
        return Err(Error::new(ErrorKind::InvalidData, "larger than 16 MiB"));
    }
    Ok(text)
}

/// Adds `extra`'s rules and global lists to `base`; a rule with an id already present replaces it.
pub(crate) fn merge(base: &mut LoadedRules, extra: LoadedRules) {
    for rule in extra.rules {
        upsert(&mut base.rules, rule);
    }
    base.global.extend(extra.global);
    base.digest = base.digest.rotate_left(1) ^ extra.digest;
}

fn upsert(rules: &mut Vec<Rule>, rule: Rule) {
    match rules.iter_mut().find(|r| r.info.id == rule.info.id) {
        Some(existing) => *existing = rule,
        None => rules.push(rule),
    }
}

fn add_rule(
    source: &Source<'_>,
    spanned: &Spanned<RuleConfig>,
    rules: &mut Vec<Rule>,
) -> Result<(), RuleError> {
    let config = spanned.get_ref();
    let Some(id) = &config.id else {
        return Err(source.invalid(spanned.span().start, "rule without an id"));
    };
    let id_text = id.get_ref().trim();
    if id_text.is_empty() {
        return Err(source.invalid(id.span().start, "rule with an empty id"));
    }
    let existing = rules.iter().position(|r| r.info.id == id_text);
    let rule = match existing.and_then(|i| rules.get(i)) {
        Some(base) if config.regex.is_none() && config.path.is_none() => {
            patch_rule(source, id_text, config, base.clone())?
        }
        _ => compile_rule(source, id, config)?,
    };
    upsert(rules, rule);
    Ok(())
}

fn compile_rule(source: &Source<'_>, id: &Spanned<String>, config: &RuleConfig) -> Result<Rule, RuleError> {
    let id_text = id.get_ref().trim();
    if config.regex.is_none() && config.path.is_none() {
        return Err(source.invalid(
            id.span().start,
            format!("rule {id_text:?} has neither a regex nor a path"),
        ));
    }
    let info = RuleInfo {
        id: id_text.to_string(),
        title: config.title.clone().unwrap_or_else(|| default_title(id_text)),
        description: config.description.clone(),
        severity: default_severity(id_text),
        keywords: Vec::new(),
        tags: Vec::new(),
    };
    let blank = Rule {
        info,
        regex: None,
        secret_group: 0,
        entropy: None,
        path: None,
        require_digit: id_text.starts_with("generic"),
        allowlists: Vec::new(),
    };
    patch_rule(source, id_text, config, blank)
}

/// Applies the fields `config` sets to `rule`.
fn patch_rule(source: &Source<'_>, id: &str, config: &RuleConfig, mut rule: Rule) -> Result<Rule, RuleError> {
    if let Some(pattern) = &config.regex {
        rule.regex = Some(source.regex(pattern, id, "regex")?);
    }
    if let Some(pattern) = &config.path {
        rule.path = Some(source.regex(pattern, id, "path")?);
    }
    if !config.description.is_empty() {
        rule.info.description = config.description.clone();
    }
    if let Some(title) = &config.title {
        rule.info.title = title.clone();
    }
    if let Some(severity) = &config.severity {
        rule.info.severity = parse_severity(source, severity)?;
    }
    if !config.keywords.is_empty() {
        rule.info.keywords = lower_keywords(&config.keywords);
    }
    rule.info.tags.extend(config.tags.iter().cloned());
    if let Some(entropy) = config.entropy {
        rule.entropy = (entropy > 0.0).then_some(entropy);
    }
    if let Some(require) = config.require_digit {
        rule.require_digit = require;
    }
    if let Some(group) = &config.secret_group {
        rule.secret_group = checked_secret_group(source, id, group, rule.regex.as_ref())?;
    }
    for list in config.allowlist.iter().chain(&config.allowlists) {
        let compiled = compile_allowlist(source, list, id)?;
        if !compiled.is_empty() {
            rule.allowlists.push(compiled);
        }
    }
    Ok(rule)
}

fn lower_keywords(keywords: &[String]) -> Vec<String> {
    let mut lowered: Vec<String> = keywords
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    lowered.sort();
    lowered.dedup();
    lowered
}

fn parse_severity(source: &Source<'_>, severity: &Spanned<String>) -> Result<Severity, RuleError> {
    severity
        .get_ref()
        .parse()
        .map_err(|e| source.invalid(severity.span().start, format!("severity: {e}")))
}

fn checked_secret_group(
    source: &Source<'_>,
    id: &str,
    group: &Spanned<i64>,
    regex: Option<&Regex>,
) -> Result<usize, RuleError> {
    let groups = regex.map_or(0, |r| r.captures_len().saturating_sub(1));
    match usize::try_from(*group.get_ref()) {
        Ok(g) if g <= groups => Ok(g),
        _ => Err(source.invalid(
            group.span().start,
            format!(
                "rule {id:?}: secretGroup {} but the regex has {groups} capture group(s)",
                group.get_ref()
            ),
        )),
    }
}

fn compile_allowlist(
    source: &Source<'_>,
    spanned: &Spanned<AllowlistConfig>,
    rule: &str,
) -> Result<Allowlist, RuleError> {
    let config = spanned.get_ref();
    let condition = match config
        .condition
        .as_ref()
        .map(|c| (c, c.get_ref().to_ascii_uppercase()))
    {
        None => Condition::Or,
        Some((_, c)) if c == "OR" || c.is_empty() => Condition::Or,
        Some((_, c)) if c == "AND" => Condition::And,
        Some((c, _)) => {
            return Err(source.invalid(
                c.span().start,
                format!("condition {:?}: expected OR or AND", c.get_ref()),
            ))
        }
    };
    let target = match config
        .regex_target
        .as_ref()
        .map(|t| (t, t.get_ref().to_ascii_lowercase()))
    {
        None => RegexTarget::Secret,
        Some((_, t)) if t == "secret" || t.is_empty() => RegexTarget::Secret,
        Some((_, t)) if t == "match" => RegexTarget::Match,
        Some((_, t)) if t == "line" => RegexTarget::Line,
        Some((t, _)) => {
            return Err(source.invalid(
                t.span().start,
                format!("regexTarget {:?}: expected secret, match or line", t.get_ref()),
            ))
        }
    };
    Ok(Allowlist {
        condition,
        target,
        regexes: compile_group(source, &config.regexes, rule, "allowlist regexes")?,
        paths: compile_group(source, &config.paths, rule, "allowlist paths")?,
        stopwords: compile_stopwords(source, spanned)?,
    })
}

/// Checks each pattern alone (for a precise error), then compiles them as one regex.
fn compile_group(
    source: &Source<'_>,
    patterns: &[Spanned<String>],
    rule: &str,
    field: &'static str,
) -> Result<Option<Regex>, RuleError> {
    let Some(first) = patterns.first() else {
        return Ok(None);
    };
    for pattern in patterns {
        source.regex(pattern, rule, field)?;
    }
    let texts: Vec<&str> = patterns.iter().map(|p| p.get_ref().as_str()).collect();
    re2::compile_many(&texts)
        .map(Some)
        .map_err(|message| source.regex_error(first, rule, field, message))
}

fn compile_stopwords(
    source: &Source<'_>,
    spanned: &Spanned<AllowlistConfig>,
) -> Result<Option<AhoCorasick>, RuleError> {
    let words: Vec<&str> = spanned
        .get_ref()
        .stopwords
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&words)
        .map(Some)
        .map_err(|e| source.invalid(spanned.span().start, format!("stopwords: {e}")))
}
