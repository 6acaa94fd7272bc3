//! Item attributes written in the document: a trailing attribute list
//! `{#db-backups severity=blocker phase=pre-deployment tags=backup,storage after=dns-ok}` or the
//! same inside an HTML comment (`<!-- #db-backups severity=blocker -->`, invisible on GitHub) in
//! either syntax, and a field list (`:severity: blocker`) in a reStructuredText item's body.

use std::str::FromStr;

use super::FormatError;
use super::lex::Pos;
use crate::model::{Item, ItemId, Phase, Severity, Verification};

/// The attribute keys, in the order they are written back.
pub(crate) const KEYS: [&str; 6] = ["id", "severity", "phase", "verification", "tags", "after"];

/// Text assembled from source lines, remembering where each line started so that an offset in
/// the text maps back to a line and column.
#[derive(Clone, Debug, Default)]
pub(crate) struct Spanned {
    pub(crate) text: String,
    marks: Vec<(usize, Pos)>,
}

impl Spanned {
    /// Appends a piece of one source line that starts at `pos`.
    pub(crate) fn push(&mut self, piece: &str, pos: Pos) {
        self.marks.push((self.text.len(), pos));
        self.text.push_str(piece);
    }

    /// Appends a separator that is not in the source (a space joining two lines).
    pub(crate) fn push_sep(&mut self, sep: &str) {
        self.text.push_str(sep);
    }

    /// The source position of a byte offset of `text`.
    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let k = self.marks.partition_point(|(start, _)| *start <= offset);
        let Some((start, pos)) = k.checked_sub(1).and_then(|k| self.marks.get(k)) else {
            return self.marks.first().map_or(Pos { line: 1, column: 1 }, |m| m.1);
        };
        let end = offset.min(self.text.len());
        let chars = self.text.get(*start..end).map_or(0, |s| s.chars().count());
        Pos { line: pos.line, column: pos.column + chars }
    }
}

/// One attribute as written: key, raw value, and where each starts.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) pos: Pos,
    pub(crate) value_pos: Pos,
}

/// Typed attributes of one item.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) id: Option<(ItemId, Pos)>,
    pub(crate) severity: Option<Severity>,
    pub(crate) phase: Option<Phase>,
    pub(crate) verification: Option<Verification>,
    pub(crate) tags: Vec<String>,
    pub(crate) after: Vec<(ItemId, Pos)>,
}

/// Splits `s` at whitespace outside double quotes; returns each token with its byte offset.
fn tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let mut escaped = false;
    for (k, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => {
                quoted = !quoted;
                start.get_or_insert(k);
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(b) = start.take() {
                    out.push((b, &s[b..k]));
                }
            }
            _ => {
                start.get_or_insert(k);
            }
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}

