//! Detections beyond Falco rules, each a [`Detector`] that follows the event stream and keeps
//! state across events: container drift ([`drift`]), process baselines per image
//! ([`baseline`]), outbound connection policy and late listeners ([`network`]) and file
//! integrity of watched paths ([`fim`]). [`Detectors`] runs the ones a [`DetectConfig`]
//! enables. Their alerts have the shape of rule alerts ([`Alert`]), so they go wherever those go.
//!
//! Events of the host (no container) are ignored by every detector. Time is event time
//! (`RuntimeEvent::ts`), so a replayed recording behaves as the live stream did.

pub mod baseline;
pub mod config;
pub mod drift;
pub mod fim;
pub mod network;

pub use baseline::BaselineDetector;
pub use config::{
    AllowEntry, BaselineConfig, Cidr, DetectConfig, DetectConfigError, DriftConfig, FimConfig, Glob,
    NetworkConfig, PathGlob, WatchEntry, Workload, WorkloadSelector,
};
pub use drift::DriftDetector;
pub use fim::FimDetector;
pub use network::NetworkDetector;

use crate::clock;
use crate::event::{ArgValue, Container, Direction, RuntimeEvent};
use crate::replay::{Alert, AlertContext, EXTRA_FIELDS};
use crate::state::normalize;
use moat_rules::output::format_value;
use moat_rules::{Event, FieldExpr, FieldValue, Priority};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// A detection that follows the event stream.
pub trait Detector {
    /// A short name (`drift`, `baseline`, …).
    fn name(&self) -> &'static str;

    /// Looks at one event, adding any alert it raises to `out`.
    fn observe(&mut self, event: &RuntimeEvent, out: &mut Vec<Alert>);

    /// Does periodic work (re-hashing, saving state) at `now_ns` (ns since the epoch),
    /// adding any alert it raises to `out`.
    fn tick(&mut self, now_ns: u64, out: &mut Vec<Alert>) {
        let _ = (now_ns, out);
    }

    /// Problems met since the last call (state that could not be saved, files that could not
    /// be read); they do not stop the detector.
    fn take_errors(&mut self) -> Vec<DetectError> {
        Vec::new()
    }
}

