//! Runs the built-in Nexus production checklist and prints what is ready, what needs a
//! target, and what waits for a person.
//!
//! ```text
//! cargo run --example preflight
//! cargo run --example preflight -- --config examples/preflight.toml --phase pre-deployment
//! cargo run --example preflight -- --config nexus.toml --format junit --output readiness.xml
//! ```
//!
//! Exit code: 0 ready, 1 not ready, 2 the config could not be loaded, the arguments are wrong or
//! the report could not be written.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use nexus_readiness::builtin;
use nexus_readiness::config::Config;
use nexus_readiness::model::Phase;
use nexus_readiness::report::{Format, Report, text};
use nexus_readiness::run::RunEvent;

const HELP: &str = "\
preflight: check a Nexus deployment against the production readiness checklist

USAGE:
    cargo run --example preflight -- [OPTIONS]

OPTIONS:
    -c, --config FILE     config file with targets, bindings, attestations, waivers
                          (see examples/preflight.toml); without one, every automatable
                          item reports which key it needs
    -p, --phase LIST      phases to run, comma separated: pre-deployment, deployment,
                          post-deployment, continuous (default: all, or [runner] phases)
    -f, --format FORMAT   summary (default), markdown, json, junit, tap, prometheus, rst
    -v, --verbose         summary: list every passed, attested and waived item
    -o, --output FILE     write the report there (atomically) instead of stdout
    -h, --help            this text

EXIT CODES:
    0 ready, 1 not ready, 2 the config or the arguments are invalid, or the report
    could not be written

The gate fails closed: a gating item that no probe looked at (no target configured)
keeps the run from being ready. `[runner] allow_unverified = true` lets such items
through for exploring, and the verdict then reads READY (UNVERIFIED: ...).
";

#[derive(Debug, Default)]
struct Args {
    config: Option<PathBuf>,
    phases: Option<Vec<Phase>>,
    format: Option<Format>,
    output: Option<PathBuf>,
    verbose: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "-v" | "--verbose" => args.verbose = true,
            "-c" | "--config" => args.config = Some(PathBuf::from(value("--config")?)),
            "-o" | "--output" => args.output = Some(PathBuf::from(value("--output")?)),
            "-f" | "--format" => {
                let v = value("--format")?;
                args.format = if v == "summary" { None } else { Some(v.parse().map_err(|e| format!("{e}"))?) };
            }
            "-p" | "--phase" => {
                let v = value("--phase")?;
                let phases = v
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse::<Phase>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                args.phases = Some(phases);
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return Ok(());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let config = match &args.config {
        Some(path) => Config::load(path),
        None => Config::from_str_named("", "(no config)"),
    };
    let plan = config.and_then(|c| c.plan(builtin::nexus()).map(|p| (c, p)));
    let (config, plan) = match plan {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };

    if let Some(dir) = args.output.as_deref().and_then(Path::parent).filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        eprintln!("error: --output: directory {} does not exist", dir.display());
        std::process::exit(2);
    }
    let mut runner = config.runner();
    if let Some(phases) = &args.phases {
        runner = runner.phases(phases.iter().copied());
    }
    let progress = progress_observer();
    let runner = match progress.clone() {
        Some(pb) => runner.observer(move |e: &RunEvent| match e {
            RunEvent::Started { items, .. } => pb.set_length(*items as u64),
            RunEvent::ItemStarted { id } => pb.set_message(id.to_string()),
            RunEvent::ItemFinished { .. } => pb.inc(1),
            RunEvent::Finished { .. } => pb.finish_and_clear(),
            _ => {}
        }),
        None => runner.observer(|e: &RunEvent| {
            if let RunEvent::ItemFinished { id, status, .. } = e {
                eprintln!("{:<8} {id}", status.as_str());
            }
        }),
    };
    let report = runner.build().run(&plan).await;

    let text = match args.format {
        Some(f) => report.render(f),
        None => summary(&report, args.verbose, args.config.is_some()),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = write_atomically(path, &text) {
                eprintln!("error: writing {}: {e:#}", path.display());
                std::process::exit(2);
            }
            eprintln!("report written to {}", path.display());
        }
        None => {
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    if args.format.is_some() || args.output.is_some() {
        // The machine-readable report went to stdout or a file: a short verdict for people.
        eprintln!("{}: {}", report.headline(), report.summary());
    }
    std::process::exit(report.exit_code());
}

/// A progress bar on a terminal; `None` (plain lines) otherwise.
fn progress_observer() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    // Temporary files are private (0600); a report is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

/// What a newcomer reads: the verdict, what blocks it and why, which keys to set, who must
/// sign off (see `nexus_readiness::report::text`).
fn summary(report: &Report, verbose: bool, has_config: bool) -> String {
    let mut out = text::render(report, verbose);
    if !has_config && report.summary().gating_not_configured > 0 {
        out.push_str("\nStart from examples/preflight.toml and pass it with --config.\n");
    }
    out
}
