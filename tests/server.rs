//! The readiness server answered over real HTTP on loopback.
#![cfg(feature = "server")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use nexus_readiness::model::{Checklist, Item, Phase, Section, Severity};
use nexus_readiness::probe::{FnProbe, Observation, Secret};
use nexus_readiness::run::{Plan, Runner};
use nexus_readiness::server::{ReadinessService, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "tok-3f9a1c7e5b2d";

struct Fixture {
    addr: std::net::SocketAddr,
    service: ReadinessService,
    calls: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

/// A plan with a gating item whose probe counts its calls, sleeps `delay` and fails on demand,
/// and a minor item whose evidence carries a registered secret.
async fn serve(delay: Duration, config: ServerConfig) -> Fixture {
    let checklist = Checklist::builder("svc", "Service checks")
        .section(
            Section::new("Checks")
                .phase(Phase::PostDeployment)
                .item(Item::new("Health endpoint answers").severity(Severity::Blocker))
                .item(Item::new("Token is used").severity(Severity::Minor)),
        )
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let mut plan = Plan::new(checklist);
    let (c, f) = (calls.clone(), failing.clone());
    plan.bind(
        "checks.health-endpoint-answers",
        FnProbe::new("http://svc/healthz", move |_cx| {
            let (c, f) = (c.clone(), f.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if f.load(Ordering::SeqCst) {
                    Ok(Observation::fail("health answered 500"))
                } else {
                    Ok(Observation::pass("200 OK"))
                }
            }
        }),
    )
    .unwrap();
    plan.bind(
        "checks.token-is-used",
        FnProbe::new("http://svc/api", |_cx| async {
            Ok(Observation::pass(format!("sent bearer {TOKEN}")).with_evidence("header", format!("Bearer {TOKEN}")))
        }),
    )
    .unwrap();
    plan.secret(&Secret::new(TOKEN));
    let service = ReadinessService::new(plan, Runner::builder().build(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = service.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Fixture { addr, service, calls, failing }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 GET over a TCP socket.
async fn get(addr: std::net::SocketAddr, path: &str, accept: Option<&str>) -> Answer {
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    request(addr, path, &accept).await
}

/// A GET with a bearer token.
async fn get_auth(addr: std::net::SocketAddr, path: &str, token: &str) -> Answer {
    request(addr, path, &format!("Authorization: Bearer {token}\r\n")).await
}

async fn request(addr: std::net::SocketAddr, path: &str, accept: &str) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n{accept}Connection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Answer { status, headers, body: body.to_string() }
}

#[tokio::test]
async fn cache_hits_do_not_rerun_probes() {
    let fx = serve(Duration::ZERO, ServerConfig::default().cache_ttl(Duration::from_secs(60))).await;
    for path in ["/healthz", "/readyz", "/report", "/metrics", "/healthz"] {
        assert_eq!(get(fx.addr, path, None).await.status, 200, "{path}");
    }
    assert_eq!(fx.calls.load(Ordering::SeqCst), 1, "five requests inside the TTL ran the probe once");
    assert_eq!(fx.service.runs(), 1);
}

#[tokio::test]
async fn stale_cache_runs_again() {
    let fx = serve(Duration::ZERO, ServerConfig::default().cache_ttl(Duration::from_millis(50))).await;
    get(fx.addr, "/healthz", None).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    get(fx.addr, "/healthz", None).await;
    assert_eq!(fx.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_run() {
    let fx = serve(Duration::from_millis(300), ServerConfig::default()).await;
    let answers = futures_util::future::join_all((0..20).map(|_| get(fx.addr, "/healthz", None))).await;
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(fx.calls.load(Ordering::SeqCst), 1, "20 concurrent requests, one run");
}

#[tokio::test]
async fn failing_gating_item_is_503_with_the_reason() {
    let fx = serve(Duration::ZERO, ServerConfig::default()).await;
    fx.failing.store(true, Ordering::SeqCst);
    let a = get(fx.addr, "/healthz", None).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.body,
        "NOT READY: 1 gating item failed\nchecks.health-endpoint-answers (fail: health answered 500) [failed]\n"
    );
    let a = get(fx.addr, "/readyz?verbose", None).await;
    assert_eq!(a.status, 503);
    assert!(a.body.contains("[pass] checks.token-is-used"), "{}", a.body);
    assert_eq!(get(fx.addr, "/livez", None).await.status, 200, "liveness does not depend on readiness");
}

#[tokio::test]
async fn report_content_negotiation() {
    let fx = serve(Duration::ZERO, ServerConfig::default()).await;
    let cases = [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("text/markdown"), "text/markdown; charset=utf-8"),
        (Some("application/xml"), "application/xml; charset=utf-8"),
        (Some("text/plain"), "text/plain; version=0.0.4; charset=utf-8"),
        (Some("text/x-rst"), "text/x-rst; charset=utf-8"),
        (Some("text/x-tap"), "text/x-tap; charset=utf-8"),
        (Some("image/png;q=0.9, text/markdown;q=0.5"), "text/markdown; charset=utf-8"),
    ];
    for (accept, want) in cases {
        let a = get(fx.addr, "/report", accept).await;
        assert_eq!(a.status, 200, "{accept:?}");
        assert_eq!(a.header("content-type"), Some(want), "{accept:?}");
        match want.split(';').next().unwrap() {
            "application/json" => {
                let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
                assert_eq!(v["ready"], true);
                assert_eq!(v["items"].as_array().unwrap().len(), 2);
            }
            "text/markdown" => assert!(a.body.contains("Health endpoint answers"), "{}", a.body),
            "application/xml" => assert!(a.body.contains("<testsuites") && a.body.contains("testcase"), "{}", a.body),
            "text/plain" => assert!(a.body.contains("nexus_readiness_ready 1"), "{}", a.body),
            "text/x-tap" => assert!(a.body.starts_with("TAP version 13"), "{}", a.body),
            _ => assert!(a.body.contains("Health endpoint answers"), "{}", a.body),
        }
    }
    assert_eq!(
        get(fx.addr, "/report?format=tap", Some("application/json")).await.header("content-type"),
        Some("text/x-tap; charset=utf-8")
    );
    assert_eq!(get(fx.addr, "/report", Some("image/png")).await.status, 406);
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let fx = serve(Duration::ZERO, ServerConfig::default()).await;
    fx.failing.store(true, Ordering::SeqCst);
    let a = get(fx.addr, "/metrics", None).await;
    assert_eq!(a.status, 200);
    let lines = a.body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let value = |name: &str| {
        scrape.samples.iter().find(|s| s.metric == name).map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
    };
    assert_eq!(value("nexus_readiness_ready"), Some(0.0));
    assert_eq!(value("nexus_readiness_server_runs_total"), Some(1.0));
}

#[tokio::test]
async fn too_many_requests_get_503_busy() {
    let fx = serve(Duration::from_millis(400), ServerConfig::default().max_concurrent_requests(1)).await;
    let (a, b) = tokio::join!(get(fx.addr, "/healthz", None), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        get(fx.addr, "/healthz", None).await
    });
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 503);
    assert_eq!(b.body, "busy: too many concurrent requests\n");
    assert_eq!(b.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn slow_run_times_out_the_request_but_not_the_run() {
    let fx =
        serve(Duration::from_millis(500), ServerConfig::default().request_timeout(Duration::from_millis(100))).await;
    let a = get(fx.addr, "/healthz", None).await;
    assert_eq!(a.status, 504);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let a = get(fx.addr, "/healthz", None).await;
    assert_eq!(a.status, 200, "the run went on and its report is served");
    assert_eq!(fx.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_secret_in_any_response() {
    let fx = serve(Duration::ZERO, ServerConfig::default()).await;
    for (path, accept) in [
        ("/report", Some("application/json")),
        ("/report", Some("text/markdown")),
        ("/report", Some("application/xml")),
        ("/report", Some("text/x-rst")),
        ("/report", Some("text/x-tap")),
        ("/metrics", None),
        ("/readyz?verbose", None),
    ] {
        let a = get(fx.addr, path, accept).await;
        assert_eq!(a.status, 200);
        assert!(!a.body.contains(TOKEN), "{path} {accept:?} leaked the token:\n{}", a.body);
    }
    let json = get(fx.addr, "/report", None).await.body;
    assert!(json.contains("[redacted]"), "the token was replaced, not dropped silently: {json}");
}

/// A blocker bound to a probe that never returns (`pending`), or blocks its thread.
async fn serve_hung(blocking: bool, config: ServerConfig) -> std::net::SocketAddr {
    let checklist = Checklist::builder("svc", "Service checks")
        .section(Section::new("Checks").item(Item::new("Hangs").severity(Severity::Blocker)))
        .build()
        .unwrap();
    let mut plan = Plan::new(checklist);
    plan.bind(
        "checks.hangs",
        FnProbe::new("http://svc/hang", move |_cx| async move {
            if blocking {
                // Stuck in a blocking call that cannot be cancelled (announced to the runtime, as
                // blocking code must be: a probe that blocks a worker silently can starve any
                // async runtime, this server's included).
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_secs(6)));
            } else {
                std::future::pending::<()>().await;
            }
            Ok(Observation::pass("never"))
        }),
    )
    .unwrap();
    // The runner alone would wait an hour for it.
    let runner = Runner::builder().probe_timeout(Duration::from_secs(3600)).build();
    let service = ReadinessService::new(plan, runner, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = service.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test]
async fn a_probe_that_never_returns_cannot_hold_the_server() {
    let config = ServerConfig::default()
        .run_deadline(Duration::from_millis(400))
        .request_timeout(Duration::from_secs(5))
        .cache_ttl(Duration::from_millis(10));
    let addr = serve_hung(false, config).await;
    for _ in 0..2 {
        let t0 = std::time::Instant::now();
        let a = get(addr, "/readyz", None).await;
        assert!(t0.elapsed() < Duration::from_secs(2), "answered in {:?}", t0.elapsed());
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.body.starts_with("NOT READY: 1 gating item could not be checked\n"), "{}", a.body);
        assert!(a.body.contains("checks.hangs (error: probe timed out after"), "{}", a.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_probe_blocking_its_thread_is_abandoned_at_the_deadline() {
    let config =
        ServerConfig::default().run_deadline(Duration::from_millis(300)).request_timeout(Duration::from_secs(10));
    let addr = serve_hung(true, config).await;
    let t0 = std::time::Instant::now();
    let a = get(addr, "/readyz", None).await;
    assert!(t0.elapsed() < Duration::from_secs(5), "answered in {:?}", t0.elapsed());
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.body.contains("did not stop at its 300ms deadline (a probe blocked) and was abandoned"), "{}", a.body);
    assert!(a.body.contains("run cancelled"), "{}", a.body);
}

#[tokio::test]
async fn a_bearer_token_guards_the_report_and_metrics() {
    const BEARER: &str = "bearer-canary-9c1f27";
    let fx = serve(Duration::ZERO, ServerConfig::default().bearer_token(Secret::new(BEARER))).await;
    fx.failing.store(true, Ordering::SeqCst);
    for path in ["/report", "/metrics", "/readyz?verbose", "/healthz?verbose"] {
        let a = get(fx.addr, path, None).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"nexus-readiness\""));
        assert_eq!(get_auth(fx.addr, path, "wrong-token").await.status, 401, "{path}");
        let ok = get_auth(fx.addr, path, BEARER).await;
        assert!(matches!(ok.status, 200 | 503), "{path}: {}", ok.status);
        assert!(!ok.body.contains(BEARER), "{path} echoes the token");
    }
    assert!(get_auth(fx.addr, "/readyz?verbose", BEARER).await.body.contains("checks.health-endpoint-answers"));
    // The open endpoints reveal the status only.
    for path in ["/readyz", "/healthz"] {
        let a = get(fx.addr, path, None).await;
        assert_eq!((a.status, a.body.as_str()), (503, "not ready\n"), "{path}");
    }
    assert_eq!(get(fx.addr, "/livez", None).await.status, 200);
    let debug = format!("{:?}", ServerConfig::default().bearer_token(Secret::new(BEARER)));
    assert!(!debug.contains(BEARER), "{debug}");
}
