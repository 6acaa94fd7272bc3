//! Parsing and rendering checklist documents: round trips in both syntaxes, the table, list and
//! step forms, and a line:column error for each kind of malformed document.

use std::time::Duration;

use nexus_readiness::builtin::{NEXUS_MARKDOWN, NEXUS_RST};
use nexus_readiness::format::{self, FormatError, Syntax};
use nexus_readiness::model::{
    AlertRule, Applicability, Checklist, Comparison, Direction, Item, Phase, RollbackStep, Section, Severity, SignOff,
    Threshold, Unit,
};

fn rst_error(doc: &str) -> (usize, usize, String) {
    let e: FormatError = format::parse_rst(doc).expect_err("document must not parse");
    (e.line, e.column, e.message)
}

fn md_error(doc: &str) -> (usize, usize, String) {
    let e: FormatError = format::parse_markdown(doc).expect_err("document must not parse");
    (e.line, e.column, e.message)
}

/// The item ids of a checklist, in order.
fn ids(c: &Checklist) -> Vec<String> {
    c.items().map(|i| i.id.to_string()).collect()
}

fn assert_round_trip(checklist: &Checklist) {
    for syntax in [Syntax::Rst, Syntax::Markdown] {
        let rendered = format::render(checklist, syntax);
        let again = format::parse(&rendered, syntax).unwrap_or_else(|e| panic!("{syntax:?}: {e}\n{rendered}"));
        assert_eq!(&again, checklist, "{syntax:?} round trip\n{rendered}");
        assert_eq!(format::render(&again, syntax), rendered, "{syntax:?} rendering is stable");
    }
}

#[test]
fn source_document_round_trips_in_both_syntaxes() {
    let rst = format::parse_rst(NEXUS_RST).unwrap();
    let md = format::parse_markdown(NEXUS_MARKDOWN).unwrap();
    assert_eq!(md, rst, "the Markdown equivalent parses to the same checklist");
    assert_round_trip(&rst);
    // Cross-syntax: rST parsed, rendered as Markdown, parsed as Markdown.
    assert_eq!(format::parse_markdown(&format::render_markdown(&rst)).unwrap(), rst);
    assert_eq!(format::parse_rst(&format::render_rst(&md)).unwrap(), rst);
}

#[test]
fn rendering_the_source_keeps_every_item_row_rule_step_and_role() {
    let checklist = format::parse_rst(NEXUS_RST).unwrap();
    for syntax in [Syntax::Rst, Syntax::Markdown] {
        let out = format::render(&checklist, syntax);
        let mut expected: Vec<String> = Vec::new();
        expected.extend(checklist.items().map(|i| format!("- [ ] {}", i.display_title())));
        for t in &checklist.thresholds {
            expected.push(t.metric.clone());
            expected.push(t.healthy_text());
            expected.push(t.breach_text());
            expected.push(t.action.clone());
        }
        expected.extend(checklist.key_metrics.iter().map(|m| format!(" {m}\n")));
        expected.extend(
            [
                "High error rate (> 5% for 5 minutes)",
                "High latency (p99 > 1s for 10 minutes)",
                "GPU OOM errors",
                "Pod restart loops",
                "Disk space > 80%",
            ]
            .map(String::from),
        );
        expected.extend(["1. **Immediate:**", "2. **Database:**", "3. **Communication:**"].map(String::from));
        expected.push("kubectl rollout undo deployment/nexus".into());
        expected.extend(checklist.rollback.iter().flat_map(|s| s.actions.iter().map(|a| format!("   - {a}\n"))));
        expected.extend(checklist.sign_off.iter().map(|s| format!("| {}", s.role)));
        expected.push("Use this checklist before deploying Nexus to production.".into());
        for e in &expected {
            assert!(out.contains(e.as_str()), "{syntax:?} rendering lacks {e:?}\n{out}");
        }
        // Tables and steps stay in their sections: the capacity table between its heading
        // and the rollback plan, the steps before the dashboards.
        let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} missing"));
        assert!(at("Capacity Planning") < at("GPU Utilization"));
        assert!(at("GPU Utilization") < at("Rollback Plan"));
        assert!(at("Rollback Plan") < at("kubectl rollout undo"));
        assert!(at("kubectl rollout undo") < at("Monitoring Dashboards"));
        assert!(at("Compliance") < at("Tech Lead"));
    }
}

#[test]
fn markdown_rendering_of_the_source_is_the_shipped_markdown_document() {
    let checklist = format::parse_rst(NEXUS_RST).unwrap();
    // The shipped file writes the label as in the rST source; the renderer writes the id.
    let shipped = NEXUS_MARKDOWN.replace("production_checklist", "production-checklist");
    assert_eq!(format::render_markdown(&checklist), shipped.trim_end().to_string() + "\n");
}

#[test]
fn rst_rendering_reads_like_the_source() {
    let checklist = format::parse_rst(NEXUS_RST).unwrap();
    let out = format::render_rst(&checklist);
    assert!(out.starts_with(
        ".. _production-checklist:\n\nProduction Deployment Checklist\n===============================\n"
    ));
    assert!(out.contains("Infrastructure\n~~~~~~~~~~~~~~\n\n- [ ] GPU nodes provisioned and tested\n"));
    assert!(out.contains("| GPU Utilization | < 70%   | > 85%     | Scale up    |\n"));
    assert!(
        out.contains("1. **Immediate:**\n\n   .. code-block:: bash\n\n      kubectl rollout undo deployment/nexus\n")
    );
    assert!(out.contains("* High latency (p99 > 1s for 10 minutes)\n"));
}

#[test]
fn checked_boxes_applicability_and_phases() {
    let doc = "\
Release
=======

Intro line one
line two.

Second paragraph.

Pre-Deployment
--------------

Infra
~~~~~

- [x] Image pushed to registry
- [X] Startup probe configured (if needed)
- [ ] SOC 2 requirements met (if applicable)
- [ ] A long item
  continued here

Compliance
----------

- [ ] Audit logging enabled
";
    let c = format::parse_rst(doc).unwrap();
    assert_eq!(c.id, "release");
    assert_eq!(c.description.as_deref(), Some("Intro line one\nline two.\n\nSecond paragraph."));
    let pushed = c.item("pre-deployment.infra.image-pushed-to-registry").unwrap();
    assert!(pushed.checked);
    let startup = c.item("pre-deployment.infra.startup-probe-configured").unwrap();
    assert!(startup.checked);
    assert_eq!(startup.applicability, Applicability::IfNeeded);
    assert_eq!(startup.title, "Startup probe configured");
    let soc = c.item("pre-deployment.infra.soc-2-requirements-met").unwrap();
    assert_eq!(soc.applicability, Applicability::IfApplicable);
    assert!(!soc.checked);
    assert_eq!(c.item("pre-deployment.infra.a-long-item-continued-here").unwrap().title, "A long item continued here");
    assert_eq!(c.phase_of("pre-deployment.infra.image-pushed-to-registry"), Some(Phase::PreDeployment));
    assert_eq!(c.phase_of("compliance.audit-logging-enabled"), Some(Phase::Continuous));
    assert_round_trip(&c);
    let md = format::render_markdown(&c);
    assert!(md.contains("- [x] Image pushed to registry\n- [x] Startup probe configured (if needed)\n"));
}

