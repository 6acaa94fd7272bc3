//! The TLS probe against in-process rustls servers on loopback, with rcgen certificates.
//!
//! The context clock is fixed at 2030-06-01T00:00:00Z and the certificates carry fixed dates
//! around it, so day counts are exact.
#![cfg(feature = "tls")]

mod common;

use nexus_readiness::probe::BuildContext;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use nexus_readiness::model::Level;
use nexus_readiness::probe::{
    ManualClock, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict,
};
use nexus_readiness::probes::tls::{TlsProbe, TlsProbeBuilder, TlsSpec, TlsVersion};
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn cx() -> ProbeContext {
    ProbeContext::new().with_clock(Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap())))
}

fn params(cn: &str, sans: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    p.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    p
}

/// A root CA and an intermediate CA signed by it.
struct Pki {
    root_params: CertificateParams,
    root_key: KeyPair,
    root_pem: String,
    inter_params: CertificateParams,
    inter_key: KeyPair,
    inter_der: CertificateDer<'static>,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        Pki::named("Test Root")
    }

    fn named(root: &str) -> Pki {
        let mut root_params = params(root, &[], (2029, 1, 1), (2040, 1, 1));
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_key = KeyPair::generate().unwrap();
        let root = root_params.self_signed(&root_key).unwrap();
        let mut inter_params = params("Test Intermediate", &[], (2029, 1, 1), (2040, 1, 1));
        inter_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let inter_key = KeyPair::generate().unwrap();
        let inter = inter_params.signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key)).unwrap();
        Pki {
            root_pem: root.pem(),
            root_params,
            root_key,
            inter_der: inter.der().clone(),
            inter_params,
            inter_key,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A leaf signed by the intermediate: (leaf der, key).
    fn leaf(&self, sans: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> (CertificateDer<'static>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let cert = params(sans[0], sans, from, until)
            .signed_by(&key, &Issuer::from_params(&self.inter_params, &self.inter_key))
            .unwrap();
        (cert.der().clone(), key)
    }

    /// The root as the probe's CA file.
    fn ca_file(&self) -> std::path::PathBuf {
        let p = self.dir.path().join("root.pem");
        std::fs::write(&p, &self.root_pem).unwrap();
        p
    }

    fn probe(&self, sni: &str, port: u16) -> TlsProbeBuilder {
        TlsProbe::builder(sni, port).ip(LOCAL).ca_file(self.ca_file())
    }

    /// Serves leaf + intermediate.
    async fn serve_leaf(&self, sans: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> u16 {
        let (leaf, key) = self.leaf(sans, from, until);
        serve(vec![leaf, self.inter_der.clone()], key, &[&rustls::version::TLS13, &rustls::version::TLS12]).await
    }
}

/// A rustls server on an ephemeral loopback port that completes handshakes and then waits for
/// the client to close.
async fn serve(
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> u16 {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf).await;
                }
            });
        }
    });
    port
}

async fn check(p: TlsProbeBuilder) -> Result<Observation, ProbeError> {
    p.build().unwrap().check(&cx()).await
}

const FROM: (i32, u8, u8) = (2030, 1, 1);

#[tokio::test]
async fn valid_chain_with_intermediate_passes() {
    let pki = Pki::new();
    let port = pki.serve_leaf(&["api.test", "www.api.test"], FROM, (2031, 1, 1)).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.starts_with(
            "certificate for api.test valid for 214 days (until 2031-01-01), chain of 2 verified against ca_file "
        ),
        "{}",
        obs.summary
    );
    assert!(obs.summary.ends_with(", TLS 1.3"), "{}", obs.summary);
    let days = obs.measurement("days_until_expiry").unwrap();
    assert_eq!(days.value, 214.0);
    assert_eq!(days.evaluation.as_ref().unwrap().level, Level::Ok);
    let expiries: Vec<_> = obs.measurements.iter().filter(|m| m.name == "certificate_expiry").collect();
    assert_eq!(expiries.len(), 2);
    assert_eq!(expiries[0].labels["position"], "leaf");
    assert_eq!(expiries[0].value, Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap().timestamp() as f64);
    assert_eq!(expiries[1].labels["subject"], "CN=Test Intermediate");
    assert!(obs.measurement("handshake_ms").unwrap().value > 0.0);
    assert_eq!(obs.evidence.get("subject"), Some("CN=api.test"));
    assert_eq!(obs.evidence.get("issuer"), Some("CN=Test Intermediate"));
    assert_eq!(obs.evidence.get("san"), Some("api.test, www.api.test"));
    assert_eq!(obs.evidence.get("version"), Some("TLS 1.3"));
    assert!(obs.evidence.get("cipher").unwrap().starts_with("TLS13_"), "{:?}", obs.evidence.get("cipher"));
    assert!(!obs.evidence.get("serial").unwrap().is_empty());
    assert_eq!(obs.evidence.get("chain_verified"), Some("yes"));
}

