//! DNS probes: a name resolves, to the expected records, with a sane TTL.
//!
//! [`DnsProbe`] queries one name for one record type (A, AAAA, CNAME, TXT, MX or CAA) through
//! the system resolver (`/etc/resolv.conf`) or through given nameservers (`ip:port`, over UDP,
//! TCP or both) and judges the answer:
//!
//! - **resolves**: at least one record of the type (no expectation set);
//! - **expected values**: the answer equals the expected set exactly ([`MatchMode::Exact`]) or
//!   contains at least one of them ([`MatchMode::AnyOf`]);
//! - **CNAME target**: the answer's CNAME chain contains the expected target;
//! - **TTL floor**: no record of the type has a TTL below the floor.
//!
//! NXDOMAIN is a Fail (`no such domain: api.test (NXDOMAIN)`), and so is a name without records
//! of the type; SERVFAIL, REFUSED and a nameserver that does not answer are errors: the probe
//! could not decide. The lookup time is measured.
//!
//! Each check builds a fresh resolver without cache and without the hosts file, so a check
//! always asks the nameserver, and TTLs are the nameserver's.
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::dns::{DnsProbe, RecordKind};
//!
//! # async fn run() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let probe = DnsProbe::builder("api.example.com", RecordKind::A).expect(["203.0.113.10"]).min_ttl(60).build()?;
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", obs.verdict, obs.summary);
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::Unit;
use crate::probe::{
    BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec,
};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The record type to query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum RecordKind {
    /// IPv4 addresses.
    #[default]
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Canonical name (the target, as `lb.example.com`).
    Cname,
    /// Text records (the strings of one record concatenated).
    Txt,
    /// Mail exchangers, as `10 mail.example.com`.
    Mx,
    /// Certification authority authorization, as `0 issue "letsencrypt.org"`.
    Caa,
}

impl RecordKind {
    fn record_type(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Cname => RecordType::CNAME,
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Caa => RecordType::CAA,
        }
    }

    /// The record's value as compared with expectations, when it is of this kind.
    fn value(self, data: &RData) -> Option<String> {
        match (self, data) {
            (RecordKind::A, RData::A(a)) => Some(a.0.to_string()),
            (RecordKind::Aaaa, RData::AAAA(a)) => Some(a.0.to_string()),
            (RecordKind::Cname, RData::CNAME(c)) => Some(name_text(&c.0)),
            (RecordKind::Txt, RData::TXT(t)) => {
                Some(t.txt_data.iter().map(|s| String::from_utf8_lossy(s)).collect::<Vec<_>>().concat())
            }
            (RecordKind::Mx, RData::MX(m)) => Some(format!("{} {}", m.preference, name_text(&m.exchange))),
            (RecordKind::Caa, RData::CAA(c)) => Some(c.to_string()),
            _ => None,
        }
    }

    /// An expected value in the form [`value`](Self::value) produces.
    fn normalize(self, expected: &str) -> Result<String, String> {
        let e = expected.trim();
        match self {
            RecordKind::A => e
                .parse::<std::net::Ipv4Addr>()
                .map(|a| a.to_string())
                .map_err(|_| format!("{e:?} is not an IPv4 address")),
            RecordKind::Aaaa => e
                .parse::<std::net::Ipv6Addr>()
                .map(|a| a.to_string())
                .map_err(|_| format!("{e:?} is not an IPv6 address")),
            RecordKind::Cname => Ok(host_text(e)),
            RecordKind::Mx => match e.split_once(char::is_whitespace) {
                Some((pref, host)) if pref.parse::<u16>().is_ok() => Ok(format!("{pref} {}", host_text(host.trim()))),
                _ => Err(format!("{e:?} is not `preference host`, e.g. `10 mail.example.com`")),
            },
            RecordKind::Txt | RecordKind::Caa => Ok(expected.to_string()),
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.record_type(), f)
    }
}

/// `lb.example.com` for a name, without the root dot, lowercase.
fn name_text(n: &Name) -> String {
    host_text(&n.to_ascii())
}

fn host_text(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// How expected values are compared with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MatchMode {
    /// The answer holds exactly the expected values, no more, no fewer.
    #[default]
    Exact,
    /// The answer holds at least one of the expected values.
    AnyOf,
}

