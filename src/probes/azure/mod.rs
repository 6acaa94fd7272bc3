//! Backup storage probes for Azure Blob Storage (feature `azure`).
//!
//! The same questions the [`s3`](super::s3) backend answers, for one blob container, through
//! the Blob service REST API (data plane). Some settings live only in the management plane
//! (Azure Resource Manager); those checks say so in an Error rather than guessing:
//!
//! | check | reads | Pass when |
//! |---|---|---|
//! | `reachable` | Get Container Properties | the container exists and we may read it (404: Fail; 401/403: Error) |
//! | `soft-delete` | Get Blob Service Properties | blob soft delete keeps deleted blobs (versioning itself is an account setting: management API) |
//! | `encryption` | container properties | a default encryption scope is set; Microsoft-managed account encryption passes unless `require_scope` |
//! | `lifecycle` | — | always an Error: lifecycle management policies need the management API |
//! | `immutability` | container properties | an immutability policy, a legal hold or version-level immutability |
//! | `logging` | Get Blob Service Properties | Storage Analytics logs reads, writes and deletes; otherwise an Error: diagnostic settings need the management API |
//! | `freshness` | List Blobs (+ Get Blob Properties) | the newest blob under the prefix is younger than the RPO |
//! | `backup` | reachable, soft delete, encryption, freshness | the backup storage item |
//!
//! Each check is its own probe type made from one [`AzureContainer`] handle (HTTP client,
//! token cache). Credentials: [`AzureCredentials`] (shared key, SAS, managed identity, bearer
//! token), or a connection string ([`AzureConfig::from_connection_string`]). In config files:
//! `kind = "azure"` with `check = "..."` ([`AzureSpec`]), or `kind = "backup"` with
//! `provider = "azure"`.
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext, Secret};
//! use nexus_readiness::probes::azure::{AzureConfig, AzureContainer, AzureCredentials};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AzureConfig::new("nexusbackups")
//!     .credentials(AzureCredentials::ManagedIdentity { client_id: None });
//! let container = AzureContainer::new(config, "postgres");
//! let freshness = container.freshness().prefix("nightly/").build()?;
//! let observation = freshness.check(&ProbeContext::new()).await?;
//! println!("{}: {}", observation.verdict, observation.summary);
//! # Ok(())
//! # }
//! ```

mod auth;
mod spec;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

use crate::model::{Threshold, Unit};
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Secret, Verdict, scrub_urls};
use crate::probes::backup::rest::{self, Answer};
use crate::probes::backup::{FreshnessOptions, NewestSearch, Place, combine, fail_keeping, judge_freshness};

pub use auth::AzureCredentials;
pub use spec::AzureSpec;

/// The largest page of List Blobs (`maxresults`).
pub const MAX_PAGE_SIZE: u32 = 5000;

/// The REST API version sent in `x-ms-version`.
pub const API_VERSION: &str = "2023-11-03";

/// The account name and key of the storage emulator (Azurite), published by Microsoft.
pub const DEVSTORE_ACCOUNT: &str = "devstoreaccount1";
const DEVSTORE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Which check an `azure` config entry builds (`check = "..."`): one probe type each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AzureCheck {
    /// The container exists (else Fail) and we may read it (else Error).
    Reachable,
    /// Blob soft delete is on (`versioning` is accepted as another name for it).
    #[serde(alias = "versioning")]
    SoftDelete,
    /// A default encryption scope, or Microsoft-managed account encryption.
    Encryption,
    /// Lifecycle management: an Error saying it needs the management API.
    Lifecycle,
    /// An immutability policy, legal hold or version-level immutability.
    Immutability,
    /// Storage Analytics logging of reads, writes and deletes.
    Logging,
    /// The newest blob under the prefix is younger than the RPO.
    Freshness,
    /// Reachable, soft delete, encryption and freshness together.
    Backup,
}

impl AzureCheck {
    /// The check's name as written in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            AzureCheck::Reachable => "reachable",
            AzureCheck::SoftDelete => "soft-delete",
            AzureCheck::Encryption => "encryption",
            AzureCheck::Lifecycle => "lifecycle",
            AzureCheck::Immutability => "immutability",
            AzureCheck::Logging => "logging",
            AzureCheck::Freshness => "freshness",
            AzureCheck::Backup => "backup",
        }
    }
}

