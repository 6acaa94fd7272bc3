//! Item probes about an API's endpoints and protections: health, authentication, rate
//! limiting, input validation, CDN caching, debug endpoints, documents.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde::Deserialize;

use super::HttpKind;
use super::client::{
    ClientOptions, Fetched, HttpClient, SafeUrl, StatusPattern, StatusSet, display_url, header_name, parse_method,
    parse_url, secret_header_value,
};
use super::endpoint::{HttpProbe, HttpSpec};
use super::verdict::{Blockers, blocked, login_redirect, unverified};
use crate::model::Unit;
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Secret};

scrubbed_debug!(HealthSpec: urls, expect_status, body_contains, warn_latency, max_latency, client);
scrubbed_debug!(AuthSpec: url, method, bearer_token, credential_headers, expect_denied, expect_allowed, client);
scrubbed_debug!(RateLimitSpec: url, method, requests, within, client);
scrubbed_debug!(InputValidationSpec: url, method, content_type, payloads, client);
scrubbed_debug!(CdnSpec: url, client);
scrubbed_debug!(DebugEndpointsSpec: base_url, paths, allowed_status, client);
scrubbed_debug!(DocumentSpec: url, body_contains, client);

fn get() -> String {
    "GET".into()
}

fn post() -> String {
    "POST".into()
}

fn json_type() -> String {
    "application/json".into()
}

// ---------------------------------------------------------------------------------------------
// health endpoints

