//! Rendering a 10,000-item report in every format.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_readiness::model::{Checklist, Item, Section, Severity, Unit};
use nexus_readiness::probe::{FnProbe, Measurement, Observation, ProbeError, ProbeExt};
use nexus_readiness::report::{Format, Report};
use nexus_readiness::run::{Plan, Runner};

/// 10,000 items in 10 sections of 10 subsections, with every kind of outcome and a
/// measurement on each probed item.
fn report() -> Report {
    let mut builder = Checklist::builder("bench", "Bench checklist");
    for s in 0..10 {
        let mut section = Section::new(format!("Section {s}"));
        for t in 0..10 {
            let mut sub = Section::new(format!("Sub {s}-{t}"));
            for i in 0..100 {
                let item = Item::new(format!("Item {s}-{t}-{i} checks something \"quoted\" & <escaped>"))
                    .severity(Severity::ALL[i % 4]);
                sub = sub.item(if i % 10 == 9 { item.attestation_only() } else { item });
            }
            section = section.section(sub);
        }
        builder = builder.section(section);
    }
    let checklist = builder.build().expect("valid checklist");
    let ids: Vec<String> = checklist.items().map(|i| i.id.to_string()).collect();
    let mut plan = Plan::new(checklist);
    let probes = [
        FnProbe::new("https://a/healthz", |_cx| async move {
            Ok(Observation::pass("200 OK in 12ms")
                .with_measurement(Measurement::new("latency", 12.0, Unit::Milliseconds).label("path", "/healthz")))
        })
        .boxed(),
        FnProbe::new("https://b/healthz", |_cx| async move { Ok(Observation::warn("slow: 900ms")) }).boxed(),
        FnProbe::new("https://c/healthz", |_cx| async move { Ok(Observation::fail("503 Service Unavailable")) })
            .boxed(),
        FnProbe::new("tcp://d:6379", |_cx| async move { Err(ProbeError::unreachable("connection refused by d:6379")) })
            .boxed(),
        FnProbe::new("s3://e", |_cx| async move { Err(ProbeError::not_configured("targets.s3.bucket")) }).boxed(),
    ];
    for (n, id) in ids.iter().enumerate() {
        if n % 10 != 9 {
            plan.bind_arc(id, probes[n % probes.len()].clone()).expect("known id");
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(Runner::builder().concurrency(10_000).build().run(&plan))
}

fn render(c: &mut Criterion) {
    let report = report();
    assert_eq!(report.items().len(), 10_000);
    let mut g = c.benchmark_group("render_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    for f in Format::ALL {
        eprintln!("render_10k {f}: {} bytes", report.render(f).len());
        g.bench_function(f.as_str(), |b| b.iter(|| black_box(report.render(black_box(f)))));
    }
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
