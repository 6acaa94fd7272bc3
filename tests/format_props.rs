//! Property tests: generated checklist documents, in Markdown and reStructuredText, with items
//! nested up to three deep, attributes, descriptions and content the model keeps verbatim, parse
//! with every item, render, and read back to the same checklist in both syntaxes.

use nexus_readiness::format::{self, Syntax};
use nexus_readiness::model::Checklist;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "backups",
    "restored",
    "TLS",
    "certificates",
    "valid",
    "`kubectl`",
    "dashboards",
    "on-call",
    "**rotation**",
    "alerts",
    "quota",
    "(staging)",
    "GPU",
    "nodes",
    "drained",
    "canary",
    "rollout",
    "v2.1",
    "owner's",
    "sign-off",
];

#[derive(Clone, Debug)]
struct GenItem {
    checked: bool,
    words: Vec<usize>,
    severity: Option<usize>,
    tags: Vec<usize>,
    description: Option<Vec<usize>>,
    children: Vec<GenItem>,
}

#[derive(Clone, Debug)]
enum GenBlock {
    Items(Vec<GenItem>),
    Paragraph(Vec<usize>),
    Code(Vec<usize>),
    Plain(Vec<Vec<usize>>),
    Table(usize),
}

#[derive(Clone, Debug)]
struct GenSection {
    title: Vec<usize>,
    blocks: Vec<GenBlock>,
    children: Vec<GenSection>,
}

#[derive(Clone, Debug)]
struct GenDoc {
    title: Option<Vec<usize>>,
    front_matter: bool,
    preamble: Vec<GenBlock>,
    sections: Vec<GenSection>,
}

fn words() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..WORDS.len(), 1..5)
}

fn item(depth: u32) -> BoxedStrategy<GenItem> {
    let leaf = (
        any::<bool>(),
        words(),
        prop::option::of(0..4usize),
        prop::collection::vec(0..WORDS.len(), 0..3),
        prop::option::of(words()),
    );
    if depth == 0 {
        leaf.prop_map(|(checked, words, severity, tags, description)| GenItem {
            checked,
            words,
            severity,
            tags,
            description,
            children: Vec::new(),
        })
        .boxed()
    } else {
        (leaf, prop::collection::vec(item(depth - 1), 0..3))
            .prop_map(|((checked, words, severity, tags, description), children)| GenItem {
                checked,
                words,
                severity,
                tags,
                description,
                children,
            })
            .boxed()
    }
}

fn block() -> impl Strategy<Value = GenBlock> {
    prop_oneof![
        3 => prop::collection::vec(item(2), 1..4).prop_map(GenBlock::Items),
        1 => words().prop_map(GenBlock::Paragraph),
        1 => words().prop_map(GenBlock::Code),
        1 => prop::collection::vec(words(), 1..3).prop_map(GenBlock::Plain),
        1 => (1..3usize).prop_map(GenBlock::Table),
    ]
}

fn section(depth: u32) -> BoxedStrategy<GenSection> {
    let own = (words(), prop::collection::vec(block(), 0..4));
    if depth == 0 {
        own.prop_map(|(title, blocks)| GenSection { title, blocks, children: Vec::new() }).boxed()
    } else {
        (own, prop::collection::vec(section(depth - 1), 0..3))
            .prop_map(|((title, blocks), children)| GenSection { title, blocks, children })
            .boxed()
    }
}

fn doc() -> impl Strategy<Value = GenDoc> {
    (
        prop::option::of(words()),
        any::<bool>(),
        prop::collection::vec(block(), 0..3),
        prop::collection::vec(section(1), 0..4),
    )
        .prop_map(|(title, front_matter, preamble, sections)| GenDoc { title, front_matter, preamble, sections })
}

/// Writes a generated document; every item title gets a serial number so that ids are unique.
struct Writer {
    syntax: Syntax,
    out: String,
    serial: usize,
    items: usize,
}

impl Writer {
    fn text(&self, w: &[usize]) -> String {
        w.iter().map(|&k| WORDS[k]).collect::<Vec<_>>().join(" ")
    }

    fn heading(&mut self, level: usize, text: &str) {
        match self.syntax {
            Syntax::Markdown => self.out.push_str(&format!("{} {text}\n\n", "#".repeat(level + 1))),
            _ => {
                let c = ['=', '-', '~', '^'][level];
                self.out.push_str(&format!("{text}\n{}\n\n", c.to_string().repeat(text.chars().count().max(3))));
            }
        }
    }

