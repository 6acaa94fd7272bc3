//! Helpers the checks share.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Container;

use super::GPU_RESOURCE;
use crate::probes::kube::source::{Workload, WorkloadKind};

pub(crate) fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

pub(crate) fn is_gpu_container(c: &Container) -> bool {
    c.resources.as_ref().is_some_and(|r| {
        [&r.limits, &r.requests].into_iter().flatten().any(|m| m.get(GPU_RESOURCE).is_some_and(|q| q.0.trim() != "0"))
    })
}

pub(crate) fn allowed_text(allowed: &[String]) -> String {
    allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

pub(crate) fn has_have(ws: &[Workload<'_>]) -> &'static str {
    if ws.len() == 1 { "has" } else { "have" }
}

/// `1 deployment and 2 daemonsets`.
pub(crate) fn workloads_text(ws: &[Workload<'_>]) -> String {
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
