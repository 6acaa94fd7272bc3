//! Backup storage probes for S3 and S3-compatible object stores (feature `s3`).
//!
//! They answer the checklist's "Backup storage configured", "Data retention policies
//! configured" and "Audit logging enabled" items, and the rollback plan's "Restore from latest
//! backup" step, by looking at one bucket (and optionally a key prefix):
//!
//! | [`S3Check`] | calls | Pass when |
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
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext, Secret};
//! use nexus_readiness::probes::s3::{S3Check, S3Config, S3Probe};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = S3Config::new()
//!     .endpoint_url("http://127.0.0.1:9000")
//!     .path_style(true)
//!     .region("us-east-1")
//!     .static_credentials(Secret::new("AKIA..."), Secret::new("..."));
//! let probe = S3Probe::new(config, "nexus-backups", S3Check::Freshness)
//!     .prefix("postgres/")
//!     .rpo(Duration::from_secs(24 * 3600), Duration::from_secs(48 * 3600))?;
//! let observation = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", observation.verdict, observation.summary);
//! # Ok(())
//! # }
//! ```

mod error;
mod spec;

use std::fmt;
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

pub use spec::S3Spec;

/// Which property of the bucket an [`S3Probe`] checks.
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
pub const DEFAULT_PAGE_SIZE: i32 = 1000;

/// A probe of one S3 bucket (and optional key prefix) for one [`S3Check`].
///
/// The client is built on first use and shared by later checks of the same probe.
pub struct S3Probe {
    config: S3Config,
    client: OnceCell<Client>,
    bucket: String,
    prefix: String,
    check: S3Check,
    rpo: Threshold,
    page_size: i32,
    verify_newest: bool,
    require_kms: bool,
}

impl fmt::Debug for S3Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Probe")
            .field("config", &self.config)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("check", &self.check)
            .field("rpo", &self.rpo)
            .field("page_size", &self.page_size)
            .field("verify_newest", &self.verify_newest)
            .field("require_kms", &self.require_kms)
            .finish_non_exhaustive()
    }
}

fn rpo_threshold(warn: Duration, critical: Duration) -> Result<Threshold, ProbeError> {
    Threshold::ceiling(
        "backup age",
        Unit::Seconds,
        warn.as_secs_f64(),
        critical.as_secs_f64(),
        "check the backup job: the newest backup is older than the recovery point objective",
    )
    .map_err(|e| ProbeError::misconfigured(format!("s3 rpo thresholds: {e}")))
}

impl S3Probe {
    /// A probe of `bucket` for `check`; freshness defaults to an RPO of 24h (warn) / 48h
    /// (fail), listing 1000 keys per request.
    pub fn new(config: S3Config, bucket: impl Into<String>, check: S3Check) -> Self {
        S3Probe {
            config,
            client: OnceCell::new(),
            bucket: bucket.into(),
            prefix: String::new(),
            check,
            rpo: rpo_threshold(Duration::from_secs(24 * 3600), Duration::from_secs(48 * 3600))
                .unwrap_or_else(|_| unreachable_threshold()),
            page_size: DEFAULT_PAGE_SIZE,
            verify_newest: false,
            require_kms: false,
        }
    }

