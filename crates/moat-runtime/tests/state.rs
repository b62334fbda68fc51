//! The process and fd state: kernel facts in, the events Falco's rules read out.

use moat_rules::{Event, FieldExpr, FieldValue, Ruleset};
use moat_runtime::container::{Attribution, ContainerInfo};
use moat_runtime::source::{
    ExecEvent, ExitEvent, FileAccessEvent, FileAccessKind, ForkEvent, KernelEvent, Syscall, SyscallEvent,
    Task,
};
use moat_runtime::state::{State, StateOptions};
use moat_runtime::{ArgValue, Container, FdKind, RuntimeEvent};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const T0: u64 = 1_709_210_096_000_000_000;
const CONTAINER_ID: &str = "3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f";
const LEAF: &str = "docker-3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f.scope";

/// The `container_of` calls an attribution saw.
type Calls = Arc<std::sync::Mutex<Vec<(u32, Option<String>)>>>;

/// Puts processes whose cgroup leaf is [`LEAF`], or whose pid is listed, in one container,
/// and counts the calls.
struct FixedAttribution {
    info: Arc<ContainerInfo>,
    pids: Vec<u32>,
    calls: Calls,
}

impl Attribution for FixedAttribution {
    fn container_of(&mut self, pid: u32, cgroup_leaf: Option<&str>) -> Option<Arc<ContainerInfo>> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((pid, cgroup_leaf.map(str::to_string)));
        }
        (cgroup_leaf == Some(LEAF) || self.pids.contains(&pid)).then(|| self.info.clone())
    }
}

fn container_info(upper_dir: Option<PathBuf>) -> ContainerInfo {
    ContainerInfo {
        container: Container {
            id: CONTAINER_ID.to_string(),
            name: "web".to_string(),
            image: "docker.io/library/nginx:1.25".to_string(),
            repository: "docker.io/library/nginx".to_string(),
            tag: "1.25".to_string(),
            runtime: "docker".to_string(),
            ..Container::default()
        },
        upper_dir,
        ..ContainerInfo::default()
    }
}

fn state_with(proc_root: &Path, info: ContainerInfo, pids: &[u32]) -> (State, Calls) {
    let calls = Calls::default();
    let attribution = FixedAttribution {
        info: Arc::new(info),
        pids: pids.to_vec(),
        calls: calls.clone(),
    };
    let options = StateOptions {
        proc_root: proc_root.to_path_buf(),
        hostname: Some("node-1".to_string()),
        ..StateOptions::default()
    };
    (State::new(options, Box::new(attribution)), calls)
}

/// A state over an empty proc root: every process comes from the kernel facts alone.
fn bare_state() -> (State, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (state, _) = state_with(dir.path(), container_info(None), &[]);
    (state, dir)
}

fn task(pid: u32, comm: &str, ts: u64) -> Task {
    Task {
        ts,
        pid,
        tid: pid,
        ppid: None,
        uid: 0,
        gid: 0,
        comm: comm.to_string(),
        cgroup: None,
    }
}

fn in_container(mut task: Task) -> Task {
    task.cgroup = Some(LEAF.to_string());
    task
}

fn fork(parent: Task, child: u32) -> KernelEvent {
    KernelEvent::Fork(ForkEvent {
        parent,
        child_pid: child,
        child_tid: child,
    })
}

fn exec(task: Task, filename: &str, argv: &[&str]) -> KernelEvent {
    KernelEvent::Exec(ExecEvent {
        task,
        filename: filename.to_string(),
        args: Some(argv.iter().map(|a| a.to_string()).collect()),
    })
}

fn syscall(task: Task, syscall: Syscall, ret: i64, args: [u64; 6]) -> SyscallEvent {
    SyscallEvent {
        task,
        syscall,
        ret,
        args,
        path: None,
        path2: None,
        addr: None,
    }
}

fn with_path(mut event: SyscallEvent, path: &str) -> KernelEvent {
    event.path = Some(path.to_string());
    KernelEvent::Syscall(event)
}

const AT_FDCWD: u64 = (-100i64) as u64;
const O_RDONLY_CLOEXEC: u64 = 0o2000000;

