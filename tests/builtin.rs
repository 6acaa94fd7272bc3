//! The built-in Nexus checklist: structure, thresholds, rules, rollback, sign-off, enrichment.

use std::time::Duration;

use nexus_readiness::builtin::{self, NEXUS_MARKDOWN, NEXUS_RST};
use nexus_readiness::format;
use nexus_readiness::model::{Applicability, Block, Comparison, Direction, Level, Phase, Severity, Unit, Verification};

#[test]
fn embedded_document_is_the_spec_byte_for_byte() {
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/production_checklist.rst");
    match std::fs::read_to_string(&spec) {
        Ok(text) => assert_eq!(NEXUS_RST, text, "src/builtin/production_checklist.rst differs from {}", spec.display()),
        Err(_) => eprintln!("skipping: {} not found", spec.display()),
    }
    assert!(NEXUS_RST.starts_with(".. _production_checklist:\n\nProduction Deployment Checklist\n"));
}

#[test]
fn sections_and_item_counts() {
    let c = builtin::nexus();
    assert_eq!(c.id, "production-checklist");
    assert_eq!(c.title, "Production Deployment Checklist");
    assert_eq!(c.description.as_deref(), Some("Use this checklist before deploying Nexus to production."));
    let top: Vec<&str> = c.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        top,
        [
            "Pre-Deployment",
            "Deployment",
            "Post-Deployment",
            "Capacity Planning",
            "Rollback Plan",
            "Monitoring Dashboards",
            "Compliance",
            "Sign-off"
        ]
    );
    let subs: Vec<(&str, usize)> =
        c.sections.iter().flat_map(|s| s.sections.iter()).map(|s| (s.title.as_str(), s.items.len())).collect();
    assert_eq!(
        subs,
        [
            ("Infrastructure", 8),
            ("Security", 8),
            ("Performance", 6),
            ("Container Image", 5),
            ("Configuration", 5),
            ("Health Checks", 4),
            ("Verification", 7),
            ("Testing", 5),
            ("Documentation", 5)
        ]
    );
    assert_eq!(c.sections[6].items.len(), 5, "Compliance");
    assert_eq!(c.items().count(), 58);
    let phases: Vec<Option<Phase>> = c.sections.iter().map(|s| s.phase).collect();
    assert_eq!(
        phases,
        [
            Some(Phase::PreDeployment),
            Some(Phase::Deployment),
            Some(Phase::PostDeployment),
            Some(Phase::Continuous),
            None,
            Some(Phase::Continuous),
            Some(Phase::Continuous),
            None
        ]
    );
    assert_eq!(c.items_in_phase(Phase::PreDeployment).len(), 22);
    assert_eq!(c.items_in_phase(Phase::Deployment).len(), 14);
    assert_eq!(c.items_in_phase(Phase::PostDeployment).len(), 17);
    assert_eq!(c.items_in_phase(Phase::Continuous).len(), 5);
    assert_eq!(c.sections[3].blocks, [Block::Thresholds]);
    assert_eq!(c.sections[4].blocks, [Block::Rollback]);
    assert_eq!(c.sections[5].blocks, [Block::KeyMetrics, Block::AlertRules]);
    assert_eq!(c.sections[7].blocks, [Block::SignOff]);
}

#[test]
fn ids_are_unique_and_stable() {
    let c = builtin::nexus();
    let mut ids: Vec<&str> = c.items().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 58);
    for id in [
        "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested",
        "pre-deployment.infrastructure.backup-storage-configured",
        "pre-deployment.security.secrets-management-configured",
        "pre-deployment.performance.resource-limits-set",
        "deployment.container-image.multi-stage-dockerfile-optimized",
        "deployment.configuration.logging-level-set-to-info-or-warn",
        "deployment.health-checks.startup-probe-configured",
        "post-deployment.verification.ssl-certificates-valid",
        "post-deployment.documentation.on-call-rotation-configured",
        "compliance.audit-logging-enabled",
        "compliance.gdpr-privacy-compliance-verified",
        "compliance.soc-2-requirements-met",
    ] {
        assert!(c.item(id).is_some(), "missing id {id}");
    }
    assert_eq!(c.items().next().unwrap().id, "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested");
    assert_eq!(c.items().last().unwrap().id, "compliance.hipaa-compliance-verified");
}

