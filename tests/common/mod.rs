//! Shared helpers for integration tests that need a real server binary.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

pub mod trace;

/// Finds a server binary: the path in `NEXUS_READINESS_BIN_<NAME>` when set (`scripts/test.sh`
/// sets it to the binary whose version it checked, e.g. `NEXUS_READINESS_BIN_MOTO_SERVER` for
/// `moto_server` in its own virtual environment), else on PATH or in the sbin directories Debian
/// installs daemons into.
///
/// When it is missing: with `CI=true` the test fails (a green CI that skipped the real servers
/// is a defect); otherwise the caller skips with a note.
pub fn require_binary(name: &str) -> Option<PathBuf> {
    let var = format!("NEXUS_READINESS_BIN_{}", name.to_ascii_uppercase().replace(['-', '.'], "_"));
    if let Some(path) = std::env::var_os(&var).filter(|p| !p.is_empty()).map(PathBuf::from) {
        if path.is_file() {
            return Some(path);
        }
        panic!("{var}={} names no file: run scripts/test.sh, which installs it", path.display());
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"].map(PathBuf::from));
    if let Some(found) = dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(found);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!(
            "`{name}` is not installed, and CI=true requires the real server: run scripts/test.sh, which installs it"
        );
    }
    eprintln!("skipping: `{name}` is not installed (scripts/test.sh installs it)");
    None
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Every ```toml block of the README that is a whole config file (it has a `[section]`), with
/// the line its text starts on.
pub fn readme_config_blocks() -> Vec<(usize, String)> {
    let readme = include_str!("../../README.md");
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some((n + 2, String::new())),
            (Some(_), "```") => {
                let (at, text) = current.take().unwrap();
                // Config blocks, not a Cargo manifest's `[dependencies]`.
                let manifest = text.lines().any(|l| l.trim() == "[dependencies]");
                if !manifest && text.lines().any(|l| l.trim_start().starts_with('[')) {
                    blocks.push((at, text));
                }
            }
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}
