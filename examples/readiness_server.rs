//! Readiness as a service: serves the built-in Nexus checklist over HTTP for Kubernetes probes
//! and Prometheus scrapes (`/healthz`, `/readyz`, `/livez`, `/report`, `/metrics`).
//!
//! ```text
//! cargo run --example readiness_server --features server -- --config examples/preflight.toml
//! cargo run --example readiness_server --features server,nvml -- \
//!     --config examples/deploy/node-checks.toml \
//!     --gate pre-deployment.infrastructure.gpu-nodes-provisioned-and-tested
//! curl -s localhost:9464/readyz; curl -s localhost:9464/metrics
//! ```
//!
//! The gating policy comes from the config (`[runner] gating`, `[items."id"] gating`);
//! `--gate` overrides it. The plan runs at most once per `--cache-ttl`, however often it is
//! scraped, and never longer than `--run-deadline`. `--token-file` puts `/report`, `/metrics`
//! and `?verbose` behind a bearer token. Ctrl-C or
//! SIGTERM (what Kubernetes sends) stops accepting connections and lets requests in flight
//! finish for up to 10 s, then the process exits even if a probe is stuck. Exit code: 0 after a clean shutdown, 2 when the arguments or the config are wrong or
//! the address cannot be bound.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use nexus_readiness::builtin;
use nexus_readiness::config::Config;
use nexus_readiness::model::{Phase, duration};
use nexus_readiness::probe::Secret;
use nexus_readiness::report::EXIT_PLAN_ERROR;
use nexus_readiness::run::{Plan, Runner};
use nexus_readiness::server::{ReadinessService, ServeOptions, ServerConfig, serve};

const HELP: &str = "\
readiness_server: the Nexus production readiness checklist as an HTTP service

USAGE:
    cargo run --example readiness_server --features server -- [OPTIONS]

OPTIONS:
    -c, --config FILE       config file (targets, bindings, [runner]); see examples/preflight.toml
                            and examples/deploy/node-checks.toml
    -l, --listen ADDR       address to serve on (default 0.0.0.0:9464)
        --cache-ttl DUR     serve a report this long before running again (default 5s)
    -p, --phase LIST        phases to run, comma separated (default: all, or [runner] phases)
        --gate ITEM         only these items gate /readyz (repeatable); overrides the
                            config's gating policy ([runner] gating, [items.ID] gating;
                            default: blocker and critical items)
        --run-deadline DUR  hard deadline of one run (default 50s, or [runner] deadline if
                            shorter): a hung probe never holds requests
        --token-file FILE   require `Authorization: Bearer <token>` (the file's content) on
                            /report, /metrics and ?verbose; /healthz, /readyz, /livez stay
                            open and reveal the status only
    -h, --help              this text

ENDPOINTS:
    /healthz, /readyz   200 ready, 503 not ready with the blocking items (?verbose: all)
    /livez              200 while the process serves
    /report             the report: JSON, Markdown, JUnit, Prometheus, rST, TAP (Accept or ?format=)
    /metrics            Prometheus text: nexus_readiness_* and the server's own counters
";

#[derive(Debug)]
struct Args {
    config: Option<PathBuf>,
    listen: SocketAddr,
    cache_ttl: Duration,
    phases: Option<Vec<Phase>>,
    gate: Vec<String>,
    run_deadline: Duration,
    token_file: Option<PathBuf>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        config: None,
        listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        cache_ttl: Duration::from_secs(5),
        phases: None,
        gate: Vec::new(),
        run_deadline: Duration::from_secs(50),
        token_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "-c" | "--config" => a.config = Some(value("--config")?.into()),
            "-l" | "--listen" => {
                let v = value("--listen")?;
                a.listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--cache-ttl" => {
                let v = value("--cache-ttl")?;
                a.cache_ttl = duration::parse(&v).map_err(|e| format!("--cache-ttl {v:?}: {e}"))?;
            }
            "-p" | "--phase" => {
                let v = value("--phase")?;
                let phases = v
                    .split(',')
                    .map(|p| p.trim().parse::<Phase>().map_err(|e| format!("--phase {p:?}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                a.phases.get_or_insert_with(Vec::new).extend(phases);
            }
            "--gate" => a.gate.push(value("--gate")?),
            "--run-deadline" => {
                let v = value("--run-deadline")?;
                a.run_deadline = duration::parse(&v).map_err(|e| format!("--run-deadline {v:?}: {e}"))?;
            }
            "--token-file" => a.token_file = Some(value("--token-file")?.into()),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Some(a))
}

/// The plan and runner from the arguments and the config file.
fn build(args: &Args) -> Result<(Plan, Runner), String> {
    let checklist = builtin::nexus();
    let (mut plan, mut runner) = match &args.config {
        Some(path) => {
            let config = Config::load(path).map_err(|e| e.to_string())?;
            (config.plan(checklist).map_err(|e| e.to_string())?, config.runner())
        }
        None => (Plan::new(checklist), Runner::builder()),
    };
    if let Some(phases) = &args.phases {
        runner = runner.phases(phases.iter().copied());
    }
    if !args.gate.is_empty() {
        let gate: BTreeSet<&str> = args.gate.iter().map(String::as_str).collect();
        for id in &gate {
            plan.gating(id, true).map_err(|e| format!("--gate: {e}"))?;
        }
        let ids: Vec<String> = plan.checklist().items().map(|i| i.id.to_string()).collect();
        for id in ids.iter().filter(|id| !gate.contains(id.as_str())) {
            plan.gating(id, false).map_err(|e| e.to_string())?;
        }
    }
    Ok((plan, runner.build()))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return;
        }
        Err(e) => {
            eprintln!("readiness_server: {e}");
            std::process::exit(EXIT_PLAN_ERROR);
        }
    };
    let (plan, runner) = match build(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("readiness_server: {e}");
            std::process::exit(EXIT_PLAN_ERROR);
        }
    };
    let mut server_config = ServerConfig::default().cache_ttl(args.cache_ttl).run_deadline(args.run_deadline);
    if let Some(path) = &args.token_file {
        match read_token(path) {
            Ok(token) => server_config = server_config.bearer_token(token),
            Err(e) => {
                eprintln!("readiness_server: --token-file {}: {e}", path.display());
                std::process::exit(EXIT_PLAN_ERROR);
            }
        }
    }
    let service = ReadinessService::new(plan, runner, server_config);
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("readiness_server: cannot listen on {}: {e}", args.listen);
            std::process::exit(EXIT_PLAN_ERROR);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(%addr, cache_ttl = %duration::format(args.cache_ttl), config = ?args.config, "serving readiness");
    // Connection cap, header-read and idle timeouts, and a drain bounded in time: a probe stuck
    // in a run cannot keep the process from stopping.
    if let Err(e) = serve(listener, service.router(), ServeOptions::default(), shutdown()).await {
        tracing::error!(error = %e, "server failed");
        std::process::exit(1);
    }
    tracing::info!(runs = service.runs(), "stopped");
    // Exit now: dropping the runtime would wait for blocking work a stuck probe still holds.
    std::process::exit(0);
}

/// The bearer token in `path` (surrounding whitespace trimmed), never echoed.
fn read_token(path: &std::path::Path) -> Result<Secret, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > 4096 {
        return Err("larger than 4 KiB: not a token".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".into());
    }
    if token.chars().any(char::is_whitespace) {
        return Err("the token contains whitespace".into());
    }
    Ok(Secret::new(token))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