/// Which transport queries the nameservers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Transport {
    /// UDP, falling back to TCP for truncated answers.
    #[default]
    UdpAndTcp,
    /// UDP only.
    Udp,
    /// TCP only.
    Tcp,
}

/// Queries one name for one record type and judges the answer.
///
/// Built with [`DnsProbe::builder`]; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct DnsProbe {
    name: String,
    kind: RecordKind,
    nameservers: Vec<SocketAddr>,
    transport: Transport,
    expect: Vec<String>,
    match_mode: MatchMode,
    cname: Option<String>,
    min_ttl: Option<u32>,
    timeout: Duration,
}

/// Builder for [`DnsProbe`].
#[derive(Debug, Clone)]
pub struct DnsProbeBuilder {
    probe: DnsProbe,
}

impl DnsProbeBuilder {
    /// Asks this nameserver (`ip:port`) instead of the system resolver; may be repeated.
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        self.probe.nameservers.push(addr);
        self
    }

    /// The transport to the nameservers (default UDP with TCP fallback).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.probe.transport = transport;
        self
    }

    /// The expected values (addresses for A/AAAA, names for CNAME, `10 host` for MX, the text
    /// for TXT, `0 issue "ca"` for CAA).
    pub fn expect<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.probe.expect = values.into_iter().map(Into::into).collect();
        self
    }

    /// How the expected values are compared (default exact).
    pub fn match_mode(mut self, mode: MatchMode) -> Self {
        self.probe.match_mode = mode;
        self
    }

    /// The name must be a CNAME (directly or along the chain) of this target.
    pub fn cname(mut self, target: impl Into<String>) -> Self {
        self.probe.cname = Some(target.into());
        self
    }

    /// Records must have a TTL of at least this many seconds.
    pub fn min_ttl(mut self, seconds: u32) -> Self {
        self.probe.min_ttl = Some(seconds);
        self
    }

    /// Time allowed for the lookup (default 5s; the context deadline can shorten it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.probe.timeout = timeout;
        self
    }

    /// Checks the settings and builds the probe.
    ///
    /// # Errors
    /// Misconfigured: a name that is not a domain name, an expected value that does not fit the
    /// record type, a zero timeout.
    pub fn build(mut self) -> Result<DnsProbe, ProbeError> {
        let p = &mut self.probe;
        let name = p.name.trim().trim_end_matches('.').to_string();
        if name.is_empty() {
            return Err(ProbeError::misconfigured("dns probe: name is empty"));
        }
        Name::from_utf8(&name).map_err(|e| {
            ProbeError::misconfigured(format!("dns probe: {name:?} is not a domain name")).with_source(&e)
        })?;
        p.name = name;
        p.expect =
            p.expect.iter().map(|e| p.kind.normalize(e)).collect::<Result<_, _>>().map_err(|e| {
                ProbeError::misconfigured(format!("dns probe {} {}: expected value {e}", p.name, p.kind))
            })?;
        p.cname = p.cname.as_deref().map(host_text);
        if p.timeout.is_zero() {
            return Err(ProbeError::misconfigured("dns probe: timeout is zero"));
        }
        Ok(self.probe)
    }
}

impl DnsProbe {
    /// A builder for a probe of `name`'s `kind` records.
    pub fn builder(name: impl Into<String>, kind: RecordKind) -> DnsProbeBuilder {
        DnsProbeBuilder {
            probe: DnsProbe {
                name: name.into(),
                kind,
                nameservers: Vec::new(),
                transport: Transport::UdpAndTcp,
                expect: Vec::new(),
                match_mode: MatchMode::Exact,
                cname: None,
                min_ttl: None,
                timeout: DEFAULT_TIMEOUT,
            },
        }
    }

    fn servers_text(&self) -> String {
        if self.nameservers.is_empty() {
            "the system resolver".into()
        } else {
            self.nameservers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        }
    }

