//! [`FnProbe`]: a probe from an async closure.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::{Observation, Probe, ProbeContext, ProbeError};

/// A probe made of a target name and an async closure, so a custom probe is three lines.
///
/// ```
/// use nexus_readiness::probe::{FnProbe, Observation, ProbeError};
///
/// let probe = FnProbe::new("file:///etc/nexus/config.toml", |_cx| async move {
///     match tokio::fs::metadata("/etc/nexus/config.toml").await {
///         Ok(_) => Ok(Observation::pass("config file present")),
///         Err(e) => Err(ProbeError::not_found("/etc/nexus/config.toml").with_source(&e)),
///     }
/// });
/// # let _ = probe;
/// ```
#[derive(Clone)]
pub struct FnProbe<F> {
    target: String,
    f: F,
}

impl<F> fmt::Debug for FnProbe<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnProbe").field("target", &self.target).finish_non_exhaustive()
    }
}

impl<F, Fut> FnProbe<F>
where
    F: Fn(ProbeContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Observation, ProbeError>> + Send,
{
    /// A probe of `target` that runs `f` with a copy of the context.
    pub fn new(target: impl Into<String>, f: F) -> Self {
        FnProbe { target: target.into(), f }
    }
}

#[async_trait]
impl<F, Fut> Probe for FnProbe<F>
where
    F: Fn(ProbeContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Observation, ProbeError>> + Send,
{
    fn target(&self) -> String {
        self.target.clone()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        (self.f)(cx.clone()).await
    }
}
