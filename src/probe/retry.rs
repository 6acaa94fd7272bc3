//! [`Retry`]: re-runs a probe whose error is transient, with a [`RetryPolicy`] such as
//! [`ExponentialBackoff`].

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Observation, Probe, ProbeContext, ProbeError};

/// Decides whether and when to try again after an error.
///
/// Object safe, so policies can be boxed.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// After attempt `attempt` (from 1) failed with `error`, `elapsed` since the first
    /// attempt began: the delay before the next attempt, or `None` to stop.
    fn retry(&self, attempt: u32, elapsed: Duration, error: &ProbeError) -> Option<Duration>;
}

impl<R: RetryPolicy + ?Sized> RetryPolicy for std::sync::Arc<R> {
    fn retry(&self, attempt: u32, elapsed: Duration, error: &ProbeError) -> Option<Duration> {
        (**self).retry(attempt, elapsed, error)
    }
}

/// Exponential backoff with jitter: delays `initial`, `initial * factor`, ... capped at
/// `max_delay`, each scaled by a random factor in `[1 - jitter, 1 + jitter]`; stops after
/// `max_attempts` attempts or when the next attempt would start after `max_elapsed`.
/// Retries only transient errors (unreachable, timeout, protocol) unless told otherwise.
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probe::ExponentialBackoff;
///
/// let policy = ExponentialBackoff::new(Duration::from_millis(100))
///     .max_attempts(5)
///     .max_elapsed(Duration::from_secs(10))
///     .jitter(0.2);
/// # let _ = policy;
/// ```
#[derive(Clone, Copy)]
pub struct ExponentialBackoff {
    initial: Duration,
    factor: f64,
    max_delay: Duration,
    jitter: f64,
    max_attempts: u32,
    max_elapsed: Duration,
    retry_if: fn(&ProbeError) -> bool,
}

impl fmt::Debug for ExponentialBackoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExponentialBackoff")
            .field("initial", &self.initial)
            .field("factor", &self.factor)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("max_attempts", &self.max_attempts)
            .field("max_elapsed", &self.max_elapsed)
            .finish_non_exhaustive()
    }
}

impl Default for ExponentialBackoff {
    /// 200ms initial delay, factor 2, at most 5s between attempts, jitter 0.2, 3 attempts,
    /// 30s in all.
    fn default() -> Self {
        ExponentialBackoff {
            initial: Duration::from_millis(200),
            factor: 2.0,
            max_delay: Duration::from_secs(5),
            jitter: 0.2,
            max_attempts: 3,
            max_elapsed: Duration::from_secs(30),
            retry_if: |e| e.kind.is_transient(),
        }
    }
}

impl ExponentialBackoff {
    /// The defaults with this initial delay.
    pub fn new(initial: Duration) -> Self {
        ExponentialBackoff { initial, ..Self::default() }
    }

    /// The growth factor (at least 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() { factor.max(1.0) } else { 2.0 };
        self
    }

    /// The longest delay between two attempts.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The jitter, 0 (none) to 1.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// The most attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The longest time from the first attempt to the start of the last one.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Which errors to retry (default: [`ProbeErrorKind::is_transient`](super::ProbeErrorKind::is_transient)).
    pub fn retry_if(mut self, pred: fn(&ProbeError) -> bool) -> Self {
        self.retry_if = pred;
        self
    }

    /// The delay before attempt `attempt + 1`, without jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exp = self.factor.powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial.as_secs_f64() * exp).min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }
}

impl RetryPolicy for ExponentialBackoff {
    fn retry(&self, attempt: u32, elapsed: Duration, error: &ProbeError) -> Option<Duration> {
        if attempt >= self.max_attempts || !(self.retry_if)(error) {
            return None;
        }
        let base = self.base_delay(attempt).as_secs_f64();
        let scale = 1.0 + self.jitter * (fastrand::f64() * 2.0 - 1.0);
        let delay = Duration::try_from_secs_f64((base * scale).max(0.0)).unwrap_or(self.max_delay);
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

/// A probe re-run after transient errors; built by [`ProbeExt::retry`](super::ProbeExt::retry).
///
/// Each attempt sees [`ProbeContext::attempt`] set to its number. A verdict (even Fail) is
/// never retried: only errors are. The last error is returned with "(after N attempts)"
/// appended; a delay that would pass the context's deadline ends the retries.
#[derive(Debug, Clone)]
pub struct Retry<P, R> {
    inner: P,
    policy: R,
}

impl<P, R> Retry<P, R> {
    /// Wraps `inner`.
    pub fn new(inner: P, policy: R) -> Self {
        Retry { inner, policy }
    }

    /// The wrapped probe.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: Probe, R: RetryPolicy> Probe for Retry<P, R> {
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
        let start = Instant::now();
        let first = cx.attempt().max(1);
        let mut attempt = first;
        loop {
            let acx = cx.clone().with_attempt(attempt);
            let err = match self.inner.check(&acx).await {
                Ok(o) => return Ok(o),
                Err(e) => e,
            };
            let tries = attempt - first + 1;
            let stop = |mut e: ProbeError| {
                if tries > 1 {
                    e.message.push_str(&format!(" (after {tries} attempts)"));
                }
                Err(e)
            };
            let Some(delay) = self.policy.retry(tries, start.elapsed(), &err) else {
                return stop(err);
            };
            if cx.remaining().is_some_and(|r| r <= delay) || cx.is_cancelled() {
                return stop(err);
            }
            tracing::debug!(target = %self.inner.target(), attempt = tries, ?delay, error = %err, "retrying probe");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cx.cancellation().cancelled() => return stop(err),
            }
            attempt += 1;
        }
    }
}
