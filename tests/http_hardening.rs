//! Hardening of the http backend (issue 16): redirects keep credentials with their origin and
//! never downgrade to http, registry token realms are https, and secrets in URLs appear in no
//! report format, error or `trace` log.
#![cfg(feature = "http")]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use nexus_readiness::builtin;
use nexus_readiness::config::Config;
use nexus_readiness::model::Phase;
use nexus_readiness::probe::{Probe, ProbeContext, ProbeErrorKind, Secret, Verdict};
use nexus_readiness::probes::http::{HttpKind, HttpSpec, OciImageSpec, StatusPattern};
use nexus_readiness::report::Format;

mod common;

const CANARY: &str = "canary-52b1d0e7/+SECRET";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// The headers each request brought, in order.
type Seen = Arc<Mutex<Vec<HeaderMap>>>;

fn recording(seen: Seen, answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static) -> Router {
    Router::new().fallback(move |h: HeaderMap| {
        let seen = seen.clone();
        let answer = answer.clone();
        async move {
            seen.lock().unwrap().push(h);
            answer()
        }
    })
}

fn redirect_to(location: String) -> impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static {
    move || (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
}

#[tokio::test]
async fn secret_headers_do_not_follow_a_redirect_to_another_origin() {
    let other_seen: Seen = Arc::default();
    let other = serve(recording(other_seen.clone(), || "ok".into_response())).await;
    let first_seen: Seen = Arc::default();
    let first = serve(recording(first_seen.clone(), redirect_to(format!("{other}/landing")))).await;

    let mut spec = HttpSpec::new(format!("{first}/start"));
    spec.client.secret_headers.insert("X-Api-Key".into(), Secret::new(CANARY));
    let obs = spec.build_probe().unwrap().check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    let first_seen = first_seen.lock().unwrap();
    assert_eq!(first_seen[0].get("x-api-key").map(|v| v.as_bytes()), Some(CANARY.as_bytes()));
    let other_seen = other_seen.lock().unwrap();
    assert_eq!(other_seen.len(), 1, "the redirect was followed");
    assert!(other_seen[0].get("x-api-key").is_none(), "{:?}", other_seen[0]);
    assert!(other_seen[0].get(header::AUTHORIZATION).is_none());
}

#[tokio::test]
async fn secret_headers_follow_a_redirect_within_the_origin() {
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let router =
        Router::new().route("/start", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/landing")]) })).route(
            "/landing",
            get(move |h: HeaderMap| {
                let seen = seen2.clone();
                async move {
                    seen.lock().unwrap().push(h);
                    "ok"
                }
            }),
        );
    let base = serve(router).await;
    let mut spec = HttpSpec::new(format!("{base}/start"));
    spec.client.secret_headers.insert("X-Api-Key".into(), Secret::new(CANARY));
    let obs = spec.build_probe().unwrap().check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(seen.lock().unwrap()[0].get("x-api-key").map(|v| v.as_bytes()), Some(CANARY.as_bytes()));
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_refused() {
    let http_seen: Seen = Arc::default();
    let plain = serve(recording(http_seen.clone(), || "ok".into_response())).await;
    let (ca_pem, listener) = tls::listener().await;
    let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
    let router = recording(Arc::default(), redirect_to(format!("{plain}/landing")));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let mut spec = HttpSpec::new(format!("https://localhost:{port}/start"));
    spec.client.ca_file = Some(ca_file);
    spec.client.secret_headers.insert("X-Api-Key".into(), Secret::new(CANARY));
    let obs = spec.build_probe().unwrap().check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.contains("redirect from https to http refused (a downgrade)"), "{}", obs.summary);
    assert!(http_seen.lock().unwrap().is_empty(), "the http url was requested");
    // With redirects off, the 302 is the answer.
    let mut spec = HttpSpec::new(format!("https://localhost:{port}/start"));
    spec.client.ca_file = Some(dir.path().join("ca.pem"));
    spec.client.follow_redirects = 0;
    spec.expect_status = vec![StatusPattern::Code(302)];
    let obs = spec.build_probe().unwrap().check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
}

#[tokio::test]
async fn registry_token_realm_on_another_origin_must_be_https() {
    let realm_seen: Seen = Arc::default();
    let realm = serve(recording(realm_seen.clone(), || r#"{"token":"t"}"#.into_response())).await;
    let realm_for_registry = realm.clone();
    let registry =
        Router::new().fallback(move || {
            let realm = realm_for_registry.clone();
            async move {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, format!(r#"Bearer realm="{realm}/token""#))])
            }
        });
    let base = serve(registry).await;
    let mut spec = OciImageSpec::new(base.clone(), "app", "v1");
    spec.username = Some("ci".into());
    spec.password = Some(Secret::new(CANARY));
    let e = spec.build_probe().unwrap().check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Protocol, "{e}");
    assert!(e.message.contains(&format!("names the token realm {realm}/token, which is not https: refused")), "{e}");
    assert!(realm_seen.lock().unwrap().is_empty(), "credentials went to the http realm");
    // `insecure` allows it (and says so).
    let mut spec = OciImageSpec::new(base, "app", "v1");
    spec.client.insecure = true;
    let _ = spec.build_probe().unwrap().check(&ProbeContext::new()).await;
    assert_eq!(realm_seen.lock().unwrap().len(), 1);
}

#[test]
fn secrets_in_urls_appear_in_no_report_and_no_trace_log() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let base = rt.block_on(serve(Router::new().fallback(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") })));
    let host = base.trim_start_matches("http://");
    // The canary holds `/` and `+`: it is written percent-encoded in the URL.
    let enc = CANARY.replace('/', "%2F").replace('+', "%2B");
    let text = format!(
        r#"
[bindings."pre-deployment.infrastructure.monitoring-stack-deployed"]
kind = "http"
url = "http://ops:${{env:ENC}}@{host}/healthz?sig=${{env:ENC}}&X-Amz-Signature=${{env:ENC}}&code=${{env:ENC}}&page=1"
client.secret_headers = {{ X-Token = "${{env:PW}}" }}

[bindings."pre-deployment.infrastructure.log-aggregation-configured"]
kind = "http"
url = "http://{host}/ready?se=2030&sp=r&sv=2022&sig=${{env:ENC}}"
client.secret_headers = {{ Authorization = "${{env:ENC}}" }}
"#
    );
    let env = [("PW", CANARY.to_string()), ("ENC", enc.clone())];
    let config = Config::loader()
        .env_source(move |n| env.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()))
        .from_str(&text, "nexus.toml")
        .unwrap();
    let plan = config.plan(builtin::nexus()).unwrap();
    let capture = common::trace::capture();
    let report = rt.block_on(config.runner().phases([Phase::PreDeployment]).build().run(&plan));
    let item = report.item("pre-deployment.infrastructure.monitoring-stack-deployed").unwrap();
    assert!(item.reason.contains("answered 500"), "{}", item.reason);
    let rendered: String = Format::ALL.iter().map(|f| report.render(*f)).collect();
    let logs = capture.logs();
    assert!(rendered.contains(host), "{rendered}");
    assert!(logs.contains(host) && logs.contains("TRACE"), "the logs were captured: {logs}");
    for (what, text) in [("reports", &rendered), ("trace logs", &logs)] {
        for needle in [CANARY, enc.as_str(), &enc.to_lowercase(), "canary-52b1d0e7"] {
            assert!(!text.contains(needle), "{what} hold {needle}: {text}");
        }
    }
}

mod tls {
    use std::sync::Arc;

    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

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

    /// A CA and a `localhost` leaf signed by it; returns (CA PEM, listener).
    pub(super) async fn listener() -> (String, TlsListener) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "nexus-readiness test ca");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
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
