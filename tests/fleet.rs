//! The fleet deployment in examples/deploy: the DaemonSet passes the crate's own manifest
//! checks (and fails image-tag once its image is `:latest`), its ConfigMap carries
//! node-checks.toml verbatim, and that config loads.
#![cfg(feature = "kube")]

mod common;

use std::path::PathBuf;

use nexus_readiness::config::Config;
use nexus_readiness::probe::{Observation, Probe, ProbeContext, Verdict};
use nexus_readiness::probes::kube::{Check, CheckConfig, KubeProbe, WorkloadKind, WorkloadSelector, manifest};

const NAMESPACE: &str = "nexus-node-checks";

fn deploy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/deploy").join(file)
}

fn manifests() -> Vec<PathBuf> {
    vec![deploy("namespace.yaml"), deploy("daemonset.yaml")]
}

fn selector() -> WorkloadSelector {
    WorkloadSelector::namespace(NAMESPACE).with_name("nexus-node-checks").with_kind(WorkloadKind::DaemonSet)
}

/// `debug-disabled` with the variable the server actually reads (`RUST_LOG`) added.
fn check_config() -> CheckConfig {
    let mut cfg = CheckConfig::default();
    cfg.env_allowed.insert("RUST_LOG".into(), vec!["info".into(), "warn".into()]);
    cfg
}

async fn run(paths: Vec<PathBuf>, check: Check) -> Observation {
    let probe = KubeProbe::manifests(paths, selector(), check).with_config(check_config());
    probe.check(&ProbeContext::new()).await.unwrap_or_else(|e| panic!("{check}: {e}"))
}

const CHECKS: [Check; 6] = [
    Check::ResourceLimits,
    Check::HealthProbes,
    Check::ImageTag,
    Check::PodSecurity,
    Check::SecretsInjection,
    Check::DebugDisabled,
];

#[tokio::test]
async fn daemonset_passes_the_manifest_checks() {
    for check in CHECKS {
        let obs = run(manifests(), check).await;
        assert_eq!(obs.verdict, Verdict::Pass, "{check}: {} {:#?}", obs.summary, obs.evidence);
    }
    let obs = run(manifests(), Check::PodSecurity).await;
    assert!(obs.summary.contains("nexus-node-checks=restricted"), "{}", obs.summary);
    let obs = run(manifests(), Check::DebugDisabled).await;
    assert!(obs.summary.contains("(1 set)"), "{}", obs.summary);
    let obs = run(manifests(), Check::ResourceLimits).await;
    assert!(
        obs.summary.starts_with("1 container in 1 daemonset has cpu/memory requests and limits"),
        "{}",
        obs.summary
    );
}

#[test]
fn daemonset_runs_on_gpu_nodes_without_taking_a_gpu() {
    let snap = manifest::load(&manifests(), "default").expect("manifests load");
    assert!(snap.notes.is_empty(), "{:?}", snap.notes);
    let ds = snap.daemon_sets.iter().find(|d| d.metadata.name.as_deref() == Some("nexus-node-checks")).unwrap();
    let pod = ds.spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.runtime_class_name.as_deref(), Some("nvidia"));
    assert_eq!(pod.node_selector.as_ref().unwrap()["nvidia.com/gpu.present"], "true");
    assert!(pod.tolerations.iter().flatten().any(|t| t.key.as_deref() == Some("nvidia.com/gpu")));
    let c = &pod.containers[0];
    let env = |name: &str| c.env.iter().flatten().find(|e| e.name == name).and_then(|e| e.value.clone());
    assert_eq!(env("NVIDIA_VISIBLE_DEVICES").as_deref(), Some("all"));
    assert_eq!(env("NVIDIA_DRIVER_CAPABILITIES").as_deref(), Some("utility"));
    let res = c.resources.as_ref().unwrap();
    for map in [&res.requests, &res.limits] {
        assert!(!map.as_ref().unwrap().contains_key("nvidia.com/gpu"), "the checker must not request a GPU");
    }
    let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref().and_then(|p| p.http_get.as_ref()).and_then(|h| h.path.clone())
    };
    assert_eq!(path(&c.liveness_probe).as_deref(), Some("/livez"));
    assert_eq!(path(&c.readiness_probe).as_deref(), Some("/readyz"));
    // The scrape Service keeps NotReady nodes: their metrics are the ones that matter.
    let svc = snap.services.iter().find(|s| s.metadata.name.as_deref() == Some("nexus-node-checks")).unwrap();
    assert_eq!(svc.spec.as_ref().unwrap().publish_not_ready_addresses, Some(true));
}

