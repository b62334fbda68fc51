//! The HTTPS server: routes, the admission handler, start-up, reload and shutdown.

use crate::active::{Active, Fingerprint};
use crate::config::{Config, Mode};
use crate::decide::{decide, keep_applicable_patches, Decision, Endpoint, Outcome};
use crate::decision_log::{DecisionLog, LogRecord};
use crate::metrics::{self, Metrics};
use crate::wire::{AdmissionResponse, IncomingReview, Status};
use crate::AdmissionError;
use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use moat_policy::builtin::DigestResolver;
use moat_policy::{EvalError, Evaluation, Operation, Review};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// How the server runs, beyond its configuration.
#[derive(Clone)]
pub struct ServeOptions {
    /// Listen here instead of the configuration's `listen` (`127.0.0.1:0` picks a free port).
    pub listen: Option<SocketAddr>,
    /// How long in-flight requests may take to finish after a shutdown is asked for.
    pub shutdown_grace: Duration,
    /// Looks up image digests for the `resolve-digests` mutation (a registry client); without
    /// one, that mutation reports an error for images it would resolve.
    pub digest_resolver: Option<Arc<dyn DigestResolver>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: None,
            shutdown_grace: Duration::from_secs(10),
            digest_resolver: None,
        }
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("listen", &self.listen)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("digest_resolver", &self.digest_resolver.is_some())
            .finish()
    }
}

/// Runs the webhook until SIGINT or SIGTERM, on a runtime of its own (blocking; for callers
/// without an async runtime, like the `moat` CLI). Async callers use [`Server`].
pub fn serve(config: Config, options: ServeOptions) -> Result<(), AdmissionError> {
    crate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("moat-admission")
        .build()
        .map_err(AdmissionError::Server)?;
    runtime.block_on(async {
        let server = Server::bind(config, options).await?;
        tracing::info!(
            "moat admission webhook listening on https://{}",
            server.local_addr()
        );
        let handle = server.handle();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            handle.shutdown();
        });
        server.run().await
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether the policies are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Readiness {
    Loading,
    Ready,
    Failed,
}

/// A bound, not yet running webhook server.
///
/// ```no_run
/// # async fn example(config: moat_admission::Config) -> Result<(), moat_admission::AdmissionError> {
/// let server = moat_admission::Server::bind(config, Default::default()).await?;
/// let (addr, handle) = (server.local_addr(), server.handle());
/// let running = tokio::spawn(server.run());
/// handle.ready().await; // policies loaded: /validate and /mutate answer
/// // ... send requests to https://{addr}/validate ...
/// handle.shutdown();
/// # Ok(()) }
/// ```
pub struct Server {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    app: Arc<App>,
    tls: RustlsConfig,
    config: Config,
    handle: ServerHandle,
    ready: watch::Sender<Readiness>,
}

/// Controls a [`Server`] from elsewhere: waits for it to be ready, shuts it down.
#[derive(Clone)]
pub struct ServerHandle {
    http: axum_server::Handle<SocketAddr>,
    ready: watch::Receiver<Readiness>,
    grace: Duration,
}

impl ServerHandle {
    /// Asks the server to stop: no new connections; in-flight requests get the grace period.
    pub fn shutdown(&self) {
        self.http.graceful_shutdown(Some(self.grace));
    }

    /// Waits until the policies are loaded (`true`), or their first load failed (`false`,
    /// and [`Server::run`] returns the error).
    pub async fn ready(&self) -> bool {
        let mut ready = self.ready.clone();
        let state = ready
            .wait_for(|state| *state != Readiness::Loading)
            .await
            .map(|state| state.clone());
        matches!(state, Ok(Readiness::Ready))
    }
}

impl Server {
    /// Reads the certificate, opens the decision log and binds the listen address. Policies
    /// are loaded when [`Server::run`] starts, while `/healthz` already answers.
    pub async fn bind(config: Config, options: ServeOptions) -> Result<Server, AdmissionError> {
        crate::install_crypto_provider();
        let tls = RustlsConfig::from_config(crate::tls::server_config(&config.tls)?);
        let log = match &config.decision_log {
            Some(target) => Some(DecisionLog::open(target)?),
            None => None,
        };
        let addr = options.listen.unwrap_or(config.listen);
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| AdmissionError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| AdmissionError::Bind { addr, source })?;
        let (ready, ready_rx) = watch::channel(Readiness::Loading);
        let app = Arc::new(App {
            active: ArcSwapOption::empty(),
            metrics: Metrics::new(),
            log,
            evaluations: Arc::new(Semaphore::new(evaluation_slots())),
            startup_mode: config.mode,
            digest_resolver: options.digest_resolver,
        });
        Ok(Server {
            listener,
            local_addr,
            app,
            tls,
            handle: ServerHandle {
                http: axum_server::Handle::new(),
                ready: ready_rx,
                grace: options.shutdown_grace,
            },
            config,
            ready,
        })
    }

    /// The address the server listens on (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle to wait for readiness and to shut the server down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serves until shut down: loads the policies (a failure of this first load stops the
    /// server and is returned), then polls for changes and reloads while serving.
    pub async fn run(self) -> Result<(), AdmissionError> {
        let Server {
            listener,
            app,
            tls,
            config,
            handle,
            ready,
            ..
        } = self;
        let router = router(app.clone(), config.max_request_bytes);
        let server = axum_server::from_tcp_rustls(listener, tls.clone())
            .map_err(AdmissionError::Server)?
            .handle(handle.http.clone());
        let serving = tokio::spawn(server.serve(router.into_make_service()));
        let (first_config, first_app) = (config.clone(), app.clone());
        let first = tokio::task::spawn_blocking(move || {
            Active::load(&first_config, first_app.digest_resolver.as_ref())
        })
        .await;
        let active = match first {
            Ok(Ok(active)) => active,
            Ok(Err(err)) => return stop_failed(&ready, &handle, serving, err).await,
            Err(join) => {
                let err = AdmissionError::Server(std::io::Error::other(join.to_string()));
                return stop_failed(&ready, &handle, serving, err).await;
            }
        };
        tracing::info!("policies loaded: {}", active.summary);
        app.activate(active);
        ready.send_replace(Readiness::Ready);
        let watcher = (!config.reload_interval.is_zero()).then(|| {
            let reloader = Reloader::new(config.clone(), app.clone(), tls.clone());
            tokio::spawn(reloader.run())
        });
        let result = serving.await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(AdmissionError::Server(err)),
            Err(join) => Err(AdmissionError::Server(std::io::Error::other(join.to_string()))),
        }
    }
}