    /// Uses an existing client (its own endpoint and credentials) instead of building one.
    /// `config` is then used only for messages.
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = OnceCell::from(client);
        self
    }

    /// Looks only at keys under `prefix` (freshness).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The recovery point objective: newest backup older than `warn` is a Warn, older than
    /// `critical` a Fail.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) when `warn` is longer than `critical`.
    pub fn rpo(mut self, warn: Duration, critical: Duration) -> Result<Self, ProbeError> {
        self.rpo = rpo_threshold(warn, critical)?;
        Ok(self)
    }

    /// Uses a ready threshold over the backup age (any time unit: seconds, days...).
    pub fn rpo_threshold(mut self, threshold: Threshold) -> Self {
        self.rpo = threshold;
        self
    }

    /// Keys per ListObjectsV2 request, 1 to 1000.
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = n.clamp(1, 1000);
        self
    }

    /// Also reads back the newest object's head (HeadObject): size > 0 and an ETag or
    /// checksum present.
    pub fn verify_newest(mut self, on: bool) -> Self {
        self.verify_newest = on;
        self
    }

    /// For the encryption check: SSE-S3 alone is a Fail, SSE-KMS is required.
    pub fn require_kms(mut self, on: bool) -> Self {
        self.require_kms = on;
        self
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// What the probe checks.
    pub fn check_kind(&self) -> S3Check {
        self.check
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| self.config.client()).await
    }

    fn endpoint(&self) -> String {
        self.config.endpoint_for_display()
    }

    /// Sends one request: deadline and cancellation from `cx`, errors classified.
    async fn call<T, E, F>(&self, cx: &ProbeContext, op: &str, fut: F) -> Result<Result<T, ServiceFault>, ProbeError>
    where
        F: Future<Output = Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>>,
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match cx.run(fut).await? {
            Ok(v) => Ok(Ok(v)),
            Err(e) => match classify(op, &self.bucket, &self.endpoint(), e) {
                CallError::Service(f) => Ok(Err(f)),
                CallError::Probe(e) => Err(e),
            },
        }
    }

    fn base(&self, obs: Observation) -> Observation {
        obs.with_evidence("bucket", &self.bucket).with_evidence("endpoint", self.endpoint())
    }

    async fn reachable(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        match self.call(cx, "HeadBucket", client.head_bucket().bucket(&self.bucket).send()).await? {
            Ok(out) => {
                let mut obs = self.base(Observation::pass(format!("bucket {} is reachable", self.bucket)));
                if let Some(r) = out.bucket_region() {
                    obs = obs.with_evidence("region", r);
                }
                Ok(obs)
            }
            Err(f) if f.status == 404 => {
                Ok(self.base(Observation::fail(format!("bucket {} does not exist", self.bucket))))
            }
            Err(f) if f.status == 403 => Err(ProbeError::permission_denied(format!(
                "access denied to bucket {}: HeadBucket: {}",
                self.bucket,
                f.describe()
            ))),
            Err(f) => Err(fault_to_error("HeadBucket", &self.bucket, &f)),
        }
    }

    async fn versioning(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let op = "GetBucketVersioning";
        let out = self
            .call(cx, op, client.get_bucket_versioning().bucket(&self.bucket).send())
            .await?
            .map_err(|f| fault_to_error(op, &self.bucket, &f))?;
        let b = &self.bucket;
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

    async fn encryption(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let op = "GetBucketEncryption";
        let b = &self.bucket;
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
            ServerSideEncryption::Aes256 if self.require_kms => {
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

    async fn lifecycle(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let op = "GetBucketLifecycleConfiguration";
        let b = &self.bucket;
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

    async fn object_lock(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let op = "GetObjectLockConfiguration";
        let b = &self.bucket;
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

    async fn logging(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let op = "GetBucketLogging";
        let b = &self.bucket;
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

    async fn freshness(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let client = self.client().await;
        let scan = self.find_newest(cx, client).await?;
        let location = self.location();
        let counts = |obs: Observation| {
            obs.with_measurement(Measurement::new("objects_scanned", scan.scanned as f64, Unit::Count))
                .with_measurement(Measurement::new("list_requests", f64::from(scan.requests), Unit::Count))
        };
        let Some(newest) = scan.newest else {
            return Ok(self.base(counts(Observation::fail(format!("no backup objects under {location}")))));
        };
        let now = cx.now();
        let age = (now - newest.last_modified).to_std().unwrap_or(Duration::ZERO);
        let age_text = crate::model::duration::format(Duration::from_secs(age.as_secs()));
        let uri = format!("s3://{}/{}", self.bucket, newest.key);
        let eval = self.rpo.evaluate_in(age.as_secs_f64(), Unit::Seconds).ok();
        let rpo_text = |bound: f64| match self.rpo.unit.convert(bound, Unit::Seconds) {
            Ok(secs) => crate::model::duration::format(Duration::from_secs_f64(secs.max(0.0))),
            Err(_) => self.rpo.unit.format(bound),
        };
        let summary = match eval.as_ref().map(|e| e.level) {
            Some(crate::model::Level::Breach) => {
                format!("newest backup {uri} is {age_text} old, older than the {} rpo", rpo_text(self.rpo.breach))
            }
            Some(crate::model::Level::Warn) => {
                format!("newest backup {uri} is {age_text} old, past the {} warning", rpo_text(self.rpo.healthy))
            }
            _ => format!("newest backup {uri} is {age_text} old"),
        };
        let mut obs = counts(Observation::pass(summary))
            .with_measurement(
                Measurement::new("backup_age_seconds", age.as_secs_f64(), Unit::Seconds)
                    .label("bucket", &self.bucket)
                    .evaluate(&self.rpo),
            )
            .with_evidence("newest_object", &newest.key)
            .with_evidence("newest_last_modified", newest.last_modified.to_rfc3339())
            .with_evidence("newest_size", newest.size.to_string());
        if self.verify_newest {
            obs = self.read_back(cx, client, &newest.key, obs).await?;
        }
        Ok(self.base(obs))
    }

    /// Reachable, versioning, encryption and freshness, in that order; a bucket that does not
    /// exist stops there. A Fail anywhere makes the whole a Fail (parts that could not look are
    /// named in it); otherwise a part that could not look makes the whole an Error.
    async fn backup(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let reach = self.reachable(cx).await?;
        if reach.verdict == Verdict::Fail {
            return Ok(reach);
        }
        let parts = [
            ("versioning", self.versioning(cx).await),
            ("encryption", self.encryption(cx).await),
            ("newest backup", self.freshness(cx).await),
        ];
        let mut obs = Observation::pass(String::new());
        let mut texts = Vec::new();
        let mut errors: Vec<(&str, ProbeError)> = Vec::new();
        for (name, part) in parts {
            match part {
                Ok(o) => {
                    obs.verdict = obs.verdict.worst(o.verdict);
                    texts.push((o.verdict, o.summary));
                    obs.measurements.extend(o.measurements);
                    for (k, v) in o.evidence.iter() {
                        obs.evidence.insert(k, v);
                    }
                }
                Err(e) => errors.push((name, e)),
            }
        }
        let b = &self.bucket;
        let failing: Vec<&str> = texts.iter().filter(|(v, _)| *v != Verdict::Pass).map(|(_, t)| t.as_str()).collect();
        let could_not = errors.iter().map(|(n, e)| format!("{n} could not be checked: {e}")).collect::<Vec<_>>();
        if obs.verdict != Verdict::Fail
            && let Some((_, first)) = errors.first()
        {
            let mut e = first.clone();
            e.message = format!("backup storage of bucket {b}: {}", could_not.join("; "));
            return Err(e);
        }
        obs.summary = if obs.verdict == Verdict::Pass {
            format!(
                "backup storage of bucket {b}: reachable; {}",
                texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("; ")
            )
        } else {
            let mut all: Vec<String> = failing.iter().map(|t| (*t).to_string()).collect();
            all.extend(could_not);
            let passing: Vec<&str> =
                texts.iter().filter(|(v, _)| *v == Verdict::Pass).map(|(_, t)| t.as_str()).collect();
            let ok = if passing.is_empty() { String::new() } else { format!(" (ok: {})", passing.join("; ")) };
            format!("backup storage of bucket {b}: {}{ok}", all.join("; "))
        };
        for (k, v) in reach.evidence.iter() {
            obs.evidence.insert(k, v);
        }
        Ok(self.base(obs))
    }

    /// HeadObject on the newest key: size > 0 and an ETag or checksum present.
    async fn read_back(
        &self,
        cx: &ProbeContext,
        client: &Client,
        key: &str,
        mut obs: Observation,
    ) -> Result<Observation, ProbeError> {
        let op = "HeadObject";
        let uri = format!("s3://{}/{}", self.bucket, key);
        // A failed read-back keeps the listing's measurements and evidence.
        let failed = |mut obs: Observation, summary: String| {
            obs.verdict = Verdict::Fail;
            obs.summary = summary;
            Ok(obs)
        };
        let head = match self.call(cx, op, client.head_object().bucket(&self.bucket).key(key).send()).await? {
            Ok(h) => h,
            Err(f) if f.status == 404 => {
                return failed(obs, format!("newest backup {uri} vanished before it could be read back"));
            }
            Err(f) if f.status == 403 => {
                return Err(ProbeError::permission_denied(format!(
                    "access denied to bucket {}: {op} {key}: {}",
                    self.bucket,
                    f.describe()
                )));
            }
            Err(f) => return Err(fault_to_error(op, &self.bucket, &f)),
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
            return failed(obs, format!("newest backup {uri} is empty (0 bytes)"));
        }
        if etag.is_none() && checksum.is_none() {
            return failed(obs, format!("newest backup {uri} has neither an etag nor a checksum"));
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
    async fn find_newest(&self, cx: &ProbeContext, client: &Client) -> Result<Scan, ProbeError> {
        let op = "ListObjectsV2";
        let mut scan = Scan { newest: None, scanned: 0, requests: 0 };
        let mut token: Option<String> = None;
        loop {
            let mut req = client.list_objects_v2().bucket(&self.bucket).max_keys(self.page_size);
            if !self.prefix.is_empty() {
                req = req.prefix(&self.prefix);
            }
            if let Some(t) = token.take() {
                req = req.continuation_token(t);
            }
            scan.requests += 1;
            let page = self.call(cx, op, req.send()).await?.map_err(|f| fault_to_error(op, &self.bucket, &f))?;
            for o in page.contents() {
                let (Some(key), Some(lm)) = (o.key(), o.last_modified()) else { continue };
                // Zero-byte "folder" markers are not backups.
                if key.ends_with('/') && o.size().unwrap_or(0) == 0 {
                    continue;
                }
                scan.scanned += 1;
                let Some(lm) = to_chrono(lm) else { continue };
                if scan.newest.as_ref().is_none_or(|n| lm > n.last_modified) {
                    scan.newest = Some(Newest { key: key.to_string(), last_modified: lm, size: o.size().unwrap_or(0) });
                }
            }
            match (page.is_truncated(), page.next_continuation_token()) {
                (Some(true), Some(t)) if !t.is_empty() => token = Some(t.to_string()),
                (Some(true), _) => {
                    return Err(ProbeError::protocol(format!(
                        "{op} on bucket {} at {}: truncated page without a continuation token",
                        self.bucket,
                        self.endpoint()
                    )));
                }
                _ => break,
            }
        }
        Ok(scan)
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

fn unreachable_threshold() -> Threshold {
    // Only reached if the fixed defaults above were invalid, which they are not; keep a
    // harmless ceiling rather than panicking.
    Threshold {
        metric: "backup age".into(),
        unit: Unit::Seconds,
        direction: crate::model::Direction::Ceiling,
        healthy: 86_400.0,
        breach: 172_800.0,
        action: String::new(),
        sustain: None,
    }
}

#[derive(Debug)]
struct Newest {
    key: String,
    last_modified: DateTime<Utc>,
    size: i64,
}

#[derive(Debug)]
struct Scan {
    newest: Option<Newest>,
    scanned: u64,
    requests: u32,
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

#[async_trait]
impl Probe for S3Probe {
    fn target(&self) -> String {
        self.location()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.bucket.trim().is_empty() {
            return Err(ProbeError::not_configured("s3.bucket"));
        }
        match self.check {
            S3Check::Reachable => self.reachable(cx).await,
            S3Check::Versioning => self.versioning(cx).await,
            S3Check::Encryption => self.encryption(cx).await,
            S3Check::Lifecycle => self.lifecycle(cx).await,
            S3Check::ObjectLock => self.object_lock(cx).await,
            S3Check::Logging => self.logging(cx).await,
            S3Check::Freshness => self.freshness(cx).await,
            S3Check::Backup => self.backup(cx).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key() {
        let config = S3Config::new()
            .endpoint_url("http://127.0.0.1:1")
            .static_credentials(Secret::new("AKIDEXAMPLEKEYID"), Secret::new("wJalrXUtnFEMIsecretvalue"));
        let probe = S3Probe::new(config, "b", S3Check::Versioning);
        let text = format!("{probe:?}");
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
    fn rpo_rejects_warn_after_critical() {
        let e = S3Probe::new(S3Config::new(), "b", S3Check::Freshness)
            .rpo(Duration::from_secs(7200), Duration::from_secs(3600))
            .unwrap_err();
        assert!(e.message.starts_with("s3 rpo thresholds: "), "{e}");
    }

    #[tokio::test]
    async fn empty_bucket_is_not_configured() {
        let e = S3Probe::new(S3Config::new(), " ", S3Check::Reachable).check(&ProbeContext::new()).await.unwrap_err();
        assert_eq!(e.config_key.as_deref(), Some("s3.bucket"));
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
