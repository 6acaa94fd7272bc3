//! Pure checks over a [`Snapshot`]: no I/O, the same code for manifests and live clusters.
//!
//! Each check is a type implementing the small [`KubeCheck`] trait, in a file by theme
//! (resources, probes, images, secrets, network, security, scaling, live status). A check looks
//! at the workloads a [`WorkloadSelector`] picks, through an [`Evaluator`], and returns a
//! [`CheckOutcome`]: [`Finding`]s that name the object, container and field, and a summary of
//! what was checked. [`Check`] names the built-in checks for config files; your own checks
//! implement [`KubeCheck`] and run through [`Evaluator::run_check`].

mod images;
mod monitoring;
mod network;
mod probes;
mod resources;
mod scaling;
mod secrets;
mod security;
pub(crate) mod status;
mod util;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde::{Deserialize, Serialize};

use super::source::{Location, Origin, ResourceKind, Snapshot, Workload, WorkloadKind, selector_matches};
use crate::probe::{Observation, ProbeError};
use util::ns_of;

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
    /// No pod shares the node's network, PID or IPC namespace.
    HostNamespaces,
    /// Containers drop ALL capabilities and add at most NET_BIND_SERVICE.
    CapabilitiesDropped,
    /// A seccomp profile (RuntimeDefault or Localhost) applies to every container.
    SeccompProfile,
    /// The service-account token is not mounted unless the pod asks for it.
    ServiceAccountToken,
    /// Deployments and StatefulSets run at least `min_replicas` replicas.
    Replicas,
    /// Multi-replica workloads have a PodDisruptionBudget that allows evictions.
    PodDisruptionBudget,
    /// Workloads set a priority class.
    PriorityClass,
    /// Multi-replica pods spread over nodes (anti-affinity or topology spread).
    AntiAffinity,
    /// Every HPA of the namespace targets an existing workload.
    HpaTarget,
    /// PrometheusRule manifests hold the checklist's alert rules (name, expression, `for`).
    PrometheusRules,
    /// A ServiceMonitor or PodMonitor selects the workload's pods (metrics scraped).
    ServiceMonitor,
}

impl Check {
    /// Every check.
    pub const ALL: [Check; 28] = [
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
        Check::HostNamespaces,
        Check::CapabilitiesDropped,
        Check::SeccompProfile,
        Check::ServiceAccountToken,
        Check::Replicas,
        Check::PodDisruptionBudget,
        Check::PriorityClass,
        Check::AntiAffinity,
        Check::HpaTarget,
        Check::PrometheusRules,
        Check::ServiceMonitor,
    ];

    /// The implementation of this check: the one table from names to check types.
    pub fn imp(self) -> &'static dyn KubeCheck {
        match self {
            Check::ResourceLimits => &resources::ResourceLimits,
            Check::HealthProbes => &probes::HealthProbes,
            Check::StartupProbe => &probes::StartupProbe,
            Check::ImageTag => &images::ImageTag,
            Check::PullSecrets => &images::PullSecrets,
            Check::SecretsInjection => &secrets::SecretsInjection,
            Check::NetworkPolicy => &network::NetworkPolicy,
            Check::PodSecurity => &security::PodSecurity,
            Check::Autoscaling => &scaling::Autoscaling,
            Check::DebugDisabled => &secrets::DebugDisabled,
            Check::EnvConfig => &secrets::EnvConfig,
            Check::PodsReady => &status::PodsReady,
            Check::RolloutComplete => &status::RolloutComplete,
            Check::RestartLoops => &status::RestartLoops,
            Check::LoadBalancer => &network::LoadBalancer,
            Check::GpuNodes => &status::GpuNodes,
            Check::RollbackPossible => &status::RollbackPossible,
            Check::HostNamespaces => &security::HostNamespaces,
            Check::CapabilitiesDropped => &security::Capabilities,
            Check::SeccompProfile => &security::Seccomp,
            Check::ServiceAccountToken => &security::TokenAutomount,
            Check::Replicas => &scaling::Replicas,
            Check::PodDisruptionBudget => &scaling::DisruptionBudget,
            Check::PriorityClass => &scaling::PriorityClass,
            Check::AntiAffinity => &scaling::Spread,
            Check::HpaTarget => &scaling::HpaTarget,
            Check::PrometheusRules => &monitoring::AlertRules,
            Check::ServiceMonitor => &monitoring::Scraped,
        }
    }

    /// The kebab-case name used in config files.
    pub fn as_str(self) -> &'static str {
        self.imp().name()
    }

    /// Whether the check needs a live cluster (pod status, rollout status, nodes).
    pub fn live_only(self) -> bool {
        self.imp().live_only()
    }

    /// Whether the check looks at workloads (all but `gpu-nodes`).
    pub fn uses_workloads(self) -> bool {
        self.imp().uses_workloads()
    }

    /// The kinds a live probe lists for this check (besides the workloads).
    pub fn needs(self) -> &'static [ResourceKind] {
        self.imp().needs()
    }
}

