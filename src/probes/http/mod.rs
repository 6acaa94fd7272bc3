//! HTTP probes (feature `http`): endpoints with verdicts, the way blackbox_exporter and gatus
//! users expect them, plus probes for checklist items built on them.
//!
//! | kind | spec | answers |
//! |---|---|---|
//! | `http` | [`HttpSpec`] | one endpoint: status, body match, latency |
//! | `http-health` | [`HealthSpec`] | health endpoints passing |
//! | `http-auth` | [`AuthSpec`] | API authentication enforced |
//! | `http-rate-limit` | [`RateLimitSpec`] | rate limiting configured |
//! | `http-input-validation` | [`InputValidationSpec`] | malformed input gets 4xx, never 5xx |
//! | `http-cdn` | [`CdnSpec`] | CDN / cache headers on a static asset |
//! | `http-debug-endpoints` | [`DebugEndpointsSpec`] | debug endpoints not exposed |
//! | `http-document` | [`DocumentSpec`] | a document / runbook URL is reachable |
//! | `oci-image` | [`OciImageSpec`] | an image tag is pushed to a registry |
//! | `monitoring-stack` | [`MonitoringSpec`] | Prometheus / Grafana ready |
//! | `log-aggregation` | [`LogAggregationSpec`] | Loki / Elasticsearch ready |
//! | `logs-appearing` | [`LogsAppearingSpec`] | a log query finds recent entries |
//!
//! Every spec has a `client` table ([`ClientOptions`]): timeout, redirects, body cap, extra
//! CA file, `insecure`, plain and secret headers. Secret header values are [`Secret`](crate::probe::Secret)s:
//! they are sent, and appear in no Debug output, error, summary or evidence. Credentials in
//! URLs are stripped from every message.
//!
//! ```no_run
//! use std::time::Duration;
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::http::{HttpKind, HttpSpec};
//!
//! # async fn demo() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let mut spec = HttpSpec::new("https://api.example.com/healthz");
//! spec.warn_latency = Some(Duration::from_millis(300));
//! spec.max_latency = Some(Duration::from_secs(1));
//! let probe = spec.build_probe()?;
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", obs.verdict, obs.summary);
//! # Ok(()) }
//! ```

/// Debug for a spec: each field's Debug text with URL credentials and sensitive query values
/// scrubbed, so a spec holding `https://user:pass@host/` never prints the password.
macro_rules! scrubbed_debug {
    ($ty:ident: $($field:ident),* $(,)?) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &crate::probes::http::client::Scrubbed(&self.$field)))*
                    .finish()
            }
        }
    };
}

mod client;
mod endpoint;
mod items;
mod observability;
mod oci;
mod verdict;

pub use client::{ClientOptions, StatusPattern, display_url};
pub use endpoint::{HttpProbe, HttpProbeBuilder, HttpSpec};
pub use items::{
    AuthProbe, AuthProbeBuilder, AuthSpec, CdnProbe, CdnProbeBuilder, CdnSpec, DebugEndpointsProbe,
    DebugEndpointsProbeBuilder, DebugEndpointsSpec, DocumentSpec, HealthProbe, HealthProbeBuilder, HealthSpec,
    InputValidationProbe, InputValidationProbeBuilder, InputValidationSpec, MAX_BURST_DURATION, MAX_BURST_REQUESTS,
    MAX_PAYLOADS, RateLimitProbe, RateLimitProbeBuilder, RateLimitSpec,
};
pub use observability::{
    LogAggregationProbe, LogAggregationProbeBuilder, LogAggregationSpec, LogsAppearingProbe, LogsAppearingProbeBuilder,
    LogsAppearingSpec, MonitoringProbe, MonitoringProbeBuilder, MonitoringSpec, TimeFormat,
};
pub(crate) use oci::parse_challenge;

use std::sync::Arc;

use crate::probe::{BuildContext, Probe, ProbeError, ProbeSpec};

/// A spec of one of the HTTP kinds: its config name and the probe it builds. Every type that
/// implements it is a [`ProbeSpec`] through one blanket impl, so a kind is written once.
///
/// In Rust, [`build_probe`](HttpKind::build_probe) gives the concrete probe type:
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::probes::http::{HttpKind, HttpSpec};
///
/// let mut spec = HttpSpec::new("https://api.example.com/healthz");
/// spec.max_latency = Some(Duration::from_secs(1));
/// let probe = spec.build_probe()?; // an HttpProbe
/// assert_eq!(probe.url(), "https://api.example.com/healthz");
/// assert_eq!(<HttpSpec as HttpKind>::NAME, "http");
/// # Ok::<(), nexus_readiness::probe::ProbeError>(())
/// ```
pub trait HttpKind:
    serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + std::fmt::Debug + 'static
{
    /// The kind name used in config files (`"http-health"`): the [`ProbeSpec::KIND`] of the
    /// type (a name of its own, so that both traits in scope leave `KIND` unambiguous).
    const NAME: &'static str;
    /// The probe this spec builds.
    type Probe: Probe + 'static;

    /// Builds the probe (its HTTP client once).
    ///
    /// # Errors
    /// `NotConfigured` when the spec names no target, `Misconfigured` naming the bad field.
    fn build_probe(&self) -> Result<Self::Probe, ProbeError>;
}

impl<S: HttpKind> ProbeSpec for S {
    const KIND: &'static str = <S as HttpKind>::NAME;

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        Ok(Arc::new(self.build_probe()?))
    }
}
pub use oci::{OciImageProbe, OciImageProbeBuilder, OciImageSpec};
