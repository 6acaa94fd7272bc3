//! Hardening (issue 16): bounded inputs, no leaked secrets, no stray processes.
//!
//! Every test here failed before its fix. Tests about secrets plant a canary value and search
//! every output for it: each report format, the error texts, and the logs at `trace`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nexus_readiness::builtin;
use nexus_readiness::config::{Config, ConfigError, ConfigErrorKind};
use nexus_readiness::model::Phase;
use nexus_readiness::probe::{Probe, ProbeContext, ProbeErrorKind, Verdict};
use nexus_readiness::probes::command::CommandProbe;
use nexus_readiness::probes::file::{DockerfileProbe, JunitProbe, TrivyProbe};
use nexus_readiness::report::{Format, Report};

mod common;

const CANARY: &str = "canary-7f3e9a1c-SECRET";

/// Loads `text` and applies it to the built-in checklist (`[targets]` is read then).
fn load_with_env(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    plan_with_env(text, env).map(|(c, _)| c)
}

fn plan_with_env(text: &str, env: &[(&str, &str)]) -> Result<(Config, nexus_readiness::run::Plan), ConfigError> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let config = Config::loader().env_source(move |n| env.get(n).cloned()).from_str(text, "nexus.toml")?;
    let plan = config.plan(nexus_readiness::builtin::nexus())?;
    Ok((config, plan))
}

fn mkfifo(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let ok = Command::new("mkfifo").arg(&p).status().expect("mkfifo runs").success();
    assert!(ok, "mkfifo {}", p.display());
    p
}

/// Runs `f` on a thread and fails the test if it has not returned within `limit`: a read that
/// blocks forever must not hang the test suite.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("still blocked after {limit:?}"))
}

// ---- durations ------------------------------------------------------------------------------

#[test]
fn huge_durations_are_config_errors_with_file_and_line() {
    for (text, line) in [
        ("[runner]\ntimeout = \"10000000000000000000s\"\n", 2),
        ("[runner]\nconcurrency = 2\ndeadline = \"10000000000000000000s\"\n", 3),
        ("[runner]\ndeadline = \"18446744073709551615s 1s\"\n", 2),
        ("[runner]\ndeadline = \"99999999999999999999999999999999999999999w\"\n", 2),
        ("[targets.smoke_test]\nprogram = \"true\"\ntimeout = \"36501d\"\n", 3),
    ] {
        let e = load_with_env(text, &[]).expect_err(text);
        assert_eq!(e.kind, ConfigErrorKind::InvalidValue, "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.to_string().starts_with(&format!("nexus.toml:{line}:")), "{e}");
        assert!(e.to_string().contains("out of range"), "{e}");
    }
    // The largest accepted deadline runs without overflowing anything.
    let c = load_with_env("[runner]\ndeadline = \"36500d\"\ntimeout = \"36500d\"\n", &[]).unwrap();
    let plan = c.plan(builtin::nexus()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = rt.block_on(c.runner().phases([Phase::Continuous]).build().run(&plan));
    assert!(!report.items().is_empty());
}

// ---- the config file ------------------------------------------------------------------------

#[test]
fn config_from_a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "nexus.toml");
    let e = within(Duration::from_secs(5), move || Config::load(&fifo)).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Io);
    assert!(e.to_string().ends_with("the config file is a FIFO, not a regular file"), "{e}");
}

#[test]
fn config_from_dev_zero_or_a_directory_is_refused() {
    let e = within(Duration::from_secs(5), || Config::load("/dev/zero")).unwrap_err();
    assert_eq!(e.to_string(), "/dev/zero: the config file is a character device, not a regular file");
    let dir = tempfile::tempdir().unwrap();
    let e = Config::load(dir.path()).unwrap_err();
    assert!(e.to_string().ends_with("the config file is a directory, not a regular file"), "{e}");
}

