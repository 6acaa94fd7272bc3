//! The shared HTTP client: options, sending with a body cap, error mapping, URL redaction.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::model::Unit;
use crate::probe::{Measurement, ProbeContext, ProbeError, ProbeErrorKind, Secret, is_sensitive_key};

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_redirects() -> u32 {
    10
}

fn default_max_body() -> u64 {
    1024 * 1024
}

/// Connection settings shared by every HTTP probe kind (the `client` table of a spec).
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Per-request timeout ("10s"); the run's deadline shortens it when closer.
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Redirects to follow (0: none, a 3xx answer is then the answer). A loop is reported as
    /// such; a redirect from https to http is refused; `secret_headers` and credentials are
    /// sent to the first origin only, never across a redirect to another scheme, host or port.
    #[serde(default = "default_redirects")]
    pub follow_redirects: u32,
    /// Most body bytes read per response; the rest is not downloaded and the result says so.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Extra CA certificates (PEM file) trusted besides the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. Dangerous: every observation carries a loud note.
    #[serde(default)]
    pub insecure: bool,
    /// Plain headers sent with every request. Names that look sensitive (`Authorization`,
    /// `*-Token`, `Cookie`...) are refused here: put them under `secret_headers`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values are secrets (`${env:API_TOKEN}`): sent, never printed.
    #[serde(default)]
    pub secret_headers: BTreeMap<String, Secret>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: default_timeout(),
            follow_redirects: default_redirects(),
            max_body_bytes: default_max_body(),
            ca_file: None,
            insecure: false,
            headers: BTreeMap::new(),
            secret_headers: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("follow_redirects", &self.follow_redirects)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("ca_file", &self.ca_file)
            .field("insecure", &self.insecure)
            .field("headers", &self.headers)
            .field("secret_headers", &self.secret_headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ClientOptions {
    /// Builds the client these options describe.
    ///
    /// # Errors
    /// `Misconfigured` for an unreadable CA file, a bad header, or a sensitive header under `headers`.
    pub(crate) fn build(&self) -> Result<HttpClient, ProbeError> {
        let (headers, secret_headers) = self.header_maps()?;
        // Redirects are followed by `HttpClient::send`, which decides what each hop may carry.
        let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).default_headers(headers);
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                ProbeError::misconfigured(format!("cannot read client.ca_file {}", path.display())).with_source(&e)
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ProbeError::misconfigured(format!("client.ca_file {} holds no usable PEM certificate", path.display()))
                    .with_source(&e)
            })?;
            if certs.is_empty() {
                return Err(ProbeError::misconfigured(format!(
                    "client.ca_file {} holds no PEM certificate",
                    path.display()
                )));
            }
            b = b.tls_certs_merge(certs);
        }
        if self.insecure {
            tracing::warn!("http probe built with insecure = true: server certificates are not verified");
            b = b.tls_danger_accept_invalid_certs(true);
        }
        let inner = b
            .build()
            .map_err(|e| ProbeError::misconfigured("cannot build the http client").with_source(&e.without_url()))?;
        Ok(HttpClient {
            inner,
            timeout: self.timeout,
            max_body: self.max_body_bytes,
            insecure: self.insecure,
            follow_redirects: self.follow_redirects,
            secret_headers,
            credentials: !self.secret_headers.is_empty(),
        })
    }

    /// The plain headers (sent on every request) and the secret ones (added per request, so
    /// that a redirect to another origin can leave them out).
    fn header_maps(&self) -> Result<(HeaderMap, HeaderMap), ProbeError> {
        let mut map = HeaderMap::new();
        for (k, v) in &self.headers {
            if is_sensitive_key(k) {
                return Err(ProbeError::misconfigured(format!(
                    "header {k} looks sensitive: put it under client.secret_headers with an ${{env:..}} reference"
                )));
            }
            let value = HeaderValue::from_str(v)
                .map_err(|_| ProbeError::misconfigured(format!("header {k} has a value that is not valid in http")))?;
            map.insert(header_name(k)?, value);
        }
        let mut secret = HeaderMap::new();
        for (k, v) in &self.secret_headers {
            secret.insert(header_name(k)?, secret_header_value(k, v)?);
        }
        Ok((map, secret))
    }
}

