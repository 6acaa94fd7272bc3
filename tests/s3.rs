//! S3 probes against a real S3-compatible server: moto (`moto_server`, Python package
//! `moto[server]` 5.1, pinned in its own virtual environment by `scripts/test.sh`) on loopback;
//! answers no S3 server gives on purpose (an unreadable body) come from a wire-level server.
#![cfg(feature = "s3")]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLifecycleConfiguration, BucketLoggingStatus, BucketVersioningStatus, DefaultRetention,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, LoggingEnabled, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Transition, TransitionStorageClass,
    VersioningConfiguration,
};
use chrono::{DateTime, Utc};
use nexus_readiness::probe::{
    ManualClock, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, Secret, Verdict,
};
use nexus_readiness::probes::s3::{S3Bucket, S3Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCESS_KEY: &str = "AKIDNEXUSTESTKEY01";
const SECRET_KEY: &str = "nexus-test-secret-access-key-0001";

/// A `moto_server` child process on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto and waits until it answers HTTP, or returns `None` when it is not installed.
    async fn start() -> Option<Moto> {
        let bin = common::require_binary("moto_server")?;
        let port = common::free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto { child, port };
        let started = Instant::now();
        loop {
            if let Ok((status, _)) = http(port, "GET", "/moto-api/", &[], "").await
                && status != 0
            {
                return Some(moto);
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer on port {port} within 60s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn config_with(&self, key_id: &str, secret: &str) -> S3Config {
        S3Config::new()
            .endpoint_url(self.endpoint())
            .path_style(true)
            .region("us-east-1")
            .static_credentials(Secret::new(key_id), Secret::new(secret))
            .max_attempts(1)
    }

    fn config(&self) -> S3Config {
        self.config_with(ACCESS_KEY, SECRET_KEY)
    }

    async fn client(&self) -> Client {
        self.config().client().await
    }

    fn bucket(&self, name: &str) -> S3Bucket {
        S3Bucket::new(self.config(), name)
    }
}

/// One plain HTTP/1.1 request over a TCP stream; returns status and body.
async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// An IAM query-API call to moto; the credential scope in the Authorization header routes it.
async fn iam(port: u16, params: &str) -> String {
    let (status, body) = http(
        port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDNEXUSTESTKEY01/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        &format!("{params}&Version=2010-05-08"),
    )
    .await
    .expect("iam request");
    assert_eq!(status, 200, "iam {params}: {body}");
    body
}

fn xml_field(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = body.find(&open).map(|i| i + open.len()).unwrap_or_else(|| panic!("no <{tag}> in {body}"));
    let end = body[start..].find("</").expect("closing tag") + start;
    body[start..end].to_string()
}

async fn check(probe: &impl Probe) -> Result<Observation, ProbeError> {
    probe.check(&ProbeContext::new()).await
}

fn clock_at(t: DateTime<Utc>) -> ProbeContext {
    ProbeContext::new().with_clock(Arc::new(ManualClock::new(t)))
}

fn measurement(obs: &Observation, name: &str) -> f64 {
    obs.measurements.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name} in {obs:?}")).value
}

/// Nothing a probe returns may carry the secret key.
fn assert_no_secret(text: &str) {
    assert!(!text.contains(SECRET_KEY), "secret key leaked: {text}");
}

async fn create(client: &Client, bucket: &str) {
    client.create_bucket().bucket(bucket).send().await.unwrap_or_else(|e| panic!("create {bucket}: {e:?}"));
}

async fn put(client: &Client, bucket: &str, key: &str, body: &'static [u8]) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

#[tokio::test]
async fn reachable_and_missing_bucket() {
    let Some(moto) = Moto::start().await else { return };
    let client = moto.client().await;
    create(&client, "backups").await;

    let obs = check(&moto.bucket("backups").reachable()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Pass, "bucket backups is reachable"));
    assert_eq!(obs.evidence.get("endpoint"), Some(moto.endpoint().as_str()));

    let obs = check(&moto.bucket("nope").reachable()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "bucket nope does not exist"));

    // Other checks on a missing bucket cannot look: an error naming the bucket.
    let e = check(&moto.bucket("nope").versioning()).await.unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ProbeErrorKind::NotFound, "bucket nope does not exist"));
    let e = check(&moto.bucket("nope").freshness().build().unwrap()).await.unwrap_err();
    assert_eq!(e.message, "bucket nope does not exist");
}

