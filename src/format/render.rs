//! Renders a [`Checklist`] back into reStructuredText or Markdown, with tables and steps in the
//! sections that held them.

use std::fmt::Write as _;

use super::values::{alert_rule_text, quantity};
use super::{Syntax, attrs};
use crate::model::{
    Block, Checklist, Direction, Item, ItemId, Part, Passage, RollbackStep, Section, Threshold, slugify,
};

/// Section underline characters by level (level 0 is the title).
const RST_ADORNMENTS: [char; 14] = ['=', '-', '~', '^', '"', '\'', '`', '#', '*', '+', ':', '.', '_', ';'];

/// The id a document without a label gets from its title.
pub(crate) fn default_id(title: &str) -> String {
    let slug = slugify(title);
    if slug.is_empty() { "checklist".to_string() } else { slug }
}

struct Renderer<'a> {
    checklist: &'a Checklist,
    syntax: Syntax,
    out: String,
    /// Markdown heading levels to add (an untitled document with one top-level section renders
    /// it as `##` so that it does not read back as the title).
    shift: usize,
    /// Whether the part being rendered is followed by a `-` list (items, or a passage), which
    /// a `-` list right before it would merge with in Markdown.
    dash_follows: bool,
}

/// Renders the whole document.
pub(crate) fn render(checklist: &Checklist, syntax: Syntax) -> String {
    let mut r = Renderer { checklist, syntax, out: String::new(), shift: 0, dash_follows: false };
    r.document();
    r.out
}

/// Which items of a body are roots and which are each item's children (a child names an earlier
/// item of the same body; one that names no such item renders as a root).
struct Tree {
    root: Vec<bool>,
    children: Vec<Vec<usize>>,
}

impl Tree {
    fn of(items: &[Item]) -> Tree {
        let mut index: std::collections::HashMap<&ItemId, usize> = std::collections::HashMap::new();
        let mut tree = Tree { root: vec![true; items.len()], children: vec![Vec::new(); items.len()] };
        for (k, item) in items.iter().enumerate() {
            if let Some(&p) = item.parent.as_ref().and_then(|p| index.get(p)) {
                tree.root[k] = false;
                tree.children[p].push(k);
            }
            index.entry(&item.id).or_insert(k);
        }
        tree
    }
}

/// The content of a section, or of the document outside any section.
struct Body<'a> {
    id: ItemId,
    description: Option<&'a str>,
    items: &'a [Item],
    passages: &'a [Passage],
    blocks: &'a [Block],
    layout: &'a [Part],
    top: bool,
}