#[test]
fn capacity_thresholds_evaluate_like_the_table() {
    let c = builtin::nexus();
    let metrics: Vec<&str> = c.thresholds.iter().map(|t| t.metric.as_str()).collect();
    assert_eq!(metrics, ["GPU Utilization", "Memory Usage", "Request Latency", "Error Rate"]);
    assert!(c.thresholds.iter().all(|t| t.direction == Direction::Ceiling));

    let gpu = &c.thresholds[0];
    assert_eq!((gpu.unit, gpu.healthy, gpu.breach), (Unit::Percent, 70.0, 85.0));
    assert_eq!(gpu.evaluate(60.0).level, Level::Ok);
    assert_eq!(gpu.evaluate(60.0).action.as_deref(), Some("Scale up"), "the action is named at every level");
    assert_eq!(gpu.evaluate(80.0).level, Level::Warn);
    let breach = gpu.evaluate(90.0);
    assert_eq!(breach.level, Level::Breach);
    assert_eq!(breach.action.as_deref(), Some("Scale up"));

    let memory = &c.thresholds[1];
    assert_eq!(memory.evaluate(86.0).action.as_deref(), Some("Scale up"));

    let latency = &c.thresholds[2];
    assert_eq!((latency.unit, latency.healthy, latency.breach), (Unit::Milliseconds, 200.0, 500.0));
    assert_eq!(latency.evaluate(150.0).level, Level::Ok);
    assert_eq!(latency.evaluate(300.0).level, Level::Warn);
    let slow = latency.evaluate(650.0);
    assert_eq!((slow.level, slow.action.as_deref()), (Level::Breach, Some("Optimize")));
    assert_eq!(latency.evaluate_in(0.15, Unit::Seconds).unwrap().level, Level::Ok);
    assert_eq!(latency.evaluate_in(0.3, Unit::Seconds).unwrap().level, Level::Warn);
    assert_eq!(latency.evaluate_in(0.75, Unit::Seconds).unwrap().level, Level::Breach);

    let errors = &c.thresholds[3];
    assert_eq!((errors.unit, errors.healthy, errors.breach), (Unit::Percent, 0.1, 1.0));
    assert_eq!(errors.evaluate(0.05).level, Level::Ok);
    assert_eq!(errors.evaluate(0.5).level, Level::Warn);
    let e = errors.evaluate(2.0);
    assert_eq!((e.level, e.action.as_deref()), (Level::Breach, Some("Investigate")));
    assert_eq!(errors.evaluate_in(0.02, Unit::Ratio).unwrap().level, Level::Breach);
}

#[test]
fn alerting_rules_and_key_metrics() {
    let c = builtin::nexus();
    assert_eq!(
        c.key_metrics,
        [
            "Request rate and latency",
            "Error rate (4xx, 5xx)",
            "GPU utilization",
            "Memory usage",
            "Queue depth",
            "Cache hit rate"
        ]
    );
    let names: Vec<&str> = c.alert_rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["High error rate", "High latency", "GPU OOM errors", "Pod restart loops", "Disk space"]);
    let windows: Vec<Option<Duration>> = c.alert_rules.iter().map(|r| r.window).collect();
    assert_eq!(windows, [Some(Duration::from_secs(300)), Some(Duration::from_secs(600)), None, None, None]);

    let error_rate = c.alert_rules[0].condition.as_ref().unwrap();
    assert_eq!((error_rate.op, error_rate.value, error_rate.unit), (Comparison::Gt, 5.0, Unit::Percent));
    assert!(error_rate.fires(6.0, Unit::Percent).unwrap());
    assert!(!error_rate.fires(0.04, Unit::Ratio).unwrap());

    let latency = c.alert_rules[1].condition.as_ref().unwrap();
    assert_eq!(latency.aggregation.as_deref(), Some("p99"));
    assert_eq!((latency.op, latency.value, latency.unit), (Comparison::Gt, 1.0, Unit::Seconds));
    assert!(latency.fires(1200.0, Unit::Milliseconds).unwrap());
    assert_eq!(c.alert_rules[1].alert_name(), "HighLatency");

    assert_eq!(c.alert_rules[2].condition, None);
    assert_eq!(c.alert_rules[3].condition, None);
    let disk = c.alert_rules[4].condition.as_ref().unwrap();
    assert_eq!((disk.op, disk.value, disk.unit), (Comparison::Gt, 80.0, Unit::Percent));
}

#[test]
fn rollback_plan_and_sign_off() {
    let c = builtin::nexus();
    assert_eq!(c.rollback.len(), 3);
    let immediate = &c.rollback[0];
    assert_eq!((immediate.order, immediate.title.as_str()), (1, "Immediate"));
    assert_eq!(immediate.command.as_deref(), Some("kubectl rollout undo deployment/nexus"));
    assert_eq!(immediate.language.as_deref(), Some("bash"));
    assert!(immediate.actions.is_empty());
    assert_eq!((c.rollback[1].order, c.rollback[1].title.as_str()), (2, "Database"));
    assert_eq!(c.rollback[1].actions, ["Restore from latest backup", "Verify data integrity"]);
    assert_eq!(c.rollback[1].command, None);
    assert_eq!(c.rollback[2].title, "Communication");
    assert_eq!(c.rollback[2].actions, ["Notify stakeholders", "Update status page", "Create incident report"]);

    let roles: Vec<&str> = c.sign_off.iter().map(|s| s.role.as_str()).collect();
    assert_eq!(roles, ["Tech Lead", "Security Lead", "DevOps Lead", "Product Owner"]);
    assert!(c.sign_off.iter().all(|s| s.name.is_none() && s.date.is_none() && s.signature.is_none()));
    assert!(!c.is_signed_off());
}

