//! The webhook's configuration file (YAML or JSON) and the settings it holds.
//!
//! ```yaml
//! listen: 0.0.0.0:8443
//! tls: {certFile: /etc/moat/tls/tls.crt, keyFile: /etc/moat/tls/tls.key}
//! policies: [/etc/moat/policies]
//! inventory: [/etc/moat/inventory]
//! failurePolicy: Fail          # or Ignore: what a policy error or timeout means
//! policyTimeout: 500ms         # per policy and review
//! requestTimeout: 3s           # per admission request, all policies together
//! mode: enforce                # or audit: allow everything, return violations as warnings
//! exemptions:
//!   namespaces: [kube-system, "moat-*"]
//!   usernames: ["system:serviceaccount:kube-system:*"]
//!   groups: ["system:masters"]
//! decisionLog: "-"             # "-" is stdout; a path appends JSON lines to that file
//! maxRequestBytes: 3145728
//! mutation: true
//! reloadInterval: 10s          # 0s turns reloading off
//! ```
//!
//! Relative paths are relative to the directory of the configuration file.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest configuration file read, so a wrong path (a log, a device) fails fast.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The webhook's configuration, as read from its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Address the HTTPS server listens on (read once at start-up).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The serving certificate and key (PEM); reloaded when the files change.
    pub tls: TlsFiles,
    /// Policy files or directories (Gatekeeper templates and constraints,
    /// ValidatingAdmissionPolicies and bindings, `MoatPolicy` documents).
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// Files or directories of cluster objects policies may read: `Namespace`s for
    /// `namespaceSelector`s, ValidatingAdmissionPolicy params, Gatekeeper's `data.inventory`.
    #[serde(default)]
    pub inventory: Vec<PathBuf>,
    /// What a policy that errors or runs out of time means for the request.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Time one policy may spend on one review.
    #[serde(default = "default_policy_timeout", with = "duration_text")]
    pub policy_timeout: Duration,
    /// Time all policies together may spend on one admission request.
    #[serde(default = "default_request_timeout", with = "duration_text")]
    pub request_timeout: Duration,
    /// Enforce decisions, or only record them.
    #[serde(default)]
    pub mode: Mode,
    /// Requests allowed without evaluating any policy.
    #[serde(default)]
    pub exemptions: Exemptions,
    /// Where decisions are logged as JSON lines: `-` for stdout, or a file appended to
    /// (read once at start-up). No decision log when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_log: Option<LogTarget>,
    /// Largest request body accepted; a bigger one is answered with 413 (read once at start-up).
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// Whether `/mutate` applies mutating policies (when off it allows without patches).
    #[serde(default = "default_true")]
    pub mutation: bool,
    /// How often the configuration, policy, inventory and certificate files are checked for
    /// changes; zero turns reloading off (read once at start-up).
    #[serde(default = "default_reload_interval", with = "duration_text")]
    pub reload_interval: Duration,
    /// The file this configuration was read from, watched for changes; `None` when it was
    /// built in code.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// The serving certificate chain and private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// What a policy error or timeout means, as in a webhook configuration's `failurePolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailurePolicy {
    /// Deny the request, naming the policy that failed.
    #[default]
    Fail,
    /// Allow the request, with a warning naming the policy that failed.
    Ignore,
}

impl FailurePolicy {
    /// Kubernetes' spelling (`Fail`, `Ignore`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
    }
}

/// Whether decisions are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny what the policies deny.
    #[default]
    Enforce,
    /// Allow everything; record every violation and return it as a warning.
    Audit,
}

impl Mode {
    /// The lower-case name used in the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        }
    }
}

/// Requests allowed without evaluation: by namespace, user name or group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exemptions {
    /// Namespaces (`kube-system`, `moat-*`, `*-system`).
    #[serde(default)]
    pub namespaces: Vec<NamePattern>,
    /// User names (`system:serviceaccount:kube-system:*`).
    #[serde(default)]
    pub usernames: Vec<NamePattern>,
    /// Groups (`system:masters`).
    #[serde(default)]
    pub groups: Vec<NamePattern>,
}

