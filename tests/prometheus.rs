//! The Prometheus backend against a real Prometheus server scraping an in-process exporter.
#![cfg(feature = "prometheus")]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use nexus_readiness::model::{AlertRule, Comparison, Condition, Level, Threshold, Unit};
use nexus_readiness::probe::{Probe, ProbeContext, ProbeErrorKind, Verdict};
use nexus_readiness::probes::prometheus::{
    AlertRulesProbe, CapacityProbe, ExpectedRule, MetricsFlowingProbe, PrometheusClient, SeriesPresentProbe,
    render_rule_file, rule_expr,
};

/// What the exporter serves; counters advance by one "batch" per scrape.
#[derive(Default)]
struct Exporter {
    gpu_util: f64,
    slow: bool,
    error_per_10k: u64,
    scrapes: u64,
    buckets: [u64; 5],
    sum: f64,
    requests_ok: u64,
    requests_err: u64,
}

const LE: [&str; 5] = ["0.1", "0.25", "0.5", "1", "+Inf"];

async fn metrics(State(state): State<Arc<Mutex<Exporter>>>) -> String {
    let mut s = state.lock().unwrap();
    s.scrapes += 1;
    // 100 observations per scrape: all under 100 ms when fast, all in (0.5 s, 1 s] when slow.
    let first = if s.slow { 3 } else { 0 };
    for b in first..5 {
        s.buckets[b] += 100;
    }
    s.sum += if s.slow { 90.0 } else { 5.0 };
    let err = s.error_per_10k;
    s.requests_err += err;
    s.requests_ok += 10_000 - err;
    let mut out = String::new();
    out.push_str("# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n");
    out.push_str(&format!("DCGM_FI_DEV_GPU_UTIL{{gpu=\"0\",Hostname=\"node-a\"}} {}\n", s.gpu_util));
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for (le, n) in LE.iter().zip(s.buckets) {
        out.push_str(&format!("http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}\n"));
    }
    out.push_str(&format!("http_request_duration_seconds_sum {}\n", s.sum));
    out.push_str(&format!("http_request_duration_seconds_count {}\n", s.buckets[4]));
    out.push_str("# TYPE http_requests_total counter\n");
    out.push_str(&format!("http_requests_total{{code=\"200\"}} {}\n", s.requests_ok));
    out.push_str(&format!("http_requests_total{{code=\"500\"}} {}\n", s.requests_err));
    out
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn threshold(metric: &str, unit: Unit, healthy: f64, breach: f64, action: &str) -> Threshold {
    Threshold::ceiling(metric, unit, healthy, breach, action).unwrap()
}

fn checklist_rules() -> Vec<AlertRule> {
    vec![
        AlertRule::new("High error rate")
            .condition(Condition::new(Comparison::Gt, 5.0, Unit::Percent))
            .window(Duration::from_secs(300)),
        AlertRule::new("High latency")
            .condition(Condition::new(Comparison::Gt, 1.0, Unit::Seconds).aggregation("p99"))
            .window(Duration::from_secs(600)),
        AlertRule::new("GPU OOM errors"),
        AlertRule::new("Pod restart loops"),
        AlertRule::new("Disk space").condition(Condition::new(Comparison::Gt, 80.0, Unit::Percent)),
    ]
}

fn expected() -> Vec<ExpectedRule> {
    let (rules, unknown) = nexus_readiness::probes::prometheus::expected_rules(
        &nexus_readiness::model::Checklist::builder("t", "t").build().unwrap(),
        &BTreeMap::new(),
    );
    assert!(rules.is_empty() && unknown.is_empty());
    checklist_rules()
        .into_iter()
        .map(|r| {
            let expr = rule_expr(&r, &BTreeMap::new()).expect("default expression");
            ExpectedRule::new(r.alert_name(), r, expr)
        })
        .collect()
}

async fn wait_for(client: &PrometheusClient, expr: &str, pred: impl Fn(f64) -> bool) {
    let start = Instant::now();
    loop {
        if let Ok(r) = client.query(expr, None).await
            && r.into_samples().first().is_some_and(|s| pred(s.value))
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "`{expr}` never reached the expected value");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_backend_against_a_real_server() {
    let Some(prometheus) = common::require_binary("prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();

    // The in-process exporter.
    let state = Arc::new(Mutex::new(Exporter { gpu_util: 60.0, error_per_10k: 5, ..Default::default() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter_addr = listener.local_addr().unwrap();
    let app = Router::new().route("/metrics", get(metrics)).with_state(state.clone());
    let exporter = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // A rule file with four of the five rules: Disk space is missing, High latency has the wrong `for`.
    let mut rules = expected();
    rules.retain(|r| r.alert != "DiskSpace");
    rules.iter_mut().filter(|r| r.alert == "HighLatency").for_each(|r| r.rule.window = Some(Duration::from_secs(60)));
    let rules_path = dir.path().join("rules.yml");
    std::fs::write(&rules_path, render_rule_file(&rules, "nexus")).unwrap();

    let port = common::free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: nexus\n    static_configs:\n      - targets: ['{exporter_addr}']\n",
        rules_path.display()
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let _server = Server(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let client = PrometheusClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)).unwrap();
    let start = Instant::now();
    while !client.ready().await.unwrap_or(false) {
        assert!(start.elapsed() < Duration::from_secs(30), "prometheus did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for(&client, "DCGM_FI_DEV_GPU_UTIL", |v| v == 60.0).await;
    let cx = ProbeContext::new();

    // Metrics flowing: fresh samples, target up.
    let flowing =
        MetricsFlowingProbe::new(client.clone(), "DCGM_FI_DEV_GPU_UTIL", Duration::from_secs(30)).job("nexus");
    let obs = flowing.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.contains("newest sample"), "{}", obs.summary);
    let other_job = MetricsFlowingProbe::new(client.clone(), "up", Duration::from_secs(30)).job("missing-job");
    let obs = other_job.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("no active scrape target for job `missing-job`"), "{}", obs.summary);

    // GPU utilization threshold as the exporter's value moves: 60 Ok, 80 Warn, 90 Breach "Scale up".
    let gpu = threshold("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up");
    let gpu_probe = CapacityProbe::new(client.clone(), "DCGM_FI_DEV_GPU_UTIL", Unit::Percent, gpu.clone());
    for (value, verdict, level) in
        [(60.0, Verdict::Pass, Level::Ok), (80.0, Verdict::Warn, Level::Warn), (90.0, Verdict::Fail, Level::Breach)]
    {
        state.lock().unwrap().gpu_util = value;
        wait_for(&client, "DCGM_FI_DEV_GPU_UTIL", |v| v == value).await;
        let obs = gpu_probe.check(&cx).await.unwrap();
        assert_eq!(obs.verdict, verdict, "{}", obs.summary);
        let m = &obs.measurements[0];
        assert_eq!(m.labels.get("gpu").map(String::as_str), Some("0"));
        assert_eq!(m.evaluation.as_ref().unwrap().level, level);
        if level == Level::Breach {
            assert_eq!(obs.summary, "GPU Utilization 90%: breach (> 85%): Scale up");
        }
    }
    // Sustained over a window that still holds the earlier 60-80% values: no breach yet.
    let sustained = CapacityProbe::new(client.clone(), "DCGM_FI_DEV_GPU_UTIL", Unit::Percent, gpu)
        .sustained(Duration::from_secs(60), Duration::from_secs(1));
    let obs = sustained.check(&cx).await.unwrap();
    assert_ne!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.contains("over 1m"), "{}", obs.summary);

    // The same threshold bound through a config file and run by the runner: the report shows
    // the checklist's capacity table with the live value and the action.
    let config = nexus_readiness::config::Config::from_str_named(
        &format!(
            "[bindings.\"post-deployment.testing.performance-tests-passed\"]\nkind = \"prometheus-capacity\"\nurl = \"http://127.0.0.1:{port}\"\nthreshold = \"GPU Utilization\"\n"
        ),
        "capacity.toml",
    )
    .unwrap();
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
    let report = config.runner().phases([nexus_readiness::model::Phase::PostDeployment]).build().run(&plan).await;
    let item = report.item("post-deployment.testing.performance-tests-passed").unwrap();
    assert_eq!(item.status, nexus_readiness::report::Status::Fail, "{}", item.reason);
    assert!(item.reason.contains("GPU Utilization 90%: breach (> 85%): Scale up"), "{}", item.reason);
    let markdown = report.render(nexus_readiness::report::Format::Markdown);
    assert!(
        markdown.contains("| GPU Utilization (Hostname=node-a, gpu=0, instance=")
            && markdown.contains(
                "| 90% | < 70% | > 85% | breach | Scale up | `post-deployment.testing.performance-tests-passed` |"
            ),
        "{markdown}"
    );

    // p99 latency from the histogram: fast → Ok; slow → Breach "Optimize" (threshold in ms, data in s).
    let latency = threshold("Request Latency", Unit::Milliseconds, 200.0, 500.0, "Optimize");
    let p99 = "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5s])))";
    let latency_probe = CapacityProbe::new(client.clone(), p99, Unit::Seconds, latency);
    wait_for(&client, p99, |v| v < 0.2).await;
    let obs = latency_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    state.lock().unwrap().slow = true;
    wait_for(&client, p99, |v| v > 0.9).await;
    let obs = latency_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.ends_with(": Optimize"), "{}", obs.summary);

    // Error ratio: 0.05% → Ok; 2% → Breach "Investigate" (threshold in percent, data a ratio).
    let errors = threshold("Error Rate", Unit::Percent, 0.1, 1.0, "Investigate");
    let ratio = "sum(rate(http_requests_total{code=~\"5..\"}[5s])) / sum(rate(http_requests_total[5s]))";
    let error_probe = CapacityProbe::new(client.clone(), ratio, Unit::Ratio, errors);
    wait_for(&client, ratio, |v| (v - 0.0005).abs() < 1e-6).await;
    let obs = error_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.starts_with("Error Rate 0.05%: ok"), "{}", obs.summary);
    state.lock().unwrap().error_per_10k = 200;
    wait_for(&client, ratio, |v| (v - 0.02).abs() < 1e-6).await;
    let obs = error_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(
        obs.summary.starts_with("Error Rate 2%: breach") && obs.summary.ends_with(": Investigate"),
        "{}",
        obs.summary
    );

    // Alert rules: the missing rule is named, the wrong `for` is reported.
    let rules_probe = AlertRulesProbe::new(client.clone(), expected());
    let obs = rules_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("missing alert rules: DiskSpace (Disk space (> 80%))"), "{}", obs.summary);
    assert!(obs.summary.contains("HighLatency has for 1m, want 10m"), "{}", obs.summary);
    // Fixed rule file, reloaded: all five present.
    std::fs::write(&rules_path, render_rule_file(&expected(), "nexus")).unwrap();
    let reload = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/-/reload")).send().await.unwrap();
    assert!(reload.status().is_success());
    let obs = rules_probe.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.starts_with("all 5 recommended alert rules defined"), "{}", obs.summary);

    // Dashboard series: a missing metric is named.
    let series = SeriesPresentProbe::new(
        client.clone(),
        vec![
            ("GPU utilization".into(), "DCGM_FI_DEV_GPU_UTIL".into()),
            ("Queue depth".into(), "nexus_queue_depth".into()),
        ],
    );
    let obs = series.check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "1 of 2 dashboard metrics have no series: Queue depth (`nexus_queue_depth`)");

    // Bad PromQL: an Error with Prometheus's own message.
    let bad =
        CapacityProbe::new(client.clone(), "sum(rate(", Unit::Percent, threshold("x", Unit::Percent, 1.0, 2.0, "y"));
    let err = bad.check(&cx).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
    assert!(err.message.contains("bad_data") && err.message.contains("parse error"), "{}", err.message);

    // A metric that is not there: an Error, never a Pass.
    let absent = CapacityProbe::new(
        client.clone(),
        "no_such_metric",
        Unit::Percent,
        threshold("x", Unit::Percent, 1.0, 2.0, "y"),
    );
    let err = absent.check(&cx).await.unwrap_err();
    assert!(err.message.contains("returned no series"), "{}", err.message);

    // A stale target: stop the exporter and the target goes down.
    exporter.abort();
    let start = Instant::now();
    let obs = loop {
        let obs = flowing.check(&cx).await.unwrap();
        if obs.verdict == Verdict::Fail || start.elapsed() > Duration::from_secs(30) {
            break obs;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(
        obs.summary.contains(&format!("1 of 1 targets down: http://{exporter_addr}/metrics is down")),
        "{}",
        obs.summary
    );
}

#[tokio::test]
async fn unreachable_prometheus_is_an_error() {
    let port = common::free_port();
    let client = PrometheusClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();
    let err =
        MetricsFlowingProbe::new(client, "up", Duration::from_secs(60)).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Unreachable);
    assert!(
        err.message.contains(&format!("cannot connect to prometheus at http://127.0.0.1:{port}")),
        "{}",
        err.message
    );
}

