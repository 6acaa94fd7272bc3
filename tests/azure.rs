//! Azure Blob probes against a real emulator: Azurite (npm package `azurite`, pinned and
//! installed under the cache directory by `scripts/test.sh`) on loopback, with the emulator's
//! well-known account `devstoreaccount1` and shared key. The test seeds Azurite through its
//! own shared-key signer (written from the REST documentation, independent of the library's).
//! What Azurite does not serve (immutability policies, legal holds, encryption scopes on
//! containers, managed identity tokens) is tested against a wire-level server answering the
//! documented REST shapes (an axum router in this file): each test says which it uses.
//!
//! Emulator-backed: missing container, access denied (wrong key; a SAS without read rights),
//! soft delete off/on, logging off/on, lifecycle (the management-API Error), empty prefix,
//! fresh/warn/stale newest backup (manual clock), several pages (`marker`), read-back, SAS
//! authorization, the `backup` check, 10,000 blobs (ignored test).
//! Wire-level: immutability, encryption scope, managed identity tokens.
#![cfg(feature = "azure")]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use nexus_readiness::probe::{ManualClock, Observation, Probe, ProbeContext, ProbeErrorKind, Secret, Verdict};
use nexus_readiness::probes::azure::{AzureBackup, AzureConfig, AzureContainer, AzureCredentials};
use sha2::Sha256;

const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const VERSION: &str = "2023-11-03";

/// An Azurite blob service child on a free loopback port (in memory), killed on drop.
struct Azurite {
    child: Child,
    port: u16,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hmac_b64(key_b64: &str, text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&B64.decode(key_b64).unwrap()).unwrap();
    mac.update(text.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

impl Azurite {
    async fn start() -> Option<Azurite> {
        let bin = common::require_binary("azurite-blob")?;
        let port = common::free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--inMemoryPersistence"])
            .args(["--skipApiVersionCheck", "--silent"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn azurite-blob");
        let az = Azurite { child, port, http: reqwest::Client::new(), _dir: dir };
        let started = Instant::now();
        while az.http.get(az.endpoint()).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "azurite did not answer within 60s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(az)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    fn container(&self, name: &str) -> AzureContainer {
        AzureContainer::new(AzureConfig::emulator(self.endpoint()), name)
    }

    /// One request signed with the shared key (the documented string-to-sign).
    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, String) {
        let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut ms: Vec<(String, String)> =
            vec![("x-ms-date".into(), date.clone()), ("x-ms-version".into(), VERSION.into())];
        ms.extend(headers.iter().filter(|(k, _)| k.starts_with("x-ms-")).map(|(k, v)| (k.to_string(), v.to_string())));
        ms.sort();
        let content_type = headers.iter().find(|(k, _)| *k == "content-type").map_or("", |(_, v)| v);
        let len = if body.is_empty() { String::new() } else { body.len().to_string() };
        let mut sts = format!("{method}\n\n\n{len}\n\n{content_type}\n\n\n\n\n\n\n");
        for (k, v) in &ms {
            sts.push_str(&format!("{k}:{v}\n"));
        }
        sts.push_str(&format!("/{ACCOUNT}/{ACCOUNT}{path}"));
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_lowercase(), v.to_string())).collect();
        q.sort();
        for (k, v) in &q {
            sts.push_str(&format!("\n{k}:{v}"));
        }
        let auth = format!("SharedKey {ACCOUNT}:{}", hmac_b64(KEY, &sts));
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.endpoint()))
            .query(query)
            .header("authorization", auth);
        for (k, v) in &ms {
            req = req.header(k, v);
        }
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        if body.is_empty() {
            req = req.header("content-length", "0");
        }
        let r = req.body(body).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    async fn create(&self, container: &str) {
        let (s, b) = self.send("PUT", &format!("/{container}"), &[("restype", "container")], &[], Vec::new()).await;
        assert_eq!(s, 201, "create {container}: {b}");
    }

    async fn put(&self, container: &str, name: &str, body: &'static [u8]) {
        let (s, b) = self
            .send("PUT", &format!("/{container}/{name}"), &[], &[("x-ms-blob-type", "BlockBlob")], body.to_vec())
            .await;
        assert_eq!(s, 201, "put {container}/{name}: {b}");
    }