    fn item(&mut self, it: &GenItem, depth: usize) {
        self.serial += 1;
        self.items += 1;
        let pad = "  ".repeat(depth);
        let inner = "  ".repeat(depth + 1);
        let mark = if it.checked { "x" } else { " " };
        let title = format!("Check {} {}", self.serial, self.text(&it.words));
        let mut attrs = Vec::new();
        if let Some(s) = it.severity {
            attrs.push(format!("severity={}", ["blocker", "critical", "major", "minor"][s]));
        }
        if !it.tags.is_empty() {
            let tags: Vec<String> = it.tags.iter().map(|&t| format!("t{t}")).collect();
            attrs.push(format!("tags={}", tags.join(",")));
        }
        match self.syntax {
            Syntax::Markdown => {
                let a = if attrs.is_empty() { String::new() } else { format!(" {{{}}}", attrs.join(" ")) };
                self.out.push_str(&format!("{pad}- [{mark}] {title}{a}\n"));
            }
            _ => {
                self.out.push_str(&format!("{pad}- [{mark}] {title}\n"));
                if !attrs.is_empty() {
                    self.out.push('\n');
                    for a in &attrs {
                        let (k, v) = a.split_once('=').unwrap();
                        self.out.push_str(&format!("{inner}:{k}: {v}\n"));
                    }
                }
            }
        }
        if let Some(d) = &it.description {
            self.out.push_str(&format!("\n{inner}Note: {}\n\n", self.text(d)));
        }
        if !it.children.is_empty() {
            self.out.push('\n');
            for c in &it.children {
                self.item(c, depth + 1);
            }
            self.out.push('\n');
        }
    }

    fn block(&mut self, b: &GenBlock) {
        match b {
            GenBlock::Items(items) => {
                for it in items {
                    self.item(it, 0);
                }
            }
            GenBlock::Paragraph(w) => self.out.push_str(&format!("Some text about {}.\n", self.text(w))),
            GenBlock::Code(w) => match self.syntax {
                Syntax::Markdown => self.out.push_str(&format!("```sh\necho {}\n```\n", self.text(w))),
                _ => self.out.push_str(&format!(".. code-block:: sh\n\n   echo {}\n", self.text(w))),
            },
            GenBlock::Plain(lines) => {
                for l in lines {
                    self.out.push_str(&format!("* plain {}\n", self.text(l)));
                }
            }
            GenBlock::Table(rows) => {
                self.out.push_str("| Area | Owner |\n|------|-------|\n");
                for r in 0..*rows {
                    self.out.push_str(&format!("| a{r}   | o{r}    |\n"));
                }
            }
        }
        self.out.push('\n');
    }

    fn section(&mut self, s: &GenSection, level: usize) {
        self.serial += 1;
        let title = format!("Part {} {}", self.serial, self.text(&s.title));
        self.heading(level, &title);
        for b in &s.blocks {
            self.block(b);
        }
        for c in &s.children {
            self.section(c, level + 1);
        }
    }

    fn document(syntax: Syntax, d: &GenDoc) -> (String, usize) {
        let mut w = Writer { syntax, out: String::new(), serial: 0, items: 0 };
        if d.front_matter && syntax == Syntax::Markdown {
            w.out.push_str("---\nowner: team\n---\n\n");
        }
        // Sections sit one level below a title; without one they are top-level headings.
        let base = match &d.title {
            Some(t) => {
                let t = format!("Doc {}", w.text(t));
                w.heading(0, &t);
                1
            }
            None => 0,
        };
        for b in &d.preamble {
            w.block(b);
        }
        for s in &d.sections {
            w.section(s, base);
        }
        let items = w.items;
        (w.out, items)
    }
}

fn check(text: &str, syntax: Syntax, expected_items: usize) -> Result<(), TestCaseError> {
    let c = format::parse(text, syntax).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(c.items().count(), expected_items, "{}", text);
    let rendered = format::render(&c, syntax);
    let again = format::parse(&rendered, syntax).map_err(|e| TestCaseError::fail(format!("{e}\n{rendered}")))?;
    prop_assert_eq!(&again, &c, "{}", rendered);
    prop_assert_eq!(format::render(&again, syntax), rendered.clone());
    let other = if syntax == Syntax::Markdown { Syntax::Rst } else { Syntax::Markdown };
    let there = format::render(&c, other);
    let c2 = format::parse(&there, other).map_err(|e| TestCaseError::fail(format!("{e}\n{there}")))?;
    let back = format::parse(&format::render(&c2, syntax), syntax).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let items = |c: &Checklist| c.items().cloned().collect::<Vec<_>>();
    prop_assert_eq!(items(&c2), items(&c), "{}", there);
    prop_assert_eq!(items(&back), items(&c));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_markdown_documents_round_trip(d in doc()) {
        let (text, n) = Writer::document(Syntax::Markdown, &d);
        check(&text, Syntax::Markdown, n)?;
    }

    #[test]
    fn generated_rst_documents_round_trip(d in doc()) {
        let (text, n) = Writer::document(Syntax::Rst, &d);
        check(&text, Syntax::Rst, n)?;
    }
}

