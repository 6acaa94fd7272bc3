//! Builds a [`Checklist`] from lexed blocks: section tree, item ids, and the checklist-wide
//! blocks (capacity thresholds, key metrics, alerting rules, rollback steps, sign-off roles).

use std::collections::HashMap;

use super::FormatError;
use super::lex::{Block as Lexed, Cell, MAX_DEPTH, Pos, Step, Table};
use super::values::{parse_alert_rule, parse_bound};
use crate::model::{
    Block, Checklist, Direction, Item, ItemId, Phase, RollbackStep, Section, SignOff, Threshold, slugify,
};

#[derive(Default)]
struct Assembler {
    id: Option<String>,
    title: Option<(String, Pos)>,
    description: Vec<String>,
    open: Vec<Section>,
    done: Vec<Section>,
    ids: HashMap<ItemId, Pos>,
    placed: Vec<Block>,
    pending: Option<(String, Pos)>,
    thresholds: Vec<Threshold>,
    key_metrics: Vec<String>,
    alert_rules: Vec<crate::model::AlertRule>,
    rollback: Vec<RollbackStep>,
    sign_off: Vec<SignOff>,
}

/// The phase a top-level section stands for, from its title.
fn phase_of(title: &str) -> Option<Phase> {
    match slugify(title).as_str() {
        "pre-deployment" => Some(Phase::PreDeployment),
        "deployment" => Some(Phase::Deployment),
        "post-deployment" => Some(Phase::PostDeployment),
        "capacity-planning" | "monitoring-dashboards" | "monitoring" | "compliance" => Some(Phase::Continuous),
        _ => None,
    }
}

/// Assembles lexed blocks into a validated checklist.
pub(crate) fn assemble(blocks: Vec<Lexed>) -> Result<Checklist, FormatError> {
    let mut a = Assembler::default();
    for block in blocks {
        a.block(block)?;
    }
    a.finish()
}

impl Assembler {
    fn block(&mut self, block: Lexed) -> Result<(), FormatError> {
        if !matches!(block, Lexed::Bullets { .. }) {
            self.flush_paragraph();
        }
        match block {
            Lexed::Label { name, pos } => {
                if self.title.is_none() && self.id.is_none() {
                    let slug = slugify(&name);
                    if slug.is_empty() {
                        return Err(pos.error(format!("label `{name}` has no letters or digits to make an id from")));
                    }
                    self.id = Some(slug);
                }
            }
            Lexed::Heading { level, text, pos } => self.heading(level, text, pos)?,
            Lexed::Paragraph { text, pos } => {
                if self.title.is_none() {
                    return Err(pos.error("text before the document title"));
                }
                self.pending = Some((text, pos));
            }
            Lexed::Item { checked, text, pos } => {
                let Some(section) = self.open.last_mut() else {
                    return Err(pos.error("checklist item outside any section"));
                };
                let item = Item::new(&text).checked(checked);
                if item.title.is_empty() {
                    return Err(pos.error("checklist item has no title"));
                }
                let slug = slugify(&item.title);
                if slug.is_empty() {
                    return Err(pos.error(format!(
                        "checklist item `{}` has no letters or digits to make an id from",
                        item.title
                    )));
                }
                let id = section.id.child(&item.title);
                if let Some(first) = self.ids.get(&id) {
                    return Err(pos.error(format!("duplicate item id `{id}` (first used on line {})", first.line)));
                }
                self.ids.insert(id.clone(), pos);
                section.items.push(item.id(id));
            }
            Lexed::Bullets { items, pos } => self.bullets(items, pos)?,
            Lexed::Steps { steps, pos } => {
                self.place(Block::Rollback, pos, "numbered list")?;
                self.rollback.extend(steps.into_iter().map(rollback_step));
            }
            Lexed::Table(table) => self.table(table)?,
        }
        Ok(())
    }

    fn flush_paragraph(&mut self) {
        if let Some((text, _)) = self.pending.take() {
            match self.open.last_mut() {
                Some(section) => match &mut section.description {
                    Some(d) => {
                        d.push_str("\n\n");
                        d.push_str(&text);
                    }
                    None => section.description = Some(text),
                },
                None => self.description.push(text),
            }
        }
    }

    fn heading(&mut self, level: usize, text: String, pos: Pos) -> Result<(), FormatError> {
        if text.is_empty() {
            return Err(pos.error("empty heading"));
        }
        if level == 0 {
            if let Some((title, first)) = &self.title {
                return Err(pos.error(format!(
                    "second document title `{text}`: `{title}` on line {} already uses the title style",
                    first.line
                )));
            }
            self.title = Some((text, pos));
            return Ok(());
        }
        if self.title.is_none() {
            return Err(pos.error(format!("section `{text}` before the document title")));
        }
        let depth = self.open.len();
        if level > depth + 1 {
            return Err(pos.error(format!(
                "section `{text}` skips a level: a level-{level} heading directly under a level-{depth} one"
            )));
        }
        if level > MAX_DEPTH {
            return Err(pos.error(format!("section `{text}` is nested deeper than {MAX_DEPTH} levels")));
        }
        if slugify(&text).is_empty() {
            return Err(pos.error(format!("section `{text}` has no letters or digits to make an id from")));
        }
        while self.open.len() >= level {
            self.close();
        }
        let mut section = Section::new(text.as_str());
        if let Some(parent) = self.open.last() {
            section.id = parent.id.child(&text);
        } else {
            section.phase = phase_of(&text);
        }
        self.open.push(section);
        Ok(())
    }

    fn close(&mut self) {
        if let Some(section) = self.open.pop() {
            match self.open.last_mut() {
                Some(parent) => parent.sections.push(section),
                None => self.done.push(section),
            }
        }
    }

