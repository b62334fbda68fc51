//! The detection configuration: which detectors run and their policies, read from YAML.
//!
//! ```yaml
//! drift: { enabled: true }
//! baseline: { enabled: true, learning_seconds: 300, state_file: /var/lib/moat/baseline.json }
//! network:
//!   listener_grace_seconds: 30
//!   allow:
//!     - workload: { image: "localhost/web*", namespace: "shop", name: "web-*" }
//!       destinations: ["10.0.0.0/8", "192.168.1.5/32", "::1/128"]
//!       ports: [53, 443]
//! fim:
//!   watch:
//!     - workload: { image: "*" }
//!       paths: ["/etc/**", "/usr/bin/*"]
//! ```
//!
//! A section left out keeps its default: drift on, the others off. A section written turns
//! its detector on unless it says `enabled: false`. Unknown keys are refused.
//!
//! - `workload` selects containers; each of `image`, `namespace` and `name` is optional and a
//!   glob (`*` also matches `/`). `image` matches the image as configured (`nginx:1.25`) or
//!   its repository, `namespace` the Kubernetes namespace, `name` the pod name (the container
//!   name outside Kubernetes). A workload without any key selects every container.
//! - `network.allow`: a container selected by at least one entry may connect only where one
//!   of its entries allows: a destination in one of `destinations` (CIDRs; a bare address is a
//!   single host; none = any address) and a port in `ports` (none = any port). Containers no
//!   entry selects are not checked. Loopback destinations are always allowed.
//! - `fim.watch.paths` are absolute path globs (`*` stops at `/`, `**` crosses it).

use globset::{GlobBuilder, GlobMatcher};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which detectors run and their settings; the YAML shape, with an example, is in the
/// [module documentation](self).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Executables written after the container started.
    pub drift: DriftConfig,
    /// Processes outside the learned baseline of an image.
    pub baseline: BaselineConfig,
    /// Outbound connections and late listeners.
    pub network: NetworkConfig,
    /// File integrity of watched paths.
    pub fim: FimConfig,
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            drift: DriftConfig { enabled: true },
            baseline: BaselineConfig {
                enabled: false,
                ..BaselineConfig::default()
            },
            network: NetworkConfig {
                enabled: false,
                ..NetworkConfig::default()
            },
            fim: FimConfig {
                enabled: false,
                watch: Vec::new(),
            },
        }
    }
}

fn yes() -> bool {
    true
}

/// Settings of the drift detector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// Run the detector.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Settings of the process baseline detector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    /// Run the detector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Length of the learning window of an image, from its first event, in event time.
    #[serde(default = "default_learning_seconds")]
    pub learning_seconds: u64,
    /// Where the baselines are kept across restarts; none keeps them in memory only.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
}

fn default_learning_seconds() -> u64 {
    300
}

impl Default for BaselineConfig {
    fn default() -> BaselineConfig {
        BaselineConfig {
            enabled: true,
            learning_seconds: default_learning_seconds(),
            state_file: None,
        }
    }
}

/// Settings of the network detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Run the detector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A listener opened this long after the container started raises an alert.
    #[serde(default = "default_grace_seconds")]
    pub listener_grace_seconds: u64,
    /// Where selected workloads may connect.
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
}

fn default_grace_seconds() -> u64 {
    30
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            enabled: true,
            listener_grace_seconds: default_grace_seconds(),
            allow: Vec::new(),
        }
    }
}

/// Destinations a set of workloads may connect to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// The workloads the entry applies to.
    #[serde(default)]
    pub workload: WorkloadSelector,
    /// Allowed address ranges; empty allows any address.
    #[serde(default)]
    pub destinations: Vec<Cidr>,
    /// Allowed remote ports; empty allows any port.
    #[serde(default)]
    pub ports: Vec<u16>,
}

impl AllowEntry {
    /// True when the entry allows a connection to `ip` port `port`.
    pub fn allows(&self, ip: IpAddr, port: u16) -> bool {
        let ip_ok = self.destinations.is_empty() || self.destinations.iter().any(|c| c.contains(ip));
        let port_ok = self.ports.is_empty() || self.ports.contains(&port);
        ip_ok && port_ok
    }
}

/// Settings of the file integrity detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FimConfig {
    /// Run the detector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The paths watched in selected workloads.
    #[serde(default)]
    pub watch: Vec<WatchEntry>,
}

/// Paths watched in a set of workloads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEntry {
    /// The workloads the entry applies to.
    #[serde(default)]
    pub workload: WorkloadSelector,
    /// Absolute path globs.
    pub paths: Vec<PathGlob>,
}

