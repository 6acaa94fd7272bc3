//! Checklist documents: parse reStructuredText and Markdown into a [`Checklist`], render it back.
//!
//! The parser accepts the documents teams write: Markdown is read with
//! [pulldown-cmark](https://docs.rs/pulldown-cmark) (CommonMark, GFM task lists and tables,
//! YAML or TOML front matter); reStructuredText with its section adornments, bullet and field
//! lists, directives and tables. Both describe the same things:
//!
//! | element | reStructuredText | Markdown |
//! |---|---|---|
//! | checklist id | `.. _production_checklist:` before the title | `<a id="production_checklist"></a>` |
//! | title | the first heading, when it is the only one in its style and no item comes before it | the first heading, when it is the only `#` heading and no item comes before it |
//! | sections | underlined headings, styles in order of appearance (`=`, `-`, `~`) | `#`, `##`, `###` (a skipped level nests one down) |
//! | items | `- [ ] text`, `- [x] text` (ticked); `*` and `+` bullets too | the same, and `1. [ ] text` |
//! | child items | `- [ ]` indented in an item's body | `- [ ]` nested in an item |
//! | item attributes | a field list in the item's body (`:severity: blocker`) | a trailing `{#db-backups severity=blocker}` or `<!-- #db-backups severity=blocker -->` |
//! | item description | the item's body text | the item's other paragraphs and blocks |
//! | capacity thresholds | grid, simple or pipe table `Metric \| Current \| Threshold \| Action` | pipe table |
//! | key metrics, alerting rules | bullets after `Key metrics to monitor:` / `Recommended alerting rules:`, or under a heading naming them | the same |
//! | rollback plan | numbered steps (`1. **Title:**` or under a "Rollback" heading) with `.. code-block:: bash` or bullets | numbered steps with a fenced block or bullets |
//! | sign-off | table `Role \| Name \| Date \| Signature` | pipe table |
//! | anything else | kept verbatim as a [`Passage`](crate::model::Passage) | the same |
//!
//! **Nothing is lost.** Content the model does not interpret (paragraphs among the items, code
//! blocks, plain lists, other tables, block quotes, HTML, comments, directives, front matter, a
//! numbered table of contents) is kept verbatim and rendered back in place; rendered in the other
//! syntax it travels as a raw block (`.. raw:: markdown`, a ```` ```{=rst} ```` fence) and comes
//! back unwrapped. A checkbox the parser cannot make an item of (inside a block quote or a
//! directive) is an error, never a silently dropped item.
//!
//! **Ids** are the slugs of the heading path and the item title
//! (`pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested`); a child item's id is its
//! parent's plus its own slug; an `id` attribute replaces the derived id. A trailing
//! "(if needed)" or "(if applicable)" sets the item's
//! [`Applicability`](crate::model::Applicability).
//!
//! **Attributes**: `id`, `severity` (blocker, critical, major, minor), `phase`
//! (pre-deployment, deployment, post-deployment, continuous), `verification` (probe or
//! attestation), `tags` and `after` (comma-separated; a value with spaces or commas in double
//! quotes). A trailing `{...}` whose first word is not `#id` or `key=value` is part of the title.
//! The renderer writes every attribute that differs from what the document would infer.
//!
//! **Phases** come from [`LoadOptions`]: by default the headings Pre-Deployment, Deployment and
//! Post-Deployment get their [`Phase`], and Capacity Planning, Monitoring (Dashboards) and
//! Compliance are [`Phase::Continuous`]; nested sections inherit their section's phase, and an
//! item's `phase` attribute overrides it.
//!
//! A malformed document is a [`FormatError`] with its line and column, never a panic. Rendering a
//! parsed document and parsing it again gives an equal checklist: the parser checks it, and
//! refuses a document whose rendering would read differently (both syntaxes are
//! context-sensitive: a block indented with tabs and spaces can change what it is once
//! re-indented) at the line that would change, rather than load one checklist and render another.
//!
//! ```
//! use nexus_readiness::format;
//!
//! let doc = "\
//! Release
//! =======
//!
//! Checks
//! ------
//!
//! - [x] Image pushed to registry
//! - [ ] Startup probe configured (if needed)
//! ";
//! let checklist = format::parse_rst(doc)?;
//! let item = checklist.item("checks.image-pushed-to-registry").unwrap();
//! assert!(item.checked);
//! let markdown = format::render_markdown(&checklist);
//! assert!(markdown.contains("- [ ] Startup probe configured (if needed)"));
//! assert_eq!(format::parse_markdown(&markdown)?, checklist);
//!
//! let err = format::parse_rst("Release\n===\n").unwrap_err();
//! assert_eq!(err.to_string(), "2:1: underline of section `Release` is too short: 3 characters for a 7-character title");
//! # Ok::<(), format::FormatError>(())
//! ```

