//! Readiness as a service (feature `server`): an [axum] router that runs a [`Plan`] on request,
//! with a result cache and one run at a time, however many requests arrive.
//!
//! | path | answers |
//! |---|---|
//! | `/healthz`, `/readyz` | `200 ready` or `503 not ready: …` (the blocking items, and the rule of each); `?verbose` lists every item |
//! | `/livez` | `200 ok` while the process serves (for a liveness probe that must not restart a not-ready node) |
//! | `/report` | the report, by `Accept`: JSON (default), Markdown, JUnit XML, Prometheus text, reStructuredText, TAP; or `?format=` |
//! | `/metrics` | the report in Prometheus text format plus the server's own counters |
//!
//! With a [bearer token](ServerConfig::bearer_token), `/report`, `/metrics` and
//! `?verbose` answer `401` without `Authorization: Bearer <token>`, while `/healthz`,
//! `/readyz` and `/livez` stay open and reveal the status only (`ready` / `not ready`, no
//! item, reason or target).
//!
//! A run never outlives [`ServerConfig::run_deadline`] (default 50 s, below the default
//! request timeout): probes still running are cut at the deadline and become errors, items not
//! started are skipped "run deadline passed", and the report is published. Should a probe not
//! even yield to that (a blocking call), the run is abandoned a grace period later and a
//! not-ready report saying so is published: no request waits on a hung probe forever. (A probe
//! that blocks a runtime worker without `spawn_blocking` or `block_in_place` can starve any
//! async runtime, this server's included: blocking work belongs on `spawn_blocking`.)
//!
//! Every answer comes from a cached report no older than [`ServerConfig::cache_ttl`] (default
//! 5 s). When the cache is stale, the first request starts a run in a background task and every
//! request that arrives meanwhile waits for that same run: there is never more than one run at a
//! time. Requests are bounded: at most [`ServerConfig::max_concurrent_requests`] are served at
//! once (others get 503 with `Retry-After`), and a request that waits longer than
//! [`ServerConfig::request_timeout`] gets 504 while the run goes on for the next request.
//! Reports hold no secret (the runner redacts them), so no answer does either.
//!
//! Serve it with [`serve`]: it caps connections, times out clients that send no request head
//! or go idle, bounds request heads, and on shutdown drains requests in flight for a bounded
//! time ([`ServeOptions`]). A bare `axum::serve` has none of these limits.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use nexus_readiness::run::{Plan, Runner};
//! use nexus_readiness::server::{ReadinessService, ServeOptions, ServerConfig, serve};
//!
//! let plan = Plan::new(nexus_readiness::builtin::nexus());
//! let service = ReadinessService::new(plan, Runner::builder().build(), ServerConfig::default());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:9464").await?;
//! serve(listener, service.router(), ServeOptions::default(), std::future::pending()).await
//! # }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::probe::Secret;
use crate::report::{Format, Report};
use crate::run::{Plan, Runner};

mod conn;

pub use conn::{ServeOptions, serve};

/// How long past its deadline a run may take to wind down before it is abandoned.
const ABANDON_GRACE: Duration = Duration::from_secs(2);

/// Settings of a [`ReadinessService`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How long a report is served before the next request runs the plan again (default 5 s).
    pub cache_ttl: Duration,
    /// How long a request waits for a run before it gets 504 (default 60 s).
    pub request_timeout: Duration,
    /// Requests served at once; more get 503 with `Retry-After: 1` (default 64).
    pub max_concurrent_requests: usize,
    /// The hard deadline of one run (default 50 s): keep it below the request timeout so a
    /// request always gets the run's report, never a 504, however long a probe hangs.
    pub run_deadline: Duration,
    /// The token `/report`, `/metrics` and `?verbose` require (`Authorization: Bearer ...`);
    /// none by default. Never printed: its `Debug` is redacted.
    pub bearer_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cache_ttl: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 64,
            run_deadline: Duration::from_secs(50),
            bearer_token: None,
        }
    }
}

