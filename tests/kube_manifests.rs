//! The Kubernetes checks on manifests on disk (pre-deploy), a passing and a failing fixture
//! per check, asserting the finding text (object, container, field).
#![cfg(feature = "kube")]

mod common;

use nexus_readiness::probe::BuildContext;
use std::path::PathBuf;
use std::sync::Arc;

use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeErrorKind, ProbeSpec, Verdict};
use nexus_readiness::probes::kube::{
    Check, CheckConfig, KubeProbe, KubeSpec, Origin, WorkloadKind, WorkloadSelector, evaluate, manifest,
};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube").join(p)
}

fn good() -> Vec<PathBuf> {
    vec![fixture("good")]
}

fn bad() -> Vec<PathBuf> {
    vec![fixture("bad/workloads.yaml")]
}

fn api() -> WorkloadSelector {
    WorkloadSelector::deployment("nexus", "nexus-api")
}

async fn run(paths: Vec<PathBuf>, sel: WorkloadSelector, check: Check) -> Observation {
    run_with(paths, sel, check, CheckConfig::default()).await
}

async fn run_with(paths: Vec<PathBuf>, sel: WorkloadSelector, check: Check, cfg: CheckConfig) -> Observation {
    let probe = KubeProbe::manifests(paths, sel, check).with_config(cfg);
    let obs = probe.check(&ProbeContext::new()).await.unwrap_or_else(|e| panic!("{check}: {e}"));
    assert_no_secret_values(&obs);
    obs
}

/// The findings an observation lists in its evidence.
fn findings(obs: &Observation) -> Vec<String> {
    obs.evidence
        .iter()
        .filter(|(k, _)| k.starts_with("finding.") && !k.ends_with(".at"))
        .map(|(_, v)| v.to_string())
        .collect()
}

fn assert_finding(obs: &Observation, text: &str) {
    let f = findings(obs);
    assert!(f.iter().any(|l| l == text), "missing finding {text:?} in {f:#?}");
}

fn assert_no_secret_values(obs: &Observation) {
    let all = format!("{obs:?}");
    for v in ["do-not-print-me", "do_not_print_me", "donotprintme", "hunter2"] {
        assert!(!all.contains(v), "secret value leaked: {all}");
    }
}

#[tokio::test]
async fn resource_limits() {
    let obs = run(good(), api(), Check::ResourceLimits).await;
    assert_eq!(obs.verdict, Verdict::Pass, "{obs:?}");
    assert_eq!(
        obs.summary,
        "3 containers in 1 deployment have cpu/memory requests and limits (1 with nvidia.com/gpu limits)"
    );

    let obs = run(bad(), api(), Check::ResourceLimits).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.starts_with("Deployment nexus/nexus-api container "), "{}", obs.summary);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": resources.requests.memory is not set"#,
    );
    assert_finding(&obs, r#"error: Deployment nexus/nexus-api container "migrate": resources.requests.cpu is not set"#);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": resources.requests.nvidia.com/gpu is 2 but resources.limits.nvidia.com/gpu is 1: they must be equal"#,
    );
    assert_eq!(findings(&obs).len(), 4, "{:#?}", findings(&obs));
}

#[tokio::test]
async fn resource_limits_on_daemonsets_and_statefulsets() {
    let ds = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::DaemonSet);
    let obs = run(good(), ds.clone(), Check::ResourceLimits).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 container in 1 daemonset has cpu/memory requests and limits");

    let obs = run(bad(), ds, Check::ResourceLimits).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, r#"error: DaemonSet nexus/node-agent container "agent": resources.limits.memory is not set"#);

    let sts = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::StatefulSet);
    let obs = run(bad(), sts, Check::ResourceLimits).await;
    assert_eq!(obs.summary, r#"StatefulSet nexus/cache container "redis": resources.limits.memory is not set"#);
}

#[tokio::test]
async fn health_probes() {
    let obs = run(good(), api(), Check::HealthProbes).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "2 containers in 1 deployment have liveness probes and every pod a readiness probe");

    // Readiness is a pod matter (kube-score): "metrics" has one, so "server" needs none.
    let obs = run(bad(), api(), Check::HealthProbes).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, r#"error: Deployment nexus/nexus-api container "metrics": livenessProbe is not configured"#);
    assert_eq!(findings(&obs).len(), 1);
}