use thiserror::Error;

use crate::model::{Checklist, ItemId, Phase, Severity, slugify};

mod assemble;
mod attrs;
mod lex;
mod markdown;
mod render;
mod values;

/// A checklist document could not be parsed.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{line}:{column}: {message}")]
#[non_exhaustive]
pub struct FormatError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl FormatError {
    /// An error at `line:column` (both 1-based).
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        FormatError { line, column, message: message.into() }
    }
}

pub use crate::model::Syntax;

/// How a document's items and sections get what the document does not say: the severity of
/// items without a `severity` attribute, the phase of sections by their heading, and a prefix
/// for the ids derived from titles.
///
/// The default reads the headings Pre-Deployment, Deployment and Post-Deployment as those phases
/// and Capacity Planning, Monitoring, Monitoring Dashboards and Compliance as
/// [`Phase::Continuous`]; items default to [`Severity::Critical`] (they gate) and ids have no prefix.
///
/// ```
/// use nexus_readiness::format::{self, LoadOptions, Syntax};
/// use nexus_readiness::model::{ItemId, Phase, Severity};
///
/// let doc = "# Release\n\n## Before we ship\n\n- [ ] Backups restored {severity=blocker}\n- [ ] Changelog written\n";
/// let options = LoadOptions::new()
///     .default_severity(Severity::Critical)
///     .phase_pattern("before-*", Phase::PreDeployment)
///     .id_prefix(ItemId::new("payments")?);
/// let checklist = format::parse_with(doc, Syntax::Markdown, &options)?;
/// let item = checklist.item("payments.before-we-ship.changelog-written").unwrap();
/// assert_eq!(item.severity, Severity::Critical);
/// assert_eq!(checklist.phase_of(item.id.as_str()), Some(Phase::PreDeployment));
/// assert_eq!(checklist.item("payments.before-we-ship.backups-restored").unwrap().severity, Severity::Blocker);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LoadOptions {
    default_severity: Severity,
    phases: Vec<(String, Phase)>,
    id_prefix: Option<ItemId>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        let phases = [
            ("pre-deployment", Phase::PreDeployment),
            ("deployment", Phase::Deployment),
            ("post-deployment", Phase::PostDeployment),
            ("capacity-planning", Phase::Continuous),
            ("monitoring-dashboards", Phase::Continuous),
            ("monitoring", Phase::Continuous),
            ("compliance", Phase::Continuous),
        ];
        LoadOptions {
            default_severity: Severity::default(),
            phases: phases.into_iter().map(|(p, ph)| (p.to_string(), ph)).collect(),
            id_prefix: None,
        }
    }
}

impl LoadOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The severity of items that do not give one (default [`Severity::Critical`]: an item of a
    /// team's checklist gates unless it says `severity=major` or `minor`).
    pub fn default_severity(mut self, severity: Severity) -> Self {
        self.default_severity = severity;
        self
    }

    /// Sections whose heading's slug matches `pattern` get `phase` (their nested sections
    /// inherit it). `*` matches any run of characters: `"*pre-release*"`. Patterns are tried in
    /// the order given, after the default ones; a section under one that has a phase is not
    /// matched.
    pub fn phase_pattern(mut self, pattern: impl Into<String>, phase: Phase) -> Self {
        self.phases.push((slug_pattern(&pattern.into()), phase));
        self
    }

    /// Forgets every phase pattern, the default ones included.
    pub fn no_phase_patterns(mut self) -> Self {
        self.phases.clear();
        self
    }

    /// Prefixes the ids derived from titles (`payments.pre-deployment.backups-restored`); ids
    /// written in the document (`{#db-backups}`) are kept as written.
    pub fn id_prefix(mut self, prefix: ItemId) -> Self {
        self.id_prefix = Some(prefix);
        self
    }
}

