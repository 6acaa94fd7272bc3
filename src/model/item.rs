use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ItemId, Part, Passage};

/// How much an item matters. Blocker and critical items gate readiness by default, and an item
/// that does not say is critical: a gate fails closed, so an item blocks unless someone decided
/// it need not.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Deploying without it is unsafe: security, health checks, pods ready, certificates.
    Blocker,
    /// Must be fixed before traffic; gates readiness. The default.
    #[default]
    Critical,
    /// Should be fixed soon; reported but does not gate by default.
    Major,
    /// Housekeeping such as documentation; never gates by default.
    Minor,
}

impl Severity {
    /// Whether an item of this severity gates readiness by default (blocker and critical).
    pub fn gates(self) -> bool {
        matches!(self, Severity::Blocker | Severity::Critical)
    }

    /// All severities, most severe first.
    pub const ALL: [Severity; 4] = [Severity::Blocker, Severity::Critical, Severity::Major, Severity::Minor];

    /// The kebab-case name used in documents and configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When in a deployment's life an item is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Before deploying: infrastructure, security, performance preparation.
    PreDeployment,
    /// While deploying: image, configuration, health checks.
    Deployment,
    /// After deploying: verification, testing, documentation.
    PostDeployment,
    /// All the time: capacity, monitoring, compliance.
    Continuous,
}

impl Phase {
    /// All phases in deployment order.
    pub const ALL: [Phase; 4] = [Phase::PreDeployment, Phase::Deployment, Phase::PostDeployment, Phase::Continuous];

    /// The kebab-case name used in documents, configs and command lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreDeployment => "pre-deployment",
            Phase::Deployment => "deployment",
            Phase::PostDeployment => "post-deployment",
            Phase::Continuous => "continuous",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Phase {
    type Err = super::ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s || super::slugify(s) == p.as_str()).ok_or_else(|| {
            super::ModelError::Parse {
                what: "phase",
                input: s.to_string(),
                reason: "expected pre-deployment, deployment, post-deployment or continuous".into(),
            }
        })
    }
}

/// Whether an item always applies, or only in some deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// The item always applies.
    #[default]
    Always,
    /// "(if needed)": may be marked not applicable with a reason.
    IfNeeded,
    /// "(if applicable)": may be marked not applicable with a reason.
    IfApplicable,
}

impl Applicability {
    /// The qualifier as written in the source document, if any.
    pub fn qualifier(self) -> Option<&'static str> {
        match self {
            Applicability::Always => None,
            Applicability::IfNeeded => Some("(if needed)"),
            Applicability::IfApplicable => Some("(if applicable)"),
        }
    }
}

/// How an item is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// A probe can verify it once its target is configured; a person may attest instead.
    #[default]
    Probe,
    /// Only a person can confirm it (penetration testing, on-call rotation, ...).
    Attestation,
}

/// One checklist item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Item {
    /// Stable id (dotted path of slugs).
    pub id: ItemId,
    /// The item's text, without the applicability qualifier.
    pub title: String,
    /// Why the item matters and why it has its severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How much it matters.
    #[serde(default)]
    pub severity: Severity,
    /// Whether it always applies.
    #[serde(default)]
    pub applicability: Applicability,
    /// Free-form tags for lookups ("security", "gpu", ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Probe or attestation.
    #[serde(default)]
    pub verification: Verification,
    /// Items that must pass before this one runs (TLS after DNS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<ItemId>,
    /// Whether the box is ticked (`- [x]`) in the document.
    #[serde(default)]
    pub checked: bool,
    /// The item this one is nested under (`- [ ] child` indented below `- [ ] parent`), in the
    /// same section; the parent comes first in document order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ItemId>,
    /// The item's own phase; `None` inherits its section's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

impl Item {
    /// A new item whose id is the slug of `title`; [`Section::item`] prefixes the section's id.
    ///
    /// A title ending in "(if needed)" or "(if applicable)" sets the applicability and the
    /// qualifier is removed from the title.
    pub fn new(title: impl Into<String>) -> Self {
        let (title, applicability) = split_applicability(&title.into());
        Item {
            id: ItemId::from_path(&[title.as_str()]),
            title,
            description: None,
            severity: Severity::default(),
            applicability,
            tags: Vec::new(),
            verification: Verification::default(),
            after: Vec::new(),
            checked: false,
            parent: None,
            phase: None,
        }
    }

