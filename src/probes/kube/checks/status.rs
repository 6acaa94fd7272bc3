//! Live state: pods ready, restarts, rollout, GPU nodes, rollback history.

use k8s_openapi::api::core::v1::Pod;

use super::util::{ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, GPU_RESOURCE, KubeCheck, REVISION_ANNOTATION};
use crate::probe::ProbeError;
use crate::probes::kube::source::{ResourceKind, Workload, WorkloadKind, selector_text};

/// Live: every pod of the workload is running and ready.
#[derive(Debug)]
pub(crate) struct PodsReady;

impl KubeCheck for PodsReady {
    fn name(&self) -> &'static str {
        "pods-ready"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Pods]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(pods_ready(ev))
    }
}

fn pods_ready(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut tally = PodTally::new(Check::PodsReady, ev);
    tally.add(ev, &ev.snap.pods);
    tally.finish(ev)
}

/// How many findings a [`PodTally`] keeps; past it, it only counts (bounded memory on a
/// broken cluster of 100,000 pods).
const MAX_KEPT_FINDINGS: usize = 1000;

/// `pods-ready` and `restart-loops` over pods seen page by page: per selected workload the
/// number of its pods and its findings, so a live LIST is evaluated one page at a time and
/// no page is kept. The same code runs over a whole snapshot (one page).
#[derive(Debug)]
pub(crate) struct PodTally {
    check: Check,
    pods: Vec<usize>,
    findings: Vec<Vec<Finding>>,
    kept: usize,
    omitted: usize,
    containers: usize,
}

impl PodTally {
    /// A tally of `check` (`pods-ready` or `restart-loops`) over the workloads of `ev`.
    pub(crate) fn new(check: Check, ev: &Evaluator<'_>) -> Self {
        let n = ev.workloads.len();
        PodTally { check, pods: vec![0; n], findings: vec![Vec::new(); n], kept: 0, omitted: 0, containers: 0 }
    }

    fn push(&mut self, w: usize, f: Finding) {
        if self.kept < MAX_KEPT_FINDINGS {
            self.findings[w].push(f);
            self.kept += 1;
        } else {
            self.omitted += 1;
        }
    }

    /// Counts one page of pods.
    pub(crate) fn add(&mut self, ev: &Evaluator<'_>, page: &[Pod]) {
        for p in page.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            for w in ev.workloads_of(p) {
                let workload = &ev.workloads[w];
                match self.check {
                    Check::PodsReady => {
                        // Jobs and CronJobs run to completion: their pods are not meant to stay ready.
                        if workload.kind.runs_to_completion() {
                            continue;
                        }
                        self.pods[w] += 1;
                        if let Some(reason) = pod_not_ready_reason(p) {
                            self.push(w, Finding::error(pod_object(p), format!("is not ready: {reason}")));
                        }
                    }
                    _ => {
                        self.pods[w] += 1;
                        self.restarts(ev, w, p);
                    }
                }
            }
        }
    }

    fn restarts(&mut self, ev: &Evaluator<'_>, w: usize, p: &Pod) {
        let status = p.status.as_ref();
        let statuses = status
            .into_iter()
            .flat_map(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()));
        for cs in statuses {
            self.containers += 1;
            let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref());
            if waiting == Some("CrashLoopBackOff") || cs.restart_count > ev.cfg.max_restarts {
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
                let f = Finding::error(
                    pod_object(p),
                    format!("restarted {} times (limit {}){state}{last}", cs.restart_count, ev.cfg.max_restarts),
                )
                .container(&cs.name);
                self.push(w, f);
            }
        }
    }

    /// The outcome, findings in workload order.
    pub(crate) fn finish(self, ev: &Evaluator<'_>) -> CheckOutcome {
        let mut out = Vec::new();
        for (i, findings) in self.findings.into_iter().enumerate() {
            let w = &ev.workloads[i];
            if self.check == Check::PodsReady && !w.kind.runs_to_completion() && self.pods[i] == 0 {
                out.push(Finding::error(
                    w.object(),
                    format!(
                        "no pods match its selector {}",
                        w.selector.map(selector_text).unwrap_or_else(|| "<none>".into())
                    ),
                ));
            }
            out.extend(findings);
        }
        if self.omitted > 0 {
            out.push(Finding::error("cluster", format!("{} more findings not kept", self.omitted)));
        }
        let total: usize = self.pods.iter().sum();
        let checked = match self.check {
            Check::PodsReady => {
                format!("{total} {} of {} running and ready", plural(total, "pod", "pods"), ev.workloads_text())
            }
            _ => format!(
                "{} {} of {} restarted at most {} times",
                self.containers,
                plural(self.containers, "container", "containers"),
                ev.workloads_text(),
                ev.cfg.max_restarts
            ),
        };
        CheckOutcome::new(self.check.as_str(), out, checked)
    }
}

/// Live: no container restarts in a loop.
#[derive(Debug)]
pub(crate) struct RestartLoops;

impl KubeCheck for RestartLoops {
    fn name(&self) -> &'static str {
        "restart-loops"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Pods]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(restart_loops(ev))
    }
}

