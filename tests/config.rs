//! Config files: every kind of mistake gives a located error; a config drives a real run.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_readiness::builtin;
use nexus_readiness::config::{Config, ConfigError, ConfigErrorKind, Registry};
use nexus_readiness::model::Phase;
use nexus_readiness::probe::{BuildContext, FnProbe, Observation, Probe, ProbeError, ProbeSpec};
use nexus_readiness::report::{SkipKind, Status};

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::loader().env_source(|_| None).from_str(text, "nexus.toml")
}

/// The error of a config that does not load, or does not apply to the built-in checklist
/// (`[targets]` is read through the checklist's default bindings).
fn load_err(text: &str) -> ConfigError {
    load(text).and_then(|c| c.plan(builtin::nexus()).map(|_| c)).expect_err("the config is invalid")
}

fn plan_err(text: &str) -> ConfigError {
    load(text).expect("the config loads").plan(builtin::nexus()).expect_err("the plan is invalid")
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let e = load_err("[targets.redis]\naddress = \"127.0.0.1:6379\nport = 1\n");
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.to_string().starts_with("nexus.toml:2:"), "{e}");
    assert!(e.to_string().contains("invalid TOML"), "{e}");
}

#[test]
fn unknown_spec_field_suggests_the_right_one() {
    let e = load_err("[targets.redis]\nadress = \"127.0.0.1:6379\"\n");
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
    assert_eq!(e.to_string(), "nexus.toml:2:1: targets.redis.adress: unknown key `adress`; did you mean `address`?");
}

#[test]
fn unknown_section_and_target_suggest_names() {
    let e = load_err("[runer]\nconcurrency = 4\n");
    assert_eq!(e.to_string(), "nexus.toml:1:2: runer: unknown section `runer`; did you mean `runner`?");
    let e = load_err("[targets.junit.integraton]\npath = \"x.xml\"\n");
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
    assert_eq!(
        e.to_string(),
        "nexus.toml:1:16: targets.junit.integraton: unknown target; did you mean `targets.junit.integration`?"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let e = load_err("[runner]\nconcurrency = \"eight\"\n");
    assert_eq!(e.kind, ConfigErrorKind::InvalidValue);
    assert!(e.to_string().starts_with("nexus.toml:2:15: runner.concurrency: invalid type: string \"eight\""), "{e}");
}

#[test]
fn invalid_duration_names_the_key() {
    let e = load_err("[targets.redis]\naddress = \"127.0.0.1:6379\"\ntimeout = \"5 parsecs\"\n");
    assert_eq!(e.kind, ConfigErrorKind::InvalidValue);
    assert_eq!(
        e.to_string(),
        "nexus.toml:3:11: targets.redis.timeout: invalid duration `5 parsecs`: unknown unit `parsecs` (use ms, s, m, h, d)"
    );
}

#[test]
fn unknown_item_id_suggests_the_closest() {
    let e = plan_err(
        "[attestations.\"pre-deployment.security.penetration-test-performed\"]\nby = \"Dana Smith\"\nat = 2026-11-20T10:00:00Z\n",
    );
    assert_eq!(e.kind, ConfigErrorKind::UnknownItem);
    assert_eq!(e.line, Some(1));
    assert_eq!(e.suggestions[0], "pre-deployment.security.penetration-testing-performed");
    assert!(
        e.to_string().starts_with(
            "nexus.toml:1:15: attestations.\"pre-deployment.security.penetration-test-performed\": unknown item id `pre-deployment.security.penetration-test-performed`; did you mean `pre-deployment.security.penetration-testing-performed`"
        ),
        "{e}"
    );
}

#[test]
fn unknown_probe_kind_suggests_the_closest() {
    let e =
        load_err("[bindings.\"post-deployment.testing.smoke-tests-passed\"]\nkind = \"comand\"\nprogram = \"true\"\n");
    assert_eq!(e.kind, ConfigErrorKind::UnknownKind);
    assert_eq!(e.suggestions.first().map(String::as_str), Some("command"));
    assert!(
        e.to_string().starts_with(
            "nexus.toml:2:8: bindings.\"post-deployment.testing.smoke-tests-passed\".kind: unknown probe kind `comand`; did you mean `command`"
        ),
        "{e}"
    );
    let e = load_err("[bindings.\"post-deployment.testing.smoke-tests-passed\"]\nprogram = \"true\"\n");
    assert_eq!(e.kind, ConfigErrorKind::MissingKey);
    assert!(e.to_string().contains("missing `kind`"), "{e}");
}

#[test]
fn missing_env_var_names_variable_and_key() {
    let e =
        load_err("[targets.redis]\naddress = \"127.0.0.1:6379\"\npassword = \"${env:NEXUS_TEST_REDIS_PASSWORD}\"\n");
    assert_eq!(e.kind, ConfigErrorKind::MissingEnv);
    assert_eq!(
        e.to_string(),
        "nexus.toml:3:12: targets.redis.password: environment variable `NEXUS_TEST_REDIS_PASSWORD` is not set"
    );
}

#[test]
fn waiver_without_expiry_is_refused() {
    let e = load_err(
        "[waivers.\"pre-deployment.performance.cdn-configured-for-static-assets\"]\njustification = \"no static assets\"\napprover = \"Tech Lead\"\n",
    );
    assert_eq!(e.kind, ConfigErrorKind::WaiverWithoutExpiry);
    assert!(
        e.to_string().starts_with(
            "nexus.toml:1:10: waivers.\"pre-deployment.performance.cdn-configured-for-static-assets\": waiver has no `expires` date"
        ),
        "{e}"
    );
}

#[test]
fn invalid_probe_settings_and_not_applicable_are_located() {
    let e = load_err("[targets.redis]\naddress = \"no-port\"\n");
    assert_eq!(e.kind, ConfigErrorKind::InvalidProbe);
    assert_eq!(e.to_string(), "nexus.toml:1:10: targets.redis: redis: address `no-port` is not host:port");
    let e = plan_err("[not_applicable]\n\"post-deployment.testing.smoke-tests-passed\" = \"we trust it\"\n");
    assert_eq!(e.kind, ConfigErrorKind::Plan);
    assert!(e.to_string().starts_with("nexus.toml:2:1: "), "{e}");
    assert!(e.to_string().contains("always applies"), "{e}");
}

#[test]
fn io_error_names_the_file() {
    let e = Config::load("/nonexistent/nexus.toml").unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Io);
    assert!(e.to_string().starts_with("/nonexistent/nexus.toml: cannot read the config file: "), "{e}");
}

