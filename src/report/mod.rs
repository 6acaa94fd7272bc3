//! Reports and renderers.
//!
//! A [`Report`] is what a run produced: per item (in document order) its [`Status`], the
//! reason, every probe result with its observation or error, measurements with threshold
//! evaluations, attestation and waiver; a [`Summary`] with counts per status; the readiness
//! verdict and the sign-off state. It never holds a secret: the runner scrubs every observation
//! and error with the plan's redactor before it enters the report.
//!
//! Render it with [`Report::render`] in any [`Format`]: [`json`], [`junit`], [`markdown`],
//! [`rst`], [`tap`] or [`prometheus`].
//!
//! # Readiness
//!
//! A report is *ready* when no gating item (blocker and critical by default, see
//! [`Plan::gating`](crate::run::Plan::gating)) is Fail, Error or Pending, and, with
//! [`fail_on_warn`](crate::run::RunnerBuilder::fail_on_warn), none is Warn. Waived and Attested
//! items count as done. A gating item Skipped because it is *not configured* or *not
//! applicable*, or because its phase was not run, does not block readiness, but the summary
//! counts the not-configured ones separately ([`Summary::gating_not_configured`]: they "need a
//! target") so a gate can refuse them. A gating item Skipped because a dependency did not pass,
//! or because the run was cancelled, was never verified and blocks readiness.
//!
//! # Exit codes
//!
//! [`Report::exit_code`] gives [`EXIT_READY`] (0) or [`EXIT_NOT_READY`] (1); a tool that could
//! not even load its plan or config exits with [`EXIT_PLAN_ERROR`] (2).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ItemId, Phase, Severity, SignOff};
use crate::probe::{Attestation, Measurement, Observation, ProbeError, Waiver};

pub mod json;
pub mod junit;
pub mod markdown;
pub mod prometheus;
pub mod rst;
pub mod tap;

/// Exit code of a ready run.
pub const EXIT_READY: i32 = 0;
/// Exit code of a run that is not ready (a gating item Failed, Errored or is Pending).
pub const EXIT_NOT_READY: i32 = 1;
/// Exit code when the plan or config could not be loaded, so nothing ran.
pub const EXIT_PLAN_ERROR: i32 = 2;

/// The outcome of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Status {
    /// Every probe passed.
    Pass,
    /// Every probe passed, at least one with a concern.
    Warn,
    /// A probe found the item does not hold.
    Fail,
    /// A probe could not decide (unreachable, timed out, panicked...).
    Error,
    /// Not checked: not configured, not applicable, phase not run, dependency did not pass,
    /// cancelled. [`ItemReport::skip`] says which.
    Skipped,
    /// Needs a person's attestation, which is missing or expired.
    Pending,
    /// A person confirmed the item.
    Attested,
    /// A failing or pending item whose risk is accepted until the waiver expires.
    Waived,
}

impl Status {
    /// All statuses, in the order reports list them.
    pub const ALL: [Status; 8] = [
        Status::Pass,
        Status::Warn,
        Status::Fail,
        Status::Error,
        Status::Skipped,
        Status::Pending,
        Status::Attested,
        Status::Waived,
    ];

    /// The kebab-case name used in every rendering.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pending => "pending",
            Status::Attested => "attested",
            Status::Waived => "waived",
        }
    }

    /// The numeric code exported by the Prometheus renderer: pass 0, warn 1, fail 2, error 3,
    /// skipped 4, pending 5, attested 6, waived 7.
    pub fn code(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Warn => 1,
            Status::Fail => 2,
            Status::Error => 3,
            Status::Skipped => 4,
            Status::Pending => 5,
            Status::Attested => 6,
            Status::Waived => 7,
        }
    }

    /// Whether the item is done: Pass, Warn or Attested (the ticked boxes of the Markdown and
    /// reStructuredText renderings).
    pub fn is_done(self) -> bool {
        matches!(self, Status::Pass | Status::Warn | Status::Attested)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an item was Skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SkipKind {
    /// No probe is bound, or a probe said [`ProbeError::not_configured`]: it needs a target.
    NotConfigured,
    /// Marked not applicable in the plan, or a probe said the check does not apply.
    NotApplicable,
    /// The item's phase was not selected for this run.
    PhaseNotRun,
    /// A dependency (`after`) did not pass. Blocks readiness when the item gates.
    Dependency,
    /// The run was cancelled or its deadline passed before the item ran. Blocks readiness
    /// when the item gates.
    Cancelled,
}

impl SkipKind {
    /// Whether a gating item skipped for this reason blocks readiness.
    pub fn blocks(self) -> bool {
        matches!(self, SkipKind::Dependency | SkipKind::Cancelled)
    }
}

/// The result of one probe of an item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProbeResult {
    /// What the probe looked at (`tls://api.example.com:443`).
    pub target: String,
    /// What it saw, when it could decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<Observation>,
    /// Why it could not decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
    /// How long it ran (JSON: seconds as a float).
    #[serde(rename = "duration_seconds", with = "secs")]
    pub duration: Duration,
    /// How many attempts it made (more than 1 under [`Retry`](crate::probe::Retry)).
    pub attempts: u32,
}

