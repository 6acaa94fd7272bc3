//! The runner against real probes (closures doing real work: sleeping, counting, panicking).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use nexus_readiness::model::{Checklist, Item, Phase, Section, Severity};
use nexus_readiness::probe::{
    Attestation, ExponentialBackoff, FnProbe, ManualClock, Observation, ProbeError, ProbeExt, Waiver,
};
use nexus_readiness::report::{BlockRule, MinVerified, SkipKind, Status};
use nexus_readiness::run::{Plan, PollPolicy, RunEvent, Runner};
use tokio_util::sync::CancellationToken;

mod common;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn clock_at(y: i32, m: u32, d: u32) -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().expect("valid time"))
}

/// Blocker items a..n in one section; ids `checks.<slug>`.
fn flat(titles: &[&str]) -> Checklist {
    let mut s = Section::new("Checks").phase(Phase::Deployment);
    for t in titles {
        s = s.item(Item::new(*t).severity(Severity::Blocker));
    }
    Checklist::builder("test", "Test").section(s).build().expect("valid checklist")
}

fn pass(target: &'static str) -> impl nexus_readiness::probe::Probe {
    FnProbe::new(target, |_cx| async move { Ok(Observation::pass("looked and it holds")) })
}

#[tokio::test]
async fn every_outcome_kind_with_its_reason() {
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("Pre-Deployment")
                .phase(Phase::PreDeployment)
                .item(Item::new("Passes").severity(Severity::Blocker))
                .item(Item::new("Warns").severity(Severity::Critical))
                .item(Item::new("Fails").severity(Severity::Major))
                .item(Item::new("Errors").severity(Severity::Major))
                .item(Item::new("Needs a target").severity(Severity::Blocker))
                .item(Item::new("Unbound").severity(Severity::Minor))
                .item(Item::new("Attested").attestation_only().severity(Severity::Blocker))
                .item(Item::new("Pending").attestation_only().severity(Severity::Major))
                .item(Item::new("Maybe (if needed)").severity(Severity::Major))
                .item(Item::new("Waived").severity(Severity::Blocker))
                .item(Item::new("Unbound but attested").severity(Severity::Major)),
        )
        .build()
        .unwrap();
    let now = clock_at(2026, 1, 15);
    let mut plan = Plan::new(checklist);
    plan.bind("pre-deployment.passes", pass("a")).unwrap();
    plan.bind(
        "pre-deployment.warns",
        FnProbe::new("b", |_cx| async move { Ok(Observation::warn("certificate expires in 20 days")) }),
    )
    .unwrap();
    plan.bind(
        "pre-deployment.fails",
        FnProbe::new("c", |_cx| async move { Ok(Observation::fail("401 expected, got 200 on /v1/infer")) }),
    )
    .unwrap();
    plan.bind(
        "pre-deployment.errors",
        FnProbe::new("d", |_cx| async move { Err(ProbeError::unreachable("connection refused by 127.0.0.1:9")) }),
    )
    .unwrap();
    plan.bind(
        "pre-deployment.needs-a-target",
        FnProbe::new("e", |_cx| async move { Err(ProbeError::not_configured("targets.redis")) }),
    )
    .unwrap();
    plan.attest("pre-deployment.attested", Attestation::new("Dana", now.now()).role("Security Lead")).unwrap();
    plan.not_applicable("pre-deployment.maybe", "single region").unwrap();
    plan.bind(
        "pre-deployment.waived",
        FnProbe::new("f", |_cx| async move { Ok(Observation::fail("no HPA for nexus")) }),
    )
    .unwrap();
    plan.waive("pre-deployment.waived", Waiver::new("fixed in sprint 12", "CTO", date(2026, 2, 1))).unwrap();
    plan.attest("pre-deployment.unbound-but-attested", Attestation::new("Lee", now.now())).unwrap();

    use nexus_readiness::probe::Clock as _;
    let report = Runner::builder().clock(Arc::new(now.clone())).build().run(&plan).await;
    let st = |id: &str| report.item(&format!("pre-deployment.{id}")).unwrap_or_else(|| panic!("item {id}")).clone();

    assert_eq!(st("passes").status, Status::Pass);
    assert_eq!(st("passes").reason, "looked and it holds");
    assert_eq!(st("warns").status, Status::Warn);
    assert_eq!(st("warns").reason, "certificate expires in 20 days");
    assert_eq!(st("fails").status, Status::Fail);
    assert_eq!(st("fails").reason, "401 expected, got 200 on /v1/infer");
    assert_eq!(st("errors").status, Status::Error);
    assert_eq!(st("errors").reason, "connection refused by 127.0.0.1:9");
    let nt = st("needs-a-target");
    assert_eq!((nt.status, nt.skip), (Status::Skipped, Some(SkipKind::NotConfigured)));
    assert_eq!(nt.reason, "not configured: set targets.redis");
    assert_eq!(nt.config_key.as_deref(), Some("targets.redis"));
    let ub = st("unbound");
    assert_eq!((ub.status, ub.skip), (Status::Skipped, Some(SkipKind::NotConfigured)));
    assert!(ub.reason.starts_with("not configured"), "{}", ub.reason);
    assert_eq!(st("attested").status, Status::Attested);
    assert_eq!(st("attested").reason, "attested by Dana (Security Lead) on 2026-01-15");
    assert_eq!(st("pending").status, Status::Pending);
    assert_eq!(st("pending").reason, "waiting for a person's attestation");
    let na = st("maybe");
    assert_eq!((na.status, na.skip), (Status::Skipped, Some(SkipKind::NotApplicable)));
    assert_eq!(na.reason, "not applicable: single region");
    let w = st("waived");
    assert_eq!(w.status, Status::Waived);
    assert_eq!(w.waived_status, Some(Status::Fail));
    assert!(w.reason.contains("fixed in sprint 12") && w.reason.contains("CTO") && w.reason.contains("2026-02-01"));
    assert!(w.reason.contains("no HPA for nexus"), "{}", w.reason);
    assert_eq!(w.waiver.as_ref().map(|w| w.expired), Some(false));
    assert_eq!(st("unbound-but-attested").status, Status::Attested);

    let s = report.summary();
    assert_eq!((s.pass, s.warn, s.fail, s.error, s.skipped, s.pending, s.attested, s.waived), (1, 1, 1, 1, 3, 1, 2, 1));
    assert_eq!(s.gating_not_configured, 1, "the blocker that needs a target is counted apart");
    assert_eq!(s.not_configured.len(), 2);
    // Fails, errors and pending are major: none of them gates. The blocker nothing looked at
    // does: the gate fails closed.
    let blockers: Vec<_> = report.blockers().map(|i| (i.id.as_str(), i.blocked_by)).collect();
    assert_eq!(blockers, [("pre-deployment.needs-a-target", Some(BlockRule::NotVerified))]);
    assert_eq!(report.headline(), "NOT READY: 1 gating item not verified");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(
        report.item("pre-deployment.needs-a-target").unwrap().block_explanation(),
        "gating item not verified: no probe looked at it: set `targets.redis`, waive it, or mark it not applicable"
    );
    // Exploring: allow_unverified lets it through, and says so.
    let report = Runner::builder().clock(Arc::new(now.clone())).allow_unverified(true).build().run(&plan).await;
    assert!(report.ready());
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.headline(), "READY (UNVERIFIED: 1 gating item not checked)");
    assert!(report.unverified());
}

#[tokio::test]
async fn a_failing_gating_item_makes_the_report_not_ready() {
    let mut plan = Plan::new(flat(&["One", "Two"]));
    plan.bind("checks.one", pass("a")).unwrap();
    plan.bind("checks.two", FnProbe::new("b", |_cx| async move { Ok(Observation::fail("pods not ready: 1/3")) }))
        .unwrap();
    let report = Runner::builder().build().run(&plan).await;
    assert!(!report.ready());
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.blockers().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["checks.two"]);

    // Un-gating it makes the report ready again.
    plan.gating("checks.two", false).unwrap();
    let report = Runner::builder().build().run(&plan).await;
    assert!(report.ready());
    assert!(!report.item("checks.two").unwrap().gating);
}