impl ServerConfig {
    /// Sets the cache lifetime.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the cap on requests served at once.
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }

    /// Sets the hard deadline of one run.
    pub fn run_deadline(mut self, deadline: Duration) -> Self {
        self.run_deadline = deadline;
        self
    }

    /// Puts `/report`, `/metrics` and `?verbose` behind a bearer token; an empty token is
    /// ignored.
    pub fn bearer_token(mut self, token: Secret) -> Self {
        self.bearer_token = (!token.expose().is_empty()).then_some(token);
        self
    }
}

struct Cached {
    at: Instant,
    report: Arc<Report>,
}

#[derive(Default)]
struct CacheState {
    cached: Option<Cached>,
    inflight: Option<watch::Receiver<Option<Arc<Report>>>>,
}

struct Inner {
    plan: Plan,
    runner: Runner,
    config: ServerConfig,
    state: Mutex<CacheState>,
    requests: Semaphore,
    runs: AtomicU64,
    cache_hits: AtomicU64,
    rejected: AtomicU64,
    last_run_seconds: Mutex<f64>,
    /// The Prometheus text of the last report served on `/metrics`: scrapes between two runs
    /// reuse it instead of rendering the same report again.
    metrics_text: Mutex<Option<(Arc<Report>, Arc<str>)>>,
}

/// Serves a plan's readiness over HTTP. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct ReadinessService {
    inner: Arc<Inner>,
}

impl fmt::Debug for ReadinessService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadinessService")
            .field("checklist", &self.inner.plan.checklist().id)
            .field("config", &self.inner.config)
            .field("runs", &self.runs())
            .finish()
    }
}

/// Why a request got no report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unavailable {
    Busy,
    TimedOut,
    RunFailed,
}

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Unavailable::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy: too many concurrent requests\n"),
            Unavailable::TimedOut => (StatusCode::GATEWAY_TIMEOUT, "readiness run still in progress\n"),
            Unavailable::RunFailed => (StatusCode::INTERNAL_SERVER_ERROR, "readiness run failed\n"),
        };
        let mut r = (status, text).into_response();
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }
}

/// Clears the in-flight marker if the run task ends without publishing (a panic).
struct InflightGuard(Arc<Inner>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.state.lock() {
            st.inflight = None;
        }
    }
}

impl ReadinessService {
    /// A service running `plan` with `runner`.
    pub fn new(plan: Plan, runner: Runner, config: ServerConfig) -> Self {
        let requests = Semaphore::new(config.max_concurrent_requests.max(1));
        ReadinessService {
            inner: Arc::new(Inner {
                plan,
                runner,
                config,
                state: Mutex::new(CacheState::default()),
                requests,
                runs: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                last_run_seconds: Mutex::new(0.0),
                metrics_text: Mutex::new(None),
            }),
        }
    }

    /// How many times the plan has run.
    pub fn runs(&self) -> u64 {
        self.inner.runs.load(Ordering::Relaxed)
    }

