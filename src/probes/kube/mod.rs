//! Kubernetes probes: the deployment items of the checklist as checks over typed Kubernetes
//! objects, run on manifests before a deploy (like kube-score or Polaris) and on a live
//! cluster after it.
//!
//! - [`source`]: the [`Snapshot`] of objects and the [`Workload`] view over the pod template
//!   of Deployments, StatefulSets and DaemonSets;
//! - [`checks`]: pure checks returning [`Finding`]s that name object, container and field;
//! - [`manifest`]: multi-document YAML files and directories into a snapshot;
//! - [`live`]: one paginated LIST per kind and namespace into a snapshot;
//! - [`mod@rollback`]: `kubectl rollout undo` as a function, dry-run by default;
//! - [`KubeProbe`] / [`KubeSpec`]: a check over a workload selector as a [`Probe`].
//!
//! k8s-openapi needs a Kubernetes version feature picked by the application: add
//! `k8s-openapi = { version = "0.29", features = ["latest"] }` (or your cluster's version).
//!
//! ```no_run
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::kube::{Check, KubeProbe, WorkloadSelector};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let probe = KubeProbe::manifests(
//!     vec!["deploy/k8s".into()],
//!     WorkloadSelector::deployment("nexus", "nexus-api"),
//!     Check::ResourceLimits,
//! );
//! let obs = probe.check(&ProbeContext::new()).await?;
//! println!("{}: {}", obs.verdict, obs.summary);
//! # Ok(()) }
//! ```

pub mod checks;
pub mod live;
pub mod manifest;
pub mod position;
pub mod rollback;
pub mod source;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

pub use checks::{
    Check, CheckConfig, CheckOutcome, Evaluator, Finding, FindingSeverity, KubeCheck, WorkloadSelector, evaluate,
};
pub use manifest::ManifestError;
pub use rollback::{RollbackPlan, RollbackTrigger, rollback};
pub use source::{Location, Origin, ResourceKind, Snapshot, Source, Workload, WorkloadKind, object_key};

use crate::probe::{BuildContext, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// Where a [`KubeProbe`] reads objects from.
#[derive(Clone)]
#[non_exhaustive]
pub enum KubeSource {
    /// Manifest files or directories.
    Manifests(Vec<PathBuf>),
    /// A live cluster through a kubeconfig (or the default configuration).
    Cluster {
        /// The kubeconfig file; the default configuration when unset.
        kubeconfig: Option<PathBuf>,
        /// The kubeconfig context; the current one when unset.
        context: Option<String>,
    },
    /// A live cluster through a ready client.
    Client(kube::Client),
}

impl std::fmt::Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KubeSource::Manifests(p) => f.debug_tuple("Manifests").field(p).finish(),
            KubeSource::Cluster { kubeconfig, context } => {
                f.debug_struct("Cluster").field("kubeconfig", kubeconfig).field("context", context).finish()
            }
            KubeSource::Client(_) => f.write_str("Client(..)"),
        }
    }
}

/// One [`Check`] over the workloads a [`WorkloadSelector`] picks, as a [`Probe`].
///
/// A live probe lists only the kinds its check needs (one paginated LIST each); a manifest
/// probe reads the files on every check.
#[derive(Clone)]
pub struct KubeProbe {
    source: KubeSource,
    selector: WorkloadSelector,
    check: Check,
    config: CheckConfig,
    page_size: u32,
    request_timeout: Option<Duration>,
    client: Arc<tokio::sync::OnceCell<kube::Client>>,
}

