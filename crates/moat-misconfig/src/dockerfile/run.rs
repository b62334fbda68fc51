//! Checks on `RUN` commands: package-manager use, sudo, cd, remote scripts piped to a shell,
//! pipes without pipefail and world-writable modes.

use super::catalog as c;
use super::checks::{Report, StageState};
use super::model::{Command, Instruction, Stage};
use super::packages::{self, effective_words, Invocation, Tool};
use super::shell::{base_name, parse_script, Joiner, SimpleCommand};
use moat_core::CheckInfo;

/// What one `RUN` does, read once for every check.
#[derive(Debug)]
pub(crate) struct RunFacts {
    /// Its simple commands, heredoc scripts included.
    pub commands: Vec<SimpleCommand>,
    /// Its package-manager calls.
    pub invocations: Vec<Invocation>,
    /// Exec form with a shell given `-o pipefail` (`["bash", "-o", "pipefail", "-c", …]`).
    pub exec_pipefail: bool,
    /// Exec form without a shell: no shell syntax applies.
    pub plain_exec: bool,
}

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];

fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

impl RunFacts {
    /// Reads a `RUN` instruction's command.
    pub(crate) fn new(instruction: &Instruction, command: &Command) -> RunFacts {
        let mut facts = RunFacts {
            commands: Vec::new(),
            invocations: Vec::new(),
            exec_pipefail: false,
            plain_exec: false,
        };
        match command {
            Command::Shell(text) => {
                facts.commands = parse_script(text);
                let feeds_shell = facts
                    .commands
                    .first()
                    .and_then(SimpleCommand::name)
                    .is_none_or(is_shell);
                if feeds_shell {
                    for heredoc in &instruction.heredocs {
                        facts.commands.extend(parse_script(&heredoc.content));
                    }
                }
            }
            Command::Exec(words) => facts.read_exec(words),
        }
        facts.invocations = facts.commands.iter().filter_map(packages::invocation).collect();
        facts
    }

    fn read_exec(&mut self, words: &[String]) {
        let shell = words.first().is_some_and(|w| is_shell(base_name(w)));
        let script = words
            .iter()
            .position(|w| w == "-c")
            .and_then(|i| words.get(i + 1));
        match (shell, script) {
            (true, Some(script)) => {
                self.exec_pipefail = words.iter().any(|w| w == "pipefail");
                self.commands = parse_script(script);
            }
            _ => {
                self.plain_exec = true;
                self.commands = vec![SimpleCommand {
                    words: words.to_vec(),
                    joiner: Joiner::Sequence,
                }];
            }
        }
    }

    /// Whether a command of this name runs.
    pub(crate) fn uses(&self, name: &str) -> bool {
        self.commands
            .iter()
            .any(|command| effective_name(command) == Some(name))
    }

    fn calls(&self, tools: &[Tool], subcommands: &[&str]) -> impl Iterator<Item = &Invocation> + '_ {
        let tools = tools.to_vec();
        let subcommands: Vec<String> = subcommands.iter().map(|s| s.to_string()).collect();
        self.invocations.iter().filter(move |inv| {
            tools.contains(&inv.tool) && inv.subcommand.as_ref().is_some_and(|s| subcommands.contains(s))
        })
    }

    /// Whether an `rm` removes something under `prefix`.
    fn removes(&self, prefixes: &[&str]) -> bool {
        self.commands
            .iter()
            .filter(|command| effective_name(command) == Some("rm"))
            .flat_map(|command| command.words.iter())
            .any(|word| prefixes.iter().any(|prefix| word.starts_with(prefix)))
    }
}

/// The name of the command run, past wrappers like `sudo` and `env`.
fn effective_name(command: &SimpleCommand) -> Option<&str> {
    effective_words(command).first().map(|w| base_name(w))
}

const APT: &[Tool] = &[Tool::AptGet, Tool::Apt];
const RPM: &[Tool] = &[Tool::Yum, Tool::Dnf, Tool::Microdnf];
const RPM_INSTALL: &[&str] = &["install", "groupinstall", "localinstall", "reinstall"];

