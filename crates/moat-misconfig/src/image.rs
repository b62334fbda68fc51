//! Checks on a built image: its config (user, healthcheck, ports, Env) and the modes of the
//! files its final filesystem shows.

use moat_core::standards::CIS_DOCKER;
use moat_core::{
    CheckInfo, ComplianceRef, ConfigKind, Misconfiguration, Severity, SpecialFile, TextLocation,
};

/// The pseudo-path image-config findings are reported at.
pub const IMAGE_CONFIG_PATH: &str = "<image config>";

const ROOT: CheckInfo = CheckInfo {
    id: "IMG001",
    title: "Image runs as root",
    severity: Severity::High,
    kind: ConfigKind::ImageConfig,
    description: "The image config sets no user, or user root/0, so its processes run as root \
                  inside the container; a breakout or a writable host mount is then a root compromise.",
    remediation: "Create an unprivileged user in the image and set it with USER (e.g. USER 10001).",
    references: &[ComplianceRef::new(CIS_DOCKER, "4.1")],
    aliases: &["DS002", "CKV_DOCKER_3", "DL3002"],
};

const NO_HEALTHCHECK: CheckInfo = CheckInfo {
    id: "IMG002",
    title: "Image has no HEALTHCHECK",
    severity: Severity::Low,
    kind: ConfigKind::ImageConfig,
    description: "Without a healthcheck the runtime cannot tell a hung service from a healthy one.",
    remediation: "Add a HEALTHCHECK instruction that probes the service.",
    references: &[ComplianceRef::new(CIS_DOCKER, "4.6")],
    aliases: &["DS026", "CKV_DOCKER_2"],
};

const SECRET_IN_ENV: CheckInfo = CheckInfo {
    id: "IMG003",
    title: "Secret in image environment",
    severity: Severity::Critical,
    kind: ConfigKind::ImageConfig,
    description: "An environment variable whose name says it holds a credential has a literal value \
                  in the image config: anyone who can pull the image can read it.",
    remediation: "Pass secrets at run time (orchestrator secrets, a mounted file, BuildKit secret \
                  mounts at build time) instead of ENV.",
    references: &[ComplianceRef::new(CIS_DOCKER, "4.10")],
    aliases: &["DS031"],
};

const SSH_PORT: CheckInfo = CheckInfo {
    id: "IMG004",
    title: "Image exposes SSH port 22",
    severity: Severity::Medium,
    kind: ConfigKind::ImageConfig,
    description: "Exposing port 22 suggests an SSH daemon runs in the container, which adds an \
                  attack surface and bypasses the runtime's exec and audit controls.",
    remediation: "Remove EXPOSE 22 and the SSH daemon; use `kubectl exec` / `docker exec` for access.",
    references: &[ComplianceRef::new(CIS_DOCKER, "5.6")],
    aliases: &["DS004", "CKV_DOCKER_1"],
};

const SETUID: CheckInfo = CheckInfo {
    id: "IMG005",
    title: "Setuid or setgid file in image",
    severity: Severity::Low,
    kind: ConfigKind::ImageConfig,
    description: "Setuid and setgid binaries let an unprivileged process gain the owner's \
                  privileges; most containers need none.",
    remediation:
        "Remove the bits in the build (e.g. `find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) \
                  or remove the binaries.",
    references: &[ComplianceRef::new(CIS_DOCKER, "4.8")],
    aliases: &[],
};

const WORLD_WRITABLE: CheckInfo = CheckInfo {
    id: "IMG006",
    title: "World-writable file or directory in image",
    severity: Severity::Medium,
    kind: ConfigKind::ImageConfig,
    description: "Files any user can write (and directories without the sticky bit) let any process \
                  in the container tamper with them.",
    remediation: "Fix the mode in the build (chmod o-w), or set the sticky bit on shared directories.",
    references: &[],
    aliases: &[],
};

