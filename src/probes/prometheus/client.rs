//! A small client for the Prometheus HTTP API.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::probe::{ProbeError, Secret};

/// One sample of an instant vector: labels, timestamp and value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// The series' labels (`__name__` included when Prometheus returns it).
    pub labels: BTreeMap<String, String>,
    /// The sample time.
    pub timestamp: DateTime<Utc>,
    /// The value (NaN and ±Inf as Prometheus sends them).
    pub value: f64,
}

/// One series of a range query.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// `(time, value)` points in time order.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// The typed result of a query.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum QueryResult {
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector.
    Matrix(Vec<Series>),
    /// A scalar.
    Scalar(DateTime<Utc>, f64),
    /// A string.
    String(DateTime<Utc>, String),
}

impl QueryResult {
    /// The samples of an instant vector, or the scalar as one unlabelled sample.
    pub fn into_samples(self) -> Vec<Sample> {
        match self {
            QueryResult::Vector(v) => v,
            QueryResult::Scalar(t, v) => vec![Sample { labels: BTreeMap::new(), timestamp: t, value: v }],
            QueryResult::Matrix(m) => m
                .into_iter()
                .filter_map(|s| s.points.last().map(|&(t, v)| Sample { labels: s.labels, timestamp: t, value: v }))
                .collect(),
            QueryResult::String(..) => Vec::new(),
        }
    }
}

/// A rule as listed by `/api/v1/rules`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Rule {
    /// The alert or recording rule name.
    pub name: String,
    /// The PromQL expression.
    pub query: String,
    /// The `for` duration in seconds (alerting rules).
    #[serde(default)]
    pub duration: f64,
    /// `alerting` or `recording`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ok`, `err` or `unknown`.
    #[serde(default)]
    pub health: String,
    /// The rule's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// An active scrape target as listed by `/api/v1/targets`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Target {
    /// Target labels (`job`, `instance`).
    pub labels: BTreeMap<String, String>,
    /// The URL scraped.
    pub scrape_url: String,
    /// `up`, `down` or `unknown`.
    pub health: String,
    /// The last scrape error, empty when none.
    #[serde(default)]
    pub last_error: String,
    /// When it was last scraped.
    pub last_scrape: Option<DateTime<Utc>>,
}

/// A Prometheus HTTP API client (instant and range queries, rules, targets, readiness).
#[derive(Clone)]
pub struct PrometheusClient {
    /// The base URL as configured, for requests.
    endpoint: String,
    /// `endpoint` without credentials ([`scrub_urls`](crate::probe::scrub_urls)), for messages.
    base: String,
    http: reqwest::Client,
    bearer: Option<Secret>,
}

