//! Markdown lexer on top of pulldown-cmark (CommonMark + GFM task lists and tables, front
//! matter): turns the document into the same blocks as the reStructuredText lexer, keeping
//! what it does not interpret as verbatim source slices.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::attrs::Spanned;
use super::lex::{Block, Cell, Code, Pos, Step, Table, code_text, step_title, verbatim_lines};
use super::{FormatError, Syntax};

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Paragraph,
    Heading(usize),
    BlockQuote,
    Code { fenced: bool, lang: String },
    Html,
    List { ordered: bool },
    Item,
    Table,
    Row,
    Cell,
    Rule,
    Metadata,
    Other,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    range: Range<usize>,
    children: Vec<Node>,
    /// Source range of the inline content (paragraphs, headings, cells).
    inline: Option<Range<usize>>,
    /// Task list marker of an item: checked, and the marker's range.
    task: Option<(bool, Range<usize>)>,
    /// Text of a code or metadata block.
    text: String,
    /// Whether this paragraph was opened for a tight list item's text.
    implicit: bool,
}

impl Node {
    fn new(kind: Kind, range: Range<usize>) -> Self {
        Node { kind, range, children: Vec::new(), inline: None, task: None, text: String::new(), implicit: false }
    }

    fn has_task(&self) -> bool {
        self.task.is_some() || self.children.iter().any(Node::has_task)
    }
}

fn kind_of(tag: &Tag<'_>) -> Option<Kind> {
    Some(match tag {
        Tag::Paragraph => Kind::Paragraph,
        Tag::Heading { level, .. } => Kind::Heading(*level as usize),
        Tag::BlockQuote(_) => Kind::BlockQuote,
        Tag::CodeBlock(CodeBlockKind::Fenced(lang)) => Kind::Code { fenced: true, lang: lang.to_string() },
        Tag::CodeBlock(CodeBlockKind::Indented) => Kind::Code { fenced: false, lang: String::new() },
        Tag::HtmlBlock => Kind::Html,
        Tag::List(start) => Kind::List { ordered: start.is_some() },
        Tag::Item => Kind::Item,
        Tag::Table(_) => Kind::Table,
        Tag::TableHead | Tag::TableRow => Kind::Row,
        Tag::TableCell => Kind::Cell,
        Tag::MetadataBlock(_) => Kind::Metadata,
        Tag::FootnoteDefinition(_) | Tag::DefinitionList | Tag::DefinitionListTitle | Tag::DefinitionListDefinition => {
            Kind::Other
        }
        _ => return None,
    })
}

fn is_block_end(tag: &TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::HtmlBlock
            | TagEnd::List(_)
            | TagEnd::Item
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell
            | TagEnd::MetadataBlock(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
    )
}

fn widen(r: &mut Option<Range<usize>>, by: &Range<usize>) {
    match r {
        Some(r) => {
            r.start = r.start.min(by.start);
            r.end = r.end.max(by.end);
        }
        None => *r = Some(by.clone()),
    }
}