#[tokio::test]
async fn access_denied_is_an_error_not_a_fail() {
    let Some(moto) = Moto::start().await else { return };
    let client = moto.client().await;
    create(&client, "locked").await;
    // A real IAM user without any policy, then moto's IAM enforcement switched on.
    iam(moto.port, "Action=CreateUser&UserName=reader").await;
    let created = iam(moto.port, "Action=CreateAccessKey&UserName=reader").await;
    let (key_id, secret) = (xml_field(&created, "AccessKeyId"), xml_field(&created, "SecretAccessKey"));
    let (status, body) = http(moto.port, "POST", "/moto-api/reset-auth", &[], "0").await.unwrap();
    assert_eq!(status, 200, "{body}");

    let reader = S3Bucket::new(moto.config_with(&key_id, &secret), "locked");
    let e = check(&reader.reachable()).await.unwrap_err();
    eprintln!("policy-less IAM user, HeadBucket: {e}");
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(e.message.starts_with("access denied to bucket locked: HeadBucket: "), "{e}");
    let e = check(&reader.versioning()).await.unwrap_err();
    eprintln!("policy-less IAM user, GetBucketVersioning: {e}");
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert!(e.message.starts_with("access denied to bucket locked: GetBucketVersioning: AccessDenied"), "{e}");
    assert!(!e.message.contains(&secret), "{e}");

    // An access key the server does not know is refused the same way.
    let e = check(&moto.bucket("locked").reachable()).await.unwrap_err();
    eprintln!("unknown access key, HeadBucket: {e}");
    assert_eq!(e.kind, ProbeErrorKind::PermissionDenied, "{e}");
    assert_no_secret(&format!("{e:?}"));
}

#[tokio::test]
async fn bucket_settings() {
    let Some(moto) = Moto::start().await else { return };
    let c = moto.client().await;
    for b in ["plain", "suspended", "versioned", "sse-s3", "sse-kms", "retained", "disabled-rules", "logged", "logs"] {
        create(&c, b).await;
    }

    // Versioning: never set, suspended, enabled.
    let set_versioning = |b: &'static str, s: BucketVersioningStatus| {
        c.put_bucket_versioning()
            .bucket(b)
            .versioning_configuration(VersioningConfiguration::builder().status(s).build())
            .send()
    };
    set_versioning("suspended", BucketVersioningStatus::Enabled).await.unwrap();
    set_versioning("suspended", BucketVersioningStatus::Suspended).await.unwrap();
    set_versioning("versioned", BucketVersioningStatus::Enabled).await.unwrap();
    let obs = check(&moto.bucket("plain").versioning()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "versioning has never been enabled on bucket plain")
    );
    let obs = check(&moto.bucket("suspended").versioning()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "versioning is suspended on bucket suspended"));
    let obs = check(&moto.bucket("versioned").versioning()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Pass, "versioning is enabled on bucket versioned"));

    // Default encryption: absent, SSE-S3, SSE-KMS with a key id.
    let set_sse = |b: &'static str, alg: ServerSideEncryption, key: Option<&str>| {
        let default =
            ServerSideEncryptionByDefault::builder().sse_algorithm(alg).set_kms_master_key_id(key.map(str::to_string));
        c.put_bucket_encryption()
            .bucket(b)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default.build().unwrap())
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let kms_key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    set_sse("sse-s3", ServerSideEncryption::Aes256, None).await.unwrap();
    set_sse("sse-kms", ServerSideEncryption::AwsKms, Some(kms_key)).await.unwrap();
    let obs = check(&moto.bucket("plain").encryption()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "no default encryption is configured on bucket plain")
    );
    let obs = check(&moto.bucket("sse-s3").encryption()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "bucket sse-s3 encrypts new objects with SSE-S3 (AES256)")
    );
    let obs = check(&moto.bucket("sse-s3").encryption().require_kms(true)).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "bucket sse-s3 encrypts with SSE-S3 (AES256) but SSE-KMS is required")
    );
    let obs = check(&moto.bucket("sse-kms").encryption().require_kms(true)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, format!("bucket sse-kms encrypts new objects with SSE-KMS using key {kms_key}"));
    assert_eq!(obs.evidence.get("kms_key_id"), Some(kms_key));
    assert_eq!(obs.evidence.get("sse_algorithm"), Some("aws:kms"));

    // Lifecycle: none, only a disabled rule, expiration and transition rules.
    let rule = |id: &str, status: ExpirationStatus| {
        LifecycleRule::builder().id(id).status(status).filter(LifecycleRuleFilter::builder().prefix("db/").build())
    };
    c.put_bucket_lifecycle_configuration()
        .bucket("retained")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    rule("expire-db", ExpirationStatus::Enabled)
                        .expiration(LifecycleExpiration::builder().days(30).build())
                        .build()
                        .unwrap(),
                )
                .rules(
                    rule("archive", ExpirationStatus::Enabled)
                        .transitions(
                            Transition::builder().days(7).storage_class(TransitionStorageClass::Glacier).build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("disabled-rules")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    rule("paused", ExpirationStatus::Disabled)
                        .expiration(LifecycleExpiration::builder().days(30).build())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let obs = check(&moto.bucket("plain").lifecycle()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "no lifecycle rules on bucket plain"));
    let obs = check(&moto.bucket("disabled-rules").lifecycle()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (
            Verdict::Fail,
            "bucket disabled-rules has lifecycle rules (paused) but none enabled that expires or transitions objects"
        )
    );
    let obs = check(&moto.bucket("retained").lifecycle()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (
            Verdict::Pass,
            "bucket retained has 2 retention rules: expire-db (expire after 30d); archive (transition to GLACIER after 7d)"
        )
    );
    assert_eq!(obs.evidence.get("rules"), Some("expire-db,archive"));

    // Server access logging: absent, then to the `logs` bucket (which lets the log delivery group write).
    let obs = check(&moto.bucket("logged").logging()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "server access logging is disabled on bucket logged")
    );
    c.put_bucket_acl().bucket("logs").acl(BucketCannedAcl::from("log-delivery-write")).send().await.unwrap();
    c.put_bucket_logging()
        .bucket("logged")
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder().target_bucket("logs").target_prefix("access/logged/").build().unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let obs = check(&moto.bucket("logged").logging()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "server access logging of bucket logged goes to s3://logs/access/logged/")
    );

    // Object lock: absent, then a bucket created with object lock and a default retention.
    let obs = check(&moto.bucket("plain").object_lock()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "object lock is not configured on bucket plain"));
    c.create_bucket().bucket("locked").object_lock_enabled_for_bucket(true).send().await.unwrap();
    let obs = check(&moto.bucket("locked").object_lock()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Warn, "object lock is enabled on bucket locked but sets no default retention")
    );
    c.put_object_lock_configuration()
        .bucket("locked")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder().mode(ObjectLockRetentionMode::Compliance).days(30).build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let obs = check(&moto.bucket("locked").object_lock()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "object lock on bucket locked: COMPLIANCE retention for 30 days")
    );
    assert_eq!(measurement(&obs, "retention_days"), 30.0);
    assert_no_secret(&format!("{obs:?}"));
}

