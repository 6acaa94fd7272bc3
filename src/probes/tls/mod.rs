//! TLS certificate probes: chain, expiry, hostname and protocol version of a TLS endpoint.
//!
//! [`TlsProbe`] connects to `host:port` (optionally to a fixed IP address, with a configurable
//! SNI name), completes one TLS handshake, and judges what the server presented:
//!
//! - **chain and name**: the chain must verify for the name against the system roots, or
//!   against the roots of a PEM file ([`TlsProbeBuilder::ca_file`]);
//! - **validity period**: a certificate of the chain that is expired or not yet valid fails;
//! - **days until expiry** of the earliest-expiring certificate, against a floor threshold
//!   (warn below 30 days, critical below 7 by default);
//! - **protocol version**: the negotiated version must be at least [`TlsVersion::Tls12`] by
//!   default.
//!
//! A failed check says *why*: `certificate for expired.test expired on 2026-01-01 (328 days
//! ago)`, `issued for other.test, www.other.test, not api.test`, `unknown issuer CN=... (self-signed)`,
//! `missing intermediate: leaf issued by CN=Intermediate, not sent by the server`.
//!
//! # Time and verification
//!
//! Every time-dependent decision uses the context clock ([`ProbeContext::now`]), so a
//! [`ManualClock`](crate::probe::ManualClock) moves all of them together. rustls verifies a
//! chain during the handshake with its own `UnixTime::now()`; to stay consistent, the probe
//! handshakes with a verifier that accepts any chain (it still checks the handshake signature,
//! so the server must own the key of the certificate it sent), and then verifies the chain
//! it received with rustls's `WebPkiServerVerifier` at the context's time. This needs one
//! handshake per check, not a second one to find out why the first failed: the chain is
//! always available. Expiry and not-yet-valid verdicts and the day counts come from the
//! certificates' validity fields (x509-parser); when a certificate of the chain is outside
//! its validity period, the chain and the name are still checked, at a moment inside every
//! presented certificate's validity, so the report lists all problems at once.
//!
//! The probe sends no application data: accepting an unverified server for the duration of
//! the handshake exposes nothing.
//!
//! # Several endpoints
//!
//! A [`TlsSpec`] lists `endpoints`; it builds one probe that checks all of them concurrently
//! ([`TlsEndpoints`]): the verdict is the worst, each problem is prefixed with its endpoint
//! and every measurement carries an `endpoint` label.
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::tls::{TlsProbe, TlsVersion};
//!
//! # async fn run() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let probe = TlsProbe::builder("api.example.com", 443).warn_days(30).critical_days(7).min_version(TlsVersion::Tls12).build()?;
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", obs.verdict, obs.summary);
//! # Ok(()) }
//! ```

mod cert;
mod verifier;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ProtocolVersion, RootCertStore};
use rustls_pki_types::pem::PemObject;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use self::cert::{CertInfo, date, datetime, days};
use self::verifier::AcceptAndRecord;
use crate::model::{Level, Threshold, Unit};
use crate::probe::{
    BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict,
};

/// Default connect + handshake timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema, Default)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    #[default]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        })
    }
}

/// Where the trusted roots come from.
#[derive(Clone)]
struct Roots {
    verifier: Arc<WebPkiServerVerifier>,
    /// Raw subjects of the roots, to tell "missing intermediate" from "unknown root".
    subjects: Arc<Vec<Vec<u8>>>,
    /// "system roots" or the CA file path, for reports.
    source: String,
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roots").field("source", &self.source).field("count", &self.subjects.len()).finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

impl Roots {
    fn from_certs(certs: Vec<CertificateDer<'static>>, source: String) -> Result<Self, ProbeError> {
        let mut store = RootCertStore::empty();
        let mut subjects = Vec::new();
        for c in certs {
            if let Some(s) = cert::subject_raw(&c) {
                subjects.push(s);
            }
            // Unparseable roots in the system store are skipped, as browsers do.
            let _ = store.add(c);
        }
        if store.is_empty() {
            return Err(ProbeError::missing_dependency(format!("no usable root certificate in {source}")));
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
            .build()
            .map_err(|e| ProbeError::misconfigured(format!("cannot build a verifier from {source}")).with_source(&e))?;
        Ok(Roots { verifier, subjects: Arc::new(subjects), source })
    }

    fn system() -> Result<Self, ProbeError> {
        static SYSTEM: OnceLock<Result<Roots, ProbeError>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let loaded = rustls_native_certs::load_native_certs();
                if loaded.certs.is_empty() {
                    let why = loaded.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
                    return Err(ProbeError::missing_dependency(format!(
                        "no system root certificates found{why} (install ca-certificates or set ca_file)"
                    )));
                }
                Roots::from_certs(loaded.certs, "system roots".into())
            })
            .clone()
    }

