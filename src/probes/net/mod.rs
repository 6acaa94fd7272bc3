//! Network probes: a TCP connect with its latency ([`TcpProbe`]) and a Redis check over RESP
//! on a plain socket ([`RedisProbe`]): `PING`, optional `AUTH`, and `INFO` settings.
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::net::RedisProbe;
//!
//! # async fn demo() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let probe = RedisProbe::new("127.0.0.1:6379").allow_noeviction(true);
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}", obs.summary);
//! # Ok(())
//! # }
//! ```

mod redis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::net::TcpStream;

pub(crate) use redis::read_replies;
pub use redis::{RedisProbe, RedisSpec};

use crate::model::{Threshold, Unit};
use crate::probe::{BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Connects to `address` within `timeout`, turning I/O errors into probe errors that name it.
pub(crate) async fn connect(address: &str, timeout: Duration, cx: &ProbeContext) -> Result<TcpStream, ProbeError> {
    let budget = cx.budget(timeout);
    match cx.run(tokio::time::timeout(budget, TcpStream::connect(address))).await? {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(io_error(address, &e)),
        Err(_) => Err(ProbeError::new(
            crate::probe::ProbeErrorKind::Timeout,
            format!("connecting to {address} timed out after {}", crate::model::duration::format(budget)),
        )),
    }
}

/// A probe error for an I/O error talking to `address`.
pub(crate) fn io_error(address: &str, e: &std::io::Error) -> ProbeError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => ProbeError::unreachable(format!("connection refused by {address}")),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ProbeError::unreachable(format!("connection to {address} closed by the peer"))
        }
        K::PermissionDenied => ProbeError::permission_denied(format!("connecting to {address} not permitted")),
        K::TimedOut => {
            ProbeError::new(crate::probe::ProbeErrorKind::Timeout, format!("connecting to {address} timed out"))
        }
        _ => ProbeError::unreachable(format!("cannot reach {address}")).with_source(e),
    }
}

/// A latency threshold (`warn_latency` / `max_latency`), when at least the maximum is set.
pub(crate) fn latency_threshold(
    name: &str,
    warn: Option<Duration>,
    max: Option<Duration>,
) -> Result<Option<Threshold>, ProbeError> {
    let Some(max) = max else {
        return match warn {
            Some(_) => Err(ProbeError::misconfigured(format!("{name}: warn_latency needs max_latency"))),
            None => Ok(None),
        };
    };
    let max_ms = max.as_secs_f64() * 1000.0;
    let warn_ms = warn.map_or(max_ms, |w| w.as_secs_f64() * 1000.0);
    Threshold::ceiling(format!("{name} latency"), Unit::Milliseconds, warn_ms, max_ms, "investigate the network path")
        .map(Some)
        .map_err(|e| ProbeError::misconfigured(format!("{name}: latency threshold")).with_source(&e))
}

/// Connects to a TCP address and measures the connect latency.
///
/// Pass when the connection opens (and its latency is within `max_latency`, when set);
/// refused, timed out and unresolvable addresses are errors naming the address.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    address: String,
    timeout: Duration,
    latency: Option<Threshold>,
}

impl TcpProbe {
    /// A probe connecting to `address` (`host:port`), with a 10 s timeout.
    pub fn new(address: impl Into<String>) -> Self {
        TcpProbe { address: address.into(), timeout: super::DEFAULT_TIMEOUT, latency: None }
    }

    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Evaluates the connect latency against a threshold in milliseconds.
    pub fn latency(mut self, threshold: Threshold) -> Self {
        self.latency = Some(threshold);
        self
    }
}

#[async_trait]
impl Probe for TcpProbe {
    fn target(&self) -> String {
        format!("tcp://{}", self.address)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let started = Instant::now();
        let stream = connect(&self.address, self.timeout, cx).await?;
        let elapsed = started.elapsed();
        drop(stream);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let mut m = Measurement::new("connect_latency", ms, Unit::Milliseconds).label("address", &self.address);
        if let Some(t) = &self.latency {
            m = m.evaluate(t);
        }
        let mut obs = Observation::pass(format!("{} accepts connections ({ms:.1}ms)", self.address));
        obs.push_measurement(m);
        if obs.verdict != crate::probe::Verdict::Pass {
            obs.summary = format!("{} accepts connections but took {ms:.1}ms", self.address);
        }
        Ok(obs.with_evidence("address", &self.address))
    }
}

/// Config-file spec of a [`TcpProbe`] (kind `tcp`).
///
/// ```toml
/// kind = "tcp"
/// address = "db.internal:5432"
/// max_latency = "50ms"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    /// The `host:port` to connect to.
    pub address: String,
    /// How long to wait for the connection (default 10s).
    #[serde(default = "super::default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Connect latency above which the item warns (needs `max_latency`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub warn_latency: Option<Duration>,
    /// Connect latency above which the item fails.
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub max_latency: Option<Duration>,
}

/// The misconfiguration error of a spec whose `address` is not `host:port`.
pub(crate) fn require_host_port(kind: &str, address: &str) -> Result<(), ProbeError> {
    let valid = address
        .trim()
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0));
    if !valid {
        return Err(ProbeError::misconfigured(format!("{kind}: address `{address}` is not host:port")));
    }
    Ok(())
}

impl ProbeSpec for TcpSpec {
    const KIND: &'static str = "tcp";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        require_host_port("tcp", &self.address)?;
        let mut p = TcpProbe::new(&self.address).timeout(self.timeout);
        if let Some(t) = latency_threshold("tcp connect", self.warn_latency, self.max_latency)? {
            p = p.latency(t);
        }
        Ok(Arc::new(p))
    }
}
