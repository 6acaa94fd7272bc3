//! The checklist model: thresholds, units, validation errors, lookups, serde.

use std::time::Duration;

use nexus_readiness::builtin;
use nexus_readiness::model::{
    AlertRule, Applicability, Checklist, Comparison, Condition, Direction, Item, ItemId, Level, ModelError, Phase,
    Section, Severity, Threshold, Unit, duration, slugify,
};

#[test]
fn ceiling_threshold_levels_and_boundaries() {
    let t = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up").unwrap();
    assert_eq!(t.evaluate(69.9).level, Level::Ok);
    // Bounds themselves are Warn: healthy is strictly below, breach strictly above.
    assert_eq!(t.evaluate(70.0).level, Level::Warn);
    assert_eq!(t.evaluate(85.0).level, Level::Warn);
    assert_eq!(t.evaluate(85.01).level, Level::Breach);
    assert_eq!(t.evaluate(f64::NAN).level, Level::Breach, "an unreadable metric is not healthy");
    let e = t.evaluate(90.0);
    assert_eq!(e.action.as_deref(), Some("Scale up"));
    assert_eq!(e.to_string(), "GPU Utilization 90%: breach (> 85%): Scale up");
    assert_eq!(t.evaluate(80.0).to_string(), "GPU Utilization 80%: warn (healthy < 70%, breach > 85%)");
    assert_eq!(t.healthy_text(), "< 70%");
    assert_eq!(t.breach_text(), "> 85%");
}

#[test]
fn floor_threshold_levels_and_boundaries() {
    let t = Threshold::floor("Certificate validity", Unit::Days, 30.0, 7.0, "Renew").unwrap();
    assert_eq!(t.direction, Direction::Floor);
    assert_eq!(t.evaluate(45.0).level, Level::Ok);
    assert_eq!(t.evaluate(30.0).level, Level::Warn);
    assert_eq!(t.evaluate(7.0).level, Level::Warn);
    assert_eq!(t.evaluate(6.0).level, Level::Breach);
    assert_eq!(t.evaluate(6.0).action.as_deref(), Some("Renew"));
    assert_eq!(t.evaluate(45.0).action.as_deref(), Some("Renew"), "the action is named at every level");
    assert_eq!(t.healthy_text(), "> 30d");
    assert_eq!(t.breach_text(), "< 7d");
    // Equal bounds are allowed: no Warn band.
    let sharp = Threshold::ceiling("Replicas down", Unit::Count, 0.0, 0.0, "Page").unwrap();
    assert_eq!(sharp.evaluate(0.0).level, Level::Warn);
    assert_eq!(sharp.evaluate(1.0).level, Level::Breach);
}

#[test]
fn inconsistent_thresholds_are_rejected() {
    let e = Threshold::ceiling("Latency", Unit::Milliseconds, 500.0, 200.0, "Optimize").unwrap_err();
    assert_eq!(
        e.to_string(),
        "inconsistent threshold for `Latency`: healthy bound < 500ms is above the breach bound > 200ms (higher values are worse)"
    );
    let e = Threshold::floor("Free disk", Unit::Percent, 10.0, 20.0, "Clean up").unwrap_err();
    assert!(matches!(e, ModelError::InvalidThreshold { ref metric, .. } if metric == "Free disk"), "{e}");
    let e = Threshold::ceiling("X", Unit::Count, f64::NAN, 1.0, "a").unwrap_err();
    assert_eq!(e.to_string(), "inconsistent threshold for `X`: bounds must be finite numbers");
    let e = Threshold::ceiling(" ", Unit::Count, 1.0, 2.0, "a").unwrap_err();
    assert!(e.to_string().contains("the metric name is empty"), "{e}");

    // A checklist loaded with an inconsistent threshold is rejected too.
    let json = r#"{"id":"x","title":"X","thresholds":[{"metric":"GPU","unit":"percent","direction":"ceiling","healthy":90,"breach":80,"action":"Scale up"}]}"#;
    let c: Checklist = serde_json::from_str(json).unwrap();
    assert!(matches!(c.validate(), Err(ModelError::InvalidThreshold { metric, .. }) if metric == "GPU"));
}

