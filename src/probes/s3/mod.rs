//! Backup storage probes for S3 and S3-compatible object stores (feature `s3`).
//!
//! They answer the checklist's "Backup storage configured", "Data retention policies
//! configured" and "Audit logging enabled" items, and the rollback plan's "Restore from latest
//! backup" step, by looking at one bucket (and optionally a key prefix):
//!
//! | `check` | calls | Pass when |
//! |---|---|---|
//! | `reachable` | HeadBucket | the bucket exists and we may use it |
//! | `versioning` | GetBucketVersioning | versioning is `Enabled` |
//! | `encryption` | GetBucketEncryption | default encryption is SSE-S3 or SSE-KMS |
//! | `lifecycle` | GetBucketLifecycleConfiguration | an enabled rule expires or transitions objects |
//! | `object-lock` | GetObjectLockConfiguration | object lock has a default retention |
//! | `logging` | GetBucketLogging | server access logging is enabled |
//! | `freshness` | ListObjectsV2 (+ HeadObject) | the newest object under the prefix is younger than the RPO |
//! | `backup` | all of `reachable`, `versioning`, `encryption`, `freshness` | the backup storage item: a bucket that only exists is no backup |
//!
//! The client comes from the standard AWS chain (environment, profile, web identity, IMDS),
//! with explicit overrides for S3-compatible stores: endpoint URL, path-style addressing,
//! region and static credentials.
//!
//! Each check is its own probe type, made from one [`S3Bucket`] handle that they share (one
//! client per bucket): [`S3Reachable`], [`S3Versioning`], [`S3Encryption`], [`S3Lifecycle`],
//! [`S3ObjectLock`], [`S3Logging`], [`S3Freshness`] and [`S3Backup`]. In config files they are
//! `kind = "s3"` with `check = "..."` ([`S3Spec`]), or `kind = "backup"` (the default provider).

mod error;
mod spec;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::DateTime as AwsDateTime;
use aws_sdk_s3::types::{BucketVersioningStatus, LifecycleRule, ServerSideEncryption};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use self::error::{CallError, ServiceFault, classify, fault_to_error};
use crate::model::{Threshold, Unit};
use crate::probe::{Measurement, Observation, Probe, ProbeContext, ProbeError, Secret, Verdict};
use crate::probes::backup::{FreshnessOptions, NewestSearch, Place, combine, fail_keeping, judge_freshness};

pub use spec::S3Spec;

/// Which check an `s3` config entry builds (`check = "..."`): one probe type each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum S3Check {
    /// HeadBucket: the bucket exists (else Fail) and we may use it (else Error permission denied).
    Reachable,
    /// Versioning is `Enabled`; `Suspended` or never set is a Fail.
    Versioning,
    /// Default encryption is configured (SSE-S3 or SSE-KMS, the KMS key id is reported).
    Encryption,
    /// Lifecycle rules that expire or transition objects (the retention policy).
    Lifecycle,
    /// Object lock with a default retention (mode and period).
    ObjectLock,
    /// Server access logging is enabled (the audit log); target bucket and prefix reported.
    Logging,
    /// The newest object under the prefix is younger than the RPO thresholds.
    Freshness,
    /// The backup storage as a whole: reachable, versioning enabled, default encryption, and the
    /// newest backup under the prefix against the RPO (read back with `verify_newest`). The
    /// worst part decides; each part's reason is in the summary.
    Backup,
}

impl S3Check {
    /// The check's name as written in config files (`object-lock`).
    pub fn as_str(self) -> &'static str {
        match self {
            S3Check::Reachable => "reachable",
            S3Check::Versioning => "versioning",
            S3Check::Encryption => "encryption",
            S3Check::Lifecycle => "lifecycle",
            S3Check::ObjectLock => "object-lock",
            S3Check::Logging => "logging",
            S3Check::Freshness => "freshness",
            S3Check::Backup => "backup",
        }
    }
}

impl fmt::Display for S3Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Static credentials for an S3-compatible store. `Debug` shows no key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticCredentials {
    /// The access key id.
    pub access_key_id: Secret,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// A session token for temporary credentials.
    pub session_token: Option<Secret>,
}

