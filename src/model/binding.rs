//! Default probe bindings: which probe kind verifies an item, and the config key of its target.

use serde::{Deserialize, Serialize};

/// The default binding of one item: the probe kind that verifies it and the config key where
/// its target is written (`[targets.redis]`).
///
/// Bindings are data attached to a [`Checklist`](super::Checklist)
/// ([`Checklist::bindings`](super::Checklist::bindings)): the built-in checklist carries
/// Nexus's, a team's checklist carries its own. A config file's `[targets]` section is read
/// through them: the table at `target` is a spec of `kind` (a registered
/// [`ProbeSpec`](crate::probe::ProbeSpec)), with `defaults` filled in for the fields it leaves
/// out. Several items may share one target (one Kubernetes target, one check per item). An item
/// whose target is absent from the config is Skipped "not configured: set `targets.redis`".
///
/// ```
/// use nexus_readiness::model::{Binding, Checklist, Item, Section};
///
/// let checklist = Checklist::builder("team", "Team checklist")
///     .section(Section::new("Data").item(Item::new("Cache reachable")))
///     .binding(Binding::new("data.cache-reachable", "redis", "targets.cache"))
///     .build()?;
/// assert_eq!(checklist.target_keys(), vec![("targets.cache", "redis")]);
/// # Ok::<(), nexus_readiness::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// The item verified.
    pub item: String,
    /// The probe kind (`redis`, `kube`, a user's kind...).
    pub kind: String,
    /// The config key of the target: `targets.` and a dotted path (`targets.http.health`).
    pub target: String,
    /// Fields filled in for this item when the target table leaves them out
    /// (`check = "pods-ready"` on a shared Kubernetes target).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub defaults: toml::Table,
}

impl Binding {
    /// `item` verified by a probe of `kind` whose spec is written at `target`.
    /// [`Checklist::validate`](super::Checklist::validate) checks that the item exists and that
    /// `target` is a `targets.` key with one kind.
    pub fn new(item: impl Into<String>, kind: impl Into<String>, target: impl Into<String>) -> Self {
        Binding { item: item.into(), kind: kind.into(), target: target.into(), defaults: toml::Table::new() }
    }

    /// A field filled in for this item when the target leaves it out.
    pub fn default_field(mut self, field: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        self.defaults.insert(field.into(), value.into());
        self
    }
}