#[test]
fn unit_conversion() {
    assert_eq!(Unit::Seconds.convert(0.25, Unit::Milliseconds).unwrap(), 250.0);
    assert_eq!(Unit::Milliseconds.convert(1500.0, Unit::Seconds).unwrap(), 1.5);
    assert_eq!(Unit::Days.convert(1.0, Unit::Seconds).unwrap(), 86_400.0);
    assert_eq!(Unit::Ratio.convert(0.02, Unit::Percent).unwrap(), 2.0);
    assert_eq!(Unit::Percent.convert(50.0, Unit::Ratio).unwrap(), 0.5);
    let e = Unit::Percent.convert(1.0, Unit::Bytes).unwrap_err();
    assert_eq!(e.to_string(), "invalid unit `percent -> bytes`: units measure different quantities");
    let latency = Threshold::ceiling("Request Latency", Unit::Milliseconds, 200.0, 500.0, "Optimize").unwrap();
    assert_eq!(latency.evaluate_in(0.6, Unit::Seconds).unwrap().level, Level::Breach);
    assert_eq!(latency.evaluate_in(0.6, Unit::Seconds).unwrap().value, 600.0);
    assert!(latency.evaluate_in(1.0, Unit::Bytes).is_err());
    assert_eq!(Unit::Percent.format(0.1), "0.1%");
    assert_eq!(Unit::Milliseconds.format(500.0), "500ms");
}

#[test]
fn alert_conditions() {
    let c = Condition::new(Comparison::Gt, 1.0, Unit::Seconds).aggregation("p99");
    assert_eq!(c.to_string(), "p99 > 1s");
    assert!(c.fires(1.2, Unit::Seconds).unwrap());
    assert!(!c.fires(900.0, Unit::Milliseconds).unwrap());
    let rule = AlertRule::new("High latency").condition(c).window(Duration::from_secs(600));
    assert_eq!(rule.display(), "High latency (p99 > 1s for 10m)");
    assert_eq!(rule.alert_name(), "HighLatency");
}

#[test]
fn durations() {
    assert_eq!(duration::parse("5 minutes").unwrap(), Duration::from_secs(300));
    assert_eq!(duration::format(Duration::from_secs(5400)), "1h30m");
    assert!(duration::parse("5 fortnights").unwrap_err().to_string().contains("unknown unit `fortnights`"));
}

fn two_sections() -> Checklist {
    Checklist::builder("demo", "Demo")
        .section(
            Section::new("Pre-Deployment").phase(Phase::PreDeployment).section(
                Section::new("Security")
                    .item(Item::new("API authentication enabled").severity(Severity::Blocker).tag("security"))
                    .item(Item::new("Rate limiting configured").severity(Severity::Critical).tag("security")),
            ),
        )
        .section(
            Section::new("Post-Deployment")
                .phase(Phase::PostDeployment)
                .item(Item::new("DNS resolution working").severity(Severity::Critical).tag("dns"))
                .item(
                    Item::new("SSL certificates valid")
                        .severity(Severity::Blocker)
                        .tag("tls")
                        .tag("security")
                        .after(ItemId::new("post-deployment.dns-resolution-working").unwrap()),
                )
                .item(Item::new("Runbook created").severity(Severity::Minor)),
        )
        .build()
        .unwrap()
}