#[tokio::test]
async fn freshness_across_pages_with_a_manual_clock() {
    let Some(moto) = Moto::start().await else { return };
    let c = moto.client().await;
    create(&c, "db-backups").await;

    // Empty prefix.
    let fresh = || moto.bucket("db-backups").freshness().prefix("postgres/").page_size(2);
    let obs = check(&fresh().build().unwrap()).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "no backup objects under s3://db-backups/postgres/")
    );
    assert_eq!(measurement(&obs, "list_requests"), 1.0);

    // 7 objects under the prefix; moto stamps LastModified to the second, so the newest is
    // written a second later, in the middle of the key order (page 2 of 4).
    for i in [0, 1, 2, 4, 5, 6] {
        put(&c, "db-backups", &format!("postgres/dump-{i}.sql.gz"), b"old dump").await;
    }
    put(&c, "db-backups", "postgres/", b"").await; // a folder marker is not a backup
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put(&c, "db-backups", "postgres/dump-3.sql.gz", b"newest dump").await;
    put(&c, "db-backups", "unrelated/later.bin", b"outside the prefix").await;
    let head = c.head_object().bucket("db-backups").key("postgres/dump-3.sql.gz").send().await.unwrap();
    let lm = head.last_modified().unwrap();
    let written = DateTime::<Utc>::from_timestamp(lm.secs(), lm.subsec_nanos()).unwrap();

    let probe = fresh().verify_newest(true).build().unwrap();
    let obs = probe.check(&clock_at(written + chrono::Duration::hours(1))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Pass, "newest backup s3://db-backups/postgres/dump-3.sql.gz is 1h old")
    );
    assert_eq!(measurement(&obs, "backup_age_seconds"), 3600.0);
    assert_eq!(measurement(&obs, "objects_scanned"), 7.0);
    assert_eq!(measurement(&obs, "list_requests"), 4.0);
    assert_eq!(obs.evidence.get("newest_object"), Some("postgres/dump-3.sql.gz"));
    assert_eq!(obs.evidence.get("newest_content_length"), Some("11"));
    assert!(obs.evidence.get("newest_etag").is_some_and(|e| e.len() > 2), "{obs:?}");

    let obs = probe.check(&clock_at(written + chrono::Duration::hours(30))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Warn, "newest backup s3://db-backups/postgres/dump-3.sql.gz is 1d6h old, past the 1d warning")
    );

    let obs = probe.check(&clock_at(written + chrono::Duration::days(3))).await.unwrap();
    assert_eq!(
        (obs.verdict, obs.summary.as_str()),
        (Verdict::Fail, "newest backup s3://db-backups/postgres/dump-3.sql.gz is 3d old, older than the 2d rpo")
    );
    assert_eq!(measurement(&obs, "backup_age_seconds"), 3.0 * 86_400.0);

    // A tighter RPO from code.
    let tight = moto
        .bucket("db-backups")
        .freshness()
        .prefix("postgres/")
        .rpo(Duration::from_secs(600), Duration::from_secs(1800))
        .build()
        .unwrap();
    let obs = tight.check(&clock_at(written + chrono::Duration::hours(1))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.ends_with("is 1h old, older than the 30m rpo"), "{}", obs.summary);
    assert_eq!(measurement(&obs, "list_requests"), 1.0);

    // Read-back of an empty newest object.
    put(&c, "db-backups", "empty/dump.sql.gz", b"").await;
    let obs = moto
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
        (Verdict::Fail, "newest backup s3://db-backups/empty/dump.sql.gz is empty (0 bytes)")
    );
    assert_eq!(measurement(&obs, "objects_scanned"), 1.0);
    assert_no_secret(&format!("{obs:?}"));
}

