//! Pure checks over a [`Snapshot`]: no I/O, the same code for manifests and live clusters.
//!
//! Each [`Check`] looks at the workloads a [`WorkloadSelector`] picks and returns a
//! [`CheckOutcome`]: [`Finding`]s that name the object, container and field, and a summary of
//! what was checked.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde::{Deserialize, Serialize};

use super::source::{Origin, ResourceKind, Snapshot, Workload, WorkloadKind, selector_matches, selector_text};
use crate::probe::{Observation, ProbeError};

/// The annotation holding a Deployment's (and its ReplicaSets') revision.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The extended resource name of NVIDIA GPUs.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// The Pod Security Admission enforce label.
pub const PSA_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// One check of the deployment checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Check {
    /// Every container and init container has CPU and memory requests and limits; GPU
    /// containers have `nvidia.com/gpu` limits equal to their requests.
    ResourceLimits,
    /// Every container has liveness and readiness probes.
    HealthProbes,
    /// Containers that need one (long liveness initial delay, GPU) have a startup probe;
    /// not applicable when none needs one.
    StartupProbe,
    /// Images are tagged with a version or pinned by digest, with a sane pull policy.
    ImageTag,
    /// Image pull secrets are configured on the pod or its service account (and exist, with
    /// type `kubernetes.io/dockerconfigjson`, where secrets were read).
    PullSecrets,
    /// No sensitive-looking inline environment values; ConfigMaps hold no secrets.
    SecretsInjection,
    /// A NetworkPolicy with ingress rules selects the workload's pods.
    NetworkPolicy,
    /// Pod Security Admission enforce label and container securityContext.
    PodSecurity,
    /// An HPA targets the workload with minReplicas ≥ 2 and max > min.
    Autoscaling,
    /// Debug flags off and log level allowed, from container environment variables.
    DebugDisabled,
    /// Required ConfigMaps and Secrets exist in the namespace (and, live, every reference does).
    EnvConfig,
    /// Live: every pod of the workload is running and ready.
    PodsReady,
    /// Live: the rollout is complete.
    RolloutComplete,
    /// Live: no container restarts in a loop.
    RestartLoops,
    /// Live: LoadBalancer services of the workload have an ingress address.
    LoadBalancer,
    /// Live: enough Ready nodes with allocatable `nvidia.com/gpu`.
    GpuNodes,
    /// Live: a Deployment can be rolled back (history kept, a previous ReplicaSet exists).
    RollbackPossible,
}

impl Check {
    /// Every check.
    pub const ALL: [Check; 17] = [
        Check::ResourceLimits,
        Check::HealthProbes,
        Check::StartupProbe,
        Check::ImageTag,
        Check::PullSecrets,
        Check::SecretsInjection,
        Check::NetworkPolicy,
        Check::PodSecurity,
        Check::Autoscaling,
        Check::DebugDisabled,
        Check::EnvConfig,
        Check::PodsReady,
        Check::RolloutComplete,
        Check::RestartLoops,
        Check::LoadBalancer,
        Check::GpuNodes,
        Check::RollbackPossible,
    ];

    /// The kebab-case name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::ResourceLimits => "resource-limits",
            Check::HealthProbes => "health-probes",
            Check::StartupProbe => "startup-probe",
            Check::ImageTag => "image-tag",
            Check::PullSecrets => "pull-secrets",
            Check::SecretsInjection => "secrets-injection",
            Check::NetworkPolicy => "network-policy",
            Check::PodSecurity => "pod-security",
            Check::Autoscaling => "autoscaling",
            Check::DebugDisabled => "debug-disabled",
            Check::EnvConfig => "env-config",
            Check::PodsReady => "pods-ready",
            Check::RolloutComplete => "rollout-complete",
            Check::RestartLoops => "restart-loops",
            Check::LoadBalancer => "load-balancer",
            Check::GpuNodes => "gpu-nodes",
            Check::RollbackPossible => "rollback-possible",
        }
    }

    /// Whether the check needs a live cluster (pod status, rollout status, nodes).
    pub fn live_only(self) -> bool {
        matches!(
            self,
            Check::PodsReady
                | Check::RolloutComplete
                | Check::RestartLoops
                | Check::LoadBalancer
                | Check::GpuNodes
                | Check::RollbackPossible
        )
    }

    /// Whether the check looks at workloads (all but `gpu-nodes`).
    pub fn uses_workloads(self) -> bool {
        !matches!(self, Check::GpuNodes)
    }

    /// The kinds a live probe lists for this check (besides the workloads).
    pub fn needs(self) -> &'static [ResourceKind] {
        use ResourceKind as K;
        match self {
            Check::ResourceLimits
            | Check::HealthProbes
            | Check::StartupProbe
            | Check::ImageTag
            | Check::RolloutComplete => &[],
            Check::PullSecrets => &[K::ServiceAccounts, K::Secrets],
            Check::SecretsInjection => &[K::ConfigMaps],
            Check::NetworkPolicy => &[K::NetworkPolicies],
            Check::PodSecurity => &[K::Namespaces],
            Check::Autoscaling => &[K::Hpas],
            Check::DebugDisabled => &[K::ConfigMaps],
            Check::EnvConfig => &[K::ConfigMaps, K::Secrets],
            Check::PodsReady | Check::RestartLoops => &[K::Pods],
            Check::LoadBalancer => &[K::Services],
            Check::GpuNodes => &[K::Nodes],
            Check::RollbackPossible => &[K::ReplicaSets],
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tunables of the checks, with the defaults of the Nexus checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    /// A container needs a startup probe when its liveness probe's initialDelaySeconds is
    /// above this (GPU containers always need one).
    pub startup_probe_min_delay_seconds: i32,
    /// Allowed values (case-insensitive) per environment variable for `debug-disabled`; a
    /// variable that is not set passes.
    pub env_allowed: BTreeMap<String, Vec<String>>,
    /// Environment variable names never reported by `secrets-injection` (false positives).
    pub env_not_sensitive: Vec<String>,
    /// A container restarting more than this many times is in a restart loop.
    pub max_restarts: i32,
    /// ConfigMaps that must exist in the namespace (`env-config`).
    pub required_config_maps: Vec<String>,
    /// Secrets that must exist in the namespace (`env-config`).
    pub required_secrets: Vec<String>,
    /// Minimum number of Ready nodes with allocatable `nvidia.com/gpu` (`gpu-nodes`).
    pub gpu_nodes_min: Option<u32>,
    /// Minimum total allocatable `nvidia.com/gpu` on Ready nodes (`gpu-nodes`).
    pub gpus_min: Option<u32>,
    /// Minimum `minReplicas` of the HPA.
    pub hpa_min_replicas: i32,
}

impl Default for CheckConfig {
    fn default() -> Self {
        let mut env_allowed = BTreeMap::new();
        env_allowed.insert("DEBUG".to_string(), vec!["false".into(), "0".into(), String::new()]);
        env_allowed.insert("LOG_LEVEL".to_string(), vec!["info".into(), "warn".into(), "warning".into()]);
        CheckConfig {
            startup_probe_min_delay_seconds: 30,
            env_allowed,
            env_not_sensitive: Vec::new(),
            max_restarts: 3,
            required_config_maps: Vec::new(),
            required_secrets: Vec::new(),
            gpu_nodes_min: None,
            gpus_min: None,
            hpa_min_replicas: 2,
        }
    }
}

/// Which workloads a check looks at: a namespace plus a name, a label selector on the
/// workloads' own labels, or both; optionally one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct WorkloadSelector {
    /// The namespace (`default` when empty).
    pub namespace: String,
    /// The workload's name; any name when unset.
    pub name: Option<String>,
    /// The workload kind; any of Deployment, StatefulSet, DaemonSet when unset.
    pub kind: Option<WorkloadKind>,
    /// A label selector on the workloads' labels: `app=nexus,tier!=batch,canary,!legacy`.
    pub labels: Option<String>,
}