    fn resolver(&self, timeout: Duration) -> Result<TokioResolver, ProbeError> {
        let mut builder = if self.nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| {
                ProbeError::misconfigured("cannot read the system resolver configuration (/etc/resolv.conf)")
                    .with_source(&e)
            })?
        } else {
            let servers = self
                .nameservers
                .iter()
                .map(|addr| {
                    let conns = match self.transport {
                        Transport::Udp => vec![ConnectionConfig::udp()],
                        Transport::Tcp => vec![ConnectionConfig::tcp()],
                        Transport::UdpAndTcp => vec![ConnectionConfig::udp(), ConnectionConfig::tcp()],
                    };
                    let conns = conns
                        .into_iter()
                        .map(|mut c| {
                            c.port = addr.port();
                            c
                        })
                        .collect();
                    NameServerConfig::new(addr.ip(), true, conns)
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), TokioRuntimeProvider::default())
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.preserve_intermediates = true;
        builder.build().map_err(|e| ProbeError::misconfigured("cannot build the dns resolver").with_source(&e))
    }

    fn lookup_error(&self, e: &NetError, after: Duration) -> Result<Observation, ProbeError> {
        let what = format!("{} {}", self.name, self.kind);
        let from = self.servers_text();
        let err = match e {
            NetError::Dns(DnsError::NoRecordsFound(nr)) if nr.response_code == ResponseCode::NXDomain => {
                return Ok(Observation::fail(format!("no such domain: {} (NXDOMAIN from {from})", self.name))
                    .with_measurement(lookup_ms(after))
                    .with_evidence("nameservers", from));
            }
            NetError::Dns(DnsError::NoRecordsFound(_)) => {
                return Ok(Observation::fail(format!("{} has no {} record (the name exists)", self.name, self.kind))
                    .with_measurement(lookup_ms(after))
                    .with_evidence("nameservers", from));
            }
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
                ProbeError::unreachable(format!("{from} answered SERVFAIL for {what}"))
            }
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
                ProbeError::permission_denied(format!("{from} refused the query for {what} (REFUSED)"))
            }
            NetError::Dns(DnsError::ResponseCode(code)) => {
                ProbeError::protocol(format!("{from} answered {} for {what}", code.to_str().to_uppercase()))
            }
            NetError::Timeout => ProbeError::new(
                ProbeErrorKind::Timeout,
                format!("no answer from {from} for {what} within {}", crate::model::duration::format(after)),
            ),
            NetError::Io(io) => {
                return Err(ProbeError::unreachable(format!("cannot query {from} for {what}")).with_source(&**io));
            }
            NetError::NoConnections => ProbeError::unreachable(format!("no connection to {from} for {what}")),
            other => {
                return Err(ProbeError::protocol(format!("lookup of {what} from {from} failed")).with_source(other));
            }
        };
        Err(err)
    }
}

fn lookup_ms(d: Duration) -> Measurement {
    Measurement::new("lookup_ms", d.as_secs_f64() * 1000.0, Unit::Milliseconds)
}

fn list(values: &BTreeSet<String>) -> String {
    if values.is_empty() { "nothing".into() } else { values.iter().cloned().collect::<Vec<_>>().join(", ") }
}