/// Whether a token reads as an attribute (`#id` or `key=value`).
fn attr_like(token: &str) -> bool {
    token.starts_with('#')
        || token
            .split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// The fields of an attribute list's inside, when its first token reads as an attribute.
fn fields_of(inner: &str, at: usize, spanned: &Spanned) -> Result<Option<Vec<Field>>, FormatError> {
    let toks = tokens(inner);
    if toks.is_empty() || !attr_like(toks[0].1) {
        return Ok(None);
    }
    let mut fields = Vec::new();
    for (off, tok) in toks {
        let pos = spanned.pos(at + off);
        if let Some(id) = tok.strip_prefix('#') {
            fields.push(Field { key: "id".into(), value: id.to_string(), pos, value_pos: spanned.pos(at + off + 1) });
        } else if let Some((k, v)) = tok.split_once('=') {
            let value_pos = spanned.pos(at + off + k.len() + 1);
            fields.push(Field { key: k.to_string(), value: v.to_string(), pos, value_pos });
        } else {
            return Err(pos.error(format!(
                "attribute `{tok}` has no value: write `#id` or `key=value` (keys: {})",
                KEYS.join(", ")
            )));
        }
    }
    Ok(Some(fields))
}

/// Splits the trailing attribute lists (`{...}` or `<!-- ... -->`, one or more) off an item's
/// title; their fields come in the order written.
///
/// A trailing `{...}` or comment whose first token is not `#id` or `key=value` is part of the
/// title.
pub(crate) fn split(spanned: &Spanned) -> Result<(String, Vec<Field>), FormatError> {
    let mut end = spanned.text.trim_end().len();
    let mut fields: Vec<Field> = Vec::new();
    // One list after another (`{#id} {severity=blocker}`, or a list on a lazy continuation line
    // after one on the item's line): the title never ends with text that reads as attributes.
    while let Some((head, more)) = split_one(&spanned.text[..end], spanned)? {
        fields.splice(0..0, more);
        end = head;
    }
    Ok((spanned.text[..end].to_string(), fields))
}

/// The last attribute list of `t` (a prefix of the title, trimmed at its end): the length of
/// the title before it, and its fields.
fn split_one(t: &str, spanned: &Spanned) -> Result<Option<(usize, Vec<Field>)>, FormatError> {
    if let Some(head) = t.strip_suffix("-->")
        && let Some(open) = head.rfind("<!--")
    {
        let inner_start = open + 4;
        let mut inner = &head[inner_start..];
        let mut at = inner_start;
        let trimmed = inner.trim();
        if let Some(b) = trimmed.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            at += inner.find('{').unwrap_or(0) + 1;
            inner = b;
        }
        if let Some(fields) = fields_of(inner, at, spanned)? {
            return Ok(Some((head[..open].trim_end().len(), fields)));
        }
    }
    if let Some(head) = t.strip_suffix('}') {
        // The opening brace is the rightmost one after a space whose inside reads as attributes
        // (a quoted value may hold braces of its own).
        let opens = head.match_indices('{').map(|(k, _)| k).rev();
        for open in opens.filter(|&k| k == 0 || head[..k].ends_with(char::is_whitespace)) {
            if let Some(fields) = fields_of(&head[open + 1..], open + 1, spanned)? {
                return Ok(Some((head[..open].trim_end().len(), fields)));
            }
        }
    }
    Ok(None)
}

/// A field list line of a reStructuredText item body: `:severity: blocker`, for a known key.
pub(crate) fn rst_field(line: &str, pos: Pos) -> Option<Field> {
    let rest = line.strip_prefix(':')?;
    let (key, value) = rest.split_once(':')?;
    if !KEYS.contains(&key) || !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    let lead = value.len() - value.trim_start().len();
    Some(Field {
        key: key.to_string(),
        value: value.trim().to_string(),
        pos,
        value_pos: Pos { line: pos.line, column: pos.column + key.chars().count() + 2 + lead },
    })
}

/// A value without its quotes and escapes.
fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) if v.len() >= 2 => {
            let mut out = String::new();
            let mut esc = false;
            for c in inner.chars() {
                if esc {
                    out.push(c);
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => v.to_string(),
    }
}

/// A comma-separated list, each element possibly quoted; with each element's byte offset.
fn list(v: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut esc = false;
    for (k, c) in v.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' if quoted => esc = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push((start, &v[start..k]));
                start = k + 1;
            }
            _ => {}
        }
    }
    out.push((start, &v[start..]));
    out.into_iter()
        .map(|(o, s)| (o + (s.len() - s.trim_start().len()), unquote(s)))
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

fn shift(pos: Pos, value: &str, offset: usize) -> Pos {
    Pos { line: pos.line, column: pos.column + value.get(..offset).map_or(0, |s| s.chars().count()) }
}