fn field(event: &RuntimeEvent, name: &str, arg: Option<&str>) -> Option<String> {
    let expr = FieldExpr {
        name: name.to_string(),
        arg: arg.map(str::to_string),
        transformers: Vec::new(),
    };
    event.field(&expr).map(|value| match value {
        FieldValue::Str(s) => s.into_owned(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::U64(n) => n.to_string(),
        FieldValue::I64(n) => n.to_string(),
        other => format!("{other:?}"),
    })
}

fn arg(event: &RuntimeEvent, name: &str) -> Option<String> {
    event.args.get(name).map(ArgValue::to_string)
}

#[test]
fn fork_exec_and_exit_follow_a_process_through_its_life() {
    let (mut state, _dir) = bare_state();
    let shell = task(100, "bash", T0);
    let clone = state.apply(fork(shell.clone(), 101)).expect("a clone event");
    assert_eq!(
        (clone.event_type.as_str(), clone.res, clone.process.pid),
        ("clone", 101, 100)
    );
    assert_eq!(clone.num, 1);
    assert_eq!(state.process_count(), 2);
    let child = state.process(101).expect("the child");
    assert_eq!((child.name.as_str(), child.ppid), ("bash", Some(100)));
    assert_eq!(child.start_ts, T0);

    let mut cat = task(101, "cat", T0 + 10);
    cat.ppid = Some(100);
    let exec_event = state
        .apply(exec(cat.clone(), "/usr/bin/cat", &["cat", "/etc/hosts"]))
        .expect("an execve event");
    assert_eq!(exec_event.event_type, "execve");
    assert_eq!(exec_event.num, 2);
    assert_eq!(exec_event.ts, T0 + 10);
    assert_eq!(exec_event.hostname.as_deref(), Some("node-1"));
    assert_eq!(arg(&exec_event, "filename").as_deref(), Some("/usr/bin/cat"));
    let p = &exec_event.process;
    assert_eq!(
        (p.name.as_str(), p.exe.as_str(), p.exepath.as_str()),
        ("cat", "cat", "/usr/bin/cat")
    );
    assert_eq!(p.args, ["/etc/hosts"]);
    assert_eq!(p.start_ts, T0, "an exec keeps the process start time");
    assert_eq!(field(&exec_event, "proc.pname", None).as_deref(), Some("bash"));
    assert_eq!(
        field(&exec_event, "proc.cmdline", None).as_deref(),
        Some("cat /etc/hosts")
    );
    assert!(exec_event.container.is_none());

    // A thread is bookkeeping only.
    let thread = KernelEvent::Fork(ForkEvent {
        parent: cat.clone(),
        child_pid: 101,
        child_tid: 102,
    });
    assert_eq!(state.apply(thread), None);
    let mut thread_task = cat.clone();
    thread_task.tid = 102;
    let thread_exit = KernelEvent::Exit(ExitEvent {
        task: thread_task,
        code: None,
        process_ended: false,
    });
    assert_eq!(state.apply(thread_exit), None);
    assert_eq!(state.process_count(), 2);

    let exit = KernelEvent::Exit(ExitEvent {
        task: cat,
        code: Some(0),
        process_ended: true,
    });
    let procexit = state.apply(exit).expect("a procexit event");
    assert_eq!(procexit.event_type, "procexit");
    assert_eq!(procexit.process.name, "cat");
    assert_eq!(procexit.args.get("status"), Some(&ArgValue::Int(0)));
    assert_eq!(procexit.num, 3);
    assert!(state.process(101).is_none());
    assert_eq!(state.process_count(), 1);
}

#[test]
fn an_exec_without_argv_or_comm_falls_back_to_the_path() {
    let (mut state, _dir) = bare_state();
    let event = state
        .apply(KernelEvent::Exec(ExecEvent {
            task: task(200, "", T0),
            filename: "/usr/local/bin/tool".to_string(),
            args: None,
        }))
        .expect("an event");
    assert_eq!(event.process.name, "tool");
    assert_eq!(event.process.exe, "/usr/local/bin/tool");
    assert!(event.process.args.is_empty());
}

#[test]
fn ancestors_follow_the_parent_chain() {
    let (mut state, _dir) = bare_state();
    let mut parent = task(1, "init", T0);
    for pid in 2..=20u32 {
        state.apply(fork(parent.clone(), pid)).expect("clone");
        parent = task(pid, "init", T0);
        parent.comm = format!("p{pid}");
        state.apply(exec(
            parent.clone(),
            &format!("/bin/p{pid}"),
            &[&format!("p{pid}")],
        ));
    }
    let process = state.process(20).expect("known");
    assert_eq!(process.ancestors.len(), 16, "at most 16 ancestors");
    assert_eq!(process.ancestors[0].pid, 19);
    assert_eq!(process.ancestors[0].name, "p19");
    assert_eq!(process.ancestors[1].exepath, "/bin/p18");
    let event = state
        .apply(KernelEvent::Syscall(syscall(
            task(20, "p20", T0 + 1),
            Syscall::Setuid,
            0,
            [0; 6],
        )))
        .expect("event");
    assert_eq!(field(&event, "proc.aname", Some("3")).as_deref(), Some("p17"));
    assert_eq!(field(&event, "proc.apid", Some("2")).as_deref(), Some("18"));
}

#[test]
fn opens_resolve_paths_render_flags_and_fill_the_fd_table() {
    let (mut state, _dir) = bare_state();
    let t = task(300, "app", T0);
    state.apply(exec(t.clone(), "/usr/bin/app", &["app"]));

    // A directory opened by absolute path, then a file relative to it.
    let dir_open = syscall(
        t.clone(),
        Syscall::Openat,
        5,
        [AT_FDCWD, 0, 0o200000 | O_RDONLY_CLOEXEC, 0, 0, 0],
    );
    let event = state
        .apply(with_path(dir_open, "/etc/ssl/../ssl"))
        .expect("event");
    let fd = event.fd.as_ref().expect("fd");
    assert_eq!((fd.num, fd.name.as_str()), (5, "/etc/ssl"));
    assert_eq!(fd.nameraw.as_deref(), Some("/etc/ssl/../ssl"));
    assert_eq!(arg(&event, "dirfd").as_deref(), Some("AT_FDCWD"));

    let relative = syscall(
        t.clone(),
        Syscall::Openat,
        6,
        [5, 0, 0o1 | 0o100 | 0o1000, 0o644, 0, 0],
    );
    let event = state
        .apply(with_path(relative, "certs/../private.pem"))
        .expect("event");
    let fd = event.fd.as_ref().expect("fd");
    assert_eq!(fd.name, "/etc/ssl/private.pem");
    assert_eq!(
        field(&event, "fd.nameraw", None).as_deref(),
        Some("certs/../private.pem")
    );
    assert_eq!(arg(&event, "flags").as_deref(), Some("O_WRONLY|O_CREAT|O_TRUNC"));
    assert_eq!(arg(&event, "mode").as_deref(), Some("420"));
    assert_eq!(arg(&event, "dirfd").as_deref(), Some("5"));
    assert_eq!(field(&event, "evt.is_open_write", None).as_deref(), Some("true"));
    assert_eq!(field(&event, "evt.is_open_read", None).as_deref(), Some("false"));
    assert_eq!(
        state.fd(300, 6).map(|fd| fd.name),
        Some("/etc/ssl/private.pem".to_string())
    );

    // A read-only open names O_RDONLY; a failed one has fd -1 and no table entry.
    let read = syscall(
        t.clone(),
        Syscall::Open,
        -2,
        [0, O_RDONLY_CLOEXEC, 0o777, 0, 0, 0],
    );
    let event = state.apply(with_path(read, "/nonexistent")).expect("event");
    assert_eq!(
        arg(&event, "mode").as_deref(),
        Some("0"),
        "no mode without O_CREAT"
    );
    assert_eq!(arg(&event, "flags").as_deref(), Some("O_RDONLY|O_CLOEXEC"));
    assert_eq!(event.fd.as_ref().map(|fd| fd.num), Some(-1));
    assert_eq!(field(&event, "evt.res", None).as_deref(), Some("ENOENT"));
    assert_eq!(field(&event, "evt.is_open_read", None).as_deref(), Some("true"));

    // Relative to the working directory, which an empty proc root does not give: kept as is.
    let cwd_relative = syscall(t.clone(), Syscall::Openat, 7, [AT_FDCWD, 0, 0, 0, 0, 0]);
    let event = state.apply(with_path(cwd_relative, "notes.txt")).expect("event");
    assert_eq!(event.fd.as_ref().map(|fd| fd.name.as_str()), Some("notes.txt"));

    // An exec closes the close-on-exec fds and keeps the others.
    state.apply(exec(t, "/usr/bin/app", &["app"]));
    assert!(state.fd(300, 5).is_none());
    assert!(state.fd(300, 6).is_some());
}

#[test]
fn sockets_get_falco_names_through_socket_bind_listen_accept_and_connect() {
    let (mut state, _dir) = bare_state();
    let t = task(400, "srv", T0);
    let socket = syscall(t.clone(), Syscall::Socket, 3, [2, 1, 0, 0, 0, 0]);
    let event = state.apply(KernelEvent::Syscall(socket)).expect("event");
    assert_eq!(arg(&event, "domain").as_deref(), Some("AF_INET"));
    assert_eq!(event.fd.as_ref().map(|fd| fd.kind), Some(FdKind::Ipv4));

    let mut bind = syscall(t.clone(), Syscall::Bind, 0, [3, 0, 16, 0, 0, 0]);
    bind.addr = Some("0.0.0.0:8080".parse().expect("addr"));
    let event = state.apply(KernelEvent::Syscall(bind)).expect("event");
    assert_eq!(arg(&event, "addr").as_deref(), Some("0.0.0.0:8080"));
    let listen = syscall(t.clone(), Syscall::Listen, 0, [3, 128, 0, 0, 0, 0]);
    let event = state.apply(KernelEvent::Syscall(listen)).expect("event");
    let fd = event.fd.as_ref().expect("fd");
    assert!(fd.is_server);
    assert_eq!(fd.name, "0.0.0.0:8080");
    assert_eq!(fd.l4proto.as_deref(), Some("tcp"));

    let mut accept = syscall(t.clone(), Syscall::Accept4, 4, [3, 0, 0, 0o2000000, 0, 0]);
    accept.addr = Some("10.0.0.9:51000".parse().expect("addr"));
    let event = state.apply(KernelEvent::Syscall(accept)).expect("event");
    let fd = event.fd.as_ref().expect("fd");
    assert_eq!(fd.num, 4);
    assert_eq!(fd.name, "10.0.0.9:51000->0.0.0.0:8080");
    assert!(fd.is_server);
    assert_eq!(field(&event, "fd.rip", None).as_deref(), Some("Ip(10.0.0.9)"));
    assert_eq!(field(&event, "fd.lport", None).as_deref(), Some("8080"));
    assert_eq!(
        arg(&event, "tuple").as_deref(),
        Some("10.0.0.9:51000->0.0.0.0:8080")
    );

    // Accepting on a socket whose local end is unknown.
    let mut accept = syscall(t.clone(), Syscall::Accept, 9, [20, 0, 0, 0, 0, 0]);
    accept.addr = Some("10.0.0.8:52000".parse().expect("addr"));
    let event = state.apply(KernelEvent::Syscall(accept)).expect("event");
    assert_eq!(
        event.fd.as_ref().map(|fd| fd.name.as_str()),
        Some("10.0.0.8:52000->0.0.0.0:0")
    );

    let client = syscall(t.clone(), Syscall::Socket, 5, [10, 1, 0, 0, 0, 0]);
    state.apply(KernelEvent::Syscall(client));
    let mut connect = syscall(t.clone(), Syscall::Connect, -115, [5, 0, 28, 0, 0, 0]);
    connect.addr = Some("[2001:db8::1]:443".parse().expect("addr"));
    let event = state.apply(KernelEvent::Syscall(connect)).expect("event");
    let fd = event.fd.as_ref().expect("fd");
    assert_eq!(fd.kind, FdKind::Ipv6);
    assert_eq!(fd.name, ":::0->2001:db8::1:443");
    assert!(fd.connected, "EINPROGRESS counts as connected");
    assert!(!fd.is_server);
    assert_eq!(field(&event, "fd.sport", None).as_deref(), Some("443"));
    assert_eq!(arg(&event, "addr").as_deref(), Some("2001:db8::1:443"));
    assert_eq!(state.fd(400, 5).map(|fd| fd.connected), Some(true));

    let packet = syscall(in_container(t), Syscall::Socket, 6, [17, 3, 0x300, 0, 0, 0]);
    let event = state.apply(KernelEvent::Syscall(packet)).expect("event");
    assert_eq!(arg(&event, "domain").as_deref(), Some("AF_PACKET"));
    assert_eq!(event.fd.as_ref().map(|fd| fd.kind), Some(FdKind::Other));
}

#[test]
fn other_syscalls_carry_falcos_argument_names() {
    let (mut state, _dir) = bare_state();
    let t = task(500, "tool", T0);
    let apply = |state: &mut State, event: KernelEvent| state.apply(event).expect("event");

    let ptrace = syscall(t.clone(), Syscall::Ptrace, 0, [16, 42, 0, 0, 0, 0]);
    let event = apply(&mut state, KernelEvent::Syscall(ptrace));
    assert_eq!(arg(&event, "request").as_deref(), Some("PTRACE_ATTACH"));
    assert_eq!(arg(&event, "pid").as_deref(), Some("42"));

    let mut rename = syscall(t.clone(), Syscall::Renameat2, 0, [AT_FDCWD, 0, AT_FDCWD, 0, 1, 0]);
    rename.path = Some("a".to_string());
    rename.path2 = Some("/tmp/b".to_string());
    let event = apply(&mut state, KernelEvent::Syscall(rename));
    let names: Vec<&str> = event.args.0.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["res", "olddirfd", "oldpath", "newdirfd", "newpath", "flags"]
    );
    assert_eq!(arg(&event, "flags").as_deref(), Some("RENAME_NOREPLACE"));

    let chmod = syscall(t.clone(), Syscall::Fchmodat, 0, [AT_FDCWD, 0, 0o4755, 0, 0, 0]);
    let event = apply(&mut state, with_path(chmod, "/tmp/x"));
    assert!(arg(&event, "mode").is_some_and(|m| m.starts_with("S_ISUID|")));
    assert_eq!(arg(&event, "filename").as_deref(), Some("/tmp/x"));

    let mut symlink = syscall(t.clone(), Syscall::Symlinkat, 0, [0, AT_FDCWD, 0, 0, 0, 0]);
    symlink.path = Some("/etc/shadow".to_string());
    symlink.path2 = Some("s".to_string());
    let event = apply(&mut state, KernelEvent::Syscall(symlink));
    assert_eq!(arg(&event, "target").as_deref(), Some("/etc/shadow"));
    assert_eq!(arg(&event, "linkpath").as_deref(), Some("s"));

    let unlinkat = syscall(t.clone(), Syscall::Unlinkat, 0, [AT_FDCWD, 0, 0x200, 0, 0, 0]);
    let event = apply(&mut state, with_path(unlinkat, "/tmp/d"));
    assert_eq!(arg(&event, "flags").as_deref(), Some("AT_REMOVEDIR"));
    assert_eq!(arg(&event, "name").as_deref(), Some("/tmp/d"));

    let mut mount = syscall(t.clone(), Syscall::Mount, -1, [0, 0, 0, 4096 | 16384, 0, 0]);
    mount.path = Some("/".to_string());
    mount.path2 = Some("/mnt".to_string());
    let event = apply(&mut state, KernelEvent::Syscall(mount));
    assert_eq!(arg(&event, "flags").as_deref(), Some("MS_BIND|MS_REC"));
    assert_eq!(arg(&event, "dir").as_deref(), Some("/mnt"));
    assert_eq!(field(&event, "evt.res", None).as_deref(), Some("EPERM"));

    let unshare = syscall(
        t.clone(),
        Syscall::Unshare,
        0,
        [0x1000_0000 | 0x20000, 0, 0, 0, 0, 0],
    );
    let event = apply(&mut state, KernelEvent::Syscall(unshare));
    assert_eq!(arg(&event, "flags").as_deref(), Some("CLONE_NEWNS|CLONE_NEWUSER"));

    let bpf = syscall(t.clone(), Syscall::Bpf, 7, [5, 0, 0, 0, 0, 0]);
    let event = apply(&mut state, KernelEvent::Syscall(bpf));
    assert_eq!(arg(&event, "cmd").as_deref(), Some("BPF_PROG_LOAD"));

    let memfd = syscall(t.clone(), Syscall::MemfdCreate, 8, [0, 1, 0, 0, 0, 0]);
    let event = apply(&mut state, with_path(memfd, "payload"));
    assert_eq!(arg(&event, "flags").as_deref(), Some("MFD_CLOEXEC"));
    assert_eq!(event.fd.as_ref().map(|fd| fd.kind), Some(FdKind::Memfd));
    assert_eq!(
        state.fd(500, 8).map(|fd| fd.name),
        Some("/memfd:payload".to_string())
    );

    let setns = syscall(t.clone(), Syscall::Setns, 0, [8, 0x4000_0000, 0, 0, 0, 0]);
    let event = apply(&mut state, KernelEvent::Syscall(setns));
    assert_eq!(arg(&event, "nstype").as_deref(), Some("CLONE_NEWNET"));
    assert_eq!(
        event.fd.as_ref().map(|fd| fd.name.as_str()),
        Some("/memfd:payload")
    );

    let setresuid = syscall(
        t,
        Syscall::Setresuid,
        0,
        [u32::MAX as u64, 1000, u32::MAX as u64, 0, 0, 0],
    );
    let event = apply(&mut state, KernelEvent::Syscall(setresuid));
    assert_eq!(arg(&event, "ruid").as_deref(), Some("-1"));
    assert_eq!(arg(&event, "euid").as_deref(), Some("1000"));
}