impl fmt::Display for AzureCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach a storage account's Blob service. `Debug` shows no key, SAS or token.
#[derive(Clone, PartialEq, Eq)]
pub struct AzureConfig {
    account: String,
    endpoint: Option<String>,
    credentials: AzureCredentials,
    identity_endpoint: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("account", &self.account)
            .field("endpoint", &self.endpoint_for_display())
            .field("credentials", &self.credentials)
            .field("identity_endpoint", &self.identity_endpoint.as_deref().map(scrub_urls))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl AzureConfig {
    /// The account's Blob service at `https://{account}.blob.core.windows.net`, authorized by
    /// its managed identity until [`credentials`](Self::credentials) says otherwise.
    pub fn new(account: impl Into<String>) -> Self {
        AzureConfig {
            account: account.into(),
            endpoint: None,
            credentials: AzureCredentials::ManagedIdentity { client_id: None },
            identity_endpoint: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        }
    }

    /// The storage emulator (Azurite) at `blob_endpoint`
    /// (`http://127.0.0.1:10000/devstoreaccount1`), with its well-known account and key.
    pub fn emulator(blob_endpoint: impl Into<String>) -> Self {
        AzureConfig::new(DEVSTORE_ACCOUNT)
            .endpoint(blob_endpoint)
            .credentials(AzureCredentials::SharedKey(Secret::new(DEVSTORE_KEY)))
    }

    /// From a connection string (`AccountName=...;AccountKey=...;BlobEndpoint=...`,
    /// `SharedAccessSignature=...`, or `UseDevelopmentStorage=true`).
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the missing or bad part, never its value.
    pub fn from_connection_string(text: &Secret) -> Result<Self, ProbeError> {
        let mut parts: Vec<(String, String)> = Vec::new();
        for p in text.expose().split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = p.split_once('=') else {
                return Err(ProbeError::misconfigured("azure connection string has a part without `=`"));
            };
            parts.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let get = |k: &str| parts.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let proxy = get("developmentstorageproxyuri").unwrap_or_else(|| "http://127.0.0.1".into());
            return Ok(AzureConfig::emulator(format!("{}:10000/{DEVSTORE_ACCOUNT}", proxy.trim_end_matches('/'))));
        }
        let endpoint = get("blobendpoint");
        let account = match get("accountname") {
            Some(a) => a,
            None => endpoint
                .as_deref()
                .and_then(|e| reqwest::Url::parse(e).ok())
                .and_then(|u| u.host_str().and_then(|h| h.split('.').next()).map(str::to_string))
                .ok_or_else(|| {
                    ProbeError::misconfigured("azure connection string has neither AccountName nor BlobEndpoint")
                })?,
        };
        let credentials = match (get("accountkey"), get("sharedaccesssignature")) {
            (Some(k), _) => AzureCredentials::SharedKey(Secret::new(k)),
            (None, Some(s)) => AzureCredentials::Sas(Secret::new(s)),
            (None, None) => {
                return Err(ProbeError::misconfigured(
                    "azure connection string has neither AccountKey nor SharedAccessSignature",
                ));
            }
        };
        let mut c = AzureConfig::new(account).credentials(credentials);
        if let Some(e) = endpoint {
            c = c.endpoint(e);
        } else if let Some(suffix) = get("endpointsuffix") {
            let proto = get("defaultendpointsprotocol").unwrap_or_else(|| "https".into());
            let url = format!("{proto}://{}.blob.{suffix}", c.account);
            c = c.endpoint(url);
        }
        Ok(c)
    }

