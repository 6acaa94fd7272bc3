//! External commands: smoke tests and other programs whose exit code is the verdict
//! ([`CommandProbe`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use nexus_readiness::probe::{Probe, ProbeContext};
//! use nexus_readiness::probes::command::CommandProbe;
//!
//! # async fn demo() -> Result<(), nexus_readiness::probe::ProbeError> {
//! let smoke = CommandProbe::new("./scripts/smoke.sh").arg("--env=prod").timeout(Duration::from_secs(120));
//! let obs = smoke.check(&ProbeContext::new()).await?;
//! println!("{}", obs.summary);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::model::Unit;
use crate::probe::{
    BuildContext, Measurement, Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Secret,
};

/// The default number of output bytes kept per stream (the tail).
pub const DEFAULT_CAPTURE: usize = 4096;

/// The most output bytes kept per stream, whatever `capture` asks (1 MiB).
pub const MAX_CAPTURE: usize = 1 << 20;

/// The variables a program inherits unless told otherwise: none of them usually holds a
/// secret.
pub const DEFAULT_INHERIT_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"];

/// Runs a program and passes when it exits with an expected code.
///
/// Arguments are passed as is (no shell). The environment is cleared: the program gets only
/// the variables named by [`inherit_env`](Self::inherit_env) (default
/// [`DEFAULT_INHERIT_ENV`]: `PATH`, `HOME`, locale, `TZ`, `TMPDIR`) plus `env` (values are
/// [`Secret`]s: never shown). Values of inherited variables outside the default list are
/// treated as secrets in the output too. The last `capture` bytes of stdout and stderr
/// (at most [`MAX_CAPTURE`]) become evidence.
///
/// The program runs in a process group of its own: when it ends, times out (or the run's
/// deadline passes) or the probe is dropped, the whole group is killed, so children it left
/// in the background do not outlive the probe. A timeout is reported as a timeout error; a
/// program that cannot be started is a not-found or permission-denied error naming it.
#[derive(Debug, Clone)]
pub struct CommandProbe {
    program: String,
    args: Vec<String>,
    env: BTreeMap<String, Secret>,
    inherit: Vec<String>,
    cwd: Option<PathBuf>,
    timeout: Duration,
    expect: Vec<i32>,
    capture: usize,
}

impl CommandProbe {
    /// A probe running `program` (found on `PATH` unless it contains a `/`), expecting exit
    /// code 0 within 60 s.
    pub fn new(program: impl Into<String>) -> Self {
        CommandProbe {
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            inherit: DEFAULT_INHERIT_ENV.iter().map(|s| (*s).to_string()).collect(),
            cwd: None,
            timeout: Duration::from_secs(60),
            expect: vec![0],
            capture: DEFAULT_CAPTURE,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the variables inherited from this process's environment (default
    /// [`DEFAULT_INHERIT_ENV`]); every other one is cleared. An empty list gives the program
    /// only `env`.
    pub fn inherit_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inherit = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets the timeout after which the program is killed (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the exit codes that pass (default `[0]`).
    pub fn expect_exit(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.expect = codes.into_iter().collect();
        self
    }

    /// Sets how many trailing bytes of each stream are kept (default 4096, at most
    /// [`MAX_CAPTURE`]).
    pub fn capture(mut self, bytes: usize) -> Self {
        self.capture = bytes.min(MAX_CAPTURE);
        self
    }

    fn display(&self) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            if a.contains(char::is_whitespace) || a.is_empty() {
                s.push_str(&format!("{a:?}"));
            } else {
                s.push_str(a);
            }
        }
        s
    }
}

/// Kills the program's whole process group when dropped: on timeout, cancellation, when the
/// probe's future is dropped, and after the program exits (what it left behind).
struct GroupKill(Option<u32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take().and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1)
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            // ESRCH (the group is already gone) is fine.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Reads a stream to its end, keeping only the last `keep` bytes.
async fn tail<R: AsyncRead + Unpin>(mut r: R, keep: usize) -> (Vec<u8>, usize) {
    let keep = keep.min(MAX_CAPTURE);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut total = 0usize;
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total = total.saturating_add(n);
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > keep.saturating_mul(2).max(8192) {
                    let cut = buf.len() - keep;
                    buf.drain(..cut);
                }
            }
        }
    }
    if buf.len() > keep {
        let cut = buf.len() - keep;
        buf.drain(..cut);
    }
    (buf, total)
}

