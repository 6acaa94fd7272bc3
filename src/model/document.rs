//! How a checklist document is laid out: the syntax it is written in, the content the model does
//! not interpret ([`Passage`]s, kept verbatim) and the order of a section's content ([`Part`]s).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Block;

/// The syntax of a checklist document (also re-exported as `format::Syntax`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// Document content the model does not interpret (a code block, a plain list, a note, a table
/// of another shape, a comment, front matter, ...): kept verbatim, in the syntax it was written
/// in, and rendered back in place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Passage {
    /// The syntax the text is written in.
    pub syntax: Syntax,
    /// The source text, without the indentation of its container and without trailing blank
    /// lines.
    pub text: String,
}

impl Passage {
    /// A passage of `text` written in `syntax`.
    pub fn new(syntax: Syntax, text: impl Into<String>) -> Self {
        Passage { syntax, text: text.into() }
    }
}

/// One piece of a section's (or the document's) content, in document order.
///
/// A [`Section`](super::Section) or [`Checklist`](super::Checklist) with an empty `layout` is
/// rendered in the default order: description, items, blocks (and, for the document, the title
/// first). A parsed document records a layout only where its order differs from that, or where it
/// holds passages. Indexes that point nowhere are skipped, and content no part names is rendered
/// after the parts, so a layout never hides an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Part {
    /// The document title (document layouts only: what comes before it is a preamble).
    Title,
    /// The description paragraphs.
    Description,
    /// The item at this index of `items` (a child item renders under its parent).
    Item(usize),
    /// A checklist-wide block.
    Block(Block),
    /// The passage at this index of `passages`.
    Passage(usize),
}
