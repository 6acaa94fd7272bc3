//! Config-file spec for the GCS probes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{
    GcsBackup, GcsBucket, GcsCheck, GcsConfig, GcsCredentials, GcsFreshness, GcsFreshnessBuilder, MAX_PAGE_SIZE,
};
use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec, Secret};
use crate::probes::backup::{FreshnessFields, check_endpoint, require_name};

/// One GCS bucket check in a config file (kind `"gcs"`).
///
/// ```toml
/// kind = "gcs"
/// bucket = "nexus-backups"
/// check = "backup"
/// prefix = "postgres/"
/// rpo_warn = "24h"
/// rpo_critical = "36h"
/// # Credentials: Google's application default chain when none is set.
/// # access_token = "${env:GCS_ACCESS_TOKEN}"
/// # credentials_file = "/var/run/secrets/adc.json"
/// # endpoint = "http://127.0.0.1:4443"   # an emulator (fake-gcs-server); anonymous = true
/// ```
///
/// `prefix`, `rpo_warn`, `rpo_critical`, `page_size` and `verify_newest` are read by
/// `freshness` and `backup`, `require_cmek` by `encryption` and `backup`; the other checks
/// accept and ignore them (one target serves every check). `Debug` shows no token.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcsSpec {
    /// The bucket to look at.
    pub bucket: String,
    /// What to check: `reachable`, `versioning`, `encryption`, `lifecycle`, `retention`,
    /// `logging`, `freshness`, or `backup` (reachable, versioning, encryption, freshness).
    pub check: GcsCheck,
    /// Freshness, backup: object prefix the backups live under; the whole bucket when unset.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Freshness, backup: a newest backup older than this is a Warn (default `24h`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub rpo_warn: Option<Duration>,
    /// Freshness, backup: a newest backup older than this is a Fail (default `48h`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub rpo_critical: Option<Duration>,
    /// Freshness, backup: objects per listing request, 1 to 1000 (default 1000).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Freshness, backup: also read back the newest object's metadata (size > 0, hash).
    #[serde(default)]
    pub verify_newest: Option<bool>,
    /// Encryption, backup: require a default customer-managed key (CMEK).
    #[serde(default)]
    pub require_cmek: Option<bool>,
    /// The JSON API endpoint (`http://127.0.0.1:4443` for an emulator); Cloud Storage when unset.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// An OAuth access token (write `${env:NAME}`).
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// An application default credentials file: `authorized_user` or `service_account`.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// The metadata server's `host[:port]` (default `GCE_METADATA_HOST` or
    /// `metadata.google.internal`).
    #[serde(default)]
    pub metadata_host: Option<String>,
    /// No credentials at all (public buckets, emulators).
    #[serde(default)]
    pub anonymous: bool,
    /// How long one request may take (default `60s`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

impl GcsSpec {
    /// A spec for `check` on `bucket` with every default (application default credentials).
    pub fn new(bucket: impl Into<String>, check: GcsCheck) -> Self {
        GcsSpec {
            bucket: bucket.into(),
            check,
            prefix: None,
            rpo_warn: None,
            rpo_critical: None,
            page_size: None,
            verify_newest: None,
            require_cmek: None,
            endpoint: None,
            access_token: None,
            credentials_file: None,
            metadata_host: None,
            anonymous: false,
            timeout: None,
        }
    }