/// Ends a server whose first policy load failed, and returns that failure.
async fn stop_failed(
    ready: &watch::Sender<Readiness>,
    handle: &ServerHandle,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    err: AdmissionError,
) -> Result<(), AdmissionError> {
    ready.send_replace(Readiness::Failed);
    handle.http.shutdown();
    let _ = serving.await;
    Err(err)
}

/// How many evaluations run at once on the blocking pool; requests beyond wait for a slot
/// within their request timeout. Twice the cores: evaluation is CPU work, and a few extra
/// slots keep cores busy while a request is being parsed or answered.
fn evaluation_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// State shared by every request.
struct App {
    active: ArcSwapOption<Active>,
    metrics: Metrics,
    log: Option<DecisionLog>,
    evaluations: Arc<Semaphore>,
    /// The mode logged for requests rejected before the policies were loaded.
    startup_mode: Mode,
    digest_resolver: Option<Arc<dyn DigestResolver>>,
}

impl App {
    fn activate(&self, active: Active) {
        self.metrics.set_policies_loaded(active.policy_count());
        self.active.store(Some(Arc::new(active)));
    }

    fn mode(&self) -> Mode {
        self.active
            .load()
            .as_ref()
            .map_or(self.startup_mode, |active| active.rules.mode)
    }
}

fn router(app: Arc<App>, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.active.load().as_ref() {
        Some(active) => format!("ready: {}\n", active.summary).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "loading policies\n").into_response(),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
        .into_response()
}

async fn validate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    admit(app, Endpoint::Validate, headers, body).await
}

async fn mutate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    admit(app, Endpoint::Mutate, headers, body).await
}

/// A request answered with an HTTP error instead of an AdmissionReview.
struct Rejection {
    status: StatusCode,
    /// The `kind` label of the errors metric.
    kind: &'static str,
    message: String,
    uid: String,
}

impl Rejection {
    fn new(status: StatusCode, kind: &'static str, message: String) -> Rejection {
        Rejection {
            status,
            kind,
            message,
            uid: String::new(),
        }
    }

    fn with_uid(mut self, uid: &str) -> Rejection {
        self.uid = uid.to_string();
        self
    }
}

async fn admit(
    app: Arc<App>,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    match decide_request(&app, endpoint, &headers, body, started).await {
        Ok(response) => response,
        Err(rejection) => reject(&app, endpoint, rejection, started),
    }
}

