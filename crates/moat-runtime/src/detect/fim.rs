//! File integrity: watched files of selected workloads that change while the container runs.
//!
//! The first time the detector sees a container that a watch entry selects, it records the
//! SHA-256 and mode of every existing file matching the entry's path globs, read through
//! `<proc_root>/<pid>/root` (walking only the directory before each glob's first wildcard,
//! at most 10 000 files, skipping files over 64 MiB). An event that may change a watched path
//! (a write open, `creat`, either side of a rename, a new link, `unlink`, `chmod`, `truncate`)
//! marks it; on `tick` every marked file is read again, and a new, removed, changed or
//! re-permissioned file raises [`FIM_RULE`] naming the process that touched it.
//!
//! Symbolic links are never followed (in a container they could lead to the host's files): a
//! watched link is recorded by the hash of its target text, and a path with a linked parent
//! directory is not read. Files are opened after a check that they are regular files; a FIFO
//! swapped in between would block the read (the standard library offers no `O_NONBLOCK`
//! without a platform constant).

use super::{
    arg_path, build_alert, chmod_path, succeeded, written_paths, ContainerTable, DetectError, Detector,
    FimConfig, Finding, PathGlob, WatchEntry, Workload,
};
use crate::event::{Container, RuntimeEvent};
use crate::replay::Alert;
use moat_rules::Priority;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Rule name of file integrity alerts.
pub const FIM_RULE: &str = "Moat: watched file changed";

/// Files recorded per container.
const MAX_FILES: usize = 10_000;
/// Directory entries looked at per container while recording.
const MAX_VISITED: usize = 100_000;
/// Larger files are not watched.
const MAX_FILE_SIZE: u64 = 64 << 20;
/// Marked paths per container; past it, further marks wait for the next tick.
const MAX_PENDING: usize = 4096;

/// Watches files of selected containers.
pub struct FimDetector {
    watch: Vec<WatchEntry>,
    proc_root: PathBuf,
    containers: ContainerTable<Watched>,
    errors: Vec<DetectError>,
}

/// The watched files of one container.
struct Watched {
    /// The path globs of the entries that select the container; empty when none does.
    patterns: Vec<PathGlob>,
    /// Set once the existing files have been recorded.
    recorded: bool,
    /// Last known state of each watched file.
    known: HashMap<String, FileState>,
    /// Paths to read again, with the event that marked them.
    pending: HashMap<String, Box<RuntimeEvent>>,
    /// The latest process seen in the container, whose root serves when the marking
    /// process has gone.
    latest_pid: u64,
}

impl Watched {
    fn is_watched(&self, path: &str) -> bool {
        self.patterns.iter().any(|glob| glob.is_match(path))
    }
}

/// What is recorded of a file: the SHA-256 of its content (of its target text for a
/// symbolic link) and its mode, file type included.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    sha256: String,
    mode: u32,
}

impl FimDetector {
    /// A detector for the watch entries of `config`, reading process roots under `proc_root`.
    pub fn new(config: &FimConfig, proc_root: PathBuf) -> FimDetector {
        FimDetector {
            watch: config.watch.clone(),
            proc_root,
            containers: ContainerTable::new(),
            errors: Vec::new(),
        }
    }
}

/// The root directory of process `pid`, as seen under `proc_root`.
fn process_root(proc_root: &Path, pid: u64) -> PathBuf {
    proc_root.join(pid.to_string()).join("root")
}

/// The path globs of the entries that select `container`.
fn patterns_for(watch: &[WatchEntry], container: &Container) -> Vec<PathGlob> {
    let workload = Workload::of(container);
    watch
        .iter()
        .filter(|entry| entry.workload.matches(&workload))
        .flat_map(|entry| entry.paths.iter().cloned())
        .collect()
}

/// The paths a successful event may have changed.
fn changed_paths(event: &RuntimeEvent) -> Vec<String> {
    let mut paths = written_paths(event);
    if !succeeded(event) {
        return paths;
    }
    match event.event_type.as_str() {
        "rename" | "renameat" | "renameat2" => paths.extend(arg_path(event, &["oldpath"])),
        "unlink" | "unlinkat" => paths.extend(arg_path(event, &["name", "pathname", "path"])),
        "truncate" => paths.extend(arg_path(event, &["path", "name"])),
        _ => paths.extend(chmod_path(event)),
    }
    paths
}

