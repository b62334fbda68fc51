//! The agent loop with a scripted source (the kernel boundary is a trait): kernel facts flow
//! through the state to the rules, the detectors and the sinks, and detector errors are
//! counted instead of piling up or stopping the watch.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moat_rules::Priority;
use moat_runtime::agent::{Agent, AgentParts};
use moat_runtime::container::{Attribution, ContainerInfo};
use moat_runtime::detect::{DetectConfig, Detectors};
use moat_runtime::respond::{JsonLinesSink, Responder};
use moat_runtime::source::{EventSource, ExecEvent, KernelEvent, SourceError, SourceStats, Task};
use moat_runtime::state::{State, StateOptions};
use moat_runtime::Container;

/// Delivers its facts on the first poll, then nothing.
struct ScriptedSource(Vec<KernelEvent>);

impl EventSource for ScriptedSource {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn limitations(&self) -> Vec<String> {
        Vec::new()
    }
    fn poll(&mut self, _timeout: Duration, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        out.append(&mut self.0);
        Ok(())
    }
    fn stats(&self) -> SourceStats {
        SourceStats::default()
    }
}

/// Every process is in one container.
struct OneContainer(Arc<ContainerInfo>);

impl Attribution for OneContainer {
    fn container_of(&mut self, _pid: u32, _leaf: Option<&str>) -> Option<Arc<ContainerInfo>> {
        Some(Arc::clone(&self.0))
    }
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn exec(pid: u32, path: &str) -> KernelEvent {
    let name = path.rsplit('/').next().unwrap_or(path);
    KernelEvent::Exec(ExecEvent {
        task: Task {
            ts: 1_709_210_096_000_000_000,
            pid,
            tid: pid,
            ppid: Some(1),
            comm: name.to_string(),
            ..Task::default()
        },
        filename: path.to_string(),
        args: Some(vec![name.to_string()]),
    })
}

#[test]
fn facts_reach_the_rules_and_sinks_and_detector_errors_are_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: Curl in container\n  desc: curl ran\n  condition: evt.type = execve and container.id != host and proc.name = curl\n  output: \"curl in %container.name\"\n  priority: NOTICE\n",
    )
    .expect("writes rules");
    // The baseline's state file sits below a regular file, so saving it must fail.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "x").expect("writes blocker");
    let mut config = DetectConfig::disabled();
    config.baseline.enabled = true;
    config.baseline.state_file = Some(blocker.join("baseline.json"));

    let info = Arc::new(ContainerInfo {
        container: Container {
            id: "4f1c".repeat(16),
            name: "shop".to_string(),
            image: "localhost/shop:1".to_string(),
            ..Container::default()
        },
        ..ContainerInfo::default()
    });
    let empty_proc = dir.path().join("proc");
    std::fs::create_dir(&empty_proc).expect("proc dir");
    let state = State::new(
        StateOptions {
            proc_root: empty_proc.clone(),
            ..StateOptions::default()
        },
        Box::new(OneContainer(info)),
    );
    let output = Shared::default();
    let sink = JsonLinesSink::to_writer("test", output.clone());
    let parts = AgentParts {
        state,
        rule_paths: vec![rules],
        builtin_rules: false,
        min_priority: Priority::Debug,
        detectors: Detectors::new(&config, empty_proc).expect("detectors"),
        responder: Responder::new(vec![Box::new(sink)], None, None),
        recorder: None,
    };
    let source = ScriptedSource(vec![exec(50, "/usr/bin/curl"), exec(51, "/bin/ls")]);
    let mut agent = Agent::start(Box::new(source), parts).expect("starts");
    agent.step(Duration::ZERO).expect("steps");

    let text = String::from_utf8(output.0.lock().expect("buffer").clone()).expect("utf-8");
    let alerts: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON alert"))
        .collect();
    assert_eq!(alerts.len(), 1, "{text}");
    assert_eq!(alerts[0]["rule"], "Curl in container");
    assert_eq!(alerts[0]["output"], "curl in shop");
    let stats = agent.stats();
    assert_eq!((stats.kernel_events, stats.events, stats.alerts), (2, 2, 1));
    assert_eq!(stats.detector_errors, 1, "{stats:?}");
    let error = stats.last_detector_error.as_deref().unwrap_or_default();
    assert!(error.contains("baseline.json"), "{error}");

    // Later steps with nothing new add no error and no alert.
    agent.step(Duration::ZERO).expect("steps");
    assert_eq!(agent.stats().alerts, 1);
}
