//! A corpus of checklist documents in the shapes teams write (task lists under a title or with no
//! title, pull-request templates, nesting three deep, code blocks, tables, front matter, text and
//! comments before the title, several top-level headings, reStructuredText with directives):
//! every checkbox becomes an item, ids are stable, and all four round trips keep the items.

use std::path::{Path, PathBuf};

use nexus_readiness::format::{self, Syntax};
use nexus_readiness::model::{Checklist, Item, Phase, Severity, Verification};
use regex::Regex;

fn documents() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/documents");
    let mut docs: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| Syntax::from_path(p).is_some())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    docs.sort();
    docs
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Checkboxes counted with a regex over the source, outside fenced code blocks and literal
/// blocks, independently of the parser.
fn checkbox_count(text: &str, syntax: Syntax) -> usize {
    let fences = Regex::new(r"(?ms)^(```|~~~).*?^(```|~~~)[ \t]*$").unwrap();
    let text = match syntax {
        Syntax::Markdown => fences.replace_all(text, "").into_owned(),
        _ => text.to_string(),
    };
    let boxes = Regex::new(r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[[ xX]\](?:[ \t]|$)").unwrap();
    boxes.find_iter(&text).count()
}

fn parse(text: &str, syntax: Syntax) -> Checklist {
    format::parse(text, syntax).unwrap_or_else(|e| panic!("{syntax:?}: {e}\n{text}"))
}

fn other(syntax: Syntax) -> Syntax {
    match syntax {
        Syntax::Markdown => Syntax::Rst,
        _ => Syntax::Markdown,
    }
}

/// What a checklist says about its items: everything but layout and verbatim passages.
type Signature = (
    String,
    String,
    bool,
    Severity,
    Option<Phase>,
    Verification,
    Vec<String>,
    Vec<String>,
    Option<String>,
    Option<String>,
);

fn signature(c: &Checklist) -> Vec<Signature> {
    c.items()
        .map(|i: &Item| {
            (
                i.id.to_string(),
                i.display_title(),
                i.checked,
                i.severity,
                i.phase,
                i.verification,
                i.tags.clone(),
                i.after.iter().map(|a| a.to_string()).collect(),
                i.parent.as_ref().map(|p| p.to_string()),
                i.description.clone(),
            )
        })
        .collect()
}

fn assert_same_items(a: &Checklist, b: &Checklist, what: &str) {
    assert_eq!(signature(a), signature(b), "{what}: items");
    assert_eq!(c_phases(a), c_phases(b), "{what}: phases");
    assert_eq!(a.thresholds, b.thresholds, "{what}: thresholds");
    assert_eq!(a.alert_rules, b.alert_rules, "{what}: alert rules");
    assert_eq!(a.rollback, b.rollback, "{what}: rollback");
    assert_eq!(a.sign_off, b.sign_off, "{what}: sign-off");
}

fn c_phases(c: &Checklist) -> Vec<(String, Option<Phase>)> {
    c.items_with_phase().into_iter().map(|(i, p)| (i.id.to_string(), p)).collect()
}

#[test]
fn the_corpus_has_at_least_twelve_documents_in_both_syntaxes() {
    let docs = documents();
    assert!(docs.len() >= 12, "{} documents", docs.len());
    assert!(docs.iter().any(|(p, _)| Syntax::from_path(p) == Some(Syntax::Rst)));
    assert!(docs.iter().any(|(p, _)| Syntax::from_path(p) == Some(Syntax::Markdown)));
}

#[test]
fn every_checkbox_is_an_item() {
    let ticked = Regex::new(r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[[xX]\]").unwrap();
    for (path, text) in documents() {
        let syntax = Syntax::from_path(&path).unwrap();
        let c = parse(&text, syntax);
        let expected = checkbox_count(&text, syntax);
        assert!(expected > 0, "{}", name(&path));
        assert_eq!(c.items().count(), expected, "{}: items vs checkboxes in the source", name(&path));
        let checked = ticked.find_iter(&text).count();
        assert_eq!(c.items().filter(|i| i.checked).count(), checked, "{}: ticked boxes", name(&path));
    }
}

#[test]
fn ids_are_stable_across_a_reparse_and_a_rendering() {
    for (path, text) in documents() {
        let syntax = Syntax::from_path(&path).unwrap();
        let ids = |c: &Checklist| c.items().map(|i| i.id.to_string()).collect::<Vec<_>>();
        let first = parse(&text, syntax);
        assert_eq!(ids(&parse(&text, syntax)), ids(&first), "{}", name(&path));
        for target in [Syntax::Markdown, Syntax::Rst] {
            let again = parse(&format::render(&first, target), target);
            assert_eq!(ids(&again), ids(&first), "{} rendered as {target:?}", name(&path));
        }
    }
}

#[test]
fn same_syntax_round_trips_are_exact() {
    for (path, text) in documents() {
        let syntax = Syntax::from_path(&path).unwrap();
        let c = parse(&text, syntax);
        let rendered = format::render(&c, syntax);
        let again = parse(&rendered, syntax);
        assert_eq!(again, c, "{}: {syntax:?} -> {syntax:?}\n{rendered}", name(&path));
        assert_eq!(format::render(&again, syntax), rendered, "{}: rendering is stable", name(&path));
    }
}

#[test]
fn cross_syntax_round_trips_keep_items_ids_and_attributes() {
    for (path, text) in documents() {
        let syntax = Syntax::from_path(&path).unwrap();
        let c = parse(&text, syntax);
        let there = format::render(&c, other(syntax));
        let c2 = parse(&there, other(syntax));
        assert_same_items(&c, &c2, &format!("{} -> {:?}\n{there}", name(&path), other(syntax)));
        let back = format::render(&c2, syntax);
        let c3 = parse(&back, syntax);
        assert_same_items(&c, &c3, &format!("{} -> {:?} -> {syntax:?}\n{back}", name(&path), other(syntax)));
        // The verbatim passages come back in their own syntax too.
        let passages = |c: &Checklist| {
            let mut all: Vec<String> = c.passages.iter().map(|p| p.text.clone()).collect();
            all.extend(c.all_sections().iter().flat_map(|s| s.passages.iter().map(|p| p.text.clone())));
            all
        };
        assert_eq!(passages(&c3), passages(&c), "{}: passages after the trip\n{back}", name(&path));
    }
}

fn doc(file: &str) -> Checklist {
    let (path, text) = documents().into_iter().find(|(p, _)| name(p) == file).unwrap();
    parse(&text, Syntax::from_path(path).unwrap())
}

#[test]
fn items_under_the_title_and_without_a_title() {
    let c = doc("01-task-list-under-title.md");
    assert_eq!(c.title, "Launch checklist");
    assert!(c.sections[0].implicit);
    assert_eq!(c.sections[0].items.len(), 5);
    assert_eq!(c.section_path("support-team-briefed"), Vec::<&str>::new());
    assert_eq!(c.description.as_deref(), Some("A short list we run before every launch."));
    assert!(c.item("support-team-briefed").unwrap().checked);
    let c = doc("02-no-title.md");
    assert_eq!(c.title, "");
    let item = c.item("changelog-entry-added-under-the-unreleased-heading").unwrap();
    assert_eq!(item.title, "Changelog entry added under the Unreleased heading");
}

#[test]
fn pull_request_template() {
    let c = doc("03-pr-template.md");
    assert_eq!(c.title, "");
    let titles: Vec<&str> = c.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Description", "Type of change", "How Has This Been Tested?", "Checklist:"]);
    assert!(c.passages[0].text.starts_with("<!--"));
    assert_eq!(
        c.sections[0].description.as_deref(),
        Some("Please include a summary of the change and which issue is fixed.\n\nFixes # (issue)")
    );
    assert_eq!(c.sections[2].passages[0].text, "- Test A\n- Test B");
    assert!(c.item("checklist.my-changes-generate-no-new-warnings").is_some());
}

#[test]
fn nested_items_are_children_with_ids_under_their_parent() {
    let c = doc("04-nested-three-deep.md");
    let id =
        "backend.database-migrations-reviewed.migration-is-reversible.down-migration-tested-on-a-copy-of-production";
    let deep = c.item(id).unwrap();
    assert_eq!(deep.parent.as_ref().unwrap(), "backend.database-migrations-reviewed.migration-is-reversible");
    let child = c.item("backend.database-migrations-reviewed.migration-is-reversible").unwrap();
    assert_eq!(child.parent.as_ref().unwrap(), "backend.database-migrations-reviewed");
    assert!(c.item("backend.api-versioned.old-clients-still-served").unwrap().checked);
    // A plain bullet that groups items is kept in its parent's description; the items under it
    // are the parent's children.
    let platform = c.item("frontend.translations-complete.ios-safari").unwrap();
    assert_eq!(platform.parent.as_ref().unwrap(), "frontend.translations-complete");
    assert_eq!(
        c.item("frontend.translations-complete").unwrap().description.as_deref(),
        Some("- Group of platform checks:")
    );
    assert!(c.item("frontend.bundle-size-checked.source-maps-uploaded").is_some());
}

#[test]
fn code_blocks_stay_in_place() {
    let c = doc("05-code-blocks.md");
    assert_eq!(c.passages[0].text, "```bash\n./scripts/preflight.sh --env production\n```");
    let pre = c.item("preflight-script-exits-with-0").unwrap();
    assert_eq!(pre.description.as_deref(), Some("It prints one line per check:\n\n```text\nok   dns\nok   tls\n```"));
    let canary = c.item("canary-receives-5-of-traffic").unwrap();
    assert_eq!(canary.description.as_deref(), Some("    kubectl get canary api -o wide"));
    let rendered = format::render_markdown(&c);
    let code = rendered.find("~~~yaml").unwrap();
    assert!(rendered.find("- [ ] Error rate below 1% for 10 minutes").unwrap() < code);
}

#[test]
fn tables_of_other_shapes_are_kept_and_the_named_ones_read() {
    let c = doc("06-tables.md");
    assert!(c.sections[0].passages[0].text.starts_with("| Area"));
    assert_eq!(c.thresholds.len(), 2);
    assert_eq!(c.thresholds[1].metric, "p99 Latency");
    assert_eq!(c.sign_off.len(), 2);
    assert!(c.sign_off[0].is_signed());
}

#[test]
fn front_matter_badges_and_comments_before_the_title() {
    let c = doc("07-front-matter.md");
    assert!(c.passages[0].text.starts_with("---\ntitle: Production readiness review"));
    assert_eq!(c.title, "Production readiness review");
    let c = doc("08-badge-before-title.md");
    assert_eq!(c.title, "API security checklist");
    assert!(c.passages[0].text.starts_with("[![CI]"));
    let rendered = format::render_markdown(&c);
    // Joined as in the source: no blank line between the badge and the comment.
    assert!(rendered.starts_with("[![CI](https://example.com/ci.svg)](https://example.com/ci)\n<!-- generated"));
    assert!(rendered.contains("[owasp]: https://owasp.org/API-Security/"));
    assert!(rendered.trim_end().ends_with("---\n\nFound a gap? Open an issue."));
}

#[test]
fn several_top_level_headings() {
    let c = doc("09-several-top-level.md");
    assert_eq!(c.title, "");
    assert_eq!(c.sections.len(), 3);
    assert!(c.item("during-the-release.verification.checksums-match").is_some());
}

#[test]
fn attributes_are_read_and_written_back() {
    let c = doc("10-attributes.md");
    let b = c.item("db-backups").unwrap();
    assert_eq!(b.severity, Severity::Blocker);
    assert_eq!(b.tags, ["backup", "storage"]);
    let lag = c.item("pre-deployment.replication-lag-under-1s").unwrap();
    assert_eq!((lag.severity, lag.after[0].as_str()), (Severity::Critical, "db-backups"));
    let dpo = c.item("dpo-approval").unwrap();
    assert_eq!(
        (dpo.verification, dpo.severity, dpo.title.as_str()),
        (Verification::Attestation, Severity::Critical, "DPO approval recorded")
    );
    let runbook = c.item("pre-deployment.runbook-reviewed").unwrap();
    // An item that gives no severity is critical: it gates, as an unchecked box means it must be.
    assert_eq!(runbook.severity, Severity::Critical);
    assert_eq!(runbook.tags, ["docs, runbooks"]);
    assert_eq!(c.phase_of("pre-deployment.runbook-reviewed"), Some(Phase::PostDeployment));
    assert_eq!(c.phase_of("pre-deployment.replication-lag-under-1s"), Some(Phase::PreDeployment));
    assert_eq!(c.phase_of("later.cost-dashboard-created"), Some(Phase::Continuous));
    let md = format::render_markdown(&c);
    assert!(
        md.contains(
            "- [ ] Backups restored on a scratch instance {#db-backups severity=blocker tags=backup,storage}\n"
        ),
        "{md}"
    );
    assert!(md.contains("- [x] Runbook reviewed {phase=post-deployment tags=\"docs, runbooks\"}\n"), "{md}");
    // Critical is the default, so it is not written.
    assert!(md.contains("- [ ] Replication lag under 1s {after=db-backups}\n"), "{md}");
    let rst = format::render_rst(&c);
    assert!(
        rst.contains("- [ ] DPO approval recorded\n\n  :id: dpo-approval\n  :verification: attestation\n"),
        "{rst}"
    );
}

#[test]
fn lazy_lines_quotes_html_and_a_table_of_contents() {
    let c = doc("11-launch-checklist.md");
    assert!(c.rollback.is_empty(), "a numbered list of contents is not a rollback plan");
    assert_eq!(c.passages[0].text, "1. Preparation\n2. Launch day\n3. Follow-up");
    let load = c.item("preparation.load-test-at-twice-the-expected-peak-traffic-from-two-regions").unwrap();
    assert_eq!(load.title, "Load test at twice the expected peak traffic, from two regions");
    assert!(c.item("preparation.data-migration-completed").is_some());
    assert!(c.item("follow-up.metrics-compared-with-the-baseline").unwrap().checked);
    let rendered = format::render_markdown(&c);
    let quote = rendered.find("> **Note:**").unwrap();
    assert!(rendered.find("- [ ] Rollback rehearsed in staging").unwrap() < quote);
    assert!(quote < rendered.find("- [ ] Data migration completed (if needed)").unwrap());
}

#[test]
fn restructuredtext_with_directives_fields_and_nesting() {
    let c = doc("12-release.rst");
    assert_eq!((c.id.as_str(), c.title.as_str()), ("release-checklist", "Release checklist"));
    let changelog = c.item("preparation.changelog-updated").unwrap();
    assert_eq!((changelog.severity, changelog.tags.as_slice()), (Severity::Critical, &["docs".to_string()][..]));
    let ci = c.item("preparation.ci-green-on-the-release-branch").unwrap();
    assert_eq!(ci.description.as_deref(), Some("Check the nightly jobs too."));
    let deep = c
        .item("preparation.ci-green-on-the-release-branch.integration-tests.against-the-oldest-supported-server")
        .unwrap();
    assert_eq!(deep.parent.as_ref().unwrap(), "preparation.ci-green-on-the-release-branch.integration-tests");
    let publish = c.item("publish").unwrap();
    assert_eq!(publish.after[0], "preparation.changelog-updated");
    assert_eq!(c.rollback.len(), 2);
    assert_eq!(c.rollback[0].command.as_deref(), Some("cargo yank --version 1.2.3"));
    assert!(c.passages.iter().any(|p| p.text.starts_with(".. note::")));
    let c = doc("13-security.rst");
    assert_eq!(c.title, "");
    assert_eq!(c.sections.len(), 3);
    assert!(c.sections[0].passages[0].text.starts_with("+-----------+"));
    assert!(c.item("data.kms-keys-rotated-yearly").is_some());
    let c = doc("14-runbook.rst");
    assert!(c.rollback.is_empty());
    let handover = c.item("handover.open-incidents-handed-over").unwrap();
    assert_eq!((handover.severity, handover.verification), (Severity::Blocker, Verification::Attestation));
    assert_eq!(
        c.item("paging.test-page-received-within-five-minutes").unwrap().title,
        "Test page received within five minutes"
    );
}

/// Every item of every document reaches a run: items directly under the title (the implicit
/// first section) and child items included.
#[tokio::test]
async fn the_runner_reports_every_item_of_every_document() {
    use nexus_readiness::run::{Plan, Runner};
    for (path, text) in documents() {
        let c = parse(&text, Syntax::from_path(&path).unwrap());
        let ids: Vec<String> = c.items().map(|i| i.id.to_string()).collect();
        let report = Runner::builder().build().run(&Plan::new(c)).await;
        let reported: Vec<String> = report.items().iter().map(|i| i.id.to_string()).collect();
        assert_eq!(reported, ids, "{}", name(&path));
    }
}