    /// The Blob service endpoint (an emulator's, a sovereign cloud's, a private endpoint's).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// How requests are authorized.
    pub fn credentials(mut self, credentials: AzureCredentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The managed identity token endpoint (instead of `IDENTITY_ENDPOINT` or the instance
    /// metadata service).
    pub fn identity_endpoint(mut self, url: impl Into<String>) -> Self {
        self.identity_endpoint = Some(url.into());
        self
    }

    /// How long to wait for a connection (default 5s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long one request may take (default 60s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The storage account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The endpoint, for messages (credentials removed).
    pub fn endpoint_for_display(&self) -> String {
        scrub_urls(&self.base())
    }

    fn base(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| format!("https://{}.blob.core.windows.net", self.account))
    }
}

/// One blob container: the handle every Azure probe type shares (HTTP client, token cache).
/// Cloning is cheap.
#[derive(Clone)]
pub struct AzureContainer {
    inner: Arc<Inner>,
}

struct Inner {
    config: AzureConfig,
    name: String,
    http: OnceLock<Result<reqwest::Client, ProbeError>>,
    tokens: auth::TokenSource,
}

impl fmt::Debug for AzureContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureContainer")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Walks an XML document, calling `on` with the element path and its text at every text node
/// and with `None` at every closing tag. Entities and character references are resolved.
fn walk_xml(body: &[u8], mut on: impl FnMut(&[String], Option<&str>)) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut pending = String::new();
    loop {
        match reader.read_event().map_err(|e| format!("not well-formed XML: {e}"))? {
            Event::Start(e) => {
                pending.clear();
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Event::Text(t) => pending.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => pending.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    pending.push(c);
                } else {
                    match r.decode().map_err(|e| e.to_string())?.as_ref() {
                        "amp" => pending.push('&'),
                        "lt" => pending.push('<'),
                        "gt" => pending.push('>'),
                        "quot" => pending.push('"'),
                        "apos" => pending.push('\''),
                        other => return Err(format!("unknown entity &{other};")),
                    }
                }
            }
            Event::End(_) => {
                if !pending.is_empty() {
                    on(&path, Some(&pending));
                    pending.clear();
                }
                on(&path, None);
                path.pop();
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The parts of the Blob service properties the checks read.
#[derive(Debug, Default)]
struct ServiceProperties {
    soft_delete: bool,
    soft_delete_days: Option<u32>,
    log_read: bool,
    log_write: bool,
    log_delete: bool,
    log_retention_days: Option<u32>,
}

fn parse_service_properties(body: &[u8]) -> Result<ServiceProperties, String> {
    let mut p = ServiceProperties::default();
    let mut seen_root = false;
    walk_xml(body, |path, text| {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        seen_root |= names.first() == Some(&"StorageServiceProperties");
        let Some(t) = text else { return };
        let on = t.trim().eq_ignore_ascii_case("true");
        match names.as_slice() {
            [_, "DeleteRetentionPolicy", "Enabled"] => p.soft_delete = on,
            [_, "DeleteRetentionPolicy", "Days"] => p.soft_delete_days = t.trim().parse().ok(),
            [_, "Logging", "Read"] => p.log_read = on,
            [_, "Logging", "Write"] => p.log_write = on,
            [_, "Logging", "Delete"] => p.log_delete = on,
            [_, "Logging", "RetentionPolicy", "Days"] => p.log_retention_days = t.trim().parse().ok(),
            _ => {}
        }
    })?;
    if !seen_root {
        return Err("no <StorageServiceProperties> root".into());
    }
    Ok(p)
}

/// One page of List Blobs: every blob offered to the search, and the next marker.
fn parse_blob_page(body: &[u8], search: &mut NewestSearch) -> Result<Option<String>, String> {
    let mut seen_root = false;
    let mut next = None;
    let (mut name, mut modified, mut size) = (None::<String>, None::<DateTime<Utc>>, 0i64);
    let mut bad_date = None;
    walk_xml(body, |path, text| {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        seen_root |= names.first() == Some(&"EnumerationResults");
        match (names.as_slice(), text) {
            (["EnumerationResults", "NextMarker"], Some(t)) => next = Some(t.trim().to_string()),
            ([.., "Blob", "Name"], Some(t)) => name = Some(t.to_string()),
            ([.., "Blob", "Properties", "Last-Modified"], Some(t)) => match DateTime::parse_from_rfc2822(t.trim()) {
                Ok(d) => modified = Some(d.with_timezone(&Utc)),
                Err(_) => bad_date = Some(t.to_string()),
            },
            ([.., "Blob", "Properties", "Content-Length"], Some(t)) => size = t.trim().parse().unwrap_or(0),
            ([.., "Blob"], None) => {
                if let (Some(n), Some(m)) = (name.take(), modified.take()) {
                    search.offer(&n, m, size);
                }
                size = 0;
            }
            _ => {}
        }
    })?;
    if !seen_root {
        return Err("no <EnumerationResults> root".into());
    }
    if let Some(d) = bad_date {
        return Err(format!("a Last-Modified date that is not RFC 1123: {d:?}"));
    }
    Ok(next.filter(|m| !m.is_empty()))
}

/// `AuthorizationFailure: Server failed to authenticate the request. (HTTP 403)`.
fn api_error(a: &Answer) -> String {
    let code = a.header("x-ms-error-code").map(str::to_string);
    let mut message = None;
    let _ = walk_xml(&a.body, |path, text| {
        if let (Some(t), [_, last]) = (text, path)
            && last == "Message"
            && message.is_none()
        {
            message = t.lines().next().map(|l| l.trim().to_string());
        }
    });
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m} (HTTP {})", a.status),
        (Some(c), None) => format!("{c} (HTTP {})", a.status),
        (None, Some(m)) => format!("{m} (HTTP {})", a.status),
        (None, None) if a.body.is_empty() => format!("HTTP {}", a.status),
        (None, None) => format!("HTTP {}: {}", a.status, scrub_urls(&a.snippet())),
    }
}

impl AzureContainer {
    /// The container `name` in the account of `config`.
    pub fn new(config: AzureConfig, name: impl Into<String>) -> Self {
        AzureContainer {
            inner: Arc::new(Inner {
                config,
                name: name.into(),
                http: OnceLock::new(),
                tokens: auth::TokenSource::default(),
            }),
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The container exists and we may read it.
    pub fn reachable(&self) -> AzureReachable {
        AzureReachable { container: self.clone() }
    }

    /// Blob soft delete is on.
    pub fn soft_delete(&self) -> AzureSoftDelete {
        AzureSoftDelete { container: self.clone() }
    }

    /// A default encryption scope, or Microsoft-managed encryption.
    pub fn encryption(&self) -> AzureEncryption {
        AzureEncryption { container: self.clone(), require_scope: false }
    }

    /// Lifecycle management (an Error: it needs the management API).
    pub fn lifecycle(&self) -> AzureLifecycle {
        AzureLifecycle { container: self.clone() }
    }

    /// An immutability policy, legal hold, or version-level immutability.
    pub fn immutability(&self) -> AzureImmutability {
        AzureImmutability { container: self.clone() }
    }

    /// Storage Analytics logging.
    pub fn logging(&self) -> AzureLogging {
        AzureLogging { container: self.clone() }
    }

    /// The newest blob under a prefix against the RPO.
    pub fn freshness(&self) -> AzureFreshnessBuilder {
        AzureFreshnessBuilder { container: self.clone(), options: FreshnessOptions::new(MAX_PAGE_SIZE) }
    }

    fn account(&self) -> &str {
        &self.inner.config.account
    }

    fn place(&self) -> Place {
        Place {
            provider: "azure",
            noun: "container",
            name: self.inner.name.clone(),
            base_uri: format!("{}/{}/", self.inner.config.endpoint_for_display(), self.inner.name),
        }
    }

    fn what(&self) -> String {
        format!("azure container {} in account {}", self.inner.name, self.account())
    }

    fn endpoint(&self) -> String {
        self.inner.config.endpoint_for_display()
    }

    fn base(&self, obs: Observation) -> Observation {
        obs.with_evidence("container", &self.inner.name)
            .with_evidence("account", self.account())
            .with_evidence("endpoint", self.endpoint())
            .with_evidence("provider", "azure")
    }

    fn not_configured(&self) -> Result<(), ProbeError> {
        if self.inner.name.trim().is_empty() {
            return Err(ProbeError::not_configured("azure.container"));
        }
        Ok(())
    }

    fn http(&self) -> Result<&reqwest::Client, ProbeError> {
        let c = &self.inner.config;
        self.inner.http.get_or_init(|| rest::client(c.connect_timeout, c.timeout)).as_ref().map_err(Clone::clone)
    }

    /// `{endpoint}/{segments...}` with `query`, each part encoded.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<reqwest::Url, ProbeError> {
        let mut url = reqwest::Url::parse(&self.inner.config.base()).map_err(|e| {
            ProbeError::misconfigured(format!("azure endpoint {:?} is not a URL: {e}", self.endpoint()))
        })?;
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                ProbeError::misconfigured(format!("azure endpoint {:?} cannot have a path", self.endpoint()))
            })?;
            path.pop_if_empty();
            for s in segments {
                // A blob name keeps its `/` (virtual directories), each piece encoded.
                path.extend(s.split('/'));
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one authorized request.
    async fn send(
        &self,
        cx: &ProbeContext,
        op: &str,
        method: reqwest::Method,
        url: reqwest::Url,
    ) -> Result<Answer, ProbeError> {
        let http = self.http()?;
        let config = &self.inner.config;
        let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut url = url;
        let mut auth_header: Option<Secret> = None;
        match &config.credentials {
            AzureCredentials::SharedKey(key) => {
                let query: Vec<(String, String)> =
                    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                let headers = [("x-ms-date", date.clone()), ("x-ms-version", API_VERSION.to_string())];
                let path = url.path().to_string();
                auth_header = Some(Secret::new(auth::shared_key(
                    &config.account,
                    key,
                    method.as_str(),
                    &path,
                    &query,
                    &headers,
                )?));
            }
            AzureCredentials::Sas(sas) => {
                let sas = sas.expose().trim_start_matches('?');
                let mut q = url.query().map(str::to_string).unwrap_or_default();
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str(sas);
                url.set_query(Some(&q));
            }
            AzureCredentials::ManagedIdentity { client_id } => {
                let t = self
                    .inner
                    .tokens
                    .managed_identity(cx, http, config.identity_endpoint.as_deref(), client_id.as_deref())
                    .await?;
                auth_header = Some(Secret::new(format!("Bearer {}", t.expose())));
            }
            AzureCredentials::BearerToken(t) => auth_header = Some(Secret::new(format!("Bearer {}", t.expose()))),
            AzureCredentials::Anonymous => {}
        }
        let mut req = http.request(method, url).header("x-ms-date", &date).header("x-ms-version", API_VERSION);
        if let Some(a) = auth_header {
            req = req.header("authorization", a.expose());
        }
        rest::send(cx, op, &self.what(), &self.endpoint(), req).await
    }

    fn fault(&self, op: &str, a: &Answer) -> ProbeError {
        let what = self.what();
        let detail = api_error(a);
        match a.status {
            401 | 403 => ProbeError::permission_denied(format!("access denied to {what}: {op}: {detail}")),
            404 => ProbeError::not_found(format!("{what} does not exist")),
            429 | 503 => ProbeError::unreachable(format!("{op} on {what}: throttled at {}: {detail}", self.endpoint())),
            _ => ProbeError::other(format!("{op} on {what} at {}: {detail}", self.endpoint())),
        }
    }

    /// Get Container Properties: the answer's headers, or the 404 answer.
    async fn properties(&self, cx: &ProbeContext) -> Result<Result<Answer, Answer>, ProbeError> {
        let op = "Get Container Properties";
        let a = self
            .send(cx, op, reqwest::Method::GET, self.url(&[&self.inner.name], &[("restype", "container")])?)
            .await?;
        match a.status {
            200 => Ok(Ok(a)),
            404 if a.header("x-ms-error-code").is_none_or(|c| c == "ContainerNotFound") => Ok(Err(a)),
            _ => Err(self.fault(op, &a)),
        }
    }

    async fn container_headers(&self, cx: &ProbeContext) -> Result<Answer, ProbeError> {
        self.properties(cx).await?.map_err(|a| self.fault("Get Container Properties", &a))
    }

    async fn service_properties(&self, cx: &ProbeContext) -> Result<ServiceProperties, ProbeError> {
        let op = "Get Blob Service Properties";
        let url = self.url(&[], &[("restype", "service"), ("comp", "properties")])?;
        let a = self.send(cx, op, reqwest::Method::GET, url).await?;
        if a.status != 200 {
            let mut e = self.fault(op, &a);
            if a.status == 403 {
                e.message.push_str(" (service properties need account-level access: a shared key or an account SAS)");
            }
            return Err(e);
        }
        parse_service_properties(&a.body).map_err(|e| {
            ProbeError::protocol(format!("{op} of account {} at {}: {e}", self.account(), self.endpoint()))
        })
    }

    async fn check_reachable(&self, cx: &ProbeContext) -> Result<(Observation, Option<Answer>), ProbeError> {
        let what = self.what();
        Ok(match self.properties(cx).await? {
            Ok(a) => (self.base(Observation::pass(format!("{what} is reachable"))), Some(a)),
            Err(_) => (self.base(Observation::fail(format!("{what} does not exist"))), None),
        })
    }

    fn judge_soft_delete(&self, p: &ServiceProperties) -> Result<Observation, ProbeError> {
        let account = self.account();
        if p.soft_delete {
            let days = p
                .soft_delete_days
                .map_or_else(String::new, |d| format!(" for {d} day{}", if d == 1 { "" } else { "s" }));
            let mut obs = Observation::pass(format!("blob soft delete keeps deleted blobs{days} in account {account}"))
                .with_evidence("soft_delete", "enabled");
            if let Some(d) = p.soft_delete_days {
                obs = obs.with_measurement(Measurement::new("soft_delete_days", f64::from(d), Unit::Days));
            }
            return Ok(self.base(obs));
        }
        Err(ProbeError::other(format!(
            "blob soft delete is off in account {account}; whether blob versioning is on is an account setting \
             (Microsoft.Storage blobServices isVersioningEnabled) that needs the management API"
        )))
    }

    fn judge_encryption(&self, a: &Answer, require_scope: bool) -> Observation {
        let what = self.what();
        let scope =
            a.header("x-ms-default-encryption-scope").filter(|s| !s.is_empty() && *s != "$account-encryption-key");
        let obs = match scope {
            Some(s) => {
                let enforced =
                    a.header("x-ms-deny-encryption-scope-override").is_some_and(|v| v.eq_ignore_ascii_case("true"));
                Observation::pass(format!(
                    "{what} encrypts new blobs with encryption scope {s}{}",
                    if enforced { " (enforced)" } else { " (blobs may override it)" }
                ))
                .with_evidence("encryption_scope", s)
            }
            None if require_scope => Observation::fail(format!(
                "{what} has no default encryption scope (account encryption only) but one is required"
            )),
            None => Observation::pass(format!(
                "{what} encrypts new blobs with the account's encryption (Microsoft-managed unless the account has a \
                 customer-managed key, which the management API shows)"
            )),
        };
        self.base(obs)
    }

    fn judge_immutability(&self, a: &Answer) -> Observation {
        let what = self.what();
        let flag = |h: &str| a.header(h).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let policy = flag("x-ms-has-immutability-policy");
        let hold = flag("x-ms-has-legal-hold");
        let versioned = flag("x-ms-immutable-storage-with-versioning-enabled");
        let mut found = Vec::new();
        if policy {
            found.push("a time-based immutability policy");
        }
        if hold {
            found.push("a legal hold");
        }
        if versioned {
            found.push("version-level immutability");
        }
        let obs = if found.is_empty() {
            Observation::fail(format!("{what} has no immutability policy, legal hold or version-level immutability"))
        } else {
            Observation::pass(format!("{what} has {}", found.join(" and ")))
        };
        self.base(
            obs.with_evidence("has_immutability_policy", policy.to_string())
                .with_evidence("has_legal_hold", hold.to_string())
                .with_evidence("version_level_immutability", versioned.to_string()),
        )
    }

    fn judge_logging(&self, p: &ServiceProperties) -> Result<Observation, ProbeError> {
        let account = self.account();
        let on: Vec<&str> = [("reads", p.log_read), ("writes", p.log_write), ("deletes", p.log_delete)]
            .iter()
            .filter(|(_, o)| *o)
            .map(|(n, _)| *n)
            .collect();
        let retention = p.log_retention_days.map_or_else(String::new, |d| format!(", kept {d} days"));
        match on.len() {
            3 => Ok(self.base(
                Observation::pass(format!(
                    "storage analytics logs reads, writes and deletes in account {account}{retention}"
                ))
                .with_evidence("logging", "read,write,delete"),
            )),
            0 => Err(ProbeError::other(format!(
                "storage analytics logging is off in account {account}; diagnostic settings (Azure Monitor resource \
                 logs) need the management API"
            ))),
            _ => Ok(self.base(
                Observation::warn(format!(
                    "storage analytics logs only {} in account {account}{retention}",
                    on.join(" and ")
                ))
                .with_evidence("logging", on.join(",")),
            )),
        }
    }

    async fn check_freshness(&self, cx: &ProbeContext, o: &FreshnessOptions) -> Result<Observation, ProbeError> {
        let search = self.find_newest(cx, o).await?;
        let (obs, newest) = judge_freshness(&self.place(), &o.prefix, search, &o.rpo, cx.now());
        let obs = match newest {
            Some(n) if o.verify_newest => self.read_back(cx, &n.key, obs).await?,
            _ => obs,
        };
        Ok(self.base(obs))
    }

    /// List Blobs page by page (`maxresults`, `marker`), keeping only the newest.
    async fn find_newest(&self, cx: &ProbeContext, o: &FreshnessOptions) -> Result<NewestSearch, ProbeError> {
        let op = "List Blobs";
        let mut search = NewestSearch::new();
        let mut marker: Option<String> = None;
        let page = o.page_size.to_string();
        loop {
            let mut q = vec![("restype", "container"), ("comp", "list"), ("maxresults", page.as_str())];
            if !o.prefix.is_empty() {
                q.push(("prefix", o.prefix.as_str()));
            }
            if let Some(m) = marker.as_deref() {
                q.push(("marker", m));
            }
            let url = self.url(&[&self.inner.name], &q)?;
            search.request();
            let a = self.send(cx, op, reqwest::Method::GET, url).await?;
            if a.status != 200 {
                return Err(self.fault(op, &a));
            }
            let next = parse_blob_page(&a.body, &mut search)
                .map_err(|e| ProbeError::protocol(format!("{op} on {} at {}: {e}", self.what(), self.endpoint())))?;
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        Ok(search)
    }

    /// Get Blob Properties (HEAD) on the newest blob: size > 0 and a Content-MD5 or ETag.
    async fn read_back(&self, cx: &ProbeContext, name: &str, mut obs: Observation) -> Result<Observation, ProbeError> {
        let op = "Get Blob Properties";
        let uri = self.place().uri(name);
        let a = self.send(cx, op, reqwest::Method::HEAD, self.url(&[&self.inner.name, name], &[])?).await?;
        match a.status {
            200 => {}
            404 => return Ok(fail_keeping(obs, format!("newest backup {uri} vanished before it could be read back"))),
            _ => return Err(self.fault(op, &a)),
        }
        let size: i64 = a.header("content-length").and_then(|s| s.parse().ok()).unwrap_or(0);
        obs = obs.with_evidence("newest_content_length", size.to_string());
        if let Some(e) = a.header("x-ms-server-encrypted") {
            obs = obs.with_evidence("newest_server_encrypted", e);
        }
        if size <= 0 {
            return Ok(fail_keeping(obs, format!("newest backup {uri} is empty (0 bytes)")));
        }
        let hash = a.header("content-md5").map(|h| ("newest_content_md5", h.to_string()));
        let etag = a.header("etag").filter(|e| !e.trim_matches('"').is_empty()).map(|e| ("newest_etag", e.to_string()));
        if hash.is_none() && etag.is_none() {
            return Ok(fail_keeping(obs, format!("newest backup {uri} has neither a Content-MD5 nor an ETag")));
        }
        for (k, v) in [hash, etag].into_iter().flatten() {
            obs = obs.with_evidence(k, v);
        }
        Ok(obs)
    }
}

macro_rules! target {
    () => {
        fn target(&self) -> String {
            format!("azure://{}/{}/", self.container.account(), self.container.name())
        }
    };
}

/// The container exists (else Fail) and we may read it (else Error). Made by
/// [`AzureContainer::reachable`].
#[derive(Clone, Debug)]
pub struct AzureReachable {
    container: AzureContainer,
}

#[async_trait]
impl Probe for AzureReachable {
    target!();

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        Ok(self.container.check_reachable(cx).await?.0)
    }
}

/// Blob soft delete keeps deleted blobs; when it is off, an Error (blob versioning is an
/// account setting only the management API shows). Made by [`AzureContainer::soft_delete`].
#[derive(Clone, Debug)]
pub struct AzureSoftDelete {
    container: AzureContainer,
}

#[async_trait]
impl Probe for AzureSoftDelete {
    target!();

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        let p = self.container.service_properties(cx).await?;
        self.container.judge_soft_delete(&p)
    }
}

/// A default encryption scope on the container passes; account-level encryption passes unless
/// [`require_scope`](Self::require_scope). Made by [`AzureContainer::encryption`].
#[derive(Clone, Debug)]
pub struct AzureEncryption {
    container: AzureContainer,
    require_scope: bool,
}

impl AzureEncryption {
    /// Account-level encryption alone is a Fail: a default encryption scope is required.
    pub fn require_scope(mut self, on: bool) -> Self {
        self.require_scope = on;
        self
    }
}

#[async_trait]
impl Probe for AzureEncryption {
    target!();

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        let a = self.container.container_headers(cx).await?;
        Ok(self.container.judge_encryption(&a, self.require_scope))
    }
}