fn tail_text(bytes: &[u8], total: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();
    if total > bytes.len() { format!("[{} bytes omitted]\n{text}", total - bytes.len()) } else { text.to_string() }
}

#[async_trait]
impl Probe for CommandProbe {
    fn target(&self) -> String {
        format!("exec:{}", self.program)
    }

    async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
        let shown = self.display();
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        cmd.env_clear();
        // Values inherited beyond the harmless defaults may be secrets: never shown.
        let mut hidden = crate::probe::Redactor::new();
        for name in &self.inherit {
            if let Some(v) = std::env::var_os(name) {
                if !DEFAULT_INHERIT_ENV.contains(&name.as_str()) {
                    hidden.add(&Secret::new(v.to_string_lossy().into_owned()));
                }
                cmd.env(name, v);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v.expose());
            hidden.add(v);
        }
        #[cfg(unix)]
        cmd.process_group(0);
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => match &self.cwd {
                Some(d) if !d.is_dir() => {
                    ProbeError::not_found(format!("working directory {} does not exist", d.display()))
                }
                _ => ProbeError::not_found(format!("program `{}` not found", self.program)),
            },
            std::io::ErrorKind::PermissionDenied => {
                ProbeError::permission_denied(format!("program `{}` is not executable", self.program))
            }
            _ => ProbeError::other(format!("cannot start `{shown}`")).with_source(&e),
        })?;
        let group = GroupKill(child.id());
        let out = tokio::spawn(tail(child.stdout.take().expect("stdout is piped"), self.capture));
        let err = tokio::spawn(tail(child.stderr.take().expect("stderr is piped"), self.capture));
        let budget = cx.budget(self.timeout);
        let status = tokio::select! {
            s = child.wait() => s.map_err(|e| ProbeError::other(format!("waiting for `{shown}`")).with_source(&e))?,
            () = tokio::time::sleep(budget) => {
                drop(group);
                let _ = child.kill().await;
                out.abort();
                err.abort();
                return Err(ProbeError::new(
                    ProbeErrorKind::Timeout,
                    format!("`{shown}` ran past {} and was killed", crate::model::duration::format(budget)),
                ));
            }
            () = cx.cancellation().cancelled() => {
                drop(group);
                let _ = child.kill().await;
                return Err(ProbeError::cancelled());
            }
        };
        let elapsed = started.elapsed();
        // The program is done: what it left running in its group goes too, which also closes
        // the streams those children held.
        drop(group);
        let grace = Duration::from_millis(500);
        let (stdout, stdout_total) =
            tokio::time::timeout(grace, out).await.ok().and_then(Result::ok).unwrap_or_default();
        let (stderr, stderr_total) =
            tokio::time::timeout(grace, err).await.ok().and_then(Result::ok).unwrap_or_default();
        let code = status.code();
        let took = crate::model::duration::format(Duration::from_millis(elapsed.as_millis() as u64));
        let mut obs = match code {
            Some(c) if self.expect.contains(&c) => Observation::pass(format!("`{shown}` exited with {c} in {took}")),
            Some(c) => {
                let last = hidden
                    .redact(&String::from_utf8_lossy(&stderr))
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| format!(": {}", l.trim().chars().take(200).collect::<String>()))
                    .unwrap_or_default();
                Observation::fail(format!("`{shown}` exited with {c}, expected {}{last}", expect_text(&self.expect)))
            }
            None => Observation::fail(format!("`{shown}` was killed by a signal{}", signal_text(&status))),
        };
        obs.push_measurement(Measurement::new("duration", elapsed.as_secs_f64(), Unit::Seconds));
        obs = obs.with_evidence("command", shown);
        if let Some(c) = code {
            obs = obs.with_evidence("exit_code", c.to_string());
        }
        if stdout_total > 0 {
            obs = obs.with_evidence("stdout", hidden.redact(&tail_text(&stdout, stdout_total)));
        }
        if stderr_total > 0 {
            obs = obs.with_evidence("stderr", hidden.redact(&tail_text(&stderr, stderr_total)));
        }
        Ok(obs)
    }
}

