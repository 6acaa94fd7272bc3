//! Default probe bindings of the built-in checklist: for each automatable item, the probe kind
//! that verifies it and the config key of its target.
//!
//! They are data attached to the checklist ([`Checklist::bindings`](crate::model::Checklist::bindings)):
//! [`nexus()`](super::nexus) carries them, and a config file's `[targets]` is read through
//! them. A config sets the targets (`[targets.redis]`, `[targets.kubernetes]`...); the value at
//! the key is the spec of that kind. Several items may share one target: a binding's
//! [`defaults`](crate::model::Binding::defaults) name fields filled in for each item when the
//! target leaves them out (the Kubernetes and S3 specs take a `check`). An item whose key is
//! absent is Skipped "not configured: set `<key>`"; attestation-only items have no entry here.
//!
//! ```
//! let checklist = nexus_readiness::builtin::nexus();
//! let redis = checklist.binding("pre-deployment.performance.caching-layer-configured").unwrap();
//! assert_eq!((redis.kind.as_str(), redis.target.as_str()), ("redis", "targets.redis"));
//! assert!(checklist.target_keys().contains(&("targets.kubernetes", "kube")));
//! ```

use crate::model::Binding;

/// One row: item, kind, target key, and the `check` the item fills in (empty for none).
type Row = (&'static str, &'static str, &'static str, &'static str);

const fn b(item: &'static str, kind: &'static str, key: &'static str) -> Row {
    (item, kind, key, "")
}

const fn kube(item: &'static str, check: &'static str) -> Row {
    (item, "kube", "targets.kubernetes", check)
}

/// Backup storage: `provider = "s3" | "gcs" | "azure"` in the target (default s3).
const fn backup(item: &'static str, check: &'static str) -> Row {
    (item, "backup", "targets.backup", check)
}

