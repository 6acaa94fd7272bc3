//! Horizontal autoscaling.

use super::util::ns_of;
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
    let targets: Vec<&Workload<'_>> = ev.workloads.iter().filter(|w| w.kind != WorkloadKind::DaemonSet).collect();
    if targets.is_empty() {
        return Err(ProbeError::not_applicable(format!("{} do not scale horizontally", ev.workloads_text())));
    }
    for w in targets {
        let hpa = ev.snap.hpas.iter().find(|h| {
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