impl Renderer<'_> {
    fn document(&mut self) {
        let c = self.checklist;
        // A passage that reads as a label would take the id's place unless the id comes first.
        let label_passage = c.passages.iter().any(|p| {
            let t = p.text.trim();
            (t.starts_with(".. _") && t.ends_with(':')) || t.starts_with("<a ")
        });
        if c.id != default_id(&c.title) || label_passage {
            match self.syntax {
                Syntax::Rst => self.line(&format!(".. _{}:", c.id)),
                _ => self.line(&format!("<a id=\"{}\"></a>", c.id)),
            }
            self.blank();
        }
        let untitled = c.title.trim().is_empty();
        let implicit = c.sections.first().filter(|s| s.implicit);
        let headed = &c.sections[usize::from(implicit.is_some())..];
        if untitled && !headed.is_empty() {
            match self.syntax {
                Syntax::Rst => {
                    self.line(super::lex::UNTITLED);
                    self.blank();
                }
                _ => self.shift = usize::from(headed.len() < 2),
            }
        }
        let body = Body {
            id: ItemId::from_path::<&str>(&[]),
            description: c.description.as_deref(),
            items: implicit.map_or(&[][..], |s| &s.items[..]),
            passages: &c.passages,
            blocks: &[],
            layout: &c.layout,
            top: true,
        };
        self.body(&body);
        for s in headed {
            self.section(s, 1, &ItemId::from_path::<&str>(&[]));
        }
        // Blocks that no section shows (a checklist built in code) get a section of their own.
        let mut placed: Vec<Block> = c.all_sections().iter().flat_map(|s| s.blocks.iter().copied()).collect();
        placed.extend(c.layout.iter().filter_map(|p| match p {
            Part::Block(b) => Some(*b),
            _ => None,
        }));
        let extra = [
            (Block::Thresholds, !c.thresholds.is_empty(), "Capacity Planning"),
            (Block::Rollback, !c.rollback.is_empty(), "Rollback Plan"),
            (Block::KeyMetrics, !c.key_metrics.is_empty(), "Monitoring Dashboards"),
            (Block::AlertRules, !c.alert_rules.is_empty(), "Alerting Rules"),
            (Block::SignOff, !c.sign_off.is_empty(), "Sign-off"),
        ];
        for (block, present, title) in extra {
            if present && !placed.contains(&block) {
                self.heading(1, title);
                self.block(block);
            }
        }
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// Makes sure the output ends with a blank line.
    fn ensure_blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.blank();
        }
    }

    fn heading(&mut self, level: usize, text: &str) {
        match self.syntax {
            Syntax::Rst => {
                let c = RST_ADORNMENTS[level.min(RST_ADORNMENTS.len() - 1)];
                // A title that would read as a list, a table or a directive is escaped.
                let escaped;
                let text = if super::lex::rst_plain_line(text) {
                    text
                } else {
                    escaped = escape_rst_line(text);
                    escaped.as_str()
                };
                let width = text.chars().count().max(3);
                self.line(text);
                self.line(&c.to_string().repeat(width));
            }
            _ => {
                let hashes = "#".repeat((level + 1 + self.shift).min(6));
                // A title ending in `#` would lose it as an ATX closing sequence (`# #`, `# Use #`):
                // write one, so that the title's own `#`s are read as text.
                if text.ends_with('#') {
                    self.line(&format!("{hashes} {text} {hashes}"))
                } else {
                    self.line(&format!("{hashes} {text}"))
                }
            }
        }
        self.blank();
    }

    fn paragraphs(&mut self, text: &str) {
        for p in text.split("\n\n") {
            let p = match self.syntax {
                Syntax::Rst => escape_rst_paragraph(p),
                _ => super::markdown::escape_paragraph(p),
            };
            self.line(&p);
            self.blank();
        }
    }

    /// `parent` is the id path the document's headings give the enclosing section: ids that
    /// differ from it (an id prefix, an explicit id) are written out.
    fn section(&mut self, s: &Section, level: usize, parent: &ItemId) {
        self.heading(level, &s.title);
        let path = parent.child(&s.title);
        let body = Body {
            id: path.clone(),
            description: s.description.as_deref(),
            items: &s.items,
            passages: &s.passages,
            blocks: &s.blocks,
            layout: &s.layout,
            top: false,
        };
        self.body(&body);
        for child in &s.sections {
            self.section(child, level + 1, &path);
        }
    }

    /// The parts of a body in order: its layout, then what the layout does not name.
    fn parts(&self, b: &Body<'_>, tree: &Tree) -> Vec<Part> {
        let roots = || -> Vec<usize> { (0..tree.root.len()).filter(|&k| tree.root[k]).collect() };
        let mut parts: Vec<Part> = Vec::new();
        let titled = b.top && !self.checklist.title.trim().is_empty();
        if b.layout.is_empty() {
            if titled {
                parts.push(Part::Title);
            }
            if b.description.is_some() {
                parts.push(Part::Description);
            }
            parts.extend(roots().into_iter().map(Part::Item));
            parts.extend(b.blocks.iter().map(|x| Part::Block(*x)));
            parts.extend((0..b.passages.len()).map(Part::Passage));
            return parts;
        }
        if titled && !b.layout.contains(&Part::Title) {
            parts.push(Part::Title);
        }
        let root_list = roots();
        let mut seen: std::collections::HashSet<Part> = parts.iter().copied().collect();
        for p in b.layout {
            let valid = match p {
                Part::Title => titled,
                Part::Description => b.description.is_some(),
                Part::Item(k) => tree.root.get(*k).copied().unwrap_or(false),
                Part::Passage(k) => *k < b.passages.len(),
                Part::Block(_) => true,
            };
            if valid && seen.insert(*p) {
                parts.push(*p);
            }
        }
        let mut rest = Vec::new();
        if b.description.is_some() {
            rest.push(Part::Description);
        }
        rest.extend(root_list.into_iter().map(Part::Item));
        rest.extend(b.blocks.iter().map(|x| Part::Block(*x)));
        rest.extend((0..b.passages.len()).map(Part::Passage));
        for p in rest {
            if seen.insert(p) {
                parts.push(p);
            }
        }
        parts
    }

    fn body(&mut self, b: &Body<'_>) {
        let tree = Tree::of(b.items);
        let parts = self.parts(b, &tree);
        let mut in_run = false;
        for (k, &part) in parts.iter().enumerate() {
            self.dash_follows = match parts.get(k + 1) {
                Some(Part::Item(_)) => true,
                Some(Part::Passage(p)) => b.passages.get(*p).is_some_and(|p| p.text.starts_with('-')),
                _ => false,
            };
            if in_run && !matches!(part, Part::Item(_)) {
                self.ensure_blank();
                in_run = false;
            }
            match part {
                Part::Title => self.heading(0, &self.checklist.title),
                Part::Description => {
                    if let Some(d) = b.description {
                        self.paragraphs(d);
                    }
                }
                Part::Item(k) => {
                    if !in_run {
                        self.ensure_blank();
                    }
                    in_run = true;
                    self.item(b, &tree, k, 0);
                }
                Part::Block(x) => self.block(x),
                Part::Passage(k) => self.passage(&b.passages[k]),
            }
        }
        if in_run {
            self.ensure_blank();
        }
    }

    fn item(&mut self, b: &Body<'_>, tree: &Tree, k: usize, depth: usize) {
        let item = &b.items[k];
        let derived = match &item.parent {
            Some(p) => p.child(&item.title),
            None => b.id.child(&item.title),
        };
        let attrs = attrs::written(item, &derived);
        let children = &tree.children[k];
        let indent = "  ".repeat(depth);
        let inner = "  ".repeat(depth + 1);
        let mark = if item.checked { "x" } else { " " };
        // An item with a body is set off by blank lines, as both syntaxes want for nested blocks.
        let has_body =
            item.description.is_some() || !children.is_empty() || (self.syntax == Syntax::Rst && !attrs.is_empty());
        if has_body {
            self.ensure_blank();
        }
        match self.syntax {
            Syntax::Rst => {
                self.line(&format!("{indent}- [{mark}] {}", item.display_title()));
                if !attrs.is_empty() {
                    self.blank();
                    for (key, value) in &attrs {
                        self.line(&format!("{inner}:{key}: {value}"));
                    }
                }
            }
            _ => self.line(&format!("{indent}- [{mark}] {}{}", item.display_title(), attrs::inline(&attrs))),
        }
        if let Some(d) = &item.description {
            self.blank();
            let d = match self.syntax {
                Syntax::Rst => d.into(),
                _ => super::markdown::escape_description(d, !children.is_empty()),
            };
            for l in d.split('\n') {
                let t = l.trim_start();
                if t.is_empty() {
                    self.blank();
                } else if self.syntax == Syntax::Rst && rst_body_syntax(t) {
                    // A description written in Markdown may hold a line the rST reader would take
                    // for a child item or an attribute field (in a code fence): escape it.
                    let lead = &l[..l.len() - t.len()];
                    self.line(&format!("{inner}{lead}\\{t}"));
                } else {
                    self.line(&format!("{inner}{l}"));
                }
            }
        }
        if !children.is_empty() {
            self.blank();
            for &c in children {
                self.item(b, tree, c, depth + 1);
            }
        }
        if has_body {
            self.ensure_blank();
        }
    }

    fn passage(&mut self, p: &Passage) {
        self.ensure_blank();
        if p.syntax == self.syntax {
            for l in p.text.split('\n') {
                self.line(l);
            }
        } else {
            match self.syntax {
                Syntax::Rst => {
                    self.line(".. raw:: markdown");
                    self.blank();
                    for l in p.text.split('\n') {
                        if super::lex::md_blank(l) {
                            self.blank();
                        } else {
                            self.line(&format!("   {l}"));
                        }
                    }
                }
                _ => {
                    let longest = p
                        .text
                        .split('\n')
                        .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
                        .max()
                        .unwrap_or(0);
                    let fence = "`".repeat(longest.max(2) + 1);
                    self.line(&format!("{fence}{{=rst}}"));
                    for l in p.text.split('\n') {
                        self.line(l);
                    }
                    self.line(&fence);
                }
            }
        }
        self.blank();
    }

    fn block(&mut self, block: Block) {
        let c = self.checklist;
        match block {
            Block::Thresholds => {
                let rows: Vec<Vec<String>> = c.thresholds.iter().map(threshold_row).collect();
                self.table(&["Metric", "Current", "Threshold", "Action"], &rows);
            }
            Block::SignOff => {
                let rows: Vec<Vec<String>> = c
                    .sign_off
                    .iter()
                    .map(|s| {
                        let f = |v: &Option<String>| v.clone().unwrap_or_default();
                        vec![s.role.clone(), f(&s.name), f(&s.date), f(&s.signature)]
                    })
                    .collect();
                self.table(&["Role", "Name", "Date", "Signature"], &rows);
            }
            Block::KeyMetrics => {
                self.line("Key metrics to monitor:");
                self.blank();
                let items: Vec<String> = c.key_metrics.clone();
                self.bullets(&items);
            }
            Block::AlertRules => {
                self.line("Recommended alerting rules:");
                self.blank();
                let items: Vec<String> = c.alert_rules.iter().map(alert_rule_text).collect();
                self.bullets(&items);
            }
            Block::Rollback => {
                for step in &c.rollback {
                    self.step(step);
                }
            }
        }
    }

    fn bullets(&mut self, items: &[String]) {
        // In Markdown a `-` list right before the items would read as the same list.
        let mark = match self.syntax {
            Syntax::Rst => '*',
            Syntax::Markdown if self.dash_follows => '*',
            Syntax::Markdown => '-',
        };
        for item in items {
            let item = self.bullet_text(mark, item);
            self.line(&format!("{mark} {item}"));
        }
        self.blank();
    }

    /// A bullet's text, escaped when after its bullet it would read as something else (a
    /// checklist item, a nested list, a heading): a key metric `- [ ] x` read from rST is no
    /// item there, but would be one in Markdown.
    fn bullet_text<'t>(&self, mark: char, text: &'t str) -> std::borrow::Cow<'t, str> {
        let line = format!("{mark} {text}\n");
        let reads_back = |blocks: Result<Vec<super::lex::Block>, _>| matches!(blocks.as_deref(), Ok([super::lex::Block::Bullets { items, .. }]) if items.len() == 1 && items[0] == text);
        match self.syntax {
            Syntax::Rst if !reads_back(super::lex::lex(&line)) => escape_rst_line(text).into(),
            Syntax::Markdown if !reads_back(super::markdown::lex(&line)) => {
                super::markdown::escape_paragraph(text).into_owned().into()
            }
            _ => text.into(),
        }
    }

    fn step(&mut self, step: &RollbackStep) {
        let marker = format!("{}. ", step.order);
        let pad = " ".repeat(marker.len());
        self.line(&format!("{marker}**{}:**", step.title));
        self.blank();
        if let Some(code) = &step.command {
            match self.syntax {
                Syntax::Rst => {
                    match &step.language {
                        Some(lang) => self.line(&format!("{pad}.. code-block:: {lang}")),
                        None => self.line(&format!("{pad}.. code-block::")),
                    }
                    self.blank();
                    for l in code.split('\n') {
                        if super::lex::md_blank(l) {
                            self.blank();
                        } else {
                            self.line(&format!("{pad}   {l}"));
                        }
                    }
                    self.blank();
                }
                Syntax::Markdown => {
                    // A backtick fence cannot carry a language with a backtick: use tildes then.
                    let c = if step.language.as_deref().is_some_and(|l| l.contains('`')) { '~' } else { '`' };
                    let longest = code
                        .split('\n')
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && l.chars().all(|x| x == c))
                        .map(|l| l.chars().count())
                        .max()
                        .unwrap_or(0);
                    let fence = c.to_string().repeat(longest.max(2) + 1);
                    self.line(&format!("{pad}{fence}{}", step.language.as_deref().unwrap_or("")));
                    for l in code.split('\n') {
                        if super::lex::md_blank(l) {
                            self.blank();
                        } else {
                            self.line(&format!("{pad}{l}"));
                        }
                    }
                    self.line(&format!("{pad}{fence}"));
                    self.blank();
                }
            }
        }
        if !step.actions.is_empty() {
            for a in &step.actions {
                let a = self.bullet_text('-', a);
                self.line(&format!("{pad}- {a}"));
            }
            self.blank();
        }
    }

    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let syntax = self.syntax;
        let escape = |s: &str| match syntax {
            Syntax::Rst => s.to_string(),
            Syntax::Markdown => s.replace('|', "\\|"),
        };
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| escape(c)).collect()).collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|k| rows.iter().map(|r| r[k].chars().count()).chain([header[k].chars().count()]).max().unwrap_or(0))
            .collect();
        let row_line = |cells: &[String]| {
            let mut s = String::from("|");
            for (cell, w) in cells.iter().zip(&widths) {
                let _ = write!(s, " {cell}{} |", " ".repeat(w - cell.chars().count()));
            }
            s
        };
        let border = |c: char| {
            let mut s = String::new();
            let (corner, fill) = match syntax {
                Syntax::Rst => ('+', c),
                _ => ('|', '-'),
            };
            s.push(corner);
            for w in &widths {
                s.push_str(&fill.to_string().repeat(w + 2));
                s.push(corner);
            }
            s
        };
        match self.syntax {
            Syntax::Rst => {
                self.line(&border('-'));
                self.line(&row_line(&header));
                self.line(&border('='));
                for r in &rows {
                    self.line(&row_line(r));
                    self.line(&border('-'));
                }
            }
            Syntax::Markdown => {
                self.line(&row_line(&header));
                self.line(&border('-'));
                for r in &rows {
                    self.line(&row_line(r));
                }
            }
        }
        self.blank();
    }
}