#[test]
fn overlined_titles_simple_tables_and_multi_line_grid_cells() {
    let doc = "\
=======
Release
=======

Capacity
--------

+-------------+---------+-----------+---------+
| Metric      | Current | Threshold | Action  |
+=============+=========+===========+=========+
| Certificate | > 30d   | < 7d      | Renew   |
| validity    |         |           | the     |
|             |         |           | cert    |
+-------------+---------+-----------+---------+

Sign-off
--------

=========  =====  ==========  =========
Role       Name   Date        Signature
=========  =====  ==========  =========
Tech Lead  Ada    2026-11-26  ada
SRE
=========  =====  ==========  =========
";
    let c = format::parse_rst(doc).unwrap();
    assert_eq!(c.title, "Release");
    let t = &c.thresholds[0];
    assert_eq!(t.metric, "Certificate validity");
    assert_eq!(t.direction, Direction::Floor);
    assert_eq!((t.healthy, t.breach, t.unit), (30.0, 7.0, Unit::Days));
    assert_eq!(t.action, "Renew the cert");
    assert_eq!(c.sign_off, vec![SignOff::new("Tech Lead").signed("Ada", "2026-11-26", "ada"), SignOff::new("SRE")]);
    assert!(!c.is_signed_off());
    assert_round_trip(&c);
}

#[test]
fn alerting_rules_in_their_written_forms() {
    let doc = "\
# Alerts

## Monitoring

Recommended alerting rules:

- High error rate (> 5% for 5 minutes)
- High latency (p99 > 1s for 10 minutes)
- Disk space > 80%
- Queue depth (>= 100 for 30 seconds)
- Certificate expiry (< 7d)
- GPU OOM errors
- Weird (not a condition)
";
    let c = format::parse_markdown(doc).unwrap();
    let r = &c.alert_rules;
    assert_eq!(r.len(), 7);
    assert_eq!(r[0].name, "High error rate");
    let cond = r[0].condition.as_ref().unwrap();
    assert_eq!((cond.op, cond.value, cond.unit), (Comparison::Gt, 5.0, Unit::Percent));
    assert_eq!(r[0].window, Some(Duration::from_secs(300)));
    let p99 = r[1].condition.as_ref().unwrap();
    assert_eq!(p99.aggregation.as_deref(), Some("p99"));
    assert_eq!((p99.value, p99.unit), (1.0, Unit::Seconds));
    assert_eq!(r[1].window, Some(Duration::from_secs(600)));
    assert_eq!(r[2].name, "Disk space");
    assert_eq!(r[2].window, None);
    assert_eq!(r[3].condition.as_ref().unwrap().op, Comparison::Ge);
    assert_eq!(r[3].window, Some(Duration::from_secs(30)));
    assert_eq!(r[4].condition.as_ref().unwrap().unit, Unit::Days);
    assert_eq!(r[5], AlertRule::new("GPU OOM errors"));
    assert_eq!(r[6], AlertRule::new("Weird (not a condition)"));
    assert_round_trip(&c);
}

#[test]
fn a_checklist_built_in_code_renders_its_blocks_in_sections_of_their_own() {
    let c = Checklist::builder("gate", "Gate")
        .section(Section::new("Checks").phase(Phase::Deployment).item(Item::new("Image pushed to registry")))
        .threshold(Threshold::ceiling("GPU Utilization", Unit::Percent, 70.0, 85.0, "Scale up").unwrap())
        .rollback_step(RollbackStep::new(1, "Undo").command("bash", "kubectl rollout undo deployment/nexus"))
        .sign_off(SignOff::new("Tech Lead"))
        .build()
        .unwrap();
    let md = format::render_markdown(&c);
    assert!(md.contains("## Capacity Planning\n\n| Metric"), "{md}");
    assert!(md.contains("## Rollback Plan\n\n1. **Undo:**\n\n   ```bash\n"), "{md}");
    let back = format::parse_markdown(&md).unwrap();
    assert_eq!(back.thresholds, c.thresholds);
    assert_eq!(back.rollback, c.rollback);
    assert_eq!(back.sign_off, c.sign_off);
    assert_eq!(back.item("checks.image-pushed-to-registry").unwrap().title, "Image pushed to registry");
}

#[test]
fn code_blocks_keep_their_text() {
    let doc = "\
# Plan

## Rollback Plan

1. **Undo:**

   ````sh
   kubectl rollout undo deployment/nexus
     --to-revision=2
   ```

   echo | done
   ````

   - Tell people
     on the channel

10. Verify
";
    let c = format::parse_markdown(doc).unwrap();
    assert_eq!(c.rollback[0].title, "Undo");
    assert_eq!(c.rollback[0].language.as_deref(), Some("sh"));
    assert_eq!(
        c.rollback[0].command.as_deref(),
        Some("kubectl rollout undo deployment/nexus\n  --to-revision=2\n```\n\necho | done")
    );
    assert_eq!(c.rollback[0].actions, vec!["Tell people on the channel"]);
    assert_eq!(c.rollback[1], RollbackStep::new(10, "Verify"));
    assert_round_trip(&c);
}

#[test]
fn syntax_from_path() {
    assert_eq!(Syntax::from_path("a/b/checklist.MD"), Some(Syntax::Markdown));
    assert_eq!(Syntax::from_path("checklist.rst"), Some(Syntax::Rst));
    assert_eq!(Syntax::from_path("checklist"), None);
}

// --- malformed documents: each gives its line:column ---

const HEAD: &str = "Title\n=====\n\nCapacity\n--------\n\n";

#[test]
fn unterminated_grid_table() {
    let doc = format!("{HEAD}+--------+---------+-----------+--------+\n| Metric | Current | Threshold | Action |\n");
    assert_eq!(rst_error(&doc), (8, 1, "grid table is not closed: expected a `+---+` border line".into()));
}

#[test]
fn ragged_grid_table_row() {
    let doc = format!(
        "{HEAD}+--------+---------+-----------+--------+\n| Metric | Current | Threshold | Action |\n+========+=========+===========+========+\n| GPU    | < 70%    | > 85%     | Scale  |\n"
    );
    let (line, column, message) = rst_error(&doc);
    assert_eq!((line, column), (10, 20));
    assert_eq!(message, "ragged grid table: expected `|` at column 20");
}

#[test]
fn short_pipe_table_rows_get_empty_cells() {
    let doc = "# T\n\n## Sign-off\n\n| Role | Name | Date | Signature |\n|---|---|---|---|\n| Lead | | |\n";
    let c = format::parse_markdown(doc).unwrap();
    assert_eq!(c.sign_off, [SignOff::new("Lead")]);
}