impl ProbeResult {
    /// A probe result.
    pub fn new(target: impl Into<String>, result: Result<Observation, ProbeError>, duration: Duration) -> Self {
        let (observation, error) = match result {
            Ok(o) => (Some(o), None),
            Err(e) => (None, Some(e)),
        };
        ProbeResult { target: target.into(), observation, error, duration, attempts: 1 }
    }

    /// Sets the number of attempts.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The one-line text of this result: the observation's summary or the error's message.
    pub fn text(&self) -> &str {
        match (&self.observation, &self.error) {
            (Some(o), _) => &o.summary,
            (None, Some(e)) => &e.message,
            (None, None) => "",
        }
    }
}

/// A waiver as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WaiverReport {
    /// Why the risk is accepted.
    pub justification: String,
    /// Who approved it.
    pub approver: String,
    /// Last day it counts.
    pub expires: NaiveDate,
    /// Whether it had expired when the run ended (then it did not count).
    pub expired: bool,
}

impl WaiverReport {
    /// The waiver and whether it expired.
    pub fn new(waiver: &Waiver, expired: bool) -> Self {
        WaiverReport {
            justification: waiver.justification.clone(),
            approver: waiver.approver.clone(),
            expires: waiver.expires,
            expired,
        }
    }
}

/// What happened to one item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ItemReport {
    /// The item's id.
    pub id: ItemId,
    /// The item's title (with its applicability qualifier).
    pub title: String,
    /// Titles of the sections holding the item, outermost first.
    pub section: Vec<String>,
    /// The item's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The item's severity.
    pub severity: Severity,
    /// Whether the item gates readiness.
    pub gating: bool,
    /// The outcome.
    pub status: Status,
    /// Why, in one line: probe summaries, the error, the skip reason, the waiver.
    pub reason: String,
    /// For Skipped: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipKind>,
    /// For Skipped "not configured": the config key that would enable the probe, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_key: Option<String>,
    /// For Waived: the status the waiver covers (Fail, Error or Pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_status: Option<Status>,
    /// Every probe's result, in binding order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
    /// The attestation, when one was recorded (expired ones too: see `reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
    /// The waiver, when one was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverReport>,
    /// Wall time from the item's first probe start to its last probe end (JSON: seconds).
    #[serde(rename = "duration_seconds", with = "secs")]
    pub duration: Duration,
}

impl ItemReport {
    /// Every measurement of every probe, with its threshold evaluation when one was attached.
    pub fn measurements(&self) -> impl Iterator<Item = &Measurement> + '_ {
        self.probes.iter().filter_map(|p| p.observation.as_ref()).flat_map(|o| o.measurements.iter())
    }

    /// Whether this item keeps the report from being ready (see the [module docs](self)).
    pub fn blocks(&self, fail_on_warn: bool) -> bool {
        self.gating
            && match self.status {
                Status::Fail | Status::Error | Status::Pending => true,
                Status::Warn => fail_on_warn,
                Status::Skipped => self.skip.is_some_and(SkipKind::blocks),
                _ => false,
            }
    }
}

/// An item that needs a target: Skipped "not configured".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotConfigured {
    /// The item.
    pub item: ItemId,
    /// The config key that would enable its probe, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether the item gates readiness.
    pub gating: bool,
}

/// Counts per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Number of items.
    pub total: usize,
    /// Items that passed.
    pub pass: usize,
    /// Items that passed with a concern.
    pub warn: usize,
    /// Items that failed.
    pub fail: usize,
    /// Items whose probes could not decide.
    pub error: usize,
    /// Items not checked.
    pub skipped: usize,
    /// Items waiting for an attestation.
    pub pending: usize,
    /// Items a person confirmed.
    pub attested: usize,
    /// Items under a valid waiver.
    pub waived: usize,
    /// Gating items Skipped "not configured": readiness holds, but they need a target.
    pub gating_not_configured: usize,
    /// Every item Skipped "not configured", with the key that would enable it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_configured: Vec<NotConfigured>,
}

impl Summary {
    /// The count for a status.
    pub fn count(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Warn => self.warn,
            Status::Fail => self.fail,
            Status::Error => self.error,
            Status::Skipped => self.skipped,
            Status::Pending => self.pending,
            Status::Attested => self.attested,
            Status::Waived => self.waived,
        }
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Warn => &mut self.warn,
            Status::Fail => &mut self.fail,
            Status::Error => &mut self.error,
            Status::Skipped => &mut self.skipped,
            Status::Pending => &mut self.pending,
            Status::Attested => &mut self.attested,
            Status::Waived => &mut self.waived,
        }
    }

    /// Counts the items.
    pub fn of(items: &[ItemReport]) -> Summary {
        let mut s = Summary { total: items.len(), ..Summary::default() };
        for i in items {
            *s.slot(i.status) += 1;
            if i.status == Status::Skipped && i.skip == Some(SkipKind::NotConfigured) {
                if i.gating {
                    s.gating_not_configured += 1;
                }
                s.not_configured.push(NotConfigured {
                    item: i.id.clone(),
                    key: i.config_key.clone(),
                    gating: i.gating,
                });
            }
        }
        s
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} items:", self.total)?;
        let mut first = true;
        for s in Status::ALL {
            let n = self.count(s);
            if n > 0 {
                write!(f, "{} {n} {s}", if first { "" } else { "," })?;
                first = false;
            }
        }
        if self.gating_not_configured > 0 {
            write!(f, " ({} gating items need a target)", self.gating_not_configured)?;
        }
        Ok(())
    }
}