    fn file(path: &Path) -> Result<Self, ProbeError> {
        let shown = path.display();
        let iter = CertificateDer::pem_file_iter(path)
            .map_err(|e| ProbeError::misconfigured(format!("cannot read ca_file {shown}")).with_source(&e))?;
        let certs = iter
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProbeError::misconfigured(format!("ca_file {shown} is not valid PEM")).with_source(&e))?;
        if certs.is_empty() {
            return Err(ProbeError::misconfigured(format!("ca_file {shown} holds no certificate")));
        }
        Roots::from_certs(certs, format!("ca_file {shown}"))
    }
}

/// Checks the certificate chain, expiry, hostname and protocol version of one TLS endpoint.
///
/// Built with [`TlsProbe::builder`]. See the [module docs](self) for what it judges.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    host: String,
    port: u16,
    sni: String,
    ip: Option<IpAddr>,
    roots: Roots,
    threshold: Threshold,
    min_version: TlsVersion,
    timeout: Duration,
}

/// Builder for [`TlsProbe`]; the first error is returned by [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct TlsProbeBuilder {
    host: String,
    port: u16,
    sni: Option<String>,
    ip: Option<IpAddr>,
    ca_file: Option<PathBuf>,
    warn_days: u32,
    critical_days: u32,
    min_version: TlsVersion,
    timeout: Duration,
}

impl TlsProbeBuilder {
    /// The name sent as SNI and verified against the certificate (default: the host).
    pub fn sni(mut self, name: impl Into<String>) -> Self {
        self.sni = Some(name.into());
        self
    }

    /// Connects to this address instead of resolving the host (a load balancer behind DNS).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Trusts only the certificates of this PEM file instead of the system roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Warn when the earliest expiry in the chain is fewer than this many days away (default 30).
    pub fn warn_days(mut self, days: u32) -> Self {
        self.warn_days = days;
        self
    }

    /// Fail when the earliest expiry in the chain is fewer than this many days away (default 7).
    pub fn critical_days(mut self, days: u32) -> Self {
        self.critical_days = days;
        self
    }

    /// The lowest acceptable negotiated protocol version (default TLS 1.2).
    pub fn min_version(mut self, version: TlsVersion) -> Self {
        self.min_version = version;
        self
    }

    /// Time allowed for connecting and the handshake (default 10s; the context deadline can
    /// shorten it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the probe, loading the roots.
    ///
    /// # Errors
    /// Misconfigured: an empty host or SNI name, an SNI name that is not a DNS name or IP
    /// address, `critical_days` above `warn_days`, an unreadable or empty CA file. Missing
    /// dependency: no system roots when no CA file is set.
    pub fn build(self) -> Result<TlsProbe, ProbeError> {
        if self.host.trim().is_empty() {
            return Err(ProbeError::misconfigured("tls probe: host is empty"));
        }
        if self.timeout.is_zero() {
            return Err(ProbeError::misconfigured("tls probe: timeout must be above 0s"));
        }
        let sni = self.sni.unwrap_or_else(|| self.host.clone());
        ServerName::try_from(sni.clone()).map_err(|_| {
            ProbeError::misconfigured(format!("tls probe: sni {sni:?} is not a dns name or ip address"))
        })?;
        let threshold = Threshold::floor(
            "days until certificate expiry",
            Unit::Days,
            f64::from(self.warn_days),
            f64::from(self.critical_days),
            "renew the certificate",
        )
        .map_err(|_| {
            ProbeError::misconfigured(format!(
                "tls probe: critical_days {} is above warn_days {}",
                self.critical_days, self.warn_days
            ))
        })?;
        let roots = match &self.ca_file {
            Some(p) => Roots::file(p)?,
            None => Roots::system()?,
        };
        Ok(TlsProbe {
            host: self.host,
            port: self.port,
            sni,
            ip: self.ip,
            roots,
            threshold,
            min_version: self.min_version,
            timeout: self.timeout,
        })
    }
}

