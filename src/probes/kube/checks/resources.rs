//! Resource requests and limits.

use super::util::{is_gpu_container, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, GPU_RESOURCE, KubeCheck};
use crate::probe::ProbeError;

/// Every container and init container has CPU and memory requests and limits; GPU containers
/// have `nvidia.com/gpu` limits equal to their requests.
#[derive(Debug)]
pub(crate) struct ResourceLimits;

impl KubeCheck for ResourceLimits {
    fn name(&self) -> &'static str {
        "resource-limits"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(resource_limits(ev))
    }
}

fn resource_limits(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    for w in &ev.workloads {
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
    let n = ev.container_count(true);
    let gpus = ev.workloads.iter().flat_map(|w| w.containers()).filter(|(c, _)| is_gpu_container(c)).count();
    let gpu_text = if gpus > 0 { format!(" ({gpus} with {GPU_RESOURCE} limits)") } else { String::new() };
    CheckOutcome::new(
        Check::ResourceLimits.as_str(),
        out,
        format!(
            "{n} {} in {} {} cpu/memory requests and limits{gpu_text}",
            plural(n, "container", "containers"),
            ev.workloads_text(),
            if n == 1 { "has" } else { "have" }
        ),
    )
}
