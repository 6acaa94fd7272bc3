//! Builds a [`Checklist`] from lexed blocks: the document title, the section tree, items with
//! their attributes, parents and ids, the checklist-wide blocks recognised by an explicit marker
//! or the Nexus document's exact form, and verbatim passages for everything else.

use std::collections::HashMap;

use super::attrs;
use super::lex::{Block as Lexed, Cell, MAX_DEPTH, Pos, Step, Table};
use super::values::{parse_alert_rule, parse_bound};
use super::{FormatError, LoadOptions, Syntax};
use crate::model::{
    AlertRule, Block, Checklist, Direction, Item, ItemId, Part, Passage, RollbackStep, Section, SignOff, Threshold,
    slugify,
};

struct Assembler<'o> {
    syntax: Syntax,
    options: &'o LoadOptions,
    id: Option<String>,
    title: Option<String>,
    /// Index of the block that is the document title, if any.
    title_block: Option<usize>,
    /// Heading level that becomes section level 1.
    base_level: usize,
    /// Content outside any section (its id is the id prefix).
    top: Section,
    open: Vec<Section>,
    done: Vec<Section>,
    ids: HashMap<ItemId, Pos>,
    /// Items whose `after` names other items, checked once every item is known.
    deps: Vec<(ItemId, ItemId, Pos)>,
    /// Open items by depth, for nesting.
    parents: Vec<(usize, ItemId)>,
    placed: Vec<Block>,
    pending: Option<(String, Pos)>,
    /// The pending paragraph follows the previous block with no blank line.
    pending_tight: bool,
    /// A `Tight` marker was read: the next block follows the previous one with no blank line.
    tight_next: bool,
    /// The passage being added joins the previous one with one newline, not a blank line.
    join_tight: bool,
    thresholds: Vec<Threshold>,
    key_metrics: Vec<String>,
    alert_rules: Vec<AlertRule>,
    rollback: Vec<RollbackStep>,
    sign_off: Vec<SignOff>,
}