#[tokio::test]
async fn warn_blocks_only_with_fail_on_warn() {
    let mut plan = Plan::new(flat(&["One"]));
    plan.bind("checks.one", FnProbe::new("a", |_cx| async move { Ok(Observation::warn("p99 latency 420ms")) }))
        .unwrap();
    assert!(Runner::builder().build().run(&plan).await.ready());
    let strict = Runner::builder().fail_on_warn(true).build().run(&plan).await;
    assert!(!strict.ready());
    assert!(strict.fail_on_warn());
}

#[tokio::test]
async fn a_dependency_that_did_not_pass_skips_its_dependents() {
    let mut plan = Plan::new(flat(&["DNS", "TLS", "Health", "Other"]));
    let ran = Arc::new(AtomicUsize::new(0));
    plan.bind("checks.dns", FnProbe::new("dns://api", |_cx| async move { Ok(Observation::fail("NXDOMAIN for api")) }))
        .unwrap();
    for id in ["checks.tls", "checks.health"] {
        let ran = ran.clone();
        plan.bind(
            id,
            FnProbe::new("x", move |_cx| {
                let ran = ran.clone();
                async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(Observation::pass("ok"))
                }
            }),
        )
        .unwrap();
    }
    plan.bind("checks.other", pass("o")).unwrap();
    plan.after("checks.tls", "checks.dns").unwrap();
    plan.after("checks.health", "checks.tls").unwrap();
    let err = plan.after("checks.tls", "checks.dnss").unwrap_err();
    assert!(err.to_string().contains("checks.dns"), "{err}");

    let report = Runner::builder().build().run(&plan).await;
    let tls = report.item("checks.tls").unwrap();
    assert_eq!((tls.status, tls.skip), (Status::Skipped, Some(SkipKind::Dependency)));
    assert_eq!(tls.reason, "dependency checks.dns failed");
    let health = report.item("checks.health").unwrap();
    assert_eq!(health.reason, "dependency checks.tls was skipped after a failed dependency");
    assert_eq!(health.blocked_by, Some(BlockRule::DependencyFailed));
    assert_eq!(ran.load(Ordering::SeqCst), 0, "dependents never ran");
    assert_eq!(report.item("checks.other").unwrap().status, Status::Pass);
    assert!(!report.ready());
}

#[tokio::test]
async fn dependents_run_after_their_dependency_passed() {
    let mut plan = Plan::new(flat(&["DNS", "TLS"]));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    for (id, delay) in [("checks.dns", 80u64), ("checks.tls", 0)] {
        let order = order.clone();
        plan.bind(
            id,
            FnProbe::new(id, move |_cx| {
                let order = order.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    order.lock().unwrap().push(id);
                    Ok(Observation::pass("ok"))
                }
            }),
        )
        .unwrap();
    }
    plan.after("checks.tls", "checks.dns").unwrap();
    let report = Runner::builder().build().run(&plan).await;
    assert!(report.ready());
    assert_eq!(*order.lock().unwrap(), ["checks.dns", "checks.tls"]);
}

#[tokio::test]
async fn a_dependency_cycle_is_an_error_not_a_hang() {
    let mut plan = Plan::new(flat(&["A", "B"]));
    plan.bind("checks.a", pass("a")).unwrap();
    plan.bind("checks.b", pass("b")).unwrap();
    plan.after("checks.a", "checks.b").unwrap();
    plan.after("checks.b", "checks.a").unwrap();
    let report = tokio::time::timeout(Duration::from_secs(5), Runner::builder().build().run(&plan)).await.unwrap();
    for id in ["checks.a", "checks.b"] {
        let i = report.item(id).unwrap();
        assert_eq!(i.status, Status::Error);
        assert!(i.reason.contains("dependency cycle"), "{}", i.reason);
    }
}

#[tokio::test]
async fn waiver_counts_until_its_expiry_date() {
    let mut plan = Plan::new(flat(&["Autoscaling"]));
    plan.bind("checks.autoscaling", FnProbe::new("k8s", |_cx| async move { Ok(Observation::fail("no HPA")) })).unwrap();
    plan.waive("checks.autoscaling", Waiver::new("manual scaling this quarter", "VP Eng", date(2026, 1, 10))).unwrap();
    let clock = clock_at(2026, 1, 10);
    let runner = Runner::builder().clock(Arc::new(clock.clone())).build();

    let report = runner.run(&plan).await;
    let item = report.item("checks.autoscaling").unwrap();
    assert_eq!(item.status, Status::Waived, "the waiver counts through its expiry date");
    assert!(report.ready());

    clock.set(Utc.with_ymd_and_hms(2026, 1, 11, 0, 0, 1).unwrap());
    let report = runner.run(&plan).await;
    let item = report.item("checks.autoscaling").unwrap();
    assert_eq!(item.status, Status::Fail);
    assert_eq!(item.reason, "no HPA; waiver expired on 2026-01-10");
    assert_eq!(item.waiver.as_ref().map(|w| w.expired), Some(true));
    assert!(!report.ready());
}

#[tokio::test]
async fn an_expired_attestation_does_not_count() {
    let checklist = Checklist::builder("test", "Test")
        .section(Section::new("People").item(Item::new("Pen test").attestation_only().severity(Severity::Blocker)))
        .build()
        .unwrap();
    let clock = clock_at(2026, 3, 1);
    let mut plan = Plan::new(checklist);
    plan.attest(
        "people.pen-test",
        Attestation::new("Sec team", Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap())
            .evidence("https://wiki/pentest-2025")
            .expires(date(2026, 3, 1)),
    )
    .unwrap();
    let runner = Runner::builder().clock(Arc::new(clock.clone())).build();
    let report = runner.run(&plan).await;
    let item = report.item("people.pen-test").unwrap();
    assert_eq!(item.status, Status::Attested);
    assert_eq!(item.reason, "attested by Sec team on 2025-09-01: https://wiki/pentest-2025");

    clock.advance(Duration::from_secs(86_400));
    let report = runner.run(&plan).await;
    let item = report.item("people.pen-test").unwrap();
    assert_eq!(item.status, Status::Pending);
    assert_eq!(item.reason, "attestation by Sec team expired on 2026-03-01");
    assert_eq!(item.blocked_by, Some(BlockRule::AttestationExpired));
    assert!(!report.ready());
}

#[tokio::test]
async fn a_panicking_probe_is_an_error_for_its_own_item_only() {
    let mut plan = Plan::new(flat(&["Boom", "Fine"]));
    plan.bind(
        "checks.boom",
        FnProbe::new("boom://x", |_cx| async move {
            let v: Vec<u8> = Vec::new();
            if v.is_empty() {
                panic!("index out of range in gpu parser");
            }
            Ok(Observation::pass("unreachable"))
        }),
    )
    .unwrap();
    plan.bind("checks.fine", pass("fine")).unwrap();
    let report = Runner::builder().build().run(&plan).await;
    let boom = report.item("checks.boom").unwrap();
    assert_eq!(boom.status, Status::Error);
    assert_eq!(boom.reason, "probe boom://x panicked: index out of range in gpu parser");
    assert_eq!(report.item("checks.fine").unwrap().status, Status::Pass);
}

#[tokio::test]
async fn a_probe_that_never_returns_is_cut_at_its_timeout() {
    let mut plan = Plan::new(flat(&["Hangs", "Fine"]));
    plan.bind(
        "checks.hangs",
        FnProbe::new("tcp://10.255.255.1:443", |_cx| async move {
            std::future::pending::<Result<Observation, ProbeError>>().await
        }),
    )
    .unwrap();
    plan.bind("checks.fine", pass("fine")).unwrap();
    let t0 = Instant::now();
    let report = Runner::builder().probe_timeout(Duration::from_millis(150)).build().run(&plan).await;
    let elapsed = t0.elapsed();
    let hangs = report.item("checks.hangs").unwrap();
    assert_eq!(hangs.status, Status::Error);
    assert_eq!(hangs.reason, "probe timed out after 150ms");
    assert_eq!(hangs.probes[0].error.as_ref().map(|e| e.kind), Some(nexus_readiness::probe::ProbeErrorKind::Timeout));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(report.item("checks.fine").unwrap().status, Status::Pass);
}