/// What one handshake produced.
struct Handshake {
    chain: Vec<CertificateDer<'static>>,
    version: Option<ProtocolVersion>,
    cipher: Option<String>,
    addr: SocketAddr,
    elapsed: Duration,
}

impl TlsProbe {
    /// A builder for a probe of `host:port`.
    pub fn builder(host: impl Into<String>, port: u16) -> TlsProbeBuilder {
        TlsProbeBuilder {
            host: host.into(),
            port,
            sni: None,
            ip: None,
            ca_file: None,
            warn_days: 30,
            critical_days: 7,
            min_version: TlsVersion::Tls12,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `host:port` as shown in messages.
    fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    async fn resolve(&self) -> Result<SocketAddr, ProbeError> {
        if let Some(ip) = self.ip {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| ProbeError::unreachable(format!("cannot resolve {}", self.endpoint())).with_source(&e))?;
        addrs.next().ok_or_else(|| ProbeError::unreachable(format!("{} resolves to no address", self.host)))
    }

    async fn handshake(&self, cx: &ProbeContext) -> Result<Handshake, ProbeError> {
        let endpoint = self.endpoint();
        let addr = self.resolve().await?;
        let at = if self.ip.is_some() || addr.ip().to_string() != self.host {
            format!(" ({})", addr.ip())
        } else {
            String::new()
        };
        let config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ProbeError::other("tls client configuration").with_source(&e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAndRecord::new(provider())))
            .with_no_client_auth();
        let name = ServerName::try_from(self.sni.clone())
            .map_err(|_| ProbeError::misconfigured(format!("sni {:?} is not a dns name or ip address", self.sni)))?;
        let budget = cx.budget(self.timeout);
        let started = Instant::now();
        let connected = std::sync::atomic::AtomicBool::new(false);
        let work = async {
            let tcp = TcpStream::connect(addr).await.map_err(|e| connect_error(&e, &endpoint, &at))?;
            connected.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = tcp.set_nodelay(true);
            let tls = TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| handshake_error(&e, &endpoint, &at))?;
            let elapsed = started.elapsed();
            let (_, conn) = tls.get_ref();
            Ok::<_, ProbeError>(Handshake {
                chain: conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default(),
                version: conn.protocol_version(),
                cipher: conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
                addr,
                elapsed,
            })
        };
        match cx.run(tokio::time::timeout(budget, work)).await? {
            Ok(r) => r,
            Err(_) => {
                let after = crate::model::duration::format(budget);
                let msg = if connected.load(std::sync::atomic::Ordering::Relaxed) {
                    format!("no tls handshake answer from {endpoint}{at} within {after} (connected, server silent)")
                } else {
                    format!("connecting to {endpoint}{at} timed out after {after}")
                };
                Err(ProbeError::new(ProbeErrorKind::Timeout, msg))
            }
        }
    }