#[test]
fn pipe_rows_without_separator_are_text() {
    let doc = "# T\n\n## Sign-off\n\n| Role | Name | Date | Signature |\n| Lead | | | |\n";
    let c = format::parse_markdown(doc).unwrap();
    assert!(c.sign_off.is_empty());
    assert_eq!(c.sections[0].description.as_deref(), Some("| Role | Name | Date | Signature |\n| Lead | | | |"));
    assert_eq!(format::parse_markdown(&format::render_markdown(&c)).unwrap(), c);
    // In rST the lines would read as a line block: they are escaped to stay a paragraph.
    let rst = format::render_rst(&c);
    assert!(rst.contains("\\| Role | Name | Date | Signature |\n\\| Lead | | | |\n"), "{rst}");
    assert!(format::parse_rst(&rst).unwrap().sign_off.is_empty());
}

#[test]
fn unterminated_simple_table() {
    let doc =
        format!("{HEAD}====  ====  ====  =========\nRole  Name  Date  Signature\n====  ====  ====  =========\nLead\n");
    assert_eq!(rst_error(&doc), (10, 1, "simple table is not closed: expected a closing `===  ===` border".into()));
}

#[test]
fn items_directly_under_the_title() {
    let c = format::parse_rst("Title\n=====\n\n- [ ] Orphan\n").unwrap();
    assert_eq!(c.title, "Title");
    assert_eq!(c.sections[0].items[0].id, "orphan");
    assert!(c.sections[0].implicit);
    assert_round_trip(&c);
    let c = format::parse_markdown("# Title\n\n- [x] Orphan\n").unwrap();
    assert!(c.item("orphan").unwrap().checked);
    assert_round_trip(&c);
}

#[test]
fn underline_too_short() {
    assert_eq!(
        rst_error("Title\n=====\n\nSecurity\n-------\n"),
        (5, 1, "underline of section `Security` is too short: 7 characters for a 8-character title".into())
    );
}

#[test]
fn adornment_breaking_the_hierarchy() {
    let doc = "Title\n=====\n\nA\n---\n\nB\n~~~\n\nC\n---\n\nD\n^^^\n";
    assert_eq!(
        rst_error(doc),
        (13, 1, "section `D` skips a level: a level-3 heading directly under a level-1 one".into())
    );
    // Two headings in the title style: no title, two top-level sections.
    let c = format::parse_rst("Title\n=====\n\nA\n---\n\n- [ ] x\n\nAgain\n=====\n\n- [ ] y\n").unwrap();
    assert_eq!(c.title, "");
    assert_eq!(c.sections.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(), ["Title", "Again"]);
    assert!(c.item("title.a.x").is_some() && c.item("again.y").is_some());
    assert_round_trip(&c);
    // Markdown heading levels that skip one nest one level down.
    let c = format::parse_markdown("# Title\n\n### Deep\n\n- [ ] x\n").unwrap();
    assert_eq!(c.sections[0].title, "Deep");
    assert!(c.item("deep.x").is_some());
    assert_eq!(
        rst_error("=====\nTitle\n-----\n"),
        (3, 1, "overline and underline of section `Title` do not match".into())
    );
}

#[test]
fn duplicate_item_id() {
    let doc = "# T\n\n## S\n\n- [ ] Image pushed\n- [ ] Other\n- [ ] Image pushed (to registry)\n";
    assert_eq!(
        md_error(doc),
        (
            7,
            1,
            "duplicate item id `s.image-pushed` (first used on line 5): give one of them its own id with `{#my-id}`"
                .into()
        )
    );
    // An explicit id resolves it.
    let doc = "# T\n\n## S\n\n- [ ] Image pushed\n- [ ] Image pushed (to registry) {#s.image-pushed-again}\n";
    assert!(format::parse_markdown(doc).unwrap().item("s.image-pushed-again").is_some());
}

#[test]
fn tables_of_other_shapes_are_kept_verbatim() {
    let doc = format!("{HEAD}| Name | Value |\n|------|-------|\n| a    | b     |\n");
    let c = format::parse_rst(&doc).unwrap();
    assert_eq!(c.sections[0].passages[0].text, "| Name | Value |\n|------|-------|\n| a    | b     |");
    assert!(c.thresholds.is_empty());
    assert_round_trip(&c);
}

#[test]
fn bad_threshold_cells() {
    let doc = "# T\n\n## Capacity\n\n| Metric | Current | Threshold | Action |\n|---|---|---|---|\n| GPU | 70% | > 85% | Scale up |\n";
    assert_eq!(md_error(doc), (7, 9, "threshold cell `70%`: expected a bound such as `< 70%` or `> 500ms`".into()));
    let doc = "# T\n\n## Capacity\n\n| Metric | Current | Threshold | Action |\n|---|---|---|---|\n| GPU | < 90% | > 85% | Scale up |\n";
    let (line, column, message) = md_error(doc);
    assert_eq!((line, column), (7, 3));
    assert!(
        message.starts_with("inconsistent threshold for `GPU`: healthy bound < 90% is above the breach bound > 85%")
    );
}

#[test]
fn steps_and_code_blocks() {
    // An unclosed fence ends with its list item, as CommonMark says.
    let c =
        format::parse_markdown("# T\n\n## Rollback\n\n1. **Undo:**\n\n   ```bash\n   kubectl rollout undo\n").unwrap();
    assert_eq!(c.rollback[0].command.as_deref(), Some("kubectl rollout undo"));
    // A code block outside a step, a transition, a step with text and a directive are kept verbatim.
    let c = format::parse_markdown("# T\n\n## Rollback\n\n```bash\necho\n```\n").unwrap();
    assert_eq!(c.sections[0].passages[0].text, "```bash\necho\n```");
    assert_round_trip(&c);
    let c = format::parse_rst("Title\n=====\n\n-----\n").unwrap();
    assert_eq!(c.passages[0].text, "-----");
    assert_round_trip(&c);
    let c = format::parse_rst("Title\n=====\n\nRollback\n--------\n\n1. **Undo:**\n\n   Just text\n").unwrap();
    assert!(c.rollback.is_empty());
    assert_eq!(c.sections[0].passages[0].text, "1. **Undo:**\n\n   Just text");
    assert_round_trip(&c);
    let c = format::parse_rst("Title\n=====\n\nRollback\n--------\n\n.. note:: hi\n").unwrap();
    assert_eq!(c.sections[0].passages[0].text, ".. note:: hi");
    assert_round_trip(&c);
    assert_eq!(
        rst_error("Title\n=====\n\nText\n-----\nmore\n\n-----\nx\n"),
        (8, 1, "adornment line without a title above it".into())
    );
}