/// A problem of a detector with the files it reads or writes.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The baseline state file exists but could not be read.
    #[error("cannot read the baseline state {path}: {message}")]
    StateRead {
        /// The state file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The baseline state could not be written.
    #[error("cannot write the baseline state {path}: {source}")]
    StateWrite {
        /// The state file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A watched file could not be read.
    #[error("cannot hash the watched file {path}: {source}")]
    Hash {
        /// The file, as the agent sees it (under the process root).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The detectors a configuration enables, run in turn on every event.
pub struct Detectors {
    detectors: Vec<Box<dyn Detector + Send>>,
}

impl Detectors {
    /// The detectors `config` enables; `proc_root` is where process roots are found
    /// (`/proc` on a live system: `<proc_root>/<pid>/root`). Fails when the baseline state
    /// file exists but cannot be read.
    pub fn new(config: &DetectConfig, proc_root: PathBuf) -> Result<Detectors, DetectError> {
        let mut detectors: Vec<Box<dyn Detector + Send>> = Vec::new();
        if config.drift.enabled {
            detectors.push(Box::new(DriftDetector::new()));
        }
        if config.baseline.enabled {
            detectors.push(Box::new(BaselineDetector::new(&config.baseline)?));
        }
        if config.network.enabled {
            detectors.push(Box::new(NetworkDetector::new(&config.network)));
        }
        if config.fim.enabled {
            detectors.push(Box::new(FimDetector::new(&config.fim, proc_root)));
        }
        Ok(Detectors { detectors })
    }

    /// The names of the enabled detectors, in the order they run.
    pub fn names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }

    /// Gives `event` to every detector.
    pub fn observe(&mut self, event: &RuntimeEvent, out: &mut Vec<Alert>) {
        for detector in &mut self.detectors {
            detector.observe(event, out);
        }
    }

    /// Lets every detector do its periodic work.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Alert>) {
        for detector in &mut self.detectors {
            detector.tick(now_ns, out);
        }
    }

    /// The problems every detector met since the last call.
    pub fn take_errors(&mut self) -> Vec<DetectError> {
        self.detectors.iter_mut().flat_map(|d| d.take_errors()).collect()
    }
}

/// What a detector found, before it is dressed as an [`Alert`].
pub(crate) struct Finding {
    /// Rule name of the alert.
    pub rule: &'static str,
    /// Priority of the alert.
    pub priority: Priority,
    /// Tags of the alert.
    pub tags: &'static [&'static str],
    /// The sentence the output starts with.
    pub summary: &'static str,
    /// The detector's own fields, first in the output and in `output_fields`.
    pub fields: Vec<(&'static str, Value)>,
}

/// Fields of the event every detection alert shows after its own.
const PROCESS_FIELDS: [&str; 5] = [
    "proc.name",
    "proc.exepath",
    "proc.pid",
    "proc.cmdline",
    "user.name",
];

/// The alert for `finding` about `event`, at `time_ns`.
pub(crate) fn build_alert(event: &RuntimeEvent, time_ns: u64, finding: Finding) -> Alert {
    let mut output_fields = Map::new();
    for (name, value) in finding.fields {
        output_fields.insert(name.to_string(), value);
    }
    for name in PROCESS_FIELDS.iter().chain(EXTRA_FIELDS.iter()) {
        output_fields.insert(name.to_string(), event_field(event, name));
    }
    Alert {
        time: clock::iso8601(time_ns),
        rule: finding.rule.to_string(),
        priority: finding.priority,
        output: render_output(finding.summary, &output_fields),
        output_fields,
        tags: finding.tags.iter().map(|tag| tag.to_string()).collect(),
        source: "syscall",
        hostname: event.hostname.clone(),
        context: AlertContext::of(event),
    }
}

/// `summary (name=value …)`, with Falco's `<NA>` for fields without a value.
fn render_output(summary: &str, fields: &Map<String, Value>) -> String {
    let rendered: Vec<String> = fields
        .iter()
        .map(|(name, value)| match value {
            Value::Null => format!("{name}=<NA>"),
            Value::String(text) => format!("{name}={text}"),
            other => format!("{name}={other}"),
        })
        .collect();
    format!("{summary} ({})", rendered.join(" "))
}

/// The rule field `name` of `event` as JSON: numbers and flags as such, the rest as text.
fn event_field(event: &RuntimeEvent, name: &str) -> Value {
    let field = FieldExpr {
        name: name.to_string(),
        arg: None,
        transformers: Vec::new(),
    };
    match event.field(&field) {
        None => Value::Null,
        Some(FieldValue::U64(n)) => Value::from(n),
        Some(FieldValue::I64(n)) => Value::from(n),
        Some(FieldValue::Bool(b)) => Value::Bool(b),
        Some(other) => Value::String(format_value(&other)),
    }
}

/// Containers followed by a detector, each with its state.
const MAX_CONTAINERS: usize = 1024;

/// A container a detector follows.
pub(crate) struct Tracked<T> {
    /// Event time of its first event.
    pub first_seen_ns: u64,
    /// Event time of its latest event, to forget the least recently active first.
    last_seen_ns: u64,
    /// The detector's state.
    pub state: T,
}

/// Per-container state, bounded: past [`MAX_CONTAINERS`], the least recently active container
/// is forgotten; a container is also forgotten when its init process (pid 1 in its pid
/// namespace) exits, since the container stops with it.
pub(crate) struct ContainerTable<T> {
    entries: HashMap<String, Tracked<T>>,
}

impl<T> ContainerTable<T> {
    /// An empty table.
    pub fn new() -> ContainerTable<T> {
        ContainerTable {
            entries: HashMap::new(),
        }
    }

    /// Forgets the container of `event` when the event is the exit of its init; true then.
    pub fn forget_on_init_exit(&mut self, event: &RuntimeEvent) -> bool {
        let Some(container) = &event.container else {
            return false;
        };
        let init_exit = event.event_type == "procexit"
            && event.process.vpid == 1
            && (event.process.tid == event.process.pid || event.process.tid == 0);
        if init_exit {
            self.entries.remove(&container.id);
        }
        init_exit
    }

    /// The entry of `container`, made with `make` when new (the flag is then true).
    pub fn track(
        &mut self,
        container: &Container,
        ts: u64,
        make: impl FnOnce() -> T,
    ) -> (&mut Tracked<T>, bool) {
        let is_new = !self.entries.contains_key(&container.id);
        if is_new && self.entries.len() >= MAX_CONTAINERS {
            self.forget_least_recent();
        }
        let tracked = self
            .entries
            .entry(container.id.clone())
            .or_insert_with(|| Tracked {
                first_seen_ns: ts,
                last_seen_ns: ts,
                state: make(),
            });
        tracked.last_seen_ns = tracked.last_seen_ns.max(ts);
        (tracked, is_new)
    }

    /// Every followed container.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Tracked<T>> {
        self.entries.values_mut()
    }

    fn forget_least_recent(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, tracked)| tracked.last_seen_ns)
            .map(|(id, _)| id.clone());
        if let Some(id) = oldest {
            self.entries.remove(&id);
        }
    }
}

