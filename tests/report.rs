//! Reports produced by real runs, rendered in every format and read back with real parsers.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use nexus_readiness::model::{Checklist, Item, Phase, Section, Severity, SignOff, Threshold, Unit};
use nexus_readiness::probe::{
    Attestation, FnProbe, ManualClock, Measurement, Observation, ProbeError, ProbeExt, Secret, Waiver,
};
use nexus_readiness::report::{self, EXIT_PLAN_ERROR, Format, Report, Status};
use nexus_readiness::run::{Plan, Runner};

const TOKEN: &str = "sk-live-4f9a8b7c6d5e";

fn checklist() -> Checklist {
    Checklist::builder("production-checklist", "Production Deployment Checklist")
        .section(
            Section::new("Pre-Deployment")
                .phase(Phase::PreDeployment)
                .section(
                    Section::new("Infrastructure")
                        .item(Item::new("GPU nodes provisioned and tested").severity(Severity::Blocker))
                        .item(Item::new("DNS records configured").severity(Severity::Critical))
                        .item(Item::new("Backup storage configured (S3/GCS/Azure Blob)").severity(Severity::Major)),
                )
                .section(
                    Section::new("Security")
                        .item(Item::new("API authentication enabled").severity(Severity::Blocker))
                        .item(
                            Item::new("Penetration testing performed").attestation_only().severity(Severity::Critical),
                        )
                        .item(Item::new("Rate limiting configured").severity(Severity::Major)),
                ),
        )
        .section(
            Section::new("Deployment").phase(Phase::Deployment).section(
                Section::new("Health Checks")
                    .item(Item::new("Liveness probe configured").severity(Severity::Blocker))
                    .item(Item::new("Startup probe configured (if needed)").severity(Severity::Major))
                    .item(Item::new("Autoscaling verified").severity(Severity::Critical))
                    .item(Item::new("Escalation procedures documented").attestation_only().severity(Severity::Minor)),
            ),
        )
        .sign_off(SignOff::new("Engineering Lead").signed("Ada", "2026-01-14", "ada"))
        .sign_off(SignOff::new("Security Lead"))
        .build()
        .unwrap()
}

/// A report with every status, measurements with awkward labels, and a planted secret.
async fn sample_report() -> Report {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0).unwrap());
    let mut plan = Plan::new(checklist());
    let secret = Secret::new(TOKEN);
    plan.secret(&secret);
    let gpu = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up").unwrap();
    plan.bind(
        "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested",
        FnProbe::new("nvml://local", |_cx| async move {
            Ok(Observation::pass("2 GPUs healthy")
                .with_measurement(Measurement::new("gpu_utilization", 78.5, Unit::Percent).label("gpu", "0"))
                .with_measurement(
                    Measurement::new("gpu_utilization", 12.0, Unit::Percent)
                        .label("gpu", "1")
                        .label("model", "NVIDIA \"H100\"\nSXM\\5"),
                ))
        })
        .threshold("gpu_utilization", gpu),
    )
    .unwrap();
    let tok = secret.clone();
    plan.bind(
        "pre-deployment.infrastructure.dns-records-configured",
        FnProbe::new("dns://api.nexus.example", move |_cx| {
            let tok = tok.clone();
            async move {
                Ok(Observation::fail(format!(
                    "api.nexus.example answered NXDOMAIN (queried with key {})",
                    tok.expose()
                ))
                .with_evidence("resolver_note", format!("upstream echoed {}", tok.expose())))
            }
        }),
    )
    .unwrap();
    plan.bind(
        "pre-deployment.infrastructure.backup-storage-configured",
        FnProbe::new("s3://backups", |_cx| async move { Err(ProbeError::not_configured("targets.s3.bucket")) }),
    )
    .unwrap();
    let tok = secret.clone();
    plan.bind(
        "pre-deployment.security.api-authentication-enabled",
        FnProbe::new("https://api.nexus.example/v1/infer", move |_cx| {
            let tok = tok.clone();
            async move {
                Err(ProbeError::unreachable(format!(
                    "connection refused by 10.0.0.7:443 <proxy> & \"gw\" token={}",
                    tok.expose()
                )))
            }
        }),
    )
    .unwrap();
    plan.attest(
        "pre-deployment.security.penetration-testing-performed",
        Attestation::new("Sec Team", Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()).evidence("https://wiki/pt"),
    )
    .unwrap();
    plan.bind(
        "deployment.health-checks.liveness-probe-configured",
        FnProbe::new("k8s://deploy/nexus", |_cx| async move { Ok(Observation::warn("period 30s is long # slow")) }),
    )
    .unwrap();
    plan.not_applicable("deployment.health-checks.startup-probe-configured", "model loads in 5s").unwrap();
    plan.bind(
        "deployment.health-checks.autoscaling-verified",
        FnProbe::new("k8s://hpa/nexus", |_cx| async move { Ok(Observation::fail("no HPA for deploy/nexus")) }),
    )
    .unwrap();
    plan.waive(
        "deployment.health-checks.autoscaling-verified",
        Waiver::new("manual scaling in Q1", "VP Eng", NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()),
    )
    .unwrap();
    Runner::builder().clock(Arc::new(clock)).build().run(&plan).await
}

