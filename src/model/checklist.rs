use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Binding, Item, ItemId, ModelError, Part, Passage, Phase, Section, Severity, Threshold, Unit};

/// A comparison operator in an alert condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
}

impl Comparison {
    /// The operator as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }

    /// Whether `value OP bound` holds.
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Comparison::Gt => value > bound,
            Comparison::Ge => value >= bound,
            Comparison::Lt => value < bound,
            Comparison::Le => value <= bound,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The firing condition of an alert: `[aggregation] OP value unit`, e.g. `p99 > 1s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Condition {
    /// An aggregation written before the operator ("p99").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
    /// The operator.
    pub op: Comparison,
    /// The bound.
    pub value: f64,
    /// Unit of the bound.
    pub unit: Unit,
}

impl Condition {
    /// A new condition.
    pub fn new(op: Comparison, value: f64, unit: Unit) -> Self {
        Condition { aggregation: None, op, value, unit }
    }

    /// Sets the aggregation ("p99").
    pub fn aggregation(mut self, aggregation: impl Into<String>) -> Self {
        self.aggregation = Some(aggregation.into());
        self
    }

    /// Whether a value (in `unit`) makes the alert fire.
    ///
    /// # Errors
    /// [`ModelError::Parse`] when `unit` cannot be converted to the condition's unit.
    pub fn fires(&self, value: f64, unit: Unit) -> Result<bool, ModelError> {
        Ok(self.op.holds(unit.convert(value, self.unit)?, self.value))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(a) = &self.aggregation {
            write!(f, "{a} ")?;
        }
        write!(f, "{} {}", self.op, self.unit.format(self.value))
    }
}

/// A recommended alerting rule: "High error rate (> 5% for 5 minutes)".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertRule {
    /// The rule's name as written ("High error rate").
    pub name: String,
    /// The firing condition, when the document gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// How long the condition must hold ("for 5 minutes").
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::duration::option")]
    pub window: Option<Duration>,
}

impl AlertRule {
    /// A rule with a name only (fires on any occurrence).
    pub fn new(name: impl Into<String>) -> Self {
        AlertRule { name: name.into(), condition: None, window: None }
    }

    /// Sets the condition.
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Sets the window.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window);
        self
    }

    /// A stable identifier: `HighErrorRate` (Prometheus alert-name style).
    pub fn alert_name(&self) -> String {
        self.name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }

    /// The rule as written in the source document: "High error rate (> 5% for 5 minutes)".
    pub fn display(&self) -> String {
        let mut inner = Vec::new();
        if let Some(c) = &self.condition {
            inner.push(c.to_string());
        }
        if let Some(w) = self.window {
            inner.push(format!("for {}", super::duration::format(w)));
        }
        if inner.is_empty() { self.name.clone() } else { format!("{} ({})", self.name, inner.join(" ")) }
    }
}

/// One step of the rollback plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RollbackStep {
    /// Position, from 1.
    pub order: u32,
    /// The step's heading ("Immediate").
    pub title: String,
    /// A command to run, kept verbatim ("kubectl rollout undo deployment/nexus").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Language of the command's code block ("bash").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Bullet actions ("Restore from latest backup").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

impl RollbackStep {
    /// A step with a title.
    pub fn new(order: u32, title: impl Into<String>) -> Self {
        RollbackStep { order, title: title.into(), command: None, language: None, actions: Vec::new() }
    }

    /// Sets the command and its language.
    pub fn command(mut self, language: impl Into<String>, command: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self.command = Some(command.into());
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.actions.push(action.into());
        self
    }
}

/// A sign-off row: a role and, once signed, who, when and the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignOff {
    /// The role ("Tech Lead").
    pub role: String,
    /// Who signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When ("2026-11-26").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The signature text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl SignOff {
    /// An unsigned row for `role`.
    pub fn new(role: impl Into<String>) -> Self {
        SignOff { role: role.into(), name: None, date: None, signature: None }
    }

    /// Signs the row.
    pub fn signed(mut self, name: impl Into<String>, date: impl Into<String>, signature: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self.date = Some(date.into());
        self.signature = Some(signature.into());
        self
    }

    /// Whether name, date and signature are all present and non-empty.
    pub fn is_signed(&self) -> bool {
        [&self.name, &self.date, &self.signature].iter().all(|f| f.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }
}

/// A production-readiness checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checklist {
    /// Identifier ("production-checklist").
    pub id: String,
    /// Title ("Production Deployment Checklist").
    pub title: String,
    /// Introductory text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Top-level sections in document order.
    #[serde(default)]
    pub sections: Vec<Section>,
    /// Capacity planning thresholds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Threshold>,
    /// Key metrics the monitoring dashboards show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_metrics: Vec<String>,
    /// Recommended alerting rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_rules: Vec<AlertRule>,
    /// Rollback plan, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<RollbackStep>,
    /// Sign-off roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sign_off: Vec<SignOff>,
    /// Content outside any section that the model does not interpret (front matter, a badge
    /// line, a comment before the title, ...), kept verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passages: Vec<Passage>,
    /// The order of the content before the first headed section ([`Part::Title`], description,
    /// the items of the [implicit](Section::implicit) first section, passages); empty for the
    /// default order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layout: Vec<Part>,
    /// Default probe bindings of the automatable items: the kind that verifies each one and the
    /// `[targets]` key of its target. Not part of the document: a rendering leaves them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
}

impl Checklist {
    /// Starts building a checklist.
    pub fn builder(id: impl Into<String>, title: impl Into<String>) -> ChecklistBuilder {
        ChecklistBuilder {
            checklist: Checklist {
                id: id.into(),
                title: title.into(),
                description: None,
                sections: Vec::new(),
                thresholds: Vec::new(),
                key_metrics: Vec::new(),
                alert_rules: Vec::new(),
                rollback: Vec::new(),
                sign_off: Vec::new(),
                passages: Vec::new(),
                layout: Vec::new(),
                bindings: Vec::new(),
            },
            assign_ids: true,
        }
    }

    /// The default binding of an item, if it has one.
    pub fn binding(&self, item: &str) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.item == item)
    }

    /// Every `[targets]` key of the default bindings with its probe kind, each once, in
    /// binding order.
    pub fn target_keys(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for b in &self.bindings {
            if !out.iter().any(|(k, _)| *k == b.target) {
                out.push((b.target.as_str(), b.kind.as_str()));
            }
        }
        out
    }

    /// Every item in document order.
    pub fn items(&self) -> impl Iterator<Item = &Item> + '_ {
        self.sections.iter().flat_map(|s| s.all_items())
    }

    /// Every item in document order with its effective phase: its own, else its section's
    /// (inherited from the enclosing sections).
    pub fn items_with_phase(&self) -> Vec<(&Item, Option<Phase>)> {
        fn walk<'a>(s: &'a Section, inherited: Option<Phase>, out: &mut Vec<(&'a Item, Option<Phase>)>) {
            let phase = s.phase.or(inherited);
            out.extend(s.items.iter().map(|i| (i, i.phase.or(phase))));
            for c in &s.sections {
                walk(c, phase, out);
            }
        }
        let mut out = Vec::new();
        for s in &self.sections {
            walk(s, None, &mut out);
        }
        out
    }

    /// Every section (top-level and nested) in document order.
    pub fn all_sections(&self) -> Vec<&Section> {
        fn walk<'a>(s: &'a Section, out: &mut Vec<&'a Section>) {
            out.push(s);
            for c in &s.sections {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for s in &self.sections {
            walk(s, &mut out);
        }
        out
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id.as_str() == id)
    }

    /// The effective phase of an item.
    pub fn phase_of(&self, id: &str) -> Option<Phase> {
        self.items_with_phase().into_iter().find(|(i, _)| i.id.as_str() == id).and_then(|(_, p)| p)
    }

    /// Items in a phase, in document order.
    pub fn items_in_phase(&self, phase: Phase) -> Vec<&Item> {
        self.items_with_phase().into_iter().filter(|(_, p)| *p == Some(phase)).map(|(i, _)| i).collect()
    }

    /// Items of a severity, in document order.
    pub fn items_with_severity(&self, severity: Severity) -> Vec<&Item> {
        self.items().filter(|i| i.severity == severity).collect()
    }

    /// Items carrying a tag, in document order.
    pub fn items_tagged(&self, tag: &str) -> Vec<&Item> {
        self.items().filter(|i| i.has_tag(tag)).collect()
    }

    /// The section path of an item: its ancestors' titles, outermost first.
    pub fn section_path(&self, id: &str) -> Vec<&str> {
        fn walk<'a>(s: &'a Section, id: &str, path: &mut Vec<&'a str>) -> bool {
            if !s.implicit {
                path.push(&s.title);
            }
            if s.items.iter().any(|i| i.id.as_str() == id) || s.sections.iter().any(|c| walk(c, id, path)) {
                return true;
            }
            if !s.implicit {
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        for s in &self.sections {
            if walk(s, id, &mut path) {
                break;
            }
        }
        path
    }

    /// The ids closest to `id` (by edit distance on the id and its last segment), best first.
    pub fn closest_ids(&self, id: &str, n: usize) -> Vec<&ItemId> {
        let mut scored: Vec<(f64, &ItemId)> = self
            .items()
            .map(|i| {
                let full = strsim::normalized_levenshtein(id, i.id.as_str());
                let leaf = strsim::normalized_levenshtein(id.rsplit('.').next().unwrap_or(id), i.id.leaf());
                (full.max(leaf), &i.id)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(n).map(|(_, id)| id).collect()
    }

    /// Whether every sign-off role has signed.
    pub fn is_signed_off(&self) -> bool {
        !self.sign_off.is_empty() && self.sign_off.iter().all(SignOff::is_signed)
    }

    /// Validates the whole checklist: ids well formed and unique, titles non-empty,
    /// thresholds consistent, dependencies known and acyclic.
    ///
    /// # Errors
    /// The first problem found, naming the item and why.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for s in self.all_sections() {
            if s.title.trim().is_empty() && !s.implicit {
                return Err(ModelError::EmptyTitle { location: format!("section `{}`", s.id) });
            }
        }
        for item in self.items() {
            ItemId::new(item.id.as_str())?;
            if item.title.trim().is_empty() {
                return Err(ModelError::EmptyTitle { location: format!("item `{}`", item.id) });
            }
            if let Some(first) = seen.insert(item.id.as_str(), &item.title) {
                return Err(ModelError::DuplicateId {
                    id: item.id.to_string(),
                    first: first.to_string(),
                    second: item.title.clone(),
                });
            }
        }
        let check_parents = |items: &[Item]| -> Result<(), ModelError> {
            for (k, item) in items.iter().enumerate() {
                if let Some(parent) = &item.parent
                    && !items[..k].iter().any(|i| &i.id == parent)
                {
                    return Err(ModelError::UnknownParent { item: item.id.to_string(), parent: parent.to_string() });
                }
            }
            Ok(())
        };
        for s in self.all_sections() {
            check_parents(&s.items)?;
        }
        for item in self.items() {
            for dep in &item.after {
                if !seen.contains_key(dep.as_str()) {
                    return Err(ModelError::UnknownDependency { item: item.id.to_string(), after: dep.to_string() });
                }
            }
        }
        // Cycle check (iterative DFS with colours), from the items that have dependencies.
        let deps: HashMap<&str, Vec<&str>> = self
            .items()
            .filter(|i| !i.after.is_empty())
            .map(|i| (i.id.as_str(), i.after.iter().map(ItemId::as_str).collect()))
            .collect();
        let mut done: HashSet<&str> = HashSet::new();
        for start in deps.keys() {
            let mut on_path: HashSet<&str> = HashSet::new();
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            while let Some((node, idx)) = stack.pop() {
                if done.contains(node) {
                    continue;
                }
                on_path.insert(node);
                let next = deps.get(node).and_then(|d| d.get(idx)).copied();
                match next {
                    Some(n) => {
                        stack.push((node, idx + 1));
                        if on_path.contains(n) {
                            return Err(ModelError::DependencyCycle { item: n.to_string() });
                        }
                        stack.push((n, 0));
                    }
                    None => {
                        on_path.remove(node);
                        done.insert(node);
                    }
                }
            }
        }
        for t in &self.thresholds {
            t.validate()?;
        }
        self.validate_bindings()
    }

    fn validate_bindings(&self) -> Result<(), ModelError> {
        let invalid = |b: &Binding, reason: String| ModelError::InvalidBinding { item: b.item.clone(), reason };
        for (k, b) in self.bindings.iter().enumerate() {
            if self.item(&b.item).is_none() {
                return Err(invalid(b, "no such item".into()));
            }
            if self.bindings[..k].iter().any(|o| o.item == b.item) {
                return Err(invalid(b, "the item has two default bindings".into()));
            }
            if b.kind.trim().is_empty() {
                return Err(invalid(b, "the probe kind is empty".into()));
            }
            let path = b.target.strip_prefix("targets.").unwrap_or("");
            if path.is_empty()
                || path
                    .split('.')
                    .any(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            {
                return Err(invalid(
                    b,
                    format!("target `{}` is not a `targets.` key of bare words (`targets.redis`)", b.target),
                ));
            }
            for o in &self.bindings[..k] {
                if o.target == b.target && o.kind != b.kind {
                    return Err(invalid(
                        b,
                        format!("target `{}` is read as `{}` by `{}`, not as `{}`", b.target, o.kind, o.item, b.kind),
                    ));
                }
                let (short, long) =
                    if o.target.len() < b.target.len() { (&o.target, &b.target) } else { (&b.target, &o.target) };
                if long.starts_with(&format!("{short}.")) {
                    return Err(invalid(b, format!("target `{long}` lies inside target `{short}`")));
                }
            }
        }
        Ok(())
    }
}

/// Builds a [`Checklist`] in code; ids are assigned from titles and the result is validated.
#[derive(Debug, Clone)]
pub struct ChecklistBuilder {
    checklist: Checklist,
    assign_ids: bool,
}

impl ChecklistBuilder {
    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.checklist.description = Some(description.into());
        self
    }

    /// Adds an item directly under the title, outside any headed section: it goes to the
    /// [implicit](Section::implicit) first section, made when needed.
    pub fn item(mut self, item: Item) -> Self {
        if !self.checklist.sections.first().is_some_and(|s| s.implicit) {
            let title =
                if self.checklist.title.trim().is_empty() { "Checklist" } else { self.checklist.title.as_str() };
            let mut s = Section::new(title);
            s.implicit = true;
            s.id = ItemId::from_path::<&str>(&[]);
            self.checklist.sections.insert(0, s);
        }
        self.checklist.sections[0].items.push(item);
        self
    }

    /// Adds a passage the model does not interpret, before the first section.
    pub fn passage(mut self, passage: Passage) -> Self {
        self.checklist.passages.push(passage);
        self
    }

    /// Adds a top-level section.
    pub fn section(mut self, section: Section) -> Self {
        self.checklist.sections.push(section);
        self
    }

    /// Adds a capacity threshold.
    pub fn threshold(mut self, threshold: Threshold) -> Self {
        self.checklist.thresholds.push(threshold);
        self
    }

    /// Adds a key metric for dashboards.
    pub fn key_metric(mut self, metric: impl Into<String>) -> Self {
        self.checklist.key_metrics.push(metric.into());
        self
    }

    /// Adds an alerting rule.
    pub fn alert_rule(mut self, rule: AlertRule) -> Self {
        self.checklist.alert_rules.push(rule);
        self
    }

    /// Adds a rollback step.
    pub fn rollback_step(mut self, step: RollbackStep) -> Self {
        self.checklist.rollback.push(step);
        self
    }

    /// Adds a sign-off role.
    pub fn sign_off(mut self, sign_off: SignOff) -> Self {
        self.checklist.sign_off.push(sign_off);
        self
    }

    /// Keeps ids exactly as given instead of deriving them from the section path.
    pub fn keep_ids(mut self) -> Self {
        self.assign_ids = false;
        self
    }

    /// Adds a default probe binding (see [`Binding`]).
    pub fn binding(mut self, binding: Binding) -> Self {
        self.checklist.bindings.push(binding);
        self
    }

    /// Assigns ids (unless [`keep_ids`](Self::keep_ids)) and validates.
    ///
    /// # Errors
    /// The first validation problem ([`Checklist::validate`]).
    pub fn build(mut self) -> Result<Checklist, ModelError> {
        if self.assign_ids {
            for s in &mut self.checklist.sections {
                s.assign_ids(None);
            }
        }
        self.checklist.validate()?;
        Ok(self.checklist)
    }
}
