//! Reports and renderers.
//!
//! A [`Report`] is what a run produced: per item (in document order) its [`Status`], the
//! reason, every probe result with its observation or error, measurements with threshold
//! evaluations, attestation and waiver; a [`Summary`] with counts per status; the readiness
//! verdict and the sign-off state. It never holds a secret: the runner scrubs every observation
//! and error with the plan's redactor before it enters the report.
//!
//! Render it with [`Report::render`] in any [`Format`]: [`json`], [`junit`], [`markdown`],
//! [`rst`], [`tap`], [`prometheus`] or [`sarif`].
//!
//! # Readiness
//!
//! A report is *ready* when no gating item blocks it, the run was not cancelled, and the
//! coverage floor ([`RunnerBuilder::min_verified`](crate::run::RunnerBuilder::min_verified))
//! is met. Which items gate: blocker and critical by default, set per severity with
//! [`Plan::gate_severities`](crate::run::Plan::gate_severities) and per item with
//! [`Plan::gating`](crate::run::Plan::gating). The gate fails closed: a gating item is done
//! only when something vouches for it.
//!
//! | status | a gating item | rule when it blocks ([`BlockRule`]) |
//! |---|---|---|
//! | Pass | done | |
//! | Warn | done; blocks with `fail_on_warn` | `warned` |
//! | Fail | blocks | `failed` |
//! | Error | blocks: could not look, which is never a pass | `errored` |
//! | Pending | blocks: no attestation, or it expired (`expires`, `max_age`) | `attestation-missing`, `attestation-expired` |
//! | Attested | done while the attestation is valid | |
//! | Waived | done while the waiver is valid; an expired waiver stops counting and the item shows what it covered | |
//! | Skipped, not applicable | done: marked with a reason (an always-applicable item needs an approver) | |
//! | Skipped, not configured | blocks: nothing looked at it; `allow_unverified` lets it pass and says so in the headline of every format | `not-verified` |
//! | Skipped, dependency failed | blocks: never verified | `dependency-failed` |
//! | Skipped, cancelled | blocks: the run was cancelled or passed its deadline first | `cancelled` |
//! | Skipped, phase not run | out of scope of this run: the verdict covers the selected phases | |
//! | Skipped, not selected | out of scope of this run: the verdict covers the items [`only`](crate::run::RunnerBuilder::only) selected; a selector that matches no item makes the run not ready | |
//!
//! Items that do not gate never block; they count in the [`Summary`] and the [`Coverage`].
//! Every blocking item carries its rule in [`ItemReport::blocked_by`], and
//! [`Report::headline`] sums them up: `NOT READY: 36 gating items not verified`,
//! `READY (UNVERIFIED: 36 gating items not checked)`.
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

use crate::model::{ItemId, Phase, Severity, SignOff, Verification};
use crate::probe::{Attestation, Measurement, Observation, ProbeError, Waiver};

mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod prometheus;
pub mod rst;
pub mod sarif;
pub mod tap;
pub mod text;

pub(crate) use human::plural;

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
    /// Blocks readiness when the item gates, unless `allow_unverified` is set.
    NotConfigured,
    /// Marked not applicable in the plan, or a probe said the check does not apply.
    NotApplicable,
    /// The item's phase was not selected for this run.
    PhaseNotRun,
    /// The item was not selected by [`RunnerBuilder::only`](crate::run::RunnerBuilder::only):
    /// out of scope of this run, like a phase not run.
    NotSelected,
    /// A dependency (`after`) failed. Blocks readiness when the item gates.
    Dependency,
    /// The run was cancelled or its deadline passed before the item ran. Blocks readiness
    /// when the item gates.
    Cancelled,
}

impl SkipKind {
    /// Whether a gating item skipped for this reason blocks readiness: not configured
    /// (unless `allow_unverified`), dependency failed, cancelled.
    pub fn blocks(self) -> bool {
        matches!(self, SkipKind::NotConfigured | SkipKind::Dependency | SkipKind::Cancelled)
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
    /// Titles of the sections holding the item, outermost first (shared by the items of a
    /// section).
    #[serde(with = "shared_strs")]
    pub section: std::sync::Arc<[String]>,
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
    /// How the checklist verifies the item: by a probe, or only by a person.
    #[serde(default)]
    pub verification: Verification,
    /// Whether the item's probes ran alone, after the others, because they have side effects
    /// ([`Probe::has_side_effects`](crate::probe::Probe::has_side_effects)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ran_alone: bool,
    /// The rule by which this item keeps the report from being ready; `None` when it does
    /// not block. Kept by the [`Report`] whenever its items or policy change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockRule>,
}

impl ItemReport {
    /// Every measurement of every probe, with its threshold evaluation when one was attached.
    pub fn measurements(&self) -> impl Iterator<Item = &Measurement> + '_ {
        self.probes.iter().filter_map(|p| p.observation.as_ref()).flat_map(|o| o.measurements.iter())
    }