fn status(report: &Report, id: &str) -> Status {
    report.item(id).unwrap_or_else(|| panic!("no item {id}")).status
}

#[tokio::test]
async fn the_sample_has_every_status() {
    let r = sample_report().await;
    assert_eq!(status(&r, "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested"), Status::Warn);
    assert_eq!(status(&r, "pre-deployment.infrastructure.dns-records-configured"), Status::Fail);
    assert_eq!(status(&r, "pre-deployment.infrastructure.backup-storage-configured"), Status::Skipped);
    assert_eq!(status(&r, "pre-deployment.security.api-authentication-enabled"), Status::Error);
    assert_eq!(status(&r, "pre-deployment.security.penetration-testing-performed"), Status::Attested);
    assert_eq!(status(&r, "pre-deployment.security.rate-limiting-configured"), Status::Skipped);
    assert_eq!(status(&r, "deployment.health-checks.liveness-probe-configured"), Status::Warn);
    assert_eq!(status(&r, "deployment.health-checks.startup-probe-configured"), Status::Skipped);
    assert_eq!(status(&r, "deployment.health-checks.autoscaling-verified"), Status::Waived);
    assert_eq!(status(&r, "deployment.health-checks.escalation-procedures-documented"), Status::Pending);
    assert!(!r.ready());
    assert_eq!(r.exit_code(), 1);
    assert_eq!(EXIT_PLAN_ERROR, 2);
    assert!(!r.signed_off());
    let gpu = r.item("pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested").unwrap();
    let evaluated: Vec<_> = gpu.measurements().filter_map(|m| m.evaluation.as_ref()).collect();
    assert_eq!(evaluated.len(), 2, "the threshold evaluated both GPUs");
    assert_eq!(
        r.summary().to_string(),
        "10 items: 2 warn, 1 fail, 1 error, 3 skipped, 1 pending, 1 attested, 1 waived"
    );
}

#[tokio::test]
async fn no_renderer_prints_a_registered_secret() {
    let r = sample_report().await;
    let dns = r.item("pre-deployment.infrastructure.dns-records-configured").unwrap();
    assert!(dns.reason.contains("[redacted]"), "{}", dns.reason);
    let obs = dns.probes[0].observation.as_ref().unwrap();
    assert_eq!(obs.evidence.get("resolver_note"), Some("upstream echoed [redacted]"));
    let auth = r.item("pre-deployment.security.api-authentication-enabled").unwrap();
    assert!(auth.reason.ends_with("token=[redacted]"), "{}", auth.reason);
    assert!(!format!("{r:?}").contains(TOKEN));
    for f in Format::ALL {
        let out = r.render(f);
        assert!(!out.is_empty());
        assert!(!out.contains(TOKEN), "{f} rendering leaks the token");
        assert!(!out.contains("sk-live"), "{f} rendering leaks part of the token");
    }
    for verbose in [false, true] {
        let out = report::text::render(&r, verbose);
        assert!(!out.contains("sk-live"), "the text summary leaks the token:\n{out}");
    }
    assert!(!r.headline().contains("sk-live"));
}

#[tokio::test]
async fn json_round_trips_with_stable_field_names() {
    let r = sample_report().await;
    let json = r.render(Format::Json);
    let back = report::json::parse(&json).unwrap();
    assert_eq!(back, r);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in
        ["checklist", "title", "started", "finished", "duration_seconds", "items", "summary", "ready", "signed_off"]
    {
        assert!(v.get(key).is_some(), "missing `{key}`");
    }
    assert_eq!(v["started"], "2026-01-15T09:30:00Z");
    let item = &v["items"][1];
    assert_eq!(item["id"], "pre-deployment.infrastructure.dns-records-configured");
    assert_eq!(item["section"], serde_json::json!(["Pre-Deployment", "Infrastructure"]));
    assert_eq!(item["status"], "fail");
    assert_eq!(item["severity"], "critical");
    assert_eq!(item["gating"], true);
    assert_eq!(item["probes"][0]["target"], "dns://api.nexus.example");
    assert_eq!(item["probes"][0]["attempts"], 1);
    assert_eq!(v["summary"]["not_configured"][0]["key"], "targets.s3.bucket");
    assert_eq!(v["items"][8]["waiver"]["expired"], false);
    assert_eq!(v["items"][8]["waived_status"], "fail");
}