impl Exemptions {
    /// Why a request by `username` in `groups` about an object in `namespace` is exempt,
    /// or `None` when it is not.
    pub fn reason(&self, namespace: &str, username: &str, groups: &[String]) -> Option<String> {
        let first = |patterns: &[NamePattern], name: &str| {
            patterns.iter().find(|p| p.matches(name)).map(|p| p.to_string())
        };
        if !namespace.is_empty() {
            if let Some(pattern) = first(&self.namespaces, namespace) {
                return Some(format!("namespace {namespace:?} matches {pattern:?}"));
            }
        }
        if let Some(pattern) = first(&self.usernames, username) {
            return Some(format!("user {username:?} matches {pattern:?}"));
        }
        groups
            .iter()
            .find_map(|group| first(&self.groups, group).map(|p| format!("group {group:?} matches {p:?}")))
    }
}

/// A name, or a name with a `*` at its start, its end or both (`moat-*`, `*-system`,
/// `*test*`, `*`).
///
/// Matched like the namespaces of a Gatekeeper `match` (moat-policy's `glob_matches`), not with
/// a glob crate: a full glob syntax (`?`, `[...]`) would accept patterns the documentation does
/// not promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    text: String,
}

impl NamePattern {
    /// Parses a pattern; `*` is allowed only at the start and the end.
    pub fn parse(text: &str) -> Result<NamePattern, String> {
        let leading_star = text.starts_with('*');
        let trailing_star = text.len() > 1 && text.ends_with('*');
        let core = &text[usize::from(leading_star)..text.len() - usize::from(trailing_star)];
        if text.is_empty() {
            return Err("an empty name pattern matches nothing".into());
        }
        if core.contains('*') {
            return Err(format!(
                "{text:?}: `*` is allowed only at the start or the end of a name pattern"
            ));
        }
        Ok(NamePattern {
            text: text.to_string(),
        })
    }

    /// Whether `name` matches, with the wildcard rules of Gatekeeper's `match`.
    pub fn matches(&self, name: &str) -> bool {
        moat_policy::matching::glob_matches(&self.text, name)
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for NamePattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NamePattern::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for NamePattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Where the decision log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (`-`).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

impl<'de> Deserialize<'de> for LogTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "" => Err(serde::de::Error::custom(
                "an empty decision log path; use \"-\" for stdout or leave the field out",
            )),
            "-" => Ok(LogTarget::Stdout),
            path => Ok(LogTarget::File(PathBuf::from(path))),
        }
    }
}

impl Serialize for LogTarget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LogTarget::Stdout => serializer.serialize_str("-"),
            LogTarget::File(path) => path.serialize(serializer),
        }
    }
}

/// Durations written as text: `500ms`, `3s`, `1m 30s`.
mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|err| {
            serde::de::Error::custom(format!("{text:?} is not a duration like 500ms, 3s or 1m: {err}"))
        })
    }

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(*duration))
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}

fn default_policy_timeout() -> Duration {
    Duration::from_millis(500)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(3)
}

