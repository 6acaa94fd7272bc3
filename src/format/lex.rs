//! Line-based lexer: turns a reStructuredText or Markdown document into a flat list of blocks
//! (headings with their level, paragraphs, checklist items, bullet lists, numbered steps and
//! tables), each with its 1-based line and column.

use super::attrs::{Field, Spanned, rst_field};
use super::{FormatError, Syntax};

/// Deepest section nesting accepted below the title (keeps rendering and recursion bounded).
pub(crate) const MAX_DEPTH: usize = 12;

/// A 1-based position in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Pos {
    /// A position from a 0-based line index and a 1-based column.
    pub(crate) fn at(index: usize, column: usize) -> Self {
        Pos { line: index + 1, column }
    }

    pub(crate) fn error(self, message: impl Into<String>) -> FormatError {
        FormatError::new(self.line, self.column, message)
    }
}

/// One table cell with the position of its text.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) pos: Pos,
}

/// A table: a header row and body rows.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) header: Vec<Cell>,
    pub(crate) rows: Vec<Vec<Cell>>,
    /// The table's source, for a table the model does not interpret.
    pub(crate) raw: String,
}

/// A code block inside a numbered step.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub(crate) language: Option<String>,
    pub(crate) text: String,
}

/// One numbered step.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) number: u32,
    pub(crate) title: String,
    pub(crate) code: Option<Code>,
    pub(crate) actions: Vec<String>,
}