/// A client config for a loopback endpoint that is not moto: one attempt, test credentials.
fn single_attempt_config(endpoint: &str) -> S3Config {
    S3Config::new()
        .endpoint_url(endpoint)
        .path_style(true)
        .region("us-east-1")
        .static_credentials(Secret::new(ACCESS_KEY), Secret::new(SECRET_KEY))
        .max_attempts(1)
}

#[tokio::test]
async fn connection_refused_is_unreachable_with_the_endpoint() {
    let port = common::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = single_attempt_config(&endpoint);
    let bucket = S3Bucket::new(config, "backups");
    let probes: [(&str, Box<dyn Probe>); 2] =
        [("reachable", Box::new(bucket.reachable())), ("freshness", Box::new(bucket.freshness().build().unwrap()))];
    for (c, probe) in probes {
        let e = probe.check(&ProbeContext::new()).await.unwrap_err();
        eprintln!("{c}: {e}");
        assert_eq!(e.kind, ProbeErrorKind::Unreachable, "{e}");
        assert!(e.message.contains(&format!("cannot reach {endpoint}")), "{e}");
        assert_no_secret(&format!("{e:?}"));
    }
}

/// A wire-level server answering every request with HTTP 200 and `body`, the way moto 5.2
/// answers GetBucketVersioning with a root element the SDK rejects.
async fn serve_fixed_body(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn unreadable_answer_names_operation_status_and_root_element() {
    let endpoint = serve_fixed_body(
        r#"<?xml version="1.0" encoding="UTF-8"?><GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#,
    )
    .await;
    let config = single_attempt_config(&endpoint);
    let e = S3Bucket::new(config, "plain").versioning().check(&ProbeContext::new()).await.unwrap_err();
    eprintln!("{e}");
    assert_eq!(e.kind, ProbeErrorKind::Protocol, "{e}");
    for part in ["GetBucketVersioning", "plain", "HTTP 200", "<GetBucketVersioningResponse>", "body starts"] {
        assert!(e.message.contains(part), "{part:?} missing from {e}");
    }
    assert_no_secret(&format!("{e:?}"));
}

/// Finding the newest of 10,000 keys: `cargo test --features s3 --test s3 -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "uploads 10,000 objects; run by hand for the numbers"]
async fn newest_among_10000_keys() {
    let Some(moto) = Moto::start().await else { return };
    let c = moto.client().await;
    create(&c, "big").await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..32 {
        let (c, next) = (c.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 10_000 {
                    break;
                }
                put(&c, "big", &format!("nightly/{i:05}.dump"), b"x").await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    println!("uploaded 10000 objects in {:.1}s", started.elapsed().as_secs_f64());
    for page in [1000, 100] {
        let probe = moto.bucket("big").freshness().prefix("nightly/").page_size(page).build().unwrap();
        let started = Instant::now();
        let obs = check(&probe).await.unwrap();
        let wall = started.elapsed();
        assert_eq!(measurement(&obs, "objects_scanned"), 10_000.0);
        println!(
            "page_size {page}: {} ListObjectsV2 requests, {:.3}s wall, {}",
            measurement(&obs, "list_requests"),
            wall.as_secs_f64(),
            obs.summary
        );
    }
}

/// The README's `[targets.backup]` block as written, pointed at moto.
fn readme_backup_config(moto: &Moto) -> String {
    let readme = include_str!("../README.md");
    let start = readme.find("[targets.backup]").expect("README has a [targets.backup] block");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("block ends")];
    format!(
        "{block}endpoint_url = \"{}\"\npath_style = true\nregion = \"us-east-1\"\naccess_key_id = \"${{env:BACKUP_ACCESS_KEY_ID}}\"\nsecret_access_key = \"${{env:BACKUP_SECRET_ACCESS_KEY}}\"\nmax_attempts = 1\n",
        moto.endpoint()
    )
}

async fn run_backup_item(config_text: &str) -> nexus_readiness::report::ItemReport {
    let config = nexus_readiness::config::Config::loader()
        .env_source(|name| match name {
            "BACKUP_ACCESS_KEY_ID" => Some(ACCESS_KEY.to_string()),
            "BACKUP_SECRET_ACCESS_KEY" => Some(SECRET_KEY.to_string()),
            _ => None,
        })
        .from_str(config_text, "backup.toml")
        .unwrap_or_else(|e| panic!("{e}\n{config_text}"));
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
    let report = config.runner().phases([nexus_readiness::model::Phase::PreDeployment]).build().run(&plan).await;
    let item = report.item("pre-deployment.infrastructure.backup-storage-configured").unwrap().clone();
    assert_no_secret(&format!("{item:?}"));
    item
}

/// The fault table of issue #15, rerun against moto: with the README's `[targets.backup]`,
/// deleting every backup object left "backup storage configured" passing (`bucket
/// nexus-backups is reachable`). The default item now covers reachability, versioning,
/// encryption and the newest backup against the RPO, read back (`verify_newest`).
#[tokio::test]
async fn fault_backup_item_with_every_backup_deleted_fails() {
    use nexus_readiness::report::Status;
    let Some(moto) = Moto::start().await else { return };
    let c = moto.client().await;
    create(&c, "nexus-backups").await;
    c.put_bucket_versioning()
        .bucket("nexus-backups")
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .unwrap();
    c.put_bucket_encryption()
        .bucket("nexus-backups")
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    put(&c, "nexus-backups", "postgres/2026-11-30.dump", b"pg_dump custom format").await;
    put(&c, "nexus-backups", "redis/2026-11-30.rdb", b"not under the prefix").await;
    let text = readme_backup_config(&moto);

    let item = run_backup_item(&text).await;
    assert_eq!(item.status, Status::Pass, "{}", item.reason);
    assert!(
        item.reason.starts_with(
            "backup storage of s3 bucket nexus-backups: reachable; versioning is enabled on bucket nexus-backups; \
             bucket nexus-backups encrypts new objects with SSE-S3 (AES256); newest backup s3://nexus-backups/postgres/2026-11-30.dump is "
        ),
        "{}",
        item.reason
    );

    // Every backup deleted (the versioned bucket keeps delete markers only).
    c.delete_object().bucket("nexus-backups").key("postgres/2026-11-30.dump").send().await.unwrap();
    let item = run_backup_item(&text).await;
    assert_eq!(item.status, Status::Fail, "{}", item.reason);
    assert!(
        item.reason.starts_with(
            "backup storage of s3 bucket nexus-backups: no backup objects under s3://nexus-backups/postgres/ (ok: \
             versioning is enabled on bucket nexus-backups; bucket nexus-backups encrypts new objects with SSE-S3 (AES256))"
        ),
        "{}",
        item.reason
    );

    // A bucket that merely exists: every missing part is named.
    create(&c, "bare-bucket").await;
    put(&c, "bare-bucket", "postgres/today.dump", b"dump").await;
    let item = run_backup_item(&text.replace("bucket = \"nexus-backups\"", "bucket = \"bare-bucket\"")).await;
    assert_eq!(item.status, Status::Fail, "{}", item.reason);
    assert!(
        item.reason.starts_with(
            "backup storage of s3 bucket bare-bucket: versioning has never been enabled on bucket bare-bucket; no default \
             encryption is configured on bucket bare-bucket (ok: newest backup s3://bare-bucket/postgres/today.dump is "
        ),
        "{}",
        item.reason
    );

    // A missing bucket stops at reachability.
    let item = run_backup_item(&text.replace("bucket = \"nexus-backups\"", "bucket = \"no-such-bucket\"")).await;
    assert_eq!(item.status, Status::Fail, "{}", item.reason);
    assert!(
        item.reason.starts_with("backup storage of s3 bucket no-such-bucket: bucket no-such-bucket does not exist"),
        "{}",
        item.reason
    );
}