/// Negative control: the same manifest with the image at `:latest` fails image-tag, naming
/// the DaemonSet, container and field.
#[tokio::test]
async fn latest_image_fails_image_tag() {
    let text = std::fs::read_to_string(deploy("daemonset.yaml")).unwrap();
    let pinned = "ghcr.io/nexus-readiness/readiness-server:0.1.0";
    assert!(text.contains(pinned));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemonset.yaml");
    std::fs::write(&file, text.replace(pinned, "ghcr.io/nexus-readiness/readiness-server:latest")).unwrap();
    let obs = run(vec![deploy("namespace.yaml"), file], Check::ImageTag).await;
    assert_eq!(obs.verdict, Verdict::Fail, "{}", obs.summary);
    assert!(obs.summary.contains("DaemonSet nexus-node-checks/nexus-node-checks"), "{}", obs.summary);
    assert!(
        obs.summary.contains("readiness-server:latest\" uses tag latest: pin a version or digest"),
        "{}",
        obs.summary
    );
}

/// Negative control for pod-security: without the Namespace object the PSA label cannot be
/// verified.
#[tokio::test]
async fn pod_security_needs_the_namespace_label() {
    let obs = run(vec![deploy("daemonset.yaml")], Check::PodSecurity).await;
    assert_eq!(obs.verdict, Verdict::Warn, "{}", obs.summary);
    assert!(obs.summary.contains("Namespace nexus-node-checks"), "{}", obs.summary);
    assert!(obs.summary.contains("is not in the manifests"), "{}", obs.summary);
}

#[test]
fn configmap_carries_node_checks_toml_verbatim() {
    let snap = manifest::load(&manifests(), "default").expect("manifests load");
    let cm = snap.config_maps.iter().find(|c| c.metadata.name.as_deref() == Some("nexus-node-checks")).unwrap();
    let data = &cm.data.as_ref().unwrap()["node-checks.toml"];
    let file = std::fs::read_to_string(deploy("node-checks.toml")).unwrap();
    assert_eq!(data, &file, "examples/deploy/daemonset.yaml's ConfigMap differs from node-checks.toml");
}

#[tokio::test]
async fn node_checks_config_loads_and_binds_the_gpu_items() {
    use nexus_readiness::model::Phase;
    let config = Config::load(deploy("node-checks.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.runner_settings().phases, vec![Phase::PreDeployment]);
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap_or_else(|e| panic!("{e}"));
    // The gating policy is in the config: only the GPU item decides a node's /readyz.
    let gating: Vec<String> = plan
        .checklist()
        .items()
        .filter(|i| plan.is_gating(i.id.as_str()) == Some(true))
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(gating, ["pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested"]);
    let gpu = plan.binding("pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested").unwrap();
    let targets: Vec<String> = gpu.probes.iter().map(|p| p.target()).collect();
    let capacity = plan.binding("pre-deployment.performance.auto-scaling-policies-configured").unwrap();
    assert_eq!(capacity.probes.len(), 1);
    if cfg!(feature = "nvml") {
        assert_eq!(
            targets,
            ["nvml://libnvidia-ml.so.1/gpus", "nvml://libnvidia-ml.so.1/health", "nvml://libnvidia-ml.so.1/xid"]
        );
    } else {
        // Built without NVML the kinds still load, and say which feature they need.
        assert_eq!(targets.len(), 3, "{targets:?}");
        assert!(targets[0].starts_with("nvml-gpus ("), "{targets:?}");
        let err = gpu.probes[0].check(&ProbeContext::new()).await.unwrap_err();
        assert!(err.to_string().contains("probe kind `nvml-gpus` needs the `nvml` feature"), "{err}");
    }
}

/// The image's Dockerfile passes the crate's own Dockerfile check, and its user is the one the
/// DaemonSet runs as.
#[test]
fn dockerfile_is_multi_stage_pinned_and_non_root() {
    use nexus_readiness::probes::file::DockerfileProbe;
    let text = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    let obs = DockerfileProbe::new(deploy("Dockerfile")).evaluate("Dockerfile", &text);
    assert_eq!(obs.verdict, Verdict::Pass, "{}", obs.summary);
    assert!(obs.summary.contains("2 stages"), "{}", obs.summary);
    assert!(text.contains("USER 65532:65532"));
    let snap = manifest::load(&manifests(), "default").expect("manifests load");
    let pod = snap.daemon_sets[0].spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.security_context.as_ref().unwrap().run_as_user, Some(65532));
    // Negative control: a single-stage build from an untagged image fails.
    let bad = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", "FROM rust\nRUN cargo build\n");
    assert_eq!(bad.verdict, Verdict::Fail, "{}", bad.summary);
}
