//! A probe written by a user, bound to an item of the built-in checklist.
//!
//! `cargo run --example custom_probe`

use async_trait::async_trait;
use nexus_readiness::builtin;
use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError};
use nexus_readiness::run::{Plan, Runner};

/// "Database connection pooling configured": PgBouncer's pool size, read from its config file.
#[derive(Debug)]
struct PgBouncerPool {
    path: &'static str,
}

#[async_trait]
impl Probe for PgBouncerPool {
    fn target(&self) -> String {
        format!("file://{}", self.path)
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let text = tokio::fs::read_to_string(self.path)
            .await
            .map_err(|e| ProbeError::not_found(format!("{} cannot be read", self.path)).with_source(&e))?;
        let size = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("default_pool_size"))
            .and_then(|v| v.trim_start_matches([' ', '=']).trim().parse::<u32>().ok());
        Ok(match size {
            Some(n) if n > 0 => Observation::pass(format!("{}: default_pool_size = {n}", self.path))
                .with_evidence("pool_size", n.to_string()),
            _ => Observation::fail(format!("{}: no default_pool_size set", self.path)),
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let mut plan = Plan::new(builtin::nexus());
    plan.bind(
        "pre-deployment.performance.database-connection-pooling-configured",
        PgBouncerPool { path: "/etc/pgbouncer/pgbouncer.ini" },
    )?;
    let report = Runner::builder().build().run(&plan).await;
    let item =
        report.item("pre-deployment.performance.database-connection-pooling-configured").expect("the item exists");
    println!("{}: {} ({})", item.id, item.status, item.reason);
    Ok(())
}