#[test]
fn fanotify_accesses_become_opens() {
    let (mut state, _dir) = bare_state();
    let access = |kind| {
        KernelEvent::FileAccess(FileAccessEvent {
            task: task(600, "cat", T0),
            kind,
            path: "/etc/shadow".to_string(),
        })
    };
    let event = state.apply(access(FileAccessKind::Open)).expect("event");
    assert_eq!(event.event_type, "open");
    assert_eq!(arg(&event, "flags").as_deref(), Some("O_RDONLY"));
    assert_eq!(field(&event, "fd.name", None).as_deref(), Some("/etc/shadow"));
    assert_eq!(field(&event, "evt.is_open_read", None).as_deref(), Some("true"));
    assert_eq!(field(&event, "fd.typechar", None).as_deref(), Some("f"));
    let event = state.apply(access(FileAccessKind::CloseWrite)).expect("event");
    assert_eq!(arg(&event, "flags").as_deref(), Some("O_WRONLY"));
}

#[test]
fn the_table_stays_within_its_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = StateOptions {
        proc_root: dir.path().to_path_buf(),
        max_processes: 16,
        ..StateOptions::default()
    };
    let attribution = FixedAttribution {
        info: Arc::new(container_info(None)),
        pids: Vec::new(),
        calls: Calls::default(),
    };
    let mut state = State::new(options, Box::new(attribution));
    for pid in 1000..1100u32 {
        let event = syscall(task(pid, "w", T0), Syscall::Setuid, 0, [0; 6]);
        state.apply(KernelEvent::Syscall(event));
        assert!(state.process_count() <= 16, "{} processes", state.process_count());
    }
    assert!(state.process(1099).is_some(), "the newest is kept");
    assert!(state.process(1000).is_none(), "the oldest went first");
}

