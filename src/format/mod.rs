//! Checklist documents: parse reStructuredText and Markdown into a [`Checklist`](crate::model::Checklist), render it back.

use thiserror::Error;

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
