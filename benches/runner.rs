//! Runner overhead and concurrency.
//!
//! (a) 10,000 no-op probes through the full runner (scheduling, timeouts, spans, redaction,
//! report) against a bare `tokio::task::JoinSet` running the same probe futures; prints the
//! per-probe overhead in µs and the ratio (target ≤ 2 µs per probe).
//! (b) 1,000 probes each sleeping 100 ms, with concurrency 1,000 (ideal 100 ms) and 50
//! (ideal 2 s); prints the wall time against the ideal (target within 10%).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use nexus_readiness::model::{Checklist, Item, Section, Severity};
use nexus_readiness::probe::{BoxProbe, FnProbe, Observation, ProbeContext, ProbeExt};
use nexus_readiness::run::{Plan, Runner};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

fn plan(n: usize, probe: &BoxProbe) -> Plan {
    let mut s = Section::new("Bench");
    for i in 0..n {
        s = s.item(Item::new(format!("Item {i}")).severity(Severity::Blocker));
    }
    let checklist = Checklist::builder("bench", "Bench").section(s).build().expect("valid checklist");
    let ids: Vec<String> = checklist.items().map(|i| i.id.to_string()).collect();
    let mut plan = Plan::new(checklist);
    for id in ids {
        plan.bind_arc(&id, probe.clone()).expect("known id");
    }
    plan
}

fn noop() -> BoxProbe {
    FnProbe::new("noop://", |_cx| async move { Ok(Observation::pass("ok")) }).boxed()
}

fn sleeper(d: Duration) -> BoxProbe {
    FnProbe::new("sleep://", move |_cx| async move {
        tokio::time::sleep(d).await;
        Ok(Observation::pass("slept"))
    })
    .boxed()
}

async fn bare(probe: &BoxProbe, n: usize) -> usize {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let p = probe.clone();
        set.spawn(async move {
            let cx = ProbeContext::new();
            p.check(&cx).await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += usize::from(matches!(r, Ok(Ok(_))));
    }
    ok
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn overhead(c: &mut Criterion) {
    const N: usize = 10_000;
    let rt = runtime();
    let probe = noop();
    let plan = plan(N, &probe);
    let unbounded = Runner::builder().concurrency(N).build();
    let default = Runner::builder().build();

    let mut g = c.benchmark_group("noop_10k");
    g.sample_size(20);
    g.bench_function("bare_joinset", |b| b.to_async(&rt).iter(|| async { black_box(bare(&probe, N).await) }));
    g.bench_function("runner_concurrency_10000", |b| {
        b.to_async(&rt).iter(|| async { black_box(unbounded.run(&plan).await.summary().pass) })
    });
    g.bench_function("runner_concurrency_16", |b| {
        b.to_async(&rt).iter(|| async { black_box(default.run(&plan).await.summary().pass) })
    });
    g.finish();

    // A plain summary for the report: medians of 30 runs each.
    let mut t_bare = Vec::new();
    let mut t_run = Vec::new();
    let mut t_run16 = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        assert_eq!(rt.block_on(bare(&probe, N)), N);
        t_bare.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(rt.block_on(unbounded.run(&plan)).summary().pass, N);
        t_run.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(rt.block_on(default.run(&plan)).summary().pass, N);
        t_run16.push(t.elapsed());
    }
    let (b, r, r16) = (median(t_bare), median(t_run), median(t_run16));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / N as f64;
    eprintln!(
        "noop_10k: bare JoinSet {b:?} ({:.2} µs/probe); runner (concurrency 10000) {r:?} ({:.2} µs/probe, overhead {:.2} µs/probe, ratio {:.2}); runner (concurrency 16) {r16:?} ({:.2} µs/probe, overhead {:.2} µs/probe, ratio {:.2})",
        per(b),
        per(r),
        per(r) - per(b),
        r.as_secs_f64() / b.as_secs_f64(),
        per(r16),
        per(r16) - per(b),
        r16.as_secs_f64() / b.as_secs_f64(),
    );
}

fn sleeping(c: &mut Criterion) {
    const N: usize = 1_000;
    let rt = runtime();
    let probe = sleeper(Duration::from_millis(100));
    let plan = plan(N, &probe);
    let mut g = c.benchmark_group("sleep_100ms_1k");
    g.sample_size(10);
    for (concurrency, ideal) in [(1_000usize, Duration::from_millis(100)), (50, Duration::from_secs(2))] {
        let runner = Runner::builder().concurrency(concurrency).build();
        g.bench_function(format!("concurrency_{concurrency}"), |b| {
            b.to_async(&rt).iter(|| async { black_box(runner.run(&plan).await.summary().pass) })
        });
        let runs: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(rt.block_on(runner.run(&plan)).summary().pass, N);
                t.elapsed()
            })
            .collect();
        let m = median(runs);
        eprintln!(
            "sleep_100ms_1k concurrency {concurrency}: wall {m:?} vs ideal {ideal:?} ({:+.1}%)",
            (m.as_secs_f64() / ideal.as_secs_f64() - 1.0) * 100.0
        );
    }
    g.finish();
}

criterion_group!(benches, overhead, sleeping);
criterion_main!(benches);