#[tokio::test]
async fn the_overall_deadline_cuts_the_run() {
    let mut plan = Plan::new(flat(&["A", "B", "C"]));
    for id in ["checks.a", "checks.b", "checks.c"] {
        plan.bind(
            id,
            FnProbe::new(id, |_cx| async move {
                tokio::time::sleep(Duration::from_millis(120)).await;
                Ok(Observation::pass("slow but fine"))
            }),
        )
        .unwrap();
    }
    let t0 = Instant::now();
    let report = Runner::builder().concurrency(1).deadline(Duration::from_millis(180)).build().run(&plan).await;
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert_eq!(report.item("checks.a").unwrap().status, Status::Pass);
    let b = report.item("checks.b").unwrap();
    assert_eq!(b.status, Status::Error);
    assert!(b.reason.starts_with("probe timed out after"), "{}", b.reason);
    let c = report.item("checks.c").unwrap();
    assert_eq!((c.status, c.skip), (Status::Skipped, Some(SkipKind::Cancelled)));
    assert_eq!(c.reason, "run deadline passed before the item ran");
    assert!(!report.ready());
}

#[tokio::test]
async fn cancellation_stops_the_run_and_keeps_finished_outcomes() {
    let titles = ["Fast 1", "Fast 2", "Slow 1", "Slow 2", "Queued 1", "Queued 2"];
    let mut plan = Plan::new(flat(&titles));
    for id in ["checks.fast-1", "checks.fast-2"] {
        plan.bind(id, pass("fast")).unwrap();
    }
    for id in ["checks.slow-1", "checks.slow-2", "checks.queued-1", "checks.queued-2"] {
        plan.bind(
            id,
            FnProbe::new(id, |_cx| async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(Observation::pass("never"))
            }),
        )
        .unwrap();
    }
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        trigger.cancel();
    });
    let t0 = Instant::now();
    let report = Runner::builder().concurrency(2).build().run_with_cancel(&plan, cancel).await;
    assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());
    assert!(report.cancelled());
    assert!(!report.ready());
    assert_eq!(report.item("checks.fast-1").unwrap().status, Status::Pass);
    assert_eq!(report.item("checks.fast-2").unwrap().status, Status::Pass);
    for id in ["checks.slow-1", "checks.slow-2"] {
        let i = report.item(id).unwrap();
        assert_eq!(i.status, Status::Error, "{id}");
        assert_eq!(i.reason, "cancelled before the probe finished");
    }
    for id in ["checks.queued-1", "checks.queued-2"] {
        let i = report.item(id).unwrap();
        assert_eq!((i.status, i.skip), (Status::Skipped, Some(SkipKind::Cancelled)), "{id}");
        assert_eq!(i.reason, "cancelled before the item ran");
    }
}

#[tokio::test]
async fn the_concurrency_limit_is_respected_and_reached() {
    let titles: Vec<String> = (0..24).map(|i| format!("Item {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut plan = Plan::new(flat(&refs));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    for i in 0..24 {
        let (in_flight, max) = (in_flight.clone(), max.clone());
        plan.bind(
            &format!("checks.item-{i}"),
            FnProbe::new("count", move |_cx| {
                let (in_flight, max) = (in_flight.clone(), max.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Ok(Observation::pass("counted"))
                }
            }),
        )
        .unwrap();
    }
    let report = Runner::builder().concurrency(4).build().run(&plan).await;
    assert_eq!(report.summary().pass, 24);
    assert_eq!(max.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn wall_time_tracks_the_slowest_probe_not_the_sum() {
    let titles: Vec<String> = (0..10).map(|i| format!("Item {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut plan = Plan::new(flat(&refs));
    for i in 0..10 {
        plan.bind(
            &format!("checks.item-{i}"),
            FnProbe::new("sleep", |_cx| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(Observation::pass("slept"))
            }),
        )
        .unwrap();
    }
    let report = Runner::builder().build().run(&plan).await;
    assert_eq!(report.summary().pass, 10);
    // Run one after another, the ten would take 2 s; the bound leaves room for a loaded machine.
    assert!(report.duration < Duration::from_millis(1500), "took {:?}", report.duration);
    assert!(report.duration >= Duration::from_millis(200));
}

#[tokio::test]
async fn phases_not_selected_are_skipped() {
    let checklist = Checklist::builder("test", "Test")
        .section(Section::new("Pre").phase(Phase::PreDeployment).item(Item::new("A").severity(Severity::Blocker)))
        .section(Section::new("Post").phase(Phase::PostDeployment).item(Item::new("B").severity(Severity::Blocker)))
        .build()
        .unwrap();
    let mut plan = Plan::new(checklist);
    plan.bind("pre.a", pass("a")).unwrap();
    plan.bind("post.b", FnProbe::new("b", |_cx| async move { Ok(Observation::fail("smoke tests failed")) })).unwrap();
    let report = Runner::builder().phases([Phase::PreDeployment]).build().run(&plan).await;
    assert_eq!(report.item("pre.a").unwrap().status, Status::Pass);
    let b = report.item("post.b").unwrap();
    assert_eq!((b.status, b.skip), (Status::Skipped, Some(SkipKind::PhaseNotRun)));
    assert_eq!(b.reason, "phase not run");
    assert!(report.ready());
}

#[tokio::test]
async fn an_items_own_phase_wins_over_its_sections() {
    let doc = "# Service\n\n## Checks\n\n- [ ] Config reviewed {#checks.reviewed phase=pre-deployment severity=blocker}\n- [ ] Smoke tests pass {#checks.smoke phase=post-deployment severity=blocker}\n";
    let checklist = nexus_readiness::format::parse(doc, nexus_readiness::format::Syntax::Markdown).unwrap();
    let mut plan = Plan::new(checklist);
    plan.bind("checks.reviewed", pass("reviewed")).unwrap();
    plan.bind("checks.smoke", FnProbe::new("smoke", |_cx| async move { Ok(Observation::fail("smoke tests failed")) }))
        .unwrap();
    let report = Runner::builder().phases([Phase::PreDeployment]).build().run(&plan).await;
    assert_eq!(report.item("checks.reviewed").unwrap().status, Status::Pass);
    let smoke = report.item("checks.smoke").unwrap();
    assert_eq!((smoke.status, smoke.skip), (Status::Skipped, Some(SkipKind::PhaseNotRun)), "{}", smoke.reason);
    assert!(report.ready(), "{}", report.headline());
    let report = Runner::builder().phases([Phase::PostDeployment]).build().run(&plan).await;
    assert_eq!(report.item("checks.smoke").unwrap().status, Status::Fail);
    assert_eq!(report.item("checks.reviewed").unwrap().skip, Some(SkipKind::PhaseNotRun));
}

#[tokio::test]
async fn events_report_progress() {
    let mut plan = Plan::new(flat(&["A", "B", "C"]));
    plan.bind("checks.a", pass("a")).unwrap();
    plan.bind("checks.b", FnProbe::new("b", |_cx| async move { Ok(Observation::fail("bad")) })).unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner::builder()
        .observer(move |_e: &RunEvent| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .events(tx)
        .build();
    let report = runner.run(&plan).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    assert_eq!(seen.load(Ordering::SeqCst), events.len());
    assert!(matches!(&events[0], RunEvent::Started { items: 3, .. }));
    let started: Vec<_> = events.iter().filter(|e| matches!(e, RunEvent::ItemStarted { .. })).collect();
    assert_eq!(started.len(), 2, "only items with probes start");
    let finished: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ItemFinished { id, status, .. } => Some((id.to_string(), *status)),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 3);
    assert!(finished.contains(&("checks.b".to_string(), Status::Fail)));
    assert!(finished.contains(&("checks.c".to_string(), Status::Skipped)));
    match events.last() {
        Some(RunEvent::Finished { summary }) => assert_eq!(summary, report.summary()),
        other => panic!("last event {other:?}"),
    }
}

#[tokio::test]
async fn polling_waits_until_a_flaky_probe_passes() {
    let mut plan = Plan::new(flat(&["Rollout", "Stable"]));
    let calls = Arc::new(AtomicUsize::new(0));
    let stable_calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    plan.bind(
        "checks.rollout",
        FnProbe::new("k8s://deploy/nexus", move |_cx| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n < 3 {
                    Ok(Observation::fail(format!("{n}/3 replicas ready")))
                } else {
                    Ok(Observation::pass("3/3 replicas ready"))
                }
            }
        }),
    )
    .unwrap();
    let s = stable_calls.clone();
    plan.bind(
        "checks.stable",
        FnProbe::new("stable", move |_cx| {
            s.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Observation::pass("fine")) }
        }),
    )
    .unwrap();
    let policy = PollPolicy::new(Duration::from_millis(40), Duration::from_secs(5)).failure_threshold(5);
    let t0 = Instant::now();
    let report = Runner::builder().build().wait_until_ready(&plan, policy).await;
    assert!(report.ready(), "{:?}", report.item("checks.rollout"));
    assert_eq!(report.item("checks.rollout").unwrap().reason, "3/3 replicas ready");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(stable_calls.load(Ordering::SeqCst), 1, "a passing item is not re-run");
    assert!(t0.elapsed() >= Duration::from_millis(80));

    // With a success threshold of 2 the flaky item must pass twice in a row.
    calls.store(0, Ordering::SeqCst);
    stable_calls.store(0, Ordering::SeqCst);
    let policy = policy.success_threshold(2);
    let report = Runner::builder().build().wait_until_ready(&plan, policy).await;
    assert!(report.ready());
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(stable_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn polling_gives_up_after_the_failure_threshold() {
    let mut plan = Plan::new(flat(&["Broken"]));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    plan.bind(
        "checks.broken",
        FnProbe::new("x", move |_cx| {
            c.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Observation::fail("CrashLoopBackOff")) }
        }),
    )
    .unwrap();
    let policy = PollPolicy::new(Duration::from_millis(20), Duration::from_secs(10)).failure_threshold(3);
    let t0 = Instant::now();
    let report = Runner::builder().build().wait_until_ready(&plan, policy).await;
    assert!(!report.ready());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(report.item("checks.broken").unwrap().reason, "CrashLoopBackOff");
}

