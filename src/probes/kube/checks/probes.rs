//! Liveness, readiness and startup probes.

use k8s_openapi::api::core::v1::Container;

use super::util::{is_gpu_container, ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, GPU_RESOURCE, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{ResourceKind, Workload};

/// Liveness on every long-running container, readiness on the pod when a Service routes to it.
///
/// - `livenessProbe` is required on every container (Polaris' `livenessProbeMissing`);
///   kube-score does not require one. We do: the checklist item asks for liveness probes, and a
///   hung inference server is only restarted by one.
/// - `readinessProbe` is required on at least one container of the pod, not on each
///   (kube-score's `pod-probes`: a sidecar without one does not keep the pod out of rotation),
///   and only when a Service selects the pod (kube-score). Unlike kube-score, a pod that no
///   Service selects and that has no readiness probe at all is a *warning*, not silence: the
///   Service may live in another repository.
/// - A liveness probe identical to the readiness probe is a warning (kube-score): a slow
///   dependency then restarts the pod instead of taking it out of rotation.
/// - Jobs and CronJobs are skipped (they run to completion; both anchors skip them too).
#[derive(Debug)]
pub(crate) struct HealthProbes;

impl KubeCheck for HealthProbes {
    fn name(&self) -> &'static str {
        "health-probes"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Services]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        health_probes(ev)
    }
}

/// The Services in `w`'s namespace whose selector matches its pod labels.
pub(super) fn services_selecting<'a>(ev: &Evaluator<'a>, w: &Workload<'a>) -> Vec<&'a str> {
    let labels = w.pod_labels();
    ev.snap
        .services
        .iter()
        .filter(|s| ns_of(&s.metadata) == w.namespace())
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|sp| sp.selector.as_ref())
                .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)))
        })
        .map(|s| s.metadata.name.as_deref().unwrap_or(""))
        .collect()
}

fn health_probes(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let long_running: Vec<&Workload<'_>> = ev.workloads.iter().filter(|w| !w.kind.runs_to_completion()).collect();
    if long_running.is_empty() {
        return Err(ProbeError::not_applicable(format!(
            "{} run to completion: liveness and readiness probes do not apply",
            ev.workloads_text()
        )));
    }
    let mut containers = 0;
    for w in long_running {
        let mut any_readiness = false;
        for (c, init) in w.containers() {
            if init {
                continue;
            }
            containers += 1;
            if c.liveness_probe.is_none() {
                out.push(Finding::error(w.object(), "is not configured").container(&c.name).field("livenessProbe"));
            }
            any_readiness |= c.readiness_probe.is_some();
            if let (Some(l), Some(r)) = (&c.liveness_probe, &c.readiness_probe)
                && l == r
            {
                out.push(
                    Finding::warn(
                        w.object(),
                        "is identical to readinessProbe: a slow dependency restarts the pod instead of taking it out of rotation",
                    )
                    .container(&c.name)
                    .field("livenessProbe"),
                );
            }
        }
        if !any_readiness {
            let services = services_selecting(ev, w);
            if services.is_empty() {
                out.push(
                    Finding::warn(
                        w.object(),
                        "is not configured on any container (no Service in view selects the pods, so none routes to them yet)",
                    )
                    .field("readinessProbe"),
                );
            } else {
                out.push(
                    Finding::error(
                        w.object(),
                        format!(
                            "is not configured on any container but Service {} selects the pods",
                            services.join(", ")
                        ),
                    )
                    .field("readinessProbe"),
                );
            }
        }
    }
    Ok(CheckOutcome::new(
        Check::HealthProbes.as_str(),
        out,
        format!(
            "{containers} {} in {} {} liveness probes and every pod a readiness probe",
            plural(containers, "container", "containers"),
            ev.workloads_text(),
            if containers == 1 { "has" } else { "have" }
        ),
    ))
}

/// Containers that need one (long liveness initial delay, GPU) have a startup probe.
#[derive(Debug)]
pub(crate) struct StartupProbe;

impl KubeCheck for StartupProbe {
    fn name(&self) -> &'static str {
        "startup-probe"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        startup_probe(ev)
    }
}

fn startup_needed(ev: &Evaluator<'_>, c: &Container) -> Option<String> {
    if is_gpu_container(c) {
        return Some(format!("it requests {GPU_RESOURCE}"));
    }
    let delay = c.liveness_probe.as_ref().and_then(|p| p.initial_delay_seconds).unwrap_or(0);
    (delay > ev.cfg.startup_probe_min_delay_seconds).then(|| {
        format!("livenessProbe.initialDelaySeconds is {delay} (above {})", ev.cfg.startup_probe_min_delay_seconds)
    })
}

fn startup_probe(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let mut needing = 0;
    for w in ev.workloads.iter().filter(|w| !w.kind.runs_to_completion()) {
        for (c, init) in w.containers() {
            if init {
                continue;
            }
            let Some(why) = startup_needed(ev, c) else { continue };
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
            ev.workloads_text(),
            ev.cfg.startup_probe_min_delay_seconds
        )));
    }
    Ok(CheckOutcome::new(
        Check::StartupProbe.as_str(),
        out,
        format!(
            "{needing} {} needing a startup probe {} one",
            plural(needing, "container", "containers"),
            if needing == 1 { "has" } else { "have" }
        ),
    ))
}
