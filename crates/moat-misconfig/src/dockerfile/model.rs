//! The typed model of a parsed Dockerfile: parser directives, build stages, and each
//! instruction with its line range, flags, arguments (exec or shell form) and heredocs.

/// A parser directive from the comment block at the top of the file (`# syntax=…`,
/// `# escape=…`, `# check=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive's name, lower-cased (`syntax`).
    pub name: String,
    /// Its value, trimmed (`docker/dockerfile:1`).
    pub value: String,
    /// The line it is on (1-based).
    pub line: u32,
}

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The parser directives, in file order.
    pub directives: Vec<Directive>,
    /// The escape character: `\` unless `# escape=` set a backtick.
    pub escape: char,
    /// The `ARG` instructions before the first `FROM` (usable in `FROM` lines only).
    pub global_args: Vec<Instruction>,
    /// The build stages, in file order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// The last stage: the one `docker build` produces unless `--target` says otherwise.
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage a `FROM` or `COPY --from` value names: a stage name (case-insensitive) or
    /// a stage index.
    pub fn stage_named(&self, name: &str) -> Option<&Stage> {
        let lower = name.to_ascii_lowercase();
        if let Some(stage) = self
            .stages
            .iter()
            .find(|stage| stage.name.as_deref() == Some(lower.as_str()))
        {
            return Some(stage);
        }
        let index: usize = name.parse().ok()?;
        self.stages.get(index)
    }
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Its position (0 for the first `FROM`).
    pub index: usize,
    /// The `AS name`, lower-cased as Docker does, if any.
    pub name: Option<String>,
    /// What the stage builds on.
    pub base: BaseImage,
    /// The `FROM` instruction itself.
    pub from: Instruction,
    /// The instructions after `FROM`, in order.
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// How findings name this stage: `stage "build"` or `stage 0`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("stage \"{name}\""),
            None => format!("stage {}", self.index),
        }
    }

    /// The last line of the stage.
    pub fn end_line(&self) -> u32 {
        self.instructions
            .last()
            .map_or(self.from.end_line, |instruction| instruction.end_line)
    }
}

/// What a stage's `FROM` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseImage {
    /// `FROM scratch`: an empty filesystem.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference, after `ARG` substitution.
    Image(ImageRef),
    /// The reference uses a build argument with no known value (`FROM $BASE`).
    Unresolved(String),
}

/// An image reference split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and repository (`docker.io/library/debian`, `localhost:5000/app`).
    pub name: String,
    /// The tag, if one is written (`12-slim`).
    pub tag: Option<String>,
    /// The digest, if one is written (`sha256:…`).
    pub digest: Option<String>,
}

impl ImageRef {
    /// Splits `name[:tag][@digest]`; a `:` before the last `/` belongs to a registry port.
    pub fn parse(reference: &str) -> ImageRef {
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_string())),
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |index| index + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (rest[..at].to_string(), Some(rest[at + 1..].to_string()))
            }
            None => (rest.to_string(), None),
        };
        ImageRef { name, tag, digest }
    }
}

/// The instructions Dockerfiles know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Keyword {
    From,
    Run,
    Cmd,
    Label,
    Maintainer,
    Expose,
    Env,
    Add,
    Copy,
    Entrypoint,
    Volume,
    User,
    Workdir,
    Arg,
    Onbuild,
    Stopsignal,
    Healthcheck,
    Shell,
}