/// Builds the block tree from pulldown-cmark's events.
fn tree(text: &str) -> Vec<Node> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut stack: Vec<Node> = vec![Node::new(Kind::Other, 0..text.len())];
    fn close(stack: &mut Vec<Node>) {
        if let Some(mut node) = stack.pop()
            && let Some(parent) = stack.last_mut()
        {
            // A list's range may run past its last item over link reference definitions that
            // follow it (pulldown-cmark reads them while looking for more items): they are not
            // the list's, and read as their own text, the same whether a blank line follows
            // the list or not.
            if node.kind.is_list()
                && let Some(last) = node.children.last()
            {
                node.range.end = node.range.end.min(last.range.end);
            }
            parent.children.push(node);
        }
    }
    fn close_implicit(stack: &mut Vec<Node>) {
        if stack.last().is_some_and(|n| n.implicit) {
            let mut node = stack.pop().expect("checked");
            if let Some(r) = &node.inline {
                node.range = r.clone();
            }
            if let Some(parent) = stack.last_mut() {
                parent.children.push(node);
            }
        }
    }
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if let Some(kind) = kind_of(&tag) {
                    close_implicit(&mut stack);
                    stack.push(Node::new(kind, range));
                } else {
                    inline(&mut stack, &range);
                }
            }
            Event::End(tag) => {
                if is_block_end(&tag) {
                    close_implicit(&mut stack);
                    close(&mut stack);
                }
            }
            Event::Rule => {
                close_implicit(&mut stack);
                if let Some(top) = stack.last_mut() {
                    top.children.push(Node::new(Kind::Rule, range));
                }
            }
            Event::TaskListMarker(checked) => {
                inline(&mut stack, &range);
                if let Some(item) = stack.iter_mut().rev().find(|n| n.kind == Kind::Item) {
                    item.task = Some((checked, range));
                }
            }
            Event::Text(t) | Event::Html(t)
                if stack.last().is_some_and(|n| matches!(n.kind, Kind::Code { .. } | Kind::Metadata | Kind::Html)) =>
            {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Event::Text(_) if range.start > 0 && text.as_bytes()[range.start - 1] == b'\\' => {
                // A backslash escape (`\|`, `\\`): the event starts after the backslash, which is
                // part of the source text all the same.
                inline(&mut stack, &(range.start - 1..range.end));
            }
            _ => inline(&mut stack, &range),
        }
    }
    close_implicit(&mut stack);
    while stack.len() > 1 {
        close(&mut stack);
    }
    stack.pop().map(|n| n.children).unwrap_or_default()
}

/// Records an inline event: it widens the inline range of the innermost block, opening an
/// implicit paragraph for a tight list item's text.
fn inline(stack: &mut Vec<Node>, range: &Range<usize>) {
    if stack.last().is_some_and(|n| n.kind == Kind::Item) {
        let mut p = Node::new(Kind::Paragraph, range.clone());
        p.implicit = true;
        stack.push(p);
    }
    if let Some(top) = stack.last_mut() {
        widen(&mut top.inline, range);
    }
}

struct Lexer<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
    out: Vec<Block>,
}

/// Lexes a Markdown document (already without BOM and with `\n` line ends).
pub(crate) fn lex(src: &str) -> Result<Vec<Block>, FormatError> {
    let mut line_starts = vec![0];
    line_starts.extend(src.match_indices('\n').map(|(k, _)| k + 1));
    let mut lexer = Lexer { src, line_starts, out: Vec::new() };
    let nodes = tree(src);
    lexer.top(&nodes)?;
    Ok(lexer.out)
}

/// A piece of list content: an item, or source text that is not one.
enum Piece {
    Item(Block),
    Text(Range<usize>),
}