impl fmt::Debug for PrometheusClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusClient").field("base", &self.base).field("bearer", &self.bearer).finish()
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Value,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl PrometheusClient {
    /// A client for the server at `base` (`http://prometheus:9090`).
    ///
    /// # Errors
    /// Misconfigured when the URL is not http(s) or the HTTP client cannot be built.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, ProbeError> {
        let shown = crate::probe::scrub_urls(base.trim_end_matches('/'));
        let url = url::Url::parse(base)
            .map_err(|e| ProbeError::misconfigured(format!("invalid prometheus url `{shown}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProbeError::misconfigured(format!("prometheus url `{shown}` must be http or https")));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ProbeError::misconfigured("cannot build the http client").with_source(&e))?;
        Ok(PrometheusClient { endpoint: base.trim_end_matches('/').to_string(), base: shown, http, bearer: None })
    }

    /// Sends `Authorization: Bearer <token>` with each request.
    pub fn bearer(mut self, token: Secret) -> Self {
        self.bearer = Some(token);
        self
    }

    /// The server's base URL, without credentials (user info, sensitive query values).
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ProbeError> {
        let url = format!("{}{path}", self.endpoint);
        let mut req = self.http.get(&url).query(query);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(|e| self.transport_error(path, &e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.transport_error(path, &e))?;
        match status.as_u16() {
            401 | 403 => {
                return Err(ProbeError::permission_denied(format!(
                    "prometheus at {} answered {status} for {path}",
                    self.base
                )));
            }
            404 => return Err(ProbeError::not_found(format!("prometheus at {} has no {path} (404)", self.base))),
            _ => {}
        }
        let env: Envelope = serde_json::from_slice(&body).map_err(|e| {
            ProbeError::protocol(format!(
                "prometheus at {} answered {status} for {path} with invalid JSON: {e}",
                self.base
            ))
        })?;
        if env.status != "success" {
            let kind = env.error_type.unwrap_or_else(|| "error".into());
            let msg = env.error.unwrap_or_default();
            let e = format!("prometheus at {} rejected {path}: {kind}: {msg}", self.base);
            return Err(match kind.as_str() {
                "timeout" => ProbeError::new(crate::probe::ProbeErrorKind::Timeout, e),
                "bad_data" => ProbeError::misconfigured(e),
                _ => ProbeError::protocol(e),
            });
        }
        Ok(env.data)
    }

    fn transport_error(&self, path: &str, e: &reqwest::Error) -> ProbeError {
        let base = format!("prometheus at {} ({path})", self.base);
        let mut err = if e.is_timeout() {
            ProbeError::new(crate::probe::ProbeErrorKind::Timeout, format!("{base} timed out"))
        } else if e.is_connect() {
            ProbeError::unreachable(format!("cannot connect to {base}")).with_source(e)
        } else {
            ProbeError::unreachable(format!("request to {base} failed")).with_source(e)
        };
        // reqwest's error text names the full URL.
        err.message = crate::probe::scrub_urls(&err.message);
        err
    }

    /// `GET /-/ready`: whether the server is ready to serve queries.
    ///
    /// # Errors
    /// Unreachable when the server cannot be reached.
    pub async fn ready(&self) -> Result<bool, ProbeError> {
        let mut req = self.http.get(format!("{}/-/ready", self.endpoint));
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(|e| self.transport_error("/-/ready", &e))?;
        Ok(resp.status().is_success())
    }

    /// An instant query (`/api/v1/query`) at `time` (server time when `None`).
    ///
    /// # Errors
    /// Bad PromQL is Misconfigured with Prometheus's message; a query timeout is Timeout.
    pub async fn query(&self, expr: &str, time: Option<DateTime<Utc>>) -> Result<QueryResult, ProbeError> {
        let mut q = vec![("query", expr.to_string())];
        if let Some(t) = time {
            q.push(("time", format_ts(t)));
        }
        parse_result(&self.get("/api/v1/query", &q).await?)
    }

    /// A range query (`/api/v1/query_range`).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub async fn query_range(
        &self,
        expr: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<QueryResult, ProbeError> {
        let q = [
            ("query", expr.to_string()),
            ("start", format_ts(start)),
            ("end", format_ts(end)),
            ("step", format!("{}", step.as_secs_f64().max(0.001))),
        ];
        parse_result(&self.get("/api/v1/query_range", &q).await?)
    }

    /// All rules (`/api/v1/rules`), flattened over groups.
    ///
    /// # Errors
    /// Unreachable or Protocol.
    pub async fn rules(&self) -> Result<Vec<Rule>, ProbeError> {
        #[derive(Deserialize)]
        struct Groups {
            groups: Vec<Group>,
        }
        #[derive(Deserialize)]
        struct Group {
            rules: Vec<Rule>,
        }
        let data = self.get("/api/v1/rules", &[]).await?;
        let g: Groups = serde_json::from_value(data)
            .map_err(|e| ProbeError::protocol(format!("unexpected /api/v1/rules answer from {}: {e}", self.base)))?;
        Ok(g.groups.into_iter().flat_map(|g| g.rules).collect())
    }

    /// Active scrape targets (`/api/v1/targets?state=active`).
    ///
    /// # Errors
    /// Unreachable or Protocol.
    pub async fn targets(&self) -> Result<Vec<Target>, ProbeError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Targets {
            active_targets: Vec<Target>,
        }
        let data = self.get("/api/v1/targets", &[("state", "active".into())]).await?;
        let t: Targets = serde_json::from_value(data)
            .map_err(|e| ProbeError::protocol(format!("unexpected /api/v1/targets answer from {}: {e}", self.base)))?;
        Ok(t.active_targets)
    }
}

fn format_ts(t: DateTime<Utc>) -> String {
    format!("{:.3}", t.timestamp_millis() as f64 / 1000.0)
}

fn parse_point(v: &Value) -> Option<(DateTime<Utc>, f64)> {
    let arr = v.as_array()?;
    let ts = arr.first()?.as_f64()?;
    let val = match arr.get(1)?.as_str()? {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().ok()?,
    };
    let t = Utc.timestamp_millis_opt((ts * 1000.0).round() as i64).single()?;
    Some((t, val))
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.get("metric")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn parse_result(data: &Value) -> Result<QueryResult, ProbeError> {
    let bad = |what: &str| ProbeError::protocol(format!("unexpected prometheus query result: {what}"));
    let kind = data.get("resultType").and_then(Value::as_str).ok_or_else(|| bad("no resultType"))?;
    let result = data.get("result").ok_or_else(|| bad("no result"))?;
    match kind {
        "vector" => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or_else(|| bad("vector is not an array"))? {
                let (timestamp, value) = s.get("value").and_then(parse_point).ok_or_else(|| bad("bad sample"))?;
                out.push(Sample { labels: labels(s), timestamp, value });
            }
            Ok(QueryResult::Vector(out))
        }
        "matrix" => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or_else(|| bad("matrix is not an array"))? {
                let points = s
                    .get("values")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("series without values"))?
                    .iter()
                    .map(|p| parse_point(p).ok_or_else(|| bad("bad point")))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(Series { labels: labels(s), points });
            }
            Ok(QueryResult::Matrix(out))
        }
        "scalar" => {
            let (t, v) = parse_point(result).ok_or_else(|| bad("bad scalar"))?;
            Ok(QueryResult::Scalar(t, v))
        }
        "string" => {
            let arr = result.as_array().ok_or_else(|| bad("bad string"))?;
            let ts = arr.first().and_then(Value::as_f64).unwrap_or_default();
            let t = Utc.timestamp_millis_opt((ts * 1000.0) as i64).single().unwrap_or_default();
            Ok(QueryResult::String(t, arr.get(1).and_then(Value::as_str).unwrap_or_default().to_string()))
        }
        other => Err(bad(&format!("unknown resultType `{other}`"))),
    }
}

/// Renders labels as `{k="v", ...}` for summaries.
pub(crate) fn label_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "instance" | "job"))
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    if inner.is_empty() { String::new() } else { format!("{{{}}}", inner.join(", ")) }
}