/// A block of the document.
#[derive(Clone, Debug)]
pub(crate) enum Block {
    /// `.. _name:` or `<a id="name"></a>`.
    Label { name: String, pos: Pos },
    /// `.. checklist has no title`: the first heading is a section even when it is the only one
    /// of its style.
    Untitled,
    /// A heading; level 0 is the style a document title uses (`#`, or the first rST style).
    Heading { level: usize, text: String, pos: Pos },
    /// A paragraph.
    Paragraph { text: String, pos: Pos },
    /// `- [ ] text` / `- [x] text`; `depth` counts the checklist items it is nested in.
    Item { checked: bool, title: Spanned, pos: Pos, depth: usize, description: Option<String>, fields: Vec<Field> },
    /// A bullet list without checkboxes, one line of text per bullet.
    Bullets { items: Vec<String>, raw: String, pos: Pos },
    /// A numbered list in the shape of steps; `nexus_form` when every title reads `**Title:**`.
    Steps { steps: Vec<Step>, nexus_form: bool, raw: String },
    /// A grid, simple or pipe table.
    Table(Table),
    /// Content kept verbatim.
    Opaque { syntax: Syntax, text: String },
    /// The next block follows the previous one with no blank line between them (Markdown): kept
    /// verbatim together, they are joined the same way.
    Tight,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind<'a> {
    Label(&'a str),
    Directive,
    Comment,
    Heading(usize, &'a str),
    Fence,
    Item(bool, &'a str),
    Bullet(&'a str),
    Numbered(u32, usize, &'a str),
    Grid,
    Pipe,
    SimpleBorder,
    Adornment(char),
    Text,
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Whether a line is blank to Markdown, and so to every renderer: spaces and tabs only
/// (`\u{b}` is text there).
pub(crate) fn md_blank(line: &str) -> bool {
    line.trim_matches([' ', '\t']).is_empty()
}

/// Leading whitespace, in characters.
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).count()
}

/// `line` without its first `n` characters.
fn skip_chars(line: &str, n: usize) -> &str {
    match line.char_indices().nth(n) {
        Some((i, _)) => &line[i..],
        None => "",
    }
}

fn is_adornment_char(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// A checkbox after a bullet: `[ ] rest`, `[x] rest`.
pub(crate) fn checkbox(rest: &str) -> Option<(bool, &str)> {
    let checked = if rest.starts_with("[ ]") {
        false
    } else if rest.starts_with("[x]") || rest.starts_with("[X]") {
        true
    } else {
        return None;
    };
    let after = &rest[3..];
    match after.chars().next() {
        None => Some((checked, "")),
        Some(c) if c.is_whitespace() => Some((checked, after.trim())),
        Some(_) => None,
    }
}

/// `- text`, `* text`, `+ text` (also a lone bullet character).
fn bullet(line: &str) -> Option<&str> {
    let mut chars = line.chars();
    let first = chars.next()?;
    if !matches!(first, '-' | '*' | '+') {
        return None;
    }
    match chars.next() {
        None => Some(""),
        Some(c) if c.is_whitespace() => Some(line[1..].trim()),
        Some(_) => None,
    }
}

/// `12. text`: number, content column (0-based chars), text.
fn numbered(line: &str) -> Option<(u32, usize, &str)> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = &line[digits..];
    let after = rest.strip_prefix('.')?;
    match after.chars().next() {
        None => Some((line[..digits].parse().ok()?, digits + 2, "")),
        Some(c) if c.is_whitespace() => Some((line[..digits].parse().ok()?, digits + 2, after.trim())),
        Some(_) => None,
    }
}

fn md_label(line: &str) -> Option<&str> {
    let t = line.trim_end();
    let rest = t.strip_prefix("<a id=\"").or_else(|| t.strip_prefix("<a name=\""))?;
    let name = rest.strip_suffix("\"></a>")?;
    (!name.is_empty() && !name.contains('"')).then_some(name)
}

fn classify(line: &str, syntax: Syntax) -> Kind<'_> {
    let t = line.trim_end();
    match syntax {
        Syntax::Rst => {
            let mut chars = t.chars();
            if let Some(c) = chars.next()
                && is_adornment_char(c)
                && t.chars().count() >= 3
                && chars.all(|x| x == c)
            {
                return Kind::Adornment(c);
            }
            if let Some(rest) = t.strip_prefix(".. _")
                && let Some(name) = rest.strip_suffix(':')
                && !name.is_empty()
            {
                return Kind::Label(name);
            }
            if t.starts_with(".. ") && t.contains("::") {
                return Kind::Directive;
            }
            if t == ".." || t.starts_with(".. ") {
                return Kind::Comment;
            }
            if t.starts_with("+-") || t.starts_with("+=") {
                return Kind::Grid;
            }
            if t.starts_with('=') && t.contains(' ') && t.chars().all(|c| c == '=' || c == ' ') {
                return Kind::SimpleBorder;
            }
        }
        Syntax::Markdown => {
            if let Some(name) = md_label(t) {
                return Kind::Label(name);
            }
            let hashes = t.chars().take_while(|&c| c == '#').count();
            if (1..=MAX_DEPTH + 1).contains(&hashes) {
                let rest = &t[hashes..];
                match rest.chars().next() {
                    None => return Kind::Heading(hashes - 1, ""),
                    Some(c) if c.is_whitespace() => return Kind::Heading(hashes - 1, rest.trim()),
                    Some(_) => {}
                }
            }
            if t.starts_with("```") {
                return Kind::Fence;
            }
        }
    }
    if let Some(rest) = bullet(t) {
        if let Some((checked, text)) = checkbox(rest) {
            return Kind::Item(checked, text);
        }
        return Kind::Bullet(rest);
    }
    if let Some((n, col, text)) = numbered(t) {
        if syntax == Syntax::Rst
            && let Some((checked, text)) = checkbox(text)
        {
            return Kind::Item(checked, text);
        }
        return Kind::Numbered(n, col, text);
    }
    if t.starts_with('|') {
        return Kind::Pipe;
    }
    Kind::Text
}

/// Splits a pipe-table row into cells; `\|` is an escaped pipe.
fn split_pipe(line: &str, index: usize) -> Vec<Cell> {
    let t = line.trim_end();
    let mut cells = Vec::new();
    let mut text = String::new();
    let mut start_col = 2;
    let mut first_text_col: Option<usize> = None;
    let mut ended_with_bar = false;
    let chars: Vec<char> = t.chars().collect();
    let mut k = 1; // skip the leading '|'
    while k < chars.len() {
        let c = chars[k];
        ended_with_bar = false;
        if c == '\\' && chars.get(k + 1) == Some(&'|') {
            first_text_col.get_or_insert(k + 1);
            text.push('|');
            k += 2;
            continue;
        }
        if c == '|' {
            cells
                .push(Cell { text: text.trim().to_string(), pos: Pos::at(index, first_text_col.unwrap_or(start_col)) });
            text.clear();
            first_text_col = None;
            start_col = k + 2;
            ended_with_bar = true;
            k += 1;
            continue;
        }
        if !c.is_whitespace() {
            first_text_col.get_or_insert(k + 1);
        }
        text.push(c);
        k += 1;
    }
    if !ended_with_bar {
        cells.push(Cell { text: text.trim().to_string(), pos: Pos::at(index, first_text_col.unwrap_or(start_col)) });
    }
    cells
}

fn is_pipe_separator(line: &str) -> bool {
    let cells = split_pipe(line, 0);
    !cells.is_empty()
        && cells.iter().all(|c| {
            let t = c.text.trim();
            let t = t.strip_prefix(':').unwrap_or(t);
            let t = t.strip_suffix(':').unwrap_or(t);
            !t.is_empty() && t.chars().all(|c| c == '-')
        })
}

struct Lexer<'a> {
    lines: Vec<&'a str>,
    syntax: Syntax,
    styles: Vec<(char, bool)>,
    out: Vec<Block>,
}

/// A checkbox item's marker at the start of `body` (`- [ ] `, `* [x] `, `12. [ ] `): whether it
/// is ticked and the character offset of its `[`.
fn item_marker(body: &str) -> Option<(bool, usize)> {
    let t = body.trim_end();
    let marker = if let Some(r) = bullet(t) {
        t.len() - r.len()
    } else {
        let (_, _, r) = numbered(t)?;
        t.len() - r.len()
    };
    let (checked, _) = checkbox(t.get(marker..)?)?;
    Some((checked, t[..marker].chars().count()))
}

/// Whether a reStructuredText text holds checklist items.
pub(crate) fn has_item(text: &str) -> bool {
    lex(text).map_or(true, |blocks| blocks.iter().any(|b| matches!(b, Block::Item { .. })))
}

/// Whether a line reads as plain text in reStructuredText (so it can be a section title).
pub(crate) fn rst_plain_line(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t == line && classify(t, Syntax::Rst) == Kind::Text
}

/// Whether a line is a checkbox item in either syntax (`- [ ] x`, `1. [x] x`), after its indentation.
pub(crate) fn checkbox_line(line: &str) -> bool {
    let t = line.trim_start();
    let rest = bullet(t.trim_end()).or_else(|| numbered(t.trim_end()).map(|(_, _, r)| r));
    rest.is_some_and(|r| checkbox(r).is_some())
}

/// Lexes a whole reStructuredText document (already without BOM and with `\n` line ends).
pub(crate) fn lex(text: &str) -> Result<Vec<Block>, FormatError> {
    let mut lexer =
        Lexer { lines: text.split('\n').collect(), syntax: Syntax::Rst, styles: Vec::new(), out: Vec::new() };
    if text.ends_with('\n') {
        lexer.lines.pop();
    }
    lexer.run()?;
    Ok(lexer.out)
}

impl<'a> Lexer<'a> {
    fn kind(&self, i: usize) -> Kind<'a> {
        classify(self.lines[i], self.syntax)
    }

    fn style_level(&mut self, style: (char, bool)) -> usize {
        match self.styles.iter().position(|s| *s == style) {
            Some(level) => level,
            None => {
                self.styles.push(style);
                self.styles.len() - 1
            }
        }
    }

    /// Lines `start..end` as one text, without trailing blank lines.
    fn raw(&self, start: usize, end: usize) -> String {
        let mut end = end.min(self.lines.len());
        while end > start && is_blank(self.lines[end - 1]) {
            end -= 1;
        }
        self.lines[start..end].iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")
    }

    /// The end of a block that starts at `start`: the next line at indentation 0 after a blank
    /// line (or after `start` itself when `tight`).
    fn block_end(&self, start: usize) -> usize {
        let n = self.lines.len();
        let mut j = start + 1;
        while j < n && (is_blank(self.lines[j]) || indent(self.lines[j]) > 0) {
            j += 1;
        }
        j
    }

    /// Keeps lines `start..end` verbatim, unless they hold a checkbox item that would be lost.
    fn opaque(&mut self, start: usize, end: usize, what: &str) -> Result<usize, FormatError> {
        if let Some(k) = (start..end).find(|&k| checkbox_line(self.lines[k])) {
            return Err(Pos::at(k, indent(self.lines[k]) + 1)
                .error(format!("checklist item inside {what}: it would not be read as an item")));
        }
        let text = self.raw(start, end);
        self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
        Ok(end)
    }

    fn run(&mut self) -> Result<(), FormatError> {
        let n = self.lines.len();
        let mut i = 0;
        while i < n {
            let line = self.lines[i];
            if is_blank(line) {
                i += 1;
                continue;
            }
            if indent(line) > 0 {
                let end = self.block_end(i);
                i = self.opaque(i, end, "an indented block")?;
                continue;
            }
            let kind = self.kind(i);
            if let Some(next) = self.rst_heading(i, &kind)? {
                i = next;
                continue;
            }
            i = match kind {
                Kind::Label(name) => {
                    self.out.push(Block::Label { name: name.to_string(), pos: Pos::at(i, 1) });
                    i + 1
                }
                Kind::Directive => {
                    let end = self.block_end(i);
                    let t = line.trim();
                    let (name, arg) = t[3..].split_once("::").unwrap_or(("", ""));
                    if name.trim() == "raw" && arg.trim() == "markdown" {
                        // The block as Markdown reads it, whether unwrapped or kept whole: lines
                        // as written (trailing whitespace can change what Markdown reads), less
                        // the lines blank to Markdown after it.
                        let mut last = end.min(self.lines.len());
                        while last > i + 1 && md_blank(self.lines[last - 1]) {
                            last -= 1;
                        }
                        let body = &self.lines[i + 1..last];
                        // The renderer indents by 3; more indentation is the passage's own.
                        let cut = body.iter().filter(|l| !is_blank(l)).map(|l| indent(l)).min().unwrap_or(0).min(3);
                        let text =
                            verbatim_lines(body.iter().map(|l| if md_blank(l) { "" } else { skip_chars(l, cut) }));
                        if super::markdown::has_task(&text) {
                            return Err(Pos::at(i, 1)
                                .error("checklist item inside a raw Markdown block: it would not be read as an item"));
                        }
                        if super::stays_verbatim(&text, Syntax::Markdown) {
                            self.out.push(Block::Opaque { syntax: Syntax::Markdown, text });
                            end
                        } else {
                            // Unwrapped in Markdown, a heading in it would change the document:
                            // kept as the directive it is (its checkboxes were read as Markdown
                            // above: none is an item there).
                            let text = self.lines[i..last].join("\n");
                            self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
                            end
                        }
                    } else if matches!(name.trim(), "code-block" | "code" | "sourcecode" | "literalinclude") {
                        let text = self.raw(i, end);
                        self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
                        end
                    } else {
                        self.opaque(i, end, &format!("directive `{}`", t))?
                    }
                }
                Kind::Comment => {
                    let end = self.block_end(i);
                    if line.trim() == UNTITLED {
                        self.out.push(Block::Untitled);
                        i + 1
                    } else {
                        let text = self.raw(i, end);
                        self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
                        end
                    }
                }
                Kind::Heading(level, text) => {
                    self.out.push(Block::Heading { level, text: text.to_string(), pos: Pos::at(i, 1) });
                    i + 1
                }
                Kind::Item(..) => self.item(i, 0)?,
                Kind::Bullet(_) => self.bullets(i)?,
                Kind::Numbered(..) => match self.steps(i) {
                    Ok(next) => next,
                    Err(_) => {
                        let end = self.list_end(i);
                        self.opaque(i, end, "a numbered list")?
                    }
                },
                Kind::Grid => self.grid(i)?,
                Kind::Pipe => self.pipe(i)?,
                Kind::SimpleBorder => self.simple(i)?,
                Kind::Adornment(_) => {
                    let before_blank = i == 0 || is_blank(self.lines[i - 1]);
                    let after_blank = i + 1 >= n || is_blank(self.lines[i + 1]);
                    if !(before_blank && after_blank) {
                        unreachable_adornment(i)?;
                    }
                    // A transition.
                    let text = self.raw(i, i + 1);
                    self.out.push(Block::Opaque { syntax: Syntax::Rst, text });
                    i + 1
                }
                Kind::Fence | Kind::Text => self.paragraph(i),
            };
        }
        Ok(())
    }

    /// The end of a list that starts at `start`: its items and their indented bodies.
    fn list_end(&self, start: usize) -> usize {
        let n = self.lines.len();
        let mut j = start + 1;
        let mut end = j;
        while j < n {
            let l = self.lines[j];
            if is_blank(l) {
                j += 1;
                continue;
            }
            if indent(l) == 0 && !matches!(self.kind(j), Kind::Numbered(..) | Kind::Bullet(_)) {
                break;
            }
            j += 1;
            end = j;
        }
        end
    }

    /// A checklist item at line `i` whose bullet is at indentation `m`, with its body: title
    /// continuation lines, attribute fields, nested items and description text.
    fn item(&mut self, i: usize, depth: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let line = self.lines[i];
        let m = indent(line);
        let body = skip_chars(line, m);
        let Some((checked, content_off)) = item_marker(body) else { return Ok(i + 1) };
        let content = m + content_off;
        // The title: the text after the checkbox, and continuation lines.
        let mut title = Spanned::default();
        let after_box = skip_chars(body, content_off + 3);
        let lead = after_box.chars().take_while(|c| c.is_whitespace()).count();
        let first = after_box.trim();
        if !first.is_empty() {
            title.push(first, Pos::at(i, content + 3 + lead + 1));
        }
        let mut j = i + 1;
        while j < n && !is_blank(self.lines[j]) && indent(self.lines[j]) > m {
            let ind = indent(self.lines[j]);
            let s = skip_chars(self.lines[j], ind);
            if checkbox_line(s) || rst_field(s.trim_end(), Pos::at(j, ind + 1)).is_some() {
                break;
            }
            if !title.text.is_empty() {
                title.push_sep(" ");
            }
            title.push(s.trim(), Pos::at(j, ind + 1));
            j += 1;
        }
        let mut fields = Vec::new();
        let mut desc: Vec<String> = Vec::new();
        let mut children = Vec::new();
        let mut broke = false;
        while j < n {
            let l = self.lines[j];
            if is_blank(l) {
                if !desc.is_empty() {
                    desc.push(String::new());
                }
                j += 1;
                continue;
            }
            let ind = indent(l);
            if ind <= m {
                break;
            }
            let s = skip_chars(l, ind);
            if item_marker(s).is_some() {
                let saved = std::mem::take(&mut self.out);
                let next = self.item(j, depth + 1)?;
                children.extend(std::mem::replace(&mut self.out, saved));
                broke = true;
                j = next;
                continue;
            }
            if let Some(f) = rst_field(s.trim_end(), Pos::at(j, ind + 1)) {
                fields.push(f);
                j += 1;
                continue;
            }
            if broke && desc.last().is_some_and(|d| !d.is_empty()) {
                desc.push(String::new());
            }
            broke = false;
            desc.push(skip_chars(l, ind.min(content)).trim_end().to_string());
            j += 1;
        }
        while desc.last().is_some_and(String::is_empty) {
            desc.pop();
        }
        let description = (!desc.is_empty()).then(|| desc.join("\n"));
        self.out.push(Block::Item { checked, title, pos: Pos::at(i, m + 1), depth, description, fields });
        self.out.extend(children);
        Ok(j)
    }

    /// A reStructuredText section title at line `i` (underlined, or over- and underlined).
    fn rst_heading(&mut self, i: usize, kind: &Kind<'a>) -> Result<Option<usize>, FormatError> {
        let n = self.lines.len();
        let width = |s: &str| s.trim().chars().count();
        match *kind {
            Kind::Adornment(c) => {
                if i + 2 < n
                    && !is_blank(self.lines[i + 1])
                    && classify(self.lines[i + 1].trim(), Syntax::Rst) == Kind::Text
                {
                    let title = self.lines[i + 1].trim();
                    if let Kind::Adornment(c2) = self.kind(i + 2) {
                        let (over, under) = (width(self.lines[i]), width(self.lines[i + 2]));
                        if c2 != c || over != under {
                            return Err(Pos::at(i + 2, 1)
                                .error(format!("overline and underline of section `{title}` do not match")));
                        }
                        if under < width(title) {
                            return Err(Pos::at(i + 2, 1).error(format!(
                                "underline of section `{title}` is too short: {under} characters for a {}-character title",
                                width(title)
                            )));
                        }
                        let level = self.style_level((c, true));
                        self.out.push(Block::Heading { level, text: title.to_string(), pos: Pos::at(i + 1, 1) });
                        return Ok(Some(i + 3));
                    }
                }
                Ok(None)
            }
            Kind::Text if i + 1 < n => {
                let Kind::Adornment(c) = self.kind(i + 1) else { return Ok(None) };
                let title = self.lines[i].trim();
                let under = width(self.lines[i + 1]);
                if under < width(title) {
                    return Err(Pos::at(i + 1, 1).error(format!(
                        "underline of section `{title}` is too short: {under} characters for a {}-character title",
                        width(title)
                    )));
                }
                let level = self.style_level((c, false));
                self.out.push(Block::Heading { level, text: title.to_string(), pos: Pos::at(i, 1) });
                Ok(Some(i + 2))
            }
            _ => Ok(None),
        }
    }

    /// Joins continuation lines (indented deeper than `base`, no blank line) to `first`.
    fn continued(&self, i: usize, first: &str, base: usize) -> (String, usize) {
        let mut text = first.trim().to_string();
        let mut j = i + 1;
        while j < self.lines.len() && !is_blank(self.lines[j]) && indent(self.lines[j]) > base {
            let more = self.lines[j].trim();
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(more);
            j += 1;
        }
        (text, j)
    }

    fn bullets(&mut self, start: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let extent = self.list_end(start);
        let mut items = Vec::new();
        let mut i = start;
        let mut end;
        while let Kind::Bullet(first) = self.kind(i) {
            if first.is_empty() {
                break;
            }
            let (text, next) = self.continued(i, first, 0);
            items.push(text);
            end = next;
            let mut k = next;
            while k < n && is_blank(self.lines[k]) {
                k += 1;
            }
            if k < n && indent(self.lines[k]) == 0 && matches!(self.kind(k), Kind::Bullet(_)) {
                i = k;
                continue;
            }
            if end >= extent {
                let raw = self.raw(start, end);
                self.out.push(Block::Bullets { items, raw, pos: Pos::at(start, 1) });
                return Ok(end);
            }
            break;
        }
        // Not one line per bullet: kept as it is.
        self.opaque(start, extent, "a bullet list")
    }

    fn paragraph(&mut self, start: usize) -> usize {
        let n = self.lines.len();
        let mut text = self.lines[start].trim().to_string();
        let mut j = start + 1;
        while j < n
            && !is_blank(self.lines[j])
            && indent(self.lines[j]) == 0
            && self.kind(j) == Kind::Text
            && !(self.syntax == Syntax::Rst && j + 1 < n && matches!(self.kind(j + 1), Kind::Adornment(_)))
        {
            text.push('\n');
            text.push_str(self.lines[j].trim());
            j += 1;
        }
        self.out.push(Block::Paragraph { text, pos: Pos::at(start, 1) });
        j
    }

    fn steps(&mut self, start: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let mut steps = Vec::new();
        let mut nexus_form = true;
        let mut i = start;
        while let Kind::Numbered(number, col, raw_title) = self.kind(i) {
            let t = raw_title.trim();
            nexus_form &= t.starts_with("**") && t.ends_with(":**") && t.len() > 5;
            let title = step_title(raw_title);
            if title.is_empty() {
                return Err(Pos::at(i, col + 1).error("numbered step has no title"));
            }
            let mut j = i + 1;
            let mut end = i + 1;
            while j < n {
                if is_blank(self.lines[j]) {
                    j += 1;
                    continue;
                }
                if indent(self.lines[j]) < col {
                    break;
                }
                j += 1;
                end = j;
            }
            let (code, actions) = self.step_body(i + 1, end, col)?;
            steps.push(Step { number, title, code, actions });
            let mut k = end;
            while k < n && is_blank(self.lines[k]) {
                k += 1;
            }
            if k < n && indent(self.lines[k]) == 0 && matches!(self.kind(k), Kind::Numbered(..)) {
                i = k;
                continue;
            }
            // `step_body` refused checkbox lines outside a step's code block; inside one they are
            // code, as in a code block at the top level.
            let raw = self.raw(start, end);
            self.out.push(Block::Steps { steps, nexus_form, raw });
            return Ok(end);
        }
        Ok(start + 1)
    }

    fn step_body(&self, start: usize, end: usize, col: usize) -> Result<(Option<Code>, Vec<String>), FormatError> {
        let mut code: Option<Code> = None;
        let mut actions = Vec::new();
        let mut k = start;
        while k < end {
            let line = self.lines[k];
            if is_blank(line) {
                k += 1;
                continue;
            }
            let ind = indent(line);
            let pos = Pos::at(k, ind + 1);
            if ind > col {
                return Err(pos.error("unexpected indentation in numbered step"));
            }
            let s = skip_chars(line, ind).trim_end();
            let found_code = match self.syntax {
                Syntax::Rst if s.starts_with(".. ") && s.contains("::") => {
                    let (name, lang) = s[3..].split_once("::").unwrap_or(("", ""));
                    if !matches!(name.trim(), "code-block" | "code" | "sourcecode") {
                        return Err(pos.error(format!(
                            "unsupported directive `{s}` in numbered step: expected `.. code-block:: LANGUAGE`"
                        )));
                    }
                    let mut m = k + 1;
                    while m < end && (is_blank(self.lines[m]) || indent(self.lines[m]) > col) {
                        m += 1;
                    }
                    let body = &self.lines[k + 1..m];
                    let cut = body.iter().filter(|l| !is_blank(l)).map(|l| indent(l)).min().unwrap_or(0);
                    let text = code_text(body.iter().map(|l| if is_blank(l) { "" } else { skip_chars(l, cut) }));
                    k = m;
                    Some((lang.trim(), text))
                }
                Syntax::Markdown if s.starts_with("```") => {
                    let fence = s.chars().take_while(|&c| c == '`').count();
                    let lang = &s[fence..];
                    if lang.contains('`') {
                        return Err(pos.error("the language of a code fence must not contain backticks"));
                    }
                    let mut m = k + 1;
                    while m < end {
                        let t = self.lines[m].trim();
                        if t.chars().count() >= fence && t.chars().all(|c| c == '`') {
                            break;
                        }
                        m += 1;
                    }
                    if m >= end {
                        return Err(pos.error("code fence is not closed"));
                    }
                    let body = &self.lines[k + 1..m];
                    let text = code_text(
                        body.iter().map(|l| if is_blank(l) { "" } else { skip_chars(l, indent(l).min(col)) }),
                    );
                    k = m + 1;
                    Some((lang.trim(), text))
                }
                _ => None,
            };
            if let Some((lang, text)) = found_code {
                if text.is_empty() {
                    return Err(pos.error("code block has no content"));
                }
                if code.is_some() {
                    return Err(pos.error("a numbered step holds one code block only"));
                }
                code = Some(Code { language: (!lang.is_empty()).then(|| lang.to_string()), text });
                continue;
            }
            match classify(s, self.syntax) {
                Kind::Item(..) => return Err(pos.error("checklist item inside a numbered step")),
                Kind::Bullet(first) => {
                    if first.is_empty() {
                        return Err(pos.error("empty bullet: its text must start on the bullet's line"));
                    }
                    let (text, next) = self.continued(k, first, col);
                    actions.push(text);
                    k = next;
                }
                _ => {
                    return Err(pos.error("unexpected text in numbered step: expected a code block or a bullet list"));
                }
            }
        }
        Ok((code, actions))
    }

    fn grid(&mut self, start: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let border: Vec<char> = self.lines[start].trim_end().chars().collect();
        if let Some(bad) = border.iter().position(|c| !matches!(c, '+' | '-' | '=')) {
            return Err(Pos::at(start, bad + 1).error("malformed grid table border: expected only `+`, `-` and `=`"));
        }
        if border.last() != Some(&'+') {
            return Err(Pos::at(start, border.len()).error("malformed grid table border: it must end with `+`"));
        }
        let bounds: Vec<usize> = border.iter().enumerate().filter(|(_, c)| **c == '+').map(|(k, _)| k).collect();
        let mut header: Option<Vec<Cell>> = None;
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut content: Vec<(usize, Vec<char>)> = Vec::new();
        let mut j = start + 1;
        loop {
            let open = j >= n
                || is_blank(self.lines[j])
                || indent(self.lines[j]) > 0
                || !(self.lines[j].starts_with('+') || self.lines[j].starts_with('|'));
            if open {
                if !content.is_empty() || j == start + 1 {
                    return Err(Pos::at(j - 1, 1).error("grid table is not closed: expected a `+---+` border line"));
                }
                break;
            }
            let row: Vec<char> = self.lines[j].trim_end().chars().collect();
            if row[0] == '+' {
                let mismatch = (0..row.len().max(border.len())).find(|&k| {
                    let want_plus = bounds.contains(&k);
                    match row.get(k) {
                        None => true,
                        Some('+') => !want_plus,
                        Some('-' | '=') => want_plus || k >= border.len(),
                        Some(_) => true,
                    }
                });
                if let Some(k) = mismatch {
                    return Err(
                        Pos::at(j, k + 1).error("ragged grid table: border does not line up with the first one")
                    );
                }
                if content.is_empty() {
                    return Err(Pos::at(j, 1).error("grid table has an empty row"));
                }
                let cells = grid_cells(&content, &bounds);
                content.clear();
                if row.contains(&'=') {
                    if header.is_some() || !rows.is_empty() {
                        return Err(
                            Pos::at(j, 1).error("grid table header must be a single row above the only `+===+` border")
                        );
                    }
                    header = Some(cells);
                } else {
                    rows.push(cells);
                }
            } else {
                let mismatch = bounds.iter().find(|&&k| row.get(k) != Some(&'|'));
                if let Some(&k) = mismatch {
                    return Err(Pos::at(j, k + 1).error(format!("ragged grid table: expected `|` at column {}", k + 1)));
                }
                if row.len() > border.len() {
                    return Err(Pos::at(j, border.len() + 1).error("ragged grid table: text after the last column"));
                }
                content.push((j, row));
            }
            j += 1;
        }
        let Some(header) = header else {
            return Err(Pos::at(start, 1).error("grid table has no header row: separate it with a `+===+` border"));
        };
        let raw = self.raw(start, j);
        self.out.push(Block::Table(Table { header, rows, raw }));
        Ok(j)
    }

    fn pipe(&mut self, start: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let header = split_pipe(self.lines[start], start);
        if start + 1 >= n || !self.lines[start + 1].starts_with('|') || !is_pipe_separator(self.lines[start + 1]) {
            // A line block: kept as it is, up to the next blank line.
            let mut j = start;
            while j < n && !is_blank(self.lines[j]) {
                j += 1;
            }
            return self.opaque(start, j, "a line block");
        }
        let sep = split_pipe(self.lines[start + 1], start + 1);
        if sep.len() != header.len() {
            return Err(Pos::at(start + 1, 1).error(format!(
                "ragged table: the separator row has {} cells, the header has {}",
                sep.len(),
                header.len()
            )));
        }
        let mut rows = Vec::new();
        let mut j = start + 2;
        while j < n && self.lines[j].starts_with('|') {
            let cells = split_pipe(self.lines[j], j);
            if cells.len() != header.len() {
                return Err(Pos::at(j, 1).error(format!(
                    "ragged table: the row has {} cells, the header has {}",
                    cells.len(),
                    header.len()
                )));
            }
            rows.push(cells);
            j += 1;
        }
        let raw = self.raw(start, j);
        self.out.push(Block::Table(Table { header, rows, raw }));
        Ok(j)
    }

    fn simple(&mut self, start: usize) -> Result<usize, FormatError> {
        let n = self.lines.len();
        let border = self.lines[start].trim_end();
        let chars: Vec<char> = border.chars().collect();
        let starts: Vec<usize> =
            (0..chars.len()).filter(|&k| chars[k] == '=' && (k == 0 || chars[k - 1] == ' ')).collect();
        if start + 2 >= n || is_blank(self.lines[start + 1]) || self.lines[start + 2].trim_end() != border {
            return Err(Pos::at((start + 1).min(n - 1), 1)
                .error("simple table header must be one line between two identical `===  ===` borders"));
        }
        let cells = |index: usize| -> Vec<Cell> {
            let row: Vec<char> = self.lines[index].trim_end().chars().collect();
            starts
                .iter()
                .enumerate()
                .map(|(c, &from)| {
                    let to = starts.get(c + 1).copied().unwrap_or(row.len().max(from));
                    let slice: String = row.get(from.min(row.len())..to.min(row.len())).unwrap_or(&[]).iter().collect();
                    Cell { text: slice.trim().to_string(), pos: Pos::at(index, from + 1) }
                })
                .collect()
        };
        let header = cells(start + 1);
        let mut rows = Vec::new();
        let mut j = start + 3;
        loop {
            if j >= n {
                return Err(Pos::at(n - 1, 1).error("simple table is not closed: expected a closing `===  ===` border"));
            }
            if self.lines[j].trim_end() == border {
                break;
            }
            if !is_blank(self.lines[j]) {
                rows.push(cells(j));
            }
            j += 1;
        }
        let raw = self.raw(start, j + 1);
        self.out.push(Block::Table(Table { header, rows, raw }));
        Ok(j + 1)
    }
}

/// The comment that marks a reStructuredText document without a title.
pub(crate) const UNTITLED: &str = ".. checklist has no title";

fn unreachable_adornment(i: usize) -> Result<usize, FormatError> {
    Err(Pos::at(i, 1).error("adornment line without a title above it"))
}

/// Lines carried as written, less the blank lines around them: trailing spaces and tabs stay, as
/// they can change what Markdown reads (a fence followed by a tab closes nothing to
/// pulldown-cmark, so the checkbox after it is code), Markdown in a raw block included.
pub(crate) fn verbatim_lines<'b>(lines: impl Iterator<Item = &'b str>) -> String {
    let lines: Vec<&str> = lines.collect();
    let first = lines.iter().position(|l| !l.is_empty());
    let last = lines.iter().rposition(|l| !l.is_empty());
    match (first, last) {
        (Some(a), Some(b)) => lines[a..=b].join("\n"),
        _ => String::new(),
    }
}