#[test]
fn other_structural_errors() {
    assert_eq!(format::parse_rst("").unwrap().items().count(), 0);
    // Text before the title, a bullet list without a lead-in and an indented block are kept.
    let c = format::parse_markdown("Some text\n\n# Title\n").unwrap();
    assert_eq!((c.title.as_str(), c.passages[0].text.as_str()), ("Title", "Some text"));
    assert_round_trip(&c);
    let c = format::parse_rst("Title\n=====\n\nS\n---\n\n* Loose bullet\n\n   indented\n").unwrap();
    assert_eq!(c.sections[0].passages[0].text, "* Loose bullet\n\n   indented");
    assert_round_trip(&c);
    assert_eq!(
        md_error("# T\n\n## S\n\n- [ ] !!!\n"),
        (5, 1, "checklist item `!!!` has no letters or digits to make an id from: give it one with `{#my-id}`".into())
    );
    assert_eq!(
        md_error("# T\n\n> - [ ] quoted\n"),
        (3, 1, "checklist item inside a block quote: move it out of the quote to make it an item".into())
    );
    assert_eq!(
        rst_error("T\n=\n\n.. note::\n\n   - [ ] inside\n"),
        (6, 4, "checklist item inside directive `.. note::`: it would not be read as an item".into())
    );
}

#[test]
fn errors_display_line_and_column() {
    let e = format::parse_markdown("# T\n\n- [ ] Orphan {severity=urgent}\n").unwrap_err();
    assert_eq!(e.to_string(), "3:24: invalid severity `urgent`: expected blocker, critical, major or minor");
    let e: nexus_readiness::Error = e.into();
    assert_eq!(e.to_string(), "3:24: invalid severity `urgent`: expected blocker, critical, major or minor");
}

/// Inputs the fuzz target found; each once broke a parser or the round trip.
#[test]
fn fuzz_regressions() {
    // Non-ASCII text where an "(if needed)" qualifier would start panicked while splitting it off.
    let doc = "# T\n\n## S\n\n- [ ] Liveness probe configure- [ ] ɓl pods running\n";
    let c = format::parse_markdown(doc).unwrap();
    assert_eq!(c.items().next().unwrap().title, "Liveness probe configure- [ ] ɓl pods running");
    assert_round_trip(&c);
    // Backticks in a fence's language made the rendered fence longer than the parsed one.
    let doc = "# T\n\n## S\n\n2. **X:**\n\n   ``` ``run\n   run\n   ```\n";
    assert_round_trip(&format::parse_markdown(doc).unwrap());
}

#[test]
fn alert_rule_names_that_would_read_back_as_items_stay_whole() {
    let doc = "# T\n\n## Monitoring\n\nRecommended alerting rules:\n\n- [ ](> 5%)\n- [x]y > 1%\n";
    let c = format::parse_markdown(doc).unwrap();
    let gt = nexus_readiness::model::Condition::new(Comparison::Gt, 1.0, Unit::Percent);
    assert_eq!(c.alert_rules, [AlertRule::new("[ ](> 5%)"), AlertRule::new("[x]y").condition(gt)]);
    assert_round_trip(&c);
}

#[test]
fn a_bullet_whose_text_starts_on_the_next_line_is_kept_verbatim() {
    // Found by fuzzing: "-" followed by " [ ] x" once joined into "[ ] x", which renders as an item.
    let doc = "# T\n\n## S\n\nRecommended alerting rules:\n\n- GPU OOM errors\n-\n [ ] x\n";
    let c = format::parse_markdown(doc).unwrap();
    assert_eq!(c.items().count(), 0);
    assert!(c.alert_rules.is_empty());
    assert_round_trip(&c);
}

#[test]
fn attribute_errors_say_where() {
    let cases: [(&str, (usize, usize, &str)); 7] = [
        (
            "# T\n\n- [ ] A {#a colour=red}\n",
            (3, 13, "unknown attribute `colour`: expected one of id, severity, phase, verification, tags, after"),
        ),
        ("# T\n\n- [ ] A {severity=minor severity=major}\n", (3, 25, "attribute `severity` is given twice")),
        (
            "# T\n\n- [ ] A {phase=later}\n",
            (3, 16, "invalid phase `later`: expected pre-deployment, deployment, post-deployment or continuous"),
        ),
        (
            "# T\n\n- [ ] A {#Bad_Id}\n",
            (3, 11, "invalid id `Bad_Id`: character `B` is not allowed (use a-z, 0-9, `-`, `.`)"),
        ),
        (
            "# T\n\n- [ ] A {#a verification=robot}\n",
            (3, 26, "invalid verification `robot`: expected probe or attestation"),
        ),
        (
            "# T\n\n- [ ] A {#a flag}\n",
            (
                3,
                13,
                "attribute `flag` has no value: write `#id` or `key=value` (keys: id, severity, phase, verification, tags, after)",
            ),
        ),
        (
            "# T\n\n- [ ] Alpha\n- [ ] B {after=alpa}\n",
            (4, 16, "item `b` runs after unknown item `alpa` (did you mean `alpha`?)"),
        ),
    ];
    for (doc, (line, column, message)) in cases {
        assert_eq!(md_error(doc), (line, column, message.to_string()), "{doc}");
    }
    // The same in a reStructuredText field list, at the value's position.
    let doc = "T\n=\n\n- [ ] A\n\n  :severity: urgent\n";
    assert_eq!(rst_error(doc), (6, 14, "invalid severity `urgent`: expected blocker, critical, major or minor".into()));
    // A dependency cycle names an item of the cycle and its line.
    let doc = "# T\n\n- [ ] A {after=b}\n- [ ] B {after=a}\n";
    let (line, _, message) = md_error(doc);
    assert!(line == 3 || line == 4, "{line}");
    assert!(message.starts_with("dependency cycle through item"), "{message}");
}

#[test]
fn braces_and_comments_that_are_not_attributes_stay_in_the_title() {
    let c = format::parse_markdown("# T\n\n- [ ] Set {replicas} in the chart\n- [ ] Quote the `{x}` value {y}\n- [ ] Keep <!-- reviewer: bob -->\n").unwrap();
    let titles: Vec<&str> = c.items().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["Set {replicas} in the chart", "Quote the `{x}` value {y}", "Keep <!-- reviewer: bob -->"]);
    assert_round_trip(&c);
    let c = format::parse_markdown("# T\n\n- [ ] Hidden attributes <!-- {#hidden severity=blocker} -->\n").unwrap();
    assert_eq!(c.item("hidden").unwrap().severity, nexus_readiness::model::Severity::Blocker);
}

#[test]
fn load_options_set_severity_phases_and_an_id_prefix() {
    use nexus_readiness::format::LoadOptions;
    use nexus_readiness::model::{ItemId, Severity};
    let doc = "# Ship it\n\n## Before we ship\n\n- [ ] Backups restored {severity=blocker}\n- [ ] Changelog written {#changelog}\n\n### Docs\n\n- [ ] Guide updated\n\n## Pre-Deployment\n\n- [ ] Old habit\n";
    let options = LoadOptions::new()
        .default_severity(Severity::Critical)
        .phase_pattern("Before *", Phase::PreDeployment)
        .id_prefix(ItemId::new("team-a").unwrap());
    let c = format::parse_with(doc, Syntax::Markdown, &options).unwrap();
    assert_eq!(c.item("team-a.before-we-ship.backups-restored").unwrap().severity, Severity::Blocker);
    assert_eq!(c.item("changelog").unwrap().severity, Severity::Critical, "explicit ids are kept as written");
    assert_eq!(c.phase_of("team-a.before-we-ship.docs.guide-updated"), Some(Phase::PreDeployment));
    assert_eq!(c.phase_of("team-a.pre-deployment.old-habit"), Some(Phase::PreDeployment));
    // The rendering writes what the options added, so it reads back the same without them.
    let again = format::parse_markdown(&format::render_markdown(&c)).unwrap();
    let ids = |c: &Checklist| c.items().map(|i| (i.id.clone(), i.severity)).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&c));
    // Without the default patterns, no heading names a phase.
    let c = format::parse_with(doc, Syntax::Markdown, &LoadOptions::new().no_phase_patterns()).unwrap();
    assert!(c.items_with_phase().iter().all(|(_, p)| p.is_none()));
}

