//! The DNS probe against real nameservers on loopback: an in-process authoritative
//! hickory-server, a SERVFAIL-answering hickory-server handler, a socket that never answers, and
//! Debian's dnsmasq started by the test.
#![cfg(feature = "dns")]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict};
use nexus_readiness::probes::dns::{DnsProbe, DnsProbeBuilder, DnsSpec, MatchMode, RecordKind, Transport};
use tokio::net::{TcpListener, UdpSocket};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

/// The zone `test.` on an in-process authoritative server, UDP and TCP on one port.
async fn authoritative() -> (SocketAddr, Server<Catalog>) {
    let origin = name("test.");
    let mut zone = InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(name("ns.test."), name("admin.test."), 1, 3600, 600, 86_400, 60);
    let records = [
        Record::from_rdata(origin.clone(), 3600, RData::SOA(soa)),
        Record::from_rdata(name("api.test."), 300, RData::A(A(Ipv4Addr::new(10, 0, 0, 1)))),
        Record::from_rdata(name("api.test."), 300, RData::A(A(Ipv4Addr::new(10, 0, 0, 2)))),
        Record::from_rdata(name("api.test."), 300, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))),
        Record::from_rdata(name("www.test."), 600, RData::CNAME(CNAME(name("api.test.")))),
        Record::from_rdata(name("txt.test."), 300, RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()]))),
        Record::from_rdata(name("test."), 300, RData::MX(MX::new(10, name("mx.test.")))),
        Record::from_rdata(name("short.test."), 30, RData::A(A(Ipv4Addr::new(10, 0, 0, 9)))),
        Record::from_rdata(
            name("test."),
            300,
            RData::CAA(CAA::new_issue(false, Some(name("letsencrypt.org")), vec![])),
        ),
    ];
    for r in records {
        assert!(zone.upsert_mut(r, 1));
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    serve(catalog).await
}

async fn serve<H: RequestHandler>(handler: H) -> (SocketAddr, Server<H>) {
    let udp = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 32);
    (addr, server)
}

/// Answers SERVFAIL to everything.
struct ServFail;

#[async_trait::async_trait]
impl RequestHandler for ServFail {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, mut response: R) -> ResponseInfo {
        let msg =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, ResponseCode::ServFail);
        response.send_response(msg).await.expect("send SERVFAIL")
    }
}

fn probe(ns: SocketAddr, n: &str, kind: RecordKind) -> DnsProbeBuilder {
    DnsProbe::builder(n, kind).nameserver(ns).timeout(Duration::from_secs(3))
}

async fn check(p: DnsProbeBuilder) -> Result<Observation, ProbeError> {
    p.build().unwrap().check(&ProbeContext::new()).await
}

/// The cases both servers answer the same way. `ttl` is the TTL the server gives api.test.
async fn common_cases(ns: SocketAddr, ttl: u32) {
    // Resolves, exact set.
    let obs = check(probe(ns, "api.test", RecordKind::A).expect(["10.0.0.2", "10.0.0.1"])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.starts_with(&format!("api.test A resolves to 10.0.0.1, 10.0.0.2, ttl {ttl}s in ")),
        "{}",
        obs.summary
    );
    assert_eq!(obs.measurement("records").unwrap().value, 2.0);
    assert_eq!(obs.measurement("ttl").unwrap().value, f64::from(ttl));
    assert!(obs.measurement("lookup_ms").is_some());
    assert_eq!(obs.evidence.get("nameservers"), Some(ns.to_string().as_str()));

    // Exact mismatch names what is missing and what is extra.
    let obs = check(probe(ns, "api.test", RecordKind::A).expect(["10.0.0.1", "10.0.0.3"])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "api.test A is 10.0.0.1, 10.0.0.2, expected exactly 10.0.0.1, 10.0.0.3 (missing 10.0.0.3, unexpected 10.0.0.2)"
    );

    // Any-of.
    let p = probe(ns, "api.test", RecordKind::A).match_mode(MatchMode::AnyOf);
    assert_eq!(check(p.clone().expect(["10.0.0.2", "10.9.9.9"])).await.unwrap().verdict, Verdict::Pass);
    let obs = check(p.expect(["10.9.9.9"])).await.unwrap();
    assert_eq!(obs.summary, "api.test A is 10.0.0.1, 10.0.0.2, expected one of 10.9.9.9");

    // AAAA.
    let obs = check(probe(ns, "api.test", RecordKind::Aaaa).expect(["::1"])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);

    // CNAME, queried directly and followed by an A query.
    let obs = check(probe(ns, "www.test", RecordKind::Cname).expect(["api.test."])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    let obs = check(probe(ns, "www.test", RecordKind::A).cname("api.test")).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.starts_with("www.test A resolves to 10.0.0.1, 10.0.0.2 via www.test -> api.test"),
        "{}",
        obs.summary
    );
    let obs = check(probe(ns, "www.test", RecordKind::A).cname("lb.test")).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "www.test is not a CNAME of lb.test (chain www.test -> api.test)");
    let obs = check(probe(ns, "api.test", RecordKind::A).cname("lb.test")).await.unwrap();
    assert_eq!(obs.summary, "api.test is not a CNAME of lb.test (no CNAME)");

    // TXT: the strings of a record are concatenated.
    let obs = check(probe(ns, "txt.test", RecordKind::Txt).expect(["v=spf1 -all"])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);

    // MX.
    let obs = check(probe(ns, "test", RecordKind::Mx).expect(["10 mx.test"])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);

    // TTL floor.
    let obs = check(probe(ns, "api.test", RecordKind::A).min_ttl(ttl + 1)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, format!("api.test A ttl {ttl}s is below the floor {}s", ttl + 1));

    // NXDOMAIN is a Fail that says so.
    let obs = check(probe(ns, "missing.test", RecordKind::A)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, format!("no such domain: missing.test (NXDOMAIN from {ns})"));

    // The name exists without records of the type.
    let obs = check(probe(ns, "txt.test", RecordKind::A)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "txt.test has no A record (the name exists)");

    // TCP only.
    let obs = check(probe(ns, "api.test", RecordKind::A).transport(Transport::Tcp).expect(["10.0.0.1", "10.0.0.2"]))
        .await
        .unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
}