impl Lexer<'_> {
    /// `src[from..to]`, empty when the range is reversed or out of bounds.
    fn slice(&self, from: usize, to: usize) -> &str {
        self.src.get(from..to).unwrap_or("")
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.line_starts[line];
        let column = self.src.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        Pos { line: line + 1, column }
    }

    fn line_start(&self, offset: usize) -> usize {
        self.line_starts[self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1)]
    }

    /// 0-based column of a byte offset, in characters.
    fn column(&self, offset: usize) -> usize {
        self.pos(offset).column - 1
    }

    /// The source of `range`, whole lines, each without up to `strip` leading spaces of its
    /// container's indentation, without trailing blank lines.
    fn verbatim(&self, range: &Range<usize>, strip: usize) -> String {
        let ls = self.line_start(range.start);
        let start = if self.slice(ls, range.start).chars().all(|c| c == ' ' || c == '\t') { ls } else { range.start };
        let slice = self.slice(start, range.end.min(self.src.len()));
        let mut out = String::with_capacity(slice.len());
        for (k, line) in slice.split('\n').enumerate() {
            if k > 0 {
                out.push('\n');
            }
            let cut =
                if k == 0 && start != ls { 0 } else { line.chars().take(strip).take_while(|&c| c == ' ').count() };
            out.push_str(&line[cut..]);
        }
        // Trailing blank lines and spaces go (a hard line break's trailing spaces are kept only
        // inside the text); a tab right after the last line's text stays: it can decide what
        // that line is (a table's delimiter row `|-\t` is none without it).
        let core = out.trim_end_matches([' ', '\t', '\n']);
        let tail = out[core.len()..].split('\n').next().unwrap_or("");
        let keep = if tail.contains('\t') { tail.trim_end_matches(' ') } else { "" };
        format!("{core}{keep}")
    }

    fn gap(&mut self, from: usize, to: usize) {
        if from < to && !self.slice(from, to).trim().is_empty() {
            let text = self.verbatim(&(from..to), 0);
            let text = text.trim_start_matches('\n').to_string();
            let lead = self.slice(from, to).len() - self.slice(from, to).trim_start_matches([' ', '\t', '\n']).len();
            self.tight(from + lead);
            self.out.push(Block::Opaque { syntax: Syntax::Markdown, text });
        }
    }

    fn top(&mut self, nodes: &[Node]) -> Result<(), FormatError> {
        let mut cursor = 0;
        for node in nodes {
            self.gap(cursor, node.range.start);
            self.tight(node.range.start);
            self.block(node)?;
            cursor = cursor.max(node.range.end);
        }
        self.gap(cursor, self.src.len());
        Ok(())
    }

    /// Marks that the block starting at `start` follows earlier content with no blank line
    /// between them.
    fn tight(&mut self, start: usize) {
        let before = self.slice(0, start);
        let core = before.trim_end_matches([' ', '\t', '\n']);
        if !core.is_empty() && before[core.len()..].matches('\n').count() <= 1 {
            self.out.push(Block::Tight);
        }
    }

    /// The indentation of a top-level block (none for indented code, whose indentation is
    /// meaningful).
    fn top_strip(&self, node: &Node) -> usize {
        match node.kind {
            // A paragraph's continuation lines keep their indentation: with less of it, a line
            // could start a list or a heading instead of continuing the paragraph.
            Kind::Code { fenced: false, .. } | Kind::Paragraph => 0,
            _ => self.strip_for(&node.range),
        }
    }

    /// How much indentation text at `range` loses when kept verbatim: its column, but no more
    /// than every later line has, so that a line with less (a lazy line, an item at column 0
    /// after one at column 1) keeps its place relative to the others.
    fn strip_for(&self, range: &Range<usize>) -> usize {
        let end = range.end.min(self.src.len());
        let least = self
            .slice(self.line_start(range.start), end)
            .split('\n')
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.chars().take_while(|&c| c == ' ').count())
            .min();
        let indent = self.indent_at(range.start);
        least.map_or(indent, |l| l.min(indent))
    }

    /// The indentation of the block starting at `offset`: its column, or the leading spaces of
    /// its line when the range starts before them.
    fn indent_at(&self, offset: usize) -> usize {
        let ls = self.line_start(offset);
        let lead = self.slice(ls, self.src.len()).chars().take_while(|&c| c == ' ').count();
        if self.slice(ls, offset).chars().all(|c| c == ' ') {
            lead.max(self.column(offset)).min(lead)
        } else {
            self.column(offset)
        }
    }

    /// A top-level block kept verbatim, without its own indentation (up to 3 spaces, which
    /// CommonMark ignores) so that it cannot read as part of an item rendered before it.
    ///
    /// An indented code block, or an indented fence, becomes a fence at the margin: rendered after
    /// an item, its indentation would make it part of the item.
    fn opaque(&mut self, node: &Node) {
        let text = match &node.kind {
            Kind::Code { fenced, lang } if !fenced || self.indent_at(node.range.start) > 0 => {
                let code = node.text.trim_end_matches('\n');
                let c = if lang.contains('`') { '~' } else { '`' };
                let longest = code.lines().map(|l| l.trim_start().chars().take_while(|&x| x == c).count()).max();
                let fence = c.to_string().repeat(longest.unwrap_or(0).max(2) + 1);
                format!("{fence}{}\n{code}\n{fence}", lang.trim())
            }
            _ => self.verbatim(&node.range, self.top_strip(node)),
        };
        self.out.push(Block::Opaque { syntax: Syntax::Markdown, text });
    }

    /// The inline source of a node, its lines trimmed and joined with a space.
    fn inline_text(&self, node: &Node, from: Option<usize>) -> Spanned {
        let mut s = Spanned::default();
        let Some(r) = &node.inline else { return s };
        let start = from.unwrap_or(r.start).min(r.end);
        let mut offset = start;
        for line in self.slice(start, r.end).split('\n') {
            let lead = line.len() - line.trim_start().len();
            let piece = line.trim();
            if !piece.is_empty() {
                if !s.text.is_empty() {
                    s.push_sep(" ");
                }
                s.push(piece, self.pos(offset + lead));
            }
            offset += line.len() + 1;
        }
        s
    }

    fn block(&mut self, node: &Node) -> Result<(), FormatError> {
        let pos = self.pos(node.range.start);
        match &node.kind {
            Kind::Heading(level) => {
                let text = self.inline_text(node, None).text;
                if text.is_empty() {
                    self.opaque(node);
                } else {
                    self.out.push(Block::Heading { level: level - 1, text, pos });
                }
            }
            Kind::Paragraph | Kind::Html => {
                let text = self.verbatim(&node.range, self.top_strip(node));
                let text = if node.kind == Kind::Paragraph { text.trim_start_matches(' ').to_string() } else { text };
                if let Some(name) = label(&text) {
                    self.out.push(Block::Label { name: name.to_string(), pos });
                } else if node.kind == Kind::Paragraph {
                    self.out.push(Block::Paragraph { text, pos });
                } else {
                    self.out.push(Block::Opaque { syntax: Syntax::Markdown, text });
                }
            }
            Kind::Code { fenced: true, lang } if lang.trim() == "{=rst}" => {
                // As written: a `.. raw:: markdown` block in it may hold Markdown whose meaning
                // hangs on a trailing tab.
                let text = verbatim_lines(node.text.split('\n'));
                if super::lex::has_item(&text) {
                    return Err(pos
                        .error("checklist item inside a raw reStructuredText block: it would not be read as an item"));
                }
                // Unwrapped in reStructuredText, a heading, a label or a table the model reads
                // would change the document: such a block stays a code block.
                if super::stays_verbatim(&text, Syntax::Rst) {
                    self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
                } else {
                    self.opaque(node);
                }
            }
            Kind::List { ordered } => {
                // `- [ ]` with nothing after it reads as a task or not depending on what follows:
                // either way it has no title to make an item of.
                if let Some(at) = self.empty_box(node) {
                    return Err(self.pos(at).error("checklist item has no title"));
                }
                if node.has_task() {
                    let pieces = self.task_list(node, 0, 0)?;
                    let mut text: Option<Range<usize>> = None;
                    for piece in pieces {
                        match piece {
                            Piece::Text(r) => match &mut text {
                                Some(t) => t.end = r.end,
                                None => text = Some(r),
                            },
                            Piece::Item(b) => {
                                if let Some(r) = text.take() {
                                    self.list_text(node, *ordered, &r);
                                }
                                self.out.push(b);
                            }
                        }
                    }
                    if let Some(r) = text.take() {
                        self.list_text(node, *ordered, &r);
                    }
                } else if *ordered {
                    match self.steps(node) {
                        Some(steps) => {
                            let raw = self.verbatim(&node.range, self.top_strip(node));
                            self.out.push(Block::Steps { steps: steps.0, nexus_form: steps.1, raw });
                        }
                        None => self.opaque(node),
                    }
                } else {
                    match self.bullets(node) {
                        Some(items) => {
                            let raw = self.verbatim(&node.range, self.top_strip(node));
                            self.out.push(Block::Bullets { items, raw, pos });
                        }
                        None => self.opaque(node),
                    }
                }
            }
            Kind::Table => {
                let mut rows: Vec<Vec<Cell>> = node
                    .children
                    .iter()
                    .filter(|r| r.kind == Kind::Row)
                    .map(|r| {
                        r.children
                            .iter()
                            .map(|c| {
                                let raw = self.slice(c.range.start, c.range.end);
                                let lead = raw.len() - raw.trim_start().len();
                                let text = raw.trim().trim_matches('|').trim().replace("\\|", "|");
                                Cell { text, pos: self.pos(c.range.start + lead) }
                            })
                            .collect()
                    })
                    .collect();
                if rows.is_empty() {
                    self.opaque(node);
                } else {
                    let header = rows.remove(0);
                    // GFM: a short row gets empty cells, a long one loses the excess.
                    for row in &mut rows {
                        let at = row.last().map_or(pos, |c| c.pos);
                        row.resize_with(header.len(), || Cell { text: String::new(), pos: at });
                    }
                    let raw = self.verbatim(&node.range, self.top_strip(node));
                    self.out.push(Block::Table(Table { header, rows, raw }));
                }
            }
            Kind::BlockQuote | Kind::Other if node.has_task() => {
                return Err(
                    pos.error("checklist item inside a block quote: move it out of the quote to make it an item")
                );
            }
            _ => self.opaque(node),
        }
        Ok(())
    }

    /// The start of a list item, at any depth, whose text is a lone checkbox.
    fn empty_box(&self, node: &Node) -> Option<usize> {
        if node.kind == Kind::Item {
            let lone = match (&node.task, node.children.first()) {
                (Some(_), None) => true,
                (Some((_, marker)), Some(p)) => self.inline_text(p, Some(marker.end)).text.is_empty(),
                (None, Some(p)) if p.kind == Kind::Paragraph => {
                    matches!(self.inline_text(p, None).text.as_str(), "[ ]" | "[x]" | "[X]")
                }
                _ => false,
            };
            if lone {
                return Some(node.range.start);
            }
        }
        node.children.iter().find_map(|c| self.empty_box(c))
    }

    /// Text of a list holding task items, between its task items. Plain entries of a numbered
    /// list read as numbered steps, as they would in a list of their own (rendered back, they
    /// are one): under a heading naming a rollback they are its steps, elsewhere kept verbatim.
    fn list_text(&mut self, list: &Node, ordered: bool, r: &Range<usize>) {
        if ordered {
            let entries: Vec<&Node> =
                list.children.iter().filter(|i| i.range.start >= r.start && i.range.end <= r.end).collect();
            let whole = entries.first().is_some_and(|f| f.range.start == r.start)
                && entries.last().is_some_and(|l| l.range.end == r.end)
                && entries.iter().all(|i| i.task.is_none() && !i.has_task());
            if whole && let Some((steps, nexus_form)) = self.steps_of(entries.iter().copied()) {
                let raw = self.verbatim(r, self.strip_for(r));
                self.out.push(Block::Steps { steps, nexus_form, raw });
                return;
            }
        }
        self.text_piece(r);
    }

    fn text_piece(&mut self, r: &Range<usize>) {
        let text = self.verbatim(r, self.strip_for(r));
        if !text.trim().is_empty() {
            self.out.push(Block::Opaque { syntax: Syntax::Markdown, text });
        }
    }

    /// The items and other content of a list holding task items. `depth` is the number of task
    /// items around it; `strip` the indentation of the text container around it.
    fn task_list(&self, list: &Node, depth: usize, strip: usize) -> Result<Vec<Piece>, FormatError> {
        let mut out = Vec::new();
        for item in &list.children {
            if let Some((checked, marker)) = &item.task {
                out.extend(self.task_item(item, *checked, marker, depth, strip)?);
            } else if item.has_task() {
                // A plain item holding task items: its own text, then the task items.
                let mut cursor = item.range.start;
                for child in &item.children {
                    if child.kind.is_list() && child.has_task() {
                        if cursor < child.range.start {
                            out.push(Piece::Text(cursor..child.range.start));
                        }
                        out.extend(self.task_list(child, depth, strip)?);
                        cursor = child.range.end;
                    } else if child.has_task() {
                        return Err(self.pos(child.range.start).error(
                            "checklist item inside a block quote: move it out of the quote to make it an item",
                        ));
                    }
                }
                if cursor < item.range.end {
                    out.push(Piece::Text(cursor..item.range.end));
                }
            } else {
                out.push(Piece::Text(item.range.clone()));
            }
        }
        Ok(out)
    }

    fn task_item(
        &self,
        item: &Node,
        checked: bool,
        marker: &Range<usize>,
        depth: usize,
        strip: usize,
    ) -> Result<Vec<Piece>, FormatError> {
        let pos = self.pos(item.range.start);
        let content = self.column(marker.start);
        let title_node = item.children.first();
        let title = title_node.map(|p| self.inline_text(p, Some(marker.end))).unwrap_or_default();
        let mut description: Vec<String> = Vec::new();
        let mut children = Vec::new();
        let mut cursor = title_node.map_or(marker.end, |p| p.range.end);
        let mut desc_range: Option<Range<usize>> = None;
        let flush = |r: &mut Option<Range<usize>>, description: &mut Vec<String>| {
            if let Some(r) = r.take() {
                let t = self.verbatim(&r, content);
                let t = t.trim_start_matches('\n');
                if !t.trim().is_empty() {
                    description.push(t.to_string());
                }
            }
        };
        for child in item.children.iter().skip(1) {
            if !self.slice(cursor, child.range.start).trim().is_empty() {
                let start =
                    cursor + self.slice(cursor, child.range.start).find(|c: char| !c.is_whitespace()).unwrap_or(0);
                widen(&mut desc_range, &(start..child.range.start));
            }
            if child.kind.is_list() && child.has_task() {
                for piece in self.task_list(child, depth + 1, content)? {
                    match piece {
                        Piece::Text(r) => widen(&mut desc_range, &r),
                        Piece::Item(b) => {
                            flush(&mut desc_range, &mut description);
                            children.push(Piece::Item(b));
                        }
                    }
                }
            } else if child.has_task() {
                return Err(self
                    .pos(child.range.start)
                    .error("checklist item inside a block quote: move it out of the quote to make it an item"));
            } else {
                widen(&mut desc_range, &child.range);
            }
            cursor = child.range.end;
        }
        if !self.slice(cursor, item.range.end).trim().is_empty() {
            widen(&mut desc_range, &(cursor..item.range.end));
        }
        flush(&mut desc_range, &mut description);
        let _ = strip;
        let description = (!description.is_empty()).then(|| description.join("\n\n"));
        let mut out = vec![Piece::Item(Block::Item { checked, title, pos, depth, description, fields: Vec::new() })];
        out.extend(children);
        Ok(out)
    }

    /// Numbered steps: a title, at most one code block and a bullet list of actions each.
    fn steps(&self, list: &Node) -> Option<(Vec<Step>, bool)> {
        self.steps_of(list.children.iter())
    }

    /// Numbered steps from list entries.
    fn steps_of<'n>(&self, entries: impl Iterator<Item = &'n Node>) -> Option<(Vec<Step>, bool)> {
        let mut steps = Vec::new();
        let mut nexus_form = true;
        for item in entries {
            let digits: String = self
                .slice(item.range.start, self.src.len())
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let number: u32 = digits.parse().ok()?;
            let first = item.children.first().filter(|p| p.kind == Kind::Paragraph)?;
            let raw = self.inline_text(first, None).text;
            let t = raw.trim();
            nexus_form &= t.starts_with("**") && t.ends_with(":**") && t.len() > 5;
            let title = step_title(&raw);
            if title.is_empty() {
                return None;
            }
            let mut code = None;
            let mut actions = Vec::new();
            for child in item.children.iter().skip(1) {
                match &child.kind {
                    Kind::Code { lang, .. } if code.is_none() => {
                        let text = code_text(child.text.split('\n'));
                        if text.is_empty() {
                            return None;
                        }
                        let lang = lang.trim();
                        code = Some(Code { language: (!lang.is_empty()).then(|| lang.to_string()), text });
                    }
                    Kind::List { ordered: false } if actions.is_empty() => actions = self.bullets(child)?,
                    _ => return None,
                }
            }
            steps.push(Step { number, title, code, actions });
        }
        (!steps.is_empty()).then_some((steps, nexus_form))
    }

    /// A bullet list whose items are one paragraph each.
    fn bullets(&self, list: &Node) -> Option<Vec<String>> {
        list.children
            .iter()
            .map(|item| match item.children.as_slice() {
                [p] if p.kind == Kind::Paragraph => {
                    let t = self.inline_text(p, None).text;
                    (!t.is_empty()).then_some(t)
                }
                _ => None,
            })
            .collect()
    }
}

