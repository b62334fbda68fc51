//! Process baselines: the programs each image runs while it is learned, then alerts for others.
//!
//! An image (its id when known, else its name) is learned for `learning_seconds` of event time
//! from its first event in any container: every program run there joins its baseline. After
//! that, a program outside the baseline raises [`BASELINE_RULE`], once per image and program
//! while the detector runs. Baselines are kept in the state file, when there is one, as JSON:
//! `{"version":1,"images":{"<image>":{"first_seen_ns":…,"processes":["/bin/sh",…]}}}`, written
//! on `tick` when they changed (a temporary file renamed over the old one, so a crash leaves
//! either the old or the new state), so that a restarted agent keeps them.

use super::{build_alert, is_exec, BaselineConfig, DetectError, Detector, Finding};
use crate::event::{Container, RuntimeEvent};
use crate::replay::Alert;
use moat_rules::Priority;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rule name of baseline alerts.
pub const BASELINE_RULE: &str = "Moat: process outside baseline";

/// Images followed; past it, new images are not learned.
const MAX_IMAGES: usize = 4096;
/// Programs learned per image; past it, the rest are not learned.
const MAX_PROCESSES: usize = 4096;
/// (image, program) pairs remembered as reported; past it, the memory starts over.
const MAX_REPORTED: usize = 65_536;

const STATE_VERSION: u32 = 1;

/// The learned programs of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ImageBaseline {
    /// Event time of the image's first event: learning starts there.
    first_seen_ns: u64,
    /// Programs run while learning.
    processes: BTreeSet<String>,
}

/// What the state file holds.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    images: BTreeMap<String, ImageBaseline>,
}

/// Learns and enforces the programs of each image.
pub struct BaselineDetector {
    learning_ns: u64,
    state_file: Option<PathBuf>,
    images: BTreeMap<String, ImageBaseline>,
    reported: HashSet<(String, String)>,
    dirty: bool,
    errors: Vec<DetectError>,
}

impl BaselineDetector {
    /// A detector with the baselines of the state file, if any; fails when the state file
    /// exists but cannot be read.
    pub fn new(config: &BaselineConfig) -> Result<BaselineDetector, DetectError> {
        let images = match &config.state_file {
            Some(path) => load_state(path)?,
            None => BTreeMap::new(),
        };
        Ok(BaselineDetector {
            learning_ns: config.learning_seconds.saturating_mul(1_000_000_000),
            state_file: config.state_file.clone(),
            images,
            reported: HashSet::new(),
            dirty: false,
            errors: Vec::new(),
        })
    }

    /// Writes the baselines to the state file now, when they changed.
    pub fn save(&mut self) -> Result<(), DetectError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let state = StateFile {
            version: STATE_VERSION,
            images: self.images.clone(),
        };
        write_atomically(path, &state).map_err(|source| DetectError::StateWrite {
            path: path.clone(),
            source,
        })?;
        self.dirty = false;
        Ok(())
    }

    fn report_once(&mut self, image: &str, program: &str) -> bool {
        if self.reported.len() >= MAX_REPORTED {
            self.reported.clear();
        }
        self.reported.insert((image.to_string(), program.to_string()))
    }
}

/// The image id when known, else the image as configured.
fn image_key(container: &Container) -> Option<&str> {
    let id = container.image_id.as_deref().filter(|id| !id.is_empty());
    Some(id.unwrap_or(&container.image)).filter(|key| !key.is_empty())
}

/// The program of an exec: its path, or its name when the path is unknown.
fn program(event: &RuntimeEvent) -> &str {
    if event.process.exepath.is_empty() {
        &event.process.name
    } else {
        &event.process.exepath
    }
}

impl Detector for BaselineDetector {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn observe(&mut self, event: &RuntimeEvent, out: &mut Vec<Alert>) {
        let Some(image) = event.container.as_deref().and_then(image_key) else {
            return;
        };
        if !self.images.contains_key(image) {
            if self.images.len() >= MAX_IMAGES {
                return;
            }
            let baseline = ImageBaseline {
                first_seen_ns: event.ts,
                processes: BTreeSet::new(),
            };
            self.images.insert(image.to_string(), baseline);
            self.dirty = true;
        }
        let program = program(event);
        if !is_exec(event) || program.is_empty() {
            return;
        }
        let Some(baseline) = self.images.get_mut(image) else {
            return;
        };
        if baseline.processes.contains(program) {
            return;
        }
        if event.ts < baseline.first_seen_ns.saturating_add(self.learning_ns) {
            if baseline.processes.len() < MAX_PROCESSES {
                baseline.processes.insert(program.to_string());
                self.dirty = true;
            }
            return;
        }
        if self.report_once(image, program) {
            out.push(outside_baseline(event, image, program));
        }
    }

    fn tick(&mut self, _now_ns: u64, _out: &mut Vec<Alert>) {
        if let Err(error) = self.save() {
            self.errors.push(error);
        }
    }

    fn take_errors(&mut self) -> Vec<DetectError> {
        std::mem::take(&mut self.errors)
    }
}

fn outside_baseline(event: &RuntimeEvent, image: &str, program: &str) -> Alert {
    let finding = Finding {
        rule: BASELINE_RULE,
        priority: Priority::Warning,
        tags: &["container", "process", "baseline", "mitre_execution"],
        summary: "Program not in the learned baseline of its image was run",
        fields: vec![
            ("baseline.image", Value::from(image)),
            ("baseline.process", Value::from(program)),
        ],
    };
    build_alert(event, event.ts, finding)
}

