//! The endpoint probe: one request, expected status, body match, latency thresholds.

use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;

use super::HttpKind;
use super::client::{ClientOptions, HttpClient, SafeUrl, SendError, StatusPattern, StatusSet, display_url, json_eq};
use super::verdict::{Blockers, blocked, is_login_url, login_redirect, unverified};
use crate::model::{Threshold, Unit};
use crate::probe::{Observation, Probe, ProbeContext, ProbeError, Verdict};

scrubbed_debug!(HttpSpec: url, method, body, content_type, expect_status, body_contains, body_regex, json_pointer, json_equals, warn_latency, max_latency, client);

fn default_method() -> String {
    "GET".into()
}

/// One HTTP request with a verdict (kind `http`): status in the expected set, optional body
/// match, latency under thresholds.
///
/// ```toml
/// [[bind]]
/// item = "post-deployment.verification.health-endpoints-responding"
/// kind = "http"
/// url = "https://api.example.com/healthz"
/// expect_status = ["2xx"]
/// json_pointer = "/status"
/// json_equals = "ok"
/// warn_latency = "300ms"
/// max_latency = "1s"
/// client = { timeout = "5s", secret_headers = { Authorization = "${env:NEXUS_TOKEN}" } }
/// ```
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpSpec {
    /// The URL to request.
    pub url: String,
    /// The method (default `GET`).
    #[serde(default = "default_method")]
    pub method: String,
    /// A request body.
    #[serde(default)]
    pub body: Option<String>,
    /// The request body's content type (default `application/json` when a body is set).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Expected statuses: codes, `"2xx"`, `"200-204"` (default 2xx).
    #[serde(default)]
    pub expect_status: Vec<StatusPattern>,
    /// The body must contain this text.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// The body must match this regular expression.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// A JSON pointer into the body (`/status`); with `json_equals` the value must equal it,
    /// without it the pointer must exist.
    #[serde(default)]
    pub json_pointer: Option<String>,
    /// The value expected at `json_pointer`.
    #[serde(default)]
    pub json_equals: Option<serde_json::Value>,
    /// Latency from which the verdict is Warn (`"300ms"`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub warn_latency: Option<Duration>,
    /// Latency above which the verdict is Fail (`"1s"`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub max_latency: Option<Duration>,
    /// Connection settings: timeout, redirects, body cap, TLS, headers.
    #[serde(default)]
    pub client: ClientOptions,
}

impl HttpSpec {
    /// A GET of `url` expecting 2xx.
    pub fn new(url: impl Into<String>) -> Self {
        HttpSpec {
            url: url.into(),
            method: default_method(),
            body: None,
            content_type: None,
            expect_status: Vec::new(),
            body_contains: None,
            body_regex: None,
            json_pointer: None,
            json_equals: None,
            warn_latency: None,
            max_latency: None,
            client: ClientOptions::default(),
        }
    }

    pub(crate) fn build_with(&self, client: HttpClient) -> Result<HttpProbe, ProbeError> {
        let url = super::client::parse_url("url", &self.url)?;
        let method = super::client::parse_method("method", &self.method)?;
        let expect = StatusSet::parse("expect_status", &self.expect_status, StatusSet::two_xx())?;
        let regex = self
            .body_regex
            .as_deref()
            .map(|r| {
                Regex::new(r).map_err(|e| ProbeError::misconfigured("body_regex is not a valid regex").with_source(&e))
            })
            .transpose()?;
        if let Some(p) = &self.json_pointer
            && !p.is_empty()
            && !p.starts_with('/')
        {
            return Err(ProbeError::misconfigured(format!("json_pointer `{p}` must start with `/`")));
        }
        if self.json_equals.is_some() && self.json_pointer.is_none() {
            return Err(ProbeError::misconfigured("json_equals needs json_pointer"));
        }
        let latency = latency_threshold(self.warn_latency, self.max_latency)?;
        Ok(HttpProbe {
            url: SafeUrl(url),
            method,
            body: self.body.clone(),
            content_type: self.content_type.clone(),
            expect,
            contains: self.body_contains.clone(),
            regex,
            json_pointer: self.json_pointer.clone(),
            json_equals: self.json_equals.clone(),
            latency,
            client,
        })
    }
}

