//! The eBPF source on the running kernel: a child's exec, fork, exit, file opens and
//! connects come out of the ring buffer with the right process, paths and addresses.
//! Needs root and a kernel with BPF and tracepoints, as CI has; elsewhere it says why it
//! cannot run and stops.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use moat_runtime::source::ebpf::EbpfSource;
use moat_runtime::source::{EventSource, KernelEvent, SourceError, Syscall};

fn open_source() -> Option<EbpfSource> {
    match EbpfSource::open() {
        Ok(source) => Some(source),
        Err(SourceError::Unavailable { reason, .. }) if !nix_is_root() => {
            eprintln!("skipped: the eBPF source needs root here ({reason})");
            None
        }
        Err(error) => panic!("the eBPF source should load as root on this kernel: {error}"),
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Polls until `done` holds for the events collected so far, for at most 10 s.
fn collect(source: &mut EbpfSource, done: impl Fn(&[KernelEvent]) -> bool) -> Vec<KernelEvent> {
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !done(&events) {
        source
            .poll(Duration::from_millis(100), &mut events)
            .expect("polls");
    }
    events
}

#[test]
fn a_child_process_is_seen_from_fork_to_exit_with_its_file_opens() {
    let Some(mut source) = open_source() else {
        return;
    };
    let marker = tempfile::NamedTempFile::new().expect("temp file");
    let marker_path = marker.path().to_str().expect("utf-8").to_string();
    let child = Command::new("/bin/sh")
        .args(["-c", &format!("cat {marker_path}; exit 3")])
        .spawn()
        .expect("spawns sh");
    let sh_pid = child.id();
    let output = child.wait_with_output().expect("waits");
    assert_eq!(output.status.code(), Some(3));

    let opened = |e: &KernelEvent| {
        matches!(e, KernelEvent::Syscall(s) if s.path.as_deref() == Some(marker_path.as_str())
            && matches!(s.syscall, Syscall::Openat | Syscall::Open) && s.ret >= 0)
    };
    let exited = |e: &KernelEvent| matches!(e, KernelEvent::Exit(x) if x.task.pid == sh_pid);
    let events = collect(&mut source, |events| {
        events.iter().any(opened) && events.iter().any(exited)
    });

    let fork = events.iter().find_map(|e| match e {
        KernelEvent::Fork(f) if f.child_pid == sh_pid => Some(f),
        _ => None,
    });
    let fork = fork.expect("the fork of sh is reported");
    assert_eq!(fork.parent.pid, std::process::id());
    let exec_sh = events.iter().find_map(|e| match e {
        KernelEvent::Exec(x) if x.task.pid == sh_pid => Some(x),
        _ => None,
    });
    let exec_sh = exec_sh.expect("the exec of sh is reported");
    assert!(exec_sh.filename.ends_with("sh"), "{}", exec_sh.filename);
    let cat = events.iter().find_map(|e| match e {
        KernelEvent::Exec(x) if x.filename.ends_with("/cat") => Some(x),
        _ => None,
    });
    let cat = cat.expect("the exec of cat is reported");
    assert_eq!(
        cat.args.as_deref(),
        Some(&["cat".to_string(), marker_path.clone()][..])
    );
    let open = events.iter().find(|e| opened(e)).expect("cat's open");
    let KernelEvent::Syscall(open) = open else {
        unreachable!()
    };
    assert_eq!(open.task.pid, cat.task.pid);
    assert_eq!(open.task.comm, "cat");
    let exit = events.iter().find(|e| exited(e)).expect("sh's exit");
    let KernelEvent::Exit(exit) = exit else {
        unreachable!()
    };
    assert_eq!((exit.code, exit.process_ended), (Some(3), true));
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    assert!(
        wall_now.abs_diff(open.task.ts) < 60_000_000_000,
        "event time {} is not near now {wall_now}",
        open.task.ts
    );
    assert_eq!(source.undecodable(), 0);
    assert_eq!(source.stats().dropped, 0);
}

#[test]
fn connects_carry_the_remote_address() {
    let Some(mut source) = open_source() else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let status = Command::new("bash")
        .args(["-c", &format!("exec 3<>/dev/tcp/127.0.0.1/{port}")])
        .status()
        .expect("runs bash");
    assert!(status.success());
    let connected = |e: &KernelEvent| {
        matches!(e, KernelEvent::Syscall(s) if s.syscall == Syscall::Connect
            && s.addr.map(|a| a.port()) == Some(port))
    };
    let events = collect(&mut source, |events| events.iter().any(connected));
    let connect = events.iter().find(|e| connected(e));
    let Some(KernelEvent::Syscall(connect)) = connect else {
        panic!("no connect to port {port} among {} events", events.len());
    };
    assert_eq!(connect.ret, 0);
    assert_eq!(connect.task.comm, "bash");
    assert_eq!(
        connect.addr.map(|a| a.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );
}
