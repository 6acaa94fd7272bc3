use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::ModelError;

/// A stable item id: a dotted path of slugs, e.g.
/// `pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested`.
///
/// Ids are derived from titles with [`slugify`] and are unique inside a checklist.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ItemId(String);

impl ItemId {
    /// Parses and validates an id.
    ///
    /// # Errors
    /// [`ModelError::InvalidId`] when the id is empty, has an empty segment, or holds
    /// characters other than `a-z`, `0-9`, `-` and `.`.
    pub fn new(id: impl Into<String>) -> Result<Self, ModelError> {
        let id = id.into();
        let invalid = |reason: &str| ModelError::InvalidId { id: id.clone(), reason: reason.into() };
        if id.is_empty() {
            return Err(invalid("it is empty"));
        }
        if id.split('.').any(str::is_empty) {
            return Err(invalid("it has an empty segment"));
        }
        if let Some(c) = id.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
        {
            return Err(invalid(&format!("character `{c}` is not allowed (use a-z, 0-9, `-`, `.`)")));
        }
        Ok(Self(id))
    }

    /// Builds an id from path segments, slugifying each one.
    pub fn from_path<S: AsRef<str>>(segments: &[S]) -> Self {
        let parts: Vec<String> = segments.iter().map(|s| slugify(s.as_ref())).filter(|s| !s.is_empty()).collect();
        Self(parts.join("."))
    }

    /// A child id: `self` + `.` + slug of `title`.
    pub fn child(&self, title: &str) -> Self {
        let slug = slugify(title);
        if self.0.is_empty() { Self(slug) } else { Self(format!("{}.{}", self.0, slug)) }
    }

    /// A child id from an already slugified segment.
    pub(crate) fn join(&self, slug: &str) -> Self {
        if self.0.is_empty() { Self(slug.to_string()) } else { Self(format!("{}.{}", self.0, slug)) }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment (the item's own slug).
    pub fn leaf(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ItemId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for ItemId {
    type Error = ModelError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Borrow<str> for ItemId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ItemId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ItemId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ItemId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for ItemId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ItemId::new(s).map_err(serde::de::Error::custom)
    }
}

/// Turns a title into a slug: lowercase ASCII letters and digits, words joined by `-`.
///
/// Parenthesised qualifiers such as "(if needed)" and "(S3/GCS/Azure Blob)" are dropped so that
/// ids stay short and stable; `/` and other punctuation separate words.
///
/// ```
/// use nexus_readiness::model::slugify;
/// assert_eq!(slugify("GPU nodes provisioned and tested"), "gpu-nodes-provisioned-and-tested");
/// assert_eq!(slugify("Startup probe configured (if needed)"), "startup-probe-configured");
/// assert_eq!(slugify("Resource limits set (CPU/Memory/GPU)"), "resource-limits-set");
/// assert_eq!(slugify("GDPR/privacy compliance verified"), "gdpr-privacy-compliance-verified");
/// ```
pub fn slugify(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut depth = 0usize;
    let mut pending_dash = false;
    for c in title.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_ascii_alphanumeric() => {
                if pending_dash && !out.is_empty() {
                    out.push('-');
                }
                pending_dash = false;
                out.push(c.to_ascii_lowercase());
            }
            '\'' | '’' => {}
            _ => pending_dash = true,
        }
    }
    out
}