/// The latency threshold of `warn_latency` / `max_latency` (either alone sets both).
pub(crate) fn latency_threshold(
    warn: Option<Duration>,
    critical: Option<Duration>,
) -> Result<Option<Threshold>, ProbeError> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match (warn, critical) {
        (None, None) => Ok(None),
        (w, c) => {
            let c = c.or(w).map(ms).unwrap_or_default();
            let w = w.map(ms).unwrap_or(c);
            Threshold::ceiling("latency", Unit::Milliseconds, w, c, "investigate the slow endpoint")
                .map(Some)
                .map_err(|e| ProbeError::misconfigured("warn_latency / max_latency").with_source(&e))
        }
    }
}

impl HttpKind for HttpSpec {
    const NAME: &'static str = "http";
    type Probe = HttpProbe;

    /// Builds the probe (the client is built once here).
    ///
    /// # Errors
    /// `NotConfigured` for an empty URL, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<HttpProbe, ProbeError> {
        let client = self.client.build()?;
        self.build_with(client)
    }
}

/// Builds an [`HttpProbe`] in Rust: `HttpProbe::builder(url).….build()`, the same probe as
/// the `http` kind's [`HttpSpec`].
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probes::http::{HttpProbe, StatusPattern};
///
/// let probe = HttpProbe::builder("https://api.example.com/healthz")
///     .expect_status([StatusPattern::Pattern("2xx".into())])
///     .json_pointer("/status")
///     .json_equals("ok")
///     .warn_latency(Duration::from_millis(300))
///     .max_latency(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(probe.url(), "https://api.example.com/healthz");
/// assert!(HttpProbe::builder("not a url").build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HttpProbeBuilder {
    spec: HttpSpec,
}

impl HttpProbeBuilder {
    /// The method (default `GET`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.spec.method = method.into();
        self
    }

    /// A request body, sent with `content_type` (default `application/json`).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.spec.body = Some(body.into());
        self
    }

    /// The content type of the body.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.spec.content_type = Some(content_type.into());
        self
    }

    /// Expected statuses (default 2xx).
    pub fn expect_status(mut self, statuses: impl IntoIterator<Item = StatusPattern>) -> Self {
        self.spec.expect_status = statuses.into_iter().collect();
        self
    }

    /// The body must contain this text.
    pub fn body_contains(mut self, text: impl Into<String>) -> Self {
        self.spec.body_contains = Some(text.into());
        self
    }

    /// The body must match this regular expression.
    pub fn body_regex(mut self, regex: impl Into<String>) -> Self {
        self.spec.body_regex = Some(regex.into());
        self
    }

    /// A JSON pointer into the body (`/status`) that must exist.
    pub fn json_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.spec.json_pointer = Some(pointer.into());
        self
    }

    /// The value expected at the [`json_pointer`](Self::json_pointer).
    pub fn json_equals(mut self, value: impl Into<serde_json::Value>) -> Self {
        self.spec.json_equals = Some(value.into());
        self
    }

    /// Latency from which the verdict is Warn.
    pub fn warn_latency(mut self, latency: Duration) -> Self {
        self.spec.warn_latency = Some(latency);
        self
    }

    /// Latency above which the verdict is Fail.
    pub fn max_latency(mut self, latency: Duration) -> Self {
        self.spec.max_latency = Some(latency);
        self
    }

    /// Connection settings: timeout, redirects, body cap, TLS, headers.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe (its HTTP client is built here, once).
    ///
    /// # Errors
    /// `Misconfigured` naming the bad setting (URL, method, status pattern, regex, latency
    /// bounds, client options).
    pub fn build(self) -> Result<HttpProbe, ProbeError> {
        self.spec.build_probe()
    }
}

/// The probe built from an [`HttpSpec`].
#[derive(Debug, Clone)]
pub struct HttpProbe {
    url: SafeUrl,
    method: Method,
    body: Option<String>,
    content_type: Option<String>,
    expect: StatusSet,
    contains: Option<String>,
    regex: Option<Regex>,
    json_pointer: Option<String>,
    json_equals: Option<serde_json::Value>,
    latency: Option<Threshold>,
    client: HttpClient,
}

impl HttpProbe {
    /// A builder for a request to `url` expecting 2xx.
    pub fn builder(url: impl Into<String>) -> HttpProbeBuilder {
        HttpProbeBuilder { spec: HttpSpec::new(url) }
    }

    /// The URL without credentials.
    pub fn url(&self) -> String {
        display_url(&self.url)
    }

    fn request(&self) -> reqwest::RequestBuilder {
        let mut rb = self.client.request(self.method.clone(), &self.url);
        if let Some(b) = &self.body {
            let ct = self.content_type.as_deref().unwrap_or("application/json");
            rb = rb.header(CONTENT_TYPE, ct).body(b.clone());
        }
        rb
    }

