//! The `backup` config kind: one backup target, whichever cloud holds it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec};

/// The cloud a `backup` entry looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BackupProvider {
    /// Amazon S3 and S3-compatible stores (feature `s3`): the fields of
    /// [`S3Spec`](crate::probes::s3::S3Spec).
    S3,
    /// Google Cloud Storage (feature `gcs`): the fields of
    /// [`GcsSpec`](crate::probes::gcs::GcsSpec).
    Gcs,
    /// Azure Blob Storage (feature `azure`): the fields of
    /// [`AzureSpec`](crate::probes::azure::AzureSpec).
    Azure,
}

impl BackupProvider {
    /// `s3`, `gcs`, `azure`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupProvider::S3 => "s3",
            BackupProvider::Gcs => "gcs",
            BackupProvider::Azure => "azure",
        }
    }
}

/// One backup storage check in a config file (kind `"backup"`): `provider` picks the cloud
/// (default `"s3"`), the other fields are that provider's kind's (`check = "..."` included).
///
/// ```toml
/// [targets.backup]
/// provider = "gcs"
/// bucket = "nexus-backups"
/// prefix = "postgres/"
/// rpo_warn = "24h"
/// rpo_critical = "36h"
/// ```
///
/// The checks every provider has: `reachable`, `versioning` (Azure: blob soft delete),
/// `encryption`, `lifecycle` (Azure: an Error, it needs the management API), `logging`,
/// `freshness`, `backup`; and one each: `object-lock` (s3), `retention` (gcs),
/// `immutability` (azure). A provider whose feature is not compiled in is an error that names
/// the feature.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BackupSpec {
    /// `provider = "s3"` (or none).
    #[cfg(feature = "s3")]
    S3(crate::probes::s3::S3Spec),
    /// `provider = "gcs"`.
    #[cfg(feature = "gcs")]
    Gcs(crate::probes::gcs::GcsSpec),
    /// `provider = "azure"`.
    #[cfg(feature = "azure")]
    Azure(crate::probes::azure::AzureSpec),
}

impl BackupSpec {
    /// The provider this entry looks at.
    pub fn provider(&self) -> BackupProvider {
        match self {
            #[cfg(feature = "s3")]
            BackupSpec::S3(_) => BackupProvider::S3,
            #[cfg(feature = "gcs")]
            BackupSpec::Gcs(_) => BackupProvider::Gcs,
            #[cfg(feature = "azure")]
            BackupSpec::Azure(_) => BackupProvider::Azure,
        }
    }
}

fn missing_feature<E: serde::de::Error>(p: BackupProvider) -> E {
    E::custom(format!("backup provider \"{p}\" needs nexus-readiness built with the `{p}` feature", p = p.as_str()))
}

impl<'de> Deserialize<'de> for BackupSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut table = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let provider = match table.remove("provider") {
            None => BackupProvider::S3,
            Some(v) => BackupProvider::deserialize(v).map_err(|_| {
                D::Error::custom("unknown backup provider: expected one of \"s3\", \"gcs\", \"azure\" (key `provider`)")
            })?,
        };
        let rest = serde_json::Value::Object(table);
        let spec = match provider {
            #[cfg(feature = "s3")]
            BackupProvider::S3 => serde_json::from_value(rest).map(BackupSpec::S3),
            #[cfg(feature = "gcs")]
            BackupProvider::Gcs => serde_json::from_value(rest).map(BackupSpec::Gcs),
            #[cfg(feature = "azure")]
            BackupProvider::Azure => serde_json::from_value(rest).map(BackupSpec::Azure),
            #[allow(unreachable_patterns)]
            other => {
                let _ = rest;
                return Err(missing_feature(other));
            }
        };
        spec.map_err(|e| D::Error::custom(format!("backup provider \"{}\": {e}", provider.as_str())))
    }
}

