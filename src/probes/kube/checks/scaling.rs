//! Scaling and availability: autoscaling, replicas, disruption budgets, priority, spreading.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::util::{ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{Origin, ResourceKind, Workload, WorkloadKind};

/// An HPA targets the workload with minReplicas ≥ 2 and max > min.
#[derive(Debug)]
pub(crate) struct Autoscaling;

impl KubeCheck for Autoscaling {
    fn name(&self) -> &'static str {
        "autoscaling"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Hpas]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        autoscaling(ev)
    }
}

fn autoscaling(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let mut scaled = Vec::new();
    let targets: Vec<&Workload<'_>> = ev.workloads.iter().filter(|w| scalable(w.kind)).collect();
    if targets.is_empty() {
        return Err(ProbeError::not_applicable(format!("{} do not scale horizontally", ev.workloads_text())));
    }
    for w in targets {
        let Some(hpa) = hpa_for(ev, w) else {
            out.push(Finding::error(w.object(), "no HorizontalPodAutoscaler targets it"));
            continue;
        };
        let object =
            format!("HorizontalPodAutoscaler {}/{}", w.namespace(), hpa.metadata.name.as_deref().unwrap_or(""));
        let spec = &hpa.spec;
        let min = spec.min_replicas.unwrap_or(1);
        let before = out.len();
        if min < ev.cfg.hpa_min_replicas {
            out.push(
                Finding::error(&object, format!("is {min}: want at least {}", ev.cfg.hpa_min_replicas))
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
        if ev.snap.origin == Origin::Manifests
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
        Check::Autoscaling.as_str(),
        out,
        format!("{} scaled by HPAs ({})", ev.workloads_text(), scaled.join(", ")),
    ))
}

/// Deployments and StatefulSets: the kinds with replicas, scaled by HPAs.
fn scalable(kind: WorkloadKind) -> bool {
    matches!(kind, WorkloadKind::Deployment | WorkloadKind::StatefulSet)
}

/// The HPA (autoscaling/v2, or v1 converted) targeting `w`.
fn hpa_for<'a>(ev: &Evaluator<'a>, w: &Workload<'a>) -> Option<&'a HorizontalPodAutoscaler> {
    ev.snap.hpas.iter().find(|h| {
        ns_of(&h.metadata) == w.namespace()
            && h.spec.scale_target_ref.kind == w.kind.as_str()
            && h.spec.scale_target_ref.name == w.name()
    })
}

/// The fewest replicas `w` runs: the HPA's minReplicas when one targets it, else
/// `spec.replicas` (1 when unset).
fn min_replicas<'a>(ev: &Evaluator<'a>, w: &Workload<'a>) -> i32 {
    match hpa_for(ev, w) {
        Some(h) => h.spec.min_replicas.unwrap_or(1),
        None => w.replicas.unwrap_or(1),
    }
}

fn scalable_or_na<'e, 'a>(ev: &'e Evaluator<'a>, what: &str) -> Result<Vec<&'e Workload<'a>>, ProbeError> {
    let ws: Vec<&Workload<'a>> = ev.workloads.iter().filter(|w| scalable(w.kind)).collect();
    if ws.is_empty() {
        return Err(ProbeError::not_applicable(format!(
            "{what} applies to Deployments and StatefulSets, not {}",
            ev.workloads_text()
        )));
    }
    Ok(ws)
}

/// Replicas set for availability: at least `config.min_replicas` (2), written in
/// `spec.replicas` or as the HPA's minReplicas.
///
/// kube-score has no replica count check (it warns when an HPA-scaled Deployment sets
/// replicas, which `autoscaling` does here); Polaris neither. A single replica of an
/// inference service is an outage on every node drain and rollout, so fewer than the minimum is
/// an error, and an unset `spec.replicas` without an HPA (meaning 1) is one too.
#[derive(Debug)]
pub(crate) struct Replicas;

impl KubeCheck for Replicas {
    fn name(&self) -> &'static str {
        "replicas"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Hpas]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let want = ev.cfg.min_replicas;
        for w in scalable_or_na(ev, self.name())? {
            if let Some(h) = hpa_for(ev, w) {
                let min = h.spec.min_replicas.unwrap_or(1);
                if min < want {
                    let object = format!(
                        "HorizontalPodAutoscaler {}/{}",
                        w.namespace(),
                        h.metadata.name.as_deref().unwrap_or("")
                    );
                    out.push(
                        Finding::error(object, format!("is {min}: want at least {want}")).field("spec.minReplicas"),
                    );
                }
                continue;
            }
            match w.replicas {
                None => out.push(
                    Finding::error(
                        w.object(),
                        format!("is not set (defaults to 1) and no HPA scales it: want at least {want}"),
                    )
                    .field("spec.replicas"),
                ),
                Some(r) if r < want => {
                    out.push(Finding::error(w.object(), format!("is {r}: want at least {want}")).field("spec.replicas"))
                }
                Some(_) => {}
            }
        }
        Ok(CheckOutcome::new(self.name(), out, format!("{} run at least {want} replicas", ev.workloads_text())))
    }
}

