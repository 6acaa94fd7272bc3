use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::model::{Applicability, Checklist, ItemId};
use crate::probe::{Attestation, Probe, Redactor, Secret, Waiver};

/// Why a plan could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A binding names an item the checklist does not have.
    #[error("unknown item id `{id}`{}", closest_hint(.closest))]
    UnknownItem {
        /// The id given.
        id: String,
        /// The closest valid ids, best first.
        closest: Vec<String>,
    },
    /// Only "(if needed)" / "(if applicable)" items can be marked not applicable.
    #[error("item `{id}` always applies and cannot be marked not applicable")]
    AlwaysApplies {
        /// The item.
        id: String,
    },
}

fn closest_hint(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", closest.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
    }
}

/// What verifies one item: probes, an attestation, a waiver, or a not-applicable mark.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Binding {
    /// Probes that verify the item; the item's verdict is the worst of theirs.
    pub probes: Vec<Arc<dyn Probe>>,
    /// A person's confirmation.
    pub attestation: Option<Attestation>,
    /// An accepted risk.
    pub waiver: Option<Waiver>,
    /// Why the item does not apply here.
    pub not_applicable: Option<String>,
    /// Extra dependencies: items that must pass before this one runs (beside the item's own
    /// `after`).
    pub after: Vec<ItemId>,
    /// Overrides whether the item gates readiness (default: its severity decides).
    pub gating: Option<bool>,
}

/// A checklist plus its bindings: what the runner executes.
///
/// ```
/// use nexus_readiness::builtin;
/// use nexus_readiness::run::Plan;
///
/// let mut plan = Plan::new(builtin::nexus());
/// let err = plan.not_applicable("deployment.health-checks.startup-probe-configuredd", "no slow start").unwrap_err();
/// assert!(err.to_string().contains("deployment.health-checks.startup-probe-configured"));
/// ```
#[derive(Debug, Clone)]
pub struct Plan {
    checklist: Checklist,
    bindings: BTreeMap<ItemId, Binding>,
    redactor: Redactor,
}

impl Plan {
    /// A plan with no bindings: probe items are Skipped "not configured", attestation items
    /// Pending.
    pub fn new(checklist: Checklist) -> Self {
        Plan { checklist, bindings: BTreeMap::new(), redactor: Redactor::new() }
    }

    /// The checklist.
    pub fn checklist(&self) -> &Checklist {
        &self.checklist
    }

    /// The binding of an item, if any.
    pub fn binding(&self, id: &str) -> Option<&Binding> {
        self.bindings.get(id)
    }

    /// All bindings by item id.
    pub fn bindings(&self) -> &BTreeMap<ItemId, Binding> {
        &self.bindings
    }

    /// The redactor holding every secret registered with [`secret`](Self::secret).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn entry(&mut self, id: &str) -> Result<&mut Binding, PlanError> {
        let Some(item) = self.checklist.item(id) else {
            return Err(PlanError::UnknownItem {
                id: id.to_string(),
                closest: self.checklist.closest_ids(id, 3).into_iter().map(ToString::to_string).collect(),
            });
        };
        let key = item.id.clone();
        Ok(self.bindings.entry(key).or_default())
    }

    /// Binds a probe to an item. Several probes may verify one item.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn bind(&mut self, id: &str, probe: impl Probe + 'static) -> Result<&mut Self, PlanError> {
        self.bind_arc(id, Arc::new(probe))
    }

    /// Binds a shared probe to an item.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn bind_arc(&mut self, id: &str, probe: Arc<dyn Probe>) -> Result<&mut Self, PlanError> {
        self.entry(id)?.probes.push(probe);
        Ok(self)
    }

    /// Records a person's attestation for an item.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn attest(&mut self, id: &str, attestation: Attestation) -> Result<&mut Self, PlanError> {
        self.entry(id)?.attestation = Some(attestation);
        Ok(self)
    }

    /// Waives an item until the waiver's expiry date.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn waive(&mut self, id: &str, waiver: Waiver) -> Result<&mut Self, PlanError> {
        self.entry(id)?.waiver = Some(waiver);
        Ok(self)
    }

    /// Marks an "(if needed)" / "(if applicable)" item as not applicable, with a reason.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`], or [`PlanError::AlwaysApplies`] for an item that always
    /// applies.
    pub fn not_applicable(&mut self, id: &str, reason: impl Into<String>) -> Result<&mut Self, PlanError> {
        let always = self.checklist.item(id).is_some_and(|i| i.applicability == Applicability::Always);
        let b = self.entry(id)?;
        if always {
            return Err(PlanError::AlwaysApplies { id: id.to_string() });
        }
        b.not_applicable = Some(reason.into());
        Ok(self)
    }

    /// Adds a dependency: `id` runs after `dep` finished. When `dep` Failed, Errored, is
    /// Pending, or was itself skipped for a dependency, `id` does not run and is Skipped
    /// "dependency `dep` failed" (or "did not pass"). A dependency that was waived, or not
    /// checked at all (not configured, not applicable, phase not run), lets `id` run.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] for either id, with the closest ids.
    pub fn after(&mut self, id: &str, dep: &str) -> Result<&mut Self, PlanError> {
        let dep_id = self.resolve(dep)?;
        let b = self.entry(id)?;
        if !b.after.contains(&dep_id) {
            b.after.push(dep_id);
        }
        Ok(self)
    }

    /// Overrides whether an item gates readiness (by default blocker and critical items do).
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn gating(&mut self, id: &str, gating: bool) -> Result<&mut Self, PlanError> {
        self.entry(id)?.gating = Some(gating);
        Ok(self)
    }

    /// Whether an item gates readiness: the override of [`gating`](Self::gating), else the
    /// item's severity. `None` for an unknown id.
    pub fn is_gating(&self, id: &str) -> Option<bool> {
        let item = self.checklist.item(id)?;
        Some(self.bindings.get(id).and_then(|b| b.gating).unwrap_or_else(|| item.gates()))
    }

    fn resolve(&self, id: &str) -> Result<ItemId, PlanError> {
        match self.checklist.item(id) {
            Some(item) => Ok(item.id.clone()),
            None => Err(PlanError::UnknownItem {
                id: id.to_string(),
                closest: self.checklist.closest_ids(id, 3).into_iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Registers a secret: the runner scrubs it from every observation and error.
    pub fn secret(&mut self, secret: &Secret) -> &mut Self {
        self.redactor.add(secret);
        self
    }
}
