//! Config-file spec for the Azure Blob probes.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{
    AzureBackup, AzureCheck, AzureConfig, AzureContainer, AzureCredentials, AzureFreshness, AzureFreshnessBuilder,
    MAX_PAGE_SIZE,
};
use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec, Secret};
use crate::probes::backup::{FreshnessFields, check_endpoint, require_name};

/// One Azure Blob container check in a config file (kind `"azure"`).
///
/// ```toml
/// kind = "azure"
/// account = "nexusbackups"
/// container = "postgres"
/// check = "backup"
/// prefix = "nightly/"
/// rpo_warn = "24h"
/// rpo_critical = "36h"
/// # Authorization: the managed identity when none is set.
/// # account_key = "${env:AZURE_STORAGE_KEY}"
/// # sas_token = "${env:AZURE_STORAGE_SAS}"
/// # connection_string = "${env:AZURE_STORAGE_CONNECTION_STRING}"
/// ```
///
/// `prefix`, `rpo_warn`, `rpo_critical`, `page_size` and `verify_newest` are read by
/// `freshness` and `backup`, `require_scope` by `encryption` and `backup`; the other checks
/// accept and ignore them (one target serves every check). `Debug` shows no key or SAS.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureSpec {
    /// The storage account (optional with `connection_string`).
    #[serde(default)]
    pub account: Option<String>,
    /// The blob container to look at.
    pub container: String,
    /// What to check: `reachable`, `soft-delete` (or `versioning`), `encryption`, `lifecycle`,
    /// `immutability`, `logging`, `freshness`, or `backup` (reachable, soft delete,
    /// encryption, freshness).
    pub check: AzureCheck,
    /// Freshness, backup: blob name prefix the backups live under; the whole container when unset.
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
    /// Freshness, backup: blobs per List Blobs request, 1 to 5000 (default 5000).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Freshness, backup: also read back the newest blob's properties (size > 0, MD5 or ETag).
    #[serde(default)]
    pub verify_newest: Option<bool>,
    /// Encryption, backup: require a default encryption scope on the container.
    #[serde(default)]
    pub require_scope: Option<bool>,
    /// The Blob service endpoint (`http://127.0.0.1:10000/devstoreaccount1` for Azurite);
    /// `https://{account}.blob.core.windows.net` when unset.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The account's shared key (write `${env:NAME}`).
    #[serde(default)]
    pub account_key: Option<Secret>,
    /// A shared access signature, the query part of a SAS URL (write `${env:NAME}`).
    #[serde(default)]
    pub sas_token: Option<Secret>,
    /// A connection string (write `${env:NAME}`): account, endpoint and key or SAS in one.
    #[serde(default)]
    pub connection_string: Option<Secret>,
    /// An OAuth bearer token for `https://storage.azure.com/` (write `${env:NAME}`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// The client id of a user-assigned managed identity.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The managed identity token endpoint (default: `IDENTITY_ENDPOINT`, else the instance
    /// metadata service).
    #[serde(default)]
    pub identity_endpoint: Option<String>,
    /// No authorization (public containers).
    #[serde(default)]
    pub anonymous: bool,
    /// How long one request may take (default `60s`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

impl AzureSpec {
    /// A spec for `check` on `container` in `account` (managed identity).
    pub fn new(account: impl Into<String>, container: impl Into<String>, check: AzureCheck) -> Self {
        AzureSpec {
            account: Some(account.into()),
            container: container.into(),
            check,
            prefix: None,
            rpo_warn: None,
            rpo_critical: None,
            page_size: None,
            verify_newest: None,
            require_scope: None,
            endpoint: None,
            account_key: None,
            sas_token: None,
            connection_string: None,
            bearer_token: None,
            client_id: None,
            identity_endpoint: None,
            anonymous: false,
            timeout: None,
        }
    }