fn reject(app: &App, endpoint: Endpoint, rejection: Rejection, started: Instant) -> Response {
    let took = started.elapsed();
    app.metrics.error(rejection.kind);
    app.metrics.decided(endpoint.as_str(), "error", took);
    if let Some(log) = &app.log {
        log.write(&LogRecord::rejected(
            endpoint,
            app.mode(),
            &rejection.uid,
            rejection.status.as_u16(),
            &rejection.message,
            took,
        ));
    }
    tracing::debug!(
        "{} {}: {}",
        endpoint.as_str(),
        rejection.status,
        rejection.message
    );
    (rejection.status, format!("{}\n", rejection.message)).into_response()
}

async fn decide_request(
    app: &Arc<App>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    started: Instant,
) -> Result<Response, Rejection> {
    check_content_type(headers)?;
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_request"
        };
        Rejection::new(
            status,
            kind,
            format!("cannot read the body: {}", rejection.body_text()),
        )
    })?;
    let incoming = IncomingReview::parse(&body).map_err(|err| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("malformed AdmissionReview: {err}"),
        )
    })?;
    let Some(active) = app.active.load_full() else {
        let message = "the policies are not loaded yet".to_string();
        return Err(
            Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message).with_uid(&incoming.uid),
        );
    };
    let review = Review::from_admission_request(&incoming.request).map_err(|err| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("malformed AdmissionReview request: {err}"),
        )
        .with_uid(&incoming.uid)
    })?;
    let review = Arc::new(review);
    let outcome = evaluate(app, &active, endpoint, &review).await;
    let decision = decide(active.rules, outcome);
    let took = started.elapsed();
    record(app, endpoint, active.rules.mode, &review, &decision, took);
    Ok(respond(incoming.uid, decision))
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = value.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    let shown = if value.is_empty() { "none" } else { value };
    Err(Rejection::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("expected Content-Type application/json, got {shown}"),
    ))
}

/// Policy name used for failures of a whole evaluation rather than of one policy.
const ALL_POLICIES: &str = "all policies";

async fn evaluate(app: &App, active: &Arc<Active>, endpoint: Endpoint, review: &Arc<Review>) -> Outcome {
    let user = &review.user_info;
    if let Some(reason) = active
        .exemptions
        .reason(&review.namespace, &user.username, &user.groups)
    {
        return Outcome::Exempt(reason);
    }
    let mutable = matches!(review.operation, Operation::Create | Operation::Update);
    if endpoint == Endpoint::Mutate && !(active.mutation && mutable) {
        return Outcome::Evaluated(Evaluation::default());
    }
    let slots = app.evaluations.clone();
    let (task_active, task_review) = (active.clone(), review.clone());
    let work = async move {
        let slot = slots.acquire_owned().await;
        tokio::task::spawn_blocking(move || {
            // Held until the evaluation ends, even when the request stopped waiting for it.
            let _slot = slot;
            run_policies(&task_active, endpoint, &task_review)
        })
        .await
    };
    match tokio::time::timeout(active.request_timeout, work).await {
        Ok(Ok(evaluation)) => Outcome::Evaluated(evaluation),
        Ok(Err(join)) => Outcome::Failed(EvalError {
            policy: ALL_POLICIES.into(),
            message: format!("the evaluation failed: {join}"),
            timed_out: false,
        }),
        Err(_) => Outcome::Failed(EvalError {
            policy: ALL_POLICIES.into(),
            message: format!(
                "the evaluation did not finish within the request timeout of {}",
                humantime::format_duration(active.request_timeout)
            ),
            timed_out: true,
        }),
    }
}

fn run_policies(active: &Active, endpoint: Endpoint, review: &Review) -> Evaluation {
    match endpoint {
        Endpoint::Validate => active.policies.evaluate(review, &active.inventory),
        Endpoint::Mutate => {
            let mut evaluation = active.policies.mutate(review, &active.inventory);
            keep_applicable_patches(&review.object, &mut evaluation);
            evaluation
        }
    }
}

fn record(app: &App, endpoint: Endpoint, mode: Mode, review: &Review, decision: &Decision, took: Duration) {
    for error in &decision.errors {
        app.metrics.error(if error.timed_out {
            "timeout"
        } else {
            "policy_error"
        });
    }
    app.metrics
        .decided(endpoint.as_str(), decision.verdict.as_str(), took);
    if let Some(log) = &app.log {
        log.write(&LogRecord::decided(endpoint, mode, review, decision, took));
    }
}