    async fn set_service_properties(&self, soft_delete_days: Option<u32>, logging: bool) {
        let soft = match soft_delete_days {
            Some(d) => {
                format!("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>{d}</Days></DeleteRetentionPolicy>")
            }
            None => "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>".into(),
        };
        let log = format!(
            "<Logging><Version>1.0</Version><Read>{logging}</Read><Write>{logging}</Write><Delete>{logging}</Delete>\
             <RetentionPolicy><Enabled>true</Enabled><Days>30</Days></RetentionPolicy></Logging>"
        );
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties>{log}{soft}</StorageServiceProperties>"
        );
        let (s, b) = self
            .send(
                "PUT",
                "/",
                &[("restype", "service"), ("comp", "properties")],
                &[("content-type", "application/xml")],
                body.into_bytes(),
            )
            .await;
        assert_eq!(s, 202, "set service properties: {b}");
    }

    /// The blob's Last-Modified as Azurite stamped it.
    async fn modified(&self, container: &str, name: &str) -> DateTime<Utc> {
        let mut s = None;
        let list = self
            .send(
                "GET",
                &format!("/{container}"),
                &[("comp", "list"), ("prefix", name), ("restype", "container")],
                &[],
                Vec::new(),
            )
            .await
            .1;
        if let Some(i) = list.find("<Last-Modified>") {
            let rest = &list[i + 15..];
            s = Some(rest[..rest.find('<').unwrap()].to_string());
        }
        DateTime::parse_from_rfc2822(&s.expect("blob listed")).unwrap().with_timezone(&Utc)
    }

    /// A service SAS for `container` with `permissions` (the documented 2020-12-06 string-to-sign).
    fn container_sas(&self, container: &str, permissions: &str) -> String {
        let expiry = (Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let sv = "2020-12-06";
        let resource = format!("/blob/{ACCOUNT}/{container}");
        let sts = format!("{permissions}\n\n{expiry}\n{resource}\n\n\nhttp\n{sv}\nc\n\n\n\n\n\n\n");
        let sig = hmac_b64(KEY, &sts);
        let enc = |s: &str| url_escape(s);
        format!("sv={sv}&sr=c&sp={permissions}&se={}&spr=http&sig={}", enc(&expiry), enc(&sig))
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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

/// Emulator-backed: reachable, missing container, wrong key, soft delete off/on, logging
/// off/on, lifecycle's management-API Error, immutability absent, account encryption.
#[tokio::test]
async fn emulator_container_settings() {
    let Some(az) = Azurite::start().await else { return };
    az.create("backups").await;
    let c = az.container("backups");
    let what = "azure container backups in account devstoreaccount1";

    let obs = check(&c.reachable()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.clone()), (Verdict::Pass, format!("{what} is reachable")));
    let obs = check(&az.container("nope").reachable()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "azure container nope in account devstoreaccount1 does not exist")
    );
    let e = check(&az.container("nope").freshness().build().unwrap()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::NotFound, "{e}");

    // A wrong key: Azurite refuses it, an Error and never a Fail; the key never shows.
    let wrong = "d3Jvbmcta2V5LWNhbmFyeS13cm9uZy1rZXktY2FuYXJ5LXdyb25nLWtleQ==";
    let bad = AzureContainer::new(
        AzureConfig::emulator(az.endpoint()).credentials(AzureCredentials::SharedKey(Secret::new(wrong))),
        "backups",
    );
    let e = check(&bad.reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(e.message.starts_with(&format!("access denied to {what}: Get Container Properties:")), "{e}");
    assert!(!format!("{e:?} {bad:?}").contains(wrong));

    // Soft delete and logging off: Errors naming what only the management API shows.
    az.set_service_properties(None, false).await;
    let e = check(&c.soft_delete()).await.unwrap_err();
    assert!(e.message.starts_with("blob soft delete is off in account devstoreaccount1;"), "{e}");
    assert!(e.message.contains("needs the management API"), "{e}");
    let e = check(&c.logging()).await.unwrap_err();
    assert!(e.message.starts_with("storage analytics logging is off in account devstoreaccount1;"), "{e}");

    az.set_service_properties(Some(14), true).await;
    let obs = check(&c.soft_delete()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "blob soft delete keeps deleted blobs for 14 days in account devstoreaccount1")
    );
    let obs = check(&c.logging()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "storage analytics logs reads, writes and deletes in account devstoreaccount1, kept 30 days")
    );

    let e = check(&c.lifecycle()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Other);
    assert!(e.message.starts_with("lifecycle management of account devstoreaccount1 needs the management API"), "{e}");

    let obs = check(&c.immutability()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    let obs = check(&c.encryption()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    let obs = check(&c.encryption().require_scope(true)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
}

/// Emulator-backed: empty prefix, several pages (`marker`), fresh / warn / stale through the
/// manual clock, read-back, SAS authorization (and a SAS without list rights), `backup`.
#[tokio::test]
async fn emulator_freshness_across_pages() {
    let Some(az) = Azurite::start().await else { return };
    az.create("dbs").await;
    az.set_service_properties(Some(7), true).await;
    let fresh = || az.container("dbs").freshness().prefix("postgres/").page_size(2);

    let obs = check(&fresh().build().unwrap()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, format!("no backup objects under {}/dbs/postgres/", az.endpoint()));
    assert_eq!(measurement(&obs, "list_requests"), 1.0);

    // Azurite stamps Last-Modified to the second: the newest is written a second later, in the
    // middle of the key order (page 2 of 4).
    for i in [0, 1, 2, 4, 5, 6] {
        az.put("dbs", &format!("postgres/dump-{i}.sql.gz"), b"old dump").await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    az.put("dbs", "postgres/dump-3.sql.gz", b"newest dump").await;
    az.put("dbs", "unrelated/later.bin", b"outside").await;
    let written = az.modified("dbs", "postgres/dump-3.sql.gz").await;
    let newest = format!("{}/dbs/postgres/dump-3.sql.gz", az.endpoint());

    let probe = fresh().verify_newest(true).build().unwrap();
    let obs = probe.check(&clock_at(written + chrono::Duration::hours(1))).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.clone()), (Verdict::Pass, format!("newest backup {newest} is 1h old")));
    assert_eq!(measurement(&obs, "objects_scanned"), 7.0);
    assert_eq!(measurement(&obs, "list_requests"), 4.0);
    assert_eq!(obs.evidence.get("newest_content_length"), Some("11"));
    assert!(obs.evidence.get("newest_etag").is_some(), "{obs:?}");

    let obs = probe.check(&clock_at(written + chrono::Duration::hours(30))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.clone()),
        (Verdict::Warn, format!("newest backup {newest} is 1d6h old, past the 1d warning"))
    );
    let obs = probe.check(&clock_at(written + chrono::Duration::days(3))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.clone()),
        (Verdict::Fail, format!("newest backup {newest} is 3d old, older than the 2d rpo"))
    );

    // A container SAS with read and list rights: the same answer; the SAS never shows.
    let sas = az.container_sas("dbs", "rl");
    let via_sas = AzureContainer::new(
        AzureConfig::new(ACCOUNT).endpoint(az.endpoint()).credentials(AzureCredentials::Sas(Secret::new(sas.clone()))),
        "dbs",
    );
    let obs = via_sas.freshness().prefix("postgres/").build().unwrap().check(&clock_at(written)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(measurement(&obs, "objects_scanned"), 7.0);
    let sig = sas.split("sig=").nth(1).unwrap().to_string();
    assert!(!format!("{obs:?} {via_sas:?}").contains(&sig));
    // A SAS without the list right: access denied, an Error.
    let read_only = AzureContainer::new(
        AzureConfig::new(ACCOUNT)
            .endpoint(az.endpoint())
            .credentials(AzureCredentials::Sas(Secret::new(az.container_sas("dbs", "r")))),
        "dbs",
    );
    let e = check(&read_only.freshness().build().unwrap()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(!format!("{e:?}").contains("sig="), "{e}");

    // Read-back of an empty newest blob.
    az.put("dbs", "empty/dump.sql.gz", b"").await;
    let obs = az
        .container("dbs")
        .freshness()
        .prefix("empty/")
        .verify_newest(true)
        .build()
        .unwrap()
        .check(&clock_at(written))
        .await
        .unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.ends_with("/dbs/empty/dump.sql.gz is empty (0 bytes)"), "{}", obs.summary);

    // The backup item.
    let obs = AzureBackup::new(fresh().build().unwrap())
        .check(&clock_at(written + chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.starts_with(
            "backup storage of azure container dbs: reachable; blob soft delete keeps deleted blobs for 7 days in account \
             devstoreaccount1; azure container dbs in account devstoreaccount1 encrypts new blobs with the account's encryption"
        ),
        "{}",
        obs.summary
    );
}

#[derive(Default)]
struct Wire {
    /// Container properties headers, by container name.
    containers: Vec<(String, Vec<(&'static str, &'static str)>)>,
    seen_auth: Vec<String>,
    token_queries: Vec<String>,
}

type Shared = Arc<Mutex<Wire>>;

async fn container_props(
    State(w): State<Shared>,
    axum::extract::Path((_account, name)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let mut w = w.lock().unwrap();
    if let Some(a) = headers.get("authorization") {
        w.seen_auth.push(a.to_str().unwrap().to_string());
    }
    match w.containers.iter().find(|(n, _)| *n == name) {
        Some((_, hs)) => {
            let mut out = HeaderMap::new();
            for (k, v) in hs {
                out.insert(*k, v.parse().unwrap());
            }
            (StatusCode::OK, out).into_response()
        }
        None => (StatusCode::NOT_FOUND, [("x-ms-error-code", "ContainerNotFound")]).into_response(),
    }
}

async fn imds_token(
    State(w): State<Shared>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
    headers: HeaderMap,
) -> impl IntoResponse {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return (StatusCode::BAD_REQUEST, "Metadata header missing").into_response();
    }
    w.lock().unwrap().token_queries.push(q.unwrap_or_default());
    let exp = (Utc::now() + chrono::Duration::hours(1)).timestamp().to_string();
    axum::Json(serde_json::json!({"access_token": "eyJ0.mi-canary-token", "expires_on": exp, "resource": "https://storage.azure.com/", "token_type": "Bearer"}))
        .into_response()
}

async fn wire(containers: Vec<(&str, Vec<(&'static str, &'static str)>)>) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(Wire {
        containers: containers.into_iter().map(|(n, h)| (n.to_string(), h)).collect(),
        ..Wire::default()
    }));
    let app = Router::new()
        .route("/{account}/{name}", get(container_props))
        .route("/metadata/identity/oauth2/token", get(imds_token))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

