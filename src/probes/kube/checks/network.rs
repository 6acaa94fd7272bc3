//! Network policies and load balancers.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::util::{ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{ResourceKind, selector_matches};

/// A NetworkPolicy with ingress rules selects the workload's pods.
#[derive(Debug)]
pub(crate) struct NetworkPolicy;

impl KubeCheck for NetworkPolicy {
    fn name(&self) -> &'static str {
        "network-policy"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::NetworkPolicies]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(network_policy(ev))
    }
}

fn network_policy(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    for w in &ev.workloads {
        let labels = w.pod_labels();
        let mut selecting = Vec::new();
        let mut without_ingress = Vec::new();
        for np in &ev.snap.network_policies {
            if ns_of(&np.metadata) != w.namespace() {
                continue;
            }
            let Some(spec) = &np.spec else { continue };
            let empty = LabelSelector::default();
            if !selector_matches(spec.pod_selector.as_ref().unwrap_or(&empty), labels) {
                continue;
            }
            let name = np.metadata.name.clone().unwrap_or_default();
            let ingress = match &spec.policy_types {
                Some(t) => t.iter().any(|t| t == "Ingress"),
                None => true,
            };
            if ingress { selecting.push(name) } else { without_ingress.push(name) }
        }
        if selecting.is_empty() {
            let pods = labels
                .map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            let extra = if without_ingress.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} only {} egress)",
                    without_ingress.join(", "),
                    if without_ingress.len() == 1 { "covers" } else { "cover" }
                )
            };
            out.push(Finding::error(
                w.object(),
                format!(
                    "no NetworkPolicy with ingress in namespace {} selects its pods (labels {pods}){extra}",
                    w.namespace()
                ),
            ));
        } else {
            used.extend(selecting.into_iter().map(|n| format!("{}/{n}", w.namespace())));
        }
    }
    CheckOutcome::new(
        Check::NetworkPolicy.as_str(),
        out,
        format!(
            "pods of {} are selected by ingress NetworkPolicies ({})",
            ev.workloads_text(),
            used.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Live: LoadBalancer services of the workload have an ingress address.
#[derive(Debug)]
pub(crate) struct LoadBalancer;

impl KubeCheck for LoadBalancer {
    fn name(&self) -> &'static str {
        "load-balancer"
    }

    fn live_only(&self) -> bool {
        true
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Services]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        load_balancer(ev)
    }
}

fn load_balancer(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let mut out = Vec::new();
    let mut addresses = Vec::new();
    let mut seen = BTreeSet::new();
    for w in &ev.workloads {
        for svc in &ev.snap.services {
            if ns_of(&svc.metadata) != w.namespace() {
                continue;
            }
            let Some(spec) = &svc.spec else { continue };
            if spec.type_.as_deref() != Some("LoadBalancer") {
                continue;
            }
            let Some(sel) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
            let labels = w.pod_labels();
            if !sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
                continue;
            }
            let name = format!("{}/{}", w.namespace(), svc.metadata.name.as_deref().unwrap_or(""));
            if !seen.insert(name.clone()) {
                continue;
            }
            let ingress: Vec<String> = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
                .collect();
            if ingress.is_empty() {
                out.push(
                    Finding::error(format!("Service {name}"), "has no ingress address (load balancer not provisioned)")
                        .field("status.loadBalancer.ingress"),
                );
            } else {
                addresses.push(format!("{name}={}", ingress.join("|")));
            }
        }
    }
    if seen.is_empty() {
        return Err(ProbeError::not_applicable(format!(
            "no Service of type LoadBalancer selects the pods of {}",
            ev.workloads_text()
        )));
    }
    Ok(CheckOutcome::new(
        Check::LoadBalancer.as_str(),
        out,
        format!(
            "{} LoadBalancer {} {} an ingress address ({})",
            seen.len(),
            plural(seen.len(), "service", "services"),
            if seen.len() == 1 { "has" } else { "have" },
            addresses.join(", ")
        ),
    ))
}
