//! The built-in Nexus production checklist.
//!
//! [`nexus()`] is the source document ([`NEXUS_RST`], embedded byte for byte) parsed by
//! [`format::parse_rst`](crate::format::parse_rst), then enriched: every one of its 58 items gets
//! a [`Severity`] with a one-sentence reason, tags for lookups, `after` dependencies where one
//! check only makes sense once another passed, and the twelve items only a person can confirm
//! are [attestation-only](crate::model::Verification::Attestation).
//!
//! ```
//! use nexus_readiness::builtin;
//! use nexus_readiness::model::{Level, Severity};
//!
//! let checklist = builtin::nexus();
//! assert_eq!(checklist.items().count(), 58);
//! let ssl = checklist.item("post-deployment.verification.ssl-certificates-valid").unwrap();
//! assert_eq!(ssl.severity, Severity::Blocker);
//! assert_eq!(ssl.after[0], "post-deployment.verification.dns-resolution-working");
//! let gpu = &checklist.thresholds[0];
//! assert_eq!(gpu.evaluate(90.0).level, Level::Breach);
//! ```

pub mod bindings;
pub use bindings::nexus_bindings;

use std::sync::LazyLock;

use crate::model::{Checklist, ItemId, Severity};

/// The source document, reStructuredText, byte-identical to `spec/production_checklist.rst`.
pub const NEXUS_RST: &str = include_str!("production_checklist.rst");

/// The same document in Markdown; it parses to the same checklist as [`NEXUS_RST`].
pub const NEXUS_MARKDOWN: &str = include_str!("production_checklist.md");

/// How one item of the source document is enriched.
struct Spec {
    /// The item id.
    id: &'static str,
    severity: Severity,
    tags: &'static [&'static str],
    /// Only a person can confirm it.
    attest: bool,
    /// Ids of items that must pass first.
    after: &'static [&'static str],
    /// Why the item matters and why it has its severity.
    why: &'static str,
}

