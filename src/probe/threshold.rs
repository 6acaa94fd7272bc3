//! [`WithThreshold`]: turns a probe's measurement into a verdict.

use async_trait::async_trait;

use super::{Observation, Probe, ProbeContext, ProbeError};
use crate::model::Threshold;

/// A probe whose measurements named `measurement` are evaluated against a [`Threshold`]: the
/// verdict becomes the worse of the probe's and the evaluation's (Ok → Pass, Warn → Warn,
/// Breach → Fail). Built by [`ProbeExt::threshold`](super::ProbeExt::threshold).
///
/// A probe that reports no such measurement is misconfigured: "probe X reported no
/// measurement `name`".
#[derive(Debug, Clone)]
pub struct WithThreshold<P> {
    inner: P,
    measurement: String,
    threshold: Threshold,
}

impl<P> WithThreshold<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, measurement: impl Into<String>, threshold: Threshold) -> Self {
        WithThreshold { inner, measurement: measurement.into(), threshold }
    }
}

#[async_trait]
impl<P: Probe> Probe for WithThreshold<P> {
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
        let mut obs = self.inner.check(cx).await?;
        let mut found = false;
        let mut verdict = obs.verdict;
        for m in obs.measurements.iter_mut().filter(|m| m.name == self.measurement) {
            found = true;
            let evaluation = self.threshold.evaluate_in(m.value, m.unit).map_err(|e| {
                ProbeError::misconfigured(format!(
                    "threshold `{}` cannot evaluate measurement `{}` of {}",
                    self.threshold.metric,
                    m.name,
                    self.inner.target()
                ))
                .with_source(&e)
            })?;
            verdict = verdict.worst(evaluation.level.into());
            m.evaluation = Some(evaluation);
        }
        if !found {
            return Err(ProbeError::misconfigured(format!(
                "probe {} reported no measurement `{}`",
                self.inner.target(),
                self.measurement
            )));
        }
        if verdict != obs.verdict {
            let e = obs.measurements.iter().filter(|m| m.name == self.measurement).find_map(|m| m.evaluation.as_ref());
            if let Some(e) = e {
                obs.summary = format!("{}; {e}", obs.summary);
            }
            obs.verdict = verdict;
        }
        Ok(obs)
    }
}
