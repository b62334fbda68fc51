//! The watching agent: one loop from a kernel event source through the process state to the
//! rules and detectors, and from their alerts to the responses. Rule files are reloaded when
//! they change or on request; a reload that fails keeps the last good rules running.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use moat_rules::{LoadErrors, Priority, Ruleset, Scratch};

use crate::detect::Detectors;
use crate::record::RecordingWriter;
use crate::respond::Responder;
use crate::source::ebpf::EbpfSource;
use crate::source::fallback::FallbackSource;
use crate::source::{EventSource, KernelEvent, SourceError};
use crate::state::State;
use crate::{Alert, RuntimeEvent};

/// Which kernel source to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// eBPF where it loads, else the proc connector and fanotify.
    #[default]
    Auto,
    /// eBPF only.
    Ebpf,
    /// The proc connector and fanotify only.
    Fallback,
}

/// A started source and why it, not another, was chosen.
pub struct OpenedSource {
    /// The running source.
    pub source: Box<dyn EventSource>,
    /// Why eBPF is not in use, when it is not.
    pub ebpf_unavailable: Option<String>,
}

/// Starts the source `choice` asks for: probes eBPF first under [`SourceChoice::Auto`] and
/// falls back when it cannot load, keeping the reason.
pub fn open_source(choice: SourceChoice) -> Result<OpenedSource, SourceError> {
    let ebpf_error = match choice {
        SourceChoice::Fallback => None,
        SourceChoice::Ebpf | SourceChoice::Auto => match EbpfSource::open() {
            Ok(source) => {
                return Ok(OpenedSource {
                    source: Box::new(source),
                    ebpf_unavailable: None,
                })
            }
            Err(error) if choice == SourceChoice::Auto => Some(error.to_string()),
            Err(error) => return Err(error),
        },
    };
    let source = FallbackSource::open(&[PathBuf::from("/")])?;
    Ok(OpenedSource {
        source: Box::new(source),
        ebpf_unavailable: ebpf_error.or_else(|| Some("not requested".to_string())),
    })
}

/// Rule files and the state of their last load.
struct RuleFiles {
    paths: Vec<PathBuf>,
    modified: Vec<Option<SystemTime>>,
    last_check: Instant,
}

impl RuleFiles {
    const CHECK_EVERY: Duration = Duration::from_secs(2);

    fn new(paths: Vec<PathBuf>) -> RuleFiles {
        let modified = modification_times(&paths);
        RuleFiles {
            paths,
            modified,
            last_check: Instant::now(),
        }
    }

    /// True when a file changed since the last load (checked at most every two seconds).
    fn changed(&mut self, now: Instant) -> bool {
        if now.duration_since(self.last_check) < Self::CHECK_EVERY {
            return false;
        }
        self.last_check = now;
        modification_times(&self.paths) != self.modified
    }
}

fn modification_times(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .collect()
}

/// Counters of a watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// Facts the source delivered.
    pub kernel_events: u64,
    /// Events the rules and detectors saw.
    pub events: u64,
    /// Alerts raised (before rate limiting).
    pub alerts: u64,
    /// Successful rule reloads.
    pub reloads: u64,
    /// Failed rule reloads (the last good rules stayed in force).
    pub failed_reloads: u64,
    /// The last reload error.
    pub last_reload_error: Option<String>,
    /// Problems the detectors met (a watched file that could not be hashed, a baseline that
    /// could not be saved); each is counted and the watch goes on.
    pub detector_errors: u64,
    /// The last of them.
    pub last_detector_error: Option<String>,
    /// Problems the source reported about single containers (a fanotify mark that failed).
    pub source_warnings: u64,
    /// The last of them.
    pub last_source_warning: Option<String>,
}

/// Bound of the set of containers announced to the source; past it the set starts again
/// (a container announced twice is marked twice, which is harmless).
const MAX_CONTAINERS_SEEN: usize = 65_536;

/// Everything the agent runs besides the source.
pub struct AgentParts {
    /// The process and fd tables with container attribution.
    pub state: State,
    /// Rule files in load order; when empty, the built-in rules ([`DEFAULT_RULES`]) if
    /// `builtin_rules` is set, else none (detectors only).
    pub rule_paths: Vec<PathBuf>,
    /// Load [`DEFAULT_RULES`] when no rule files are given.
    pub builtin_rules: bool,
    /// Alerts below this priority are dropped.
    pub min_priority: Priority,
    /// Drift, baseline, network and file-integrity detectors.
    pub detectors: Detectors,
    /// Where alerts go.
    pub responder: Responder,
    /// Where every event is written, for `moat runtime record`.
    pub recorder: Option<RecordingWriter<Box<dyn Write>>>,
}

/// The running agent.
pub struct Agent {
    source: Box<dyn EventSource>,
    parts: AgentParts,
    rules: Ruleset,
    rule_files: RuleFiles,
    scratch: Scratch,
    stats: AgentStats,
    kernel_events: Vec<KernelEvent>,
    alerts: Vec<Alert>,
    /// Containers already announced to the source ([`EventSource::watch_container`]).
    containers_seen: HashSet<String>,
}

impl Agent {
    /// Loads the rules and seeds the process table from /proc; a rule file with errors stops
    /// the start (unlike a reload).
    pub fn start(source: Box<dyn EventSource>, mut parts: AgentParts) -> Result<Agent, LoadErrors> {
        let rules = load_rules(&parts.rule_paths, parts.builtin_rules)?;
        parts.state.seed_from_proc();
        let rule_files = RuleFiles::new(parts.rule_paths.clone());
        Ok(Agent {
            source,
            parts,
            rules,
            rule_files,
            scratch: Scratch::new(),
            stats: AgentStats::default(),
            kernel_events: Vec::new(),
            alerts: Vec::new(),
            containers_seen: HashSet::new(),
        })
    }