#[test]
fn rendered_rule_file_passes_promtool() {
    let Some(promtool) = common::require_binary("promtool") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    let yaml = render_rule_file(&expected(), "nexus");
    assert!(yaml.contains("alert: HighErrorRate"), "{yaml}");
    assert!(yaml.contains("> 0.05"), "{yaml}");
    assert!(yaml.contains("for: 10m"), "{yaml}");
    std::fs::write(&path, &yaml).unwrap();
    let out = Command::new(promtool).arg("check").arg("rules").arg(&path).output().unwrap();
    assert!(out.status.success(), "promtool rejected the rule file:\n{yaml}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS: 5 rules found"));
}

/// Starts Prometheus scraping `exporter` every second, with `rules` as its rule file.
async fn start_prometheus(
    prometheus: &std::path::Path,
    dir: &std::path::Path,
    exporter: std::net::SocketAddr,
    rules: &str,
) -> (Server, PrometheusClient) {
    let rules_path = dir.join("rules.yml");
    std::fs::write(&rules_path, rules).unwrap();
    let port = common::free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: nexus\n    static_configs:\n      - targets: ['{exporter}']\n",
        rules_path.display()
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let server = Server(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let client = PrometheusClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5)).unwrap();
    let start = Instant::now();
    while !client.ready().await.unwrap_or(false) {
        assert!(start.elapsed() < Duration::from_secs(30), "prometheus did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (server, client)
}

/// The fault table of issue #15, rerun against a real Prometheus: a healthy service that never
/// answered a 5xx (no `code="500"` series at all), and a rule file whose `for` differs on rules
/// for which the checklist gives no window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_zero_errors_is_a_zero_error_rate_and_windowless_rules_accept_any_for() {
    let Some(prometheus) = common::require_binary("prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let served = Arc::new(Mutex::new(0u64));
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(n): State<Arc<Mutex<u64>>>| async move {
                let mut n = n.lock().unwrap();
                *n += 1000;
                format!("# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {n}\n")
            }),
        )
        .with_state(served);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exporter = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // PodRestartLoops with `for: 5m`: the checklist gives that rule no window.
    let mut in_file = expected();
    in_file
        .iter_mut()
        .filter(|r| r.alert == "PodRestartLoops")
        .for_each(|r| r.rule.window = Some(Duration::from_secs(300)));
    let (_server, client) =
        start_prometheus(&prometheus, dir.path(), exporter, &render_rule_file(&in_file, "nexus")).await;
    wait_for(&client, "sum(rate(http_requests_total[5m]))", |v| v > 0.0).await;
    let cx = ProbeContext::new();
    let base = client.base().to_string();

    // The default "Error Rate" expression through a config spec: 0%, Pass (before: Error
    // "returned no series: the metric is not in prometheus").
    let spec: nexus_readiness::probes::prometheus::CapacitySpec =
        toml::from_str(&format!("url = \"{base}\"\nthreshold = \"Error Rate\"")).unwrap();
    let obs = nexus_readiness::probe::ProbeSpec::build(
        &spec,
        &nexus_readiness::probe::BuildContext::new(&nexus_readiness::builtin::nexus()),
    )
    .unwrap()
    .check(&cx)
    .await
    .unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.starts_with("Error Rate 0%: ok"), "{}", obs.summary);

    // A plain ratio written without `or vector(0)`: the absent numerator counts as 0.
    let errors = threshold("Error Rate", Unit::Percent, 0.5, 1.0, "Investigate");
    let plain = "sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))";
    let obs = CapacityProbe::new(client.clone(), plain, Unit::Ratio, errors.clone()).check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(
        obs.summary,
        "Error Rate 0%: ok (healthy < 0.5%) (no series matched the numerator `sum(rate(http_requests_total{code=~\"5..\"}[5m]))`: counted as 0)"
    );
    // Sustained over a window, likewise.
    let obs = CapacityProbe::new(client.clone(), plain, Unit::Ratio, errors.clone())
        .sustained(Duration::from_secs(30), Duration::from_secs(5))
        .check(&cx)
        .await
        .unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    // The denominator absent too: the metric is not there, an Error.
    let neither = "sum(rate(nexus_errors_total[5m])) / sum(rate(nexus_requests_total[5m]))";
    let err = CapacityProbe::new(client.clone(), neither, Unit::Ratio, errors.clone()).check(&cx).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert!(err.message.contains("returned no series"), "{}", err.message);
    // No requests in the window (0/0): could not look, never a Pass.
    let idle = "(sum(rate(http_requests_total{code=~\"5..\"}[5m])) or vector(0)) / sum(rate(http_requests_total{code=\"200\"}[5m]) * 0)";
    let err = CapacityProbe::new(client.clone(), idle, Unit::Ratio, errors).check(&cx).await.unwrap_err();
    assert!(err.message.contains("is NaN on all 1 series (0/0"), "{}", err.message);

    // Alert rules: PodRestartLoops has `for: 5m`, the checklist no window: accepted (before:
    // "PodRestartLoops has for 5m, want 0s").
    let start = Instant::now();
    while client.rules().await.unwrap().len() < 5 {
        assert!(start.elapsed() < Duration::from_secs(30), "rules not loaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let obs = AlertRulesProbe::new(client.clone(), expected()).check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.starts_with("all 5 recommended alert rules defined"), "{}", obs.summary);
    // A rule with a window still needs its `for`.
    let mut want = expected();
    want.iter_mut()
        .filter(|r| r.alert == "PodRestartLoops")
        .for_each(|r| r.rule.window = Some(Duration::from_secs(60)));
    let obs = AlertRulesProbe::new(client.clone(), want).check(&cx).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("PodRestartLoops has for 5m, want 1m"), "{}", obs.summary);
}