fn restart_loops(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut tally = PodTally::new(Check::RestartLoops, ev);
    tally.add(ev, &ev.snap.pods);
    tally.finish(ev)
}

/// Live: the rollout is complete.
#[derive(Debug)]
pub(crate) struct RolloutComplete;

impl KubeCheck for RolloutComplete {
    fn name(&self) -> &'static str {
        "rollout-complete"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        rollout_complete(ev)
    }
}

fn rollout_complete(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let rolled: Vec<&Workload<'_>> = ev
        .workloads
        .iter()
        .filter(|w| matches!(w.kind, WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::DaemonSet))
        .collect();
    if rolled.is_empty() {
        return Err(ProbeError::not_applicable(format!(
            "rollout-complete applies to Deployments, StatefulSets and DaemonSets, not {}",
            ev.workloads_text()
        )));
    }
    for w in rolled {
        let problems = match w.kind {
            WorkloadKind::Deployment => ev
                .snap
                .deployments
                .iter()
                .find(|d| std::ptr::eq(&d.metadata, w.meta))
                .map(deployment_rollout_problems)
                .unwrap_or_default(),
            WorkloadKind::StatefulSet => ev
                .snap
                .stateful_sets
                .iter()
                .find(|d| std::ptr::eq(&d.metadata, w.meta))
                .map(statefulset_rollout_problems)
                .unwrap_or_default(),
            WorkloadKind::DaemonSet => ev
                .snap
                .daemon_sets
                .iter()
                .find(|d| std::ptr::eq(&d.metadata, w.meta))
                .map(daemonset_rollout_problems)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for (field, msg) in problems {
            out.push(Finding::error(w.object(), msg).field(field));
        }
    }
    Ok(CheckOutcome::new(Check::RolloutComplete.as_str(), out, format!("rollout of {} complete", ev.workloads_text())))
}

/// Live: enough Ready nodes with allocatable `nvidia.com/gpu`.
#[derive(Debug)]
pub(crate) struct GpuNodes;

impl KubeCheck for GpuNodes {
    fn name(&self) -> &'static str {
        "gpu-nodes"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn uses_workloads(&self) -> bool {
        false
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Nodes]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        gpu_nodes(ev)
    }
}

fn gpu_nodes(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    if ev.cfg.gpu_nodes_min.is_none() && ev.cfg.gpus_min.is_none() {
        return Err(ProbeError::not_configured("kube.config.gpu_nodes_min"));
    }
    let mut out = Vec::new();
    let mut ready_nodes = Vec::new();
    let mut gpus = 0u64;
    for n in &ev.snap.nodes {
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
    if let Some(min) = ev.cfg.gpu_nodes_min
        && n < u64::from(min)
    {
        out.push(Finding::error("cluster", format!("has {n} Ready GPU nodes, want at least {min}")));
    }
    if let Some(min) = ev.cfg.gpus_min
        && gpus < u64::from(min)
    {
        out.push(Finding::error(
            "cluster",
            format!("has {gpus} allocatable {GPU_RESOURCE} on Ready nodes, want at least {min}"),
        ));
    }
    Ok(CheckOutcome::new(
        Check::GpuNodes.as_str(),
        out,
        format!(
            "{n} Ready GPU {} with {gpus} allocatable {GPU_RESOURCE}: {}",
            plural(n as usize, "node", "nodes"),
            ready_nodes.join(", ")
        ),
    ))
}

/// Live: a Deployment can be rolled back (history kept, a previous ReplicaSet exists).
#[derive(Debug)]
pub(crate) struct RollbackPossible;

impl KubeCheck for RollbackPossible {
    fn name(&self) -> &'static str {
        "rollback-possible"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ReplicaSets]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        rollback_possible(ev)
    }
}

fn rollback_possible(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let mut ok = Vec::new();
    let deployments: Vec<&Workload<'_>> = ev.workloads.iter().filter(|w| w.kind == WorkloadKind::Deployment).collect();
    if deployments.is_empty() {
        return Err(ProbeError::not_applicable(format!(
            "rollback-possible applies to Deployments, not {}",
            ev.workloads_text()
        )));
    }
    for w in deployments {
        let d = ev.snap.deployments.iter().find(|d| std::ptr::eq(&d.metadata, w.meta)).expect("workload of snapshot");
        let limit = d.spec.revision_history_limit.unwrap_or(10);
        if limit <= 0 {
            out.push(
                Finding::error(w.object(), "is 0: no old ReplicaSet is kept to roll back to")
                    .field("spec.revisionHistoryLimit"),
            );
            continue;
        }
        let current = revision(&d.metadata);
        let previous = owned_replica_sets(&ev.snap.replica_sets, d)
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
    Ok(CheckOutcome::new(Check::RollbackPossible.as_str(), out, format!("rollback possible: {}", ok.join(", "))))
}

/// The revision annotation of an object.
pub(crate) fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<i64> {
    meta.annotations.as_ref()?.get(REVISION_ANNOTATION)?.trim().parse().ok()
}

/// ReplicaSets owned by `d` (by owner reference uid, or by name when the uid is unknown).
pub(crate) fn owned_replica_sets<'r>(
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
pub(crate) fn pod_not_ready_reason(p: &Pod) -> Option<String> {
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
