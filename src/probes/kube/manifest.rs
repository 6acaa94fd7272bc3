//! Reading manifests from disk into a [`Snapshot`]: multi-document YAML (or JSON) files and
//! directories of them, each document dispatched on `apiVersion`/`kind` into k8s-openapi types.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::position::YamlIndex;
use super::source::{Origin, Snapshot, Source, WorkloadKind, object_key, selector_matches};
use crate::probe::ProbeError;

/// A manifest that could not be read, parsed or accepted, with file, document index, line and
/// column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestError {
    /// The file.
    pub path: PathBuf,
    /// The document in the file, from 1 (0 when the file itself could not be read).
    pub document: usize,
    /// The line in the file, from 1 (0 when unknown).
    pub line: usize,
    /// The column of the offending field, from 1 (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
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
            column: 0,
            message: "no .yaml, .yml or .json manifest found".into(),
        });
    }
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| ManifestError {
            path: f.clone(),
            document: 0,
            line: 0,
            column: 0,
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
        column: 0,
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
            column: e.location().map(|l| l.column()).unwrap_or(0),
            message: format!("invalid YAML: {e}"),
        })?;
        if value.is_null() {
            continue;
        }
        let at = Position { path, document: index, index: Arc::new(YamlIndex::new(&doc, line)), prefix: String::new() };
        add_object(snap, value, &at, default_namespace)?;
    }
    Ok(())
}

struct Position<'a> {
    path: &'a Path,
    document: usize,
    index: Arc<YamlIndex>,
    /// The pointer of the object in its document (`/items/2` inside a List).
    prefix: String,
}

impl Position<'_> {
    /// An error at the object (its document's position).
    fn error(&self, message: String) -> ManifestError {
        self.error_at("", message)
    }

    /// An error at `pointer` inside the object (or its nearest ancestor found).
    fn error_at(&self, pointer: &str, message: String) -> ManifestError {
        let (line, column) = self.index.locate(&format!("{}{pointer}", self.prefix));
        ManifestError { path: self.path.to_path_buf(), document: self.document, line, column, message }
    }

    fn source(&self) -> Source {
        Source { path: self.path.to_path_buf(), index: self.index.clone(), prefix: self.prefix.clone() }
    }
}

