//! Backup storage probes for Google Cloud Storage (feature `gcs`).
//!
//! The same questions the [`s3`](super::s3) backend answers, for one GCS bucket, through the
//! Cloud Storage JSON API (one `GET b/{bucket}` shows every bucket setting; the listing is
//! `GET b/{bucket}/o`, 1,000 objects a page):
//!
//! | check | reads | Pass when |
//! |---|---|---|
//! | `reachable` | the bucket resource | the bucket exists and we may read it (404: Fail; 401/403: Error) |
//! | `versioning` | `versioning.enabled` | object versioning is on (soft delete is reported beside it) |
//! | `encryption` | `encryption.defaultKmsKeyName` | a customer-managed key (CMEK) is the default; Google-managed encryption passes unless `require_cmek` |
//! | `lifecycle` | `lifecycle.rule` | a rule deletes objects or changes their storage class |
//! | `retention` | `retentionPolicy` | a retention policy is set (its period and lock are reported) |
//! | `logging` | `logging.logBucket` | usage logs are delivered; otherwise an Error: Cloud Audit Logs are set in the project's IAM policy, which needs the Resource Manager API |
//! | `freshness` | the object listing (+ the newest object's metadata) | the newest object under the prefix is younger than the RPO |
//! | `backup` | reachable, versioning, encryption, freshness | the backup storage item |
//!
//! Each check is its own probe type made from one [`GcsBucket`] handle, which holds the HTTP
//! client and the token cache. Credentials: [`GcsCredentials`], Google's application default
//! chain by default. In config files: `kind = "gcs"` with `check = "..."` ([`GcsSpec`]), or
//! `kind = "backup"` with `provider = "gcs"`.
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::gcs::{GcsBucket, GcsConfig};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let bucket = GcsBucket::new(GcsConfig::new(), "nexus-backups");
//! let freshness = bucket
//!     .freshness()
//!     .prefix("postgres/")
//!     .rpo(Duration::from_secs(24 * 3600), Duration::from_secs(48 * 3600))
//!     .build()?;
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
use serde::{Deserialize, Serialize};

use crate::model::{Threshold, Unit};
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Verdict, scrub_urls};
use crate::probes::backup::rest::{self, Answer};
use crate::probes::backup::{FreshnessOptions, NewestSearch, Place, combine, fail_keeping, judge_freshness};

pub use auth::GcsCredentials;
pub use spec::GcsSpec;

/// The Cloud Storage endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

/// The largest page of the object listing (`maxResults`).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which check a `gcs` config entry builds (`check = "..."`): one probe type each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum GcsCheck {
    /// The bucket exists (else Fail) and we may read it (else Error, permission denied).
    Reachable,
    /// Object versioning is on.
    Versioning,
    /// Default encryption: a customer-managed key, or Google-managed keys.
    Encryption,
    /// Lifecycle rules that delete objects or change their storage class.
    Lifecycle,
    /// A retention policy (period, locked or not).
    Retention,
    /// Usage logs are delivered to a log bucket.
    Logging,
    /// The newest object under the prefix is younger than the RPO.
    Freshness,
    /// Reachable, versioning, encryption and freshness together.
    Backup,
}

impl GcsCheck {
    /// The check's name as written in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            GcsCheck::Reachable => "reachable",
            GcsCheck::Versioning => "versioning",
            GcsCheck::Encryption => "encryption",
            GcsCheck::Lifecycle => "lifecycle",
            GcsCheck::Retention => "retention",
            GcsCheck::Logging => "logging",
            GcsCheck::Freshness => "freshness",
            GcsCheck::Backup => "backup",
        }
    }
}

