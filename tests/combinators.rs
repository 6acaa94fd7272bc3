//! Probe combinators: timeout, retry with backoff, named, boxed, FnProbe, all/any, threshold.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nexus_readiness::model::{Level, Threshold, Unit};
use nexus_readiness::probe::{
    All, BoxProbe, ExponentialBackoff, FnProbe, Measurement, Observation, Probe, ProbeContext, ProbeError,
    ProbeErrorKind, ProbeExt, RetryPolicy, Verdict, all, any,
};

fn fixed(target: &'static str, r: Result<Observation, ProbeError>) -> BoxProbe {
    FnProbe::new(target, move |_cx| {
        let r = r.clone();
        async move { r }
    })
    .boxed()
}

#[tokio::test]
async fn timeout_cuts_a_probe_that_never_returns() {
    let probe = FnProbe::new("tcp://10.255.255.1:443", |_cx| async move {
        std::future::pending::<Result<Observation, ProbeError>>().await
    })
    .timeout(Duration::from_millis(50));
    let t0 = Instant::now();
    let err = probe.check(&ProbeContext::new()).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, ProbeErrorKind::Timeout);
    assert_eq!(err.to_string(), "probe timed out after 50ms");
    assert_eq!(probe.target(), "tcp://10.255.255.1:443");
}

#[tokio::test]
async fn timeout_passes_results_through_and_sets_the_deadline() {
    let probe = FnProbe::new("t", |cx| async move {
        let left = cx.remaining().ok_or_else(|| ProbeError::other("no deadline"))?;
        Ok(Observation::pass(format!("deadline within 2s: {}", left <= Duration::from_secs(2))))
    })
    .timeout(Duration::from_secs(2));
    let obs = probe.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.summary, "deadline within 2s: true");
}

#[test]
fn the_timeout_error_reads_like_tower() {
    let e = nexus_readiness::probe::Elapsed(Duration::from_secs(2));
    assert_eq!(e.to_string(), "probe timed out after 2s");
    let pe: ProbeError = e.into();
    assert_eq!(pe.kind, ProbeErrorKind::Timeout);
}

/// Fails with `err` for the first `fail` calls, then passes; records the attempt numbers seen.
fn flaky(fail: usize, err: ProbeError, seen: Arc<Mutex<Vec<(u32, Instant)>>>) -> impl Probe {
    let calls = Arc::new(AtomicUsize::new(0));
    FnProbe::new("redis://127.0.0.1:1", move |cx| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        seen.lock().unwrap().push((cx.attempt(), Instant::now()));
        let err = err.clone();
        async move { if n < fail { Err(err) } else { Ok(Observation::pass("PONG")) } }
    })
}

#[tokio::test]
async fn retry_backs_off_and_numbers_attempts() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = ExponentialBackoff::new(Duration::from_millis(40)).factor(2.0).jitter(0.0).max_attempts(5);
    let probe = flaky(3, ProbeError::unreachable("connection refused by 127.0.0.1:1"), seen.clone()).retry(policy);
    let cx = ProbeContext::new();
    let obs = probe.check(&cx).await.unwrap();
    assert_eq!(obs.summary, "PONG");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|(a, _)| *a).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(cx.attempts(), 4);
    // Delays 40ms, 80ms, 160ms: each gap at least its delay, and growing.
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].1 - w[0].1).collect();
    for (gap, want) in gaps.iter().zip([40u64, 80, 160]) {
        assert!(*gap >= Duration::from_millis(want), "gap {gap:?} < {want}ms");
    }
    assert!(gaps[2] > gaps[0]);
}