#[tokio::test]
async fn env_values_are_secrets_everywhere() {
    let env: HashMap<&str, &str> = [("SMOKE_TOKEN", "tok-9f8e7d6c5b4a")].into();
    // The smoke tests run after pods are ready and health checks pass: bind those to a
    // listening socket so the smoke test runs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let text = r#"
[bindings."post-deployment.verification.all-pods-running-and-ready"]
kind = "tcp"
address = "ADDR"

[bindings."post-deployment.verification.health-checks-passing"]
kind = "tcp"
address = "ADDR"

[targets.smoke_test]
program = "sh"
args = ["-c", "echo token=$API_TOKEN; echo also ${env:SMOKE_TOKEN}; exit 1"]
env = { API_TOKEN = "${env:SMOKE_TOKEN}" }
"#
    .replace("ADDR", &addr.to_string());
    let config =
        Config::loader().env_source(move |n| env.get(n).map(|v| v.to_string())).from_str(&text, "nexus.toml").unwrap();
    // `[targets]` is read with the checklist: its secrets join the plan's redactor.
    assert!(config.secrets().is_empty());
    assert!(!format!("{config:?}").contains("tok-9f8e7d6c5b4a"));
    let plan = config.plan(builtin::nexus()).unwrap();
    assert_eq!(plan.redactor().redact("x tok-9f8e7d6c5b4a y"), "x [redacted] y");
    assert!(!format!("{plan:?}").contains("tok-9f8e7d6c5b4a"));
    let report = config.runner().phases([Phase::PostDeployment]).build().run(&plan).await;
    let item = report.item("post-deployment.testing.smoke-tests-passed").unwrap();
    assert_eq!(item.status, Status::Fail, "{}", item.reason);
    let rendered = format!("{}{}", report.render("json".parse().unwrap()), report.render("markdown".parse().unwrap()));
    assert!(rendered.contains("token=[redacted]"), "{rendered}");
    assert!(!rendered.contains("tok-9f8e7d6c5b4a"));
}