#[tokio::test]
async fn startup_probe() {
    let obs = run(good(), api(), Check::StartupProbe).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 container needing a startup probe has one");

    let obs = run(bad(), api(), Check::StartupProbe).await;
    assert_eq!(
        obs.summary,
        r#"Deployment nexus/nexus-api container "server": startupProbe is not configured but needed: it requests nvidia.com/gpu"#
    );

    // Without GPUs and with a short delay no container needs one: not applicable.
    let ds = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::DaemonSet);
    let err = KubeProbe::manifests(good(), ds, Check::StartupProbe).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert!(err.message.contains("no container in 1 daemonset needs a startup probe"), "{err}");

    // The delay rule is configurable.
    let sts = WorkloadSelector::namespace("nexus").with_name("nexus-api");
    let cfg = CheckConfig { startup_probe_min_delay_seconds: 200, ..CheckConfig::default() };
    let snap = manifest::load(&bad(), "default").unwrap();
    let out = evaluate(&snap, &sts, Check::StartupProbe, &cfg).unwrap();
    assert_eq!(out.findings.len(), 1, "only the GPU rule fires at 200s: {:?}", out.findings);
}

#[tokio::test]
async fn image_tag() {
    let obs = run(good(), api(), Check::ImageTag).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "3 containers in 1 deployment use versioned images (1 pinned by digest)");

    let obs = run(bad(), api(), Check::ImageTag).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": image "registry.example.com/nexus/api:latest" uses tag latest: pin a version or digest"#,
    );
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": imagePullPolicy is IfNotPresent with "registry.example.com/nexus/api:latest": nodes keep whatever latest they pulled first"#,
    );
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "migrate": image "registry.example.com/nexus/migrate" has no tag (resolves to latest): pin a version or digest"#,
    );
    assert!(findings(&obs).iter().any(|f| f.starts_with(
        r#"warn: Deployment nexus/nexus-api container "metrics": imagePullPolicy is Always for digest-pinned image"#
    )));
}

#[tokio::test]
async fn pull_secrets() {
    let obs = run(good(), api(), Check::PullSecrets).await;
    assert_eq!(obs.verdict, Verdict::Pass, "{obs:?}");
    assert_eq!(obs.summary, "1 deployment has image pull secrets (regcred)");

    let obs = run(bad(), api(), Check::PullSecrets).await;
    assert_eq!(obs.summary, r#"Secret nexus/regcred: type is "Opaque", not "kubernetes.io/dockerconfigjson""#);
    let ds = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::DaemonSet);
    let obs = run(bad(), ds, Check::PullSecrets).await;
    assert_eq!(
        obs.summary,
        r#"DaemonSet nexus/node-agent: imagePullSecrets is not set on the pod template nor on ServiceAccount "default""#
    );
}

#[tokio::test]
async fn secrets_injection() {
    let obs = run(good(), api(), Check::SecretsInjection).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(
        obs.summary,
        "no sensitive inline values in 1 deployment (1 env values from secretKeyRef) nor in 1 configmap"
    );

    let obs = run(bad(), api(), Check::SecretsInjection).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": env.DB_PASSWORD has an inline value that looks sensitive: use a secretKeyRef or a secret volume"#,
    );
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": env.TLS_KEY_PEM holds an inline private key: use a secretKeyRef or a secret volume"#,
    );
    assert_finding(
        &obs,
        "error: ConfigMap nexus/nexus-config: data.STRIPE_API_KEY looks like a secret: move it to a Secret",
    );
    assert_eq!(findings(&obs).len(), 3);
}

#[tokio::test]
async fn network_policy() {
    let obs = run(good(), api(), Check::NetworkPolicy).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(
        obs.summary,
        "pods of 1 deployment are selected by ingress and egress NetworkPolicies (nexus/nexus-api-ingress)"
    );
    // policyTypes absent means Ingress, and Egress when egress rules are written.
    let ds = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::DaemonSet);
    assert_eq!(run(good(), ds, Check::NetworkPolicy).await.verdict, Verdict::Pass);

    let obs = run(bad(), api(), Check::NetworkPolicy).await;
    assert_eq!(
        obs.summary,
        "Deployment nexus/nexus-api: no NetworkPolicy with ingress in namespace nexus selects its pods (labels app=nexus)"
    );
}