/// Rejects what the API server would reject and the checks would misread: a workload without
/// a selector (apps/v1) or whose selector does not match its template's labels, a pod spec
/// without containers, nameless or duplicate container names.
fn validate(value: &Value, kind: Option<WorkloadKind>, at: &Position<'_>, what: &str) -> Result<(), ManifestError> {
    let Some(kind) = kind else { return Ok(()) };
    if matches!(kind, WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::DaemonSet) {
        let sel = value.pointer("/spec/selector");
        let empty = |k: &str| {
            sel.and_then(|s| s.get(k))
                .is_none_or(|v| v.as_object().map_or(v.as_array().is_none_or(Vec::is_empty), serde_json::Map::is_empty))
        };
        if sel.is_none() || (empty("matchLabels") && empty("matchExpressions")) {
            return Err(at.error_at(
                "/spec/selector",
                format!("{what}: spec.selector is required in apps/v1 (the API server rejects it without one)"),
            ));
        }
        let selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector =
            serde_json::from_value(sel.cloned().unwrap_or_default())
                .map_err(|e| at.error_at("/spec/selector", format!("invalid {what} spec.selector: {e}")))?;
        let labels: Option<std::collections::BTreeMap<String, String>> =
            value.pointer("/spec/template/metadata/labels").and_then(|l| serde_json::from_value(l.clone()).ok());
        if !selector_matches(&selector, labels.as_ref()) {
            return Err(at.error_at(
                "/spec/selector",
                format!("{what}: spec.selector does not match spec.template.metadata.labels"),
            ));
        }
    }
    if kind == WorkloadKind::CronJob
        && value.pointer("/spec/schedule").and_then(Value::as_str).is_none_or(str::is_empty)
    {
        return Err(at.error_at("/spec", format!("{what}: spec.schedule is required")));
    }
    let spec_ptr = kind.pod_spec_pointer();
    let containers_ptr = format!("{spec_ptr}/containers");
    let containers = value.pointer(&containers_ptr).and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        let path = spec_ptr.trim_start_matches('/').replace('/', ".");
        return Err(at.error_at(spec_ptr, format!("{what}: {path}.containers must list at least one container")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for list in ["containers", "initContainers"] {
        let list_ptr = format!("{spec_ptr}/{list}");
        for (i, c) in value.pointer(&list_ptr).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let ptr = format!("{list_ptr}/{i}");
            match c.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) {
                None => {
                    return Err(
                        at.error_at(&ptr, format!("{what}: {list}[{i}] has no name (the API server requires one)"))
                    );
                }
                Some(n) if !seen.insert(n.to_string()) => {
                    return Err(
                        at.error_at(&format!("{ptr}/name"), format!("{what}: container name {n:?} is used twice"))
                    );
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Converts an autoscaling/v1 HPA (still served) into the autoscaling/v2 form the checks read.
fn hpa_v1_to_v2(
    h: k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler,
) -> k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler {
    use k8s_openapi::api::autoscaling::v2;
    let spec = h.spec;
    let metrics = spec.target_cpu_utilization_percentage.map(|p| {
        vec![v2::MetricSpec {
            type_: "Resource".into(),
            resource: Some(v2::ResourceMetricSource {
                name: "cpu".into(),
                target: v2::MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(p),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }]
    });
    v2::HorizontalPodAutoscaler {
        metadata: h.metadata,
        spec: v2::HorizontalPodAutoscalerSpec {
            scale_target_ref: v2::CrossVersionObjectReference {
                api_version: spec.scale_target_ref.api_version,
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
            },
            min_replicas: spec.min_replicas,
            max_replicas: spec.max_replicas,
            metrics,
            behavior: None,
        },
        status: None,
    }
}

/// Deserializes `value` into a k8s-openapi type; a type error names the field's path and is
/// located at its line:column.
fn typed<T: DeserializeOwned>(value: &Value, at: &Position<'_>, what: &str) -> Result<T, ManifestError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." || path.is_empty() {
            return at.error(format!("invalid {what}: {}", e.inner()));
        }
        at.error_at(&path_pointer(&path), format!("invalid {what}: {path}: {}", e.inner()))
    })
}

/// `spec.template.spec.containers[0].image` as a JSON pointer.
fn path_pointer(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('.') {
        let (key, indexes) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !key.is_empty() {
            out.push('/');
            out.push_str(&super::position::escape(key));
        }
        for idx in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(idx);
        }
    }
    out
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
    if name.is_empty() && kind != "List" {
        return Err(at.error_at("/metadata", format!("{kind} has no metadata.name")));
    }
    let workload = match (api_version.as_str(), kind.as_str()) {
        ("apps/v1", "Deployment") => Some(WorkloadKind::Deployment),
        ("apps/v1", "StatefulSet") => Some(WorkloadKind::StatefulSet),
        ("apps/v1", "DaemonSet") => Some(WorkloadKind::DaemonSet),
        ("batch/v1", "Job") => Some(WorkloadKind::Job),
        ("batch/v1", "CronJob") => Some(WorkloadKind::CronJob),
        ("v1", "Pod") => Some(WorkloadKind::Pod),
        _ => None,
    };
    macro_rules! push {
        ($field:ident) => {{
            snap.$field.push(typed(&value, at, &what)?);
            validate(&value, workload, at, &what)?;
            let o = snap.$field.last_mut().expect("just pushed");
            fill_ns(&mut o.metadata, ns);
            snap.sources.insert(object_key(&kind, &o.metadata), at.source());
        }};
    }
    match (api_version.as_str(), kind.as_str()) {
        ("apps/v1", "Deployment") => push!(deployments),
        ("apps/v1", "StatefulSet") => push!(stateful_sets),
        ("apps/v1", "DaemonSet") => push!(daemon_sets),
        ("apps/v1", "ReplicaSet") => push!(replica_sets),
        ("batch/v1", "Job") => push!(jobs),
        ("batch/v1", "CronJob") => push!(cron_jobs),
        ("policy/v1", "PodDisruptionBudget") => push!(pdbs),
        ("v1", "Pod") => push!(pods),
        ("v1", "Service") => push!(services),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => push!(hpas),
        ("autoscaling/v1", "HorizontalPodAutoscaler") => {
            let mut h = hpa_v1_to_v2(typed(&value, at, &what)?);
            fill_ns(&mut h.metadata, ns);
            snap.sources.insert(object_key(&kind, &h.metadata), at.source());
            snap.hpas.push(h);
        }
        ("monitoring.coreos.com/v1", "PrometheusRule" | "ServiceMonitor" | "PodMonitor") => {
            let mut value = value;
            if value.pointer("/metadata/namespace").and_then(Value::as_str).is_none_or(str::is_empty) {
                value["metadata"]["namespace"] = Value::String(ns.to_string());
            }
            let meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta =
                typed(&value["metadata"], at, &what)?;
            snap.sources.insert(object_key(&kind, &meta), at.source());
            snap.custom.push(value);
        }
        ("networking.k8s.io/v1", "NetworkPolicy") => push!(network_policies),
        ("v1", "ConfigMap") => push!(config_maps),
        ("v1", "ServiceAccount") => push!(service_accounts),
        ("v1", "Namespace") => {
            let n: k8s_openapi::api::core::v1::Namespace = typed(&value, at, &what)?;
            snap.sources.insert(object_key(&kind, &n.metadata), at.source());
            snap.namespaces.push(n);
        }
        ("v1", "Node") => {
            let n: k8s_openapi::api::core::v1::Node = typed(&value, at, &what)?;
            snap.sources.insert(object_key(&kind, &n.metadata), at.source());
            snap.nodes.push(n);
        }
        ("v1", "Secret") => {
            let mut s: k8s_openapi::api::core::v1::Secret = typed(&value, at, &what)?;
            fill_ns(&mut s.metadata, ns);
            snap.sources.insert(object_key(&kind, &s.metadata), at.source());
            snap.push_secret(s);
        }
        (_, "List") => {
            let items = obj.get("items").and_then(|i| i.as_array()).cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                let inner = Position {
                    path: at.path,
                    document: at.document,
                    index: at.index.clone(),
                    prefix: format!("{}/items/{i}", at.prefix),
                };
                add_object(snap, item, &inner, ns)?;
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
    fn serde_paths_become_pointers() {
        assert_eq!(path_pointer("spec.template.spec.containers[0].image"), "/spec/template/spec/containers/0/image");
        assert_eq!(path_pointer("spec.replicas"), "/spec/replicas");
    }

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