#[test]
fn attestation_only_items() {
    let c = builtin::nexus();
    let attested: Vec<&str> =
        c.items().filter(|i| i.verification == Verification::Attestation).map(|i| i.id.as_str()).collect();
    assert_eq!(
        attested,
        [
            "pre-deployment.infrastructure.network-security-groups-configured",
            "pre-deployment.security.penetration-testing-performed",
            "pre-deployment.performance.load-testing-completed",
            "pre-deployment.performance.database-connection-pooling-configured",
            "deployment.configuration.feature-flags-configured",
            "post-deployment.testing.failover-tests-completed",
            "post-deployment.documentation.on-call-rotation-configured",
            "post-deployment.documentation.escalation-procedures-defined",
            "post-deployment.documentation.contact-information-updated",
            "compliance.gdpr-privacy-compliance-verified",
            "compliance.soc-2-requirements-met",
            "compliance.hipaa-compliance-verified",
        ]
    );
}

#[test]
fn severities_descriptions_tags_and_dependencies() {
    let c = builtin::nexus();
    for item in c.items() {
        let d = item.description.as_deref().unwrap_or_else(|| panic!("{} has no description", item.id));
        assert!(d.ends_with('.') && !d.contains(". "), "{}: one sentence: {d}", item.id);
        assert!(!item.tags.is_empty(), "{} has no tags", item.id);
    }
    // Every Security item, the health checks, pods, and certificates are blockers.
    let security = &c.sections[0].sections[1];
    assert!(security.items.iter().all(|i| i.severity == Severity::Blocker));
    let health = &c.sections[1].sections[2];
    assert!(health.items.iter().all(|i| i.severity == Severity::Blocker));
    for id in [
        "post-deployment.verification.all-pods-running-and-ready",
        "post-deployment.verification.ssl-certificates-valid",
        "pre-deployment.infrastructure.load-balancer-ssl-certificates-installed",
        "post-deployment.verification.health-checks-passing",
    ] {
        assert_eq!(c.item(id).unwrap().severity, Severity::Blocker, "{id}");
    }
    let docs = &c.sections[2].sections[2];
    assert!(docs.items.iter().all(|i| i.severity == Severity::Minor && i.has_tag("documentation")));
    assert!(c.items().all(|i| i.has_tag("security") || !security.items.contains(i)));

    let tagged = |t: &str| c.items_tagged(t).len();
    for tag in ["security", "gpu", "kubernetes", "tls", "dns", "monitoring", "backup", "documentation", "compliance"] {
        assert!(tagged(tag) > 0, "no item tagged {tag}");
    }
    assert_eq!(
        c.items_tagged("tls").iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [
            "pre-deployment.infrastructure.load-balancer-ssl-certificates-installed",
            "post-deployment.verification.ssl-certificates-valid"
        ]
    );
    assert!(c.items_with_severity(Severity::Blocker).len() >= 20);
    assert!(c.items().filter(|i| i.gates()).count() > c.items().filter(|i| !i.gates()).count());

    let ssl = c.item("post-deployment.verification.ssl-certificates-valid").unwrap();
    assert_eq!(ssl.after, ["post-deployment.verification.dns-resolution-working"]);
    let smoke = c.item("post-deployment.testing.smoke-tests-passed").unwrap();
    assert_eq!(smoke.after, ["post-deployment.verification.health-checks-passing"]);

    let startup = c.item("deployment.health-checks.startup-probe-configured").unwrap();
    assert_eq!(startup.applicability, Applicability::IfNeeded);
    for id in ["compliance.soc-2-requirements-met", "compliance.hipaa-compliance-verified"] {
        assert_eq!(c.item(id).unwrap().applicability, Applicability::IfApplicable);
    }
    assert_eq!(c.items().filter(|i| i.applicability != Applicability::Always).count(), 3);
    c.validate().unwrap();
}

#[test]
fn markdown_parses_to_the_same_checklist_as_rst() {
    let rst = format::parse_rst(NEXUS_RST).unwrap();
    assert_eq!(format::parse_markdown(NEXUS_MARKDOWN).unwrap(), rst);
    // The enrichment only adds to the parsed document.
    let built = builtin::nexus();
    assert_eq!(built.thresholds, rst.thresholds);
    assert_eq!(built.alert_rules, rst.alert_rules);
    assert_eq!(built.rollback, rst.rollback);
    assert_eq!(built.sign_off, rst.sign_off);
    let titles =
        |c: &nexus_readiness::model::Checklist| c.items().map(|i| (i.id.clone(), i.title.clone())).collect::<Vec<_>>();
    assert_eq!(titles(&built), titles(&rst));
}

#[test]
fn the_enriched_checklist_round_trips_through_both_documents_and_json() {
    let c = builtin::nexus();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<nexus_readiness::model::Checklist>(&json).unwrap(), c);
    // A rendering carries the enrichment too (item attributes and descriptions), so re-parsing
    // it gives the enriched checklist; the source document itself has none of it.
    // The default bindings are config data, not part of the document.
    let mut document = c.clone();
    document.bindings.clear();
    assert_eq!(format::parse_rst(&format::render_rst(&c)).unwrap(), document);
    assert_eq!(format::parse_markdown(&format::render_markdown(&c)).unwrap(), document);
    // Each call is an independent clone.
    let mut changed = builtin::nexus();
    changed.sections.clear();
    assert_eq!(builtin::nexus().items().count(), 58);
}
