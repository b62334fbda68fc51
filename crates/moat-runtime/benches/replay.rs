//! Matching a realistic mixed event stream against Falco's default rules.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use moat_rules::{Event, FieldExpr, FieldValue, Ruleset, Scratch};
use moat_runtime::{replay, Args, RecordingReader, RecordingWriter, RuntimeEvent};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;

const EVENTS: usize = 10_000;

/// The default rules, or `None` (with a message) when the shared data is absent.
fn falco_rules() -> Option<Ruleset> {
    let root = moat_testkit::shared::shared_root();
    let path = root.join("conformance/falco/rules/falco_rules.yaml");
    if !path.is_file() {
        println!("skipped: {} is missing", path.display());
        return None;
    }
    Some(Ruleset::load(&[PathBuf::from(&path)]).expect("falco_rules.yaml loads"))
}

const PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/etc/ld.so.cache",
    "/proc/self/status",
    "/var/log/app/app.log",
    "/srv/app/config.yaml",
    "/tmp/cache/blob-0001",
    "/usr/share/zoneinfo/UTC",
    "/home/app/.cache/pip/http/x",
];

const EXECS: &[(&str, &str, &[&str])] = &[
    ("ls", "/usr/bin/ls", &["-la"]),
    ("grep", "/usr/bin/grep", &["-r", "TODO", "."]),
    ("python3", "/usr/bin/python3", &["manage.py", "migrate"]),
    ("curl", "/usr/bin/curl", &["-s", "http://localhost/health"]),
    ("sh", "/bin/sh", &["-c", "date"]),
];

/// Event `i` of the stream: 60% opens, 15% execs, 10% connects/accepts, 15% other syscalls.
fn stream_event(i: usize) -> RuntimeEvent {
    let num = i as u64;
    let parent = summary(4000, "node", "/usr/bin/node", &["server.js"]);
    let app = || {
        process(
            4242,
            "node",
            "/usr/bin/node",
            &["server.js"],
            vec![summary(
                1,
                "containerd-shim",
                "/usr/bin/containerd-shim-runc-v2",
                &[],
            )],
        )
    };
    let mut event = match i % 20 {
        0..=11 => {
            let flags = if i.is_multiple_of(3) {
                "O_WRONLY|O_CREAT|O_APPEND"
            } else {
                "O_RDONLY|O_CLOEXEC"
            };
            open(num, app(), PATHS[i % PATHS.len()], flags)
        }
        12..=14 => {
            let (name, path, args) = EXECS[i % EXECS.len()];
            let mut args_ = Args::default();
            args_.push("exe", path);
            event(
                num,
                "execve",
                process(5000 + num, name, path, args, vec![parent]),
                args_,
            )
        }
        15 | 16 => connect(num),
        17 => {
            let mut accept = connect(num);
            accept.event_type = "accept4".into();
            accept.fd.as_mut().expect("fd").is_server = true;
            accept
        }
        other => {
            let kind = ["close", "mmap", "read"][other % 3];
            event(num, kind, app(), Args::default())
        }
    };
    if !i.is_multiple_of(4) {
        event.container = Some(container().into());
    }
    event
}

/// An event that counts the field extractions the rule engine asks of it.
struct Counting<'e> {
    event: &'e RuntimeEvent,
    calls: std::cell::RefCell<BTreeMap<String, usize>>,
}

impl Event for Counting<'_> {
    fn event_type(&self) -> &str {
        self.event.event_type()
    }

    fn field(&self, field: &FieldExpr) -> Option<FieldValue<'_>> {
        *self.calls.borrow_mut().entry(field.name.clone()).or_default() += 1;
        self.event.field(field)
    }
}

/// Prints how many field extractions one pass over `events` makes, and the commonest.
fn report_extractions(rules: &Ruleset, events: &[RuntimeEvent]) {
    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    for event in events {
        let counting = Counting {
            event,
            calls: Default::default(),
        };
        rules.matching(&counting);
        for (name, count) in counting.calls.into_inner() {
            *total.entry(name).or_default() += count;
        }
    }
    let sum: usize = total.values().sum();
    let mut top: Vec<(String, usize)> = total.into_iter().collect();
    top.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    top.truncate(8);
    println!(
        "{:.1} field extractions per event; commonest: {top:?}",
        sum as f64 / events.len() as f64
    );
}

/// How many enabled rules `Ruleset::matching` evaluates for an event of this type.
fn candidate_rules(rules: &Ruleset, event_type: &str) -> usize {
    rules
        .enabled_rules()
        .filter(|rule| {
            rule.condition
                .event_types()
                .is_none_or(|types| types.contains(event_type))
        })
        .count()
}

/// The events written to a recording in memory.
fn recording_of(events: &[RuntimeEvent]) -> Vec<u8> {
    let mut writer = RecordingWriter::new(Vec::new());
    for event in events {
        writer.write(event).expect("records");
    }
    writer.into_inner().expect("flushes")
}

/// One pass of the rules over `events`, counting matches.
fn match_all(rules: &Ruleset, events: &[RuntimeEvent], scratch: &mut Scratch) -> usize {
    let mut matched = 0usize;
    for event in events {
        rules.matching_with(black_box(event), scratch, |_| matched += 1);
    }
    matched
}

fn bench_replay(c: &mut Criterion) {
    let Some(rules) = falco_rules() else { return };
    let built: Vec<RuntimeEvent> = (0..EVENTS).map(stream_event).collect();
    let recording = recording_of(&built);
    let recorded: Vec<RuntimeEvent> = RecordingReader::new(&recording[..])
        .collect::<Result<_, _>>()
        .expect("reads back");
    assert_eq!(recorded, built);
    let alerts: usize = recorded.iter().map(|e| rules.matching(e).len()).sum();
    println!("{} events, {alerts} alerts per pass", recorded.len());
    println!(
        "recording: {} bytes, {} per event",
        recording.len(),
        recording.len() / recorded.len()
    );
    for event_type in ["openat", "execve", "connect", "accept4", "close", "mmap", "read"] {
        println!(
            "rules evaluated for {event_type}: {}",
            candidate_rules(&rules, event_type)
        );
    }
    report_extractions(&rules, &recorded);
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let mut scratch = Scratch::new();
    // Recorded events, read back into memory first, matched one after the other: 10,000
    // events do not stay in the caches between passes.
    group.bench_function("falco_rules_recorded_10k", |b| {
        b.iter(|| black_box(match_all(&rules, &recorded, &mut scratch)))
    });
    // The same events as built, each with its own copy of its process and container (no
    // source or recording makes these; the worst case for memory).
    group.bench_function("falco_rules_unshared_10k", |b| {
        b.iter(|| black_box(match_all(&rules, &built, &mut scratch)))
    });
    // The same mix, 100 events at a time: each event is matched while it is in cache, as
    // when a live source or a recording reader has just made it.
    let window = &recorded[..100];
    group.bench_function("falco_rules_mixed_in_cache", |b| {
        b.iter(|| {
            let passes = EVENTS / window.len();
            black_box(
                (0..passes)
                    .map(|_| match_all(&rules, window, &mut scratch))
                    .sum::<usize>(),
            )
        })
    });
    // The whole replay, as `moat runtime replay` does it: each line of the recording
    // parsed, then matched.
    group.bench_function("recording_parse_and_match_10k", |b| {
        b.iter(|| {
            let reader = RecordingReader::new(black_box(&recording[..]));
            let stats = replay(reader, &rules, |_| {}).expect("replays");
            black_box(stats.alerts)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