#[tokio::test]
async fn retry_gives_up_after_max_attempts_with_the_last_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = ExponentialBackoff::new(Duration::from_millis(5)).max_attempts(3);
    let probe = flaky(10, ProbeError::unreachable("connection refused by 127.0.0.1:1"), seen.clone()).retry(policy);
    let err = probe.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.to_string(), "connection refused by 127.0.0.1:1 (after 3 attempts)");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn retry_does_not_retry_permanent_errors_or_verdicts() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let probe = flaky(10, ProbeError::misconfigured("bad url `htp://x`"), seen.clone())
        .retry(ExponentialBackoff::new(Duration::from_millis(1)).max_attempts(5));
    let err = probe.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.to_string(), "bad url `htp://x`");
    assert_eq!(seen.lock().unwrap().len(), 1);

    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let failing = FnProbe::new("x", move |_cx| {
        c.fetch_add(1, Ordering::SeqCst);
        async move { Ok(Observation::fail("401 expected, got 200")) }
    })
    .retry(ExponentialBackoff::default());
    assert_eq!(failing.check(&ProbeContext::new()).await.unwrap().verdict, Verdict::Fail);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a verdict is an answer, not a transient error");
}

#[tokio::test]
async fn retry_stops_at_the_context_deadline() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = ExponentialBackoff::new(Duration::from_millis(200)).jitter(0.0).max_attempts(10);
    let probe = flaky(10, ProbeError::unreachable("refused"), seen.clone()).retry(policy);
    let t0 = Instant::now();
    let cx = ProbeContext::new().with_timeout(Duration::from_millis(300));
    let err = probe.check(&cx).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(err.to_string(), "refused (after 2 attempts)");
}

#[test]
fn backoff_grows_caps_and_jitters_within_bounds() {
    let p = ExponentialBackoff::new(Duration::from_millis(100))
        .factor(2.0)
        .max_delay(Duration::from_millis(500))
        .jitter(0.25)
        .max_attempts(10)
        .max_elapsed(Duration::from_secs(60));
    assert_eq!(p.base_delay(1), Duration::from_millis(100));
    assert_eq!(p.base_delay(2), Duration::from_millis(200));
    assert_eq!(p.base_delay(3), Duration::from_millis(400));
    assert_eq!(p.base_delay(4), Duration::from_millis(500), "capped");
    let err = ProbeError::unreachable("refused");
    let mut distinct = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let d = p.retry(2, Duration::ZERO, &err).unwrap();
        assert!(d >= Duration::from_millis(150) && d <= Duration::from_millis(250), "{d:?}");
        distinct.insert(d.as_micros());
    }
    assert!(distinct.len() > 10, "jitter varies the delay");
    assert_eq!(p.retry(10, Duration::ZERO, &err), None, "max attempts");
    assert_eq!(p.retry(2, Duration::from_secs(60), &err), None, "max elapsed");
    assert_eq!(p.retry(1, Duration::ZERO, &ProbeError::permission_denied("403")), None, "not transient");
    let custom = p.retry_if(|e| e.kind == ProbeErrorKind::PermissionDenied);
    assert!(custom.retry(1, Duration::ZERO, &ProbeError::permission_denied("403")).is_some());
}

#[tokio::test]
async fn named_overrides_the_target_and_boxed_erases_the_type() {
    let p = FnProbe::new("redis://10.0.0.5:6379", |_cx| async move { Ok(Observation::pass("PONG")) })
        .named("redis-primary");
    assert_eq!(p.target(), "redis-primary");
    let b: BoxProbe = p.boxed();
    let again = b.clone();
    assert_eq!(again.target(), "redis-primary");
    assert_eq!(b.check(&ProbeContext::new()).await.unwrap().summary, "PONG");
}

#[tokio::test]
async fn fn_probe_sees_the_context() {
    let p = FnProbe::new("ctx", |cx| async move { Ok(Observation::pass(format!("attempt {}", cx.attempt()))) });
    let obs = p.check(&ProbeContext::new().with_attempt(3)).await.unwrap();
    assert_eq!(obs.summary, "attempt 3");
    assert!(format!("{p:?}").contains("ctx"));
}

#[tokio::test]
async fn all_takes_the_worst_and_labels_every_sub_result() {
    let p = all([
        fixed("a", Ok(Observation::pass("a ok"))),
        fixed("b", Ok(Observation::warn("b slow"))),
        fixed("c", Ok(Observation::pass("c ok").with_evidence("status", "200"))),
    ]);
    assert_eq!(p.target(), "all(a, b, c)");
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn);
    assert_eq!(obs.summary, "1 of 3 warned: a: a ok; b: warn: b slow; c: c ok");
    assert_eq!(obs.evidence.get("c.status"), Some("200"));

    let obs = all([fixed("a", Ok(Observation::pass("a ok"))), fixed("b", Ok(Observation::pass("b ok")))])
        .check(&ProbeContext::new())
        .await
        .unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Pass, "a: a ok; b: b ok"));

    let err = all([]).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
}