impl fmt::Display for GcsCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach Cloud Storage: endpoint (an emulator's, or the default), credentials, timeouts.
/// `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct GcsConfig {
    endpoint: Option<String>,
    credentials: GcsCredentials,
    metadata_host: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl fmt::Debug for GcsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsConfig")
            .field("endpoint", &self.endpoint_for_display())
            .field("credentials", &self.credentials)
            .field("metadata_host", &self.metadata_host)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for GcsConfig {
    fn default() -> Self {
        GcsConfig {
            endpoint: None,
            credentials: GcsCredentials::ApplicationDefault,
            metadata_host: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        }
    }
}

impl GcsConfig {
    /// Cloud Storage with Google's application default credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends requests to this endpoint (an emulator: `http://127.0.0.1:4443`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// Where the access token comes from.
    pub fn credentials(mut self, credentials: GcsCredentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The metadata server's `host[:port]` (instead of `GCE_METADATA_HOST` or
    /// `metadata.google.internal`).
    pub fn metadata_host(mut self, host: impl Into<String>) -> Self {
        self.metadata_host = Some(host.into());
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

    /// The endpoint, for messages (credentials in the URL removed).
    pub fn endpoint_for_display(&self) -> String {
        scrub_urls(self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))
    }

    fn base(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT)
    }
}

/// One GCS bucket: the handle every GCS probe type shares (HTTP client, token cache).
/// Cloning is cheap.
#[derive(Clone)]
pub struct GcsBucket {
    inner: Arc<Inner>,
}

struct Inner {
    config: GcsConfig,
    name: String,
    http: OnceLock<Result<reqwest::Client, ProbeError>>,
    tokens: auth::TokenSource,
}

impl fmt::Debug for GcsBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcsBucket")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The parts of the bucket resource the checks read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BucketResource {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    versioning: Option<Versioning>,
    #[serde(default)]
    encryption: Option<Encryption>,
    #[serde(default)]
    lifecycle: Option<Lifecycle>,
    #[serde(default)]
    retention_policy: Option<RetentionPolicy>,
    #[serde(default)]
    logging: Option<Logging>,
    #[serde(default)]
    soft_delete_policy: Option<SoftDeletePolicy>,
}