/// Which containers an entry applies to; every key given must match.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSelector {
    /// The image as configured or its repository.
    #[serde(default)]
    pub image: Option<Glob>,
    /// The Kubernetes namespace.
    #[serde(default)]
    pub namespace: Option<Glob>,
    /// The pod name, or the container name outside Kubernetes.
    #[serde(default)]
    pub name: Option<Glob>,
}

impl WorkloadSelector {
    /// True when every key given matches `workload`.
    pub fn matches(&self, workload: &Workload<'_>) -> bool {
        let image_ok = self
            .image
            .as_ref()
            .is_none_or(|g| g.is_match(workload.image) || g.is_match(workload.repository));
        let namespace_ok = self
            .namespace
            .as_ref()
            .is_none_or(|g| workload.namespace.is_some_and(|ns| g.is_match(ns)));
        let name_ok = self.name.as_ref().is_none_or(|g| g.is_match(workload.name));
        image_ok && namespace_ok && name_ok
    }
}

/// What a [`WorkloadSelector`] looks at in a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload<'a> {
    /// Image as configured.
    pub image: &'a str,
    /// Image repository.
    pub repository: &'a str,
    /// Kubernetes namespace, when known.
    pub namespace: Option<&'a str>,
    /// Pod name, or the container name outside Kubernetes.
    pub name: &'a str,
}

impl<'a> Workload<'a> {
    /// The workload of `container`, with the pod read from its `io.kubernetes.*` labels when
    /// the pod itself is not known.
    pub fn of(container: &'a crate::event::Container) -> Workload<'a> {
        let label = |key: &str| container.labels.get(key).map(String::as_str);
        let pod = container.pod.as_ref();
        let namespace = pod
            .map(|p| p.namespace.as_str())
            .or_else(|| label("io.kubernetes.pod.namespace"))
            .filter(|ns| !ns.is_empty());
        let pod_name = pod
            .map(|p| p.name.as_str())
            .or_else(|| label("io.kubernetes.pod.name"))
            .filter(|name| !name.is_empty());
        Workload {
            image: &container.image,
            repository: &container.repository,
            namespace,
            name: pod_name.unwrap_or(&container.name),
        }
    }
}

/// A glob over names (`*` also matches `/`).
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    matcher: GlobMatcher,
}

impl Glob {
    /// Compiles `text`.
    pub fn new(text: &str) -> Result<Glob, String> {
        compile(text, false)
            .map(|matcher| Glob {
                text: text.to_string(),
                matcher,
            })
            .map_err(|problem| format!("invalid glob `{text}`: {problem}"))
    }

    /// True when `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.matcher.is_match(value)
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.text == other.text
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Glob, D::Error> {
        let text = String::deserialize(deserializer)?;
        compile(&text, false)
            .map(|matcher| Glob {
                text: text.clone(),
                matcher,
            })
            .map_err(|problem| refuse(&text, &format!("a glob ({problem})")))
    }
}

/// An absolute path glob (`*` stops at `/`, `**` crosses it).
#[derive(Debug, Clone)]
pub struct PathGlob {
    text: String,
    matcher: GlobMatcher,
}

impl PathGlob {
    /// Compiles `text`, which must be absolute.
    pub fn new(text: &str) -> Result<PathGlob, String> {
        PathGlob::compile(text).map_err(|problem| format!("invalid path glob `{text}`: expected {problem}"))
    }

    /// The glob, or what was expected instead.
    fn compile(text: &str) -> Result<PathGlob, String> {
        if !text.starts_with('/') {
            return Err("an absolute path glob".to_string());
        }
        compile(text, true)
            .map(|matcher| PathGlob {
                text: text.to_string(),
                matcher,
            })
            .map_err(|problem| format!("a path glob ({problem})"))
    }

    /// True when `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The directory (or file) before the first component with a glob character: where a
    /// walk for matching files starts.
    pub fn literal_prefix(&self) -> String {
        let mut prefix = String::new();
        for component in self.text.split('/').filter(|c| !c.is_empty()) {
            if component.contains(['*', '?', '[', '{', '\\']) {
                break;
            }
            prefix.push('/');
            prefix.push_str(component);
        }
        if prefix.is_empty() {
            prefix.push('/');
        }
        prefix
    }
}

impl PartialEq for PathGlob {
    fn eq(&self, other: &PathGlob) -> bool {
        self.text == other.text
    }
}

impl<'de> Deserialize<'de> for PathGlob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PathGlob, D::Error> {
        let text = String::deserialize(deserializer)?;
        PathGlob::compile(&text).map_err(|expected| refuse(&text, &expected))
    }
}