    /// Whether this item keeps the report from being ready (see the [module docs](self)):
    /// [`blocked_by`](Self::blocked_by) is set.
    pub fn blocks(&self) -> bool {
        self.blocked_by.is_some()
    }

    /// The rule by which this item blocks under the given policy, or `None`.
    pub fn block_rule(&self, fail_on_warn: bool, allow_unverified: bool) -> Option<BlockRule> {
        if !self.gating {
            return None;
        }
        match (self.status, self.skip) {
            (Status::Fail, _) => Some(BlockRule::Failed),
            (Status::Error, _) => Some(BlockRule::Errored),
            (Status::Warn, _) if fail_on_warn => Some(BlockRule::Warned),
            (Status::Pending, _) if self.attestation.is_some() => Some(BlockRule::AttestationExpired),
            (Status::Pending, _) => Some(BlockRule::AttestationMissing),
            (Status::Skipped, Some(SkipKind::NotConfigured)) if !allow_unverified => Some(BlockRule::NotVerified),
            (Status::Skipped, Some(SkipKind::Dependency)) => Some(BlockRule::DependencyFailed),
            (Status::Skipped, Some(SkipKind::Cancelled)) => Some(BlockRule::Cancelled),
            _ => None,
        }
    }

    /// Whether a probe decided this item: Pass, Warn or Fail (also under a waiver of a Fail).
    pub fn verified(&self) -> bool {
        matches!(self.status, Status::Pass | Status::Warn | Status::Fail)
            || (self.status == Status::Waived && self.waived_status == Some(Status::Fail))
    }

    /// Whether a probe could verify this item in this run: the checklist verifies it by
    /// probe, its phase ran, and it is not marked not applicable.
    pub fn automatable(&self) -> bool {
        self.verification == Verification::Probe
            && !matches!(self.skip, Some(SkipKind::PhaseNotRun | SkipKind::NotSelected | SkipKind::NotApplicable))
    }

    /// Why this item blocks, in words, with what would unblock it; empty when it does not.
    pub fn block_explanation(&self) -> String {
        let Some(rule) = self.blocked_by else { return String::new() };
        let mut s = rule.explain().to_string();
        if rule == BlockRule::NotVerified {
            match &self.config_key {
                Some(k) => s.push_str(&format!(": set `{k}`, waive it, or mark it not applicable")),
                None => s.push_str(": bind a probe, waive it, or mark it not applicable"),
            }
        }
        s
    }
}

/// Why a gating item keeps a report from being ready (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BlockRule {
    /// A probe found the item does not hold.
    Failed,
    /// A probe could not look (unreachable, denied, timed out): an error is never a pass.
    Errored,
    /// The item warned and `fail_on_warn` is set.
    Warned,
    /// Nothing looked at the item: no target is configured, and `allow_unverified` is off.
    NotVerified,
    /// The item needs a person's attestation and has none.
    AttestationMissing,
    /// The item's attestation expired (`expires` or `max_age`).
    AttestationExpired,
    /// The item was not checked because a dependency failed.
    DependencyFailed,
    /// The run was cancelled or passed its deadline before the item ran.
    Cancelled,
}

impl BlockRule {
    /// Every rule, in the order headlines list them.
    pub const ALL: [BlockRule; 8] = [
        BlockRule::Failed,
        BlockRule::Errored,
        BlockRule::Warned,
        BlockRule::NotVerified,
        BlockRule::AttestationMissing,
        BlockRule::AttestationExpired,
        BlockRule::DependencyFailed,
        BlockRule::Cancelled,
    ];

