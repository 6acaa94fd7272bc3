//! Config-file spec for the S3 probes.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{DEFAULT_PAGE_SIZE, S3Backup, S3Bucket, S3Check, S3Config, S3FreshnessBuilder};
use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec, Secret};
use crate::probes::backup::{FreshnessFields, check_endpoint, require_name};

fn default_max_attempts() -> u32 {
    3
}

/// One S3 bucket check in a config file (kind `"s3"`).
///
/// ```toml
/// kind = "s3"
/// bucket = "nexus-backups"
/// prefix = "postgres/"
/// check = "freshness"
/// rpo_warn = "24h"
/// rpo_critical = "36h"
/// # S3-compatible store; leave these out for AWS and the standard credential chain.
/// endpoint_url = "https://minio.internal:9000"
/// path_style = true
/// region = "us-east-1"
/// access_key_id = "${env:BACKUP_ACCESS_KEY_ID}"
/// secret_access_key = "${env:BACKUP_SECRET_ACCESS_KEY}"
/// ```
///
/// Each check reads only its own fields: `prefix`, `rpo_warn`, `rpo_critical`, `page_size` and
/// `verify_newest` are read by `freshness` and `backup`, `require_kms` by `encryption` and
/// `backup`. The others accept and ignore them, because one `[targets.backup]` table serves
/// every check of the bucket (a bad value is still an error). `Debug` shows no key:
/// credentials are [`Secret`]s.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Spec {
    /// The bucket to look at.
    pub bucket: String,
    /// What to check: `reachable`, `versioning`, `encryption`, `lifecycle`, `object-lock`,
    /// `logging`, `freshness`, or `backup` (reachable, versioning, encryption and freshness
    /// together).
    pub check: S3Check,
    /// Freshness, backup: key prefix the backups live under; the whole bucket when unset.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Freshness, backup: a newest backup older than this is a Warn (default `24h`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub rpo_warn: Option<Duration>,
    /// Freshness, backup: a newest backup older than this is a Fail, the recovery point
    /// objective (default `48h`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub rpo_critical: Option<Duration>,
    /// Freshness, backup: keys per ListObjectsV2 request, 1 to 1000 (default 1000).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Freshness, backup: also read back the newest object's head (size > 0, ETag or checksum).
    #[serde(default)]
    pub verify_newest: Option<bool>,
    /// Encryption, backup: require SSE-KMS (SSE-S3 alone is a Fail).
    #[serde(default)]
    pub require_kms: Option<bool>,
    /// Endpoint of an S3-compatible store (`https://minio.internal:9000`); AWS when unset.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Path-style addressing (`https://host/bucket/key`), needed by most S3-compatible stores.
    #[serde(default)]
    pub path_style: bool,
    /// Region; from the standard chain (`AWS_REGION`, profile, IMDS) when unset.
    #[serde(default)]
    pub region: Option<String>,
    /// Static access key id (write `${env:NAME}`); the standard chain when unset.
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    /// Static secret access key (write `${env:NAME}`); required with `access_key_id`.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Session token for temporary static credentials (write `${env:NAME}`).
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Attempts per request, retries included (default 3).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

impl S3Spec {
    /// A spec for `check` on `bucket` with every default (standard AWS chain).
    pub fn new(bucket: impl Into<String>, check: S3Check) -> Self {
        S3Spec {
            bucket: bucket.into(),
            check,
            prefix: None,
            rpo_warn: None,
            rpo_critical: None,
            page_size: None,
            verify_newest: None,
            require_kms: None,
            endpoint_url: None,
            path_style: false,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            max_attempts: default_max_attempts(),
        }
    }

