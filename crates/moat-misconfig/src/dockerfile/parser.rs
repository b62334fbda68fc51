//! The Dockerfile parser, written by hand: no maintained Rust crate parses the whole syntax
//! (directives, backtick escapes, heredocs, flags, exec vs shell form, `ARG`/`ENV`
//! substitution with stage scoping), so this module follows the Dockerfile reference and
//! BuildKit's behaviour directly.

use super::lines::{self, LineError, RawInstruction};
use super::model::{
    BaseImage, Body, Command, Dockerfile, Flag, ImageRef, Instruction, Keyword, Stage, Transfer, Word,
};
use super::words::{process_word, split_words, Scope};
use crate::ConfigError;

/// A parsed Dockerfile and the problems that made parts of it unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// What could be parsed.
    pub dockerfile: Dockerfile,
    /// Syntax errors, each naming the file and line; the instructions they name are left out.
    pub errors: Vec<ConfigError>,
}

/// Parses a Dockerfile. Instructions with syntax errors are reported and left out; the rest
/// is kept, so checks can still run on it.
pub fn parse(path: &str, text: &str) -> Parsed {
    let split = lines::split(text);
    let mut builder = Builder {
        path,
        escape: split.escape.unwrap_or('\\'),
        errors: split.errors.iter().map(|e| error(path, e)).collect(),
        global_scope: Scope::with_predefined(),
        global_args: Vec::new(),
        stages: Vec::new(),
        stage_scopes: Vec::new(),
        scope: Scope::default(),
        env_scope: Scope::default(),
        missing_from_reported: false,
    };
    for raw in &split.instructions {
        builder.add(raw);
    }
    if builder.stages.is_empty() && !builder.missing_from_reported {
        let line = split.instructions.first().map_or(0, |i| i.line);
        builder.errors.push(ConfigError::new(
            path,
            line,
            "no FROM instruction: a Dockerfile must have at least one stage",
        ));
    }
    builder.errors.sort_by_key(|e| e.line);
    Parsed {
        dockerfile: Dockerfile {
            directives: split.directives,
            escape: builder.escape,
            global_args: builder.global_args,
            stages: builder.stages,
        },
        errors: builder.errors,
    }
}

fn error(path: &str, e: &LineError) -> ConfigError {
    ConfigError::new(path, e.line, e.message.clone())
}

struct Builder<'a> {
    path: &'a str,
    escape: char,
    errors: Vec<ConfigError>,
    global_scope: Scope,
    global_args: Vec<Instruction>,
    stages: Vec<Stage>,
    /// The `ENV` scope at the end of each stage, for stages built `FROM` it.
    stage_scopes: Vec<Scope>,
    scope: Scope,
    /// The current stage's `ENV` variables alone (what child stages inherit).
    env_scope: Scope,
    missing_from_reported: bool,
}