/// Validates fields into typed attributes.
pub(crate) fn parse(fields: &[Field]) -> Result<Attrs, FormatError> {
    let mut a = Attrs::default();
    let mut seen: Vec<&str> = Vec::new();
    for f in fields {
        let key = f.key.as_str();
        if !KEYS.contains(&key) {
            return Err(f.pos.error(format!("unknown attribute `{key}`: expected one of {}", KEYS.join(", "))));
        }
        if seen.contains(&key) {
            return Err(f.pos.error(format!("attribute `{key}` is given twice")));
        }
        seen.push(key);
        let value = unquote(&f.value);
        let bad = |what: &str| f.value_pos.error(format!("invalid {key} `{value}`: {what}"));
        match key {
            "id" => {
                let id = ItemId::new(value.as_str()).map_err(|e| match e {
                    crate::model::ModelError::InvalidId { reason, .. } => bad(&reason),
                    other => bad(&other.to_string()),
                })?;
                a.id = Some((id, f.pos));
            }
            "severity" => {
                a.severity = Some(
                    Severity::ALL
                        .into_iter()
                        .find(|s| s.as_str().eq_ignore_ascii_case(&value))
                        .ok_or_else(|| bad("expected blocker, critical, major or minor"))?,
                );
            }
            "phase" => {
                a.phase = Some(
                    Phase::from_str(&value)
                        .map_err(|_| bad("expected pre-deployment, deployment, post-deployment or continuous"))?,
                );
            }
            "verification" => {
                a.verification = Some(match value.to_ascii_lowercase().as_str() {
                    "probe" => Verification::Probe,
                    "attestation" | "attestation-only" | "manual" => Verification::Attestation,
                    _ => return Err(bad("expected probe or attestation")),
                });
            }
            "tags" => {
                a.tags = list(&f.value).into_iter().map(|(_, t)| t).collect();
                if a.tags.is_empty() {
                    return Err(bad("expected a comma-separated list of tags"));
                }
            }
            _ => {
                for (off, id) in list(&f.value) {
                    let id =
                        ItemId::new(id.as_str()).map_err(|e| shift(f.value_pos, &f.value, off).error(e.to_string()))?;
                    a.after.push((id, shift(f.value_pos, &f.value, off)));
                }
                if a.after.is_empty() {
                    return Err(bad("expected a comma-separated list of item ids"));
                }
            }
        }
    }
    Ok(a)
}

/// A value as written back: bare when it is safe, else quoted.
fn quote(v: &str) -> String {
    let safe = !v.is_empty()
        && !v.starts_with('#')
        && v.chars().all(|c| !c.is_whitespace() && !matches!(c, '"' | '{' | '}' | ',' | '\\' | '=' | '<' | '>'));
    if safe {
        v.to_string()
    } else {
        let mut s = String::from("\"");
        for c in v.chars() {
            // A brace is escaped too: unescaped, `{tags="a {b=c"}` would end in a list of its own.
            if matches!(c, '"' | '\\' | '{' | '}') {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

/// The attributes an item carries beyond what a document infers by default, as `(key, value)`
/// pairs in [`KEYS`] order; `derived` is the id the item would get from its position.
pub(crate) fn written(item: &Item, derived: &ItemId) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if &item.id != derived {
        out.push(("id", item.id.to_string()));
    }
    if item.severity != Severity::default() {
        out.push(("severity", item.severity.as_str().to_string()));
    }
    if let Some(p) = item.phase {
        out.push(("phase", p.as_str().to_string()));
    }
    if item.verification != Verification::default() {
        out.push(("verification", "attestation".to_string()));
    }
    if !item.tags.is_empty() {
        out.push(("tags", item.tags.iter().map(|t| quote(t)).collect::<Vec<_>>().join(",")));
    }
    if !item.after.is_empty() {
        out.push(("after", item.after.iter().map(ItemId::to_string).collect::<Vec<_>>().join(",")));
    }
    out
}

/// A trailing attribute list: ` {#id severity=blocker}`, or empty.
pub(crate) fn inline(pairs: &[(&'static str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> =
        pairs.iter().map(|(k, v)| if *k == "id" { format!("#{v}") } else { format!("{k}={v}") }).collect();
    format!(" {{{}}}", parts.join(" "))
}
