//! Core probes against real things: a redis-server started here, real files, real processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nexus_readiness::model::{Threshold, Unit};
use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, Secret, Verdict};
use nexus_readiness::probes::command::CommandProbe;
use nexus_readiness::probes::file::{DockerfileProbe, JunitProbe, PathProbe, ScanSeverity, TrivyProbe};
use nexus_readiness::probes::net::{RedisProbe, TcpProbe};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(p)
}

async fn check(p: &dyn Probe) -> Result<Observation, ProbeError> {
    p.check(&ProbeContext::new()).await
}

/// A redis-server on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    addr: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis(extra: &[&str]) -> Option<Redis> {
    let bin = common::require_binary("redis-server")?;
    let port = common::free_port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let child =
        Command::new(bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start redis-server");
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Redis { child, addr })
}

#[tokio::test]
async fn redis_with_eviction_policy_passes() {
    let Some(r) = redis(&["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]) else { return };
    let obs = check(&RedisProbe::new(&r.addr).role("master")).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.contains("answers PONG"), "{}", obs.summary);
    assert!(obs.summary.contains("allkeys-lru"), "{}", obs.summary);
    assert_eq!(obs.evidence.get("maxmemory"), Some("67108864"));
    assert_eq!(obs.measurement("maxmemory").unwrap().value, 67_108_864.0);
    assert!(obs.measurement("ping_latency").is_some());
}

#[tokio::test]
async fn redis_without_memory_limit_fails_with_reasons() {
    let Some(r) = redis(&[]) else { return };
    let obs = check(&RedisProbe::new(&r.addr)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains(&format!("redis at {}", r.addr)), "{}", obs.summary);
    assert!(obs.summary.contains("maxmemory is 0 (no memory limit)"), "{}", obs.summary);
    assert!(obs.summary.contains("maxmemory-policy is noeviction"), "{}", obs.summary);
    // Allowed explicitly: passes.
    let obs = check(&RedisProbe::new(&r.addr).require_maxmemory(false).allow_noeviction(true)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    // Wrong role.
    let obs =
        check(&RedisProbe::new(&r.addr).allow_noeviction(true).require_maxmemory(false).role("slave")).await.unwrap();
    assert!(obs.summary.contains("role is master (expected slave)"), "{}", obs.summary);
}

#[tokio::test]
async fn redis_password_is_used_and_never_shown() {
    let pw = "correct-horse-battery";
    let Some(r) = redis(&["--requirepass", pw, "--maxmemory", "32mb", "--maxmemory-policy", "volatile-lru"]) else {
        return;
    };
    let ok = RedisProbe::new(&r.addr).password(Secret::new(pw));
    let obs = check(&ok).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(!format!("{ok:?}{obs:?}").contains(pw));

    let err = check(&RedisProbe::new(&r.addr)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(err.message, format!("redis at {} requires a password (NOAUTH on PING)", r.addr));

    let wrong = RedisProbe::new(&r.addr).password(Secret::new("not-the-password"));
    let err = check(&wrong).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(err.message, format!("redis at {} rejected the credentials (WRONGPASS)", r.addr));
    assert!(!err.message.contains("not-the-password"));
}

#[tokio::test]
async fn redis_latency_threshold_is_evaluated() {
    let Some(r) = redis(&["--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lfu"]) else { return };
    // A ceiling no PING can meet: 0ms healthy, 0ms breach.
    let t = Threshold::ceiling("redis ping latency", Unit::Milliseconds, 0.0, 0.0, "investigate").unwrap();
    let obs = check(&RedisProbe::new(&r.addr).latency(t)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    let m = obs.measurement("ping_latency").unwrap();
    assert!(m.evaluation.is_some());
}

#[tokio::test]
async fn closed_port_is_refused_with_address() {
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let err = check(&RedisProbe::new(&addr)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Unreachable);
    assert_eq!(err.message, format!("connection refused by {addr}"));
    let err = check(&TcpProbe::new(&addr)).await.unwrap_err();
    assert_eq!(err.message, format!("connection refused by {addr}"));
}

#[tokio::test]
async fn non_redis_server_is_a_protocol_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    let err = check(&RedisProbe::new(&addr)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Protocol);
    assert_eq!(err.message, format!("{addr} does not speak RESP (got \"HTTP/1.1 400 Bad Request\")"));
}

#[tokio::test]
async fn silent_server_times_out_with_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    });
    let err = check(&RedisProbe::new(&addr).timeout(Duration::from_millis(300))).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Timeout);
    assert_eq!(err.message, format!("redis at {addr} did not answer within 300ms"));
    hold.abort();
}

