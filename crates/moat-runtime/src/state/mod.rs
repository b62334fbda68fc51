//! The runtime agent's view of the processes on the machine: a process table (seeded from
//! `/proc`, kept up to date by the exec, fork and exit facts of a [`KernelEvent`] source),
//! each process's fd table and container, and the conversion of every kernel fact into the
//! [`RuntimeEvent`] Falco's rules read.
//!
//! Choices where the model is simpler than libsinsp:
//! - A process that ends is removed at once; its children keep its pid as their `ppid`
//!   but their ancestor chain stops there.
//! - Only the process's own environment is carried in events, not its ancestors' (each
//!   event would copy up to 16 of them).
//! - A memfd executable (`/memfd:name (deleted)`) is shown as `memfd:name`, the form
//!   Falco's rules compare `proc.exepath` with.

mod fds;
mod paths;

pub(crate) use paths::normalize;
pub(crate) mod proc;
mod render;
mod syscalls;
mod users;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::container::{Attribution, ContainerInfo};
use crate::event::{Args, Container, Direction, Fd, Name, Process, ProcessSummary, RuntimeEvent};
use crate::source::{
    ExecEvent, ExitEvent, FileAccessEvent, FileAccessKind, ForkEvent, KernelEvent, Syscall, Task,
};

use fds::FdTable;
use proc::{ProcFs, ProcSnapshot};
use render::ExeFlags;
use users::{UserNames, Users};

/// At most this many ancestors are kept in an event (`proc.aname[16]`).
const MAX_ANCESTORS: usize = 16;

/// This machine's host name as the kernel has it (`evt.hostname`, syslog's HOSTNAME).
pub fn kernel_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
}

/// Where the state reads processes from and how many it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateOptions {
    /// The proc file system; `/proc` by default.
    pub proc_root: PathBuf,
    /// The host name events carry (`evt.hostname`).
    pub hostname: Option<String>,
    /// At most this many processes are kept; the least recently active go first.
    pub max_processes: usize,
}

impl Default for StateOptions {
    fn default() -> StateOptions {
        StateOptions {
            proc_root: PathBuf::from("/proc"),
            hostname: None,
            max_processes: 65_536,
        }
    }
}

/// What is known of one process.
#[derive(Debug, Clone, Default)]
struct ProcessRecord {
    pid: u32,
    ppid: u32,
    vpid: u32,
    /// Session and process group in the host's pid namespace (to find the leaders).
    sid: u32,
    pgid: u32,
    /// Session and process group in the process's pid namespace (as the rules show them).
    vsid: u32,
    vpgid: u32,
    uid: u32,
    gid: u32,
    loginuid: Option<i64>,
    names: UserNames,
    exe: String,
    exepath: String,
    name: String,
    args: Vec<String>,
    cwd: String,
    tty: Option<u64>,
    start_ts: u64,
    env: Option<Vec<String>>,
    exe_flags: ExeFlags,
    exe_ino: Option<u64>,
    exe_ctime: Option<u64>,
    exe_mtime: Option<u64>,
    /// Inheritable, permitted and effective capability masks.
    caps: [u64; 3],
    vm_kb: [Option<u64>; 3],
    container: Option<Arc<ContainerInfo>>,
    cgroup_leaf: Option<String>,
    fds: FdTable,
    /// Thread ids other than the pid.
    threads: Vec<u32>,
    /// When it was last active, on the state's own event counter.
    last_used: u64,
}

impl ProcessRecord {
    /// What the kernel said of a task whose proc directory is gone.
    fn minimal(task: &Task) -> ProcessRecord {
        ProcessRecord {
            pid: task.pid,
            ppid: task.ppid.unwrap_or(0),
            vpid: task.pid,
            uid: task.uid,
            gid: task.gid,
            name: task.comm.clone(),
            start_ts: task.ts,
            cgroup_leaf: task.cgroup.clone(),
            ..ProcessRecord::default()
        }
    }

