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
}

impl Attestation {
    /// An attestation by `by` at `at`.
    pub fn new(by: impl Into<String>, at: DateTime<Utc>) -> Self {
        Attestation { by: by.into(), role: None, at, evidence: None, expires: None }
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

    /// Whether the attestation has expired at `now` (it counts through its expiry date).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|d| now.date_naive() > d)
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
