//! A light position index over a YAML document: the line and column of every mapping key in
//! block style, by JSON pointer (`/spec/template/spec/containers/0/image`), so a finding can
//! name `file:line:column` of the field it is about.
//!
//! The YAML parser (serde_norway) gives positions only for errors, so this reads the text
//! once more, line by line, tracking indentation: block mappings and sequences (including
//! sequences at the indentation of their key), quoted keys, block scalars (`|`, `>`) and
//! comments. Flow collections (`{a: 1}`, `[1, 2]`) are not entered: a field inside one is
//! located at the key holding the collection. A pointer that is not in the index resolves to
//! its nearest ancestor that is, and at worst to the document's first line.

use std::collections::HashMap;

/// Field positions of one YAML document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YamlIndex {
    /// The line of the document's first line of content in its file, from 1.
    start: usize,
    /// JSON pointer -> (line, column), both from 1.
    keys: HashMap<String, (usize, usize)>,
    /// (pointer of a sequence, value of `name` in an item) -> pointer of the item.
    named: HashMap<(String, String), String>,
}

#[derive(Debug)]
struct Frame {
    indent: usize,
    pointer: String,
    item: bool,
}

/// Escapes one JSON pointer segment (`~` -> `~0`, `/` -> `~1`).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Splits `key: value` into the key (unquoted) and the rest after the colon, when the text is
/// a block mapping entry.
fn split_key(text: &str) -> Option<(String, &str)> {
    let first = text.chars().next()?;
    if first == '"' || first == '\'' {
        let close = text[1..].find(first)? + 1;
        let key = text[1..close].to_string();
        let rest = text[close + 1..].trim_start();
        let value = rest.strip_prefix(':')?;
        return (value.is_empty() || value.starts_with([' ', '\t'])).then_some((key, value));
    }
    if matches!(first, '{' | '[' | '#' | '|' | '>' | '&' | '*' | '!' | '%' | '@' | '`') {
        return None;
    }
    let mut search = 0;
    while let Some(i) = text[search..].find(':') {
        let at = search + i;
        let after = &text[at + 1..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            let key = text[..at].trim_end();
            if key.contains(" #") {
                return None;
            }
            return Some((key.to_string(), after));
        }
        search = at + 1;
    }
    None
}