    /// Records where a checklist-wide block appears (its first occurrence).
    fn place(&mut self, block: Block, pos: Pos, what: &str) -> Result<(), FormatError> {
        let Some(section) = self.open.last_mut() else {
            return Err(pos.error(format!("{what} outside any section")));
        };
        if !self.placed.contains(&block) {
            self.placed.push(block);
            section.blocks.push(block);
        }
        Ok(())
    }

    fn bullets(&mut self, items: Vec<String>, pos: Pos) -> Result<(), FormatError> {
        let Some((lead, _)) = self.pending.take() else {
            return Err(pos.error(
                "bullet list without a lead-in: write `Key metrics to monitor:` or `Recommended alerting rules:` above it",
            ));
        };
        let lower = lead.to_lowercase();
        if !lead.ends_with(':') {
            return Err(pos.error("bullet list without a lead-in ending in `:` (key metrics or alerting rules)"));
        }
        if lower.contains("alert") {
            self.place(Block::AlertRules, pos, "alerting rules")?;
            self.alert_rules.extend(items.iter().map(|t| parse_alert_rule(t)));
        } else if lower.contains("metric") {
            self.place(Block::KeyMetrics, pos, "key metrics")?;
            self.key_metrics.extend(items);
        } else {
            return Err(pos.error(format!(
                "bullet list after `{lead}` is neither key metrics nor alerting rules (its lead-in must mention metrics or alerts)"
            )));
        }
        Ok(())
    }

    fn table(&mut self, table: Table) -> Result<(), FormatError> {
        let header: Vec<String> = table.header.iter().map(|c| c.text.to_lowercase()).collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        match header.as_slice() {
            ["metric", "current", "threshold", "action"] => {
                self.place(Block::Thresholds, table.pos, "capacity table")?;
                for row in &table.rows {
                    self.thresholds.push(threshold(row)?);
                }
            }
            ["role", "name", "date", "signature"] => {
                self.place(Block::SignOff, table.pos, "sign-off table")?;
                for row in &table.rows {
                    if row[0].text.is_empty() {
                        return Err(row[0].pos.error("sign-off row has no role"));
                    }
                    let opt = |c: &Cell| (!c.text.is_empty()).then(|| c.text.clone());
                    let mut s = SignOff::new(row[0].text.clone());
                    s.name = opt(&row[1]);
                    s.date = opt(&row[2]);
                    s.signature = opt(&row[3]);
                    self.sign_off.push(s);
                }
            }
            _ => {
                let got: Vec<&str> = table.header.iter().map(|c| c.text.as_str()).collect();
                return Err(table.pos.error(format!(
                    "unknown table shape with columns `{}`: expected `Metric | Current | Threshold | Action` or `Role | Name | Date | Signature`",
                    got.join(" | ")
                )));
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Checklist, FormatError> {
        self.flush_paragraph();
        while !self.open.is_empty() {
            self.close();
        }
        let Some((title, _)) = self.title else {
            return Err(FormatError::new(1, 1, "document has no title"));
        };
        let id = self.id.unwrap_or_else(|| {
            let slug = slugify(&title);
            if slug.is_empty() { "checklist".to_string() } else { slug }
        });
        let mut builder = Checklist::builder(id, title).keep_ids();
        if !self.description.is_empty() {
            builder = builder.description(self.description.join("\n\n"));
        }
        for s in self.done {
            builder = builder.section(s);
        }
        for t in self.thresholds {
            builder = builder.threshold(t);
        }
        for m in self.key_metrics {
            builder = builder.key_metric(m);
        }
        for r in self.alert_rules {
            builder = builder.alert_rule(r);
        }
        for r in self.rollback {
            builder = builder.rollback_step(r);
        }
        for s in self.sign_off {
            builder = builder.sign_off(s);
        }
        builder.build().map_err(|e| FormatError::new(1, 1, e.to_string()))
    }
}

fn rollback_step(step: Step) -> RollbackStep {
    let mut r = RollbackStep::new(step.number, step.title);
    if let Some(code) = step.code {
        r.command = Some(code.text);
        r.language = code.language;
    }
    r.actions = step.actions;
    r
}

fn threshold(row: &[Cell]) -> Result<Threshold, FormatError> {
    let bound = |c: &Cell| {
        parse_bound(&c.text).ok_or_else(|| {
            c.pos.error(format!("threshold cell `{}`: expected a bound such as `< 70%` or `> 500ms`", c.text))
        })
    };
    if row[0].text.is_empty() {
        return Err(row[0].pos.error("capacity row has no metric name"));
    }
    let (hop, healthy, hunit) = bound(&row[1])?;
    let (bop, breach, bunit) = bound(&row[2])?;
    let direction = match (hop, bop) {
        ('<', '>') => Direction::Ceiling,
        ('>', '<') => Direction::Floor,
        _ => {
            return Err(row[2].pos.error(format!(
                "threshold for `{}`: the current bound `{}` and the threshold `{}` must point opposite ways (`<` and `>`)",
                row[0].text, row[1].text, row[2].text
            )));
        }
    };
    if hunit != bunit {
        return Err(row[2].pos.error(format!(
            "threshold for `{}`: the current bound is in {hunit} but the threshold is in {bunit}",
            row[0].text
        )));
    }
    if row[3].text.is_empty() {
        return Err(row[3].pos.error(format!("threshold for `{}` has no action", row[0].text)));
    }
    Threshold::new(row[0].text.clone(), hunit, direction, healthy, breach, row[3].text.clone())
        .map_err(|e| row[0].pos.error(e.to_string()))
}
