use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::model::{Applicability, Checklist, ItemId, Severity};
use crate::probe::{Attestation, NotApplicable, Probe, Redactor, Secret, Waiver};

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
    /// An item that always applies (no "(if needed)" / "(if applicable)" qualifier) can be
    /// marked not applicable only with an approver: it is an accepted gap.
    #[error("item `{id}` always applies: marking it not applicable needs an approver (an accepted gap, like a waiver)")]
    AlwaysApplies {
        /// The item.
        id: String,
    },
    /// A sign-off names a role the checklist's sign-off table does not have.
    #[error("unknown sign-off role `{role}`{}", roles_hint(.roles))]
    UnknownRole {
        /// The role given.
        role: String,
        /// The checklist's roles.
        roles: Vec<String>,
    },
}

/// An unknown sign-off role.
fn roles_hint(roles: &[String]) -> String {
    if roles.is_empty() {
        "; the checklist has no sign-off table".into()
    } else {
        format!("; the roles are {}", roles.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "))
    }
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
    pub not_applicable: Option<NotApplicable>,
    /// Extra dependencies: items that must pass before this one runs (beside the item's own
    /// `after`).
    pub after: Vec<ItemId>,
    /// Overrides whether the item gates readiness (default: its severity decides).
    pub gating: Option<bool>,
    /// Runs the item alone, after every other item, as for a probe with side effects
    /// ([`Probe::has_side_effects`](crate::probe::Probe::has_side_effects)).
    pub exclusive: bool,
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
#[derive(Clone)]
pub struct Plan {
    checklist: Checklist,
    /// Every item id, for binding in constant time.
    ids: std::collections::HashSet<ItemId>,
    bindings: BTreeMap<ItemId, Binding>,
    redactor: Redactor,
    gate_severities: Vec<Severity>,
}

/// Names what is bound, never a probe's settings (they may hold values that are secrets).
impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("checklist", &self.checklist.id)
            .field("items", &self.checklist.items().count())
            .field("bound", &self.bindings.keys().map(ItemId::as_str).collect::<Vec<_>>())
            .field("redactor", &self.redactor)
            .field("gate_severities", &self.gate_severities)
            .finish()
    }
}