#[test]
fn an_oversized_config_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let f = std::fs::File::create(&path).unwrap();
    // Sparse: 1 GiB that costs no disk.
    f.set_len(1 << 30).unwrap();
    let e = Config::load(&path).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Io);
    assert!(e.to_string().ends_with("the config file is larger than the 4194304-byte limit"), "{e}");
}

// ---- file probes ----------------------------------------------------------------------------

fn file_probes(path: &Path) -> Vec<Box<dyn Probe>> {
    vec![Box::new(DockerfileProbe::new(path)), Box::new(TrivyProbe::new(path)), Box::new(JunitProbe::new(path))]
}

#[tokio::test]
async fn file_probes_refuse_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "Dockerfile");
    for (path, what) in [(Path::new("/dev/zero"), "a character device"), (fifo.as_path(), "a FIFO")] {
        for p in file_probes(path) {
            let started = Instant::now();
            let e = p.check(&ProbeContext::new()).await.unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(2), "{}: took {:?}", p.target(), started.elapsed());
            assert_eq!(e.kind, ProbeErrorKind::Misconfigured, "{e}");
            assert_eq!(e.message, format!("{} is {what}, not a regular file", path.display()));
        }
    }
}

#[tokio::test]
async fn file_probes_read_through_a_byte_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"FROM rust:1.95 AS build\n").unwrap();
    f.set_len(5 << 20).unwrap();
    let e = DockerfileProbe::new(&path).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(e.message, format!("{} is larger than the 4194304-byte limit", path.display()));
    f.set_len(65 << 20).unwrap();
    let e = TrivyProbe::new(&path).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(e.message, format!("{} is larger than the 67108864-byte limit", path.display()));
}

// ---- command probe --------------------------------------------------------------------------

/// Whether a process is gone (or a zombie nobody reaped yet: it runs no more).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if is_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[tokio::test]
async fn command_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let p = CommandProbe::new("sh").args(["-c", script.as_str()]).timeout(Duration::from_millis(500));
    let e = p.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Timeout);
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(wait_gone(pid), "the background child {pid} survived the timeout");
}

#[tokio::test]
async fn command_leaves_no_background_child_behind() {
    let p = CommandProbe::new("sh").args(["-c", "sleep 300 >/dev/null 2>&1 & echo $!"]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    let pid: u32 = obs.evidence.get("stdout").unwrap().trim().parse().unwrap();
    assert!(wait_gone(pid), "the background child {pid} survived the probe");
}

#[tokio::test]
async fn command_dropped_by_the_runner_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let p = CommandProbe::new("sh").args(["-c", script.as_str()]).timeout(Duration::from_secs(60));
    let r = tokio::time::timeout(Duration::from_millis(500), p.check(&ProbeContext::new())).await;
    assert!(r.is_err(), "the probe was dropped");
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(wait_gone(pid), "the background child {pid} survived the dropped probe");
}

#[tokio::test]
async fn command_capture_is_capped() {
    // 8 MiB of output with capture asking for a terabyte: memory stays bounded, the tail is kept.
    let p = CommandProbe::new("sh").args(["-c", "head -c 8388608 /dev/zero | tr '\\0' x; echo; echo END"]);
    let obs = p.capture(1 << 40).check(&ProbeContext::new()).await.unwrap();
    let out = obs.evidence.get("stdout").unwrap();
    assert!(out.len() <= (1 << 20) + 64, "{} bytes kept", out.len());
    assert!(out.ends_with("END"), "{}", &out[out.len() - 10..]);
    let e = load_with_env("[targets.smoke_test]\nprogram = \"true\"\ncapture = 1099511627776\n", &[]).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::InvalidProbe, "{e}");
    assert!(e.to_string().contains("capture = 1099511627776 is more than the 1048576-byte limit"), "{e}");
}