impl Builder<'_> {
    fn add(&mut self, raw: &RawInstruction) {
        let Some(keyword) = Keyword::parse(&raw.keyword) else {
            self.fail(
                raw.line,
                format!("unknown instruction {:?}", raw.keyword.to_ascii_uppercase()),
            );
            return;
        };
        if self.stages.is_empty() && !matches!(keyword, Keyword::From | Keyword::Arg) {
            if !self.missing_from_reported {
                self.fail(
                    raw.line,
                    format!("{} before the first FROM: a Dockerfile must start with FROM (only ARG may come before it)", keyword.as_str()),
                );
                self.missing_from_reported = true;
            }
            return;
        }
        let scope = if self.stages.is_empty() || keyword == Keyword::From {
            self.global_scope.clone()
        } else {
            self.scope.clone()
        };
        let instruction = match interpret(keyword, raw, self.escape, &scope) {
            Ok(instruction) => instruction,
            Err(message) => {
                self.fail(raw.line, message);
                return;
            }
        };
        if let Some(message) = json_warning(keyword, raw, self.escape) {
            self.fail(raw.line, message);
        }
        self.place(instruction);
    }

    fn fail(&mut self, line: u32, message: String) {
        self.errors.push(ConfigError::new(self.path, line, message));
    }

    /// Files the instruction: a new stage, a global `ARG`, or the current stage's next
    /// instruction; updates the variable scopes.
    fn place(&mut self, instruction: Instruction) {
        if instruction.keyword == Keyword::From {
            self.start_stage(instruction);
            return;
        }
        if let Body::Arg(args) = &instruction.body {
            let in_stage = !self.stages.is_empty();
            for (name, default) in args {
                self.declare_arg(name, default.as_ref(), in_stage);
            }
        }
        if let Body::Env(pairs) = &instruction.body {
            for (name, value) in pairs {
                self.scope.set(name, value.value.clone());
                self.env_scope.set(name, value.value.clone());
            }
        }
        match self.stages.last_mut() {
            Some(stage) => stage.instructions.push(instruction),
            None => self.global_args.push(instruction),
        }
    }

    fn declare_arg(&mut self, name: &str, default: Option<&Word>, in_stage: bool) {
        if !in_stage {
            let value = default.and_then(|d| d.value.clone());
            let declared = value.or_else(|| self.global_scope.get(name).flatten().map(str::to_string));
            self.global_scope.set(name, declared);
            return;
        }
        if self.scope.contains(name) && default.is_none() {
            return;
        }
        let value = match default {
            Some(default) => default.value.clone(),
            None => self.global_scope.get(name).flatten().map(str::to_string),
        };
        self.scope.set(name, value);
    }

    fn start_stage(&mut self, from: Instruction) {
        if !self.stages.is_empty() {
            self.stage_scopes.push(self.env_scope.clone());
        }
        let (image, name) = match &from.body {
            Body::From { image, name } => (image.clone(), name.clone()),
            _ => return,
        };
        if let Some(name) = &name {
            if self.stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                self.fail(from.line, format!("duplicate stage name {name:?}"));
            }
        }
        let base = self.resolve_base(&image);
        self.env_scope = match base {
            BaseImage::Stage(index) => self.stage_scopes.get(index).cloned().unwrap_or_default(),
            _ => Scope::default(),
        };
        self.scope = self.env_scope.clone();
        self.stages.push(Stage {
            index: self.stages.len(),
            name,
            base,
            from,
            instructions: Vec::new(),
        });
    }

    fn resolve_base(&self, image: &Word) -> BaseImage {
        let Some(reference) = &image.value else {
            return BaseImage::Unresolved(image.raw.clone());
        };
        if reference.eq_ignore_ascii_case("scratch") {
            return BaseImage::Scratch;
        }
        let lower = reference.to_ascii_lowercase();
        match self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            Some(stage) => BaseImage::Stage(stage.index),
            None => BaseImage::Image(ImageRef::parse(reference)),
        }
    }
}

/// An instruction that starts like a JSON array but is not one runs in shell form; say so.
fn json_warning(keyword: Keyword, raw: &RawInstruction, escape: char) -> Option<String> {
    if !matches!(
        keyword,
        Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Copy | Keyword::Add
    ) {
        return None;
    }
    let (_, rest) = take_flags(keyword, &raw.rest, escape);
    looks_like_broken_json(&rest).then(|| {
        format!(
            "{} argument looks like a JSON array but is not valid JSON (exec form needs double-quoted strings)",
            keyword.as_str()
        )
    })
}

/// Starts with `["` and ends with `]` yet does not parse as a JSON array of strings.
fn looks_like_broken_json(text: &str) -> bool {
    let trimmed = text.trim();
    let Some(inner) = trimmed.strip_prefix('[') else {
        return false;
    };
    let inner = inner.trim_start();
    let intended = inner.starts_with(['"', '\'', ']']) && trimmed.ends_with(']');
    intended && json_array(trimmed).is_none()
}

fn json_array(text: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(text.trim()).ok()
}

/// Interprets one raw instruction.
fn interpret(
    keyword: Keyword,
    raw: &RawInstruction,
    escape: char,
    scope: &Scope,
) -> Result<Instruction, String> {
    let (flags, rest) = take_flags(keyword, &raw.rest, escape);
    if rest.is_empty() && raw.heredocs.is_empty() {
        return Err(format!("{} requires arguments", keyword.as_str()));
    }
    let context = Context { escape, scope };
    let body = context.body(keyword, &rest, raw)?;
    Ok(Instruction {
        keyword,
        line: raw.line,
        column: raw.column,
        end_line: raw.end_line,
        end_column: raw.end_column,
        flags,
        body,
        heredocs: raw.heredocs.clone(),
        text: rest,
    })
}