#[test]
fn structured_parts_need_a_marker() {
    // A heading that names them.
    let doc = "# T\n\n## Alerting rules\n\n- Disk space > 80%\n- GPU OOM errors\n\n## Rollback\n\n1. Scale down\n2. Restore\n";
    let c = format::parse_markdown(doc).unwrap();
    assert_eq!(c.alert_rules.len(), 2);
    assert_eq!(c.rollback.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(), ["Scale down", "Restore"]);
    assert_round_trip(&c);
    // The same lists anywhere else stay lists.
    let doc = "# T\n\n## Notes\n\n- Disk space > 80%\n\n1. Scale down\n2. Restore\n";
    let c = format::parse_markdown(doc).unwrap();
    assert!(c.alert_rules.is_empty() && c.rollback.is_empty());
    assert_eq!(c.sections[0].passages[0].text, "- Disk space > 80%\n\n1. Scale down\n2. Restore");
    assert_round_trip(&c);
    // The Nexus document's exact form needs no heading.
    let doc = "# T\n\n## Plan\n\n1. **Immediate:**\n\n   - Roll back\n";
    assert_eq!(format::parse_markdown(doc).unwrap().rollback.len(), 1);
}

#[test]
fn child_items_built_in_code_get_ids_under_their_parent() {
    use nexus_readiness::model::ItemId;
    let c = Checklist::builder("c", "C")
        .section(
            Section::new("Infra")
                .item(Item::new("Backups"))
                .item(Item::new("Restore tested").parent(ItemId::new("backups").unwrap()))
                .item(Item::new("Offsite copy").parent(ItemId::new("backups").unwrap())),
        )
        .item(Item::new("Top-level item"))
        .build()
        .unwrap();
    let restore = c.item("infra.backups.restore-tested").unwrap();
    assert_eq!(restore.parent.as_ref().unwrap(), "infra.backups");
    assert!(c.item("top-level-item").is_some());
    let md = format::render_markdown(&c);
    assert!(md.contains("- [ ] Top-level item\n"), "{md}");
    assert!(md.contains("- [ ] Backups\n\n  - [ ] Restore tested\n  - [ ] Offsite copy\n"), "{md}");
    assert_round_trip(&c);
    // A parent that is not an earlier item of the section is refused.
    let bad = Checklist::builder("c", "C")
        .section(Section::new("S").item(Item::new("A").parent(ItemId::new("s.nowhere").unwrap())))
        .build()
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "item `s.nowhere.a` is nested under `s.nowhere`, which is not an earlier item of the same section"
    );
}

#[test]
fn crlf_line_ends_and_raw_blocks_of_the_other_syntax() {
    let c = format::parse_markdown("# T\r\n\r\n- [ ] A\r\n  continued\r\n").unwrap();
    assert_eq!(c.sections[0].items[0].title, "A continued");
    // Passages travel between the syntaxes as raw blocks and come back unwrapped.
    let c = format::parse_markdown("# T\n\n---\n\n- [ ] A\n").unwrap();
    let rst = format::render_rst(&c);
    assert!(rst.contains(".. raw:: markdown\n\n   ---\n"), "{rst}");
    assert_eq!(format::parse_rst(&rst).unwrap(), c);
    let c = format::parse_rst("T\n===\n\n.. note:: Read me.\n\n- [ ] A\n").unwrap();
    let md = format::render_markdown(&c);
    assert!(md.contains("```{=rst}\n.. note:: Read me.\n```\n"), "{md}");
    assert_eq!(format::parse_markdown(&md).unwrap(), c);
}

#[test]
fn rst_items_with_numbers_and_wide_markers() {
    let doc = "T\n===\n\n1. [ ] First step\n2. [x] Second step\n\n   -   [ ] Nested under the second\n*  [ ] Starred\n";
    let c = format::parse_rst(doc).unwrap();
    let got: Vec<(&str, bool, Option<&str>)> =
        c.items().map(|i| (i.id.as_str(), i.checked, i.parent.as_ref().map(|p| p.as_str()))).collect();
    assert_eq!(
        got,
        [
            ("first-step", false, None),
            ("second-step", true, None),
            ("second-step.nested-under-the-second", false, Some("second-step")),
            ("starred", false, None),
        ]
    );
    assert_round_trip(&c);
}

/// Found by fuzzing: `- [ ]` with nothing after it is a task or plain text depending on whether a
/// newline follows; either way it has no title, and both are the same error.
#[test]
fn a_lone_checkbox_is_an_item_without_a_title() {
    for doc in ["# T\n\n- [ ] A\n- [ ]", "# T\n\n- [ ] A\n- [ ]\n", "# T\n\n- one\n- [x]\n"] {
        let (_, _, message) = md_error(doc);
        assert_eq!(message, "checklist item has no title", "{doc:?}");
    }
}

/// Found by fuzzing: a paragraph's indented continuation line kept its indentation, or it would
/// read as a list after the round trip.
#[test]
fn indented_continuation_lines_of_a_passage_stay_indented() {
    let c = format::parse_markdown("# \n\n   `cks:\n     - [ ```\n").unwrap();
    assert_eq!(c.description.as_deref(), None);
    assert_eq!(format::parse_markdown(&format::render_markdown(&c)).unwrap(), c);
}

/// Plain numbered entries between checkbox items of one list read as they would in a list of
/// their own: rendered back, they are one. Under a heading naming a rollback they are its steps
/// (found by fuzzing `format_roundtrip`: they were kept verbatim, then read back as steps).
#[test]
fn numbered_entries_between_checkbox_items_read_the_same_after_rendering() {
    let cases = [
        ("# T\n\n## Rollback\n\n1. [ ] Check one\n2. Step two\n", 1),
        ("# T\n\n## Rollback Plan\n\n1. Step one\n2. [ ] Check two\n3. Step three\n", 2),
        ("# T\n\n## Roll back\n\n1. Step one\n2. Step two\n3. [x] Check three\n", 2),
        ("# T\n\n## Release\n\n1. Step one\n2. [ ] Check two\n3. Step three\n", 0),
        ("# T\n\n## Rollback\n\n1. [ ] Check one\n2. Step two\n   ```sh\n   kubectl rollout undo\n   ```\n", 1),
    ];
    for (doc, steps) in cases {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_eq!(c.rollback.len(), steps, "{doc}");
        assert_eq!(c.items().count(), 1, "{doc}");
        assert_round_trip(&c);
    }
    // Outside a rollback section, the entries are kept verbatim, in place.
    let c = format::parse_markdown(cases[3].0).unwrap();
    assert!(format::render_markdown(&c).contains("1. Step one"));
    assert!(format::render_markdown(&c).contains("3. Step three"));
}