/// One check over the workloads an [`Evaluator`] selected: a small trait with one type per
/// check (like kube-runtime's `wait::Condition`), so checks are added without touching a
/// central table and users can write their own.
///
/// ```
/// use nexus_readiness::probe::ProbeError;
/// use nexus_readiness::probes::kube::{CheckOutcome, Evaluator, Finding, KubeCheck};
///
/// /// Every workload carries a `team` label.
/// #[derive(Debug)]
/// struct TeamLabel;
///
/// impl KubeCheck for TeamLabel {
///     fn name(&self) -> &'static str {
///         "team-label"
///     }
///     fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
///         let findings = ev
///             .workloads()
///             .iter()
///             .filter(|w| !w.meta.labels.as_ref().is_some_and(|l| l.contains_key("team")))
///             .map(|w| Finding::error(w.object(), "is not set").field("metadata.labels.team"))
///             .collect();
///         Ok(CheckOutcome::new(self.name(), findings, "every workload has a team label"))
///     }
/// }
/// ```
pub trait KubeCheck: Send + Sync + fmt::Debug {
    /// The kebab-case name (`resource-limits`), used in targets, evidence and reports.
    fn name(&self) -> &'static str;

    /// Whether the check needs a live cluster (pod status, rollout status, nodes); on manifests
    /// it is Skipped with "needs a live cluster". Default `false`.
    fn live_only(&self) -> bool {
        false
    }

    /// Whether the check looks at the selected workloads (an empty selection is then
    /// "not found"). Default `true`.
    fn uses_workloads(&self) -> bool {
        true
    }

    /// The kinds a live probe lists for this check besides the workloads. Default none.
    fn needs(&self) -> &'static [ResourceKind] {
        &[]
    }

    /// Runs the check.
    ///
    /// # Errors
    /// A [`ProbeError`] when the check cannot decide (not applicable, not configured, ...).
    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError>;
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
    /// Minimum replicas of a Deployment or StatefulSet (`replicas`).
    pub min_replicas: i32,
    /// Allowed priority class names (`priority-class`); any when empty.
    pub priority_classes: Vec<String>,
    /// The alert rules PrometheusRule manifests must hold (`prometheus-rules`); filled from
    /// the plan's checklist when empty.
    #[schemars(skip)]
    pub alert_rules: Vec<crate::model::AlertRule>,
    /// Expected PromQL per alert name (`HighErrorRate = "..."`), compared with whitespace
    /// normalised; without one, a rule's expression must contain the checklist's bound.
    pub alert_exprs: BTreeMap<String, String>,
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
            min_replicas: 2,
            priority_classes: Vec::new(),
            alert_rules: Vec::new(),
            alert_exprs: BTreeMap::new(),
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
    /// The workload kind; when unset, any of Deployment, StatefulSet, DaemonSet, Job, CronJob,
    /// and (in manifests, or on a cluster when the kind is `Pod`) Pods that no controller
    /// manages.
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
            .filter(|w| w.kind != WorkloadKind::Pod || snapshot.origin == Origin::Manifests || self.kind.is_some())
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
    /// Where the offending field is, `file:line:column`, when the object came from a manifest
    /// (the field itself, or the nearest enclosing field that is written when it is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
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
            location: None,
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

    /// Sets the location (the evaluator fills it in from the manifest otherwise).
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
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
    /// The check's name (`resource-limits`).
    pub check: String,
    /// What was wrong.
    pub findings: Vec<Finding>,
    /// What was checked: `3 containers in 1 deployment have cpu/memory requests and limits`.
    pub checked: String,
}

/// How many findings an observation lists in its evidence.
const EVIDENCE_FINDINGS: usize = 50;