fn default_max_request_bytes() -> usize {
    3 << 20
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_true() -> bool {
    true
}

/// A configuration file that cannot be used: names the file, and the field when one is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read the admission configuration: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not YAML or JSON.
    #[error("{path}: not valid {format}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message, with the line.
        message: String,
    },
    /// A field is unknown, missing or has a wrong value.
    #[error("{path}: field `{field}`: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The field's path (`tls.certFile`, `exemptions.namespaces[1]`), `.` for the top.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// A configuration with every default and these certificate files, as code builds it.
    pub fn new(tls: TlsFiles) -> Config {
        Config {
            listen: default_listen(),
            tls,
            policies: Vec::new(),
            inventory: Vec::new(),
            failure_policy: FailurePolicy::default(),
            policy_timeout: default_policy_timeout(),
            request_timeout: default_request_timeout(),
            mode: Mode::default(),
            exemptions: Exemptions::default(),
            decision_log: None,
            max_request_bytes: default_max_request_bytes(),
            mutation: true,
            reload_interval: default_reload_interval(),
            source: None,
        }
    }

    /// Reads a configuration file (`.json` as JSON, anything else as YAML); relative paths in
    /// it become relative to the file's directory, and the file is remembered as `source`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(ConfigError::Syntax {
                path: path.to_path_buf(),
                format: "configuration",
                message: format!("{size} bytes, more than the {MAX_CONFIG_BYTES} accepted"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let mut config = Config::from_text(path, &text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses configuration text; `path` names it in errors and chooses the format
    /// (`.json` is JSON, anything else YAML). Paths are left as written.
    pub fn from_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        let value: serde_json::Value = if is_json {
            serde_json::from_str(text).map_err(|err| syntax(path, "JSON", err))?
        } else {
            serde_saphyr::from_str(text).map_err(|err| syntax(path, "YAML", err))?
        };
        let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
            let field = err.path().to_string();
            ConfigError::Field {
                path: path.to_path_buf(),
                field,
                message: err.into_inner().to_string(),
            }
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let field_error = |field: &str, message: &str| ConfigError::Field {
            path: path.to_path_buf(),
            field: field.to_string(),
            message: message.to_string(),
        };
        if self.policy_timeout.is_zero() {
            return Err(field_error("policyTimeout", "must be more than zero"));
        }
        if self.request_timeout.is_zero() {
            return Err(field_error("requestTimeout", "must be more than zero"));
        }
        if self.max_request_bytes == 0 {
            return Err(field_error("maxRequestBytes", "must be more than zero"));
        }
        Ok(())
    }

    /// Makes every relative path in the configuration relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.tls.cert_file);
        resolve(&mut self.tls.key_file);
        self.policies.iter_mut().for_each(resolve);
        self.inventory.iter_mut().for_each(resolve);
        if let Some(LogTarget::File(path)) = &mut self.decision_log {
            resolve(path);
        }
    }

    /// The configuration as YAML, as `moat admission manifest` puts it in a ConfigMap.
    pub fn to_yaml(&self) -> String {
        // Serializing plain data (strings, numbers, lists) to YAML cannot fail; an empty
        // string would only hide a bug, which the manifest tests would catch.
        serde_saphyr::to_string(self).unwrap_or_default()
    }
}