impl WorkloadSelector {
    /// All workloads in `namespace`.
    pub fn namespace(namespace: impl Into<String>) -> Self {
        WorkloadSelector { namespace: namespace.into(), ..Self::default() }
    }

    /// The Deployment `name` in `namespace`.
    pub fn deployment(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        WorkloadSelector {
            namespace: namespace.into(),
            name: Some(name.into()),
            kind: Some(WorkloadKind::Deployment),
            labels: None,
        }
    }

    /// Restricts to the workload called `name`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Restricts to workloads whose labels match `selector` (`app=nexus,tier!=batch`).
    pub fn with_labels(mut self, selector: impl Into<String>) -> Self {
        self.labels = Some(selector.into());
        self
    }

    /// Restricts to one kind.
    pub fn with_kind(mut self, kind: WorkloadKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// The namespace, `default` when empty.
    pub fn ns(&self) -> &str {
        if self.namespace.is_empty() { "default" } else { &self.namespace }
    }

    /// Parses the label selector.
    ///
    /// # Errors
    /// A misconfigured [`ProbeError`] naming the bad term.
    pub fn label_selector(&self) -> Result<Option<LabelSelector>, ProbeError> {
        self.labels.as_deref().map(parse_label_selector).transpose()
    }

    /// `nexus/nexus-api`, `nexus/app=nexus` or `nexus/*`, for targets and messages.
    pub fn describe(&self) -> String {
        let kind = self.kind.map(|k| format!("{} ", k.as_str().to_ascii_lowercase())).unwrap_or_default();
        let what = match (&self.name, &self.labels) {
            (Some(n), Some(l)) => format!("{n} ({l})"),
            (Some(n), None) => n.clone(),
            (None, Some(l)) => l.clone(),
            (None, None) => "*".into(),
        };
        format!("{kind}{}/{what}", self.ns())
    }

    /// The workloads of `snapshot` this selector picks.
    ///
    /// # Errors
    /// A misconfigured [`ProbeError`] for a bad label selector.
    pub fn select<'a>(&self, snapshot: &'a Snapshot) -> Result<Vec<Workload<'a>>, ProbeError> {
        let labels = self.label_selector()?;
        Ok(snapshot
            .workloads()
            .filter(|w| w.namespace() == self.ns())
            .filter(|w| self.kind.is_none_or(|k| k == w.kind))
            .filter(|w| self.name.as_deref().is_none_or(|n| n == w.name()))
            .filter(|w| labels.as_ref().is_none_or(|s| selector_matches(s, w.meta.labels.as_ref())))
            .collect())
    }
}

/// Parses `app=nexus,tier!=batch,canary,!legacy` (also `==`) into a [`LabelSelector`].
///
/// # Errors
/// A misconfigured [`ProbeError`] naming the bad term.
pub fn parse_label_selector(text: &str) -> Result<LabelSelector, ProbeError> {
    let mut sel = LabelSelector::default();
    let mut labels = BTreeMap::new();
    let mut exprs = Vec::new();
    let bad = |t: &str| ProbeError::misconfigured(format!("label selector {text:?}: cannot parse {t:?}"));
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if let Some((k, v)) = term.split_once("!=") {
            let (k, v) = (k.trim(), v.trim());
            if !valid(k) {
                return Err(bad(term));
            }
            exprs.push(LabelSelectorRequirement {
                key: k.into(),
                operator: "NotIn".into(),
                values: Some(vec![v.into()]),
            });
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            let (k, v) = (k.trim(), v.trim());
            if !valid(k) || v.contains('=') {
                return Err(bad(term));
            }
            labels.insert(k.to_string(), v.to_string());
        } else if let Some(k) = term.strip_prefix('!') {
            if !valid(k.trim()) {
                return Err(bad(term));
            }
            exprs.push(LabelSelectorRequirement {
                key: k.trim().into(),
                operator: "DoesNotExist".into(),
                values: None,
            });
        } else if valid(term) {
            exprs.push(LabelSelectorRequirement { key: term.into(), operator: "Exists".into(), values: None });
        } else {
            return Err(bad(term));
        }
    }
    if !labels.is_empty() {
        sel.match_labels = Some(labels);
    }
    if !exprs.is_empty() {
        sel.match_expressions = Some(exprs);
    }
    Ok(sel)
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingSeverity {
    /// A concern: the observation is Warn.
    Warn,
    /// The item does not hold: the observation is Fail.
    Error,
}

/// One problem found on one object: `Deployment nexus/nexus-api container "server":
/// resources.limits.memory is not set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: FindingSeverity,
    /// The object: `Deployment nexus/nexus-api`.
    pub object: String,
    /// The container, if the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The field path, if the finding is about one: `resources.limits.memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong: `is not set`.
    pub message: String,
}

impl Finding {
    /// An error finding on `object`.
    pub fn error(object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: FindingSeverity::Error,
            object: object.into(),
            container: None,
            field: None,
            message: message.into(),
        }
    }

    /// A warning finding on `object`.
    pub fn warn(object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { severity: FindingSeverity::Warn, ..Self::error(object, message) }
    }

    /// Names the container.
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }

    /// Names the field.
    pub fn field(mut self, path: impl Into<String>) -> Self {
        self.field = Some(path.into());
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.object)?;
        if let Some(c) = &self.container {
            write!(f, " container {c:?}")?;
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field} ")?;
        }
        f.write_str(&self.message)
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// The check.
    pub check: Check,
    /// What was wrong.
    pub findings: Vec<Finding>,
    /// What was checked: `3 containers in 1 deployment have cpu/memory requests and limits`.
    pub checked: String,
}

/// How many findings an observation lists in its evidence.
const EVIDENCE_FINDINGS: usize = 50;

impl CheckOutcome {
    fn new(check: Check, findings: Vec<Finding>, checked: impl Into<String>) -> Self {
        CheckOutcome { check, findings, checked: checked.into() }
    }

    /// Whether an error finding is present.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == FindingSeverity::Error)
    }

    /// The observation: Fail on errors, Warn on warnings only, Pass with what was checked.
    /// The summary is the first (worst) finding and a count; evidence lists the findings.
    pub fn to_observation(&self) -> Observation {
        let mut sorted: Vec<&Finding> = self.findings.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let mut obs = match sorted.first() {
            None => Observation::pass(self.checked.clone()),
            Some(first) => {
                let more = if sorted.len() > 1 { format!(" (and {} more)", sorted.len() - 1) } else { String::new() };
                let text = format!("{first}{more}");
                if self.has_errors() { Observation::fail(text) } else { Observation::warn(text) }
            }
        };
        obs = obs.with_evidence("check", self.check.as_str()).with_evidence("checked", self.checked.clone());
        if !sorted.is_empty() {
            obs = obs.with_evidence("findings", sorted.len().to_string());
        }
        for (i, f) in sorted.iter().take(EVIDENCE_FINDINGS).enumerate() {
            let sev = match f.severity {
                FindingSeverity::Error => "error",
                FindingSeverity::Warn => "warn",
            };
            obs = obs.with_evidence(format!("finding.{:03}", i + 1), format!("{sev}: {f}"));
        }
        obs
    }
}

/// Runs `check` on the workloads `selector` picks in `snapshot`.
///
/// # Errors
/// - not applicable: a live-only check on manifests, or `startup-probe` when no container
///   needs one, or `load-balancer` without LoadBalancer services;
/// - not found: the selector picks no workload;
/// - not configured: `gpu-nodes` without a minimum, `env-config` with nothing required;
/// - other: a kind the check needs was not read into the snapshot.
pub fn evaluate(
    snapshot: &Snapshot,
    selector: &WorkloadSelector,
    check: Check,
    config: &CheckConfig,
) -> Result<CheckOutcome, ProbeError> {
    Evaluator::new(snapshot, selector, config)?.run(check)
}