#[test]
fn runner_settings_are_read() {
    let c = load("[runner]\nconcurrency = 4\ntimeout = \"5s\"\ndeadline = \"2m\"\nphases = [\"pre-deployment\", \"deployment\"]\nfail_on_warn = true\n").unwrap();
    let r = c.runner_settings();
    assert_eq!(r.concurrency, Some(4));
    assert_eq!(r.timeout, Some(Duration::from_secs(5)));
    assert_eq!(r.deadline, Some(Duration::from_secs(120)));
    assert_eq!(r.phases, vec![Phase::PreDeployment, Phase::Deployment]);
    assert!(r.fail_on_warn);
    let e = load_err("[runner]\nphases = [\"predeploy\"]\n");
    assert!(e.to_string().starts_with("nexus.toml:2:"), "{e}");
    assert!(e.to_string().contains("predeploy"), "{e}");
}

/// Kind `always`: passes with its note (a user's kind, registered like a built-in one).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AlwaysSpec {
    /// What to say.
    note: String,
}

impl ProbeSpec for AlwaysSpec {
    const KIND: &'static str = "always";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if self.note.is_empty() {
            return Err(ProbeError::misconfigured("always: note is empty"));
        }
        let note = format!("{} (item {}, key {})", self.note, cx.item.map_or("-", |i| i.id.as_str()), cx.key);
        Ok(Arc::new(FnProbe::new("custom://always", move |_cx| {
            let note = note.clone();
            async move { Ok(Observation::pass(note)) }
        })))
    }
}

#[tokio::test]
async fn custom_kinds_are_registered_like_built_in_ones() {
    let mut registry = Registry::new();
    registry.register::<AlwaysSpec>();
    let text = "[bindings.\"pre-deployment.performance.database-connection-pooling-configured\"]\nkind = \"always\"\nnote = \"pgbouncer pool_size=50\"\n";
    let config = Config::from_str_with(text, "nexus.toml", &registry).unwrap();
    let plan = config.plan(builtin::nexus()).unwrap();
    let report = config.runner().phases([Phase::PreDeployment]).build().run(&plan).await;
    let item = report.item("pre-deployment.performance.database-connection-pooling-configured").unwrap();
    assert_eq!(item.status, Status::Pass, "{}", item.reason);
    assert!(item.reason.contains("pgbouncer pool_size=50"), "{}", item.reason);
    // The build context carried the item and the key.
    assert!(
        item.reason.contains(
            "item pre-deployment.performance.database-connection-pooling-configured, key bindings.\"pre-deployment"
        ),
        "{}",
        item.reason
    );

    // A typed spec: unknown keys are located and suggested, like a built-in kind's.
    let e = Config::from_str_with(&text.replace("note = ", "nite = "), "nexus.toml", &registry).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
    assert!(e.to_string().starts_with("nexus.toml:3:1:"), "{e}");
    assert!(e.to_string().contains("did you mean `note`"), "{e}");
    // A build error names the key.
    let e = Config::from_str_with(&text.replace("pgbouncer pool_size=50", ""), "nexus.toml", &registry)
        .unwrap()
        .plan(builtin::nexus())
        .unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::InvalidProbe);
    assert!(e.to_string().ends_with(": always: note is empty"), "{e}");
    assert!(e.to_string().starts_with("nexus.toml:1:11: bindings.\"pre-deployment"), "{e}");
    // Without the registry, the kind is unknown.
    let e = Config::from_str_named(text, "nexus.toml").unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::UnknownKind);
    // The schema knows the user's kind.
    let schema = nexus_readiness::config::schema(&registry, &builtin::nexus());
    let text = schema.to_string();
    assert!(text.contains("\"const\":\"always\""), "the schema lists kind `always`");
}

/// A redis-server on a free loopback port, killed on drop.
struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(p).display().to_string()
}