/// The exit of a syscall that succeeded.
pub(crate) fn succeeded(event: &RuntimeEvent) -> bool {
    event.dir == Direction::Exit && event.res >= 0
}

/// A successful program execution.
pub(crate) fn is_exec(event: &RuntimeEvent) -> bool {
    matches!(event.event_type.as_str(), "execve" | "execveat") && succeeded(event)
}

const OPEN_TYPES: [&str; 4] = ["open", "openat", "openat2", "creat"];

/// An open that may create or change the file: `creat`, or flags with write access,
/// `O_CREAT` or `O_TRUNC` (text flags, or Linux bits when recorded as a number).
pub(crate) fn opens_for_write(event: &RuntimeEvent) -> bool {
    if !OPEN_TYPES.contains(&event.event_type.as_str()) {
        return false;
    }
    if event.event_type == "creat" {
        return true;
    }
    match event.args.get("flags") {
        Some(ArgValue::Str(flags)) => flags
            .split('|')
            .map(str::trim)
            .any(|flag| matches!(flag, "O_WRONLY" | "O_RDWR" | "O_CREAT" | "O_TRUNC")),
        // O_ACCMODE (3), O_CREAT (0o100), O_TRUNC (0o1000).
        Some(ArgValue::Int(bits)) => bits & 3 != 0 || bits & 0o1100 != 0,
        _ => false,
    }
}

/// True when a `mode` argument has an execute bit: a number, octal text (`0755`) or mode
/// names (`S_IXUSR|…`).
pub(crate) fn mode_has_exec(mode: Option<&ArgValue>) -> bool {
    match mode {
        Some(ArgValue::Int(bits)) => bits & 0o111 != 0,
        Some(ArgValue::UInt(bits)) => bits & 0o111 != 0,
        Some(ArgValue::Str(text)) if text.contains("S_IX") => true,
        Some(ArgValue::Str(text)) => {
            let digits = text.trim().trim_start_matches("0o");
            i64::from_str_radix(digits, 8).is_ok_and(|bits| bits & 0o111 != 0)
        }
        None => false,
    }
}

/// The path an open concerns: the fd name when absolute, else the path argument resolved.
pub(crate) fn opened_path(event: &RuntimeEvent) -> Option<String> {
    match event.fd.as_ref().map(|fd| fd.name.as_str()) {
        Some(name) if name.starts_with('/') => Some(normalize(name)),
        _ => arg_path(event, &["name", "pathname", "path", "filename"]),
    }
}