/// A Markdown heading whose text ends in `#` keeps it: rendered with a closing sequence, so
/// that the text's own `#`s are not read as one (found by fuzzing `format_roundtrip`).
#[test]
fn headings_ending_in_a_hash_keep_it() {
    for doc in ["# #\u{b}\n", "# C#\n\n## Use #\u{b}\n\n- [ ] a\n", "# ##\u{b}\n", "# T\n\n## Section F#\n\n- [ ] a\n"]
    {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        assert_round_trip(&c);
    }
    let c = format::parse_markdown("# C#\n\n- [ ] a\n").unwrap();
    assert_eq!(c.title, "C#");
    assert!(format::render_markdown(&c).starts_with("# C# #\n"));
}

/// A title starting with a backslash escape keeps it (found by fuzzing `format_roundtrip`:
/// `# \\|` read as `\|`, then rendered and read back as `|`).
#[test]
fn titles_starting_with_a_backslash_escape_keep_it() {
    for (doc, title) in [("# \\\\| \n", "\\\\|"), ("# \\|x\n", "\\|x"), ("# \\# T\n", "\\# T")] {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        assert_eq!(c.title, title, "{doc:?}");
        assert_round_trip(&c);
    }
    let c = format::parse_markdown("# T\n\n- [ ] \\[draft\\] review\n").unwrap();
    assert_eq!(c.items().next().unwrap().title, "\\[draft\\] review");
    assert_round_trip(&c);
}

/// The last line reads the same with or without its newline (found by fuzzing
/// `format_roundtrip`: `>- [x]` at the end of the file was no task item, and once rendered
/// with a newline it was one inside a quote).
#[test]
fn the_last_line_reads_the_same_without_its_newline() {
    for doc in ["# T\n\n- [ ] a", "# T\n\n>- [x]", "# T\n\n- [x]", "# T\n\n## S\n\n- [ ] a\n  b"] {
        let with = format::parse_markdown(&format!("{doc}\n"));
        let without = format::parse_markdown(doc);
        assert_eq!(format!("{with:?}"), format!("{without:?}"), "{doc:?}");
        if let Ok(c) = without {
            assert_round_trip(&c);
        }
    }
}

/// Text made of backslashes is no rST adornment once rendered (found by fuzzing
/// `format_roundtrip`: a Markdown paragraph `\\\` rendered to rST read as an adornment line).
#[test]
fn backslash_lines_render_to_rst_that_reads_back() {
    for doc in ["\\\\\\\n\\C\n", "# \\\\\\\\\n\n- [ ] a\n", "# T\n\n\\\\\\\\\n\n- [ ] a\n"] {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        let rst = format::render_rst(&c);
        let back = format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst}"));
        assert_eq!(back.items().count(), c.items().count(), "{rst}");
        assert_eq!(format::render_rst(&back), rst, "rST rendering is stable");
    }
}

/// A block kept verbatim loses no more indentation than every line has, so its lines keep
/// their places relative to each other (found by fuzzing `format_roundtrip`: a list at column 1
/// with a line at column 0 and a quote at column 2 read back as two blocks).
#[test]
fn verbatim_blocks_keep_relative_indentation() {
    for doc in [" *\n  *\n *\n *\n*\n  >`\n", "# T\n\n - a\n-  b\n   > q\n\n- [ ] item\n", "  1. x\n 2. y\n    z\n"] {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        assert_round_trip(&c);
    }
}

/// A link reference definition right after a list is not the list's (found by fuzzing
/// `format_roundtrip`: kept inside the list's text, it read back on its own once rendered).
#[test]
fn a_link_definition_after_a_list_is_its_own_text() {
    for doc in ["-\n[ref]: \u{b}>>>-/~\n\u{6}?*\n", "# T\n\n- a\n[ref]: https://example.com\n\n- [ ] item\n"] {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        assert_round_trip(&c);
    }
}

/// A paragraph's trailing tab stays: without it the paragraph would read as a table (found by
/// fuzzing `format_roundtrip`).
#[test]
fn a_trailing_tab_that_keeps_a_paragraph_a_paragraph_stays() {
    let doc = "--\t|\n|-\t";
    let c = format::parse_markdown(doc).unwrap();
    let md = format::render_markdown(&c);
    assert_eq!(format::parse_markdown(&md).unwrap(), c, "{md}");
}

/// Blank lines of tabs after a block are no part of it; a tab right after the last line's text
/// is.
#[test]
fn trailing_lines_of_tabs_are_not_kept() {
    let c = format::parse_markdown("# T\n\n> quote\n\t\n\t\n\n- [ ] a\n").unwrap();
    assert_eq!(c.passages[0].text, "> quote");
    assert_round_trip(&c);
    let c = format::parse_markdown("--\t|\n|-\t\n\t\n").unwrap();
    assert_eq!(c.description.as_deref(), Some("--\t|\n|-\t"));
}

/// Blocks kept verbatim one after the other are joined as the source joins them: with no blank
/// line where it has none (found by fuzzing `format_roundtrip`: a blank line added between a
/// link definition and a tab-indented line made that line a code block).
#[test]
fn verbatim_blocks_are_joined_as_in_the_source() {
    for doc in [
        " [r+*]:\n\t|\n\t@ '.\u{6}\u{7f}",
        "# T\n\n> q\n<!-- c -->\n\n- [ ] a\n",
        "# T\n\n<div>\n</div>\n> q\n\n> r\n- [ ] a\n",
    ] {
        let c = format::parse_markdown(doc).unwrap_or_else(|e| panic!("{e}\n{doc:?}"));
        let md = format::render_markdown(&c);
        assert_eq!(format::parse_markdown(&md).unwrap(), c, "{doc:?}\n{md}");
    }
}

/// A document whose rendering would read differently is refused at the line that would change,
/// never loaded as one checklist and rendered as another (found by fuzzing `format_roundtrip`:
/// a top-level list indented with spaces and tabs, with lazy lines, changed what it was once its
/// indentation moved; numbered steps with an item and a lone bullet between them).
#[test]
fn a_document_whose_rendering_would_read_differently_is_refused_where_it_changes() {
    let md = "# T\n\nIntro.\n\n+\tone\n `\n   - \tx\n J\n    - \t[  ] y\n\n## S\n\n- [ ] a\n";
    let (line, column, message) = md_error(md);
    assert_eq!((line, column), (5, 1), "{message}");
    assert!(message.starts_with("`+\\tone` would not read back the same once rendered"), "{message}");
    assert!(message.contains("indent it with spaces rather than tabs"), "{message}");

    let rst = "Release\n=======\n\nRollback\n--------\n\n1. **Scale down:**\n- [ ] Pager ready\n2. **Restore:**\n -\n";
    let (line, column, message) = rst_error(rst);
    assert_eq!((line, column), (10, 2), "{message}");
    assert!(message.contains("reStructuredText is ambiguous here"), "{message}");

    // The same content set off as the message says reads back.
    let fixed = "# T\n\nIntro.\n\n+ one\n  `\n\n  - x\n    J\n\n## S\n\n- [ ] a\n";
    let c = format::parse_markdown(fixed).unwrap();
    assert_round_trip(&c);
}