impl Detector for FimDetector {
    fn name(&self) -> &'static str {
        "fim"
    }

    fn observe(&mut self, event: &RuntimeEvent, _out: &mut Vec<Alert>) {
        let Some(container) = &event.container else {
            return;
        };
        if self.containers.forget_on_init_exit(event) {
            return;
        }
        let root = process_root(&self.proc_root, event.process.pid);
        let watch = &self.watch;
        let (tracked, _) = self.containers.track(container, event.ts, || Watched {
            patterns: patterns_for(watch, container),
            recorded: false,
            known: HashMap::new(),
            pending: HashMap::new(),
            latest_pid: 0,
        });
        let watched = &mut tracked.state;
        if watched.patterns.is_empty() {
            return;
        }
        if event.process.pid != 0 {
            watched.latest_pid = event.process.pid;
        }
        if !watched.recorded {
            // Without the files' first state a change cannot be told from a creation, so
            // marks wait until a live process root lets the files be recorded.
            if !root.is_dir() {
                return;
            }
            watched.known = record_files(&root, &watched.patterns, &mut self.errors);
            watched.recorded = true;
        }
        for path in changed_paths(event) {
            let room = watched.pending.len() < MAX_PENDING || watched.pending.contains_key(&path);
            if room && watched.is_watched(&path) {
                watched.pending.insert(path, Box::new(event.clone()));
            }
        }
    }

    fn tick(&mut self, now_ns: u64, out: &mut Vec<Alert>) {
        for tracked in self.containers.values_mut() {
            let watched = &mut tracked.state;
            for (path, marker) in std::mem::take(&mut watched.pending) {
                let root = [marker.process.pid, watched.latest_pid]
                    .into_iter()
                    .map(|pid| process_root(&self.proc_root, pid))
                    .find(|root| root.is_dir());
                // No live process root: the container has gone, nothing to compare.
                let Some(root) = root else { continue };
                let now = match read_state(&root, &path) {
                    Ok(now) => now,
                    Err(source) => {
                        let path = host_path(&root, &path);
                        self.errors.push(DetectError::Hash { path, source });
                        continue;
                    }
                };
                let before = watched.known.get(&path).cloned();
                if before == now {
                    continue;
                }
                out.push(changed_alert(
                    &marker,
                    now_ns,
                    &path,
                    before.as_ref(),
                    now.as_ref(),
                ));
                remember(&mut watched.known, path, now);
            }
        }
    }

    fn take_errors(&mut self) -> Vec<DetectError> {
        std::mem::take(&mut self.errors)
    }
}

fn remember(known: &mut HashMap<String, FileState>, path: String, state: Option<FileState>) {
    match state {
        None => {
            known.remove(&path);
        }
        Some(state) if known.len() < MAX_FILES || known.contains_key(&path) => {
            known.insert(path, state);
        }
        Some(_) => {}
    }
}

fn changed_alert(
    marker: &RuntimeEvent,
    now_ns: u64,
    path: &str,
    before: Option<&FileState>,
    after: Option<&FileState>,
) -> Alert {
    let change = match (before, after) {
        (None, _) => "created",
        (_, None) => "removed",
        (Some(b), Some(a)) if b.sha256 == a.sha256 => "mode changed",
        _ => "modified",
    };
    let sha = |state: Option<&FileState>| state.map_or(Value::Null, |s| Value::from(s.sha256.as_str()));
    let mode =
        |state: Option<&FileState>| state.map_or(Value::Null, |s| Value::from(format!("{:o}", s.mode)));
    let finding = Finding {
        rule: FIM_RULE,
        priority: Priority::Error,
        tags: &["container", "filesystem", "fim", "mitre_persistence"],
        summary: "Watched file changed",
        fields: vec![
            ("fim.path", Value::from(path)),
            ("fim.change", Value::from(change)),
            ("fim.sha256.before", sha(before)),
            ("fim.sha256.after", sha(after)),
            ("fim.mode.before", mode(before)),
            ("fim.mode.after", mode(after)),
        ],
    };
    build_alert(marker, now_ns, finding)
}

