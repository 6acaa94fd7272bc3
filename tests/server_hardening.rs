//! The readiness server's transport holds (issue 16): clients that send nothing, go idle, open
//! too many connections or send huge heads are cut off, and a shutdown drains for a bounded
//! time even while a probe is stuck.
#![cfg(feature = "server")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nexus_readiness::model::{Checklist, Item, Phase, Section, Severity};
use nexus_readiness::probe::{FnProbe, Observation, ProbeError};
use nexus_readiness::run::{Plan, Runner};
use nexus_readiness::server::{ReadinessService, ServeOptions, ServerConfig, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A plan whose only probe passes, or never finishes when `stuck`.
fn plan(stuck: bool) -> Plan {
    let checklist = Checklist::builder("svc", "Service checks")
        .section(
            Section::new("Checks")
                .phase(Phase::PostDeployment)
                .item(Item::new("Health endpoint answers").severity(Severity::Blocker)),
        )
        .build()
        .unwrap();
    let mut plan = Plan::new(checklist);
    plan.bind(
        "checks.health-endpoint-answers",
        FnProbe::new("http://svc/healthz", move |_cx| async move {
            if stuck {
                std::future::pending::<()>().await;
            }
            Ok::<_, ProbeError>(Observation::pass("200 OK"))
        }),
    )
    .unwrap();
    plan
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(stuck: bool, options: ServeOptions) -> Server {
    let runner = Runner::builder().probe_timeout(Duration::from_secs(3600)).build();
    let config = ServerConfig::default().request_timeout(Duration::from_secs(3600));
    let service = ReadinessService::new(plan(stuck), runner, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(listener, service.router(), options, async {
        let _ = rx.await;
    }));
    Server { addr, stop: Some(tx), done }
}

/// Whether the server closed `s` within `limit` (EOF or reset on read).
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out)).await;
    out
}

#[tokio::test]
async fn clients_that_send_no_request_head_are_closed() {
    let srv = start(false, ServeOptions::default().header_read_timeout(Duration::from_millis(300))).await;
    let mut silent = Vec::new();
    for i in 0..40 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        if i % 2 == 0 {
            // Half a head, never finished.
            s.write_all(b"GET /livez HTTP/1.1\r\nHost: t\r\n").await.unwrap();
        }
        silent.push(s);
    }
    let started = Instant::now();
    for s in &mut silent {
        assert!(closed_within(s, Duration::from_secs(5)).await, "a silent connection was held");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(get(srv.addr, "/livez").await.starts_with("HTTP/1.1 200"), "the server still serves");
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let options =
        ServeOptions::default().header_read_timeout(Duration::from_secs(60)).idle_timeout(Duration::from_millis(300));
    let srv = start(false, options).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(closed_within(&mut s, Duration::from_secs(5)).await, "the idle connection was held");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_and_slots_come_back() {
    let options = ServeOptions::default().max_connections(3).header_read_timeout(Duration::from_secs(60));
    let srv = start(false, options).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    // Let the server accept them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(srv.addr).await.unwrap();
    assert!(closed_within(&mut extra, Duration::from_secs(2)).await, "a connection beyond the cap was held");
    // A held connection still serves.
    let mut first = held.remove(0);
    first.write_all(b"GET /livez HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    first.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(get(srv.addr, "/livez").await.starts_with("HTTP/1.1 200"), "the freed slot is reused");
}

#[tokio::test]
async fn huge_request_heads_are_refused() {
    let srv = start(false, ServeOptions::default()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let big = format!("GET /livez HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "a".repeat(1 << 20));
    let _ = s.write_all(big.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let out = String::from_utf8_lossy(&out);
    assert!(!out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(get(srv.addr, "/livez").await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_drains_for_a_bounded_time_with_a_probe_stuck() {
    let options = ServeOptions::default().shutdown_drain(Duration::from_millis(500));
    let mut srv = start(true, options).await;
    // A request waits on the stuck run; an idle connection is open too.
    let addr = srv.addr;
    let waiting = tokio::spawn(async move { get(addr, "/readyz").await });
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    srv.stop.take().unwrap().send(()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), &mut srv.done).await;
    assert!(matches!(r, Ok(Ok(Ok(())))), "serve did not return: {r:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(closed_within(&mut idle, Duration::from_secs(1)).await);
    let answer = tokio::time::timeout(Duration::from_secs(2), waiting).await.unwrap().unwrap();
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}