#[tokio::test]
async fn polling_stops_at_its_timeout() {
    let mut plan = Plan::new(flat(&["Never"]));
    plan.bind("checks.never", FnProbe::new("x", |_cx| async move { Ok(Observation::fail("still rolling")) })).unwrap();
    let policy = PollPolicy::new(Duration::from_millis(50), Duration::from_millis(300)).failure_threshold(1000);
    let t0 = Instant::now();
    let report = Runner::builder().build().wait_until_ready(&plan, policy).await;
    let took = t0.elapsed();
    assert!(!report.ready());
    // Without the timeout it would poll for ever (the failure threshold is out of reach).
    assert!(took < Duration::from_secs(3) && took >= Duration::from_millis(200), "took {took:?}");
}

#[tokio::test]
async fn retries_show_in_the_probe_result() {
    let mut plan = Plan::new(flat(&["Flaky"]));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let probe = FnProbe::new("redis://127.0.0.1:1", move |_cx| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                Err(ProbeError::unreachable("connection refused by 127.0.0.1:1"))
            } else {
                Ok(Observation::pass("PONG"))
            }
        }
    })
    .retry(ExponentialBackoff::new(Duration::from_millis(10)).max_attempts(5));
    plan.bind("checks.flaky", probe).unwrap();
    let report = Runner::builder().build().run(&plan).await;
    let item = report.item("checks.flaky").unwrap();
    assert_eq!(item.status, Status::Pass);
    assert_eq!(item.probes[0].attempts, 3);
}

#[tokio::test]
async fn several_probes_on_one_item_take_the_worst() {
    let mut plan = Plan::new(flat(&["Endpoints"]));
    plan.bind("checks.endpoints", pass("https://a/healthz")).unwrap();
    plan.bind(
        "checks.endpoints",
        FnProbe::new("https://b/healthz", |_cx| async move { Ok(Observation::warn("slow: 900ms")) }),
    )
    .unwrap();
    let report = Runner::builder().build().run(&plan).await;
    let item = report.item("checks.endpoints").unwrap();
    assert_eq!(item.status, Status::Warn);
    assert_eq!(item.reason, "https://b/healthz: slow: 900ms");
    assert_eq!(item.probes.len(), 2);

    plan.bind(
        "checks.endpoints",
        FnProbe::new("https://c/healthz", |_cx| async move { Err(ProbeError::timeout(Duration::from_secs(2))) }),
    )
    .unwrap();
    let report = Runner::builder().build().run(&plan).await;
    let item = report.item("checks.endpoints").unwrap();
    assert_eq!(item.status, Status::Error, "errors dominate");
    assert_eq!(item.reason, "https://c/healthz: probe timed out after 2s");
}

#[tokio::test]
async fn probe_contexts_carry_item_clock_and_deadline() {
    let mut plan = Plan::new(flat(&["Ctx"]));
    let clock = clock_at(2030, 5, 6);
    plan.bind(
        "checks.ctx",
        FnProbe::new("ctx", |cx| async move {
            let remaining = cx.remaining().ok_or_else(|| ProbeError::other("no deadline"))?;
            Ok(Observation::pass(format!(
                "{} {} {}",
                cx.item().map(|i| i.to_string()).unwrap_or_default(),
                cx.now().date_naive(),
                remaining <= Duration::from_secs(7)
            )))
        }),
    )
    .unwrap();
    let report =
        Runner::builder().clock(Arc::new(clock)).probe_timeout(Duration::from_secs(7)).build().run(&plan).await;
    assert_eq!(report.item("checks.ctx").unwrap().reason, "checks.ctx 2030-05-06 true");
    assert_eq!(report.started.date_naive(), date(2030, 5, 6));
}

#[tokio::test]
async fn items_and_probes_get_tracing_spans() {
    let capture = common::trace::capture();
    let mut plan = Plan::new(flat(&["Traced"]));
    plan.bind(
        "checks.traced",
        FnProbe::new("tcp://127.0.0.1:6379", |_cx| async move { Ok(Observation::fail("down")) }),
    )
    .unwrap();
    let report = Runner::builder().build().run(&plan).await;
    drop(report);
    let closed = capture.closed_spans();
    let item = closed.iter().find(|(n, _)| n == "item").expect("an item span");
    assert_eq!(item.1.get("id").map(String::as_str), Some("checks.traced"));
    assert_eq!(item.1.get("outcome").map(String::as_str), Some("fail"));
    assert!(item.1.get("duration_ms").is_some_and(|d| d.parse::<f64>().is_ok()), "{:?}", item.1);
    let probe = closed.iter().find(|(n, _)| n == "probe").expect("a probe span");
    assert_eq!(probe.1.get("target").map(String::as_str), Some("tcp://127.0.0.1:6379"));
    assert_eq!(probe.1.get("parent").map(String::as_str), Some("item"));
}

