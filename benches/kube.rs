//! Evaluating 10,000 pods and 1,000 deployments from LIST JSON, against only deserializing
//! those bytes into k8s-openapi types. Target: the checks add at most 50% on top.
//!
//! Before the criterion groups (with `cargo bench --bench kube`), it prints:
//! - the ratio of deserialize+evaluate to deserialize alone (median of 5 runs);
//! - the peak RSS (`VmHWM`) of a child process that runs `pods-ready` through a real
//!   `kube::Client` against a paged in-process API server serving 10,000 and 100,000 pods,
//!   evaluated page by page (what the probe does) and, for comparison, listed whole first.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::core::ObjectList;
use nexus_readiness::probe::{Probe, ProbeContext, Verdict};
use nexus_readiness::probes::kube::{
    Check, CheckConfig, Evaluator, KubeProbe, Origin, ResourceKind, Snapshot, WorkloadSelector, evaluate, live,
};
use serde_json::json;

const DEPLOYMENTS: usize = 1_000;
const PODS_PER_DEPLOYMENT: usize = 10;

fn container(name: &str, image: &str) -> serde_json::Value {
    json!({
        "name": name, "image": image, "imagePullPolicy": "Always",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 5},
        "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true, "readOnlyRootFilesystem": true}
    })
}

fn deployment_json(d: usize, pods_per_deployment: usize) -> serde_json::Value {
    let app = format!("svc-{d}");
    let image = format!("registry.example.com/team/{app}:1.{d}.0");
    json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": "bench", "uid": format!("uid-{d}"), "generation": 3, "labels": {"app": app},
                         "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "spec": {"replicas": pods_per_deployment, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container("server", &image)]}}},
            "status": {"observedGeneration": 3, "replicas": pods_per_deployment, "updatedReplicas": pods_per_deployment,
                       "readyReplicas": pods_per_deployment, "availableReplicas": pods_per_deployment}
    })
}

fn pod_json(d: usize, p: usize) -> serde_json::Value {
    let app = format!("svc-{d}");
    let image = format!("registry.example.com/team/{app}:1.{d}.0");
    json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{app}-7d9f8b6c4-{p:05}"), "namespace": "bench", "uid": format!("pod-{d}-{p}"),
                             "labels": {"app": app, "pod-template-hash": "7d9f8b6c4"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-7d9f8b6c4"), "uid": "rs", "controller": true}]},
                "spec": {"nodeName": format!("node-{}", p % 50), "containers": [container("server", &image)]},
                "status": {
                    "phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.168.0.1", "startTime": "2026-11-26T10:00:00Z",
                    "conditions": [
                        {"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                        {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                    "containerStatuses": [{"name": "server", "image": image, "imageID": "sha256:abc", "ready": true, "started": true,
                        "restartCount": (p % 3) as i32, "state": {"running": {"startedAt": "2026-11-26T10:00:05Z"}}}]
                }
    })
}

fn list_bytes(kind: &str, api_version: &str, items: Vec<serde_json::Value>, cont: Option<String>) -> Vec<u8> {
    let mut meta = json!({"resourceVersion": "1"});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    serde_json::to_vec(&json!({"apiVersion": api_version, "kind": kind, "metadata": meta, "items": items})).unwrap()
}

fn lists() -> (Vec<u8>, Vec<u8>) {
    let deployments = (0..DEPLOYMENTS).map(|d| deployment_json(d, PODS_PER_DEPLOYMENT)).collect();
    let pods = (0..DEPLOYMENTS).flat_map(|d| (0..PODS_PER_DEPLOYMENT).map(move |p| pod_json(d, p))).collect();
    (list_bytes("DeploymentList", "apps/v1", deployments, None), list_bytes("PodList", "v1", pods, None))
}

fn deserialize(deployments: &[u8], pods: &[u8]) -> (Vec<Deployment>, Vec<Pod>) {
    let d: ObjectList<Deployment> = serde_json::from_slice(deployments).unwrap();
    let p: ObjectList<Pod> = serde_json::from_slice(pods).unwrap();
    (d.items, p.items)
}

const CHECKS: [Check; 7] = [
    Check::PodsReady,
    Check::RestartLoops,
    Check::RolloutComplete,
    Check::ResourceLimits,
    Check::HealthProbes,
    Check::ImageTag,
    Check::DebugDisabled,
];

fn evaluate_all(deployments: Vec<Deployment>, pods: Vec<Pod>) -> usize {
    let mut snap = Snapshot::new(Origin::Live);
    snap.deployments = deployments;
    snap.pods = pods;
    snap.loaded = vec![ResourceKind::Deployments, ResourceKind::Pods, ResourceKind::ConfigMaps, ResourceKind::Services];
    let selector = WorkloadSelector::namespace("bench");
    let config = CheckConfig::default();
    let eval = Evaluator::new(&snap, &selector, &config).unwrap();
    assert_eq!(eval.workloads().len(), DEPLOYMENTS);
    let mut findings = 0;
    for c in CHECKS {
        let out = eval.run(c).unwrap();
        findings += out.findings.len();
        black_box(out.to_observation());
    }
    findings
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// deserialize+evaluate against deserialize alone, median of 5 runs each.
fn ratio(deployments: &[u8], pods: &[u8]) {
    let time = |f: &dyn Fn()| {
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect(),
        )
    };
    let bare = time(&|| {
        black_box(deserialize(deployments, pods));
    });
    let full = time(&|| {
        let (d, p) = deserialize(deployments, pods);
        black_box(evaluate_all(d, p));
    });
    eprintln!(
        "kube: deserialize {:.0} ms, deserialize+evaluate {:.0} ms: ratio {:.2} (target <= 1.5)",
        bare.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3,
        full.as_secs_f64() / bare.as_secs_f64()
    );
}

