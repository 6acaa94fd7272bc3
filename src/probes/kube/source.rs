//! Where the objects come from: a [`Snapshot`] of typed Kubernetes objects, filled from
//! manifests on disk or from LIST calls on a live cluster, and the [`Workload`] view over the
//! pod template of Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and bare Pods.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, PodSpec, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// Where a [`Snapshot`] was read from: live checks only make sense on a cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Origin {
    /// Manifests on disk (pre-deploy).
    #[default]
    Manifests,
    /// LIST calls on a live cluster (post-deploy).
    Live,
}

/// The resource kinds a snapshot holds; checks declare which ones they need so a live probe
/// lists only those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ResourceKind {
    /// apps/v1 Deployment.
    Deployments,
    /// apps/v1 StatefulSet.
    StatefulSets,
    /// apps/v1 DaemonSet.
    DaemonSets,
    /// apps/v1 ReplicaSet.
    ReplicaSets,
    /// v1 Pod.
    Pods,
    /// v1 Service.
    Services,
    /// autoscaling/v2 HorizontalPodAutoscaler.
    Hpas,
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicies,
    /// v1 Namespace.
    Namespaces,
    /// v1 Secret (metadata and type only).
    Secrets,
    /// v1 ConfigMap.
    ConfigMaps,
    /// v1 ServiceAccount.
    ServiceAccounts,
    /// v1 Node (cluster-scoped).
    Nodes,
    /// batch/v1 Job.
    Jobs,
    /// batch/v1 CronJob.
    CronJobs,
    /// policy/v1 PodDisruptionBudget.
    Pdbs,
    /// monitoring.coreos.com/v1 PrometheusRule.
    PrometheusRules,
    /// monitoring.coreos.com/v1 ServiceMonitor.
    ServiceMonitors,
    /// monitoring.coreos.com/v1 PodMonitor.
    PodMonitors,
}

impl ResourceKind {
    /// The plural resource name as the API and RBAC name it (`deployments.apps`).
    pub fn resource(self) -> &'static str {
        match self {
            ResourceKind::Deployments => "deployments.apps",
            ResourceKind::StatefulSets => "statefulsets.apps",
            ResourceKind::DaemonSets => "daemonsets.apps",
            ResourceKind::ReplicaSets => "replicasets.apps",
            ResourceKind::Pods => "pods",
            ResourceKind::Services => "services",
            ResourceKind::Hpas => "horizontalpodautoscalers.autoscaling",
            ResourceKind::NetworkPolicies => "networkpolicies.networking.k8s.io",
            ResourceKind::Namespaces => "namespaces",
            ResourceKind::Secrets => "secrets",
            ResourceKind::ConfigMaps => "configmaps",
            ResourceKind::ServiceAccounts => "serviceaccounts",
            ResourceKind::Nodes => "nodes",
            ResourceKind::Jobs => "jobs.batch",
            ResourceKind::CronJobs => "cronjobs.batch",
            ResourceKind::Pdbs => "poddisruptionbudgets.policy",
            ResourceKind::PrometheusRules => "prometheusrules.monitoring.coreos.com",
            ResourceKind::ServiceMonitors => "servicemonitors.monitoring.coreos.com",
            ResourceKind::PodMonitors => "podmonitors.monitoring.coreos.com",
        }
    }

    /// The workload kinds a live probe lists when the selector names no kind (bare Pods are
    /// workloads on a live cluster only when the selector's kind is `Pod`: listing every pod
    /// for every check would cost what the checks do not need).
    pub const WORKLOADS: [ResourceKind; 5] = [
        ResourceKind::Deployments,
        ResourceKind::StatefulSets,
        ResourceKind::DaemonSets,
        ResourceKind::Jobs,
        ResourceKind::CronJobs,
    ];
}

/// Typed Kubernetes objects, the input of every check.
///
/// Secrets hold metadata and `type` only: their data is dropped as soon as they are read.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Snapshot {
    /// Where the objects were read from.
    pub origin: Origin,
    /// The kinds that were read (a live snapshot lists only what its checks need; a manifest
    /// snapshot holds whatever the files contain).
    pub loaded: Vec<ResourceKind>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// StatefulSets.
    pub stateful_sets: Vec<StatefulSet>,
    /// DaemonSets.
    pub daemon_sets: Vec<DaemonSet>,
    /// ReplicaSets.
    pub replica_sets: Vec<ReplicaSet>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Services.
    pub services: Vec<Service>,
    /// HorizontalPodAutoscalers (autoscaling/v2).
    pub hpas: Vec<HorizontalPodAutoscaler>,
    /// NetworkPolicies.
    pub network_policies: Vec<NetworkPolicy>,
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
    /// Secrets, metadata and type only.
    pub secrets: Vec<Secret>,
    /// ConfigMaps.
    pub config_maps: Vec<ConfigMap>,
    /// ServiceAccounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// CronJobs.
    pub cron_jobs: Vec<CronJob>,
    /// PodDisruptionBudgets.
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Custom resources the checks read (`monitoring.coreos.com/v1` PrometheusRule,
    /// ServiceMonitor, PodMonitor), as JSON.
    pub custom: Vec<serde_json::Value>,
    /// Notes about what was read (ignored kinds, ...), for evidence.
    pub notes: Vec<String>,
    /// Where each manifest object was read from, by [`object_key`] (empty for live snapshots).
    pub sources: HashMap<String, Source>,
}