    /// A process as its proc directory shows it.
    fn from_snapshot(snapshot: ProcSnapshot) -> ProcessRecord {
        let mut record = ProcessRecord {
            pid: snapshot.pid,
            name: snapshot.comm.clone(),
            exepath: display_exepath(&snapshot.exepath),
            ..ProcessRecord::default()
        };
        record.exe_flags.from_memfd = snapshot.exepath.starts_with("/memfd:");
        let (exe, args) = split_argv(&snapshot.cmdline, &record.exepath);
        (record.exe, record.args) = (exe, args);
        record.start_ts = snapshot.start_ts;
        record.refresh(snapshot);
        record
    }

    /// Takes what may have changed from a fresh snapshot (not the program: see exec).
    fn refresh(&mut self, snapshot: ProcSnapshot) {
        self.ppid = snapshot.ppid;
        self.vpid = snapshot.vpid;
        (self.sid, self.pgid) = (snapshot.sid, snapshot.pgid);
        (self.vsid, self.vpgid) = (snapshot.vsid, snapshot.vpgid);
        (self.uid, self.gid) = (snapshot.uid, snapshot.gid);
        self.loginuid = snapshot.loginuid;
        self.cwd = snapshot.cwd;
        self.tty = snapshot.tty;
        self.env = snapshot.env;
        self.caps = [
            snapshot.cap_inheritable,
            snapshot.cap_permitted,
            snapshot.cap_effective,
        ];
        self.vm_kb = [snapshot.vm_size_kb, snapshot.vm_rss_kb, snapshot.vm_swap_kb];
        if self.start_ts == 0 {
            self.start_ts = snapshot.start_ts;
        }
    }

    fn summary(&self) -> ProcessSummary {
        ProcessSummary {
            pid: self.pid.into(),
            vpid: self.vpid.into(),
            name: self.name.clone(),
            exe: self.exe.clone(),
            exepath: self.exepath.clone(),
            args: self.args.clone(),
            start_ts: self.start_ts,
            env: None,
        }
    }

    /// The key of the user database: the container id, or `host`.
    fn users_key(&self) -> &str {
        self.container
            .as_ref()
            .map_or("host", |info| info.container.id.as_str())
    }
}

/// `argv[0]` (the executable path when there is none) and the arguments after it.
fn split_argv(argv: &[String], exepath: &str) -> (String, Vec<String>) {
    match argv.split_first() {
        Some((first, rest)) => (first.clone(), rest.to_vec()),
        None => (exepath.to_string(), Vec::new()),
    }
}

/// The executable path as the rules see it: a memfd without its leading `/` and the
/// ` (deleted)` the kernel appends.
fn display_exepath(path: &str) -> String {
    match path.strip_prefix("/memfd:") {
        Some(rest) => format!("memfd:{}", rest.trim_end_matches(" (deleted)")),
        None => path.to_string(),
    }
}

/// Views of processes and containers shared between events (an event holds them in `Arc`s):
/// building a process's view (ancestors, leaders, user names) and copying a container's
/// labels and mounts for every event cost more than the rest of the event.
#[derive(Default)]
struct Views {
    /// Bumped by every fact that may change some process's view.
    generation: u64,
    /// The process table's size when `generation` was last checked against it.
    table_len: usize,
    /// pid → (tid, generation, view).
    processes: HashMap<u32, (u32, u64, Arc<Process>)>,
    /// container id → (the attribution's description, the view made of it).
    containers: HashMap<String, (Arc<ContainerInfo>, Arc<Container>)>,
}

/// Bound of the container views kept; past it they are made anew.
const MAX_CONTAINER_VIEWS: usize = 4096;

/// True for facts that change no process's view: file and socket syscalls whose result is
/// not one of the standard fds (which the view shows as `proc.stdin` and the others).
/// Exec, fork, exit, credential and namespace changes, and fanotify accesses (which may read
/// /proc anew) change views.
fn leaves_views_unchanged(event: &KernelEvent) -> bool {
    let KernelEvent::Syscall(syscall) = event else {
        return false;
    };
    let standard_fd = (0..=2).contains(&syscall.ret);
    !standard_fd
        && !matches!(
            syscall.syscall,
            Syscall::Setuid
                | Syscall::Setgid
                | Syscall::Setreuid
                | Syscall::Setregid
                | Syscall::Setresuid
                | Syscall::Setresgid
                | Syscall::Unshare
                | Syscall::Setns
        )
}