impl schemars::JsonSchema for BackupSpec {
    fn schema_name() -> Cow<'static, str> {
        "BackupSpec".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Each provider's own schema, inlined, with `provider` added (optional for s3).
        #[allow(unused_mut)]
        let mut variants: Vec<serde_json::Value> = Vec::new();
        #[allow(unused_variables, unused_mut)]
        let mut with_provider = |mut s: schemars::Schema, p: &str, required: bool| {
            let o = s.ensure_object();
            if let Some(serde_json::Value::Object(props)) = o.get_mut("properties") {
                props.insert(
                    "provider".into(),
                    serde_json::json!({"description": "The cloud holding the backups.", "const": p}),
                );
            }
            if required && let Some(serde_json::Value::Array(req)) = o.get_mut("required") {
                req.push("provider".into());
            }
            variants.push(serde_json::Value::Object(o.clone()));
        };
        #[cfg(feature = "s3")]
        with_provider(<crate::probes::s3::S3Spec as schemars::JsonSchema>::json_schema(generator), "s3", false);
        #[cfg(feature = "gcs")]
        with_provider(<crate::probes::gcs::GcsSpec as schemars::JsonSchema>::json_schema(generator), "gcs", true);
        #[cfg(feature = "azure")]
        with_provider(<crate::probes::azure::AzureSpec as schemars::JsonSchema>::json_schema(generator), "azure", true);
        let _ = generator;
        schemars::json_schema!({
            "description": "A backup storage check; `provider` (default \"s3\") picks the cloud, the other fields are that provider's.",
            "oneOf": variants,
        })
    }
}

impl ProbeSpec for BackupSpec {
    const KIND: &'static str = "backup";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        match self {
            #[cfg(feature = "s3")]
            BackupSpec::S3(s) => s.build_probe(),
            #[cfg(feature = "gcs")]
            BackupSpec::Gcs(s) => s.build_probe(),
            #[cfg(feature = "azure")]
            BackupSpec::Azure(s) => s.build_probe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<BackupSpec, toml::de::Error> {
        toml::from_str(s)
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_is_the_default_provider() {
        let s = parse("bucket = \"b\"\ncheck = \"backup\"\nprefix = \"db/\"\n").unwrap();
        assert_eq!(s.provider(), BackupProvider::S3);
        assert_eq!(s.build(&BuildContext::detached()).unwrap().target(), "s3://b/db/");
    }

    #[cfg(all(feature = "gcs", feature = "azure"))]
    #[test]
    fn providers_take_their_own_fields() {
        let s = parse("provider = \"gcs\"\nbucket = \"b\"\ncheck = \"retention\"\nanonymous = true\n").unwrap();
        assert_eq!(
            (s.provider(), s.build(&BuildContext::detached()).unwrap().target()),
            (BackupProvider::Gcs, "gs://b/".to_string())
        );
        let s = parse("provider = \"azure\"\naccount = \"a\"\ncontainer = \"c\"\ncheck = \"versioning\"\n").unwrap();
        assert_eq!(
            (s.provider(), s.build(&BuildContext::detached()).unwrap().target()),
            (BackupProvider::Azure, "azure://a/c/".to_string())
        );
        let e = parse("provider = \"azure\"\nbucket = \"b\"\ncheck = \"backup\"\n").unwrap_err();
        assert!(e.to_string().contains("backup provider \"azure\": unknown field `bucket`"), "{e}");
        let e = parse("provider = \"ftp\"\nbucket = \"b\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown backup provider"), "{e}");
    }

    #[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure")))]
    #[test]
    fn a_provider_not_compiled_names_its_feature() {
        let missing = if !cfg!(feature = "s3") {
            "s3"
        } else if !cfg!(feature = "gcs") {
            "gcs"
        } else {
            "azure"
        };
        let e = parse(&format!("provider = \"{missing}\"\nbucket = \"b\"\ncheck = \"backup\"\n")).unwrap_err();
        assert!(e.to_string().contains(&format!("needs nexus-readiness built with the `{missing}` feature")), "{e}");
    }

    #[test]
    fn the_schema_offers_each_compiled_provider() {
        let schema = schemars::schema_for!(BackupSpec);
        let text = serde_json::to_string(&schema).unwrap();
        for (p, compiled) in
            [("s3", cfg!(feature = "s3")), ("gcs", cfg!(feature = "gcs")), ("azure", cfg!(feature = "azure"))]
        {
            assert_eq!(text.contains(&format!("\"const\":\"{p}\"")), compiled, "{p}: {text}");
        }
    }
}
