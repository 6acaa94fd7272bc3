//! The NVML probes on a real NVIDIA GPU, through the driver's own `libnvidia-ml.so.1`, each
//! answer compared with what `nvidia-smi` reports for the same devices.
//!
//! No GPU is on the development or CI machines, so these tests are ignored by default. On a
//! GPU machine: `cargo test --features nvml --test nvml_gpu -- --ignored --nocapture`.
#![cfg(feature = "nvml")]

use std::process::Command;
use std::time::Duration;

use nexus_readiness::probe::{Observation, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict};
use nexus_readiness::probes::nvml::{GpuCapacitySpec, GpuHealthSpec, GpuPresenceSpec, GpuXidSpec};

/// One GPU as `nvidia-smi --query-gpu` lists it.
#[derive(Debug)]
struct SmiGpu {
    name: String,
    uuid: String,
    driver: String,
    memory_total_mib: f64,
}

fn nvidia_smi() -> Vec<SmiGpu> {
    let out = Command::new("nvidia-smi")
        .args(["--query-gpu=name,uuid,driver_version,memory.total", "--format=csv,noheader,nounits"])
        .output()
        .expect("nvidia-smi runs on a GPU machine");
    assert!(out.status.success(), "nvidia-smi failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            SmiGpu {
                name: f[0].to_string(),
                uuid: f[1].to_string(),
                driver: f[2].to_string(),
                memory_total_mib: f[3].parse().unwrap(),
            }
        })
        .collect()
}

async fn check<S: ProbeSpec>(spec: &S) -> Result<Observation, ProbeError> {
    let probe = spec.build(&nexus_readiness::probe::BuildContext::detached()).expect("spec builds");
    probe.check(&ProbeContext::new().with_timeout(Duration::from_secs(60))).await
}

#[tokio::test]
#[ignore = "needs a real NVIDIA GPU and driver"]
async fn presence_matches_nvidia_smi() {
    let smi = nvidia_smi();
    assert!(!smi.is_empty(), "nvidia-smi lists no GPU");
    let spec = GpuPresenceSpec { expected_count: smi.len() as u32, ..Default::default() };
    let obs = check(&spec).await.unwrap();
    println!("presence: {:?} {}", obs.verdict, obs.summary);
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(obs.measurement("gpu_count").unwrap().value, smi.len() as f64);
    assert_eq!(obs.evidence.get("driver_version"), Some(smi[0].driver.as_str()));
    for (i, gpu) in smi.iter().enumerate() {
        assert_eq!(obs.evidence.get(&format!("gpu.{i}.uuid")), Some(gpu.uuid.as_str()), "{gpu:?}");
        assert_eq!(obs.evidence.get(&format!("gpu.{i}.name")), Some(gpu.name.as_str()), "{gpu:?}");
    }
    // One more GPU than the node has is a Fail that says so.
    let spec = GpuPresenceSpec { expected_count: smi.len() as u32 + 1, ..Default::default() };
    let obs = check(&spec).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.starts_with(&format!("found {} gpu", smi.len())), "{}", obs.summary);
}

#[tokio::test]
#[ignore = "needs a real NVIDIA GPU and driver"]
async fn health_capacity_and_xid_decide_on_real_devices() {
    let smi = nvidia_smi();
    let obs = check(&GpuHealthSpec::default()).await.unwrap();
    println!("health: {:?} {}", obs.verdict, obs.summary);
    assert_ne!(obs.verdict, Verdict::Fail, "an idle, healthy machine: {}", obs.summary);
    let temps: Vec<_> = obs.measurements.iter().filter(|m| m.name == "gpu_temperature").collect();
    assert_eq!(temps.len(), smi.len(), "one temperature per gpu");
    assert!(temps.iter().all(|m| (5.0..110.0).contains(&m.value)), "{temps:?}");

    let obs = check(&GpuCapacitySpec::default()).await.unwrap();
    println!("capacity: {:?} {}", obs.verdict, obs.summary);
    let totals: Vec<f64> = obs.measurements.iter().filter(|m| m.name == "gpu_memory_total").map(|m| m.value).collect();
    assert_eq!(totals.len(), smi.len());
    for (total, gpu) in totals.iter().zip(&smi) {
        let mib = total / (1024.0 * 1024.0);
        assert!((mib - gpu.memory_total_mib).abs() <= 1.0, "NVML {mib} MiB vs nvidia-smi {} MiB", gpu.memory_total_mib);
    }
    let util: Vec<_> = obs.measurements.iter().filter(|m| m.name == "gpu_utilization").collect();
    assert_eq!(util.len(), smi.len());
    assert!(util.iter().all(|m| (0.0..=100.0).contains(&m.value)), "{util:?}");

    let spec = GpuXidSpec { window: Duration::from_secs(2), ..Default::default() };
    let obs = check(&spec).await.unwrap();
    println!("xid: {:?} {}", obs.verdict, obs.summary);
    assert_eq!(obs.measurement("gpu_xid_critical_events").unwrap().value, 0.0, "{}", obs.summary);
}

#[tokio::test]
#[ignore = "needs a real NVIDIA GPU and driver"]
async fn a_missing_library_is_an_error_that_names_it() {
    let spec = GpuPresenceSpec { library: "/nonexistent/libnvidia-ml.so.1".into(), ..Default::default() };
    let err = match spec.build(&nexus_readiness::probe::BuildContext::detached()) {
        Err(e) => e,
        Ok(p) => p.check(&ProbeContext::new()).await.unwrap_err(),
    };
    println!("missing library: {err}");
    assert_ne!(err.kind, ProbeErrorKind::Other, "{err}");
    assert!(err.message.contains("/nonexistent/libnvidia-ml.so.1"), "{err}");
}
