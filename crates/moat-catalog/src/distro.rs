//! Distribution detection: `os-release` first (per the freedesktop.org specification), then the
//! older release files, then distroless Debian's `base-files` package.
//!
//! Hand-written: os-release is a small shell-like `KEY=value` format; the crates that read it
//! (`os-release`, `sys-info`) read the running host's file rather than bytes, and ignore quoting
//! and escape rules.

use crate::cataloger::SupportFiles;
use moat_core::{Distro, Package, PackageType};

/// Files kept in the squashed view for distribution detection.
pub const DISTRO_FILES: &[&str] = &[
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/alpine-release",
    "/etc/wolfi-release",
    "/etc/debian_version",
    "/etc/redhat-release",
    "/etc/centos-release",
    "/etc/rocky-release",
    "/etc/almalinux-release",
    "/etc/fedora-release",
    "/etc/system-release",
    "/etc/lsb-release",
    "/etc/SuSE-release",
];

/// Release files that name the distribution in one line (`Rocky Linux release 8.4 (…)`), most
/// specific first.
const RELEASE_LINE_FILES: &[&str] = &[
    "/etc/rocky-release",
    "/etc/almalinux-release",
    "/etc/centos-release",
    "/etc/fedora-release",
    "/etc/redhat-release",
    "/etc/system-release",
];

/// Detects the distribution from the squashed view's files, falling back to the packages found
/// (distroless Debian has no os-release but a `status.d/base-files` stanza). `None` when nothing
/// tells (busybox-only or scratch images).
pub fn detect(files: &dyn SupportFiles, packages: &[Package]) -> Option<Distro> {
    let text = |path: &str| {
        files
            .get(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    let from_os_release = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| text(path).and_then(|t| parse_os_release(&t)));
    if let Some(mut distro) = from_os_release {
        if distro.version_id.is_empty() && distro.id == "debian" {
            distro.version_id = text("/etc/debian_version")
                .map(|t| debian_version(&t).0)
                .unwrap_or_default();
        }
        return Some(distro);
    }
    release_files(&text).or_else(|| distroless_debian(packages))
}

fn release_files(text: &dyn Fn(&str) -> Option<String>) -> Option<Distro> {
    if let Some(version) = text("/etc/alpine-release") {
        return Some(simple("alpine", "Alpine Linux", first_line(&version)));
    }
    if let Some(version) = text("/etc/wolfi-release") {
        return Some(simple("wolfi", "Wolfi", first_line(&version)));
    }
    let release_line = RELEASE_LINE_FILES
        .iter()
        .find_map(|path| text(path).and_then(|t| parse_release_line(&t)));
    if release_line.is_some() {
        return release_line;
    }
    if let Some(suse) = text("/etc/SuSE-release").and_then(|t| parse_suse_release(&t)) {
        return Some(suse);
    }
    if let Some(lsb) = text("/etc/lsb-release").and_then(|t| parse_lsb_release(&t)) {
        return Some(lsb);
    }
    text("/etc/debian_version").map(|t| {
        let (version, codename) = debian_version(&t);
        Distro {
            codename,
            ..simple("debian", "Debian GNU/Linux", &version)
        }
    })
}

fn simple(id: &str, name: &str, version: &str) -> Distro {
    let pretty_name = if version.is_empty() {
        name.to_string()
    } else {
        format!("{name} {version}")
    };
    Distro {
        id: id.to_string(),
        version_id: version.to_string(),
        name: name.to_string(),
        pretty_name,
        ..Distro::default()
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// Distroless Debian: the version of `base-files` from a `status.d` stanza (`12.4+deb12u5` → 12).
fn distroless_debian(packages: &[Package]) -> Option<Distro> {
    let base = packages.iter().find(|p| {
        p.package_type == PackageType::Deb
            && p.name == "base-files"
            && p.primary_path().starts_with("/var/lib/dpkg/status.d/")
    })?;
    let major: String = base.version.chars().take_while(char::is_ascii_digit).collect();
    Some(simple("debian", "Debian GNU/Linux", &major))
}

/// `/etc/debian_version`: `12.15` gives version `12`; `trixie/sid` gives no version and the
/// codename `trixie`.
fn debian_version(text: &str) -> (String, String) {
    let line = first_line(text);
    let major: String = line.chars().take_while(char::is_ascii_digit).collect();
    if major.is_empty() {
        (String::new(), line.split('/').next().unwrap_or("").to_string())
    } else {
        (major, String::new())
    }
}

/// Parses os-release text. `None` when it has no `ID`.
pub fn parse_os_release(text: &str) -> Option<Distro> {
    let mut distro = Distro::default();
    for line in text.lines() {
        let Some((key, value)) = os_release_line(line) else {
            continue;
        };
        match key {
            "ID" => distro.id = value.to_ascii_lowercase(),
            "VERSION_ID" => distro.version_id = value,
            "NAME" => distro.name = value,
            "PRETTY_NAME" => distro.pretty_name = value,
            "VERSION_CODENAME" => distro.codename = value,
            "ID_LIKE" => distro.id_like = value.split_whitespace().map(str::to_ascii_lowercase).collect(),
            _ => {}
        }
    }
    (!distro.id.is_empty()).then_some(distro)
}

/// One `KEY=value` assignment; `None` for comments, blank and malformed lines.
fn os_release_line(line: &str) -> Option<(&str, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (key, raw) = line.split_once('=')?;
    let valid_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid_key.then(|| (key, shell_value(raw)))
}

/// Decodes a shell-style value: double quotes (with `\"`, `\\`, `\$`, `` \` `` escapes), single
/// quotes (literal), and unquoted text (backslash escapes the next character; an unquoted space
/// ends the value).
fn shell_value(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => match chars.next() {
                Some(next @ ('"' | '\\' | '$' | '`')) => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            (None, '\\') => out.extend(chars.next()),
            (None, c) if c.is_whitespace() => break,
            (_, c) => out.push(c),
        }
    }
    out
}

/// `Rocky Linux release 8.4 (Green Obsidian)` and the like.
fn parse_release_line(text: &str) -> Option<Distro> {
    let line = first_line(text);
    let lower = line.to_ascii_lowercase();
    let (id, name) = [
        ("red hat enterprise linux", ("rhel", "Red Hat Enterprise Linux")),
        ("centos", ("centos", "CentOS Linux")),
        ("rocky linux", ("rocky", "Rocky Linux")),
        ("almalinux", ("almalinux", "AlmaLinux")),
        ("fedora", ("fedora", "Fedora Linux")),
        ("amazon linux", ("amzn", "Amazon Linux")),
        ("oracle linux", ("ol", "Oracle Linux Server")),
    ]
    .iter()
    .find(|(prefix, _)| lower.starts_with(prefix))
    .map(|(_, pair)| *pair)?;
    let version = line
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or("");
    let codename = line
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.trim().to_string())
        .unwrap_or_default();
    Some(Distro {
        pretty_name: line.to_string(),
        codename,
        ..simple(id, name, version)
    })
}

/// `/etc/SuSE-release`: a name line then `VERSION = 15` and `PATCHLEVEL = 4`.
fn parse_suse_release(text: &str) -> Option<Distro> {
    let first = first_line(text);
    let lower = first.to_ascii_lowercase();
    let (id, name) = if lower.starts_with("opensuse") {
        ("opensuse", "openSUSE")
    } else if lower.starts_with("suse linux enterprise server") {
        ("sles", "SUSE Linux Enterprise Server")
    } else if lower.starts_with("suse") {
        ("suse", "SUSE Linux")
    } else {
        return None;
    };
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
        })
    };
    let mut version = field("VERSION").unwrap_or_default();
    if let Some(patch) = field("PATCHLEVEL").filter(|p| p != "0" && !version.is_empty()) {
        version = format!("{version}.{patch}");
    }
    Some(Distro {
        pretty_name: first.to_string(),
        ..simple(id, name, &version)
    })
}

