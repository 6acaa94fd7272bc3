//! Checklist document parsing throughput: the source document, a generated 10,000-item
//! checklist, and a 10,000-item one with nested items, attributes and descriptions, in
//! reStructuredText and Markdown.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_readiness::builtin::{NEXUS_MARKDOWN, NEXUS_RST};
use nexus_readiness::format::{self, Syntax};
use nexus_readiness::model::{Checklist, Item, ItemId, Section, Severity, Threshold, Unit};

/// 10 top-level sections x 10 subsections x 100 items, plus the source's other blocks.
fn generated() -> Checklist {
    let source = format::parse_rst(NEXUS_RST).expect("source parses");
    let mut builder =
        Checklist::builder("generated", "Generated Checklist").description("A large generated checklist.");
    for s in 0..10 {
        let mut section = Section::new(format!("Phase {s}"));
        for t in 0..10 {
            let mut sub = Section::new(format!("Area {s}-{t}"));
            for i in 0..100 {
                let title = if i % 10 == 0 {
                    format!("Item {i} of area {s}-{t} configured (if needed)")
                } else {
                    format!("Item {i} of area {s}-{t} verified against the production baseline")
                };
                sub = sub.item(Item::new(title).checked(i % 3 == 0));
            }
            section = section.section(sub);
        }
        builder = builder.section(section);
    }
    for i in 0..50 {
        builder = builder.threshold(
            Threshold::ceiling(format!("Metric {i}"), Unit::Milliseconds, 200.0, 500.0, "Optimize").unwrap(),
        );
    }
    let mut c = builder.build().expect("generated checklist is valid");
    c.alert_rules = source.alert_rules;
    c.key_metrics = source.key_metrics;
    c.rollback = source.rollback;
    c.sign_off = source.sign_off;
    c
}

/// 10 sections x 10 subsections x 25 parent items with 3 children each; every fifth item has
/// attributes and every seventh a description.
fn nested() -> Checklist {
    let mut builder = Checklist::builder("nested", "Nested Checklist");
    let mut n = 0;
    for s in 0..10 {
        let mut section = Section::new(format!("Phase {s}"));
        for t in 0..10 {
            let mut sub = Section::new(format!("Area {s}-{t}"));
            for i in 0..25 {
                let parent = format!("Parent {i} of area {s}-{t} configured");
                let leaf = ItemId::new(nexus_readiness::model::slugify(&parent)).unwrap();
                sub = sub.item(decorate(Item::new(parent), &mut n));
                for k in 0..3 {
                    let child =
                        Item::new(format!("Child {k} verified against the production baseline")).parent(leaf.clone());
                    sub = sub.item(decorate(child, &mut n));
                }
            }
            section = section.section(sub);
        }
        builder = builder.section(section);
    }
    builder.build().expect("nested checklist is valid")
}

fn decorate(mut item: Item, n: &mut usize) -> Item {
    *n += 1;
    if n.is_multiple_of(5) {
        item = item.severity(Severity::Critical).tag("generated").tag("bench");
    }
    if n.is_multiple_of(7) {
        item = item.description("Checked by the platform team on every release.");
    }
    item.checked(n.is_multiple_of(3))
}

fn bench(c: &mut Criterion) {
    let big = generated();
    assert_eq!(big.items().count(), 10_000);
    let nested = nested();
    assert_eq!(nested.items().count(), 10_000);
    let docs = [
        ("source/rst", NEXUS_RST.to_string(), Syntax::Rst),
        ("source/md", NEXUS_MARKDOWN.to_string(), Syntax::Markdown),
        ("10k-items/rst", format::render_rst(&big), Syntax::Rst),
        ("10k-items/md", format::render_markdown(&big), Syntax::Markdown),
        ("10k-nested/rst", format::render_rst(&nested), Syntax::Rst),
        ("10k-nested/md", format::render_markdown(&nested), Syntax::Markdown),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, text, syntax) in &docs {
        let parsed = format::parse(text, *syntax).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.items().count(), if name.starts_with("source") { 58 } else { 10_000 }, "{name}");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| b.iter(|| format::parse(black_box(text), *syntax).unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("render");
    for (name, text, syntax) in &docs {
        let checklist = format::parse(text, *syntax).unwrap();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| b.iter(|| format::render(black_box(&checklist), *syntax)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