#[test]
fn containers_are_attributed_at_fork_and_exec_and_give_exe_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let upper = dir.path().join("upper");
    fs::create_dir_all(upper.join("tmp")).expect("mkdir");
    fs::write(upper.join("tmp/dropped"), "x").expect("write");
    let proc_root = dir.path().join("proc");
    fs::create_dir_all(&proc_root).expect("mkdir");
    let (mut state, calls) = state_with(&proc_root, container_info(Some(upper)), &[]);

    let parent = in_container(task(700, "sh", T0));
    let clone = state.apply(fork(parent, 701)).expect("clone");
    assert!(clone.container.is_some());
    let child = in_container(task(701, "dropped", T0 + 1));
    let event = state
        .apply(exec(child.clone(), "/tmp/dropped", &["./dropped"]))
        .expect("exec");
    assert_eq!(
        event.container.as_ref().map(|c| c.short_id()),
        Some("3f2a9c1e7b4d")
    );
    assert!(event.process.is_exe_upper_layer);
    assert!(!event.process.is_exe_lower_layer);
    assert_eq!(arg(&event, "flags").as_deref(), Some("EXE_UPPER_LAYER"));
    assert_eq!(event.process.exe, "./dropped");

    let event = state
        .apply(exec(child.clone(), "/bin/ls", &["ls"]))
        .expect("exec");
    assert!(event.process.is_exe_lower_layer);
    assert_eq!(arg(&event, "flags").as_deref(), Some("EXE_LOWER_LAYER"));

    let event = state
        .apply(exec(
            child,
            "/memfd:runc_cloned:/proc/self/exe (deleted)",
            &["runc", "init"],
        ))
        .expect("exec");
    assert!(event.process.is_exe_from_memfd);
    assert_eq!(event.process.exepath, "memfd:runc_cloned:/proc/self/exe");
    assert_eq!(arg(&event, "flags").as_deref(), Some("EXE_FROM_MEMFD"));

    let recorded = calls.lock().expect("calls").clone();
    assert!(recorded.contains(&(701, Some(LEAF.to_string()))), "{recorded:?}");
    // Later events of the process reuse its container without asking again.
    let before = recorded.len();
    let later = syscall(
        in_container(task(701, "runc", T0 + 5)),
        Syscall::Unshare,
        0,
        [0; 6],
    );
    let event = state.apply(KernelEvent::Syscall(later)).expect("event");
    assert!(event.container.is_some());
    assert_eq!(calls.lock().expect("calls").len(), before);
}

