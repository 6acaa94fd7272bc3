//! Post-deploy gate for a Deployment: wait for the rollout, run the post-deploy checks, and
//! roll back when a check *failed* (a server-side dry run unless `--apply-rollback`).
//!
//! ```text
//! cargo run --example kube_gate --features kube -- \
//!     --namespace nexus --deployment nexus-api [--kubeconfig ~/.kube/config] \
//!     [--context prod] [--wait 300] [--gpu-nodes 2] [--apply-rollback] \
//!     [--rollback-on-error] [--rollback-timeout 120]
//! ```
//!
//! Rollback rules: by default only a Fail rolls back; a check that could not decide (API
//! denied, timed out) is reported and not acted on (`--rollback-on-error` changes that). The
//! rollback has its own deadline (`--rollback-timeout`), not what the checks left. Its patch
//! carries the Deployment's resourceVersion, so a concurrent change makes it fail instead of
//! mixing templates. `--apply-rollback` requires an explicit `--namespace` and `--context`.
//!
//! Exit code 0 when every check passes (or does not apply), 1 otherwise, 2 on bad arguments.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::runtime::wait::{await_condition, conditions};
use nexus_readiness::probe::{Probe, ProbeContext, Verdict};
use nexus_readiness::probes::kube::{Check, CheckConfig, KubeProbe, RollbackTrigger, WorkloadSelector, live, rollback};

#[derive(Debug, Default)]
struct Args {
    namespace: String,
    namespace_given: bool,
    rollback_trigger: RollbackTrigger,
    rollback_timeout: u64,
    deployment: String,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    wait: u64,
    gpu_nodes: Option<u32>,
    apply_rollback: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { namespace: "default".into(), wait: 300, rollback_timeout: 120, ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--namespace" | "-n" => {
                args.namespace = value()?;
                args.namespace_given = true;
            }
            "--rollback-on-error" => args.rollback_trigger = RollbackTrigger::OnFailOrError,
            "--rollback-timeout" => {
                args.rollback_timeout = value()?.parse().context("--rollback-timeout takes seconds")?;
            }
            "--deployment" | "-d" => args.deployment = value()?,
            "--kubeconfig" => args.kubeconfig = Some(value()?.into()),
            "--context" => args.context = Some(value()?),
            "--wait" => args.wait = value()?.parse().context("--wait takes seconds")?,
            "--gpu-nodes" => args.gpu_nodes = Some(value()?.parse().context("--gpu-nodes takes a count")?),
            "--apply-rollback" => args.apply_rollback = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if args.deployment.is_empty() {
        bail!("--deployment is required");
    }
    if args.apply_rollback && (!args.namespace_given || args.context.is_none()) {
        bail!("--apply-rollback changes a cluster: name it explicitly with --namespace and --context");
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kube_gate: {e}");
            std::process::exit(2);
        }
    };
    let client =
        live::client(args.kubeconfig.as_deref(), args.context.as_deref(), Some(Duration::from_secs(30))).await?;
    let (ns, name) = (args.namespace.as_str(), args.deployment.as_str());

    println!("waiting up to {}s for deployment {ns}/{name} to roll out", args.wait);
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let waited = tokio::time::timeout(
        Duration::from_secs(args.wait),
        await_condition(api, name, conditions::is_deployment_completed()),
    )
    .await;
    match waited {
        Ok(Ok(_)) => println!("rollout complete"),
        Ok(Err(e)) => println!("could not watch the rollout: {e}"),
        Err(_) => println!("rollout not complete after {}s", args.wait),
    }

    let selector = WorkloadSelector::deployment(ns, name);
    let config = CheckConfig { gpu_nodes_min: args.gpu_nodes, ..CheckConfig::default() };
    let mut checks = vec![
        Check::RolloutComplete,
        Check::PodsReady,
        Check::RestartLoops,
        Check::LoadBalancer,
        Check::ResourceLimits,
        Check::HealthProbes,
        Check::ImageTag,
        Check::RollbackPossible,
    ];
    if args.gpu_nodes.is_some() {
        checks.push(Check::GpuNodes);
    }
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(60));
    let (mut failed, mut errored) = (false, false);
    for check in checks {
        let probe = KubeProbe::live(client.clone(), selector.clone(), check).with_config(config.clone());
        match probe.check(&cx).await {
            Ok(obs) => {
                println!("{:<18} {:<5} {}", check.as_str(), obs.verdict.to_string(), obs.summary);
                failed |= obs.verdict == Verdict::Fail;
            }
            Err(e) if e.kind.is_skip() => println!("{:<18} skip  {e}", check.as_str()),
            Err(e) => {
                println!("{:<18} error {e}", check.as_str());
                errored = true;
            }
        }
    }
    if !failed && !errored {
        println!("deployment {ns}/{name} is ready");
        return Ok(());
    }
    if !args.rollback_trigger.should_roll_back(failed, errored) {
        println!(
            "deployment {ns}/{name} is not ready: some checks could not decide; not rolling back on an error (see --rollback-on-error)"
        );
        std::process::exit(1);
    }
    let dry_run = !args.apply_rollback;
    println!("deployment {ns}/{name} is not ready: rolling back{}", if dry_run { " (dry run)" } else { "" });
    // The rollback's own deadline, not what the checks left.
    let rcx = ProbeContext::new().with_timeout(Duration::from_secs(args.rollback_timeout));
    match rollback(&rcx, &client, ns, name, dry_run).await {
        Ok(plan) => println!(
            "rollback from revision {} to revision {} (ReplicaSet {}){}",
            plan.current_revision.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            plan.target_revision,
            plan.target_replica_set,
            if plan.dry_run { ": accepted by the API server in dry-run mode, nothing changed" } else { ": applied" }
        ),
        Err(e) => println!("rollback impossible: {e}"),
    }
    std::process::exit(1);
}