#[tokio::test]
async fn command_environment_is_cleared_except_what_is_inherited() {
    // Cargo sets CARGO_MANIFEST_DIR for the tests it runs; the probe must not pass it on.
    let Ok(value) = std::env::var("CARGO_MANIFEST_DIR") else {
        eprintln!("skipping: CARGO_MANIFEST_DIR is not set");
        return;
    };
    let script = "echo \"dir=$CARGO_MANIFEST_DIR path=${PATH:+set}\"";
    let obs = CommandProbe::new("sh").args(["-c", script]).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.evidence.get("stdout"), Some("dir= path=set"));
    // Inherited on request, and its value never shown.
    let p = CommandProbe::new("sh").args(["-c", script]).inherit_env(["PATH", "CARGO_MANIFEST_DIR"]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.evidence.get("stdout"), Some("dir=[redacted] path=set"));
    assert!(!format!("{obs:?}").contains(&value));
    // Nothing at all: `env` prints an empty environment.
    let obs = CommandProbe::new("/usr/bin/env").inherit_env(Vec::<String>::new());
    let obs = obs.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(obs.evidence.get("stdout"), None, "{obs:?}");
}

// ---- secrets in config errors and reports -----------------------------------------------------

#[test]
fn env_values_are_never_echoed_in_config_errors() {
    for text in [
        "[runner]\nconcurrency = \"${env:CANARY}\"\n",
        "[runner]\ntimeout = \"${env:CANARY}\"\n",
        "[runner]\nphases = [\"${env:CANARY}\"]\n",
        "[targets.redis]\naddress = \"${env:CANARY}\"\n",
        "[targets.redis]\naddress = \"cache:${env:CANARY}\"\n",
        "[targets.smoke_test]\nprogram = \"true\"\nexpect_exit = [\"${env:CANARY}\"]\n",
        "[waivers.\"pre-deployment.performance.cdn-configured-for-static-assets\"]\njustification = \"x\"\napprover = \"y\"\nexpires = \"${env:CANARY}\"\n",
        "[attestations.\"pre-deployment.security.penetration-testing-performed\"]\nby = \"x\"\nat = \"${env:CANARY}\"\n",
        "[bindings.x]\nkind = \"${env:CANARY}\"\n",
    ] {
        let e = load_with_env(text, &[("CANARY", CANARY)]).expect_err(text);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(CANARY), "{text}: {shown}");
        assert!(e.line.is_some(), "{text}: {e}");
    }
    // A short value too, where it stands quoted.
    let e = load_with_env("[runner]\nconcurrency = \"${env:SHORT}\"\n", &[("SHORT", "ab")]).unwrap_err();
    assert!(!e.to_string().contains("\"ab\""), "{e}");
}

#[test]
fn only_secret_fields_are_registered_as_secrets() {
    let text = r#"
[targets.redis]
address = "127.0.0.1:1"
username = "${env:REDIS_USER}"
password = "${env:REDIS_PASSWORD}"

[targets.smoke_test]
program = "sh"
args = ["-c", "echo runs as ${env:REDIS_USER}"]
env = { TOKEN = "${env:SMOKE_TOKEN}" }
"#;
    let (_, plan) =
        plan_with_env(text, &[("REDIS_USER", "root"), ("REDIS_PASSWORD", CANARY), ("SMOKE_TOKEN", "tok-123456")])
            .unwrap();
    let redacted = plan.redactor().redact(&format!("root {CANARY} tok-123456"));
    assert_eq!(redacted, "root [redacted] [redacted]");
}

fn all_formats(report: &Report) -> String {
    Format::ALL.iter().map(|f| report.render(*f)).collect::<Vec<_>>().join("\n")
}