/// Writes the proc directory of one process.
struct FakeProc<'a> {
    pid: u32,
    comm: &'a str,
    ppid: u32,
    sid: u32,
    tty: u64,
    start_ticks: u64,
    uid: u32,
    cmdline: &'a [&'a str],
    cwd: &'a str,
    exe: &'a str,
}

fn write_proc(root: &Path, p: &FakeProc<'_>) {
    let dir = root.join(p.pid.to_string());
    fs::create_dir_all(dir.join("fd")).expect("mkdir");
    let stat = format!(
        "{} ({}) S {} {} {} {} -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0",
        p.pid, p.comm, p.ppid, p.sid, p.sid, p.tty, p.start_ticks
    );
    fs::write(dir.join("stat"), stat).expect("stat");
    let status = format!(
        "Name:\t{}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\nGid:\t0\t0\t0\t0\nNSpid:\t{}\nCapEff:\t0000000000000000\n",
        p.comm,
        p.ppid,
        p.pid,
        u = p.uid
    );
    fs::write(dir.join("status"), status).expect("status");
    let cmdline: String = p.cmdline.iter().map(|a| format!("{a}\0")).collect();
    fs::write(dir.join("cmdline"), cmdline).expect("cmdline");
    fs::write(dir.join("loginuid"), "4294967295").expect("loginuid");
    std::os::unix::fs::symlink(p.cwd, dir.join("cwd")).expect("cwd");
    std::os::unix::fs::symlink(p.exe, dir.join("exe")).expect("exe");
    std::os::unix::fs::symlink("/dev/pts/0", dir.join("fd/0")).expect("fd");
    std::os::unix::fs::symlink("socket:[99]", dir.join("fd/3")).expect("fd");
    let etc = dir.join("root/etc");
    fs::create_dir_all(&etc).expect("mkdir");
    fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\nwww:x:33:33::/var/www:/bin/false\n",
    )
    .expect("passwd");
    fs::write(etc.join("group"), "root:x:0:\n").expect("group");
}

