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