/// The first of the `names` arguments that is text, resolved against the process cwd.
pub(crate) fn arg_path(event: &RuntimeEvent, names: &[&str]) -> Option<String> {
    let raw = names.iter().find_map(|name| event.args.text(name))?;
    if raw.is_empty() {
        return None;
    }
    if raw.starts_with('/') {
        return Some(normalize(raw));
    }
    let cwd = event.process.cwd.as_str();
    if !cwd.starts_with('/') {
        return None;
    }
    Some(normalize(&format!("{cwd}/{raw}")))
}

/// The paths a successful event creates or writes: write opens, `creat`, the new name of a
/// rename, the new path of a link or symlink.
pub(crate) fn written_paths(event: &RuntimeEvent) -> Vec<String> {
    if !succeeded(event) {
        return Vec::new();
    }
    let path = match event.event_type.as_str() {
        _ if opens_for_write(event) => opened_path(event),
        "rename" | "renameat" | "renameat2" | "link" | "linkat" => arg_path(event, &["newpath"]),
        "symlink" | "symlinkat" => arg_path(event, &["linkpath"]),
        _ => None,
    };
    path.into_iter().collect()
}

/// The path whose mode a successful `chmod`, `fchmodat` or `fchmod` changed.
pub(crate) fn chmod_path(event: &RuntimeEvent) -> Option<String> {
    if !succeeded(event) {
        return None;
    }
    match event.event_type.as_str() {
        "chmod" | "fchmodat" => arg_path(event, &["filename", "path", "pathname"]),
        "fchmod" => event
            .fd
            .as_ref()
            .map(|fd| fd.name.as_str())
            .filter(|name| name.starts_with('/'))
            .map(normalize),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Event builders for the detector tests.
    use crate::event::{Args, Container, Direction, Fd, FdKind, Process, RuntimeEvent};

    /// A container with `id` and `image`.
    pub fn container(id: &str, image: &str) -> Container {
        Container {
            id: id.to_string(),
            name: format!("{id}-name"),
            image: image.to_string(),
            repository: image.split(':').next().unwrap_or(image).to_string(),
            ..Container::default()
        }
    }

    /// A successful exit event of `event_type` by pid 100 (`/bin/app`).
    pub fn event(ts: u64, event_type: &str, container: Option<&Container>) -> RuntimeEvent {
        RuntimeEvent {
            num: ts,
            ts,
            event_type: event_type.into(),
            dir: Direction::Exit,
            process: Process {
                pid: 100,
                tid: 100,
                vpid: 7,
                name: "app".to_string(),
                exepath: "/bin/app".to_string(),
                cwd: "/work".to_string(),
                ..Process::default()
            }
            .into(),
            container: container.cloned().map(Into::into),
            ..RuntimeEvent::default()
        }
    }

    /// A successful execve of `path`.
    pub fn exec(ts: u64, path: &str, container: Option<&Container>) -> RuntimeEvent {
        let mut event = event(ts, "execve", container);
        std::sync::Arc::make_mut(&mut event.process).exepath = path.to_string();
        std::sync::Arc::make_mut(&mut event.process).name =
            path.rsplit('/').next().unwrap_or(path).to_string();
        event
    }

    /// A successful openat of `path` with text `flags`.
    pub fn open(ts: u64, path: &str, flags: &str, container: Option<&Container>) -> RuntimeEvent {
        let mut event = event(ts, "openat", container);
        event.res = 3;
        let mut args = Args::default();
        args.push("name", path);
        args.push("flags", flags);
        event.args = args;
        event.fd = Some(Fd {
            num: 3,
            kind: FdKind::File,
            name: path.to_string(),
            ..Fd::default()
        });
        event
    }

    /// A successful event of `event_type` with text arguments.
    pub fn with_args(
        ts: u64,
        event_type: &str,
        args: &[(&'static str, &str)],
        container: Option<&Container>,
    ) -> RuntimeEvent {
        let mut event = event(ts, event_type, container);
        for (name, value) in args {
            event.args.push(name, *value);
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn write_opens_are_told_from_reads() {
        let c = container("c1", "web:1");
        assert!(opens_for_write(&open(
            1,
            "/x",
            "O_WRONLY|O_CREAT|O_TRUNC",
            Some(&c)
        )));
        assert!(opens_for_write(&open(1, "/x", "O_RDWR", Some(&c))));
        assert!(!opens_for_write(&open(1, "/x", "O_RDONLY|O_CLOEXEC", Some(&c))));
        let mut raw = open(1, "/x", "", Some(&c));
        raw.args = crate::event::Args::default();
        raw.args.push("flags", 0o101_i64);
        assert!(opens_for_write(&raw));
        let mut failed = open(1, "/x", "O_WRONLY", Some(&c));
        failed.res = -13;
        assert!(written_paths(&failed).is_empty(), "a failed open writes nothing");
    }

    #[test]
    fn relative_paths_resolve_against_the_cwd() {
        let event = with_args(1, "rename", &[("oldpath", "a"), ("newpath", "../tmp/./b")], None);
        assert_eq!(written_paths(&event), ["/tmp/b"]);
        assert_eq!(normalize("//usr/bin/../lib/"), "/usr/lib");
    }

    #[test]
    fn modes_with_an_execute_bit_are_recognised() {
        assert!(mode_has_exec(Some(&ArgValue::Int(0o755))));
        assert!(!mode_has_exec(Some(&ArgValue::Int(0o644))));
        assert!(mode_has_exec(Some(&ArgValue::from("0755"))));
        assert!(!mode_has_exec(Some(&ArgValue::from("0644"))));
        assert!(mode_has_exec(Some(&ArgValue::from("S_IRUSR|S_IXUSR"))));
        assert!(!mode_has_exec(None));
    }

    #[test]
    fn the_default_config_runs_drift_only() {
        let detectors = Detectors::new(&DetectConfig::default(), PathBuf::from("/proc")).expect("builds");
        assert_eq!(detectors.names(), ["drift"]);
    }

    #[test]
    fn every_enabled_detector_sees_every_event() {
        let text = "baseline: { learning_seconds: 1 }\nnetwork: { allow: [ { ports: [443] } ] }\nfim: { watch: [] }\n";
        let config = DetectConfig::from_text(text, "test.yaml").expect("config");
        let mut detectors = Detectors::new(&config, PathBuf::from("/nonexistent")).expect("builds");
        assert_eq!(detectors.names(), ["drift", "baseline", "network", "fim"]);
        let c = container("c1", "web:1");
        let mut out = Vec::new();
        for event in [
            open(0, "/tmp/x", "O_WRONLY|O_CREAT", Some(&c)),
            exec(5_000_000_000, "/tmp/x", Some(&c)),
        ] {
            detectors.observe(&event, &mut out);
        }
        detectors.tick(6_000_000_000, &mut out);
        let rules: Vec<&str> = out.iter().map(|a| a.rule.as_str()).collect();
        assert_eq!(rules, [drift::DRIFT_RULE, baseline::BASELINE_RULE]);
        assert!(detectors.take_errors().is_empty());
    }

    #[test]
    fn a_container_is_forgotten_when_its_init_exits() {
        let c = container("c1", "web:1");
        let mut table: ContainerTable<u32> = ContainerTable::new();
        let (_, is_new) = table.track(&c, 5, || 1);
        assert!(is_new);
        let (tracked, is_new) = table.track(&c, 9, || 2);
        assert!(!is_new);
        assert_eq!((tracked.first_seen_ns, tracked.state), (5, 1));
        let mut exit = event(10, "procexit", Some(&c));
        assert!(!table.forget_on_init_exit(&exit), "vpid 7 is not the init");
        std::sync::Arc::make_mut(&mut exit.process).vpid = 1;
        assert!(table.forget_on_init_exit(&exit));
        let (_, is_new) = table.track(&c, 11, || 3);
        assert!(is_new);
    }
}
