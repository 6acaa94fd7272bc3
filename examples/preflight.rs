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
    -f, --format FORMAT   summary (default), markdown, json, junit, tap, prometheus, rst, sarif
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

    // Refuse a bad --output before running anything.
    if let Some(out) = &args.output
        && let Err(e) = check_output(out, args.config.as_deref())
    {
        eprintln!("error: --output {}: {e}", out.display());
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
            if let Err(e) = write_report(path, &text, args.config.as_deref()) {
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
        eprintln!("{} — {}", report.headline(), report.summary());
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

/// Whether `path` may receive the report: a regular file (or nothing yet) in an existing
/// directory, not a symbolic link, FIFO, device or directory, and not the config file itself.
/// Returns the mode to keep when the file exists.
fn check_output(path: &Path, config: Option<&Path>) -> anyhow::Result<Option<u32>> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        anyhow::bail!("directory {} does not exist", dir.display());
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let t = meta.file_type();
    if t.is_symlink() {
        anyhow::bail!("is a symbolic link: name the file it points to");
    }
    if !t.is_file() {
        anyhow::bail!("is {}, not a regular file", kind(t));
    }
    if let Some(config) = config
        && same_file(path, config)
    {
        anyhow::bail!("is the config file: the report would overwrite it");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(meta.permissions().mode() & 0o7777))
    }
    #[cfg(not(unix))]
    Ok(None)
}

/// What a non-regular file is, for messages.
fn kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() { "a directory" } else { "not a regular file" }
}

/// Whether two paths name the same file (same device and inode, so hard links and other
/// spellings of the path count).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => a.canonicalize().ok() == b.canonicalize().ok(),
        _ => false,
    }
}

/// Writes the report to `path` atomically: a temporary file beside it, with the mode of the
/// file it replaces (0644 for a new one), synced, renamed over `path`, and the directory
/// synced so the rename survives a crash. Refuses what [`check_output`] refuses.
fn write_report(path: &Path, text: &str, config: Option<&Path>) -> anyhow::Result<()> {
    let mode = check_output(path, config)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".report-").tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Temporary files are private (0600): keep the replaced file's mode, or 0644.
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o644)))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn output_keeps_the_mode_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report.json");
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_report(&out, "new", None).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new");
        assert_eq!(mode(&out), 0o600);
        let fresh = dir.path().join("fresh.json");
        write_report(&fresh, "x", None).unwrap();
        assert_eq!(mode(&fresh), 0o644);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn output_refuses_fifos_symlinks_directories_and_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = write_report(&fifo, "x", None).unwrap_err();
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&std::fs::symlink_metadata(&fifo).unwrap().file_type()));

        let target = dir.path().join("target.json");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_report(&link, "x", None).unwrap_err();
        assert_eq!(e.to_string(), "is a symbolic link: name the file it points to");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

        let e = write_report(dir.path(), "x", None).unwrap_err();
        assert_eq!(e.to_string(), "is a directory, not a regular file");
        let e = write_report(Path::new("/dev/null"), "x", None).unwrap_err();
        assert_eq!(e.to_string(), "is a device, not a regular file");

        let config = dir.path().join("nexus.toml");
        std::fs::write(&config, "[runner]\n").unwrap();
        let spelled = dir.path().join(".").join("nexus.toml");
        let e = write_report(&spelled, "x", Some(&config)).unwrap_err();
        assert_eq!(e.to_string(), "is the config file: the report would overwrite it");
        let hard = dir.path().join("hard.toml");
        std::fs::hard_link(&config, &hard).unwrap();
        assert!(write_report(&hard, "x", Some(&config)).is_err());
        assert_eq!(std::fs::read_to_string(&config).unwrap(), "[runner]\n");

        let e = write_report(&dir.path().join("missing/report.json"), "x", None).unwrap_err();
        assert!(e.to_string().starts_with("directory "), "{e}");
    }
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