    /// The source in use.
    pub fn source(&self) -> &dyn EventSource {
        self.source.as_ref()
    }

    /// The rules in force.
    pub fn rules(&self) -> &Ruleset {
        &self.rules
    }

    /// Counters so far.
    pub fn stats(&self) -> &AgentStats {
        &self.stats
    }

    /// The responses' counters.
    pub fn responder(&self) -> &Responder {
        &self.parts.responder
    }

    /// Runs until `stop` is set or `until` passes; `reload` set (by SIGHUP) reloads the rules,
    /// as does a change to a rule file. `notice` hears of each reload and its outcome.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        reload: &AtomicBool,
        until: Option<Instant>,
        notice: &mut dyn FnMut(&str),
    ) -> Result<(), SourceError> {
        while !stop.load(Ordering::Relaxed) && until.is_none_or(|end| Instant::now() < end) {
            let now = Instant::now();
            if reload.swap(false, Ordering::Relaxed) || self.rule_files.changed(now) {
                match self.reload() {
                    Ok(count) => notice(&format!("rules reloaded: {count} rules")),
                    Err(error) => notice(&format!(
                        "rule reload failed, the previous {} rules stay in force: {error}",
                        self.rules.rules().len()
                    )),
                }
            }
            self.step(Duration::from_millis(200))?;
        }
        self.flush_recording();
        Ok(())
    }

    /// Waits up to `timeout` for kernel events and handles those that came.
    pub fn step(&mut self, timeout: Duration) -> Result<(), SourceError> {
        let mut kernel_events = std::mem::take(&mut self.kernel_events);
        self.source.poll(timeout, &mut kernel_events)?;
        self.stats.kernel_events += kernel_events.len() as u64;
        for fact in kernel_events.drain(..) {
            if let Some(event) = self.parts.state.apply(fact) {
                self.handle(&event);
            }
        }
        self.kernel_events = kernel_events;
        let now_ns = crate::clock::now_ns();
        self.parts.detectors.tick(now_ns, &mut self.alerts);
        for error in self.parts.detectors.take_errors() {
            self.stats.detector_errors += 1;
            self.stats.last_detector_error = Some(error.to_string());
        }
        self.respond();
        Ok(())
    }

    /// Reloads the rule files and returns how many rules are now in force; on failure the
    /// rules in force stay and the error is also kept in [`AgentStats::last_reload_error`].
    pub fn reload(&mut self) -> Result<usize, LoadErrors> {
        self.rule_files.modified = modification_times(&self.rule_files.paths);
        match load_rules(&self.rule_files.paths, self.parts.builtin_rules) {
            Ok(rules) => {
                self.rules = rules;
                self.stats.reloads += 1;
                self.stats.last_reload_error = None;
                Ok(self.rules.rules().len())
            }
            Err(errors) => {
                self.stats.failed_reloads += 1;
                self.stats.last_reload_error = Some(errors.to_string());
                Err(errors)
            }
        }
    }

    fn handle(&mut self, event: &RuntimeEvent) {
        self.stats.events += 1;
        self.announce_container(event);
        if let Some(recorder) = &mut self.parts.recorder {
            // A recording that cannot be written stops being written; the watch goes on.
            if recorder.write(event).is_err() {
                self.parts.recorder = None;
            }
        }
        let min_priority = self.parts.min_priority;
        let alerts = &mut self.alerts;
        self.rules.matching_with(event, &mut self.scratch, |rule| {
            if rule.priority >= min_priority {
                alerts.push(Alert::new(rule, event));
            }
        });
        self.parts.detectors.observe(event, &mut self.alerts);
        self.respond();
    }

    fn announce_container(&mut self, event: &RuntimeEvent) {
        let Some(container) = &event.container else {
            return;
        };
        if self.containers_seen.contains(&container.id) {
            return;
        }
        if self.containers_seen.len() >= MAX_CONTAINERS_SEEN {
            self.containers_seen.clear();
        }
        self.containers_seen.insert(container.id.clone());
        let pid = u32::try_from(event.process.pid).unwrap_or(0);
        if let Err(error) = self.source.watch_container(pid) {
            self.stats.source_warnings += 1;
            self.stats.last_source_warning = Some(format!("container {}: {error}", container.short_id()));
        }
    }

    fn respond(&mut self) {
        let now = Instant::now();
        for alert in self.alerts.drain(..) {
            if alert.priority < self.parts.min_priority {
                continue;
            }
            self.stats.alerts += 1;
            self.parts.responder.handle(&alert, now);
        }
    }

    fn flush_recording(&mut self) {
        if let Some(recorder) = &mut self.parts.recorder {
            let _ = recorder.flush();
        }
    }
}

/// Moat's own rules, in Falco's format, which `watch` runs when given no rule files.
pub const DEFAULT_RULES: &str = include_str!("../rules/moat_rules.yaml");

/// The name the built-in rules' errors and alerts go by.
pub const DEFAULT_RULES_NAME: &str = "moat_rules.yaml (built in)";

fn load_rules(paths: &[PathBuf], builtin_rules: bool) -> Result<Ruleset, LoadErrors> {
    match (paths.is_empty(), builtin_rules) {
        (false, _) => Ruleset::load(paths),
        (true, true) => Ruleset::from_text(DEFAULT_RULES_NAME, DEFAULT_RULES),
        (true, false) => Ruleset::from_text("(no rules)", "[]"),
    }
}