    /// Judges a completed handshake.
    fn judge(&self, hs: &Handshake, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let endpoint = self.endpoint();
        if hs.chain.is_empty() {
            return Err(ProbeError::protocol(format!("{endpoint} sent no certificate")));
        }
        let infos = hs
            .chain
            .iter()
            .enumerate()
            .map(|(i, der)| CertInfo::parse(der, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProbeError::protocol(format!("{endpoint}: {e}")))?;
        let leaf = &infos[0];
        let now = cx.now().timestamp();
        let mut problems = Vec::new();

        // Validity periods, on the context clock.
        for c in &infos {
            let what = if c.position == "leaf" {
                format!("certificate for {}", self.sni)
            } else {
                format!("{} certificate {}", c.position, c.subject)
            };
            if now > c.not_after {
                problems.push(format!("{what} expired on {} ({} ago)", date(c.not_after), days(now - c.not_after)));
            } else if now < c.not_before {
                problems.push(format!(
                    "{what} is not valid until {} (in {})",
                    date(c.not_before),
                    days(c.not_before - now)
                ));
            }
        }

        // Chain and name, with rustls, at the context's time, or inside every validity period
        // when the time is already reported above.
        let timely = problems.is_empty();
        let latest_start = infos.iter().map(|c| c.not_before).max().unwrap_or(now);
        let earliest_end = infos.iter().map(|c| c.not_after).min().unwrap_or(now);
        let verify_at = if timely { Some(now) } else { (latest_start <= earliest_end).then_some(latest_start) };
        let mut chain_ok = false;
        match verify_at {
            Some(t) => match self.verify_chain(&hs.chain, t) {
                Ok(()) => chain_ok = true,
                Err(e) => problems.push(self.explain(&e, &infos)),
            },
            None => problems.push("chain not verified: the certificates' validity periods do not overlap".into()),
        }

        // Protocol version.
        let version = hs.version.and_then(|v| match v {
            ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        });
        let version_text = version.map_or_else(|| format!("{:?}", hs.version), |v| v.to_string());
        if version.is_none_or(|v| v < self.min_version) {
            problems.push(format!("negotiated {version_text}, below the minimum {}", self.min_version));
        }

        // Earliest expiry.
        let earliest = infos.iter().min_by_key(|c| c.not_after).unwrap_or(leaf);
        let left = earliest.not_after - now;
        let days_left = (left as f64 / 86_400.0 * 100.0).round() / 100.0;
        let days_m = Measurement::new("days_until_expiry", days_left, Unit::Days)
            .label("subject", earliest.subject.clone())
            .evaluate(&self.threshold);
        let level = days_m.evaluation.as_ref().map_or(Level::Breach, |e| e.level);

        let whose = if earliest.position == "leaf" {
            format!("certificate for {}", self.sni)
        } else {
            format!("{} certificate {}", earliest.position, earliest.subject)
        };
        let summary = if !problems.is_empty() {
            problems.join("; ")
        } else {
            match level {
                Level::Breach => format!(
                    "{whose} expires in {} (on {}), under the critical {} days",
                    days(left),
                    date(earliest.not_after),
                    self.threshold.breach
                ),
                Level::Warn => format!(
                    "{whose} expires in {} (on {}), under the warning {} days",
                    days(left),
                    date(earliest.not_after),
                    self.threshold.healthy
                ),
                Level::Ok => format!(
                    "certificate for {} valid for {} (until {}), chain of {} verified against {}, {version_text}",
                    self.sni,
                    days(left),
                    date(earliest.not_after),
                    infos.len(),
                    self.roots.source
                ),
            }
        };
        let base = if problems.is_empty() { Verdict::Pass } else { Verdict::Fail };
        let mut obs = Observation::new(base, summary);
        for c in &infos {
            obs.push_measurement(
                Measurement::new("certificate_expiry", c.not_after as f64, Unit::Seconds)
                    .label("position", c.position.clone())
                    .label("subject", c.subject.clone()),
            );
        }
        obs.push_measurement(days_m);
        obs.push_measurement(Measurement::new("handshake_ms", hs.elapsed.as_secs_f64() * 1000.0, Unit::Milliseconds));
        let mut obs = obs
            .with_evidence("address", hs.addr.to_string())
            .with_evidence("sni", self.sni.clone())
            .with_evidence("subject", leaf.subject.clone())
            .with_evidence("issuer", leaf.issuer.clone())
            .with_evidence("san", leaf.sans.join(", "))
            .with_evidence("serial", leaf.serial.clone())
            .with_evidence("not_before", datetime(leaf.not_before))
            .with_evidence("not_after", datetime(leaf.not_after))
            .with_evidence("certificate_version", format!("v{}", leaf.version))
            .with_evidence("version", version_text)
            .with_evidence("cipher", hs.cipher.clone().unwrap_or_else(|| "unknown".into()))
            .with_evidence("chain", infos.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>().join(" <- "))
            .with_evidence("roots", self.roots.source.clone());
        obs.evidence.insert("chain_verified", if chain_ok { "yes" } else { "no" });
        Ok(obs)
    }

    fn verify_chain(&self, chain: &[CertificateDer<'static>], at: i64) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(self.sni.as_str()).map_err(|_| rustls::Error::General("bad sni".into()))?;
        let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).unwrap_or(0)));
        self.roots.verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], at).map(|_| ())
    }

    /// Turns a rustls verification error into the reason people need.
    fn explain(&self, e: &rustls::Error, infos: &[CertInfo]) -> String {
        let leaf = &infos[0];
        let cert_err = match e {
            rustls::Error::InvalidCertificate(c) => c,
            other => return format!("certificate verification failed: {other}"),
        };
        match cert_err {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                crate::probes::tls_explain::issued_for(leaf.names(), &self.sni)
            }
            CertificateError::UnknownIssuer => {
                let top = infos.last().unwrap_or(leaf);
                if top.self_issued() {
                    if infos.len() == 1 {
                        format!("unknown issuer {} (self-signed)", top.subject)
                    } else {
                        format!(
                            "unknown issuer: chain ends at {}, which is not among the {}",
                            top.subject, self.roots.source
                        )
                    }
                } else if self.roots.subjects.contains(&top.issuer_raw) {
                    format!("chain from {} to the trusted root {} does not verify", top.position, top.issuer)
                } else {
                    format!("missing intermediate: {} issued by {}, not sent by the server", top.position, top.issuer)
                }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the root certificate above {} is expired", infos.last().unwrap_or(leaf).issuer)
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the root certificate above {} is not valid yet", infos.last().unwrap_or(leaf).issuer)
            }
            CertificateError::BadSignature => {
                let top = infos.last().unwrap_or(leaf);
                if self.roots.subjects.contains(&top.issuer_raw) {
                    format!(
                        "{} names the trusted root {} as issuer, but that root's key did not sign it (an impostor root of the same name?)",
                        top.position, top.issuer
                    )
                } else {
                    "a certificate signature in the chain does not verify".into()
                }
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "the certificate is not valid for tls server authentication (extended key usage)".into()
            }
            other => crate::probes::tls_explain::certificate_error(other, &self.sni),
        }
    }
}

