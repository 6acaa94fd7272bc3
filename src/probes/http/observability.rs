//! Monitoring and logging stack probes: Prometheus, Grafana, Loki, Elasticsearch, log queries.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Url};
use serde::Deserialize;

use super::HttpKind;
use super::client::{ClientOptions, Fetched, HttpClient, SafeUrl, display_url, parse_method, parse_url};
use super::verdict::{Blockers, blocked, unverified};
use crate::model::Unit;
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Verdict};

scrubbed_debug!(MonitoringSpec: prometheus_url, grafana_url, client);
scrubbed_debug!(LogAggregationSpec: loki_url, elasticsearch_url, client);
scrubbed_debug!(LogsAppearingSpec: url, pointer, window, time_format, method, body, client);

fn join(base: &Url, path: &str) -> Result<Url, ProbeError> {
    let mut b = base.clone();
    if !b.path().ends_with('/') {
        b.set_path(&format!("{}/", b.path()));
    }
    b.join(path.trim_start_matches('/'))
        .map_err(|e| ProbeError::misconfigured(format!("cannot join {path} to {}", display_url(base))).with_source(&e))
}

fn body_snippet(r: &Fetched) -> String {
    let text = String::from_utf8_lossy(&r.body);
    let t: String = text.trim().chars().take(80).collect();
    if t.is_empty() { String::new() } else { format!(": {t}") }
}

/// What stands in front of a component's readiness answer: a rate limiter, an auth layer, a
/// login page (a 503 is the component's own "not ready", a verdict).
fn front(client: &HttpClient) -> Blockers {
    Blockers { rate_limit: true, auth: Some(client.credentials), upstream: false, missing: false, login: true }
}

/// One component's result.
struct Part {
    verdict: Verdict,
    text: String,
}

fn combine(what: &str, parts: Vec<Part>, client: &HttpClient, measurements: Vec<Measurement>) -> Observation {
    let worst = parts.iter().map(|p| p.verdict).max().unwrap_or(Verdict::Fail);
    let text = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("; ");
    let summary = match worst {
        Verdict::Pass => format!("{what} ready: {text}"),
        _ => format!("{what} not ready: {text}"),
    };
    let mut obs = Observation::new(worst, summary);
    for m in measurements {
        obs.push_measurement(m);
    }
    unverified(obs, client)
}

// ---------------------------------------------------------------------------------------------

/// Monitoring stack deployed (kind `monitoring-stack`): Prometheus `/-/ready` answers 200 and
/// Grafana `/api/health` answers JSON with `database: ok`. At least one URL is required.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MonitoringSpec {
    /// Prometheus base URL (`http://prometheus:9090`).
    #[serde(default)]
    pub prometheus_url: Option<String>,
    /// Grafana base URL (`http://grafana:3000`).
    #[serde(default)]
    pub grafana_url: Option<String>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl MonitoringSpec {
    /// Nothing configured yet: set the URLs.
    pub fn new() -> Self {
        MonitoringSpec { prometheus_url: None, grafana_url: None, client: ClientOptions::default() }
    }
}

impl Default for MonitoringSpec {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpKind for MonitoringSpec {
    const NAME: &'static str = "monitoring-stack";
    type Probe = MonitoringProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without any URL, `Misconfigured` for a bad one.
    fn build_probe(&self) -> Result<MonitoringProbe, ProbeError> {
        let prometheus = self.prometheus_url.as_deref().map(|u| parse_url("prometheus_url", u)).transpose()?;
        let grafana = self.grafana_url.as_deref().map(|u| parse_url("grafana_url", u)).transpose()?;
        if prometheus.is_none() && grafana.is_none() {
            return Err(ProbeError::not_configured("prometheus_url"));
        }
        Ok(MonitoringProbe {
            prometheus: prometheus.map(|u| join(&u, "/-/ready")).transpose()?.map(SafeUrl),
            grafana: grafana.map(|u| join(&u, "/api/health")).transpose()?.map(SafeUrl),
            client: self.client.build()?,
        })
    }
}

/// Builds a [`MonitoringProbe`] in Rust: `MonitoringProbe::builder(..).….build()`, the same probe as the
/// `monitoring-stack` kind's [`MonitoringSpec`].
#[derive(Debug, Clone)]
pub struct MonitoringProbeBuilder {
    spec: MonitoringSpec,
}

impl MonitoringProbeBuilder {
    /// Prometheus base URL (`http://prometheus:9090`).
    pub fn prometheus_url(mut self, url: impl Into<String>) -> Self {
        self.spec.prometheus_url = Some(url.into());
        self
    }