#[tokio::test]
async fn tcp_connect_measures_latency() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let obs = check(&TcpProbe::new(&addr)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert!(obs.summary.starts_with(&format!("{addr} accepts connections (")), "{}", obs.summary);
    assert_eq!(obs.measurement("connect_latency").unwrap().unit, Unit::Milliseconds);
}

#[tokio::test]
async fn dockerfile_fixtures() {
    let good = fixture("dockerfiles/good.Dockerfile");
    let obs = check(&DockerfileProbe::new(&good)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.ends_with("2 stages, final stage `gcr.io/distroless/cc-debian12:nonroot` runs as 65532:65532"),
        "{}",
        obs.summary
    );

    let single = fixture("dockerfiles/single-stage.Dockerfile");
    let obs = check(&DockerfileProbe::new(&single)).await.unwrap();
    assert_eq!(obs.summary, format!("{}:1: single-stage build (1 FROM, expected at least 2)", single.display()));

    let bad = fixture("dockerfiles/bad.Dockerfile");
    let obs = check(&DockerfileProbe::new(&bad)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    let f = obs.evidence.get("findings").unwrap();
    let b = bad.display();
    assert!(
        f.contains(&format!(
            "{b}:2: base image `nvidia/cuda:${{CUDA}}` depends on build argument `CUDA` without a default"
        )),
        "{f}"
    );
    assert!(f.contains(&format!("{b}:5: base image `ubuntu:latest` uses the :latest tag")), "{f}");
    assert!(f.contains(&format!("{b}:9: final stage is built FROM the build stage `build` (line 2)")), "{f}");
    assert!(f.contains(&format!("{b}:11: final stage runs as USER root")), "{f}");
    assert!(obs.summary.ends_with("(and 3 more)"), "{}", obs.summary);

    let err = check(&DockerfileProbe::new(fixture("dockerfiles/missing"))).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert!(err.message.ends_with("dockerfiles/missing does not exist"), "{}", err.message);
}

#[tokio::test]
async fn trivy_reports() {
    let obs = check(&TrivyProbe::new(fixture("trivy/clean.json"))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(obs.summary, "registry.example.com/nexus/server:1.4.2: nothing at or above CRITICAL (1 LOW)");

    let obs = check(&TrivyProbe::new(fixture("trivy/critical.json"))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "registry.example.com/nexus/server:1.4.1: 2 vulnerabilities at or above CRITICAL (2 CRITICAL, 1 HIGH, 1 MEDIUM); worst: CRITICAL CVE-2023-45853 in zlib1g 1:1.2.13.dfsg-1"
    );
    let top = obs.evidence.get("top_findings").unwrap();
    assert!(top.contains("CRITICAL CVE-2024-45490 libexpat1 2.5.0-1, fixed in 2.5.0-1+deb12u1"), "{top}");
    let crit =
        obs.measurements.iter().find(|m| m.labels.get("severity").map(String::as_str) == Some("CRITICAL")).unwrap();
    assert_eq!(crit.value, 2.0);

    // Failing on HIGH counts HIGH and CRITICAL; on LOW the clean report fails too.
    let obs = check(&TrivyProbe::new(fixture("trivy/critical.json")).fail_on(ScanSeverity::High)).await.unwrap();
    assert!(obs.summary.contains(": 3 vulnerabilities at or above HIGH"), "{}", obs.summary);
    let obs = check(&TrivyProbe::new(fixture("trivy/clean.json")).fail_on(ScanSeverity::Low)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains(": 1 vulnerability at or above LOW (1 LOW)"), "{}", obs.summary);

    let err = check(&TrivyProbe::new(fixture("trivy/not-trivy.json"))).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Protocol);
    assert!(err.message.ends_with("not-trivy.json: not a Trivy JSON report (no `Results`)"), "{}", err.message);
}

#[tokio::test]
async fn junit_reports() {
    let obs = check(&JunitProbe::new(fixture("junit/pass.xml"))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.ends_with("pass.xml: 2 of 3 tests passed, 1 skipped"), "{}", obs.summary);

    let obs = check(&JunitProbe::new(fixture("junit/fail.xml"))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(
        obs.summary.ends_with(
            "fail.xml: 2 of 4 tests failed (1 failures, 1 errors); first: api.batch_endpoint failed: expected 200, got 503 & retry-after"
        ),
        "{}",
        obs.summary
    );
    assert!(obs.evidence.get("failed").unwrap().contains("api.auth_required errored: connection refused"));

    let obs = check(&JunitProbe::new(fixture("junit/empty.xml"))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.ends_with("empty.xml: 0 test cases, expected at least 1"), "{}", obs.summary);

    let err = check(&JunitProbe::new(fixture("junit/broken.xml"))).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Protocol);
    assert!(err.message.contains("broken.xml:4:"), "{}", err.message);
    assert!(err.message.contains("not well-formed XML"), "{}", err.message);
}

#[tokio::test]
async fn path_exists_and_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("runbook.md");
    let obs = check(&PathProbe::new(&runbook)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, format!("{} does not exist", runbook.display()));
    std::fs::write(&runbook, "").unwrap();
    let obs = check(&PathProbe::new(&runbook)).await.unwrap();
    assert_eq!(obs.summary, format!("{} is empty", runbook.display()));
    std::fs::write(&runbook, "# Runbook\n\nRestart with kubectl rollout restart.\n").unwrap();
    let obs = check(&PathProbe::new(&runbook)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, format!("{} exists (49 bytes)", runbook.display()));
    let empty_dir = dir.path().join("docs");
    std::fs::create_dir(&empty_dir).unwrap();
    let obs = check(&PathProbe::new(&empty_dir)).await.unwrap();
    assert_eq!(obs.summary, format!("{} is an empty directory", empty_dir.display()));
}