/// Wire-level: immutability and encryption-scope headers Azurite does not set, and a managed
/// identity token from an instance-metadata-shaped endpoint.
#[tokio::test]
async fn wire_immutability_scope_and_managed_identity() {
    let (ep, state) = wire(vec![
        (
            "locked",
            vec![
                ("x-ms-has-immutability-policy", "true"),
                ("x-ms-has-legal-hold", "false"),
                ("x-ms-default-encryption-scope", "backups-cmk"),
                ("x-ms-deny-encryption-scope-override", "true"),
            ],
        ),
        ("held", vec![("x-ms-has-immutability-policy", "false"), ("x-ms-has-legal-hold", "true")]),
    ])
    .await;
    let config = AzureConfig::new("acct")
        .endpoint(format!("{ep}/acct"))
        .credentials(AzureCredentials::ManagedIdentity { client_id: Some("11111111-2222".into()) })
        .identity_endpoint(format!("{ep}/metadata/identity/oauth2/token"));
    let locked = AzureContainer::new(config.clone(), "locked");
    let obs = check(&locked.immutability()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "azure container locked in account acct has a time-based immutability policy")
    );
    let obs = check(&locked.encryption().require_scope(true)).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (
            Verdict::Pass,
            "azure container locked in account acct encrypts new blobs with encryption scope backups-cmk (enforced)"
        )
    );
    let held = AzureContainer::new(config.clone(), "held");
    let obs = check(&held.immutability()).await.unwrap();
    assert_eq!(obs.summary, "azure container held in account acct has a legal hold");

    let w = state.lock().unwrap();
    assert_eq!(w.seen_auth.len(), 3);
    assert!(w.seen_auth.iter().all(|a| a == "Bearer eyJ0.mi-canary-token"), "{:?}", w.seen_auth);
    // One token per handle (two handles here), for storage, for the chosen identity.
    assert_eq!(w.token_queries.len(), 2, "{:?}", w.token_queries);
    assert!(w.token_queries[0].contains("resource=https%3A%2F%2Fstorage.azure.com%2F"), "{:?}", w.token_queries);
    assert!(w.token_queries[0].contains("client_id=11111111-2222"), "{:?}", w.token_queries);
    assert!(!format!("{obs:?} {held:?}").contains("mi-canary-token"));
}