#[derive(Debug, Default, Deserialize)]
struct Versioning {
    #[serde(default)]
    enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Encryption {
    #[serde(default)]
    default_kms_key_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Lifecycle {
    #[serde(default)]
    rule: Vec<LifecycleRule>,
}

#[derive(Debug, Default, Deserialize)]
struct LifecycleRule {
    #[serde(default)]
    action: RuleAction,
    #[serde(default)]
    condition: RuleCondition,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleAction {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    storage_class: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleCondition {
    #[serde(default)]
    age: Option<i64>,
    #[serde(default)]
    num_newer_versions: Option<i64>,
    #[serde(default)]
    days_since_noncurrent_time: Option<i64>,
    #[serde(default)]
    created_before: Option<String>,
    #[serde(default)]
    is_live: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetentionPolicy {
    /// Seconds, as a decimal string (int64 in JSON).
    #[serde(default)]
    retention_period: Option<String>,
    #[serde(default)]
    is_locked: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Logging {
    #[serde(default)]
    log_bucket: Option<String>,
    #[serde(default)]
    log_object_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SoftDeletePolicy {
    #[serde(default)]
    retention_duration_seconds: Option<String>,
}

/// One page of the object listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectPage {
    #[serde(default)]
    items: Vec<ObjectItem>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectItem {
    name: String,
    #[serde(default)]
    time_created: Option<DateTime<Utc>>,
    #[serde(default)]
    updated: Option<DateTime<Utc>>,
    /// Bytes, as a decimal string.
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    md5_hash: Option<String>,
    #[serde(default)]
    crc32c: Option<String>,
}

/// `{"error": {"code": 403, "message": "...", "errors": [{"reason": "forbidden"}]}}`.
fn api_error(a: &Answer) -> String {
    #[derive(Deserialize)]
    struct Body {
        error: Option<ErrorBody>,
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        reason: Option<String>,
    }
    match serde_json::from_slice::<Body>(&a.body) {
        Ok(Body { error: Some(e) }) => {
            let reason = e.errors.into_iter().find_map(|i| i.reason);
            match (reason, e.message) {
                (Some(r), Some(m)) => format!("{r}: {m} (HTTP {})", a.status),
                (None, Some(m)) => format!("{m} (HTTP {})", a.status),
                (Some(r), None) => format!("{r} (HTTP {})", a.status),
                (None, None) => format!("HTTP {}", a.status),
            }
        }
        _ if a.body.is_empty() => format!("HTTP {}", a.status),
        _ => format!("HTTP {}: {}", a.status, scrub_urls(&a.snippet())),
    }
}

impl GcsBucket {
    /// The bucket `name`, reached with `config`.
    pub fn new(config: GcsConfig, name: impl Into<String>) -> Self {
        let tokens = auth::TokenSource::new(config.credentials.clone(), config.metadata_host.as_deref());
        GcsBucket { inner: Arc::new(Inner { config, name: name.into(), http: OnceLock::new(), tokens }) }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The bucket exists and we may read it.
    pub fn reachable(&self) -> GcsReachable {
        GcsReachable { bucket: self.clone() }
    }

    /// Object versioning is on.
    pub fn versioning(&self) -> GcsVersioning {
        GcsVersioning { bucket: self.clone() }
    }

    /// Default encryption (customer-managed key or Google-managed).
    pub fn encryption(&self) -> GcsEncryption {
        GcsEncryption { bucket: self.clone(), require_cmek: false }
    }

    /// Lifecycle rules that delete or re-tier objects.
    pub fn lifecycle(&self) -> GcsLifecycle {
        GcsLifecycle { bucket: self.clone() }
    }

    /// A retention policy.
    pub fn retention(&self) -> GcsRetention {
        GcsRetention { bucket: self.clone() }
    }

    /// Usage logs.
    pub fn logging(&self) -> GcsLogging {
        GcsLogging { bucket: self.clone() }
    }

    /// The newest object under a prefix against the RPO.
    pub fn freshness(&self) -> GcsFreshnessBuilder {
        GcsFreshnessBuilder { bucket: self.clone(), options: FreshnessOptions::new(MAX_PAGE_SIZE) }
    }

    fn place(&self) -> Place {
        Place {
            provider: "gcs",
            noun: "bucket",
            name: self.inner.name.clone(),
            base_uri: format!("gs://{}/", self.inner.name),
        }
    }

    fn what(&self) -> String {
        format!("gcs bucket {}", self.inner.name)
    }

    fn endpoint(&self) -> String {
        self.inner.config.endpoint_for_display()
    }

    fn base(&self, obs: Observation) -> Observation {
        obs.with_evidence("bucket", &self.inner.name)
            .with_evidence("endpoint", self.endpoint())
            .with_evidence("provider", "gcs")
    }

    fn not_configured(&self) -> Result<(), ProbeError> {
        if self.inner.name.trim().is_empty() {
            return Err(ProbeError::not_configured("gcs.bucket"));
        }
        Ok(())
    }

    fn http(&self) -> Result<&reqwest::Client, ProbeError> {
        let c = &self.inner.config;
        self.inner.http.get_or_init(|| rest::client(c.connect_timeout, c.timeout)).as_ref().map_err(Clone::clone)
    }

    /// `{endpoint}/storage/v1/b/{bucket}` plus path segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ProbeError> {
        let mut url = reqwest::Url::parse(self.inner.config.base())
            .map_err(|e| ProbeError::misconfigured(format!("gcs endpoint {:?} is not a URL: {e}", self.endpoint())))?;
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                ProbeError::misconfigured(format!("gcs endpoint {:?} cannot have a path", self.endpoint()))
            })?;
            path.pop_if_empty().extend(["storage", "v1", "b", self.inner.name.as_str()]).extend(segments);
        }
        Ok(url)
    }

    /// One GET with the bearer token; `op` names it in messages.
    async fn get(&self, cx: &ProbeContext, op: &str, url: reqwest::Url) -> Result<Answer, ProbeError> {
        let http = self.http()?;
        let mut req = http.get(url);
        if let Some(t) = self.inner.tokens.token(cx, http).await? {
            req = req.bearer_auth(t.expose());
        }
        rest::send(cx, op, &self.what(), &self.endpoint(), req).await
    }

    /// The error for an answer that is not a 200, with the bucket and operation named.
    fn fault(&self, op: &str, a: &Answer) -> ProbeError {
        let what = self.what();
        let detail = api_error(a);
        match a.status {
            401 => ProbeError::permission_denied(format!("{op} on {what}: not authenticated: {detail}")),
            403 => ProbeError::permission_denied(format!("access denied to {what}: {op}: {detail}")),
            404 => ProbeError::not_found(format!("{what} does not exist")),
            429 => ProbeError::unreachable(format!("{op} on {what}: rate limited at {}: {detail}", self.endpoint())),
            _ => ProbeError::other(format!("{op} on {what} at {}: {detail}", self.endpoint())),
        }
    }

    /// The bucket resource, or the 404 answer (a verdict for `reachable`).
    async fn resource(&self, cx: &ProbeContext) -> Result<Result<BucketResource, Answer>, ProbeError> {
        let op = "buckets.get";
        let a = self.get(cx, op, self.url(&[])?).await?;
        match a.status {
            200 => serde_json::from_slice(&a.body).map(Ok).map_err(|e| {
                ProbeError::protocol(format!(
                    "{op} on {} at {}: the answer is not a bucket resource: {e}",
                    self.what(),
                    self.endpoint()
                ))
            }),
            404 => Ok(Err(a)),
            _ => Err(self.fault(op, &a)),
        }
    }

    /// The bucket resource; a missing bucket is an error (the other checks cannot look).
    async fn settings(&self, cx: &ProbeContext) -> Result<BucketResource, ProbeError> {
        self.resource(cx).await?.map_err(|a| self.fault("buckets.get", &a))
    }

    async fn check_reachable(&self, cx: &ProbeContext) -> Result<(Observation, Option<BucketResource>), ProbeError> {
        let what = self.what();
        Ok(match self.resource(cx).await? {
            Ok(r) => {
                let mut obs = Observation::pass(format!("{what} is reachable"));
                if let Some(l) = &r.location {
                    obs = obs.with_evidence("location", l);
                }
                (self.base(obs), Some(r))
            }
            Err(_) => (self.base(Observation::fail(format!("{what} does not exist"))), None),
        })
    }

    fn judge_versioning(&self, r: &BucketResource) -> Observation {
        let what = self.what();
        let on = r.versioning.as_ref().is_some_and(|v| v.enabled);
        let soft = r
            .soft_delete_policy
            .as_ref()
            .and_then(|s| s.retention_duration_seconds.as_deref())
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0);
        let soft_text = soft.map(|s| {
            format!(" (soft delete keeps deleted objects {})", crate::model::duration::format(Duration::from_secs(s)))
        });
        let mut obs = if on {
            Observation::pass(format!(
                "object versioning is enabled on {what}{}",
                soft_text.clone().unwrap_or_default()
            ))
        } else {
            Observation::fail(format!("object versioning is off on {what}{}", soft_text.clone().unwrap_or_default()))
        };
        obs = obs.with_evidence("versioning", if on { "enabled" } else { "off" });
        if let Some(s) = soft {
            obs = obs.with_evidence("soft_delete_seconds", s.to_string());
        }
        self.base(obs)
    }

    fn judge_encryption(&self, r: &BucketResource, require_cmek: bool) -> Observation {
        let what = self.what();
        let key = r.encryption.as_ref().and_then(|e| e.default_kms_key_name.as_deref()).filter(|k| !k.is_empty());
        let obs = match key {
            Some(k) => Observation::pass(format!("{what} encrypts new objects with customer-managed key {k}"))
                .with_evidence("default_kms_key_name", k),
            None if require_cmek => Observation::fail(format!(
                "{what} has no default customer-managed key (Google-managed encryption only) but one is required"
            )),
            None => Observation::pass(format!("{what} encrypts new objects with Google-managed keys")),
        };
        self.base(obs.with_evidence("encryption", if key.is_some() { "cmek" } else { "google-managed" }))
    }

    fn judge_lifecycle(&self, r: &BucketResource) -> Observation {
        let what = self.what();
        let rules = r.lifecycle.as_ref().map(|l| l.rule.as_slice()).unwrap_or_default();
        if rules.is_empty() {
            return self.base(Observation::fail(format!("no lifecycle rules on {what}")));
        }
        let kept: Vec<String> = rules.iter().filter_map(describe_rule).collect();
        let obs = if kept.is_empty() {
            let kinds: Vec<&str> = rules.iter().map(|r| r.action.kind.as_str()).collect();
            Observation::fail(format!(
                "{what} has lifecycle rules ({}) but none that deletes objects or changes their storage class",
                kinds.join(", ")
            ))
        } else {
            Observation::pass(format!(
                "{what} has {} retention rule{}: {}",
                kept.len(),
                if kept.len() == 1 { "" } else { "s" },
                kept.join("; ")
            ))
        };
        self.base(obs.with_evidence("rules", rules.len().to_string()))
    }

    fn judge_retention(&self, r: &BucketResource) -> Observation {
        let what = self.what();
        let Some(p) = r.retention_policy.as_ref() else {
            return self.base(Observation::fail(format!("no retention policy on {what}")));
        };
        let secs = p.retention_period.as_deref().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        if secs == 0 {
            return self.base(Observation::fail(format!("the retention policy of {what} has no period")));
        }
        let locked = p.is_locked.unwrap_or(false);
        let period = crate::model::duration::format(Duration::from_secs(secs));
        let obs = if locked {
            Observation::pass(format!("{what} retains objects for {period} (policy locked)"))
        } else {
            Observation::pass(format!(
                "{what} retains objects for {period} (policy not locked: an owner can remove it)"
            ))
        };
        self.base(
            obs.with_evidence("retention_period", &period)
                .with_evidence("retention_locked", locked.to_string())
                .with_measurement(
                    Measurement::new("retention_days", secs as f64 / 86_400.0, Unit::Days).label("bucket", self.name()),
                ),
        )
    }

    fn judge_logging(&self, r: &BucketResource) -> Result<Observation, ProbeError> {
        let what = self.what();
        match r.logging.as_ref().and_then(|l| l.log_bucket.as_deref().filter(|b| !b.is_empty()).map(|b| (b, l))) {
            Some((b, l)) => {
                let prefix = l.log_object_prefix.as_deref().unwrap_or_default();
                Ok(self.base(
                    Observation::pass(format!("usage logs of {what} go to gs://{b}/{prefix}"))
                        .with_evidence("log_bucket", b)
                        .with_evidence("log_object_prefix", prefix),
                ))
            }
            None => Err(ProbeError::other(format!(
                "usage logs are off on {what}; whether Cloud Audit Logs record data access is set in the project's IAM \
                 policy (auditConfigs), which needs the Resource Manager API, not the storage API"
            ))),
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

    /// `objects.list` page by page (`maxResults`, `pageToken`), keeping only the newest.
    async fn find_newest(&self, cx: &ProbeContext, o: &FreshnessOptions) -> Result<NewestSearch, ProbeError> {
        let op = "objects.list";
        let mut search = NewestSearch::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = self.url(&["o"])?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("maxResults", &o.page_size.to_string());
                q.append_pair("fields", "items(name,timeCreated,updated,size),nextPageToken");
                if !o.prefix.is_empty() {
                    q.append_pair("prefix", &o.prefix);
                }
                if let Some(t) = token.take() {
                    q.append_pair("pageToken", &t);
                }
            }
            search.request();
            let a = self.get(cx, op, url).await?;
            if a.status != 200 {
                return Err(self.fault(op, &a));
            }
            let page: ObjectPage = serde_json::from_slice(&a.body).map_err(|e| {
                ProbeError::protocol(format!(
                    "{op} on {} at {}: the answer is not a listing: {e}",
                    self.what(),
                    self.endpoint()
                ))
            })?;
            for item in &page.items {
                // The creation time of the object's live generation: when this backup was written.
                let Some(t) = item.time_created.or(item.updated) else { continue };
                let size = item.size.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
                search.offer(&item.name, t, size);
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(search)
    }

    /// `objects.get` on the newest object: size > 0 and an MD5 or CRC32C hash present.
    async fn read_back(&self, cx: &ProbeContext, name: &str, mut obs: Observation) -> Result<Observation, ProbeError> {
        let op = "objects.get";
        let uri = format!("gs://{}/{name}", self.name());
        let a = self.get(cx, op, self.url(&["o", name])?).await?;
        match a.status {
            200 => {}
            404 => return Ok(fail_keeping(obs, format!("newest backup {uri} vanished before it could be read back"))),
            _ => return Err(self.fault(op, &a)),
        }
        let item: ObjectItem = serde_json::from_slice(&a.body).map_err(|e| {
            ProbeError::protocol(format!(
                "{op} {uri} at {}: the answer is not an object resource: {e}",
                self.endpoint()
            ))
        })?;
        let size: i64 = item.size.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        obs = obs.with_evidence("newest_content_length", size.to_string());
        if size <= 0 {
            return Ok(fail_keeping(obs, format!("newest backup {uri} is empty (0 bytes)")));
        }
        let hash = item.md5_hash.as_deref().map(|h| ("md5", h)).or(item.crc32c.as_deref().map(|h| ("crc32c", h)));
        let Some((kind, h)) = hash else {
            return Ok(fail_keeping(obs, format!("newest backup {uri} has neither an md5 nor a crc32c hash")));
        };
        Ok(obs.with_evidence(format!("newest_{kind}"), h))
    }
}

/// `Delete at age 30d`, `SetStorageClass ARCHIVE at age 7d` for a rule that deletes or
/// re-tiers objects; `None` otherwise.
fn describe_rule(r: &LifecycleRule) -> Option<String> {
    let action = match r.action.kind.as_str() {
        "Delete" => "delete".to_string(),
        "SetStorageClass" => format!("move to {}", r.action.storage_class.as_deref().unwrap_or("another class")),
        _ => return None,
    };
    let c = &r.condition;
    let mut when = Vec::new();
    if let Some(a) = c.age {
        when.push(format!("at age {a}d"));
    }
    if let Some(n) = c.num_newer_versions {
        when.push(format!("with {n} newer versions"));
    }
    if let Some(d) = c.days_since_noncurrent_time {
        when.push(format!("{d}d after becoming noncurrent"));
    }
    if let Some(d) = &c.created_before {
        when.push(format!("if created before {d}"));
    }
    match c.is_live {
        Some(false) => when.push("noncurrent versions".into()),
        Some(true) => when.push("live versions".into()),
        None => {}
    }
    Some(if when.is_empty() { action } else { format!("{action} {}", when.join(", ")) })
}

/// Declares a probe type for a check judged on the bucket resource alone.
macro_rules! settings_check {
    ($(#[$doc:meta])* $name:ident, |$b:ident, $r:ident| $judge:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            bucket: GcsBucket,
        }

        #[async_trait]
        impl Probe for $name {
            fn target(&self) -> String {
                format!("gs://{}/", self.bucket.name())
            }

            async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
                self.bucket.not_configured()?;
                let $b = &self.bucket;
                let $r = $b.settings(cx).await?;
                $judge
            }
        }
    };
}

settings_check!(
    /// Object versioning is on. Made by [`GcsBucket::versioning`].
    GcsVersioning,
    |b, r| Ok(b.judge_versioning(&r))
);
settings_check!(
    /// Lifecycle rules that delete objects or change their storage class (the retention item).
    /// Made by [`GcsBucket::lifecycle`].
    GcsLifecycle,
    |b, r| Ok(b.judge_lifecycle(&r))
);
settings_check!(
    /// A retention policy: its period, and whether it is locked. Made by
    /// [`GcsBucket::retention`].
    GcsRetention,
    |b, r| Ok(b.judge_retention(&r))
);
settings_check!(
    /// Usage logs delivered to a log bucket; otherwise an Error saying that Cloud Audit Logs
    /// need the Resource Manager API. Made by [`GcsBucket::logging`].
    GcsLogging,
    |b, r| b.judge_logging(&r)
);

/// The bucket exists (else Fail) and we may read it (else Error). Made by
/// [`GcsBucket::reachable`].
#[derive(Clone, Debug)]
pub struct GcsReachable {
    bucket: GcsBucket,
}

#[async_trait]
impl Probe for GcsReachable {
    fn target(&self) -> String {
        format!("gs://{}/", self.bucket.name())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.bucket.not_configured()?;
        Ok(self.bucket.check_reachable(cx).await?.0)
    }
}

/// Default encryption: a customer-managed key passes; Google-managed keys pass unless
/// [`require_cmek`](Self::require_cmek). Made by [`GcsBucket::encryption`].
#[derive(Clone, Debug)]
pub struct GcsEncryption {
    bucket: GcsBucket,
    require_cmek: bool,
}

impl GcsEncryption {
    /// Google-managed encryption alone is a Fail: a default customer-managed key is required.
    pub fn require_cmek(mut self, on: bool) -> Self {
        self.require_cmek = on;
        self
    }
}

#[async_trait]
impl Probe for GcsEncryption {
    fn target(&self) -> String {
        format!("gs://{}/", self.bucket.name())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.bucket.not_configured()?;
        let r = self.bucket.settings(cx).await?;
        Ok(self.bucket.judge_encryption(&r, self.require_cmek))
    }
}

/// Builds a [`GcsFreshness`]: [`GcsBucket::freshness`], the options, then
/// [`build`](Self::build).
#[derive(Clone, Debug)]
pub struct GcsFreshnessBuilder {
    bucket: GcsBucket,
    options: FreshnessOptions,
}

impl GcsFreshnessBuilder {
    /// Looks only at objects under `prefix` (default: the whole bucket).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// A newest backup older than `warn` is a Warn, older than `critical` a Fail (default 24h
    /// / 48h). `warn` longer than `critical` is an error of [`build`](Self::build).
    pub fn rpo(mut self, warn: Duration, critical: Duration) -> Self {
        self.options.set_rpo("gcs", warn, critical);
        self
    }

    /// Uses a ready threshold over the backup age.
    pub fn rpo_threshold(mut self, threshold: Threshold) -> Self {
        self.options.rpo = threshold;
        self
    }

    /// Objects per listing request, 1 to 1000 (default 1000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.options.page_size = n;
        self
    }

    /// Also reads back the newest object's metadata: size > 0 and an MD5 or CRC32C hash.
    pub fn verify_newest(mut self, on: bool) -> Self {
        self.options.verify_newest = on;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured): RPO warning after the RPO, page size out of range.
    pub fn build(self) -> Result<GcsFreshness, ProbeError> {
        Ok(GcsFreshness { bucket: self.bucket, options: self.options.finish("gcs", MAX_PAGE_SIZE)? })
    }
}

/// The newest object under the prefix is younger than the RPO (clock from the probe context).
/// Made by [`GcsBucket::freshness`].
#[derive(Clone, Debug)]
pub struct GcsFreshness {
    bucket: GcsBucket,
    options: FreshnessOptions,
}

#[async_trait]
impl Probe for GcsFreshness {
    fn target(&self) -> String {
        format!("gs://{}/{}", self.bucket.name(), self.options.prefix)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.bucket.not_configured()?;
        self.bucket.check_freshness(cx, &self.options).await
    }
}

/// The backup storage item: reachable, versioning, encryption and the newest backup against
/// the RPO (one bucket read and one listing).
#[derive(Clone, Debug)]
pub struct GcsBackup {
    freshness: GcsFreshness,
    require_cmek: bool,
}

impl GcsBackup {
    /// The backup judgement over the bucket and prefix of `freshness`.
    pub fn new(freshness: GcsFreshness) -> Self {
        GcsBackup { freshness, require_cmek: false }
    }

    /// Google-managed encryption alone is a Fail.
    pub fn require_cmek(mut self, on: bool) -> Self {
        self.require_cmek = on;
        self
    }
}

#[async_trait]
impl Probe for GcsBackup {
    fn target(&self) -> String {
        self.freshness.target()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = &self.freshness.bucket;
        b.not_configured()?;
        let (reach, resource) = b.check_reachable(cx).await?;
        let Some(r) = resource.filter(|_| reach.verdict != Verdict::Fail) else {
            return combine(&b.place(), reach, Vec::new());
        };
        let parts = vec![
            ("versioning", Ok(b.judge_versioning(&r))),
            ("encryption", Ok(b.judge_encryption(&r, self.require_cmek))),
            ("newest backup", b.check_freshness(cx, &self.freshness.options).await),
        ];
        Ok(b.base(combine(&b.place(), reach, parts)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Secret;

    #[test]
    fn debug_shows_no_token() {
        let config = GcsConfig::new()
            .endpoint("https://user:pw-in-url@gcs.internal/")
            .credentials(GcsCredentials::AccessToken(Secret::new("ya29.canary-token")));
        let bucket = GcsBucket::new(config, "b");
        let text = format!("{bucket:?} {:?}", bucket.freshness().build().unwrap());
        assert!(!text.contains("ya29.canary-token") && !text.contains("pw-in-url"), "{text}");
    }

    #[test]
    fn urls_encode_object_names() {
        let bucket = GcsBucket::new(GcsConfig::new().endpoint("http://127.0.0.1:4443"), "bk");
        assert_eq!(
            bucket.url(&["o", "db/2026 11.dump"]).unwrap().as_str(),
            "http://127.0.0.1:4443/storage/v1/b/bk/o/db%2F2026%2011.dump"
        );
        assert_eq!(bucket.url(&[]).unwrap().as_str(), "http://127.0.0.1:4443/storage/v1/b/bk");
    }

    #[test]
    fn lifecycle_rules_in_words() {
        let r: LifecycleRule = serde_json::from_str(
            r#"{"action":{"type":"SetStorageClass","storageClass":"ARCHIVE"},"condition":{"age":7,"isLive":true}}"#,
        )
        .unwrap();
        assert_eq!(describe_rule(&r).unwrap(), "move to ARCHIVE at age 7d, live versions");
        let r: LifecycleRule =
            serde_json::from_str(r#"{"action":{"type":"AbortIncompleteMultipartUpload"},"condition":{"age":1}}"#)
                .unwrap();
        assert_eq!(describe_rule(&r), None);
    }
}