/// Lifecycle management policies are an account resource of Azure Resource Manager: this
/// probe says so in an Error (it never passes on a guess). Made by
/// [`AzureContainer::lifecycle`].
#[derive(Clone, Debug)]
pub struct AzureLifecycle {
    container: AzureContainer,
}

#[async_trait]
impl Probe for AzureLifecycle {
    target!();

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        Err(ProbeError::other(format!(
            "lifecycle management of account {} needs the management API (Microsoft.Storage managementPolicies), \
             which the Blob service does not show; check = \"immutability\" reads the container's retention",
            self.container.account()
        )))
    }
}

/// An immutability policy, a legal hold, or version-level immutability on the container. Made
/// by [`AzureContainer::immutability`].
#[derive(Clone, Debug)]
pub struct AzureImmutability {
    container: AzureContainer,
}

#[async_trait]
impl Probe for AzureImmutability {
    target!();

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        let a = self.container.container_headers(cx).await?;
        Ok(self.container.judge_immutability(&a))
    }
}

/// Storage Analytics logging of reads, writes and deletes (partial: Warn; off: Error, as
/// diagnostic settings need the management API). Made by [`AzureContainer::logging`].
#[derive(Clone, Debug)]
pub struct AzureLogging {
    container: AzureContainer,
}

#[async_trait]
impl Probe for AzureLogging {
    target!();

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        let p = self.container.service_properties(cx).await?;
        self.container.judge_logging(&p)
    }
}