    /// The router: `/healthz`, `/readyz`, `/livez`, `/report`, `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/healthz", get(readiness))
            .route("/readyz", get(readiness))
            .route("/livez", get(|| async { "ok\n" }))
            .route("/report", get(report))
            .route("/metrics", get(metrics))
            .with_state(self.clone())
    }

    /// The current report: cached when younger than the TTL, else from a run shared by every
    /// request that asks meanwhile.
    pub async fn report(&self) -> Option<Arc<Report>> {
        self.current().await.ok()
    }

    async fn current(&self) -> Result<Arc<Report>, Unavailable> {
        let mut rx = {
            let mut st = self.inner.state.lock().map_err(|_| Unavailable::RunFailed)?;
            if let Some(c) = &st.cached
                && c.at.elapsed() < self.inner.config.cache_ttl
            {
                self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(c.report.clone());
            }
            match &st.inflight {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    st.inflight = Some(rx.clone());
                    let inner = self.inner.clone();
                    tokio::spawn(async move {
                        let guard = InflightGuard(inner.clone());
                        let started = Instant::now();
                        let report = Arc::new(inner.run_bounded().await);
                        inner.runs.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut s) = inner.last_run_seconds.lock() {
                            *s = started.elapsed().as_secs_f64();
                        }
                        if let Ok(mut st) = inner.state.lock() {
                            st.cached = Some(Cached { at: Instant::now(), report: report.clone() });
                        }
                        drop(guard);
                        let _ = tx.send(Some(report));
                    });
                    rx
                }
            }
        };
        match tokio::time::timeout(self.inner.config.request_timeout, rx.wait_for(Option::is_some)).await {
            Err(_) => Err(Unavailable::TimedOut),
            Ok(Err(_)) => Err(Unavailable::RunFailed),
            Ok(Ok(r)) => r.clone().ok_or(Unavailable::RunFailed),
        }
    }

    async fn guarded(&self) -> Result<Arc<Report>, Unavailable> {
        let Ok(_permit) = self.inner.requests.try_acquire() else {
            self.inner.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Unavailable::Busy);
        };
        self.current().await
    }

    /// Whether the request carries the bearer token, when one is configured.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.inner.config.bearer_token else { return true };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .unwrap_or("");
        constant_time_eq(given.as_bytes(), token.expose().as_bytes())
    }
}

impl Inner {
    /// Runs the plan within the run deadline; abandons a run that does not wind down.
    async fn run_bounded(&self) -> Report {
        let deadline = self.runner.deadline.map_or(self.config.run_deadline, |d| d.min(self.config.run_deadline));
        let cancel = CancellationToken::new();
        let at = Instant::now().checked_add(deadline);
        let run = self.runner.execute(&self.plan, &cancel, None, at);
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => r,
            () = tokio::time::sleep(deadline.saturating_add(ABANDON_GRACE)) => {
                cancel.cancel();
                match tokio::time::timeout(ABANDON_GRACE, &mut run).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::error!(deadline = ?deadline, "readiness run did not stop at its deadline: abandoned");
                        self.runner.abandoned(
                            &self.plan,
                            &format!(
                                "the run did not stop at its {} deadline (a probe blocked) and was abandoned",
                                crate::model::duration::format(deadline)
                            ),
                        )
                    }
                }
            }
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

fn unauthorized() -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "unauthorized: send Authorization: Bearer <token>\n").into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nexus-readiness\""));
    r
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn readiness(State(svc): State<ReadinessService>, headers: HeaderMap, uri: Uri) -> Response {
    let verbose = uri.query().is_some_and(|q| q.split('&').any(|p| p == "verbose" || p.starts_with("verbose=")));
    if verbose && !svc.authorized(&headers) {
        return unauthorized();
    }
    let report = match svc.guarded().await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let status_only = svc.inner.config.bearer_token.is_some() && !verbose;
    let mut body = if report.ready() {
        if report.unverified() { format!("ready: {}\n", report.headline()) } else { "ready\n".to_string() }
    } else if status_only {
        "not ready\n".to_string()
    } else {
        let blockers: Vec<String> = report
            .blockers()
            .map(|i| {
                format!(
                    "{} ({}: {}) [{}]",
                    i.id,
                    i.status.as_str(),
                    i.reason,
                    i.blocked_by.map(|r| r.as_str()).unwrap_or_default()
                )
            })
            .collect();
        let mut b = format!("{}\n", report.headline());
        for l in blockers {
            b.push_str(&l);
            b.push('\n');
        }
        b
    };
    if verbose {
        for i in report.items() {
            body.push_str(&format!("[{}] {}: {}\n", i.status.as_str(), i.id, i.reason));
        }
    }
    let status = if report.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    text(status, "text/plain; charset=utf-8", body)
}

