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
//! parsed document and parsing it again gives an equal checklist.
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
/// [`Phase::Continuous`]; items default to [`Severity::Major`] and ids have no prefix.
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

    /// The severity of items that do not give one (default [`Severity::Major`]).
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
/// A [`FormatError`] at the first problem's line and column.
pub fn parse_with(text: &str, syntax: Syntax, options: &LoadOptions) -> Result<Checklist, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut text: std::borrow::Cow<'_, str> =
        if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n").into() } else { text.into() };
    // A last line reads the same with or without its newline (`- [x]` at the end of the file is
    // a task item either way), as it does once rendered.
    if !text.is_empty() && !text.ends_with('\n') {
        text.to_mut().push('\n');
    }
    let blocks = match syntax {
        Syntax::Markdown => markdown::lex(&text)?,
        _ => lex::lex(&text)?,
    };
    assemble::assemble(blocks, syntax, options)
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