/// A bullet's text that would read as something else after its bullet is escaped: a key metric
/// `- [ ] GPU utilization` read from rST (a bullet there) would be a checklist item in Markdown
/// (found by fuzzing `format_roundtrip`, Rst -> Markdown items differed).
#[test]
fn bullet_texts_that_would_read_as_items_are_escaped() {
    let rst = "Release\n=======\n\nMonitoring\n----------\n\nKey metrics to monitor:\n\n* - [ ] GPU utilization\n\
               * Queue depth\n\nRecommended alerting rules:\n\n* # Disk space > 80%\n* Pod restart loops\n\n\
               Rollback\n--------\n\n1. **Restore:**\n\n   - - [x] from the last backup\n\n- [ ] Dashboards exist\n";
    let c = format::parse_rst(rst).unwrap();
    assert_eq!(c.key_metrics[0], "- [ ] GPU utilization");
    assert_eq!(c.items().count(), 1);
    assert_eq!(format::parse_rst(&format::render_rst(&c)).unwrap(), c);
    let md = format::render_markdown(&c);
    assert!(md.contains("- \\- [ ] GPU utilization\n"), "{md}");
    let back = format::parse_markdown(&md).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(ids(&back), ids(&c), "{md}");
    assert_eq!(back.alert_rules.len(), c.alert_rules.len(), "{md}");
    assert_eq!(back.rollback[0].actions.len(), 1, "{md}");
}

/// A checkbox line inside a numbered step's code block is code, in both syntaxes (found by
/// fuzzing `format_roundtrip`: the Markdown step rendered as rST did not read back).
#[test]
fn a_checkbox_line_in_a_step_code_block_is_code() {
    let md =
        "# Release\n\n## Rollback\n\n1. **Revert:**\n\n   ```\n   - [ ] not an item\n   ```\n\n## Checks\n\n- [ ] a\n";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(c.rollback[0].command.as_deref(), Some("- [ ] not an item"));
    assert_round_trip(&c);
    let rst = format::render_rst(&c);
    assert_eq!(format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst}")), c, "{rst}");
}

/// Several trailing attribute lists all apply, in the order written: the title never ends with
/// text that reads as attributes, so it renders the same in both syntaxes (found by editing the
/// corpus: a list on a lazy line after one on the item's line left the first in the title, and
/// rST read it as attributes).
#[test]
fn several_trailing_attribute_lists_all_apply() {
    let md = "# T\n\n## Checks\n\n- [x] Runbook reviewed {phase=post-deployment tags=\"docs, runbooks\"}\n{severity=blocker}\n\
              - [ ] Backups restored {#db-backups} <!-- severity=critical -->\n";
    let c = format::parse_markdown(md).unwrap();
    let runbook = c.item("checks.runbook-reviewed").unwrap();
    assert_eq!(runbook.title, "Runbook reviewed");
    assert_eq!((runbook.severity, runbook.phase), (Severity::Blocker, Some(Phase::PostDeployment)));
    assert_eq!(runbook.tags, ["docs, runbooks"]);
    assert_eq!(c.item("db-backups").unwrap().severity, Severity::Critical);
    assert_round_trip(&c);
    let (line, column, message) = md_error("# T\n\n- [ ] Twice {severity=minor} {severity=major}\n");
    assert_eq!((line, column), (3, 31), "{message}");
    assert!(message.contains("`severity` is given twice"), "{message}");
}

/// An item description written in rST that would hold an item in Markdown (`1. - [ ] x`, a
/// numbered entry holding a checkbox) is escaped there: the items stay the same (found by editing
/// the corpus).
#[test]
fn a_description_that_would_hold_an_item_in_markdown_is_escaped() {
    let rst = "Release\n=======\n\nChecks\n------\n\n- [x] CI green\n\n  1. - [ ] Integration tests\n  * [ ] x\n\n- [ ] Tag pushed\n";
    let c = format::parse_rst(rst).unwrap();
    let md = format::render_markdown(&c);
    let back = format::parse_markdown(&md).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(ids(&back), ids(&c), "{md}");
    assert_eq!(format::parse_rst(&format::render_rst(&back)).map(|c| ids(&c)), Ok(ids(&c)));
}

/// A raw reStructuredText block in Markdown is unwrapped in rST only when it stays verbatim
/// there: one holding a heading (or a label) would change the sections and ids, so it stays a
/// code block (found by fuzzing `format_roundtrip`: Markdown -> rST ids differed).
#[test]
fn a_raw_rst_block_holding_a_heading_stays_a_code_block() {
    let md = "t\n=\n- [ ] s\n```{=rst}\ng\n===\n";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(c.passages[0].syntax, Syntax::Markdown);
    let rst = format::render_rst(&c);
    assert!(rst.contains(".. raw:: markdown"), "{rst}");
    let back = format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst}"));
    assert_eq!(ids(&back), ["s"], "{rst}");
    assert_eq!(ids(&back), ids(&c));
    // A raw block that stays verbatim in rST is still unwrapped there.
    let c = format::parse_markdown("# T\n\n- [ ] s\n\n```{=rst}\n.. note:: hi\n```\n").unwrap();
    assert_eq!(c.passages[0].syntax, Syntax::Rst);
}

/// A raw block of the other syntax is unwrapped only when it stays verbatim there: a sign-off
/// table in a Markdown ```` ```{=rst} ```` block would be read as the sign-off in rST, a
/// Markdown heading in an rST `.. raw:: markdown` block would be a section in Markdown (both
/// found by fuzzing `format_roundtrip`).
#[test]
fn raw_blocks_that_the_other_syntax_would_interpret_stay_wrapped() {
    let md = "# T\n\n- [ ] a\n\n```{=rst}\n|Role|Name|Date|Signature\n|-|-|-|-\n||||-\n```\n";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(c.passages[0].syntax, Syntax::Markdown);
    let rst = format::render_rst(&c);
    assert_eq!(format::parse_rst(&rst).map(|c| ids(&c)), Ok(ids(&c)), "{rst}");

    let rst = "T\n=\n\n.. raw:: markdown\n\n   ## i\n\n- [ ] e\n";
    let c = format::parse_rst(rst).unwrap();
    assert_eq!(c.passages[0].syntax, Syntax::Rst);
    let md = format::render_markdown(&c);
    let back = format::parse_markdown(&md).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(ids(&back), ["e"], "{md}");
    assert_eq!(ids(&back), ids(&c));
}