fn connect_error(e: &std::io::Error, endpoint: &str, at: &str) -> ProbeError {
    let msg = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused by {endpoint}{at}"),
        _ => format!("cannot connect to {endpoint}{at}"),
    };
    ProbeError::unreachable(msg).with_source(e)
}

fn handshake_error(e: &std::io::Error, endpoint: &str, at: &str) -> ProbeError {
    if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        let msg = match r {
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(_) => {
                format!(
                    "tls handshake with {endpoint}{at} failed: no common protocol version or cipher (this probe speaks TLS 1.2 and 1.3)"
                )
            }
            _ => format!("tls handshake with {endpoint}{at} failed"),
        };
        return ProbeError::protocol(msg).with_source(r);
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
            ProbeError::protocol(format!("{endpoint}{at} closed the connection during the tls handshake"))
                .with_source(e)
        }
        _ => ProbeError::protocol(format!("tls handshake with {endpoint}{at} failed")).with_source(e),
    }
}

#[async_trait]
impl Probe for TlsProbe {
    fn target(&self) -> String {
        format!("tls://{}", self.endpoint())
    }

    /// With a pinned `ip` the handshake resolves no name: a failed DNS dependency does not
    /// make its result meaningless.
    fn independent(&self) -> bool {
        self.ip.is_some()
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let hs = self.handshake(cx).await?;
        self.judge(&hs, cx)
    }
}

