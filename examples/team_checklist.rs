//! A team's own checklist, not Nexus: a Markdown document with its own severities and phases,
//! default bindings the team attaches, and a probe kind the team writes, registered with the
//! same powers as a built-in one and bound from TOML in both `[targets]` and `[bindings]`.
//!
//! ```text
//! cargo run --example team_checklist                       # sample files in a temp directory
//! cargo run --example team_checklist -- --stale            # the same with a day-old backup
//! ```
//!
//! The document is `tests/fixtures/documents/10-attributes.md`; the config is
//! `examples/team_checklist.toml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nexus_readiness::format::{self, LoadOptions, Syntax};
use nexus_readiness::prelude::*;
use nexus_readiness::report::Report;

/// The team's document, with item attributes (`{#db-backups severity=blocker ...}`).
pub(crate) const DOCUMENT: &str = include_str!("../tests/fixtures/documents/10-attributes.md");
/// The team's config.
pub(crate) const CONFIG: &str = include_str!("team_checklist.toml");

/// Kind `file-fresh`: a file that exists, is not empty, and was written less than `max_age`
/// ago (a backup dump, a heartbeat file).
#[derive(Debug, nexus_readiness::serde::Deserialize, nexus_readiness::schemars::JsonSchema)]
#[serde(crate = "nexus_readiness::serde", deny_unknown_fields)]
#[schemars(crate = "nexus_readiness::schemars")]
pub(crate) struct FileFreshSpec {
    /// The file.
    pub(crate) path: PathBuf,
    /// How old the file may be (`26h`).
    #[serde(with = "nexus_readiness::model::duration::human")]
    #[schemars(with = "String")]
    pub(crate) max_age: Duration,
}

impl ProbeSpec for FileFreshSpec {
    const KIND: &'static str = "file-fresh";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if self.max_age.is_zero() {
            return Err(ProbeError::misconfigured(format!("{}: max_age must be above 0", cx.key)));
        }
        Ok(Arc::new(FileFresh { path: self.path.clone(), max_age: self.max_age }))
    }
}

/// The probe of kind `file-fresh`.
#[derive(Debug)]
pub(crate) struct FileFresh {
    path: PathBuf,
    max_age: Duration,
}

#[nexus_readiness::async_trait]
impl Probe for FileFresh {
    fn target(&self) -> String {
        format!("file://{}", self.path.display())
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| ProbeError::unreachable(format!("{}: {e}", self.path.display())))?;
        if meta.len() == 0 {
            return Ok(Observation::fail(format!("{} is empty", self.path.display())));
        }
        let modified = meta.modified().map_err(|e| ProbeError::unreachable(e.to_string()))?;
        let age = SystemTime::now().duration_since(modified).unwrap_or_default();
        let summary =
            format!("{} written {}s ago (limit {}s)", self.path.display(), age.as_secs(), self.max_age.as_secs());
        Ok(if age <= self.max_age { Observation::pass(summary) } else { Observation::fail(summary) })
    }
}

/// The team's checklist: the document (an item that gives no severity is critical, so it
/// gates), ids kept as written, its "Later" section continuous, and the default binding of the
/// backups item to the team's kind.
pub(crate) fn checklist() -> Result<Checklist, Box<dyn std::error::Error>> {
    let options = LoadOptions::new().phase_pattern("later", Phase::Continuous);
    let mut checklist = format::parse_with(DOCUMENT, Syntax::Markdown, &options)?;
    checklist.bindings.push(Binding::new("db-backups", FileFreshSpec::KIND, "targets.backups"));
    checklist.validate()?;
    Ok(checklist)
}

/// Runs the team's checklist with the sample files in `data` (written there, a backup `backup_age` old).
pub(crate) async fn run(data: &Path, backup_age: Duration) -> Result<Report, Box<dyn std::error::Error>> {
    write_samples(data, backup_age)?;
    let mut registry = Registry::new();
    registry.register::<FileFreshSpec>();
    let dir = data.display().to_string();
    let config = Config::loader()
        .registry(registry)
        .env_source(move |name| (name == "TEAM_DATA").then(|| dir.clone()))
        .from_str(CONFIG, "examples/team_checklist.toml")?;
    let plan = config.plan(checklist()?)?;
    Ok(config.runner().build().run(&plan).await)
}

fn write_samples(data: &Path, backup_age: Duration) -> std::io::Result<()> {
    std::fs::create_dir_all(data)?;
    let backup = data.join("backup.dump");
    std::fs::write(&backup, b"-- PostgreSQL database dump\n")?;
    let file = std::fs::File::options().write(true).open(&backup)?;
    file.set_modified(SystemTime::now() - backup_age)?;
    std::fs::write(data.join("replica.heartbeat"), b"lsn 0/3000148\n")?;
    std::fs::write(data.join("RUNBOOK.md"), b"# Database runbook\n")?;
    Ok(())
}

#[allow(dead_code)] // the test includes this file and calls `run`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stale = std::env::args().any(|a| a == "--stale");
    let data = std::env::temp_dir().join(format!("nexus-team-example-{}", std::process::id()));
    let age = if stale { Duration::from_secs(30 * 3600) } else { Duration::from_secs(3600) };
    let report = run(&data, age).await;
    let _ = std::fs::remove_dir_all(&data);
    let report = report?;
    println!("{}", report.render(Format::Markdown));
    std::process::exit(report.exit_code());
}