    /// Checks the body against the configured matches; `None` when all hold.
    fn body_problem(&self, body: &[u8], truncated: bool) -> Result<Option<String>, ProbeError> {
        let text = String::from_utf8_lossy(body);
        let cut = if truncated { format!(" (body cut at the {} byte cap)", body.len()) } else { String::new() };
        if let Some(s) = &self.contains
            && !text.contains(s.as_str())
        {
            return Ok(Some(format!("body does not contain {s:?}{cut}")));
        }
        if let Some(r) = &self.regex
            && !r.is_match(&text)
        {
            return Ok(Some(format!("body does not match /{}/{cut}", r.as_str())));
        }
        if let Some(ptr) = &self.json_pointer {
            if truncated {
                return Ok(Some(format!("body is larger than the {} byte cap, cannot read {ptr}", body.len())));
            }
            let json: serde_json::Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return Ok(Some(format!("body is not json ({e}), cannot read {ptr}"))),
            };
            match (json.pointer(ptr), &self.json_equals) {
                (None, _) => return Ok(Some(format!("json body has no {ptr}"))),
                (Some(v), Some(want)) if !json_eq(v, want) => {
                    return Ok(Some(format!("json {ptr} is {v}, expected {want}")));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Probe for HttpProbe {
    fn target(&self) -> String {
        display_url(&self.url)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.url);
        let resp = match self.client.send(cx, self.request(), &self.url).await {
            Ok(r) => r,
            Err(SendError::Redirect(m)) => {
                let obs = Observation::fail(format!("{} {shown}: {m}", self.method)).with_evidence("url", &shown);
                return Ok(unverified(obs, &self.client));
            }
            Err(SendError::Probe(e)) => return Err(e),
        };
        // A rate limiter, an auth layer or a login page in front of the endpoint: it could not look.
        let sent_credentials = self.client.credentials || !self.url.username().is_empty();
        let blockers =
            Blockers { rate_limit: true, auth: Some(sent_credentials), upstream: false, missing: false, login: true };
        if !self.expect.contains(resp.status)
            && let Some(e) = blocked(&resp, &self.url, blockers, "the endpoint")
        {
            return Err(e);
        }
        if resp.url != *self.url
            && !is_login_url(&self.url)
            && let Some(page) = login_redirect(&resp, &self.url)
        {
            return Err(ProbeError::permission_denied(format!(
                "{} {shown} was redirected to the login page {page}, so it could not look at the endpoint",
                self.method
            )));
        }
        let mut problems = Vec::new();
        if !self.expect.contains(resp.status) {
            let mut p = format!("answered {}, expected {}", resp.status.as_u16(), self.expect);
            if resp.status.is_redirection()
                && let Some(loc) = resp.header("location")
            {
                p.push_str(&format!(" (redirect to {loc})"));
            }
            problems.push(p);
        }
        if let Some(p) = self.body_problem(&resp.body, resp.truncated)? {
            problems.push(p);
        }
        let head = format!("{} {shown}", self.method);
        let mut obs = if problems.is_empty() {
            let mut s = format!("{head} answered {} in {} ms", resp.status.as_u16(), resp.latency_ms());
            if resp.truncated {
                s.push_str(&format!(", body larger than the {} byte cap (stopped reading there)", resp.body.len()));
                Observation::warn(s)
            } else {
                Observation::pass(s)
            }
        } else {
            Observation::fail(format!("{head}: {}", problems.join("; ")))
        };
        for m in resp.measurements(None) {
            let m = match (&self.latency, m.name.as_str()) {
                (Some(t), "latency") => m.evaluate(t),
                _ => m,
            };
            obs.push_measurement(m);
        }
        if obs.verdict != Verdict::Pass && problems.is_empty() && !resp.truncated {
            obs.summary = format!("{head} answered {} but slowly: {} ms", resp.status.as_u16(), resp.latency_ms());
        }
        obs = obs.with_evidence("url", &shown).with_evidence("status", resp.status.as_u16().to_string());
        if resp.url != *self.url {
            obs = obs.with_evidence("final_url", display_url(&resp.url));
        }
        if resp.truncated {
            obs = obs.with_evidence("body_truncated", format!("stopped at the {} byte cap", resp.body.len()));
        }
        Ok(unverified(obs, &self.client))
    }
}