/// A PodDisruptionBudget covers every multi-replica Deployment and StatefulSet, and allows a
/// disruption.
///
/// As kube-score's `deployment-has-poddisruptionbudget` / `statefulset-has-poddisruptionbudget`
/// (a PDB whose selector matches the pod labels) and `poddisruptionbudget-has-policy`. In
/// addition, a PDB that can never allow an eviction (`maxUnavailable: 0`, or `minAvailable`
/// at or above the replica count) is an error: it blocks node drains forever. A single
/// replica needs no PDB (not applicable), where kube-score asks for one regardless.
#[derive(Debug)]
pub(crate) struct DisruptionBudget;

impl KubeCheck for DisruptionBudget {
    fn name(&self) -> &'static str {
        "pod-disruption-budget"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Pdbs, ResourceKind::Hpas]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut covered = Vec::new();
        let multi: Vec<&Workload<'_>> =
            scalable_or_na(ev, self.name())?.into_iter().filter(|w| min_replicas(ev, w) > 1).collect();
        if multi.is_empty() {
            return Err(ProbeError::not_applicable(format!(
                "{} {} a single replica: a PodDisruptionBudget does not apply",
                ev.workloads_text(),
                if ev.workloads.len() == 1 { "runs" } else { "run" }
            )));
        }
        for w in multi {
            let replicas = min_replicas(ev, w);
            let pdb = ev.snap.pdbs.iter().find(|p| {
                ns_of(&p.metadata) == w.namespace()
                    && p.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some_and(|sel| w.pods_match(sel))
            });
            let Some(pdb) = pdb else {
                out.push(Finding::error(
                    w.object(),
                    format!("no PodDisruptionBudget in namespace {} selects its pods", w.namespace()),
                ));
                continue;
            };
            let object =
                format!("PodDisruptionBudget {}/{}", w.namespace(), pdb.metadata.name.as_deref().unwrap_or(""));
            let spec = pdb.spec.as_ref();
            let int = |v: &IntOrString| match v {
                IntOrString::Int(i) => Some(*i),
                IntOrString::String(s) => s
                    .trim_end_matches('%')
                    .parse::<i32>()
                    .ok()
                    .map(|p| if s.ends_with('%') { (p * replicas + 99) / 100 } else { p }),
            };
            match (spec.and_then(|s| s.min_available.as_ref()), spec.and_then(|s| s.max_unavailable.as_ref())) {
                (None, None) => {
                    out.push(Finding::error(&object, "sets neither minAvailable nor maxUnavailable").field("spec"))
                }
                (_, Some(m)) if int(m) == Some(0) => out.push(
                    Finding::error(&object, "is 0: no pod may ever be evicted, node drains block")
                        .field("spec.maxUnavailable"),
                ),
                (Some(m), _) if int(m).is_some_and(|n| n >= replicas) => out.push(
                    Finding::error(
                        &object,
                        format!("is {} with {replicas} replicas: no pod may ever be evicted", int(m).unwrap_or(0)),
                    )
                    .field("spec.minAvailable"),
                ),
                _ => covered.push(format!("{}={}", w.name(), pdb.metadata.name.as_deref().unwrap_or(""))),
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("multi-replica workloads have PodDisruptionBudgets that allow evictions ({})", covered.join(", ")),
        ))
    }
}

/// A priority class on every long-running workload.
///
/// Polaris' `priorityClassNotSet` (off by default there); kube-score has none. Unset is a
/// warning, not an error: the cluster may set a global default class. With
/// `config.priority_classes` set, a class outside that list is an error.
#[derive(Debug)]
pub(crate) struct PriorityClass;