impl CheckOutcome {
    /// The outcome of the check named `check`: its findings and, for the Pass summary, what
    /// was checked.
    pub fn new(check: impl Into<String>, findings: Vec<Finding>, checked: impl Into<String>) -> Self {
        CheckOutcome { check: check.into(), findings, checked: checked.into() }
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
        obs = obs.with_evidence("check", self.check.clone()).with_evidence("checked", self.checked.clone());
        if !sorted.is_empty() {
            obs = obs.with_evidence("findings", sorted.len().to_string());
        }
        for (i, f) in sorted.iter().take(EVIDENCE_FINDINGS).enumerate() {
            let sev = match f.severity {
                FindingSeverity::Error => "error",
                FindingSeverity::Warn => "warn",
            };
            obs = obs.with_evidence(format!("finding.{:03}", i + 1), format!("{sev}: {f}"));
            if let Some(at) = &f.location {
                obs = obs.with_evidence(format!("finding.{:03}.at", i + 1), at.to_string());
            }
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
    workload_index: OnceLock<WorkloadIndex>,
}

/// Workloads by namespace and one of their selector's labels, so matching 100,000 pods
/// against 1,000 selectors does not cost a hundred million comparisons.
#[derive(Debug, Default)]
struct WorkloadIndex {
    /// namespace -> label key -> label value -> workloads.
    by_label: HashMap<String, HashMap<String, HashMap<String, Vec<usize>>>>,
    /// Workloads whose selector has no matchLabels (expressions only).
    unkeyed: Vec<usize>,
    /// Bare Pod workloads by namespace and name.
    bare: HashMap<String, HashMap<String, usize>>,
}

impl<'a> Evaluator<'a> {
    /// Selects the workloads.
    ///
    /// # Errors
    /// A misconfigured [`ProbeError`] for a bad label selector.
    pub fn new(snap: &'a Snapshot, selector: &'a WorkloadSelector, cfg: &'a CheckConfig) -> Result<Self, ProbeError> {
        let workloads = selector.select(snap)?;
        Ok(Evaluator { snap, selector, cfg, workloads, workload_index: OnceLock::new() })
    }

    /// The selected workloads.
    pub fn workloads(&self) -> &[Workload<'a>] {
        &self.workloads
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &'a Snapshot {
        self.snap
    }

    /// The selector.
    pub fn selector(&self) -> &'a WorkloadSelector {
        self.selector
    }

    /// The check tunables.
    pub fn config(&self) -> &'a CheckConfig {
        self.cfg
    }

    /// Runs one built-in check (see [`evaluate`] for the errors).
    ///
    /// # Errors
    /// See [`evaluate`].
    pub fn run(&self, check: Check) -> Result<CheckOutcome, ProbeError> {
        self.run_check(check.imp())
    }

    /// Runs any check, built-in or your own: a live-only check on manifests is not
    /// applicable, a kind it needs that was not read is an error, an empty selection is not
    /// found.
    ///
    /// # Errors
    /// See [`evaluate`].
    pub fn run_check(&self, check: &dyn KubeCheck) -> Result<CheckOutcome, ProbeError> {
        self.precheck(check)?;
        let mut outcome = check.run(self)?;
        if !self.snap.sources.is_empty() {
            for f in &mut outcome.findings {
                self.locate(f);
            }
        }
        Ok(outcome)
    }

    /// What [`run_check`](Self::run_check) verifies before running a check.
    pub(crate) fn precheck(&self, check: &dyn KubeCheck) -> Result<(), ProbeError> {
        let name = check.name();
        if check.live_only() && self.snap.origin != Origin::Live {
            return Err(ProbeError::not_applicable(format!("{name} needs a live cluster, not manifests")));
        }
        for kind in check.needs() {
            if !self.snap.has(*kind) {
                return Err(ProbeError::other(format!("{name}: {} were not read", kind.resource())));
            }
        }
        if check.uses_workloads() && self.workloads.is_empty() {
            let source = match self.snap.origin {
                Origin::Live => "in the cluster",
                Origin::Manifests => "in the manifests",
            };
            return Err(ProbeError::not_found(format!("no workload matches {} {source}", self.selector.describe())));
        }
        Ok(())
    }