/// A proc root with runc (900) and its child (1000) in a terminal session led by 900.
fn synthetic_proc() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fs::write(root.join("stat"), "cpu 1 2 3\nbtime 1700000000\n").expect("stat");
    let runc = FakeProc {
        pid: 900,
        comm: "runc",
        ppid: 1,
        sid: 900,
        tty: 34816,
        start_ticks: 500,
        uid: 0,
        cmdline: &["runc", "init"],
        cwd: "/",
        exe: "/bin/sh",
    };
    write_proc(root, &runc);
    write_proc(
        root,
        &FakeProc {
            pid: 1000,
            comm: "bash",
            ppid: 900,
            start_ticks: 750,
            uid: 33,
            cmdline: &["/bin/bash", "-i"],
            cwd: "/srv",
            ..runc
        },
    );
    fs::create_dir_all(root.join("self")).expect("a non-numeric entry");
    dir
}

#[test]
fn seeding_reads_a_synthetic_proc_tree() {
    let dir = synthetic_proc();
    let (mut state, _) = state_with(dir.path(), container_info(None), &[1000]);
    assert_eq!(state.seed_from_proc(), 2);
    assert_eq!(state.process_count(), 2);
    let bash = state.process(1000).expect("bash");
    assert_eq!(
        (bash.name.as_str(), bash.exe.as_str(), bash.exepath.as_str()),
        ("bash", "/bin/bash", "/bin/sh")
    );
    assert_eq!(bash.args, ["-i"]);
    assert_eq!(bash.cwd, "/srv");
    assert_eq!(bash.tty, Some(34816));
    assert_eq!(
        bash.start_ts, 1_700_000_007_500_000_000,
        "btime + 750 ticks at 100 Hz"
    );
    assert_eq!(bash.loginuid, None);
    assert_eq!(bash.user.as_deref(), Some("www"));
    assert_eq!(bash.homedir.as_deref(), Some("/var/www"));
    assert_eq!(bash.group.as_deref(), Some("root"));
    assert_eq!(bash.ancestors.len(), 1);
    assert_eq!(bash.ancestors[0].name, "runc");
    assert_eq!(bash.ancestors[0].args, ["init"]);
    assert_eq!(bash.session_leader.as_ref().map(|s| s.pid), Some(900));
    assert_eq!(bash.stdio.first().map(|s| s.name.as_str()), Some("/dev/pts/0"));
    assert_eq!(
        state.fd(1000, 3).map(|fd| fd.name),
        Some("socket:[99]".to_string())
    );

    // An event of a seeded process needs no further reading; relative paths use its cwd.
    let open = syscall(
        task(1000, "bash", T0),
        Syscall::Openat,
        4,
        [AT_FDCWD, 0, 0, 0, 0, 0],
    );
    let event = state.apply(with_path(open, "../etc/passwd")).expect("event");
    assert_eq!(event.fd.as_ref().map(|fd| fd.name.as_str()), Some("/etc/passwd"));
    assert_eq!(
        event.process.user.as_deref(),
        Some("root"),
        "the event's uid 0 replaced 33"
    );
}

