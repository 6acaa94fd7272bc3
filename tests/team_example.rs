//! examples/team_checklist.rs: a team's checklist (not Nexus) with its own severities, phases
//! and default bindings, and a user's probe kind bound from `[targets]` and `[bindings]`.

#[path = "../examples/team_checklist.rs"]
mod team_checklist;

use std::time::Duration;

use nexus_readiness::model::{Phase, Severity};
use nexus_readiness::report::Status;

#[test]
fn the_team_checklist_keeps_its_own_severities_phases_and_bindings() {
    let c = team_checklist::checklist().unwrap();
    let backups = c.item("db-backups").unwrap();
    assert_eq!(backups.severity, Severity::Blocker);
    assert_eq!(c.phase_of("db-backups"), Some(Phase::PreDeployment));
    // The document's default severity for items without one is the team's (Critical).
    let heartbeat = c.item("pre-deployment.replication-lag-under-1s").unwrap();
    assert_eq!(heartbeat.severity, Severity::Critical);
    assert_eq!(c.target_keys(), vec![("targets.backups", "file-fresh")]);
    // No Nexus data: no thresholds, alert rules or Nexus items.
    assert!(c.thresholds.is_empty() && c.alert_rules.is_empty());
    assert!(c.items().all(|i| !i.id.as_str().contains("gpu")));
}

#[tokio::test]
async fn the_team_checklist_runs_with_the_users_kind_in_targets_and_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let report = team_checklist::run(dir.path(), Duration::from_secs(3600)).await.unwrap();
    let backups = report.item("db-backups").unwrap();
    assert_eq!(backups.status, Status::Pass, "{}", backups.reason);
    assert!(backups.reason.contains("backup.dump written"), "{}", backups.reason);
    let lag = report.item("pre-deployment.replication-lag-under-1s").unwrap();
    assert_eq!(lag.status, Status::Pass, "{}", lag.reason);
    assert!(lag.reason.contains("replica.heartbeat"), "{}", lag.reason);
    let dpo = report.item("dpo-approval").unwrap();
    assert_eq!(dpo.status, Status::Attested, "{}", dpo.reason);
    assert!(report.ready(), "{}", report.render(nexus_readiness::report::Format::Markdown));

    // A backup older than the target's max_age: the blocker fails and the run is not ready.
    let dir = tempfile::tempdir().unwrap();
    let report = team_checklist::run(dir.path(), Duration::from_secs(30 * 3600)).await.unwrap();
    let backups = report.item("db-backups").unwrap();
    assert_eq!(backups.status, Status::Fail, "{}", backups.reason);
    assert!(!report.ready());
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn the_schema_of_the_team_config_knows_the_users_kind_in_targets() {
    let mut registry = nexus_readiness::config::Registry::new();
    registry.register::<team_checklist::FileFreshSpec>();
    let schema = nexus_readiness::config::schema(&registry, &team_checklist::checklist().unwrap());
    let max_age = schema.pointer("/properties/targets/properties/backups/anyOf/0/properties/max_age");
    assert!(max_age.is_some(), "{schema}");
    // The example's config passes that schema (an independent validator), and a typo does not.
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let check = |text: &str| -> Vec<String> {
        let toml: toml::Value = toml::from_str(text).unwrap();
        validator.iter_errors(&to_json(&toml)).map(|e| format!("{}: {e}", e.instance_path())).collect()
    };
    assert_eq!(check(team_checklist::CONFIG), Vec::<String>::new());
    assert!(!check(&team_checklist::CONFIG.replace("max_age = \"26h\"", "max_agee = \"26h\"")).is_empty());
}

/// TOML as the JSON an editor's schema validator sees (dates as RFC 3339 strings).
fn to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value;
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