/// Splits leading `--name[=value]` flags off the arguments of instructions that take them.
fn take_flags(keyword: Keyword, rest: &str, escape: char) -> (Vec<Flag>, String) {
    if !keyword.takes_flags() {
        return (Vec::new(), rest.to_string());
    }
    let mut flags = Vec::new();
    let mut remaining = rest.trim_start();
    while let Some(after) = remaining.strip_prefix("--") {
        let Some(word) = split_words(remaining, escape).into_iter().next() else {
            break;
        };
        if after.is_empty() || after.starts_with(char::is_whitespace) {
            break;
        }
        let body = word.trim_start_matches('-');
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(unquote(value))),
            None => (body, None),
        };
        flags.push(Flag {
            name: name.to_ascii_lowercase(),
            value,
        });
        remaining = remaining.get(word.len()..).unwrap_or("").trim_start();
    }
    (flags, remaining.to_string())
}

fn unquote(value: &str) -> String {
    ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(value)
        .to_string()
}

struct Context<'a> {
    escape: char,
    scope: &'a Scope,
}

impl Context<'_> {
    fn word(&self, raw: &str) -> Word {
        process_word(raw, self.escape, self.scope)
    }

    fn words(&self, text: &str) -> Vec<Word> {
        split_words(text, self.escape)
            .iter()
            .map(|w| self.word(w))
            .collect()
    }

    fn body(&self, keyword: Keyword, rest: &str, raw: &RawInstruction) -> Result<Body, String> {
        Ok(match keyword {
            Keyword::From => self.from(rest)?,
            Keyword::Run => Body::Run(command(rest)),
            Keyword::Cmd => Body::Cmd(command(rest)),
            Keyword::Entrypoint => Body::Entrypoint(command(rest)),
            Keyword::Shell => Body::Shell(
                json_array(rest)
                    .ok_or("SHELL requires the JSON form: SHELL [\"executable\", \"parameters\"]")?,
            ),
            Keyword::Copy => Body::Copy(self.transfer(keyword, rest)?),
            Keyword::Add => Body::Add(self.transfer(keyword, rest)?),
            Keyword::Env => Body::Env(self.pairs(keyword, rest)?),
            Keyword::Label => Body::Label(self.pairs(keyword, rest)?),
            Keyword::Arg => Body::Arg(self.args(rest)?),
            Keyword::Expose => Body::Expose(self.words(rest)),
            Keyword::User => Body::User(self.single(keyword, rest)?),
            Keyword::Workdir => Body::Workdir(self.word(rest.trim())),
            Keyword::Volume => Body::Volume(self.volumes(rest)),
            Keyword::Stopsignal => Body::Stopsignal(self.single(keyword, rest)?),
            Keyword::Maintainer => Body::Maintainer(rest.to_string()),
            Keyword::Healthcheck => Body::Healthcheck(healthcheck(rest)?),
            Keyword::Onbuild => Body::Onbuild(self.onbuild(rest, raw)?),
        })
    }

    fn from(&self, rest: &str) -> Result<Body, String> {
        let words = split_words(rest, self.escape);
        let name = match words.as_slice() {
            [_] => None,
            [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
            _ => return Err("FROM takes an image and an optional `AS name`".to_string()),
        };
        let image = self.word(words.first().map_or("", String::as_str));
        Ok(Body::From { image, name })
    }

    fn transfer(&self, keyword: Keyword, rest: &str) -> Result<Transfer, String> {
        let (mut words, json) = match json_array(rest) {
            Some(items) => (
                items
                    .iter()
                    .map(|item| self.word(&escape_json_item(item, self.escape)))
                    .collect::<Vec<_>>(),
                true,
            ),
            None => (self.words(rest), false),
        };
        if words.len() < 2 {
            return Err(format!(
                "{} requires at least one source and a destination",
                keyword.as_str()
            ));
        }
        let destination = words.pop().ok_or("missing destination")?;
        Ok(Transfer {
            sources: words,
            destination,
            json,
        })
    }

    /// `key=value …`, or the legacy `key value` form.
    fn pairs(&self, keyword: Keyword, rest: &str) -> Result<Vec<(String, Word)>, String> {
        let words = split_words(rest, self.escape);
        let first = words.first().ok_or("missing arguments")?;
        if !first.contains('=') {
            let value = rest.trim_start().get(first.len()..).unwrap_or("").trim();
            if value.is_empty() && keyword == Keyword::Env {
                return Err(format!("ENV {first} has no value"));
            }
            return Ok(vec![(self.key(first), self.word(value))]);
        }
        words
            .iter()
            .map(|word| match word.split_once('=') {
                Some((key, value)) if !key.is_empty() => Ok((self.key(key), self.word(value))),
                _ => Err(format!(
                    "{} expects key=value pairs, found {word:?}",
                    keyword.as_str()
                )),
            })
            .collect()
    }

    fn key(&self, raw: &str) -> String {
        let word = self.word(raw);
        word.value.unwrap_or(word.raw)
    }

    fn args(&self, rest: &str) -> Result<Vec<(String, Option<Word>)>, String> {
        split_words(rest, self.escape)
            .iter()
            .map(|word| {
                let (name, default) = match word.split_once('=') {
                    Some((name, value)) => (name, Some(self.word(value))),
                    None => (word.as_str(), None),
                };
                let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid {
                    Ok((name.to_string(), default))
                } else {
                    Err(format!("ARG has an invalid name {name:?}"))
                }
            })
            .collect()
    }

    fn single(&self, keyword: Keyword, rest: &str) -> Result<Word, String> {
        let words = split_words(rest, self.escape);
        match words.as_slice() {
            [word] => Ok(self.word(word)),
            _ => Err(format!("{} takes exactly one argument", keyword.as_str())),
        }
    }

    fn volumes(&self, rest: &str) -> Vec<Word> {
        match json_array(rest) {
            Some(items) => items.iter().map(|item| self.word(item)).collect(),
            None => self.words(rest),
        }
    }

    fn onbuild(&self, rest: &str, raw: &RawInstruction) -> Result<Option<Box<Instruction>>, String> {
        let (keyword_text, trigger_rest) = match rest.split_once(char::is_whitespace) {
            Some((keyword, trigger)) => (keyword, trigger.trim()),
            None => (rest.trim(), ""),
        };
        let keyword = Keyword::parse(keyword_text)
            .ok_or_else(|| format!("ONBUILD: unknown instruction {keyword_text:?}"))?;
        if matches!(keyword, Keyword::Onbuild | Keyword::From | Keyword::Maintainer) {
            return Err(format!("ONBUILD cannot trigger {}", keyword.as_str()));
        }
        let trigger = RawInstruction {
            keyword: keyword_text.to_string(),
            rest: trigger_rest.to_string(),
            heredocs: Vec::new(),
            ..raw.clone()
        };
        let scope = Scope::default();
        interpret(keyword, &trigger, self.escape, &scope).map(|i| Some(Box::new(i)))
    }
}

/// JSON items are literal strings: escape the characters word processing would interpret,
/// so only `$VAR` substitution applies.
fn escape_json_item(item: &str, escape: char) -> String {
    let mut out = String::with_capacity(item.len());
    for c in item.chars() {
        if c == '"' || c == '\'' || c == escape {
            out.push(escape);
        }
        out.push(c);
    }
    out
}

/// Exec form when the arguments are a JSON array of strings, shell form otherwise.
fn command(rest: &str) -> Command {
    match json_array(rest) {
        Some(items) => Command::Exec(items),
        None => Command::Shell(rest.to_string()),
    }
}

/// `NONE`, or `CMD` and a command.
fn healthcheck(rest: &str) -> Result<Option<Command>, String> {
    let trimmed = rest.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let (first, after) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
    if !first.eq_ignore_ascii_case("cmd") {
        return Err("HEALTHCHECK takes NONE or CMD followed by a command".to_string());
    }
    if after.trim().is_empty() {
        return Err("HEALTHCHECK CMD requires a command".to_string());
    }
    Ok(Some(command(after.trim())))
}