/// Peak resident memory of this process, from /proc/self/status (KiB).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().to_string()))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A paged API server for `pods` pods of 1,000 deployments, generating each page on request
/// (it keeps no pod): its URL.
async fn paged_server(pods: usize) -> String {
    use axum::extract::{Query, State};
    use std::collections::HashMap;
    let per = pods.div_ceil(DEPLOYMENTS);
    async fn handle(
        State((pods, per)): State<(usize, usize)>,
        uri: axum::http::Uri,
        Query(q): Query<HashMap<String, String>>,
    ) -> Vec<u8> {
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
        let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        if uri.path().ends_with("/deployments") {
            let items = (0..DEPLOYMENTS).map(|d| deployment_json(d, per)).collect();
            return list_bytes("DeploymentList", "apps/v1", items, None);
        }
        if uri.path().ends_with("/pods") {
            let end = (start + limit).min(pods);
            let items = (start..end).map(|i| pod_json(i / per, i % per)).collect();
            return list_bytes("PodList", "v1", items, (end < pods).then(|| end.to_string()));
        }
        list_bytes("List", "v1", Vec::new(), None)
    }
    let app = axum::Router::new().fallback(handle).with_state((pods, per));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The child process: `pods-ready` over `pods` pods, `paged` (the probe) or `whole` (every pod
/// listed into a snapshot first); prints `mode pods seconds peak_kib verdict`.
fn rss_child(mode: &str, pods: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let url = paged_server(pods).await;
        let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        let cx = ProbeContext::new().with_timeout(Duration::from_secs(600));
        let selector = WorkloadSelector::namespace("bench");
        let t = Instant::now();
        let obs = match mode {
            "paged" => KubeProbe::live(client, selector, Check::PodsReady).check(&cx).await.unwrap(),
            "idle" => nexus_readiness::probe::Observation::pass("nothing evaluated"),
            _ => {
                let snap = live::fetch(&cx, &client, "bench", &[ResourceKind::Deployments, ResourceKind::Pods], 500)
                    .await
                    .unwrap();
                evaluate(&snap, &selector, Check::PodsReady, &CheckConfig::default()).unwrap().to_observation()
            }
        };
        assert!(mode == "idle" || obs.verdict == Verdict::Pass, "{obs:?}");
        println!("{mode} {pods} {:.3} {} {}", t.elapsed().as_secs_f64(), vm_hwm_kib(), obs.summary);
    });
}

/// Runs the RSS children and prints the table.
fn rss_report() {
    let exe = std::env::current_exe().unwrap();
    for (mode, pods) in [("idle", 0), ("paged", 10_000), ("whole", 10_000), ("paged", 100_000), ("whole", 100_000)] {
        let out =
            std::process::Command::new(&exe).env("KUBE_BENCH_RSS_CHILD", format!("{mode} {pods}")).output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_string();
        let f: Vec<&str> = line.splitn(5, ' ').collect();
        if !out.status.success() || f.len() < 4 {
            eprintln!("kube rss: {mode} {pods} failed: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        let mib = f[3].parse::<f64>().unwrap_or(0.0) / 1024.0;
        eprintln!("kube rss: pods-ready {mode:>5} over {pods:>6} pods: {:>7} s, peak RSS {mib:>7.1} MiB", f[2]);
    }
}

fn bench(c: &mut Criterion) {
    let (deployments, pods) = lists();
    eprintln!("LIST JSON: deployments {} KiB, pods {} KiB", deployments.len() / 1024, pods.len() / 1024);
    {
        let (d, p) = deserialize(&deployments, &pods);
        assert_eq!(p.len(), DEPLOYMENTS * PODS_PER_DEPLOYMENT);
        assert_eq!(evaluate_all(d, p), 0, "the benchmark cluster is healthy");
    }
    let mut g = c.benchmark_group("kube_10k_pods_1k_deployments");
    g.sample_size(10);
    g.bench_function("deserialize", |b| b.iter(|| black_box(deserialize(black_box(&deployments), black_box(&pods)))));
    g.bench_function("deserialize_and_check", |b| {
        b.iter(|| {
            let (d, p) = deserialize(black_box(&deployments), black_box(&pods));
            black_box(evaluate_all(d, p))
        })
    });
    g.bench_function("check_only", |b| {
        b.iter_batched(
            || deserialize(&deployments, &pods),
            |(d, p)| black_box(evaluate_all(d, p)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("KUBE_BENCH_RSS_CHILD") {
        let (mode, pods) = spec.split_once(' ').unwrap();
        rss_child(mode, pods.parse().unwrap());
        return;
    }
    // Only under `cargo bench` (not `cargo test --benches`): the children take a while.
    if std::env::args().any(|a| a == "--bench") {
        let (deployments, pods) = lists();
        ratio(&deployments, &pods);
        rss_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