/// How to build the S3 client: the standard AWS chain, with optional overrides.
///
/// Without overrides the client is configured exactly as the AWS CLI would be (environment,
/// shared profile, web identity token, container and instance metadata). `Debug` shows no key
/// (nor a user:password in the endpoint URL).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    endpoint_url: Option<String>,
    region: Option<String>,
    path_style: bool,
    credentials: Option<StaticCredentials>,
    max_attempts: u32,
    connect_timeout: Duration,
    operation_timeout: Duration,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint_url", &self.endpoint_url.as_deref().map(strip_userinfo))
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("credentials", &self.credentials)
            .field("max_attempts", &self.max_attempts)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint_url: None,
            region: None,
            path_style: false,
            credentials: None,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(60),
        }
    }
}

impl S3Config {
    /// The standard AWS chain, no overrides, 3 attempts per request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends requests to this endpoint (an S3-compatible store: MinIO, Ceph, moto).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Uses this region instead of the one from the chain.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Path-style addressing (`http://host/bucket/key`), which most S3-compatible stores need.
    pub fn path_style(mut self, on: bool) -> Self {
        self.path_style = on;
        self
    }

    /// Uses static credentials instead of the chain's.
    pub fn static_credentials(mut self, access_key_id: Secret, secret_access_key: Secret) -> Self {
        self.credentials = Some(StaticCredentials { access_key_id, secret_access_key, session_token: None });
        self
    }

    /// Uses static temporary credentials with a session token.
    pub fn session_credentials(mut self, access_key_id: Secret, secret_access_key: Secret, token: Secret) -> Self {
        self.credentials = Some(StaticCredentials { access_key_id, secret_access_key, session_token: Some(token) });
        self
    }

    /// Attempts per request, retries included (at least 1; default 3).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// How long to wait for a connection (default 5s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long one operation may take, retries included (default 60s).
    pub fn operation_timeout(mut self, d: Duration) -> Self {
        self.operation_timeout = d;
        self
    }

    /// The endpoint requests go to, for messages: the configured URL, else the regional AWS
    /// endpoint, else `s3.amazonaws.com`.
    pub fn endpoint_for_display(&self) -> String {
        match (&self.endpoint_url, &self.region) {
            (Some(u), _) => strip_userinfo(u),
            (None, Some(r)) => format!("https://s3.{r}.amazonaws.com"),
            (None, None) => "https://s3.amazonaws.com".into(),
        }
    }

    /// Builds a client: loads the standard chain and applies the overrides.
    pub async fn client(&self) -> Client {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            );
        if let Some(r) = &self.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(u) = &self.endpoint_url {
            loader = loader.endpoint_url(u.clone());
        }
        if let Some(c) = &self.credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.expose(),
                c.secret_access_key.expose(),
                c.session_token.as_ref().map(|t| t.expose().to_string()),
                None,
                "nexus-readiness",
            ));
        }
        let shared = loader.load().await;
        let conf = aws_sdk_s3::config::Builder::from(&shared).force_path_style(self.path_style).build();
        Client::from_conf(conf)
    }
}

/// Default page size of ListObjectsV2 (the service maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// One bucket on one S3 endpoint: the handle every S3 probe type shares.
///
/// Cloning is cheap. The client is built on first use and shared by every probe made from this
/// handle or its clones, so the six checks of one bucket load the AWS chain once.
///
/// ```no_run
/// use nexus_readiness::probe::{Probe, ProbeContext, Secret};
/// use nexus_readiness::probes::s3::{S3Bucket, S3Config};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = S3Config::new()
///     .endpoint_url("http://127.0.0.1:9000")
///     .path_style(true)
///     .region("us-east-1")
///     .static_credentials(Secret::new("AKIA..."), Secret::new("..."));
/// let bucket = S3Bucket::new(config, "nexus-backups");
/// let versioning = bucket.versioning();
/// let freshness = bucket
///     .freshness()
///     .prefix("postgres/")
///     .rpo(Duration::from_secs(24 * 3600), Duration::from_secs(48 * 3600))
///     .build()?;
/// for observation in [versioning.check(&ProbeContext::new()).await?, freshness.check(&ProbeContext::new()).await?] {
///     println!("{}: {}", observation.verdict, observation.summary);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct S3Bucket {
    inner: Arc<BucketInner>,
}

struct BucketInner {
    config: S3Config,
    client: OnceCell<Client>,
    name: String,
}