/// Runs every `RUN` check on one instruction.
pub(crate) fn check(
    report: &mut Report<'_>,
    stage: &Stage,
    instruction: &Instruction,
    facts: &RunFacts,
    state: &StageState,
) {
    let mut raise = |check: &CheckInfo, message: String| {
        report.raise(check, Some(stage), instruction, message);
    };
    for (check, message) in apt_problems(instruction, facts)
        .into_iter()
        .chain(other_package_problems(instruction, facts, state))
        .chain(command_problems(facts, state))
    {
        raise(check, message);
    }
}

type Problem = (&'static CheckInfo, String);

/// Whether the RUN has a cache mount whose target starts with one of `prefixes`.
fn has_cache_mount(instruction: &Instruction, needles: &[&str]) -> bool {
    instruction.flag_values("mount").any(|mount| {
        mount.contains("type=cache")
            && mount.split(',').any(|part| {
                let target = part
                    .strip_prefix("target=")
                    .or_else(|| part.strip_prefix("dst="))
                    .or_else(|| part.strip_prefix("destination="));
                target.is_some_and(|t| needles.iter().any(|n| t.contains(n)))
            })
    })
}

fn apt_problems(instruction: &Instruction, facts: &RunFacts) -> Vec<Problem> {
    let mut problems = Vec::new();
    let installs: Vec<&Invocation> = facts.calls(APT, &["install"]).collect();
    if installs.iter().any(|inv| !assumes_yes(inv)) {
        problems.push((&c::NO_ASSUME_YES, "apt-get install runs without -y".to_string()));
    }
    if installs.iter().any(|inv| !no_recommends(inv)) {
        problems.push((
            &c::INSTALL_RECOMMENDS,
            "apt-get install runs without --no-install-recommends".to_string(),
        ));
    }
    let unpinned: Vec<&str> = installs.iter().flat_map(|inv| packages::unpinned(inv)).collect();
    if !unpinned.is_empty() {
        problems.push((
            &c::APT_UNPINNED,
            format!("apt packages without a version: {}", unpinned.join(", ")),
        ));
    }
    let updates = facts.calls(APT, &["update"]).count() > 0;
    let cleaned = facts.removes(&["/var/lib/apt/lists"]) || has_cache_mount(instruction, &["/var/lib/apt"]);
    if updates && !cleaned {
        problems.push((
            &c::APT_LISTS,
            "apt-get update without removing /var/lib/apt/lists".to_string(),
        ));
    }
    if updates && installs.is_empty() {
        problems.push((
            &c::UPDATE_ALONE,
            "apt-get update without an install in the same RUN".to_string(),
        ));
    }
    if facts.invocations.iter().any(|inv| inv.tool == Tool::Apt) {
        problems.push((&c::APT_NOT_APT_GET, "RUN uses apt; use apt-get".to_string()));
    }
    if let Some(inv) = facts.calls(APT, &["dist-upgrade", "full-upgrade"]).next() {
        let sub = inv.subcommand.clone().unwrap_or_default();
        problems.push((&c::DIST_UPGRADE, format!("RUN runs apt-get {sub}")));
    }
    problems
}

fn assumes_yes(inv: &Invocation) -> bool {
    inv.has_short('y')
        || inv.has_long("yes")
        || inv.has_long("assume-yes")
        || inv
            .options
            .iter()
            .any(|o| o == "-qq" || o == "-q=2" || o == "--quiet=2")
}

fn no_recommends(inv: &Invocation) -> bool {
    inv.has_long("no-install-recommends")
        || inv
            .options
            .iter()
            .any(|o| o.contains("Install-Recommends=false") || o.contains("Install-Recommends=0"))
}

fn other_package_problems(instruction: &Instruction, facts: &RunFacts, state: &StageState) -> Vec<Problem> {
    let mut problems = Vec::new();
    let apk_adds: Vec<&Invocation> = facts.calls(&[Tool::Apk], &["add"]).collect();
    let apk_cached = has_cache_mount(instruction, &["/var/cache/apk"]);
    if apk_adds.iter().any(|inv| !inv.has_long("no-cache")) && !apk_cached {
        problems.push((&c::APK_CACHE, "apk add runs without --no-cache".to_string()));
    }
    push_unpinned(&mut problems, &c::APK_UNPINNED, "apk", &apk_adds);
    if facts.calls(&[Tool::Apk], &["update"]).count() > 0 && apk_adds.is_empty() {
        problems.push((
            &c::UPDATE_ALONE,
            "apk update without an apk add in the same RUN".to_string(),
        ));
    }
    let rpm_installs: Vec<&Invocation> = facts.calls(RPM, RPM_INSTALL).collect();
    let prompts = rpm_installs
        .iter()
        .any(|inv| inv.tool != Tool::Microdnf && !inv.has_short('y') && !inv.has_long("assumeyes"));
    if prompts {
        problems.push((&c::NO_ASSUME_YES, "yum/dnf install runs without -y".to_string()));
    }
    let rpm_cleaned = facts
        .calls(RPM, &["clean"])
        .any(|inv| inv.operands.iter().any(|o| o == "all"))
        || facts.removes(&["/var/cache/yum", "/var/cache/dnf"])
        || has_cache_mount(instruction, &["/var/cache/yum", "/var/cache/dnf"]);
    if !rpm_installs.is_empty() && !rpm_cleaned {
        problems.push((
            &c::RPM_CLEAN,
            "yum/dnf install without `clean all` in the same RUN".to_string(),
        ));
    }
    push_unpinned(&mut problems, &c::RPM_UNPINNED, "yum/dnf", &rpm_installs);
    let pip_installs: Vec<&Invocation> = facts.calls(&[Tool::Pip], &["install"]).collect();
    let pip_cached = state.pip_no_cache || has_cache_mount(instruction, &["pip"]);
    if pip_installs.iter().any(|inv| !inv.has_long("no-cache-dir")) && !pip_cached {
        problems.push((
            &c::PIP_CACHE,
            "pip install runs without --no-cache-dir".to_string(),
        ));
    }
    push_unpinned(&mut problems, &c::PIP_UNPINNED, "pip", &pip_installs);
    let npm_installs: Vec<&Invocation> = facts.calls(&[Tool::Npm], &["install", "i", "add"]).collect();
    push_unpinned(&mut problems, &c::NPM_UNPINNED, "npm", &npm_installs);
    problems
}

fn push_unpinned(problems: &mut Vec<Problem>, check: &'static CheckInfo, tool: &str, calls: &[&Invocation]) {
    let unpinned: Vec<&str> = calls.iter().flat_map(|inv| packages::unpinned(inv)).collect();
    if !unpinned.is_empty() {
        problems.push((
            check,
            format!("{tool} packages without a version: {}", unpinned.join(", ")),
        ));
    }
}

fn command_problems(facts: &RunFacts, state: &StageState) -> Vec<Problem> {
    let mut problems = Vec::new();
    let sudo = facts
        .commands
        .iter()
        .any(|command| command.name() == Some("sudo"));
    if sudo {
        problems.push((&c::SUDO, "RUN uses sudo".to_string()));
    }
    if facts.commands.iter().any(|command| command.name() == Some("cd")) {
        problems.push((
            &c::CD_IN_RUN,
            "RUN changes directory with cd; use WORKDIR".to_string(),
        ));
    }
    if pipes_remote_script(&facts.commands) {
        problems.push((
            &c::PIPE_TO_SHELL,
            "RUN pipes a downloaded script into a shell".to_string(),
        ));
    }
    if lacks_pipefail(facts, state) {
        problems.push((
            &c::NO_PIPEFAIL,
            "RUN has a pipe but pipefail is not set".to_string(),
        ));
    }
    if let Some(mode) = world_writable_chmod(&facts.commands) {
        problems.push((&c::WORLD_WRITABLE, format!("RUN runs chmod {mode}")));
    }
    problems
}

/// Interpreters a downloaded script may be piped into.
fn is_interpreter(name: &str) -> bool {
    is_shell(name) || name.starts_with("python") || name == "perl" || name == "ruby"
}

/// `curl … | sh`, `wget -O- … | sudo bash`, `sh -c "$(curl …)"`, `bash <(curl …)`.
fn pipes_remote_script(commands: &[SimpleCommand]) -> bool {
    let mut fetched = false;
    for command in commands {
        let name = effective_name(command).unwrap_or("");
        if fetched && is_interpreter(name) {
            return true;
        }
        let substituted = command.words.iter().any(|word| {
            ["$(curl", "$(wget", "<(curl", "<(wget", "`curl", "`wget"]
                .iter()
                .any(|marker| word.contains(marker))
        });
        if substituted && (is_interpreter(name) || name == "eval") {
            return true;
        }
        let downloads = matches!(name, "curl" | "wget");
        fetched = command.joiner == Joiner::Pipe && (fetched || downloads);
    }
    false
}

fn lacks_pipefail(facts: &RunFacts, state: &StageState) -> bool {
    if facts.plain_exec || facts.exec_pipefail || state.shell.iter().any(|w| w.contains("pipefail")) {
        return false;
    }
    let posix = state.shell.first().is_none_or(|shell| is_shell(base_name(shell)));
    if !posix {
        return false;
    }
    for command in &facts.commands {
        if command.name() == Some("set") && command.words.iter().any(|w| w.contains("pipefail")) {
            return false;
        }
        if command.joiner == Joiner::Pipe {
            return true;
        }
    }
    false
}

fn world_writable_chmod(commands: &[SimpleCommand]) -> Option<String> {
    commands
        .iter()
        .filter(|command| effective_name(command) == Some("chmod"))
        .filter_map(|command| {
            effective_words(command)
                .iter()
                .skip(1)
                .find(|word| !word.starts_with('-') || is_symbolic_mode(word))
        })
        .find(|mode| world_writable(mode))
        .cloned()
}

fn is_symbolic_mode(word: &str) -> bool {
    word.len() > 1 && word.chars().skip(1).all(|c| "rwxXst".contains(c))
}

/// Whether a chmod mode lets others write (`777`, `0666`, `o+w`, `a=rwx`); the sticky
/// `1777` of shared temporary directories is allowed.
pub(crate) fn world_writable(mode: &str) -> bool {
    if !mode.is_empty() && mode.chars().all(|c| ('0'..='7').contains(&c)) {
        let digits: Vec<u32> = mode.chars().filter_map(|c| c.to_digit(8)).collect();
        let others = digits.last().copied().unwrap_or(0);
        let sticky = digits.len() == 4 && digits.first().is_some_and(|d| d & 1 == 1);
        return others & 2 == 2 && !sticky && digits.len() >= 3;
    }
    mode.split(',').any(|clause| {
        let Some(op) = clause.find(['+', '=']) else {
            return false;
        };
        let (who, perms) = clause.split_at(op);
        (who.contains('o') || who.contains('a')) && perms.contains('w') && !perms.contains('t')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        for mode in ["777", "0777", "666", "o+w", "a=rwx", "u+x,o+rw"] {
            assert!(world_writable(mode), "{mode}");
        }
        for mode in ["755", "1777", "0644", "u+w", "go-w", "+x", "4755"] {
            assert!(!world_writable(mode), "{mode}");
        }
    }

    #[test]
    fn remote_scripts() {
        let cases = [
            ("curl -fsSL https://x | sh", true),
            ("wget -qO- https://x | sudo -E bash -", true),
            ("sh -c \"$(curl -fsSL https://x)\"", true),
            ("bash <(curl -s https://x)", true),
            ("curl -o f https://x | tee log && sh f", false),
            ("curl -fsSL https://x | tar xz", false),
        ];
        for (script, expected) in cases {
            assert_eq!(pipes_remote_script(&parse_script(script)), expected, "{script}");
        }
    }
}
