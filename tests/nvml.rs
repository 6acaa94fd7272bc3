//! The NVML probes against a C stand-in for `libnvidia-ml.so.1` (tests/nvml_stub/nvml_stub.c),
//! loaded through nvml-wrapper's real dynamic loading. Each test copies the compiled library
//! into its own directory next to its scenario file, so tests run in parallel.
#![cfg(feature = "nvml")]

mod common;

use nexus_readiness::probe::BuildContext;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nexus_readiness::model::Level;
use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict};
use nexus_readiness::probes::nvml::{
    Aggregation, GpuCapacitySpec, GpuHealthSpec, GpuPresenceSpec, GpuXidSpec, NvmlInitError,
};

/// Compiles the stand-in once per test binary; `None` (skip) when gcc is missing outside CI.
fn stub_library() -> Option<&'static Path> {
    static LIB: OnceLock<Option<PathBuf>> = OnceLock::new();
    LIB.get_or_init(|| {
        let gcc = common::require_binary("gcc")?;
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let out = dir.join("libnvidia-ml-stub.so");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvml_stub/nvml_stub.c");
        let status = std::process::Command::new(gcc)
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .arg("-ldl")
            .status()
            .expect("run gcc");
        assert!(status.success(), "gcc failed to compile {}", src.display());
        Some(out)
    })
    .as_deref()
}

/// A node: the stand-in library in its own directory with its scenario.
struct Node {
    _dir: tempfile::TempDir,
    lib: PathBuf,
}

fn start_node(scenario: &str) -> Option<Node> {
    let stub = stub_library()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = dir.path().join("libnvidia-ml.so.1");
    std::fs::copy(stub, &lib).expect("copy the stub library");
    std::fs::write(dir.path().join("scenario"), scenario).expect("write the scenario");
    Some(Node { _dir: dir, lib })
}

const TWO_HEALTHY: &str = "\
driver=550.54.15
cuda=12040
count=2
gpu0.name=NVIDIA H100 80GB HBM3
gpu0.uuid=GPU-aaaaaaaa-0000-0000-0000-000000000000
gpu0.temp=41
gpu0.power_mw=312500
gpu1.name=NVIDIA H100 80GB HBM3
gpu1.uuid=GPU-bbbbbbbb-0000-0000-0000-000000000001
gpu1.temp=45
";

async fn check<S: ProbeSpec>(spec: &S) -> Result<Observation, ProbeError> {
    let probe = spec.build(&BuildContext::detached()).expect("spec builds");
    probe.check(&ProbeContext::new().with_timeout(Duration::from_secs(20))).await
}

fn health(node: &Node) -> GpuHealthSpec {
    GpuHealthSpec { library: node.lib.clone(), ..Default::default() }
}

fn capacity(node: &Node) -> GpuCapacitySpec {
    GpuCapacitySpec { library: node.lib.clone(), ..Default::default() }
}

fn presence(node: &Node, expected: u32) -> GpuPresenceSpec {
    GpuPresenceSpec { library: node.lib.clone(), expected_count: expected, min_driver_version: None }
}

fn xid(node: &Node) -> GpuXidSpec {
    GpuXidSpec { library: node.lib.clone(), window: Duration::from_millis(200), ..Default::default() }
}