/// Where the agent finds container path `path` under the process root `root`.
fn host_path(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The state of container path `path` under `root`: `None` when it does not exist or is not a
/// file or link; an error when it cannot be read or a parent directory is a link.
fn read_state(root: &Path, path: &str) -> io::Result<Option<FileState>> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some((last, parents)) = components.split_last() else {
        return Ok(None);
    };
    let mut current = root.to_path_buf();
    for parent in parents {
        current.push(parent);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::other(
                    "a parent directory is a symbolic link, not followed",
                ));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    current.push(last);
    match fs::symlink_metadata(&current) {
        Ok(meta) => state_of(&current, &meta),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// The state of the file at `host` with metadata `meta` (not followed).
fn state_of(host: &Path, meta: &fs::Metadata) -> io::Result<Option<FileState>> {
    let sha256 = if meta.file_type().is_symlink() {
        let target = fs::read_link(host)?;
        hex_digest(Sha256::digest(target.as_os_str().as_encoded_bytes()))
    } else if meta.is_file() {
        if meta.len() > MAX_FILE_SIZE {
            return Err(io::Error::other(format!(
                "larger than {MAX_FILE_SIZE} bytes, not hashed"
            )));
        }
        let mut hasher = Sha256::new();
        io::copy(&mut fs::File::open(host)?, &mut hasher)?;
        hex_digest(hasher.finalize())
    } else {
        return Ok(None);
    };
    Ok(Some(FileState {
        sha256,
        mode: meta.mode(),
    }))
}

fn hex_digest(digest: impl std::fmt::LowerHex) -> String {
    format!("{digest:x}")
}

/// Records the existing files under `root` that match `patterns`.
fn record_files(
    root: &Path,
    patterns: &[PathGlob],
    errors: &mut Vec<DetectError>,
) -> HashMap<String, FileState> {
    let mut walk = Walk {
        root,
        patterns,
        known: HashMap::new(),
        visited: 0,
        errors,
    };
    for pattern in patterns {
        walk.start(pattern);
    }
    walk.known
}

/// One recording walk, within its bounds.
struct Walk<'a> {
    root: &'a Path,
    patterns: &'a [PathGlob],
    known: HashMap<String, FileState>,
    visited: usize,
    errors: &'a mut Vec<DetectError>,
}

impl Walk<'_> {
    fn full(&self) -> bool {
        self.known.len() >= MAX_FILES || self.visited >= MAX_VISITED
    }

    /// Walks from the literal prefix of `pattern`, as deep as the pattern reaches.
    fn start(&mut self, pattern: &PathGlob) {
        let prefix = pattern.literal_prefix();
        let depth = if pattern.as_str().contains("**") {
            usize::MAX
        } else {
            components(pattern.as_str()) - components(&prefix)
        };
        match read_state(self.root, &prefix) {
            Ok(Some(_)) => self.consider(&prefix),
            // A directory (or nothing): walk it when it is one.
            Ok(None) => {
                let dir = host_path(self.root, &prefix);
                let is_dir = fs::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir());
                if is_dir && depth > 0 {
                    self.walk(&dir, &prefix, depth);
                }
            }
            Err(_) => {}
        }
    }

    fn walk(&mut self, dir: &Path, container_dir: &str, depth: usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if self.full() {
                return;
            }
            self.visited += 1;
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = format!("{}/{name}", container_dir.trim_end_matches('/'));
            if kind.is_dir() {
                if depth > 1 {
                    self.walk(&entry.path(), &path, depth - 1);
                }
            } else {
                self.consider(&path);
            }
        }
    }

    fn consider(&mut self, path: &str) {
        if self.known.contains_key(path) || !self.patterns.iter().any(|glob| glob.is_match(path)) {
            return;
        }
        match read_state(self.root, path) {
            Ok(Some(state)) => {
                self.known.insert(path.to_string(), state);
            }
            Ok(None) => {}
            Err(source) => self.errors.push(DetectError::Hash {
                path: host_path(self.root, path),
                source,
            }),
        }
    }
}