#[tokio::test]
async fn authoritative_hickory_server() {
    let (ns, _server) = authoritative().await;
    common_cases(ns, 300).await;
    // A record with a short TTL.
    let obs = check(probe(ns, "short.test", RecordKind::A).min_ttl(60)).await.unwrap();
    assert_eq!(obs.summary, "short.test A ttl 30s is below the floor 60s");
    // CAA.
    let obs = check(probe(ns, "test", RecordKind::Caa).expect(["0 issue \"letsencrypt.org\""])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    let obs = check(probe(ns, "test", RecordKind::Caa).expect(["0 issue \"pki.goog\""])).await.unwrap();
    assert_eq!(
        obs.summary,
        "test CAA is 0 issue \"letsencrypt.org\", expected exactly 0 issue \"pki.goog\" (missing 0 issue \"pki.goog\", unexpected 0 issue \"letsencrypt.org\")"
    );
}

#[tokio::test]
async fn spec_builds_a_probe() {
    let (ns, _server) = authoritative().await;
    let spec: DnsSpec = toml::from_str(&format!(
        "name = \"www.test\"\nrecord = \"A\"\nexpect = [\"10.0.0.1\", \"10.0.0.2\"]\ncname = \"api.test\"\nnameservers = [\"{ns}\"]\ntransport = \"udp\"\nmin_ttl = 60\n"
    ))
    .unwrap();
    assert_eq!(<DnsSpec as nexus_readiness::probe::ProbeSpec>::KIND, "dns");
    let probe = spec.build(&nexus_readiness::probe::BuildContext::detached()).unwrap();
    assert_eq!(probe.target(), "dns://www.test/A");
    let obs = probe.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
}

#[tokio::test]
async fn servfail_is_an_error() {
    let (ns, _server) = serve(ServFail).await;
    let e = check(probe(ns, "api.test", RecordKind::A)).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert_eq!(e.message, format!("{ns} answered SERVFAIL for api.test A"));
}

#[tokio::test]
async fn silent_nameserver_times_out() {
    let sock = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let ns = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while sock.recv_from(&mut buf).await.is_ok() {}
    });
    let started = std::time::Instant::now();
    let p = DnsProbe::builder("api.test", RecordKind::A)
        .nameserver(ns)
        .transport(Transport::Udp)
        .timeout(Duration::from_millis(400));
    let e = check(p).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Timeout, "{e}");
    assert_eq!(e.message, format!("no answer from {ns} for api.test A within 400ms"));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

/// dnsmasq on a loopback port, killed on drop.
struct Dnsmasq(tokio::process::Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

#[tokio::test]
async fn dnsmasq_server() {
    let Some(bin) = common::require_binary("dnsmasq") else { return };
    let port = common::free_port();
    let child = tokio::process::Command::new(bin)
        .args([
            "--no-daemon",
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file",
            "--local=/test/",
            "--local-ttl=120",
            "--host-record=api.test,10.0.0.1",
            "--host-record=api.test,10.0.0.2,::1",
            "--cname=www.test,api.test",
            "--txt-record=txt.test,v=spf1 -all",
            "--mx-host=test,mx.test,10",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start dnsmasq");
    let _guard = Dnsmasq(child);
    let ns = SocketAddr::new(LOCAL, port);
    // Wait until it answers.
    let ready = DnsProbe::builder("api.test", RecordKind::A)
        .nameserver(ns)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..50 {
        if ready.check(&ProbeContext::new()).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "dnsmasq did not answer on {ns}");
    common_cases(ns, 120).await;
}
