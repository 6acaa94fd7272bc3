//! [`ProbeExt`]: combinators on every probe, tower style.

use std::sync::Arc;
use std::time::Duration;

use super::{BoxProbe, Named, Probe, Retry, RetryPolicy, Timeout, WithThreshold};
use crate::model::Threshold;

/// Combinators for every [`Probe`] (blanket impl).
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probe::{ExponentialBackoff, FnProbe, Observation, Probe, ProbeExt};
///
/// let probe = FnProbe::new("redis://10.0.0.5:6379", |_cx| async move { Ok(Observation::pass("PONG")) })
///     .timeout(Duration::from_secs(2))
///     .retry(ExponentialBackoff::new(Duration::from_millis(100)).max_attempts(3))
///     .named("redis-primary")
///     .boxed();
/// assert_eq!(probe.target(), "redis-primary");
/// ```
pub trait ProbeExt: Probe {
    /// Cuts the probe after `limit`: "probe timed out after 2s".
    fn timeout(self, limit: Duration) -> Timeout<Self>
    where
        Self: Sized,
    {
        Timeout::new(self, limit)
    }

    /// Re-runs the probe after transient errors, as `policy` says.
    fn retry<R: RetryPolicy>(self, policy: R) -> Retry<Self, R>
    where
        Self: Sized,
    {
        Retry::new(self, policy)
    }

    /// Reports the probe under another target name.
    fn named(self, name: impl Into<String>) -> Named<Self>
    where
        Self: Sized,
    {
        Named::new(self, name)
    }

    /// Evaluates the measurement `measurement` against `threshold`, which drives the verdict.
    fn threshold(self, measurement: impl Into<String>, threshold: Threshold) -> WithThreshold<Self>
    where
        Self: Sized,
    {
        WithThreshold::new(self, measurement, threshold)
    }

    /// A shared, type-erased probe.
    fn boxed(self) -> BoxProbe
    where
        Self: Sized + 'static,
    {
        Arc::new(self)
    }
}

impl<P: Probe + ?Sized> ProbeExt for P {}
