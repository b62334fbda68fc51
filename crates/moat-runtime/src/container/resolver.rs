//! [`ContainerResolver`]: process → container id (from its cgroup) → what the runtime says
//! of that container, remembered per id.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cgroup::{container_id_from_cgroup, container_id_of_pid};
use super::{Attribution, ContainerInfo, ContainerRuntime};
use crate::Container;

/// How many containers are remembered; the least recently seen is forgotten past it.
pub const CACHE_CAPACITY: usize = 4096;

/// How long after the runtime did not know a container (or failed) it is asked again: a
/// process can be seen in a container's cgroup before the runtime has registered it.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What is remembered of one container.
struct Entry {
    info: Arc<ContainerInfo>,
    /// When to ask the runtime again; `None` once it has answered (or when there is none).
    retry_at: Option<Instant>,
    /// When it was last used, as a count of lookups, for evicting the least recently used.
    last_used: u64,
}

/// Finds the container of a process from its cgroup and describes it through a
/// [`ContainerRuntime`], remembering each container by id.
///
/// When the runtime is absent, fails or does not know the id, the container is still
/// reported, with only its id, its runtime kind as the cgroup shows it and its short id as
/// name; the runtime is asked again after [`RETRY_AFTER`].
pub struct ContainerResolver {
    proc_root: PathBuf,
    runtime: Option<Box<dyn ContainerRuntime>>,
    cache: HashMap<String, Entry>,
    capacity: usize,
    lookups: u64,
    clock: Box<dyn Fn() -> Instant>,
    api_errors: u64,
    last_api_error: Option<String>,
}

impl ContainerResolver {
    /// A resolver reading `<proc_root>/<pid>/cgroup` (`/proc` on a live system) and asking
    /// `runtime`, when there is one.
    pub fn new(proc_root: PathBuf, runtime: Option<Box<dyn ContainerRuntime>>) -> ContainerResolver {
        ContainerResolver {
            proc_root,
            runtime,
            cache: HashMap::new(),
            capacity: CACHE_CAPACITY,
            lookups: 0,
            clock: Box::new(Instant::now),
            api_errors: 0,
            last_api_error: None,
        }
    }

    /// Replaces the clock that decides when to ask the runtime again ([`Instant::now`] by
    /// default), for replays and tests.
    pub fn with_clock(mut self, clock: impl Fn() -> Instant + 'static) -> ContainerResolver {
        self.clock = Box::new(clock);
        self
    }

    /// Forgets container `id` (it exited): the next process seen in it asks the runtime again.
    pub fn forget(&mut self, id: &str) {
        self.cache.remove(id);
    }

    /// How many times the runtime's API failed.
    pub fn api_errors(&self) -> u64 {
        self.api_errors
    }

    /// The last failure of the runtime's API, naming the socket and request.
    pub fn last_api_error(&self) -> Option<&str> {
        self.last_api_error.as_deref()
    }

    /// What is known of container `id` of runtime kind `kind`, from the cache or the runtime.
    fn info_for(&mut self, id: &str, kind: &str) -> Arc<ContainerInfo> {
        let now = (self.clock)();
        self.lookups += 1;
        if let Some(entry) = self.cache.get_mut(id) {
            entry.last_used = self.lookups;
            let due = matches!(entry.retry_at, Some(at) if now >= at);
            if !due {
                return Arc::clone(&entry.info);
            }
        }
        let (info, retry_at) = self.ask_runtime(id, kind, now);
        self.remember(id, Arc::clone(&info), retry_at);
        info
    }

    /// The runtime's description of `id`, or the id-only one with the time to ask again.
    fn ask_runtime(&mut self, id: &str, kind: &str, now: Instant) -> (Arc<ContainerInfo>, Option<Instant>) {
        let Some(runtime) = &self.runtime else {
            return (Arc::new(id_only(id, kind)), None);
        };
        match runtime.inspect(id) {
            Ok(Some(info)) => return (Arc::new(info), None),
            Ok(None) => {}
            Err(error) => {
                self.api_errors += 1;
                self.last_api_error = Some(error.to_string());
            }
        }
        (Arc::new(id_only(id, kind)), Some(now + RETRY_AFTER))
    }

    /// Stores `info` for `id`, first forgetting the least recently used container when full.
    fn remember(&mut self, id: &str, info: Arc<ContainerInfo>, retry_at: Option<Instant>) {
        if !self.cache.contains_key(id) && self.cache.len() >= self.capacity {
            let oldest = self
                .cache
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.cache.remove(&oldest);
            }
        }
        let entry = Entry {
            info,
            retry_at,
            last_used: self.lookups,
        };
        self.cache.insert(id.to_string(), entry);
    }
}