#[test]
fn lookups_by_id_phase_severity_and_tag_in_document_order() {
    let c = two_sections();
    let ids = |items: Vec<&Item>| items.into_iter().map(|i| i.id.to_string()).collect::<Vec<_>>();
    assert_eq!(c.item("pre-deployment.security.rate-limiting-configured").unwrap().title, "Rate limiting configured");
    assert!(c.item("pre-deployment.rate-limiting-configured").is_none());
    assert_eq!(
        ids(c.items_in_phase(Phase::PreDeployment)),
        ["pre-deployment.security.api-authentication-enabled", "pre-deployment.security.rate-limiting-configured"]
    );
    assert_eq!(c.phase_of("post-deployment.runbook-created"), Some(Phase::PostDeployment));
    assert_eq!(
        ids(c.items_with_severity(Severity::Blocker)),
        ["pre-deployment.security.api-authentication-enabled", "post-deployment.ssl-certificates-valid"]
    );
    assert_eq!(
        ids(c.items_tagged("security")),
        [
            "pre-deployment.security.api-authentication-enabled",
            "pre-deployment.security.rate-limiting-configured",
            "post-deployment.ssl-certificates-valid"
        ]
    );
    assert!(c.items_tagged("gpu").is_empty());
    assert_eq!(c.section_path("pre-deployment.security.rate-limiting-configured"), ["Pre-Deployment", "Security"]);
    let closest = c.closest_ids("post-deployment.ssl-certificate-valid", 1);
    assert_eq!(closest[0].as_str(), "post-deployment.ssl-certificates-valid");
    assert!(c.item("post-deployment.runbook-created").is_some_and(|i| !i.gates()));
}

#[test]
fn validation_errors_name_the_item() {
    let dup = Checklist::builder("d", "D")
        .section(Section::new("S").item(Item::new("Image pushed")).item(Item::new("Image pushed (to registry)")))
        .build()
        .unwrap_err();
    assert_eq!(
        dup,
        ModelError::DuplicateId {
            id: "s.image-pushed".into(),
            first: "Image pushed".into(),
            second: "Image pushed (to registry)".into()
        }
    );
    assert_eq!(
        dup.to_string(),
        "duplicate item id `s.image-pushed`: `Image pushed` and `Image pushed (to registry)` have the same id"
    );

    let empty = Checklist::builder("d", "D")
        .section(Section::new("S").item(Item::new("   ").id(ItemId::new("s.blank").unwrap())))
        .build()
        .unwrap_err();
    assert_eq!(empty.to_string(), "empty title in item `s.blank`");
    let empty_section = Checklist::builder("d", "D")
        .keep_ids()
        .section(Section::new("").item(Item::new("x").id(ItemId::new("x").unwrap())))
        .build()
        .unwrap_err();
    assert!(empty_section.to_string().starts_with("empty title in section"), "{empty_section}");

    let unknown = Checklist::builder("d", "D")
        .section(Section::new("S").item(Item::new("TLS valid").after(ItemId::new("s.dns-working").unwrap())))
        .build()
        .unwrap_err();
    assert_eq!(unknown.to_string(), "item `s.tls-valid` depends on unknown item `s.dns-working`");

    let cycle = Checklist::builder("d", "D")
        .section(
            Section::new("S")
                .item(Item::new("A").after(ItemId::new("s.b").unwrap()))
                .item(Item::new("B").after(ItemId::new("s.c").unwrap()))
                .item(Item::new("C").after(ItemId::new("s.a").unwrap())),
        )
        .build()
        .unwrap_err();
    match cycle {
        ModelError::DependencyCycle { item } => assert!(["s.a", "s.b", "s.c"].contains(&item.as_str()), "{item}"),
        other => panic!("expected a cycle, got {other}"),
    }
    let self_loop = Checklist::builder("d", "D")
        .section(Section::new("S").item(Item::new("A").after(ItemId::new("s.a").unwrap())))
        .build()
        .unwrap_err();
    assert_eq!(self_loop.to_string(), "dependency cycle through item `s.a`");

    let bad = ItemId::new("Pre-Deployment.x").unwrap_err();
    assert_eq!(
        bad.to_string(),
        "invalid item id `Pre-Deployment.x`: character `P` is not allowed (use a-z, 0-9, `-`, `.`)"
    );
    assert!(ItemId::new("a..b").unwrap_err().to_string().contains("empty segment"));
}

