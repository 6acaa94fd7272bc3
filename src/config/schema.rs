//! JSON Schema of the config file.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::{ItemSettings, ProbeConfig, RunnerSettings};

/// A probe table, or an array of them.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // schema-only type, never built
enum OneOrMany {
    One(ProbeConfig),
    Many(Vec<ProbeConfig>),
}

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
    /// Targets of the built-in checklist's default bindings.
    targets: Option<BTreeMap<String, Value>>,
    /// Item id -> probe(s) with `kind`; replaces the item's default binding.
    bindings: Option<BTreeMap<String, OneOrMany>>,
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

/// The schema of one target's spec, by kind (a `$ref` into the definitions).
fn spec_schema(kind: &str, generator: &mut SchemaGenerator) -> Option<Schema> {
    // The spec type of each variant is the variant's content: take it from ProbeConfig's
    // schema, without the `kind` property.
    let whole = generator.subschema_for::<ProbeConfig>();
    let _ = whole;
    let defs = generator.definitions().clone();
    let pc = defs.get("ProbeConfig")?;
    let variants = pc.get("oneOf")?.as_array()?;
    for v in variants {
        let is_kind = v.pointer("/properties/kind/const").and_then(Value::as_str) == Some(kind)
            || v.pointer("/properties/kind/enum/0").and_then(Value::as_str) == Some(kind);
        if is_kind {
            let mut v = v.clone();
            if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove("kind");
            }
            if let Some(req) = v.get_mut("required").and_then(Value::as_array_mut) {
                req.retain(|r| r != "kind");
            }
            return Schema::try_from(v).ok();
        }
    }
    None
}

/// The JSON Schema (draft 2020-12) of a config file, for editors and CI validation. Kept in
/// the repository as `config.schema.json`; `UPDATE_SCHEMA=1 cargo test --all-features --test
/// config_schema` regenerates it.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut targets = Map::new();
    for (key, kind) in crate::builtin::bindings::target_keys() {
        let path: Vec<&str> = key.split('.').skip(1).collect();
        // Fields each item fills in itself (the `check` of a shared Kubernetes or S3 target)
        // are not required in the target.
        let filled: Vec<&str> = crate::builtin::bindings::default_bindings()
            .iter()
            .filter(|b| b.key == key)
            .flat_map(|b| b.set.iter().map(|(field, _)| *field))
            .collect();
        let spec = match spec_schema(kind, &mut generator) {
            Some(s) => {
                let mut v = s.to_value();
                if let Some(req) = v.get_mut("required").and_then(Value::as_array_mut) {
                    req.retain(|r| !r.as_str().is_some_and(|r| filled.contains(&r)));
                    if req.is_empty()
                        && let Some(o) = v.as_object_mut()
                    {
                        o.remove("required");
                    }
                }
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
    let root = generator.into_root_schema_for::<ConfigFile>();
    let mut root = root.to_value();
    if let Some(p) = root.pointer_mut("/properties/targets") {
        *p = json!({
            "type": "object",
            "description": "Targets of the built-in checklist's default bindings",
            "additionalProperties": false,
            "properties": Value::Object(targets),
        });
    }
    root
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

#[cfg(test)]
mod tests {
    #[test]
    fn targets_have_core_specs() {
        let s = super::schema();
        let redis = s.pointer("/properties/targets/properties/redis/anyOf/0/properties/address");
        assert!(redis.is_some(), "{}", serde_json::to_string_pretty(&s).unwrap());
        let junit = s.pointer("/properties/targets/properties/junit/properties/integration/anyOf/0/properties/path");
        assert!(junit.is_some());
    }

    #[cfg(feature = "s3")]
    #[test]
    fn fields_the_items_fill_in_are_not_required_in_targets() {
        let s = super::schema();
        let required = s.pointer("/properties/targets/properties/backup/anyOf/0/required").cloned();
        assert_eq!(required, Some(serde_json::json!(["bucket"])));
    }
}
