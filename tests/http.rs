//! The http backend against in-process axum servers on loopback.
#![cfg(feature = "http")]

mod common;

use nexus_readiness::probe::BuildContext;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{TimeZone, Utc};
use nexus_readiness::probe::{
    ManualClock, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Secret, Verdict,
};
use nexus_readiness::probes::http::*;

/// Serves `router` on an ephemeral loopback port; returns `http://127.0.0.1:PORT`.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

async fn check(p: &dyn Probe) -> Result<Observation, ProbeError> {
    p.check(&ProbeContext::new()).await
}

fn ok(r: Result<Observation, ProbeError>) -> Observation {
    r.unwrap_or_else(|e| panic!("probe error: {e}"))
}

fn err(r: Result<Observation, ProbeError>) -> ProbeError {
    match r {
        Ok(o) => panic!("expected an error, got {:?}: {}", o.verdict, o.summary),
        Err(e) => e,
    }
}

fn short_timeout(ms: u64) -> ClientOptions {
    let mut c = ClientOptions::default();
    c.timeout = Duration::from_millis(ms);
    c
}

// ---------------------------------------------------------------------------------------------
// the endpoint probe

fn endpoint_router() -> Router {
    Router::new()
        .route("/ok", get(|| async { (StatusCode::OK, r#"{"status":"ok","checks":{"db":"up"},"version":3}"#) }))
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/loop/a", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop/b")]) }))
        .route("/loop/b", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop/a")]) }))
        .route("/hop1", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/moved")]) }))
        .route("/moved", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/ok")]) }))
        .route("/huge", get(|| async { "x".repeat(4 * 1024 * 1024) }))
        .route(
            "/echo-auth",
            get(|h: HeaderMap| async move {
                // A broken endpoint that echoes the credential it got.
                let auth = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                (StatusCode::INTERNAL_SERVER_ERROR, [("x-echo", auth.clone())], auth)
            }),
        )
}

#[tokio::test]
async fn endpoint_200_passes_with_measurements() {
    let base = serve(endpoint_router()).await;
    let p = HttpSpec::new(format!("{base}/ok")).build_probe().unwrap();
    assert_eq!(p.target(), format!("{base}/ok"));
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert!(o.summary.starts_with(&format!("GET {base}/ok answered 200 in ")), "{}", o.summary);
    assert_eq!(o.measurement("status_code").unwrap().value, 200.0);
    assert!(o.measurement("latency").is_some());
    assert_eq!(o.measurement("body_bytes").unwrap().value, 48.0);
}

#[tokio::test]
async fn endpoint_500_fails_with_status_reason() {
    let base = serve(endpoint_router()).await;
    let o = ok(check(&HttpSpec::new(format!("{base}/fail")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.summary, format!("GET {base}/fail: answered 500, expected 2xx"));
    // A configured expected set accepts it.
    let mut s = HttpSpec::new(format!("{base}/fail"));
    s.expect_status = vec![StatusPattern::Code(500)];
    assert_eq!(ok(check(&s.build_probe().unwrap()).await).verdict, Verdict::Pass);
}

#[tokio::test]
async fn slow_endpoint_is_cut_by_the_timeout() {
    let base = serve(endpoint_router()).await;
    let mut s = HttpSpec::new(format!("{base}/slow"));
    s.client = short_timeout(300);
    let started = std::time::Instant::now();
    let e = err(check(&s.build_probe().unwrap()).await);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(e.kind, ProbeErrorKind::Timeout);
    assert!(e.message.contains(&format!("{base}/slow did not answer within")), "{e}");
}

#[tokio::test]
async fn context_deadline_shortens_the_request_timeout() {
    let base = serve(endpoint_router()).await;
    let p = HttpSpec::new(format!("{base}/slow")).build_probe().unwrap();
    let cx = ProbeContext::new().with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = p.check(&cx).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(e.kind, ProbeErrorKind::Timeout, "{e}");
    assert!(e.message.contains("/slow did not answer within"), "{e}");
}

#[tokio::test]
async fn redirect_loop_is_reported_as_such() {
    let base = serve(endpoint_router()).await;
    let o = ok(check(&HttpSpec::new(format!("{base}/loop/a")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.summary.contains(&format!("redirect loop: {base}/loop/a -> {base}/loop/b -> {base}/loop/a")),
        "{}",
        o.summary
    );
}

#[tokio::test]
async fn redirects_followed_or_not() {
    let base = serve(endpoint_router()).await;
    let o = ok(check(&HttpSpec::new(format!("{base}/moved")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert_eq!(o.evidence.get("final_url"), Some(format!("{base}/ok").as_str()));

    let mut s = HttpSpec::new(format!("{base}/moved"));
    s.client.follow_redirects = 0;
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.summary, format!("GET {base}/moved: answered 301, expected 2xx (redirect to /ok)"));

    // One hop allowed: /hop1 -> /moved -> /ok needs two.
    let mut s = HttpSpec::new(format!("{base}/hop1"));
    s.client.follow_redirects = 1;
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.summary, format!("GET {base}/hop1: more than 1 redirects: {base}/hop1 -> {base}/moved -> {base}/ok"));
    s.client.follow_redirects = 2;
    assert_eq!(ok(check(&s.build_probe().unwrap()).await).verdict, Verdict::Pass);
}

#[tokio::test]
async fn huge_body_stops_at_the_cap() {
    let base = serve(endpoint_router()).await;
    let mut s = HttpSpec::new(format!("{base}/huge"));
    s.client.max_body_bytes = 64 * 1024;
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Warn);
    assert!(o.summary.contains("body larger than the 65536 byte cap (stopped reading there)"), "{}", o.summary);
    assert_eq!(o.measurement("body_bytes").unwrap().value, 65536.0);
    assert_eq!(o.evidence.get("body_truncated"), Some("stopped at the 65536 byte cap"));

    s.body_contains = Some("needle".into());
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.summary.ends_with("body does not contain \"needle\" (body cut at the 65536 byte cap)"), "{}", o.summary);
}

#[tokio::test]
async fn body_matches_json_pointer_and_regex() {
    let base = serve(endpoint_router()).await;
    let url = format!("{base}/ok");
    let build = |f: &dyn Fn(&mut HttpSpec)| {
        let mut s = HttpSpec::new(url.clone());
        f(&mut s);
        s.build_probe().unwrap()
    };
    let pass = [
        build(&|s| s.body_regex = Some(r#""version":\d+"#.into())),
        build(&|s| s.body_contains = Some("checks".into())),
        build(&|s| {
            s.json_pointer = Some("/checks/db".into());
            s.json_equals = Some(serde_json::json!("up"));
        }),
        build(&|s| {
            s.json_pointer = Some("/version".into());
            s.json_equals = Some(serde_json::json!(3.0));
        }),
        build(&|s| s.json_pointer = Some("/status".into())),
    ];
    for p in &pass {
        let o = ok(check(p).await);
        assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    }
    let o = ok(check(&build(&|s| s.body_regex = Some(r#""version":"v\d""#.into()))).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.summary.ends_with(r#"body does not match /"version":"v\d"/"#), "{}", o.summary);
    let o = ok(check(&build(&|s| {
        s.json_pointer = Some("/status".into());
        s.json_equals = Some(serde_json::json!("degraded"));
    }))
    .await);
    assert!(o.summary.ends_with(r#"json /status is "ok", expected "degraded""#), "{}", o.summary);
    let o = ok(check(&build(&|s| s.json_pointer = Some("/missing".into()))).await);
    assert!(o.summary.ends_with("json body has no /missing"), "{}", o.summary);
    let o = ok(check(&build(&|s| s.body_contains = Some("absent".into()))).await);
    assert!(o.summary.ends_with("body does not contain \"absent\""), "{}", o.summary);
}

#[tokio::test]
async fn latency_thresholds_warn_and_fail() {
    let router = Router::new().route(
        "/lag",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(120)).await;
            "ok"
        }),
    );
    let base = serve(router).await;
    let mut s = HttpSpec::new(format!("{base}/lag"));
    s.warn_latency = Some(Duration::from_millis(50));
    s.max_latency = Some(Duration::from_secs(5));
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Warn, "{}", o.summary);
    assert!(o.summary.contains("answered 200 but slowly"), "{}", o.summary);
    s.warn_latency = Some(Duration::from_millis(10));
    s.max_latency = Some(Duration::from_millis(50));
    let o = ok(check(&s.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.measurement("latency").unwrap().evaluation.is_some());
    s.max_latency = Some(Duration::from_millis(5));
    let e = s.build_probe().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
}

#[tokio::test]
async fn connection_refused_and_dns_failure_are_errors_without_credentials() {
    let port = common::free_port();
    let s = HttpSpec::new(format!("http://admin:hunter2-pw@127.0.0.1:{port}/healthz?api_key=k3y-value&x=1"));
    let p = s.build_probe().unwrap();
    assert_eq!(p.target(), format!("http://127.0.0.1:{port}/healthz?api_key=redacted&x=1"));
    let e = err(check(&p).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert_eq!(
        e.message,
        format!("connection refused by 127.0.0.1:{port} (http://127.0.0.1:{port}/healthz?api_key=redacted&x=1)")
    );
    let printed = format!("{e:?}{p:?}{s:?}");
    assert!(!printed.contains("hunter2") && !printed.contains("k3y-value"), "{printed}");

    let e = err(check(&HttpSpec::new("http://nexus-readiness-nonexistent.invalid/").build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert!(e.message.starts_with("dns lookup failed for nexus-readiness-nonexistent.invalid"), "{e}");
}

#[tokio::test]
async fn bad_specs_are_misconfigured_or_not_configured() {
    assert_eq!(HttpSpec::new("").build_probe().unwrap_err().kind, ProbeErrorKind::NotConfigured);
    let e = HttpSpec::new("ftp://x/").build_probe().unwrap_err();
    assert_eq!(e.message, "url must be an http or https url, not ftp");
    let mut s = HttpSpec::new("http://x/");
    s.body_regex = Some("(".into());
    assert!(s.build_probe().unwrap_err().message.starts_with("body_regex is not a valid regex"));
    let mut s = HttpSpec::new("http://x/");
    s.expect_status = vec![StatusPattern::Pattern("9xx".into())];
    assert_eq!(s.build_probe().unwrap_err().message, "expect_status: `9xx` is not a status code, `2xx` or `200-299`");
    let mut s = HttpSpec::new("http://x/");
    s.client.headers.insert("Authorization".into(), "Bearer plain".into());
    let e = s.build_probe().unwrap_err();
    assert!(e.message.starts_with("header Authorization looks sensitive"), "{e}");
    assert!(!e.message.contains("plain"));
    let mut s = HttpSpec::new("http://x/");
    s.client.ca_file = Some("/nonexistent/ca.pem".into());
    assert!(s.build_probe().unwrap_err().message.starts_with("cannot read client.ca_file /nonexistent/ca.pem"));
}

#[tokio::test]
async fn secret_header_is_sent_but_never_printed() {
    const TOKEN: &str = "Bearer sk-live-0123456789abcdef";
    let base = serve(endpoint_router()).await;
    let toml = format!(
        r#"
url = "{base}/echo-auth"
warn_latency = "100s"
[client]
secret_headers = {{ Authorization = "{TOKEN}" }}
headers = {{ X-Trace = "abc" }}
"#
    );
    let spec: HttpSpec = toml::from_str(&toml).unwrap();
    assert_eq!(HttpSpec::KIND, "http");
    let probe = spec.build_probe().unwrap();
    let dyn_probe = spec.build(&BuildContext::detached()).unwrap();
    let o = ok(check(&probe).await);
    // The server got the header (it echoed a 500), and nothing we print carries it.
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.summary, format!("GET {base}/echo-auth: answered 500, expected 2xx"));
    let printed = format!("{spec:?} {probe:?} {dyn_probe:?} {o:?} {}", serde_json::to_string(&o).unwrap());
    assert!(!printed.contains("sk-live"), "{printed}");
    assert!(printed.contains("Authorization"), "header names stay visible");

    // An error path: a timeout on the same spec.
    let mut slow = spec.clone();
    slow.url = format!("{base}/slow");
    slow.client.timeout = Duration::from_millis(100);
    let e = err(check(&slow.build_probe().unwrap()).await);
    assert!(!format!("{e:?}").contains("sk-live"));
}

// ---------------------------------------------------------------------------------------------
// health

#[tokio::test]
async fn health_endpoints_all_or_name_the_failing_one() {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "warming up") }));
    let base = serve(router).await;
    let spec: HealthSpec = toml::from_str(&format!(r#"urls = ["{base}/healthz"]"#)).unwrap();
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    // One endpoint: its own result, unchanged.
    assert!(o.summary.starts_with(&format!("GET {base}/healthz answered 200")), "{}", o.summary);

    let p = HealthSpec::new([format!("{base}/healthz"), format!("{base}/readyz")]).build_probe().unwrap();
    assert_eq!(p.target(), format!("{base}/healthz, {base}/readyz"));
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Fail);
    // The fan-out keeps every endpoint's result, labelled with its URL.
    assert!(
        o.summary.starts_with(&format!("1 of 2 failed: {base}/healthz: GET {base}/healthz answered 200 in ")),
        "{}",
        o.summary
    );
    assert!(
        o.summary.ends_with(&format!("; {base}/readyz: fail: GET {base}/readyz: answered 503, expected 2xx")),
        "{}",
        o.summary
    );
    assert_eq!(o.measurements.iter().filter(|m| m.name == "latency").count(), 2);
    assert!(o.measurements.iter().all(|m| m.labels.contains_key("url")));
    assert_eq!(o.evidence.get(&format!("{base}/readyz.status")), Some("503"));
    assert_eq!(HealthSpec::new(Vec::<String>::new()).build_probe().unwrap_err().kind, ProbeErrorKind::NotConfigured);
}

// ---------------------------------------------------------------------------------------------
// authentication

const API_TOKEN: &str = "tok-9f8e7d6c5b4a";

fn auth_router(enforced: bool) -> Router {
    Router::new().route(
        "/api/models",
        get(move |h: HeaderMap| async move {
            let good =
                h.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == format!("Bearer {API_TOKEN}").as_bytes());
            if good || !enforced { (StatusCode::OK, "[]") } else { (StatusCode::UNAUTHORIZED, "no") }
        }),
    )
}

#[tokio::test]
async fn auth_enforced_passes() {
    let base = serve(auth_router(true)).await;
    let p = AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap();
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert_eq!(o.summary, format!("GET {base}/api/models answered 401 without credentials and 200 with credentials"));
    assert!(!format!("{p:?}{o:?}").contains(API_TOKEN));
}

#[tokio::test]
async fn auth_not_enforced_fails_naming_the_half() {
    let base = serve(auth_router(false)).await;
    let o =
        ok(check(&AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.summary,
        format!(
            "GET {base}/api/models: without credentials it answered 200, expected 401 or 403 (authentication not enforced)"
        )
    );
}

#[tokio::test]
async fn auth_with_wrong_credentials_is_an_error_naming_the_half() {
    let base = serve(auth_router(true)).await;
    let mut spec = AuthSpec::new(format!("{base}/api/models"), Secret::new("wrong-token-value"));
    spec.credential_headers.insert("X-Api-Key".into(), Secret::new("also-wrong-value"));
    let p = spec.build_probe().unwrap();
    // Wrong credentials say nothing about whether valid ones get through: could not look.
    let e = err(check(&p).await);
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(
        e.message,
        format!(
            "GET {base}/api/models: with credentials: {base}/api/models answered 401 Unauthorized: the credentials \
             the probe sent were rejected (check its bearer token or secret headers), so the request never reached \
             the protected endpoint"
        )
    );
    let printed = format!("{spec:?}{p:?}{e:?}");
    assert!(!printed.contains("wrong-token-value") && !printed.contains("also-wrong-value"), "{printed}");
    let mut none = AuthSpec::new(format!("{base}/api/models"), Secret::new("x"));
    none.bearer_token = None;
    assert_eq!(none.build_probe().unwrap_err().message, "not configured: set bearer_token");
}

// ---------------------------------------------------------------------------------------------
// rate limiting

fn limiter(limit: Option<u32>, headers: bool) -> Router {
    let count = Arc::new(AtomicU32::new(0));
    Router::new().route(
        "/api",
        get(move || {
            let count = count.clone();
            async move {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let mut h = HeaderMap::new();
                if headers {
                    h.insert("x-ratelimit-limit", HeaderValue::from_static("100"));
                }
                match limit {
                    Some(l) if n > l => {
                        h.insert("retry-after", HeaderValue::from_static("1"));
                        (StatusCode::TOO_MANY_REQUESTS, h, "slow down").into_response()
                    }
                    _ => (StatusCode::OK, h, "ok").into_response(),
                }
            }
        }),
    )
}

#[tokio::test]
async fn rate_limit_seen_after_n_requests() {
    let base = serve(limiter(Some(5), false)).await;
    let spec: RateLimitSpec =
        toml::from_str(&format!("url = \"{base}/api\"\nrequests = 20\nwithin = \"10s\"")).unwrap();
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(o.summary, format!("GET {base}/api answered 429 after 6 requests, Retry-After: 1"));
    assert_eq!(o.measurement("requests_sent").unwrap().value, 6.0);
    assert_eq!(o.evidence.get("statuses"), Some("200×5, 429×1"));
}

#[tokio::test]
async fn rate_limit_headers_count_as_configured() {
    let base = serve(limiter(None, true)).await;
    let o = ok(check(&RateLimitSpec::new(format!("{base}/api"), 20).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(o.summary, format!("GET {base}/api advertises a rate limit after 1 requests (X-RateLimit-Limit: 100)"));
}

#[tokio::test]
async fn no_rate_limit_fails_with_the_count() {
    let base = serve(limiter(None, false)).await;
    let o = ok(check(&RateLimitSpec::new(format!("{base}/api"), 15).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.summary
            .starts_with(&format!("GET {base}/api: no 429 and no RateLimit/X-RateLimit header after 15 requests in ")),
        "{}",
        o.summary
    );
    assert_eq!(o.measurement("requests_sent").unwrap().value, 15.0);
}

#[tokio::test]
async fn rate_limit_burst_is_bounded() {
    let e = RateLimitSpec::new("http://x/", 5000).build_probe().unwrap_err();
    assert_eq!(e.message, "requests = 5000 is outside 1..=1000 (a burst is always bounded)");
    let e = RateLimitSpec::new("http://x/", 0).build_probe().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
    let mut s = RateLimitSpec::new("http://x/", 10);
    s.within = Duration::from_secs(3600);
    assert_eq!(s.build_probe().unwrap_err().message, "within = 1h is outside (0s, 1m]");
    // `requests` has no default: a burst must be sized in the config.
    assert!(toml::from_str::<RateLimitSpec>("url = \"http://x/\"").is_err());
}

// ---------------------------------------------------------------------------------------------
// input validation

fn validating(strict: bool) -> Router {
    Router::new().route(
        "/v1/infer",
        post(move |body: String| async move {
            match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(v) if v.get("prompt").is_some_and(serde_json::Value::is_string) => (StatusCode::OK, "done"),
                Ok(_) if strict => (StatusCode::UNPROCESSABLE_ENTITY, "prompt must be a string"),
                Err(_) if strict => (StatusCode::BAD_REQUEST, "bad json"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "panic: unwrap on None"),
            }
        }),
    )
}

const PAYLOADS: [&str; 3] = ["{not json", r#"{"prompt": 42}"#, "[]"];

#[tokio::test]
async fn input_validation_4xx_passes_listing_each_status() {
    let base = serve(validating(true)).await;
    let o = ok(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(
        o.summary,
        format!("POST {base}/v1/infer: all 3 malformed payloads rejected with 4xx (#1 400, #2 422, #3 422)")
    );
    assert_eq!(o.evidence.get("payload_1"), Some("400 for {not json"));
}

#[tokio::test]
async fn input_validation_5xx_fails_listing_each_status() {
    let base = serve(validating(false)).await;
    let o = ok(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.summary,
        format!(
            "POST {base}/v1/infer: 3 of 3 malformed payloads not rejected with 4xx: #1 got 500 (server error), \
             #2 got 500 (server error), #3 got 500 (server error) (all: #1 500, #2 500, #3 500)"
        )
    );
    let mut accepted = InputValidationSpec::new(format!("{base}/v1/infer"), [r#"{"prompt":"x","extra":1}"#]);
    accepted.content_type = "application/json".into();
    let o = ok(check(&accepted.build_probe().unwrap()).await);
    assert!(o.summary.contains("#1 got 200 (not rejected)"), "{}", o.summary);
}

// ---------------------------------------------------------------------------------------------
// CDN

fn assets() -> Router {
    Router::new()
        .route(
            "/cdn/app.js",
            get(|| async {
                (
                    [
                        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                        (header::AGE, "1200"),
                        (header::HeaderName::from_static("cf-cache-status"), "HIT"),
                    ],
                    "js",
                )
            }),
        )
        .route("/origin/app.js", get(|| async { ([(header::CACHE_CONTROL, "public, s-maxage=600")], "js") }))
        .route("/nocache/app.js", get(|| async { ([(header::CACHE_CONTROL, "no-store")], "js") }))
        .route("/bare/app.js", get(|| async { "js" }))
}

#[tokio::test]
async fn cdn_headers_present_pass() {
    let base = serve(assets()).await;
    let o = ok(check(&CdnSpec::new(format!("{base}/cdn/app.js")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(
        o.summary,
        format!(
            "{base}/cdn/app.js is cacheable (Cache-Control: public, max-age=31536000, immutable) and served through a \
             cache (Age: 1200, CF-Cache-Status: HIT)"
        )
    );
}

#[tokio::test]
async fn cdn_headers_absent_fail_or_warn() {
    let base = serve(assets()).await;
    let o = ok(check(&CdnSpec::new(format!("{base}/bare/app.js")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.summary, format!("{base}/bare/app.js is not cacheable: Cache-Control header missing"));
    let o = ok(check(&CdnSpec::new(format!("{base}/nocache/app.js")).build_probe().unwrap()).await);
    assert_eq!(
        o.summary,
        format!("{base}/nocache/app.js is not cacheable: Cache-Control `no-store` forbids shared caching (no-store)")
    );
    let o = ok(check(&CdnSpec::new(format!("{base}/origin/app.js")).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Warn);
    assert!(o.summary.ends_with("but no CDN header (Age, X-Cache, CF-Cache-Status, Via) was seen"), "{}", o.summary);
    let o = ok(check(&CdnSpec::new(format!("{base}/missing.js")).build_probe().unwrap()).await);
    assert_eq!(o.summary, format!("{base}/missing.js answered 404, expected 2xx for a static asset"));
}

// ---------------------------------------------------------------------------------------------
// debug endpoints

#[tokio::test]
async fn debug_endpoints_hidden_pass() {
    let router = Router::new()
        .route("/metrics", get(|| async { StatusCode::FORBIDDEN }))
        .route("/actuator", get(|| async { StatusCode::UNAUTHORIZED }));
    let base = serve(router).await;
    let spec: DebugEndpointsSpec = toml::from_str(&format!(
        r#"base_url = "{base}/"
paths = ["/debug/pprof/", "/metrics", "actuator"]"#
    ))
    .unwrap();
    let p = spec.build_probe().unwrap();
    assert_eq!(p.target(), format!("{base}/"));
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(
        o.summary,
        format!("none of 3 debug endpoints exposed on {base}/ (/debug/pprof/ 404, /metrics 403, actuator 401)")
    );
}

#[tokio::test]
async fn debug_endpoints_exposed_fail() {
    let router = Router::new()
        .route("/debug/pprof/", get(|| async { "profiles" }))
        .route("/actuator", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/login")]) }))
        .route("/login", get(|| async { "login page" }));
    let base = serve(router).await;
    let o = ok(check(&DebugEndpointsSpec::new(base.clone()).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    // /actuator redirects to the login page: protected, not exposed.
    assert_eq!(
        o.summary,
        format!("1 of 8 debug endpoints exposed on {base}/: /debug/pprof/ (200) (expected 401 or 403 or 404)")
    );
    let router = Router::new().route("/env", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/next")]) }));
    let base = serve(router).await;
    let mut spec = DebugEndpointsSpec::new(base.clone());
    spec.paths = vec!["/env".into()];
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(
        o.summary,
        format!("1 of 1 debug endpoints exposed on {base}/: /env (302) (expected 401 or 403 or 404)")
    );
}

// ---------------------------------------------------------------------------------------------
// OCI registry

const REGISTRY_TOKEN: &str = "registry-bearer-7f3a9c";

fn registry(base_for_realm: Arc<std::sync::OnceLock<String>>) -> Router {
    let realm = base_for_realm.clone();
    Router::new()
        .route(
            "/token",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                if q.get("service").map(String::as_str) == Some("test-registry")
                    && q.get("scope").map(String::as_str) == Some("repository:nexus/inference:pull")
                {
                    (StatusCode::OK, format!(r#"{{"token":"{REGISTRY_TOKEN}","expires_in":300}}"#))
                } else {
                    (StatusCode::BAD_REQUEST, format!("bad query {q:?}"))
                }
            }),
        )
        .route(
            "/v2/nexus/inference/manifests/{tag}",
            get(move |axum::extract::Path(tag): axum::extract::Path<String>, h: HeaderMap| {
                let realm = realm.get().cloned().unwrap_or_default();
                async move {
                    let authed = h
                        .get(header::AUTHORIZATION)
                        .is_some_and(|v| v.as_bytes() == format!("Bearer {REGISTRY_TOKEN}").as_bytes());
                    let accept = h.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !authed {
                        let challenge = format!(
                            r#"Bearer realm="{realm}/token",service="test-registry",scope="repository:nexus/inference:pull""#
                        );
                        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response();
                    }
                    if !accept.contains("application/vnd.oci.image.manifest.v1+json") {
                        return (StatusCode::NOT_ACCEPTABLE, "accept").into_response();
                    }
                    if tag != "v1.4.2" {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    (
                        StatusCode::OK,
                        [
                            ("docker-content-digest", "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
                            ("content-type", "application/vnd.oci.image.manifest.v1+json"),
                        ],
                    )
                        .into_response()
                }
            }),
        )
}

async fn serve_registry() -> String {
    let cell = Arc::new(std::sync::OnceLock::new());
    let base = serve(registry(cell.clone())).await;
    cell.set(base.clone()).unwrap();
    base
}

#[tokio::test]
async fn oci_image_pushed_through_bearer_flow() {
    let base = serve_registry().await;
    let spec: OciImageSpec =
        toml::from_str(&format!("registry = \"{base}\"\nrepository = \"nexus/inference\"\ntag = \"v1.4.2\"")).unwrap();
    let p = spec.build_probe().unwrap();
    assert_eq!(p.target(), format!("{base}/v2/nexus/inference/manifests/v1.4.2"));
    let o = ok(check(&p).await);
    // A registry over plain http is not authenticated: at best Warn (see the https test below).
    assert_eq!(o.verdict, Verdict::Warn, "{}", o.summary);
    assert_eq!(
        o.summary,
        "image nexus/inference:v1.4.2 is pushed, digest sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904 \
         (registry reached over plain http: its identity and the digest were not verified)"
    );
    assert_eq!(o.evidence.get("auth"), Some("anonymous bearer token"));
    assert_eq!(o.evidence.get("media_type"), Some("application/vnd.oci.image.manifest.v1+json"));
    assert!(!format!("{o:?}{p:?}").contains(REGISTRY_TOKEN));
}

#[tokio::test]
async fn oci_missing_tag_fails() {
    let base = serve_registry().await;
    let mut spec = OciImageSpec::new(base.clone(), "nexus/inference", "v9.9.9");
    spec.username = Some("ci".into());
    spec.password = Some(Secret::new("registry-password-xyz"));
    let p = spec.build_probe().unwrap();
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.summary,
        format!("image nexus/inference:v9.9.9 not found: {base}/v2/nexus/inference/manifests/v9.9.9 answered 404")
    );
    assert!(!format!("{spec:?}{p:?}{o:?}").contains("registry-password-xyz"));
}

#[tokio::test]
async fn oci_token_refused_is_permission_denied() {
    // A realm that refuses: the registry's challenge points at a scope the token endpoint rejects.
    let router = Router::new().route("/token", get(|| async { StatusCode::UNAUTHORIZED })).route(
        "/v2/app/manifests/{tag}",
        get(|h: HeaderMap| async move {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, format!(r#"Bearer realm="http://{host}/token""#))])
        }),
    );
    let base = serve(router).await;
    let e = err(check(&OciImageSpec::new(base.clone(), "app", "latest").build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(
        e.message,
        format!(
            "registry token endpoint {base}/token?scope=repository%3Aapp%3Apull refused a pull token for app (401)"
        )
    );
}

// ---------------------------------------------------------------------------------------------
// monitoring and logging stacks

fn stack(es_status: &'static str, grafana_db: &'static str, loki_ready: bool) -> Router {
    Router::new()
        .route("/-/ready", get(|| async { "Prometheus Server is Ready.\n" }))
        .route(
            "/api/health",
            get(move || async move { format!(r#"{{"commit":"abc","database":"{grafana_db}","version":"11.2.0"}}"#) }),
        )
        .route(
            "/ready",
            get(move || async move {
                if loki_ready {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "Ingester not ready: waiting for 15s after being ready")
                }
            }),
        )
        .route(
            "/_cluster/health",
            get(move || async move {
                format!(r#"{{"cluster_name":"logs","status":"{es_status}","unassigned_shards":3}}"#)
            }),
        )
}

#[tokio::test]
async fn monitoring_stack_ready_and_not() {
    let base = serve(stack("green", "ok", true)).await;
    let spec: MonitoringSpec =
        toml::from_str(&format!("prometheus_url = \"{base}\"\ngrafana_url = \"{base}/\"")).unwrap();
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass);
    assert_eq!(
        o.summary,
        format!(
            "monitoring stack ready: prometheus {base}/-/ready answered 200; grafana {base}/api/health database ok, version 11.2.0"
        )
    );
    let bad = serve(stack("green", "failing", true)).await;
    let mut spec = MonitoringSpec::new();
    spec.grafana_url = Some(bad.clone());
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.summary,
        format!("monitoring stack not ready: grafana {bad}/api/health database is `failing`, expected `ok`")
    );
    assert_eq!(MonitoringSpec::new().build_probe().unwrap_err().message, "not configured: set prometheus_url");
}

#[tokio::test]
async fn log_aggregation_green_yellow_red() {
    for (status, verdict) in [("green", Verdict::Pass), ("yellow", Verdict::Warn), ("red", Verdict::Fail)] {
        let base = serve(stack(status, "ok", true)).await;
        let mut spec = LogAggregationSpec::new();
        spec.elasticsearch_url = Some(base.clone());
        let o = ok(check(&spec.build_probe().unwrap()).await);
        assert_eq!(o.verdict, verdict, "{}", o.summary);
        assert!(
            o.summary.ends_with(&format!(
                "elasticsearch {base}/_cluster/health cluster health is {status}, 3 unassigned shards"
            )),
            "{}",
            o.summary
        );
    }
    let base = serve(stack("green", "ok", false)).await;
    let mut spec = LogAggregationSpec::new();
    spec.loki_url = Some(base.clone());
    spec.elasticsearch_url = Some(base.clone());
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.summary.starts_with(&format!(
            "log aggregation not ready: loki {base}/ready answered 503: Ingester not ready: waiting for 15s"
        )),
        "{}",
        o.summary
    );
    let base = serve(stack("green", "ok", true)).await;
    let mut spec = LogAggregationSpec::new();
    spec.loki_url = Some(base.clone());
    assert_eq!(ok(check(&spec.build_probe().unwrap()).await).verdict, Verdict::Pass);
}

#[tokio::test]
async fn logs_appearing_counts_entries_in_the_window() {
    let router = Router::new()
        .route(
            "/loki/api/v1/query_range",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                // Entries exist only in the window that ends at 12:00.
                let n = if q.get("end").map(String::as_str) == Some("2026-03-01T12:00:00Z")
                    && q.get("start").map(String::as_str) == Some("2026-03-01T11:45:00Z")
                {
                    2
                } else {
                    0
                };
                let streams: Vec<String> =
                    (0..n).map(|i| format!(r#"{{"stream":{{"pod":"p{i}"}},"values":[["1","x"]]}}"#)).collect();
                format!(r#"{{"status":"success","data":{{"resultType":"streams","result":[{}]}}}}"#, streams.join(","))
            }),
        )
        .route(
            "/logs/_count",
            post(|body: String| async move {
                let n = if body.contains("1772366400000") { 57 } else { 0 };
                format!(r#"{{"count":{n}}}"#)
            }),
        );
    let base = serve(router).await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let cx = ProbeContext::new().with_clock(Arc::new(clock.clone()));
    let spec: LogsAppearingSpec = toml::from_str(&format!(
        r#"url = "{base}/loki/api/v1/query_range?query=%7Bapp%3D%22nexus%22%7D&start={{start}}&end={{end}}"
pointer = "/data/result"
window = "15m""#
    ))
    .unwrap();
    let p = spec.build_probe().unwrap();
    let o = p.check(&cx).await.unwrap();
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert!(o.summary.starts_with("2 log entries in the last 15m (/data/result at "), "{}", o.summary);
    assert_eq!(o.measurement("log_entries").unwrap().value, 2.0);

    clock.advance(Duration::from_secs(3600));
    let o = p.check(&cx).await.unwrap();
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.summary.starts_with("no log entries in the last 15m: /data/result is empty at "), "{}", o.summary);

    // Elasticsearch style: POST a body with {end} in unix ms, read a number.
    clock.set(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let mut es = LogsAppearingSpec::new(format!("{base}/logs/_count"), "/count");
    es.method = "POST".into();
    es.time_format = TimeFormat::UnixMs;
    es.body = Some(r#"{"query":{"range":{"@timestamp":{"gte":{start},"lte":{end}}}}}"#.into());
    let o = es.build_probe().unwrap().check(&cx).await.unwrap();
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert!(o.summary.starts_with("57 log entries in the last 15m"), "{}", o.summary);

    let mut wrong = LogsAppearingSpec::new(format!("{base}/logs/_count"), "/hits");
    wrong.method = "POST".into();
    let e = wrong.build_probe().unwrap().check(&cx).await.unwrap_err();
    assert_eq!(e.message, format!("log query {base}/logs/_count answered json without /hits"));
}

#[tokio::test]
async fn document_reachable() {
    let router = Router::new().route("/runbook", get(|| async { "# Nexus runbook\n## Rollback\n" }));
    let base = serve(router).await;
    let mut spec = DocumentSpec::new(format!("{base}/runbook"));
    spec.body_contains = Some("Rollback".into());
    assert_eq!(DocumentSpec::KIND, "http-document");
    assert_eq!(ok(check(&*spec.build(&BuildContext::detached()).unwrap()).await).verdict, Verdict::Pass);
    let o = ok(check(&*DocumentSpec::new(format!("{base}/gone")).build(&BuildContext::detached()).unwrap()).await);
    assert_eq!(o.summary, format!("GET {base}/gone: answered 404, expected 2xx"));
}

#[test]
fn specs_are_send_sync_and_have_schemas() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HttpProbe>();
    assert_send_sync::<OciImageProbe>();
    let schema = schemars::schema_for!(HttpSpec);
    let text = serde_json::to_string(&schema).unwrap();
    assert!(text.contains("secret_headers") && text.contains("max_body_bytes"));
    // Unknown fields are refused.
    assert!(toml::from_str::<HttpSpec>("url = \"http://x/\"\nurll = 1").is_err());
    assert!(toml::from_str::<HttpSpec>("url = \"http://x/\"\n[client]\ntimeot = \"1s\"").is_err());
}

// ---------------------------------------------------------------------------------------------
// HTTPS with a real rustls server and an rcgen CA

mod tls {
    use std::sync::Arc;

    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// Accepts TCP connections and completes TLS handshakes; failed handshakes are dropped.
    pub(super) struct TlsListener {
        tcp: TcpListener,
        acceptor: TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = tokio_rustls::server::TlsStream<TcpStream>;
        type Addr = std::net::SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((stream, addr)) = self.tcp.accept().await else { continue };
                if let Ok(tls) = self.acceptor.accept(stream).await {
                    return (tls, addr);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            self.tcp.local_addr()
        }
    }

    /// A CA and a `localhost` / `127.0.0.1` leaf signed by it; returns (CA PEM, listener).
    pub(super) async fn listener() -> (String, TlsListener) {
        listener_with(|_| {}).await
    }

    /// As [`listener`], with the leaf's parameters edited first (validity period...).
    pub(super) async fn listener_with(edit: impl FnOnce(&mut rcgen::CertificateParams)) -> (String, TlsListener) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "nexus-readiness test ca");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        edit(&mut leaf_params);
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        // reqwest (feature `http`) enables rustls' aws-lc-rs provider; the server uses it too.
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        (ca_cert.pem(), TlsListener { tcp, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }
}

#[tokio::test]
async fn https_verification_fails_without_the_ca_and_passes_with_it() {
    let (ca_pem, listener) = tls::listener().await;
    let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
    let router = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let url = format!("https://localhost:{port}/healthz");

    // Default: verification on, the test CA is unknown.
    let e = err(check(&HttpSpec::new(url.clone()).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Protocol, "{e}");
    assert_eq!(
        e.message,
        format!(
            "tls handshake with localhost:{port} failed ({url}): unknown issuer: the chain of localhost does not lead \
             to a trusted root (self-signed, a private CA missing from the trusted roots, or a missing intermediate)"
        )
    );

    // With the CA file configured, it verifies.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let mut spec = HttpSpec::new(url.clone());
    spec.client.ca_file = Some(ca_file.clone());
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert_eq!(o.evidence.get("tls_verification"), None);

    // Insecure: unverified trust is at best Warn, the reason in the summary, a loud note.
    let mut spec = HttpSpec::new(url.clone());
    spec.client.insecure = true;
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Warn, "{}", o.summary);
    assert!(o.summary.ends_with(" (server certificate not verified: insecure = true)"), "{}", o.summary);
    assert!(o.evidence.get("tls_verification").unwrap().starts_with("DISABLED by insecure = true"));

    // A file that is not PEM is a misconfiguration.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let mut spec = HttpSpec::new(url);
    spec.client.ca_file = Some(ca_file.clone());
    let e = spec.build_probe().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
    assert!(e.message.contains("ca.pem holds no"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The fault table of issue #15, rerun: answers from something in front of what a probe tests
// (a limiter, an auth layer, a failing gateway, a login page) are "could not look" (Error),
// never a verdict.

/// An nginx-style `limit_req` (`burst=N nodelay`, `limit_req_status 429`) in front of `inner`:
/// the first `burst` requests pass, every later one gets 429 with `Retry-After`, whatever the path.
fn behind_limiter(inner: Router, burst: u32) -> Router {
    let count = Arc::new(AtomicU32::new(0));
    inner.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let count = count.clone();
        async move {
            if count.fetch_add(1, Ordering::SeqCst) >= burst {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "1")],
                    "<html>429 Too Many Requests</html>",
                )
                    .into_response();
            }
            next.run(req).await
        }
    }))
}

/// An nginx-style reverse proxy whose upstream is down: 502 for authenticated requests (they are
/// proxied), 401 for the rest (`auth_request` answers those itself).
fn gateway_with_backend_down() -> Router {
    Router::new().fallback(|h: HeaderMap| async move {
        let good =
            h.get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == format!("Bearer {API_TOKEN}").as_bytes());
        if good {
            (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>")
        } else {
            (StatusCode::UNAUTHORIZED, "<html>401 Authorization Required</html>")
        }
    })
}

#[tokio::test]
async fn fault_input_validation_behind_a_429_limiter_is_an_error() {
    // Before the fix: `all 3 malformed payloads rejected with 4xx (#1 429, #2 429, #3 429)`, Pass.
    let base = serve(behind_limiter(validating(true), 0)).await;
    let e = err(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert_eq!(
        e.message,
        format!(
            "POST {base}/v1/infer: payload #1: {base}/v1/infer answered 429 Too Many Requests, Retry-After: 1: rate \
             limited before the request reached the validator, so it could not look (2 of 3 payloads not sent)"
        )
    );
    // The limiter kicks in after one payload: still an Error, the first answer is no verdict on the rest.
    let base = serve(behind_limiter(validating(true), 1)).await;
    let e = err(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert!(e.message.starts_with(&format!("POST {base}/v1/infer: payload #2: {base}/v1/infer answered 429")), "{e}");
    assert!(e.message.ends_with("(1 of 3 payloads not sent)"), "{e}");
    // A payload the validator accepted before the limiter answered is still a Fail.
    let base = serve(behind_limiter(validating(false), 1)).await;
    let o = ok(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.summary.contains("#1 got 500 (server error), then could not look: payload #2:"), "{}", o.summary);
}

#[tokio::test]
async fn fault_input_validation_behind_auth_gateway_or_login_is_an_error() {
    // Wrong credentials: 401 from the auth layer.
    let base = serve(auth_router(true)).await;
    let mut spec = InputValidationSpec::new(format!("{base}/api/models"), PAYLOADS);
    spec.method = "GET".into();
    spec.client.secret_headers.insert("Authorization".into(), Secret::new("Bearer wrong-token"));
    let e = err(check(&spec.build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
    assert!(e.message.contains("answered 401 Unauthorized: the credentials the probe sent were rejected"), "{e}");
    // No credentials configured: the endpoint needs some.
    spec.client.secret_headers.clear();
    let e = err(check(&spec.build_probe().unwrap()).await);
    assert!(e.message.contains("answered 401 Unauthorized: it needs credentials the probe does not send"), "{e}");
    // A gateway whose backend is down.
    let base = serve(gateway_with_backend_down()).await;
    let mut spec = InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS);
    spec.client.secret_headers.insert("Authorization".into(), Secret::new(format!("Bearer {API_TOKEN}")));
    let e = err(check(&spec.build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert!(
        e.message.contains(
            "answered 502 Bad Gateway: the service behind it is failing, so the request never reached the validator"
        ),
        "{e}"
    );
    // A wrong path: 404 is no validation.
    let base = serve(validating(true)).await;
    let e = err(check(&InputValidationSpec::new(format!("{base}/v2/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::NotFound);
    assert!(e.message.contains("answered 404 Not Found: wrong url or method"), "{e}");
    // A redirect to a login page (not followed here, and followed).
    let router = Router::new()
        .route("/v1/infer", post(|| async { (StatusCode::FOUND, [(header::LOCATION, "/auth/login?next=/v1/infer")]) }))
        .route("/auth/login", get(|| async { "<form><input type=password></form>" }));
    let base = serve(router).await;
    for follow in [0, 10] {
        let mut spec = InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS);
        spec.client.follow_redirects = follow;
        let e = err(check(&spec.build_probe().unwrap()).await);
        assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
        assert!(e.message.contains(&format!("redirected to the login page {base}/auth/login?next=/v1/infer")), "{e}");
    }
}

#[tokio::test]
async fn fault_auth_with_the_backend_down_is_an_error_not_credentials_rejected() {
    // Before the fix: `with credentials it answered 502, expected 2xx (credentials rejected)`, Fail.
    let base = serve(gateway_with_backend_down()).await;
    let e =
        err(check(&AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert_eq!(
        e.message,
        format!(
            "GET {base}/api/models: with credentials: {base}/api/models answered 502: the service is failing, so \
             whether valid credentials are accepted could not be seen"
        )
    );
    assert!(!e.message.contains("credentials rejected"));
    // A limiter in front: the anonymous request's 429 is no verdict on authentication either.
    let base = serve(behind_limiter(auth_router(true), 0)).await;
    let e =
        err(check(&AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap()).await);
    assert!(e.message.contains("without credentials: "), "{e}");
    assert!(e.message.contains("answered 429 Too Many Requests, Retry-After: 1"), "{e}");
    // Authentication not enforced stays a Fail, even when the other half could not look.
    let router = Router::new().route(
        "/api/models",
        get(|h: HeaderMap| async move {
            if h.contains_key(header::AUTHORIZATION) { StatusCode::BAD_GATEWAY } else { StatusCode::OK }
        }),
    );
    let base = serve(router).await;
    let o =
        ok(check(&AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.summary.contains("without credentials it answered 200, expected 401 or 403 (authentication not enforced)")
    );
    assert!(o.summary.contains("; could not look with credentials: "), "{}", o.summary);
    // A login redirect without credentials is authentication enforced.
    let router = Router::new().route(
        "/app",
        get(|h: HeaderMap| async move {
            if h.contains_key(header::AUTHORIZATION) {
                StatusCode::OK.into_response()
            } else {
                (StatusCode::FOUND, [(header::LOCATION, "https://sso.example.com/oauth2/authorize")]).into_response()
            }
        }),
    );
    let base = serve(router).await;
    let mut spec = AuthSpec::new(format!("{base}/app"), Secret::new(API_TOKEN));
    spec.client.follow_redirects = 0;
    assert_eq!(ok(check(&spec.build_probe().unwrap()).await).verdict, Verdict::Pass);
}

#[tokio::test]
async fn fault_rate_limit_burst_answered_by_auth_or_gateway_is_an_error() {
    let base = serve(auth_router(true)).await;
    let e = err(check(&RateLimitSpec::new(format!("{base}/api/models"), 10).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
    assert!(e.message.contains("10 requests without a 429 or rate-limit header, but answered 401×10"), "{e}");
    let base = serve(gateway_with_backend_down()).await;
    let mut spec = RateLimitSpec::new(format!("{base}/api"), 5);
    spec.client.secret_headers.insert("Authorization".into(), Secret::new(format!("Bearer {API_TOKEN}")));
    let e = err(check(&spec.build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert!(e.message.contains("answered 502×5"), "{e}");
}

#[tokio::test]
async fn fault_endpoint_health_cdn_and_debug_paths_behind_a_limiter_are_errors() {
    let base = serve(behind_limiter(endpoint_router().merge(assets()), 0)).await;
    let e = err(check(&HttpSpec::new(format!("{base}/ok")).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable);
    assert!(e.message.starts_with(&format!("{base}/ok answered 429 Too Many Requests, Retry-After: 1")), "{e}");
    let e = err(check(&HealthSpec::new([format!("{base}/ok")]).build_probe().unwrap()).await);
    assert!(e.message.contains("answered 429"), "{e}");
    let e = err(check(&CdnSpec::new(format!("{base}/cdn/app.js")).build_probe().unwrap()).await);
    assert!(e.message.contains("rate limited before the request reached the asset"), "{e}");
    let e = err(check(&DebugEndpointsSpec::new(base.clone()).build_probe().unwrap()).await);
    assert!(e.message.starts_with("8 of 8 debug endpoints could not be checked: "), "{e}");
    // A 429 the endpoint is expected to answer is a verdict.
    let mut s = HttpSpec::new(format!("{base}/ok"));
    s.expect_status = vec![StatusPattern::Code(429)];
    assert_eq!(ok(check(&s.build_probe().unwrap()).await).verdict, Verdict::Pass);
    // A health endpoint whose redirect chain ends on a login page did not look at the service.
    let router = Router::new()
        .route("/healthz", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/login")]) }))
        .route("/login", get(|| async { "sign in" }));
    let base = serve(router).await;
    let e = err(check(&HealthSpec::new([format!("{base}/healthz")]).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied);
    assert!(e.message.contains(&format!("was redirected to the login page {base}/login")), "{e}");
    // With credentials configured, a 401 means they are wrong.
    let base = serve(auth_router(true)).await;
    let mut s = HttpSpec::new(format!("{base}/api/models"));
    s.client.secret_headers.insert("Authorization".into(), Secret::new("Bearer stale"));
    let e = err(check(&s.build_probe().unwrap()).await);
    assert!(e.message.contains("the credentials the probe sent were rejected"), "{e}");
    // A 5xx of a health endpoint is the verdict: the service is unhealthy.
    let base = serve(gateway_with_backend_down()).await;
    let mut s = HttpSpec::new(format!("{base}/healthz"));
    s.client.secret_headers.insert("Authorization".into(), Secret::new(format!("Bearer {API_TOKEN}")));
    assert_eq!(ok(check(&s.build_probe().unwrap()).await).verdict, Verdict::Fail);
}

#[tokio::test]
async fn unverified_trust_is_at_best_warn_on_every_http_kind() {
    // Plain-http servers with `insecure = true`: no certificate was verified, so never a Pass.
    let base = serve(auth_router(true).merge(validating(true)).merge(assets()).merge(limiter(Some(2), false))).await;
    let insecure = || {
        let mut c = ClientOptions::default();
        c.insecure = true;
        c
    };
    let why = " (server certificate not verified: insecure = true)";
    let mut auth = AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN));
    auth.client = insecure();
    let mut iv = InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS);
    iv.client = insecure();
    let mut cdn = CdnSpec::new(format!("{base}/cdn/app.js"));
    cdn.client = insecure();
    let mut rl = RateLimitSpec::new(format!("{base}/api"), 5);
    rl.client = insecure();
    let mut health = HealthSpec::new([format!("{base}/cdn/app.js")]);
    health.client = insecure();
    let mut doc = DocumentSpec::new(format!("{base}/cdn/app.js"));
    doc.client = insecure();
    let probes: Vec<(&str, Arc<dyn Probe>)> = vec![
        ("http-auth", auth.build(&BuildContext::detached()).unwrap()),
        ("http-input-validation", iv.build(&BuildContext::detached()).unwrap()),
        ("http-cdn", cdn.build(&BuildContext::detached()).unwrap()),
        ("http-rate-limit", rl.build(&BuildContext::detached()).unwrap()),
        ("http-health", health.build(&BuildContext::detached()).unwrap()),
        ("http-document", doc.build(&BuildContext::detached()).unwrap()),
    ];
    for (kind, p) in probes {
        let o = ok(check(p.as_ref()).await);
        assert_eq!(o.verdict, Verdict::Warn, "{kind}: {}", o.summary);
        assert!(o.summary.ends_with(why), "{kind}: {}", o.summary);
        assert!(o.evidence.get("tls_verification").is_some(), "{kind}");
    }
}

#[tokio::test]
async fn oci_registry_over_verified_https_passes_and_insecure_warns() {
    let (ca_pem, listener) = tls::listener().await;
    let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
    let base = format!("https://localhost:{port}");
    let cell = Arc::new(std::sync::OnceLock::new());
    cell.set(base.clone()).unwrap();
    let router = registry(cell);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let mut spec = OciImageSpec::new(base.clone(), "nexus/inference", "v1.4.2");
    spec.client.ca_file = Some(ca_file);
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    assert_eq!(
        o.summary,
        "image nexus/inference:v1.4.2 is pushed, digest sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    let mut spec = OciImageSpec::new(base, "nexus/inference", "v1.4.2");
    spec.client.insecure = true;
    let o = ok(check(&spec.build_probe().unwrap()).await);
    assert_eq!(o.verdict, Verdict::Warn, "{}", o.summary);
    assert!(o.summary.ends_with("(registry certificate not verified: insecure = true)"), "{}", o.summary);
}

#[tokio::test]
async fn fault_expired_certificate_under_an_http_probe_reads_like_the_tls_backend() {
    // Before the fix: `... invalid peer certificate: certificate expired: verification time 1795995495 (UNIX), ...`.
    let (ca_pem, listener) = tls::listener_with(|p| {
        p.not_before = rcgen::date_time_ymd(2024, 1, 1);
        p.not_after = rcgen::date_time_ymd(2025, 1, 1);
    })
    .await;
    let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().route("/healthz", get(|| async { "ok" }))).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let mut spec = HttpSpec::new(url.clone());
    spec.client.ca_file = Some(ca_file);
    let e = err(check(&spec.build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Protocol);
    let prefix = format!(
        "tls handshake with localhost:{port} failed ({url}): certificate for localhost expired on 2025-01-01 ("
    );
    assert!(e.message.starts_with(&prefix), "{e}");
    assert!(e.message.ends_with(" days ago)"), "{e}");
    assert!(!e.message.contains("UNIX"), "{e}");
    // Without the CA, rustls reports the expiry first: the same words.
    let e = err(check(&HttpSpec::new(url).build_probe().unwrap()).await);
    assert!(e.message.starts_with(&prefix), "{e}");
}

/// The same faulty servers through the TLS backend and through an HTTP probe: the same words.
#[cfg(feature = "tls")]
#[tokio::test]
async fn http_and_tls_backends_explain_certificate_faults_alike() {
    use nexus_readiness::probes::tls::TlsProbe;
    type Edit = fn(&mut rcgen::CertificateParams);
    let faults: [(&str, Edit); 2] = [
        ("expired", |p| {
            p.not_before = rcgen::date_time_ymd(2024, 1, 1);
            p.not_after = rcgen::date_time_ymd(2025, 1, 1);
        }),
        ("wrong host", |p| {
            p.subject_alt_names = vec![rcgen::SanType::DnsName("other.test".try_into().unwrap())];
        }),
    ];
    for (fault, edit) in faults {
        let (ca_pem, listener) = tls::listener_with(edit).await;
        let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, Router::new().route("/healthz", get(|| async { "ok" }))).await;
        });
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).unwrap();
        let tls = TlsProbe::builder("localhost", port)
            .ip(std::net::Ipv4Addr::LOCALHOST.into())
            .ca_file(ca_file.clone())
            .build()
            .unwrap();
        let obs = ok(check(&tls).await);
        assert_eq!(obs.verdict, Verdict::Fail, "{fault}: {}", obs.summary);
        let mut spec = HttpSpec::new(format!("https://localhost:{port}/healthz"));
        spec.client.ca_file = Some(ca_file);
        let e = err(check(&spec.build_probe().unwrap()).await);
        assert!(
            e.message.ends_with(&format!("): {}", obs.summary)),
            "{fault}: tls said `{}`, http said `{e}`",
            obs.summary
        );
    }
}

/// A real nginx (Debian's `nginx-light`) on a free loopback port, stopped on drop.
struct Nginx {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nginx with `server` (an nginx `server` block body; `PORT` is replaced by its port),
/// or `None` when nginx is not installed (a failure under `CI=true`).
async fn nginx(http_extra: &str, server: &str) -> Option<(Nginx, String)> {
    let bin = common::require_binary("nginx")?;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log stderr;\nevents {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n \
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n {http_extra}\n \
         server {{\n  listen 127.0.0.1:{port};\n  {}\n }}\n}}\n",
        server.replace("PORT", &port.to_string())
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = std::process::Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg("stderr")
        .arg("-c")
        .arg(&conf_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx { child, _dir: dir };
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "nginx did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some((nginx, format!("http://127.0.0.1:{port}")))
}

/// The fault table against a real nginx: `limit_req` (429) in front of the validator, and a
/// proxy whose upstream is down (502) behind an auth check.
#[tokio::test]
async fn fault_table_against_a_real_nginx() {
    let upstream = serve(validating(true)).await;
    let down = format!("127.0.0.1:{}", common::free_port());
    let Some((_nginx, base)) = nginx(
        "limit_req_zone $binary_remote_addr zone=api:1m rate=1r/m;",
        &format!(
            "location /v1/ {{ limit_req zone=api; limit_req_status 429; proxy_pass {upstream}; }}\n  \
             location /api/ {{ if ($http_authorization != \"Bearer {API_TOKEN}\") {{ return 401; }} proxy_pass http://{down}; }}"
        ),
    )
    .await
    else {
        return;
    };
    // limit_req at 1r/m: the first payload reaches the validator (400), the second gets nginx's 429.
    let e = err(check(&InputValidationSpec::new(format!("{base}/v1/infer"), PAYLOADS).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert_eq!(
        e.message,
        format!(
            "POST {base}/v1/infer: payload #2: {base}/v1/infer answered 429 Too Many Requests: rate limited before the \
             request reached the validator, so it could not look (1 of 3 payloads not sent)"
        )
    );
    // The backend down: 401 without credentials, 502 with valid ones.
    let e =
        err(check(&AuthSpec::new(format!("{base}/api/models"), Secret::new(API_TOKEN)).build_probe().unwrap()).await);
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert_eq!(
        e.message,
        format!(
            "GET {base}/api/models: with credentials: {base}/api/models answered 502: the service is failing, so \
             whether valid credentials are accepted could not be seen"
        )
    );
}

/// The builders make the probes the specs make, against a real server.
#[tokio::test]
async fn builders_make_the_probes_the_specs_make() {
    let router =
        Router::new().route("/healthz", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) })).route(
            "/lag",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(120)).await;
                "ok"
            }),
        );
    let base = serve(router).await;
    let p = HttpProbe::builder(format!("{base}/healthz")).json_pointer("/status").json_equals("ok").build().unwrap();
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Pass, "{}", o.summary);
    let p = HttpProbe::builder(format!("{base}/healthz")).json_pointer("/status").json_equals("down").build().unwrap();
    assert_eq!(ok(check(&p).await).verdict, Verdict::Fail);
    let p = HttpProbe::builder(format!("{base}/lag"))
        .warn_latency(Duration::from_millis(10))
        .max_latency(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(ok(check(&p).await).verdict, Verdict::Warn);
    let e = HttpProbe::builder(format!("{base}/lag"))
        .max_latency(Duration::from_millis(5))
        .warn_latency(Duration::from_millis(50))
        .build()
        .unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);

    let p = HealthProbe::builder([format!("{base}/healthz"), format!("{base}/missing")]).build().unwrap();
    let o = ok(check(&p).await);
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(o.summary.starts_with("1 of 2 failed: "), "{}", o.summary);
    assert_eq!(HealthProbe::builder(Vec::<String>::new()).build().unwrap_err().kind, ProbeErrorKind::NotConfigured);
}

/// Every HTTP item probe has a builder; each builds what its spec builds (checked on a real
/// server) and refuses what its spec refuses.
#[tokio::test]
async fn item_probe_builders_agree_with_their_specs() {
    let router = Router::new()
        .route(
            "/api",
            get(|headers: axum::http::HeaderMap| async move {
                if headers.get("authorization").is_some() { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
            }),
        )
        .route("/asset.js", get(|| async { ([("cache-control", "public, max-age=600")], "x") }));
    let base = serve(router).await;
    let token = Secret::new("sk-builder-0123456789");
    let p = AuthProbe::builder(format!("{base}/api"), token.clone()).build().unwrap();
    let spec = AuthSpec::new(format!("{base}/api"), token);
    assert_eq!(ok(check(&p).await).verdict, ok(check(&spec.build_probe().unwrap()).await).verdict);
    assert_eq!(ok(check(&p).await).verdict, Verdict::Pass);
    assert!(!format!("{p:?}").contains("sk-builder"), "{p:?}");

    let p = CdnProbe::builder(format!("{base}/asset.js")).build().unwrap();
    let spec = CdnSpec::new(format!("{base}/asset.js"));
    assert_eq!(ok(check(&p).await).summary, ok(check(&spec.build_probe().unwrap()).await).summary);

    let p = DebugEndpointsProbe::builder(base.clone()).paths(["/debug/pprof/"]).build().unwrap();
    assert_eq!(ok(check(&p).await).verdict, Verdict::Pass);

    assert_eq!(
        RateLimitProbe::builder(format!("{base}/api"), 5_000).build().unwrap_err().kind,
        ProbeErrorKind::Misconfigured
    );
    assert!(RateLimitProbe::builder(format!("{base}/api"), 5).within(Duration::from_secs(2)).build().is_ok());
    assert!(InputValidationProbe::builder(format!("{base}/api"), ["{not json"]).method("PUT").build().is_ok());
}

#[test]
fn observability_and_registry_builders_refuse_what_their_specs_refuse() {
    let e = MonitoringProbe::builder().build().unwrap_err();
    assert_eq!((e.kind, e.config_key.as_deref()), (ProbeErrorKind::NotConfigured, Some("prometheus_url")));
    assert!(MonitoringProbe::builder().prometheus_url("http://127.0.0.1:9090").build().is_ok());
    let e = LogAggregationProbe::builder().build().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::NotConfigured);
    assert!(LogAggregationProbe::builder().loki_url("http://127.0.0.1:3100").build().is_ok());
    let e = LogsAppearingProbe::builder("http://127.0.0.1:3100/q", "data").build().unwrap_err();
    assert_eq!(e.message, "pointer `data` must start with `/`");
    let e = LogsAppearingProbe::builder("http://127.0.0.1:3100/q", "/data").window(Duration::ZERO).build().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
    let token = Secret::new("oci-builder-secret-0123");
    let p = OciImageProbe::builder("127.0.0.1:5000", "nexus/inference", "v1")
        .username("ci")
        .password(token)
        .build()
        .unwrap();
    assert!(!format!("{p:?}").contains("oci-builder-secret"), "{p:?}");
    assert_eq!(OciImageProbe::builder("ghcr.io", "", "v1").build().unwrap_err().kind, ProbeErrorKind::NotConfigured);
}