/// Builds an [`AzureFreshness`]: [`AzureContainer::freshness`], the options, then
/// [`build`](Self::build).
#[derive(Clone, Debug)]
pub struct AzureFreshnessBuilder {
    container: AzureContainer,
    options: FreshnessOptions,
}

impl AzureFreshnessBuilder {
    /// Looks only at blobs under `prefix` (default: the whole container).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// A newest backup older than `warn` is a Warn, older than `critical` a Fail (default 24h
    /// / 48h). `warn` longer than `critical` is an error of [`build`](Self::build).
    pub fn rpo(mut self, warn: Duration, critical: Duration) -> Self {
        self.options.set_rpo("azure", warn, critical);
        self
    }

    /// Uses a ready threshold over the backup age.
    pub fn rpo_threshold(mut self, threshold: Threshold) -> Self {
        self.options.rpo = threshold;
        self
    }

    /// Blobs per List Blobs request, 1 to 5000 (default 5000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.options.page_size = n;
        self
    }

    /// Also reads back the newest blob's properties: size > 0 and a Content-MD5 or ETag.
    pub fn verify_newest(mut self, on: bool) -> Self {
        self.options.verify_newest = on;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured): RPO warning after the RPO, page size out of range.
    pub fn build(self) -> Result<AzureFreshness, ProbeError> {
        Ok(AzureFreshness { container: self.container, options: self.options.finish("azure", MAX_PAGE_SIZE)? })
    }
}