    /// The client configuration this spec describes.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn config(&self) -> Result<GcsConfig, ProbeError> {
        let mut c = GcsConfig::new();
        if let Some(u) = &self.endpoint {
            check_endpoint("gcs", "endpoint", u)?;
            c = c.endpoint(u.clone());
        }
        let chosen = [self.access_token.is_some(), self.credentials_file.is_some(), self.anonymous];
        if chosen.iter().filter(|on| **on).count() > 1 {
            return Err(ProbeError::misconfigured(
                "gcs access_token, credentials_file and anonymous exclude each other: set one",
            ));
        }
        c = c.credentials(match (&self.access_token, &self.credentials_file, self.anonymous) {
            (Some(t), _, _) => GcsCredentials::AccessToken(t.clone()),
            (_, Some(p), _) => GcsCredentials::File(p.clone()),
            (_, _, true) => GcsCredentials::Anonymous,
            _ => GcsCredentials::ApplicationDefault,
        });
        if let Some(h) = &self.metadata_host {
            require_name("gcs", "metadata_host", h)?;
            c = c.metadata_host(h.clone());
        }
        if let Some(t) = self.timeout {
            if t.is_zero() {
                return Err(ProbeError::misconfigured("gcs timeout must be longer than 0s"));
            }
            c = c.timeout(t);
        }
        Ok(c)
    }

    fn freshness(&self, bucket: &GcsBucket) -> Result<GcsFreshness, ProbeError> {
        let fields = FreshnessFields {
            prefix: self.prefix.clone(),
            rpo_warn: self.rpo_warn,
            rpo_critical: self.rpo_critical,
            page_size: self.page_size,
            verify_newest: self.verify_newest,
        };
        let options = fields.options("gcs", MAX_PAGE_SIZE)?;
        GcsFreshnessBuilder { bucket: bucket.clone(), options }.build()
    }

    /// Builds the probe for the spec's check.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn build_probe(&self) -> Result<Arc<dyn Probe>, ProbeError> {
        require_name("gcs", "bucket", &self.bucket)?;
        let bucket = GcsBucket::new(self.config()?, self.bucket.clone());
        // Checked whatever the check, so a shared target with a bad value fails every binding.
        let freshness = self.freshness(&bucket)?;
        let cmek = self.require_cmek.unwrap_or(false);
        Ok(match self.check {
            GcsCheck::Reachable => Arc::new(bucket.reachable()),
            GcsCheck::Versioning => Arc::new(bucket.versioning()),
            GcsCheck::Encryption => Arc::new(bucket.encryption().require_cmek(cmek)),
            GcsCheck::Lifecycle => Arc::new(bucket.lifecycle()),
            GcsCheck::Retention => Arc::new(bucket.retention()),
            GcsCheck::Logging => Arc::new(bucket.logging()),
            GcsCheck::Freshness => Arc::new(freshness),
            GcsCheck::Backup => Arc::new(GcsBackup::new(freshness).require_cmek(cmek)),
        })
    }
}

impl ProbeSpec for GcsSpec {
    const KIND: &'static str = "gcs";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        self.build_probe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<GcsSpec, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn parses_and_builds() {
        let s = parse("bucket = \"b\"\ncheck = \"backup\"\nprefix = \"db/\"\nanonymous = true\n").unwrap();
        assert_eq!(s.build_probe().unwrap().target(), "gs://b/db/");
        let e = parse("bucket = \"b\"\ncheck = \"retention\"\nrpo = \"1h\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `rpo`"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let mut s = GcsSpec::new("b", GcsCheck::Freshness);
        s.page_size = Some(1001);
        assert_eq!(s.build_probe().unwrap_err().message, "gcs page_size 1001 is not between 1 and 1000");
        s.page_size = None;
        s.endpoint = Some("storage.internal".into());
        assert_eq!(
            s.build_probe().unwrap_err().message,
            "gcs endpoint \"storage.internal\" must start with http:// or https://"
        );
        s.endpoint = None;
        s.anonymous = true;
        s.access_token = Some(Secret::new("ya29.spec-canary"));
        let e = s.build_probe().unwrap_err();
        assert!(e.message.starts_with("gcs access_token, credentials_file and anonymous exclude each other"), "{e}");
        assert!(!format!("{s:?} {e:?}").contains("ya29.spec-canary"));
        let e = GcsSpec::new(" ", GcsCheck::Reachable).build_probe().unwrap_err();
        assert_eq!(e.message, "gcs bucket is empty");
    }
}