/// The default bindings, in checklist order.
const ROWS: &[Row] = &[
    // Pre-Deployment / Infrastructure
    kube("pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested", "gpu-nodes"),
    b("pre-deployment.infrastructure.load-balancer-ssl-certificates-installed", "tls", "targets.tls"),
    b("pre-deployment.infrastructure.dns-records-configured", "dns", "targets.dns"),
    // Reachable, versioning, encryption and the newest backup against the RPO: a bucket that
    // only exists is no backup.
    backup("pre-deployment.infrastructure.backup-storage-configured", "backup"),
    b("pre-deployment.infrastructure.monitoring-stack-deployed", "monitoring-stack", "targets.monitoring"),
    b("pre-deployment.infrastructure.log-aggregation-configured", "log-aggregation", "targets.log_aggregation"),
    // The rules loaded in Prometheus, and before deploy the PrometheusRule manifests.
    b("pre-deployment.infrastructure.alerting-rules-defined", "prometheus-rules", "targets.prometheus.rules"),
    kube("pre-deployment.infrastructure.alerting-rules-defined", "prometheus-rules"),
    // Pre-Deployment / Security
    b("pre-deployment.security.api-authentication-enabled", "http-auth", "targets.http.auth"),
    b("pre-deployment.security.rate-limiting-configured", "http-rate-limit", "targets.http.rate_limit"),
    b("pre-deployment.security.input-validation-implemented", "http-input-validation", "targets.http.input_validation"),
    kube("pre-deployment.security.secrets-management-configured", "secrets-injection"),
    kube("pre-deployment.security.network-policies-defined", "network-policy"),
    kube("pre-deployment.security.pod-security-policies-enabled", "pod-security"),
    kube("pre-deployment.security.pod-security-policies-enabled", "host-namespaces"),
    kube("pre-deployment.security.pod-security-policies-enabled", "capabilities-dropped"),
    kube("pre-deployment.security.pod-security-policies-enabled", "seccomp-profile"),
    kube("pre-deployment.security.pod-security-policies-enabled", "service-account-token"),
    b("pre-deployment.security.container-scanning-completed", "trivy", "targets.trivy_report"),
    // Pre-Deployment / Performance
    kube("pre-deployment.performance.auto-scaling-policies-configured", "autoscaling"),
    kube("pre-deployment.performance.auto-scaling-policies-configured", "hpa-target"),
    kube("pre-deployment.performance.auto-scaling-policies-configured", "replicas"),
    kube("pre-deployment.performance.resource-limits-set", "resource-limits"),
    b("pre-deployment.performance.caching-layer-configured", "redis", "targets.redis"),
    b("pre-deployment.performance.cdn-configured-for-static-assets", "http-cdn", "targets.http.cdn"),
    // Deployment / Container Image
    b("deployment.container-image.multi-stage-dockerfile-optimized", "dockerfile", "targets.dockerfile"),
    b("deployment.container-image.image-scanned-for-vulnerabilities", "trivy", "targets.trivy_report"),
    kube("deployment.container-image.image-tagged-with-version", "image-tag"),
    b("deployment.container-image.image-pushed-to-registry", "oci-image", "targets.registry"),
    kube("deployment.container-image.image-pull-secrets-configured", "pull-secrets"),
    // Deployment / Configuration
    kube("deployment.configuration.environment-specific-configs-created", "env-config"),
    kube("deployment.configuration.secrets-injected-securely", "secrets-injection"),
    kube("deployment.configuration.debug-mode-disabled", "debug-disabled"),
    kube("deployment.configuration.logging-level-set-to-info-or-warn", "debug-disabled"),
    // Deployment / Health Checks
    kube("deployment.health-checks.liveness-probe-configured", "health-probes"),
    kube("deployment.health-checks.readiness-probe-configured", "health-probes"),
    kube("deployment.health-checks.startup-probe-configured", "startup-probe"),
    b("deployment.health-checks.health-check-endpoints-tested", "http-health", "targets.http.health"),
    // Post-Deployment / Verification
    kube("post-deployment.verification.all-pods-running-and-ready", "pods-ready"),
    kube("post-deployment.verification.services-accessible-via-load-balancer", "load-balancer"),
    b("post-deployment.verification.ssl-certificates-valid", "tls", "targets.tls"),
    b("post-deployment.verification.dns-resolution-working", "dns", "targets.dns"),
    b("post-deployment.verification.health-checks-passing", "http-health", "targets.http.health"),
    b("post-deployment.verification.metrics-flowing-to-monitoring", "prometheus-metrics", "targets.prometheus.metrics"),
    // Something scrapes the workload: a ServiceMonitor or PodMonitor selects it.
    kube("post-deployment.verification.metrics-flowing-to-monitoring", "service-monitor"),
    b("post-deployment.verification.logs-appearing-in-aggregation-system", "logs-appearing", "targets.logs"),
    // Post-Deployment / Testing
    b("post-deployment.testing.smoke-tests-passed", "command", "targets.smoke_test"),
    b("post-deployment.testing.integration-tests-passed", "junit", "targets.junit.integration"),
    b("post-deployment.testing.performance-tests-passed", "junit", "targets.junit.performance"),
    kube("post-deployment.testing.rollback-procedure-tested", "rollback-possible"),
    // Post-Deployment / Documentation
    b("post-deployment.documentation.runbook-created", "path", "targets.runbook"),
    b("post-deployment.documentation.incident-response-plan-documented", "path", "targets.incident_response_plan"),
    // Compliance
    backup("compliance.data-retention-policies-configured", "lifecycle"),
    backup("compliance.audit-logging-enabled", "logging"),
];

/// The default bindings of the built-in checklist, in checklist order.
pub fn nexus_bindings() -> Vec<Binding> {
    ROWS.iter()
        .map(|(item, kind, key, check)| {
            let b = Binding::new(*item, *kind, *key);
            if check.is_empty() { b } else { b.default_field("check", *check) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kube_and_backup_binding_names_its_check() {
        for (item, kind, _, check) in ROWS {
            if matches!(*kind, "kube" | "backup") {
                assert!(!check.is_empty(), "{item} has no check");
            }
        }
    }

    #[test]
    fn the_bindings_validate_against_the_checklist() {
        let checklist = super::super::nexus();
        assert_eq!(checklist.bindings, nexus_bindings());
        checklist.validate().unwrap();
    }
}