    /// Grafana base URL (`http://grafana:3000`).
    pub fn grafana_url(mut self, url: impl Into<String>) -> Self {
        self.spec.grafana_url = Some(url.into());
        self
    }

    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `NotConfigured` without a URL, `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<MonitoringProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl MonitoringProbe {
    /// A builder for the monitoring stack (set at least one URL).
    pub fn builder() -> MonitoringProbeBuilder {
        MonitoringProbeBuilder { spec: MonitoringSpec::new() }
    }
}

/// The probe built from a [`MonitoringSpec`].
#[derive(Debug, Clone)]
pub struct MonitoringProbe {
    prometheus: Option<SafeUrl>,
    grafana: Option<SafeUrl>,
    client: HttpClient,
}

#[async_trait]
impl Probe for MonitoringProbe {
    fn target(&self) -> String {
        self.prometheus.iter().chain(&self.grafana).map(|u| display_url(u)).collect::<Vec<_>>().join(", ")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let mut parts = Vec::new();
        let mut ms = Vec::new();
        if let Some(u) = &self.prometheus {
            let r = self.client.send(cx, self.client.request(Method::GET, u), u).await?;
            ms.extend(r.measurements(Some(("component", "prometheus"))));
            if let Some(e) = blocked(&r, u, front(&self.client), "prometheus") {
                return Err(e);
            }
            parts.push(if r.status.is_success() {
                Part {
                    verdict: Verdict::Pass,
                    text: format!("prometheus {} answered {}", display_url(u), r.status.as_u16()),
                }
            } else {
                Part {
                    verdict: Verdict::Fail,
                    text: format!("prometheus {} answered {}{}", display_url(u), r.status.as_u16(), body_snippet(&r)),
                }
            });
        }
        if let Some(u) = &self.grafana {
            let r = self.client.send(cx, self.client.request(Method::GET, u), u).await?;
            ms.extend(r.measurements(Some(("component", "grafana"))));
            if let Some(e) = blocked(&r, u, front(&self.client), "grafana") {
                return Err(e);
            }
            let shown = display_url(u);
            let part = if !r.status.is_success() {
                Part {
                    verdict: Verdict::Fail,
                    text: format!("grafana {shown} answered {}{}", r.status.as_u16(), body_snippet(&r)),
                }
            } else {
                let json = r.json()?;
                match json.pointer("/database").and_then(|v| v.as_str()) {
                    Some("ok") => {
                        let version = json
                            .pointer("/version")
                            .and_then(|v| v.as_str())
                            .map(|v| format!(", version {v}"))
                            .unwrap_or_default();
                        Part { verdict: Verdict::Pass, text: format!("grafana {shown} database ok{version}") }
                    }
                    Some(other) => Part {
                        verdict: Verdict::Fail,
                        text: format!("grafana {shown} database is `{other}`, expected `ok`"),
                    },
                    None => {
                        return Err(ProbeError::protocol(format!(
                            "grafana {shown} answered json without a database field"
                        )));
                    }
                }
            };
            parts.push(part);
        }
        Ok(combine("monitoring stack", parts, &self.client, ms))
    }
}

// ---------------------------------------------------------------------------------------------

/// Log aggregation ready (kind `log-aggregation`): Loki `/ready` answers 200, Elasticsearch
/// `/_cluster/health` is green (yellow is a Warn, red a Fail). At least one URL is required.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogAggregationSpec {
    /// Loki base URL (`http://loki:3100`).
    #[serde(default)]
    pub loki_url: Option<String>,
    /// Elasticsearch / OpenSearch base URL (`https://es:9200`).
    #[serde(default)]
    pub elasticsearch_url: Option<String>,
    /// Connection settings (put an Elasticsearch `Authorization` under `secret_headers`).
    #[serde(default)]
    pub client: ClientOptions,
}

impl LogAggregationSpec {
    /// Nothing configured yet: set the URLs.
    pub fn new() -> Self {
        LogAggregationSpec { loki_url: None, elasticsearch_url: None, client: ClientOptions::default() }
    }
}

impl Default for LogAggregationSpec {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpKind for LogAggregationSpec {
    const NAME: &'static str = "log-aggregation";
    type Probe = LogAggregationProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without any URL, `Misconfigured` for a bad one.
    fn build_probe(&self) -> Result<LogAggregationProbe, ProbeError> {
        let loki = self.loki_url.as_deref().map(|u| parse_url("loki_url", u)).transpose()?;
        let es = self.elasticsearch_url.as_deref().map(|u| parse_url("elasticsearch_url", u)).transpose()?;
        if loki.is_none() && es.is_none() {
            return Err(ProbeError::not_configured("loki_url"));
        }
        Ok(LogAggregationProbe {
            loki: loki.map(|u| join(&u, "/ready")).transpose()?.map(SafeUrl),
            elasticsearch: es.map(|u| join(&u, "/_cluster/health")).transpose()?.map(SafeUrl),
            client: self.client.build()?,
        })
    }
}

/// Builds a [`LogAggregationProbe`] in Rust: `LogAggregationProbe::builder(..).….build()`, the same probe as the
/// `log-aggregation` kind's [`LogAggregationSpec`].
#[derive(Debug, Clone)]
pub struct LogAggregationProbeBuilder {
    spec: LogAggregationSpec,
}

impl LogAggregationProbeBuilder {
    /// Loki base URL (`http://loki:3100`).
    pub fn loki_url(mut self, url: impl Into<String>) -> Self {
        self.spec.loki_url = Some(url.into());
        self
    }

