//! GPU node admission: runs the NVML probes on this node and prints verdicts and measurements.
//!
//! ```text
//! cargo run --example gpu_node --features nvml -- [--lib /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1] [--gpus 8] [--xid-window 5s]
//! ```
//!
//! Exits 1 when a probe fails or cannot look, so it can gate a node in a script.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use nexus_readiness::model::duration;
use nexus_readiness::probe::{BuildContext, Probe, ProbeContext, ProbeSpec, Verdict};
use nexus_readiness::probes::nvml::{DEFAULT_LIBRARY, GpuCapacitySpec, GpuHealthSpec, GpuPresenceSpec, GpuXidSpec};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();

    let mut library = PathBuf::from(DEFAULT_LIBRARY);
    let mut gpus = 1;
    let mut window = Duration::from_secs(2);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lib" => library = args.next().context("--lib needs a path")?.into(),
            "--gpus" => gpus = args.next().context("--gpus needs a count")?.parse().context("--gpus")?,
            "--xid-window" => window = duration::parse(&args.next().context("--xid-window needs a duration")?)?,
            "-h" | "--help" => {
                println!("usage: gpu_node [--lib PATH] [--gpus N] [--xid-window DURATION]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }

    let cx = BuildContext::detached();
    let probes: Vec<Arc<dyn Probe>> = vec![
        GpuPresenceSpec { library: library.clone(), expected_count: gpus, ..Default::default() }.build(&cx)?,
        GpuHealthSpec { library: library.clone(), ..Default::default() }.build(&cx)?,
        GpuCapacitySpec { library: library.clone(), ..Default::default() }.build(&cx)?,
        GpuXidSpec { library, window, ..Default::default() }.build(&cx)?,
    ];

    let cx = ProbeContext::new().with_timeout(window + Duration::from_secs(30));
    let mut healthy = true;
    for probe in &probes {
        match probe.check(&cx).await {
            Ok(obs) => {
                healthy &= obs.verdict != Verdict::Fail;
                println!("{:<5} {}  {}", obs.verdict, probe.target(), obs.summary);
                for m in &obs.measurements {
                    let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let level = m.evaluation.as_ref().map(|e| format!(" [{}]", e.level)).unwrap_or_default();
                    println!("        {}{{{}}} = {}{level}", m.name, labels.join(","), m.unit.format(m.value));
                }
            }
            Err(e) => {
                healthy &= e.kind.is_skip();
                let label = if e.kind.is_skip() { "skip" } else { "error" };
                println!("{label:<5} {}  {e}", probe.target());
            }
        }
    }
    if !healthy {
        std::process::exit(1);
    }
    Ok(())
}