    /// The client configuration this spec describes.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn config(&self) -> Result<AzureConfig, ProbeError> {
        let chosen = [
            self.account_key.is_some(),
            self.sas_token.is_some(),
            self.connection_string.is_some(),
            self.bearer_token.is_some(),
            self.anonymous,
        ];
        if chosen.iter().filter(|on| **on).count() > 1 {
            return Err(ProbeError::misconfigured(
                "azure account_key, sas_token, connection_string, bearer_token and anonymous exclude each other: set one",
            ));
        }
        let mut c = match (&self.connection_string, &self.account) {
            (Some(cs), _) => {
                let c = AzureConfig::from_connection_string(cs)?;
                if let Some(a) = &self.account
                    && a != c.account()
                {
                    return Err(ProbeError::misconfigured(format!(
                        "azure account {a:?} differs from the connection string's account {:?}",
                        c.account()
                    )));
                }
                c
            }
            (None, Some(a)) => {
                require_name("azure", "account", a)?;
                AzureConfig::new(a.clone())
            }
            (None, None) => {
                return Err(ProbeError::misconfigured("azure account is not set (nor a connection_string)"));
            }
        };
        if let Some(u) = &self.endpoint {
            check_endpoint("azure", "endpoint", u)?;
            c = c.endpoint(u.clone());
        }
        if self.connection_string.is_none() {
            c = c.credentials(match (&self.account_key, &self.sas_token, &self.bearer_token, self.anonymous) {
                (Some(k), ..) => AzureCredentials::SharedKey(k.clone()),
                (_, Some(s), ..) => AzureCredentials::Sas(s.clone()),
                (_, _, Some(t), _) => AzureCredentials::BearerToken(t.clone()),
                (.., true) => AzureCredentials::Anonymous,
                _ => AzureCredentials::ManagedIdentity { client_id: self.client_id.clone() },
            });
        }
        if let Some(u) = &self.identity_endpoint {
            check_endpoint("azure", "identity_endpoint", u)?;
            c = c.identity_endpoint(u.clone());
        }
        if let Some(t) = self.timeout {
            if t.is_zero() {
                return Err(ProbeError::misconfigured("azure timeout must be longer than 0s"));
            }
            c = c.timeout(t);
        }
        Ok(c)
    }

    fn freshness(&self, container: &AzureContainer) -> Result<AzureFreshness, ProbeError> {
        let fields = FreshnessFields {
            prefix: self.prefix.clone(),
            rpo_warn: self.rpo_warn,
            rpo_critical: self.rpo_critical,
            page_size: self.page_size,
            verify_newest: self.verify_newest,
        };
        let options = fields.options("azure", MAX_PAGE_SIZE)?;
        AzureFreshnessBuilder { container: container.clone(), options }.build()
    }

    /// Builds the probe for the spec's check.
    ///
    /// # Errors
    /// [`ProbeError`] (misconfigured) naming the field that is wrong.
    pub fn build_probe(&self) -> Result<Arc<dyn Probe>, ProbeError> {
        require_name("azure", "container", &self.container)?;
        let container = AzureContainer::new(self.config()?, self.container.clone());
        let freshness = self.freshness(&container)?;
        let scope = self.require_scope.unwrap_or(false);
        Ok(match self.check {
            AzureCheck::Reachable => Arc::new(container.reachable()),
            AzureCheck::SoftDelete => Arc::new(container.soft_delete()),
            AzureCheck::Encryption => Arc::new(container.encryption().require_scope(scope)),
            AzureCheck::Lifecycle => Arc::new(container.lifecycle()),
            AzureCheck::Immutability => Arc::new(container.immutability()),
            AzureCheck::Logging => Arc::new(container.logging()),
            AzureCheck::Freshness => Arc::new(freshness),
            AzureCheck::Backup => Arc::new(AzureBackup::new(freshness).require_scope(scope)),
        })
    }
}

impl ProbeSpec for AzureSpec {
    const KIND: &'static str = "azure";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        self.build_probe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AzureSpec, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn parses_and_builds() {
        let s = parse("account = \"a\"\ncontainer = \"c\"\ncheck = \"versioning\"\n").unwrap();
        assert_eq!(s.check, AzureCheck::SoftDelete);
        assert_eq!(s.build_probe().unwrap().target(), "azure://a/c/");
        let s = parse("container = \"c\"\ncheck = \"backup\"\nprefix = \"db/\"\nconnection_string = \"UseDevelopmentStorage=true\"\n")
            .unwrap();
        assert_eq!(s.build_probe().unwrap().target(), "azure://devstoreaccount1/c/db/");
    }

    #[test]
    fn bad_values_are_named_without_secrets() {
        let mut s = AzureSpec::new("a", "c", AzureCheck::Freshness);
        s.page_size = Some(5001);
        assert_eq!(s.build_probe().unwrap_err().message, "azure page_size 5001 is not between 1 and 5000");
        s.page_size = None;
        s.account_key = Some(Secret::new("a2V5LWNhbmFyeQ=="));
        s.sas_token = Some(Secret::new("sv=1&sig=sas-canary"));
        let e = s.build_probe().unwrap_err();
        assert!(e.message.starts_with("azure account_key, sas_token"), "{e}");
        assert!(!format!("{s:?} {e:?}").contains("sas-canary") && !format!("{s:?}").contains("a2V5LWNhbmFyeQ=="));
        let mut s = AzureSpec::new("a", "c", AzureCheck::Reachable);
        s.account = None;
        assert_eq!(s.build_probe().unwrap_err().message, "azure account is not set (nor a connection_string)");
        s.account = Some("other".into());
        s.connection_string = Some(Secret::new("UseDevelopmentStorage=true"));
        assert!(s.build_probe().unwrap_err().message.starts_with("azure account \"other\" differs"));
    }
}