/// Runs a config on a current-thread runtime with `trace` logs captured; returns every report
/// format and the logs.
fn run_traced(config: &Config, phases: &[Phase]) -> (Report, String, String) {
    let capture = common::trace::capture();
    let plan = config.plan(builtin::nexus()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = rt.block_on(config.runner().phases(phases.iter().copied()).build().run(&plan));
    let rendered = all_formats(&report);
    let logs = capture.logs();
    assert!(logs.contains("item finished"), "the logs were captured: {logs}");
    (report, rendered, logs)
}

#[test]
fn a_four_letter_env_value_is_not_redacted_everywhere_and_secrets_are() {
    let text = r#"
[targets.smoke_test]
program = "sh"
args = ["-c", "echo runs as ${env:RUN_AS}; echo token=$TOKEN; echo https://u:$TOKEN@h/x?sig=$TOKEN >&2; exit 1"]
env = { TOKEN = "${env:SMOKE_TOKEN}" }
"#;
    let c = load_with_env(text, &[("RUN_AS", "root"), ("SMOKE_TOKEN", CANARY)]).unwrap();
    let (report, rendered, logs) = run_traced(&c, &[Phase::PostDeployment]);
    let item = report.item("post-deployment.testing.smoke-tests-passed").unwrap();
    assert!(rendered.contains("runs as root"), "{}", item.reason);
    assert!(!rendered.contains(CANARY), "{rendered}");
    assert!(!logs.contains(CANARY), "{logs}");
}

#[test]
fn evidence_keys_and_targets_are_scrubbed_in_reports_and_logs() {
    use async_trait::async_trait;
    use nexus_readiness::probe::{Observation, ProbeError};

    #[derive(Debug)]
    struct Leaky;

    #[async_trait]
    impl Probe for Leaky {
        fn target(&self) -> String {
            format!("https://bob:{CANARY}@store.example.com/b?X-Amz-Signature={CANARY}")
        }
        async fn check(&self, _: &ProbeContext) -> Result<Observation, ProbeError> {
            // An event inside the probe's span: the span's fields (the target) are printed.
            tracing::trace!("checking");
            Ok(Observation::fail(format!("GET https://h/x?code={CANARY} answered 500"))
                .with_evidence(format!("https://h/?sig={CANARY}"), "key holds a url")
                .with_evidence("url", format!("https://h/?X-Amz-Credential={CANARY}&page=2")))
        }
    }
    let mut plan = nexus_readiness::run::Plan::new(builtin::nexus());
    plan.bind("post-deployment.testing.smoke-tests-passed", Leaky).unwrap();
    let capture = common::trace::capture();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report =
        rt.block_on(nexus_readiness::run::Runner::builder().phases([Phase::PostDeployment]).build().run(&plan));
    let rendered = all_formats(&report);
    assert!(rendered.contains("store.example.com"), "{rendered}");
    assert!(!rendered.contains(CANARY), "{rendered}");
    let logs = capture.logs();
    assert!(logs.contains("store.example.com"), "the target is logged: {logs}");
    assert!(!logs.contains(CANARY), "{logs}");
}

/// A deadline or timeout too large for the clock, set from Rust (the config refuses them at
/// load), means "no deadline", never a panic.
#[tokio::test]
async fn durations_too_large_for_the_clock_do_not_panic_the_runner() {
    use nexus_readiness::probe::FnProbe;
    use nexus_readiness::run::{Plan, Runner};
    let mut plan = Plan::new(builtin::nexus());
    plan.bind(
        "post-deployment.testing.smoke-tests-passed",
        FnProbe::new("fn://ok", |cx: ProbeContext| {
            let left = cx.remaining();
            async move {
                Ok(nexus_readiness::probe::Observation::pass(format!("{} s left", left.map_or(0, |d| d.as_secs()))))
            }
        }),
    )
    .unwrap();
    let runner = Runner::builder().deadline(Duration::MAX).probe_timeout(Duration::MAX).build();
    let report = runner.run(&plan).await;
    let item = report.item("post-deployment.testing.smoke-tests-passed").unwrap();
    assert_eq!(item.status, nexus_readiness::report::Status::Pass, "{}", item.reason);
    // About thirty years: far enough to be "never", near enough to be represented.
    assert!(item.reason.contains(" s left"), "{}", item.reason);
    let cx = ProbeContext::new().with_timeout(Duration::MAX);
    assert!(cx.remaining().is_some_and(|d| d > Duration::from_secs(20 * 365 * 86_400)));
}