/// The process table, fd tables and containers of the machine's processes.
pub struct State {
    options: StateOptions,
    proc_fs: ProcFs,
    attribution: Box<dyn Attribution>,
    processes: HashMap<u32, ProcessRecord>,
    /// Thread id to process id, for threads other than the main one.
    threads: HashMap<u32, u32>,
    users: Users,
    views: Views,
    /// Number of the last event returned.
    num: u64,
    /// Counter for `last_used`.
    activity: u64,
}

impl State {
    /// An empty state reading `options.proc_root` and attributing containers with
    /// `attribution`.
    pub fn new(options: StateOptions, attribution: Box<dyn Attribution>) -> State {
        State {
            proc_fs: ProcFs::new(options.proc_root.clone()),
            options,
            attribution,
            processes: HashMap::new(),
            threads: HashMap::new(),
            users: Users::default(),
            num: 0,
            activity: 0,
            views: Views::default(),
        }
    }

    /// Reads every process under the proc root (program, arguments, credentials, working
    /// directory, start time, terminal, session, process group, login uid, open fds) into
    /// the table and returns how many it read. Processes that cannot be read (ended,
    /// not permitted) are skipped.
    pub fn seed_from_proc(&mut self) -> usize {
        let mut read = 0;
        for pid in self.proc_fs.pids() {
            if let Some(record) = self.load_from_proc(pid, None) {
                self.insert(record);
                read += 1;
            }
        }
        read
    }

    /// Applies one kernel fact: updates the tables and returns the event the rules should
    /// see, or `None` for bookkeeping facts (a thread starting or ending).
    pub fn apply(&mut self, event: KernelEvent) -> Option<RuntimeEvent> {
        if !leaves_views_unchanged(&event) {
            self.views.generation += 1;
        }
        match event {
            KernelEvent::Exec(exec) => Some(self.on_exec(exec)),
            KernelEvent::Fork(fork) => self.on_fork(fork),
            KernelEvent::Exit(exit) => self.on_exit(exit),
            KernelEvent::Syscall(syscall) => Some(self.on_syscall(syscall)),
            KernelEvent::FileAccess(access) => Some(self.on_file_access(access)),
        }
    }

