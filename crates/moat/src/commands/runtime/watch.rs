//! `moat runtime watch` and `moat runtime record`: start a kernel event source (eBPF, or the
//! proc connector and fanotify where eBPF cannot load), attribute events to processes and
//! containers, and send alerts (or every event) where the user asked.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use moat_rules::Priority;
use moat_runtime::agent::{open_source, Agent, AgentParts, OpenedSource, SourceChoice, DEFAULT_RULES_NAME};
use moat_runtime::container::{ContainerResolver, ContainerRuntime, DockerApi};
use moat_runtime::detect::{DetectConfig, Detectors};
use moat_runtime::respond::{JsonLinesSink, Killer, RateLimiter, Responder, Sink, SyslogSink, WebhookSink};
use moat_runtime::state::{kernel_hostname, State, StateOptions};
use moat_runtime::RecordingWriter;

use super::parse_priority;

/// Which kernel event source to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// eBPF where it loads, else the proc connector and fanotify.
    Auto,
    /// eBPF tracepoints only.
    Ebpf,
    /// The netlink proc connector and fanotify only.
    Fallback,
}

/// Options shared by `watch` and `record`.
#[derive(Debug, Args)]
pub struct SourceOptions {
    /// The kernel event source.
    #[arg(long, value_enum, default_value = "auto")]
    pub source: SourceArg,
    /// The container runtime's Docker-compatible API socket (Docker or `podman system
    /// service`); by default $DOCKER_HOST, $CONTAINER_HOST, /run/podman/podman.sock or
    /// /var/run/docker.sock, the first that exists.
    #[arg(long, value_name = "SOCKET")]
    pub container_api: Option<PathBuf>,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
}

/// Arguments of `moat runtime watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Rule files in Falco's format, in load order; reloaded when they change or on SIGHUP.
    /// Without any, Moat's built-in rules run.
    #[arg(long = "rules", short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Detector settings (drift, process baseline, network allow-list, file integrity) as
    /// YAML; by default drift detection only.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only alerts at or above this priority (emergency … debug).
    #[arg(long, default_value = "debug", value_parser = parse_priority)]
    pub min_priority: Priority,
    /// Append alerts to this file (JSON lines) instead of printing them.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Also POST each alert as JSON to this URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Also send each alert to syslog: a Unix socket path (`/dev/log`) or `udp://HOST:PORT`.
    #[arg(long, value_name = "TARGET")]
    pub syslog: Option<String>,
    /// At most this many alerts per second per rule (with a burst of --rate-burst).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate_limit: Option<f64>,
    /// The burst the rate limit allows.
    #[arg(long, default_value = "10")]
    pub rate_burst: u32,
    /// Kill the offending process for alerts at or above this priority (off by default).
    #[arg(long, value_name = "PRIORITY", value_parser = parse_priority)]
    pub kill: Option<Priority>,
    /// The event source and how long to watch.
    #[command(flatten)]
    pub source: SourceOptions,
}

/// Arguments of `moat runtime record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write the events (JSON lines).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The event source and how long to record.
    #[command(flatten)]
    pub source: SourceOptions,
}

