use std::fmt;
use std::ops::Range;

use thiserror::Error;

/// What kind of mistake a config file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key the config does not know (top-level section, target, spec field).
    UnknownKey,
    /// A value of the wrong type or out of range (including an invalid duration).
    InvalidValue,
    /// A required key is missing.
    MissingKey,
    /// An item id the checklist does not have.
    UnknownItem,
    /// A probe kind nobody registered.
    UnknownKind,
    /// `${env:NAME}` names a variable that is not set.
    MissingEnv,
    /// A waiver without an `expires` date.
    WaiverWithoutExpiry,
    /// A probe spec that does not build (the probe's own check of its settings).
    InvalidProbe,
    /// The item cannot take the entry (an always-applicable item marked not applicable).
    Plan,
}

/// A config file is invalid: says which file, where (line and column), which key, and why.
///
/// ```text
/// nexus.toml:12:11: targets.redis.timeout: invalid duration `5 parsecs`: unknown unit `parsecs` (use ms, s, m, h, d)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub struct ConfigError {
    /// The kind of mistake.
    pub kind: ConfigErrorKind,
    /// The file (or the name given to [`Config::from_str_named`](super::Config::from_str_named)).
    pub file: String,
    /// Line (1-based), when known.
    pub line: Option<u32>,
    /// Column (1-based, in characters), when known.
    pub column: Option<u32>,
    /// The dotted key (`targets.redis.password`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The closest valid names (item ids, probe kinds, keys), best first.
    pub suggestions: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)?;
        if !self.suggestions.is_empty() {
            let list: Vec<String> = self.suggestions.iter().map(|s| format!("`{s}`")).collect();
            write!(f, "; did you mean {}?", list.join(", "))?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, file: &str, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            file: file.to_string(),
            line: None,
            column: None,
            key: None,
            message: message.into(),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn at(mut self, loc: &Location) -> Self {
        self.line = Some(u32::try_from(loc.line).unwrap_or(u32::MAX));
        self.column = Some(u32::try_from(loc.column).unwrap_or(u32::MAX));
        if self.key.is_none() && !loc.key.is_empty() {
            self.key = Some(loc.key.clone());
        }
        self
    }

    pub(crate) fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub(crate) fn suggest(mut self, suggestions: Vec<String>) -> Self {
        self.suggestions = suggestions;
        self
    }
}

/// Where something was written in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Location {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) key: String,
}

impl Location {
    pub(crate) fn new(text: &str, span: &Range<usize>, key: impl Into<String>) -> Self {
        let (line, column) = line_col(text, span.start);
        Location { line, column, key: key.into() }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// The closest candidates to `name` (normalized Levenshtein, best first, at most `n`, only
/// reasonably close ones, and only those about as close as the best).
pub(crate) fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| {
            let full = strsim::normalized_levenshtein(name, c);
            let leaf = strsim::normalized_levenshtein(
                name.rsplit('.').next().unwrap_or(name),
                c.rsplit('.').next().unwrap_or(c),
            );
            (full.max(leaf), c)
        })
        .filter(|(s, _)| *s >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    // Only names about as close as the best one: a clear winner is suggested alone.
    let best = scored.first().map_or(0.0, |s| s.0);
    scored.into_iter().take_while(|(s, _)| best - s <= 0.1).take(n).map(|(_, c)| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nb = \"é\"x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('x').unwrap()), (2, 8));
    }

    #[test]
    fn display_has_file_line_key_and_suggestions() {
        let e = ConfigError::new(ConfigErrorKind::UnknownKind, "nexus.toml", "unknown probe kind `rediss`")
            .at(&Location { line: 3, column: 8, key: "bindings.x.kind".into() })
            .suggest(vec!["redis".into()]);
        assert_eq!(
            e.to_string(),
            "nexus.toml:3:8: bindings.x.kind: unknown probe kind `rediss`; did you mean `redis`?"
        );
    }
}
