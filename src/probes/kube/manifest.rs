//! Reading manifests from disk into a [`Snapshot`]: multi-document YAML (or JSON) files and
//! directories of them, each document dispatched on `apiVersion`/`kind` into k8s-openapi types.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::source::{Origin, Snapshot};
use crate::probe::ProbeError;

/// A manifest that could not be read or parsed, with file, document index and line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestError {
    /// The file.
    pub path: PathBuf,
    /// The document in the file, from 1 (0 when the file itself could not be read).
    pub document: usize,
    /// The line in the file, from 1 (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if self.document > 0 {
            write!(f, " (document {})", self.document)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ManifestError {}

impl From<ManifestError> for ProbeError {
    fn from(e: ManifestError) -> Self {
        ProbeError::misconfigured(e.to_string())
    }
}

/// Reads every `.yaml`, `.yml` and `.json` file under `paths` (files, or directories walked
/// recursively in name order) into a manifest [`Snapshot`]. Objects without a namespace get
/// `default_namespace`. Unknown kinds are skipped with a note in [`Snapshot::notes`]; Secret
/// data is dropped.
///
/// # Errors
/// The first file that cannot be read or document that cannot be parsed.
pub fn load(paths: &[PathBuf], default_namespace: &str) -> Result<Snapshot, ManifestError> {
    let mut snap = Snapshot::new(Origin::Manifests);
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(ManifestError {
            path: paths.first().cloned().unwrap_or_default(),
            document: 0,
            line: 0,
            message: "no .yaml, .yml or .json manifest found".into(),
        });
    }
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| ManifestError {
            path: f.clone(),
            document: 0,
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        load_str(&mut snap, &f, &text, default_namespace)?;
    }
    Ok(snap)
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let err = |e: std::io::Error| ManifestError {
        path: p.to_path_buf(),
        document: 0,
        line: 0,
        message: format!("cannot read: {e}"),
    };
    let meta = std::fs::metadata(p).map_err(err)?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(p).map_err(err)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                collect_files(&e, out)?;
            } else if e.extension().and_then(|x| x.to_str()).is_some_and(|x| matches!(x, "yaml" | "yml" | "json")) {
                out.push(e);
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// Splits a YAML stream on `---` lines (a `---` at column 0 is always a document marker: block
/// scalars are indented), giving each document's text and first line (from 1).
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let is_end = line == "..." || line.starts_with("... ");
        if is_marker || is_end {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            if is_marker {
                // `--- {inline}` keeps the content after the marker on its line.
                let rest = line[3..].trim_start();
                if !rest.is_empty() {
                    cur.push_str(rest);
                    cur.push('\n');
                    start = i + 1;
                }
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push((start, cur));
    docs
}

/// Parses one YAML stream (the text of `path`) into `snap`.
///
/// # Errors
/// The first document that cannot be parsed.
pub fn load_str(snap: &mut Snapshot, path: &Path, text: &str, default_namespace: &str) -> Result<(), ManifestError> {
    let mut index = 0;
    for (line, doc) in split_documents(text) {
        if doc.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        }) {
            continue;
        }
        index += 1;
        let value: serde_json::Value = serde_norway::from_str(&doc).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            document: index,
            line: line + e.location().map(|l| l.line().saturating_sub(1)).unwrap_or(0),
            message: format!("invalid YAML: {e}"),
        })?;
        if value.is_null() {
            continue;
        }
        let at = Position { path, document: index, line };
        add_object(snap, value, &at, default_namespace)?;
    }
    Ok(())
}

struct Position<'a> {
    path: &'a Path,
    document: usize,
    line: usize,
}

impl Position<'_> {
    fn error(&self, message: String) -> ManifestError {
        ManifestError { path: self.path.to_path_buf(), document: self.document, line: self.line, message }
    }
}

fn typed<T: DeserializeOwned>(value: serde_json::Value, at: &Position<'_>, what: &str) -> Result<T, ManifestError> {
    serde_json::from_value(value).map_err(|e| at.error(format!("invalid {what}: {e}")))
}

fn fill_ns(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, ns: &str) {
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some(ns.to_string());
    }
}

fn add_object(snap: &mut Snapshot, value: serde_json::Value, at: &Position<'_>, ns: &str) -> Result<(), ManifestError> {
    let Some(obj) = value.as_object() else {
        return Err(at.error("a manifest document must be a mapping with apiVersion and kind".into()));
    };
    let api_version = obj.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let kind = obj.get("kind").and_then(|v| v.as_str()).unwrap_or("").to_string();
    if api_version.is_empty() || kind.is_empty() {
        return Err(at.error("missing apiVersion or kind".into()));
    }
    let name = obj.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str()).unwrap_or("").to_string();
    let what = format!("{kind} {name:?}");
    macro_rules! push {
        ($field:ident) => {{
            snap.$field.push(typed(value, at, &what)?);
            let o = snap.$field.last_mut().expect("just pushed");
            fill_ns(&mut o.metadata, ns);
        }};
    }
    match (api_version.as_str(), kind.as_str()) {
        ("apps/v1", "Deployment") => push!(deployments),
        ("apps/v1", "StatefulSet") => push!(stateful_sets),
        ("apps/v1", "DaemonSet") => push!(daemon_sets),
        ("apps/v1", "ReplicaSet") => push!(replica_sets),
        ("v1", "Pod") => push!(pods),
        ("v1", "Service") => push!(services),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => push!(hpas),
        ("networking.k8s.io/v1", "NetworkPolicy") => push!(network_policies),
        ("v1", "ConfigMap") => push!(config_maps),
        ("v1", "ServiceAccount") => push!(service_accounts),
        ("v1", "Namespace") => {
            let n = typed(value, at, &what)?;
            snap.namespaces.push(n);
        }
        ("v1", "Node") => {
            let n = typed(value, at, &what)?;
            snap.nodes.push(n);
        }
        ("v1", "Secret") => {
            let mut s: k8s_openapi::api::core::v1::Secret = typed(value, at, &what)?;
            fill_ns(&mut s.metadata, ns);
            snap.push_secret(s);
        }
        (_, "List") => {
            let items = obj.get("items").and_then(|i| i.as_array()).cloned().unwrap_or_default();
            for item in items {
                add_object(snap, item, at, ns)?;
            }
        }
        _ => snap.notes.push(format!(
            "ignored {api_version} {kind} {name:?} ({} document {})",
            at.path.display(),
            at.document
        )),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_with_lines() {
        let docs = split_documents("a: 1\n---\nb: 2\nc: 3\n--- \n...\n");
        assert_eq!(docs[0], (1, "a: 1\n".to_string()));
        assert_eq!(docs[1], (3, "b: 2\nc: 3\n".to_string()));
    }

    #[test]
    fn bad_yaml_names_file_document_and_line() {
        let mut snap = Snapshot::new(Origin::Manifests);
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n";
        let err = load_str(&mut snap, Path::new("m.yaml"), text, "default").unwrap_err();
        assert_eq!(err.document, 2);
        assert!(err.line >= 5, "{err}");
        assert!(err.to_string().starts_with("m.yaml:"), "{err}");
    }
}
