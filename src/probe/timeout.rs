//! [`Timeout`]: cuts a probe at a time limit.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::{Observation, Probe, ProbeContext, ProbeError};

/// The probe did not finish in time: "probe timed out after 2s".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe timed out after {}", crate::model::duration::format(self.0))
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for ProbeError {
    fn from(e: Elapsed) -> Self {
        ProbeError::timeout(e.0)
    }
}

/// A probe cut at a time limit (and at the context's deadline, whichever comes first); built
/// by [`ProbeExt::timeout`](super::ProbeExt::timeout).
#[derive(Debug, Clone)]
pub struct Timeout<P> {
    inner: P,
    limit: Duration,
}

impl<P> Timeout<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, limit: Duration) -> Self {
        Timeout { inner, limit }
    }

    /// The wrapped probe.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: Probe> Probe for Timeout<P> {
    fn target(&self) -> String {
        self.inner.target()
    }

    fn has_side_effects(&self) -> bool {
        self.inner.has_side_effects()
    }

    fn independent(&self) -> bool {
        self.inner.independent()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let limit = cx.budget(self.limit);
        let cx = cx.clone().with_timeout(limit);
        match tokio::time::timeout(limit, self.inner.check(&cx)).await {
            Ok(r) => r,
            Err(_) => Err(Elapsed(limit).into()),
        }
    }
}
