//! Package-manager invocations in `RUN` commands: which tool, which subcommand, its options
//! and its operands (the packages), told apart with each tool's options that take a value.

use super::shell::{base_name, is_assignment, SimpleCommand};

/// The package managers the checks know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    AptGet,
    Apt,
    Apk,
    Yum,
    Dnf,
    Microdnf,
    Pip,
    Npm,
}

/// One package-manager call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub tool: Tool,
    pub subcommand: Option<String>,
    /// Options as written (`-y`, `--no-cache`, `-o=value` kept whole).
    pub options: Vec<String>,
    /// Everything else after the subcommand: packages, files, specs.
    pub operands: Vec<String>,
}

impl Invocation {
    /// Whether a long option (`--name` or `--name=…`) is present.
    pub(crate) fn has_long(&self, name: &str) -> bool {
        self.options.iter().any(|option| {
            option
                .strip_prefix("--")
                .is_some_and(|rest| rest == name || rest.starts_with(&format!("{name}=")))
        })
    }

    /// Whether a short flag letter is present, alone or in a cluster (`-qy`).
    pub(crate) fn has_short(&self, letter: char) -> bool {
        self.options.iter().any(|option| {
            !option.starts_with("--")
                && option
                    .strip_prefix('-')
                    .is_some_and(|cluster| cluster.split('=').next().unwrap_or("").contains(letter))
        })
    }
}

/// Options that take the next word as their value, per tool.
fn value_options(tool: Tool) -> &'static [&'static str] {
    match tool {
        Tool::AptGet | Tool::Apt => &[
            "-o",
            "-t",
            "-c",
            "--option",
            "--target-release",
            "--config-file",
            "--default-release",
        ],
        Tool::Apk => &[
            "-t",
            "--virtual",
            "-X",
            "--repository",
            "-p",
            "--root",
            "--arch",
            "--keys-dir",
            "--cache-dir",
            "--repositories-file",
            "--cache-max-age",
        ],
        Tool::Yum | Tool::Dnf | Tool::Microdnf => &[
            "-c",
            "--config",
            "-d",
            "--debuglevel",
            "-e",
            "--errorlevel",
            "-x",
            "--exclude",
            "--enablerepo",
            "--disablerepo",
            "--repo",
            "--repoid",
            "--setopt",
            "--installroot",
            "--releasever",
            "--downloaddir",
            "--destdir",
            "--rpmverbosity",
        ],
        Tool::Pip => &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-e",
            "--editable",
            "-i",
            "--index-url",
            "--extra-index-url",
            "-t",
            "--target",
            "--prefix",
            "--root",
            "-f",
            "--find-links",
            "--trusted-host",
            "--platform",
            "--python-version",
            "--implementation",
            "--abi",
            "--src",
            "--upgrade-strategy",
            "--progress-bar",
            "--cache-dir",
            "--log",
            "--proxy",
            "--timeout",
            "--retries",
            "--exists-action",
            "--cert",
            "--client-cert",
            "--global-option",
            "--install-option",
            "-C",
            "--config-settings",
            "--python",
            "--no-binary",
            "--only-binary",
            "--report",
        ],
        Tool::Npm => &[
            "--prefix",
            "--registry",
            "--cache",
            "--tag",
            "-w",
            "--workspace",
            "--userconfig",
            "--loglevel",
            "--omit",
            "--include",
            "--install-strategy",
        ],
    }
}

/// Wrapper commands that run the command after them.
const WRAPPERS: &[&str] = &[
    "sudo", "env", "nice", "nohup", "time", "command", "exec", "stdbuf",
];
/// Wrapper options that take a value.
const WRAPPER_VALUE_OPTIONS: &[&str] = &["-u", "-g", "-n", "-C", "-h", "-p", "-U"];

/// The words of the command a simple command runs, past `sudo`, `env VAR=x` and similar.
pub(crate) fn effective_words(command: &SimpleCommand) -> &[String] {
    let mut words = command.command_words();
    while let Some(first) = words.first() {
        if !WRAPPERS.contains(&base_name(first)) {
            break;
        }
        let mut index = 1;
        while let Some(word) = words.get(index) {
            if word.starts_with('-') {
                index += if WRAPPER_VALUE_OPTIONS.contains(&word.as_str()) {
                    2
                } else {
                    1
                };
            } else if is_assignment(word) {
                index += 1;
            } else {
                break;
            }
        }
        words = words.get(index..).unwrap_or(&[]);
    }
    words
}

/// The package-manager call a simple command makes, if any.
pub(crate) fn invocation(command: &SimpleCommand) -> Option<Invocation> {
    let words = effective_words(command);
    let name = base_name(words.first()?);
    let (tool, args) = match name {
        "apt-get" => (Tool::AptGet, words.get(1..)?),
        "apt" => (Tool::Apt, words.get(1..)?),
        "apk" => (Tool::Apk, words.get(1..)?),
        "yum" => (Tool::Yum, words.get(1..)?),
        "dnf" => (Tool::Dnf, words.get(1..)?),
        "microdnf" => (Tool::Microdnf, words.get(1..)?),
        "npm" => (Tool::Npm, words.get(1..)?),
        _ if is_pip(name) => (Tool::Pip, words.get(1..)?),
        _ if name.starts_with("python") => (Tool::Pip, python_module_pip(words)?),
        _ => return None,
    };
    Some(parse_arguments(tool, args))
}