impl fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Bucket")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl S3Bucket {
    /// The bucket `name`, reached with a client built from `config` on first use.
    pub fn new(config: S3Config, name: impl Into<String>) -> Self {
        S3Bucket { inner: Arc::new(BucketInner { config, client: OnceCell::new(), name: name.into() }) }
    }

    /// The bucket `name`, reached with an existing client (its own endpoint and credentials);
    /// `config` is then used only for messages.
    pub fn with_client(config: S3Config, client: Client, name: impl Into<String>) -> Self {
        S3Bucket { inner: Arc::new(BucketInner { config, client: OnceCell::from(client), name: name.into() }) }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The client configuration.
    pub fn config(&self) -> &S3Config {
        &self.inner.config
    }

    /// HeadBucket: the bucket exists (else Fail) and we may use it (else Error, permission
    /// denied).
    pub fn reachable(&self) -> S3Reachable {
        S3Reachable { bucket: self.clone() }
    }

    /// GetBucketVersioning: versioning is `Enabled`.
    pub fn versioning(&self) -> S3Versioning {
        S3Versioning { bucket: self.clone() }
    }

    /// GetBucketEncryption: default encryption is SSE-S3 or SSE-KMS.
    pub fn encryption(&self) -> S3Encryption {
        S3Encryption { bucket: self.clone(), require_kms: false }
    }

    /// GetBucketLifecycleConfiguration: an enabled rule expires or transitions objects.
    pub fn lifecycle(&self) -> S3Lifecycle {
        S3Lifecycle { bucket: self.clone() }
    }

    /// GetObjectLockConfiguration: object lock with a default retention.
    pub fn object_lock(&self) -> S3ObjectLock {
        S3ObjectLock { bucket: self.clone() }
    }

    /// GetBucketLogging: server access logging is enabled.
    pub fn logging(&self) -> S3Logging {
        S3Logging { bucket: self.clone() }
    }

    /// ListObjectsV2 (+ HeadObject): the newest object under a prefix against the RPO.
    pub fn freshness(&self) -> S3FreshnessBuilder {
        S3FreshnessBuilder { bucket: self.clone(), options: FreshnessOptions::new(DEFAULT_PAGE_SIZE) }
    }

    fn place(&self) -> Place {
        Place {
            provider: "s3",
            noun: "bucket",
            name: self.inner.name.clone(),
            base_uri: format!("s3://{}/", self.inner.name),
        }
    }

    fn not_configured(&self) -> Result<(), ProbeError> {
        if self.inner.name.trim().is_empty() {
            return Err(ProbeError::not_configured("s3.bucket"));
        }
        Ok(())
    }

    async fn client(&self) -> &Client {
        self.inner.client.get_or_init(|| self.inner.config.client()).await
    }

    fn endpoint(&self) -> String {
        self.inner.config.endpoint_for_display()
    }

    /// Sends one request: deadline and cancellation from `cx`, errors classified.
    async fn call<T, E, F>(&self, cx: &ProbeContext, op: &str, fut: F) -> Result<Result<T, ServiceFault>, ProbeError>
    where
        F: Future<Output = Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>>,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match cx.run(fut).await? {
            Ok(v) => Ok(Ok(v)),
            Err(e) => match classify(op, &self.inner.name, &self.endpoint(), e) {
                CallError::Service(f) => Ok(Err(f)),
                CallError::Probe(e) => Err(e),
            },
        }
    }

    fn base(&self, obs: Observation) -> Observation {
        obs.with_evidence("bucket", &self.inner.name).with_evidence("endpoint", self.endpoint())
    }

    async fn check_reachable(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        match self.call(cx, "HeadBucket", client.head_bucket().bucket(b).send()).await? {
            Ok(out) => {
                let mut obs = self.base(Observation::pass(format!("bucket {b} is reachable")));
                if let Some(r) = out.bucket_region() {
                    obs = obs.with_evidence("region", r);
                }
                Ok(obs)
            }
            Err(f) if f.status == 404 => Ok(self.base(Observation::fail(format!("bucket {b} does not exist")))),
            Err(f) if f.status == 403 => {
                Err(ProbeError::permission_denied(format!("access denied to bucket {b}: HeadBucket: {}", f.describe())))
            }
            Err(f) => Err(fault_to_error("HeadBucket", b, &f)),
        }
    }

    async fn check_versioning(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "GetBucketVersioning";
        let out = self
            .call(cx, op, client.get_bucket_versioning().bucket(b).send())
            .await?
            .map_err(|f| fault_to_error(op, b, &f))?;
        let mut obs = match out.status() {
            Some(BucketVersioningStatus::Enabled) => Observation::pass(format!("versioning is enabled on bucket {b}")),
            Some(BucketVersioningStatus::Suspended) => {
                Observation::fail(format!("versioning is suspended on bucket {b}"))
            }
            Some(other) => {
                Observation::fail(format!("versioning of bucket {b} is in unknown state {}", other.as_str()))
            }
            None => Observation::fail(format!("versioning has never been enabled on bucket {b}")),
        };
        obs = obs.with_evidence("versioning", out.status().map_or("never enabled", |s| s.as_str()));
        if let Some(m) = out.mfa_delete() {
            obs = obs.with_evidence("mfa_delete", m.as_str());
        }
        Ok(self.base(obs))
    }

    async fn check_encryption(&self, cx: &ProbeContext, require_kms: bool) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "GetBucketEncryption";
        let out = match self.call(cx, op, client.get_bucket_encryption().bucket(b).send()).await? {
            Ok(out) => out,
            Err(f) if f.is("ServerSideEncryptionConfigurationNotFoundError") => {
                return Ok(self.base(Observation::fail(format!("no default encryption is configured on bucket {b}"))));
            }
            Err(f) => return Err(fault_to_error(op, b, &f)),
        };
        let default = out
            .server_side_encryption_configuration()
            .into_iter()
            .flat_map(|c| c.rules())
            .find_map(|r| r.apply_server_side_encryption_by_default().map(|d| (d, r.bucket_key_enabled())));
        let Some((d, bucket_key)) = default else {
            return Ok(self.base(Observation::fail(format!("no default encryption rule is set on bucket {b}"))));
        };
        let algorithm = d.sse_algorithm();
        let key = d.kms_master_key_id();
        let key_text = key.map_or_else(|| "the aws managed key".to_string(), |k| format!("key {k}"));
        let mut obs = match algorithm {
            ServerSideEncryption::Aes256 if require_kms => {
                Observation::fail(format!("bucket {b} encrypts with SSE-S3 (AES256) but SSE-KMS is required"))
            }
            ServerSideEncryption::Aes256 => {
                Observation::pass(format!("bucket {b} encrypts new objects with SSE-S3 (AES256)"))
            }
            ServerSideEncryption::AwsKms => {
                Observation::pass(format!("bucket {b} encrypts new objects with SSE-KMS using {key_text}"))
            }
            ServerSideEncryption::AwsKmsDsse => {
                Observation::pass(format!("bucket {b} encrypts new objects with DSSE-KMS using {key_text}"))
            }
            other => Observation::fail(format!("bucket {b} uses unknown default encryption {}", other.as_str())),
        };
        obs = obs.with_evidence("sse_algorithm", algorithm.as_str());
        if let Some(k) = key {
            obs = obs.with_evidence("kms_key_id", k);
        }
        if let Some(bk) = bucket_key {
            obs = obs.with_evidence("bucket_key_enabled", bk.to_string());
        }
        Ok(self.base(obs))
    }

    async fn check_lifecycle(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "GetBucketLifecycleConfiguration";
        let rules = match self.call(cx, op, client.get_bucket_lifecycle_configuration().bucket(b).send()).await? {
            Ok(out) => out.rules().to_vec(),
            Err(f) if f.is("NoSuchLifecycleConfiguration") => Vec::new(),
            Err(f) => return Err(fault_to_error(op, b, &f)),
        };
        if rules.is_empty() {
            return Ok(self.base(Observation::fail(format!("no lifecycle rules on bucket {b}"))));
        }
        let all_ids: Vec<String> = rules.iter().map(rule_id).collect();
        let retention: Vec<String> = rules.iter().filter_map(describe_retention_rule).collect();
        let mut obs = if retention.is_empty() {
            Observation::fail(format!(
                "bucket {b} has lifecycle rules ({}) but none enabled that expires or transitions objects",
                all_ids.join(", ")
            ))
        } else {
            Observation::pass(format!(
                "bucket {b} has {} retention rule{}: {}",
                retention.len(),
                if retention.len() == 1 { "" } else { "s" },
                retention.join("; ")
            ))
        };
        obs = obs.with_evidence("rules", all_ids.join(","));
        Ok(self.base(obs))
    }

    async fn check_object_lock(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "GetObjectLockConfiguration";
        let out = match self.call(cx, op, client.get_object_lock_configuration().bucket(b).send()).await? {
            Ok(out) => out,
            Err(f) if f.is("ObjectLockConfigurationNotFoundError") => {
                return Ok(self.base(Observation::fail(format!("object lock is not configured on bucket {b}"))));
            }
            Err(f) => return Err(fault_to_error(op, b, &f)),
        };
        let conf = out.object_lock_configuration();
        let enabled = conf.and_then(|c| c.object_lock_enabled()).is_some_and(|e| e.as_str() == "Enabled");
        if !enabled {
            return Ok(self.base(Observation::fail(format!("object lock is not enabled on bucket {b}"))));
        }
        let retention = conf.and_then(|c| c.rule()).and_then(|r| r.default_retention());
        let Some(r) = retention else {
            return Ok(self.base(
                Observation::warn(format!("object lock is enabled on bucket {b} but sets no default retention"))
                    .with_evidence("object_lock", "Enabled"),
            ));
        };
        let mode = r.mode().map_or("unknown mode", |m| m.as_str());
        let period = match (r.days(), r.years()) {
            (Some(d), _) => format!("{d} day{}", if d == 1 { "" } else { "s" }),
            (None, Some(y)) => format!("{y} year{}", if y == 1 { "" } else { "s" }),
            (None, None) => "an unset period".into(),
        };
        let mut obs = Observation::pass(format!("object lock on bucket {b}: {mode} retention for {period}"))
            .with_evidence("object_lock", "Enabled")
            .with_evidence("retention_mode", mode)
            .with_evidence("retention_period", &period);
        let days = r.days().map(f64::from).or_else(|| r.years().map(|y| f64::from(y) * 365.0));
        if let Some(d) = days {
            obs = obs.with_measurement(Measurement::new("retention_days", d, Unit::Days).label("bucket", b));
        }
        Ok(self.base(obs))
    }

    async fn check_logging(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "GetBucketLogging";
        let out = self
            .call(cx, op, client.get_bucket_logging().bucket(b).send())
            .await?
            .map_err(|f| fault_to_error(op, b, &f))?;
        let obs = match out.logging_enabled() {
            Some(l) => {
                let target = format!("s3://{}/{}", l.target_bucket(), l.target_prefix());
                Observation::pass(format!("server access logging of bucket {b} goes to {target}"))
                    .with_evidence("log_target_bucket", l.target_bucket())
                    .with_evidence("log_target_prefix", l.target_prefix())
            }
            None => Observation::fail(format!("server access logging is disabled on bucket {b}")),
        };
        Ok(self.base(obs))
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

    /// HeadObject on the newest key: size > 0 and an ETag or checksum present.
    async fn read_back(&self, cx: &ProbeContext, key: &str, mut obs: Observation) -> Result<Observation, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "HeadObject";
        let uri = format!("s3://{b}/{key}");
        let head = match self.call(cx, op, client.head_object().bucket(b).key(key).send()).await? {
            Ok(h) => h,
            Err(f) if f.status == 404 => {
                return Ok(fail_keeping(obs, format!("newest backup {uri} vanished before it could be read back")));
            }
            Err(f) if f.status == 403 => {
                return Err(ProbeError::permission_denied(format!(
                    "access denied to bucket {b}: {op} {key}: {}",
                    f.describe()
                )));
            }
            Err(f) => return Err(fault_to_error(op, b, &f)),
        };
        let size = head.content_length().unwrap_or(0);
        let checksum = [
            ("crc32", head.checksum_crc32()),
            ("crc32c", head.checksum_crc32_c()),
            ("crc64nvme", head.checksum_crc64_nvme()),
            ("sha1", head.checksum_sha1()),
            ("sha256", head.checksum_sha256()),
        ]
        .into_iter()
        .find_map(|(n, v)| v.map(|v| (n, v)));
        let etag = head.e_tag().filter(|e| !e.trim_matches('"').is_empty());
        obs = obs.with_evidence("newest_content_length", size.to_string());
        if size <= 0 {
            return Ok(fail_keeping(obs, format!("newest backup {uri} is empty (0 bytes)")));
        }
        if etag.is_none() && checksum.is_none() {
            return Ok(fail_keeping(obs, format!("newest backup {uri} has neither an etag nor a checksum")));
        }
        if let Some(e) = etag {
            obs = obs.with_evidence("newest_etag", e);
        }
        if let Some((n, v)) = checksum {
            obs = obs.with_evidence(format!("newest_checksum_{n}"), v);
        }
        Ok(obs)
    }

    /// Lists every key under the prefix page by page, keeping only the newest.
    async fn find_newest(&self, cx: &ProbeContext, o: &FreshnessOptions) -> Result<NewestSearch, ProbeError> {
        let b = self.name();
        let client = self.client().await;
        let op = "ListObjectsV2";
        let mut search = NewestSearch::new();
        let mut token: Option<String> = None;
        let page_size = i32::try_from(o.page_size).unwrap_or(DEFAULT_PAGE_SIZE as i32);
        loop {
            let mut req = client.list_objects_v2().bucket(b).max_keys(page_size);
            if !o.prefix.is_empty() {
                req = req.prefix(&o.prefix);
            }
            if let Some(t) = token.take() {
                req = req.continuation_token(t);
            }
            search.request();
            let page = self.call(cx, op, req.send()).await?.map_err(|f| fault_to_error(op, b, &f))?;
            for obj in page.contents() {
                let (Some(key), Some(lm)) = (obj.key(), obj.last_modified()) else { continue };
                let Some(lm) = to_chrono(lm) else { continue };
                search.offer(key, lm, obj.size().unwrap_or(0));
            }
            match (page.is_truncated(), page.next_continuation_token()) {
                (Some(true), Some(t)) if !t.is_empty() => token = Some(t.to_string()),
                (Some(true), _) => {
                    return Err(ProbeError::protocol(format!(
                        "{op} on bucket {b} at {}: truncated page without a continuation token",
                        self.endpoint()
                    )));
                }
                _ => break,
            }
        }
        Ok(search)
    }
}