/// Where a manifest object was read from: its file and the position of each field.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The field positions of the document holding the object.
    pub index: Arc<super::position::YamlIndex>,
    /// The JSON pointer of the object inside its document (`""`, or `/items/3` in a List).
    pub prefix: String,
}

/// A file position, `path:line:column` (both from 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl Location {
    /// A location.
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location { path: path.into(), line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// The key objects are known by in findings and [`Snapshot::sources`]:
/// `Deployment nexus/nexus-api`, `Namespace nexus`, `Node gpu-1`.
pub fn object_key(kind: &str, meta: &ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or("");
    match kind {
        "Namespace" | "Node" => format!("{kind} {name}"),
        _ => format!("{kind} {}/{name}", meta.namespace.as_deref().unwrap_or("default")),
    }
}

/// Whether an object is managed by a controller (a pod of a ReplicaSet, a Job of a CronJob):
/// such objects are checked through their controller, not as workloads of their own.
fn controlled(meta: &ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.controller == Some(true))
}

impl Snapshot {
    /// An empty snapshot of `origin`.
    pub fn new(origin: Origin) -> Self {
        Snapshot { origin, ..Snapshot::default() }
    }

    /// Whether objects of `kind` were read (a manifest snapshot counts every kind as read:
    /// what is not in the files is absent).
    pub fn has(&self, kind: ResourceKind) -> bool {
        self.origin == Origin::Manifests || self.loaded.contains(&kind)
    }

    /// Adds a Secret, dropping its data.
    pub fn push_secret(&mut self, mut secret: Secret) {
        secret.data = None;
        secret.string_data = None;
        self.secrets.push(secret);
    }

    /// Every Deployment, StatefulSet, DaemonSet, Job and CronJob, and every Pod, as a
    /// [`Workload`]. Pods and Jobs managed by a controller are left out: they are checked
    /// through their controller.
    pub fn workloads(&self) -> impl Iterator<Item = Workload<'_>> {
        let d = self.deployments.iter().map(|o| {
            let spec = &o.spec;
            Workload {
                kind: WorkloadKind::Deployment,
                meta: &o.metadata,
                pod_meta: spec.template.metadata.as_ref(),
                pod_spec: spec.template.spec.as_ref(),
                selector: Some(&spec.selector),
                replicas: spec.replicas,
            }
        });
        let s = self.stateful_sets.iter().map(|o| {
            let spec = &o.spec;
            Workload {
                kind: WorkloadKind::StatefulSet,
                meta: &o.metadata,
                pod_meta: spec.template.metadata.as_ref(),
                pod_spec: spec.template.spec.as_ref(),
                selector: Some(&spec.selector),
                replicas: spec.replicas,
            }
        });
        let ds = self.daemon_sets.iter().map(|o| {
            let spec = &o.spec;
            Workload {
                kind: WorkloadKind::DaemonSet,
                meta: &o.metadata,
                pod_meta: spec.template.metadata.as_ref(),
                pod_spec: spec.template.spec.as_ref(),
                selector: Some(&spec.selector),
                replicas: None,
            }
        });
        let jobs = self.jobs.iter().filter(|o| !controlled(&o.metadata)).map(|o| {
            let spec = o.spec.as_ref();
            Workload {
                kind: WorkloadKind::Job,
                meta: &o.metadata,
                pod_meta: spec.and_then(|s| s.template.metadata.as_ref()),
                pod_spec: spec.and_then(|s| s.template.spec.as_ref()),
                selector: spec.and_then(|s| s.selector.as_ref()),
                replicas: None,
            }
        });
        let cron = self.cron_jobs.iter().map(|o| {
            let template = o.spec.job_template.spec.as_ref().map(|j| &j.template);
            Workload {
                kind: WorkloadKind::CronJob,
                meta: &o.metadata,
                pod_meta: template.and_then(|t| t.metadata.as_ref()),
                pod_spec: template.and_then(|t| t.spec.as_ref()),
                selector: None,
                replicas: None,
            }
        });
        let pods = self.pods.iter().filter(|o| !controlled(&o.metadata)).map(|o| Workload {
            kind: WorkloadKind::Pod,
            meta: &o.metadata,
            pod_meta: Some(&o.metadata),
            pod_spec: o.spec.as_ref(),
            selector: None,
            replicas: None,
        });
        d.chain(s).chain(ds).chain(jobs).chain(cron).chain(pods)
    }

    /// The namespace object called `name`, if read.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.metadata.name.as_deref() == Some(name))
    }
}

