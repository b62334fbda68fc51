//! The Dockerfile checks: per instruction, per stage, on the final stage, and across the file.

use super::catalog as c;
use super::model::{
    BaseImage, Body, Command, Dockerfile, ImageRef, Instruction, Keyword, Stage, Transfer, Word,
};
use super::run::{self, RunFacts};
use crate::ScanOptions;
use moat_core::{CheckInfo, Misconfiguration, TextLocation};

/// Runs every check on a parsed Dockerfile.
pub(crate) fn run_all(path: &str, dockerfile: &Dockerfile, options: &ScanOptions) -> Vec<Misconfiguration> {
    let mut report = Report {
        path,
        findings: Vec::new(),
    };
    for instruction in &dockerfile.global_args {
        check_secrets(&mut report, None, instruction);
    }
    let mut states: Vec<StageState> = Vec::new();
    let mut downloads = Downloads::default();
    for stage in &dockerfile.stages {
        let inherited = match stage.base {
            BaseImage::Stage(index) => states.get(index).cloned().unwrap_or_default(),
            _ => StageState::default(),
        };
        let state = check_stage(&mut report, dockerfile, stage, inherited, options, &mut downloads);
        states.push(state);
    }
    if let (Some(stage), Some(state)) = (dockerfile.final_stage(), states.last()) {
        check_final_stage(&mut report, stage, state);
    }
    report.findings
}

/// Where findings go.
pub(crate) struct Report<'a> {
    path: &'a str,
    findings: Vec<Misconfiguration>,
}

impl Report<'_> {
    /// A finding of `check` on `instruction`.
    pub(crate) fn raise(
        &mut self,
        check: &CheckInfo,
        stage: Option<&Stage>,
        instruction: &Instruction,
        message: String,
    ) {
        let location = self.location(instruction);
        self.raise_at(check, stage, location, message);
    }

    fn raise_at(
        &mut self,
        check: &CheckInfo,
        stage: Option<&Stage>,
        location: TextLocation,
        message: String,
    ) {
        let mut finding = Misconfiguration::new(check, message, location);
        if let Some(stage) = stage {
            finding = finding.with_resource(stage.label());
        }
        self.findings.push(finding);
    }

    fn location(&self, instruction: &Instruction) -> TextLocation {
        TextLocation {
            path: self.path.to_string(),
            layer: None,
            start_line: instruction.line,
            start_column: instruction.column,
            end_line: instruction.end_line,
            end_column: instruction.end_column,
        }
    }
}

/// What a stage leaves for the stages built on it, and for the final-stage checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageState {
    /// The shell of `SHELL` (empty: the default `/bin/sh -c`).
    pub shell: Vec<String>,
    /// `ENV PIP_NO_CACHE_DIR` is set.
    pub pip_no_cache: bool,
    /// The last `USER`: its value (`None` when unresolved) and where it is.
    pub user: Option<(Option<String>, TextLocation)>,
    /// A `HEALTHCHECK` (or `HEALTHCHECK NONE`) is set.
    pub healthcheck: bool,
}

/// Which download tools RUN commands used, and where the second one first appeared.
#[derive(Debug, Default)]
pub(crate) struct Downloads {
    curl: bool,
    wget: bool,
    reported: bool,
}

fn check_stage(
    report: &mut Report<'_>,
    dockerfile: &Dockerfile,
    stage: &Stage,
    mut state: StageState,
    options: &ScanOptions,
    downloads: &mut Downloads,
) -> StageState {
    check_base_image(report, stage);
    let mut counts = Counts::default();
    let mut previous_simple_run = false;
    for instruction in &stage.instructions {
        counts.check(report, stage, instruction);
        let simple_run = is_simple_run(instruction);
        if simple_run && previous_simple_run {
            let message = "RUN follows another one-command RUN; join them into one layer".to_string();
            report.raise(&c::CONSECUTIVE_RUNS, Some(stage), instruction, message);
        }
        previous_simple_run = simple_run;
        check_instruction(report, dockerfile, stage, instruction, options);
        update_state(&mut state, instruction, report.path);
        if let Body::Run(command) = &instruction.body {
            let facts = RunFacts::new(instruction, command);
            run::check(report, stage, instruction, &facts, &state);
            note_downloads(report, stage, instruction, &facts, downloads);
        }
    }
    state
}

/// A RUN of one plain command (no `&&`, `||`, `;` or pipe): two in a row are worth joining.
fn is_simple_run(instruction: &Instruction) -> bool {
    instruction.keyword == Keyword::Run
        && instruction.heredocs.is_empty()
        && !instruction.text.contains(['&', ';', '|'])
}