/// Every image-config check.
pub static CHECKS: &[CheckInfo] = &[
    ROOT,
    NO_HEALTHCHECK,
    SECRET_IN_ENV,
    SSH_PORT,
    SETUID,
    WORLD_WRITABLE,
];

/// What the image checks read: the config's fields and the special files of the squashed
/// filesystem.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts<'a> {
    /// `config.User`.
    pub user: &'a str,
    /// `config.Env`, `NAME=value` each.
    pub env: &'a [String],
    /// `config.ExposedPorts` keys (`22/tcp`).
    pub exposed_ports: &'a [String],
    /// `config.Healthcheck.Test`, when set.
    pub healthcheck: Option<&'a [String]>,
    /// Setuid, setgid and world-writable entries.
    pub special_files: &'a [SpecialFile],
}

/// Runs every image check not in `skip`.
pub fn check_image(
    facts: &ImageFacts<'_>,
    skip: &std::collections::BTreeSet<String>,
) -> Vec<Misconfiguration> {
    let config = || TextLocation::file(IMAGE_CONFIG_PATH);
    let mut findings = Vec::new();
    if runs_as_root(facts.user) {
        let shown = if facts.user.is_empty() {
            "no user is set".to_string()
        } else {
            format!("User is {:?}", facts.user)
        };
        findings.push(Misconfiguration::new(
            &ROOT,
            format!("{shown}: processes run as root"),
            config(),
        ));
    }
    if !has_healthcheck(facts.healthcheck) {
        findings.push(Misconfiguration::new(
            &NO_HEALTHCHECK,
            "the image config has no healthcheck",
            config(),
        ));
    }
    for name in facts.env.iter().filter_map(|pair| secret_env_name(pair)) {
        let message = format!("Env sets {name} to a literal value");
        findings.push(Misconfiguration::new(&SECRET_IN_ENV, message, config()));
    }
    if facts
        .exposed_ports
        .iter()
        .any(|port| port.split('/').next() == Some("22"))
    {
        findings.push(Misconfiguration::new(
            &SSH_PORT,
            "ExposedPorts includes 22",
            config(),
        ));
    }
    for file in facts.special_files {
        findings.extend(special_file_finding(file));
    }
    findings.retain(|finding| !skip.contains(&finding.check_id));
    findings
}

/// No user set means root, as the runtime does.
fn runs_as_root(user: &str) -> bool {
    user.trim().is_empty() || crate::is_root_user(user)
}

fn has_healthcheck(test: Option<&[String]>) -> bool {
    match test {
        None | Some([]) => false,
        Some([first, ..]) => first != "NONE",
    }
}

/// Words in a variable name that say it holds a credential.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
];

/// Name endings that say the variable names a file or another variable, not a credential.
const REFERENCE_SUFFIXES: &[&str] = &["_FILE", "_PATH", "_DIR", "_NAME", "_ENV", "_URL_FILE"];

/// The variable's name when `NAME=value` looks like a credential with a literal value.
fn secret_env_name(pair: &str) -> Option<&str> {
    let (name, value) = pair.split_once('=')?;
    let upper = name.to_ascii_uppercase();
    let named_secret = SECRET_WORDS.iter().any(|word| upper.contains(word))
        && !REFERENCE_SUFFIXES.iter().any(|suffix| upper.ends_with(suffix));
    let literal = !value.trim().is_empty() && !value.starts_with('$');
    (named_secret && literal).then_some(name)
}

