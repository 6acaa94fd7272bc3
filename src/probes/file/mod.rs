//! File probes: a Dockerfile ([`DockerfileProbe`]), a container scanner report in Trivy JSON
//! ([`TrivyProbe`]), a JUnit XML test report ([`JunitProbe`]) and a document that must exist
//! ([`PathProbe`]).
//!
//! A file that cannot be read is a [`ProbeError`] naming the path (not found, permission
//! denied); what the file says is the verdict.
//!
//! ```
//! use nexus_readiness::probes::file::DockerfileProbe;
//! use nexus_readiness::probe::Verdict;
//!
//! let obs = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", "FROM ubuntu\n");
//! assert_eq!(obs.verdict, Verdict::Fail);
//! assert!(obs.summary.starts_with("Dockerfile:1: single-stage build"));
//! ```

mod dockerfile;
mod junit;
mod path;
mod trivy;

use std::path::Path;

pub use dockerfile::{DockerfileProbe, DockerfileSpec};
pub use junit::{JunitProbe, JunitSpec};
pub use path::{PathProbe, PathSpec};
pub use trivy::{ScanSeverity, TrivyProbe, TrivySpec};

use crate::probe::{ProbeContext, ProbeError};

/// Largest report file read (64 MiB).
const MAX_FILE: u64 = 64 << 20;

/// Largest Dockerfile read (4 MiB).
const MAX_DOCKERFILE: u64 = 4 << 20;

/// A probe error for an I/O error on `path`.
pub(crate) fn io_error(path: &Path, e: &std::io::Error) -> ProbeError {
    let p = path.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => ProbeError::not_found(format!("{p} does not exist")),
        std::io::ErrorKind::PermissionDenied => ProbeError::permission_denied(format!("{p} cannot be read")),
        _ => ProbeError::other(format!("reading {p}")).with_source(e),
    }
}

/// Why [`read_regular`] returned no content.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// The path is a directory, FIFO, socket or device: what it is.
    NotRegular(&'static str),
    /// The file holds more than the cap.
    TooLarge(u64),
}

impl ReadError {
    /// The error as a sentence about `path` (`what` names the file: "the config file").
    pub(crate) fn describe(&self, path: &Path) -> String {
        let p = path.display();
        match self {
            ReadError::Io(e) => format!("cannot read {p}: {e}"),
            ReadError::NotRegular(what) => format!("{p} is {what}, not a regular file"),
            ReadError::TooLarge(cap) => format!("{p} is larger than the {cap}-byte limit"),
        }
    }
}

/// What a non-regular file is, for messages.
fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() { "a directory" } else { "not a regular file" }
}

/// Reads a regular file, at most `cap` bytes, without ever blocking on a special file.
///
/// A directory, FIFO, socket or device is refused before it is read (a FIFO is opened
/// non-blocking, so a FIFO swapped in after the check cannot hang the read either), and the
/// read stops one byte past `cap` whatever the file's reported size (`/proc` files and
/// devices report 0): memory stays bounded by the cap.
pub(crate) fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(file_kind(meta.file_type())));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never wait for a writer if the path became a FIFO after the check above.
        opts.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = opts.open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(file_kind(meta.file_type())));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len().min(cap)).unwrap_or(0).saturating_add(1));
    file.take(cap.saturating_add(1)).read_to_end(&mut buf).map_err(ReadError::Io)?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(buf)
}

/// Reads a regular file as bytes (at most `cap`), honouring the context's deadline.
pub(crate) async fn read_bytes(path: &Path, cap: u64, cx: &ProbeContext) -> Result<Vec<u8>, ProbeError> {
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_regular(&owned, cap));
    match cx.run(read).await? {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(ReadError::Io(e))) => Err(io_error(path, &e)),
        Ok(Err(e)) => Err(ProbeError::misconfigured(e.describe(path))),
        Err(e) => Err(ProbeError::other(format!("reading {}", path.display())).with_source(&e)),
    }
}

/// Reads a regular file as UTF-8 text (at most `cap` bytes).
pub(crate) async fn read_text(path: &Path, cap: u64, cx: &ProbeContext) -> Result<String, ProbeError> {
    let bytes = read_bytes(path, cap, cx).await?;
    String::from_utf8(bytes).map_err(|e| {
        ProbeError::protocol(format!("{} is not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))
    })
}