#[test]
fn an_unknown_pid_is_read_lazily_with_its_ancestors() {
    let dir = synthetic_proc();
    let (mut state, _) = state_with(dir.path(), container_info(None), &[]);
    let event = syscall(task(1000, "bash", T0), Syscall::Unshare, 0, [0; 6]);
    let event = state.apply(KernelEvent::Syscall(event)).expect("event");
    assert_eq!(event.process.args, ["-i"]);
    assert_eq!(event.process.cwd, "/srv");
    assert_eq!(field(&event, "proc.pname", None).as_deref(), Some("runc"));
    assert_eq!(state.process_count(), 2);
}

#[test]
fn seeding_the_real_proc_finds_this_test() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let num = std::os::fd::AsRawFd::as_raw_fd(file.as_file());
    let (mut state, _) = state_with(Path::new("/proc"), container_info(None), &[]);
    let read = state.seed_from_proc();
    assert!(read >= 1, "read {read} processes");
    let pid = std::process::id();
    let me = state.process(pid).expect("this test process");
    let exe = std::env::current_exe().expect("current exe");
    assert_eq!(me.exepath, exe.to_string_lossy());
    let argv: Vec<String> = std::env::args().collect();
    assert_eq!(me.exe, argv[0]);
    assert_eq!(me.args, argv[1..]);
    assert!(
        me.start_ts > 1_500_000_000_000_000_000,
        "start time {}",
        me.start_ts
    );
    assert_eq!(
        me.uid,
        u64::from(
            fs::metadata("/proc/self")
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .expect("stat")
        )
    );
    let fd = state.fd(pid, i64::from(num)).expect("the open temp file");
    assert_eq!(fd.kind, FdKind::File);
    assert_eq!(Path::new(&fd.name), file.path());
    assert!(me.exe_ino.is_some());
}

fn falco_rules() -> Option<Ruleset> {
    let shared = moat_testkit::shared::shared_dir()?;
    let path = moat_testkit::shared::shared_file(&shared, "conformance/falco/rules/falco_rules.yaml");
    Some(Ruleset::load(&[path]).expect("falco_rules.yaml loads"))
}

fn rule_names(rules: &Ruleset, event: &RuntimeEvent) -> Vec<String> {
    rules
        .matching(event)
        .iter()
        .map(|rule| rule.name.clone())
        .collect()
}

