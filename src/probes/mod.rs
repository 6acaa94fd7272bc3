//! Built-in probe backends, one module per feature.
//!
//! The core kinds need no feature: [`net`] (TCP connect, Redis), [`file`](mod@file) (Dockerfile, Trivy
//! and JUnit report files, documents) and [`command`] (smoke-test programs). Every other backend
//! is behind the feature of its name. Each kind has a spec type (`XxxSpec`) that a config file
//! deserializes and that builds the probe.

use std::time::Duration;

/// The default time a core probe waits for its target.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serde default for `timeout` fields.
pub(crate) fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

pub mod command;

pub mod file;

pub mod net;

#[cfg(feature = "dns")]
#[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
pub mod dns;

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;

#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub mod kube;

#[cfg(feature = "nvml")]
#[cfg_attr(docsrs, doc(cfg(feature = "nvml")))]
pub mod nvml;

#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub mod prometheus;

#[cfg(feature = "s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
pub mod s3;

#[cfg(feature = "gcs")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcs")))]
pub mod gcs;

#[cfg(feature = "azure")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure")))]
pub mod azure;

/// The provider-neutral parts of the backup storage probes.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "s3", feature = "gcs", feature = "azure"))))]
pub mod backup;

#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
/// Certificate errors in words, shared by the `tls` and `http` backends.
#[cfg(any(feature = "http", feature = "tls"))]
#[path = "tls/explain.rs"]
pub(crate) mod tls_explain;

/// Registers every kind of this crate: the spec types of the backends compiled in, and the
/// names of those whose feature is off (bound to an Error naming the feature).
pub(crate) fn register_all(r: &mut crate::config::Registry) {
    r.register::<net::TcpSpec>()
        .register::<net::RedisSpec>()
        .register::<file::DockerfileSpec>()
        .register::<file::TrivySpec>()
        .register::<file::JunitSpec>()
        .register::<file::PathSpec>()
        .register::<command::CommandSpec>();
    #[cfg(feature = "http")]
    r.register::<http::HttpSpec>()
        .register::<http::HealthSpec>()
        .register::<http::AuthSpec>()
        .register::<http::RateLimitSpec>()
        .register::<http::InputValidationSpec>()
        .register::<http::CdnSpec>()
        .register::<http::DebugEndpointsSpec>()
        .register::<http::DocumentSpec>()
        .register::<http::OciImageSpec>()
        .register::<http::MonitoringSpec>()
        .register::<http::LogAggregationSpec>()
        .register::<http::LogsAppearingSpec>();
    #[cfg(not(feature = "http"))]
    r.unavailable(
        &[
            "http",
            "http-health",
            "http-auth",
            "http-rate-limit",
            "http-input-validation",
            "http-cdn",
            "http-debug-endpoints",
            "http-document",
            "oci-image",
            "monitoring-stack",
            "log-aggregation",
            "logs-appearing",
        ],
        "http",
    );
    #[cfg(feature = "tls")]
    r.register::<tls::TlsSpec>();
    #[cfg(not(feature = "tls"))]
    r.unavailable(&["tls"], "tls");
    #[cfg(feature = "dns")]
    r.register::<dns::DnsSpec>();
    #[cfg(not(feature = "dns"))]
    r.unavailable(&["dns"], "dns");
    #[cfg(feature = "prometheus")]
    r.register::<prometheus::MetricsFlowingSpec>()
        .register::<prometheus::AlertRulesSpec>()
        .register::<prometheus::CapacitySpec>()
        .register::<prometheus::SeriesSpec>();
    #[cfg(not(feature = "prometheus"))]
    r.unavailable(
        &["prometheus-metrics", "prometheus-rules", "prometheus-capacity", "prometheus-series"],
        "prometheus",
    );
    #[cfg(feature = "kube")]
    r.register::<kube::KubeSpec>();
    #[cfg(not(feature = "kube"))]
    r.unavailable(&["kube"], "kube");
    // Backup storage: `s3`, `gcs`, `azure`, and `backup` (provider = ...).
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
    backup::register(r);
    #[cfg(not(feature = "s3"))]
    r.unavailable(&["s3"], "s3");
    #[cfg(not(feature = "gcs"))]
    r.unavailable(&["gcs"], "gcs");
    #[cfg(not(feature = "azure"))]
    r.unavailable(&["azure"], "azure");
    #[cfg(not(any(feature = "s3", feature = "gcs", feature = "azure")))]
    r.unavailable(&["backup"], "s3");
    #[cfg(feature = "nvml")]
    r.register::<nvml::GpuPresenceSpec>()
        .register::<nvml::GpuHealthSpec>()
        .register::<nvml::GpuCapacitySpec>()
        .register::<nvml::GpuXidSpec>();
    #[cfg(not(feature = "nvml"))]
    r.unavailable(&["nvml-gpus", "nvml-health", "nvml-capacity", "nvml-xid"], "nvml");
}