#[async_trait]
impl Probe for DnsProbe {
    fn target(&self) -> String {
        format!("dns://{}/{}", self.name, self.kind)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let budget = cx.budget(self.timeout);
        let resolver = self.resolver(budget)?;
        let fqdn = format!("{}.", self.name);
        let started = Instant::now();
        // The resolver's own timeout answers first; the outer one is a backstop.
        let outer = budget + Duration::from_millis(250);
        let result =
            cx.run(tokio::time::timeout(outer, resolver.lookup(fqdn.as_str(), self.kind.record_type()))).await?;
        let elapsed = started.elapsed();
        let lookup = match result {
            Err(_) => return self.lookup_error(&NetError::Timeout, budget),
            Ok(Err(e)) => {
                let after = if matches!(e, NetError::Timeout) { budget } else { elapsed };
                return self.lookup_error(&e, after);
            }
            Ok(Ok(l)) => l,
        };

        let what = format!("{} {}", self.name, self.kind);
        let records: Vec<_> =
            lookup.answers().iter().filter_map(|r| self.kind.value(&r.data).map(|v| (v, r.ttl))).collect();
        let chain: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::CNAME(c) => Some(format!("{} -> {}", name_text(&r.name), name_text(&c.0))),
                _ => None,
            })
            .collect();
        let values: BTreeSet<String> = records.iter().map(|(v, _)| v.clone()).collect();
        let min_ttl = records.iter().map(|(_, t)| *t).min();

        let mut problems = Vec::new();
        if values.is_empty() {
            let via = if chain.is_empty() { String::new() } else { format!(" (CNAME chain {})", chain.join(", ")) };
            problems.push(format!("{} has no {} record{via}", self.name, self.kind));
        } else if !self.expect.is_empty() {
            let expected: BTreeSet<String> = self.expect.iter().cloned().collect();
            match self.match_mode {
                MatchMode::Exact if values != expected => {
                    let missing: BTreeSet<_> = expected.difference(&values).cloned().collect();
                    let extra: BTreeSet<_> = values.difference(&expected).cloned().collect();
                    let mut detail = Vec::new();
                    if !missing.is_empty() {
                        detail.push(format!("missing {}", list(&missing)));
                    }
                    if !extra.is_empty() {
                        detail.push(format!("unexpected {}", list(&extra)));
                    }
                    problems.push(format!(
                        "{what} is {}, expected exactly {} ({})",
                        list(&values),
                        list(&expected),
                        detail.join(", ")
                    ));
                }
                MatchMode::AnyOf if values.is_disjoint(&expected) => {
                    problems.push(format!("{what} is {}, expected one of {}", list(&values), list(&expected)));
                }
                _ => {}
            }
        }
        if let Some(target) = &self.cname {
            let targets: Vec<String> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::CNAME(c) => Some(name_text(&c.0)),
                    _ => None,
                })
                .collect();
            if !targets.contains(target) {
                if chain.is_empty() {
                    problems.push(format!("{} is not a CNAME of {target} (no CNAME)", self.name));
                } else {
                    problems.push(format!("{} is not a CNAME of {target} (chain {})", self.name, chain.join(", ")));
                }
            }
        }
        if let (Some(floor), Some(ttl)) = (self.min_ttl, min_ttl)
            && ttl < floor
        {
            problems.push(format!("{what} ttl {ttl}s is below the floor {floor}s"));
        }

        let took = crate::model::duration::format(elapsed);
        let mut obs = if problems.is_empty() {
            let ttl = min_ttl.map(|t| format!(", ttl {t}s")).unwrap_or_default();
            let via = if chain.is_empty() { String::new() } else { format!(" via {}", chain.join(", ")) };
            Observation::pass(format!("{what} resolves to {}{via}{ttl} in {took}", list(&values)))
        } else {
            Observation::fail(problems.join("; "))
        };
        obs.push_measurement(lookup_ms(elapsed));
        obs.push_measurement(Measurement::new("records", values.len() as f64, Unit::Count));
        if let Some(t) = min_ttl {
            obs.push_measurement(Measurement::new("ttl", f64::from(t), Unit::Seconds));
        }
        let mut obs = obs.with_evidence("answers", list(&values)).with_evidence("nameservers", self.servers_text());
        if !chain.is_empty() {
            obs.evidence.insert("cname_chain", chain.join(", "));
        }
        Ok(obs)
    }
}

/// Config-file spec of a DNS probe (`kind = "dns"`).
///
/// ```toml
/// kind = "dns"
/// name = "api.nexus.example.com"
/// record = "A"                         # A, AAAA, CNAME, TXT, MX, CAA
/// expect = ["203.0.113.10", "203.0.113.11"]
/// match = "exact"                      # or "any-of"
/// nameservers = ["10.0.0.53:53"]       # default: the system resolver
/// transport = "udp-and-tcp"            # or "udp", "tcp"
/// min_ttl = 60
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// The name to query.
    #[serde(default)]
    pub name: String,
    /// The record type.
    #[serde(default)]
    pub record: RecordKind,
    /// Nameservers as `ip:port` (port 53 when left out); the system resolver when empty.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Transport to the nameservers.
    #[serde(default)]
    pub transport: Transport,
    /// Expected values; without them the name only has to resolve.
    #[serde(default)]
    pub expect: Vec<String>,
    /// How `expect` is compared with the answer.
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
    /// The name must be a CNAME of this target.
    #[serde(default)]
    pub cname: Option<String>,
    /// Minimum TTL in seconds for the records.
    #[serde(default)]
    pub min_ttl: Option<u32>,
    /// Lookup timeout (`"5s"`).
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

