//! A small load generator for the admission webhook: POSTs one AdmissionReview at a constant
//! arrival rate over HTTPS and prints what it measured.
//!
//! ```text
//! cargo run --release -p moat-admission --example load -- \
//!     --url https://127.0.0.1:8443/validate --ca certs/ca.crt --body review.json \
//!     --rps 500 --duration 30s --concurrency 64
//! ```
//!
//! Requests are scheduled at fixed times (open model). A request waits for one of the
//! `--concurrency` connections-in-flight slots, and its latency is counted from its scheduled
//! time, so a server that falls behind shows in the percentiles instead of slowing the
//! schedule down.

use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Parser, Debug)]
#[command(about = "Constant-rate load on an admission webhook")]
struct Args {
    /// The endpoint (https://HOST:PORT/validate or /mutate).
    #[arg(long)]
    url: String,
    /// PEM file of the CA to trust (the webhook's `ca.crt`).
    #[arg(long)]
    ca: PathBuf,
    /// File holding the AdmissionReview JSON to send.
    #[arg(long)]
    body: PathBuf,
    /// Requests per second.
    #[arg(long, default_value_t = 500)]
    rps: u32,
    /// How long to send (30s, 1m).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// What one request ended as.
enum Sample {
    Ok(Duration),
    Failed(Duration, String),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.rps == 0 || args.concurrency == 0 {
        return Err("--rps and --concurrency must be more than zero".into());
    }
    let ca = std::fs::read(&args.ca).map_err(|e| format!("{}: {e}", args.ca.display()))?;
    let body = std::fs::read(&args.body).map_err(|e| format!("{}: {e}", args.body.display()))?;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(10))
        .build()?;
    let total = (args.duration.as_secs_f64() * f64::from(args.rps)).round() as u64;
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rps));
    let slots = Arc::new(Semaphore::new(args.concurrency));
    // `Bytes` clones share one buffer.
    let body = axum::body::Bytes::from(body);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for index in 0..total {
        let scheduled = started + period.mul_f64(index as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, url, body, slots) = (client.clone(), args.url.clone(), body.clone(), slots.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            send(&client, &url, body).await.map_or_else(
                |err| Sample::Failed(scheduled.elapsed(), err),
                |()| Sample::Ok(scheduled.elapsed()),
            )
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = Vec::new();
    for task in tasks {
        match task.await? {
            Sample::Ok(latency) => latencies.push(latency),
            Sample::Failed(latency, err) => {
                latencies.push(latency);
                errors.push(err);
            }
        }
    }
    let elapsed = started.elapsed();
    report(&args, total, &errors, elapsed, &mut latencies);
    Ok(())
}

async fn send(client: &reqwest::Client, url: &str, body: axum::body::Bytes) -> Result<(), String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let text = response.bytes().await.map_err(|err| err.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&text)));
    }
    if !text.starts_with(b"{") {
        return Err("the response is not an AdmissionReview".into());
    }
    Ok(())
}

fn report(args: &Args, total: u64, errors: &[String], elapsed: Duration, latencies: &mut [Duration]) {
    // Sorting the samples is exact and cheap for the counts a run makes (tens of thousands),
    // so no histogram crate.
    latencies.sort_unstable();
    let percentile = |p: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1].as_secs_f64() * 1000.0
    };
    println!(
        "target       {} rps for {}",
        args.rps,
        humantime::format_duration(args.duration)
    );
    println!("requests     {total}");
    println!("errors       {}", errors.len());
    println!("achieved     {:.1} rps", total as f64 / elapsed.as_secs_f64());
    println!(
        "latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(50.0),
        percentile(90.0),
        percentile(99.0),
        percentile(100.0)
    );
    if let Some(first) = errors.first() {
        println!("first error  {first}");
    }
}