/// A pattern in slug form, keeping its `*`s.
fn slug_pattern(pattern: &str) -> String {
    pattern.split('*').map(slugify).collect::<Vec<_>>().join("*")
}

/// Parses a document in the given syntax with the given options.
///
/// # Errors
/// A [`FormatError`] at the first problem's line and column, or where the document would not
/// read back the same once rendered.
pub fn parse_with(text: &str, syntax: Syntax, options: &LoadOptions) -> Result<Checklist, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut text: std::borrow::Cow<'_, str> =
        if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n").into() } else { text.into() };
    // A last line reads the same with or without its newline (`- [x]` at the end of the file is
    // a task item either way), as it does once rendered.
    if !text.is_empty() && !text.ends_with('\n') {
        text.to_mut().push('\n');
    }
    let checklist = read(&text, syntax, options)?;
    reads_back(&text, syntax, options, &checklist)?;
    Ok(checklist)
}

/// The first line of the first passage, item or section of `a` that `b` does not have the same.
fn landmark(a: &Checklist, b: &Checklist) -> Option<String> {
    fn first_line(t: &str) -> Option<String> {
        t.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
    }
    fn passages(c: &Checklist) -> Vec<&str> {
        let mut out: Vec<&str> = c.passages.iter().map(|p| p.text.as_str()).collect();
        for s in c.all_sections() {
            out.extend(s.passages.iter().map(|p| p.text.as_str()));
        }
        out
    }
    let (pa, pb) = (passages(a), passages(b));
    if let Some(k) = (0..pa.len()).find(|&k| pb.get(k) != Some(&pa[k])) {
        return first_line(pa[k]);
    }
    let (ia, ib): (Vec<_>, Vec<_>) = (a.items().collect(), b.items().collect());
    if let Some(k) = (0..ia.len()).find(|&k| ib.get(k) != Some(&ia[k])) {
        return first_line(&ia[k].title);
    }
    let (sa, sb) = (a.all_sections(), b.all_sections());
    let k = (0..sa.len())
        .find(|&k| sb.get(k).is_none_or(|s| s.title != sa[k].title || s.description != sa[k].description))?;
    first_line(sa[k].description.as_deref().unwrap_or(&sa[k].title))
}