    /// The client configuration this spec describes.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn config(&self) -> Result<S3Config, ProbeError> {
        let mut c = S3Config::new().path_style(self.path_style).max_attempts(self.max_attempts);
        if let Some(u) = &self.endpoint_url {
            check_endpoint("s3", "endpoint_url", u)?;
            c = c.endpoint_url(u.clone());
        }
        if let Some(r) = &self.region {
            if r.trim().is_empty() {
                return Err(ProbeError::misconfigured("s3 region is empty"));
            }
            c = c.region(r.clone());
        }
        match (&self.access_key_id, &self.secret_access_key, &self.session_token) {
            (Some(id), Some(key), None) => c = c.static_credentials(id.clone(), key.clone()),
            (Some(id), Some(key), Some(t)) => c = c.session_credentials(id.clone(), key.clone(), t.clone()),
            (None, None, None) => {}
            (Some(_), None, _) => {
                return Err(ProbeError::misconfigured("s3 access_key_id is set but secret_access_key is not"));
            }
            (None, Some(_), _) => {
                return Err(ProbeError::misconfigured("s3 secret_access_key is set but access_key_id is not"));
            }
            (None, None, Some(_)) => {
                return Err(ProbeError::misconfigured("s3 session_token is set without access_key_id"));
            }
        }
        if self.max_attempts == 0 {
            return Err(ProbeError::misconfigured("s3 max_attempts must be at least 1"));
        }
        Ok(c)
    }

    fn freshness_fields(&self) -> FreshnessFields {
        FreshnessFields {
            prefix: self.prefix.clone(),
            rpo_warn: self.rpo_warn,
            rpo_critical: self.rpo_critical,
            page_size: self.page_size,
            verify_newest: self.verify_newest,
        }
    }

    fn freshness(&self, bucket: &S3Bucket) -> Result<super::S3Freshness, ProbeError> {
        let o = self.freshness_fields().options("s3", DEFAULT_PAGE_SIZE)?;
        S3FreshnessBuilder { bucket: bucket.clone(), options: o }.build()
    }

    /// Builds the probe for the spec's check.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn build_probe(&self) -> Result<Arc<dyn Probe>, ProbeError> {
        require_name("s3", "bucket", &self.bucket)?;
        let check = self.check;
        // Checked whatever the check, so a shared target with a bad value fails every binding.
        self.freshness_fields().options("s3", DEFAULT_PAGE_SIZE)?;
        let bucket = S3Bucket::new(self.config()?, self.bucket.clone());
        let require_kms = self.require_kms.unwrap_or(false);
        Ok(match check {
            S3Check::Reachable => Arc::new(bucket.reachable()),
            S3Check::Versioning => Arc::new(bucket.versioning()),
            S3Check::Encryption => Arc::new(bucket.encryption().require_kms(require_kms)),
            S3Check::Lifecycle => Arc::new(bucket.lifecycle()),
            S3Check::ObjectLock => Arc::new(bucket.object_lock()),
            S3Check::Logging => Arc::new(bucket.logging()),
            S3Check::Freshness => Arc::new(self.freshness(&bucket)?),
            S3Check::Backup => Arc::new(S3Backup::new(self.freshness(&bucket)?).require_kms(require_kms)),
        })
    }
}

impl ProbeSpec for S3Spec {
    const KIND: &'static str = "s3";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        self.build_probe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<S3Spec, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn parses_with_defaults() {
        let s = parse("bucket = \"b\"\ncheck = \"object-lock\"\n").unwrap();
        assert_eq!(s.check, S3Check::ObjectLock);
        assert_eq!(s.rpo_warn, None);
        assert!(s.build_probe().is_ok());
        let s = parse("bucket = \"b\"\ncheck = \"backup\"\nprefix = \"db/\"\nrequire_kms = true\n").unwrap();
        assert_eq!(s.build_probe().unwrap().target(), "s3://b/db/");
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        let e = parse("bucket = \"b\"\ncheck = \"freshness\"\nrpo = \"1h\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `rpo`"), "{e}");
        let mut s = parse("bucket = \"b\"\ncheck = \"freshness\"\nrpo_warn = \"3d\"\nrpo_critical = \"1d\"\n").unwrap();
        assert!(s.build_probe().unwrap_err().message.starts_with("s3 rpo thresholds:"));
        s.rpo_warn = Some(Duration::from_secs(60));
        s.access_key_id = Some(Secret::new("AKIDONLYID"));
        assert_eq!(s.build_probe().unwrap_err().message, "s3 access_key_id is set but secret_access_key is not");
        s.access_key_id = None;
        s.page_size = Some(0);
        assert_eq!(s.build_probe().unwrap_err().message, "s3 page_size 0 is not between 1 and 1000");
        s.page_size = Some(2);
        s.endpoint_url = Some("127.0.0.1:9000".into());
        assert_eq!(
            s.build_probe().unwrap_err().message,
            "s3 endpoint_url \"127.0.0.1:9000\" must start with http:// or https://"
        );
    }

    #[test]
    fn fields_of_other_checks_are_accepted_for_shared_targets() {
        let s = parse("bucket = \"b\"\ncheck = \"versioning\"\nprefix = \"db/\"\nrequire_kms = true\n").unwrap();
        assert_eq!(s.build_probe().unwrap().target(), "s3://b/");
        let s = parse("bucket = \"b\"\ncheck = \"logging\"\npage_size = 5000\n").unwrap();
        assert_eq!(s.build_probe().unwrap_err().message, "s3 page_size 5000 is not between 1 and 1000");
    }

    #[test]
    fn debug_hides_credentials() {
        let mut s = S3Spec::new("b", S3Check::Reachable);
        s.access_key_id = Some(Secret::new("AKIDSPECKEYID"));
        s.secret_access_key = Some(Secret::new("spec-secret-value"));
        let text = format!("{s:?} {:?}", s.build_probe().unwrap());
        assert!(!text.contains("AKIDSPECKEYID") && !text.contains("spec-secret-value"), "{text}");
    }
}