#[tokio::test]
async fn connection_refused_is_unreachable_with_the_endpoint() {
    let endpoint = format!("http://127.0.0.1:{}/{ACCOUNT}", common::free_port());
    let e = check(&AzureContainer::new(AzureConfig::emulator(&endpoint), "c").reachable()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
    assert!(e.message.contains(&format!("cannot reach {endpoint}")), "{e}");
}

/// Newest of 10,000 blobs on Azurite:
/// `cargo test --features azure --test azure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "uploads 10,000 blobs; run by hand for the numbers"]
async fn newest_among_10000_blobs() {
    let Some(az) = Azurite::start().await else { return };
    let az = Arc::new(az);
    az.create("big").await;
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (az, next) = (az.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 10_000 {
                    break;
                }
                az.put("big", &format!("nightly/{i:05}.dump"), b"x").await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    println!("uploaded 10000 blobs in {:.1}s", started.elapsed().as_secs_f64());
    for page in [5000, 1000] {
        let probe = az.container("big").freshness().prefix("nightly/").page_size(page).build().unwrap();
        let started = Instant::now();
        let obs = check(&probe).await.unwrap();
        let wall = started.elapsed();
        assert_eq!(measurement(&obs, "objects_scanned"), 10_000.0);
        println!(
            "azure (Azurite) page_size {page}: {} list requests, {:.3}s wall, {}",
            measurement(&obs, "list_requests"),
            wall.as_secs_f64(),
            obs.summary
        );
    }
}

/// Emulator-backed, through the config loader: `kind = "backup"` with `provider = "azure"` and
/// a connection string from the environment; the account key never reaches the report.
#[tokio::test]
async fn config_backup_kind_with_provider_azure() {
    use nexus_readiness::report::Status;
    let Some(az) = Azurite::start().await else { return };
    az.create("nexus-backups").await;
    az.set_service_properties(Some(7), true).await;
    az.put("nexus-backups", "postgres/2026-11-30.dump", b"pg_dump custom format").await;
    let conn =
        format!("DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={};", az.endpoint());
    let text = "[bindings.\"pre-deployment.infrastructure.backup-storage-configured\"]\nkind = \"backup\"\n\
                provider = \"azure\"\ncheck = \"backup\"\ncontainer = \"nexus-backups\"\nprefix = \"postgres/\"\n\
                verify_newest = true\nconnection_string = \"${env:AZURE_STORAGE_CONNECTION_STRING}\"\n";
    let config = nexus_readiness::config::Config::loader()
        .env_source(move |name| (name == "AZURE_STORAGE_CONNECTION_STRING").then(|| conn.clone()))
        .from_str(text, "backup.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
    let report = config.runner().phases([nexus_readiness::model::Phase::PreDeployment]).build().run(&plan).await;
    let item = report.item("pre-deployment.infrastructure.backup-storage-configured").unwrap();
    assert_eq!(item.status, Status::Pass, "{}", item.reason);
    assert!(item.reason.starts_with("backup storage of azure container nexus-backups: reachable;"), "{}", item.reason);
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(KEY) && !format!("{item:?}").contains(KEY));
}
