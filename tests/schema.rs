//! `config.schema.json` and the config loader agree: every TOML config in the README and in
//! `examples/` is valid against the committed schema (checked by an independent JSON Schema
//! validator, the `jsonschema` crate) and loads with the loader; and configs the loader refuses
//! the schema refuses too.
#![cfg(feature = "full")]

mod common;

use std::path::Path;

use nexus_readiness::config::Config;
use serde_json::Value;

/// Every ```toml block of the README that is a whole config file, named by its line.
fn readme_configs() -> Vec<(String, String)> {
    common::readme_config_blocks().into_iter().map(|(at, text)| (format!("README.md:{at}"), text)).collect()
}

/// Every `.toml` file under `examples/`.
fn example_configs() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "toml") && !p.ends_with("team_checklist.toml") {
                // team_checklist.toml is a config of a team's checklist with a user's kind:
                // tests/team_example.rs checks it against that checklist's schema.
                let name = p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
                out.push((name, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"), &mut out);
    out
}

/// TOML as the JSON an editor's schema validator sees (dates as RFC 3339 strings).
fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("config.schema.json is a valid JSON Schema")
}

/// The schema's verdict: `Err` with every violation.
fn schema_check(v: &jsonschema::Validator, text: &str) -> Result<(), String> {
    let toml: toml::Value = toml::from_str(text).map_err(|e| format!("not toml: {e}"))?;
    let json = to_json(&toml);
    let errors: Vec<String> = v.iter_errors(&json).map(|e| format!("{}: {e}", e.instance_path())).collect();
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}

/// The loader's verdict (env references resolve to placeholders; nothing is run).
fn loader_check(text: &str, name: &str) -> Result<(), String> {
    let config = Config::loader()
        .env_source(|n| Some(format!("value-of-{n}")))
        .from_str(text, name)
        .map_err(|e| e.to_string())?;
    config.plan(nexus_readiness::builtin::nexus()).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn readme_and_example_configs_pass_the_schema_and_the_loader() {
    let v = validator();
    let readme = readme_configs();
    let examples = example_configs();
    assert!(readme.len() >= 8, "found only {} README config blocks", readme.len());
    assert!(examples.iter().any(|(n, _)| n.ends_with("preflight.toml")), "{:?}", examples.iter().map(|e| &e.0));
    let mut problems = Vec::new();
    for (name, text) in readme.iter().chain(&examples) {
        if let Err(e) = schema_check(&v, text) {
            problems.push(format!("{name}: the schema rejects it:\n{e}"));
        }
        if let Err(e) = loader_check(text, name) {
            problems.push(format!("{name}: the loader rejects it: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_readme_backup_and_kubernetes_targets_need_no_check() {
    // Before the fix the schema marked `check` required, which the items fill in themselves.
    let v = validator();
    for text in [
        "[targets.backup]\nbucket = \"nexus-backups\"\nprefix = \"postgres/\"\nrpo_warn = \"24h\"\n",
        "[targets.kubernetes]\nnamespace = \"nexus\"\nlabels = \"app=nexus\"\n",
    ] {
        assert_eq!(schema_check(&v, text), Ok(()), "{text}");
        assert_eq!(loader_check(text, "t.toml"), Ok(()), "{text}");
    }
}

#[test]
fn configs_the_loader_refuses_the_schema_refuses() {
    let v = validator();
    for text in [
        // A misspelt key.
        "[targets.redis]\nadress = \"redis://127.0.0.1:6379\"\n",
        // A required field missing.
        "[targets.backup]\nprefix = \"postgres/\"\n",
        // A check that does not exist.
        "[targets.backup]\nbucket = \"b\"\ncheck = \"everything\"\n",
        // A wrong type.
        "[targets.backup]\nbucket = \"b\"\nverify_newest = \"yes\"\n",
        // An unknown target.
        "[targets.mainframe]\nhost = \"x\"\n",
        // A waiver without its approver.
        "[waivers.\"compliance.gdpr-compliance-verified\"]\njustification = \"x\"\nexpires = \"2030-01-01\"\n",
    ] {
        let schema = schema_check(&v, text);
        let loader = loader_check(text, "t.toml");
        assert!(
            schema.is_err() && loader.is_err(),
            "they disagree on:\n{text}\nschema: {schema:?}\nloader: {loader:?}"
        );
    }
}