fn syntax(path: &Path, format: &'static str, err: impl fmt::Display) -> ConfigError {
    ConfigError::Syntax {
        path: path.to_path_buf(),
        format,
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_text(Path::new("admission.yaml"), text)
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let config = parse("tls: {certFile: a.crt, keyFile: a.key}\n").unwrap();
        assert_eq!(config.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(config.max_request_bytes, 3 * 1024 * 1024);
        assert_eq!(config.failure_policy, FailurePolicy::Fail);
        assert_eq!(config.mode, Mode::Enforce);
        assert_eq!(config.policy_timeout, Duration::from_millis(500));
        assert!(config.mutation);
        assert_eq!(config.decision_log, None);
    }

    #[test]
    fn every_field_reads() {
        let config = parse(
            "listen: 127.0.0.1:9443\ntls: {certFile: a.crt, keyFile: a.key}\n\
             policies: [p]\ninventory: [i]\nfailurePolicy: Ignore\npolicyTimeout: 2s\n\
             requestTimeout: 1m\nmode: audit\n\
             exemptions: {namespaces: [kube-system, 'moat-*'], usernames: [alice], groups: ['*ops']}\n\
             decisionLog: '-'\nmaxRequestBytes: 1024\nmutation: false\nreloadInterval: 0s\n",
        )
        .unwrap();
        assert_eq!(config.failure_policy, FailurePolicy::Ignore);
        assert_eq!(config.mode, Mode::Audit);
        assert_eq!(config.request_timeout, Duration::from_secs(60));
        assert_eq!(config.decision_log, Some(LogTarget::Stdout));
        assert!(config.reload_interval.is_zero());
        assert!(!config.mutation);
        let exempt = &config.exemptions;
        assert!(exempt.reason("moat-system", "bob", &[]).is_some());
        assert!(exempt.reason("default", "alice", &[]).is_some());
        assert!(exempt.reason("default", "bob", &["devops".into()]).is_some());
        assert_eq!(exempt.reason("default", "bob", &["dev".into()]), None);
    }

    #[test]
    fn an_unknown_field_is_named_with_the_file() {
        let err = parse("tls: {certFile: a, keyFile: b}\nmod: audit\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("admission.yaml: field `mod`"), "{text}");
        assert!(text.contains("unknown field `mod`"), "{text}");
        let err = parse("tls: {certFile: a, keyFile: b, ca: c}\n").unwrap_err();
        assert!(err.to_string().contains("field `tls.ca`"), "{err}");
    }

    #[test]
    fn a_wrong_value_names_its_field() {
        let err = parse("tls: {certFile: a, keyFile: b}\npolicyTimeout: soon\n").unwrap_err();
        assert!(err.to_string().contains("field `policyTimeout`"), "{err}");
        let err = parse("tls: {certFile: a, keyFile: b}\nexemptions: {namespaces: [a*b]}\n").unwrap_err();
        assert!(err.to_string().contains("exemptions.namespaces[0]"), "{err}");
        let err = parse("tls: {certFile: a, keyFile: b}\nfailurePolicy: Maybe\n").unwrap_err();
        assert!(err.to_string().contains("field `failurePolicy`"), "{err}");
        let err = parse("policies: []\n").unwrap_err();
        assert!(err.to_string().contains("missing field `tls`"), "{err}");
    }

    #[test]
    fn json_is_read_by_extension_and_syntax_errors_name_the_file() {
        let config = Config::from_text(
            Path::new("c.json"),
            r#"{"tls": {"certFile": "a", "keyFile": "b"}, "mode": "audit"}"#,
        )
        .unwrap();
        assert_eq!(config.mode, Mode::Audit);
        let err = Config::from_text(Path::new("c.json"), "{").unwrap_err();
        assert!(err.to_string().starts_with("c.json: not valid JSON"), "{err}");
        let err = parse("tls: [\n").unwrap_err();
        assert!(
            err.to_string().starts_with("admission.yaml: not valid YAML"),
            "{err}"
        );
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admission.yaml");
        std::fs::write(
            &path,
            "tls: {certFile: tls.crt, keyFile: /abs/tls.key}\npolicies: [p]\ndecisionLog: d.log\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.tls.cert_file, dir.path().join("tls.crt"));
        assert_eq!(config.tls.key_file, PathBuf::from("/abs/tls.key"));
        assert_eq!(config.policies, vec![dir.path().join("p")]);
        assert_eq!(
            config.decision_log,
            Some(LogTarget::File(dir.path().join("d.log")))
        );
        assert_eq!(config.source.as_deref(), Some(path.as_path()));
        let missing = Config::load(&dir.path().join("none.yaml")).unwrap_err();
        assert!(missing.to_string().contains("none.yaml"), "{missing}");
    }

    #[test]
    fn name_patterns_match_prefixes_and_suffixes() {
        let pattern = |text| NamePattern::parse(text).unwrap();
        assert!(pattern("kube-*").matches("kube-system"));
        assert!(!pattern("kube-*").matches("my-kube-system"));
        assert!(pattern("*-system").matches("kube-system"));
        assert!(pattern("*").matches("anything"));
        assert!(pattern("*test*").matches("a-test-b"));
        assert!(pattern("default").matches("default"));
        assert!(!pattern("default").matches("default2"));
        assert!(NamePattern::parse("a*b").is_err());
        assert!(NamePattern::parse("").is_err());
    }

    #[test]
    fn the_yaml_written_reads_back() {
        let mut config = Config::new(TlsFiles {
            cert_file: "/tls/tls.crt".into(),
            key_file: "/tls/tls.key".into(),
        });
        config.exemptions.namespaces = vec![NamePattern::parse("kube-*").unwrap()];
        config.decision_log = Some(LogTarget::Stdout);
        let back = parse(&config.to_yaml()).unwrap();
        assert_eq!(back, config);
    }
}