fn expect_text(codes: &[i32]) -> String {
    match codes {
        [one] => one.to_string(),
        many => format!("one of {}", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(unix)]
fn signal_text(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    status.signal().map_or(String::new(), |s| format!(" ({s})"))
}

#[cfg(not(unix))]
fn signal_text(_: &std::process::ExitStatus) -> String {
    String::new()
}

fn default_expect() -> Vec<i32> {
    vec![0]
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_inherit_env() -> Vec<String> {
    DEFAULT_INHERIT_ENV.iter().map(|s| (*s).to_string()).collect()
}

fn default_capture() -> usize {
    DEFAULT_CAPTURE
}

/// Config-file spec of a [`CommandProbe`] (kind `command`).
///
/// ```toml
/// [targets.smoke_test]
/// program = "./scripts/smoke.sh"
/// args = ["--base-url", "https://api.example.com"]
/// env = { API_TOKEN = "${env:SMOKE_TOKEN}" }
/// inherit_env = ["PATH", "HOME", "KUBECONFIG"]
/// timeout = "2m"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The program: a path, or a name looked up on `PATH`.
    pub program: String,
    /// Arguments, passed as is (no shell).
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables; values are secrets (use `${env:NAME}`).
    #[serde(default)]
    pub env: BTreeMap<String, Secret>,
    /// Variables inherited from the environment of the process running the probes; every
    /// other one is cleared (default: `PATH`, `HOME`, `LANG`, `LC_ALL`, `LC_CTYPE`, `TZ`,
    /// `TMPDIR`). Values of variables beyond those defaults are never shown in the output.
    #[serde(default = "default_inherit_env")]
    pub inherit_env: Vec<String>,
    /// Working directory (default: the current one).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Time after which the program is killed (default 60s).
    #[serde(default = "default_command_timeout", with = "crate::model::duration::human")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Exit codes that pass (default `[0]`).
    #[serde(default = "default_expect")]
    pub expect_exit: Vec<i32>,
    /// Trailing bytes of stdout and stderr kept as evidence (default 4096, at most 1 MiB).
    #[serde(default = "default_capture")]
    pub capture: usize,
}

impl ProbeSpec for CommandSpec {
    const KIND: &'static str = "command";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        if self.program.trim().is_empty() {
            return Err(ProbeError::misconfigured("command: program is empty"));
        }
        if self.expect_exit.is_empty() {
            return Err(ProbeError::misconfigured("command: expect_exit lists no exit code"));
        }
        if self.capture > MAX_CAPTURE {
            return Err(ProbeError::misconfigured(format!(
                "command: capture = {} is more than the {MAX_CAPTURE}-byte limit",
                self.capture
            )));
        }
        if let Some(bad) = self.inherit_env.iter().find(|n| n.is_empty() || n.contains(['=', '\0'])) {
            return Err(ProbeError::misconfigured(format!("command: inherit_env: `{bad}` is not a variable name")));
        }
        let mut p = CommandProbe::new(&self.program)
            .args(self.args.iter().cloned())
            .timeout(self.timeout)
            .expect_exit(self.expect_exit.iter().copied())
            .capture(self.capture)
            .inherit_env(self.inherit_env.iter().cloned());
        for (k, v) in &self.env {
            p = p.env(k, v.clone());
        }
        if let Some(d) = &self.cwd {
            p = p.current_dir(d);
        }
        Ok(Arc::new(p))
    }
}