#[tokio::test]
async fn two_healthy_gpus_are_present_with_versions() {
    let Some(node) = start_node(TWO_HEALTHY) else { return };
    let obs = check(&presence(&node, 2)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(obs.summary, "2 gpus (NVIDIA H100 80GB HBM3), driver 550.54.15, cuda 12.4");
    assert_eq!(obs.evidence.get("gpu.1.uuid"), Some("GPU-bbbbbbbb-0000-0000-0000-000000000001"));
    assert_eq!(obs.evidence.get("gpu.0.name"), Some("NVIDIA H100 80GB HBM3"));
    assert_eq!(obs.evidence.get("driver_version"), Some("550.54.15"));
    assert_eq!(obs.measurement("gpu_count").unwrap().value, 2.0);

    let obs = check(&presence(&node, 4)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.starts_with("found 2 gpus, expected at least 4"), "{}", obs.summary);

    let spec = GpuPresenceSpec { min_driver_version: Some("560.28".into()), ..presence(&node, 2) };
    let obs = check(&spec).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(
        obs.summary.contains("driver 550.54.15 is older than the required 560.28: upgrade the NVIDIA driver"),
        "{}",
        obs.summary
    );
    let spec = GpuPresenceSpec { min_driver_version: Some("535.104.05".into()), ..presence(&node, 2) };
    assert_eq!(check(&spec).await.unwrap().verdict, Verdict::Pass);
}

#[tokio::test]
async fn two_healthy_gpus_pass_health_with_measurements() {
    let Some(node) = start_node(TWO_HEALTHY) else { return };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert_eq!(
        obs.summary,
        "2 gpus healthy: no double-bit ecc errors, no pending page retirement or row remapping, no thermal or power throttling, hottest 45°C"
    );
    let temps: Vec<_> = obs.measurements.iter().filter(|m| m.name == "gpu_temperature").collect();
    assert_eq!(temps.len(), 2);
    assert_eq!(temps[1].labels.get("gpu").map(String::as_str), Some("1"));
    assert_eq!(temps[1].labels.get("uuid").map(String::as_str), Some("GPU-bbbbbbbb-0000-0000-0000-000000000001"));
    assert_eq!(temps[1].value, 45.0);
    let power = obs.measurement("gpu_power").unwrap();
    assert_eq!(power.value, 312.5);
    assert_eq!(power.labels.get("gpu").map(String::as_str), Some("0"));
    assert_eq!(obs.evidence.get("gpu.0.ecc_uncorrected_volatile"), Some("0"));
}

#[tokio::test]
async fn hot_and_throttled_gpu_fails() {
    // 0x40: hardware thermal slowdown; gpu 1 is warm and capped by its power limit (0x4).
    let Some(node) = start_node("count=2\ngpu0.temp=92\ngpu0.throttle=64\ngpu1.temp=84\ngpu1.throttle=4\n") else {
        return;
    };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("gpu 0 (GPU-00000000-0000-0000-0000-000000000000) is thermally throttled (hardware thermal slowdown): check cooling and airflow"), "{}", obs.summary);
    assert!(obs.summary.contains("runs at 92°C, above the critical 90°C"), "{}", obs.summary);
    assert!(
        obs.summary.contains("gpu 1 (GPU-00000000-0000-0000-0000-000000000001) runs at 84°C, at or above 80°C"),
        "{}",
        obs.summary
    );
    assert!(obs.summary.contains("clocks are capped by the power limit"), "{}", obs.summary);
    let t0 = obs.measurements.iter().find(|m| m.name == "gpu_temperature" && m.labels["gpu"] == "0").unwrap();
    assert_eq!(t0.evaluation.as_ref().unwrap().level, Level::Breach);

    // Only warm and power-capped: a warning.
    let Some(node) = start_node("gpu0.temp=84\ngpu0.throttle=4\n") else { return };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn, "{}", obs.summary);
}

#[tokio::test]
async fn double_bit_ecc_errors_fail() {
    let Some(node) = start_node(&format!("{TWO_HEALTHY}gpu1.ecc_dbe=2\n")) else { return };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "gpu 1 (GPU-bbbbbbbb-0000-0000-0000-000000000001) has 2 volatile double-bit ecc errors: drain the node and reset the gpu"
    );
    assert_eq!(obs.evidence.get("gpu.1.ecc_uncorrected_volatile"), Some("2"));
}

#[tokio::test]
async fn pending_retirement_and_row_remapping() {
    let Some(node) = start_node("count=3\ngpu0.pending=1\ngpu1.remap_pending=1\ngpu2.remap_failure=1\n") else {
        return;
    };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    let s = &obs.summary;
    assert!(s.starts_with("gpu 2 (GPU-00000000-0000-0000-0000-000000000002) failed to remap a memory row: drain the node and replace the gpu"), "{s}");
    assert!(
        s.contains(
            "gpu 0 (GPU-00000000-0000-0000-0000-000000000000) has retired pages pending: reset the gpu or reboot"
        ),
        "{s}"
    );
    assert!(
        s.contains("gpu 1 (GPU-00000000-0000-0000-0000-000000000001) has a row remapping pending: reset the gpu"),
        "{s}"
    );

    let Some(node) = start_node("gpu0.remap_pending=1\n") else { return };
    assert_eq!(check(&health(&node)).await.unwrap().verdict, Verdict::Warn);
}