impl Kind {
    fn is_list(&self) -> bool {
        matches!(self, Kind::List { .. })
    }
}

/// Whether a Markdown text holds task list items.
pub(crate) fn has_task(text: &str) -> bool {
    tree(text).iter().any(Node::has_task)
}

/// A paragraph (written in reStructuredText, say) that would not read back as the same one
/// Markdown paragraph gets the starts of its lines escaped (`\#`, `\-`, `1\.`).
pub(crate) fn escape_paragraph(p: &str) -> std::borrow::Cow<'_, str> {
    let one_paragraph =
        |text: &str| matches!(lex(text).as_deref(), Ok([Block::Paragraph { text: t, .. }]) if t == text);
    if one_paragraph(p) {
        return p.into();
    }
    let escaped: Vec<String> = p.lines().map(|l| escape_start(l.trim())).collect();
    escaped.join("\n").into()
}

/// A line (without its indentation) whose start cannot open a block: a backslash before leading
/// punctuation (`\#`, `\-`, `\[`) or after a list number (`1\.`).
fn escape_start(t: &str) -> String {
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    match t.chars().next() {
        Some(c) if c.is_ascii_punctuation() => format!("\\{t}"),
        Some(_) if digits > 0 && t[digits..].starts_with(['.', ')']) => format!("{}\\{}", &t[..digits], &t[digits..]),
        _ => t.to_string(),
    }
}

