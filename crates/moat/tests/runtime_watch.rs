//! `moat runtime watch` against real containers (podman with runc): the actions of the
//! Falco event generator (`conformance/falco/event-generator/actions.tsv`) that this machine
//! allows are performed inside a container, and the rule the table names must fire with that
//! container's id and image; a quiet container raises nothing for 60 seconds.
//!
//! Needs root, podman, runc and a kernel that loads eBPF programs, as CI provides.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moat_runtime::{RecordingReader, RuntimeEvent};
use moat_testkit::podman::Podman;
use moat_testkit::shared::{shared_dir, shared_file, shared_images};
use serde_json::Value;

/// An action of the event generator and how it is done inside the debian-app container.
struct Action {
    name: &'static str,
    argv: &'static [&'static str],
}

const PYTHON_MEMFD: &str = "import os; fd = os.memfd_create('moat'); \
    os.write(fd, open('/bin/sleep', 'rb').read()); os.execv('/proc/self/fd/%d' % fd, ['sleep', '1'])";
const PYTHON_TRACEME: &str = "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)";
const PYTHON_ATTACH: &str = "import ctypes, subprocess; child = subprocess.Popen(['sleep', '5']); \
    ctypes.CDLL(None).ptrace(16, child.pid, 0, 0); child.kill()";
const PYTHON_PACKET: &str =
    "import socket\ntry:\n    socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\nexcept OSError:\n    pass";

const ACTIONS: &[Action] = &[
    Action {
        name: "syscall.ReadSensitiveFileUntrusted",
        argv: &["cat", "/etc/shadow"],
    },
    Action {
        name: "syscall.DirectoryTraversalMonitoredFileRead",
        argv: &["cat", "/etc/../../etc/shadow"],
    },
    Action {
        name: "syscall.CreateSymlinkOverSensitiveFiles",
        argv: &["ln", "-sf", "/etc/shadow", "/tmp/moat-shadow-link"],
    },
    Action {
        name: "syscall.CreateHardlinkOverSensitiveFiles",
        argv: &["ln", "-f", "/etc/shadow", "/tmp/moat-shadow-hard"],
    },
    Action {
        name: "syscall.ClearLogActivities",
        argv: &["bash", "-c", ": > /var/log/moat-test.log"],
    },
    Action {
        name: "syscall.RemoveBulkDataFromDisk",
        argv: &[
            "bash",
            "-c",
            "echo x > /tmp/moat-shred && shred -u /tmp/moat-shred",
        ],
    },
    Action {
        name: "syscall.SearchPrivateKeysOrPasswords",
        argv: &["find", "/tmp", "-maxdepth", "1", "-name", "id_rsa"],
    },
    Action {
        name: "syscall.FindAwsCredentials",
        argv: &["grep", "-rs", "aws_secret_access_key", "/tmp"],
    },
    Action {
        name: "syscall.NetcatRemoteCodeExecutionInContainer",
        argv: &[
            "bash",
            "-c",
            "cp /bin/true /tmp/nc && /tmp/nc -e /bin/sh 127.0.0.1 4444",
        ],
    },
    Action {
        name: "syscall.DropAndExecuteNewBinaryInContainer",
        argv: &[
            "bash",
            "-c",
            "cp /bin/true /tmp/moat-dropped && /tmp/moat-dropped",
        ],
    },
    Action {
        name: "syscall.RunShellUntrusted",
        argv: &[
            "bash",
            "-c",
            "cp /bin/bash /tmp/nginx && /tmp/nginx -c '/bin/sh -c true; true'",
        ],
    },
    Action {
        name: "syscall.FilelessExecutionViaMemfdCreate",
        argv: &["python3", "-c", PYTHON_MEMFD],
    },
    Action {
        name: "syscall.PtraceAntiDebugAttempt",
        argv: &["python3", "-c", PYTHON_TRACEME],
    },
    Action {
        name: "syscall.PtraceAttachedToProcess",
        argv: &["python3", "-c", PYTHON_ATTACH],
    },
    Action {
        name: "syscall.PacketSocketCreatedInContainer",
        argv: &["python3", "-c", PYTHON_PACKET],
    },
];

