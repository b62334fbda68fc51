//! Events built in code for the tests and the bench.
#![allow(dead_code)]

use moat_runtime::{
    Args, Container, Direction, Endpoint, Fd, FdKind, FdSummary, Mount, Pod, Process, ProcessSummary,
    RuntimeEvent,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// 2024-02-29T12:34:56Z in ns.
pub const T0: u64 = 1_709_210_096_000_000_000;

pub const CONTAINER_ID: &str = "3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f";

pub fn summary(pid: u64, name: &str, exepath: &str, args: &[&str]) -> ProcessSummary {
    ProcessSummary {
        pid,
        vpid: pid,
        name: name.to_string(),
        exe: exepath.to_string(),
        exepath: exepath.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        start_ts: T0 - 60_000_000_000,
        env: None,
    }
}

/// A process with its ancestors (parent first), started 10 s before [`T0`].
pub fn process(
    pid: u64,
    name: &str,
    exepath: &str,
    args: &[&str],
    ancestors: Vec<ProcessSummary>,
) -> Process {
    Process {
        pid,
        tid: pid,
        vpid: pid,
        sid: pid,
        vpgid: pid,
        uid: 0,
        gid: 0,
        user: Some("root".to_string()),
        group: Some("root".to_string()),
        exe: exepath.to_string(),
        exepath: exepath.to_string(),
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: "/".to_string(),
        start_ts: T0 - 10_000_000_000,
        ancestors,
        ..Process::default()
    }
}

pub fn container() -> Container {
    let labels = [
        ("io.kubernetes.pod.name", "web-7d9f"),
        ("io.kubernetes.pod.namespace", "shop"),
        ("io.kubernetes.pod.uid", "5b1c0f6e-1111-2222-3333-444455556666"),
        (
            "io.kubernetes.sandbox.id",
            "aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44",
        ),
    ];
    Container {
        id: CONTAINER_ID.to_string(),
        name: "web".to_string(),
        image: "docker.io/library/nginx:1.25".to_string(),
        repository: "docker.io/library/nginx".to_string(),
        tag: "1.25".to_string(),
        runtime: "containerd".to_string(),
        start_ts: Some(T0 - 3_600_000_000_000),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Container::default()
    }
}

pub fn event(num: u64, event_type: &str, process: Process, args: Args) -> RuntimeEvent {
    RuntimeEvent {
        num,
        ts: T0 + num * 1000,
        event_type: event_type.into(),
        dir: Direction::Exit,
        res: 0,
        args,
        hostname: Some("node-1".to_string()),
        process: process.into(),
        ..RuntimeEvent::default()
    }
}

fn args(pairs: &[(&'static str, &str)]) -> Args {
    let mut args = Args::default();
    for (name, value) in pairs {
        args.push(name, *value);
    }
    args
}

/// `bash` exec'd by runc with a terminal, in a container (as `kubectl exec -it`).
pub fn terminal_shell(num: u64) -> RuntimeEvent {
    let runc = summary(900, "runc", "/usr/bin/runc", &["init"]);
    let mut process = process(1000, "bash", "/bin/bash", &[], vec![runc]);
    process.tty = Some(34816);
    let mut event = event(
        num,
        "execve",
        process,
        args(&[("exe", "/bin/bash"), ("flags", "EXE_LOWER_LAYER")]),
    );
    event.container = Some(container().into());
    event
}

/// An open of `path` with `flags`, with its file fd.
pub fn open(num: u64, process: Process, path: &str, flags: &str) -> RuntimeEvent {
    let mut event = event(
        num,
        "openat",
        process,
        args(&[("dirfd", "AT_FDCWD"), ("name", path), ("flags", flags)]),
    );
    event.args.push("mode", 0);
    event.res = 3;
    event.fd = Some(Fd {
        num: 3,
        kind: FdKind::File,
        name: path.to_string(),
        ..Fd::default()
    });
    event
}

/// `cat /etc/shadow` in a container, started from a shell.
pub fn shadow_read(num: u64) -> RuntimeEvent {
    let ancestors = vec![
        summary(1000, "bash", "/bin/bash", &[]),
        summary(900, "runc", "/usr/bin/runc", &["init"]),
    ];
    let cat = process(1001, "cat", "/usr/bin/cat", &["/etc/shadow"], ancestors);
    let mut event = open(num, cat, "/etc/shadow", "O_RDONLY|O_CLOEXEC");
    event.container = Some(container().into());
    event
}

fn nginx() -> Process {
    let init = summary(1, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", &[]);
    process(
        4242,
        "nginx",
        "/usr/sbin/nginx",
        &["-g", "daemon off;"],
        vec![init],
    )
}

/// A TCP connection from nginx (client) to a database.
pub fn connect(num: u64) -> RuntimeEvent {
    let mut event = event(num, "connect", nginx(), args(&[("addr", "10.0.0.5:5432")]));
    event.args.push("fd", 7);
    event.container = Some(container().into());
    let end = |ip: [u8; 4], port| Endpoint {
        ip: IpAddr::from(ip),
        port,
        name: None,
    };
    event.fd = Some(Fd {
        num: 7,
        kind: FdKind::Ipv4,
        name: "172.17.0.2:41000->10.0.0.5:5432".to_string(),
        client: Some(end([172, 17, 0, 2], 41000)),
        server: Some(Endpoint {
            name: Some("db.shop.svc".to_string()),
            ..end([10, 0, 0, 5], 5432)
        }),
        l4proto: Some("tcp".to_string()),
        connected: true,
        name_changed: true,
        ..Fd::default()
    });
    event
}

/// Ordinary activity that no default rule should flag.
pub fn quiet_events(first: u64) -> Vec<RuntimeEvent> {
    let mut events = Vec::new();
    let mut lib = open(
        first,
        nginx(),
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "O_RDONLY|O_CLOEXEC",
    );
    lib.container = Some(container().into());
    events.push(lib);
    let mut log = open(
        first + 1,
        nginx(),
        "/var/log/nginx/access.log",
        "O_WRONLY|O_CREAT|O_APPEND",
    );
    log.container = Some(container().into());
    events.push(log);
    events.push(connect(first + 2));
    let mut read = event(first + 3, "read", nginx(), args(&[("data", "GET / HTTP/1.1")]));
    read.res = 14;
    events.push(read);
    events.push(event(first + 4, "close", nginx(), args(&[("fd", "3")])));
    // On the host: cron starting a script that is not a shell.
    let cron = summary(700, "cron", "/usr/sbin/cron", &["-f"]);
    let logrotate = process(
        710,
        "logrotate",
        "/usr/sbin/logrotate",
        &["/etc/logrotate.conf"],
        vec![cron],
    );
    events.push(event(
        first + 5,
        "execve",
        logrotate,
        args(&[("exe", "/usr/sbin/logrotate")]),
    ));
    events
}

/// Events that together carry every kind of data the model has, for the field catalogue.
pub fn rich_events() -> Vec<RuntimeEvent> {
    let mut exec = terminal_shell(1);
    let p = std::sync::Arc::make_mut(&mut exec.process);
    p.ppid = Some(900);
    p.vtid = Some(1);
    p.loginuid = Some(1000);
    p.login_name = Some("alice".to_string());
    p.homedir = Some("/root".to_string());
    p.shell = Some("/bin/bash".to_string());
    p.env = Some(vec!["HOME=/root".to_string(), "TERM=xterm".to_string()]);
    p.ancestors[0].env = Some(vec!["PATH=/usr/bin".to_string()]);
    p.exe_ino = Some(1234);
    p.exe_ino_ctime = Some(T0 - 100_000_000_000);
    p.exe_ino_mtime = Some(T0 - 200_000_000_000);
    p.pidns_init_start_ts = Some(T0 - 3_600_000_000_000);
    p.cap_effective = vec!["CAP_CHOWN".to_string(), "CAP_NET_RAW".to_string()];
    p.cap_permitted = p.cap_effective.clone();
    p.cap_inheritable = vec!["CAP_CHOWN".to_string()];
    p.cgroups = BTreeMap::from([("cpu".to_string(), "/kubepods/pod1/abc".to_string())]);
    p.fd_open_count = Some(12);
    p.fd_limit = Some(1024);
    p.vm_size_kb = Some(9000);
    p.vm_rss_kb = Some(3000);
    p.vm_swap_kb = Some(0);
    p.stdio = (0..3)
        .map(|_| FdSummary {
            kind: FdKind::Other,
            name: "/dev/pts/0".to_string(),
        })
        .collect();
    p.session_leader = Some(summary(1000, "bash", "/bin/bash", &[]));
    p.group_leader = Some(summary(1000, "bash", "/bin/bash", &[]));
    exec.cpu = Some(1);
    exec.latency = Some(5000);
    exec.fd = Some(Fd {
        num: 3,
        kind: FdKind::File,
        name: "/bin/bash".to_string(),
        dev: Some((8 << 20) | 1),
        ino: Some(1234),
        ..Fd::default()
    });
    let c = std::sync::Arc::make_mut(exec.container.as_mut().expect("container"));
    c.image_id = Some("sha256:abc".to_string());
    c.digest = Some("sha256:def".to_string());
    c.ip = Some("172.17.0.2".to_string());
    c.cni_json = Some("{}".to_string());
    c.healthcheck = Some("curl -f localhost".to_string());
    c.liveness_probe = Some("curl -f localhost/live".to_string());
    c.readiness_probe = Some("curl -f localhost/ready".to_string());
    c.labels.insert("app".to_string(), "web".to_string());
    c.mounts = vec![Mount {
        source: "/var/lib/kubelet/pods/x".to_string(),
        dest: "/data".to_string(),
        mode: "rw".to_string(),
        rdwr: true,
        propagation: "rprivate".to_string(),
    }];
    c.pod = Some(Pod {
        name: "web-7d9f".to_string(),
        namespace: "shop".to_string(),
        uid: "5b1c0f6e".to_string(),
        sandbox_id: "aa11bb22cc33dd44ee55".to_string(),
        labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
        ip: Some("10.1.2.3".to_string()),
        cni_json: Some("{}".to_string()),
    });

    let mut write = open(2, nginx(), "/tmp/run.sh", "O_WRONLY|O_CREAT");
    write.args.0.retain(|a| a.name != "mode");
    write.args.push("mode", 0o755);
    let mut rename = event(
        3,
        "renameat2",
        nginx(),
        args(&[("oldpath", "a.txt"), ("newpath", "/srv/b.txt")]),
    );
    std::sync::Arc::make_mut(&mut rename.process).cwd = "/srv".to_string();
    let mut read = event(4, "read", nginx(), args(&[("data", "GET / HTTP/1.1")]));
    read.fd = Some(Fd {
        num: 0,
        kind: FdKind::Directory,
        name: "/etc".to_string(),
        ..Fd::default()
    });
    let mut unix = connect(5);
    unix.fd.as_mut().expect("fd").kind = FdKind::Unix;
    let mut named = connect(6);
    if let Some(client) = named.fd.as_mut().and_then(|fd| fd.client.as_mut()) {
        client.name = Some("web-7d9f.shop.pod".to_string());
    }
    vec![exec, write, rename, read, named, unix]
}