    /// The kebab-case name used in JSON and Prometheus labels.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockRule::Failed => "failed",
            BlockRule::Errored => "errored",
            BlockRule::Warned => "warned",
            BlockRule::NotVerified => "not-verified",
            BlockRule::AttestationMissing => "attestation-missing",
            BlockRule::AttestationExpired => "attestation-expired",
            BlockRule::DependencyFailed => "dependency-failed",
            BlockRule::Cancelled => "cancelled",
        }
    }

    /// The rule in words: "gating item failed".
    pub fn explain(self) -> &'static str {
        match self {
            BlockRule::Failed => "gating item failed",
            BlockRule::Errored => "gating item could not be checked (an error is never a pass)",
            BlockRule::Warned => "gating item warned and fail_on_warn is set",
            BlockRule::NotVerified => "gating item not verified: no probe looked at it",
            BlockRule::AttestationMissing => "gating item waits for a person's attestation",
            BlockRule::AttestationExpired => "gating item's attestation expired",
            BlockRule::DependencyFailed => "gating item not checked: a dependency failed",
            BlockRule::Cancelled => "gating item not checked: the run was cancelled or passed its deadline",
        }
    }

    /// How a headline counts items blocked by this rule: "3 gating items failed".
    fn headline(self, n: usize) -> String {
        let what = match self {
            BlockRule::Failed => "failed",
            BlockRule::Errored => "could not be checked",
            BlockRule::Warned => "warned (fail_on_warn)",
            BlockRule::NotVerified => "not verified",
            BlockRule::AttestationMissing => "waiting for attestation",
            BlockRule::AttestationExpired => "with an expired attestation",
            BlockRule::DependencyFailed => "skipped after a failed dependency",
            BlockRule::Cancelled => "not run before the deadline or cancellation",
        };
        format!("{n} gating {} {what}", plural(n, "item", "items"))
    }
}

impl fmt::Display for BlockRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The coverage floor of `[runner] min_verified`: a count of items, or a percentage of the
/// automatable items (`"80%"`), that a probe must have decided for the run to be ready.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum MinVerified {
    /// At least this many items.
    Count(usize),
    /// At least this percentage (0 to 100) of the automatable items, rounded up.
    Percent(f64),
}

impl MinVerified {
    /// The floor as a count, for `automatable` items.
    pub fn required(self, automatable: usize) -> usize {
        match self {
            MinVerified::Count(n) => n,
            MinVerified::Percent(p) => ((p / 100.0) * automatable as f64 - 1e-9).ceil().max(0.0) as usize,
        }
    }
}

impl fmt::Display for MinVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinVerified::Count(n) => write!(f, "{n}"),
            MinVerified::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A `min_verified` that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid min_verified `{0}`: expected a count (40) or a percentage from 0% to 100% (\"80%\")")]
pub struct InvalidMinVerified(pub String);

impl FromStr for MinVerified {
    type Err = InvalidMinVerified;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || InvalidMinVerified(s.to_string());
        match t.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if p.is_finite() && (0.0..=100.0).contains(&p) { Ok(MinVerified::Percent(p)) } else { Err(bad()) }
            }
            None => t.parse().map(MinVerified::Count).map_err(|_| bad()),
        }
    }
}

impl Serialize for MinVerified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MinVerified::Count(n) => s.serialize_u64(*n as u64),
            MinVerified::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for MinVerified {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) => usize::try_from(n)
                .map(MinVerified::Count)
                .map_err(|_| serde::de::Error::custom(InvalidMinVerified(n.to_string()))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for MinVerified {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MinVerified".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A count of items, or a percentage of the automatable items (\"80%\").",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%\\s*$" }
            ]
        })
    }
}

/// How much of the run a probe actually decided.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Coverage {
    /// Items a probe could verify in this run ([`ItemReport::automatable`]).
    pub automatable: usize,
    /// Items a probe decided ([`ItemReport::verified`]).
    pub verified: usize,
    /// The floor as a count, when `min_verified` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<usize>,
}

impl Coverage {
    /// Whether the floor is met (always, without one).
    pub fn met(&self) -> bool {
        self.required.is_none_or(|r| self.verified >= r)
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
    /// Gating items Skipped "not configured": nothing looked at them. They block readiness
    /// unless `allow_unverified` is set.
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
            let n = self.gating_not_configured;
            write!(f, " ({n} gating {} not verified)", plural(n, "item", "items"))?;
        }
        Ok(())
    }
}

/// What a run produced. Field names are stable: they are the JSON schema (see [`json`]).
///
/// The verdict is kept by the type: the summary, the coverage, each item's blocking rule,
/// [`ready`](Report::ready) and the [`headline`](Report::headline) are computed from the items
/// and the policy ([`with_fail_on_warn`](Report::with_fail_on_warn),
/// [`with_allow_unverified`](Report::with_allow_unverified),
/// [`with_min_verified`](Report::with_min_verified)) whenever either changes, and read through
/// methods, so they cannot disagree. Deserializing (see [`json::parse`]) computes them again
/// from the items and the policy, whatever the document says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ReportWire")]
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
    fail_on_warn: bool,
    cancelled: bool,
    allow_unverified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_verified: Option<MinVerified>,
    coverage: Coverage,
    unverified: bool,
    headline: String,
    items: Vec<ItemReport>,
    summary: Summary,
    ready: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sign_off: Vec<SignOff>,
    signed_off: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unmatched_selectors: Vec<String>,
}