/// What a run produced. Field names are stable: they are the JSON schema (see [`json`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The checklist's id.
    pub checklist: String,
    /// The checklist's title.
    pub title: String,
    /// When the run started (runner clock).
    pub started: DateTime<Utc>,
    /// When the run finished (runner clock).
    pub finished: DateTime<Utc>,
    /// Wall time of the run (JSON: seconds as a float).
    #[serde(rename = "duration_seconds", with = "secs")]
    pub duration: Duration,
    /// Whether Warn items blocked readiness.
    pub fail_on_warn: bool,
    /// Whether the run was cancelled before every item finished.
    pub cancelled: bool,
    /// Every item in document order.
    pub items: Vec<ItemReport>,
    /// Counts per status.
    pub summary: Summary,
    /// The readiness verdict (see the [module docs](self)).
    pub ready: bool,
    /// The checklist's sign-off roles and who signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_off: Vec<SignOff>,
    /// Whether every sign-off role signed.
    pub signed_off: bool,
}

impl Report {
    /// A report over `items`; the summary and the readiness verdict are computed from them.
    pub fn new(
        checklist: impl Into<String>,
        title: impl Into<String>,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        duration: Duration,
        items: Vec<ItemReport>,
    ) -> Self {
        let mut r = Report {
            checklist: checklist.into(),
            title: title.into(),
            started,
            finished,
            duration,
            fail_on_warn: false,
            cancelled: false,
            items,
            summary: Summary::default(),
            ready: false,
            sign_off: Vec::new(),
            signed_off: false,
        };
        r.recompute();
        r
    }

    /// Sets whether Warn blocks readiness, and recomputes the verdict.
    pub fn with_fail_on_warn(mut self, fail_on_warn: bool) -> Self {
        self.fail_on_warn = fail_on_warn;
        self.recompute();
        self
    }

    /// Sets the sign-off table.
    pub fn with_sign_off(mut self, sign_off: Vec<SignOff>) -> Self {
        self.signed_off = !sign_off.is_empty() && sign_off.iter().all(SignOff::is_signed);
        self.sign_off = sign_off;
        self
    }

    /// Recomputes the summary and the readiness verdict from the items.
    pub fn recompute(&mut self) {
        self.summary = Summary::of(&self.items);
        self.ready = !self.cancelled && !self.items.iter().any(|i| i.blocks(self.fail_on_warn));
    }

    /// Whether the deployment may proceed.
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// [`EXIT_READY`] when ready, else [`EXIT_NOT_READY`].
    pub fn exit_code(&self) -> i32 {
        if self.ready { EXIT_READY } else { EXIT_NOT_READY }
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&ItemReport> {
        self.items.iter().find(|i| i.id.as_str() == id)
    }

    /// Counts per status.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The gating items that keep the report from being ready.
    pub fn blockers(&self) -> impl Iterator<Item = &ItemReport> + '_ {
        self.items.iter().filter(|i| i.blocks(self.fail_on_warn))
    }

    /// Renders the report.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => json::render(self),
            Format::Junit => junit::render(self),
            Format::Markdown => markdown::render(self),
            Format::Rst => rst::render(self),
            Format::Tap => tap::render(self),
            Format::Prometheus => prometheus::render(self),
        }
    }
}

/// A rendering of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Format {
    /// Pretty JSON, the stable schema of [`json`].
    Json,
    /// JUnit XML (one testsuite per top-level section).
    Junit,
    /// Markdown: the checklist with ticked boxes and a status per item.
    Markdown,
    /// reStructuredText: the checklist with ticked boxes and a status per item.
    Rst,
    /// TAP version 13.
    Tap,
    /// Prometheus text exposition format.
    Prometheus,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 6] =
        [Format::Json, Format::Junit, Format::Markdown, Format::Rst, Format::Tap, Format::Prometheus];

    /// The name accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Rst => "rst",
            Format::Tap => "tap",
            Format::Prometheus => "prometheus",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Junit => "xml",
            Format::Markdown => "md",
            Format::Rst => "rst",
            Format::Tap => "tap",
            Format::Prometheus => "prom",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown format name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}`: expected json, junit, markdown (md), rst, tap or prometheus")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "junit" | "xml" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "rst" | "restructuredtext" => Ok(Format::Rst),
            "tap" => Ok(Format::Tap),
            "prometheus" | "prom" => Ok(Format::Prometheus),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// Durations as seconds (float) in JSON.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

/// Collapses whitespace (newlines included) to single spaces: reasons are one line.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, w) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}
