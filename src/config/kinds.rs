use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::probe::{Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Declares [`ProbeConfig`]: one line per built-in probe kind.
///
/// To add a backend kind, add one line to the invocation below:
///
/// ```text
/// "tls" => Tls(crate::probes::tls::TlsSpec), feature = "tls";
/// ```
///
/// The macro writes the enum variant (with `#[cfg(feature)]` and the docs.rs badge), its
/// `kind = "..."` name, the `spec()` match arm and the kind list used for suggestions.
macro_rules! probe_configs {
    ($( $kind:literal => $variant:ident($spec:ty) $(, feature = $feat:literal)? ; )*) => {
        /// One probe of a built-in kind, as written in a config file: a table with
        /// `kind = "..."` and the fields of that kind's spec.
        ///
        /// ```
        /// use nexus_readiness::config::ProbeConfig;
        ///
        /// let p: ProbeConfig = toml::from_str("kind = \"tcp\"\naddress = \"127.0.0.1:5432\"").unwrap();
        /// assert_eq!(p.kind(), "tcp");
        /// ```
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        #[serde(tag = "kind")]
        #[non_exhaustive]
        pub enum ProbeConfig {
            $(
                #[doc = concat!("Kind `", $kind, "`: [`", stringify!($spec), "`].")]
                $(#[cfg(feature = $feat)] #[cfg_attr(docsrs, doc(cfg(feature = $feat)))])?
                #[serde(rename = $kind)]
                $variant($spec),
            )*
        }

        impl ProbeConfig {
            /// The spec inside.
            pub fn spec(&self) -> &dyn ProbeSpec {
                match self {
                    $( $(#[cfg(feature = $feat)])? ProbeConfig::$variant(s) => s, )*
                }
            }

            /// The built-in kinds compiled into this build.
            #[allow(clippy::vec_init_then_push)]
            pub fn kinds() -> Vec<&'static str> {
                #[allow(unused_mut)]
                let mut v = Vec::new();
                $( $(#[cfg(feature = $feat)])? v.push($kind); )*
                v
            }

            /// Deserializes the spec of `kind` (a table without the `kind` key); `None` when
            /// `kind` is not a built-in kind of this build.
            pub(crate) fn from_kind<'de, D>(kind: &str, de: D) -> Option<Result<Self, D::Error>>
            where
                D: serde::Deserializer<'de>,
            {
                match kind {
                    $( $(#[cfg(feature = $feat)])? $kind => Some(<$spec>::deserialize(de).map(ProbeConfig::$variant)), )*
                    _ => None,
                }
            }
        }
    };
}

// Built-in kinds. Backend kinds are added here, one line each, gated by their feature, e.g.
//   "tls" => Tls(crate::probes::tls::TlsSpec), feature = "tls";
//   "kube" => Kube(crate::probes::kube::KubeSpec), feature = "kube";
//   "s3" => S3(crate::probes::s3::S3Spec), feature = "s3";
// and, for a kind the default bindings use, `BACKEND_KINDS` below names its feature.
probe_configs! {
    "tcp" => Tcp(crate::probes::net::TcpSpec);
    "redis" => Redis(crate::probes::net::RedisSpec);
    "dockerfile" => Dockerfile(crate::probes::file::DockerfileSpec);
    "trivy" => Trivy(crate::probes::file::TrivySpec);
    "junit" => Junit(crate::probes::file::JunitSpec);
    "path" => Path(crate::probes::file::PathSpec);
    "command" => Command(crate::probes::command::CommandSpec);
    "http" => Http(crate::probes::http::HttpSpec), feature = "http";
    "http-health" => HttpHealth(crate::probes::http::HealthSpec), feature = "http";
    "http-auth" => HttpAuth(crate::probes::http::AuthSpec), feature = "http";
    "http-rate-limit" => HttpRateLimit(crate::probes::http::RateLimitSpec), feature = "http";
    "http-input-validation" => HttpInputValidation(crate::probes::http::InputValidationSpec), feature = "http";
    "http-cdn" => HttpCdn(crate::probes::http::CdnSpec), feature = "http";
    "http-debug-endpoints" => HttpDebugEndpoints(crate::probes::http::DebugEndpointsSpec), feature = "http";
    "http-document" => HttpDocument(crate::probes::http::DocumentSpec), feature = "http";
    "oci-image" => OciImage(crate::probes::http::OciImageSpec), feature = "http";
    "monitoring-stack" => MonitoringStack(crate::probes::http::MonitoringSpec), feature = "http";
    "log-aggregation" => LogAggregation(crate::probes::http::LogAggregationSpec), feature = "http";
    "logs-appearing" => LogsAppearing(crate::probes::http::LogsAppearingSpec), feature = "http";
    "tls" => Tls(crate::probes::tls::TlsSpec), feature = "tls";
    "dns" => Dns(crate::probes::dns::DnsSpec), feature = "dns";
    "prometheus-metrics" => PrometheusMetrics(crate::probes::prometheus::MetricsFlowingSpec), feature = "prometheus";
    "prometheus-rules" => PrometheusRules(crate::probes::prometheus::AlertRulesSpec), feature = "prometheus";
    "prometheus-capacity" => PrometheusCapacity(crate::probes::prometheus::CapacitySpec), feature = "prometheus";
    "prometheus-series" => PrometheusSeries(crate::probes::prometheus::SeriesSpec), feature = "prometheus";
    "kube" => Kube(crate::probes::kube::KubeSpec), feature = "kube";
    "s3" => S3(crate::probes::s3::S3Spec), feature = "s3";
    "nvml-gpus" => NvmlGpus(crate::probes::nvml::GpuPresenceSpec), feature = "nvml";
    "nvml-health" => NvmlHealth(crate::probes::nvml::GpuHealthSpec), feature = "nvml";
    "nvml-capacity" => NvmlCapacity(crate::probes::nvml::GpuCapacitySpec), feature = "nvml";
    "nvml-xid" => NvmlXid(crate::probes::nvml::GpuXidSpec), feature = "nvml";
}

impl ProbeConfig {
    /// The kind name (`"redis"`).
    pub fn kind(&self) -> &'static str {
        self.spec().kind()
    }

    /// Builds the probe.
    ///
    /// # Errors
    /// The spec's own [`ProbeError`] (misconfigured field).
    pub fn build(&self) -> Result<Arc<dyn Probe>, ProbeError> {
        self.spec().build()
    }
}

/// Backend kinds and the crate feature each needs: a config naming one in a build without
/// the feature gets an Error outcome saying which feature to enable.
pub const BACKEND_KINDS: &[(&str, &str)] = &[
    ("http", "http"),
    ("http-health", "http"),
    ("http-auth", "http"),
    ("http-rate-limit", "http"),
    ("http-input-validation", "http"),
    ("http-cdn", "http"),
    ("http-debug-endpoints", "http"),
    ("http-document", "http"),
    ("oci-image", "http"),
    ("monitoring-stack", "http"),
    ("log-aggregation", "http"),
    ("logs-appearing", "http"),
    ("tls", "tls"),
    ("dns", "dns"),
    ("prometheus-metrics", "prometheus"),
    ("prometheus-rules", "prometheus"),
    ("prometheus-capacity", "prometheus"),
    ("prometheus-series", "prometheus"),
    ("kube", "kube"),
    ("s3", "s3"),
    ("nvml-gpus", "nvml"),
    ("nvml-health", "nvml"),
    ("nvml-capacity", "nvml"),
    ("nvml-xid", "nvml"),
];

/// The feature a backend kind needs, when this build lacks it.
pub(crate) fn missing_feature(kind: &str) -> Option<&'static str> {
    if ProbeConfig::kinds().contains(&kind) {
        return None;
    }
    BACKEND_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)
}

/// Builds a probe from the TOML table of a custom kind (without its `kind` key).
pub type Factory = Arc<dyn Fn(toml::Value) -> Result<Arc<dyn Probe>, ProbeError> + Send + Sync>;

/// Custom probe kinds, registered by name, so a config file can bind probes written by users.
///
/// ```
/// use std::sync::Arc;
/// use nexus_readiness::config::{Config, Registry};
/// use nexus_readiness::probe::{Probe, ProbeError};
/// use nexus_readiness::probes::net::TcpProbe;
///
/// let mut registry = Registry::new();
/// registry.register("postgres", |v: toml::Value| -> Result<Arc<dyn Probe>, ProbeError> {
///     let addr = v.get("address").and_then(|a| a.as_str()).ok_or_else(|| ProbeError::misconfigured("postgres: address is required"))?;
///     Ok(Arc::new(TcpProbe::new(addr)))
/// });
/// let text = r#"
/// [bindings."pre-deployment.performance.database-connection-pooling-configured"]
/// kind = "postgres"
/// address = "127.0.0.1:5432"
/// "#;
/// let config = Config::from_str_with(text, "nexus.toml", &registry)?;
/// # Ok::<(), nexus_readiness::config::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    custom: BTreeMap<String, Factory>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("custom", &self.custom.keys().collect::<Vec<_>>()).finish()
    }
}

impl Registry {
    /// A registry with the built-in kinds only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a custom kind. A custom kind with the name of a built-in one is never used:
    /// built-in kinds win.
    pub fn register<F>(&mut self, kind: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn(toml::Value) -> Result<Arc<dyn Probe>, ProbeError> + Send + Sync + 'static,
    {
        self.custom.insert(kind.into(), Arc::new(factory));
        self
    }

    /// The factory of a custom kind.
    pub fn get(&self, kind: &str) -> Option<&Factory> {
        self.custom.get(kind)
    }

    /// Every kind a config may name: built-in, backend (maybe not compiled in) and custom.
    pub fn kinds(&self) -> Vec<String> {
        let mut v: Vec<String> = ProbeConfig::kinds().into_iter().map(String::from).collect();
        v.extend(BACKEND_KINDS.iter().map(|(k, _)| k.to_string()));
        v.extend(self.custom.keys().cloned());
        v.sort();
        v.dedup();
        v
    }
}

/// The probe bound to an item whose target key is absent from the config: it reports
/// "not configured: set `key`" (Skipped), never Pass.
#[derive(Debug, Clone)]
pub struct NotConfigured {
    key: String,
    kind: String,
}

impl NotConfigured {
    /// A probe of `kind` waiting for `key`.
    pub fn new(key: impl Into<String>, kind: impl Into<String>) -> Self {
        NotConfigured { key: key.into(), kind: kind.into() }
    }

    /// The config key that would enable the item.
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[async_trait]
impl Probe for NotConfigured {
    fn target(&self) -> String {
        format!("{} (not configured: {})", self.kind, self.key)
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        Err(ProbeError::not_configured(&self.key))
    }
}

/// The probe bound where a config names a backend kind this build was compiled without.
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    pub(crate) kind: String,
    pub(crate) feature: String,
    pub(crate) key: String,
}

#[async_trait]
impl Probe for Unavailable {
    fn target(&self) -> String {
        format!("{} ({})", self.kind, self.key)
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        Err(ProbeError::missing_dependency(format!(
            "{}: probe kind `{}` needs the `{}` feature of nexus-readiness",
            self.key, self.kind, self.feature
        )))
    }
}