impl Default for DnsSpec {
    fn default() -> Self {
        DnsSpec {
            name: String::new(),
            record: RecordKind::A,
            nameservers: Vec::new(),
            transport: Transport::UdpAndTcp,
            expect: Vec::new(),
            match_mode: MatchMode::Exact,
            cname: None,
            min_ttl: None,
            timeout: default_timeout(),
        }
    }
}

fn parse_nameserver(s: &str) -> Result<SocketAddr, ProbeError> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| ProbeError::misconfigured(format!("dns nameserver {s:?} is not `ip`, `ip:port` or `[ipv6]:port`")))
}

impl ProbeSpec for DnsSpec {
    const KIND: &'static str = "dns";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if self.name.trim().is_empty() {
            return Err(ProbeError::not_configured("name"));
        }
        if self.timeout.is_zero() {
            return Err(ProbeError::misconfigured("dns: timeout must be above 0s"));
        }
        let mut b = DnsProbe::builder(self.name.clone(), self.record)
            .transport(self.transport)
            .expect(self.expect.iter().cloned())
            .match_mode(self.match_mode)
            .timeout(self.timeout);
        for ns in &self.nameservers {
            b = b.nameserver(parse_nameserver(ns)?);
        }
        if let Some(c) = &self.cname {
            b = b.cname(c.clone());
        }
        if let Some(t) = self.min_ttl {
            b = b.min_ttl(t);
        }
        Ok(Arc::new(b.build()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_validates() {
        let spec: DnsSpec = toml::from_str(
            "name = \"api.test\"\nrecord = \"AAAA\"\nexpect = [\"::1\"]\nmatch = \"any-of\"\nnameservers = [\"127.0.0.1\", \"[::1]:5353\"]",
        )
        .unwrap();
        assert_eq!((spec.record, spec.match_mode), (RecordKind::Aaaa, MatchMode::AnyOf));
        assert_eq!(spec.build(&BuildContext::detached()).unwrap().target(), "dns://api.test/AAAA");
        assert_eq!(parse_nameserver("127.0.0.1").unwrap(), "127.0.0.1:53".parse().unwrap());
        assert!(toml::from_str::<DnsSpec>("name = \"a.test\"\nrecords = \"A\"").is_err());
        assert_eq!(
            DnsSpec::default().build(&BuildContext::detached()).unwrap_err().kind,
            ProbeErrorKind::NotConfigured
        );
        let bad = DnsSpec { name: "api.test".into(), expect: vec!["10.0.0".into()], ..DnsSpec::default() };
        assert_eq!(
            bad.build(&BuildContext::detached()).unwrap_err().message,
            "dns probe api.test A: expected value \"10.0.0\" is not an IPv4 address"
        );
        let bad = DnsSpec { name: "api.test".into(), nameservers: vec!["ns1".into()], ..DnsSpec::default() };
        assert_eq!(
            bad.build(&BuildContext::detached()).unwrap_err().message,
            "dns nameserver \"ns1\" is not `ip`, `ip:port` or `[ipv6]:port`"
        );
    }

    #[test]
    fn spec_timeout_is_a_duration() {
        let spec: DnsSpec = toml::from_str("name = \"api.test\"\ntimeout = \"750ms\"").unwrap();
        assert_eq!(spec.timeout, Duration::from_millis(750));
        assert_eq!(DnsSpec::default().timeout, Duration::from_secs(5));
        assert!(toml::from_str::<DnsSpec>("name = \"api.test\"\ntimeout_secs = 5").is_err());
        let zero: DnsSpec = toml::from_str("name = \"api.test\"\ntimeout = \"0s\"").unwrap();
        assert_eq!(zero.build(&BuildContext::detached()).unwrap_err().message, "dns: timeout must be above 0s");
    }

    #[test]
    fn expected_values_normalize() {
        assert_eq!(RecordKind::Cname.normalize("LB.Example.com.").unwrap(), "lb.example.com");
        assert_eq!(RecordKind::Mx.normalize("10 Mail.test.").unwrap(), "10 mail.test");
        assert!(RecordKind::Mx.normalize("mail.test").is_err());
        assert_eq!(RecordKind::Aaaa.normalize("0:0::1").unwrap(), "::1");
    }
}