/// The one precedence of the fan-out: Fail > Error > Warn > Pass, whatever the order.
#[tokio::test]
async fn fan_out_precedence_is_fail_error_warn_pass() {
    let pass = || Ok(Observation::pass("fine"));
    let warn = || Ok(Observation::warn("slow"));
    let fail = || Ok(Observation::fail("down"));
    let error = || Err(ProbeError::unreachable("connection refused by x:80"));
    type Case = fn() -> Result<Observation, ProbeError>;
    let cases: [(&str, Case); 4] = [("pass", pass), ("warn", warn), ("fail", fail), ("error", error)];
    // Every ordered pair, both orders: the higher rank decides.
    let rank = |name: &str| ["pass", "warn", "error", "fail"].iter().position(|n| *n == name).unwrap();
    for (a, fa) in cases {
        for (b, fb) in cases {
            let p = All::labelled([("first", fixed("1", fa())), ("second", fixed("2", fb()))]);
            let got = p.check(&ProbeContext::new()).await;
            let want = if rank(a) >= rank(b) { a } else { b };
            let seen = match &got {
                Ok(o) => o.verdict.to_string(),
                Err(_) => "error".to_string(),
            };
            assert_eq!(seen, want, "{a} + {b}: {got:?}");
            // Every sub-result is kept, labelled, in order.
            let text = match &got {
                Ok(o) => o.summary.clone(),
                Err(e) => e.message.clone(),
            };
            let first = text.find("first: ").unwrap_or_else(|| panic!("{a} + {b}: {text}"));
            let second = text.find("second: ").unwrap_or_else(|| panic!("{a} + {b}: {text}"));
            assert!(first < second, "{text}");
        }
    }

    // Fail beats Error: a known failure is not hidden by an unreachable sibling.
    let p = all([
        fixed("a", Ok(Observation::fail("a down"))),
        fixed("b", Err(ProbeError::unreachable("connection refused by b:80"))),
    ]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_eq!(
        obs.summary,
        "1 of 2 failed, 1 could not be checked: a: fail: a down; b: error: connection refused by b:80"
    );

    // Error beats Warn and Pass, keeps the error's kind and lists the others.
    let p = all([
        fixed("a", Ok(Observation::warn("a slow"))),
        fixed("b", Err(ProbeError::timeout(Duration::from_secs(2)))),
        fixed("c", Ok(Observation::pass("c ok"))),
    ]);
    let err = p.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Timeout);
    assert_eq!(
        err.message,
        "1 of 3 could not be checked, 1 warned: a: warn: a slow; b: error: probe timed out after 2s; c: c ok"
    );
}

#[tokio::test]
async fn fan_out_errors_and_skips() {
    // A real error wins over "not configured": a broken target is never reported as Skipped.
    let p = all([
        fixed("a", Err(ProbeError::not_configured("targets.a"))),
        fixed("b", Err(ProbeError::permission_denied("403 from b"))),
    ]);
    let err = p.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(err.config_key.as_deref(), Some("targets.a"));

    // Not configured next to a pass: the item is not fully verified (a skip that blocks).
    let p = all([fixed("a", Ok(Observation::pass("ok"))), fixed("b", Err(ProbeError::not_configured("targets.b")))]);
    let err = p.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotConfigured);
    assert_eq!(err.message, "1 of 2 could not be checked: a: ok; b: error: not configured: set targets.b");

    // A part that does not apply next to observed ones: the others decide.
    let p = all([
        fixed("gpu0", Ok(Observation::pass("healthy"))),
        fixed("gpu1", Err(ProbeError::not_applicable("no ECC on this board"))),
    ]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 of 2 not applicable: gpu0: healthy; gpu1: not applicable: no ECC on this board");

    // Nothing applies: the whole does not apply.
    let p =
        all([fixed("a", Err(ProbeError::not_applicable("n/a"))), fixed("b", Err(ProbeError::not_applicable("n/a")))]);
    assert_eq!(p.check(&ProbeContext::new()).await.unwrap_err().kind, ProbeErrorKind::NotApplicable);
}