/// Runs `moat runtime watch`.
pub fn run_watch(args: &WatchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let detect_config = match &args.config {
        Some(path) => DetectConfig::load(path).map_err(|error| anyhow::anyhow!("{error}"))?,
        None => DetectConfig::default(),
    };
    let responder = build_responder(args)?;
    let opened = start_source(&args.source, quiet)?;
    let parts = AgentParts {
        state: build_state(&args.source, quiet),
        rule_paths: args.rules.clone(),
        builtin_rules: true,
        min_priority: args.min_priority,
        detectors: Detectors::new(&detect_config, PathBuf::from("/proc"))
            .map_err(|error| anyhow::anyhow!("{error}"))?,
        responder,
        recorder: None,
    };
    let mut agent = Agent::start(opened.source, parts).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    if !quiet {
        let origin = match args.rules.len() {
            0 => DEFAULT_RULES_NAME.to_string(),
            count => format!("{count} file(s)"),
        };
        eprintln!(
            "moat: {} rules from {origin}; alerts at or above {}",
            agent.rules().rules().len(),
            args.min_priority.as_str()
        );
    }
    run_until_stopped(&mut agent, &args.source, quiet)?;
    if !quiet {
        print_summary(&agent);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `moat runtime record`.
pub fn run_record(args: &RecordArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let file = File::create(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    let writer: Box<dyn Write> = Box::new(BufWriter::new(file));
    let opened = start_source(&args.source, quiet)?;
    let parts = AgentParts {
        state: build_state(&args.source, quiet),
        rule_paths: Vec::new(),
        builtin_rules: false,
        min_priority: Priority::Emergency,
        detectors: Detectors::new(&DetectConfig::disabled(), PathBuf::from("/proc"))
            .map_err(|error| anyhow::anyhow!("{error}"))?,
        responder: Responder::new(Vec::new(), None, None),
        recorder: Some(RecordingWriter::new(writer)),
    };
    let mut agent = Agent::start(opened.source, parts).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    run_until_stopped(&mut agent, &args.source, quiet)?;
    if !quiet {
        print_summary(&agent);
    }
    Ok(ExitCode::SUCCESS)
}

fn start_source(options: &SourceOptions, quiet: bool) -> anyhow::Result<OpenedSource> {
    let choice = match options.source {
        SourceArg::Auto => SourceChoice::Auto,
        SourceArg::Ebpf => SourceChoice::Ebpf,
        SourceArg::Fallback => SourceChoice::Fallback,
    };
    let opened = open_source(choice).context("starting a kernel event source")?;
    if !quiet {
        if let Some(reason) = &opened.ebpf_unavailable {
            eprintln!("moat: eBPF not in use: {reason}");
        }
        eprintln!("moat: event source: {}", opened.source.name());
        for limitation in opened.source.limitations() {
            eprintln!("moat:   cannot see: {limitation}");
        }
    }
    Ok(opened)
}

fn build_state(options: &SourceOptions, quiet: bool) -> State {
    let api = match &options.container_api {
        Some(socket) => Some(DockerApi::new(socket.clone())),
        None => DockerApi::discover(),
    };
    if !quiet {
        match &api {
            Some(api) => eprintln!(
                "moat: container runtime API: {} at {}",
                api.name(),
                api.socket().display()
            ),
            None => eprintln!("moat: no container runtime API found: containers are named by their id only"),
        }
    }
    let runtime = api.map(|api| Box::new(api) as Box<dyn ContainerRuntime>);
    let resolver = ContainerResolver::new(PathBuf::from("/proc"), runtime);
    let options = StateOptions {
        hostname: kernel_hostname(),
        ..StateOptions::default()
    };
    State::new(options, Box::new(resolver))
}

fn build_responder(args: &WatchArgs) -> anyhow::Result<Responder> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    match &args.output {
        Some(path) => sinks.push(Box::new(
            JsonLinesSink::file(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => sinks.push(Box::new(JsonLinesSink::stdout())),
    }
    if let Some(url) = &args.webhook {
        sinks.push(Box::new(
            WebhookSink::new(url, Duration::from_secs(5)).context("--webhook")?,
        ));
    }
    if let Some(target) = &args.syslog {
        sinks.push(Box::new(syslog_sink(target)?));
    }
    let limiter = args
        .rate_limit
        .map(|rate| RateLimiter::new(rate, args.rate_burst));
    let killer = args.kill.map(Killer::new);
    Ok(Responder::new(sinks, limiter, killer))
}

fn syslog_sink(target: &str) -> anyhow::Result<SyslogSink> {
    if let Some(address) = target.strip_prefix("udp://") {
        return SyslogSink::udp(address).with_context(|| format!("--syslog {target}"));
    }
    SyslogSink::unix(Path::new(target)).with_context(|| format!("--syslog {target}"))
}

fn run_until_stopped(agent: &mut Agent, options: &SourceOptions, quiet: bool) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("handling signals")?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .context("handling SIGHUP")?;
    let until = options
        .duration
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let mut notice = |message: &str| {
        if !quiet {
            eprintln!("moat: {message}");
        }
    };
    agent
        .run(&stop, &reload, until, &mut notice)
        .context("reading kernel events")?;
    Ok(())
}

fn print_summary(agent: &Agent) {
    let stats = agent.stats();
    let source = agent.source().stats();
    let responses = agent.responder().stats();
    eprintln!(
        "moat: {} kernel events ({} dropped), {} events, {} alerts ({} rate-limited, {} sink errors, {} killed), {} rule reloads ({} failed)",
        stats.kernel_events,
        source.dropped,
        stats.events,
        stats.alerts,
        responses.suppressed,
        responses.sink_errors,
        responses.killed,
        stats.reloads,
        stats.failed_reloads,
    );
    for (count, what, last) in [
        (
            stats.detector_errors,
            "detector errors",
            &stats.last_detector_error,
        ),
        (
            stats.source_warnings,
            "container watch errors",
            &stats.last_source_warning,
        ),
    ] {
        if let Some(last) = last {
            eprintln!("moat: {count} {what}, the last: {last}");
        }
    }
    if let Some(error) = &stats.last_reload_error {
        eprintln!("moat: the last rule reload failed, the previous rules stayed in force: {error}");
    }
}