#[tokio::test]
async fn an_unchecked_or_waived_dependency_lets_dependents_run() {
    let mut plan = Plan::new(flat(&["DNS", "TLS", "LB", "Cert"]));
    // DNS has no target: not checked, so TLS runs and gives its own verdict.
    plan.bind(
        "checks.dns",
        FnProbe::new("dns://api", |_cx| async move { Err(ProbeError::not_configured("targets.dns")) }),
    )
    .unwrap();
    plan.bind("checks.tls", pass("tls://api:443")).unwrap();
    plan.after("checks.tls", "checks.dns").unwrap();
    // LB fails under a valid waiver: the risk is accepted, Cert still runs.
    plan.bind("checks.lb", FnProbe::new("lb", |_cx| async move { Ok(Observation::fail("no ingress IP")) })).unwrap();
    plan.waive("checks.lb", Waiver::new("DNS cutover next week", "SRE lead", date(2099, 1, 1))).unwrap();
    plan.bind("checks.cert", pass("cert")).unwrap();
    plan.after("checks.cert", "checks.lb").unwrap();
    let report = Runner::builder().allow_unverified(true).build().run(&plan).await;
    assert_eq!(report.item("checks.tls").unwrap().status, Status::Pass);
    assert_eq!(report.item("checks.lb").unwrap().status, Status::Waived);
    assert_eq!(report.item("checks.cert").unwrap().status, Status::Pass);
    assert!(report.ready());
}

// ---------------------------------------------------------------- fail closed: the gate rules

/// A run in which nothing gates has decided nothing: a document with no checkbox (a plain bullet
/// list, say), or phases that select no gating item, is not ready, and says why.
#[tokio::test]
async fn a_run_with_no_gating_item_is_not_ready() {
    for doc in ["# Deployment checklist\n\n- DNS resolves\n- Apply links redirect\n", "# Empty\n"] {
        let checklist = nexus_readiness::format::parse_markdown(doc).unwrap();
        assert_eq!(checklist.items().count(), 0);
        let report = Runner::builder().build().run(&Plan::new(checklist)).await;
        assert!(!report.ready(), "{doc}");
        assert!(!report.gates_anything());
        assert_eq!(
            report.headline(),
            "NOT READY: the checklist has no items, so nothing was checked (a document's items are its \
             checkboxes, `- [ ] ...`)"
        );
        assert_eq!(report.exit_code(), nexus_readiness::report::EXIT_NOT_READY);
    }
    // Items that do not gate are no gate either.
    let checklist = nexus_readiness::format::parse_markdown("# T\n\n- [ ] Docs {severity=minor}\n").unwrap();
    let mut minor = Plan::new(checklist);
    minor.bind("docs", pass("file://docs")).unwrap();
    let report = Runner::builder().build().run(&minor).await;
    assert!(!report.ready());
    // No probe can change that: polling for readiness stops at once.
    let t0 = Instant::now();
    let polled = Runner::builder()
        .build()
        .wait_until_ready(&minor, PollPolicy::new(Duration::from_millis(20), Duration::from_secs(30)))
        .await;
    assert!(!polled.ready());
    assert!(t0.elapsed() < Duration::from_secs(10), "polled for {:?}", t0.elapsed());
    assert_eq!(
        report.headline(),
        "NOT READY: no gating item in this run: nothing in it could hold the deploy back (give items a \
         blocker or critical severity, or select phases or items that have some)"
    );
    // Gating items of a phase not run do not count; one in the phase run does.
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("Before").phase(Phase::PreDeployment).item(Item::new("Backups").severity(Severity::Blocker)),
        )
        .section(Section::new("After").phase(Phase::PostDeployment).item(Item::new("Docs").severity(Severity::Minor)))
        .build()
        .unwrap();
    let mut plan = Plan::new(checklist);
    plan.bind("before.backups", pass("s3://backups")).unwrap();
    plan.bind("after.docs", pass("file://docs")).unwrap();
    let post = Runner::builder().phases([Phase::PostDeployment]).build().run(&plan).await;
    assert_eq!(post.item("after.docs").unwrap().status, Status::Pass);
    assert!(!post.ready(), "{}", post.headline());
    let pre = Runner::builder().phases([Phase::PreDeployment]).build().run(&plan).await;
    assert!(pre.ready(), "{}", pre.headline());
    // The verdict is recomputed from the items when a report is read back.
    let back: nexus_readiness::report::Report =
        serde_json::from_str(&post.render(nexus_readiness::report::Format::Json)).unwrap();
    assert!(!back.ready());
}

use nexus_readiness::builtin;
use nexus_readiness::config::Config;
use nexus_readiness::model::Verification;
use nexus_readiness::probe::{NotApplicable, Probe, ProbeContext};
use nexus_readiness::report::{Format, Report};

/// A config holding only attestations of the built-in checklist's person-only items.
fn attestations_only(extra: &str) -> String {
    let mut toml = String::from(extra);
    for item in builtin::nexus().items().filter(|i| i.verification == Verification::Attestation) {
        toml.push_str(&format!("\n[attestations.\"{}\"]\nby = \"Dana\"\nat = 2026-11-20T10:00:00Z\n", item.id));
    }
    toml
}

async fn run_config(toml: &str) -> Report {
    let config = Config::from_str_named(toml, "nexus.toml").unwrap();
    let plan = config.plan(builtin::nexus()).unwrap();
    config.runner().clock(Arc::new(clock_at(2026, 11, 30))).build().run(&plan).await
}

#[tokio::test]
async fn an_attestations_only_config_is_not_ready() {
    let toml = attestations_only("");
    assert_eq!(toml.matches("[attestations.").count(), 12);
    let report = run_config(&toml).await;
    assert_eq!(report.summary().attested, 12);
    let md = report.render(Format::Markdown);
    assert!(md.contains("**gating item not verified: no probe looked at it** (36):\n\n"), "{md}");
    assert!(md.contains("\n- set `targets.tls`: `pre-deployment.infrastructure.load-balancer-ssl-certificates-installed`, `post-deployment.verification.ssl-certificates-valid`\n"), "{md}");
    assert_eq!(report.summary().to_string(), "58 items: 46 skipped, 12 attested (36 gating items not verified)");
    assert!(!report.ready());
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.headline(), "NOT READY: 36 gating items not verified");
    assert_eq!(report.coverage().verified, 0);
    assert_eq!(report.blockers().count(), 36);
    assert!(report.blockers().all(|i| i.blocked_by == Some(BlockRule::NotVerified)));
    let text = nexus_readiness::report::text::render(&report, false);
    assert!(text.contains("NOT READY: 36 gating items not verified"), "{text}");
    assert!(text.contains("    set `targets.tls` (2 items):\n      pre-deployment.infrastructure.load-balancer-ssl-certificates-installed\n"), "each blocker is named under its key: {text}");
}