pub(crate) fn header_name(k: &str) -> Result<HeaderName, ProbeError> {
    HeaderName::from_bytes(k.as_bytes())
        .map_err(|_| ProbeError::misconfigured(format!("`{k}` is not a valid header name")))
}

/// A header value marked sensitive (hyper never logs it); the error never shows the value.
pub(crate) fn secret_header_value(name: &str, v: &Secret) -> Result<HeaderValue, ProbeError> {
    let mut value = HeaderValue::from_str(v.expose()).map_err(|_| {
        ProbeError::misconfigured(format!("secret header {name} has a value that is not valid in http"))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Whether two URLs share an origin (scheme, host, port): headers that carry credentials
/// are sent only within the first origin.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// Headers that carry credentials and never follow a redirect to another origin: every value
/// marked sensitive (secret headers, credential headers, bearer and basic authorization) and
/// the usual names.
fn strip_credentials(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .iter()
        .filter(|(k, v)| {
            v.is_sensitive()
                || is_sensitive_key(k.as_str())
                || matches!(k.as_str(), "authorization" | "proxy-authorization" | "cookie" | "www-authenticate")
        })
        .map(|(k, _)| k.clone())
        .collect();
    for n in names {
        headers.remove(n);
    }
}

/// A URL for messages: without user name, password, or the values of sensitive query
/// parameters ([`scrub_urls`](crate::probe::scrub_urls), the one scrubber every backend uses).
pub fn display_url(url: &Url) -> String {
    crate::probe::scrub_urls(url.as_str())
}

/// A URL whose Debug output is [`display_url`]: no credentials in probe Debug output.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SafeUrl(pub(crate) Url);

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_url(&self.0))
    }
}

impl std::ops::Deref for SafeUrl {
    type Target = Url;
    fn deref(&self) -> &Url {
        &self.0
    }
}

/// Debug-formats the inner value, then removes URL credentials and sensitive query values.
pub(crate) struct Scrubbed<'a, T: fmt::Debug>(pub(crate) &'a T);

impl<T: fmt::Debug> fmt::Debug for Scrubbed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scrub_text(&format!("{:?}", self.0)))
    }
}

/// Removes `user:password@` after any `scheme://` and the values of sensitive query parameters.
pub(crate) fn scrub_text(text: &str) -> String {
    crate::probe::scrub_urls(text)
}

/// `host:port` of a URL, for messages.
pub(crate) fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => display_url(url),
    }
}

/// Parses an http(s) URL from a spec field.
pub(crate) fn parse_url(field: &str, value: &str) -> Result<Url, ProbeError> {
    if value.trim().is_empty() {
        return Err(ProbeError::not_configured(field));
    }
    let url = Url::parse(value.trim())
        .map_err(|e| ProbeError::misconfigured(format!("{field} is not a valid url")).with_source(&e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ProbeError::misconfigured(format!("{field} must be an http or https url, not {}", url.scheme())));
    }
    Ok(url)
}

/// Parses an HTTP method name.
pub(crate) fn parse_method(field: &str, value: &str) -> Result<Method, ProbeError> {
    Method::from_bytes(value.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| ProbeError::misconfigured(format!("{field} `{value}` is not an http method")))
}

/// A built client plus the options probes need at request time.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: reqwest::Client,
    pub(crate) timeout: Duration,
    pub(crate) max_body: u64,
    pub(crate) insecure: bool,
    pub(crate) follow_redirects: u32,
    /// Secret headers of the options, added to each request's first hop.
    secret_headers: HeaderMap,
    /// Whether every request carries credentials (secret headers).
    pub(crate) credentials: bool,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("insecure", &self.insecure)
            .field("follow_redirects", &self.follow_redirects)
            .finish_non_exhaustive()
    }
}

/// Why a request gave no answer.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The redirect chain looped or was too long: a verdict about the endpoint.
    Redirect(String),
    /// The probe could not look.
    Probe(ProbeError),
}

impl From<SendError> for ProbeError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Redirect(m) => ProbeError::protocol(m),
            SendError::Probe(e) => e,
        }
    }
}

impl From<ProbeError> for SendError {
    fn from(e: ProbeError) -> Self {
        SendError::Probe(e)
    }
}