/// The newest blob under the prefix is younger than the RPO (clock from the probe context).
/// Made by [`AzureContainer::freshness`].
#[derive(Clone, Debug)]
pub struct AzureFreshness {
    container: AzureContainer,
    options: FreshnessOptions,
}

#[async_trait]
impl Probe for AzureFreshness {
    fn target(&self) -> String {
        format!("azure://{}/{}/{}", self.container.account(), self.container.name(), self.options.prefix)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.container.not_configured()?;
        self.container.check_freshness(cx, &self.options).await
    }
}

/// The backup storage item: reachable, soft delete, encryption and the newest backup against
/// the RPO.
#[derive(Clone, Debug)]
pub struct AzureBackup {
    freshness: AzureFreshness,
    require_scope: bool,
}

impl AzureBackup {
    /// The backup judgement over the container and prefix of `freshness`.
    pub fn new(freshness: AzureFreshness) -> Self {
        AzureBackup { freshness, require_scope: false }
    }

    /// Account-level encryption alone is a Fail.
    pub fn require_scope(mut self, on: bool) -> Self {
        self.require_scope = on;
        self
    }
}

#[async_trait]
impl Probe for AzureBackup {
    fn target(&self) -> String {
        self.freshness.target()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let c = &self.freshness.container;
        c.not_configured()?;
        let (reach, headers) = c.check_reachable(cx).await?;
        let Some(h) = headers.filter(|_| reach.verdict != Verdict::Fail) else {
            return combine(&c.place(), reach, Vec::new());
        };
        let soft = match c.service_properties(cx).await {
            Ok(p) => c.judge_soft_delete(&p),
            Err(e) => Err(e),
        };
        let parts = vec![
            ("soft delete", soft),
            ("encryption", Ok(c.judge_encryption(&h, self.require_scope))),
            ("newest backup", c.check_freshness(cx, &self.freshness.options).await),
        ];
        Ok(c.base(combine(&c.place(), reach, parts)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_pages_parse_with_entities_and_markers() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Prefix>db/</Prefix><MaxResults>2</MaxResults><Blobs><Blob><Name>db/a&amp;b.dump</Name><Properties><Last-Modified>Mon, 30 Nov 2026 03:11:46 GMT</Last-Modified><Content-Length>12</Content-Length></Properties></Blob><Blob><Name>db/c&#x2F;d.dump</Name><Properties><Last-Modified>Sun, 29 Nov 2026 03:11:46 GMT</Last-Modified><Content-Length>3</Content-Length></Properties></Blob></Blobs><NextMarker>2!72!MDAwMDA</NextMarker></EnumerationResults>"#;
        let mut s = NewestSearch::new();
        let next = parse_blob_page(body, &mut s).unwrap();
        assert_eq!(next.as_deref(), Some("2!72!MDAwMDA"));
        assert_eq!(s.scanned, 2);
        let n = s.newest.unwrap();
        assert_eq!((n.key.as_str(), n.size), ("db/a&b.dump", 12));
        let mut s = NewestSearch::new();
        let last = parse_blob_page(b"<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>", &mut s).unwrap();
        assert_eq!(last, None);
        assert!(
            parse_blob_page(b"<Error><Code>x</Code></Error>", &mut s).unwrap_err().contains("no <EnumerationResults>")
        );
        assert!(parse_blob_page(b"<EnumerationResults><Blobs><Blob><Name>a", &mut s).is_err());
    }

    #[test]
    fn connection_strings() {
        let c = AzureConfig::from_connection_string(&Secret::new("UseDevelopmentStorage=true")).unwrap();
        assert_eq!(
            (c.account(), c.endpoint_for_display().as_str()),
            (DEVSTORE_ACCOUNT, "http://127.0.0.1:10000/devstoreaccount1")
        );
        let c = AzureConfig::from_connection_string(&Secret::new(
            "DefaultEndpointsProtocol=https;AccountName=nexus;AccountKey=a2V5LWNhbmFyeQ==;EndpointSuffix=core.chinacloudapi.cn",
        ))
        .unwrap();
        assert_eq!(c.endpoint_for_display(), "https://nexus.blob.core.chinacloudapi.cn");
        assert!(!format!("{c:?}").contains("a2V5LWNhbmFyeQ=="));
        let c = AzureConfig::from_connection_string(&Secret::new(
            "BlobEndpoint=https://nexus.blob.core.windows.net/;SharedAccessSignature=sv=2024-01-01&sig=c2FzLWNhbmFyeQ%3D",
        ))
        .unwrap();
        assert_eq!(c.account(), "nexus");
        assert!(!format!("{c:?}").contains("c2FzLWNhbmFyeQ"));
        let e = AzureConfig::from_connection_string(&Secret::new("AccountName=n;Secretish")).unwrap_err();
        assert_eq!(e.message, "azure connection string has a part without `=`");
        let e = AzureConfig::from_connection_string(&Secret::new("AccountName=n;AccountKeyTypo=k2V5")).unwrap_err();
        assert!(!e.message.contains("k2V5"), "{e}");
    }
}