#[test]
fn state_events_fire_falcos_shell_and_sensitive_file_rules() {
    let Some(rules) = falco_rules() else { return };
    let dir = synthetic_proc();
    let (mut state, _) = state_with(dir.path(), container_info(None), &[]);
    state.seed_from_proc();

    // runc (900) starts a shell with a terminal in the container.
    let runc = in_container(task(900, "runc", T0));
    state.apply(fork(runc, 1001)).expect("clone");
    write_proc(
        dir.path(),
        &FakeProc {
            pid: 1001,
            comm: "bash",
            ppid: 900,
            sid: 1001,
            tty: 34816,
            start_ticks: 800,
            uid: 0,
            cmdline: &["bash"],
            cwd: "/",
            exe: "/bin/sh",
        },
    );
    let shell = in_container(task(1001, "bash", T0 + 1));
    let event = state
        .apply(exec(shell.clone(), "/bin/bash", &["bash"]))
        .expect("exec");
    assert_eq!(event.process.tty, Some(34816));
    assert_eq!(rule_names(&rules, &event), ["Terminal shell in container"]);

    // The shell starts cat, which reads /etc/shadow.
    state.apply(fork(shell, 1002)).expect("clone");
    let cat = in_container(task(1002, "cat", T0 + 2));
    state.apply(exec(cat.clone(), "/usr/bin/cat", &["cat", "/etc/shadow"]));
    let open = syscall(cat, Syscall::Openat, 3, [AT_FDCWD, 0, O_RDONLY_CLOEXEC, 0, 0, 0]);
    let event = state.apply(with_path(open, "/etc/shadow")).expect("open");
    assert_eq!(arg(&event, "flags").as_deref(), Some("O_RDONLY|O_CLOEXEC"));
    assert_eq!(rule_names(&rules, &event), ["Read sensitive file untrusted"]);
    assert_eq!(field(&event, "proc.aname", Some("2")).as_deref(), Some("runc"));

    // The same read on the host by a trusted program does not fire.
    let sshd = task(1100, "sshd", T0 + 3);
    let open = syscall(sshd, Syscall::Openat, 3, [AT_FDCWD, 0, 0, 0, 0, 0]);
    let event = state.apply(with_path(open, "/etc/shadow")).expect("open");
    assert!(rule_names(&rules, &event).is_empty());
}

#[test]
fn a_packet_socket_in_a_container_fires_its_rule() {
    let Some(rules) = falco_rules() else { return };
    let (mut state, _dir) = bare_state();
    let t = in_container(task(800, "arpspoof", T0));
    let socket = syscall(t, Syscall::Socket, 3, [17, 3, 0x300, 0, 0, 0]);
    let event = state.apply(KernelEvent::Syscall(socket)).expect("event");
    assert_eq!(rule_names(&rules, &event), ["Packet socket created in container"]);
}

#[test]
fn shared_process_views_follow_execs_of_the_process_and_its_parent_and_credential_changes() {
    let (mut state, _dir) = bare_state();
    state.apply(exec(task(10, "sh", T0), "/bin/sh", &["sh"]));
    state.apply(fork(task(10, "sh", T0 + 1), 11));
    state.apply(exec(task(11, "worker", T0 + 2), "/bin/worker", &["worker"]));
    let open = |state: &mut State, ts: u64, comm: &str| {
        let event = with_path(
            syscall(
                task(11, comm, ts),
                Syscall::Openat,
                5,
                [AT_FDCWD, 0, O_RDONLY_CLOEXEC, 0, 0, 0],
            ),
            "/etc/hostname",
        );
        state.apply(event).expect("an open event")
    };
    let first = open(&mut state, T0 + 3, "worker");
    let second = open(&mut state, T0 + 4, "worker");
    assert!(
        Arc::ptr_eq(&first.process, &second.process),
        "plain opens share one view"
    );
    assert_eq!(field(&second, "proc.pname", None).as_deref(), Some("sh"));

    // The parent runs another program: the child's next event shows the new parent name.
    state.apply(exec(task(10, "bash", T0 + 5), "/bin/bash", &["bash"]));
    let third = open(&mut state, T0 + 6, "worker");
    assert_eq!(field(&third, "proc.pname", None).as_deref(), Some("bash"));

    // A credential change is seen by the next event.
    let mut setuid = syscall(
        task(11, "worker", T0 + 7),
        Syscall::Setuid,
        0,
        [1000, 0, 0, 0, 0, 0],
    );
    setuid.task.uid = 1000;
    state.apply(KernelEvent::Syscall(setuid));
    let mut after = syscall(
        task(11, "worker", T0 + 8),
        Syscall::Openat,
        6,
        [AT_FDCWD, 0, O_RDONLY_CLOEXEC, 0, 0, 0],
    );
    after.task.uid = 1000;
    after.path = Some("/etc/hostname".to_string());
    let fourth = state.apply(KernelEvent::Syscall(after)).expect("an open event");
    assert_eq!(field(&fourth, "user.uid", None).as_deref(), Some("1000"));

    // The process itself runs another program.
    state.apply(exec(task(11, "other", T0 + 9), "/bin/other", &["other"]));
    let fifth = open(&mut state, T0 + 10, "other");
    assert_eq!(field(&fifth, "proc.name", None).as_deref(), Some("other"));
}