/// An answer, with the body read up to the cap.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) truncated: bool,
    pub(crate) latency: Duration,
    pub(crate) url: Url,
}

impl Fetched {
    /// `latency`, `status_code` and `body_bytes`, labelled when `label` is given.
    pub(crate) fn measurements(&self, label: Option<(&str, &str)>) -> Vec<Measurement> {
        let ms = self.latency.as_secs_f64() * 1000.0;
        let mut v = vec![
            Measurement::new("latency", ms, Unit::Milliseconds),
            Measurement::new("status_code", f64::from(self.status.as_u16()), Unit::Count),
            Measurement::new("body_bytes", self.body.len() as f64, Unit::Bytes),
        ];
        if let Some((k, val)) = label {
            v = v.into_iter().map(|m| m.label(k, val)).collect();
        }
        v
    }

    /// The latency in whole milliseconds, for summaries.
    pub(crate) fn latency_ms(&self) -> u128 {
        self.latency.as_millis()
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<serde_json::Value, ProbeError> {
        if self.truncated {
            return Err(ProbeError::protocol(format!(
                "{} answered a body larger than the {} byte cap, cannot read it as json",
                display_url(&self.url),
                self.body.len()
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ProbeError::protocol(format!("{} did not answer valid json", display_url(&self.url))).with_source(&e)
        })
    }
}

impl HttpClient {
    /// A request builder on the shared client, with the options' secret headers.
    pub(crate) fn request(&self, method: Method, url: &Url) -> reqwest::RequestBuilder {
        self.inner.request(method, url.clone()).headers(self.secret_headers.clone())
    }

    /// Sends `req`, following up to `follow_redirects` redirects: a loop, too many hops or
    /// a redirect from https to http is refused; credentials stay with the first origin.
    async fn execute(
        &self,
        mut req: reqwest::Request,
        url: &Url,
        budget: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let mut chain: Vec<Url> = vec![req.url().clone()];
        let max = self.follow_redirects as usize;
        loop {
            let replay = req.try_clone();
            let method = req.method().clone();
            let resp = self.inner.execute(req).await.map_err(|e| classify(e, url, budget))?;
            if max == 0 || !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(next) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| resp.url().join(loc).ok())
            else {
                return Ok(resp);
            };
            let Some(mut r) = replay else { return Ok(resp) };
            let shown = || chain.iter().chain(std::iter::once(&next)).map(display_url).collect::<Vec<_>>().join(" -> ");
            if chain.contains(&next) {
                return Err(SendError::Redirect(format!("redirect loop: {}", shown())));
            }
            if chain.len() > max {
                return Err(SendError::Redirect(format!("more than {max} redirects: {}", shown())));
            }
            let from = resp.url();
            if from.scheme() == "https" && next.scheme() != "https" {
                return Err(SendError::Redirect(format!(
                    "redirect from https to {} refused (a downgrade): {}",
                    next.scheme(),
                    shown()
                )));
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(SendError::Redirect(format!("redirect to a {} url refused: {}", next.scheme(), shown())));
            }
            if !same_origin(from, &next) {
                strip_credentials(r.headers_mut());
            }
            let status = resp.status().as_u16();
            if (status == 303 && method != Method::HEAD) || (matches!(status, 301 | 302) && method == Method::POST) {
                *r.method_mut() = Method::GET;
                *r.body_mut() = None;
                r.headers_mut().remove(reqwest::header::CONTENT_TYPE);
                r.headers_mut().remove(reqwest::header::CONTENT_LENGTH);
            }
            *r.url_mut() = next.clone();
            chain.push(next);
            req = r;
        }
    }

    /// Sends a request within `cx.budget(timeout)`, reading the body in chunks up to the cap.
    pub(crate) async fn send(
        &self,
        cx: &ProbeContext,
        rb: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Fetched, SendError> {
        let budget = cx.budget(self.timeout);
        if budget.is_zero() {
            return Err(ProbeError::new(
                ProbeErrorKind::Timeout,
                format!("no time left to request {}", display_url(url)),
            )
            .into());
        }
        let started = Instant::now();
        let fut = async {
            let req = rb.timeout(budget).build().map_err(|e| classify(e, url, budget))?;
            let mut resp = self.execute(req, url, budget).await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let final_url = resp.url().clone();
            let mut body = Vec::new();
            let mut truncated = false;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = usize::try_from(self.max_body).unwrap_or(usize::MAX).saturating_sub(body.len());
                        if chunk.len() > room {
                            body.extend_from_slice(&chunk[..room]);
                            truncated = true;
                            break;
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(if e.is_timeout() {
                            SendError::Probe(timeout_error(url, budget))
                        } else {
                            SendError::Probe(
                                ProbeError::protocol(format!("reading the body of {} failed", display_url(url)))
                                    .with_source(&e.without_url()),
                            )
                        });
                    }
                }
            }
            Ok(Fetched { status, headers, body, truncated, latency: started.elapsed(), url: final_url })
        };
        match cx.run(fut).await {
            Ok(r) => r,
            Err(e) if e.kind == ProbeErrorKind::Timeout => Err(timeout_error(url, started.elapsed()).into()),
            Err(e) => Err(e.into()),
        }
    }
}

fn timeout_error(url: &Url, after: Duration) -> ProbeError {
    ProbeError::new(
        ProbeErrorKind::Timeout,
        format!("{} did not answer within {}", display_url(url), crate::model::duration::format(after)),
    )
}

/// Maps a reqwest error to a verdict-worthy redirect refusal or a `ProbeError` naming the URL.
fn classify(e: reqwest::Error, url: &Url, budget: Duration) -> SendError {
    let e = e.without_url();
    let mut refused = false;
    let mut chain_text = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            refused = true;
        }
        chain_text.push_str(&err.to_string().to_ascii_lowercase());
        chain_text.push('\n');
        cur = err.source();
    }
    let shown = display_url(url);
    let err = if e.is_timeout() {
        timeout_error(url, budget)
    } else if refused {
        ProbeError::unreachable(format!("connection refused by {} ({shown})", host_port(url)))
    } else if chain_text.contains("dns error") || chain_text.contains("failed to lookup address") {
        ProbeError::unreachable(format!("dns lookup failed for {} ({shown})", url.host_str().unwrap_or_default()))
            .with_source(&e)
    } else if let Some(why) = crate::probes::tls_explain::explain_chain(&e, url.host_str().unwrap_or_default()) {
        // The TLS backend's words, not rustls's `verification time 1795995495 (UNIX)`.
        ProbeError::protocol(format!("tls handshake with {} failed ({shown}): {why}", host_port(url)))
    } else if chain_text.contains("certificate") || chain_text.contains("tls") || chain_text.contains("handshake") {
        ProbeError::protocol(format!("tls handshake with {} failed ({shown})", host_port(url))).with_source(&e)
    } else if e.is_connect() {
        ProbeError::unreachable(format!("cannot connect to {} ({shown})", host_port(url))).with_source(&e)
    } else {
        ProbeError::other(format!("request to {shown} failed")).with_source(&e)
    };
    SendError::Probe(err)
}