/// Declares a probe type for one check that needs nothing but the bucket handle.
macro_rules! plain_check {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            bucket: S3Bucket,
        }

        impl $name {
            /// The bucket handle.
            pub fn bucket(&self) -> &S3Bucket {
                &self.bucket
            }
        }

        #[async_trait]
        impl Probe for $name {
            fn target(&self) -> String {
                format!("s3://{}/", self.bucket.name())
            }

            async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
                self.bucket.not_configured()?;
                self.bucket.$method(cx).await
            }
        }
    };
}

plain_check!(
    /// HeadBucket: the bucket exists (else Fail) and we may use it (else Error, permission
    /// denied). Made by [`S3Bucket::reachable`].
    S3Reachable,
    check_reachable
);
plain_check!(
    /// GetBucketVersioning: versioning is `Enabled`; `Suspended` or never set is a Fail. Made by
    /// [`S3Bucket::versioning`].
    S3Versioning,
    check_versioning
);
plain_check!(
    /// GetBucketLifecycleConfiguration: an enabled rule expires or transitions objects (the
    /// retention policy). Made by [`S3Bucket::lifecycle`].
    S3Lifecycle,
    check_lifecycle
);
plain_check!(
    /// GetObjectLockConfiguration: object lock with a default retention (mode and period). Made
    /// by [`S3Bucket::object_lock`].
    S3ObjectLock,
    check_object_lock
);
plain_check!(
    /// GetBucketLogging: server access logging is enabled (the audit log). Made by
    /// [`S3Bucket::logging`].
    S3Logging,
    check_logging
);