#[tokio::test]
async fn expired_certificate_fails_with_date_and_days() {
    let pki = Pki::new();
    let port = pki.serve_leaf(&["expired.test"], (2029, 1, 1), (2030, 1, 1)).await;
    let obs = check(pki.probe("expired.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    // Chain and name are fine apart from the date, so the expiry is the only problem.
    assert_eq!(obs.summary, "certificate for expired.test expired on 2030-01-01 (151 days ago)");
    assert_eq!(obs.measurement("days_until_expiry").unwrap().value, -151.0);
}

#[tokio::test]
async fn expiry_follows_the_context_clock() {
    // The same certificate valid today on the context clock, expired 10 days later.
    let pki = Pki::new();
    let port = pki.serve_leaf(&["api.test"], FROM, (2030, 6, 11)).await;
    let probe = pki.probe("api.test", port).build().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap());
    let cx = ProbeContext::new().with_clock(Arc::new(clock.clone()));
    let obs = probe.check(&cx).await.unwrap();
    assert_eq!(obs.summary, "certificate for api.test expires in 10 days (on 2030-06-11), under the warning 30 days");
    clock.advance(Duration::from_secs(20 * 86_400));
    let obs = probe.check(&cx).await.unwrap();
    assert_eq!(obs.summary, "certificate for api.test expired on 2030-06-11 (10 days ago)");
}

#[tokio::test]
async fn not_yet_valid_certificate_fails() {
    let pki = Pki::new();
    let port = pki.serve_leaf(&["future.test"], (2030, 7, 1), (2031, 7, 1)).await;
    let obs = check(pki.probe("future.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "certificate for future.test is not valid until 2030-07-01 (in 30 days)");
}

#[tokio::test]
async fn wrong_host_names_expected_and_presented() {
    let pki = Pki::new();
    let port = pki.serve_leaf(&["other.test", "www.other.test"], FROM, (2031, 1, 1)).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "issued for other.test, www.other.test, not api.test");
    assert_eq!(obs.evidence.get("chain_verified"), Some("no"));
}

#[tokio::test]
async fn expired_and_wrong_host_reports_both() {
    let pki = Pki::new();
    let port = pki.serve_leaf(&["other.test"], (2029, 1, 1), (2030, 1, 1)).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(
        obs.summary,
        "certificate for api.test expired on 2030-01-01 (151 days ago); issued for other.test, not api.test"
    );
}

#[tokio::test]
async fn self_signed_certificate_is_an_unknown_issuer() {
    let pki = Pki::new();
    let key = KeyPair::generate().unwrap();
    let cert = params("Self Signed", &["api.test"], FROM, (2031, 1, 1)).self_signed(&key).unwrap();
    let port = serve(vec![cert.der().clone()], key, &[&rustls::version::TLS13]).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "unknown issuer CN=Self Signed (self-signed)");
}

#[tokio::test]
async fn missing_intermediate_is_named() {
    let pki = Pki::new();
    let (leaf, key) = pki.leaf(&["api.test"], FROM, (2031, 1, 1));
    let port = serve(vec![leaf], key, &[&rustls::version::TLS13]).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "missing intermediate: leaf issued by CN=Test Intermediate, not sent by the server");
}