/// A set of expected status codes: `200`, `"2xx"`, `"200-204"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusSet(Vec<(u16, u16)>);

/// One expected status entry as written in a config file: a code or a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StatusPattern {
    /// One code: `200`.
    Code(u16),
    /// `"2xx"`, `"404"` or a range `"200-204"`.
    Pattern(String),
}

impl StatusSet {
    pub(crate) fn two_xx() -> Self {
        StatusSet(vec![(200, 299)])
    }

    pub(crate) fn of(codes: &[u16]) -> Self {
        StatusSet(codes.iter().map(|c| (*c, *c)).collect())
    }

    /// Parses patterns; empty gives `default`.
    pub(crate) fn parse(field: &str, pats: &[StatusPattern], default: StatusSet) -> Result<Self, ProbeError> {
        if pats.is_empty() {
            return Ok(default);
        }
        let bad =
            |p: &str| ProbeError::misconfigured(format!("{field}: `{p}` is not a status code, `2xx` or `200-299`"));
        let mut out = Vec::new();
        for p in pats {
            match p {
                StatusPattern::Code(c) if (100..=599).contains(c) => out.push((*c, *c)),
                StatusPattern::Code(c) => return Err(bad(&c.to_string())),
                StatusPattern::Pattern(s) => {
                    let s = s.trim().to_ascii_lowercase();
                    let range = if let Some(d) = s.strip_suffix("xx") {
                        // One digit, 1 to 5: `700xx` or `65535xx` must not overflow.
                        let d: u16 = d.parse().ok().filter(|d| (1..=5).contains(d)).ok_or_else(|| bad(&s))?;
                        (d * 100, d * 100 + 99)
                    } else if let Some((a, b)) = s.split_once('-') {
                        (a.trim().parse().map_err(|_| bad(&s))?, b.trim().parse().map_err(|_| bad(&s))?)
                    } else {
                        let c: u16 = s.parse().map_err(|_| bad(&s))?;
                        (c, c)
                    };
                    if range.0 < 100 || range.1 > 599 || range.0 > range.1 {
                        return Err(bad(&s));
                    }
                    out.push(range);
                }
            }
        }
        Ok(StatusSet(out))
    }