fn update_state(state: &mut StageState, instruction: &Instruction, path: &str) {
    match &instruction.body {
        Body::Shell(shell) => state.shell = shell.clone(),
        Body::Env(pairs) => {
            if let Some((_, value)) = pairs.iter().rev().find(|(name, _)| name == "PIP_NO_CACHE_DIR") {
                state.pip_no_cache = value.value.as_deref().is_some_and(|v| {
                    !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off")
                });
            }
        }
        Body::User(word) => {
            let location = TextLocation {
                path: path.to_string(),
                layer: None,
                start_line: instruction.line,
                start_column: instruction.column,
                end_line: instruction.end_line,
                end_column: instruction.end_column,
            };
            state.user = Some((word.value.clone(), location));
        }
        Body::Healthcheck(_) => state.healthcheck = true,
        _ => {}
    }
}

/// Counts of instructions that should appear once per stage.
#[derive(Debug, Default)]
struct Counts {
    cmd: usize,
    entrypoint: usize,
    healthcheck: usize,
}

impl Counts {
    fn check(&mut self, report: &mut Report<'_>, stage: &Stage, instruction: &Instruction) {
        let (count, check) = match instruction.keyword {
            Keyword::Cmd => (&mut self.cmd, &c::MULTIPLE_CMDS),
            Keyword::Entrypoint => (&mut self.entrypoint, &c::MULTIPLE_ENTRYPOINTS),
            Keyword::Healthcheck => (&mut self.healthcheck, &c::MULTIPLE_HEALTHCHECKS),
            _ => return,
        };
        *count += 1;
        if *count > 1 {
            let message = format!(
                "{} {} of {}: only the last one takes effect",
                ordinal(*count),
                instruction.keyword.as_str(),
                stage.label()
            );
            report.raise(check, Some(stage), instruction, message);
        }
    }
}

fn ordinal(n: usize) -> String {
    match n {
        2 => "second".to_string(),
        3 => "third".to_string(),
        _ => format!("{n}th"),
    }
}

fn check_instruction(
    report: &mut Report<'_>,
    dockerfile: &Dockerfile,
    stage: &Stage,
    instruction: &Instruction,
    options: &ScanOptions,
) {
    match &instruction.body {
        Body::Env(_) | Body::Arg(_) => check_secrets(report, Some(stage), instruction),
        Body::Add(transfer) => {
            check_add(report, stage, instruction, transfer);
            check_transfer(report, dockerfile, stage, instruction, transfer, options);
        }
        Body::Copy(transfer) => check_transfer(report, dockerfile, stage, instruction, transfer, options),
        Body::Expose(ports) => check_expose(report, stage, instruction, ports),
        Body::Workdir(path) => check_workdir(report, stage, instruction, path),
        Body::Cmd(Command::Shell(_)) | Body::Entrypoint(Command::Shell(_)) => {
            let message = format!(
                "{} uses the shell form; use the JSON (exec) form",
                instruction.keyword.as_str()
            );
            report.raise(&c::SHELL_FORM, Some(stage), instruction, message);
        }
        Body::Maintainer(_) => report.raise(
            &c::MAINTAINER,
            Some(stage),
            instruction,
            "MAINTAINER is deprecated; use a LABEL".to_string(),
        ),
        _ => {}
    }
}

fn check_base_image(report: &mut Report<'_>, stage: &Stage) {
    if let BaseImage::Image(reference) = &stage.base {
        if let Some(problem) = unpinned_problem(reference) {
            let image = image_text(&stage.from);
            let message = format!("FROM {image} {problem}");
            report.raise(&c::UNPINNED_IMAGE, Some(stage), &stage.from, message);
        }
    }
}

fn image_text(from: &Instruction) -> String {
    match &from.body {
        Body::From { image, .. } => image.value.clone().unwrap_or_else(|| image.raw.clone()),
        _ => String::new(),
    }
}

/// Why an image reference is not pinned, if it is not.
fn unpinned_problem(reference: &ImageRef) -> Option<&'static str> {
    if reference.digest.is_some() {
        return None;
    }
    match reference.tag.as_deref() {
        None | Some("") => Some("has no tag, so it means `latest`"),
        Some("latest") => Some("uses the `latest` tag"),
        Some(_) => None,
    }
}

