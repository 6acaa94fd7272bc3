//! Readiness server cost, the numbers behind the README's fleet scale section.
//!
//! (a) A cached `/metrics` scrape over real loopback HTTP/1.1 (keep-alive, raw TCP client) of a
//! GPU node's checker: the built-in checklist as examples/deploy/node-checks.toml configures it
//! (pre-deployment phase, the GPU item gating), its NVML probes replaced by in-process probes
//! that report what NVML would on an 8-GPU node (per-GPU temperature, power, utilization and
//! memory with thresholds). Latency per scrape.
//! (b) An uncached run of that node plan, and of the whole built-in plan without targets:
//! time per run (the library's own cost; on a node NVML init and reads come on top).
//!
//! Also prints the `/metrics` body size in bytes and its series count for both plans.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nexus_readiness::builtin;
use nexus_readiness::model::{Phase, Threshold, Unit};
use nexus_readiness::probe::{FnProbe, Measurement, Observation};
use nexus_readiness::report::Format;
use nexus_readiness::run::{Plan, Runner};
use nexus_readiness::server::{ReadinessService, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const GPU_ITEM: &str = "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested";
const CAPACITY_ITEM: &str = "pre-deployment.performance.auto-scaling-policies-configured";
const GPUS: usize = 8;

fn per_gpu(name: &str, unit: Unit, value: f64, threshold: Option<&Threshold>) -> Vec<Measurement> {
    (0..GPUS)
        .map(|i| {
            let m = Measurement::new(name, value + i as f64, unit)
                .label("gpu", i.to_string())
                .label("uuid", format!("GPU-3f9a1c7e-5b2d-4e6f-8a9b-0c1d2e3f40{i:02}"));
            match threshold {
                Some(t) => m.evaluate(t),
                None => m,
            }
        })
        .collect()
}

/// The node plan of examples/deploy/node-checks.toml with in-process stand-ins for NVML.
fn node_plan() -> Plan {
    let mut plan = Plan::new(builtin::nexus());
    let temp = Threshold::ceiling("GPU temperature", Unit::Celsius, 80.0, 90.0, "Drain the node").unwrap();
    let util = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up").unwrap();
    let mem = Threshold::ceiling("GPU memory usage", Unit::Percent, 70.0, 85.0, "Scale up").unwrap();
    plan.bind(
        GPU_ITEM,
        FnProbe::new("nvml://libnvidia-ml.so.1/gpus", |_cx| async {
            Ok(Observation::pass("8 GPUs present (want at least 1), driver 550.54.15")
                .with_measurement(Measurement::new("gpu_count", GPUS as f64, Unit::Count)))
        }),
    )
    .unwrap();
    let (t, u, m) = (Arc::new(temp), Arc::new(util), Arc::new(mem));
    plan.bind(
        GPU_ITEM,
        FnProbe::new("nvml://libnvidia-ml.so.1/health", move |_cx| {
            let t = t.clone();
            async move {
                let mut obs = Observation::pass("8 GPUs healthy");
                for m in per_gpu("gpu_temperature", Unit::Celsius, 55.0, Some(&t)) {
                    obs = obs.with_measurement(m);
                }
                for m in per_gpu("gpu_power", Unit::Watts, 310.0, None) {
                    obs = obs.with_measurement(m);
                }
                Ok(obs)
            }
        }),
    )
    .unwrap();
    plan.bind(
        GPU_ITEM,
        FnProbe::new("nvml://libnvidia-ml.so.1/xid", |_cx| async {
            Ok(Observation::pass("no critical XID in 2s").with_measurement(Measurement::new(
                "gpu_xid_critical_events",
                0.0,
                Unit::Count,
            )))
        }),
    )
    .unwrap();
    plan.bind(
        CAPACITY_ITEM,
        FnProbe::new("nvml://libnvidia-ml.so.1/capacity", move |_cx| {
            let (u, m) = (u.clone(), m.clone());
            async move {
                let mut obs = Observation::pass("busiest GPU at 67% utilization, 62% memory");
                for x in per_gpu("gpu_utilization", Unit::Percent, 60.0, Some(&u))
                    .into_iter()
                    .chain(per_gpu("gpu_memory_usage", Unit::Percent, 55.0, Some(&m)))
                    .chain(per_gpu("gpu_memory_used", Unit::Bytes, 5.0e10, None))
                    .chain(per_gpu("gpu_memory_total", Unit::Bytes, 8.5e10, None))
                {
                    obs = obs.with_measurement(x);
                }
                Ok(obs)
            }
        }),
    )
    .unwrap();
    let ids: Vec<String> = plan.checklist().items().map(|i| i.id.to_string()).collect();
    for id in ids {
        let gating = id == GPU_ITEM;
        plan.gating(&id, gating).unwrap();
    }
    plan
}

fn node_runner() -> Runner {
    Runner::builder().phases([Phase::PreDeployment]).build()
}

/// One keep-alive HTTP/1.1 GET; returns the body length.
async fn get(stream: &mut TcpStream, buf: &mut Vec<u8>) -> usize {
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n").await.unwrap();
    buf.clear();
    let mut chunk = [0u8; 65536];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .expect("content-length");
            if buf.len() >= end + 4 + len {
                return len;
            }
        }
    }
}

fn body_stats(name: &str, body: &str) {
    let series = body.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
    let item_status = body.lines().filter(|l| l.starts_with("nexus_readiness_item_status{")).count();
    println!("{name}: /metrics body {} bytes, {series} series ({item_status} nexus_readiness_item_status)", body.len());
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();

    // Body sizes.
    let node_report = rt.block_on(node_runner().run(&node_plan()));
    assert!(node_report.ready(), "the node plan must be ready");
    body_stats("node plan (report only)", &node_report.render(Format::Prometheus));
    let full_report = rt.block_on(Runner::builder().build().run(&Plan::new(builtin::nexus())));
    body_stats("builtin plan without targets (report only)", &full_report.render(Format::Prometheus));

    // (a) Cached scrape over loopback.
    let svc =
        ReadinessService::new(node_plan(), node_runner(), ServerConfig::default().cache_ttl(Duration::from_secs(3600)));
    let (mut stream, len) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = svc.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let len = get(&mut stream, &mut Vec::new()).await;
        (stream, len)
    });
    println!("node /metrics over HTTP (with server counters): {len} bytes");
    let mut buf = Vec::with_capacity(1 << 16);
    c.bench_function("server/metrics_cached_scrape_loopback", |b| {
        b.iter(|| rt.block_on(get(&mut stream, &mut buf)));
    });
    assert_eq!(svc.runs(), 1, "every scrape after the first must be served from the cache");

    // (b) Uncached runs.
    let plan = node_plan();
    let runner = node_runner();
    c.bench_function("server/node_plan_run_uncached", |b| {
        b.iter(|| rt.block_on(runner.run(&plan)));
    });
    let full = Plan::new(builtin::nexus());
    let full_runner = Runner::builder().build();
    c.bench_function("server/builtin_plan_run_no_targets", |b| {
        b.iter(|| rt.block_on(full_runner.run(&full)));
    });
    c.bench_function("server/node_report_render_prometheus", |b| {
        b.iter(|| node_report.render(Format::Prometheus));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