/// action name → (rule name, rules file), from actions.tsv.
fn rules_of_actions(shared: &Path) -> BTreeMap<String, (String, String)> {
    let table = shared_file(shared, "conformance/falco/event-generator/actions.tsv");
    let text = std::fs::read_to_string(&table)
        .unwrap_or_else(|error| panic!("reading {}: {error}", table.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let (action, _status, rule, file) =
                (columns.next()?, columns.next()?, columns.next()?, columns.next()?);
            Some((action.to_string(), (rule.to_string(), file.to_string())))
        })
        .collect()
}

/// A running `moat runtime watch` writing alerts to a file.
struct Watcher {
    child: Child,
    alerts: PathBuf,
    stderr: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Watcher {
    /// Falco's rules and the podman API.
    fn start(rules: &Path, api: &Path) -> Watcher {
        Watcher::start_with(&[
            OsStr::new("--rules"),
            rules.as_os_str(),
            OsStr::new("--container-api"),
            api.as_os_str(),
        ])
    }

    /// Starts the watcher (eBPF source, alerts to a file) with `args` and waits until it
    /// watches.
    fn start_with(args: &[&OsStr]) -> Watcher {
        let dir = tempfile::tempdir().expect("temp dir");
        let alerts = dir.path().join("alerts.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_moat"))
            .args(["runtime", "watch", "--source", "ebpf", "-o"])
            .arg(&alerts)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts moat runtime watch");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) => {
                    let ready = line.contains("rules from");
                    seen.push(line);
                    if ready {
                        break;
                    }
                }
                _ => panic!("moat runtime watch stopped before watching:\n{}", seen.join("\n")),
            }
        }
        // Keep draining stderr so the watcher never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(seen));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().expect("stderr lines").push(line);
            }
        });
        Watcher {
            child,
            alerts,
            stderr,
            _dir: dir,
        }
    }

    /// What the watcher printed on standard error so far.
    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lines").join("\n")
    }

    /// Stops the watcher (SIGINT) and returns all it printed on standard error.
    fn stop(mut self) -> String {
        self.interrupt();
        std::thread::sleep(Duration::from_millis(200));
        self.stderr()
    }

    fn interrupt(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    fn alerts(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.alerts)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Waits until `done` holds for the alerts so far or `limit` passes.
    fn wait_for(&self, limit: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let end = Instant::now() + limit;
        loop {
            let alerts = self.alerts();
            if done(&alerts) || Instant::now() >= end {
                return alerts;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.interrupt();
    }
}

fn setup() -> Option<(PathBuf, PathBuf, Podman)> {
    let shared = shared_dir()?;
    let images = shared_images()?;
    let podman = Podman::start()?;
    Some((shared, images, podman))
}

fn alert_in(alerts: &[Value], rule: &str, short_id: &str) -> bool {
    alerts
        .iter()
        .any(|alert| alert["rule"] == rule && alert["output_fields"]["container.id"] == short_id)
}

#[test]
fn event_generator_actions_in_a_container_fire_their_falco_rules() {
    let Some((shared, images, mut podman)) = setup() else {
        return;
    };
    let table = rules_of_actions(&shared);
    let image = podman.load_image(&images.join("debian-app.tar"));
    let rules = shared_file(&shared, "conformance/falco/rules/falco_rules.yaml");
    let watcher = Watcher::start(&rules, podman.socket());
    let id = podman.run_detached(&image, "moat-actions", &[], &["sleep", "600"]);
    let short_id = &id[..12];

    let mut expected = Vec::new();
    for action in ACTIONS {
        let (rule, file) = table
            .get(action.name)
            .unwrap_or_else(|| panic!("{} is not in actions.tsv", action.name));
        assert_eq!(file, "falco_rules.yaml", "{}", action.name);
        let output = podman.exec(&id, action.argv);
        eprintln!("{}: exit {:?}", action.name, output.status.code());
        expected.push((action.name, rule.clone()));
    }
    let alerts = watcher.wait_for(Duration::from_secs(30), |alerts| {
        expected.iter().all(|(_, rule)| alert_in(alerts, rule, short_id))
    });
    let missing: Vec<String> = expected
        .iter()
        .filter(|(_, rule)| !alert_in(&alerts, rule, short_id))
        .map(|(action, rule)| format!("{action} → {rule}"))
        .collect();
    assert!(
        missing.is_empty(),
        "rules that did not fire for container {short_id}:\n{}\nalerts for it:\n{}",
        missing.join("\n"),
        alerts
            .iter()
            .filter(|a| a["output_fields"]["container.id"] == short_id)
            .map(|a| a["rule"].to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for alert in alerts
        .iter()
        .filter(|a| a["output_fields"]["container.id"] == short_id)
    {
        assert_eq!(
            alert["output_fields"]["container.image.repository"], "localhost/debian-app",
            "{alert}"
        );
        assert_eq!(
            alert["output_fields"]["container.name"], "moat-actions",
            "{alert}"
        );
    }
}

#[test]
fn a_quiet_container_raises_nothing_for_a_minute() {
    let Some((shared, images, mut podman)) = setup() else {
        return;
    };
    let image = podman.load_image(&images.join("busybox-static.tar"));
    let rules = shared_file(&shared, "conformance/falco/rules/falco_rules.yaml");
    let watcher = Watcher::start(&rules, podman.socket());
    let id = podman.run_detached(&image, "moat-quiet", &[], &["/bin/busybox", "sleep", "600"]);
    let short_id = id[..12].to_string();
    let alerts = watcher.wait_for(Duration::from_secs(60), |alerts| {
        alerts
            .iter()
            .any(|a| a["output_fields"]["container.id"] == short_id.as_str())
    });
    let raised: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["output_fields"]["container.id"] == short_id.as_str())
        .collect();
    assert!(raised.is_empty(), "the quiet container raised {raised:?}");
    // The watcher did see this container all along: one symlink over /etc/shadow now is
    // reported (the rule fires on the attempt, whether or not the link could be made).
    const RULE: &str = "Create Symlink Over Sensitive Files";
    podman.exec(&id, &["/bin/busybox", "ln", "-s", "/etc/shadow", "/moat-link"]);
    let alerts = watcher.wait_for(Duration::from_secs(20), |alerts| {
        alert_in(alerts, RULE, &short_id)
    });
    assert!(
        alert_in(&alerts, RULE, &short_id),
        "no alert for a symlink over /etc/shadow in the quiet container"
    );
}

/// A rule set that fires on any symlink over /etc/shadow, on the host too.
const SYMLINK_RULE: &str = r#"
- rule: Moat test symlink
  desc: a symlink over the shadow file
  condition: evt.type in (symlink, symlinkat) and evt.arg.target = /etc/shadow
  output: symlink over the shadow file by %proc.name
  priority: WARNING
"#;

#[test]
fn a_failed_reload_keeps_the_last_good_rules() {
    if shared_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, SYMLINK_RULE).expect("writes the rules");
    let watcher = Watcher::start_with(&[OsStr::new("--rules"), rules.as_os_str()]);
    let link = dir.path().join("link");
    let make_link = || {
        let _ = std::fs::remove_file(&link);
        let status = Command::new("ln")
            .arg("-s")
            .arg("/etc/shadow")
            .arg(&link)
            .status()
            .expect("runs ln");
        assert!(status.success());
    };
    let fired = |alerts: &[Value]| alerts.iter().filter(|a| a["rule"] == "Moat test symlink").count();
    make_link();
    let alerts = watcher.wait_for(Duration::from_secs(10), |alerts| fired(alerts) >= 1);
    assert_eq!(fired(&alerts), 1, "{}", watcher.stderr());

    // A broken edit: the watcher notices the change, refuses the file and keeps going.
    std::fs::write(&rules, SYMLINK_RULE.replace("%proc.name", "%proc.nmae")).expect("writes broken rules");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !watcher.stderr().contains("rule reload failed") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    make_link();
    let alerts = watcher.wait_for(Duration::from_secs(10), |alerts| fired(alerts) >= 2);
    assert_eq!(fired(&alerts), 2, "{}", watcher.stderr());
    let stderr = watcher.stop();
    assert!(
        stderr.contains("rule reload failed, the previous 1 rules stay in force"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rules.yaml:2"),
        "the error names file and line: {stderr}"
    );
    assert!(
        stderr.contains("Moat test symlink"),
        "the error names the rule: {stderr}"
    );
    assert!(stderr.contains("proc.nmae"), "{stderr}");
    assert!(stderr.contains("0 rule reloads (1 failed)"), "{stderr}");
}

#[test]
fn record_writes_events_that_replay_reads() {
    if shared_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("events.jsonl");
    let recorder = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["runtime", "record", "--source", "ebpf", "--duration", "6", "-o"])
        .arg(&recording)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts moat runtime record");
    let marker = dir.path().join("marker.txt");
    std::fs::write(&marker, "x").expect("writes the marker");
    // Give the recorder time to attach, then make an event it must see.
    let deadline = Instant::now() + Duration::from_secs(5);
    let marker_text = marker.to_str().expect("utf-8").to_string();
    while Instant::now() < deadline {
        let _ = Command::new("cat").arg(&marker).output();
        std::thread::sleep(Duration::from_millis(300));
    }
    let output = recorder.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let file = std::fs::File::open(&recording).expect("opens the recording");
    let events: Vec<RuntimeEvent> = RecordingReader::new(BufReader::new(file))
        .collect::<Result<_, _>>()
        .expect("each line is an event");
    let opened = events.iter().any(|event| {
        event.event_type == "openat"
            && event.fd.as_ref().is_some_and(|fd| fd.name == marker_text)
            && event.process.name == "cat"
    });
    assert!(
        opened,
        "no openat of {marker_text} by cat among {} events",
        events.len()
    );

    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: Marker read\n  desc: the marker\n  condition: evt.type = openat and fd.name = {marker_text}\n  output: \"%proc.name read the marker\"\n  priority: NOTICE\n"
        ),
    )
    .expect("writes rules");
    let replay = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["runtime", "replay", "--rules"])
        .arg(&rules)
        .arg(&recording)
        .output()
        .expect("runs replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let alerts = String::from_utf8_lossy(&replay.stdout);
    assert!(alerts.contains("cat read the marker"), "{alerts}");
}