fn special_file_finding(file: &SpecialFile) -> Option<Misconfiguration> {
    let mut location = TextLocation::file(file.path.clone());
    location.layer = file.layer.clone();
    let mode = format!("{:04o}", file.mode & 0o7777);
    let (check, message) = if !file.directory && file.mode & 0o6000 != 0 {
        let bits = match (file.mode & 0o4000 != 0, file.mode & 0o2000 != 0) {
            (true, true) => "setuid and setgid",
            (true, false) => "setuid",
            _ => "setgid",
        };
        (&SETUID, format!("{} is {bits} (mode {mode})", file.path))
    } else if file.mode & 0o002 != 0 && !(file.directory && file.mode & 0o1000 != 0) {
        let what = if file.directory { "directory" } else { "file" };
        (
            &WORLD_WRITABLE,
            format!("{what} {} is writable by everyone (mode {mode})", file.path),
        )
    } else {
        return None;
    };
    Some(Misconfiguration::new(check, message, location))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(facts: &ImageFacts<'_>) -> Vec<String> {
        check_image(facts, &BTreeSet::new())
            .into_iter()
            .map(|f| f.check_id)
            .collect()
    }

    #[test]
    fn debian_app_like_config_fails_root_healthcheck_env_and_ssh() {
        let env = vec![
            "PATH=/usr/local/bin:/usr/bin".to_string(),
            "DB_PASSWORD=hunter2-not-real".to_string(),
            "POSTGRES_PASSWORD_FILE=/run/secrets/db".to_string(),
            "API_TOKEN=$TOKEN".to_string(),
        ];
        let ports = vec!["22/tcp".to_string(), "8000/tcp".to_string()];
        let facts = ImageFacts {
            env: &env,
            exposed_ports: &ports,
            ..ImageFacts::default()
        };
        assert_eq!(ids(&facts), vec!["IMG001", "IMG002", "IMG003", "IMG004"]);
        let findings = check_image(&facts, &BTreeSet::new());
        assert_eq!(findings[2].message, "Env sets DB_PASSWORD to a literal value");
        assert_eq!(findings[0].references, vec!["CIS Docker Benchmark v1.6.0 4.1"]);
    }

    #[test]
    fn a_user_and_a_healthcheck_pass() {
        let test = vec!["CMD".to_string(), "true".to_string()];
        let facts = ImageFacts {
            user: "1000",
            healthcheck: Some(&test),
            ..ImageFacts::default()
        };
        assert!(ids(&facts).is_empty());
        let none = vec!["NONE".to_string()];
        let facts = ImageFacts {
            user: "app:app",
            healthcheck: Some(&none),
            ..ImageFacts::default()
        };
        assert_eq!(ids(&facts), vec!["IMG002"]);
        let facts = ImageFacts {
            user: "0:0",
            healthcheck: Some(&test),
            ..ImageFacts::default()
        };
        assert_eq!(ids(&facts), vec!["IMG001"]);
        let facts = ImageFacts {
            user: "00",
            healthcheck: Some(&test),
            ..ImageFacts::default()
        };
        assert_eq!(ids(&facts), vec!["IMG001"], "uid 0 however written");
    }

    #[test]
    fn special_files_are_reported_with_their_layer_and_skips_apply() {
        let files = vec![
            SpecialFile {
                path: "/usr/bin/passwd".into(),
                mode: 0o4755,
                directory: false,
                layer: Some("sha256:a".into()),
            },
            SpecialFile {
                path: "/srv/drop".into(),
                mode: 0o777,
                directory: true,
                layer: None,
            },
            SpecialFile {
                path: "/tmp".into(),
                mode: 0o1777,
                directory: true,
                layer: None,
            },
        ];
        let test = vec!["CMD".to_string(), "true".to_string()];
        let facts = ImageFacts {
            user: "app",
            healthcheck: Some(&test),
            special_files: &files,
            ..ImageFacts::default()
        };
        let findings = check_image(&facts, &BTreeSet::new());
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].message, "/usr/bin/passwd is setuid (mode 4755)");
        assert_eq!(findings[0].location.layer.as_deref(), Some("sha256:a"));
        assert_eq!(findings[1].check_id, "IMG006");
        let skip = BTreeSet::from(["IMG005".to_string()]);
        assert_eq!(check_image(&facts, &skip).len(), 1);
    }
}