/// Whether `slug` matches a pattern in which `*` stands for any run of characters.
fn glob(pattern: &str, slug: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == slug;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !slug.starts_with(first) || slug.len() < first.len() + last.len() || !slug.ends_with(last) {
        return false;
    }
    let mut rest = &slug[first.len()..slug.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(k) => rest = &rest[k + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Assembles lexed blocks into a validated checklist.
pub(crate) fn assemble(blocks: Vec<Lexed>, syntax: Syntax, options: &LoadOptions) -> Result<Checklist, FormatError> {
    let headings: Vec<(usize, usize)> = blocks
        .iter()
        .enumerate()
        .filter_map(|(k, b)| match b {
            Lexed::Heading { level, .. } => Some((k, *level)),
            _ => None,
        })
        .collect();
    let untitled = blocks.iter().any(|b| matches!(b, Lexed::Untitled));
    let title_block = headings.first().and_then(|&(k, level)| {
        let unique = headings.iter().filter(|(_, l)| *l == 0).count() == 1;
        let items_before = blocks[..k].iter().any(|b| matches!(b, Lexed::Item { .. }));
        (level == 0 && unique && !items_before && !untitled).then_some(k)
    });
    let base_level = if title_block.is_some() { 1 } else { headings.iter().map(|h| h.1).min().unwrap_or(0) };
    let mut top = Section::new("");
    top.id = options.id_prefix.clone().unwrap_or_else(|| ItemId::from_path::<&str>(&[]));
    let mut a = Assembler {
        syntax,
        options,
        id: None,
        title: None,
        title_block,
        base_level,
        top,
        open: Vec::new(),
        done: Vec::new(),
        ids: HashMap::new(),
        deps: Vec::new(),
        parents: Vec::new(),
        placed: Vec::new(),
        pending: None,
        pending_tight: false,
        tight_next: false,
        join_tight: false,
        thresholds: Vec::new(),
        key_metrics: Vec::new(),
        alert_rules: Vec::new(),
        rollback: Vec::new(),
        sign_off: Vec::new(),
    };
    for (k, block) in blocks.into_iter().enumerate() {
        a.block(k, block)?;
    }
    a.finish()
}

impl Assembler<'_> {
    fn current(&mut self) -> &mut Section {
        match self.open.last_mut() {
            Some(s) => s,
            None => &mut self.top,
        }
    }

    /// Keeps content verbatim. Passages that follow each other become one, as they read back
    /// once rendered (an indented block after another reads as its continuation in rST).
    fn passage(&mut self, syntax: Syntax, text: String) {
        let sep = if self.join_tight { "\n" } else { "\n\n" };
        let s = self.current();
        if let Some(Part::Passage(k)) = s.layout.last()
            && let Some(last) = s.passages.get_mut(*k)
            && last.syntax == syntax
        {
            last.text.push_str(sep);
            last.text.push_str(&text);
            return;
        }
        s.passages.push(Passage::new(syntax, text));
        let k = s.passages.len() - 1;
        s.layout.push(Part::Passage(k));
    }

    fn block(&mut self, index: usize, block: Lexed) -> Result<(), FormatError> {
        if matches!(block, Lexed::Tight) {
            self.tight_next = true;
            return Ok(());
        }
        let tight = std::mem::take(&mut self.tight_next);
        if !matches!(block, Lexed::Bullets { .. }) {
            self.flush_paragraph();
        }
        self.join_tight = tight;
        let result = self.block_inner(index, block, tight);
        self.join_tight = false;
        result
    }

    fn block_inner(&mut self, index: usize, block: Lexed, tight: bool) -> Result<(), FormatError> {
        if !matches!(block, Lexed::Item { .. }) {
            self.parents.clear();
        }
        match block {
            Lexed::Label { name, pos } => {
                if self.title.is_none() && self.id.is_none() {
                    let slug = slugify(&name);
                    if slug.is_empty() {
                        return Err(pos.error(format!("label `{name}` has no letters or digits to make an id from")));
                    }
                    self.id = Some(slug);
                } else {
                    let text = match self.syntax {
                        Syntax::Rst => format!(".. _{name}:"),
                        _ => format!("<a id=\"{name}\"></a>"),
                    };
                    self.passage(self.syntax, text);
                }
            }
            Lexed::Untitled => {}
            Lexed::Heading { level, text, pos } => {
                if Some(index) == self.title_block {
                    self.title = Some(text);
                    self.top.layout.push(Part::Title);
                } else {
                    self.heading(level + 1 - self.base_level.min(level + 1), text, pos)?;
                }
            }
            Lexed::Paragraph { text, pos } => {
                self.pending = Some((text, pos));
                self.pending_tight = tight;
            }
            Lexed::Item { checked, title, pos, depth, description, fields } => {
                self.item(checked, &title, pos, depth, description, fields)?;
            }
            Lexed::Bullets { items, raw, pos } => self.bullets(items, raw, pos)?,
            Lexed::Steps { steps, nexus_form, raw } => {
                let marked = self.open.last().is_some_and(|s| {
                    let slug = slugify(&s.title);
                    slug.contains("rollback") || slug.contains("roll-back")
                });
                if marked || nexus_form {
                    self.place(Block::Rollback);
                    self.rollback.extend(steps.into_iter().map(rollback_step));
                } else {
                    self.passage(self.syntax, raw);
                }
            }
            Lexed::Table(table) => self.table(table)?,
            Lexed::Opaque { syntax, text } => self.passage(syntax, text),
            Lexed::Tight => {}
        }
        Ok(())
    }

    /// Whether a paragraph here is part of the description: nothing but description paragraphs
    /// since the heading (or the title).
    fn describing(&self) -> bool {
        if self.open.is_empty() && self.title_block.is_some() && self.title.is_none() {
            return false;
        }
        let layout = match self.open.last() {
            Some(s) => &s.layout,
            None => &self.top.layout,
        };
        let since = layout.iter().rposition(|p| *p == Part::Title).map_or(0, |k| k + 1);
        layout[since..].iter().all(|p| *p == Part::Description)
    }

    fn flush_paragraph(&mut self) {
        if let Some((text, _)) = self.pending.take() {
            if self.describing() {
                let s = self.current();
                match &mut s.description {
                    Some(d) => {
                        d.push_str("\n\n");
                        d.push_str(&text);
                    }
                    None => s.description = Some(text),
                }
                if s.layout.last() != Some(&Part::Description) {
                    s.layout.push(Part::Description);
                }
            } else {
                self.join_tight = std::mem::take(&mut self.pending_tight);
                self.passage(self.syntax, text);
                self.join_tight = false;
            }
        }
    }

    fn heading(&mut self, level: usize, text: String, pos: Pos) -> Result<(), FormatError> {
        if text.is_empty() {
            return Err(pos.error("empty heading"));
        }
        let depth = self.open.len();
        let level = match self.syntax {
            Syntax::Markdown => level.min(depth + 1),
            _ => level,
        };
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
        let parent_id = self.open.last().map_or(&self.top.id, |p| &p.id);
        section.id = parent_id.child(&text);
        let inherited = self.open.iter().any(|s| s.phase.is_some());
        if !inherited {
            let slug = slugify(&text);
            section.phase = self.options.phases.iter().find(|(p, _)| glob(p, &slug)).map(|(_, ph)| *ph);
        }
        self.open.push(section);
        Ok(())
    }

    fn close(&mut self) {
        if let Some(mut section) = self.open.pop() {
            normalize(&mut section, None);
            match self.open.last_mut() {
                Some(parent) => parent.sections.push(section),
                None => self.done.push(section),
            }
        }
    }

    fn item(
        &mut self,
        checked: bool,
        title: &attrs::Spanned,
        pos: Pos,
        depth: usize,
        description: Option<String>,
        mut fields: Vec<attrs::Field>,
    ) -> Result<(), FormatError> {
        let (text, inline) = attrs::split(title)?;
        fields.splice(0..0, inline);
        let attrs = attrs::parse(&fields)?;
        while self.parents.last().is_some_and(|(d, _)| *d >= depth) {
            self.parents.pop();
        }
        let parent = self.parents.last().map(|(_, id)| id.clone());
        let mut item = Item::new(&text).checked(checked);
        if item.title.is_empty() {
            return Err(pos.error("checklist item has no title"));
        }
        let id = match attrs.id {
            Some((id, _)) => id,
            None => {
                // `Item::new` gave the item its title's slug as id.
                if item.id.as_str().is_empty() {
                    return Err(pos.error(format!(
                        "checklist item `{}` has no letters or digits to make an id from: give it one with `{{#my-id}}`",
                        item.title
                    )));
                }
                match &parent {
                    Some(p) => p.join(item.id.as_str()),
                    None => self.current().id.join(item.id.as_str()),
                }
            }
        };
        if let Some(first) = self.ids.get(&id) {
            return Err(pos.error(format!(
                "duplicate item id `{id}` (first used on line {}): give one of them its own id with `{{#my-id}}`",
                first.line
            )));
        }
        self.ids.insert(id.clone(), pos);
        item.severity = attrs.severity.unwrap_or(self.options.default_severity);
        item.phase = attrs.phase;
        if let Some(v) = attrs.verification {
            item.verification = v;
        }
        item.tags = attrs.tags;
        for (dep, at) in attrs.after {
            self.deps.push((id.clone(), dep.clone(), at));
            item.after.push(dep);
        }
        // A line of only spaces or tabs (an editor's leftover, in a code block say) is a blank
        // line: every renderer writes it as one, and it reads back as one.
        item.description = description.map(|d| {
            d.split('\n').map(|l| if super::lex::md_blank(l) { "" } else { l }).collect::<Vec<_>>().join("\n")
        });
        item.parent.clone_from(&parent);
        item.id = id.clone();
        let s = self.current();
        s.items.push(item);
        if parent.is_none() {
            let k = s.items.len() - 1;
            s.layout.push(Part::Item(k));
        }
        self.parents.push((depth, id));
        Ok(())
    }

    /// Records where a checklist-wide block appears (its first occurrence).
    fn place(&mut self, block: Block) {
        if !self.placed.contains(&block) {
            self.placed.push(block);
            let s = self.current();
            s.blocks.push(block);
            s.layout.push(Part::Block(block));
        }
    }

    fn bullets(&mut self, items: Vec<String>, raw: String, _pos: Pos) -> Result<(), FormatError> {
        let heading = self.open.last().map(|s| slugify(&s.title)).unwrap_or_default();
        let lead = self.pending.as_ref().map(|(t, _)| t.clone());
        let (alert, metric) = match &lead {
            Some(lead) if lead.ends_with(':') => {
                let lower = lead.to_lowercase();
                (lower.contains("alert"), lower.contains("metric"))
            }
            Some(_) => (false, false),
            None => {
                (heading.contains("alerting-rules") || heading.contains("alert-rules"), heading.contains("key-metrics"))
            }
        };
        if alert {
            self.pending = None;
            self.place(Block::AlertRules);
            self.alert_rules.extend(items.iter().map(|t| parse_alert_rule(t)));
        } else if metric {
            self.pending = None;
            self.place(Block::KeyMetrics);
            self.key_metrics.extend(items);
        } else {
            self.flush_paragraph();
            self.passage(self.syntax, raw);
        }
        Ok(())
    }

    fn table(&mut self, table: Table) -> Result<(), FormatError> {
        let header: Vec<String> = table.header.iter().map(|c| c.text.to_lowercase()).collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        match header.as_slice() {
            ["metric", "current", "threshold", "action"] => {
                self.place(Block::Thresholds);
                for row in &table.rows {
                    self.thresholds.push(threshold(row)?);
                }
            }
            ["role", "name", "date", "signature"] => {
                self.place(Block::SignOff);
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
            _ => self.passage(self.syntax, table.raw),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Checklist, FormatError> {
        self.flush_paragraph();
        while !self.open.is_empty() {
            self.close();
        }
        for (item, dep, pos) in &self.deps {
            if !self.ids.contains_key(dep) {
                let mut known: Vec<&ItemId> = self.ids.keys().collect();
                known.sort_by(|a, b| {
                    strsim::normalized_levenshtein(dep.as_str(), b.as_str())
                        .total_cmp(&strsim::normalized_levenshtein(dep.as_str(), a.as_str()))
                });
                let hint = known.first().map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
                return Err(pos.error(format!("item `{item}` runs after unknown item `{dep}`{hint}")));
            }
        }
        let title = self.title.unwrap_or_default();
        let id = self.id.unwrap_or_else(|| super::render::default_id(&title));
        normalize(&mut self.top, Some(self.title_block.is_some()));
        let mut top = self.top;
        let mut builder = Checklist::builder(id, title.clone()).keep_ids();
        if let Some(d) = top.description.take() {
            builder = builder.description(d);
        }
        if !top.items.is_empty() {
            // Items directly under the title: the implicit first section.
            let mut s = Section::new(if title.trim().is_empty() { "Checklist" } else { title.as_str() });
            s.implicit = true;
            s.id = top.id.clone();
            s.items = std::mem::take(&mut top.items);
            builder = builder.section(s);
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
        for p in top.passages {
            builder = builder.passage(p);
        }
        let ids = self.ids;
        let mut checklist = builder.build().map_err(|e| {
            let at = match &e {
                crate::model::ModelError::DependencyCycle { item } => ids.get(item.as_str()).copied(),
                _ => None,
            };
            let at = at.unwrap_or(Pos { line: 1, column: 1 });
            at.error(e.to_string())
        })?;
        checklist.layout = top.layout;
        Ok(checklist)
    }
}

/// Drops a layout that says nothing the default order does not (`top`: the document's own
/// content, with whether it has a title).
fn normalize(s: &mut Section, top: Option<bool>) {
    if !s.passages.is_empty() {
        return;
    }
    let mut default = Vec::new();
    if top == Some(true) {
        default.push(Part::Title);
    }
    if s.description.is_some() {
        default.push(Part::Description);
    }
    default.extend(s.items.iter().enumerate().filter(|(_, i)| i.parent.is_none()).map(|(k, _)| Part::Item(k)));
    if top.is_none() {
        default.extend(s.blocks.iter().map(|b| Part::Block(*b)));
    }
    if s.layout == default {
        s.layout.clear();
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