/// What a report is read from: the items and the policy; the rest is computed.
#[derive(Deserialize)]
struct ReportWire {
    checklist: String,
    title: String,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    #[serde(rename = "duration_seconds", with = "secs")]
    duration: Duration,
    #[serde(default)]
    fail_on_warn: bool,
    #[serde(default)]
    cancelled: bool,
    #[serde(default)]
    allow_unverified: bool,
    #[serde(default)]
    min_verified: Option<MinVerified>,
    items: Vec<ItemReport>,
    #[serde(default)]
    sign_off: Vec<SignOff>,
    #[serde(default)]
    unmatched_selectors: Vec<String>,
}

impl From<ReportWire> for Report {
    fn from(w: ReportWire) -> Self {
        let mut r =
            Report::new(w.checklist, w.title, w.started, w.finished, w.duration, w.items).with_sign_off(w.sign_off);
        r.fail_on_warn = w.fail_on_warn;
        r.cancelled = w.cancelled;
        r.allow_unverified = w.allow_unverified;
        r.min_verified = w.min_verified;
        r.unmatched_selectors = w.unmatched_selectors;
        r.recompute();
        r
    }
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
            allow_unverified: false,
            min_verified: None,
            coverage: Coverage::default(),
            unverified: false,
            headline: String::new(),
            items,
            summary: Summary::default(),
            ready: false,
            sign_off: Vec::new(),
            signed_off: false,
            unmatched_selectors: Vec::new(),
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

    /// Sets whether unverified gating items are let through, and recomputes the verdict.
    pub fn with_allow_unverified(mut self, allow: bool) -> Self {
        self.allow_unverified = allow;
        self.recompute();
        self
    }

    /// Sets the coverage floor, and recomputes the verdict.
    pub fn with_min_verified(mut self, min: Option<MinVerified>) -> Self {
        self.min_verified = min;
        self.recompute();
        self
    }

    /// Marks the run cancelled (never ready), and recomputes the verdict.
    pub fn with_cancelled(mut self, cancelled: bool) -> Self {
        self.cancelled = cancelled;
        self.recompute();
        self
    }

    /// Sets the sign-off table.
    pub fn with_sign_off(mut self, sign_off: Vec<SignOff>) -> Self {
        self.signed_off = !sign_off.is_empty() && sign_off.iter().all(SignOff::is_signed);
        self.sign_off = sign_off;
        self
    }

    /// Every item in document order.
    pub fn items(&self) -> &[ItemReport] {
        &self.items
    }

    /// The items, consuming the report.
    pub fn into_items(self) -> Vec<ItemReport> {
        self.items
    }

    /// Whether Warn items blocked readiness.
    pub fn fail_on_warn(&self) -> bool {
        self.fail_on_warn
    }

    /// Whether the run was cancelled before every item finished.
    pub fn cancelled(&self) -> bool {
        self.cancelled
    }

    /// Whether gating items that nothing verified (not configured) were let through.
    pub fn allow_unverified(&self) -> bool {
        self.allow_unverified
    }

    /// The coverage floor, when one was set.
    pub fn min_verified(&self) -> Option<MinVerified> {
        self.min_verified
    }

    /// How many items a probe decided, of how many it could.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// Ready only because `allow_unverified` let unverified gating items through.
    pub fn unverified(&self) -> bool {
        self.unverified
    }

    /// The checklist's sign-off roles and who signed.
    pub fn sign_off(&self) -> &[SignOff] {
        &self.sign_off
    }

    /// Whether every sign-off role signed.
    pub fn signed_off(&self) -> bool {
        self.signed_off
    }

    /// The [`only`](crate::run::RunnerBuilder::only) selectors that matched no item of the
    /// plan (a typo must not make a run that checked nothing ready).
    pub fn unmatched_selectors(&self) -> &[String] {
        &self.unmatched_selectors
    }

    /// Records selectors that matched no item: the report is not ready.
    pub(crate) fn set_unmatched_selectors(&mut self, unmatched: Vec<String>) {
        self.unmatched_selectors = unmatched;
        self.recompute();
    }

    /// Sets the whole policy at once and recomputes the verdict (one pass, for the runner).
    pub(crate) fn set_policy(
        &mut self,
        fail_on_warn: bool,
        allow_unverified: bool,
        min_verified: Option<MinVerified>,
        cancelled: bool,
    ) {
        self.fail_on_warn = fail_on_warn;
        self.allow_unverified = allow_unverified;
        self.min_verified = min_verified;
        self.cancelled = cancelled;
        self.recompute();
    }