/// An attribute value holding a brace is written with it escaped: `{tags="n {h="}` would have
/// ended in an attribute list of its own (found by fuzzing `format_roundtrip`, rST -> Markdown).
#[test]
fn attribute_values_with_braces_read_back() {
    let c = format::parse_rst("- [ ] d\n\n  :tags: \"n {h=\", \"x}\"\n").unwrap();
    assert_eq!(c.items().next().unwrap().tags, ["n {h=", "x}"]);
    let md = format::render_markdown(&c);
    let back = format::parse_markdown(&md).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(back.items().next().unwrap().tags, ["n {h=", "x}"], "{md}");
    assert_eq!(format::parse_rst(&format::render_rst(&c)).unwrap(), c);
}

/// Raw blocks nested in raw blocks, alternating syntaxes 200 deep, are read in bounded stack
/// (each level is read again to decide whether it stays verbatim; deep levels stay wrapped).
#[test]
fn deeply_nested_raw_blocks_are_read_in_bounded_stack() {
    let mut inner = String::from("text\n");
    for level in 0..200 {
        inner = if level % 2 == 0 {
            let body: String =
                inner.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("   {l}\n") }).collect();
            format!(".. raw:: markdown\n\n{body}")
        } else {
            format!("```{{=rst}}\n{inner}")
        };
    }
    let doc = format!("# T\n\n- [ ] a\n\n```{{=rst}}\n{inner}");
    // A thread with a small stack: unbounded recursion would overflow it.
    let parsed = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || format::parse_markdown(&doc).map(|c| c.items().count()))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(parsed, Ok(1));
}

/// Whitespace other than spaces and tabs is text to Markdown: a fence followed by `\u{b}` closes
/// nothing, and it still closes nothing once the passage travels through rST (found by fuzzing
/// `format_roundtrip`: the rST rendering trimmed it and the checkbox after it became an item).
#[test]
fn whitespace_markdown_reads_as_text_survives_the_trip_through_rst() {
    let md = "# T\n\n```\n```\u{b}\n- [ ] x\n";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(c.items().count(), 0);
    let rst = format::render_rst(&c);
    let back = format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst}"));
    assert_eq!(back.items().count(), 0, "{rst}");
    assert_eq!(format::parse_markdown(&format::render_markdown(&back)).unwrap().items().count(), 0);
}

/// A `.. raw:: markdown` block kept as a directive (it holds a heading) may hold lines that look
/// like checkboxes to rST but are code to Markdown: they are no error (found by fuzzing
/// `format_roundtrip`, Markdown -> rST).
#[test]
fn a_raw_markdown_directive_kept_whole_may_hold_code_that_looks_like_checkboxes() {
    let rst = "T\n=\n\n.. raw:: markdown\n\n   ## i\n\n   ```\n   - [ ] y\n   ```\n\n- [ ] e\n";
    let c = format::parse_rst(rst).unwrap();
    assert_eq!(ids(&c), ["e"]);
    let md = format::render_markdown(&c);
    let back = format::parse_markdown(&md).unwrap_or_else(|e| panic!("{e}\n{md}"));
    assert_eq!(ids(&back), ids(&c), "{md}");
    assert_eq!(format::parse_rst(&format::render_rst(&back)).map(|c| ids(&c)), Ok(ids(&c)));
}

/// A line of only spaces or tabs in an item's body (an editor's leftover, often inside a code
/// block) is a blank line in every syntax: the document is accepted and reads back the same
/// (found by mutating the corpus: such a document was refused as ambiguous).
#[test]
fn whitespace_only_lines_in_an_item_body_are_blank_lines() {
    for (doc, syntax) in [
        ("# T\n\n- [ ] Preflight\n\n  ```text\n   \n  ok   dns\n  ```\n", Syntax::Markdown),
        ("# T\n\n- [ ] a\n\n  - [ ] b\n\n    ```\n    x\n      \n    y\n    ```\n", Syntax::Markdown),
        ("# T\n\n- [ ] a\n\n  one\n  \t\n  two\n", Syntax::Markdown),
        ("Title\n=====\n\n- [ ] a\n\n  .. code-block:: bash\n\n     x\n       \n     y\n\n- [ ] b\n", Syntax::Rst),
    ] {
        let c = format::parse(doc, syntax).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        let d = c.items().find_map(|i| i.description.clone()).expect("a description");
        assert!(d.split('\n').all(|l| l.is_empty() || !l.trim().is_empty()), "{d:?}");
        assert!(d.contains("\n\n"), "the blank line is kept: {d:?}");
        assert_round_trip(&c);
    }
}

/// Markdown carried through reStructuredText keeps its trailing spaces and tabs: to
/// pulldown-cmark a fence followed by a tab closes nothing, so the checkbox after it is code, and
/// it must still be code once read back from the `.. raw:: markdown` block (found by the
/// edited-corpus property test: the tab was trimmed and the rST reader refused the block).
#[test]
fn markdown_carried_through_rst_keeps_trailing_tabs() {
    let md = "# T\n\n```bash\nx\n```\t\n\n- [ ] In the code\n```\n\n- [ ] Item\n";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(ids(&c), ["item"]);
    let rst = format::render_rst(&c);
    assert!(rst.contains("   ```\t\n"), "{rst}");
    let back = format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst}"));
    assert_eq!(ids(&back), ids(&c), "{rst}");
    assert_eq!(back.passages, c.passages, "{rst}");
    assert_eq!(format::parse_markdown(&format::render_markdown(&back)).map(|c| ids(&c)), Ok(ids(&c)));
}

/// A `.. raw:: markdown` block kept whole (Markdown would read something in it the model
/// interprets) is kept as written too: trimmed of a trailing `\u{b}` or tab, its Markdown would
/// read differently, and the rST rendering of a Markdown document was refused (found by fuzzing
/// `format_roundtrip`, Markdown -> rST).
#[test]
fn a_raw_markdown_block_kept_whole_keeps_its_lines_as_written() {
    let md = "-\nalert:\n- -\u{b}\n- [ ] C";
    let c = format::parse_markdown(md).unwrap();
    assert_eq!(ids(&c), ["c"]);
    let rst = format::render_rst(&c);
    let back = format::parse_rst(&rst).unwrap_or_else(|e| panic!("{e}\n{rst:?}"));
    assert_eq!(ids(&back), ids(&c), "{rst:?}");
    let rst = "Title\n=====\n\n.. raw:: markdown\n\n   ## h\n\n   ```\n   x\n   ```\t\n   - [ ] y\n   ```\n\n- [ ] e\n";
    let c = format::parse_rst(rst).unwrap();
    assert_eq!(ids(&c), ["e"]);
    assert!(c.passages.iter().any(|p| p.text.contains("   ```\t\n")), "{:?}", c.passages);
    assert_round_trip_items(&c);
}

fn assert_round_trip_items(c: &Checklist) {
    for syntax in [Syntax::Rst, Syntax::Markdown] {
        let text = format::render(c, syntax);
        let back = format::parse(&text, syntax).unwrap_or_else(|e| panic!("{syntax:?}: {e}\n{text}"));
        assert_eq!(ids(&back), ids(c), "{syntax:?}\n{text}");
    }
}
