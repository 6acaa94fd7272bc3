//! Liveness, readiness and startup probes.

use k8s_openapi::api::core::v1::Container;

use super::util::{is_gpu_container, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, GPU_RESOURCE, KubeCheck};
use crate::probe::ProbeError;

/// Every container has liveness and readiness probes.
#[derive(Debug)]
pub(crate) struct HealthProbes;

impl KubeCheck for HealthProbes {
    fn name(&self) -> &'static str {
        "health-probes"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(health_probes(ev))
    }
}

fn health_probes(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    for w in &ev.workloads {
        for (c, init) in w.containers() {
            if init {
                continue;
            }
            if c.liveness_probe.is_none() {
                out.push(Finding::error(w.object(), "is not configured").container(&c.name).field("livenessProbe"));
            }
            if c.readiness_probe.is_none() {
                out.push(Finding::error(w.object(), "is not configured").container(&c.name).field("readinessProbe"));
            }
        }
    }
    let n = ev.container_count(false);
    CheckOutcome::new(
        Check::HealthProbes.as_str(),
        out,
        format!(
            "{n} {} in {} {} liveness and readiness probes",
            plural(n, "container", "containers"),
            ev.workloads_text(),
            if n == 1 { "has" } else { "have" }
        ),
    )
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
    for w in &ev.workloads {
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
