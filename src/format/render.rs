//! Renders a [`Checklist`] back into reStructuredText or Markdown, with tables and steps in the
//! sections that held them.

use std::fmt::Write as _;

use super::Syntax;
use super::values::{alert_rule_text, quantity};
use crate::model::{Block, Checklist, Direction, RollbackStep, Section, Threshold, slugify};

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
}

/// Renders the whole document.
pub(crate) fn render(checklist: &Checklist, syntax: Syntax) -> String {
    let mut r = Renderer { checklist, syntax, out: String::new() };
    r.document();
    r.out
}

impl Renderer<'_> {
    fn document(&mut self) {
        let c = self.checklist;
        if c.id != default_id(&c.title) {
            match self.syntax {
                Syntax::Rst => self.line(&format!(".. _{}:", c.id)),
                Syntax::Markdown => self.line(&format!("<a id=\"{}\"></a>", c.id)),
            }
            self.blank();
        }
        self.heading(0, &c.title);
        if let Some(d) = &c.description {
            self.paragraphs(d);
        }
        for s in &c.sections {
            self.section(s, 1);
        }
        // Blocks that no section shows (a checklist built in code) get a section of their own.
        let placed: Vec<Block> = c.all_sections().iter().flat_map(|s| s.blocks.iter().copied()).collect();
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

    fn heading(&mut self, level: usize, text: &str) {
        match self.syntax {
            Syntax::Rst => {
                let c = RST_ADORNMENTS[level.min(RST_ADORNMENTS.len() - 1)];
                let width = text.chars().count().max(3);
                self.line(text);
                self.line(&c.to_string().repeat(width));
            }
            Syntax::Markdown => self.line(&format!("{} {text}", "#".repeat(level + 1))),
        }
        self.blank();
    }

    fn paragraphs(&mut self, text: &str) {
        for p in text.split("\n\n") {
            self.line(p);
            self.blank();
        }
    }

    fn section(&mut self, s: &Section, level: usize) {
        self.heading(level, &s.title);
        if let Some(d) = &s.description {
            self.paragraphs(d);
        }
        if !s.items.is_empty() {
            for item in &s.items {
                let mark = if item.checked { "x" } else { " " };
                self.line(&format!("- [{mark}] {}", item.display_title()));
            }
            self.blank();
        }
        for block in &s.blocks {
            self.block(*block);
        }
        for child in &s.sections {
            self.section(child, level + 1);
        }
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
        let mark = match self.syntax {
            Syntax::Rst => '*',
            Syntax::Markdown => '-',
        };
        for item in items {
            self.line(&format!("{mark} {item}"));
        }
        self.blank();
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
                        if l.trim().is_empty() {
                            self.blank();
                        } else {
                            self.line(&format!("{pad}   {l}"));
                        }
                    }
                    self.blank();
                }
                Syntax::Markdown => {
                    let longest = code
                        .split('\n')
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && l.chars().all(|c| c == '`'))
                        .map(|l| l.chars().count())
                        .max()
                        .unwrap_or(0);
                    let fence = "`".repeat(longest.max(2) + 1);
                    self.line(&format!("{pad}{fence}{}", step.language.as_deref().unwrap_or("")));
                    for l in code.split('\n') {
                        if l.trim().is_empty() {
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
                Syntax::Markdown => ('|', '-'),
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
