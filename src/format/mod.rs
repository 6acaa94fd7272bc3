//! Checklist documents: parse reStructuredText and Markdown into a [`Checklist`], render it back.
//!
//! Both syntaxes describe the same things:
//!
//! | element | reStructuredText | Markdown |
//! |---|---|---|
//! | checklist id | `.. _production_checklist:` before the title | `<a id="production_checklist"></a>` |
//! | title, sections | underlined headings, styles in order of appearance (`=`, `-`, `~`) | `#`, `##`, `###` |
//! | items | `- [ ] text`, `- [x] text` (ticked) | the same |
//! | capacity thresholds | grid, simple or pipe table `Metric \| Current \| Threshold \| Action` | pipe table |
//! | key metrics, alerting rules | bullets after `Key metrics to monitor:` / `Recommended alerting rules:` | the same |
//! | rollback plan | numbered steps with `.. code-block:: bash` or bullets | numbered steps with a fenced block or bullets |
//! | sign-off | table `Role \| Name \| Date \| Signature` | pipe table |
//!
//! Item ids are the slugs of the section path and the item title
//! (`pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested`); a trailing "(if needed)"
//! or "(if applicable)" sets the item's [`Applicability`](crate::model::Applicability).
//! Top-level sections named Pre-Deployment, Deployment and Post-Deployment get their
//! [`Phase`](crate::model::Phase); Capacity Planning, Monitoring Dashboards and Compliance are
//! [`Phase::Continuous`](crate::model::Phase::Continuous).
//!
//! A malformed document is a [`FormatError`] with its line and column, never a panic and never a
//! silently dropped item. Rendering a parsed document and parsing it again gives an equal
//! checklist.
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

use std::path::Path;

use thiserror::Error;

use crate::model::Checklist;

mod assemble;
mod lex;
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

/// The syntax of a checklist document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syntax {
    /// reStructuredText (`.rst`, `.rest`, `.txt`).
    Rst,
    /// Markdown (`.md`, `.markdown`).
    Markdown,
}

impl Syntax {
    /// The syntax a file name's extension stands for, if known.
    ///
    /// ```
    /// use nexus_readiness::format::Syntax;
    /// assert_eq!(Syntax::from_path("docs/checklist.md"), Some(Syntax::Markdown));
    /// assert_eq!(Syntax::from_path("production_checklist.rst"), Some(Syntax::Rst));
    /// assert_eq!(Syntax::from_path("checklist.yaml"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<Syntax> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "rst" | "rest" | "txt" => Some(Syntax::Rst),
            "md" | "markdown" => Some(Syntax::Markdown),
            _ => None,
        }
    }
}

/// Parses a document in the given syntax.
///
/// # Errors
/// A [`FormatError`] at the first problem's line and column.
pub fn parse(text: &str, syntax: Syntax) -> Result<Checklist, FormatError> {
    assemble::assemble(lex::lex(text, syntax)?)
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
