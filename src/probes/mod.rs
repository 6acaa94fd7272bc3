//! Built-in probe backends, one module per feature.
//!
//! The core kinds need no feature: [`net`] (TCP connect, Redis), [`file`](mod@file) (Dockerfile, Trivy
//! and JUnit report files, documents) and [`command`] (smoke-test programs). Each kind has a
//! spec type (`XxxSpec`) that a config file deserializes and that builds the probe.

pub mod command;
pub mod file;
pub mod net;

use std::time::Duration;

/// The default time a core probe waits for its target.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serde default for `timeout` fields.
pub(crate) fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