    /// Elasticsearch / OpenSearch base URL (`https://es:9200`).
    pub fn elasticsearch_url(mut self, url: impl Into<String>) -> Self {
        self.spec.elasticsearch_url = Some(url.into());
        self
    }

    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `NotConfigured` without a URL, `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<LogAggregationProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl LogAggregationProbe {
    /// A builder for the log aggregation stack (set at least one URL).
    pub fn builder() -> LogAggregationProbeBuilder {
        LogAggregationProbeBuilder { spec: LogAggregationSpec::new() }
    }
}

/// The probe built from a [`LogAggregationSpec`].
#[derive(Debug, Clone)]
pub struct LogAggregationProbe {
    loki: Option<SafeUrl>,
    elasticsearch: Option<SafeUrl>,
    client: HttpClient,
}

#[async_trait]
impl Probe for LogAggregationProbe {
    fn target(&self) -> String {
        self.loki.iter().chain(&self.elasticsearch).map(|u| display_url(u)).collect::<Vec<_>>().join(", ")
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let mut parts = Vec::new();
        let mut ms = Vec::new();
        if let Some(u) = &self.loki {
            let r = self.client.send(cx, self.client.request(Method::GET, u), u).await?;
            ms.extend(r.measurements(Some(("component", "loki"))));
            if let Some(e) = blocked(&r, u, front(&self.client), "loki") {
                return Err(e);
            }
            let shown = display_url(u);
            parts.push(if r.status.is_success() {
                Part { verdict: Verdict::Pass, text: format!("loki {shown} answered {}", r.status.as_u16()) }
            } else {
                Part {
                    verdict: Verdict::Fail,
                    text: format!("loki {shown} answered {}{}", r.status.as_u16(), body_snippet(&r)),
                }
            });
        }
        if let Some(u) = &self.elasticsearch {
            let r = self.client.send(cx, self.client.request(Method::GET, u), u).await?;
            ms.extend(r.measurements(Some(("component", "elasticsearch"))));
            if let Some(e) = blocked(&r, u, front(&self.client), "elasticsearch") {
                return Err(e);
            }
            let shown = display_url(u);
            // Elasticsearch answers 503 with a JSON body when the cluster is red and wait params are set.
            let json = match r.json() {
                Ok(j) => j,
                Err(_) if !r.status.is_success() => {
                    parts.push(Part {
                        verdict: Verdict::Fail,
                        text: format!("elasticsearch {shown} answered {}{}", r.status.as_u16(), body_snippet(&r)),
                    });
                    return Ok(combine("log aggregation", parts, &self.client, ms));
                }
                Err(e) => return Err(e),
            };
            let status = json.pointer("/status").and_then(|v| v.as_str()).ok_or_else(|| {
                ProbeError::protocol(format!("elasticsearch {shown} answered json without a status field"))
            })?;
            let unassigned = json.pointer("/unassigned_shards").and_then(serde_json::Value::as_u64);
            let shards = unassigned.map(|n| format!(", {n} unassigned shards")).unwrap_or_default();
            let verdict = match status {
                "green" => Verdict::Pass,
                "yellow" => Verdict::Warn,
                "red" => Verdict::Fail,
                other => {
                    return Err(ProbeError::protocol(format!(
                        "elasticsearch {shown} reported an unknown cluster status `{other}`"
                    )));
                }
            };
            if let Some(n) = unassigned {
                ms.push(Measurement::new("unassigned_shards", n as f64, Unit::Count));
            }
            parts.push(Part { verdict, text: format!("elasticsearch {shown} cluster health is {status}{shards}") });
        }
        Ok(combine("log aggregation", parts, &self.client, ms))
    }
}

// ---------------------------------------------------------------------------------------------

/// How `{start}` / `{end}` are written into a log query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeFormat {
    /// `2026-01-02T03:04:05Z` (Loki, Elasticsearch).
    #[default]
    Rfc3339,
    /// Seconds since the epoch.
    Unix,
    /// Milliseconds since the epoch.
    UnixMs,
    /// Nanoseconds since the epoch (Loki).
    UnixNs,
}

impl TimeFormat {
    fn write(self, t: DateTime<Utc>) -> String {
        match self {
            TimeFormat::Rfc3339 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            TimeFormat::Unix => t.timestamp().to_string(),
            TimeFormat::UnixMs => t.timestamp_millis().to_string(),
            TimeFormat::UnixNs => t
                .timestamp_nanos_opt()
                .map_or_else(|| (i128::from(t.timestamp()) * 1_000_000_000).to_string(), |n| n.to_string()),
        }
    }
}

fn default_window() -> Duration {
    Duration::from_secs(15 * 60)
}

/// Logs appearing (kind `logs-appearing`): a log query over the last `window` finds more than
/// zero entries. The `url` (and `body`) may hold `{start}` and `{end}`, filled from the
/// context's clock; the JSON answer is read at `pointer`: an array counts its elements, a
/// number is the count.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogsAppearingSpec {
    /// The query URL, e.g. `http://loki:3100/loki/api/v1/query_range?query={app="nexus"}&start={start}&end={end}`.
    pub url: String,
    /// A JSON pointer to the entries (`/data/result`) or a count (`/hits/total/value`).
    pub pointer: String,
    /// How far back to look ("15m").
    #[serde(default = "default_window", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub window: Duration,
    /// How `{start}` / `{end}` are written (default rfc3339).
    #[serde(default)]
    pub time_format: TimeFormat,
    /// The method (default `GET`; Elasticsearch `_count`/`_search` queries use `POST`).
    #[serde(default = "default_get")]
    pub method: String,
    /// A request body (JSON), may hold `{start}` / `{end}`.
    #[serde(default)]
    pub body: Option<String>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

fn default_get() -> String {
    "GET".into()
}

impl LogsAppearingSpec {
    /// A query at `url` read at `pointer`, over the last 15 minutes.
    pub fn new(url: impl Into<String>, pointer: impl Into<String>) -> Self {
        LogsAppearingSpec {
            url: url.into(),
            pointer: pointer.into(),
            window: default_window(),
            time_format: TimeFormat::default(),
            method: default_get(),
            body: None,
            client: ClientOptions::default(),
        }
    }
}

fn fill_url(template: &str, start: &str, end: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    template.trim().replace("{start}", &enc(start)).replace("{end}", &enc(end))
}

impl HttpKind for LogsAppearingSpec {
    const NAME: &'static str = "logs-appearing";
    type Probe = LogsAppearingProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without URL, `Misconfigured` for a bad URL, pointer or window.
    fn build_probe(&self) -> Result<LogsAppearingProbe, ProbeError> {
        // The template must give a valid URL once filled.
        let sample = fill_url(&self.url, "0", "0");
        let parsed = parse_url("url", &sample)?;
        if !self.pointer.starts_with('/') {
            return Err(ProbeError::misconfigured(format!("pointer `{}` must start with `/`", self.pointer)));
        }
        if self.window.is_zero() {
            return Err(ProbeError::misconfigured("window must be longer than 0s"));
        }
        Ok(LogsAppearingProbe {
            template: self.url.trim().to_string(),
            target: display_url(&parsed),
            pointer: self.pointer.clone(),
            window: self.window,
            time_format: self.time_format,
            method: parse_method("method", &self.method)?,
            body: self.body.clone(),
            client: self.client.build()?,
        })
    }
}

/// Builds a [`LogsAppearingProbe`] in Rust: `LogsAppearingProbe::builder(..).….build()`, the same probe as the
/// `logs-appearing` kind's [`LogsAppearingSpec`].
#[derive(Debug, Clone)]
pub struct LogsAppearingProbeBuilder {
    spec: LogsAppearingSpec,
}

impl LogsAppearingProbeBuilder {
    /// How far back to look (default 15m).
    pub fn window(mut self, window: Duration) -> Self {
        self.spec.window = window;
        self
    }