const fn spec(id: &'static str, severity: Severity, tags: &'static [&'static str], why: &'static str) -> Spec {
    Spec { id, severity, tags, attest: false, after: &[], why }
}

const fn attest(id: &'static str, severity: Severity, tags: &'static [&'static str], why: &'static str) -> Spec {
    Spec { id, severity, tags, attest: true, after: &[], why }
}

const fn after(mut s: Spec, ids: &'static [&'static str]) -> Spec {
    s.after = ids;
    s
}

use Severity::{Blocker, Critical, Major, Minor};

/// Severity, tags, verification, dependencies and reasoning of all 58 items, in document order.
static SPECS: &[Spec] = &[
    // Pre-Deployment / Infrastructure
    spec(
        "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested",
        Blocker,
        &["infrastructure", "gpu", "kubernetes"],
        "Nexus serves inference on GPUs, so without healthy GPU nodes there is nothing to deploy onto.",
    ),
    attest(
        "pre-deployment.infrastructure.network-security-groups-configured",
        Blocker,
        &["infrastructure", "security", "network"],
        "Security groups decide what can reach the cluster from outside, and their intent can only be reviewed by a person.",
    ),
    spec(
        "pre-deployment.infrastructure.load-balancer-ssl-certificates-installed",
        Blocker,
        &["infrastructure", "tls", "security", "network"],
        "Without a certificate on the load balancer clients either cannot connect or send traffic in clear text.",
    ),
    spec(
        "pre-deployment.infrastructure.dns-records-configured",
        Critical,
        &["infrastructure", "dns", "network"],
        "Clients find the service by name, so missing records make a healthy deployment unreachable.",
    ),
    spec(
        "pre-deployment.infrastructure.backup-storage-configured",
        Critical,
        &["infrastructure", "backup", "storage"],
        "The database rollback step restores from backups, which is impossible if backup storage does not exist.",
    ),
    spec(
        "pre-deployment.infrastructure.monitoring-stack-deployed",
        Critical,
        &["infrastructure", "monitoring", "prometheus"],
        "Capacity thresholds and alerts are evaluated by the monitoring stack, so without it problems go unseen.",
    ),
    spec(
        "pre-deployment.infrastructure.log-aggregation-configured",
        Major,
        &["infrastructure", "logging", "monitoring"],
        "Aggregated logs make incidents diagnosable, but the service runs without them.",
    ),
    spec(
        "pre-deployment.infrastructure.alerting-rules-defined",
        Critical,
        &["infrastructure", "monitoring", "alerting", "prometheus"],
        "Without the recommended alerting rules nobody is paged when error rate or latency breach their limits.",
    ),
    // Pre-Deployment / Security
    spec(
        "pre-deployment.security.api-authentication-enabled",
        Blocker,
        &["security", "http"],
        "An unauthenticated inference API exposes paid GPU capacity and user data to anyone.",
    ),
    spec(
        "pre-deployment.security.rate-limiting-configured",
        Blocker,
        &["security", "http"],
        "Without rate limits one client can exhaust the GPUs and deny service to everybody else.",
    ),
    spec(
        "pre-deployment.security.input-validation-implemented",
        Blocker,
        &["security", "http"],
        "Unvalidated input can crash model servers or be used for injection, so malformed requests must be rejected with a 4xx.",
    ),
    spec(
        "pre-deployment.security.secrets-management-configured",
        Blocker,
        &["security", "kubernetes", "secrets"],
        "Credentials kept outside a secrets manager leak through manifests, images and logs.",
    ),
    spec(
        "pre-deployment.security.network-policies-defined",
        Blocker,
        &["security", "kubernetes", "network"],
        "Without network policies a compromised pod can reach every other workload in the cluster.",
    ),
    spec(
        "pre-deployment.security.pod-security-policies-enabled",
        Blocker,
        &["security", "kubernetes"],
        "Pod security admission keeps containers from running privileged or as root, which limits what an attacker gains.",
    ),
    spec(
        "pre-deployment.security.container-scanning-completed",
        Blocker,
        &["security", "container"],
        "Shipping images with known critical vulnerabilities is an avoidable breach.",
    ),
    attest(
        "pre-deployment.security.penetration-testing-performed",
        Blocker,
        &["security"],
        "A penetration test finds what automated checks miss, and only the testers can say it was done and its findings fixed.",
    ),
    // Pre-Deployment / Performance
    attest(
        "pre-deployment.performance.load-testing-completed",
        Critical,
        &["performance", "testing"],
        "Load testing shows the deployment holds production traffic, and its results need a person to judge them.",
    ),
    spec(
        "pre-deployment.performance.auto-scaling-policies-configured",
        Critical,
        &["performance", "kubernetes", "scaling"],
        "The capacity plan says scale up above 85% utilization, which only happens if autoscaling is configured.",
    ),
    spec(
        "pre-deployment.performance.resource-limits-set",
        Critical,
        &["performance", "kubernetes", "gpu"],
        "Pods without CPU, memory and GPU limits starve their neighbours or never get scheduled on GPU nodes.",
    ),
    spec(
        "pre-deployment.performance.caching-layer-configured",
        Major,
        &["performance", "redis", "cache"],
        "The Redis cache cuts repeated inference cost and latency, but requests still succeed without it.",
    ),
    spec(
        "pre-deployment.performance.cdn-configured-for-static-assets",
        Minor,
        &["performance", "cdn", "http"],
        "A CDN only speeds up static assets and does not affect the inference path.",
    ),
    attest(
        "pre-deployment.performance.database-connection-pooling-configured",
        Major,
        &["performance", "database"],
        "Pooling prevents connection storms under load, and its sizing lives in application code that a person must review.",
    ),
    // Deployment / Container Image
    spec(
        "deployment.container-image.multi-stage-dockerfile-optimized",
        Minor,
        &["container", "build"],
        "A multi-stage build makes images smaller and faster to pull but does not change behaviour.",
    ),
    spec(
        "deployment.container-image.image-scanned-for-vulnerabilities",
        Blocker,
        &["container", "security"],
        "The exact image being deployed must have no known critical vulnerabilities.",
    ),
    spec(
        "deployment.container-image.image-tagged-with-version",
        Critical,
        &["container", "kubernetes"],
        "A versioned tag or digest is what makes a rollback to the previous release possible.",
    ),
    after(
        spec(
            "deployment.container-image.image-pushed-to-registry",
            Critical,
            &["container", "registry"],
            "Pods cannot start if their image is not in the registry.",
        ),
        &["deployment.container-image.image-tagged-with-version"],
    ),
    spec(
        "deployment.container-image.image-pull-secrets-configured",
        Critical,
        &["container", "kubernetes", "secrets"],
        "Without pull secrets nodes cannot fetch the private image and pods stay in ImagePullBackOff.",
    ),
    // Deployment / Configuration
    spec(
        "deployment.configuration.environment-specific-configs-created",
        Major,
        &["configuration", "kubernetes"],
        "Production needs its own endpoints and limits, and staging values in production cause subtle failures.",
    ),
    spec(
        "deployment.configuration.secrets-injected-securely",
        Blocker,
        &["configuration", "security", "kubernetes", "secrets"],
        "Secrets written inline in manifests or environment files end up in version control and logs.",
    ),
    attest(
        "deployment.configuration.feature-flags-configured",
        Major,
        &["configuration"],
        "Which features should be on for this release is a product decision a person confirms.",
    ),
    spec(
        "deployment.configuration.debug-mode-disabled",
        Critical,
        &["configuration", "security"],
        "Debug mode leaks stack traces and internals to clients and slows the service down.",
    ),
    spec(
        "deployment.configuration.logging-level-set-to-info-or-warn",
        Minor,
        &["configuration", "logging"],
        "Debug logging costs storage and may log request payloads, but does not break the service.",
    ),
    // Deployment / Health Checks
    spec(
        "deployment.health-checks.liveness-probe-configured",
        Blocker,
        &["health", "kubernetes"],
        "Without a liveness probe a hung model server keeps its pod and never gets restarted.",
    ),
    spec(
        "deployment.health-checks.readiness-probe-configured",
        Blocker,
        &["health", "kubernetes"],
        "Without a readiness probe traffic reaches pods that are still loading model weights.",
    ),
    spec(
        "deployment.health-checks.startup-probe-configured",
        Blocker,
        &["health", "kubernetes"],
        "Slow model loading needs a startup probe, otherwise the liveness probe kills pods before they are up.",
    ),
    spec(
        "deployment.health-checks.health-check-endpoints-tested",
        Blocker,
        &["health", "http"],
        "Probes are only as good as the endpoints they call, which must answer correctly in both healthy and failing states.",
    ),
    // Post-Deployment / Verification
    spec(
        "post-deployment.verification.all-pods-running-and-ready",
        Blocker,
        &["verification", "kubernetes"],
        "Pods that are not running and ready mean the rollout has not actually happened.",
    ),
    after(
        spec(
            "post-deployment.verification.services-accessible-via-load-balancer",
            Blocker,
            &["verification", "network", "http", "kubernetes"],
            "Healthy pods are useless if the load balancer does not route client traffic to them.",
        ),
        &["post-deployment.verification.all-pods-running-and-ready"],
    ),
    after(
        spec(
            "post-deployment.verification.ssl-certificates-valid",
            Blocker,
            &["verification", "tls", "security"],
            "An expired, untrusted or wrong-host certificate makes every client connection fail.",
        ),
        &["post-deployment.verification.dns-resolution-working"],
    ),
    spec(
        "post-deployment.verification.dns-resolution-working",
        Critical,
        &["verification", "dns", "network"],
        "If the service name does not resolve to the load balancer, clients cannot reach the deployment.",
    ),
    after(
        spec(
            "post-deployment.verification.health-checks-passing",
            Blocker,
            &["verification", "health", "http"],
            "Failing health checks after the rollout mean the new release is not serving.",
        ),
        &["post-deployment.verification.all-pods-running-and-ready"],
    ),
    spec(
        "post-deployment.verification.metrics-flowing-to-monitoring",
        Critical,
        &["verification", "monitoring", "prometheus"],
        "Capacity thresholds and alerts are blind until the new pods' metrics reach Prometheus.",
    ),
    spec(
        "post-deployment.verification.logs-appearing-in-aggregation-system",
        Major,
        &["verification", "logging", "monitoring"],
        "Missing logs hamper diagnosis, but the service itself is unaffected.",
    ),
    // Post-Deployment / Testing
    after(
        spec(
            "post-deployment.testing.smoke-tests-passed",
            Critical,
            &["testing"],
            "Smoke tests are the quickest proof that the deployed release answers real requests.",
        ),
        &["post-deployment.verification.health-checks-passing"],
    ),
    after(
        spec(
            "post-deployment.testing.integration-tests-passed",
            Critical,
            &["testing"],
            "Integration tests show the release works with its real dependencies in production.",
        ),
        &["post-deployment.testing.smoke-tests-passed"],
    ),
    after(
        spec(
            "post-deployment.testing.performance-tests-passed",
            Major,
            &["testing", "performance"],
            "Performance regressions hurt users but rarely require an immediate rollback.",
        ),
        &["post-deployment.testing.smoke-tests-passed"],
    ),
    attest(
        "post-deployment.testing.failover-tests-completed",
        Major,
        &["testing", "resilience"],
        "Failover drills disturb production on purpose, so a person runs them and records the outcome.",
    ),
    spec(
        "post-deployment.testing.rollback-procedure-tested",
        Critical,
        &["testing", "kubernetes", "rollback"],
        "The rollback plan is only a plan until `kubectl rollout undo` has been shown to work.",
    ),
    // Post-Deployment / Documentation
    spec(
        "post-deployment.documentation.runbook-created",
        Minor,
        &["documentation"],
        "A runbook speeds up incident handling but does not affect the running service.",
    ),
    spec(
        "post-deployment.documentation.incident-response-plan-documented",
        Minor,
        &["documentation"],
        "A written incident plan helps responders coordinate but does not affect the running service.",
    ),
    attest(
        "post-deployment.documentation.on-call-rotation-configured",
        Minor,
        &["documentation", "on-call"],
        "Someone must be reachable when alerts fire, and only the team can confirm the rotation is staffed.",
    ),
    attest(
        "post-deployment.documentation.escalation-procedures-defined",
        Minor,
        &["documentation", "on-call"],
        "Escalation paths are agreements between people that no probe can read.",
    ),
    attest(
        "post-deployment.documentation.contact-information-updated",
        Minor,
        &["documentation", "on-call"],
        "Only the people listed can confirm their contact details are current.",
    ),
    // Compliance
    spec(
        "compliance.data-retention-policies-configured",
        Critical,
        &["compliance", "backup", "storage"],
        "Keeping data longer or shorter than policy allows is a legal exposure, enforced through storage lifecycle rules.",
    ),
    spec(
        "compliance.audit-logging-enabled",
        Critical,
        &["compliance", "security", "logging"],
        "Audit logs are required to reconstruct who did what during an incident or an audit.",
    ),
    attest(
        "compliance.gdpr-privacy-compliance-verified",
        Critical,
        &["compliance", "privacy"],
        "GDPR compliance is a legal assessment that a data protection officer signs off.",
    ),
    attest(
        "compliance.soc-2-requirements-met",
        Critical,
        &["compliance"],
        "SOC 2 controls are confirmed by the compliance owner against the audit scope.",
    ),
    attest(
        "compliance.hipaa-compliance-verified",
        Critical,
        &["compliance", "privacy"],
        "Where health data is processed, HIPAA safeguards are confirmed by the compliance owner.",
    ),
];

static NEXUS: LazyLock<Checklist> = LazyLock::new(|| {
    let mut checklist = crate::format::parse_rst(NEXUS_RST).expect("the embedded checklist parses (tested)");
    enrich(&mut checklist.sections);
    checklist.bindings = bindings::nexus_bindings();
    checklist.validate().expect("the enriched built-in checklist is valid (tested)");
    checklist
});

fn enrich(sections: &mut [crate::model::Section]) {
    for section in sections {
        for item in &mut section.items {
            let Some(spec) = SPECS.iter().find(|s| s.id == item.id.as_str()) else { continue };
            item.severity = spec.severity;
            item.description = Some(spec.why.to_string());
            item.tags = spec.tags.iter().map(|t| t.to_string()).collect();
            if spec.attest {
                item.verification = crate::model::Verification::Attestation;
            }
            item.after = spec.after.iter().filter_map(|a| ItemId::new(*a).ok()).collect();
        }
        enrich(&mut section.sections);
    }
}

/// The Nexus production deployment checklist: the source document parsed once and enriched
/// with severities, reasons, tags, attestations and dependencies; each call returns a clone.
///
/// # Panics
/// Never in practice: the embedded document is fixed at compile time, and the crate's tests
/// parse and validate it.
pub fn nexus() -> Checklist {
    NEXUS.clone()
}