/// Evaluates several checks over one snapshot, sharing the workload selection and the pod
/// index: build it once, then call [`run`](Self::run) per check.
#[derive(Debug)]
pub struct Evaluator<'a> {
    snap: &'a Snapshot,
    selector: &'a WorkloadSelector,
    cfg: &'a CheckConfig,
    workloads: Vec<Workload<'a>>,
    pod_index: OnceCell<PodIndex<'a>>,
}

/// Pods by namespace and label, so matching 1,000 selectors against 10,000 pods does not cost
/// ten million comparisons.
#[derive(Debug, Default)]
struct PodIndex<'a> {
    by_label: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
    by_ns: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Evaluator<'a> {
    /// Selects the workloads.
    ///
    /// # Errors
    /// A misconfigured [`ProbeError`] for a bad label selector.
    pub fn new(snap: &'a Snapshot, selector: &'a WorkloadSelector, cfg: &'a CheckConfig) -> Result<Self, ProbeError> {
        let workloads = selector.select(snap)?;
        Ok(Evaluator { snap, selector, cfg, workloads, pod_index: OnceCell::new() })
    }

    /// The selected workloads.
    pub fn workloads(&self) -> &[Workload<'a>] {
        &self.workloads
    }

    /// Runs one check (see [`evaluate`] for the errors).
    ///
    /// # Errors
    /// See [`evaluate`].
    pub fn run(&self, check: Check) -> Result<CheckOutcome, ProbeError> {
        if check.live_only() && self.snap.origin != Origin::Live {
            return Err(ProbeError::not_applicable(format!("{check} needs a live cluster, not manifests")));
        }
        for kind in check.needs() {
            if !self.snap.has(*kind) {
                return Err(ProbeError::other(format!("{check}: {} were not read", kind.resource())));
            }
        }
        if check.uses_workloads() && self.workloads.is_empty() {
            let source = match self.snap.origin {
                Origin::Live => "in the cluster",
                Origin::Manifests => "in the manifests",
            };
            return Err(ProbeError::not_found(format!("no workload matches {} {source}", self.selector.describe())));
        }
        match check {
            Check::ResourceLimits => Ok(self.resource_limits()),
            Check::HealthProbes => Ok(self.health_probes()),
            Check::StartupProbe => self.startup_probe(),
            Check::ImageTag => Ok(self.image_tag()),
            Check::PullSecrets => Ok(self.pull_secrets()),
            Check::SecretsInjection => Ok(self.secrets_injection()),
            Check::NetworkPolicy => Ok(self.network_policy()),
            Check::PodSecurity => Ok(self.pod_security()),
            Check::Autoscaling => self.autoscaling(),
            Check::DebugDisabled => Ok(self.debug_disabled()),
            Check::EnvConfig => self.env_config(),
            Check::PodsReady => Ok(self.pods_ready()),
            Check::RolloutComplete => Ok(self.rollout_complete()),
            Check::RestartLoops => Ok(self.restart_loops()),
            Check::LoadBalancer => self.load_balancer(),
            Check::GpuNodes => self.gpu_nodes(),
            Check::RollbackPossible => self.rollback_possible(),
        }
    }

    fn workloads_text(&self) -> String {
        workloads_text(&self.workloads)
    }

    fn container_count(&self, with_init: bool) -> usize {
        self.workloads.iter().flat_map(|w| w.containers()).filter(|(_, init)| with_init || !init).count()
    }

    // ---- resource limits ----

    fn resource_limits(&self) -> CheckOutcome {
        let mut out = Vec::new();
        for w in &self.workloads {
            for (c, _) in w.containers() {
                let res = c.resources.as_ref();
                let requests = res.and_then(|r| r.requests.as_ref());
                let limits = res.and_then(|r| r.limits.as_ref());
                for (map, which) in [(requests, "requests"), (limits, "limits")] {
                    for r in ["cpu", "memory"] {
                        if !map.is_some_and(|m| m.contains_key(r)) {
                            out.push(
                                Finding::error(w.object(), "is not set")
                                    .container(&c.name)
                                    .field(format!("resources.{which}.{r}")),
                            );
                        }
                    }
                }
                let gpu_req = requests.and_then(|m| m.get(GPU_RESOURCE));
                let gpu_lim = limits.and_then(|m| m.get(GPU_RESOURCE));
                match (gpu_req, gpu_lim) {
                    (Some(_), None) => out.push(
                        Finding::error(w.object(), "is not set but the container requests GPUs")
                            .container(&c.name)
                            .field(format!("resources.limits.{GPU_RESOURCE}")),
                    ),
                    (Some(r), Some(l)) if r.0.trim() != l.0.trim() => out.push(
                        Finding::error(
                            w.object(),
                            format!("is {} but resources.limits.{GPU_RESOURCE} is {}: they must be equal", r.0, l.0),
                        )
                        .container(&c.name)
                        .field(format!("resources.requests.{GPU_RESOURCE}")),
                    ),
                    _ => {}
                }
            }
        }
        let n = self.container_count(true);
        let gpus = self.workloads.iter().flat_map(|w| w.containers()).filter(|(c, _)| is_gpu_container(c)).count();
        let gpu_text = if gpus > 0 { format!(" ({gpus} with {GPU_RESOURCE} limits)") } else { String::new() };
        CheckOutcome::new(
            Check::ResourceLimits,
            out,
            format!(
                "{n} {} in {} {} cpu/memory requests and limits{gpu_text}",
                plural(n, "container", "containers"),
                self.workloads_text(),
                if n == 1 { "has" } else { "have" }
            ),
        )
    }

    // ---- probes ----

    fn health_probes(&self) -> CheckOutcome {
        let mut out = Vec::new();
        for w in &self.workloads {
            for (c, init) in w.containers() {
                if init {
                    continue;
                }
                if c.liveness_probe.is_none() {
                    out.push(Finding::error(w.object(), "is not configured").container(&c.name).field("livenessProbe"));
                }
                if c.readiness_probe.is_none() {
                    out.push(
                        Finding::error(w.object(), "is not configured").container(&c.name).field("readinessProbe"),
                    );
                }
            }
        }
        let n = self.container_count(false);
        CheckOutcome::new(
            Check::HealthProbes,
            out,
            format!(
                "{n} {} in {} {} liveness and readiness probes",
                plural(n, "container", "containers"),
                self.workloads_text(),
                if n == 1 { "has" } else { "have" }
            ),
        )
    }

    fn startup_needed(&self, c: &Container) -> Option<String> {
        if is_gpu_container(c) {
            return Some(format!("it requests {GPU_RESOURCE}"));
        }
        let delay = c.liveness_probe.as_ref().and_then(|p| p.initial_delay_seconds).unwrap_or(0);
        (delay > self.cfg.startup_probe_min_delay_seconds).then(|| {
            format!("livenessProbe.initialDelaySeconds is {delay} (above {})", self.cfg.startup_probe_min_delay_seconds)
        })
    }

    fn startup_probe(&self) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut needing = 0;
        for w in &self.workloads {
            for (c, init) in w.containers() {
                if init {
                    continue;
                }
                let Some(why) = self.startup_needed(c) else { continue };
                needing += 1;
                if c.startup_probe.is_none() {
                    out.push(
                        Finding::error(w.object(), format!("is not configured but needed: {why}"))
                            .container(&c.name)
                            .field("startupProbe"),
                    );
                }
            }
        }
        if needing == 0 {
            return Err(ProbeError::not_applicable(format!(
                "no container in {} needs a startup probe (no GPU, liveness initialDelaySeconds ≤ {})",
                self.workloads_text(),
                self.cfg.startup_probe_min_delay_seconds
            )));
        }
        Ok(CheckOutcome::new(
            Check::StartupProbe,
            out,
            format!(
                "{needing} {} needing a startup probe {} one",
                plural(needing, "container", "containers"),
                if needing == 1 { "has" } else { "have" }
            ),
        ))
    }

    // ---- images ----

    fn image_tag(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut pinned = 0;
        for w in &self.workloads {
            for (c, _) in w.containers() {
                let Some(image) = c.image.as_deref().filter(|i| !i.trim().is_empty()) else {
                    out.push(Finding::error(w.object(), "is not set").container(&c.name).field("image"));
                    continue;
                };
                let policy = c.image_pull_policy.as_deref();
                match image_ref(image) {
                    ImageRef::Digest => {
                        pinned += 1;
                        if policy == Some("Always") {
                            out.push(
                                Finding::warn(
                                    w.object(),
                                    format!("is Always for digest-pinned image {image:?}: a digest never changes"),
                                )
                                .container(&c.name)
                                .field("imagePullPolicy"),
                            );
                        }
                    }
                    ImageRef::Tag(tag) if tag != "latest" => {}
                    r => {
                        let what = if matches!(r, ImageRef::Untagged) {
                            "has no tag (resolves to latest)"
                        } else {
                            "uses tag latest"
                        };
                        out.push(
                            Finding::error(w.object(), format!("{image:?} {what}: pin a version or digest"))
                                .container(&c.name)
                                .field("image"),
                        );
                        if policy == Some("IfNotPresent") {
                            out.push(
                                Finding::error(
                                    w.object(),
                                    format!(
                                        "is IfNotPresent with {image:?}: nodes keep whatever latest they pulled first"
                                    ),
                                )
                                .container(&c.name)
                                .field("imagePullPolicy"),
                            );
                        }
                    }
                }
            }
        }
        let n = self.container_count(true);
        CheckOutcome::new(
            Check::ImageTag,
            out,
            format!(
                "{n} {} in {} use versioned images ({pinned} pinned by digest)",
                plural(n, "container", "containers"),
                self.workloads_text()
            ),
        )
    }

    // ---- pull secrets ----

    fn pull_secrets(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for w in &self.workloads {
            let spec = w.pod_spec;
            let mut names: Vec<String> = spec
                .and_then(|s| s.image_pull_secrets.as_ref())
                .into_iter()
                .flatten()
                .map(|r| r.name.clone())
                .collect();
            let sa_name = spec
                .and_then(|s| s.service_account_name.as_deref().or(s.service_account.as_deref()))
                .unwrap_or("default");
            let sa = self
                .snap
                .service_accounts
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(sa_name) && ns_of(&s.metadata) == w.namespace());
            match sa {
                Some(sa) => names.extend(sa.image_pull_secrets.iter().flatten().map(|r| r.name.clone())),
                None if self.snap.origin == Origin::Live && sa_name != "default" => out.push(
                    Finding::error(w.object(), format!("names ServiceAccount {sa_name:?}, which does not exist"))
                        .field("spec.template.spec.serviceAccountName"),
                ),
                None => {}
            }
            names.retain(|n| !n.is_empty());
            if names.is_empty() {
                out.push(
                    Finding::error(
                        w.object(),
                        format!("is not set on the pod template nor on ServiceAccount {sa_name:?}"),
                    )
                    .field("imagePullSecrets"),
                );
                continue;
            }
            for name in names {
                let secret = self
                    .snap
                    .secrets
                    .iter()
                    .find(|s| s.metadata.name.as_deref() == Some(&name) && ns_of(&s.metadata) == w.namespace());
                match secret {
                    None if self.snap.origin == Origin::Live => out.push(
                        Finding::error(w.object(), format!("names Secret {name:?}, which does not exist"))
                            .field("imagePullSecrets"),
                    ),
                    None => {
                        seen.insert(name);
                    }
                    Some(s) => {
                        let ty = s.type_.as_deref().unwrap_or("Opaque");
                        if ty == "kubernetes.io/dockerconfigjson" {
                            seen.insert(name);
                        } else {
                            out.push(
                                Finding::error(
                                    format!("Secret {}/{name}", w.namespace()),
                                    format!("is {ty:?}, not \"kubernetes.io/dockerconfigjson\""),
                                )
                                .field("type"),
                            );
                        }
                    }
                }
            }
        }
        let names: Vec<String> = seen.into_iter().collect();
        CheckOutcome::new(
            Check::PullSecrets,
            out,
            format!(
                "{} {} image pull secrets ({})",
                self.workloads_text(),
                has_have(&self.workloads),
                names.join(", ")
            ),
        )
    }

    // ---- secrets ----

    fn is_sensitive_name(&self, name: &str) -> bool {
        if self.cfg.env_not_sensitive.iter().any(|n| n == name) {
            return false;
        }
        sensitive_name(name)
    }

    fn secrets_injection(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut from_refs = 0;
        for w in &self.workloads {
            for (c, _) in w.containers() {
                for e in c.env.iter().flatten() {
                    if e.value_from.as_ref().is_some_and(|v| v.secret_key_ref.is_some()) {
                        from_refs += 1;
                    }
                    let Some(v) = e.value.as_deref().filter(|v| !v.is_empty()) else { continue };
                    if looks_like_private_key(v) {
                        out.push(
                            Finding::error(
                                w.object(),
                                "holds an inline private key: use a secretKeyRef or a secret volume",
                            )
                            .container(&c.name)
                            .field(format!("env.{}", e.name)),
                        );
                    } else if self.is_sensitive_name(&e.name) {
                        out.push(
                            Finding::error(
                                w.object(),
                                "has an inline value that looks sensitive: use a secretKeyRef or a secret volume",
                            )
                            .container(&c.name)
                            .field(format!("env.{}", e.name)),
                        );
                    }
                }
            }
        }
        let namespaces: BTreeSet<&str> = self.workloads.iter().map(|w| w.namespace()).collect();
        let mut cms = 0;
        for cm in &self.snap.config_maps {
            if !namespaces.contains(ns_of(&cm.metadata)) {
                continue;
            }
            cms += 1;
            let object = format!("ConfigMap {}/{}", ns_of(&cm.metadata), cm.metadata.name.as_deref().unwrap_or(""));
            for (k, v) in cm.data.iter().flatten() {
                if looks_like_private_key(v) {
                    out.push(
                        Finding::error(&object, "holds a private key: move it to a Secret").field(format!("data.{k}")),
                    );
                } else if !v.is_empty() && self.is_sensitive_name(k) {
                    out.push(
                        Finding::error(&object, "looks like a secret: move it to a Secret").field(format!("data.{k}")),
                    );
                }
            }
        }
        CheckOutcome::new(
            Check::SecretsInjection,
            out,
            format!(
                "no sensitive inline values in {} ({from_refs} env values from secretKeyRef) nor in {cms} {}",
                self.workloads_text(),
                plural(cms, "configmap", "configmaps")
            ),
        )
    }

    // ---- network policy ----

    fn network_policy(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut used = BTreeSet::new();
        for w in &self.workloads {
            let labels = w.pod_labels();
            let mut selecting = Vec::new();
            let mut without_ingress = Vec::new();
            for np in &self.snap.network_policies {
                if ns_of(&np.metadata) != w.namespace() {
                    continue;
                }
                let Some(spec) = &np.spec else { continue };
                let empty = LabelSelector::default();
                if !selector_matches(spec.pod_selector.as_ref().unwrap_or(&empty), labels) {
                    continue;
                }
                let name = np.metadata.name.clone().unwrap_or_default();
                let ingress = match &spec.policy_types {
                    Some(t) => t.iter().any(|t| t == "Ingress"),
                    None => true,
                };
                if ingress { selecting.push(name) } else { without_ingress.push(name) }
            }
            if selecting.is_empty() {
                let pods = labels
                    .map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
                    .unwrap_or_default();
                let extra = if without_ingress.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} only {} egress)",
                        without_ingress.join(", "),
                        if without_ingress.len() == 1 { "covers" } else { "cover" }
                    )
                };
                out.push(Finding::error(
                    w.object(),
                    format!(
                        "no NetworkPolicy with ingress in namespace {} selects its pods (labels {pods}){extra}",
                        w.namespace()
                    ),
                ));
            } else {
                used.extend(selecting.into_iter().map(|n| format!("{}/{n}", w.namespace())));
            }
        }
        CheckOutcome::new(
            Check::NetworkPolicy,
            out,
            format!(
                "pods of {} are selected by ingress NetworkPolicies ({})",
                self.workloads_text(),
                used.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    }

    // ---- pod security ----

    fn pod_security(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let namespaces: BTreeSet<&str> = self.workloads.iter().map(|w| w.namespace()).collect();
        let mut levels = Vec::new();
        for ns in namespaces {
            let object = format!("Namespace {ns}");
            match self.snap.namespace(ns) {
                None if self.snap.origin == Origin::Manifests => out.push(Finding::warn(
                    object,
                    format!("is not in the manifests: label {PSA_ENFORCE_LABEL} not verified"),
                )),
                None => out.push(Finding::error(object, "does not exist")),
                Some(n) => {
                    let level = n.metadata.labels.as_ref().and_then(|l| l.get(PSA_ENFORCE_LABEL));
                    match level.map(String::as_str) {
                        Some(l @ ("baseline" | "restricted")) => levels.push(format!("{ns}={l}")),
                        Some(other) => out.push(
                            Finding::error(object, format!("is {other:?}: use baseline or restricted"))
                                .field(format!("metadata.labels.{PSA_ENFORCE_LABEL}")),
                        ),
                        None => out.push(
                            Finding::error(object, "is not set (want baseline or restricted)")
                                .field(format!("metadata.labels.{PSA_ENFORCE_LABEL}")),
                        ),
                    }
                }
            }
        }
        for w in &self.workloads {
            let pod_sc = w.pod_spec.and_then(|s| s.security_context.as_ref());
            for (c, _) in w.containers() {
                let sc = c.security_context.as_ref();
                if sc.and_then(|s| s.privileged) == Some(true) {
                    out.push(
                        Finding::error(w.object(), "is true").container(&c.name).field("securityContext.privileged"),
                    );
                }
                if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
                    let v = if sc.and_then(|s| s.allow_privilege_escalation).is_some() {
                        "is true"
                    } else {
                        "is not set (defaults to true)"
                    };
                    out.push(
                        Finding::error(w.object(), format!("{v}: set it to false"))
                            .container(&c.name)
                            .field("securityContext.allowPrivilegeEscalation"),
                    );
                }
                let non_root = sc.and_then(|s| s.run_as_non_root).or(pod_sc.and_then(|s| s.run_as_non_root));
                if non_root != Some(true) {
                    out.push(
                        Finding::error(w.object(), "is not true on the container nor the pod")
                            .container(&c.name)
                            .field("securityContext.runAsNonRoot"),
                    );
                }
                if sc.and_then(|s| s.read_only_root_filesystem) != Some(true) {
                    out.push(
                        Finding::warn(w.object(), "is not true")
                            .container(&c.name)
                            .field("securityContext.readOnlyRootFilesystem"),
                    );
                }
            }
        }
        let n = self.container_count(true);
        CheckOutcome::new(
            Check::PodSecurity,
            out,
            format!(
                "namespaces enforce pod security ({}); {n} {} in {} run unprivileged as non-root",
                levels.join(", "),
                plural(n, "container", "containers"),
                self.workloads_text()
            ),
        )
    }

    // ---- autoscaling ----

    fn autoscaling(&self) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut scaled = Vec::new();
        let targets: Vec<&Workload<'a>> = self.workloads.iter().filter(|w| w.kind != WorkloadKind::DaemonSet).collect();
        if targets.is_empty() {
            return Err(ProbeError::not_applicable(format!("{} do not scale horizontally", self.workloads_text())));
        }
        for w in targets {
            let hpa = self.snap.hpas.iter().find(|h| {
                ns_of(&h.metadata) == w.namespace()
                    && h.spec.scale_target_ref.kind == w.kind.as_str()
                    && h.spec.scale_target_ref.name == w.name()
            });
            let Some(hpa) = hpa else {
                out.push(Finding::error(w.object(), "no HorizontalPodAutoscaler targets it"));
                continue;
            };
            let object =
                format!("HorizontalPodAutoscaler {}/{}", w.namespace(), hpa.metadata.name.as_deref().unwrap_or(""));
            let spec = &hpa.spec;
            let min = spec.min_replicas.unwrap_or(1);
            let before = out.len();
            if min < self.cfg.hpa_min_replicas {
                out.push(
                    Finding::error(&object, format!("is {min}: want at least {}", self.cfg.hpa_min_replicas))
                        .field("spec.minReplicas"),
                );
            }
            if spec.max_replicas <= min {
                out.push(
                    Finding::error(
                        &object,
                        format!("is {} but minReplicas is {min}: max must exceed min", spec.max_replicas),
                    )
                    .field("spec.maxReplicas"),
                );
            }
            if self.snap.origin == Origin::Manifests
                && let Some(r) = w.replicas
            {
                out.push(
                    Finding::warn(
                        w.object(),
                        format!("is fixed at {r} while HPA {object} scales it: every apply resets the replica count"),
                    )
                    .field("spec.replicas"),
                );
            }
            if out.len() == before {
                scaled.push(format!("{} {}..{}", w.name(), min, spec.max_replicas));
            }
        }
        Ok(CheckOutcome::new(
            Check::Autoscaling,
            out,
            format!("{} scaled by HPAs ({})", self.workloads_text(), scaled.join(", ")),
        ))
    }

    // ---- debug / log level ----

    fn config_map_value(&self, ns: &str, name: &str, key: &str) -> Option<&'a str> {
        self.snap
            .config_maps
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name) && ns_of(&c.metadata) == ns)
            .and_then(|c| c.data.as_ref()?.get(key).map(String::as_str))
    }

    fn debug_disabled(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut seen = 0;
        for w in &self.workloads {
            for (c, init) in w.containers() {
                if init {
                    continue;
                }
                // envFrom ConfigMaps first, then env (which wins).
                let mut values: BTreeMap<&str, (Option<&str>, String)> = BTreeMap::new();
                for src in c.env_from.iter().flatten() {
                    let Some(cm) = &src.config_map_ref else { continue };
                    let prefix = src.prefix.as_deref().unwrap_or("");
                    for name in self.cfg.env_allowed.keys() {
                        let Some(key) = name.strip_prefix(prefix) else { continue };
                        if let Some(v) = self.config_map_value(w.namespace(), &cm.name, key) {
                            values.insert(name, (Some(v), format!("envFrom ConfigMap {}", cm.name)));
                        }
                    }
                }
                for e in c.env.iter().flatten() {
                    if !self.cfg.env_allowed.contains_key(&e.name) {
                        continue;
                    }
                    let name = self.cfg.env_allowed.get_key_value(&e.name).map(|(k, _)| k.as_str()).unwrap_or("");
                    values.insert(name, self.env_value(w, e));
                }
                for (name, (value, from)) in values {
                    seen += 1;
                    let allowed = &self.cfg.env_allowed[name];
                    let field = format!("env.{name}");
                    match value {
                        Some(v) if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) => {}
                        Some(v) => out.push(
                            Finding::error(w.object(), format!("is {v:?} ({from}): allowed {}", allowed_text(allowed)))
                                .container(&c.name)
                                .field(field),
                        ),
                        None => out.push(
                            Finding::warn(w.object(), format!("comes from {from}, which could not be read"))
                                .container(&c.name)
                                .field(field),
                        ),
                    }
                }
            }
        }
        let names: Vec<&str> = self.cfg.env_allowed.keys().map(String::as_str).collect();
        CheckOutcome::new(
            Check::DebugDisabled,
            out,
            format!("{} ({seen} set) in {} have allowed values", names.join(", "), self.workloads_text()),
        )
    }

    fn env_value(&self, w: &Workload<'a>, e: &'a EnvVar) -> (Option<&'a str>, String) {
        if let Some(src) = &e.value_from {
            if let Some(r) = &src.config_map_key_ref {
                return (
                    self.config_map_value(w.namespace(), &r.name, &r.key),
                    format!("ConfigMap {} key {}", r.name, r.key),
                );
            }
            if let Some(r) = &src.secret_key_ref {
                return (None, format!("Secret {} key {}", r.name, r.key));
            }
            return (None, "valueFrom".into());
        }
        (Some(e.value.as_deref().unwrap_or("")), "inline".into())
    }

    // ---- environment config ----

    fn env_config(&self) -> Result<CheckOutcome, ProbeError> {
        let ns = self.selector.ns();
        let mut required_cm: BTreeSet<String> = self.cfg.required_config_maps.iter().cloned().collect();
        let mut required_secret: BTreeSet<String> = self.cfg.required_secrets.iter().cloned().collect();
        if self.snap.origin == Origin::Live {
            for w in &self.workloads {
                let (cms, secrets) = references(w);
                required_cm.extend(cms);
                required_secret.extend(secrets);
            }
        }
        if required_cm.is_empty() && required_secret.is_empty() {
            return Err(ProbeError::not_configured("kube.config.required_config_maps"));
        }
        let mut out = Vec::new();
        let exists_cm = |n: &str| {
            self.snap.config_maps.iter().any(|c| c.metadata.name.as_deref() == Some(n) && ns_of(&c.metadata) == ns)
        };
        let exists_secret = |n: &str| {
            self.snap.secrets.iter().any(|c| c.metadata.name.as_deref() == Some(n) && ns_of(&c.metadata) == ns)
        };
        for n in &required_cm {
            if !exists_cm(n) {
                out.push(Finding::error(format!("ConfigMap {ns}/{n}"), "does not exist"));
            }
        }
        for n in &required_secret {
            if !exists_secret(n) {
                out.push(Finding::error(format!("Secret {ns}/{n}"), "does not exist"));
            }
        }
        Ok(CheckOutcome::new(
            Check::EnvConfig,
            out,
            format!(
                "{} {} and {} {} exist in namespace {ns}",
                required_cm.len(),
                plural(required_cm.len(), "configmap", "configmaps"),
                required_secret.len(),
                plural(required_secret.len(), "secret", "secrets")
            ),
        ))
    }

    // ---- live: pods ----

    fn pod_index(&self) -> &PodIndex<'a> {
        self.pod_index.get_or_init(|| {
            let mut idx = PodIndex::default();
            for (i, p) in self.snap.pods.iter().enumerate() {
                let ns = ns_of(&p.metadata);
                idx.by_ns.entry(ns).or_default().push(i);
                for (k, v) in p.metadata.labels.iter().flatten() {
                    idx.by_label.entry((ns, k.as_str(), v.as_str())).or_default().push(i);
                }
            }
            idx
        })
    }

    /// The pods of `w` (its selector in its namespace).
    fn pods_of(&self, w: &Workload<'a>) -> Vec<&'a Pod> {
        let idx = self.pod_index();
        let ns = w.namespace();
        let candidates: &[usize] = match w.selector.match_labels.as_ref().filter(|m| !m.is_empty()) {
            Some(ml) => ml
                .iter()
                .map(|(k, v)| idx.by_label.get(&(ns, k.as_str(), v.as_str())).map(Vec::as_slice).unwrap_or(&[]))
                .min_by_key(|c| c.len())
                .unwrap_or(&[]),
            None => idx.by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]),
        };
        candidates
            .iter()
            .map(|&i| &self.snap.pods[i])
            .filter(|p| selector_matches(w.selector, p.metadata.labels.as_ref()))
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect()
    }

    fn pods_ready(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut total = 0;
        for w in &self.workloads {
            let pods = self.pods_of(w);
            if pods.is_empty() {
                out.push(Finding::error(
                    w.object(),
                    format!("no pods match its selector {}", selector_text(w.selector)),
                ));
            }
            total += pods.len();
            for p in pods {
                if let Some(reason) = pod_not_ready_reason(p) {
                    out.push(Finding::error(pod_object(p), format!("is not ready: {reason}")));
                }
            }
        }
        CheckOutcome::new(
            Check::PodsReady,
            out,
            format!("{total} {} of {} running and ready", plural(total, "pod", "pods"), self.workloads_text()),
        )
    }

    fn restart_loops(&self) -> CheckOutcome {
        let mut out = Vec::new();
        let mut containers = 0;
        for w in &self.workloads {
            for p in self.pods_of(w) {
                let status = p.status.as_ref();
                let statuses = status.into_iter().flat_map(|s| {
                    s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten())
                });
                for cs in statuses {
                    containers += 1;
                    let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref());
                    if waiting == Some("CrashLoopBackOff") || cs.restart_count > self.cfg.max_restarts {
                        let last = cs
                            .last_state
                            .as_ref()
                            .and_then(|s| s.terminated.as_ref())
                            .map(|t| {
                                format!("; last exit {} {}", t.exit_code, t.reason.as_deref().unwrap_or(""))
                                    .trim_end()
                                    .to_string()
                            })
                            .unwrap_or_default();
                        let state = waiting.map(|w| format!(", {w}")).unwrap_or_default();
                        out.push(
                            Finding::error(
                                pod_object(p),
                                format!(
                                    "restarted {} times (limit {}){state}{last}",
                                    cs.restart_count, self.cfg.max_restarts
                                ),
                            )
                            .container(&cs.name),
                        );
                    }
                }
            }
        }
        CheckOutcome::new(
            Check::RestartLoops,
            out,
            format!(
                "{containers} {} of {} restarted at most {} times",
                plural(containers, "container", "containers"),
                self.workloads_text(),
                self.cfg.max_restarts
            ),
        )
    }

    // ---- live: rollout ----

    fn rollout_complete(&self) -> CheckOutcome {
        let mut out = Vec::new();
        for w in &self.workloads {
            let problems = match w.kind {
                WorkloadKind::Deployment => self
                    .snap
                    .deployments
                    .iter()
                    .find(|d| std::ptr::eq(&d.metadata, w.meta))
                    .map(deployment_rollout_problems)
                    .unwrap_or_default(),
                WorkloadKind::StatefulSet => self
                    .snap
                    .stateful_sets
                    .iter()
                    .find(|d| std::ptr::eq(&d.metadata, w.meta))
                    .map(statefulset_rollout_problems)
                    .unwrap_or_default(),
                WorkloadKind::DaemonSet => self
                    .snap
                    .daemon_sets
                    .iter()
                    .find(|d| std::ptr::eq(&d.metadata, w.meta))
                    .map(daemonset_rollout_problems)
                    .unwrap_or_default(),
            };
            for (field, msg) in problems {
                out.push(Finding::error(w.object(), msg).field(field));
            }
        }
        CheckOutcome::new(Check::RolloutComplete, out, format!("rollout of {} complete", self.workloads_text()))
    }

    fn load_balancer(&self) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut addresses = Vec::new();
        let mut seen = BTreeSet::new();
        for w in &self.workloads {
            for svc in &self.snap.services {
                if ns_of(&svc.metadata) != w.namespace() {
                    continue;
                }
                let Some(spec) = &svc.spec else { continue };
                if spec.type_.as_deref() != Some("LoadBalancer") {
                    continue;
                }
                let Some(sel) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
                let labels = w.pod_labels();
                if !sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
                    continue;
                }
                let name = format!("{}/{}", w.namespace(), svc.metadata.name.as_deref().unwrap_or(""));
                if !seen.insert(name.clone()) {
                    continue;
                }
                let ingress: Vec<String> = svc
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|l| l.ingress.as_ref())
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
                    .collect();
                if ingress.is_empty() {
                    out.push(
                        Finding::error(
                            format!("Service {name}"),
                            "has no ingress address (load balancer not provisioned)",
                        )
                        .field("status.loadBalancer.ingress"),
                    );
                } else {
                    addresses.push(format!("{name}={}", ingress.join("|")));
                }
            }
        }
        if seen.is_empty() {
            return Err(ProbeError::not_applicable(format!(
                "no Service of type LoadBalancer selects the pods of {}",
                self.workloads_text()
            )));
        }
        Ok(CheckOutcome::new(
            Check::LoadBalancer,
            out,
            format!(
                "{} LoadBalancer {} {} an ingress address ({})",
                seen.len(),
                plural(seen.len(), "service", "services"),
                if seen.len() == 1 { "has" } else { "have" },
                addresses.join(", ")
            ),
        ))
    }

    fn gpu_nodes(&self) -> Result<CheckOutcome, ProbeError> {
        if self.cfg.gpu_nodes_min.is_none() && self.cfg.gpus_min.is_none() {
            return Err(ProbeError::not_configured("kube.config.gpu_nodes_min"));
        }
        let mut out = Vec::new();
        let mut ready_nodes = Vec::new();
        let mut gpus = 0u64;
        for n in &self.snap.nodes {
            let name = n.metadata.name.as_deref().unwrap_or("");
            let status = n.status.as_ref();
            let alloc = status
                .and_then(|s| s.allocatable.as_ref())
                .and_then(|a| a.get(GPU_RESOURCE))
                .and_then(|q| q.0.trim().parse::<u64>().ok())
                .unwrap_or(0);
            if alloc == 0 {
                continue;
            }
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .map(|c| (c.status == "True", c.reason.clone().unwrap_or_default()));
            let unschedulable = n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
            match ready {
                Some((true, _)) if !unschedulable => {
                    gpus += alloc;
                    ready_nodes.push(format!("{name}({alloc})"));
                }
                Some((true, _)) => {
                    out.push(Finding::warn(format!("Node {name}"), "is cordoned").field("spec.unschedulable"))
                }
                Some((false, reason)) => out.push(
                    Finding::warn(
                        format!("Node {name}"),
                        format!("is not Ready ({reason}); its {alloc} GPUs do not count"),
                    )
                    .field("status.conditions.Ready"),
                ),
                None => out.push(Finding::warn(format!("Node {name}"), "reports no Ready condition")),
            }
        }
        let n = ready_nodes.len() as u64;
        if let Some(min) = self.cfg.gpu_nodes_min
            && n < u64::from(min)
        {
            out.push(Finding::error("cluster", format!("has {n} Ready GPU nodes, want at least {min}")));
        }
        if let Some(min) = self.cfg.gpus_min
            && gpus < u64::from(min)
        {
            out.push(Finding::error(
                "cluster",
                format!("has {gpus} allocatable {GPU_RESOURCE} on Ready nodes, want at least {min}"),
            ));
        }
        Ok(CheckOutcome::new(
            Check::GpuNodes,
            out,
            format!(
                "{n} Ready GPU {} with {gpus} allocatable {GPU_RESOURCE}: {}",
                plural(n as usize, "node", "nodes"),
                ready_nodes.join(", ")
            ),
        ))
    }

    fn rollback_possible(&self) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut ok = Vec::new();
        let deployments: Vec<&Workload<'a>> =
            self.workloads.iter().filter(|w| w.kind == WorkloadKind::Deployment).collect();
        if deployments.is_empty() {
            return Err(ProbeError::not_applicable(format!(
                "rollback-possible applies to Deployments, not {}",
                self.workloads_text()
            )));
        }
        for w in deployments {
            let d =
                self.snap.deployments.iter().find(|d| std::ptr::eq(&d.metadata, w.meta)).expect("workload of snapshot");
            let limit = d.spec.revision_history_limit.unwrap_or(10);
            if limit <= 0 {
                out.push(
                    Finding::error(w.object(), "is 0: no old ReplicaSet is kept to roll back to")
                        .field("spec.revisionHistoryLimit"),
                );
                continue;
            }
            let current = revision(&d.metadata);
            let previous = owned_replica_sets(&self.snap.replica_sets, d)
                .filter_map(|rs| revision(&rs.metadata))
                .filter(|r| current.is_none_or(|c| *r < c))
                .max();
            match previous {
                Some(p) => ok.push(format!("{} to revision {p}", w.name())),
                None => out.push(Finding::error(
                    w.object(),
                    format!(
                        "has no previous ReplicaSet to roll back to (current revision {})",
                        current.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into())
                    ),
                )),
            }
        }
        Ok(CheckOutcome::new(Check::RollbackPossible, out, format!("rollback possible: {}", ok.join(", "))))
    }
}