#[tokio::test]
async fn lost_gpu_fails_every_probe_that_needs_it() {
    // gpu 1 fell off the bus: NVML answers GPU_IS_LOST (15) when it is opened.
    let Some(node) = start_node(&format!("{TWO_HEALTHY}gpu1.handle=!15\n")) else { return };
    let obs = check(&presence(&node, 2)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(
        obs.summary.starts_with("gpu 1 is lost (fell off the bus): drain the node and reset the gpu or reboot"),
        "{}",
        obs.summary
    );
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.evidence.get("gpu.1.state"), Some("lost"));
    let obs = check(&capacity(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn);
    assert!(obs.summary.contains("not measured, lost: gpu 1"), "{}", obs.summary);
    let obs = check(&xid(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "gpu 1 is lost (fell off the bus): drain the node and reset the gpu or reboot");

    // Lost while being read.
    let Some(node) = start_node("gpu0.temp=!15\n") else { return };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("is lost (fell off the bus)"), "{}", obs.summary);
}

async fn utilization(percent: u32) -> Option<Observation> {
    let node = start_node(&format!("gpu0.util={percent}\n"))?;
    Some(check(&capacity(&node)).await.unwrap())
}

#[tokio::test]
async fn utilization_thresholds_ok_warn_breach() {
    let Some(ok) = utilization(60).await else { return };
    assert_eq!(ok.verdict, Verdict::Pass, "{}", ok.summary);
    let m = ok.measurements.iter().find(|m| m.name == "gpu_utilization").unwrap();
    assert_eq!(m.value, 60.0);
    assert_eq!(m.labels.get("uuid").map(String::as_str), Some("GPU-00000000-0000-0000-0000-000000000000"));
    assert_eq!(m.evaluation.as_ref().unwrap().level, Level::Ok);
    assert!(ok.summary.starts_with("1 gpus: utilization mean 60% max 60% (max healthy < 70%)"), "{}", ok.summary);

    let warn = utilization(80).await.unwrap();
    assert_eq!(warn.verdict, Verdict::Warn);
    assert!(warn.summary.contains("utilization mean 80% max 80% (max above healthy < 70%)"), "{}", warn.summary);

    let breach = utilization(90).await.unwrap();
    assert_eq!(breach.verdict, Verdict::Fail);
    assert!(breach.summary.contains("utilization mean 90% max 90% (max > 85%: scale up)"), "{}", breach.summary);
    let max = breach.measurement("gpu_utilization_max").unwrap();
    assert_eq!(max.evaluation.as_ref().unwrap().action.as_deref(), Some("Scale up"));
}

#[tokio::test]
async fn memory_usage_thresholds() {
    const GIB: u64 = 1 << 30;
    for (used, verdict) in [(40, Verdict::Pass), (64, Verdict::Warn), (72, Verdict::Fail)] {
        let Some(node) = start_node(&format!("gpu0.mem_total={}\ngpu0.mem_used={}\n", 80 * GIB, used * GIB)) else {
            return;
        };
        let obs = check(&capacity(&node)).await.unwrap();
        assert_eq!(obs.verdict, verdict, "{used} GiB of 80: {}", obs.summary);
        assert_eq!(obs.measurement("gpu_memory_used").unwrap().value, (used * GIB) as f64);
        assert_eq!(obs.measurement("gpu_memory_total").unwrap().value, (80 * GIB) as f64);
        let pct = obs.measurement("gpu_memory_usage").unwrap().value;
        assert!((pct - used as f64 * 100.0 / 80.0).abs() < 1e-9, "{pct}");
    }
}

#[tokio::test]
async fn aggregation_mean_or_max() {
    let Some(node) = start_node("count=2\ngpu0.util=90\ngpu1.util=40\n") else { return };
    let obs = check(&capacity(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "max judges the busiest gpu: {}", obs.summary);
    assert_eq!(obs.measurement("gpu_utilization_mean").unwrap().value, 65.0);
    assert_eq!(obs.measurement("gpu_utilization_max").unwrap().value, 90.0);

    let spec = GpuCapacitySpec { aggregation: Aggregation::Mean, ..capacity(&node) };
    let obs = check(&spec).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "the mean 65% is healthy: {}", obs.summary);
    assert!(obs.summary.contains("utilization mean 65% max 90% (mean healthy < 70%)"), "{}", obs.summary);
    assert!(obs.measurements.iter().filter(|m| m.name == "gpu_utilization").all(|m| m.evaluation.is_none()));
}

#[tokio::test]
async fn not_supported_is_reported_not_failed() {
    // A consumer board in MIG-like state: no ECC, no page retirement, no row remapping, no
    // throttle reasons, no utilization (NVML_ERROR_NOT_SUPPORTED = 3).
    let Some(node) = start_node(
        "gpu0.ecc_dbe=!3\ngpu0.pending=!3\ngpu0.remap_pending=!3\ngpu0.remap_failure=!3\ngpu0.throttle=!3\ngpu0.util=!3\n",
    ) else {
        return;
    };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.ends_with(
            "(not supported: ecc on gpu 0, page retirement on gpu 0, row remapping on gpu 0, throttle reasons on gpu 0)"
        ),
        "{}",
        obs.summary
    );
    assert_eq!(obs.evidence.get("gpu.0.ecc_uncorrected_volatile"), Some("not supported"));

    let obs = check(&capacity(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.ends_with("(utilization not supported on gpu 0)"), "{}", obs.summary);
    assert!(obs.measurement("gpu_utilization").is_none());
    assert!(obs.measurement("gpu_memory_usage").is_some());

    // A reading that fails for another reason is a concern, not a pass.
    let Some(node) = start_node("gpu0.ecc_dbe=!999\n") else { return };
    let obs = check(&health(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn);
    assert_eq!(
        obs.summary,
        "ecc on gpu 0 (GPU-00000000-0000-0000-0000-000000000000) could not be read: an internal driver error occurred"
    );

    // Nothing measurable at all: the probe could not look.
    let Some(node) = start_node("gpu0.util=!3\ngpu0.mem_used=!3\n") else { return };
    let err = check(&capacity(&node)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert!(err.message.contains("neither utilization nor memory usage could be read on any of the 1 gpus"), "{err}");
}

#[tokio::test]
async fn critical_xid_fails_application_xid_is_ignored() {
    let Some(node) = start_node("count=2\ngpu0.xid=79\ngpu1.xid=13\n") else { return };
    let obs = check(&xid(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "critical xid 79 (gpu has fallen off the bus) on gpu 0 (GPU-00000000-0000-0000-0000-000000000000) during 200ms: drain the node and check the gpu (nvidia-smi -q, dmesg)"
    );
    assert_eq!(obs.measurement("gpu_xid_critical_events").unwrap().value, 1.0);
    assert_eq!(
        obs.evidence.get("ignored_application_xids"),
        Some("xid 13 on gpu 1 (GPU-00000000-0000-0000-0000-000000000001)")
    );

    let Some(node) = start_node("count=2\ngpu1.xid=13,43\n") else { return };
    let obs = check(&xid(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(
        obs.summary.starts_with("no critical xid events on 2 gpus during 200ms (ignored application xid 13 on gpu 1"),
        "{}",
        obs.summary
    );

    // NVML's "unknown" XID (999) is not an application error.
    let Some(node) = start_node("gpu0.xid=999\n") else { return };
    let obs = check(&xid(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.starts_with("critical xid unknown (999) on gpu 0"), "{}", obs.summary);

    // A GPU falls off the bus while we listen.
    let Some(node) = start_node("count=2\nwait_lost=1\n") else { return };
    let obs = check(&xid(&node)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "gpu 1 is lost (fell off the bus): drain the node and reset the gpu or reboot");

    // No event support anywhere: skipped, with the reason.
    let Some(node) = start_node("count=2\ngpu0.events=0\ngpu1.events=!3\n") else { return };
    let err = check(&xid(&node)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert_eq!(err.message, "critical xid events are not supported on any of the 2 gpus");

    // Registration fails with an internal error: the probe could not look.
    let Some(node) = start_node("gpu0.register=!999\n") else { return };
    let err = check(&xid(&node)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Other);
    assert_eq!(err.message, "registering for xid events on gpu 0: an internal driver error occurred");
}

#[tokio::test]
async fn xid_window_fits_the_deadline() {
    let Some(node) = start_node("gpu0.xid=\n") else { return };
    let spec = GpuXidSpec { window: Duration::from_secs(30), ..xid(&node) };
    let probe = spec.build(&BuildContext::detached()).unwrap();
    let started = Instant::now();
    let obs = probe.check(&ProbeContext::new().with_timeout(Duration::from_millis(1500))).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
}

async fn init_failure(code: u32) -> Option<ProbeError> {
    let node = start_node(&format!("init=!{code}\n"))?;
    Some(check(&health(&node)).await.unwrap_err())
}

#[tokio::test]
async fn init_failures_say_what_to_do() {
    let Some(err) = init_failure(9).await else { return };
    assert_eq!(err.kind, ProbeErrorKind::MissingDependency);
    assert_eq!(err.message, NvmlInitError::DriverNotLoaded.to_string());
    assert!(err.message.contains("load it (modprobe nvidia)"), "{err}");

    let err = init_failure(4).await.unwrap();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert!(err.message.starts_with("no permission to talk to the NVIDIA driver: run as root"), "{err}");

    let err = init_failure(999).await.unwrap();
    assert_eq!(err.kind, ProbeErrorKind::Other);
    assert!(err.message.contains("a container that lost access to its GPU devices"), "{err}");

    let err = init_failure(18).await.unwrap();
    assert_eq!(err.kind, ProbeErrorKind::MissingDependency);
    assert!(err.message.contains("driver/library version mismatch): reboot the node"), "{err}");

    let err = init_failure(15).await.unwrap();
    assert!(err.message.starts_with("a GPU fell off the bus while NVML initialised"), "{err}");
}

#[tokio::test]
async fn missing_library_is_an_actionable_error() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("libnvidia-ml.so.1");
    let cx = BuildContext::detached();
    for (kind, built) in [
        (GpuPresenceSpec::KIND, GpuPresenceSpec { library: lib.clone(), ..Default::default() }.build(&cx)),
        (GpuHealthSpec::KIND, GpuHealthSpec { library: lib.clone(), ..Default::default() }.build(&cx)),
        (GpuCapacitySpec::KIND, GpuCapacitySpec { library: lib.clone(), ..Default::default() }.build(&cx)),
        (GpuXidSpec::KIND, GpuXidSpec { library: lib.clone(), ..Default::default() }.build(&cx)),
    ] {
        let probe = built.expect("spec builds");
        let err = probe.check(&ProbeContext::new().with_timeout(Duration::from_secs(20))).await.unwrap_err();
        assert_eq!(err.kind, ProbeErrorKind::MissingDependency, "{kind}");
        let expected = format!(
            "{} not found: install the NVIDIA driver or mount it into the container (nvidia-container-toolkit)",
            lib.display()
        );
        assert!(err.message.starts_with(&expected), "{}", err.message);
    }
}

#[tokio::test]
async fn library_without_nvml_symbols_is_reported() {
    // A real shared object that is not NVML: nvmlInit_v2 is missing.
    let Some(gcc) = common::require_binary("gcc") else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("empty.c");
    std::fs::write(&src, "int not_nvml(void) { return 0; }\n").unwrap();
    let lib = dir.path().join("libnvidia-ml.so.1");
    let ok = std::process::Command::new(gcc).args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().unwrap();
    assert!(ok.success());
    let err = check(&GpuHealthSpec { library: lib, ..Default::default() }).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::MissingDependency);
    assert!(err.message.contains("lacks an NVML function this probe needs"), "{err}");
    assert!(err.message.contains("nvmlInit_v2"), "{err}");
}

#[tokio::test]
async fn specs_load_from_config_files() {
    let Some(node) = start_node(TWO_HEALTHY) else { return };
    let lib = node.lib.display();
    let spec: GpuPresenceSpec =
        toml::from_str(&format!("library = \"{lib}\"\nexpected_count = 2\nmin_driver_version = \"550\"")).unwrap();
    assert_eq!(check(&spec).await.unwrap().verdict, Verdict::Pass);
    let spec: GpuHealthSpec = toml::from_str(&format!("library = \"{lib}\"\ntemperature_warn_celsius = 40")).unwrap();
    let obs = check(&spec).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn, "41°C and 45°C are at or above 40°C: {}", obs.summary);
    let spec: GpuXidSpec = toml::from_str(&format!("library = \"{lib}\"\nwindow = \"100ms\"")).unwrap();
    assert_eq!(GpuXidSpec::KIND, "nvml-xid");
    assert_eq!(spec.build(&BuildContext::detached()).unwrap().target(), format!("nvml://{lib}/xid"));
    let err = toml::from_str::<GpuHealthSpec>("temperature = 3").unwrap_err();
    assert!(err.to_string().contains("unknown field `temperature`"), "{err}");
}

#[tokio::test]
async fn node_without_gpus() {
    let Some(node) = start_node("count=0\n") else { return };
    let obs = check(&presence(&node, 1)).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(obs.summary, "found 0 gpus, expected at least 1; driver 550.54.15, cuda 12.4");
    let err = check(&health(&node)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert_eq!(err.message, "no gpu visible to NVML on this node: nothing to check");
    let err = check(&capacity(&node)).await.unwrap_err();
    assert_eq!(err.message, "no gpu visible to NVML on this node: nothing to measure");
    let err = check(&xid(&node)).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert_eq!(err.message, "no gpu visible to NVML on this node: no xid events to watch");
}

/// The builders make the same probes as the specs (one construction style in Rust).
#[tokio::test]
async fn builders_make_the_probes_the_specs_make() {
    use nexus_readiness::probes::nvml::{Aggregation, GpuCapacityProbe, GpuHealthProbe, GpuPresenceProbe, GpuXidProbe};
    let Some(node) = start_node(TWO_HEALTHY) else { return };
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(20));
    let built = GpuPresenceProbe::builder().library(node.lib.clone()).expected_count(2).build().unwrap();
    assert_eq!(built.check(&cx).await.unwrap(), check(&presence(&node, 2)).await.unwrap());
    let built = GpuPresenceProbe::builder().library(node.lib.clone()).expected_count(3).build().unwrap();
    assert_eq!(built.check(&cx).await.unwrap().verdict, Verdict::Fail);
    let built = GpuHealthProbe::builder().library(node.lib.clone()).build().unwrap();
    assert_eq!(built.check(&cx).await.unwrap().verdict, check(&health(&node)).await.unwrap().verdict);
    // 41 °C and 45 °C: a warn bound of 40 °C warns.
    let built = GpuHealthProbe::builder()
        .library(node.lib.clone())
        .temperature_warn_celsius(40.0)
        .temperature_critical_celsius(60.0)
        .build()
        .unwrap();
    assert_eq!(built.check(&cx).await.unwrap().verdict, Verdict::Warn);
    let built = GpuCapacityProbe::builder().library(node.lib.clone()).aggregation(Aggregation::Mean).build().unwrap();
    let spec = GpuCapacitySpec { aggregation: Aggregation::Mean, ..capacity(&node) };
    assert_eq!(built.check(&cx).await.unwrap().verdict, check(&spec).await.unwrap().verdict);
    let built = GpuXidProbe::builder().library(node.lib.clone()).window(Duration::from_millis(200)).build().unwrap();
    assert_eq!(built.target(), spec_target(&xid(&node)));

    let e = GpuHealthProbe::builder().library("").build().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
    let e = GpuCapacityProbe::builder().utilization(90.0, 80.0).build().unwrap_err();
    assert_eq!(e.kind, ProbeErrorKind::Misconfigured);
}

fn spec_target<S: ProbeSpec>(spec: &S) -> String {
    spec.build(&BuildContext::detached()).unwrap().target()
}
