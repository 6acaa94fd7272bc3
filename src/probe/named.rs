//! [`Named`]: gives a probe another target name in reports.

use async_trait::async_trait;

use super::{Observation, Probe, ProbeContext, ProbeError};

/// A probe reported under another target name; built by
/// [`ProbeExt::named`](super::ProbeExt::named).
#[derive(Debug, Clone)]
pub struct Named<P> {
    inner: P,
    name: String,
}

impl<P> Named<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, name: impl Into<String>) -> Self {
        Named { inner, name: name.into() }
    }

    /// The wrapped probe.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: Probe> Probe for Named<P> {
    fn target(&self) -> String {
        self.name.clone()
    }

    fn has_side_effects(&self) -> bool {
        self.inner.has_side_effects()
    }

    fn independent(&self) -> bool {
        self.inner.independent()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        self.inner.check(cx).await
    }
}