/// GetBucketEncryption: default encryption is SSE-S3 or SSE-KMS (the KMS key id is reported).
/// Made by [`S3Bucket::encryption`].
#[derive(Clone, Debug)]
pub struct S3Encryption {
    bucket: S3Bucket,
    require_kms: bool,
}

impl S3Encryption {
    /// SSE-S3 alone is a Fail: SSE-KMS is required.
    pub fn require_kms(mut self, on: bool) -> Self {
        self.require_kms = on;
        self
    }
}

#[async_trait]
impl Probe for S3Encryption {
    fn target(&self) -> String {
        format!("s3://{}/", self.bucket.name())
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.bucket.not_configured()?;
        self.bucket.check_encryption(cx, self.require_kms).await
    }
}

/// Builds an [`S3Freshness`]: [`S3Bucket::freshness`], then the options, then
/// [`build`](Self::build).
#[derive(Clone, Debug)]
pub struct S3FreshnessBuilder {
    bucket: S3Bucket,
    options: FreshnessOptions,
}

impl S3FreshnessBuilder {
    /// Looks only at keys under `prefix` (default: the whole bucket).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// The recovery point objective: a newest backup older than `warn` is a Warn, older than
    /// `critical` a Fail (default 24h / 48h). `warn` longer than `critical` is an error of
    /// [`build`](Self::build).
    pub fn rpo(mut self, warn: Duration, critical: Duration) -> Self {
        self.options.set_rpo("s3", warn, critical);
        self
    }