    /// Recomputes the summary, each item's blocking rule, the coverage, the readiness verdict
    /// and the headline from the items and the policy fields.
    pub(crate) fn recompute(&mut self) {
        self.summary = Summary::of(&self.items);
        let mut coverage = Coverage::default();
        for i in &mut self.items {
            i.blocked_by = i.block_rule(self.fail_on_warn, self.allow_unverified);
            coverage.automatable += usize::from(i.automatable());
            coverage.verified += usize::from(i.verified());
        }
        coverage.required = self.min_verified.map(|m| m.required(coverage.automatable));
        self.coverage = coverage;
        self.ready = !self.cancelled
            && self.unmatched_selectors.is_empty()
            && self.gates_anything()
            && self.coverage.met()
            && !self.items.iter().any(ItemReport::blocks);
        self.unverified = self.ready && self.allow_unverified && self.summary.gating_not_configured > 0;
        self.headline = self.compute_headline();
    }

    fn compute_headline(&self) -> String {
        if self.ready {
            if self.unverified {
                let n = self.summary.gating_not_configured;
                return format!("READY (UNVERIFIED: {n} gating {} not checked)", plural(n, "item", "items"));
            }
            return "READY".into();
        }
        let mut parts: Vec<String> = Vec::new();
        for rule in BlockRule::ALL {
            let n = self.items.iter().filter(|i| i.blocked_by == Some(rule)).count();
            if n > 0 {
                parts.push(rule.headline(n));
            }
        }
        if !self.coverage.met() {
            parts.push(self.coverage_shortfall());
        }
        for sel in &self.unmatched_selectors {
            parts.push(format!("selector `{sel}` matched no item"));
        }
        if self.items.is_empty() {
            parts.push(
                "the checklist has no items, so nothing was checked (a document's items are its checkboxes, \
                 `- [ ] ...`)"
                    .into(),
            );
        } else if !self.gates_anything() && self.unmatched_selectors.is_empty() {
            // (A selector that matched nothing already says why the run holds no gating item.)
            parts.push(
                "no gating item in this run: nothing in it could hold the deploy back (give items a blocker \
                 or critical severity, or select phases or items that have some)"
                    .into(),
            );
        }
        if self.cancelled {
            parts.push("run cancelled".into());
        }
        format!("NOT READY: {}", parts.join("; "))
    }

    /// Whether the run holds a gating item (an item out of scope, of a phase not run or not
    /// selected, does not count). A run with none is not ready: a gate in which nothing could
    /// have blocked has not decided anything.
    pub fn gates_anything(&self) -> bool {
        self.items.iter().any(|i| i.gating && !matches!(i.skip, Some(SkipKind::PhaseNotRun | SkipKind::NotSelected)))
    }

    /// "3 of 46 automatable items verified by a probe, min_verified 80% needs 37", when the
    /// floor is not met; else empty.
    pub fn coverage_shortfall(&self) -> String {
        match (self.coverage.required, self.min_verified) {
            (Some(r), Some(m)) if self.coverage.verified < r => format!(
                "{} of {} automatable {} verified by a probe, min_verified {m} needs {r}",
                self.coverage.verified,
                self.coverage.automatable,
                plural(self.coverage.automatable, "item", "items")
            ),
            _ => String::new(),
        }
    }

    /// The verdict in one line: `READY`, `READY (UNVERIFIED: 36 gating items not checked)`,
    /// `NOT READY: 2 gating items failed; 36 gating items not verified`.
    pub fn headline(&self) -> &str {
        &self.headline
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
        self.items.iter().filter(|i| i.blocks())
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
            Format::Sarif => sarif::render(self),
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
    /// SARIF 2.1.0, for code-scanning UIs (findings at `file:line:column`).
    Sarif,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 7] =
        [Format::Json, Format::Junit, Format::Markdown, Format::Rst, Format::Tap, Format::Prometheus, Format::Sarif];

    /// The name accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Rst => "rst",
            Format::Tap => "tap",
            Format::Prometheus => "prometheus",
            Format::Sarif => "sarif",
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
            Format::Sarif => "sarif",
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
#[error("unknown report format `{0}`: expected json, junit, markdown (md), rst, tap, prometheus or sarif")]
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
            "sarif" => Ok(Format::Sarif),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// A shared list of strings as a JSON array.
mod shared_strs {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Arc<[String]>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[String]>, D::Error> {
        Vec::<String>::deserialize(d).map(Arc::from)
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