fn respond(uid: String, decision: Decision) -> Response {
    let mut response = AdmissionResponse {
        uid,
        allowed: decision.allowed,
        status: decision.message.map(Status::forbidden),
        warnings: decision.warnings,
        patch_type: None,
        patch: None,
    };
    if !decision.patches.is_empty() {
        // Patches are plain data; serializing them to JSON does not fail.
        let operations = serde_json::to_value(&decision.patches).unwrap_or_default();
        response = response.with_patch(&operations);
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        response.into_review().to_string(),
    )
        .into_response()
}

/// Polls the configuration, policy, inventory and certificate files, and swaps in what
/// changed once it loads.
struct Reloader {
    config: Config,
    app: Arc<App>,
    tls: RustlsConfig,
    sources: Fingerprint,
    tls_files: Fingerprint,
}

/// What one poll found.
#[derive(Default)]
struct Poll {
    config_error: Option<AdmissionError>,
    active: Option<Result<Active, AdmissionError>>,
    tls: Option<Result<Arc<rustls::ServerConfig>, AdmissionError>>,
}

impl Reloader {
    fn new(config: Config, app: Arc<App>, tls: RustlsConfig) -> Reloader {
        Reloader {
            sources: Fingerprint::of_sources(&config),
            tls_files: Fingerprint::of_tls(&config),
            config,
            app,
            tls,
        }
    }

    async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.config.reload_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            // File-system calls and policy compilation are blocking work.
            let polled = tokio::task::spawn_blocking(move || {
                let poll = self.poll();
                (self, poll)
            })
            .await;
            match polled {
                Ok((reloader, poll)) => {
                    self = reloader;
                    self.apply(poll);
                }
                Err(err) => {
                    tracing::error!("reload: the poll failed: {err}; reloading stops");
                    return;
                }
            }
        }
    }

    /// Looks for changes and loads what changed (blocking).
    fn poll(&mut self) -> Poll {
        let mut poll = Poll::default();
        let tls_files = Fingerprint::of_tls(&self.config);
        if tls_files != self.tls_files {
            self.tls_files = tls_files;
            poll.tls = Some(crate::tls::server_config(&self.config.tls));
        }
        let sources = Fingerprint::of_sources(&self.config);
        if sources == self.sources {
            return poll;
        }
        // Remembered whatever happens next, so a broken file is reported once, not every poll.
        self.sources = sources;
        let mut config = self.config.clone();
        if let Some(path) = &self.config.source {
            match Config::load(path) {
                Ok(new) => {
                    warn_fixed_settings(&self.config, &new);
                    config = new;
                }
                Err(err) => {
                    poll.config_error = Some(err.into());
                    return poll;
                }
            }
        }
        poll.active = Some(Active::load(&config, self.app.digest_resolver.as_ref()));
        if poll.active.as_ref().is_some_and(Result::is_ok) {
            // Watch what the new configuration names from now on.
            self.sources = Fingerprint::of_sources(&config);
            self.config = config;
        }
        poll
    }

    fn apply(&self, poll: Poll) {
        if let Some(result) = poll.tls {
            match result {
                Ok(server_config) => {
                    self.tls.reload_from_config(server_config);
                    self.app.metrics.reloaded(true);
                    tracing::info!("reloaded the serving certificate");
                }
                Err(err) => self.failed("the serving certificate", &err),
            }
        }
        if let Some(err) = &poll.config_error {
            self.failed("the configuration", err);
        }
        match poll.active {
            Some(Ok(active)) => {
                tracing::info!("reloaded the policies: {}", active.summary);
                self.app.activate(active);
                self.app.metrics.reloaded(true);
            }
            Some(Err(err)) => self.failed("the policies", &err),
            None => {}
        }
    }

    fn failed(&self, what: &str, err: &AdmissionError) {
        self.app.metrics.reloaded(false);
        tracing::error!("reload of {what} rejected, the previous one stays active: {err}");
    }
}

fn warn_fixed_settings(old: &Config, new: &Config) {
    let fixed = [
        ("listen", old.listen != new.listen),
        ("decisionLog", old.decision_log != new.decision_log),
        ("maxRequestBytes", old.max_request_bytes != new.max_request_bytes),
        ("reloadInterval", old.reload_interval != new.reload_interval),
    ];
    for (field, changed) in fixed {
        if changed {
            tracing::warn!("configuration field `{field}` changed: it takes effect on restart");
        }
    }
}