    /// Uses a ready threshold over the backup age (any time unit: seconds, days...).
    pub fn rpo_threshold(mut self, threshold: Threshold) -> Self {
        self.options.rpo = threshold;
        self
    }

    /// Keys per ListObjectsV2 request, 1 to 1000 (default 1000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.options.page_size = n;
        self
    }

    /// Also reads back the newest object's head (HeadObject): size > 0 and an ETag or checksum
    /// present.
    pub fn verify_newest(mut self, on: bool) -> Self {
        self.options.verify_newest = on;
        self
    }

    /// The probe.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured): RPO warning after the RPO, page size out of range.
    pub fn build(self) -> Result<S3Freshness, ProbeError> {
        Ok(S3Freshness { bucket: self.bucket, options: self.options.finish("s3", DEFAULT_PAGE_SIZE)? })
    }
}

/// ListObjectsV2 (+ HeadObject): the newest object under the prefix is younger than the RPO.
/// Made by [`S3Bucket::freshness`].
#[derive(Clone, Debug)]
pub struct S3Freshness {
    bucket: S3Bucket,
    options: FreshnessOptions,
}

impl S3Freshness {
    /// The bucket handle.
    pub fn bucket(&self) -> &S3Bucket {
        &self.bucket
    }
}

#[async_trait]
impl Probe for S3Freshness {
    fn target(&self) -> String {
        format!("s3://{}/{}", self.bucket.name(), self.options.prefix)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.bucket.not_configured()?;
        self.bucket.check_freshness(cx, &self.options).await
    }
}