/// `/etc/lsb-release`: `DISTRIB_ID`, `DISTRIB_RELEASE`, `DISTRIB_CODENAME`,
/// `DISTRIB_DESCRIPTION`.
fn parse_lsb_release(text: &str) -> Option<Distro> {
    let mut distro = Distro::default();
    for (key, value) in text.lines().filter_map(os_release_line) {
        match key {
            "DISTRIB_ID" => {
                distro.id = value.to_ascii_lowercase();
                distro.name = value;
            }
            "DISTRIB_RELEASE" => distro.version_id = value,
            "DISTRIB_CODENAME" => distro.codename = value,
            "DISTRIB_DESCRIPTION" => distro.pretty_name = value,
            _ => {}
        }
    }
    (!distro.id.is_empty()).then_some(distro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_values() {
        assert_eq!(
            shell_value("\"Debian GNU/Linux 12 (bookworm)\""),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(shell_value("'single $quoted'"), "single $quoted");
        assert_eq!(
            shell_value(r#""say \"hi\" \$HOME \\ \n""#),
            r#"say "hi" $HOME \ \n"#
        );
        assert_eq!(shell_value(r"plain\ text more"), "plain text");
        assert_eq!(shell_value("abc\"def ghi\"jkl"), "abcdef ghijkl");
        assert_eq!(shell_value("\"unterminated"), "unterminated");
    }

    #[test]
    fn release_lines() {
        let rocky = parse_release_line("Rocky Linux release 8.4 (Green Obsidian)\n").unwrap();
        assert_eq!(
            (
                rocky.id.as_str(),
                rocky.version_id.as_str(),
                rocky.codename.as_str()
            ),
            ("rocky", "8.4", "Green Obsidian")
        );
        let centos = parse_release_line("CentOS Linux release 7.9.2009 (Core)").unwrap();
        assert_eq!(
            (centos.id.as_str(), centos.version_id.as_str()),
            ("centos", "7.9.2009")
        );
        let amzn = parse_release_line("Amazon Linux release 2 (Karoo)").unwrap();
        assert_eq!((amzn.id.as_str(), amzn.version_id.as_str()), ("amzn", "2"));
        assert!(parse_release_line("Something else 1.0").is_none());
    }

    #[test]
    fn debian_versions() {
        assert_eq!(debian_version("12.15\n"), ("12".to_string(), String::new()));
        assert_eq!(
            debian_version("trixie/sid\n"),
            (String::new(), "trixie".to_string())
        );
    }
}