#[tokio::test]
async fn allow_unverified_is_ready_and_says_so_in_every_format() {
    let report = run_config(&attestations_only("[runner]\nallow_unverified = true\n")).await;
    assert!(report.ready());
    assert_eq!(report.exit_code(), 0);
    let banner = "READY (UNVERIFIED: 36 gating items not checked)";
    assert_eq!(report.headline(), banner);

    let text = nexus_readiness::report::text::render(&report, false);
    assert!(text.starts_with(&format!("Production Deployment Checklist — {banner}\n")), "{text}");
    let md = report.render(Format::Markdown);
    assert!(md.contains(&format!("**{banner}**")), "{md}");
    assert!(md.contains("> **Unverified:** `allow_unverified` is set: 36 gating items"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(json["headline"], banner);
    assert_eq!(json["unverified"], true);
    assert_eq!(json["ready"], true);
    assert_eq!(json["summary"]["gating_not_configured"], 36);
    let xml = report.render(Format::Junit);
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let verdict = junit.test_suites.iter().find(|s| s.name.as_str() == "readiness").unwrap();
    assert_eq!(verdict.test_cases[0].system_out.as_ref().map(|s| s.as_str()), Some(banner));
    assert!(verdict.properties.iter().any(|p| p.value.as_str() == banner));
    let prom = report.render(Format::Prometheus);
    assert!(prom.contains("\nnexus_readiness_unverified 1\n"), "{prom}");
    assert!(prom.contains("\nnexus_readiness_gating_not_verified_items 36\n"));
    assert!(prom.contains("\nnexus_readiness_ready 1\n"));
    let tap = report.render(Format::Tap);
    assert!(tap.contains(&format!("# {banner}\n")));
}

fn bound(n_pass: usize, n_unbound: usize) -> Plan {
    let titles: Vec<String> = (0..n_pass + n_unbound).map(|i| format!("Item {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut plan = Plan::new(flat(&refs));
    for i in 0..n_pass {
        plan.bind(&format!("checks.item-{i}"), pass("x")).unwrap();
    }
    plan
}

#[tokio::test]
async fn the_coverage_floor_counts_items_a_probe_decided() {
    // 3 of 10 items verified; the rest are let through by allow_unverified.
    let plan = bound(3, 7);
    let loose = Runner::builder().allow_unverified(true);
    let report = loose.min_verified(MinVerified::Count(3)).build().run(&plan).await;
    assert!(report.ready(), "{}", report.headline());
    assert_eq!((report.coverage().verified, report.coverage().automatable), (3, 10));

    let report = Runner::builder().allow_unverified(true).min_verified(MinVerified::Count(4)).build().run(&plan).await;
    assert!(!report.ready());
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.headline(), "NOT READY: 3 of 10 automatable items verified by a probe, min_verified 4 needs 4");
    let pct: MinVerified = "31%".parse().unwrap();
    let report = Runner::builder().allow_unverified(true).min_verified(pct).build().run(&plan).await;
    assert_eq!(report.coverage().required, Some(4), "31% of 10 rounds up");
    assert!(!report.ready());
    let report = Runner::builder().allow_unverified(true).min_verified("30%".parse().unwrap()).build().run(&plan).await;
    assert!(report.ready());
    // An errored probe decided nothing: it does not count.
    let mut plan = bound(3, 0);
    plan.bind("checks.item-2", FnProbe::new("y", |_cx| async move { Err(ProbeError::unreachable("refused")) }))
        .unwrap();
    let report = Runner::builder().min_verified(MinVerified::Count(3)).build().run(&plan).await;
    assert_eq!(report.coverage().verified, 2);
    assert!(report.headline().contains("2 of 3 automatable items verified by a probe, min_verified 3 needs 3"));
    assert!("101%".parse::<MinVerified>().is_err());
    assert!("many".parse::<MinVerified>().is_err());
    // From the config, with the percentage written as a string.
    let report = run_config(&attestations_only("[runner]\nallow_unverified = true\nmin_verified = \"50%\"\n")).await;
    assert!(!report.ready());
    assert!(
        report.headline().contains("0 of 46 automatable items verified by a probe, min_verified 50% needs 23"),
        "{}",
        report.headline()
    );
}

#[tokio::test]
async fn a_waiver_covers_an_unconfigured_item_until_it_expires() {
    let mut plan = Plan::new(flat(&["CDN"]));
    plan.waive("checks.cdn", Waiver::new("no static assets yet", "Tech Lead", date(2026, 1, 31))).unwrap();
    let clock = clock_at(2026, 1, 31);
    let runner = Runner::builder().clock(Arc::new(clock.clone())).build();
    let report = runner.run(&plan).await;
    let item = report.item("checks.cdn").unwrap();
    assert_eq!(item.status, Status::Waived);
    assert_eq!(item.waived_status, Some(Status::Skipped));
    assert!(
        item.reason.starts_with("waived (not verified): no static assets yet; approved by Tech Lead until 2026-01-31"),
        "{}",
        item.reason
    );
    assert!(report.ready(), "{}", report.headline());

    clock.advance(Duration::from_secs(86_400));
    let report = runner.run(&plan).await;
    let item = report.item("checks.cdn").unwrap();
    assert_eq!((item.status, item.blocked_by), (Status::Skipped, Some(BlockRule::NotVerified)));
    assert!(item.reason.ends_with("; waiver expired on 2026-01-31"), "{}", item.reason);
    assert!(!report.ready());
}

#[tokio::test]
async fn an_attestation_older_than_its_max_age_stops_counting() {
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("People").item(Item::new("Failover test").attestation_only().severity(Severity::Critical)),
        )
        .build()
        .unwrap();
    let mut plan = Plan::new(checklist);
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    plan.attest("people.failover-test", Attestation::new("SRE", at).max_age(Duration::from_secs(90 * 86_400))).unwrap();
    let clock = clock_at(2026, 3, 31);
    let runner = Runner::builder().clock(Arc::new(clock.clone())).build();
    assert_eq!(runner.run(&plan).await.item("people.failover-test").unwrap().status, Status::Attested);
    clock.advance(Duration::from_secs(86_401)); // 90 days and a second after it was given
    let report = runner.run(&plan).await;
    let item = report.item("people.failover-test").unwrap();
    assert_eq!((item.status, item.blocked_by), (Status::Pending, Some(BlockRule::AttestationExpired)));
    assert_eq!(item.reason, "attestation by SRE of 2026-01-01 is older than its max_age 90d");
    assert_eq!(report.headline(), "NOT READY: 1 gating item with an expired attestation");
    // From the config.
    let config = Config::from_str_named(
        "[attestations.\"people.failover-test\"]\nby = \"SRE\"\nat = 2026-01-01T12:00:00Z\nmax_age = \"90d\"\n",
        "c.toml",
    )
    .unwrap();
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("People").item(Item::new("Failover test").attestation_only().severity(Severity::Critical)),
        )
        .build()
        .unwrap();
    let plan = config.plan(checklist).unwrap();
    assert_eq!(runner.run(&plan).await.item("people.failover-test").unwrap().status, Status::Pending);
}

#[tokio::test]
async fn not_applicable_on_any_item_needs_an_approver_and_expires() {
    let mut plan = Plan::new(flat(&["CDN"]));
    let err = plan.mark_not_applicable("checks.cdn", NotApplicable::new("API only")).unwrap_err();
    assert!(err.to_string().contains("always applies: marking it not applicable needs an approver"), "{err}");
    plan.mark_not_applicable(
        "checks.cdn",
        NotApplicable::new("API only").approver("Tech Lead").expires(date(2026, 1, 31)),
    )
    .unwrap();
    plan.bind("checks.cdn", FnProbe::new("cdn", |_cx| async move { Ok(Observation::fail("no cache headers")) }))
        .unwrap();
    let clock = clock_at(2026, 1, 31);
    let runner = Runner::builder().clock(Arc::new(clock.clone())).build();
    let report = runner.run(&plan).await;
    let item = report.item("checks.cdn").unwrap();
    assert_eq!((item.status, item.skip), (Status::Skipped, Some(SkipKind::NotApplicable)));
    assert_eq!(item.reason, "not applicable: API only (approved by Tech Lead until 2026-01-31)");
    assert!(report.ready());
    // Expired: the item is checked again.
    clock.advance(Duration::from_secs(86_400));
    let report = runner.run(&plan).await;
    let item = report.item("checks.cdn").unwrap();
    assert_eq!(item.status, Status::Fail);
    assert_eq!(item.reason, "no cache headers; not-applicable mark expired on 2026-01-31");
    assert!(!report.ready());

    // The config: a bare reason for an "(if needed)" item, a table with approver otherwise.
    let err = Config::from_str_named(
        "[not_applicable]\n\"pre-deployment.performance.cdn-configured-for-static-assets\" = \"API only\"\n",
        "n.toml",
    )
    .unwrap()
    .plan(builtin::nexus())
    .unwrap_err();
    assert!(err.to_string().starts_with("n.toml:2:1: "), "{err}");
    assert!(err.to_string().contains("needs an approver"), "{err}");
    let report = run_config(
        "[not_applicable]\n\"pre-deployment.performance.cdn-configured-for-static-assets\" = { reason = \"API only\", approver = \"Tech Lead\", expires = 2026-12-31 }\n",
    )
    .await;
    let item = report.item("pre-deployment.performance.cdn-configured-for-static-assets").unwrap();
    assert_eq!(item.skip, Some(SkipKind::NotApplicable));
    assert_eq!(item.reason, "not applicable: API only (approved by Tech Lead until 2026-12-31)");
}

#[tokio::test]
async fn gating_policy_comes_from_severities_and_per_item_overrides() {
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("Checks")
                .item(Item::new("Major one").severity(Severity::Major))
                .item(Item::new("Minor one").severity(Severity::Minor)),
        )
        .build()
        .unwrap();
    let fail = || FnProbe::new("x", |_cx| async move { Ok(Observation::fail("broken")) });
    let mut plan = Plan::new(checklist.clone());
    plan.bind("checks.major-one", fail()).unwrap();
    plan.bind("checks.minor-one", fail()).unwrap();
    // Major and minor do not gate by default; a run with nothing that gates decides nothing.
    let report = Runner::builder().build().run(&plan).await;
    assert_eq!(report.blockers().count(), 0);
    assert!(!report.ready());
    assert!(report.headline().starts_with("NOT READY: no gating item in this run"), "{}", report.headline());
    let mut with_gate = Plan::new(
        Checklist::builder("test", "Test")
            .section(
                Section::new("Checks").item(Item::new("Major one").severity(Severity::Major)).item(Item::new("Gate")),
            )
            .build()
            .unwrap(),
    );
    with_gate.bind("checks.major-one", fail()).unwrap();
    with_gate.bind("checks.gate", pass("gate")).unwrap();
    let report = Runner::builder().build().run(&with_gate).await;
    assert_eq!(report.item("checks.gate").unwrap().severity, Severity::Critical, "an item gates unless it says");
    assert!(report.ready(), "a failing major item does not block: {}", report.headline());
    plan.gate_severities([Severity::Blocker, Severity::Critical, Severity::Major]);
    let report = Runner::builder().build().run(&plan).await;
    assert_eq!(report.blockers().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["checks.major-one"]);

    let toml = "[runner]\ngating = [\"blocker\", \"critical\", \"major\"]\n\n[items.\"checks.minor-one\"]\ngating = true\n\n[bindings.\"checks.major-one\"]\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
    let config = Config::from_str_named(toml, "g.toml").unwrap();
    let plan = config.plan(checklist).unwrap();
    assert_eq!(plan.is_gating("checks.major-one"), Some(true));
    assert_eq!(plan.is_gating("checks.minor-one"), Some(true));
    let err = Config::from_str_named("[items.\"checks.nope\"]\ngating = true\n", "g.toml")
        .unwrap()
        .plan(flat(&["Yes"]))
        .unwrap_err();
    assert!(err.to_string().starts_with("g.toml:1:8: items.\"checks.nope\": unknown item id `checks.nope`"), "{err}");
    let err = Config::from_str_named("[items.\"checks.nope\"]\n", "g.toml").unwrap().plan(flat(&["Yes"])).unwrap_err();
    assert!(err.to_string().contains("unknown item id `checks.nope`"), "an empty entry is checked too: {err}");
    let err = Config::from_str_named("[runner]\ngating = [\"blockr\"]\n", "g.toml").unwrap_err();
    assert!(err.to_string().starts_with("g.toml:2:"), "{err}");
}