fn unquote(v: &str) -> String {
    let v = v.split(" #").next().unwrap_or("").trim();
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

impl YamlIndex {
    /// Indexes `text`, a YAML document whose first line is line `start` (from 1) of its file.
    pub fn new(text: &str, start: usize) -> Self {
        let mut idx = YamlIndex { start, ..YamlIndex::default() };
        let mut stack: Vec<Frame> = Vec::new();
        let mut counters: HashMap<String, usize> = HashMap::new();
        let mut block_scalar: Option<usize> = None;
        let mut first = true;
        for (i, raw) in text.lines().enumerate() {
            let line_no = start + i;
            let line = raw.trim_end_matches('\r');
            let trimmed = line.trim_start_matches(' ');
            let mut col = line.len() - trimmed.len();
            if let Some(indent) = block_scalar {
                if trimmed.is_empty() || col > indent {
                    continue;
                }
                block_scalar = None;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") || trimmed == "..." {
                continue;
            }
            if first {
                // The document's position is its first line of content, not a leading comment.
                idx.start = line_no;
                first = false;
            }
            let mut rest = trimmed;
            // Sequence items, possibly nested on one line (`- - a`, `- name: x`).
            while rest == "-" || rest.starts_with("- ") {
                while stack.last().is_some_and(|f| f.indent > col || (f.indent == col && f.item)) {
                    stack.pop();
                }
                let parent = stack.last().map(|f| f.pointer.clone()).unwrap_or_default();
                let n = counters.entry(parent.clone()).or_insert(0);
                let pointer = format!("{parent}/{n}");
                *n += 1;
                idx.keys.entry(pointer.clone()).or_insert((line_no, col + 1));
                stack.push(Frame { indent: col, pointer, item: true });
                let after = &rest[1..];
                let spaces = after.len() - after.trim_start_matches(' ').len();
                col += 1 + spaces;
                rest = after.trim_start_matches(' ');
                if rest.is_empty() {
                    break;
                }
            }
            let Some((key, value)) = split_key(rest) else { continue };
            while stack.last().is_some_and(|f| f.indent >= col) {
                stack.pop();
            }
            let parent = stack.last();
            let parent_pointer = parent.map(|f| f.pointer.clone()).unwrap_or_default();
            let pointer = format!("{parent_pointer}/{}", escape(&key));
            idx.keys.entry(pointer.clone()).or_insert((line_no, col + 1));
            if key == "name"
                && let Some(item) = parent.filter(|f| f.item)
                && let Some((seq, _)) = item.pointer.rsplit_once('/')
            {
                let v = unquote(value);
                if !v.is_empty() {
                    idx.named.entry((seq.to_string(), v)).or_insert_with(|| item.pointer.clone());
                }
            }
            let v = value.trim_start();
            if v.starts_with('|') || v.starts_with('>') {
                block_scalar = Some(col);
            }
            stack.push(Frame { indent: col, pointer, item: false });
        }
        idx
    }

    /// The position of `pointer`, if indexed.
    pub fn get(&self, pointer: &str) -> Option<(usize, usize)> {
        if pointer.is_empty() {
            return Some((self.start, 1));
        }
        self.keys.get(pointer).copied()
    }

    /// The pointer of the item of sequence `seq` whose `name` is `name`.
    pub fn named(&self, seq: &str, name: &str) -> Option<&str> {
        self.named.get(&(seq.to_string(), name.to_string())).map(String::as_str)
    }

    /// Walks `segments` (dotted field names such as `metadata.labels.app.kubernetes.io/name`
    /// split on dots) from `base`, joining segments where a key holds dots, and stepping into
    /// sequence items by their `name`. Returns the deepest pointer found and whether the whole
    /// path was found.
    pub fn walk(&self, base: &str, segments: &[&str]) -> (String, bool) {
        let mut cur = base.to_string();
        let mut i = 0;
        'outer: while i < segments.len() {
            for j in (i + 1..=segments.len()).rev() {
                let key = segments[i..j].join(".");
                let p = format!("{cur}/{}", escape(&key));
                if self.keys.contains_key(&p) {
                    cur = p;
                    i = j;
                    continue 'outer;
                }
                if let Some(item) = self.named(&cur, &key) {
                    cur = item.to_string();
                    i = j;
                    continue 'outer;
                }
            }
            return (cur, false);
        }
        (cur, true)
    }

    /// The position of `pointer`, or of its nearest indexed ancestor, or the document start.
    pub fn locate(&self, pointer: &str) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.get(p) {
                return pos;
            }
            match p.rsplit_once('/') {
                Some((parent, _)) => p = parent,
                None => return (self.start, 1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api   # the name
  labels:
    app.kubernetes.io/name: api
spec:
  template:
    spec:
      containers:
      - name: server
        image: "nexus/api:1"
        command:
        - run
        - --fast
        env:
          - name: DB_PASSWORD
            value: x
          - name: "LOG_LEVEL"
            value: |
              info
              name: not-a-key
        resources: {limits: {cpu: 1}}
      - name: sidecar
        image: envoy
      initContainers:
      - name: migrate
"#;

    #[test]
    fn keys_items_and_names_are_located() {
        let idx = YamlIndex::new(DOC, 10);
        assert_eq!(idx.get("/kind"), Some((11, 1)));
        assert_eq!(idx.get("/metadata/name"), Some((13, 3)));
        assert_eq!(idx.get("/metadata/labels/app.kubernetes.io~1name"), Some((15, 5)));
        assert_eq!(idx.get("/spec/template/spec/containers/0"), Some((20, 7)));
        assert_eq!(idx.get("/spec/template/spec/containers/0/image"), Some((21, 9)));
        assert_eq!(idx.get("/spec/template/spec/containers/0/command/1"), Some((24, 9)));
        assert_eq!(idx.get("/spec/template/spec/containers/0/env/1/value"), Some((29, 13)));
        assert_eq!(idx.get("/spec/template/spec/containers/0/env/1/value/name"), None, "inside a block scalar");
        assert_eq!(idx.get("/spec/template/spec/containers/1/image"), Some((34, 9)));
        assert_eq!(idx.get("/spec/template/spec/initContainers/0/name"), Some((36, 9)));
        let c = "/spec/template/spec/containers";
        assert_eq!(idx.named(c, "sidecar"), Some("/spec/template/spec/containers/1"));
        assert_eq!(idx.walk(c, &["server", "env", "LOG_LEVEL"]).0, "/spec/template/spec/containers/0/env/1");
        let (p, full) = idx.walk("", &["metadata", "labels", "app", "kubernetes", "io/name"]);
        assert!(full);
        assert_eq!(idx.get(&p), Some((15, 5)));
        // Flow collections resolve to their key.
        let (p, full) = idx.walk(c, &["server", "resources", "limits", "cpu"]);
        assert!(!full);
        assert_eq!(idx.locate(&p), (32, 9));
        assert_eq!(idx.locate("/nope/deeper"), (10, 1));
    }

    #[test]
    fn odd_text_never_panics() {
        for text in [
            "",
            "-",
            "- -\n  - - x: y",
            "\"unterminated: x",
            "'a''b': 1",
            "é: ü\n  ß: 1\n- ✓",
            "a:b:c\nkey: |\n\tx\n: \n:",
            "\t- a: 1\n   - b",
            "\"\": 1\n'': 2",
            "- name: \"\n- name: '",
        ] {
            let idx = YamlIndex::new(text, 1);
            let _ = idx.locate("/a/b/0");
            let _ = idx.walk("", &["a", "b", "c"]);
        }
    }
}
