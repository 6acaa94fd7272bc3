//! # nexus-readiness
//!
//! Production-readiness checklists as typed data, and an executable readiness pipeline.
//!
//! A platform team gates deploys of a GPU inference service ("Nexus") on a checklist people
//! already write: before deploying (manifests, images, certificates, DNS, backups, alert
//! rules), after deploying (pods ready, health endpoints, metrics flowing, GPU health, capacity
//! thresholds), and with people's sign-off for what no machine can check. This crate turns that
//! document into a typed [`Checklist`](model::Checklist), binds each item a machine can verify
//! to a [`Probe`](probe::Probe), records attestations and waivers for the rest, runs everything
//! the way a deploy gate needs ([`Runner`](run::Runner): concurrency, timeouts, dependencies,
//! polling until ready), and reports in the formats teams read ([`Report`](report::Report):
//! Markdown, reStructuredText, JSON, JUnit, TAP, Prometheus).
//!
//! ```
//! use nexus_readiness::model::Phase;
//! use nexus_readiness::probe::{FnProbe, Observation};
//! use nexus_readiness::report::{Format, Status};
//! use nexus_readiness::run::{Plan, Runner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut plan = Plan::new(nexus_readiness::builtin::nexus()); // the 58-item Nexus checklist
//! plan.bind(
//!     "deployment.container-image.image-tagged-with-version",
//!     FnProbe::new("image://nexus:1.4.2", |_cx| async { Ok(Observation::pass("tagged 1.4.2")) }),
//! )?;
//! let report = Runner::builder().phases([Phase::Deployment]).build().run(&plan).await;
//! let item = report.item("deployment.container-image.image-tagged-with-version").unwrap();
//! assert_eq!(item.status, Status::Pass);
//! println!("{}", report.render(Format::Markdown));
//! # Ok(())
//! # }
//! ```
//!
//! Items without a configured target are reported as *Skipped: not configured* with the config
//! key that would enable them, never as Pass; items only a person can confirm stay *Pending*
//! until attested. The [`config`] module loads all of this from one TOML file.
//!
//! # Optional features
//!
//! The core (no feature) holds the model, document formats, runner, reports, config and the
//! `net` (TCP, Redis), `file` (Dockerfile, Trivy, JUnit, documents) and `command` probes.
//!
//! - `http`: HTTP endpoint probes: health, auth enforced, rate limiting, input validation, CDN
//!   headers, debug endpoints, OCI registry, monitoring and logging stacks (reqwest + rustls).
//! - `tls`: certificate chain, expiry, hostname and protocol-version probes (tokio-rustls, x509-parser).
//! - `dns`: record probes against the system or given nameservers (hickory-resolver).
//! - `prometheus`: metrics flowing, alert rules defined, capacity thresholds; rule-file rendering.
//! - `kube`: Kubernetes checks on a live cluster and on manifests; rollout gate and rollback.
//! - `s3`: backup bucket reachable, versioning, encryption, lifecycle, logging, newest backup age.
//! - `gcs`: the same backup checks on Google Cloud Storage (JSON API over reqwest).
//! - `azure`: the same backup checks on Azure Blob Storage (REST API over reqwest).
//! - `nvml`: NVIDIA GPU presence, health, utilization and memory through NVML.
//! - `server`: readiness as an HTTP service (`/healthz`, `/readyz`, `/report`, `/metrics`).
//! - `full`: all of the above.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.95 (edition 2024).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod __fuzz;
pub mod builtin;
pub mod config;
mod error;
pub mod format;
pub mod model;
pub mod probe;
pub mod probes;
pub mod report;
pub mod run;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;

pub use error::{Error, Result};

/// The attribute a [`Probe`](probe::Probe) implementation needs
/// (`#[nexus_readiness::async_trait]`), re-exported so that `nexus-readiness` is the only
/// dependency a probe needs.
pub use async_trait::async_trait;
/// Re-exported: the date and time types of the API ([`ProbeContext::now`](probe::ProbeContext),
/// [`Clock`](probe::Clock), attestations, waivers, reports), so `DateTime<Utc>` needs no
/// `chrono` dependency.
pub use chrono::{self, DateTime, NaiveDate, Utc};
/// Re-exported for a [`ProbeSpec`](probe::ProbeSpec)'s schema:
/// `#[derive(nexus_readiness::schemars::JsonSchema)]` with
/// `#[schemars(crate = "nexus_readiness::schemars")]`.
pub use schemars;
/// Re-exported for a [`ProbeSpec`](probe::ProbeSpec)'s fields:
/// `#[derive(nexus_readiness::serde::Deserialize)]` with `#[serde(crate = "nexus_readiness::serde")]`.
pub use serde;

/// The README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The types most programs need: `use nexus_readiness::prelude::*;`, enough to implement a
/// probe, bind it and run a plan:
///
/// ```
/// use nexus_readiness::prelude::*;
///
/// #[derive(Debug)]
/// struct QueueDepth;
///
/// #[async_trait]
/// impl Probe for QueueDepth {
///     fn target(&self) -> String {
///         "queue://inference".into()
///     }
///     async fn check(&self, cx: &ProbeContext) -> Result<Observation, ProbeError> {
///         let at: DateTime<Utc> = cx.now();
///         Ok(Observation::pass(format!("12 queued at {at}"))
///             .with_measurement(Measurement::new("queue_depth", 12.0, Unit::Count)))
///     }
/// }
/// # let _ = QueueDepth;
/// ```
pub mod prelude {
    pub use crate::config::{Config, Registry};
    pub use crate::model::Binding;
    pub use crate::model::{Checklist, Item, ItemId, Phase, Section, Severity, Threshold, Unit};
    pub use crate::probe::{
        All, Attestation, BoxProbe, BuildContext, Evidence, FnProbe, Measurement, Observation, Probe, ProbeContext,
        ProbeError, ProbeErrorKind, ProbeExt, ProbeSpec, Secret, Verdict, Waiver,
    };
    pub use crate::report::{Format, ItemReport, Report, SkipKind, Status};
    pub use crate::run::{Plan, Runner, RunnerBuilder};
    pub use crate::{DateTime, Utc, async_trait};
}