/// The revision annotation of an object.
pub fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<i64> {
    meta.annotations.as_ref()?.get(REVISION_ANNOTATION)?.trim().parse().ok()
}

/// ReplicaSets owned by `d` (by owner reference uid, or by name when the uid is unknown).
pub fn owned_replica_sets<'r>(
    rs: &'r [k8s_openapi::api::apps::v1::ReplicaSet],
    d: &'r k8s_openapi::api::apps::v1::Deployment,
) -> impl Iterator<Item = &'r k8s_openapi::api::apps::v1::ReplicaSet> {
    rs.iter().filter(move |rs| {
        ns_of(&rs.metadata) == ns_of(&d.metadata)
            && rs.metadata.owner_references.iter().flatten().any(|o| {
                o.kind == "Deployment"
                    && match &d.metadata.uid {
                        Some(uid) => &o.uid == uid,
                        None => Some(&o.name) == d.metadata.name.as_ref(),
                    }
            })
    })
}

/// The rollout problems every workload kind shares: a generation the controller has not
/// observed yet, and replica counts that are not `want`.
fn generation_and_counts(
    generation: Option<i64>,
    observed: Option<i64>,
    want: i32,
    counts: [(&'static str, i32); 3],
) -> Vec<(&'static str, String)> {
    let mut p = Vec::new();
    let (generation, observed) = (generation.unwrap_or(0), observed.unwrap_or(0));
    if observed < generation {
        p.push(("status.observedGeneration", format!("is {observed}, behind generation {generation}")));
    }
    for (field, v) in counts {
        if v != want {
            p.push((field, format!("is {v}, want {want}")));
        }
    }
    p
}

fn deployment_rollout_problems(d: &k8s_openapi::api::apps::v1::Deployment) -> Vec<(&'static str, String)> {
    let Some(st) = &d.status else {
        return vec![("status", "has no status yet".into())];
    };
    let mut p = generation_and_counts(
        d.metadata.generation,
        st.observed_generation,
        d.spec.replicas.unwrap_or(1),
        [
            ("status.updatedReplicas", st.updated_replicas.unwrap_or(0)),
            ("status.readyReplicas", st.ready_replicas.unwrap_or(0)),
            ("status.availableReplicas", st.available_replicas.unwrap_or(0)),
        ],
    );
    if let Some(c) =
        st.conditions.iter().flatten().find(|c| {
            c.type_.as_deref() == Some("Progressing") && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        })
    {
        p.push((
            "status.conditions.Progressing",
            format!("ProgressDeadlineExceeded: {}", c.message.clone().unwrap_or_default()),
        ));
    }
    p
}

fn statefulset_rollout_problems(s: &k8s_openapi::api::apps::v1::StatefulSet) -> Vec<(&'static str, String)> {
    let Some(st) = &s.status else {
        return vec![("status", "has no status yet".into())];
    };
    let mut p = generation_and_counts(
        s.metadata.generation,
        st.observed_generation,
        s.spec.replicas.unwrap_or(1),
        [
            ("status.updatedReplicas", st.updated_replicas.unwrap_or(0)),
            ("status.readyReplicas", st.ready_replicas.unwrap_or(0)),
            ("status.availableReplicas", st.available_replicas.unwrap_or(0)),
        ],
    );
    if st.update_revision.is_some() && st.current_revision != st.update_revision {
        p.push((
            "status.currentRevision",
            format!(
                "is {}, update revision {}",
                st.current_revision.as_deref().unwrap_or("none"),
                st.update_revision.as_deref().unwrap_or("none")
            ),
        ));
    }
    p
}

fn daemonset_rollout_problems(d: &k8s_openapi::api::apps::v1::DaemonSet) -> Vec<(&'static str, String)> {
    let Some(st) = &d.status else {
        return vec![("status", "has no status yet".into())];
    };
    generation_and_counts(
        d.metadata.generation,
        st.observed_generation,
        st.desired_number_scheduled,
        [
            ("status.updatedNumberScheduled", st.updated_number_scheduled.unwrap_or(0)),
            ("status.numberAvailable", st.number_available.unwrap_or(0)),
            ("status.numberReady", st.number_ready),
        ],
    )
}

/// Why a pod is not running and ready, or None when it is.
pub fn pod_not_ready_reason(p: &Pod) -> Option<String> {
    let status = p.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    if phase == "Running" && ready {
        return None;
    }
    let mut reasons = vec![format!("phase {phase}")];
    for cs in status
        .into_iter()
        .flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()))
    {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let msg = w.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
            reasons.push(format!("container {:?} waiting: {}{msg}", cs.name, w.reason.as_deref().unwrap_or("unknown")));
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            reasons.push(format!(
                "container {:?} terminated: {} (exit {})",
                cs.name,
                t.reason.as_deref().unwrap_or("unknown"),
                t.exit_code
            ));
        } else if !cs.ready {
            reasons.push(format!("container {:?} not ready", cs.name));
        }
    }
    for c in status.and_then(|s| s.conditions.as_ref()).into_iter().flatten() {
        if c.status != "True" && c.type_ != "ContainersReady" {
            let mut text = format!("{}={}", c.type_, c.status);
            if let Some(r) = &c.reason {
                text.push_str(&format!(" {r}"));
            }
            if let Some(m) = &c.message {
                text.push_str(&format!(": {m}"));
            }
            reasons.push(text);
        }
    }
    Some(reasons.join("; "))
}

