//! The eBPF source: the tracepoint programs of `bpf/moat.bpf.c`, compiled by clang at build
//! time and embedded here, loaded with aya (CO-RE relocation against the kernel's BTF),
//! attached to the syscalls of [`syscalls::TRACED`] and the process life-cycle tracepoints,
//! and read through one ring buffer.

mod decode;
mod syscalls;

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::TracePoint;
use aya::{Ebpf, EbpfLoader};
use nix::poll::{PollFd, PollFlags, PollTimeout};

pub use decode::{decode, DecodeError};

use super::{realtime_minus_monotonic_ns, EventSource, KernelEvent, SourceError, SourceStats};

const NAME: &str = "ebpf";

/// The compiled programs (empty when the build had no clang).
static PROGRAM: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/moat.bpf.o"));

/// Where tracefs is mounted, or may be mounted.
const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Kernel events from the eBPF tracepoint programs.
pub struct EbpfSource {
    // Owns the loaded programs and their links: dropping it detaches them.
    _programs: Ebpf,
    ring: RingBuf<MapData>,
    drops: PerCpuArray<MapData, u64>,
    boot_offset_ns: u64,
    stats: SourceStats,
    undecodable: u64,
    missing_tracepoints: Vec<String>,
    /// Records the last poll delivered.
    last_batch: usize,
}

/// A batch this large means the ring is busy: poll again at once.
const BATCH_ENOUGH: usize = 256;
/// How long a quiet ring is left to gather events between polls.
const GATHER_PAUSE: Duration = Duration::from_millis(10);

impl EbpfSource {
    /// Loads and attaches the programs. Fails with [`SourceError::Unavailable`] naming what is
    /// missing: a build without clang, an architecture without a syscall table, no tracefs, no
    /// privilege to load programs, or the verifier's refusal (with its log).
    pub fn open() -> Result<EbpfSource, SourceError> {
        if PROGRAM.is_empty() {
            return Err(unavailable(
                "this moat was built without clang, so it carries no eBPF programs".to_string(),
            ));
        }
        if syscalls::TRACED.is_empty() {
            return Err(unavailable(format!(
                "no syscall table for {} is built in",
                std::env::consts::ARCH
            )));
        }
        ensure_tracefs()?;
        let own_pid = std::process::id();
        #[allow(deprecated)] // `override_global` is the same call under its newer name
        let mut programs = EbpfLoader::new()
            .set_global("moat_tgid", &own_pid, true)
            .load(PROGRAM)
            .map_err(|error| unavailable(format!("loading the programs failed: {error}")))?;
        write_specs(&mut programs)?;
        let missing_tracepoints = attach_all(&mut programs)?;
        let ring = take_map(&mut programs, "events", RingBuf::try_from)?;
        let drops = take_map(&mut programs, "drops", PerCpuArray::try_from)?;
        Ok(EbpfSource {
            _programs: programs,
            ring,
            drops,
            // The programs stamp events with bpf_ktime_get_ns (CLOCK_MONOTONIC).
            boot_offset_ns: realtime_minus_monotonic_ns()
                .ok()
                .and_then(|offset| u64::try_from(offset).ok())
                .unwrap_or(0),
            stats: SourceStats::default(),
            undecodable: 0,
            missing_tracepoints,
            last_batch: 0,
        })
    }

    /// Records the programs wrote that could not be decoded (none unless the programs and
    /// this decoder disagree).
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    fn kernel_drops(&self) -> u64 {
        self.drops
            .get(&0, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }
}

impl EventSource for EbpfSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn limitations(&self) -> Vec<String> {
        self.missing_tracepoints
            .iter()
            .map(|tracepoint| format!("tracepoint {tracepoint} is missing on this kernel"))
            .collect()
    }

    fn poll(&mut self, timeout: Duration, out: &mut Vec<KernelEvent>) -> Result<(), SourceError> {
        if self.last_batch < BATCH_ENOUGH {
            // Few events came last time: let them gather for a moment instead of waking for
            // each one (a wake-up costs more than handling an event). Alerts are late by at
            // most this pause; a busy ring skips it.
            std::thread::sleep(GATHER_PAUSE);
        }
        let before = out.len();
        if !self.drain(out) {
            let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.ring.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(millis)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(errno) => {
                    return Err(SourceError::Io {
                        source_name: NAME,
                        context: "waiting for the ring buffer",
                        error: errno.into(),
                    })
                }
            }
            self.drain(out);
        }
        self.last_batch = out.len() - before;
        Ok(())
    }

    /// Drops are read from the programs' per-CPU counter when asked, not on every poll.
    fn stats(&self) -> SourceStats {
        SourceStats {
            dropped: self.kernel_drops(),
            ..self.stats
        }
    }
}