/// An item description (written in reStructuredText, say) that would not read back as the
/// same description of an item followed by a child (an unclosed fence or HTML block would take
/// the children in) gets the starts of its lines escaped.
pub(crate) fn escape_description(d: &str, children: bool) -> std::borrow::Cow<'_, str> {
    // Only a fence, an HTML block or a link definition can reach past the description, and only
    // a checkbox make an item of it (`1. - [ ] x` written in rST is text there).
    if !d.lines().any(|l| l.trim_start().starts_with(['`', '~', '<'])) && !d.contains('[') {
        return d.into();
    }
    let body = |d: &str| {
        d.lines()
            .map(|l| if l.trim().is_empty() { String::new() } else { format!("  {l}") })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let child = if children { "\n\n  - [ ] y\n" } else { "\n" };
    let probe = format!("- [ ] x\n\n{}{child}", body(d));
    let reads_back = match lex(&probe).as_deref() {
        Ok([Block::Item { description: Some(got), .. }]) => !children && got == d,
        Ok([Block::Item { description: Some(got), .. }, Block::Item { depth: 1, .. }]) => children && got == d,
        _ => false,
    };
    if reads_back {
        return d.into();
    }
    d.lines()
        .map(|l| {
            let t = l.trim_start();
            format!("{}{}", &l[..l.len() - t.len()], escape_start(t))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

/// `<a id="name"></a>`: the checklist id.
fn label(text: &str) -> Option<&str> {
    let t = text.trim();
    let rest = t.strip_prefix("<a id=\"").or_else(|| t.strip_prefix("<a name=\""))?;
    let name = rest.strip_suffix("\"></a>")?;
    (!name.is_empty() && !name.contains('"') && !name.contains('\n')).then_some(name)
}