fn is_pip(name: &str) -> bool {
    name.strip_prefix("pip")
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The arguments after `python -m pip`.
fn python_module_pip(words: &[String]) -> Option<&[String]> {
    let module = words.iter().position(|w| w == "-m")?;
    if words.get(module + 1).map(String::as_str) != Some("pip") {
        return None;
    }
    words.get(module + 2..)
}

fn parse_arguments(tool: Tool, args: &[String]) -> Invocation {
    let takes_value = value_options(tool);
    let mut invocation = Invocation {
        tool,
        subcommand: None,
        options: Vec::new(),
        operands: Vec::new(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            invocation.operands.extend(iter.by_ref().cloned());
            break;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            let mut option = arg.clone();
            if takes_value.contains(&arg.as_str()) {
                if let Some(value) = iter.next() {
                    option = format!("{arg}={value}");
                }
            }
            invocation.options.push(option);
        } else if invocation.subcommand.is_none() {
            invocation.subcommand = Some(arg.clone());
        } else {
            invocation.operands.push(arg.clone());
        }
    }
    invocation
}

/// Whether an operand names something other than a registry package by name (a variable, a
/// local file, a URL), so pinning does not apply.
fn is_not_a_name(operand: &str) -> bool {
    operand.contains('$')
        || operand.contains("://")
        || operand.starts_with(['.', '/', '~'])
        || operand.contains('*')
}

/// The operands of an install that are packages with no version pin.
pub(crate) fn unpinned(invocation: &Invocation) -> Vec<&str> {
    invocation
        .operands
        .iter()
        .map(String::as_str)
        .filter(|operand| !is_not_a_name(operand))
        .filter(|operand| !is_pinned(invocation.tool, operand))
        .collect()
}

fn is_pinned(tool: Tool, package: &str) -> bool {
    match tool {
        Tool::AptGet | Tool::Apt => {
            package.contains('=') || package.ends_with(".deb") || package.contains('/')
        }
        Tool::Apk => package.contains(['=', '~', '<', '>']) || package.ends_with(".apk"),
        Tool::Yum | Tool::Dnf | Tool::Microdnf => {
            package.starts_with('@') || package.ends_with(".rpm") || has_dash_digit(package)
        }
        Tool::Pip => package.contains("==") || package.contains('@') || is_archive_name(package),
        Tool::Npm => npm_pinned(package),
    }
}

/// `name-1.2`: a dash followed by a digit.
fn has_dash_digit(package: &str) -> bool {
    package
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'-' && pair[1].is_ascii_digit())
}

fn is_archive_name(package: &str) -> bool {
    [".whl", ".tar.gz", ".zip", ".tgz"]
        .iter()
        .any(|ext| package.ends_with(ext))
}

/// `name@1.2`, `@scope/name@1.2`; paths, git and tarball specs count as pinned; `@latest`
/// and `@next` do not.
fn npm_pinned(package: &str) -> bool {
    let body = package.strip_prefix('@').unwrap_or(package);
    if package.ends_with(".tgz") || package.contains(':') {
        return true;
    }
    match body.rsplit_once('@') {
        Some((_, version)) => !version.is_empty() && !matches!(version, "latest" | "next"),
        None => !package.starts_with('@') && body.contains('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::super::shell::parse_script;
    use super::*;

    fn first(script: &str) -> Invocation {
        let commands = parse_script(script);
        invocation(&commands[0]).unwrap()
    }

    #[test]
    fn options_and_operands_are_told_apart() {
        let apt =
            first("DEBIAN_FRONTEND=noninteractive sudo -E apt-get -o Dpkg::Options::=x -qy install a=1 b");
        assert_eq!(apt.tool, Tool::AptGet);
        assert_eq!(apt.subcommand.as_deref(), Some("install"));
        assert!(apt.has_short('y'));
        assert_eq!(unpinned(&apt), vec!["b"]);
        let apk = first("apk add --virtual .deps --no-cache curl~8 git");
        assert_eq!(unpinned(&apk), vec!["git"]);
        assert!(apk.has_long("no-cache"));
        let pip = first("python3 -m pip install -r req.txt flask==3 requests .");
        assert_eq!(unpinned(&pip), vec!["requests"]);
        let npm = first("npm install -g @scope/a@1 b@latest c");
        assert_eq!(unpinned(&npm), vec!["b@latest", "c"]);
        let yum = first("yum install -y httpd-2.4.6 mod_ssl");
        assert_eq!(unpinned(&yum), vec!["mod_ssl"]);
    }
}
