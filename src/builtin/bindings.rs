//! Default probe bindings of the built-in checklist: for each automatable item, the probe kind
//! that verifies it and the config key of its target.
//!
//! A config file sets the targets (`[targets.redis]`, `[targets.kubernetes]`...); the value
//! at the key is the spec of that kind. Several items may share one target: a
//! [`DefaultBinding::set`] names fields filled in for each item when the target leaves them
//! out (the Kubernetes and S3 specs take a `check`). An item whose key is absent is Skipped
//! "not configured: set `<key>`"; attestation-only items have no entry here.
//!
//! ```
//! use nexus_readiness::builtin::bindings;
//!
//! let redis = bindings::default_binding("pre-deployment.performance.caching-layer-configured").unwrap();
//! assert_eq!((redis.kind, redis.key), ("redis", "targets.redis"));
//! assert!(bindings::target_keys().iter().any(|(key, kind)| *key == "targets.kubernetes" && *kind == "kube"));
//! ```

/// Which probe kind verifies an item, and where its target lives in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultBinding {
    /// The item id.
    pub item: &'static str,
    /// The probe kind (`redis`, `kube`, `tls`...).
    pub kind: &'static str,
    /// The config key of the target (`targets.redis`).
    pub key: &'static str,
    /// Fields set for this item when the target does not set them (`check = "pods-ready"`).
    pub set: &'static [(&'static str, &'static str)],
}

const fn b(item: &'static str, kind: &'static str, key: &'static str) -> DefaultBinding {
    DefaultBinding { item, kind, key, set: &[] }
}

const fn kube(item: &'static str, check: &'static str) -> DefaultBinding {
    DefaultBinding { item, kind: "kube", key: "targets.kubernetes", set: check_field(check) }
}

const fn s3(item: &'static str, check: &'static str) -> DefaultBinding {
    DefaultBinding { item, kind: "s3", key: "targets.backup", set: check_field(check) }
}

const fn check_field(check: &'static str) -> &'static [(&'static str, &'static str)] {
    // One static slice per check name (const fns cannot build slices from arguments).
    match check.as_bytes() {
        b"gpu-nodes" => &[("check", "gpu-nodes")],
        b"secrets-injection" => &[("check", "secrets-injection")],
        b"network-policy" => &[("check", "network-policy")],
        b"pod-security" => &[("check", "pod-security")],
        b"autoscaling" => &[("check", "autoscaling")],
        b"resource-limits" => &[("check", "resource-limits")],
        b"image-tag" => &[("check", "image-tag")],
        b"pull-secrets" => &[("check", "pull-secrets")],
        b"env-config" => &[("check", "env-config")],
        b"debug-disabled" => &[("check", "debug-disabled")],
        b"health-probes" => &[("check", "health-probes")],
        b"startup-probe" => &[("check", "startup-probe")],
        b"pods-ready" => &[("check", "pods-ready")],
        b"load-balancer" => &[("check", "load-balancer")],
        b"rollback-possible" => &[("check", "rollback-possible")],
        b"reachable" => &[("check", "reachable")],
        b"backup" => &[("check", "backup")],
        b"lifecycle" => &[("check", "lifecycle")],
        b"logging" => &[("check", "logging")],
        _ => &[],
    }
}

/// The default bindings, in checklist order.
pub const DEFAULT_BINDINGS: &[DefaultBinding] = &[
    // Pre-Deployment / Infrastructure
    kube("pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested", "gpu-nodes"),
    b("pre-deployment.infrastructure.load-balancer-ssl-certificates-installed", "tls", "targets.tls"),
    b("pre-deployment.infrastructure.dns-records-configured", "dns", "targets.dns"),
    // Reachable, versioning, encryption and the newest backup against the RPO: a bucket that
    // only exists is no backup.
    s3("pre-deployment.infrastructure.backup-storage-configured", "backup"),
    b("pre-deployment.infrastructure.monitoring-stack-deployed", "monitoring-stack", "targets.monitoring"),
    b("pre-deployment.infrastructure.log-aggregation-configured", "log-aggregation", "targets.log_aggregation"),
    b("pre-deployment.infrastructure.alerting-rules-defined", "prometheus-rules", "targets.prometheus.rules"),
    // Pre-Deployment / Security
    b("pre-deployment.security.api-authentication-enabled", "http-auth", "targets.http.auth"),
    b("pre-deployment.security.rate-limiting-configured", "http-rate-limit", "targets.http.rate_limit"),
    b("pre-deployment.security.input-validation-implemented", "http-input-validation", "targets.http.input_validation"),
    kube("pre-deployment.security.secrets-management-configured", "secrets-injection"),
    kube("pre-deployment.security.network-policies-defined", "network-policy"),
    kube("pre-deployment.security.pod-security-policies-enabled", "pod-security"),
    b("pre-deployment.security.container-scanning-completed", "trivy", "targets.trivy_report"),
    // Pre-Deployment / Performance
    kube("pre-deployment.performance.auto-scaling-policies-configured", "autoscaling"),
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
    s3("compliance.data-retention-policies-configured", "lifecycle"),
    s3("compliance.audit-logging-enabled", "logging"),
];

/// The default bindings, in checklist order.
pub fn default_bindings() -> &'static [DefaultBinding] {
    DEFAULT_BINDINGS
}

/// The default binding of an item, if it has one.
pub fn default_binding(item: &str) -> Option<&'static DefaultBinding> {
    DEFAULT_BINDINGS.iter().find(|b| b.item == item)
}

/// Every target key with its probe kind, each once, in checklist order.
pub fn target_keys() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for b in DEFAULT_BINDINGS {
        if !out.iter().any(|(k, _)| *k == b.key) {
            out.push((b.key, b.kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_field_is_filled() {
        for b in DEFAULT_BINDINGS.iter().filter(|b| matches!(b.kind, "kube" | "s3")) {
            assert_eq!(b.set.len(), 1, "{} has no check", b.item);
        }
    }

    #[test]
    fn one_kind_per_key() {
        for b in DEFAULT_BINDINGS {
            let kind = target_keys().into_iter().find(|(k, _)| *k == b.key).map(|(_, k)| k);
            assert_eq!(kind, Some(b.kind), "{} uses {} with two kinds", b.item, b.key);
        }
    }
}