    /// How `{start}` / `{end}` are written (default rfc3339).
    pub fn time_format(mut self, format: TimeFormat) -> Self {
        self.spec.time_format = format;
        self
    }

    /// The method (default `GET`; Elasticsearch `_count`/`_search` queries use `POST`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.spec.method = method.into();
        self
    }

    /// A request body (JSON), may hold `{start}` / `{end}`.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.spec.body = Some(body.into());
        self
    }

    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` naming the bad setting (URL, pointer, window).
    pub fn build(self) -> Result<LogsAppearingProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl LogsAppearingProbe {
    /// A builder for a log query at `url` whose entries (or count) are at the JSON `pointer`.
    pub fn builder(url: impl Into<String>, pointer: impl Into<String>) -> LogsAppearingProbeBuilder {
        LogsAppearingProbeBuilder { spec: LogsAppearingSpec::new(url, pointer) }
    }
}

/// The probe built from a [`LogsAppearingSpec`]. Its Debug output shows the URL without
/// credentials.
#[derive(Clone)]
pub struct LogsAppearingProbe {
    template: String,
    target: String,
    pointer: String,
    window: Duration,
    time_format: TimeFormat,
    method: Method,
    body: Option<String>,
    client: HttpClient,
}

impl std::fmt::Debug for LogsAppearingProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsAppearingProbe")
            .field("url", &self.target)
            .field("pointer", &self.pointer)
            .field("window", &self.window)
            .field("time_format", &self.time_format)
            .field("method", &self.method)
            .field("body", &self.body)
            .field("client", &self.client)
            .finish()
    }
}

#[async_trait]
impl Probe for LogsAppearingProbe {
    fn target(&self) -> String {
        self.target.clone()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let end = cx.now();
        let start = end - chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let (s, e) = (self.time_format.write(start), self.time_format.write(end));
        let url = parse_url("url", &fill_url(&self.template, &s, &e))?;
        let shown = display_url(&url);
        let mut rb = self.client.request(self.method.clone(), &url);
        if let Some(b) = &self.body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b.replace("{start}", &s).replace("{end}", &e));
        }
        let r = self.client.send(cx, rb, &url).await?;
        if !r.status.is_success() {
            return Err(ProbeError::protocol(format!(
                "log query {shown} answered {}{}",
                r.status.as_u16(),
                body_snippet(&r)
            )));
        }
        let json = r.json()?;
        let ptr = &self.pointer;
        let count = match json.pointer(ptr) {
            Some(serde_json::Value::Array(a)) => a.len() as f64,
            Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(other) => {
                return Err(ProbeError::protocol(format!(
                    "log query {shown}: {ptr} is neither an array nor a number ({})",
                    kind_of(other)
                )));
            }
            None => return Err(ProbeError::protocol(format!("log query {shown} answered json without {ptr}"))),
        };
        let win = crate::model::duration::format(self.window);
        let mut obs = if count > 0.0 {
            Observation::pass(format!("{count} log entries in the last {win} ({ptr} at {shown})"))
        } else {
            Observation::fail(format!("no log entries in the last {win}: {ptr} is empty at {shown}"))
        };
        obs.push_measurement(Measurement::new("log_entries", count, Unit::Count));
        for m in r.measurements(None) {
            obs.push_measurement(m);
        }
        obs = obs.with_evidence("query_url", &shown).with_evidence("start", s).with_evidence("end", e);
        Ok(unverified(obs, &self.client))
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