impl KubeCheck for PriorityClass {
    fn name(&self) -> &'static str {
        "priority-class"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for w in &ev.workloads {
            match w.pod_spec.and_then(|s| s.priority_class_name.as_deref()).filter(|n| !n.is_empty()) {
                None => out.push(
                    Finding::warn(w.object(), "is not set: the pods get the cluster default priority")
                        .field("priorityClassName"),
                ),
                Some(n) if !ev.cfg.priority_classes.is_empty() && !ev.cfg.priority_classes.iter().any(|p| p == n) => {
                    out.push(
                        Finding::error(
                            w.object(),
                            format!("is {n:?}, not one of {}", ev.cfg.priority_classes.join(", ")),
                        )
                        .field("priorityClassName"),
                    )
                }
                Some(n) => {
                    seen.insert(n.to_string());
                }
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!(
                "{} set a priority class ({})",
                ev.workloads_text(),
                seen.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

/// Multi-replica Deployments and StatefulSets spread their pods over nodes: a pod
/// anti-affinity on `kubernetes.io/hostname` (or zone) that selects the workload's own pods,
/// or a topology spread constraint that does.
///
/// kube-score's `deployment-has-host-podantiaffinity` accepts only anti-affinity; we accept
/// topology spread constraints too (the newer way to say the same). Like kube-score, an
/// anti-affinity whose label selector does not match the pods' own labels does not count.
#[derive(Debug)]
pub(crate) struct Spread;

impl KubeCheck for Spread {
    fn name(&self) -> &'static str {
        "anti-affinity"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Hpas]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let multi: Vec<&Workload<'_>> =
            scalable_or_na(ev, self.name())?.into_iter().filter(|w| min_replicas(ev, w) > 1).collect();
        if multi.is_empty() {
            return Err(ProbeError::not_applicable(format!(
                "{} {} a single replica: spreading does not apply",
                ev.workloads_text(),
                if ev.workloads.len() == 1 { "runs" } else { "run" }
            )));
        }
        const KEYS: [&str; 3] =
            ["kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region"];
        for w in multi {
            let spec = w.pod_spec;
            let anti = spec.and_then(|s| s.affinity.as_ref()).and_then(|a| a.pod_anti_affinity.as_ref());
            let terms = anti
                .into_iter()
                .flat_map(|a| a.required_during_scheduling_ignored_during_execution.iter().flatten())
                .chain(
                    anti.into_iter()
                        .flat_map(|a| a.preferred_during_scheduling_ignored_during_execution.iter().flatten())
                        .map(|p| &p.pod_affinity_term),
                );
            let by_affinity = terms
                .filter(|t| KEYS.contains(&t.topology_key.as_str()))
                .any(|t| t.label_selector.as_ref().is_some_and(|s| w.pods_match(s)));
            let by_spread = spec
                .and_then(|s| s.topology_spread_constraints.as_ref())
                .into_iter()
                .flatten()
                .filter(|t| KEYS.contains(&t.topology_key.as_str()))
                .any(|t| t.label_selector.as_ref().is_some_and(|s| w.pods_match(s)));
            if !by_affinity && !by_spread {
                out.push(
                    Finding::error(
                        w.object(),
                        format!(
                            "runs {} replicas with no pod anti-affinity nor topology spread on its own pods: they may all land on one node",
                            min_replicas(ev, w)
                        ),
                    )
                    .field("affinity.podAntiAffinity"),
                );
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("multi-replica pods of {} spread over nodes", ev.workloads_text()),
        ))
    }
}

/// Every HorizontalPodAutoscaler in the namespace targets a workload that exists.
///
/// As kube-score's `horizontalpodautoscaler-has-target`. Looks at HPAs, not at the selected
/// workloads; not applicable when the namespace has no HPA.
#[derive(Debug)]
pub(crate) struct HpaTarget;

impl KubeCheck for HpaTarget {
    fn name(&self) -> &'static str {
        "hpa-target"
    }

    fn uses_workloads(&self) -> bool {
        false
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Hpas, ResourceKind::Deployments, ResourceKind::StatefulSets]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let ns = ev.selector.ns();
        let hpas: Vec<&HorizontalPodAutoscaler> = ev.snap.hpas.iter().filter(|h| ns_of(&h.metadata) == ns).collect();
        if hpas.is_empty() {
            return Err(ProbeError::not_applicable(format!("no HorizontalPodAutoscaler in namespace {ns}")));
        }
        let mut out = Vec::new();
        for h in &hpas {
            let t = &h.spec.scale_target_ref;
            let exists = ev
                .snap
                .workloads()
                .any(|w| w.namespace() == ns && w.kind.as_str() == t.kind && w.name() == t.name)
                || ev.snap.replica_sets.iter().any(|r| {
                    t.kind == "ReplicaSet" && ns_of(&r.metadata) == ns && r.metadata.name.as_deref() == Some(&t.name)
                });
            if !exists {
                out.push(
                    Finding::error(
                        format!("HorizontalPodAutoscaler {ns}/{}", h.metadata.name.as_deref().unwrap_or("")),
                        format!("targets {} {:?}, which does not exist in namespace {ns}", t.kind, t.name),
                    )
                    .field("spec.scaleTargetRef"),
                );
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("{} {} in namespace {ns} target existing workloads", hpas.len(), plural(hpas.len(), "HPA", "HPAs")),
        ))
    }
}