fn check_transfer(
    report: &mut Report<'_>,
    dockerfile: &Dockerfile,
    stage: &Stage,
    instruction: &Instruction,
    transfer: &Transfer,
    options: &ScanOptions,
) {
    match instruction.flag("from") {
        Some(from) => check_copy_from(report, dockerfile, stage, instruction, from),
        None if !options.has_dockerignore => {
            let whole = transfer
                .sources
                .iter()
                .any(|s| matches!(s.value.as_deref(), Some("." | "./")));
            if whole {
                let message = format!(
                    "{} copies the whole build context and there is no .dockerignore",
                    instruction.keyword.as_str()
                );
                report.raise(&c::COPY_CONTEXT, Some(stage), instruction, message);
            }
        }
        None => {}
    }
    if let Some(mode) = instruction.flag("chmod") {
        if run::world_writable(mode) {
            let message = format!(
                "{} --chmod={mode} makes files world-writable",
                instruction.keyword.as_str()
            );
            report.raise(&c::WORLD_WRITABLE, Some(stage), instruction, message);
        }
    }
}

/// `COPY --from=`: a stage name, a stage index, or an image (which must be pinned).
fn check_copy_from(
    report: &mut Report<'_>,
    dockerfile: &Dockerfile,
    stage: &Stage,
    instruction: &Instruction,
    from: &str,
) {
    let is_stage = dockerfile.stage_named(from).is_some() || from.parse::<usize>().is_ok();
    if is_stage || from.contains('$') || from.is_empty() {
        return;
    }
    if let Some(problem) = unpinned_problem(&ImageRef::parse(from)) {
        let message = format!("COPY --from={from} {problem}");
        report.raise(&c::UNPINNED_IMAGE, Some(stage), instruction, message);
    }
}

fn check_add(report: &mut Report<'_>, stage: &Stage, instruction: &Instruction, transfer: &Transfer) {
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for source in &transfer.sources {
        let Some(value) = source.value.as_deref() else {
            continue;
        };
        if is_url(value) {
            if !is_git(value) && instruction.flag("checksum").is_none() {
                remote.push(value.to_string());
            }
        } else if source.raw.starts_with("<<") || !is_archive(value) {
            local.push(value.to_string());
        }
    }
    if !local.is_empty() {
        let message = format!(
            "ADD of {}: COPY does the same without implicit extraction",
            local.join(", ")
        );
        report.raise(&c::ADD_FOR_COPY, Some(stage), instruction, message);
    }
    if !remote.is_empty() {
        let message = format!("ADD downloads {} without a --checksum", remote.join(", "));
        report.raise(&c::ADD_URL, Some(stage), instruction, message);
    }
}

