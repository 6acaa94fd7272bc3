//! Evaluating 10,000 pods and 1,000 deployments from LIST JSON, against only deserializing
//! those bytes into k8s-openapi types. Target: the checks add at most 50% on top.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::core::ObjectList;
use nexus_readiness::probes::kube::{Check, CheckConfig, Evaluator, Origin, ResourceKind, Snapshot, WorkloadSelector};
use serde_json::json;

const DEPLOYMENTS: usize = 1_000;
const PODS_PER_DEPLOYMENT: usize = 10;

fn container(name: &str, image: &str) -> serde_json::Value {
    json!({
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 5},
        "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true, "readOnlyRootFilesystem": true}
    })
}

fn lists() -> (Vec<u8>, Vec<u8>) {
    let mut deployments = Vec::new();
    let mut pods = Vec::new();
    for d in 0..DEPLOYMENTS {
        let app = format!("svc-{d}");
        let image = format!("registry.example.com/team/{app}:1.{d}.0");
        deployments.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": "bench", "uid": format!("uid-{d}"), "generation": 3, "labels": {"app": app},
                         "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "spec": {"replicas": PODS_PER_DEPLOYMENT, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container("server", &image)]}}},
            "status": {"observedGeneration": 3, "replicas": PODS_PER_DEPLOYMENT, "updatedReplicas": PODS_PER_DEPLOYMENT,
                       "readyReplicas": PODS_PER_DEPLOYMENT, "availableReplicas": PODS_PER_DEPLOYMENT}
        }));
        for p in 0..PODS_PER_DEPLOYMENT {
            pods.push(json!({
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
            }));
        }
    }
    let list = |items: Vec<serde_json::Value>| {
        serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
        )
        .unwrap()
    };
    (list(deployments), list(pods))
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

fn evaluate(deployments: Vec<Deployment>, pods: Vec<Pod>) -> usize {
    let mut snap = Snapshot::new(Origin::Live);
    snap.deployments = deployments;
    snap.pods = pods;
    snap.loaded = vec![ResourceKind::Deployments, ResourceKind::Pods, ResourceKind::ConfigMaps];
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

fn bench(c: &mut Criterion) {
    let (deployments, pods) = lists();
    eprintln!("LIST JSON: deployments {} KiB, pods {} KiB", deployments.len() / 1024, pods.len() / 1024);
    {
        let (d, p) = deserialize(&deployments, &pods);
        assert_eq!(p.len(), DEPLOYMENTS * PODS_PER_DEPLOYMENT);
        assert_eq!(evaluate(d, p), 0, "the benchmark cluster is healthy");
    }
    let mut g = c.benchmark_group("kube_10k_pods_1k_deployments");
    g.sample_size(10);
    g.bench_function("deserialize", |b| b.iter(|| black_box(deserialize(black_box(&deployments), black_box(&pods)))));
    g.bench_function("deserialize_and_check", |b| {
        b.iter(|| {
            let (d, p) = deserialize(black_box(&deployments), black_box(&pods));
            black_box(evaluate(d, p))
        })
    });
    g.bench_function("check_only", |b| {
        b.iter_batched(
            || deserialize(&deployments, &pods),
            |(d, p)| black_box(evaluate(d, p)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