/// Edits that make Markdown and reStructuredText ambiguous: indentation with tabs and spaces,
/// lazy lines, list markers, checkboxes, quotes, fences, comments, table bars, control characters.
const EDITS: &[&str] = &[
    "\t",
    " ",
    "   ",
    "    ",
    "\n",
    "\n\n",
    "\n ",
    "\n   ",
    "- ",
    "* ",
    "+\t",
    "1. ",
    "2) ",
    "- [ ] ",
    "[x] ",
    "> ",
    "```",
    "~~~",
    "<!--",
    "-->",
    "<div>",
    "|",
    "|---|",
    "#",
    "## ",
    "===",
    "---",
    ".. ",
    "::",
    ":tags: a",
    "{#x}",
    "{severity=blocker}",
    "\u{b}",
    "\0",
    "\\",
    "**",
    "`",
];

/// Corpus document `k` with `edits` applied: (position as a fraction of the length, edit).
fn mutated(k: usize, edits: &[(f64, usize)]) -> (String, Syntax) {
    let (name, source) = CORPUS[k % CORPUS.len()];
    let mut text = source.to_string();
    for &(at, e) in edits {
        let mut i = ((text.len() as f64) * at) as usize;
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        text.insert_str(i, EDITS[e % EDITS.len()]);
    }
    (text, if name.ends_with(".rst") { Syntax::Rst } else { Syntax::Markdown })
}

const CORPUS: &[(&str, &str)] = &[
    ("01", include_str!("fixtures/documents/01-task-list-under-title.md")),
    ("02", include_str!("fixtures/documents/02-no-title.md")),
    ("03", include_str!("fixtures/documents/03-pr-template.md")),
    ("04", include_str!("fixtures/documents/04-nested-three-deep.md")),
    ("05", include_str!("fixtures/documents/05-code-blocks.md")),
    ("06", include_str!("fixtures/documents/06-tables.md")),
    ("07", include_str!("fixtures/documents/07-front-matter.md")),
    ("10", include_str!("fixtures/documents/10-attributes.md")),
    ("11", include_str!("fixtures/documents/11-launch-checklist.md")),
    ("12.rst", include_str!("fixtures/documents/12-release.rst")),
    ("13.rst", include_str!("fixtures/documents/13-security.rst")),
    ("14.rst", include_str!("fixtures/documents/14-runbook.rst")),
];

/// Whatever a parser accepts reads back as the same checklist: rendered in its syntax it parses to
/// an equal checklist, and rendered in the other it parses to the same items.
fn accepted_reads_back(text: &str, syntax: Syntax) -> Result<(), TestCaseError> {
    let Ok(c) = format::parse(text, syntax) else { return Ok(()) };
    let rendered = format::render(&c, syntax);
    let again = format::parse(&rendered, syntax).map_err(|e| TestCaseError::fail(format!("{e}\n{rendered}")))?;
    prop_assert_eq!(&again, &c, "{}", rendered);
    let other = if syntax == Syntax::Markdown { Syntax::Rst } else { Syntax::Markdown };
    let there = format::render(&c, other);
    let c2 = format::parse(&there, other).map_err(|e| TestCaseError::fail(format!("{e}\n{there}")))?;
    // Ids, titles and attributes (a description may read back with escapes in the other syntax).
    let items = |c: &Checklist| {
        c.items()
            .map(|i| {
                let (id, title, severity, phase) = (&i.id, &i.title, i.severity, i.phase);
                let (v, tags, after, parent, a) = (i.verification, &i.tags, &i.after, &i.parent, i.applicability);
                format!("{id} {title:?} {} {severity:?} {phase:?} {v:?} {tags:?} {after:?} {parent:?} {a:?}", i.checked)
            })
            .collect::<Vec<_>>()
    };
    prop_assert_eq!(items(&c2), items(&c), "{}", there);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Corpus documents with ambiguous edits, read in both syntaxes: a document is accepted only
    /// when it reads back the same (the parser refuses, with a position, what would not).
    #[test]
    fn edited_documents_are_refused_or_read_back(
        k in 0..CORPUS.len(),
        edits in prop::collection::vec((0.0f64..1.0, 0usize..64), 1..6),
    ) {
        let (text, syntax) = mutated(k, &edits);
        accepted_reads_back(&text, syntax)?;
        let other = if syntax == Syntax::Markdown { Syntax::Rst } else { Syntax::Markdown };
        accepted_reads_back(&text, other)?;
    }
}