fn compile(text: &str, literal_separator: bool) -> Result<GlobMatcher, String> {
    GlobBuilder::new(text)
        .literal_separator(literal_separator)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|error| error.kind().to_string())
}

/// The error for a `text` value that is not what was `expected`: an invalid value, which the
/// YAML reader places at its line (a custom error would have no line).
fn refuse<E: serde::de::Error>(text: &str, expected: &str) -> E {
    E::invalid_value(serde::de::Unexpected::Str(text), &expected)
}

const CIDR_EXPECTED: &str = "an address or a CIDR (address/prefix length)";

/// An IPv4 or IPv6 address range; a bare address is a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    /// True when `ip` is in the range; IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Cidr(IpNet::from(ip)));
        }
        text.parse::<IpNet>()
            .map(|net| Cidr(net.trunc()))
            .map_err(|_| format!("invalid CIDR `{text}`: expected {CIDR_EXPECTED}"))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| refuse(&text, CIDR_EXPECTED))
    }
}

/// Why a detection configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DetectConfigError {
    /// The file could not be read.
    #[error("cannot read the detection config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not a valid configuration.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file (or other origin) of the text.
        origin: String,
        /// The line of the problem (1-based; 0 when unknown).
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl DetectConfig {
    /// Reads the configuration file at `path`.
    pub fn load(path: &Path) -> Result<DetectConfig, DetectConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DetectConfig::from_text(&text, &path.display().to_string())
    }

    /// Parses configuration `text`; `origin` names it in errors. An empty text is the default.
    pub fn from_text(text: &str, origin: &str) -> Result<DetectConfig, DetectConfigError> {
        let options = serde_saphyr::Options {
            with_snippet: false,
            strict_booleans: true,
            ..serde_saphyr::Options::default()
        };
        let parsed: Option<DetectConfig> =
            serde_saphyr::from_str_with_options(text, options).map_err(|error| {
                DetectConfigError::Invalid {
                    origin: origin.to_string(),
                    line: error.location().map_or(0, |location| location.line()),
                    message: message_of(&error),
                }
            })?;
        Ok(parsed.unwrap_or_default())
    }

    /// Every detector off (for `moat runtime record`, which only writes events).
    pub fn disabled() -> DetectConfig {
        let mut config = DetectConfig::default();
        config.drift.enabled = false;
        config.baseline.enabled = false;
        config.network.enabled = false;
        config.fim.enabled = false;
        config
    }

    /// True when no detector is enabled.
    pub fn is_empty(&self) -> bool {
        !(self.drift.enabled || self.baseline.enabled || self.network.enabled || self.fim.enabled)
    }
}