impl Attribution for ContainerResolver {
    fn container_of(&mut self, pid: u32, cgroup_leaf: Option<&str>) -> Option<Arc<ContainerInfo>> {
        let (id, kind) = cgroup_leaf
            .and_then(container_id_from_cgroup)
            .or_else(|| container_id_of_pid(&self.proc_root, pid))?;
        Some(self.info_for(&id, kind))
    }
}

/// A container known only by its id and runtime kind, named by its short id.
fn id_only(id: &str, kind: &str) -> ContainerInfo {
    let mut container = Container {
        id: id.to_string(),
        runtime: kind.to_string(),
        ..Container::default()
    };
    container.name = container.short_id().to_string();
    ContainerInfo {
        container,
        ..ContainerInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::RuntimeApiError;
    use std::cell::{Cell, RefCell};
    use std::path::Path;
    use std::rc::Rc;

    const ID: &str = "05dce14ff6cbd1d5578ea73fc0c7f6a3c44a3953bcf54d7c77e04eaf7f1eaacb";
    const OTHER: &str = "aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44";
    const THIRD: &str = "3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f";

    /// What the fake runtime answers for every id.
    #[derive(Clone, Copy)]
    enum Answer {
        Known,
        Unknown,
        Failing,
    }

    /// A runtime whose answer the test sets, counting the questions.
    #[derive(Clone)]
    struct FakeRuntime {
        answer: Rc<Cell<Answer>>,
        asked: Rc<RefCell<Vec<String>>>,
    }

    impl FakeRuntime {
        fn new(answer: Answer) -> FakeRuntime {
            FakeRuntime {
                answer: Rc::new(Cell::new(answer)),
                asked: Rc::default(),
            }
        }

        fn asked(&self) -> usize {
            self.asked.borrow().len()
        }
    }

    impl ContainerRuntime for FakeRuntime {
        fn name(&self) -> &str {
            "podman"
        }

        fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, RuntimeApiError> {
            self.asked.borrow_mut().push(id.to_string());
            match self.answer.get() {
                Answer::Known => Ok(Some(ContainerInfo {
                    container: Container {
                        id: id.to_string(),
                        name: "web".to_string(),
                        runtime: "podman".to_string(),
                        ..Container::default()
                    },
                    init_pid: Some(7003),
                    ..ContainerInfo::default()
                })),
                Answer::Unknown => Ok(None),
                Answer::Failing => Err(RuntimeApiError::Protocol {
                    socket: PathBuf::from("/run/podman/podman.sock"),
                    request: format!("GET /containers/{id}/json"),
                    message: "status 500: database is locked".to_string(),
                }),
            }
        }
    }

    /// A fake /proc with `pid`'s cgroup file holding `text`.
    fn proc_with(dir: &Path, pid: u32, text: &str) {
        let pid_dir = dir.join(pid.to_string());
        std::fs::create_dir_all(&pid_dir).expect("mkdir");
        std::fs::write(pid_dir.join("cgroup"), text).expect("write");
    }

    /// A resolver over `proc_root` with `runtime` and a clock the test moves.
    fn resolver(proc_root: &Path, runtime: Option<FakeRuntime>) -> (ContainerResolver, Rc<Cell<Instant>>) {
        let now = Rc::new(Cell::new(Instant::now()));
        let clock = Rc::clone(&now);
        let runtime = runtime.map(|r| Box::new(r) as Box<dyn ContainerRuntime>);
        let resolver =
            ContainerResolver::new(proc_root.to_path_buf(), runtime).with_clock(move || clock.get());
        (resolver, now)
    }

    #[test]
    fn host_processes_have_no_container_and_ask_nothing() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        proc_with(proc_root.path(), 10, "0::/user.slice/session-1.scope\n");
        let runtime = FakeRuntime::new(Answer::Known);
        let (mut resolver, _) = resolver(proc_root.path(), Some(runtime.clone()));
        assert!(resolver.container_of(10, None).is_none());
        assert!(resolver.container_of(10, Some("session-1.scope")).is_none());
        assert!(resolver.container_of(11, None).is_none(), "a vanished process");
        assert_eq!(runtime.asked(), 0);
    }

    #[test]
    fn the_leaf_names_the_container_and_the_answer_is_remembered() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let runtime = FakeRuntime::new(Answer::Known);
        let (mut resolver, _) = resolver(proc_root.path(), Some(runtime.clone()));
        let leaf = format!("libpod-{ID}.scope");
        let info = resolver.container_of(20, Some(&leaf)).expect("container");
        assert_eq!(
            (info.container.id.as_str(), info.container.name.as_str()),
            (ID, "web")
        );
        assert_eq!(info.init_pid, Some(7003));
        let again = resolver.container_of(21, Some(&leaf)).expect("container");
        assert!(Arc::ptr_eq(&info, &again));
        assert_eq!(*runtime.asked.borrow(), [ID]);
    }

    #[test]
    fn without_a_container_leaf_the_proc_cgroup_file_is_read() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        proc_with(
            proc_root.path(),
            30,
            &format!("0::/machine.slice/libpod-{ID}.scope/container\n"),
        );
        let (mut resolver, _) = resolver(proc_root.path(), Some(FakeRuntime::new(Answer::Known)));
        let by_proc = resolver.container_of(30, None).expect("container");
        assert_eq!(by_proc.container.id, ID);
        let by_sub_cgroup_leaf = resolver.container_of(30, Some("container")).expect("container");
        assert_eq!(by_sub_cgroup_leaf.container.id, ID);
    }

    #[test]
    fn an_unknown_container_is_reported_by_id_and_asked_again_after_the_delay() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let runtime = FakeRuntime::new(Answer::Unknown);
        let (mut resolver, now) = resolver(proc_root.path(), Some(runtime.clone()));
        let leaf = format!("docker-{ID}.scope");
        let info = resolver.container_of(40, Some(&leaf)).expect("container");
        assert_eq!(info.container.id, ID);
        assert_eq!(info.container.runtime, "docker");
        assert_eq!(info.container.name, "05dce14ff6cb");
        assert_eq!(info.init_pid, None);

        runtime.answer.set(Answer::Known);
        now.set(now.get() + RETRY_AFTER - Duration::from_millis(1));
        assert_eq!(
            resolver
                .container_of(40, Some(&leaf))
                .expect("container")
                .container
                .name,
            "05dce14ff6cb"
        );
        assert_eq!(runtime.asked(), 1, "not asked again before the delay");

        now.set(now.get() + Duration::from_millis(1));
        let known = resolver.container_of(40, Some(&leaf)).expect("container");
        assert_eq!(
            (known.container.name.as_str(), known.container.runtime.as_str()),
            ("web", "podman")
        );
        now.set(now.get() + RETRY_AFTER * 10);
        resolver.container_of(40, Some(&leaf)).expect("container");
        assert_eq!(runtime.asked(), 2, "not asked again once known");
        assert_eq!(resolver.api_errors(), 0);
    }

    #[test]
    fn api_failures_are_counted_and_the_last_is_kept() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let runtime = FakeRuntime::new(Answer::Failing);
        let (mut resolver, now) = resolver(proc_root.path(), Some(runtime.clone()));
        assert_eq!(resolver.last_api_error(), None);
        let info = resolver.container_of(50, Some(ID)).expect("container");
        assert_eq!(info.container.id, ID);
        now.set(now.get() + RETRY_AFTER);
        resolver.container_of(50, Some(ID)).expect("container");
        assert_eq!(resolver.api_errors(), 2);
        let last = resolver.last_api_error().expect("an error");
        assert!(last.contains("database is locked") && last.contains(ID), "{last}");
    }

    #[test]
    fn without_a_runtime_containers_are_known_by_id() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let (mut resolver, _) = resolver(proc_root.path(), None);
        let info = resolver
            .container_of(60, Some(&format!("crio-{ID}.scope")))
            .expect("container");
        assert_eq!(
            (info.container.id.as_str(), info.container.runtime.as_str()),
            (ID, "cri-o")
        );
        assert_eq!(resolver.api_errors(), 0);
    }

    #[test]
    fn forgotten_and_evicted_containers_are_asked_again() {
        let proc_root = tempfile::tempdir().expect("tempdir");
        let runtime = FakeRuntime::new(Answer::Known);
        let (mut resolver, _) = resolver(proc_root.path(), Some(runtime.clone()));
        resolver.capacity = 2;
        resolver.container_of(1, Some(ID)).expect("container");
        resolver.forget(ID);
        resolver.container_of(1, Some(ID)).expect("container");
        assert_eq!(runtime.asked(), 2);

        resolver.container_of(2, Some(OTHER)).expect("container");
        resolver.container_of(1, Some(ID)).expect("container"); // OTHER is now the least recent.
        resolver.container_of(3, Some(THIRD)).expect("container");
        assert_eq!(resolver.cache.len(), 2);
        runtime.asked.borrow_mut().clear();
        resolver.container_of(1, Some(ID)).expect("container");
        resolver.container_of(2, Some(OTHER)).expect("container");
        assert_eq!(*runtime.asked.borrow(), [OTHER]);
    }
}