/// Several [`TlsProbe`]s checked concurrently as one probe (what a [`TlsSpec`] with more than
/// one endpoint builds): the crate's labelled fan-out ([`All`](crate::probe::All)), with its
/// precedence **Fail > Error > Warn > Pass**. Each endpoint's result is kept, labelled with
/// the endpoint (`api.test:443: ...`); evidence keys read `<endpoint>.<key>`; measurements
/// carry an `endpoint` label.
#[derive(Debug, Clone)]
pub struct TlsEndpoints {
    probes: Vec<TlsProbe>,
}

impl TlsEndpoints {
    /// Checks all of `probes`.
    pub fn new(probes: Vec<TlsProbe>) -> Self {
        TlsEndpoints { probes }
    }
}

#[async_trait]
impl Probe for TlsEndpoints {
    fn target(&self) -> String {
        let eps: Vec<String> = self.probes.iter().map(TlsProbe::endpoint).collect();
        format!("tls://{}", eps.join(","))
    }

    fn independent(&self) -> bool {
        !self.probes.is_empty() && self.probes.iter().all(Probe::independent)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.probes.is_empty() {
            return Err(ProbeError::not_configured("endpoints"));
        }
        let results = futures_util::future::join_all(self.probes.iter().map(|p| p.check(cx))).await;
        crate::probe::compose::combine(self.probes.iter().map(TlsProbe::endpoint).zip(results), "endpoint")
    }
}

/// Config-file spec of a TLS probe (`kind = "tls"`).
///
/// ```toml
/// kind = "tls"
/// endpoints = ["api.nexus.example.com:443", "www.nexus.example.com"]
/// ca_file = "/etc/nexus/ca.pem"   # default: the system roots
/// warn_days = 30
/// critical_days = 7
/// min_version = "1.2"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// Endpoints to check, `host:port` or `host` (port 443). Several endpoints make one probe
    /// that checks them all concurrently; the worst verdict wins.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// SNI name to send and verify instead of each endpoint's host.
    #[serde(default)]
    pub sni: Option<String>,
    /// IP address to connect to instead of resolving the hosts (for example the load balancer).
    #[serde(default)]
    pub ip: Option<IpAddr>,
    /// PEM file of trusted roots; the system roots when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Warn when a certificate of the chain expires in fewer days than this.
    #[serde(default = "default_warn_days")]
    pub warn_days: u32,
    /// Fail when a certificate of the chain expires in fewer days than this.
    #[serde(default = "default_critical_days")]
    pub critical_days: u32,
    /// Lowest acceptable negotiated version, `"1.2"` or `"1.3"`.
    #[serde(default)]
    pub min_version: TlsVersion,
    /// Connect and handshake timeout (`"10s"`).
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

fn default_warn_days() -> u32 {
    30
}

fn default_critical_days() -> u32 {
    7
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

impl Default for TlsSpec {
    fn default() -> Self {
        TlsSpec {
            endpoints: Vec::new(),
            sni: None,
            ip: None,
            ca_file: None,
            warn_days: default_warn_days(),
            critical_days: default_critical_days(),
            min_version: TlsVersion::Tls12,
            timeout: default_timeout(),
        }
    }
}

/// Splits `host:port`, `[v6]:port`, `host` (port 443).
fn parse_endpoint(s: &str) -> Result<(String, u16), ProbeError> {
    let bad = |why: &str| ProbeError::misconfigured(format!("tls endpoint {s:?}: {why}"));
    let s = s.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad("port is not a number 1-65535"))?,
            None if after.is_empty() => 443,
            None => return Err(bad("expected ':port' after ']'")),
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => Ok((s.to_string(), 443)),
        Some((h, p)) => Ok((h.to_string(), p.parse().map_err(|_| bad("port is not a number 1-65535"))?)),
        None => Ok((s.to_string(), 443)),
    }
}

