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

/// No pod shares the node's network, PID or IPC namespace.
///
/// As Polaris' `hostNetworkSet`, `hostPIDSet` and `hostIPCSet` (danger): each is an error.
/// kube-score has no such check. DaemonSets of node agents that need one (a CNI, a GPU
/// exporter reading host PIDs) are exempted with a waiver on the item, not silently here.
#[derive(Debug)]
pub(crate) struct HostNamespaces;

impl KubeCheck for HostNamespaces {
    fn name(&self) -> &'static str {
        "host-namespaces"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        for w in &ev.workloads {
            let Some(spec) = w.pod_spec else { continue };
            for (set, field) in
                [(spec.host_network, "hostNetwork"), (spec.host_pid, "hostPID"), (spec.host_ipc, "hostIPC")]
            {
                if set == Some(true) {
                    out.push(Finding::error(w.object(), "is true: the pod shares the node's namespace").field(field));
                }
            }
        }
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("pods of {} use their own network, PID and IPC namespaces", ev.workloads_text()),
        ))
    }
}

/// Capabilities the restricted Pod Security Standard allows: drop `ALL`, add at most
/// `NET_BIND_SERVICE`.
///
/// Polaris warns on `insecureCapabilities` and fails on `dangerousCapabilities` (SYS_ADMIN,
/// NET_ADMIN, ALL added); kube-score has no capability check. We apply the restricted standard
/// to every container, init containers included: both a missing `drop: [ALL]` and any added
/// capability other than `NET_BIND_SERVICE` are errors.
#[derive(Debug)]
pub(crate) struct Capabilities;

impl KubeCheck for Capabilities {
    fn name(&self) -> &'static str {
        "capabilities-dropped"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        for w in &ev.workloads {
            for (c, _) in w.containers() {
                let caps = c.security_context.as_ref().and_then(|s| s.capabilities.as_ref());
                let drop = caps.and_then(|c| c.drop.as_ref());
                if !drop.is_some_and(|d| d.iter().any(|d| d.eq_ignore_ascii_case("ALL"))) {
                    out.push(
                        Finding::error(w.object(), "does not drop ALL")
                            .container(&c.name)
                            .field("securityContext.capabilities.drop"),
                    );
                }
                for add in caps.and_then(|c| c.add.as_ref()).into_iter().flatten() {
                    let name = add.trim_start_matches("CAP_");
                    if !name.eq_ignore_ascii_case("NET_BIND_SERVICE") {
                        out.push(
                            Finding::error(w.object(), format!("adds {add}: only NET_BIND_SERVICE is allowed"))
                                .container(&c.name)
                                .field("securityContext.capabilities.add"),
                        );
                    }
                }
            }
        }
        let n = ev.container_count(true);
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("{n} {} in {} drop all capabilities", plural(n, "container", "containers"), ev.workloads_text()),
        ))
    }
}

/// A seccomp profile (`RuntimeDefault` or `Localhost`) on the pod or on every container.
///
/// As the restricted Pod Security Standard and Polaris' `seccompProfile` (kube-score has
/// none). The pre-1.19 annotations are not read: the API server ignores them since 1.27.
#[derive(Debug)]
pub(crate) struct Seccomp;

impl KubeCheck for Seccomp {
    fn name(&self) -> &'static str {
        "seccomp-profile"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        for w in &ev.workloads {
            let pod = w
                .pod_spec
                .and_then(|s| s.security_context.as_ref())
                .and_then(|s| s.seccomp_profile.as_ref())
                .map(|p| p.type_.as_str());
            if pod == Some("Unconfined") {
                out.push(Finding::error(w.object(), "is Unconfined").field("securityContext.seccompProfile.type"));
            }
            for (c, _) in w.containers() {
                let own =
                    c.security_context.as_ref().and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
                match own.or(pod) {
                    Some("RuntimeDefault" | "Localhost") => {}
                    Some("Unconfined") if own.is_some() => out.push(
                        Finding::error(w.object(), "is Unconfined")
                            .container(&c.name)
                            .field("securityContext.seccompProfile.type"),
                    ),
                    Some("Unconfined") => {}
                    Some(other) => out.push(
                        Finding::error(w.object(), format!("is {other:?}: use RuntimeDefault or Localhost"))
                            .container(&c.name)
                            .field("securityContext.seccompProfile.type"),
                    ),
                    None => out.push(
                        Finding::error(w.object(), "is not set on the container nor the pod (want RuntimeDefault)")
                            .container(&c.name)
                            .field("securityContext.seccompProfile"),
                    ),
                }
            }
        }
        Ok(CheckOutcome::new(self.name(), out, format!("pods of {} run with a seccomp profile", ev.workloads_text())))
    }
}

/// The service-account token is mounted only where the pod says it needs it.
///
/// Polaris' `automountServiceAccountToken` fails a pod that leaves it unset; so do we, but an
/// explicit `automountServiceAccountToken: true` on the pod passes (the pod states it calls
/// the API), and `false` on its ServiceAccount (where read) counts as not mounted.
#[derive(Debug)]
pub(crate) struct TokenAutomount;

impl KubeCheck for TokenAutomount {
    fn name(&self) -> &'static str {
        "service-account-token"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ServiceAccounts]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        let mut out = Vec::new();
        let mut mounted = Vec::new();
        for w in &ev.workloads {
            let spec = w.pod_spec;
            let sa_name = spec
                .and_then(|s| s.service_account_name.as_deref().or(s.service_account.as_deref()))
                .unwrap_or("default");
            let sa = ev.snap.service_accounts.iter().find(|s| {
                s.metadata.name.as_deref() == Some(sa_name) && s.metadata.namespace.as_deref() == Some(w.namespace())
            });
            match (spec.and_then(|s| s.automount_service_account_token), sa.and_then(|s| s.automount_service_account_token)) {
                (Some(false), _) | (None, Some(false)) => {}
                (Some(true), _) => mounted.push(w.name().to_string()),
                (None, _) => out.push(
                    Finding::error(
                        w.object(),
                        format!(
                            "is not set on the pod nor false on ServiceAccount {sa_name:?}: the API token is mounted; set false, or true if the pod calls the API"
                        ),
                    )
                    .field("automountServiceAccountToken"),
                ),
            }
        }
        let extra =
            if mounted.is_empty() { String::new() } else { format!(" ({} mount it on purpose)", mounted.join(", ")) };
        Ok(CheckOutcome::new(
            self.name(),
            out,
            format!("pods of {} mount no service-account token unasked{extra}", ev.workloads_text()),
        ))
    }
}
