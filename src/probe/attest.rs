use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A person's confirmation that an item holds: who, in what role, when, with what evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attestation {
    /// Who confirms ("Dana Smith").
    pub by: String,
    /// Their role ("Security Lead").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// When they confirmed.
    pub at: DateTime<Utc>,
    /// A link to the evidence (pen-test report, load-test dashboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The attestation stops counting after this date (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// The attestation stops counting once it is older than this (`90d` in JSON and TOML):
    /// a confirmation goes stale even without an explicit expiry date.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::model::duration::option")]
    pub max_age: Option<Duration>,
}

impl Attestation {
    /// An attestation by `by` at `at`.
    pub fn new(by: impl Into<String>, at: DateTime<Utc>) -> Self {
        Attestation { by: by.into(), role: None, at, evidence: None, expires: None, max_age: None }
    }

    /// Sets the role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Sets the evidence link.
    pub fn evidence(mut self, link: impl Into<String>) -> Self {
        self.evidence = Some(link.into());
        self
    }

    /// Sets the expiry date.
    pub fn expires(mut self, date: NaiveDate) -> Self {
        self.expires = Some(date);
        self
    }

    /// Sets the maximum age: the attestation stops counting `max_age` after [`at`](Self::at).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Whether the attestation has expired at `now`: past its expiry date (it counts through
    /// that day), or older than its maximum age.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expired_because(now).is_some()
    }

    /// Why the attestation no longer counts at `now`, or `None` while it does:
    /// "attestation expired on 2026-06-30", "attestation by Dana of 2026-01-02 is older than
    /// its max_age 90d".
    pub fn expired_because(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(d) = self.expires
            && now.date_naive() > d
        {
            return Some(format!("attestation by {} expired on {d}", self.by));
        }
        if let Some(max) = self.max_age {
            let age = now.signed_duration_since(self.at);
            let max_c = chrono::Duration::from_std(max).unwrap_or(chrono::Duration::MAX);
            if age > max_c {
                return Some(format!(
                    "attestation by {} of {} is older than its max_age {}",
                    self.by,
                    self.at.date_naive(),
                    crate::model::duration::format(max)
                ));
            }
        }
        None
    }
}

/// An accepted risk: a failing or pending item that does not block readiness until `expires`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Waiver {
    /// Why the risk is accepted.
    pub justification: String,
    /// Who approved it.
    pub approver: String,
    /// Last day the waiver counts (inclusive). Required: a waiver never lasts forever.
    pub expires: NaiveDate,
}

impl Waiver {
    /// A waiver.
    pub fn new(justification: impl Into<String>, approver: impl Into<String>, expires: NaiveDate) -> Self {
        Waiver { justification: justification.into(), approver: approver.into(), expires }
    }

    /// Whether the waiver has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() > self.expires
    }
}

/// Why an item does not apply to this deployment: the reason, and for an item that always
/// applies (no "(if needed)" / "(if applicable)" qualifier) who approved leaving it out and
/// until when.
///
/// A mark on an always-applicable item is an accepted gap like a [`Waiver`]: it needs an
/// approver (see [`Plan::mark_not_applicable`](crate::run::Plan::mark_not_applicable)). An
/// expired mark stops counting: the item is checked again and the report says the mark expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotApplicable {
    /// Why the item does not apply.
    pub reason: String,
    /// Who approved it (required for an item that always applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// Last day the mark counts (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
}

impl NotApplicable {
    /// A mark with its reason.
    pub fn new(reason: impl Into<String>) -> Self {
        NotApplicable { reason: reason.into(), approver: None, expires: None }
    }

    /// Sets who approved it.
    pub fn approver(mut self, approver: impl Into<String>) -> Self {
        self.approver = Some(approver.into());
        self
    }

    /// Sets the last day it counts.
    pub fn expires(mut self, date: NaiveDate) -> Self {
        self.expires = Some(date);
        self
    }

    /// Whether the mark has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|d| now.date_naive() > d)
    }
}