/// The kind of a [`Workload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// v1 Pod (not managed by a controller).
    Pod,
}

impl WorkloadKind {
    /// The kind name (`Deployment`).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::Pod => "Pod",
        }
    }

    /// The JSON pointer of the pod spec inside an object of this kind.
    pub fn pod_spec_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/spec",
            WorkloadKind::CronJob => "/spec/jobTemplate/spec/template/spec",
            _ => "/spec/template/spec",
        }
    }

    /// Whether the pods run to completion (Jobs, CronJobs): no liveness/readiness, no
    /// replicas, no autoscaling.
    pub fn runs_to_completion(self) -> bool {
        matches!(self, WorkloadKind::Job | WorkloadKind::CronJob)
    }

    /// The resource kind holding workloads of this kind.
    pub fn resource(self) -> ResourceKind {
        match self {
            WorkloadKind::Deployment => ResourceKind::Deployments,
            WorkloadKind::StatefulSet => ResourceKind::StatefulSets,
            WorkloadKind::DaemonSet => ResourceKind::DaemonSets,
            WorkloadKind::Job => ResourceKind::Jobs,
            WorkloadKind::CronJob => ResourceKind::CronJobs,
            WorkloadKind::Pod => ResourceKind::Pods,
        }
    }

    /// The lowercase noun for summaries, singular or plural (`deployment`, `daemonsets`).
    pub fn noun(self, n: usize) -> String {
        let s = self.as_str().to_ascii_lowercase();
        if n == 1 { s } else { format!("{s}s") }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Deployment, StatefulSet, DaemonSet, Job, CronJob or bare Pod seen through its pod
/// template: the checks on containers work on any of them.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Workload<'a> {
    /// The kind.
    pub kind: WorkloadKind,
    /// The workload's metadata.
    pub meta: &'a ObjectMeta,
    /// The pod template's metadata (labels).
    pub pod_meta: Option<&'a ObjectMeta>,
    /// The pod template's spec.
    pub pod_spec: Option<&'a PodSpec>,
    /// The pod selector (None for bare Pods and CronJobs, and Jobs whose selector the API
    /// server has not generated yet).
    pub selector: Option<&'a LabelSelector>,
    /// `spec.replicas` as written (None for DaemonSets and when unset).
    pub replicas: Option<i32>,
}

impl<'a> Workload<'a> {
    /// The name.
    pub fn name(&self) -> &'a str {
        self.meta.name.as_deref().unwrap_or("")
    }

    /// The namespace (manifest loading fills the default namespace in).
    pub fn namespace(&self) -> &'a str {
        self.meta.namespace.as_deref().unwrap_or("default")
    }

    /// `Deployment nexus/nexus-api`.
    pub fn object(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace(), self.name())
    }

    /// Whether the pod template's labels select `selector` matches (a Service, a
    /// NetworkPolicy, a PodDisruptionBudget).
    pub fn pods_match(&self, selector: &LabelSelector) -> bool {
        selector_matches(selector, self.pod_labels())
    }

    /// The pod template's labels.
    pub fn pod_labels(&self) -> Option<&'a BTreeMap<String, String>> {
        self.pod_meta.and_then(|m| m.labels.as_ref())
    }

    /// Containers then init containers, each with whether it is an init container.
    pub fn containers(&self) -> impl Iterator<Item = (&'a k8s_openapi::api::core::v1::Container, bool)> {
        let spec = self.pod_spec;
        let main = spec.into_iter().flat_map(|s| s.containers.iter().map(|c| (c, false)));
        let init = spec.into_iter().flat_map(|s| s.init_containers.iter().flatten().map(|c| (c, true)));
        main.chain(init)
    }
}

/// Whether `selector` selects an object with `labels` (matchLabels and matchExpressions with
/// In, NotIn, Exists, DoesNotExist). An empty selector selects everything.
pub fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    if let Some(ml) = &selector.match_labels
        && !ml.iter().all(|(k, v)| get(k) == Some(v))
    {
        return false;
    }
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or(&[]);
        let have = get(&e.key);
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => !have.is_some_and(|v| values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `app=nexus,tier=api` for a selector's matchLabels (and expressions, briefly), for messages.
pub fn selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or(&[]).join(",");
        parts.push(match e.operator.as_str() {
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            op => format!("{} {} ({values})", e.key, op.to_ascii_lowercase()),
        });
    }
    if parts.is_empty() { "<all>".into() } else { parts.join(",") }
}