/// Config file on disk -> plan -> runner -> report, against a real redis-server.
#[tokio::test]
async fn end_to_end_config_file_to_report() {
    let Some(bin) = common::require_binary("redis-server") else { return };
    let port = common::free_port();
    let password = "e2e-redis-pass-123";
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--requirepass", password])
        .args(["--maxmemory", "16mb", "--maxmemory-policy", "allkeys-lru"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _redis = Redis(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let runbook = dir.path().join("runbook.md");
    std::fs::write(&runbook, "# Nexus runbook\n").unwrap();
    let text = format!(
        r#"
[runner]
concurrency = 4
timeout = "10s"

[targets.redis]
address = "127.0.0.1:{port}"
password = "${{env:E2E_REDIS_PASSWORD}}"

[targets.dockerfile]
path = "{dockerfile}"

[targets.trivy_report]
path = "{trivy}"

[targets.junit]
integration = {{ path = "{junit_pass}" }}
performance = {{ path = "{junit_fail}" }}

[targets.runbook]
path = "{runbook}"

[targets.smoke_test]
program = "true"

[bindings."pre-deployment.performance.database-connection-pooling-configured"]
kind = "tcp"
address = "127.0.0.1:{port}"

# Dependencies of the testing items, bound to the live redis port.
[bindings."post-deployment.verification.all-pods-running-and-ready"]
kind = "tcp"
address = "127.0.0.1:{port}"

[bindings."post-deployment.verification.health-checks-passing"]
kind = "tcp"
address = "127.0.0.1:{port}"

[attestations."pre-deployment.security.penetration-testing-performed"]
by = "Dana Smith"
role = "Security Lead"
at = 2026-11-20T10:00:00Z

[waivers."post-deployment.testing.performance-tests-passed"]
justification = "perf environment rebuilt this week"
approver = "Tech Lead"
expires = 2999-12-31

[not_applicable]
"compliance.hipaa-compliance-verified" = "no health data"
"#,
        dockerfile = fixture("dockerfiles/good.Dockerfile"),
        trivy = fixture("trivy/critical.json"),
        junit_pass = fixture("junit/pass.xml"),
        junit_fail = fixture("junit/fail.xml"),
        runbook = runbook.display(),
    );
    let path = dir.path().join("nexus.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::loader()
        .env_source(move |n| (n == "E2E_REDIS_PASSWORD").then(|| password.to_string()))
        .load(&path)
        .unwrap();
    let plan = config.plan(builtin::nexus()).unwrap();
    let report = config.runner().build().run(&plan).await;
    let status = |id: &str| {
        let i = report.item(id).unwrap_or_else(|| panic!("no item {id}"));
        (i.status, i.reason.clone())
    };
    let pass = [
        "pre-deployment.performance.caching-layer-configured",
        "deployment.container-image.multi-stage-dockerfile-optimized",
        "post-deployment.testing.integration-tests-passed",
        "post-deployment.documentation.runbook-created",
        "post-deployment.testing.smoke-tests-passed",
        "pre-deployment.performance.database-connection-pooling-configured",
    ];
    for id in pass {
        assert_eq!(status(id).0, Status::Pass, "{id}: {}", status(id).1);
    }
    let (s, reason) = status("pre-deployment.security.container-scanning-completed");
    assert_eq!(s, Status::Fail);
    assert!(reason.contains("2 vulnerabilities at or above CRITICAL"), "{reason}");
    assert_eq!(status("deployment.container-image.image-scanned-for-vulnerabilities").0, Status::Fail);
    assert_eq!(status("post-deployment.testing.performance-tests-passed").0, Status::Waived);
    assert_eq!(status("pre-deployment.security.penetration-testing-performed").0, Status::Attested);
    let hipaa = report.item("compliance.hipaa-compliance-verified").unwrap();
    assert_eq!((hipaa.status, hipaa.skip), (Status::Skipped, Some(SkipKind::NotApplicable)));
    // Not configured: Skipped with the key, never Pass.
    let tls = report.item("pre-deployment.infrastructure.load-balancer-ssl-certificates-installed").unwrap();
    assert_eq!(tls.status, Status::Skipped);
    assert_eq!(tls.skip, Some(SkipKind::NotConfigured));
    assert_eq!(tls.config_key.as_deref(), Some("targets.tls"));
    assert!(report.summary().not_configured.iter().any(|n| n.key.as_deref() == Some("targets.kubernetes")));
    // Attestation-only items wait for a person.
    assert_eq!(status("post-deployment.documentation.on-call-rotation-configured").0, Status::Pending);
    assert!(!report.ready());
    assert_eq!(report.exit_code(), 1);
    let json = report.render("json".parse().unwrap());
    assert!(!json.contains(password));
}

#[test]
fn default_bindings_cover_every_automatable_item() {
    let checklist = builtin::nexus();
    for b in &checklist.bindings {
        assert!(checklist.item(&b.item).is_some(), "default binding for unknown item {}", b.item);
    }
    for item in checklist.items() {
        let bound = checklist.binding(item.id.as_str()).is_some();
        let person = item.verification == nexus_readiness::model::Verification::Attestation;
        assert!(bound != person, "{}: bound={bound} attestation-only={person}", item.id);
    }
    assert_eq!(checklist.bindings.len(), 46);
}

#[test]
fn example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/preflight.toml");
    let config = Config::loader()
        .env_source(|n| Some(format!("example-value-for-{n}")))
        .load(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    config.plan(builtin::nexus()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[cfg_attr(not(feature = "full"), ignore = "the committed schema covers every backend kind: run with --all-features")]
fn schema_file_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.schema.json");
    let fresh = serde_json::to_string_pretty(&nexus_readiness::config::schema(&Registry::new(), &builtin::nexus()))
        .unwrap()
        + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "config.schema.json is stale: regenerate it with `UPDATE_SCHEMA=1 cargo test --all-features --test config schema_file_is_up_to_date`"
    );
}

#[test]
fn targets_of_a_checklist_without_default_bindings_are_an_error_naming_bindings() {
    use nexus_readiness::model::{Checklist, Item, Section};
    let checklist =
        Checklist::builder("team", "Team").section(Section::new("Data").item(Item::new("Cache up"))).build().unwrap();
    let config = load("[runner]\ntimeout = \"5s\"\n\n[targets.redis]\naddress = \"127.0.0.1:1\"\n").unwrap();
    let e = config.plan(checklist.clone()).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
    assert_eq!(
        e.to_string(),
        "nexus.toml:4:10: targets.redis: unknown target: checklist `team` has no default bindings; bind its items under [bindings]"
    );
    // The same item bound explicitly works, with any kind of the registry.
    let config = load("[bindings.\"data.cache-up\"]\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n").unwrap();
    let plan = config.plan(checklist).unwrap();
    assert!(format!("{plan:?}").contains("data.cache-up"));
}

/// The Prometheus kinds judge the plan's checklist: a team's thresholds, alert rules and key
/// metrics, not Nexus's.
#[cfg(feature = "prometheus")]
#[test]
fn prometheus_kinds_judge_the_plans_checklist() {
    use nexus_readiness::model::{Checklist, Item, Section, Threshold, Unit};
    let team = Checklist::builder("team", "Team")
        .section(Section::new("Ops").item(Item::new("Queue under control")).item(Item::new("Alerts defined")))
        .threshold(Threshold::ceiling("Queue Depth", Unit::Count, 100.0, 1000.0, "Add workers").unwrap())
        .build()
        .unwrap();
    let on = |item: &str, threshold: &str| {
        format!(
            "[bindings.\"{item}\"]\nkind = \"prometheus-capacity\"\nurl = \"http://127.0.0.1:9\"\nthreshold = \"{threshold}\"\nexpr = \"max(queue_depth)\"\n"
        )
    };
    let text = |threshold: &str| on("ops.queue-under-control", threshold);
    // The team's own threshold builds against the team's checklist...
    load(&text("Queue Depth")).unwrap().plan(team.clone()).unwrap();
    // ...and a Nexus one does not: the error names the team's thresholds.
    let e = load(&text("GPU Utilization")).unwrap().plan(team.clone()).unwrap_err();
    assert!(e.to_string().ends_with("unknown threshold `GPU Utilization`; the checklist has `Queue Depth`"), "{e}");
    // The Nexus checklist has no `Queue Depth`.
    let e = load(&on("post-deployment.verification.metrics-flowing-to-monitoring", "Queue Depth"))
        .unwrap()
        .plan(builtin::nexus())
        .unwrap_err();
    assert!(e.to_string().contains("unknown threshold `Queue Depth`; the checklist has `GPU Utilization`"), "{e}");
    // A checklist without alert rules or key metrics gives those kinds nothing to look for.
    for (kind, what) in
        [("prometheus-rules", "recommends no alert rules"), ("prometheus-series", "names no key metrics")]
    {
        let text = format!("[bindings.\"ops.alerts-defined\"]\nkind = \"{kind}\"\nurl = \"http://127.0.0.1:9\"\n");
        let e = load(&text).unwrap().plan(team.clone()).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::InvalidProbe);
        assert!(e.to_string().contains(&format!("checklist `team` {what}")), "{e}");
    }
}