/// Whether `text`, read on its own in `syntax`, is nothing but verbatim content: no heading,
/// label, item, or table or list the model would interpret. A raw block of one syntax inside a
/// document of the other is unwrapped only then, where it cannot change the document around it
/// (a heading in it would add a section and change every id after it).
fn stays_verbatim(text: &str, syntax: Syntax) -> bool {
    thread_local! {
        /// Raw blocks nested in raw blocks being read (each level reads its inside again).
        static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    // Deeper nesting stays wrapped: reading stays bounded in stack and time.
    if DEPTH.with(|d| d.get()) >= 4 {
        return false;
    }
    struct Level;
    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    let _level = Level;
    reads_verbatim(text, syntax)
}

/// [`stays_verbatim`] without the depth bound.
fn reads_verbatim(text: &str, syntax: Syntax) -> bool {
    let text = format!("{}\n", text.trim_end_matches('\n'));
    let blocks = match syntax {
        Syntax::Markdown => markdown::lex(&text),
        _ => lex::lex(&text),
    };
    let Ok(blocks) = blocks else { return false };
    let structural = |b: &lex::Block| {
        matches!(
            b,
            lex::Block::Heading { .. } | lex::Block::Label { .. } | lex::Block::Untitled | lex::Block::Item { .. }
        )
    };
    !blocks.iter().any(structural)
        && assemble::assemble(blocks, syntax, &LoadOptions::default()).is_ok_and(|c| {
            c.thresholds.is_empty()
                && c.sign_off.is_empty()
                && c.rollback.is_empty()
                && c.alert_rules.is_empty()
                && c.key_metrics.is_empty()
        })
}

/// Lexes and assembles a normalized document.
fn read(text: &str, syntax: Syntax, options: &LoadOptions) -> Result<Checklist, FormatError> {
    let blocks = match syntax {
        Syntax::Markdown => markdown::lex(text)?,
        _ => lex::lex(text)?,
    };
    assemble::assemble(blocks, syntax, options)
}

/// Checks that the checklist read from `text` reads back the same once rendered, so that a
/// document is never accepted as something its rendering would not say. Markdown and
/// reStructuredText are context-sensitive: text kept verbatim can read differently in the
/// place the renderer gives it (an indented block after an item joins the item; a tab moves
/// with the spaces before it). Such a document is refused at the first line that would change,
/// rather than loaded as one checklist and rendered as another.
fn reads_back(text: &str, syntax: Syntax, options: &LoadOptions, checklist: &Checklist) -> Result<(), FormatError> {
    let rendered = render::render(checklist, syntax);
    let again = read(&rendered, syntax, options);
    if again.as_ref() == Ok(checklist) {
        return Ok(());
    }
    // What does not come back the same (a passage, an item, else the first rendered line that
    // changes), found again in the source.
    let changed = again.as_ref().ok().and_then(|c| landmark(checklist, c)).or_else(|| {
        let back = again.as_ref().map(|c| render::render(c, syntax)).unwrap_or_default();
        let (a, b): (Vec<&str>, Vec<&str>) = (rendered.lines().collect(), back.lines().collect());
        let at = (0..a.len()).find(|&k| b.get(k) != Some(&a[k]))?;
        a[at..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).map(str::to_string)
    });
    let (line, column) = changed
        .as_deref()
        .and_then(|l| {
            // The source line that reads as this one, else the first place holding it.
            let mut start = 0;
            for source in text.split('\n') {
                if source.trim() == l {
                    return Some(start + source.len() - source.trim_start().len());
                }
                start += source.len() + 1;
            }
            text.find(l)
        })
        .map(|at| {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
            (line, column)
        })
        .unwrap_or((1, 1));
    let name = if syntax == Syntax::Rst { "reStructuredText" } else { "Markdown" };
    let what = match changed.as_deref() {
        Some(l) => {
            let mut l = l.chars().take(60).fold(String::new(), |mut out, c| {
                if c.is_control() {
                    out.extend(c.escape_debug());
                } else {
                    out.push(c);
                }
                out
            });
            if l.contains('`') {
                l = format!(" {l} ");
            }
            format!("`{l}`")
        }
        None => "this document".to_string(),
    };
    Err(FormatError::new(
        line,
        column,
        format!(
            "{what} would not read back the same once rendered ({name} is ambiguous here): set the block off with \
             blank lines, indent it with spaces rather than tabs, or put it in a code block"
        ),
    ))
}

/// Parses a document in the given syntax.
///
/// # Errors
/// A [`FormatError`] at the first problem's line and column.
pub fn parse(text: &str, syntax: Syntax) -> Result<Checklist, FormatError> {
    parse_with(text, syntax, &LoadOptions::default())
}

/// Parses a reStructuredText checklist.
///
/// # Errors
/// A [`FormatError`] at the first problem: an unterminated or ragged table, an item outside any
/// section, an underline that is too short or breaks the section hierarchy, a duplicate item id,
/// a table whose columns are not a capacity or sign-off table, ...
pub fn parse_rst(text: &str) -> Result<Checklist, FormatError> {
    parse(text, Syntax::Rst)
}

/// Parses a Markdown checklist.
///
/// # Errors
/// A [`FormatError`] at the first problem, as for [`parse_rst`].
pub fn parse_markdown(text: &str) -> Result<Checklist, FormatError> {
    parse(text, Syntax::Markdown)
}

/// Renders a checklist in the given syntax.
pub fn render(checklist: &Checklist, syntax: Syntax) -> String {
    render::render(checklist, syntax)
}

/// Renders a checklist as reStructuredText: the source document with ticked boxes, tables and
/// steps in the sections that held them.
pub fn render_rst(checklist: &Checklist) -> String {
    render(checklist, Syntax::Rst)
}

/// Renders a checklist as Markdown.
pub fn render_markdown(checklist: &Checklist) -> String {
    render(checklist, Syntax::Markdown)
}
