//! Probes: the [`Probe`] trait, what a probe observes, and why it could not decide.
//!
//! A probe looks at one target and returns an [`Observation`] (Pass / Warn / Fail with a
//! one-line summary, measurements and redacted evidence) or a [`ProbeError`] when it could not
//! decide (unreachable, timed out, permission denied, not configured...). An error is never a
//! Fail: the report shows it as *Error* with the reason.
//!
//! ```
//! use nexus_readiness::async_trait;
//! use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError};
//!
//! #[derive(Debug)]
//! struct DiskFree;
//!
//! #[async_trait]
//! impl Probe for DiskFree {
//!     fn target(&self) -> String {
//!         "file:///var/lib/nexus".into()
//!     }
//!     async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
//!         Ok(Observation::pass("42% free"))
//!     }
//! }
//! ```
//!
//! Combinators ([`ProbeExt`], tower style): [`timeout`](ProbeExt::timeout),
//! [`retry`](ProbeExt::retry) with a [`RetryPolicy`] such as [`ExponentialBackoff`],
//! [`named`](ProbeExt::named), [`threshold`](ProbeExt::threshold), [`boxed`](ProbeExt::boxed);
//! [`FnProbe`] for a probe made of an async closure; [`all`] and [`any`] to compose probes.

mod attest;
pub mod boxed;
pub mod compose;
pub(crate) mod context;
mod error;
mod ext;
pub mod fn_probe;
pub mod named;
mod observation;
pub mod retry;
mod secret;
mod spec;
pub mod threshold;
pub mod timeout;

use async_trait::async_trait;

pub use attest::{Attestation, NotApplicable, Waiver};
pub use boxed::BoxProbe;
pub use compose::{All, Any, all, any};
pub(crate) use context::instant_after;
pub use context::{Clock, ManualClock, ProbeContext, SystemClock};
pub use error::{ProbeError, ProbeErrorKind};
pub use ext::ProbeExt;
pub use fn_probe::FnProbe;
pub use named::Named;
pub use observation::{Evidence, Measurement, Observation, Verdict};
pub use retry::{ExponentialBackoff, Retry, RetryPolicy};
pub(crate) use secret::collect_secrets;
pub use secret::{Redactor, Secret, is_sensitive_key, scrub_urls};
pub use spec::{BuildContext, ProbeSpec};
pub use threshold::WithThreshold;
pub use timeout::{Elapsed, Timeout};

/// Something that can look at a target and say whether an item holds.
///
/// Object safe: bindings hold `Box<dyn Probe>`. Implementations must not report
/// [`Verdict::Pass`] without having looked; "not configured" is
/// [`ProbeError::not_configured`], "could not look" is another [`ProbeError`].
#[async_trait]
pub trait Probe: Send + Sync + std::fmt::Debug {
    /// What this probe looks at, for reports: `tls://api.example.com:443`.
    fn target(&self) -> String;

    /// Looks at the target once.
    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError>;

    /// Whether looking changes the target's state so that other probes could see the change:
    /// a burst that consumes the service's real rate limiter, a write, a restart. The runner
    /// runs items with such a probe alone, after every other probe, one at a time, and the
    /// report marks them ([`ItemReport::ran_alone`](crate::report::ItemReport::ran_alone)).
    /// Default `false`.
    fn has_side_effects(&self) -> bool {
        false
    }

    /// Whether the probe's result stands whatever the item's dependencies (`after`) found,
    /// because its target pins what the dependency checks: a TLS probe given a fixed `ip`
    /// does not resolve the name, so a failed DNS item does not make its handshake
    /// meaningless. The runner runs an item whose probes are all independent even when a
    /// dependency failed, and notes the dependency in the reason. Default `false`.
    fn independent(&self) -> bool {
        false
    }
}

#[async_trait]
impl<P: Probe + ?Sized> Probe for Box<P> {
    fn target(&self) -> String {
        (**self).target()
    }
    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        (**self).check(cx).await
    }
    fn has_side_effects(&self) -> bool {
        (**self).has_side_effects()
    }
    fn independent(&self) -> bool {
        (**self).independent()
    }
}

#[async_trait]
impl<P: Probe + ?Sized> Probe for std::sync::Arc<P> {
    fn target(&self) -> String {
        (**self).target()
    }
    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        (**self).check(cx).await
    }
    fn has_side_effects(&self) -> bool {
        (**self).has_side_effects()
    }
    fn independent(&self) -> bool {
        (**self).independent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: &dyn Probe) {}

    fn _policy_obj_safe(_: &dyn RetryPolicy) {}

    fn _assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn core_types_are_send_sync() {
        _assert_send_sync::<Box<dyn Probe>>();
        _assert_send_sync::<ProbeError>();
        _assert_send_sync::<Observation>();
        _assert_send_sync::<ProbeContext>();
    }
}