/// The baselines of the state file at `path`; none when it does not exist.
fn load_state(path: &Path) -> Result<BTreeMap<String, ImageBaseline>, DetectError> {
    let fail = |message: String| DetectError::StateRead {
        path: path.to_path_buf(),
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if is_absent(&error) => return Ok(BTreeMap::new()),
        Err(error) => return Err(fail(error.to_string())),
    };
    let state: StateFile = serde_json::from_str(&text).map_err(|error| fail(error.to_string()))?;
    if state.version != STATE_VERSION {
        return Err(fail(format!(
            "version {} is not the supported version {STATE_VERSION}",
            state.version
        )));
    }
    Ok(state.images)
}

/// True when the error says the file is not there (nor its directory).
fn is_absent(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Writes `state` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, state: &StateFile) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    serde_json::to_writer(&mut file, state)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn config(state_file: Option<PathBuf>) -> BaselineConfig {
        BaselineConfig {
            enabled: true,
            learning_seconds: 60,
            state_file,
        }
    }

    fn run(detector: &mut BaselineDetector, events: &[RuntimeEvent]) -> Vec<Alert> {
        let mut out = Vec::new();
        for event in events {
            detector.observe(event, &mut out);
        }
        out
    }

    #[test]
    fn a_new_program_after_learning_raises_one_alert() {
        let web = container("c1", "web:1");
        let mut detector = BaselineDetector::new(&config(None)).expect("builds");
        let alerts = run(
            &mut detector,
            &[
                event(100 * SECOND, "openat", Some(&web)),
                exec(120 * SECOND, "/usr/sbin/nginx", Some(&web)),
                exec(159 * SECOND, "/bin/sh", Some(&web)),
                exec(161 * SECOND, "/usr/sbin/nginx", Some(&web)),
                exec(162 * SECOND, "/bin/sh", Some(&web)),
                exec(163 * SECOND, "/usr/bin/curl", Some(&web)),
                exec(164 * SECOND, "/usr/bin/curl", Some(&web)),
            ],
        );
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.rule, BASELINE_RULE);
        assert_eq!(alert.priority, Priority::Warning);
        assert_eq!(alert.output_fields["baseline.process"], "/usr/bin/curl");
        assert_eq!(alert.output_fields["baseline.image"], "web:1");
        assert_eq!(alert.output_fields["proc.exepath"], "/usr/bin/curl");
    }

    #[test]
    fn images_are_learned_apart_and_by_id_when_known_and_the_host_is_ignored() {
        let mut web = container("c1", "web:1");
        web.image_id = Some("sha256:aaa".to_string());
        let mut web_again = container("c2", "web:latest");
        web_again.image_id = Some("sha256:aaa".to_string());
        let db = container("c3", "db:1");
        let mut detector = BaselineDetector::new(&config(None)).expect("builds");
        let alerts = run(
            &mut detector,
            &[
                exec(0, "/bin/sh", Some(&web)),
                exec(0, "/bin/sh", None),
                // The same image under another name and container: learned already.
                exec(100 * SECOND, "/bin/sh", Some(&web_again)),
                // Another image, first seen now: still learning.
                exec(100 * SECOND, "/bin/bash", Some(&db)),
                exec(200 * SECOND, "/bin/bash", Some(&db)),
                exec(200 * SECOND, "/bin/bash", None),
            ],
        );
        assert!(alerts.is_empty(), "{alerts:#?}");
        let alerts = run(
            &mut detector,
            &[exec(300 * SECOND, "/bin/bash", Some(&web_again))],
        );
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].output_fields["baseline.image"], "sha256:aaa");
    }

    #[test]
    fn a_restart_keeps_the_baselines_of_the_state_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state/baseline.json");
        let web = container("c1", "web:1");
        let mut first = BaselineDetector::new(&config(Some(state.clone()))).expect("builds");
        run(&mut first, &[exec(0, "/usr/sbin/nginx", Some(&web))]);
        first.tick(SECOND, &mut Vec::new());
        assert!(first.take_errors().is_empty());
        let text = std::fs::read_to_string(&state).expect("state written");
        assert!(text.contains("/usr/sbin/nginx"), "{text}");
        assert!(!dir.path().join("state/baseline.json.tmp").exists());

        let mut restarted = BaselineDetector::new(&config(Some(state.clone()))).expect("reloads");
        let alerts = run(
            &mut restarted,
            &[
                exec(100 * SECOND, "/usr/sbin/nginx", Some(&web)),
                exec(100 * SECOND, "/bin/sh", Some(&web)),
            ],
        );
        let programs: Vec<&Value> = alerts
            .iter()
            .map(|a| &a.output_fields["baseline.process"])
            .collect();
        assert_eq!(
            programs,
            ["/bin/sh"],
            "learning ended before the restart, nginx is known"
        );
    }

    #[test]
    fn an_unreadable_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("baseline.json");
        std::fs::write(&state, "{not json").expect("write");
        let error = BaselineDetector::new(&config(Some(state.clone())))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains(&state.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn a_state_that_cannot_be_saved_is_reported_by_take_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").expect("write");
        let mut detector =
            BaselineDetector::new(&config(Some(blocker.join("baseline.json")))).expect("builds");
        run(
            &mut detector,
            &[exec(0, "/bin/sh", Some(&container("c1", "web:1")))],
        );
        detector.tick(SECOND, &mut Vec::new());
        let errors = detector.take_errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("baseline.json"), "{}", errors[0]);
    }
}