/// The backup storage item as a whole: reachable, versioning enabled, default encryption, and
/// the newest backup under the prefix against the RPO (read back when the freshness probe
/// verifies the newest object). The worst part decides; each part's reason is in the summary.
#[derive(Clone, Debug)]
pub struct S3Backup {
    freshness: S3Freshness,
    require_kms: bool,
}

impl S3Backup {
    /// The backup judgement over the bucket and prefix of `freshness`.
    pub fn new(freshness: S3Freshness) -> Self {
        S3Backup { freshness, require_kms: false }
    }

    /// SSE-S3 alone is a Fail: SSE-KMS is required.
    pub fn require_kms(mut self, on: bool) -> Self {
        self.require_kms = on;
        self
    }
}

#[async_trait]
impl Probe for S3Backup {
    fn target(&self) -> String {
        self.freshness.target()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let bucket = &self.freshness.bucket;
        bucket.not_configured()?;
        let reach = bucket.check_reachable(cx).await?;
        if reach.verdict == Verdict::Fail {
            return combine(&bucket.place(), reach, Vec::new());
        }
        let parts = vec![
            ("versioning", bucket.check_versioning(cx).await),
            ("encryption", bucket.check_encryption(cx, self.require_kms).await),
            ("newest backup", bucket.check_freshness(cx, &self.freshness.options).await),
        ];
        Ok(bucket.base(combine(&bucket.place(), reach, parts)?))
    }
}

