//! examples/deploy/fleet-rules.yaml: promtool accepts it and passes its unit tests
//! (fleet-rules.test.yml), and a real Prometheus scraping three in-process readiness servers
//! (three "GPU nodes", one failing its GPU check) computes the fleet readiness from it; a node
//! whose checker stops answering counts as not ready.
#![cfg(all(feature = "server", feature = "prometheus"))]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nexus_readiness::builtin;
use nexus_readiness::model::Phase;
use nexus_readiness::probe::{FnProbe, Observation};
use nexus_readiness::probes::prometheus::PrometheusClient;
use nexus_readiness::run::{Plan, Runner};
use nexus_readiness::server::{ReadinessService, ServerConfig};
use tokio::sync::oneshot;

const GPU_ITEM: &str = "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested";

fn rules_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/deploy/fleet-rules.yaml")
}

#[test]
fn fleet_rules_pass_promtool() {
    let Some(promtool) = common::require_binary("promtool") else { return };
    let out = Command::new(promtool).arg("check").arg("rules").arg(rules_file()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "promtool rejected fleet-rules.yaml:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("SUCCESS: 10 rules found"), "{stdout}");
    // The unit tests next to it: ratio, counts and each alert's `for` window on ten nodes.
    let tests = rules_file().with_file_name("fleet-rules.test.yml");
    let out = Command::new(common::require_binary("promtool").unwrap())
        .arg("test")
        .arg("rules")
        .arg(&tests)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "promtool test rules failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("SUCCESS"), "{stdout}");
}

/// A GPU node's checker as the DaemonSet runs it: the built-in checklist, pre-deployment phase,
/// only the GPU item gating, bound here to a probe that passes or fails like NVML would.
fn node(gpu_ok: bool) -> ReadinessService {
    let mut plan = Plan::new(builtin::nexus());
    plan.bind(
        GPU_ITEM,
        FnProbe::new("nvml://libnvidia-ml.so.1/gpus", move |_cx| async move {
            Ok(if gpu_ok {
                Observation::pass("8 GPUs present (want at least 8)")
            } else {
                Observation::fail("7 GPUs present (want at least 8): GPU 00000000:3B:00.0 is lost")
            })
        }),
    )
    .unwrap();
    let ids: Vec<String> = plan.checklist().items().map(|i| i.id.to_string()).collect();
    for id in ids {
        let gating = id == GPU_ITEM;
        plan.gating(&id, gating).unwrap();
    }
    let runner = Runner::builder().phases([Phase::PreDeployment]).build();
    ReadinessService::new(plan, runner, ServerConfig::default().cache_ttl(Duration::from_millis(500)))
}

/// Serves `svc` on a loopback port until the sender is used or dropped.
async fn serve(svc: ReadinessService) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, svc.router())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (addr, tx)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn value(client: &PrometheusClient, expr: &str) -> Option<f64> {
    client.query(expr, None).await.ok()?.into_samples().first().map(|s| s.value)
}

async fn wait_for(client: &PrometheusClient, expr: &str, want: f64) {
    let start = Instant::now();
    loop {
        let got = value(client, expr).await;
        if got.is_some_and(|v| (v - want).abs() < 1e-9) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "`{expr}` is {got:?}, never reached {want}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_rules_compute_readiness_of_three_nodes() {
    let Some(prometheus) = common::require_binary("prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();

    let (a, _stop_a) = serve(node(true)).await;
    let (b, stop_b) = serve(node(true)).await;
    let (c, _stop_c) = serve(node(false)).await;

    // The job of examples/deploy/prometheus.yaml with its metric relabelling, static targets
    // instead of Kubernetes discovery.
    let deploy: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(rules_file().with_file_name("prometheus.yaml")).unwrap())
            .unwrap();
    let job = &deploy["scrape_configs"][0];
    assert_eq!(job["job_name"], "nexus-node-checks");
    let config = serde_json::json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [rules_file()],
        "scrape_configs": [{
            "job_name": "nexus-node-checks",
            "static_configs": [{"targets": [a, b, c]}],
            "metric_relabel_configs": job["metric_relabel_configs"],
        }],
    });
    let config = serde_norway::to_string(&config).unwrap();
    let port = common::free_port();
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let _server = Server(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
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

    // Two of three nodes ready.
    wait_for(&client, "nexus:gpu_nodes:count", 3.0).await;
    wait_for(&client, "nexus:gpu_nodes_ready:ratio", 2.0 / 3.0).await;
    wait_for(&client, "nexus:gpu_nodes_ready:count", 2.0).await;
    wait_for(&client, "nexus:gpu_nodes_not_ready:count", 1.0).await;
    wait_for(&client, &format!("nexus:gpu_nodes_item_failing:count{{item=\"{GPU_ITEM}\"}}"), 1.0).await;
    wait_for(&client, "nexus:gpu_nodes_stale_checks:count", 0.0).await;
    // The failing node is the one the per-node alert expression picks.
    let failing = client.query("nexus_readiness_ready{job=\"nexus-node-checks\"} == 0", None).await.unwrap();
    let failing = failing.into_samples();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0].labels.get("instance").map(String::as_str), Some(c.as_str()), "{failing:?}");

    // Metric relabelling keeps 193 of the 658 series of a node (this plan has no measurements):
    // 58 items x 3 one-hot statuses, ready, unverified, gating items not verified, items
    // verified and automatable, last run, run duration, 8 item counts, 4 server counters.
    wait_for(&client, &format!("scrape_samples_scraped{{instance=\"{a}\"}}"), 658.0).await;
    wait_for(&client, &format!("scrape_samples_post_metric_relabeling{{instance=\"{a}\"}}"), 193.0).await;

    // The alert rules are loaded with their `for` windows.
    let rules = client.rules().await.unwrap();
    for (alert, window) in
        [("NexusGpuFleetReadinessLow", 600.0), ("NexusGpuNodeNotReady", 900.0), ("NexusGpuNodeCheckerDown", 900.0)]
    {
        let r = rules.iter().find(|r| r.name == alert).unwrap_or_else(|| panic!("{alert} not loaded: {rules:#?}"));
        assert_eq!((r.kind.as_str(), r.duration), ("alerting", window), "{r:?}");
    }
    assert!(rules.iter().all(|r| r.health != "err"), "{rules:#?}");

    // A node whose checker stops answering counts as not ready instead of vanishing.
    stop_b.send(()).unwrap();
    wait_for(&client, "nexus:gpu_nodes_ready:ratio", 1.0 / 3.0).await;
    wait_for(&client, "nexus:gpu_nodes_not_ready:count", 2.0).await;
    wait_for(&client, "nexus:gpu_nodes:count", 3.0).await;
}