/// Joins code lines without trailing whitespace, dropping leading and trailing blank lines.
pub(crate) fn code_text<'b>(lines: impl Iterator<Item = &'b str>) -> String {
    // Only spaces and tabs: other whitespace (`\u{b}` after a closing fence) is text to Markdown.
    verbatim_lines(lines.map(|l| l.trim_end_matches([' ', '\t'])))
}

fn grid_cells(content: &[(usize, Vec<char>)], bounds: &[usize]) -> Vec<Cell> {
    (0..bounds.len() - 1)
        .map(|c| {
            let (from, to) = (bounds[c] + 1, bounds[c + 1]);
            let mut text = String::new();
            let mut pos = Pos::at(content[0].0, from + 2);
            let mut found = false;
            for (index, row) in content {
                let part: String = row[from..to].iter().collect();
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                if !found {
                    let lead = row[from..to].iter().take_while(|c| c.is_whitespace()).count();
                    pos = Pos::at(*index, from + lead + 1);
                    found = true;
                } else {
                    text.push(' ');
                }
                text.push_str(part);
            }
            Cell { text, pos }
        })
        .collect()
}

/// A step title without bold markers and its trailing colon: `**Immediate:**` -> `Immediate`.
pub(crate) fn step_title(raw: &str) -> String {
    let t = raw.trim();
    let t = match t.strip_prefix("**").and_then(|r| r.strip_suffix("**")) {
        Some(inner) if t.len() >= 4 => inner,
        _ => t,
    };
    t.strip_suffix(':').unwrap_or(t).trim().to_string()
}
