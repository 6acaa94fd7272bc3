//! Pod Security Admission and container securityContext.

use std::collections::BTreeSet;

use super::util::plural;
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck, PSA_ENFORCE_LABEL};
use crate::probe::ProbeError;
use crate::probes::kube::source::{Origin, ResourceKind};

/// Pod Security Admission enforce label and container securityContext.
#[derive(Debug)]
pub(crate) struct PodSecurity;

impl KubeCheck for PodSecurity {
    fn name(&self) -> &'static str {
        "pod-security"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::Namespaces]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(pod_security(ev))
    }
}

fn pod_security(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let namespaces: BTreeSet<&str> = ev.workloads.iter().map(|w| w.namespace()).collect();
    let mut levels = Vec::new();
    for ns in namespaces {
        let object = format!("Namespace {ns}");
        match ev.snap.namespace(ns) {
            None if ev.snap.origin == Origin::Manifests => out.push(Finding::warn(
                object,
                format!("is not in the manifests: label {PSA_ENFORCE_LABEL} not verified"),
            )),
            None => out.push(Finding::error(object, "does not exist")),
            Some(n) => {
                let level = n.metadata.labels.as_ref().and_then(|l| l.get(PSA_ENFORCE_LABEL));
                match level.map(String::as_str) {
                    Some(l @ ("baseline" | "restricted")) => levels.push(format!("{ns}={l}")),
                    Some(other) => out.push(
                        Finding::error(object, format!("is {other:?}: use baseline or restricted"))
                            .field(format!("metadata.labels.{PSA_ENFORCE_LABEL}")),
                    ),
                    None => out.push(
                        Finding::error(object, "is not set (want baseline or restricted)")
                            .field(format!("metadata.labels.{PSA_ENFORCE_LABEL}")),
                    ),
                }
            }
        }
    }
    for w in &ev.workloads {
        let pod_sc = w.pod_spec.and_then(|s| s.security_context.as_ref());
        for (c, _) in w.containers() {
            let sc = c.security_context.as_ref();
            if sc.and_then(|s| s.privileged) == Some(true) {
                out.push(Finding::error(w.object(), "is true").container(&c.name).field("securityContext.privileged"));
            }
            if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
                let v = if sc.and_then(|s| s.allow_privilege_escalation).is_some() {
                    "is true"
                } else {
                    "is not set (defaults to true)"
                };
                out.push(
                    Finding::error(w.object(), format!("{v}: set it to false"))
                        .container(&c.name)
                        .field("securityContext.allowPrivilegeEscalation"),
                );
            }
            let non_root = sc.and_then(|s| s.run_as_non_root).or(pod_sc.and_then(|s| s.run_as_non_root));
            if non_root != Some(true) {
                out.push(
                    Finding::error(w.object(), "is not true on the container nor the pod")
                        .container(&c.name)
                        .field("securityContext.runAsNonRoot"),
                );
            }
            if sc.and_then(|s| s.read_only_root_filesystem) != Some(true) {
                out.push(
                    Finding::warn(w.object(), "is not true")
                        .container(&c.name)
                        .field("securityContext.readOnlyRootFilesystem"),
                );
            }
        }
    }
    let n = ev.container_count(true);
    CheckOutcome::new(
        Check::PodSecurity.as_str(),
        out,
        format!(
            "namespaces enforce pod security ({}); {n} {} in {} run unprivileged as non-root",
            levels.join(", "),
            plural(n, "container", "containers"),
            ev.workloads_text()
        ),
    )
}