fn pod_object(p: &Pod) -> String {
    format!("Pod {}/{}", ns_of(&p.metadata), p.metadata.name.as_deref().unwrap_or(""))
}

fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// ConfigMap and Secret names a workload's pod template references (env, envFrom, volumes),
/// leaving out optional references.
fn references(w: &Workload<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let Some(spec) = w.pod_spec else { return (cms, secrets) };
    for (c, _) in w.containers() {
        for e in c.env.iter().flatten() {
            let Some(src) = &e.value_from else { continue };
            if let Some(r) = src.config_map_key_ref.as_ref().filter(|r| r.optional != Some(true)) {
                cms.insert(r.name.clone());
            }
            if let Some(r) = src.secret_key_ref.as_ref().filter(|r| r.optional != Some(true)) {
                secrets.insert(r.name.clone());
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = e.config_map_ref.as_ref().filter(|r| r.optional != Some(true)) {
                cms.insert(r.name.clone());
            }
            if let Some(r) = e.secret_ref.as_ref().filter(|r| r.optional != Some(true)) {
                secrets.insert(r.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = v.config_map.as_ref().filter(|c| c.optional != Some(true)) {
            cms.insert(cm.name.clone());
        }
        if let Some(s) = v.secret.as_ref().filter(|s| s.optional != Some(true))
            && let Some(n) = &s.secret_name
        {
            secrets.insert(n.clone());
        }
    }
    cms.retain(|n| !n.is_empty());
    secrets.retain(|n| !n.is_empty());
    (cms, secrets)
}

fn is_gpu_container(c: &Container) -> bool {
    c.resources.as_ref().is_some_and(|r| {
        [&r.limits, &r.requests].into_iter().flatten().any(|m| m.get(GPU_RESOURCE).is_some_and(|q| q.0.trim() != "0"))
    })
}

/// Whether an environment variable or ConfigMap key name looks like it holds a secret:
/// PASSWORD, PASSWD, TOKEN, SECRET, CREDENTIAL, PRIVATE_KEY, API_KEY or any `*_KEY`.
pub fn sensitive_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase().replace(['-', '.'], "_");
    ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "APIKEY"]
        .iter()
        .any(|w| n.contains(w))
        || n.ends_with("_KEY")
}

fn looks_like_private_key(v: &str) -> bool {
    v.contains("-----BEGIN") && v.contains("PRIVATE KEY")
}

/// How an image reference pins its version.
#[derive(Debug, PartialEq, Eq)]
enum ImageRef<'a> {
    Digest,
    Tag(&'a str),
    Untagged,
}

fn image_ref(image: &str) -> ImageRef<'_> {
    if image.contains('@') {
        return ImageRef::Digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => ImageRef::Tag(tag),
        _ => ImageRef::Untagged,
    }
}

fn allowed_text(allowed: &[String]) -> String {
    allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

fn has_have(ws: &[Workload<'_>]) -> &'static str {
    if ws.len() == 1 { "has" } else { "have" }
}

/// `1 deployment and 2 daemonsets`.
pub fn workloads_text(ws: &[Workload<'_>]) -> String {
    let mut counts: BTreeMap<WorkloadKind, usize> = BTreeMap::new();
    for w in ws {
        *counts.entry(w.kind).or_default() += 1;
    }
    let parts: Vec<String> = counts.into_iter().map(|(k, n)| format!("{n} {}", k.noun(n))).collect();
    match parts.len() {
        0 => "no workloads".into(),
        1 => parts[0].clone(),
        _ => {
            let (last, rest) = parts.split_last().expect("non-empty");
            format!("{} and {last}", rest.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(image_ref("nginx"), ImageRef::Untagged);
        assert_eq!(image_ref("registry:5000/nexus/api"), ImageRef::Untagged);
        assert_eq!(image_ref("registry:5000/nexus/api:1.2.3"), ImageRef::Tag("1.2.3"));
        assert_eq!(image_ref("nexus/api@sha256:abc"), ImageRef::Digest);
        assert_eq!(image_ref("nexus/api:latest"), ImageRef::Tag("latest"));
    }

    #[test]
    fn sensitive_names() {
        for n in ["DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "API_TOKEN", "STRIPE_KEY", "api-key"] {
            assert!(sensitive_name(n), "{n}");
        }
        for n in ["LOG_LEVEL", "PORT", "KEYCLOAK_URL"] {
            assert!(!sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn label_selectors_parse_and_reject() {
        let s = parse_label_selector("app=nexus, tier!=batch,canary,!legacy").unwrap();
        let mut labels = BTreeMap::new();
        labels.insert("app".to_string(), "nexus".to_string());
        labels.insert("canary".to_string(), "yes".to_string());
        assert!(selector_matches(&s, Some(&labels)));
        labels.insert("legacy".to_string(), "1".to_string());
        assert!(!selector_matches(&s, Some(&labels)));
        let err = parse_label_selector("app in (a").unwrap_err();
        assert!(err.message.contains("cannot parse \"app in (a\""), "{err}");
    }
}