#[tokio::test]
async fn commands_exit_codes_and_output() {
    let obs = check(&CommandProbe::new("true")).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert!(obs.summary.starts_with("`true` exited with 0 in "), "{}", obs.summary);

    let obs = check(&CommandProbe::new("false")).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "`false` exited with 1, expected 0");
    let obs = check(&CommandProbe::new("false").expect_exit([1])).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);

    let script = "echo hello from $GREETING; echo smoke failed: 503 >&2; exit 3";
    let p = CommandProbe::new("sh").args(["-c", script]).env("GREETING", "smoke-test");
    let obs = check(&p).await.unwrap();
    assert_eq!(obs.summary, format!("`sh -c {script:?}` exited with 3, expected 0: smoke failed: 503"));
    // `env` values are secrets: never shown, even when the program prints them.
    assert_eq!(obs.evidence.get("stdout"), Some("hello from [redacted]"));
    assert_eq!(obs.evidence.get("exit_code"), Some("3"));

    // Output is captured bounded: the tail is kept.
    let p = CommandProbe::new("sh").args(["-c", "seq 1 20000"]).capture(64);
    let obs = check(&p).await.unwrap();
    let out = obs.evidence.get("stdout").unwrap();
    assert!(out.starts_with("[108830 bytes omitted]\n"), "{out}");
    assert!(out.ends_with("19999\n20000"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let obs = check(&CommandProbe::new("pwd").current_dir(dir.path())).await.unwrap();
    assert_eq!(obs.evidence.get("stdout").map(Path::new), Some(dir.path().canonicalize().unwrap().as_path()));
}

#[tokio::test]
async fn command_timeout_kills_the_program() {
    let started = Instant::now();
    let err = check(&CommandProbe::new("sleep").arg("10").timeout(Duration::from_millis(300))).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(err.kind, ProbeErrorKind::Timeout);
    assert_eq!(err.message, "`sleep 10` ran past 300ms and was killed");
}

#[tokio::test]
async fn missing_program_is_not_found() {
    let err = check(&CommandProbe::new("/nonexistent/smoke.sh")).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert_eq!(err.message, "program `/nonexistent/smoke.sh` not found");
}