#[test]
fn the_built_in_rules_fire_in_a_container_without_rule_files() {
    let Some((_shared, images, mut podman)) = setup() else {
        return;
    };
    let image = podman.load_image(&images.join("debian-app.tar"));
    let watcher = Watcher::start_with(&[OsStr::new("--container-api"), podman.socket().as_os_str()]);
    assert!(
        watcher.stderr().contains("moat_rules.yaml (built in)"),
        "{}",
        watcher.stderr()
    );
    let id = podman.run_detached(&image, "moat-builtin", &[], &["sleep", "600"]);
    let short_id = id[..12].to_string();
    let actions: [(&[&str], &str); 5] = [
        (&["cat", "/etc/shadow"], "Moat sensitive file read in container"),
        (
            &["bash", "-c", "echo x > /usr/local/bin/moat-new"],
            "Moat write below binary directory in container",
        ),
        (
            &["ln", "-sf", "/etc/shadow", "/tmp/moat-link"],
            "Moat link over sensitive file",
        ),
        (
            &["python3", "-c", PYTHON_PACKET],
            "Moat packet socket in container",
        ),
        (&["python3", "-c", PYTHON_MEMFD], "Moat fileless execution"),
    ];
    for (argv, _) in &actions {
        podman.exec(&id, argv);
    }
    let alerts = watcher.wait_for(Duration::from_secs(30), |alerts| {
        actions.iter().all(|(_, rule)| alert_in(alerts, rule, &short_id))
    });
    let missing: Vec<&str> = actions
        .iter()
        .map(|(_, rule)| *rule)
        .filter(|rule| !alert_in(&alerts, rule, &short_id))
        .collect();
    assert!(
        missing.is_empty(),
        "built-in rules that did not fire: {missing:?}\n{}",
        watcher.stderr()
    );
}
