//! JSON Schema of the config file.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::kinds::Kind;
use super::{ItemSettings, Registry, RunnerSettings};
use crate::model::Checklist;

/// A person's confirmation of an item.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AttestationEntry {
    /// Who confirms.
    by: String,
    /// Their role.
    role: Option<String>,
    /// When they confirmed (TOML date-time or RFC 3339 string).
    at: String,
    /// A link to the evidence.
    evidence: Option<String>,
    /// Last day the attestation counts.
    expires: Option<String>,
    /// The attestation stops counting once older than this (`90d`).
    max_age: Option<String>,
}

/// Why an item does not apply: a reason, or a table with the approver (required for an item
/// that always applies) and an expiry date.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum NotApplicableEntry {
    Reason(String),
    Approved(NotApplicableTable),
}

/// A not-applicable mark with its approver.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NotApplicableTable {
    /// Why the item does not apply.
    reason: String,
    /// Who approved it (required for an item that always applies).
    approver: Option<String>,
    /// Last day the mark counts.
    expires: Option<String>,
}

/// A signed row of the checklist's sign-off table.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SignOffEntry {
    /// Who signed.
    name: String,
    /// When (a date).
    date: String,
    /// The signature, or where it is kept (default: "signed in <config file>").
    signature: Option<String>,
}

/// An accepted risk.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct WaiverEntry {
    /// Why the risk is accepted.
    justification: String,
    /// Who approved it.
    approver: String,
    /// Last day the waiver counts (required).
    expires: String,
}

/// A nexus-readiness config file.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ConfigFile {
    /// Runner settings.
    runner: Option<RunnerSettings>,
    /// Targets of the checklist's default bindings.
    targets: Option<BTreeMap<String, Value>>,
    /// Item id -> probe(s) with `kind`; replaces the item's default binding.
    bindings: Option<BTreeMap<String, Value>>,
    /// Item id -> attestation.
    attestations: Option<BTreeMap<String, AttestationEntry>>,
    /// Item id -> waiver.
    waivers: Option<BTreeMap<String, WaiverEntry>>,
    /// Item id -> why it does not apply.
    not_applicable: Option<BTreeMap<String, NotApplicableEntry>>,
    /// Item id -> per-item policy (gating, exclusive).
    items: Option<BTreeMap<String, ItemSettings>>,
    /// Sign-off role -> who signed and when.
    sign_off: Option<BTreeMap<String, SignOffEntry>>,
}

/// The schema of `kind`'s spec, inlined (not a `$ref`), or `None` when this build lacks it.
fn spec_schema(kind: Kind, generator: &mut SchemaGenerator) -> Option<Value> {
    let Kind::Available { schema, .. } = kind else { return None };
    let mut v = schema(generator).to_value();
    // A `$ref` into the definitions: inline it, so that properties can be added.
    if let Some(name) = v.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(str::to_string)
        && let Some(def) = generator.definitions().get(&name)
    {
        v = def.clone();
    }
    Some(v)
}

/// The JSON Schema (draft 2020-12) of a config file for `checklist` (its `[targets]`, from the
/// checklist's default bindings) and the kinds of `registry` (in `[bindings]` and
/// `[targets]`), for editors and CI validation. The crate keeps the built-in checklist's as
/// `config.schema.json`; `UPDATE_SCHEMA=1 cargo test --all-features --test config
/// schema_file_is_up_to_date` regenerates it.
///
/// ```
/// use nexus_readiness::config::{Registry, schema};
/// use nexus_readiness::model::{Binding, Checklist, Item, Section};
///
/// let checklist = Checklist::builder("team", "Team")
///     .section(Section::new("Data").item(Item::new("Cache up")))
///     .binding(Binding::new("data.cache-up", "redis", "targets.cache"))
///     .build()?;
/// let s = schema(&Registry::new(), &checklist);
/// assert!(s.pointer("/properties/targets/properties/cache/anyOf/0/properties/address").is_some());
/// # Ok::<(), nexus_readiness::model::ModelError>(())
/// ```
pub fn schema(registry: &Registry, checklist: &Checklist) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut targets = Map::new();
    for (key, kind) in checklist.target_keys() {
        let path: Vec<&str> = key.split('.').skip(1).collect();
        // Fields each item fills in itself (the `check` of a shared Kubernetes or S3 target)
        // are not required in the target.
        let filled: Vec<&str> = checklist
            .bindings
            .iter()
            .filter(|b| b.target == key)
            .flat_map(|b| b.defaults.keys().map(String::as_str))
            .collect();
        let spec = match registry.get(kind).and_then(|k| spec_schema(k, &mut generator)) {
            Some(mut v) => {
                unrequire(&mut v, &filled);
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "description".into(),
                        json!(format!("`{kind}` spec; an array of them for several targets")),
                    );
                }
                json!({ "anyOf": [v.clone(), { "type": "array", "items": v }] })
            }
            None => {
                json!({ "type": ["object", "array"], "description": format!("`{kind}` spec (needs its crate feature)") })
            }
        };
        insert_path(&mut targets, &path, spec);
    }
    let mut probes = Vec::new();
    for kind in registry.kinds() {
        let entry = registry.get(kind).and_then(|k| spec_schema(k, &mut generator));
        let mut v = entry.unwrap_or_else(
            || json!({ "type": "object", "description": format!("kind `{kind}` (needs its crate feature)") }),
        );
        if let Some(o) = v.as_object_mut() {
            let props = o.entry("properties").or_insert_with(|| json!({}));
            if let Some(p) = props.as_object_mut() {
                p.insert("kind".into(), json!({ "const": kind }));
            }
            let req = o.entry("required").or_insert_with(|| json!([]));
            if let Some(r) = req.as_array_mut() {
                r.insert(0, json!("kind"));
            }
        }
        probes.push(v);
    }
    let probe = json!({ "oneOf": probes });
    let root = generator.into_root_schema_for::<ConfigFile>();
    let mut root = root.to_value();
    if let Some(p) = root.pointer_mut("/properties/targets") {
        *p = json!({
            "type": "object",
            "description": format!("Targets of the default bindings of checklist `{}`", checklist.id),
            "additionalProperties": false,
            "properties": Value::Object(targets),
        });
    }
    if let Some(p) = root.pointer_mut("/properties/bindings") {
        *p = json!({
            "type": "object",
            "description": "Item id -> probe(s) with `kind`; replaces the item's default binding",
            "additionalProperties": { "anyOf": [probe.clone(), { "type": "array", "items": probe }] },
        });
    }
    root
}

/// `v` without `filled` among its required properties, in its alternatives too (a spec that
/// is one of several shapes, like the backup kind's providers).
fn unrequire(v: &mut Value, filled: &[&str]) {
    if let Some(req) = v.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|r| !r.as_str().is_some_and(|r| filled.contains(&r)));
        if req.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.remove("required");
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = v.get_mut(key).and_then(Value::as_array_mut) {
            alternatives.iter_mut().for_each(|a| unrequire(a, filled));
        }
    }
}

fn insert_path(map: &mut Map<String, Value>, path: &[&str], spec: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.to_string(), spec);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(first.to_string())
                .or_insert_with(|| json!({ "type": "object", "additionalProperties": false, "properties": {} }));
            if let Some(props) = entry.get_mut("properties").and_then(Value::as_object_mut) {
                insert_path(props, rest, spec);
            }
        }
    }
}