impl EbpfSource {
    /// Moves every waiting record into `out`; true when there was any.
    fn drain(&mut self, out: &mut Vec<KernelEvent>) -> bool {
        let mut any = false;
        while let Some(item) = self.ring.next() {
            any = true;
            match decode(&item, self.boot_offset_ns) {
                Ok(event) => {
                    self.stats.received += 1;
                    out.push(event);
                }
                Err(_) => self.undecodable += 1,
            }
        }
        any
    }
}

fn unavailable(reason: String) -> SourceError {
    SourceError::Unavailable {
        source_name: NAME,
        reason,
    }
}

/// Tracepoints need tracefs; mount it where the kernel offers the mount point but nobody
/// mounted it (a bare VM or a container with /sys from the host).
fn ensure_tracefs() -> Result<(), SourceError> {
    let mounted = |dir: &str| Path::new(dir).join("events").is_dir();
    if mounted(TRACEFS) || mounted(DEBUGFS_TRACING) {
        return Ok(());
    }
    nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|errno| {
        unavailable(format!(
            "tracefs is not mounted and mounting it at {TRACEFS} failed: {errno}"
        ))
    })
}

fn write_specs(programs: &mut Ebpf) -> Result<(), SourceError> {
    let map = programs
        .map_mut("specs")
        .ok_or_else(|| unavailable("the programs have no `specs` map".to_string()))?;
    let mut specs: BpfHashMap<_, i32, u64> =
        BpfHashMap::try_from(map).map_err(|error| unavailable(format!("the `specs` map: {error}")))?;
    for traced in syscalls::TRACED {
        specs
            .insert(traced.nr, traced.spec(), 0)
            .map_err(|error| unavailable(format!("writing the `specs` map: {error}")))?;
    }
    Ok(())
}

/// Attaches every program; returns the tracepoints this kernel lacks (a syscall it does not
/// have, such as `openat2` before 5.6), which are reported, not fatal.
fn attach_all(programs: &mut Ebpf) -> Result<Vec<String>, SourceError> {
    let mut missing = Vec::new();
    let mut enter = Vec::new();
    let mut exit = Vec::new();
    for traced in syscalls::TRACED {
        enter.push(format!("sys_enter_{}", traced.name));
        exit.push(format!("sys_exit_{}", traced.name));
    }
    let forks: Vec<String> = syscalls::FORKS
        .iter()
        .map(|name| format!("sys_exit_{name}"))
        .collect();
    let plan: [(&str, &str, &[String]); 5] = [
        ("moat_sys_enter", "syscalls", &enter),
        ("moat_sys_exit", "syscalls", &exit),
        ("moat_fork_exit", "syscalls", &forks),
        ("moat_exec", "sched", &["sched_process_exec".to_string()]),
        ("moat_exit", "sched", &["sched_process_exit".to_string()]),
    ];
    for (program_name, category, tracepoints) in plan {
        let program: &mut TracePoint = programs
            .program_mut(program_name)
            .ok_or_else(|| unavailable(format!("the programs have no `{program_name}`")))?
            .try_into()
            .map_err(|error| unavailable(format!("`{program_name}`: {error}")))?;
        program
            .load()
            .map_err(|error| unavailable(format!("loading `{program_name}`: {error}")))?;
        for tracepoint in tracepoints {
            let exists = [TRACEFS, DEBUGFS_TRACING].iter().any(|root| {
                Path::new(root)
                    .join("events")
                    .join(category)
                    .join(tracepoint)
                    .is_dir()
            });
            if !exists {
                missing.push(format!("{category}/{tracepoint}"));
                continue;
            }
            program.attach(category, tracepoint).map_err(|error| {
                unavailable(format!(
                    "attaching `{program_name}` to {category}/{tracepoint}: {error:?}"
                ))
            })?;
        }
    }
    Ok(missing)
}

fn take_map<M, E: std::fmt::Display>(
    programs: &mut Ebpf,
    name: &str,
    convert: impl FnOnce(aya::maps::Map) -> Result<M, E>,
) -> Result<M, SourceError> {
    let map = programs
        .take_map(name)
        .ok_or_else(|| unavailable(format!("the programs have no `{name}` map")))?;
    convert(map).map_err(|error| unavailable(format!("the `{name}` map: {error}")))
}