/// Health endpoints passing (kind `http-health`): every URL answers an expected status.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HealthSpec {
    /// The health endpoints (`/healthz`, `/readyz`...), all must pass.
    pub urls: Vec<String>,
    /// Expected statuses (default 2xx).
    #[serde(default)]
    pub expect_status: Vec<StatusPattern>,
    /// Each body must contain this text.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Latency from which the verdict is Warn (`"300ms"`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub warn_latency: Option<Duration>,
    /// Latency above which the verdict is Fail (`"1s"`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub max_latency: Option<Duration>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl HealthSpec {
    /// Health endpoints expecting 2xx.
    pub fn new(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        HealthSpec {
            urls: urls.into_iter().map(Into::into).collect(),
            expect_status: Vec::new(),
            body_contains: None,
            warn_latency: None,
            max_latency: None,
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for HealthSpec {
    const NAME: &'static str = "http-health";
    type Probe = HealthProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without URLs, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<HealthProbe, ProbeError> {
        if self.urls.is_empty() {
            return Err(ProbeError::not_configured("urls"));
        }
        let client = self.client.build()?;
        let probes = self
            .urls
            .iter()
            .map(|u| {
                let mut s = HttpSpec::new(u.clone());
                s.expect_status = self.expect_status.clone();
                s.body_contains = self.body_contains.clone();
                s.warn_latency = self.warn_latency;
                s.max_latency = self.max_latency;
                s.build_with(client.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HealthProbe { probes })
    }
}

/// Builds a [`HealthProbe`] in Rust: `HealthProbe::builder(urls).….build()`, the same probe as
/// the `http-health` kind's [`HealthSpec`].
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probes::http::HealthProbe;
///
/// let probe = HealthProbe::builder(["https://api.example.com/healthz", "https://api.example.com/readyz"])
///     .max_latency(Duration::from_secs(1))
///     .build()?;
/// # let _ = probe;
/// assert!(HealthProbe::builder(Vec::<String>::new()).build().is_err());
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HealthProbeBuilder {
    spec: HealthSpec,
}

impl HealthProbeBuilder {
    /// Expected statuses (default 2xx).
    pub fn expect_status(mut self, statuses: impl IntoIterator<Item = StatusPattern>) -> Self {
        self.spec.expect_status = statuses.into_iter().collect();
        self
    }

    /// Each body must contain this text.
    pub fn body_contains(mut self, text: impl Into<String>) -> Self {
        self.spec.body_contains = Some(text.into());
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

    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `NotConfigured` without URLs, `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<HealthProbe, ProbeError> {
        self.spec.build_probe()
    }
}

/// The probe built from a [`HealthSpec`].
#[derive(Debug, Clone)]
pub struct HealthProbe {
    probes: Vec<HttpProbe>,
}

impl HealthProbe {
    /// A builder over the health endpoints `urls` (all must pass), expecting 2xx.
    pub fn builder(urls: impl IntoIterator<Item = impl Into<String>>) -> HealthProbeBuilder {
        HealthProbeBuilder { spec: HealthSpec::new(urls) }
    }
}

#[async_trait]
impl Probe for HealthProbe {
    fn target(&self) -> String {
        self.probes.iter().map(HttpProbe::url).collect::<Vec<_>>().join(", ")
    }

    /// The endpoints checked concurrently with the crate's labelled fan-out
    /// ([`All`](crate::probe::All)): Fail > Error > Warn > Pass, each result labelled with its
    /// URL, evidence keys `<url>.<key>`, measurements labelled `url`.
    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let results = futures_util::future::join_all(self.probes.iter().map(|p| p.check(cx))).await;
        crate::probe::compose::combine(self.probes.iter().map(HttpProbe::url).zip(results), "url")
    }
}

// ---------------------------------------------------------------------------------------------
// authentication enforced

/// API authentication enforced (kind `http-auth`): without credentials the endpoint answers
/// 401/403 (or redirects to a login page), with them 2xx.
///
/// A 429 or a 5xx says nothing about authentication, nor does a 401/403 to the configured
/// credentials (they are wrong): these make the check an Error naming the status, unless the
/// other request already shows authentication is not enforced (a Fail).
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthSpec {
    /// A protected endpoint.
    pub url: String,
    /// The method (default `GET`).
    #[serde(default = "get")]
    pub method: String,
    /// A bearer token sent as `Authorization: Bearer ...` on the authenticated request.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Other credential headers for the authenticated request (`X-Api-Key`).
    #[serde(default)]
    pub credential_headers: BTreeMap<String, Secret>,
    /// Statuses that mean "denied" (default 401 and 403).
    #[serde(default)]
    pub expect_denied: Vec<StatusPattern>,
    /// Statuses that mean "allowed" (default 2xx).
    #[serde(default)]
    pub expect_allowed: Vec<StatusPattern>,
    /// Connection settings (its headers go with both requests).
    #[serde(default)]
    pub client: ClientOptions,
}

impl AuthSpec {
    /// Checks `url` with a bearer token.
    pub fn new(url: impl Into<String>, bearer_token: Secret) -> Self {
        AuthSpec {
            url: url.into(),
            method: get(),
            bearer_token: Some(bearer_token),
            credential_headers: BTreeMap::new(),
            expect_denied: Vec::new(),
            expect_allowed: Vec::new(),
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for AuthSpec {
    const NAME: &'static str = "http-auth";
    type Probe = AuthProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without URL or credentials, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<AuthProbe, ProbeError> {
        let url = parse_url("url", &self.url)?;
        let method = parse_method("method", &self.method)?;
        let mut credentials = HeaderMap::new();
        if let Some(t) = &self.bearer_token {
            credentials.insert(
                AUTHORIZATION,
                secret_header_value("Authorization", &Secret::new(format!("Bearer {}", t.expose())))?,
            );
        }
        for (k, v) in &self.credential_headers {
            credentials.insert(header_name(k)?, secret_header_value(k, v)?);
        }
        if credentials.is_empty() {
            return Err(ProbeError::not_configured("bearer_token"));
        }
        Ok(AuthProbe {
            url: SafeUrl(url),
            method,
            credentials,
            denied: StatusSet::parse("expect_denied", &self.expect_denied, StatusSet::of(&[401, 403]))?,
            allowed: StatusSet::parse("expect_allowed", &self.expect_allowed, StatusSet::two_xx())?,
            client: self.client.build()?,
        })
    }
}

/// Builds a [`AuthProbe`] in Rust: `AuthProbe::builder(..).….build()`, the same probe as the
/// `http-auth` kind's [`AuthSpec`].
#[derive(Debug, Clone)]
pub struct AuthProbeBuilder {
    spec: AuthSpec,
}

impl AuthProbeBuilder {
    /// The method (default `GET`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.spec.method = method.into();
        self
    }

    /// Another credential header for the authenticated request (`X-Api-Key`).
    pub fn credential_header(mut self, name: impl Into<String>, value: Secret) -> Self {
        self.spec.credential_headers.insert(name.into(), value);
        self
    }

    /// Statuses that mean "denied" (default 401 and 403).
    pub fn expect_denied(mut self, statuses: impl IntoIterator<Item = StatusPattern>) -> Self {
        self.spec.expect_denied = statuses.into_iter().collect();
        self
    }

    /// Statuses that mean "allowed" (default 2xx).
    pub fn expect_allowed(mut self, statuses: impl IntoIterator<Item = StatusPattern>) -> Self {
        self.spec.expect_allowed = statuses.into_iter().collect();
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
    pub fn build(self) -> Result<AuthProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl AuthProbe {
    /// A builder for a protected endpoint `url`, with `bearer_token` for the authenticated request.
    pub fn builder(url: impl Into<String>, bearer_token: Secret) -> AuthProbeBuilder {
        AuthProbeBuilder { spec: AuthSpec::new(url, bearer_token) }
    }
}

/// The probe built from an [`AuthSpec`]. Its Debug output shows credential header names only.
#[derive(Clone)]
pub struct AuthProbe {
    url: SafeUrl,
    method: Method,
    credentials: HeaderMap,
    denied: StatusSet,
    allowed: StatusSet,
    client: HttpClient,
}

impl std::fmt::Debug for AuthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthProbe")
            .field("url", &display_url(&self.url))
            .field("method", &self.method)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .field("denied", &self.denied)
            .field("allowed", &self.allowed)
            .field("client", &self.client)
            .finish()
    }
}

#[async_trait]
impl Probe for AuthProbe {
    fn target(&self) -> String {
        display_url(&self.url)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.url);
        let anon = self.client.send(cx, self.client.request(self.method.clone(), &self.url), &self.url).await?;
        let rb = self.client.request(self.method.clone(), &self.url).headers(self.credentials.clone());
        let authed = self.client.send(cx, rb, &self.url).await?;
        let (a, b) = (anon.status.as_u16(), authed.status.as_u16());
        let mut problems = Vec::new();
        let mut blocked_by = Vec::new();
        // Without credentials: a 401/403 (or a login redirect) is the verdict; a rate limiter or
        // a failing backend in front says nothing.
        let anon_blockers = Blockers { rate_limit: true, auth: None, upstream: true, missing: false, login: false };
        if !self.denied.contains(anon.status) {
            if let Some(e) = blocked(&anon, &self.url, anon_blockers, "the authentication check") {
                blocked_by.push(e.context("without credentials"));
            } else if login_redirect(&anon, &self.url).is_none() {
                problems.push(format!(
                    "without credentials it answered {a}, expected {} (authentication not enforced)",
                    self.denied
                ));
            }
        }
        // With credentials: a 5xx is the service failing, a 401/403 means the configured
        // credentials are wrong: neither shows whether authentication works.
        if !self.allowed.contains(authed.status) {
            let mut authed_blockers = Blockers::standard(true);
            authed_blockers.upstream = false;
            if authed.status.is_server_error() {
                blocked_by.push(
                    ProbeError::new(
                        crate::probe::ProbeErrorKind::Unreachable,
                        format!(
                            "{shown} answered {b}: the service is failing, so whether valid credentials are accepted could not be seen"
                        ),
                    )
                    .context("with credentials"),
                );
            } else if let Some(e) = blocked(&authed, &self.url, authed_blockers, "the protected endpoint") {
                blocked_by.push(e.context("with credentials"));
            } else {
                problems.push(format!("with credentials it answered {b}, expected {}", self.allowed));
            }
        }
        let mut obs = if problems.is_empty() {
            if let Some(first) = blocked_by.first() {
                let mut e = first.clone();
                e.message = format!(
                    "{} {shown}: {}",
                    self.method,
                    blocked_by.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
                );
                return Err(e);
            }
            Observation::pass(format!(
                "{} {shown} answered {a} without credentials and {b} with credentials",
                self.method
            ))
        } else {
            let mut text = problems.join("; ");
            for e in &blocked_by {
                text.push_str(&format!("; could not look {e}"));
            }
            Observation::fail(format!("{} {shown}: {text}", self.method))
        };
        for m in anon.measurements(Some(("credentials", "without"))) {
            obs.push_measurement(m);
        }
        for m in authed.measurements(Some(("credentials", "with"))) {
            obs.push_measurement(m);
        }
        obs = obs
            .with_evidence("url", &shown)
            .with_evidence("status_without_credentials", a.to_string())
            .with_evidence("status_with_credentials", b.to_string());
        Ok(unverified(obs, &self.client))
    }
}

// ---------------------------------------------------------------------------------------------
// rate limiting

/// The most requests one rate-limit check may send.
pub const MAX_BURST_REQUESTS: u32 = 1000;
/// The longest a rate-limit burst may last.
pub const MAX_BURST_DURATION: Duration = Duration::from_secs(60);

fn default_within() -> Duration {
    Duration::from_secs(10)
}

/// Rate limiting configured (kind `http-rate-limit`): a bounded burst of requests sees a 429
/// or `RateLimit` / `X-RateLimit-*` headers.
///
/// The burst is sent one request after another and stops at the first 429 or rate-limit
/// header, after `requests` requests, or after `within`, whichever comes first. Both bounds
/// have hard maximums ([`MAX_BURST_REQUESTS`], [`MAX_BURST_DURATION`]).
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitSpec {
    /// The rate-limited endpoint.
    pub url: String,
    /// The method (default `GET`).
    #[serde(default = "get")]
    pub method: String,
    /// The most requests to send (1..=1000): required, a burst is never unbounded.
    pub requests: u32,
    /// The longest the burst may last ("10s", at most "60s").
    #[serde(default = "default_within", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub within: Duration,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl RateLimitSpec {
    /// A burst of `requests` GETs to `url`, within 10 seconds.
    pub fn new(url: impl Into<String>, requests: u32) -> Self {
        RateLimitSpec {
            url: url.into(),
            method: get(),
            requests,
            within: default_within(),
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for RateLimitSpec {
    const NAME: &'static str = "http-rate-limit";
    type Probe = RateLimitProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `Misconfigured` when the burst is empty or beyond the hard maximums.
    fn build_probe(&self) -> Result<RateLimitProbe, ProbeError> {
        let url = parse_url("url", &self.url)?;
        let method = parse_method("method", &self.method)?;
        if self.requests == 0 || self.requests > MAX_BURST_REQUESTS {
            return Err(ProbeError::misconfigured(format!(
                "requests = {} is outside 1..={MAX_BURST_REQUESTS} (a burst is always bounded)",
                self.requests
            )));
        }
        if self.within.is_zero() || self.within > MAX_BURST_DURATION {
            return Err(ProbeError::misconfigured(format!(
                "within = {} is outside (0s, {}]",
                crate::model::duration::format(self.within),
                crate::model::duration::format(MAX_BURST_DURATION)
            )));
        }
        Ok(RateLimitProbe {
            url: SafeUrl(url),
            method,
            requests: self.requests,
            within: self.within,
            client: self.client.build()?,
        })
    }
}

/// Builds a [`RateLimitProbe`] in Rust: `RateLimitProbe::builder(..).….build()`, the same probe as the
/// `http-rate-limit` kind's [`RateLimitSpec`].
#[derive(Debug, Clone)]
pub struct RateLimitProbeBuilder {
    spec: RateLimitSpec,
}

impl RateLimitProbeBuilder {
    /// The method (default `GET`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.spec.method = method.into();
        self
    }

    /// The time the burst may take (default 10s, at most [`MAX_BURST_DURATION`]).
    pub fn within(mut self, within: Duration) -> Self {
        self.spec.within = within;
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
    /// `Misconfigured` naming the bad setting (a burst above the caps, a bad URL).
    pub fn build(self) -> Result<RateLimitProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl RateLimitProbe {
    /// A builder for a burst of `requests` requests to `url`.
    pub fn builder(url: impl Into<String>, requests: u32) -> RateLimitProbeBuilder {
        RateLimitProbeBuilder { spec: RateLimitSpec::new(url, requests) }
    }
}

/// The probe built from a [`RateLimitSpec`].
#[derive(Debug, Clone)]
pub struct RateLimitProbe {
    url: SafeUrl,
    method: Method,
    requests: u32,
    within: Duration,
    client: HttpClient,
}

const RATE_LIMIT_HEADERS: [&str; 8] = [
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
];

fn rate_limit_headers(resp: &Fetched) -> Option<String> {
    let found: Vec<String> =
        RATE_LIMIT_HEADERS.iter().filter_map(|h| resp.header(h).map(|v| format!("{}: {v}", canonical(h)))).collect();
    (!found.is_empty()).then(|| found.join(", "))
}

fn canonical(h: &str) -> String {
    h.split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
        .replace("Ratelimit", "RateLimit")
}

#[async_trait]
impl Probe for RateLimitProbe {
    fn target(&self) -> String {
        display_url(&self.url)
    }

    /// The burst consumes the service's real rate limiter: other probes running meanwhile
    /// would see 429s, so the runner runs this one alone, after the others.
    fn has_side_effects(&self) -> bool {
        true
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.url);
        let started = Instant::now();
        let mut sent = 0u32;
        let mut server_errors = 0u32;
        let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
        let mut found: Option<String> = None;
        let mut last_login: Option<String> = None;
        while sent < self.requests && started.elapsed() < self.within {
            let resp = self
                .client
                .send(cx, self.client.request(self.method.clone(), &self.url), &self.url)
                .await
                .map_err(|e| ProbeError::from(e).context(format!("rate-limit burst after {sent} requests")))?;
            sent += 1;
            *statuses.entry(resp.status.as_u16()).or_default() += 1;
            if resp.status.is_server_error() {
                server_errors += 1;
            }
            if let Some(page) = login_redirect(&resp, &self.url) {
                last_login = Some(page);
            }
            if resp.status.as_u16() == 429 {
                let retry = resp.header("retry-after").map(|r| format!(", Retry-After: {r}")).unwrap_or_default();
                found = Some(format!("answered 429 after {sent} requests{retry}"));
                break;
            }
            if let Some(h) = rate_limit_headers(&resp) {
                found = Some(format!("advertises a rate limit after {sent} requests ({h})"));
                break;
            }
        }
        let elapsed = started.elapsed();
        let secs = format!("{:.1}s", elapsed.as_secs_f64());
        if found.is_none() {
            // No limit seen, but answers from something in front (credentials refused, a
            // failing backend, a login page): the burst never reached the limiter's service.
            let blockers: Vec<String> = statuses
                .keys()
                .filter(|c| matches!(**c, 401 | 403 | 407 | 502..=504))
                .map(|c| format!("{c}×{}", statuses[c]))
                .collect();
            if !blockers.is_empty() {
                let kind = if statuses.keys().any(|c| matches!(*c, 401 | 403 | 407)) {
                    crate::probe::ProbeErrorKind::PermissionDenied
                } else {
                    crate::probe::ProbeErrorKind::Unreachable
                };
                return Err(ProbeError::new(
                    kind,
                    format!(
                        "{} {shown}: {sent} requests without a 429 or rate-limit header, but answered {}: \
                         an auth layer or a failing backend answered, so whether a rate limit exists could not be seen",
                        self.method,
                        blockers.join(", ")
                    ),
                ));
            }
            if let Some(page) = last_login {
                return Err(ProbeError::permission_denied(format!(
                    "{} {shown} redirected to the login page {page}, so the rate limit could not be seen",
                    self.method
                )));
            }
        }
        let mut obs = match found {
            Some(what) => Observation::pass(format!("{} {shown} {what}", self.method)),
            None => Observation::fail(format!(
                "{} {shown}: no 429 and no RateLimit/X-RateLimit header after {sent} requests in {secs}",
                self.method
            )),
        };
        obs.push_measurement(Measurement::new("requests_sent", f64::from(sent), Unit::Count));
        obs.push_measurement(Measurement::new("burst_duration", elapsed.as_secs_f64() * 1000.0, Unit::Milliseconds));
        let mut st = String::new();
        for (code, n) in &statuses {
            let _ = write!(st, "{}{code}×{n}", if st.is_empty() { "" } else { ", " });
        }
        obs = obs.with_evidence("url", &shown).with_evidence("statuses", st);
        if server_errors > 0 {
            obs = obs.with_evidence("server_errors", format!("{server_errors} answers were 5xx during the burst"));
        }
        Ok(unverified(obs, &self.client))
    }
}

// ---------------------------------------------------------------------------------------------
// input validation

/// The most payloads one input-validation check may send.
pub const MAX_PAYLOADS: usize = 100;

/// Input validation (kind `http-input-validation`): every configured malformed payload gets a
/// 4xx, never a 5xx (nor a 2xx, which means it was accepted).
///
/// Answers from something in front of the validator are not verdicts: a 429 (rate limiter),
/// 401/403 (credentials missing or wrong), 404/405 (wrong url or method), 502/503/504 (backend
/// down) or a redirect to a login page make the check an Error that names the status, and the
/// remaining payloads are not sent.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct InputValidationSpec {
    /// The endpoint receiving the payloads.
    pub url: String,
    /// The method (default `POST`).
    #[serde(default = "post")]
    pub method: String,
    /// The payloads' content type (default `application/json`).
    #[serde(default = "json_type")]
    pub content_type: String,
    /// Malformed payloads (at most 100).
    pub payloads: Vec<String>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl InputValidationSpec {
    /// JSON payloads POSTed to `url`.
    pub fn new(url: impl Into<String>, payloads: impl IntoIterator<Item = impl Into<String>>) -> Self {
        InputValidationSpec {
            url: url.into(),
            method: post(),
            content_type: json_type(),
            payloads: payloads.into_iter().map(Into::into).collect(),
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for InputValidationSpec {
    const NAME: &'static str = "http-input-validation";
    type Probe = InputValidationProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without payloads, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<InputValidationProbe, ProbeError> {
        let url = parse_url("url", &self.url)?;
        let method = parse_method("method", &self.method)?;
        if self.payloads.is_empty() {
            return Err(ProbeError::not_configured("payloads"));
        }
        if self.payloads.len() > MAX_PAYLOADS {
            return Err(ProbeError::misconfigured(format!(
                "payloads has {} entries, at most {MAX_PAYLOADS} are allowed",
                self.payloads.len()
            )));
        }
        Ok(InputValidationProbe {
            url: SafeUrl(url),
            method,
            content_type: self.content_type.clone(),
            payloads: self.payloads.clone(),
            client: self.client.build()?,
        })
    }
}

/// Builds a [`InputValidationProbe`] in Rust: `InputValidationProbe::builder(..).….build()`, the same probe as the
/// `http-input-validation` kind's [`InputValidationSpec`].
#[derive(Debug, Clone)]
pub struct InputValidationProbeBuilder {
    spec: InputValidationSpec,
}

impl InputValidationProbeBuilder {
    /// The method (default `POST`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.spec.method = method.into();
        self
    }

    /// The content type of the payloads (default `application/json`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.spec.content_type = content_type.into();
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
    /// `NotConfigured` without payloads, `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<InputValidationProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl InputValidationProbe {
    /// A builder for malformed `payloads` sent to `url`.
    pub fn builder(
        url: impl Into<String>,
        payloads: impl IntoIterator<Item = impl Into<String>>,
    ) -> InputValidationProbeBuilder {
        InputValidationProbeBuilder { spec: InputValidationSpec::new(url, payloads) }
    }
}

/// The probe built from an [`InputValidationSpec`].
#[derive(Debug, Clone)]
pub struct InputValidationProbe {
    url: SafeUrl,
    method: Method,
    content_type: String,
    payloads: Vec<String>,
    client: HttpClient,
}

fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[async_trait]
impl Probe for InputValidationProbe {
    fn target(&self) -> String {
        display_url(&self.url)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.url);
        let mut all = Vec::new();
        let mut bad = Vec::new();
        let mut blocked_by: Option<ProbeError> = None;
        let mut evidence = Vec::new();
        let mut measurements = Vec::new();
        for (i, p) in self.payloads.iter().enumerate() {
            let n = i + 1;
            let rb = self
                .client
                .request(self.method.clone(), &self.url)
                .header(CONTENT_TYPE, self.content_type.as_str())
                .body(p.clone());
            let resp = self
                .client
                .send(cx, rb, &self.url)
                .await
                .map_err(|e| ProbeError::from(e).context(format!("payload #{n}")))?;
            let code = resp.status.as_u16();
            all.push(format!("#{n} {code}"));
            evidence.push((format!("payload_{n}"), format!("{code} for {}", snippet(p))));
            measurements.extend(resp.measurements(Some(("payload", &n.to_string()))));
            // A 429, 401/403, 404/405, a failing gateway or a login page answered instead of
            // the validator: this payload was never validated, and the rest would fare alike.
            let blockers = Blockers {
                auth: Some(self.client.credentials || !self.url.username().is_empty()),
                missing: true,
                ..Blockers::standard(false)
            };
            if let Some(e) = blocked(&resp, &self.url, blockers, "the validator") {
                blocked_by = Some(e.context(format!("payload #{n}")));
                break;
            }
            if resp.status.is_server_error() {
                bad.push(format!("#{n} got {code} (server error)"));
            } else if !resp.status.is_client_error() {
                bad.push(format!("#{n} got {code} (not rejected)"));
            }
        }
        let total = self.payloads.len();
        if let Some(e) = blocked_by {
            if bad.is_empty() {
                let sent = all.len();
                let rest = if sent < total {
                    format!(" ({} of {total} payloads not sent)", total - sent)
                } else {
                    String::new()
                };
                let mut e = e.context(format!("{} {shown}", self.method));
                e.message.push_str(&rest);
                return Err(e);
            }
            bad.push(format!("then could not look: {e}"));
        }
        let mut obs = if bad.is_empty() {
            Observation::pass(format!(
                "{} {shown}: all {total} malformed payloads rejected with 4xx ({})",
                self.method,
                all.join(", ")
            ))
        } else {
            Observation::fail(format!(
                "{} {shown}: {} of {total} malformed payloads not rejected with 4xx: {} (all: {})",
                self.method,
                bad.len(),
                bad.join(", "),
                all.join(", ")
            ))
        };
        for m in measurements {
            obs.push_measurement(m);
        }
        for (k, v) in evidence {
            obs.evidence.insert(k, v);
        }
        Ok(unverified(obs.with_evidence("url", &shown), &self.client))
    }
}

// ---------------------------------------------------------------------------------------------
// CDN / caching

/// CDN configured (kind `http-cdn`): a static asset is cacheable (`Cache-Control` with
/// `max-age` or `s-maxage` above zero) and served through a cache (`Age`, `X-Cache`,
/// `CF-Cache-Status`, `Via`...). Cacheable without any CDN header is a Warn.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CdnSpec {
    /// A static asset's URL (`https://cdn.example.com/static/app.js`).
    pub url: String,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl CdnSpec {
    /// Checks the asset at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        CdnSpec { url: url.into(), client: ClientOptions::default() }
    }
}

impl HttpKind for CdnSpec {
    const NAME: &'static str = "http-cdn";
    type Probe = CdnProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without URL, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<CdnProbe, ProbeError> {
        Ok(CdnProbe { url: SafeUrl(parse_url("url", &self.url)?), client: self.client.build()? })
    }
}

/// Builds a [`CdnProbe`] in Rust: `CdnProbe::builder(..).….build()`, the same probe as the
/// `http-cdn` kind's [`CdnSpec`].
#[derive(Debug, Clone)]
pub struct CdnProbeBuilder {
    spec: CdnSpec,
}

impl CdnProbeBuilder {
    /// Connection settings.
    pub fn client(mut self, client: ClientOptions) -> Self {
        self.spec.client = client;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<CdnProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl CdnProbe {
    /// A builder for a cached asset at `url`.
    pub fn builder(url: impl Into<String>) -> CdnProbeBuilder {
        CdnProbeBuilder { spec: CdnSpec::new(url) }
    }
}

/// The probe built from a [`CdnSpec`].
#[derive(Debug, Clone)]
pub struct CdnProbe {
    url: SafeUrl,
    client: HttpClient,
}

const CDN_HEADERS: [&str; 8] =
    ["Age", "X-Cache", "CF-Cache-Status", "Via", "X-Served-By", "X-Cache-Hits", "X-Amz-Cf-Pop", "CDN-Cache-Control"];

/// Why `Cache-Control` does not allow shared caching, or `None` when it does.
fn not_cacheable(cc: Option<&str>) -> Option<String> {
    let Some(cc) = cc else { return Some("Cache-Control header missing".into()) };
    let lower = cc.to_ascii_lowercase();
    let directives: Vec<&str> = lower.split(',').map(str::trim).collect();
    for d in ["no-store", "private", "no-cache"] {
        if directives.contains(&d) {
            return Some(format!("Cache-Control `{cc}` forbids shared caching ({d})"));
        }
    }
    let ttl = directives
        .iter()
        .filter_map(|d| d.strip_prefix("s-maxage=").or_else(|| d.strip_prefix("max-age=")))
        .filter_map(|v| v.trim_matches('"').parse::<u64>().ok())
        .max();
    match ttl {
        Some(t) if t > 0 => None,
        Some(_) => Some(format!("Cache-Control `{cc}` has a zero max-age")),
        None => Some(format!("Cache-Control `{cc}` sets no max-age or s-maxage")),
    }
}

#[async_trait]
impl Probe for CdnProbe {
    fn target(&self) -> String {
        display_url(&self.url)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.url);
        let resp = self.client.send(cx, self.client.request(Method::GET, &self.url), &self.url).await?;
        let sent_credentials = self.client.credentials || !self.url.username().is_empty();
        if let Some(e) = blocked(&resp, &self.url, Blockers::standard(sent_credentials), "the asset") {
            return Err(e);
        }
        let cc = resp.header("cache-control");
        let cdn: Vec<String> = CDN_HEADERS.iter().filter_map(|h| resp.header(h).map(|v| format!("{h}: {v}"))).collect();
        let mut obs = if !resp.status.is_success() {
            Observation::fail(format!("{shown} answered {}, expected 2xx for a static asset", resp.status.as_u16()))
        } else if let Some(why) = not_cacheable(cc) {
            Observation::fail(format!("{shown} is not cacheable: {why}"))
        } else if cdn.is_empty() {
            Observation::warn(format!(
                "{shown} is cacheable (Cache-Control: {}) but no CDN header (Age, X-Cache, CF-Cache-Status, Via) was seen",
                cc.unwrap_or_default()
            ))
        } else {
            Observation::pass(format!(
                "{shown} is cacheable (Cache-Control: {}) and served through a cache ({})",
                cc.unwrap_or_default(),
                cdn.join(", ")
            ))
        };
        for m in resp.measurements(None) {
            obs.push_measurement(m);
        }
        obs = obs.with_evidence("url", &shown).with_evidence("cache-control", cc.unwrap_or("(missing)"));
        if !cdn.is_empty() {
            obs = obs.with_evidence("cdn_headers", cdn.join(", "));
        }
        Ok(unverified(obs, &self.client))
    }
}

// ---------------------------------------------------------------------------------------------
// debug endpoints

fn default_debug_paths() -> Vec<String> {
    [
        "/debug/pprof/",
        "/debug/vars",
        "/actuator",
        "/actuator/env",
        "/actuator/heapdump",
        "/metrics",
        "/server-status",
        "/.env",
    ]
    .map(String::from)
    .to_vec()
}

/// Debug endpoints not exposed (kind `http-debug-endpoints`): each path under `base_url`
/// answers 401, 403 or 404. Redirects are not followed: a redirect to a login page counts as
/// protected, any other 3xx as exposed unless listed in `allowed_status`. A 429 or a failing
/// gateway (502/503/504) answering for a path means that path could not be checked: an Error
/// unless another path is exposed.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DebugEndpointsSpec {
    /// The public base URL (`https://api.example.com`).
    pub base_url: String,
    /// Paths that must not be served (default: pprof, expvar, Spring actuator, `/metrics`,
    /// `/server-status`, `/.env`).
    #[serde(default = "default_debug_paths")]
    pub paths: Vec<String>,
    /// Statuses that mean "not exposed" (default 401, 403, 404).
    #[serde(default)]
    pub allowed_status: Vec<StatusPattern>,
    /// Connection settings (`follow_redirects` is ignored: always 0).
    #[serde(default)]
    pub client: ClientOptions,
}

impl DebugEndpointsSpec {
    /// The default paths under `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        DebugEndpointsSpec {
            base_url: base_url.into(),
            paths: default_debug_paths(),
            allowed_status: Vec::new(),
            client: ClientOptions::default(),
        }
    }
}

impl HttpKind for DebugEndpointsSpec {
    const NAME: &'static str = "http-debug-endpoints";
    type Probe = DebugEndpointsProbe;

    /// Builds the probe.
    ///
    /// # Errors
    /// `NotConfigured` without base URL or paths, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<DebugEndpointsProbe, ProbeError> {
        let mut base = parse_url("base_url", &self.base_url)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        if self.paths.is_empty() {
            return Err(ProbeError::not_configured("paths"));
        }
        let urls = self
            .paths
            .iter()
            .map(|p| {
                base.join(p.trim_start_matches('/')).map(|u| (p.clone(), u)).map_err(|e| {
                    ProbeError::misconfigured(format!("paths entry `{p}` is not a valid path")).with_source(&e)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut opts = self.client.clone();
        opts.follow_redirects = 0;
        Ok(DebugEndpointsProbe {
            base: SafeUrl(base),
            urls: urls.into_iter().map(|(p, u)| (p, SafeUrl(u))).collect(),
            allowed: StatusSet::parse("allowed_status", &self.allowed_status, StatusSet::of(&[401, 403, 404]))?,
            client: opts.build()?,
        })
    }
}

/// Builds a [`DebugEndpointsProbe`] in Rust: `DebugEndpointsProbe::builder(..).….build()`, the same probe as the
/// `http-debug-endpoints` kind's [`DebugEndpointsSpec`].
#[derive(Debug, Clone)]
pub struct DebugEndpointsProbeBuilder {
    spec: DebugEndpointsSpec,
}

impl DebugEndpointsProbeBuilder {
    /// The paths that must not be served (default: pprof, expvar, Spring actuator, `/metrics`,
    /// `/server-status`, `/.env`).
    pub fn paths(mut self, paths: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.spec.paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Statuses that mean "not exposed" (default 401, 403, 404).
    pub fn allowed_status(mut self, statuses: impl IntoIterator<Item = StatusPattern>) -> Self {
        self.spec.allowed_status = statuses.into_iter().collect();
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
    /// `Misconfigured` naming the bad setting.
    pub fn build(self) -> Result<DebugEndpointsProbe, ProbeError> {
        self.spec.build_probe()
    }
}

impl DebugEndpointsProbe {
    /// A builder for the service at `base_url`, with the default debug paths.
    pub fn builder(base_url: impl Into<String>) -> DebugEndpointsProbeBuilder {
        DebugEndpointsProbeBuilder { spec: DebugEndpointsSpec::new(base_url) }
    }
}

/// The probe built from a [`DebugEndpointsSpec`].
#[derive(Debug, Clone)]
pub struct DebugEndpointsProbe {
    base: SafeUrl,
    urls: Vec<(String, SafeUrl)>,
    allowed: StatusSet,
    client: HttpClient,
}

#[async_trait]
impl Probe for DebugEndpointsProbe {
    fn target(&self) -> String {
        display_url(&self.base)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = display_url(&self.base);
        let sends = self.urls.iter().map(|(_, u)| self.client.send(cx, self.client.request(Method::GET, u), u));
        let results = futures_util::future::join_all(sends).await;
        let mut exposed = Vec::new();
        let mut all = Vec::new();
        let mut measurements = Vec::new();
        let mut blocked_by = Vec::new();
        for ((path, url), r) in self.urls.iter().zip(results) {
            let resp = r.map_err(ProbeError::from)?;
            let code = resp.status.as_u16();
            all.push(format!("{path} {code}"));
            measurements.extend(resp.measurements(Some(("path", path))));
            if self.allowed.contains(resp.status) {
                continue;
            }
            // A redirect to a login page protects the path; a rate limiter or a failing gateway
            // answering instead says nothing about it.
            if login_redirect(&resp, url).is_some() {
                continue;
            }
            let blockers = Blockers { login: false, ..Blockers::standard(false) };
            if let Some(e) = blocked(&resp, url, blockers, "the path") {
                blocked_by.push(e.message);
                continue;
            }
            exposed.push(format!("{path} ({code})"));
        }
        let total = self.urls.len();
        if exposed.is_empty() && !blocked_by.is_empty() {
            return Err(ProbeError::new(
                crate::probe::ProbeErrorKind::Unreachable,
                format!(
                    "{} of {total} debug endpoints could not be checked: {}",
                    blocked_by.len(),
                    blocked_by.join("; ")
                ),
            ));
        }
        let mut obs = if exposed.is_empty() {
            Observation::pass(format!("none of {total} debug endpoints exposed on {shown} ({})", all.join(", ")))
        } else {
            Observation::fail(format!(
                "{} of {total} debug endpoints exposed on {shown}: {} (expected {})",
                exposed.len(),
                exposed.join(", "),
                self.allowed
            ))
        };
        for m in measurements {
            obs.push_measurement(m);
        }
        obs = obs.with_evidence("base_url", &shown).with_evidence("statuses", all.join(", "));
        Ok(unverified(obs, &self.client))
    }
}

// ---------------------------------------------------------------------------------------------
// documents

/// A document or runbook URL is reachable (kind `http-document`): GET answers 2xx, and the
/// body contains `body_contains` when set.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DocumentSpec {
    /// The document's URL.
    pub url: String,
    /// Text the document must contain (a title, "Rollback").
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Connection settings.
    #[serde(default)]
    pub client: ClientOptions,
}

impl DocumentSpec {
    /// The document at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        DocumentSpec { url: url.into(), body_contains: None, client: ClientOptions::default() }
    }
}

impl HttpKind for DocumentSpec {
    const NAME: &'static str = "http-document";
    type Probe = HttpProbe;

    /// Builds the probe (an [`HttpProbe`] GET expecting 2xx).
    ///
    /// # Errors
    /// `NotConfigured` without URL, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<HttpProbe, ProbeError> {
        let mut s = HttpSpec::new(self.url.clone());
        s.body_contains = self.body_contains.clone();
        s.client = self.client.clone();
        s.build_probe()
    }
}

#[cfg(test)]
mod tests {
    use super::not_cacheable;

    #[test]
    fn cache_control_directives() {
        assert_eq!(not_cacheable(Some("public, max-age=60")), None);
        assert_eq!(not_cacheable(Some("max-age=0, s-maxage=600")), None);
        assert_eq!(not_cacheable(None).as_deref(), Some("Cache-Control header missing"));
        assert_eq!(
            not_cacheable(Some("private, max-age=60")).as_deref(),
            Some("Cache-Control `private, max-age=60` forbids shared caching (private)")
        );
        assert_eq!(not_cacheable(Some("max-age=0")).as_deref(), Some("Cache-Control `max-age=0` has a zero max-age"));
        assert_eq!(
            not_cacheable(Some("public")).as_deref(),
            Some("Cache-Control `public` sets no max-age or s-maxage")
        );
    }
}
