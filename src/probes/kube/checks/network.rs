//! Network policies and load balancers.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::util::{ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{ResourceKind, selector_matches};

/// NetworkPolicies cover the workload's pods for both ingress and egress.
///
/// As kube-score's `pod-networkpolicy`: a policy selecting the pods must have `Ingress` in its
/// policy types, and one must have `Egress` (with `policyTypes` unset, a policy is an ingress
/// policy, and an egress one too when it has `egress` rules, as the API server defaults it).
/// Polaris has no network policy check. A missing egress policy is an error like a missing
/// ingress one: an inference pod that can reach anything is how a compromised model server
/// exfiltrates weights.
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
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
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
            let (has_in, has_out) = match &spec.policy_types {
                Some(t) => (t.iter().any(|t| t == "Ingress"), t.iter().any(|t| t == "Egress")),
                None => (true, spec.egress.is_some()),
            };
            if has_in {
                ingress.push(name.clone());
            }
            if has_out {
                egress.push(name);
            }
        }
        let pods =
            labels.map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).unwrap_or_default();
        for (list, dir) in [(&ingress, "ingress"), (&egress, "egress")] {
            if list.is_empty() {
                out.push(Finding::error(
                    w.object(),
                    format!(
                        "no NetworkPolicy with {dir} in namespace {} selects its pods (labels {pods})",
                        w.namespace()
                    ),
                ));
            }
        }
        used.extend(ingress.into_iter().chain(egress).map(|n| format!("{}/{n}", w.namespace())));
    }
    CheckOutcome::new(
        Check::NetworkPolicy.as_str(),
        out,
        format!(
            "pods of {} are selected by ingress and egress NetworkPolicies ({})",
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