#[tokio::test]
async fn pod_security() {
    let obs = run(good(), api(), Check::PodSecurity).await;
    assert_eq!(obs.verdict, Verdict::Pass, "{:#?}", findings(&obs));
    assert_eq!(
        obs.summary,
        "namespaces enforce pod security (nexus=restricted); 3 containers in 1 deployment run unprivileged as non-root"
    );

    let obs = run(bad(), api(), Check::PodSecurity).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(
        &obs,
        "error: Namespace nexus: metadata.labels.pod-security.kubernetes.io/enforce is not set (want baseline or restricted)",
    );
    assert_finding(&obs, r#"error: Deployment nexus/nexus-api container "server": securityContext.privileged is true"#);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": securityContext.allowPrivilegeEscalation is not set (defaults to true): set it to false"#,
    );
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "migrate": securityContext.runAsNonRoot is not true on the container nor the pod"#,
    );
    assert_finding(
        &obs,
        r#"warn: Deployment nexus/nexus-api container "server": securityContext.readOnlyRootFilesystem is not true"#,
    );
    // The metrics container is fine.
    assert!(!findings(&obs).iter().any(|f| f.contains("\"metrics\"")));
}

#[tokio::test]
async fn pod_security_warns_only_on_read_only_root() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("good/gpu-exporter.yaml"))
        .unwrap()
        .replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
    std::fs::write(dir.path().join("ds.yaml"), text).unwrap();
    std::fs::copy(fixture("good/namespace.yaml"), dir.path().join("ns.yaml")).unwrap();
    let obs = run(vec![dir.path().into()], WorkloadSelector::namespace("nexus"), Check::PodSecurity).await;
    assert_eq!(obs.verdict, Verdict::Warn);
    assert_eq!(
        obs.summary,
        r#"DaemonSet nexus/gpu-exporter container "exporter": securityContext.readOnlyRootFilesystem is not true"#
    );
}

#[tokio::test]
async fn autoscaling() {
    let obs = run(good(), api(), Check::Autoscaling).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 deployment scaled by HPAs (nexus-api 2..8)");

    let obs = run(bad(), api(), Check::Autoscaling).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, "error: HorizontalPodAutoscaler nexus/nexus-api: spec.minReplicas is 1: want at least 2");
    assert_finding(
        &obs,
        "error: HorizontalPodAutoscaler nexus/nexus-api: spec.maxReplicas is 1 but minReplicas is 1: max must exceed min",
    );
    assert_finding(
        &obs,
        "warn: Deployment nexus/nexus-api: spec.replicas is fixed at 3 while HPA HorizontalPodAutoscaler nexus/nexus-api scales it: every apply resets the replica count",
    );
    let sts = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::StatefulSet);
    assert_eq!(
        run(bad(), sts, Check::Autoscaling).await.summary,
        "StatefulSet nexus/cache: no HorizontalPodAutoscaler targets it"
    );
    // DaemonSets do not scale.
    let ds = WorkloadSelector::namespace("nexus").with_kind(WorkloadKind::DaemonSet);
    let err = KubeProbe::manifests(good(), ds, Check::Autoscaling).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
}

#[tokio::test]
async fn debug_disabled() {
    let obs = run(good(), WorkloadSelector::namespace("nexus"), Check::DebugDisabled).await;
    assert_eq!(obs.verdict, Verdict::Pass, "{:#?}", findings(&obs));
    assert_eq!(obs.summary, "DEBUG, LOG_LEVEL (3 set) in 1 deployment and 1 daemonset have allowed values");

    let obs = run(bad(), api(), Check::DebugDisabled).await;
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": env.DEBUG is "true" (inline): allowed "false", "0", """#,
    );
    assert_finding(
        &obs,
        r#"error: Deployment nexus/nexus-api container "server": env.LOG_LEVEL is "debug" (ConfigMap nexus-config key LOG_LEVEL): allowed "info", "warn", "warning""#,
    );

    // Names and values are configurable.
    let mut cfg = CheckConfig::default();
    cfg.env_allowed.clear();
    cfg.env_allowed.insert("LOG_LEVEL".into(), vec!["debug".into()]);
    cfg.env_allowed.insert("DEBUG".into(), vec!["true".into()]);
    assert_eq!(run_with(bad(), api(), Check::DebugDisabled, cfg).await.verdict, Verdict::Pass);
}