#[tokio::test]
async fn fan_out_labels_evidence_and_measurements_and_is_transparent_for_one() {
    let p = All::labelled([
        ("api:443", fixed("x", Ok(Observation::pass("ok").with_evidence("issuer", "R3")))),
        (
            "www:443",
            fixed(
                "y",
                Ok(Observation::pass("ok").with_measurement(Measurement::new("days_until_expiry", 40.0, Unit::Count))),
            ),
        ),
    ])
    .measurement_label("endpoint")
    .with_target("tls://api,www");
    assert_eq!(p.target(), "tls://api,www");
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.evidence.get("api:443.issuer"), Some("R3"));
    assert_eq!(obs.measurements[0].labels.get("endpoint").map(String::as_str), Some("www:443"));

    let one = Observation::warn("slow").with_evidence("status", "200");
    let obs = All::labelled([("only", fixed("x", Ok(one.clone())))]).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs, one);
}

#[tokio::test]
async fn any_passes_when_one_passes() {
    let p = any([
        fixed("a", Ok(Observation::fail("a down"))),
        fixed("b", Err(ProbeError::unreachable("refused"))),
        fixed("c", Ok(Observation::pass("c ok"))),
    ]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Pass, "c ok"));

    let p = any([fixed("a", Ok(Observation::fail("a down"))), fixed("b", Ok(Observation::fail("b down")))]);
    let obs = p.check(&ProbeContext::new()).await.unwrap();
    assert_eq!((obs.verdict, obs.summary.as_str()), (Verdict::Fail, "a: a down; b: b down"));

    let p = any([fixed("a", Ok(Observation::fail("a down"))), fixed("b", Err(ProbeError::unreachable("refused")))]);
    let err = p.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.to_string(), "b: refused", "none passed and one could not decide");
}

#[tokio::test]
async fn a_threshold_turns_a_measurement_into_a_verdict() {
    let gpu = Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up").unwrap();
    let measuring = |v: f64| {
        FnProbe::new("nvml://gpu0", move |_cx| async move {
            Ok(Observation::pass("gpu 0 read").with_measurement(Measurement::new("gpu_utilization", v, Unit::Percent)))
        })
    };
    let obs = measuring(60.0).threshold("gpu_utilization", gpu.clone()).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.measurements[0].evaluation.as_ref().map(|e| e.level), Some(Level::Ok));

    let obs = measuring(80.0).threshold("gpu_utilization", gpu.clone()).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn);

    let obs = measuring(90.0).threshold("gpu_utilization", gpu.clone()).check(&ProbeContext::new()).await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert!(obs.summary.contains("Scale up"), "{}", obs.summary);

    let err = measuring(90.0).threshold("gpu_memory", gpu.clone()).check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
    assert_eq!(err.to_string(), "probe nvml://gpu0 reported no measurement `gpu_memory`");

    // Units convert: 0.9 as a ratio is 90%.
    let ratio = FnProbe::new("r", |_cx| async move {
        Ok(Observation::pass("read").with_measurement(Measurement::new("gpu_utilization", 0.9, Unit::Ratio)))
    });
    assert_eq!(
        ratio.threshold("gpu_utilization", gpu).check(&ProbeContext::new()).await.unwrap().verdict,
        Verdict::Fail
    );
}

#[test]
fn combinators_are_send_sync_and_object_safe() {
    fn assert_probe<P: Probe + Send + Sync + 'static>(_: &P) {}
    let base = FnProbe::new("x", |_cx| async move { Ok(Observation::pass("ok")) });
    let stacked = base
        .timeout(Duration::from_secs(1))
        .retry(ExponentialBackoff::default())
        .named("n")
        .threshold("m", Threshold::ceiling("M", Unit::Count, 1.0, 2.0, "act").unwrap());
    assert_probe(&stacked);
    let _: &dyn Probe = &stacked;
    let _: &dyn RetryPolicy = &ExponentialBackoff::default();
}