    /// Sets an explicit id (kept as is when added to a section).
    pub fn id(mut self, id: ItemId) -> Self {
        self.id = id;
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the applicability.
    pub fn applicability(mut self, applicability: Applicability) -> Self {
        self.applicability = applicability;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets how the item is verified.
    pub fn verification(mut self, verification: Verification) -> Self {
        self.verification = verification;
        self
    }

    /// Marks the item as verified by a person only.
    pub fn attestation_only(self) -> Self {
        self.verification(Verification::Attestation)
    }

    /// Adds a dependency: this item runs after `id` passed.
    pub fn after(mut self, id: ItemId) -> Self {
        self.after.push(id);
        self
    }

    /// Ticks or unticks the box.
    pub fn checked(mut self, checked: bool) -> Self {
        self.checked = checked;
        self
    }

    /// Nests this item under `parent`, an earlier item of the same section. In a section added
    /// to a [`ChecklistBuilder`](super::ChecklistBuilder) that assigns ids, `parent` may be the
    /// parent's one-segment id as [`Item::new`] made it; the child's id then becomes
    /// `<parent id>.<slug of title>`.
    pub fn parent(mut self, parent: ItemId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Sets the item's own phase (otherwise it inherits its section's).
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Whether this item gates readiness by default (its severity is blocker or critical).
    pub fn gates(&self) -> bool {
        self.severity.gates()
    }

    /// Whether the item has the given tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// The title as written in a document, with its applicability qualifier.
    pub fn display_title(&self) -> String {
        match self.applicability.qualifier() {
            Some(q) => format!("{} {q}", self.title),
            None => self.title.clone(),
        }
    }
}

/// Gives items with a one-segment id (made by [`Item::new`]) their full id: `<prefix>.<slug>`, or
/// `<parent id>.<slug>` for a child item, whose one-segment `parent` is resolved to the full id
/// of the earlier sibling it names.
pub(crate) fn assign_item_ids(items: &mut [Item], prefix: Option<&ItemId>) {
    let mut renamed: Vec<(ItemId, ItemId)> = Vec::new();
    for item in items.iter_mut() {
        let parent = item.parent.as_ref().map(|p| {
            renamed.iter().rev().find(|(old, _)| old == p).map(|(_, new)| new.clone()).unwrap_or_else(|| p.clone())
        });
        if parent.is_some() {
            item.parent.clone_from(&parent);
        }
        if !item.id.as_str().contains('.') {
            let base = parent.as_ref().or(prefix).filter(|b| !b.as_str().is_empty());
            let new = match base {
                Some(b) => ItemId::new(format!("{b}.{}", item.id)).unwrap_or_else(|_| b.child(&item.title)),
                None => item.id.clone(),
            };
            renamed.push((item.id.clone(), new.clone()));
            item.id = new;
        }
    }
}

/// Splits a trailing "(if needed)" / "(if applicable)" off a title.
pub(crate) fn split_applicability(title: &str) -> (String, Applicability) {
    let t = title.trim();
    for (suffix, a) in [("(if needed)", Applicability::IfNeeded), ("(if applicable)", Applicability::IfApplicable)] {
        let cut = t.len().saturating_sub(suffix.len());
        if let (Some(head), Some(tail)) = (t.get(..cut), t.get(cut..))
            && tail.eq_ignore_ascii_case(suffix)
        {
            return (head.trim_end().to_string(), a);
        }
    }
    (t.to_string(), Applicability::Always)
}

/// A section of the checklist: items and nested sections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Section {
    /// Dotted slug path of the section ("pre-deployment.infrastructure").
    pub id: ItemId,
    /// The heading text.
    pub title: String,
    /// The phase of this section; nested sections inherit it when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Paragraph text under the heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Items in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Nested sections in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// Checklist-wide blocks (capacity table, alerting rules, ...) that a document shows in
    /// this section, in document order; renderers put them back here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// Content the model does not interpret, kept verbatim ([`Part::Passage`] places it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passages: Vec<Passage>,
    /// The order of the section's content as the document has it; empty for the default order
    /// (description, items, blocks). See [`Part`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layout: Vec<Part>,
    /// A section the document does not head: the items directly under the title (or in a
    /// document without headings). It is the first section, its id is empty (its items' ids have
    /// no section prefix), its title is the document's (or "Checklist"), and renderers write its
    /// items without a heading, where the [checklist's layout](super::Checklist::layout) puts
    /// them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
}

/// A checklist-wide block of a document, recorded on the [`Section`] that shows it so that a
/// rendered document keeps tables and steps where the source had them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Block {
    /// The capacity planning table ([`Checklist::thresholds`](super::Checklist::thresholds)).
    Thresholds,
    /// The key metrics bullet list ([`Checklist::key_metrics`](super::Checklist::key_metrics)).
    KeyMetrics,
    /// The recommended alerting rules ([`Checklist::alert_rules`](super::Checklist::alert_rules)).
    AlertRules,
    /// The numbered rollback plan ([`Checklist::rollback`](super::Checklist::rollback)).
    Rollback,
    /// The sign-off table ([`Checklist::sign_off`](super::Checklist::sign_off)).
    SignOff,
}

impl Section {
    /// A new, empty section whose id is the slug of `title`.
    pub fn new(title: impl Into<String>) -> Self {
        let title = title.into();
        Section {
            id: ItemId::from_path(&[title.as_str()]),
            title,
            phase: None,
            description: None,
            items: Vec::new(),
            sections: Vec::new(),
            blocks: Vec::new(),
            passages: Vec::new(),
            layout: Vec::new(),
            implicit: false,
        }
    }

    /// Sets the phase.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds an item. An item whose id is a single slug (made by [`Item::new`]) gets this
    /// section's id as prefix; ids are re-prefixed when the section is nested.
    pub fn item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }

    /// Adds a passage the model does not interpret; it renders after the section's other
    /// content unless a [`layout`](Self::layout) places it.
    pub fn passage(mut self, passage: Passage) -> Self {
        self.passages.push(passage);
        self
    }

    /// Adds a nested section.
    pub fn section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }

    /// Re-roots ids under `parent`: the section id becomes `parent.slug(title)` and items
    /// with a one-segment id get the section id as prefix.
    pub(crate) fn assign_ids(&mut self, parent: Option<&ItemId>) {
        self.id = match parent {
            _ if self.implicit => parent.cloned().unwrap_or_else(|| ItemId::from_path::<&str>(&[])),
            Some(p) => p.child(&self.title),
            None => ItemId::from_path(&[self.title.as_str()]),
        };
        assign_item_ids(&mut self.items, Some(&self.id));
        let id = self.id.clone();
        for s in &mut self.sections {
            s.assign_ids(Some(&id));
        }
    }

    /// All items of this section and its nested sections, in document order.
    pub fn all_items(&self) -> Box<dyn Iterator<Item = &Item> + '_> {
        Box::new(self.items.iter().chain(self.sections.iter().flat_map(|s| s.all_items())))
    }
}