#[tokio::test]
async fn env_config() {
    let cfg = CheckConfig {
        required_config_maps: vec!["nexus-config".into()],
        required_secrets: vec!["nexus-db".into()],
        ..CheckConfig::default()
    };
    let obs = run_with(good(), api(), Check::EnvConfig, cfg.clone()).await;
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 configmap and 1 secret exist in namespace nexus");

    let obs = run_with(bad(), api(), Check::EnvConfig, cfg).await;
    assert_eq!(obs.summary, "Secret nexus/nexus-db: does not exist");

    let err = KubeProbe::manifests(good(), api(), Check::EnvConfig).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotConfigured);
    assert_eq!(err.config_key.as_deref(), Some("kube.config.required_config_maps"));
}

#[tokio::test]
async fn live_checks_are_not_applicable_to_manifests() {
    let err = KubeProbe::manifests(good(), api(), Check::PodsReady).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert_eq!(err.message, "pods-ready needs a live cluster, not manifests");
}

#[tokio::test]
async fn unknown_workload_is_not_found() {
    let err = KubeProbe::manifests(good(), WorkloadSelector::deployment("nexus", "nope"), Check::ImageTag)
        .check(&ProbeContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert_eq!(err.message, "no workload matches deployment nexus/nope in the manifests");
}

#[tokio::test]
async fn label_selectors_pick_workloads() {
    let sel = WorkloadSelector::namespace("nexus").with_labels("app=nexus");
    let obs = run(good(), sel, Check::ImageTag).await;
    assert!(obs.summary.contains("in 1 deployment"), "{}", obs.summary);
    let err =
        KubeProbe::manifests(good(), WorkloadSelector::namespace("nexus").with_labels("app in (x"), Check::ImageTag)
            .check(&ProbeContext::new())
            .await
            .unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
}

#[test]
fn unknown_kinds_are_noted_and_secret_data_dropped() {
    let snap = manifest::load(&good(), "default").unwrap();
    assert_eq!(snap.origin, Origin::Manifests);
    assert_eq!(snap.deployments.len(), 1);
    assert_eq!(snap.daemon_sets.len(), 1);
    assert_eq!(snap.secrets.len(), 2);
    assert!(snap.secrets.iter().all(|s| s.data.is_none() && s.string_data.is_none()));
    assert_eq!(snap.notes.len(), 1, "{:?}", snap.notes);
    assert!(snap.notes[0].starts_with("ignored networking.k8s.io/v1 Ingress \"nexus-api\" ("), "{}", snap.notes[0]);
    assert!(snap.notes[0].ends_with("nexus-api.yaml document 8)"), "{}", snap.notes[0]);
}

#[tokio::test]
async fn notes_reach_the_evidence() {
    let obs = run(good(), api(), Check::ImageTag).await;
    assert!(obs.evidence.get("note.01").is_some_and(|n| n.contains("Ingress")), "{obs:?}");
}

#[test]
fn malformed_yaml_names_file_document_and_line() {
    let err = manifest::load(&[fixture("malformed.yaml")], "default").unwrap_err();
    assert_eq!(err.document, 2);
    assert!((6..=12).contains(&err.line), "{err}");
    let text = err.to_string();
    assert!(text.contains("malformed.yaml:"), "{text}");
    assert!(text.contains("(document 2): invalid YAML"), "{text}");
}

#[test]
fn wrongly_typed_document_names_the_object() {
    let err = manifest::load(&[fixture("wrong-type.yaml")], "default").unwrap_err();
    // The field itself, from its serde path: `  replicas: two` is line 10, column 3.
    assert_eq!((err.document, err.line, err.column), (2, 10, 3));
    assert!(
        err.to_string().ends_with(
            "wrong-type.yaml:10:3 (document 2): invalid Deployment \"typo\": spec.replicas: invalid type: string \"two\", expected i32"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_manifest_is_a_probe_error() {
    let err = KubeProbe::manifests(vec![fixture("malformed.yaml")], api(), Check::ImageTag)
        .check(&ProbeContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
    assert!(err.message.contains("malformed.yaml:"), "{err}");
    let err = KubeProbe::manifests(vec![fixture("missing-dir")], api(), Check::ImageTag)
        .check(&ProbeContext::new())
        .await
        .unwrap_err();
    assert!(err.message.contains("missing-dir: cannot read"), "{err}");
}

#[tokio::test]
async fn spec_from_toml_builds_a_manifest_probe() {
    let text = format!(
        r#"
check = "resource-limits"
manifests = [{:?}]
namespace = "nexus"
name = "nexus-api"
kind = "Deployment"

[config]
max_restarts = 5
"#,
        fixture("bad/workloads.yaml").display().to_string()
    );
    let spec: KubeSpec = toml::from_str(&text).unwrap();
    assert_eq!(<KubeSpec as nexus_readiness::probe::ProbeSpec>::KIND, "kube");
    let probe: Arc<dyn Probe> = spec.build(&BuildContext::detached()).unwrap();
    assert!(probe.target().ends_with("/deployment nexus/nexus-api#resource-limits"), "{}", probe.target());
    let obs = probe.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);

    let err = toml::from_str::<KubeSpec>("check = \"resource-limits\"\nnamepsace = \"x\"").unwrap_err();
    assert!(err.to_string().contains("unknown field `namepsace`"), "{err}");
    // A live-only check on manifests builds, and is Skipped (not applicable) when it runs,
    // without reading the files.
    let live_only: KubeSpec = toml::from_str("check = \"pods-ready\"\nmanifests = [\"k8s\"]").unwrap();
    let err = live_only.build(&BuildContext::detached()).unwrap().check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert_eq!(err.message, "pods-ready needs a live cluster, not manifests");
    let schema = schemars::schema_for!(KubeSpec);
    assert!(serde_json::to_string(&schema).unwrap().contains("resource-limits"));
}

/// The README's manifest-mode `[targets.kubernetes]` snippet loads, plans the built-in
/// checklist and runs: static items are judged on the manifests, live-only items are Skipped
/// with "needs a live cluster", and nothing is a load error.
#[tokio::test]
async fn readme_manifest_config_loads_and_runs() {
    use nexus_readiness::config::Config;
    use nexus_readiness::report::Status;

    let (line, text) = common::readme_config_blocks()
        .into_iter()
        .find(|(_, t)| t.contains("[targets.kubernetes]") && t.lines().any(|l| l.trim_start().starts_with("manifests")))
        .expect("README has a manifest-mode [targets.kubernetes] block");
    // The snippet's path, pointed at the fixtures (the test runs from the crate root).
    let text = text.replace("\"deploy/k8s\"", &format!("{:?}", fixture("good").display().to_string()));
    let config = Config::loader()
        .from_str(&text, &format!("README.md:{line}"))
        .unwrap_or_else(|e| panic!("README.md:{line} does not load: {e}"));
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
    let report = config.runner().build().run(&plan).await;
    let item = |id: &str| report.item(id).unwrap_or_else(|| panic!("no item {id}"));
    for id in [
        "post-deployment.verification.all-pods-running-and-ready",
        "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested",
        "post-deployment.testing.rollback-procedure-tested",
    ] {
        let it = item(id);
        assert_eq!(it.status, Status::Skipped, "{id}: {it:?}");
        assert!(it.reason.contains("needs a live cluster"), "{id}: {}", it.reason);
    }
    let limits = item("pre-deployment.performance.resource-limits-set");
    assert_eq!(limits.status, Status::Pass, "{limits:?}");
    let probes = item("deployment.health-checks.liveness-probe-configured");
    assert_eq!(probes.status, Status::Pass, "{probes:?}");
}