#[tokio::test]
async fn only_a_failed_dependency_skips_its_dependents() {
    let mut plan = Plan::new(flat(&["DNS", "TLS", "Pinned", "Health"]));
    plan.bind(
        "checks.dns",
        FnProbe::new("dns", |_cx| async move { Err(ProbeError::unreachable("resolver timed out")) }),
    )
    .unwrap();
    plan.bind("checks.tls", FnProbe::new("tls", |_cx| async move { Ok(Observation::fail("handshake failed")) }))
        .unwrap();
    plan.bind("checks.health", pass("health")).unwrap();
    plan.after("checks.tls", "checks.dns").unwrap();
    plan.after("checks.health", "checks.dns").unwrap();
    let report = Runner::builder().build().run(&plan).await;
    // DNS errored: not evidence that the precondition is false, so both dependents ran.
    let tls = report.item("checks.tls").unwrap();
    assert_eq!(tls.status, Status::Fail);
    assert_eq!(tls.reason, "handshake failed (dependency checks.dns was error)");
    let health = report.item("checks.health").unwrap();
    assert_eq!((health.status, health.reason.as_str()), (Status::Pass, "looked and it holds"));
    // Configuring DNS more (an error rather than no target) never turns a pass into a skip.
    assert_eq!(report.item("checks.dns").unwrap().blocked_by, Some(BlockRule::Errored));

    // A failed dependency skips, unless the dependent's probes are independent of it.
    #[derive(Debug)]
    struct Pinned;
    #[async_trait::async_trait]
    impl Probe for Pinned {
        fn target(&self) -> String {
            "tls://api.example.com:443 at 127.0.0.1".into()
        }
        async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
            Ok(Observation::pass("certificate valid for 80 days"))
        }
        fn independent(&self) -> bool {
            true
        }
    }
    let mut plan = Plan::new(flat(&["DNS", "TLS", "Pinned"]));
    plan.bind("checks.dns", FnProbe::new("dns", |_cx| async move { Ok(Observation::fail("NXDOMAIN")) })).unwrap();
    plan.bind("checks.tls", pass("tls")).unwrap();
    plan.bind("checks.pinned", Pinned.timeout(Duration::from_secs(5)).named("tls pinned")).unwrap();
    plan.after("checks.tls", "checks.dns").unwrap();
    plan.after("checks.pinned", "checks.dns").unwrap();
    let report = Runner::builder().build().run(&plan).await;
    assert_eq!(report.item("checks.tls").unwrap().skip, Some(SkipKind::Dependency));
    let pinned = report.item("checks.pinned").unwrap();
    assert_eq!(pinned.status, Status::Pass, "combinators keep the independence: {}", pinned.reason);
    assert_eq!(
        pinned.reason,
        "certificate valid for 80 days (ran although dependency checks.dns failed: the probe's target does not depend on it)"
    );
}

/// A probe with side effects that records how many probes ran beside it.
#[derive(Debug)]
struct Burst {
    in_flight: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    seen: Arc<std::sync::Mutex<Vec<(usize, usize)>>>,
}