fn components(path: &str) -> usize {
    path.split('/').filter(|c| !c.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::detect::DetectConfig;
    use std::os::unix::fs::PermissionsExt;

    const PID: u64 = 4242;

    struct Fixture {
        _dir: tempfile::TempDir,
        proc_root: PathBuf,
        root: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let proc_root = dir.path().to_path_buf();
        let root = proc_root.join(PID.to_string()).join("root");
        fs::create_dir_all(root.join("etc/ssh")).expect("mkdir");
        fs::create_dir_all(root.join("usr/bin/sub")).expect("mkdir");
        fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("write");
        fs::write(root.join("etc/ssh/sshd_config"), "PermitRootLogin no\n").expect("write");
        fs::write(root.join("usr/bin/tool"), "#!/bin/sh\n").expect("write");
        fs::write(root.join("usr/bin/sub/deep"), "x").expect("write");
        Fixture {
            _dir: dir,
            proc_root,
            root,
        }
    }

    fn detector(proc_root: &Path) -> FimDetector {
        let text = r#"
fim:
  watch:
    - workload: { image: "web*" }
      paths: ["/etc/**", "/usr/bin/*"]
"#;
        let config = DetectConfig::from_text(text, "test.yaml").expect("config");
        FimDetector::new(&config.fim, proc_root.to_path_buf())
    }

    fn in_pid(mut event: RuntimeEvent) -> RuntimeEvent {
        std::sync::Arc::make_mut(&mut event.process).pid = PID;
        std::sync::Arc::make_mut(&mut event.process).tid = PID;
        event
    }

    fn sha(text: &str) -> String {
        hex_digest(Sha256::digest(text.as_bytes()))
    }

    fn tick(detector: &mut FimDetector) -> Vec<Alert> {
        let mut out = Vec::new();
        detector.tick(9_000_000_000, &mut out);
        out
    }

    #[test]
    fn a_written_file_that_changed_raises_an_alert_with_both_hashes() {
        let fx = fixture();
        let web = container("c1", "web:1");
        let mut detector = detector(&fx.proc_root);
        let mut out = Vec::new();
        detector.observe(&in_pid(event(1, "execve", Some(&web))), &mut out);
        fs::write(
            fx.root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n",
        )
        .expect("write");
        let write = in_pid(open(2, "/etc/passwd", "O_WRONLY|O_APPEND", Some(&web)));
        detector.observe(&write, &mut out);
        assert!(out.is_empty(), "changes are reported on tick");
        let alerts = tick(&mut detector);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert.rule, FIM_RULE);
        assert_eq!(alert.priority, Priority::Error);
        assert_eq!(alert.output_fields["fim.path"], "/etc/passwd");
        assert_eq!(alert.output_fields["fim.change"], "modified");
        assert_eq!(
            alert.output_fields["fim.sha256.before"],
            sha("root:x:0:0::/root:/bin/sh\n").as_str()
        );
        assert_eq!(
            alert.output_fields["fim.sha256.after"],
            sha("root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n").as_str()
        );
        assert_eq!(alert.output_fields["container.id"], "c1");
        assert_eq!(
            alert.context.event_num, 2,
            "names the event that touched the file"
        );
        assert!(tick(&mut detector).is_empty(), "nothing marked any more");
        assert!(detector.take_errors().is_empty());
    }

    #[test]
    fn a_write_open_that_changed_nothing_raises_nothing() {
        let fx = fixture();
        let web = container("c1", "web:1");
        let mut detector = detector(&fx.proc_root);
        let mut out = Vec::new();
        detector.observe(&in_pid(open(1, "/etc/passwd", "O_RDWR", Some(&web))), &mut out);
        detector.observe(&in_pid(open(2, "/etc/passwd", "O_RDWR", Some(&web))), &mut out);
        assert!(tick(&mut detector).is_empty());
    }

    #[test]
    fn removals_creations_and_mode_changes_are_reported() {
        let fx = fixture();
        let web = container("c1", "web:1");
        let mut detector = detector(&fx.proc_root);
        let mut out = Vec::new();
        detector.observe(&in_pid(event(1, "execve", Some(&web))), &mut out);
        fs::remove_file(fx.root.join("etc/ssh/sshd_config")).expect("remove");
        fs::write(fx.root.join("usr/bin/dropped"), "payload").expect("write");
        let passwd = fx.root.join("etc/passwd");
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o666)).expect("chmod");
        let mut chmod = with_args(4, "chmod", &[("filename", "/etc/passwd")], Some(&web));
        chmod.args.push("mode", 0o666_i64);
        for event in [
            with_args(2, "unlinkat", &[("name", "/etc/ssh/sshd_config")], Some(&web)),
            open(3, "/usr/bin/dropped", "O_WRONLY|O_CREAT", Some(&web)),
            chmod,
            // Not watched: `/usr/bin/*` does not reach into sub-directories.
            open(5, "/usr/bin/sub/deep", "O_WRONLY", Some(&web)),
        ] {
            detector.observe(&in_pid(event), &mut out);
        }
        fs::write(fx.root.join("usr/bin/sub/deep"), "changed").expect("write");
        let mut alerts = tick(&mut detector);
        alerts.sort_by(|a, b| {
            a.output_fields["fim.path"]
                .as_str()
                .cmp(&b.output_fields["fim.path"].as_str())
        });
        let got: Vec<(&Value, &Value)> = alerts
            .iter()
            .map(|a| (&a.output_fields["fim.path"], &a.output_fields["fim.change"]))
            .collect();
        assert_eq!(
            got,
            [
                (&Value::from("/etc/passwd"), &Value::from("mode changed")),
                (&Value::from("/etc/ssh/sshd_config"), &Value::from("removed")),
                (&Value::from("/usr/bin/dropped"), &Value::from("created")),
            ]
        );
        assert_eq!(alerts[0].output_fields["fim.mode.after"], "100666");
        assert_eq!(alerts[1].output_fields["fim.sha256.after"], Value::Null);
        assert_eq!(alerts[2].output_fields["fim.sha256.before"], Value::Null);
        assert_eq!(
            alerts[2].output_fields["fim.sha256.after"],
            sha("payload").as_str()
        );
    }

    #[test]
    fn unselected_workloads_and_the_host_are_not_watched() {
        let fx = fixture();
        let db = container("c2", "db:1");
        let mut detector = detector(&fx.proc_root);
        let mut out = Vec::new();
        detector.observe(&in_pid(event(1, "execve", Some(&db))), &mut out);
        detector.observe(&in_pid(open(2, "/etc/passwd", "O_WRONLY", None)), &mut out);
        fs::write(fx.root.join("etc/passwd"), "changed").expect("write");
        detector.observe(&in_pid(open(3, "/etc/passwd", "O_WRONLY", Some(&db))), &mut out);
        detector.observe(&in_pid(open(4, "/etc/passwd", "O_WRONLY", None)), &mut out);
        assert!(tick(&mut detector).is_empty());
    }

    #[test]
    fn links_are_recorded_by_target_and_never_followed() {
        let fx = fixture();
        std::os::unix::fs::symlink("/etc/passwd", fx.root.join("etc/alias")).expect("symlink");
        std::os::unix::fs::symlink("/etc", fx.root.join("usr/bin/etc-link")).expect("symlink");
        let mut errors = Vec::new();
        let patterns = [
            PathGlob::new("/etc/**").unwrap(),
            PathGlob::new("/usr/bin/**").unwrap(),
        ];
        let known = record_files(&fx.root, &patterns, &mut errors);
        let mut paths: Vec<&String> = known.keys().collect();
        paths.sort();
        let want = [
            "/etc/alias",
            "/etc/passwd",
            "/etc/ssh/sshd_config",
            "/usr/bin/etc-link",
            "/usr/bin/sub/deep",
            "/usr/bin/tool",
        ];
        assert_eq!(paths, want);
        assert_eq!(known["/etc/alias"].sha256, sha("/etc/passwd"));
        let through_link = read_state(&fx.root, "/usr/bin/etc-link/passwd");
        assert!(through_link.is_err(), "a linked parent is refused");
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn marks_of_a_gone_container_are_dropped() {
        let fx = fixture();
        let web = container("c1", "web:1");
        let mut detector = detector(&fx.proc_root);
        let mut out = Vec::new();
        detector.observe(&in_pid(open(1, "/etc/passwd", "O_WRONLY", Some(&web))), &mut out);
        fs::remove_dir_all(fx.proc_root.join(PID.to_string())).expect("remove");
        assert!(tick(&mut detector).is_empty());
        assert!(detector.take_errors().is_empty());
    }
}