/// A paragraph (written in Markdown, say) whose lines would read as lists, tables, directives or
/// section adornments in rST gets those lines escaped, so that it reads back as one paragraph.
fn escape_rst_paragraph(p: &str) -> std::borrow::Cow<'_, str> {
    if matches!(super::lex::lex(p).as_deref(), Ok([super::lex::Block::Paragraph { text, .. }]) if text == p) {
        return p.into();
    }
    p.lines()
        .map(|l| {
            let t = l.trim();
            if super::lex::rst_plain_line(t) { t.to_string() } else { escape_rst_line(t) }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

/// A line that would read as a list, a table, a directive or an adornment in rST, escaped with a
/// backslash; a line of backslashes (an adornment with one more) gets an escaped space (nothing,
/// in rST) in front instead, which breaks the run.
fn escape_rst_line(t: &str) -> String {
    let escaped = format!("\\{t}");
    if super::lex::rst_plain_line(&escaped) { escaped } else { format!("\\ {t}") }
}

/// Whether a line of an item's body reads as a child item or an attribute field in rST.
fn rst_body_syntax(line: &str) -> bool {
    super::lex::checkbox_line(line)
        || super::attrs::rst_field(line.trim_end(), super::lex::Pos { line: 1, column: 1 }).is_some()
}

fn threshold_row(t: &Threshold) -> Vec<String> {
    let (better, worse) = match t.direction {
        Direction::Ceiling => ("<", ">"),
        Direction::Floor => (">", "<"),
    };
    vec![
        t.metric.clone(),
        format!("{better} {}", quantity(t.healthy, t.unit)),
        format!("{worse} {}", quantity(t.breach, t.unit)),
        t.action.clone(),
    ]
}