/// Picks a format from `?format=` or the `Accept` header (first match in the client's order,
/// `q=0` ignored); JSON by default.
pub fn negotiate(accept: Option<&str>, query: Option<&str>) -> Option<Format> {
    if let Some(f) = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("format="))) {
        return f.parse().ok();
    }
    let Some(accept) = accept else { return Some(Format::Json) };
    let mut ranges: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .map(|(i, r)| {
            let mut parts = r.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let q = parts.find_map(|p| p.strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
            (q, i, media)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, media) in ranges {
        let f = match media.to_ascii_lowercase().as_str() {
            "application/json" | "*/*" | "application/*" => Format::Json,
            "text/markdown" | "text/x-markdown" => Format::Markdown,
            "application/xml" | "text/xml" | "application/junit+xml" => Format::Junit,
            "text/plain" | "application/openmetrics-text" => Format::Prometheus,
            "text/x-rst" | "text/prs.fallenstein.rst" => Format::Rst,
            "text/x-tap" | "text/tap" => Format::Tap,
            "text/*" => Format::Markdown,
            _ => continue,
        };
        return Some(f);
    }
    None
}

fn content_type(f: Format) -> &'static str {
    match f {
        Format::Json => "application/json",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Junit => "application/xml; charset=utf-8",
        Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        Format::Rst => "text/x-rst; charset=utf-8",
        Format::Tap => "text/x-tap; charset=utf-8",
        Format::Sarif => "application/sarif+json",
    }
}

async fn report(State(svc): State<ReadinessService>, headers: HeaderMap, uri: Uri) -> Response {
    if !svc.authorized(&headers) {
        return unauthorized();
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(format) = negotiate(accept, uri.query()) else {
        return text(
            StatusCode::NOT_ACCEPTABLE,
            "text/plain; charset=utf-8",
            "acceptable: application/json, text/markdown, application/xml (JUnit), text/plain (Prometheus), text/x-rst, text/x-tap\n".into(),
        );
    };
    match svc.guarded().await {
        Ok(r) => {
            let mut resp = text(StatusCode::OK, content_type(format), r.render(format));
            resp.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn metrics(State(svc): State<ReadinessService>, headers: HeaderMap) -> Response {
    if !svc.authorized(&headers) {
        return unauthorized();
    }
    match svc.guarded().await {
        Ok(r) => {
            let i = &svc.inner;
            let rendered = {
                let mut cached = i.metrics_text.lock().unwrap_or_else(|e| e.into_inner());
                match cached.as_ref() {
                    Some((report, text)) if Arc::ptr_eq(report, &r) => text.clone(),
                    _ => {
                        let text: Arc<str> = r.render(Format::Prometheus).into();
                        *cached = Some((r.clone(), text.clone()));
                        text
                    }
                }
            };
            let mut body = String::with_capacity(rendered.len() + 1024);
            body.push_str(&rendered);
            let last = i.last_run_seconds.lock().map(|s| *s).unwrap_or_default();
            body.push_str(&format!(
                "# HELP nexus_readiness_server_runs_total Plan runs made by the readiness server.\n\
                 # TYPE nexus_readiness_server_runs_total counter\n\
                 nexus_readiness_server_runs_total {}\n\
                 # HELP nexus_readiness_server_cache_hits_total Requests answered from the cached report.\n\
                 # TYPE nexus_readiness_server_cache_hits_total counter\n\
                 nexus_readiness_server_cache_hits_total {}\n\
                 # HELP nexus_readiness_server_rejected_total Requests refused because too many were in flight.\n\
                 # TYPE nexus_readiness_server_rejected_total counter\n\
                 nexus_readiness_server_rejected_total {}\n\
                 # HELP nexus_readiness_server_last_run_seconds Wall time of the last plan run.\n\
                 # TYPE nexus_readiness_server_last_run_seconds gauge\n\
                 nexus_readiness_server_last_run_seconds {last}\n",
                i.runs.load(Ordering::Relaxed),
                i.cache_hits.load(Ordering::Relaxed),
                i.rejected.load(Ordering::Relaxed),
            ));
            text(StatusCode::OK, content_type(Format::Prometheus), body)
        }
        Err(e) => e.into_response(),
    }
}