impl TlsSpec {
    fn probe(&self, endpoint: &str) -> Result<TlsProbe, ProbeError> {
        let (host, port) = parse_endpoint(endpoint)?;
        let mut b = TlsProbe::builder(host, port)
            .warn_days(self.warn_days)
            .critical_days(self.critical_days)
            .min_version(self.min_version)
            .timeout(self.timeout);
        if let Some(s) = &self.sni {
            b = b.sni(s.clone());
        }
        if let Some(ip) = self.ip {
            b = b.ip(ip);
        }
        if let Some(f) = &self.ca_file {
            b = b.ca_file(f.clone());
        }
        b.build()
    }
}

impl ProbeSpec for TlsSpec {
    const KIND: &'static str = "tls";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        match self.endpoints.as_slice() {
            [] => Err(ProbeError::not_configured("endpoints")),
            [one] => Ok(Arc::new(self.probe(one)?)),
            many => Ok(Arc::new(TlsEndpoints::new(many.iter().map(|e| self.probe(e)).collect::<Result<_, _>>()?))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(parse_endpoint("api.test:8443").unwrap(), ("api.test".into(), 8443));
        assert_eq!(parse_endpoint("api.test").unwrap(), ("api.test".into(), 443));
        assert_eq!(parse_endpoint("[::1]:8443").unwrap(), ("::1".into(), 8443));
        assert_eq!(parse_endpoint("::1").unwrap(), ("::1".into(), 443));
        let e = parse_endpoint("api.test:http").unwrap_err();
        assert_eq!(e.message, "tls endpoint \"api.test:http\": port is not a number 1-65535");
    }

    #[test]
    fn spec_defaults_and_errors() {
        let spec: TlsSpec = toml::from_str("endpoints = [\"a.test\"]\nmin_version = \"1.3\"").unwrap();
        assert_eq!((spec.warn_days, spec.critical_days, spec.min_version), (30, 7, TlsVersion::Tls13));
        assert_eq!(spec.timeout, Duration::from_secs(10));
        assert!(toml::from_str::<TlsSpec>("endpoint = \"a.test\"").is_err());
        // One duration type: "2s" in TOML; the old `timeout_secs` is refused by name.
        let spec: TlsSpec = toml::from_str("endpoints = [\"a.test\"]\ntimeout = \"2500ms\"").unwrap();
        assert_eq!(spec.timeout, Duration::from_millis(2500));
        let e = toml::from_str::<TlsSpec>("endpoints = [\"a.test\"]\ntimeout_secs = 5").unwrap_err();
        assert!(e.to_string().contains("timeout_secs"), "{e}");
        assert!(toml::from_str::<TlsSpec>("endpoints = [\"a.test\"]\ntimeout = 5").is_err());
        let zero: TlsSpec = toml::from_str("endpoints = [\"a.test\"]\ntimeout = \"0s\"").unwrap();
        let e = zero.build(&BuildContext::detached()).unwrap_err();
        assert_eq!(e.message, "tls probe: timeout must be above 0s");
        let none = TlsSpec::default().build(&BuildContext::detached()).unwrap_err();
        assert_eq!(none.kind, ProbeErrorKind::NotConfigured);
        let spec = TlsSpec {
            endpoints: vec!["a.test".into()],
            warn_days: 5,
            critical_days: 10,
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsSpec::default()
        };
        assert_eq!(
            spec.build(&BuildContext::detached()).unwrap_err().message,
            "tls probe: critical_days 10 is above warn_days 5"
        );
        let spec = TlsSpec { warn_days: 30, ..spec };
        let e = spec.build(&BuildContext::detached()).unwrap_err();
        assert!(e.message.starts_with("cannot read ca_file /nonexistent/ca.pem"), "{}", e.message);
    }
}
