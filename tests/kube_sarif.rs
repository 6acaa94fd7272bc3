//! A SARIF 2.1.0 log from a failing manifest set, validated against the OASIS schema
//! (`tests/fixtures/sarif/sarif-schema-2.1.0.json`), with the manifest findings as results at
//! their `file:line:column` and item ids as rule ids.
#![cfg(feature = "kube")]

use nexus_readiness::config::Config;
use nexus_readiness::report::{Format, Report};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

fn errors(v: &jsonschema::Validator, log: &Value) -> Vec<String> {
    v.iter_errors(log).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

async fn failing_run() -> Report {
    // Relative to the crate root, where cargo runs the tests: the URIs stay relative.
    let text = "[targets.kubernetes]\nnamespace = \"nexus\"\nmanifests = [\"tests/fixtures/kube/bad\"]\n";
    let config = Config::loader().from_str(text, "sarif.toml").unwrap();
    let plan = config.plan(nexus_readiness::builtin::nexus()).unwrap();
    config.runner().build().run(&plan).await
}

#[tokio::test]
async fn sarif_from_failing_manifests_is_schema_valid_with_locations() {
    let report = failing_run().await;
    assert!(!report.ready());
    let text = report.render(Format::Sarif);
    for canary in ["do_not_print_me", "do-not-print-me", "donotprintme", "hunter2"] {
        assert!(!text.contains(canary), "SARIF leaks a secret value ({canary})");
    }
    let log: Value = serde_json::from_str(&text).unwrap();
    let v = validator();
    let errs = errors(&v, &log);
    assert!(errs.is_empty(), "SARIF does not validate:\n{}", errs.join("\n"));

    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "nexus-readiness");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), report.items().len(), "one rule per item");
    let results = run["results"].as_array().unwrap();
    // Every result's ruleIndex points at its rule.
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    let file = "tests/fixtures/kube/bad/workloads.yaml";
    let source = std::fs::read_to_string(file).unwrap();
    let located: Vec<&Value> = results.iter().filter(|r| r.get("locations").is_some()).collect();
    assert!(located.len() >= 10, "only {} located results", located.len());
    for r in &located {
        let pl = &r["locations"][0]["physicalLocation"];
        assert_eq!(pl["artifactLocation"]["uri"], file, "{r}");
        let line = pl["region"]["startLine"].as_u64().unwrap() as usize;
        let col = pl["region"]["startColumn"].as_u64().unwrap() as usize;
        let at = &source.lines().nth(line - 1).unwrap()[col - 1..];
        assert!(at.starts_with("- ") || at.split_once(':').is_some_and(|(k, _)| !k.contains(' ')), "{r} -> {at:?}");
    }
    // The resource-limits finding on "server" is at its `resources:` key.
    let limits = located
        .iter()
        .find(|r| {
            r["ruleId"] == "pre-deployment.performance.resource-limits-set"
                && r["message"]["text"].as_str().unwrap().contains("\"server\": resources.requests.memory is not set")
        })
        .expect("the memory request finding");
    assert_eq!(limits["level"], "error");
    let line = limits["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() as usize;
    assert!(source.lines().nth(line - 1).unwrap().trim_start().starts_with("requests:"), "line {line}");
    // Items with nothing located (live-only, not configured) are results without a location.
    assert!(results.iter().any(|r| r.get("locations").is_none()));
}

#[test]
fn the_schema_rejects_a_broken_log() {
    let v = validator();
    let ok: Value =
        serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]});
    assert!(errors(&v, &ok).is_empty());
    for broken in [
        serde_json::json!({"runs": []}),
        serde_json::json!({"version": "2.0.0", "runs": []}),
        serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}),
        serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]}),
    ] {
        assert!(!errors(&v, &broken).is_empty(), "accepted {broken}");
    }
}