/// The message of a YAML error without the location, which the error names separately.
fn message_of(error: &serde_saphyr::Error) -> String {
    let text = match error {
        serde_saphyr::Error::Message { msg, .. } => return msg.clone(),
        other => other.to_string(),
    };
    let Some(location) = error.location() else {
        return text;
    };
    let suffix = format!(" at line {}, column {}", location.line(), location.column());
    text.strip_suffix(&suffix)
        .map_or_else(|| text.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DetectConfig, DetectConfigError> {
        DetectConfig::from_text(text, "detect.yaml")
    }

    const EXAMPLE: &str = r#"
drift: { enabled: true }
baseline: { enabled: true, learning_seconds: 300, state_file: /var/lib/moat/baseline.json }
network:
  listener_grace_seconds: 30
  allow:
    - workload: { image: "localhost/web*", namespace: "shop", name: "web-*" }
      destinations: ["10.0.0.0/8", "192.168.1.5/32", "::1/128"]
      ports: [53, 443]
fim:
  watch:
    - workload: { image: "*" }
      paths: ["/etc/**", "/usr/bin/*"]
"#;

    #[test]
    fn the_documented_example_reads() {
        let config = parse(EXAMPLE).expect("reads");
        assert!(config.drift.enabled && config.baseline.enabled);
        assert!(config.network.enabled && config.fim.enabled);
        assert_eq!(config.baseline.learning_seconds, 300);
        let state = config.baseline.state_file.as_deref();
        assert_eq!(state, Some(Path::new("/var/lib/moat/baseline.json")));
        let allow = &config.network.allow[0];
        assert_eq!(allow.ports, [53, 443]);
        assert!(allow.allows("10.1.2.3".parse().unwrap(), 443));
        assert!(allow.allows("::1".parse().unwrap(), 53));
        assert!(!allow.allows("192.168.1.6".parse().unwrap(), 443));
        assert!(!allow.allows("10.1.2.3".parse().unwrap(), 80));
        let paths: Vec<&str> = config.fim.watch[0].paths.iter().map(PathGlob::as_str).collect();
        assert_eq!(paths, ["/etc/**", "/usr/bin/*"]);
    }

    #[test]
    fn defaults_run_drift_only_and_a_written_section_turns_its_detector_on() {
        let config = parse("").expect("empty is the default");
        assert_eq!(config, DetectConfig::default());
        assert!(config.drift.enabled);
        assert!(!config.baseline.enabled && !config.network.enabled && !config.fim.enabled);
        let config = parse("network: {}\ndrift: { enabled: false }\n").expect("reads");
        assert!(config.network.enabled && !config.drift.enabled && !config.baseline.enabled);
        assert_eq!(config.network.listener_grace_seconds, 30);
    }

    #[test]
    fn unknown_fields_are_refused_naming_the_line() {
        let error =
            parse("drift:\n  enabled: true\nnetwork:\n  allow:\n    - ports: [1]\n      hosts: [x]\n")
                .expect_err("unknown key");
        let text = error.to_string();
        // The line of the entry holding the unknown key.
        assert!(text.starts_with("detect.yaml:5: "), "{text}");
        assert!(text.contains("hosts"), "{text}");
        let error = parse("drfit: {}\n").expect_err("unknown section");
        assert!(error.to_string().starts_with("detect.yaml:1: "), "{error}");
        let error = parse("drift: [true]\n").expect_err("not a mapping");
        assert!(
            !error.to_string().contains("at line"),
            "the line is named once: {error}"
        );
    }

    #[test]
    fn bad_values_name_the_line_and_the_value() {
        let error =
            parse("network:\n  allow:\n    - destinations:\n        - 10.0.0.0/8\n        - 10.0.0/33\n")
                .expect_err("bad CIDR");
        let text = error.to_string();
        assert!(text.starts_with("detect.yaml:5: "), "{text}");
        assert!(text.contains("10.0.0/33") && text.contains("CIDR"), "{text}");
        let error = parse("fim:\n  watch:\n    - paths: [etc/*]\n").expect_err("relative path");
        assert!(error.to_string().contains("detect.yaml:3: "), "{error}");
        assert!(error.to_string().contains("absolute path glob"), "{error}");
        let error = parse("network:\n  allow:\n    - workload: { image: \"[web\" }\n").expect_err("bad glob");
        assert!(error.to_string().starts_with("detect.yaml:3: "), "{error}");
        assert!(
            error.to_string().contains("\"[web\"") && error.to_string().contains("a glob ("),
            "{error}"
        );
        let error = parse("baseline:\n  learning_seconds: soon\n").expect_err("not a number");
        assert!(error.to_string().starts_with("detect.yaml:2: "), "{error}");
    }

    #[test]
    fn load_names_a_missing_file() {
        let error = DetectConfig::load(Path::new("/nonexistent/detect.yaml")).expect_err("missing");
        assert!(error.to_string().contains("/nonexistent/detect.yaml"), "{error}");
    }

    #[test]
    fn cidrs_hold_their_addresses_only() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.255.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()), "IPv4-mapped");
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: Cidr = "2001:db8::1".parse().unwrap();
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!(!host.contains("2001:db8::2".parse().unwrap()));
        assert!("10.0.0.0/40".parse::<Cidr>().is_err());
    }

    #[test]
    fn workloads_match_on_every_key_given() {
        let selector = WorkloadSelector {
            image: Some(Glob::new("localhost/web*").unwrap()),
            namespace: Some(Glob::new("shop").unwrap()),
            name: Some(Glob::new("web-*").unwrap()),
        };
        let mut workload = Workload {
            image: "localhost/web:1",
            repository: "localhost/web",
            namespace: Some("shop"),
            name: "web-7d9f",
        };
        assert!(selector.matches(&workload));
        workload.namespace = None;
        assert!(!selector.matches(&workload), "a namespace is required when named");
        assert!(WorkloadSelector::default().matches(&workload));
        assert!(Glob::new("*").unwrap().is_match("docker.io/library/nginx:1"));
    }

    #[test]
    fn the_literal_prefix_stops_before_the_first_glob_component() {
        let prefix = |text: &str| PathGlob::new(text).unwrap().literal_prefix().to_string();
        assert_eq!(prefix("/etc/**"), "/etc");
        assert_eq!(prefix("/usr/bin/*"), "/usr/bin");
        assert_eq!(prefix("/etc/passwd"), "/etc/passwd");
        assert_eq!(prefix("/*/conf"), "/");
        assert_eq!(prefix("/etc/ssh/ssh*_config"), "/etc/ssh");
    }
}