#[async_trait::async_trait]
impl Probe for Burst {
    fn target(&self) -> String {
        "https://api.example.com/ (burst)".into()
    }
    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.seen.lock().unwrap().push((now, self.finished.load(Ordering::SeqCst)));
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(Observation::pass("429 after 12 requests"))
    }
    fn has_side_effects(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn probes_with_side_effects_run_alone_after_the_others() {
    let titles: Vec<String> = (0..8).map(|i| format!("Item {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut plan = Plan::new(flat(&refs));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in 0..6 {
        let (f, d) = (in_flight.clone(), finished.clone());
        plan.bind(
            &format!("checks.item-{i}"),
            FnProbe::new("x", move |_cx| {
                let (f, d) = (f.clone(), d.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    f.fetch_sub(1, Ordering::SeqCst);
                    d.fetch_add(1, Ordering::SeqCst);
                    Ok(Observation::pass("ok"))
                }
            }),
        )
        .unwrap();
    }
    for i in 6..8 {
        let b = Burst { in_flight: in_flight.clone(), finished: finished.clone(), seen: seen.clone() };
        plan.bind(&format!("checks.item-{i}"), b.retry(ExponentialBackoff::new(Duration::from_millis(1)))).unwrap();
    }
    let report = Runner::builder().concurrency(16).build().run(&plan).await;
    assert!(report.ready(), "{}", report.headline());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [(1, 6), (1, 6)], "each burst ran alone, after all 6 other probes finished");
    assert!(report.item("checks.item-6").unwrap().ran_alone);
    assert!(!report.item("checks.item-0").unwrap().ran_alone);
    let text = nexus_readiness::report::text::render(&report, false);
    assert!(text.contains("Ran alone, after the others (side effects): checks.item-6, checks.item-7"), "{text}");

    // An item marked exclusive in the config runs alone too.
    let config = Config::from_str_named("[items.\"checks.item-0\"]\nexclusive = true\n", "x.toml").unwrap();
    let plan = config.plan(flat(&["Item 0"])).unwrap();
    assert!(plan.binding("checks.item-0").unwrap().exclusive);
}

#[tokio::test]
async fn sign_off_rows_are_ticked_from_the_config() {
    let report = run_config(
        "[runner]\nallow_unverified = true\n\n[sign_off.\"Tech Lead\"]\nname = \"Sam Lee\"\ndate = 2026-11-26\n\n[sign_off.\"security lead\"]\nname = \"Dana\"\ndate = \"2026-11-27\"\nsignature = \"https://tickets.example.com/SEC-9\"\n",
    )
    .await;
    let rows: Vec<(&str, bool)> = report.sign_off().iter().map(|s| (s.role.as_str(), s.is_signed())).collect();
    assert_eq!(rows, [("Tech Lead", true), ("Security Lead", true), ("DevOps Lead", false), ("Product Owner", false)]);
    assert_eq!(report.sign_off()[0].signature.as_deref(), Some("signed in nexus.toml"));
    let md = report.render(Format::Markdown);
    assert!(md.contains("| ☑ Tech Lead | Sam Lee | 2026-11-26 | signed in nexus.toml |"), "{md}");
    let err = Config::from_str_named("[sign_off.\"CTO\"]\nname = \"X\"\ndate = 2026-11-26\n", "s.toml")
        .unwrap()
        .plan(builtin::nexus())
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "unknown sign-off role `CTO`; the roles are `Tech Lead`, `Security Lead`, `DevOps Lead`, `Product Owner`"
        ),
        "{err}"
    );
}

#[cfg(feature = "http")]
#[test]
fn the_rate_limit_burst_is_marked_as_having_side_effects() {
    let toml = "[targets.http.rate_limit]\nurl = \"http://127.0.0.1:9/v1/infer\"\nrequests = 50\n\n[targets.http.health]\nurls = [\"http://127.0.0.1:9/healthz\"]\n";
    let plan = Config::from_str_named(toml, "h.toml").unwrap().plan(builtin::nexus()).unwrap();
    let burst = plan.binding("pre-deployment.security.rate-limiting-configured").unwrap();
    assert!(burst.probes.iter().all(|p| p.has_side_effects()), "the burst consumes the real limiter");
    let health = plan.binding("deployment.health-checks.health-check-endpoints-tested").unwrap();
    assert!(health.probes.iter().all(|p| !p.has_side_effects()));
}

#[cfg(feature = "tls")]
#[test]
fn a_tls_probe_with_a_pinned_ip_does_not_depend_on_dns() {
    let plan = |extra: &str| {
        let toml = format!("[targets.tls]\nendpoints = [\"api.example.com:443\"]\n{extra}");
        Config::from_str_named(&toml, "t.toml").unwrap().plan(builtin::nexus()).unwrap()
    };
    let id = "post-deployment.verification.ssl-certificates-valid";
    let pinned = plan("ip = \"127.0.0.1\"\n");
    assert!(pinned.binding(id).unwrap().probes.iter().all(|p| p.independent()));
    let resolved = plan("");
    assert!(resolved.binding(id).unwrap().probes.iter().all(|p| !p.independent()));
}

#[tokio::test]
async fn only_runs_the_items_selected_by_id_section_or_tag() {
    let checklist = Checklist::builder("test", "Test")
        .section(
            Section::new("Pre")
                .phase(Phase::PreDeployment)
                .item(Item::new("A").severity(Severity::Blocker).tag("gpu"))
                .item(Item::new("B").severity(Severity::Blocker)),
        )
        .section(Section::new("Post").phase(Phase::PostDeployment).item(Item::new("C").severity(Severity::Blocker)))
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut plan = Plan::new(checklist);
    for id in ["pre.a", "pre.b", "post.c"] {
        let ran = ran.clone();
        plan.bind(
            id,
            FnProbe::new(id, move |_cx| {
                ran.fetch_add(1, Ordering::SeqCst);
                async move { Ok(Observation::fail("looked: broken")) }
            }),
        )
        .unwrap();
    }

    // By tag: only A runs; B and C are out of scope and do not block.
    let report = Runner::builder().only(["gpu"]).build().run(&plan).await;
    assert_eq!(ran.swap(0, Ordering::SeqCst), 1);
    assert_eq!(report.item("pre.a").unwrap().status, Status::Fail);
    for id in ["pre.b", "post.c"] {
        let i = report.item(id).unwrap();
        assert_eq!((i.status, i.skip), (Status::Skipped, Some(SkipKind::NotSelected)), "{id}");
        assert_eq!(i.reason, "not selected for this run");
        assert_eq!(i.blocked_by, None);
    }
    assert!(!report.ready(), "the selected item failed");

    // By section (a dotted prefix of the id, not a string prefix) and by exact id.
    let report = Runner::builder().only(["post", "pre.b"]).build().run(&plan).await;
    assert_eq!(ran.swap(0, Ordering::SeqCst), 2);
    assert_eq!(report.item("pre.a").unwrap().skip, Some(SkipKind::NotSelected));
    assert_eq!(report.item("pre.b").unwrap().status, Status::Fail);
    assert_eq!(report.item("post.c").unwrap().status, Status::Fail);
    let report = Runner::builder().only(["pre.a"]).build().run(&plan).await;
    assert_eq!(ran.swap(0, Ordering::SeqCst), 1);
    assert_eq!(report.summary().skipped, 2);
    let report = Runner::builder().only(["pr"]).build().run(&plan).await;
    assert_eq!(ran.swap(0, Ordering::SeqCst), 0, "`pr` is not a section of `pre.a`");

    // A selector that matches nothing never makes an empty run ready.
    assert!(!report.ready());
    assert_eq!(report.unmatched_selectors(), ["pr"]);
    assert_eq!(report.headline(), "NOT READY: selector `pr` matched no item");
    let mut pass_plan = Plan::new(flat(&["A"]));
    pass_plan.bind("checks.a", pass("a")).unwrap();
    let report = Runner::builder().only(["checks", "typo"]).build().run(&pass_plan).await;
    assert_eq!(report.item("checks.a").unwrap().status, Status::Pass);
    assert!(!report.ready());
    assert!(report.render(nexus_readiness::report::Format::Json).contains("\"unmatched_selectors\""));
    let report = Runner::builder().only(["checks"]).build().run(&pass_plan).await;
    assert!(report.ready());

    // Polling stops at once on a selector that matches nothing: no round can fix it.
    let policy = PollPolicy::new(Duration::from_millis(20), Duration::from_secs(30));
    let t0 = Instant::now();
    let report = Runner::builder().only(["typo"]).build().wait_until_ready(&pass_plan, policy).await;
    assert!(!report.ready());
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn the_verdict_cannot_be_desynchronised_from_the_items() {
    let mut plan = Plan::new(flat(&["A"]));
    plan.bind("checks.a", FnProbe::new("a", |_cx| async move { Ok(Observation::fail("down")) })).unwrap();
    let report = Runner::builder().build().run(&plan).await;
    assert!(!report.ready());
    // A JSON document edited to claim readiness is read back with the verdict recomputed.
    let json = report.render(nexus_readiness::report::Format::Json);
    let forged = json.replace("\"ready\": false", "\"ready\": true").replace("NOT READY", "READY");
    assert_ne!(forged, json);
    let back = nexus_readiness::report::json::parse(&forged).unwrap();
    assert!(!back.ready());
    assert_eq!(back.headline(), report.headline());
    assert_eq!(back, report);
    // Policy changes go through methods that recompute.
    let report = report.with_cancelled(true);
    assert!(report.headline().ends_with("run cancelled"), "{}", report.headline());
}