fn is_url(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["http://", "https://", "ftp://", "git@"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn is_git(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    lower.starts_with("git@") || lower.ends_with(".git") || lower.contains(".git#")
}

/// Names ADD extracts (tar archives, possibly compressed).
fn is_archive(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".gz", ".bz2", ".xz",
        ".tar.zst", ".tzst", ".zst",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

fn check_expose(report: &mut Report<'_>, stage: &Stage, instruction: &Instruction, ports: &[Word]) {
    let exposes_ssh = ports
        .iter()
        .filter_map(|port| port.value.as_deref())
        .any(port_includes_ssh);
    if exposes_ssh {
        report.raise(
            &c::SSH_PORT,
            Some(stage),
            instruction,
            "EXPOSE includes port 22 (SSH)".to_string(),
        );
    }
}

/// `22`, `22/tcp`, or a range holding 22.
fn port_includes_ssh(port: &str) -> bool {
    let number = port.split('/').next().unwrap_or("");
    let (low, high) = number.split_once('-').unwrap_or((number, number));
    match (low.trim().parse::<u32>(), high.trim().parse::<u32>()) {
        (Ok(low), Ok(high)) => low <= 22 && 22 <= high,
        _ => false,
    }
}

fn check_workdir(report: &mut Report<'_>, stage: &Stage, instruction: &Instruction, path: &Word) {
    let Some(value) = path.value.as_deref() else {
        return;
    };
    if !is_absolute(value) {
        let message = format!("WORKDIR {value} is relative");
        report.raise(&c::RELATIVE_WORKDIR, Some(stage), instruction, message);
    }
}

/// A Unix absolute path, or a Windows one (`C:\app`, `\app`).
fn is_absolute(path: &str) -> bool {
    let mut chars = path.chars();
    let windows_drive = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.next() == Some(':');
    path.starts_with('/') || path.starts_with('\\') || windows_drive
}

fn check_secrets(report: &mut Report<'_>, stage: Option<&Stage>, instruction: &Instruction) {
    let named: Vec<&str> = match &instruction.body {
        Body::Env(pairs) => pairs
            .iter()
            .filter(|(name, value)| is_secret_name(name) && is_literal(value))
            .map(|(name, _)| name.as_str())
            .collect(),
        Body::Arg(args) => args
            .iter()
            .filter(|(name, value)| is_secret_name(name) && value.as_ref().is_some_and(is_literal))
            .map(|(name, _)| name.as_str())
            .collect(),
        _ => return,
    };
    if named.is_empty() {
        return;
    }
    let message = format!(
        "{} sets {} to a literal value",
        instruction.keyword.as_str(),
        named.join(", ")
    );
    let location = report.location(instruction);
    report.raise_at(&c::SECRET_ENV, stage, location, message);
}

/// Name parts that say a variable holds a credential.
const SECRET_PARTS: &[&str] = &[
    "PASS",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATEKEY",
    "ACCESSKEY",
    "SECRETKEY",
    "AUTHTOKEN",
];
/// Pairs of name parts that do (`API_KEY`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("API", "KEY"),
    ("PRIVATE", "KEY"),
    ("ACCESS", "KEY"),
    ("CLIENT", "SECRET"),
];
/// Last name parts that say the variable points at a secret rather than holding it.
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "FILE", "PATH", "DIR", "URL", "URI", "NAME", "ID", "TYPE", "LENGTH", "LEN", "HEADER", "ENDPOINT", "HOST",
    "PORT", "USER", "USERNAME", "EXPIRY", "TTL", "LOCATION", "ENABLED", "REQUIRED", "POLICY", "FORMAT",
    "MODE", "VERSION",
];

/// Whether a variable name says it holds a credential (`DB_PASSWORD`, `API_KEY`).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let parts: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    if parts
        .last()
        .is_some_and(|last| NOT_SECRET_SUFFIXES.contains(last))
    {
        return false;
    }
    let single = parts
        .iter()
        .any(|p| SECRET_PARTS.contains(p) || p.contains("PASSWORD") || p.contains("PASSWD"));
    let pair = parts
        .windows(2)
        .any(|w| SECRET_PAIRS.iter().any(|(a, b)| w[0] == *a && w[1] == *b));
    single || pair
}

/// A value written out in the Dockerfile (not a `$VAR` reference, empty, or a switch).
fn is_literal(value: &Word) -> bool {
    let Some(text) = value.value.as_deref() else {
        return false;
    };
    let switch = matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "0" | "1" | "on" | "off"
    );
    !text.is_empty() && !value.raw.contains('$') && !switch
}

fn note_downloads(
    report: &mut Report<'_>,
    stage: &Stage,
    instruction: &Instruction,
    facts: &RunFacts,
    downloads: &mut Downloads,
) {
    downloads.curl |= facts.uses("curl");
    downloads.wget |= facts.uses("wget");
    if downloads.curl && downloads.wget && !downloads.reported {
        downloads.reported = true;
        report.raise(
            &c::CURL_AND_WGET,
            Some(stage),
            instruction,
            "RUN commands use both curl and wget".to_string(),
        );
    }
}

fn check_final_stage(report: &mut Report<'_>, stage: &Stage, state: &StageState) {
    let whole_stage = TextLocation {
        end_line: stage.end_line(),
        end_column: 0,
        ..report.location(&stage.from)
    };
    match &state.user {
        None => report.raise_at(
            &c::NO_USER,
            Some(stage),
            whole_stage.clone(),
            format!("{} sets no USER, so the container runs as root", stage.label()),
        ),
        Some((Some(user), location)) if crate::is_root_user(user) => report.raise_at(
            &c::ROOT_USER,
            Some(stage),
            location.clone(),
            format!("the final USER is {user}"),
        ),
        Some(_) => {}
    }
    if let Some((Some(user), location)) = &state.user {
        let name = user.split(':').next().unwrap_or(user).trim();
        if !name.is_empty() && !name.bytes().all(|b| b.is_ascii_digit()) && !name.starts_with('$') {
            let message = format!("USER {user} is a name; the runtime cannot verify it is not root");
            report.raise_at(&c::NAMED_USER, Some(stage), location.clone(), message);
        }
    }
    if !state.healthcheck {
        report.raise_at(
            &c::NO_HEALTHCHECK,
            Some(stage),
            whole_stage,
            format!("{} has no HEALTHCHECK", stage.label()),
        );
    }
}