#[tokio::test]
async fn untrusted_root_in_chain_is_named() {
    // A chain that verifies up to a root the probe does not trust.
    let pki = Pki::new();
    let port = pki.serve_leaf(&["api.test"], FROM, (2031, 1, 1)).await;
    let other = Pki::named("Other Root");
    let probe = TlsProbe::builder("api.test", port).ip(LOCAL).ca_file(other.ca_file());
    let obs = check(probe).await.unwrap();
    assert_eq!(obs.summary, "missing intermediate: intermediate 1 issued by CN=Test Root, not sent by the server");

    // A trusted root with the same name but another key: the signature check says so.
    let impostor = Pki::named("Test Root");
    let probe = TlsProbe::builder("api.test", port).ip(LOCAL).ca_file(impostor.ca_file());
    let obs = check(probe).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "intermediate 1 names the trusted root CN=Test Root as issuer, but that root's key did not sign it (an impostor root of the same name?)"
    );
}

#[tokio::test]
async fn days_until_expiry_thresholds() {
    let pki = Pki::new();
    for (until, verdict, summary) in [
        (
            (2030, 6, 6),
            Verdict::Fail,
            "certificate for api.test expires in 5 days (on 2030-06-06), under the critical 7 days",
        ),
        (
            (2030, 6, 21),
            Verdict::Warn,
            "certificate for api.test expires in 20 days (on 2030-06-21), under the warning 30 days",
        ),
        ((2030, 8, 30), Verdict::Pass, "certificate for api.test valid for 90 days (until 2030-08-30)"),
    ] {
        let port = pki.serve_leaf(&["api.test"], FROM, until).await;
        let obs = check(pki.probe("api.test", port)).await.unwrap();
        assert_eq!(obs.verdict, verdict, "{}", obs.summary);
        assert!(obs.summary.starts_with(summary), "{}", obs.summary);
    }
    // Custom thresholds: 20 days left is fine under warn 14 / critical 3.
    let port = pki.serve_leaf(&["api.test"], FROM, (2030, 6, 21)).await;
    let obs = check(pki.probe("api.test", port).warn_days(14).critical_days(3)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
}

#[tokio::test]
async fn earliest_expiry_in_the_chain_counts() {
    // The intermediate expires before the leaf: it drives days_until_expiry.
    let pki = Pki::new();
    let mut inter_params = params("Short Intermediate", &[], (2029, 1, 1), (2030, 6, 4));
    inter_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let inter_key = KeyPair::generate().unwrap();
    let inter = inter_params.signed_by(&inter_key, &Issuer::from_params(&pki.root_params, &pki.root_key)).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = params("api.test", &["api.test"], FROM, (2031, 1, 1))
        .signed_by(&key, &Issuer::from_params(&inter_params, &inter_key))
        .unwrap();
    let port = serve(vec![leaf.der().clone(), inter.der().clone()], key, &[&rustls::version::TLS13]).await;
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "intermediate 1 certificate CN=Short Intermediate expires in 3 days (on 2030-06-04), under the critical 7 days"
    );
}