    pub(crate) fn contains(&self, s: StatusCode) -> bool {
        let c = s.as_u16();
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&c))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else if a % 100 == 0 && *b == a + 99 {
                    format!("{}xx", a / 100)
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(" or "))
    }
}

/// Compares JSON values, treating numbers by value (`1` equals `1.0`).
pub(crate) fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The note added to every observation of a probe that does not verify certificates.
pub(crate) const INSECURE_NOTE: &str =
    "DISABLED by insecure = true: the server certificate was NOT verified, this result proves nothing about TLS";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_strips_credentials_and_sensitive_query_values() {
        let u = Url::parse("https://bob:pw@api.example.com:8443/x?token=abc&page=2&api_key=k").unwrap();
        assert_eq!(display_url(&u), "https://api.example.com:8443/x?token=redacted&page=2&api_key=redacted");
        let u = Url::parse("https://api.example.com/x?page=2").unwrap();
        assert_eq!(display_url(&u), "https://api.example.com/x?page=2");
        assert_eq!(format!("{:?}", SafeUrl(Url::parse("http://u:secretpw@h/").unwrap())), "http://h/");
    }

    #[test]
    fn scrub_text_removes_userinfo_and_sensitive_query_values() {
        assert_eq!(
            scrub_text(r#"Spec { url: "https://bob:pw@h:1/p@x?access_token=t0k&x=1", other: "a@b" }"#),
            r#"Spec { url: "https://h:1/p@x?access_token=redacted&x=1", other: "a@b" }"#
        );
    }

    #[test]
    fn status_sets_parse_and_print() {
        let pats =
            [StatusPattern::Code(204), StatusPattern::Pattern("3xx".into()), StatusPattern::Pattern("400-404".into())];
        let set = StatusSet::parse("expect_status", &pats, StatusSet::two_xx()).unwrap();
        assert_eq!(set.to_string(), "204 or 3xx or 400-404");
        assert!(set.contains(StatusCode::NOT_FOUND) && set.contains(StatusCode::FOUND));
        assert!(!set.contains(StatusCode::OK));
        assert_eq!(StatusSet::parse("x", &[], StatusSet::two_xx()).unwrap().to_string(), "2xx");
        for bad in ["abc", "6xx", "500-400", "99", "700xx", "65535xx", "0xx", "-1xx", "99999999999-1"] {
            let e = StatusSet::parse("x", &[StatusPattern::Pattern(bad.into())], StatusSet::two_xx()).unwrap_err();
            assert_eq!(e.message, format!("x: `{bad}` is not a status code, `2xx` or `200-299`"));
        }
    }

    #[test]
    fn json_numbers_compare_by_value() {
        assert!(json_eq(&serde_json::json!(1), &serde_json::json!(1.0)));
        assert!(!json_eq(&serde_json::json!("1"), &serde_json::json!(1)));
    }

    #[test]
    fn client_options_debug_hides_secret_headers() {
        let mut o = ClientOptions::default();
        o.secret_headers.insert("X-Api-Key".into(), Secret::new("very-secret-value"));
        let d = format!("{o:?}");
        assert!(d.contains("X-Api-Key") && !d.contains("very-secret-value"), "{d}");
        assert!(!format!("{:?}", o.build().unwrap()).contains("very-secret-value"));
    }
}