impl std::fmt::Debug for KubeProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeProbe")
            .field("source", &self.source)
            .field("selector", &self.selector)
            .field("check", &self.check)
            .field("config", &self.config)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl KubeProbe {
    /// A probe of `check` over `selector`, reading `source`.
    pub fn new(source: KubeSource, selector: WorkloadSelector, check: Check) -> Self {
        KubeProbe {
            source,
            selector,
            check,
            config: CheckConfig::default(),
            page_size: live::DEFAULT_PAGE_SIZE,
            request_timeout: Some(Duration::from_secs(30)),
            client: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// A probe on manifests (files or directories).
    pub fn manifests(paths: Vec<PathBuf>, selector: WorkloadSelector, check: Check) -> Self {
        Self::new(KubeSource::Manifests(paths), selector, check)
    }

    /// A probe on a live cluster through `client`.
    pub fn live(client: kube::Client, selector: WorkloadSelector, check: Check) -> Self {
        Self::new(KubeSource::Client(client), selector, check)
    }

    /// Sets the check tunables.
    pub fn with_config(mut self, config: CheckConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the LIST page size (default 500).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// The kinds a live probe lists.
    pub fn kinds(&self) -> Vec<ResourceKind> {
        let mut kinds: Vec<ResourceKind> = Vec::new();
        if self.check.uses_workloads() {
            match self.selector.kind {
                Some(k) => kinds.push(k.resource()),
                None => kinds.extend(ResourceKind::WORKLOADS),
            }
        }
        kinds.extend(self.check.needs());
        kinds
    }

    /// The live client, or None for a manifest probe.
    async fn live_client(&self) -> Result<Option<kube::Client>, ProbeError> {
        Ok(match &self.source {
            KubeSource::Manifests(_) => None,
            KubeSource::Client(c) => Some(c.clone()),
            KubeSource::Cluster { kubeconfig, context } => Some(
                self.client
                    .get_or_try_init(|| live::client(kubeconfig.as_deref(), context.as_deref(), self.request_timeout))
                    .await?
                    .clone(),
            ),
        })
    }

    async fn snapshot(&self, cx: &ProbeContext) -> Result<Snapshot, ProbeError> {
        if let KubeSource::Manifests(paths) = &self.source {
            let paths = paths.clone();
            let ns = self.selector.ns().to_string();
            return tokio::task::spawn_blocking(move || manifest::load(&paths, &ns))
                .await
                .map_err(|e| ProbeError::other("manifest loading panicked").with_source(&e))?
                .map_err(ProbeError::from);
        }
        let client = self.live_client().await?.ok_or_else(|| ProbeError::other("no Kubernetes client"))?;
        live::fetch(cx, &client, self.selector.ns(), &self.kinds(), self.page_size).await
    }

    /// `pods-ready` and `restart-loops` on a live cluster: the workloads are listed, then the
    /// pods page by page, each page counted and dropped (memory holds one page and the
    /// findings kept, not every pod).
    async fn check_pods_paged(&self, cx: &ProbeContext, client: kube::Client) -> Result<Observation, ProbeError> {
        let ns = self.selector.ns();
        let kinds: Vec<ResourceKind> = self.kinds().into_iter().filter(|k| *k != ResourceKind::Pods).collect();
        let mut snap = live::fetch(cx, &client, ns, &kinds, self.page_size).await?;
        snap.loaded.push(ResourceKind::Pods);
        let ev = Evaluator::new(&snap, &self.selector, &self.config)?;
        ev.precheck(self.check.imp())?;
        let mut tally = checks::status::PodTally::new(self.check, &ev);
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, ns);
        let params = kube::api::ListParams::default().limit(self.page_size);
        live::for_each_page(cx, &api, &params, ResourceKind::Pods.resource(), Some(ns), |page| tally.add(&ev, &page))
            .await?;
        Ok(tally.finish(&ev).to_observation())
    }
}

#[async_trait]
impl Probe for KubeProbe {
    fn target(&self) -> String {
        let source = match &self.source {
            KubeSource::Manifests(p) => {
                format!("manifests:{}", p.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(","))
            }
            KubeSource::Cluster { context: Some(c), .. } => format!("kube:{c}"),
            KubeSource::Cluster { .. } | KubeSource::Client(_) => "kube:".into(),
        };
        format!("{source}/{}#{}", self.selector.describe(), self.check)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        if self.check.live_only() && matches!(self.source, KubeSource::Manifests(_)) {
            return Err(ProbeError::not_applicable(format!("{} needs a live cluster, not manifests", self.check)));
        }
        let paged = matches!(self.check, Check::PodsReady | Check::RestartLoops)
            && self.selector.kind != Some(WorkloadKind::Pod);
        if paged && let Some(client) = self.live_client().await? {
            return self.check_pods_paged(cx, client).await;
        }
        let snap = self.snapshot(cx).await?;
        let outcome = evaluate(&snap, &self.selector, self.check, &self.config)?;
        let mut obs = outcome.to_observation();
        for (i, n) in snap.notes.iter().take(20).enumerate() {
            obs = obs.with_evidence(format!("note.{:02}", i + 1), n.clone());
        }
        Ok(obs)
    }
}

fn default_page_size() -> u32 {
    live::DEFAULT_PAGE_SIZE
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Config-file spec of a Kubernetes check (kind `kube`).
///
/// ```toml
/// [[bind]]
/// item = "deployment.resource-limits-set"
/// probe = { kind = "kube", check = "resource-limits", manifests = ["deploy/k8s"], namespace = "nexus", name = "nexus-api" }
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubeSpec {
    /// The check to run.
    pub check: Check,
    /// Manifest files or directories: when set, the check runs on them instead of a cluster.
    #[serde(default)]
    pub manifests: Vec<PathBuf>,
    /// The kubeconfig file for a live cluster; the default configuration (in-cluster, then
    /// `KUBECONFIG` / `~/.kube/config`) when unset.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; the current one when unset.
    #[serde(default)]
    pub context: Option<String>,
    /// The namespace of the workloads (`default` when empty).
    #[serde(default)]
    pub namespace: String,
    /// The workload name; every workload in the namespace when unset.
    #[serde(default)]
    pub name: Option<String>,
    /// The workload kind (Deployment, StatefulSet, DaemonSet); any when unset.
    #[serde(default)]
    pub kind: Option<WorkloadKind>,
    /// A label selector on the workloads' labels (`app=nexus,tier!=batch`).
    #[serde(default)]
    pub labels: Option<String>,
    /// LIST page size.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeout of each API response (`"30s"`).
    #[serde(default = "default_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub request_timeout: Duration,
    /// Check tunables.
    #[serde(default)]
    pub config: CheckConfig,
}

impl ProbeSpec for KubeSpec {
    const KIND: &'static str = "kube";

    /// Builds the probe; `prometheus-rules` takes the plan checklist's alert rules unless
    /// `config.alert_rules` names its own.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        let selector = WorkloadSelector {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            kind: self.kind,
            labels: self.labels.clone(),
        };
        selector.label_selector()?;
        if self.request_timeout.is_zero() {
            return Err(ProbeError::misconfigured("kube.request_timeout must be above 0s"));
        }
        let source = if self.manifests.is_empty() {
            KubeSource::Cluster { kubeconfig: self.kubeconfig.clone(), context: self.context.clone() }
        } else {
            // A live-only check on manifests is Skipped when it runs ("needs a live cluster"),
            // so one `[targets.kubernetes]` table with `manifests` serves every item.
            KubeSource::Manifests(self.manifests.clone())
        };
        let mut config = self.config.clone();
        if config.alert_rules.is_empty() {
            config.alert_rules = cx.checklist.alert_rules.clone();
        }
        let mut probe = KubeProbe::new(source, selector, self.check).with_config(config);
        probe.page_size = self.page_size.max(1);
        probe.request_timeout = Some(self.request_timeout);
        Ok(Arc::new(probe))
    }
}