impl Keyword {
    /// Every keyword.
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Expose,
        Keyword::Env,
        Keyword::Add,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Volume,
        Keyword::User,
        Keyword::Workdir,
        Keyword::Arg,
        Keyword::Onbuild,
        Keyword::Stopsignal,
        Keyword::Healthcheck,
        Keyword::Shell,
    ];

    /// The keyword as written in upper case (`RUN`).
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Expose => "EXPOSE",
            Keyword::Env => "ENV",
            Keyword::Add => "ADD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Volume => "VOLUME",
            Keyword::User => "USER",
            Keyword::Workdir => "WORKDIR",
            Keyword::Arg => "ARG",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Shell => "SHELL",
        }
    }

    /// The keyword a word names, in any case.
    pub fn parse(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|keyword| keyword.as_str().eq_ignore_ascii_case(word))
    }

    /// Whether the instruction takes `--name=value` flags before its arguments.
    pub fn takes_flags(self) -> bool {
        matches!(
            self,
            Keyword::From | Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::Healthcheck
        )
    }

    /// Whether the instruction may read heredocs (`<<EOF`).
    pub fn takes_heredocs(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

/// One instruction, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Which instruction.
    pub keyword: Keyword,
    /// The line the keyword is on (1-based).
    pub line: u32,
    /// The column of the keyword (1-based, in bytes).
    pub column: u32,
    /// The last line (continuations and heredoc bodies included).
    pub end_line: u32,
    /// The column just past the end of the last line.
    pub end_column: u32,
    /// The flags before the arguments (`--from=build`, `--link`).
    pub flags: Vec<Flag>,
    /// The arguments, parsed for this kind of instruction.
    pub body: Body,
    /// The heredocs the instruction reads, in order.
    pub heredocs: Vec<Heredoc>,
    /// The text after the keyword and flags, continuations joined.
    pub text: String,
}

impl Instruction {
    /// The value of flag `--name` (the last one if repeated): `Some("")` for a flag with no
    /// value (`--link`), `None` when absent.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|flag| flag.name == name)
            .map(|flag| flag.value.as_deref().unwrap_or(""))
    }

    /// Every value of a repeatable flag (`--mount`).
    pub fn flag_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.flags
            .iter()
            .filter(move |flag| flag.name == name)
            .filter_map(|flag| flag.value.as_deref())
    }
}

/// An instruction flag: `--name=value` or `--name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The name without the dashes (`from`).
    pub name: String,
    /// The value as written, if any.
    pub value: Option<String>,
}

/// A command in exec (JSON array) or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `["executable", "arg"]`: run without a shell.
    Exec(Vec<String>),
    /// `executable arg`: run with the stage's shell (`/bin/sh -c` by default).
    Shell(String),
}

/// A word after quote removal and `$VAR` substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word as written.
    pub raw: String,
    /// The word with quotes removed and variables substituted; `None` when it uses a build
    /// argument or variable whose value is not known (declared with no default).
    pub value: Option<String>,
}

/// A `COPY` or `ADD`: sources and a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The sources (a heredoc source is written `<<NAME`).
    pub sources: Vec<Word>,
    /// The destination.
    pub destination: Word,
    /// Whether the JSON array form was used.
    pub json: bool,
}

/// The arguments of an instruction, parsed for its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `FROM image [AS name]`.
    From {
        /// The image reference.
        image: Word,
        /// The stage name, lower-cased.
        name: Option<String>,
    },
    /// `RUN`.
    Run(Command),
    /// `CMD`.
    Cmd(Command),
    /// `ENTRYPOINT`.
    Entrypoint(Command),
    /// `SHELL ["executable", "args"]`.
    Shell(Vec<String>),
    /// `COPY`.
    Copy(Transfer),
    /// `ADD`.
    Add(Transfer),
    /// `ENV key=value …`.
    Env(Vec<(String, Word)>),
    /// `ARG name[=default] …`.
    Arg(Vec<(String, Option<Word>)>),
    /// `LABEL key=value …`.
    Label(Vec<(String, Word)>),
    /// `EXPOSE port[/proto] …`.
    Expose(Vec<Word>),
    /// `USER user[:group]`.
    User(Word),
    /// `WORKDIR path`.
    Workdir(Word),
    /// `VOLUME path …`.
    Volume(Vec<Word>),
    /// `HEALTHCHECK CMD …`, or `HEALTHCHECK NONE` (`None`).
    Healthcheck(Option<Command>),
    /// `STOPSIGNAL signal`.
    Stopsignal(Word),
    /// `MAINTAINER name`.
    Maintainer(String),
    /// `ONBUILD instruction`: the trigger, when it parsed.
    Onbuild(Option<Box<Instruction>>),
}

/// A heredoc an instruction reads (`<<EOF` … `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, quotes removed (`EOF`).
    pub delimiter: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub strip_tabs: bool,
    /// Whether variables in the body are expanded (the delimiter was not quoted).
    pub expand: bool,
    /// The body, one `\n` after each line.
    pub content: String,
    /// The line of the first body line.
    pub start_line: u32,
    /// The line of the terminating delimiter.
    pub end_line: u32,
}