    /// Fills in the manifest location of a finding from its object, container and field.
    fn locate(&self, f: &mut Finding) {
        if f.location.is_some() {
            return;
        }
        let Some(src) = self.snap.sources.get(&f.object) else { return };
        let idx = &src.index;
        let kind = f.object.split(' ').next().unwrap_or("");
        let pod_spec = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some("/spec/template/spec"),
            "CronJob" => Some(WorkloadKind::CronJob.pod_spec_pointer()),
            "Pod" => Some("/spec"),
            _ => None,
        };
        let field = f.field.as_deref().unwrap_or("");
        let segs: Vec<&str> = field.split('.').filter(|s| !s.is_empty()).collect();
        let base = src.prefix.as_str();
        let pointer = match (pod_spec, &f.container) {
            (Some(spec), Some(c)) => {
                let spec = format!("{base}{spec}");
                let container = idx
                    .named(&format!("{spec}/containers"), c)
                    .or_else(|| idx.named(&format!("{spec}/initContainers"), c))
                    .map(str::to_string);
                match container {
                    Some(cp) => idx.walk(&cp, &segs).0,
                    None => spec,
                }
            }
            (Some(spec), None)
                if !segs.is_empty() && !matches!(segs[0], "spec" | "metadata" | "status" | "apiVersion" | "kind") =>
            {
                idx.walk(&format!("{base}{spec}"), &segs).0
            }
            _ => idx.walk(base, &segs).0,
        };
        let (line, column) = idx.locate(&pointer);
        f.location = Some(Location::new(src.path.clone(), line, column));
    }

    /// `1 deployment and 2 daemonsets`: the selected workloads, for summaries.
    pub fn workloads_text(&self) -> String {
        util::workloads_text(&self.workloads)
    }

    /// The number of containers (and init containers when `with_init`) of the selection.
    pub fn container_count(&self, with_init: bool) -> usize {
        self.workloads.iter().flat_map(|w| w.containers()).filter(|(_, init)| with_init || !init).count()
    }

    /// The value of `key` in ConfigMap `name` of namespace `ns`, if read.
    pub fn config_map_value(&self, ns: &str, name: &str, key: &str) -> Option<&'a str> {
        self.snap
            .config_maps
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name) && ns_of(&c.metadata) == ns)
            .and_then(|c| c.data.as_ref()?.get(key).map(String::as_str))
    }

    fn workload_index(&self) -> &WorkloadIndex {
        self.workload_index.get_or_init(|| {
            let mut idx = WorkloadIndex::default();
            for (i, w) in self.workloads.iter().enumerate() {
                let ns = w.namespace().to_string();
                if w.kind == WorkloadKind::Pod {
                    idx.bare.entry(ns).or_default().insert(w.name().to_string(), i);
                    continue;
                }
                let Some(selector) = w.selector else { continue };
                match selector.match_labels.as_ref().and_then(|m| m.iter().next()) {
                    Some((k, v)) => idx
                        .by_label
                        .entry(ns)
                        .or_default()
                        .entry(k.clone())
                        .or_default()
                        .entry(v.clone())
                        .or_default()
                        .push(i),
                    None => idx.unkeyed.push(i),
                }
            }
            idx
        })
    }

    /// The indexes (into [`workloads`](Self::workloads)) of the workloads whose selector picks
    /// `pod` in its namespace: a bare Pod workload picks itself.
    pub fn workloads_of(&self, pod: &Pod) -> Vec<usize> {
        let idx = self.workload_index();
        let ns = ns_of(&pod.metadata);
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let mut out: Vec<usize> = idx.bare.get(ns).and_then(|m| m.get(name)).copied().into_iter().collect();
        let labels = pod.metadata.labels.as_ref();
        let in_ns = idx.by_label.get(ns);
        let keyed = labels.into_iter().flatten().flat_map(|(k, v)| {
            in_ns.and_then(|m| m.get(k.as_str())).and_then(|m| m.get(v.as_str())).map(Vec::as_slice).unwrap_or(&[])
        });
        for &i in keyed.chain(idx.unkeyed.iter()) {
            let w = &self.workloads[i];
            if w.namespace() == ns && w.selector.is_some_and(|s| selector_matches(s, labels)) && !out.contains(&i) {
                out.push(i);
            }
        }
        out.sort_unstable();
        out
    }

    /// The pods of `w` in the snapshot (its selector in its namespace; a bare Pod itself), not
    /// being deleted. A workload without a selector (a CronJob) has none.
    pub fn pods_of(&self, w: &Workload<'a>) -> Vec<&'a Pod> {
        let Some(i) = self.workloads.iter().position(|x| std::ptr::eq(x.meta, w.meta)) else { return Vec::new() };
        self.snap
            .pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| self.workloads_of(p).contains(&i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_is_named_as_in_config_files() {
        for c in Check::ALL {
            let serde_name = serde_json::to_value(c).unwrap();
            assert_eq!(serde_name.as_str(), Some(c.as_str()), "{c:?}");
            let back: Check = serde_json::from_value(serde_name).unwrap();
            assert_eq!(back, c);
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