#[test]
fn items_split_their_applicability_qualifier() {
    let item = Item::new("Startup probe configured (if needed)");
    assert_eq!((item.title.as_str(), item.applicability), ("Startup probe configured", Applicability::IfNeeded));
    assert_eq!(item.display_title(), "Startup probe configured (if needed)");
    let item = Item::new("HIPAA compliance verified (If Applicable)");
    assert_eq!(item.applicability, Applicability::IfApplicable);
    // Non-ASCII text just before where a qualifier would start (found by fuzzing: this panicked).
    let item = Item::new("Liveness probe configure- [ ] ɓl pods running");
    assert_eq!(item.applicability, Applicability::Always);
    assert_eq!(
        slugify("Secrets management configured (Kubernetes secrets/AWS Secrets Manager)"),
        "secrets-management-configured"
    );
}

#[test]
fn serde_json_round_trip_of_the_whole_checklist() {
    let c = builtin::nexus();
    let json = serde_json::to_string_pretty(&c).unwrap();
    let back: Checklist = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    back.validate().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["alert_rules"][0]["window"], "5m");
    assert_eq!(v["alert_rules"][1]["condition"]["op"], ">");
    assert_eq!(v["sections"][0]["phase"], "pre-deployment");
    assert_eq!(v["sections"][3]["blocks"][0], "thresholds");
    assert_eq!(v["sections"][0]["sections"][0]["items"][1]["verification"], "attestation");
    assert_eq!(v["sections"][0]["sections"][0]["items"][0]["severity"], "blocker");
    let small = two_sections();
    assert_eq!(serde_json::from_str::<Checklist>(&serde_json::to_string(&small).unwrap()).unwrap(), small);
    // Ids are validated when deserialized.
    let bad = r#"{"id":"x","title":"X","sections":[{"id":"Bad Id","title":"S"}]}"#;
    assert!(serde_json::from_str::<Checklist>(bad).unwrap_err().to_string().contains("invalid item id `Bad Id`"));
}

#[test]
fn model_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Checklist>();
    assert_send_sync::<ModelError>();
    assert_send_sync::<nexus_readiness::format::FormatError>();
}

#[test]
fn default_bindings_are_validated_with_the_checklist() {
    use nexus_readiness::model::Binding;
    let base = || {
        Checklist::builder("team", "Team")
            .section(Section::new("Data").item(Item::new("Cache up")).item(Item::new("Queue up")))
    };
    let ok = base()
        .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
        .binding(Binding::new("data.queue-up", "redis", "targets.cache"))
        .build()
        .unwrap();
    assert_eq!(ok.target_keys(), vec![("targets.cache", "redis")]);
    assert_eq!(ok.binding("data.queue-up").unwrap().kind, "redis");
    let cases = [
        (Binding::new("data.cache-upp", "redis", "targets.cache"), "default binding of `data.cache-upp`: no such item"),
        (
            Binding::new("data.cache-up", "", "targets.cache"),
            "default binding of `data.cache-up`: the probe kind is empty",
        ),
        (
            Binding::new("data.cache-up", "redis", "cache"),
            "default binding of `data.cache-up`: target `cache` is not a `targets.` key of bare words (`targets.redis`)",
        ),
        (
            Binding::new("data.cache-up", "redis", "targets.a b"),
            "default binding of `data.cache-up`: target `targets.a b` is not a `targets.` key of bare words (`targets.redis`)",
        ),
    ];
    for (b, message) in cases {
        assert_eq!(base().binding(b).build().unwrap_err().to_string(), message);
    }
    let two_kinds = base()
        .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
        .binding(Binding::new("data.queue-up", "tcp", "targets.cache"))
        .build()
        .unwrap_err();
    assert_eq!(
        two_kinds.to_string(),
        "default binding of `data.queue-up`: target `targets.cache` is read as `redis` by `data.cache-up`, not as `tcp`"
    );
    let nested = base()
        .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
        .binding(Binding::new("data.queue-up", "tcp", "targets.cache.queue"))
        .build()
        .unwrap_err();
    assert!(
        nested.to_string().ends_with("target `targets.cache.queue` lies inside target `targets.cache`"),
        "{nested}"
    );
    let twice = base()
        .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
        .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
        .build()
        .unwrap_err();
    assert!(twice.to_string().ends_with("the item has two default bindings"), "{twice}");
}