impl Plan {
    /// A plan with no bindings: probe items are Skipped "not configured", attestation items
    /// Pending.
    pub fn new(checklist: Checklist) -> Self {
        Plan {
            ids: checklist.items().map(|i| i.id.clone()).collect(),
            checklist,
            bindings: BTreeMap::new(),
            redactor: Redactor::new(),
            gate_severities: Severity::ALL.into_iter().filter(|s| s.gates()).collect(),
        }
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
        let Some(key) = self.ids.get(id) else {
            return Err(PlanError::UnknownItem {
                id: id.to_string(),
                closest: self.checklist.closest_ids(id, 3).into_iter().map(ToString::to_string).collect(),
            });
        };
        Ok(self.bindings.entry(key.clone()).or_default())
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
    /// For an item that always applies use [`mark_not_applicable`](Self::mark_not_applicable)
    /// with an approver.
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`], or [`PlanError::AlwaysApplies`] for an item that always
    /// applies.
    pub fn not_applicable(&mut self, id: &str, reason: impl Into<String>) -> Result<&mut Self, PlanError> {
        self.mark_not_applicable(id, NotApplicable::new(reason))
    }

    /// Marks any item as not applicable. An item that always applies needs
    /// [`NotApplicable::approver`]: leaving it out is an accepted gap. A mark with an
    /// [`expires`](NotApplicable::expires) date stops counting after it: the item is checked
    /// again and the report says the mark expired.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use nexus_readiness::builtin;
    /// use nexus_readiness::probe::NotApplicable;
    /// use nexus_readiness::run::Plan;
    ///
    /// let mut plan = Plan::new(builtin::nexus());
    /// let id = "pre-deployment.performance.cdn-configured-for-static-assets";
    /// assert!(plan.mark_not_applicable(id, NotApplicable::new("no static assets")).is_err());
    /// let mark = NotApplicable::new("no static assets").approver("Tech Lead").expires(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    /// plan.mark_not_applicable(id, mark)?;
    /// # Ok::<(), nexus_readiness::run::PlanError>(())
    /// ```
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`], or [`PlanError::AlwaysApplies`] for an item that always
    /// applies marked without an approver.
    pub fn mark_not_applicable(&mut self, id: &str, mark: NotApplicable) -> Result<&mut Self, PlanError> {
        let always = self.checklist.item(id).is_some_and(|i| i.applicability == Applicability::Always);
        let approved = mark.approver.as_deref().is_some_and(|a| !a.trim().is_empty());
        let b = self.entry(id)?;
        if always && !approved {
            return Err(PlanError::AlwaysApplies { id: id.to_string() });
        }
        b.not_applicable = Some(mark);
        Ok(self)
    }

    /// Adds a dependency: `id` runs after `dep` finished. Only a dependency that *Failed*
    /// (a probe showed the precondition does not hold), or was itself skipped because its own
    /// dependency failed, skips `id` ("dependency `dep` failed"). Any other outcome of `dep`
    /// (pass, error, pending, waived, not configured, not applicable) lets `id` run and give
    /// its own verdict; when `id` then does not pass, its reason names the dependency's state.
    /// So configuring more never makes a verdict worse, and an item whose probes are all
    /// [`independent`](crate::probe::Probe::independent) runs even after a failed dependency.
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

    /// Which severities gate readiness (default blocker and critical); per-item overrides of
    /// [`gating`](Self::gating) win.
    pub fn gate_severities(&mut self, severities: impl IntoIterator<Item = Severity>) -> &mut Self {
        self.gate_severities = severities.into_iter().collect();
        self
    }

    /// The severities that gate readiness.
    pub fn gating_severities(&self) -> &[Severity] {
        &self.gate_severities
    }

    /// Runs an item alone, after every other item (see [`Binding::exclusive`]).
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn exclusive(&mut self, id: &str, exclusive: bool) -> Result<&mut Self, PlanError> {
        self.entry(id)?.exclusive = exclusive;
        Ok(self)
    }

    /// Overrides whether an item gates readiness (by default its severity decides, see
    /// [`gate_severities`](Self::gate_severities)).
    ///
    /// # Errors
    /// [`PlanError::UnknownItem`] with the closest ids.
    pub fn gating(&mut self, id: &str, gating: bool) -> Result<&mut Self, PlanError> {
        self.entry(id)?.gating = Some(gating);
        Ok(self)
    }

    /// Whether an item gates readiness: the override of [`gating`](Self::gating), else
    /// whether its severity is one of [`gating_severities`](Self::gating_severities). `None`
    /// for an unknown id.
    pub fn is_gating(&self, id: &str) -> Option<bool> {
        let item = self.checklist.item(id)?;
        Some(
            self.bindings
                .get(item.id.as_str())
                .and_then(|b| b.gating)
                .unwrap_or_else(|| self.gate_severities.contains(&item.severity)),
        )
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

    /// Signs a row of the checklist's sign-off table (matched by role, case-insensitively):
    /// the report's sign-off table shows it ticked. `signature` may be a reference to where
    /// the signature is kept.
    ///
    /// # Errors
    /// [`PlanError::UnknownRole`] listing the checklist's roles.
    pub fn sign_off(
        &mut self,
        role: &str,
        name: impl Into<String>,
        date: impl Into<String>,
        signature: impl Into<String>,
    ) -> Result<&mut Self, PlanError> {
        let roles: Vec<String> = self.checklist.sign_off.iter().map(|s| s.role.clone()).collect();
        let Some(row) = self.checklist.sign_off.iter_mut().find(|s| s.role.trim().eq_ignore_ascii_case(role.trim()))
        else {
            return Err(PlanError::UnknownRole { role: role.to_string(), roles });
        };
        row.name = Some(name.into());
        row.date = Some(date.into());
        row.signature = Some(signature.into());
        Ok(self)
    }

    /// Registers a secret: the runner scrubs it from every observation and error.
    pub fn secret(&mut self, secret: &Secret) -> &mut Self {
        self.redactor.add(secret);
        self
    }
}