#[tokio::test]
async fn tls12_only_server_fails_a_tls13_minimum() {
    let pki = Pki::new();
    let (leaf, key) = pki.leaf(&["api.test"], FROM, (2031, 1, 1));
    let port = serve(vec![leaf, pki.inter_der.clone()], key, &[&rustls::version::TLS12]).await;
    let obs = check(pki.probe("api.test", port).min_version(TlsVersion::Tls13)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "negotiated TLS 1.2, below the minimum TLS 1.3");
    assert!(obs.evidence.get("cipher").unwrap().starts_with("TLS_ECDHE_"), "{:?}", obs.evidence.get("cipher"));
    // The same server meets the default minimum.
    let obs = check(pki.probe("api.test", port)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(obs.evidence.get("version"), Some("TLS 1.2"));
}

#[tokio::test]
async fn silent_server_times_out() {
    let pki = Pki::new();
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let e = check(pki.probe("api.test", port).timeout(Duration::from_millis(300))).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Timeout);
    assert_eq!(
        e.message,
        format!("no tls handshake answer from api.test:{port} (127.0.0.1) within 300ms (connected, server silent)")
    );
    // The context deadline shortens the probe's own timeout.
    let probe = pki.probe("api.test", port).build().unwrap();
    let e = probe.check(&cx().with_timeout(Duration::from_millis(200))).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn closed_port_is_refused() {
    let pki = Pki::new();
    let port = common::free_port();
    let e = check(pki.probe("api.test", port)).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert!(e.message.starts_with(&format!("connection refused by api.test:{port} (127.0.0.1)")), "{}", e.message);
}

#[tokio::test]
async fn plain_tcp_server_is_a_handshake_failure() {
    let pki = Pki::new();
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let e = check(pki.probe("api.test", port)).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Protocol);
    assert!(e.message.starts_with(&format!("tls handshake with api.test:{port} (127.0.0.1) failed")), "{}", e.message);
}

#[tokio::test]
async fn spec_builds_one_probe_over_several_endpoints() {
    let pki = Pki::new();
    let good = pki.serve_leaf(&["api.test"], FROM, (2031, 1, 1)).await;
    let soon = pki.serve_leaf(&["api.test"], FROM, (2030, 6, 21)).await;
    let toml = format!(
        "endpoints = [\"api.test:{good}\", \"api.test:{soon}\"]\nip = \"127.0.0.1\"\nca_file = {:?}\n",
        pki.ca_file().display().to_string()
    );
    let spec: TlsSpec = toml::from_str(&toml).unwrap();
    assert_eq!(TlsSpec::KIND, "tls");
    let probe = spec.build(&BuildContext::detached()).unwrap();
    assert_eq!(probe.target(), format!("tls://api.test:{good},api.test:{soon}"));
    let obs = probe.check(&cx()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn);
    assert!(
        obs.summary.starts_with(&format!("1 of 2 warned: api.test:{good}: certificate for api.test ")),
        "{}",
        obs.summary
    );
    assert!(
        obs.summary.ends_with(&format!(
            "; api.test:{soon}: warn: certificate for api.test expires in 20 days (on 2030-06-21), under the warning 30 days"
        )),
        "{}",
        obs.summary
    );
    assert_eq!(obs.evidence.get(&format!("api.test:{soon}.version")), Some("TLS 1.3"));
    let labelled = obs.measurements.iter().filter(|m| m.name == "days_until_expiry").count();
    assert_eq!(labelled, 2);
    assert!(obs.measurements.iter().all(|m| m.labels.contains_key("endpoint")));

    // A refused endpoint next to a passing one is an error that names it.
    let closed = common::free_port();
    let spec: TlsSpec = toml::from_str(&toml.replace(&soon.to_string(), &closed.to_string())).unwrap();
    let e = spec.build(&BuildContext::detached()).unwrap().check(&cx()).await.unwrap_err();
    assert!(e.message.starts_with(&format!("1 of 2 could not be checked: api.test:{good}: ")), "{e}");
    assert!(e.message.contains(&format!("; api.test:{closed}: error: connection refused by api.test:{closed}")), "{e}");
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);

    // A failing endpoint beats one that could not be checked: Fail > Error.
    let expired = pki.serve_leaf(&["api.test"], (2029, 1, 1), (2030, 1, 1)).await;
    let toml = toml.replace(&good.to_string(), &expired.to_string()).replace(&soon.to_string(), &closed.to_string());
    let obs =
        toml::from_str::<TlsSpec>(&toml).unwrap().build(&BuildContext::detached()).unwrap().check(&cx()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.starts_with("1 of 2 failed, 1 could not be checked: "), "{}", obs.summary);
}

#[test]
fn bad_ca_file_is_misconfigured() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.pem");
    std::fs::write(&p, "not a certificate\n").unwrap();
    let e = TlsProbe::builder("api.test", 443).ca_file(&p).build().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
    assert_eq!(e.message, format!("ca_file {} holds no certificate", p.display()));
}