/// `https://user:pass@host/` → `https://host/`: an endpoint in a message never carries credentials.
fn strip_userinfo(url: &str) -> String {
    // The one URL scrubber (user info, signatures and tokens in the query), plus user info
    // in an endpoint written without a scheme.
    let url = &crate::probe::scrub_urls(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => rest[at + 1..].to_string(),
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn to_chrono(t: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn rule_id(r: &LifecycleRule) -> String {
    r.id().filter(|s| !s.is_empty()).unwrap_or("(unnamed)").to_string()
}

/// `id (expire after 30d, transition to GLACIER after 7d)` for an enabled rule that expires or
/// transitions objects; `None` otherwise.
fn describe_retention_rule(r: &LifecycleRule) -> Option<String> {
    if r.status().as_str() != "Enabled" {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(e) = r.expiration() {
        if let Some(d) = e.days() {
            parts.push(format!("expire after {d}d"));
        } else if let Some(date) = e.date() {
            parts.push(format!(
                "expire on {}",
                to_chrono(date).map_or_else(|| date.to_string(), |d| d.date_naive().to_string())
            ));
        } else if e.expired_object_delete_marker() == Some(true) {
            parts.push("remove expired delete markers".into());
        }
    }
    for t in r.transitions() {
        let class = t.storage_class().map_or("another class", |c| c.as_str());
        match t.days() {
            Some(d) => parts.push(format!("transition to {class} after {d}d")),
            None => parts.push(format!("transition to {class}")),
        }
    }
    if let Some(n) = r.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()) {
        parts.push(format!("expire noncurrent versions after {n}d"));
    }
    for t in r.noncurrent_version_transitions() {
        let class = t.storage_class().map_or("another class", |c| c.as_str());
        parts.push(format!("transition noncurrent versions to {class}"));
    }
    (!parts.is_empty()).then(|| format!("{} ({})", rule_id(r), parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key() {
        let config = S3Config::new()
            .endpoint_url("http://127.0.0.1:1")
            .static_credentials(Secret::new("AKIDEXAMPLEKEYID"), Secret::new("wJalrXUtnFEMIsecretvalue"));
        let bucket = S3Bucket::new(config, "b");
        let text = format!("{:?} {:?} {:?}", bucket.versioning(), bucket.freshness().build().unwrap(), bucket);
        assert!(!text.contains("AKIDEXAMPLEKEYID") && !text.contains("wJalrXUtnFEMIsecretvalue"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn endpoint_in_messages_has_no_userinfo() {
        let c = S3Config::new().endpoint_url("https://minio:s3cr3tpass@store.internal:9000/");
        assert_eq!(c.endpoint_for_display(), "https://store.internal:9000/");
        assert!(!format!("{c:?}").contains("s3cr3tpass"), "{c:?}");
        assert_eq!(S3Config::new().region("eu-west-1").endpoint_for_display(), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(strip_userinfo("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
    }

    #[test]
    fn freshness_builder_keeps_the_first_mistake() {
        let bucket = S3Bucket::new(S3Config::new(), "b");
        let e = bucket
            .freshness()
            .rpo(Duration::from_secs(7200), Duration::from_secs(3600))
            .page_size(0)
            .build()
            .unwrap_err();
        assert!(e.message.starts_with("s3 rpo thresholds: "), "{e}");
        let e = bucket.freshness().page_size(1001).build().unwrap_err();
        assert_eq!(e.message, "s3 page_size 1001 is not between 1 and 1000");
    }

    #[tokio::test]
    async fn empty_bucket_is_not_configured() {
        let bucket = S3Bucket::new(S3Config::new(), " ");
        let e = bucket.reachable().check(&ProbeContext::new()).await.unwrap_err();
        assert_eq!(e.config_key.as_deref(), Some("s3.bucket"));
        let e = S3Backup::new(bucket.freshness().build().unwrap()).check(&ProbeContext::new()).await.unwrap_err();
        assert_eq!(e.config_key.as_deref(), Some("s3.bucket"));
    }

    #[test]
    fn probes_of_one_bucket_share_its_handle() {
        let bucket = S3Bucket::new(S3Config::new(), "b");
        let v = bucket.versioning();
        let f = bucket.freshness().build().unwrap();
        assert!(Arc::ptr_eq(&v.bucket().inner, &f.bucket().inner));
    }

    #[test]
    fn retention_rule_text() {
        use aws_sdk_s3::types::{ExpirationStatus, LifecycleExpiration, Transition, TransitionStorageClass};
        let r = LifecycleRule::builder()
            .id("db")
            .status(ExpirationStatus::Enabled)
            .expiration(LifecycleExpiration::builder().days(30).build())
            .transitions(Transition::builder().days(7).storage_class(TransitionStorageClass::Glacier).build())
            .build()
            .unwrap();
        assert_eq!(describe_retention_rule(&r).unwrap(), "db (expire after 30d, transition to GLACIER after 7d)");
        let off = LifecycleRule::builder()
            .id("off")
            .status(ExpirationStatus::Disabled)
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap();
        assert_eq!(describe_retention_rule(&off), None);
    }
}