    /// How many processes the table holds.
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }

    /// Process `pid` as an event of its main thread would show it; `None` when unknown.
    pub fn process(&self, pid: u32) -> Option<Process> {
        let record = self.processes.get(&pid)?;
        Some(self.process_view(record, pid))
    }

    /// fd `num` of process `pid` as the table knows it.
    pub fn fd(&self, pid: u32, num: i64) -> Option<Fd> {
        self.processes.get(&pid)?.fds.get(num).cloned()
    }

    /// Reads `pid` from the proc file system with its container, executable details, user
    /// names and fds; `None` when it cannot be read.
    fn load_from_proc(&mut self, pid: u32, cgroup_leaf: Option<&str>) -> Option<ProcessRecord> {
        let snapshot = self.proc_fs.read_process(pid)?;
        let mut record = ProcessRecord::from_snapshot(snapshot);
        record.container = self.attribution.container_of(pid, cgroup_leaf);
        record.cgroup_leaf = cgroup_leaf.map(str::to_string);
        for (num, target) in self.proc_fs.fds(pid) {
            record.fds.insert(fds::fd_from_link(num, &target), false);
        }
        self.describe_exe(&mut record);
        self.resolve_names(&mut record);
        Some(record)
    }

    /// Adds `record`, making room first when the table is full.
    fn insert(&mut self, mut record: ProcessRecord) {
        if self.processes.len() >= self.options.max_processes.max(1)
            && !self.processes.contains_key(&record.pid)
        {
            self.evict();
        }
        self.activity += 1;
        record.last_used = self.activity;
        if let Some(old) = self.processes.insert(record.pid, record) {
            self.forget_threads(&old);
        }
    }

    /// Removes the least recently active eighth of the table (at least one process).
    fn evict(&mut self) {
        let mut ages: Vec<(u64, u32)> = self
            .processes
            .values()
            .map(|record| (record.last_used, record.pid))
            .collect();
        let count = (ages.len() / 8).max(1).min(ages.len());
        if count == 0 {
            return;
        }
        ages.select_nth_unstable(count - 1);
        for &(_, pid) in &ages[..count] {
            self.remove(pid);
        }
    }

    fn remove(&mut self, pid: u32) -> Option<ProcessRecord> {
        let record = self.processes.remove(&pid)?;
        self.forget_threads(&record);
        Some(record)
    }

    fn forget_threads(&mut self, record: &ProcessRecord) {
        for tid in &record.threads {
            self.threads.remove(tid);
        }
    }

    /// The process id of `task`, its record created when unknown (from the proc file system,
    /// or from the task when that is gone); with `trust_credentials`, the task's uid, gid,
    /// parent and cgroup update the record.
    fn ensure(&mut self, task: &Task, trust_credentials: bool) -> u32 {
        let pid = match task.pid {
            0 => self.threads.get(&task.tid).copied().unwrap_or(task.tid),
            pid => pid,
        };
        if !self.processes.contains_key(&pid) {
            let task = Task { pid, ..task.clone() };
            let record = match self.load_from_proc(pid, task.cgroup.as_deref()) {
                Some(record) => record,
                None => self.minimal_record(&task),
            };
            let ppid = record.ppid;
            self.insert(record);
            self.load_ancestors(ppid);
        }
        if trust_credentials {
            self.update_from_task(pid, task);
        }
        self.activity += 1;
        if let Some(record) = self.processes.get_mut(&pid) {
            record.last_used = self.activity;
        }
        pid
    }

    fn minimal_record(&mut self, task: &Task) -> ProcessRecord {
        let mut record = ProcessRecord::minimal(task);
        record.container = self.attribution.container_of(task.pid, task.cgroup.as_deref());
        self.resolve_names(&mut record);
        record
    }

    /// Reads the missing ancestors of a newly seen process from the proc file system.
    fn load_ancestors(&mut self, mut ppid: u32) {
        for _ in 0..MAX_ANCESTORS {
            if ppid == 0 || self.processes.contains_key(&ppid) {
                return;
            }
            let Some(record) = self.load_from_proc(ppid, None) else {
                return;
            };
            let next = record.ppid;
            self.insert(record);
            if next == ppid {
                return;
            }
            ppid = next;
        }
    }

    /// Takes the credentials, parent and cgroup the kernel reported with an event.
    fn update_from_task(&mut self, pid: u32, task: &Task) {
        let Some(record) = self.processes.get_mut(&pid) else {
            return;
        };
        if let Some(ppid) = task.ppid.filter(|&p| p != 0) {
            record.ppid = ppid;
        }
        let credentials_changed = (record.uid, record.gid) != (task.uid, task.gid);
        (record.uid, record.gid) = (task.uid, task.gid);
        let cgroup_changed = task.cgroup.is_some() && task.cgroup != record.cgroup_leaf;
        if cgroup_changed {
            record.cgroup_leaf = task.cgroup.clone();
            record.container = self.attribution.container_of(pid, task.cgroup.as_deref());
        }
        if credentials_changed || cgroup_changed {
            let mut record = std::mem::take(record);
            self.resolve_names(&mut record);
            self.processes.insert(pid, record);
        }
    }

    fn resolve_names(&mut self, record: &mut ProcessRecord) {
        let ids = (record.uid, record.gid, record.loginuid);
        let key = record.users_key().to_string();
        record.names = self.users.names(&self.proc_fs, record.pid, &key, ids);
    }

    /// Inode, times and writability of the executable, and which overlay layer it is in.
    fn describe_exe(&self, record: &mut ProcessRecord) {
        let layers = record
            .container
            .as_ref()
            .filter(|_| !record.exe_flags.from_memfd && record.exepath.starts_with('/'))
            .and_then(|info| info.upper_dir.as_ref())
            .map(|upper| upper.join(record.exepath.trim_start_matches('/')).exists());
        record.exe_flags.upper_layer = layers == Some(true);
        record.exe_flags.lower_layer = layers == Some(false);
        let Some(metadata) = self.proc_fs.exe_metadata(record.pid) else {
            return;
        };
        record.exe_ino = Some(metadata.ino());
        record.exe_ctime = Some(ns(metadata.ctime(), metadata.ctime_nsec()));
        record.exe_mtime = Some(ns(metadata.mtime(), metadata.mtime_nsec()));
        record.exe_flags.writable = writable_by(&metadata, record);
    }

    /// The event number for a new event.
    fn next_num(&mut self) -> u64 {
        self.num += 1;
        self.num
    }

    /// The event of `pid`'s thread `tid`.
    fn event(&mut self, pid: u32, tid: u32, ts: u64, event_type: &'static str) -> RuntimeEvent {
        let num = self.next_num();
        let info = self.processes.get(&pid).and_then(|r| r.container.clone());
        let container = info.map(|info| self.shared_container_view(&info));
        let process = self.shared_process_view(pid, tid);
        RuntimeEvent {
            num,
            ts,
            event_type: Name::from_static(event_type),
            dir: Direction::Exit,
            res: 0,
            args: Args::default(),
            cpu: None,
            latency: None,
            hostname: self.options.hostname.clone(),
            process,
            fd: None,
            container,
        }
    }

    /// The process as events of thread `tid` show it, built once and shared by the events
    /// that follow until something it depends on changes ([`Views::generation`]).
    fn shared_process_view(&mut self, pid: u32, tid: u32) -> Arc<Process> {
        if self.processes.len() != self.views.table_len {
            // A process came or went: ancestor chains may read differently.
            self.views.generation += 1;
            self.views.table_len = self.processes.len();
        }
        let generation = self.views.generation;
        if let Some((cached_tid, cached_generation, view)) = self.views.processes.get(&pid) {
            if *cached_tid == tid && *cached_generation == generation {
                return Arc::clone(view);
            }
        }
        let view = Arc::new(
            self.processes
                .get(&pid)
                .map(|record| self.process_view(record, tid))
                .unwrap_or_default(),
        );
        if self.views.processes.len() >= self.options.max_processes {
            self.views.processes.clear();
        }
        self.views
            .processes
            .insert(pid, (tid, generation, Arc::clone(&view)));
        view
    }

    /// The rules' view of a container, shared by every event from it while the attribution
    /// gives the same description.
    fn shared_container_view(&mut self, info: &Arc<ContainerInfo>) -> Arc<Container> {
        let id = &info.container.id;
        if let Some((source, view)) = self.views.containers.get(id) {
            if Arc::ptr_eq(source, info) {
                return Arc::clone(view);
            }
        }
        let view = Arc::new(info.container.clone());
        if self.views.containers.len() >= MAX_CONTAINER_VIEWS {
            self.views.containers.clear();
        }
        self.views
            .containers
            .insert(id.clone(), (Arc::clone(info), Arc::clone(&view)));
        view
    }

    fn process_view(&self, record: &ProcessRecord, tid: u32) -> Process {
        let names = record.names.clone();
        let [inheritable, permitted, effective] = record.caps;
        let [vm_size_kb, vm_rss_kb, vm_swap_kb] = record.vm_kb;
        let leader = |pid: u32| {
            (pid != 0)
                .then(|| self.processes.get(&pid))
                .flatten()
                .map(ProcessRecord::summary)
        };
        Process {
            pid: record.pid.into(),
            tid: tid.into(),
            ppid: (record.ppid != 0).then_some(record.ppid.into()),
            vpid: record.vpid.into(),
            vtid: None,
            sid: record.vsid.into(),
            vpgid: record.vpgid.into(),
            uid: record.uid.into(),
            gid: record.gid.into(),
            loginuid: record.loginuid,
            user: names.user,
            homedir: names.homedir,
            shell: names.shell,
            group: names.group,
            login_name: names.login_name,
            exe: record.exe.clone(),
            exepath: record.exepath.clone(),
            name: record.name.clone(),
            args: record.args.clone(),
            cwd: record.cwd.clone(),
            tty: record.tty,
            start_ts: record.start_ts,
            env: record.env.clone(),
            is_exe_upper_layer: record.exe_flags.upper_layer,
            is_exe_lower_layer: record.exe_flags.lower_layer,
            is_exe_from_memfd: record.exe_flags.from_memfd,
            is_exe_writable: record.exe_flags.writable,
            exe_ino: record.exe_ino,
            exe_ino_ctime: record.exe_ctime,
            exe_ino_mtime: record.exe_mtime,
            cap_effective: render::capabilities(effective),
            cap_permitted: render::capabilities(permitted),
            cap_inheritable: render::capabilities(inheritable),
            vm_size_kb,
            vm_rss_kb,
            vm_swap_kb,
            stdio: record.fds.stdio(),
            ancestors: self.ancestors(record),
            session_leader: leader(record.sid),
            group_leader: leader(record.pgid),
            ..Process::default()
        }
    }

    /// The parent chain (parent first), as far as the table knows it, at most
    /// [`MAX_ANCESTORS`].
    fn ancestors(&self, record: &ProcessRecord) -> Vec<ProcessSummary> {
        let mut ancestors = Vec::new();
        let mut next = record.ppid;
        while ancestors.len() < MAX_ANCESTORS && next != 0 && next != record.pid {
            let Some(parent) = self.processes.get(&next) else {
                break;
            };
            ancestors.push(parent.summary());
            if parent.ppid == next {
                break;
            }
            next = parent.ppid;
        }
        ancestors
    }

    fn on_exec(&mut self, exec: ExecEvent) -> RuntimeEvent {
        let task = &exec.task;
        let pid = task.pid;
        let mut record = match self.remove(pid) {
            Some(mut previous) => {
                if let Some(snapshot) = self.proc_fs.read_process(pid) {
                    previous.refresh(snapshot);
                }
                previous
            }
            None => self
                .load_from_proc(pid, task.cgroup.as_deref())
                .unwrap_or_else(|| ProcessRecord::minimal(task)),
        };
        self.run_program(&mut record, &exec);
        record.container = self.attribution.container_of(pid, task.cgroup.as_deref());
        record.cgroup_leaf = task.cgroup.clone();
        (record.uid, record.gid) = (task.uid, task.gid);
        if let Some(ppid) = task.ppid.filter(|&p| p != 0) {
            record.ppid = ppid;
        }
        self.describe_exe(&mut record);
        self.resolve_names(&mut record);
        let flags = record.exe_flags.render();
        let (exe, args) = (record.exe.clone(), record.args.join(" "));
        let ppid = record.ppid;
        self.insert(record);
        self.load_ancestors(ppid);
        let mut event = self.event(pid, task.tid, task.ts, "execve");
        event.args.push("filename", exec.filename.as_str());
        event.args.push("exe", exe.as_str());
        event.args.push("args", args.as_str());
        event.args.push("flags", flags.as_str());
        event
    }

    /// The program part of an exec: executable, arguments, name; fds closed on exec.
    fn run_program(&self, record: &mut ProcessRecord, exec: &ExecEvent) {
        let pid = exec.task.pid;
        record.exepath = display_exepath(&exec.filename);
        record.exe_flags = ExeFlags {
            from_memfd: exec.filename.starts_with("/memfd:"),
            ..ExeFlags::default()
        };
        let argv = match &exec.args {
            Some(args) => args.clone(),
            None => self.proc_fs.cmdline(pid).unwrap_or_default(),
        };
        (record.exe, record.args) = split_argv(&argv, &record.exepath);
        record.name = match exec.task.comm.as_str() {
            "" => paths::basename(&record.exepath).to_string(),
            comm => comm.to_string(),
        };
        record.fds.close_on_exec();
        // The other threads ended with the exec.
        record.threads.clear();
        record.exe_ino = None;
        record.exe_ctime = None;
        record.exe_mtime = None;
    }

    fn on_fork(&mut self, fork: ForkEvent) -> Option<RuntimeEvent> {
        let parent_task = &fork.parent;
        let ppid = self.ensure(parent_task, true);
        if fork.child_pid == ppid {
            self.threads.insert(fork.child_tid, ppid);
            if let Some(record) = self.processes.get_mut(&ppid) {
                record.threads.push(fork.child_tid);
            }
            return None;
        }
        if !self.processes.contains_key(&fork.child_pid) {
            let child = self.child_record(ppid, &fork);
            self.insert(child);
        }
        let mut event = self.event(ppid, parent_task.tid, parent_task.ts, "clone");
        event.res = fork.child_pid.into();
        Some(event)
    }

    /// The child of a fork: a copy of the parent with its own ids and container.
    fn child_record(&mut self, ppid: u32, fork: &ForkEvent) -> ProcessRecord {
        let child_pid = fork.child_pid;
        let mut child = self
            .processes
            .get(&ppid)
            .cloned()
            .unwrap_or_else(|| ProcessRecord::minimal(&fork.parent));
        child.pid = child_pid;
        child.ppid = ppid;
        child.start_ts = fork.parent.ts;
        child.threads.clear();
        child.vpid = if child.vpid == ppid {
            child_pid
        } else {
            // In another pid namespace: only the child's status says its pid there.
            self.proc_fs
                .status(child_pid)
                .and_then(|status| status.nspid)
                .unwrap_or(child_pid)
        };
        let leaf = fork.parent.cgroup.as_deref().or(child.cgroup_leaf.as_deref());
        child.container = self.attribution.container_of(child_pid, leaf);
        child.cgroup_leaf = leaf.map(str::to_string);
        child
    }

    fn on_exit(&mut self, exit: ExitEvent) -> Option<RuntimeEvent> {
        let task = &exit.task;
        if !exit.process_ended {
            if let Some(pid) = self.threads.remove(&task.tid) {
                if let Some(record) = self.processes.get_mut(&pid) {
                    record.threads.retain(|&tid| tid != task.tid);
                }
            }
            return None;
        }
        let pid = match task.pid {
            0 => self.threads.get(&task.tid).copied().unwrap_or(task.tid),
            pid => pid,
        };
        if !self.processes.contains_key(&pid) {
            // Its proc directory is of no use any more: only what the kernel said.
            let record = self.minimal_record(&Task { pid, ..task.clone() });
            self.insert(record);
        }
        let mut event = self.event(pid, task.tid, task.ts, "procexit");
        if let Some(code) = exit.code {
            event.args.push("status", i64::from(code));
        }
        self.remove(pid);
        Some(event)
    }

    fn on_file_access(&mut self, access: FileAccessEvent) -> RuntimeEvent {
        // fanotify names no thread and no credentials: the record keeps its own.
        let pid = self.ensure(&access.task, false);
        let flags = match access.kind {
            FileAccessKind::Open | FileAccessKind::OpenExec => "O_RDONLY",
            FileAccessKind::Modify | FileAccessKind::CloseWrite => "O_WRONLY",
        };
        let mut event = self.event(pid, pid, access.task.ts, "open");
        event.args.push("name", access.path.as_str());
        event.args.push("flags", flags);
        event.fd = Some(Fd {
            // The fd number in the accessing process is unknown; 0 stands for "a successful
            // open" so that the open macros' `fd.num>=0` holds.
            num: 0,
            name: paths::normalize(&access.path),
            ..Fd::default()
        });
        event
    }
}

fn ns(seconds: i64, nanoseconds: i64) -> u64 {
    u64::try_from(seconds)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nanoseconds).unwrap_or(0))
}

/// Whether the process's user may write the executable: by the owner, group or other
/// write bit that applies to it, or by `CAP_DAC_OVERRIDE`.
fn writable_by(metadata: &std::fs::Metadata, record: &ProcessRecord) -> bool {
    let mode = metadata.mode();
    let bit = if metadata.uid() == record.uid {
        0o200
    } else if metadata.gid() == record.gid {
        0o020
    } else {
        0o002
    };
    mode & bit != 0 || record.caps[2] & render::CAP_DAC_OVERRIDE != 0
}