#[tokio::test]
async fn junit_has_one_suite_per_top_level_section_and_maps_statuses() {
    let r = sample_report().await;
    let xml = r.render(Format::Junit);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Pre-Deployment", "Deployment", "readiness"]);
    assert_eq!(parsed.test_suites[0].test_cases.len(), 6);
    assert_eq!(parsed.test_suites[1].test_cases.len(), 4);
    let case = |suite: usize, name: &str| {
        parsed.test_suites[suite]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no testcase {name}"))
            .clone()
    };
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    match &case(0, "DNS records configured").status {
        TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, message, ty, .. } => {
            assert!(message.as_ref().unwrap().as_str().starts_with("api.nexus.example answered NXDOMAIN"));
            assert_eq!(ty.as_ref().unwrap().as_str(), "failed");
        }
        other => panic!("{other:?}"),
    }
    match &case(0, "API authentication enabled").status {
        TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, message, .. } => {
            assert!(message.as_ref().unwrap().as_str().contains("<proxy> & \"gw\""), "escaping round-trips");
        }
        other => panic!("{other:?}"),
    }
    match &case(0, "Backup storage configured (S3/GCS/Azure Blob)").status {
        TestCaseStatus::Skipped { message, .. } => {
            assert_eq!(message.as_ref().unwrap().as_str(), "not configured: set targets.s3.bucket");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(case(1, "Escalation procedures documented").status, TestCaseStatus::Skipped { .. }));
    assert!(matches!(case(1, "Autoscaling verified").status, TestCaseStatus::Success { .. }));
    assert!(matches!(case(0, "Penetration testing performed").status, TestCaseStatus::Success { .. }));
    assert_eq!(
        case(0, "DNS records configured").classname.as_ref().map(|c| c.as_str()),
        Some("pre-deployment.infrastructure.dns-records-configured")
    );
    // The verdict is a test case of its own: a NOT READY run is never green.
    match &case(2, "verdict").status {
        TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, message, ty, description, .. } => {
            assert_eq!(
                message.as_ref().unwrap().as_str(),
                "NOT READY: 1 gating item failed; 1 gating item could not be checked"
            );
            assert_eq!(ty.as_ref().unwrap().as_str(), "not-ready");
            let d = description.as_ref().unwrap().as_str();
            assert!(d.contains("pre-deployment.infrastructure.dns-records-configured: "), "{d}");
            assert!(d.contains("(gating item failed)"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    assert!(parsed.failures >= 2 && parsed.errors == 1, "{} failures, {} errors", parsed.failures, parsed.errors);
}

#[tokio::test]
async fn prometheus_text_parses_with_escaped_labels() {
    let r = sample_report().await;
    let text = r.render(Format::Prometheus);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |s: &prometheus_parse::Sample| match s.value {
        prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{other:?}"),
    };
    let find = |metric: &str, labels: &[(&str, &str)]| {
        let hits: Vec<f64> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(value)
            .collect();
        assert_eq!(hits.len(), 1, "{metric} {labels:?}: {hits:?}");
        hits[0]
    };
    assert_eq!(find("nexus_readiness_ready", &[]), 0.0);
    assert_eq!(find("nexus_readiness_items", &[("status", "skipped")]), 3.0);
    let dns = "pre-deployment.infrastructure.dns-records-configured";
    assert_eq!(find("nexus_readiness_item_status", &[("item", dns), ("status", "fail")]), 1.0);
    assert_eq!(find("nexus_readiness_item_status", &[("item", dns), ("status", "pass")]), 0.0);
    assert_eq!(
        find("nexus_readiness_item_status", &[("item", dns), ("status", "fail")]),
        1.0,
        "one-hot over every status"
    );
    let one_hot: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "nexus_readiness_item_status" && s.labels.get("item") == Some(dns))
        .map(value)
        .sum();
    assert_eq!(one_hot, 1.0);
    assert_eq!(find("nexus_readiness_item_status_code", &[("item", dns)]), 2.0);
    assert_eq!(
        scrape
            .samples
            .iter()
            .find(|s| s.metric == "nexus_readiness_item_status_code" && s.labels.get("item") == Some(dns))
            .and_then(|s| s.labels.get("section")),
        Some("Pre-Deployment / Infrastructure")
    );
    let gpu = "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested";
    assert_eq!(find("nexus_readiness_measurement", &[("item", gpu), ("gpu", "0")]), 78.5);
    assert_eq!(find("nexus_readiness_measurement_level", &[("item", gpu), ("gpu", "0")]), 1.0);
    assert_eq!(
        find("nexus_readiness_measurement_threshold", &[("item", gpu), ("gpu", "1"), ("bound", "breach")]),
        85.0
    );
    // prometheus-parse keeps escapes as written; the raw text has them escaped.
    assert!(text.contains(r#"model="NVIDIA \"H100\"\nSXM\\5""#), "{text}");
    assert!(text.contains("# TYPE nexus_readiness_item_duration_seconds gauge"));
    assert!(text.contains("# HELP nexus_readiness_item_status "));
    for line in text.lines() {
        assert!(!line.is_empty(), "no blank lines");
    }
}

#[tokio::test]
async fn markdown_reads_like_the_checklist() {
    let r = sample_report().await;
    let md = r.render(Format::Markdown);
    assert!(md.starts_with("# Production Deployment Checklist\n"));
    assert!(md.contains("\n**NOT READY: 1 gating item failed; 1 gating item could not be checked**\n"), "{md}");
    assert!(
        md.contains("\n## Pre-Deployment\n\n### Infrastructure\n\n- [x] GPU nodes provisioned and tested — **warn**")
    );
    assert!(md.contains("- [ ] DNS records configured — **fail**: api.nexus.example answered NXDOMAIN"));
    assert!(md.contains("- [x] Penetration testing performed — **attested**: attested by Sec Team on 2026-01-02"));
    assert!(md.contains("- [ ] Startup probe configured (if needed) — **skipped**: not applicable: model loads in 5s"));
    assert!(md.contains("period 30s is long \\# slow"), "markup in reasons is escaped");
    assert!(md.contains("\\<proxy\\>"), "html in reasons is escaped");
    assert!(md.contains(
        "## Blocking readiness\n\n**gating item failed** (1):\n\n- `pre-deployment.infrastructure.dns-records-configured` — **fail**: api.nexus.example answered NXDOMAIN"
    ), "each blocker under its rule: {md}");
    assert!(md.contains("**gating item could not be checked (an error is never a pass)** (1):\n\n- `pre-deployment.security.api-authentication-enabled` — **error**: "), "{md}");
    assert!(md.contains("*(blocks readiness: errored)*"), "{md}");
    assert!(md.contains(
        "## Sign-off\n\n| Role | Name | Date | Signature |\n|---|---|---|---|\n| ☑ Engineering Lead | Ada | 2026-01-14 | ada |\n| ☐ Security Lead |  |  |  |\n"
    ), "{md}");
}

#[tokio::test]
async fn rst_reads_like_the_source_document() {
    let r = sample_report().await;
    let rst = r.render(Format::Rst);
    let title = "Production Deployment Checklist";
    let bar = "=".repeat(title.len());
    assert!(rst.starts_with(&format!("{bar}\n{title}\n{bar}\n")));
    assert!(rst.contains("\nPre-Deployment\n--------------\n\nInfrastructure\n~~~~~~~~~~~~~~\n\n- [x] GPU nodes"));
    assert!(rst.contains("\nHealth Checks\n~~~~~~~~~~~~~\n\n"));
    assert!(rst.contains("- [ ] Autoscaling verified — **waived**: waived (fail): manual scaling in Q1"));
    assert!(rst.contains("- [ ] Escalation procedures documented — **pending**"));
}

#[tokio::test]
async fn tap_marks_skips_and_todos() {
    let r = sample_report().await;
    let tap = r.render(Format::Tap);
    let lines: Vec<&str> = tap.lines().collect();
    assert_eq!(lines[0], "TAP version 13");
    assert_eq!(lines[1], "1..10");
    assert!(lines.contains(
        &"ok 1 - pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested GPU nodes provisioned and tested"
    ));
    assert!(lines.contains(&"not ok 2 - pre-deployment.infrastructure.dns-records-configured DNS records configured"));
    assert!(lines.contains(
        &"ok 3 - pre-deployment.infrastructure.backup-storage-configured Backup storage configured (S3/GCS/Azure Blob) # SKIP not configured: set targets.s3.bucket"
    ));
    assert!(
        lines.iter().any(|l| l.starts_with("not ok 10 - deployment.health-checks.escalation-procedures-documented")
            && l.ends_with("# TODO waiting for a person's attestation"))
    );
    assert!(lines.iter().any(|l| l.contains("period 30s is long \\# slow")), "a # in a reason is escaped");
    let points = lines.iter().filter(|l| l.starts_with("ok ") || l.starts_with("not ok ")).count();
    assert_eq!(points, 10);
    assert!(tap.contains("  ---\n  status: fail\n"));
    assert!(tap.ends_with("# ready: false\n"));
}

#[test]
fn formats_parse_and_print() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    assert_eq!("md".parse::<Format>().unwrap(), Format::Markdown);
    assert_eq!("JSON".parse::<Format>().unwrap(), Format::Json);
    let err = "yaml".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown report format `yaml`: expected json, junit, markdown (md), rst, tap, prometheus or sarif"
    );
}

#[tokio::test]
async fn a_ready_report_exits_zero() {
    let mut plan = Plan::new(checklist());
    plan.bind(
        "pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested",
        FnProbe::new("nvml://local", |_cx| async move { Ok(Observation::pass("2 GPUs")) }),
    )
    .unwrap();
    plan.bind(
        "pre-deployment.infrastructure.dns-records-configured",
        FnProbe::new("dns://x", |_cx| async move { Ok(Observation::pass("resolves")) }),
    )
    .unwrap();
    plan.attest("pre-deployment.security.penetration-testing-performed", Attestation::new("Sec", Utc::now())).unwrap();
    // Three gating items nothing looked at: the gate fails closed.
    let r = Runner::builder().build().run(&plan).await;
    assert!(!r.ready());
    assert_eq!(r.exit_code(), 1);
    assert_eq!(r.summary().gating_not_configured, 3);
    assert_eq!(r.headline(), "NOT READY: 3 gating items not verified");
    // Each of them passes once bound.
    for id in [
        "pre-deployment.security.api-authentication-enabled",
        "deployment.health-checks.liveness-probe-configured",
        "deployment.health-checks.autoscaling-verified",
    ] {
        plan.bind(id, FnProbe::new("x://", |_cx| async move { Ok(Observation::pass("holds")) })).unwrap();
    }
    let r = Runner::builder().build().run(&plan).await;
    assert!(r.ready(), "{}", r.headline());
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.headline(), "READY");
}

/// A one-section checklist whose items are bound to the given observations or errors.
async fn report_of(items: Vec<(&'static str, Severity, Result<Observation, ProbeError>)>) -> Report {
    let mut section = Section::new("Checks").phase(Phase::Deployment);
    for (t, sev, _) in &items {
        section = section.item(Item::new(*t).severity(*sev));
    }
    let checklist = Checklist::builder("c", "C").section(section).build().unwrap();
    let mut plan = Plan::new(checklist.clone());
    for ((_, _, r), item) in items.into_iter().zip(checklist.items()) {
        let r = Arc::new(r);
        plan.bind(
            item.id.as_str(),
            FnProbe::new("x://", move |_cx| {
                let r = r.clone();
                async move { (*r).clone() }
            }),
        )
        .unwrap();
    }
    Runner::builder().build().run(&plan).await
}

#[tokio::test]
async fn markdown_keeps_code_spans_and_stays_safe() {
    let r = report_of(vec![
        ("Code", Severity::Blocker, Ok(Observation::fail("set `maxmemory-policy` to `allkeys-lru` in <redis.conf>"))),
        ("Lone", Severity::Minor, Ok(Observation::pass("a lone ` backtick and *stars*"))),
        ("Html", Severity::Minor, Ok(Observation::pass("`</code><script>alert(1)</script>` ![img](x) [link](y)"))),
    ])
    .await;
    let md = r.render(Format::Markdown);
    assert!(md.contains("set `maxmemory-policy` to `allkeys-lru` in \\<redis.conf\\>"), "{md}");
    assert!(md.contains("a lone \\` backtick and \\*stars\\*"), "{md}");
    // Inside a code span nothing is markup: the HTML stays text.
    assert!(md.contains("`</code><script>alert(1)</script>` \\!\\[img\\](x) \\[link\\](y)"), "{md}");
    // The same text rendered by a CommonMark renderer: code, and no live HTML.
    let html = {
        let parser = pulldown_cmark::Parser::new(&md);
        let mut out = String::new();
        pulldown_cmark::html::push_html(&mut out, parser);
        out
    };
    assert!(html.contains("<code>maxmemory-policy</code>"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
}

#[tokio::test]
async fn words_and_numbers_read_naturally() {
    let r = report_of(vec![
        ("One", Severity::Blocker, Ok(Observation::fail("broken"))),
        ("Two", Severity::Minor, Ok(Observation::pass("fine"))),
    ])
    .await;
    assert_eq!(r.headline(), "NOT READY: 1 gating item failed");
    let text = report::text::render(&r, false);
    assert!(text.contains("Blocking readiness: 1 gating item\n"), "{text}");
    assert!(text.contains("Passed: 1 item (--verbose lists them)"), "{text}");
    assert!(!text.contains("checks.two: fine"), "passes are collapsed: {text}");
    let verbose = report::text::render(&r, true);
    assert!(verbose.contains("  checks.two: fine"), "{verbose}");
    let blockers_at = text.find("Blocking readiness").unwrap();
    let passed_at = text.find("Passed:").unwrap();
    assert!(blockers_at < passed_at, "blockers come first");

    // Thresholds: values as the reasons word them, bounds as durations, the action filled.
    let cert = Threshold::floor("Certificate validity", Unit::Days, 30.0, 7.0, "Renew the certificate").unwrap();
    let latency = Threshold::ceiling("Request latency", Unit::Seconds, 3600.0, 86_400.0, "Investigate").unwrap();
    let mut plan = Plan::new(
        Checklist::builder("c", "C")
            .section(
                Section::new("S")
                    .item(Item::new("Cert").severity(Severity::Minor))
                    .item(Item::new("Slow").severity(Severity::Minor)),
            )
            .build()
            .unwrap(),
    );
    plan.bind(
        "s.cert",
        FnProbe::new("tls://x", |_cx| async {
            Ok(Observation::pass("expires in 89 days").with_measurement(Measurement::new(
                "days_left",
                89.6,
                Unit::Days,
            )))
        })
        .threshold("days_left", cert),
    )
    .unwrap();
    plan.bind(
        "s.slow",
        FnProbe::new("http://x", |_cx| async {
            Ok(Observation::pass("slow").with_measurement(Measurement::new("latency", 90_000.0, Unit::Seconds)))
        })
        .threshold("latency", latency),
    )
    .unwrap();
    let md = Runner::builder().build().run(&plan).await.render(Format::Markdown);
    assert!(
        md.contains(
            "| Certificate validity | 89 days | > 30 days | < 7 days | ok | on breach: Renew the certificate |"
        ),
        "{md}"
    );
    assert!(md.contains("| Request latency | 1d 1h | < 1h | > 1d | breach | Investigate |"), "{md}");
}

#[tokio::test]
async fn blocking_items_are_never_skips_in_junit_or_tap() {
    let r = report_of(vec![
        ("Unbound blocker", Severity::Blocker, Err(ProbeError::not_configured("targets.tls"))),
        ("Unbound minor", Severity::Minor, Err(ProbeError::not_configured("targets.cdn"))),
    ])
    .await;
    assert_eq!(r.headline(), "NOT READY: 1 gating item not verified");
    let junit = quick_junit::Report::deserialize_from_str(&r.render(Format::Junit)).unwrap();
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    let cases: Vec<_> = junit.test_suites.iter().flat_map(|s| s.test_cases.iter()).collect();
    let case = |n: &str| cases.iter().find(|c| c.name.as_str() == n).unwrap();
    match &case("Unbound blocker").status {
        TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, ty, description, .. } => {
            assert_eq!(ty.as_ref().unwrap().as_str(), "not-verified");
            assert!(description.as_ref().unwrap().as_str().contains("blocks readiness: gating item not verified"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(case("Unbound minor").status, TestCaseStatus::Skipped { .. }));
    assert!(junit.failures >= 2, "the item and the verdict: {}", junit.failures);
    let tap = r.render(Format::Tap);
    assert!(tap.contains("\nnot ok 1 - checks.unbound-blocker Unbound blocker\n  ---\n"), "{tap}");
    assert!(tap.contains("  blocked_by: not-verified\n"), "{tap}");
    assert!(tap.contains("\nok 2 - checks.unbound-minor Unbound minor # SKIP"), "{tap}");
    assert!(tap.starts_with("TAP version 13\n1..2\n# NOT READY: 1 gating item not verified\n"), "{tap}");
}
