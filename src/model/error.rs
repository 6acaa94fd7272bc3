use thiserror::Error;

/// Why a checklist, section, item or threshold is not valid.
///
/// Every variant names the item (or metric) it is about and says why.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Two items (or sections) resolve to the same id.
    #[error("duplicate item id `{id}`: `{first}` and `{second}` have the same id")]
    DuplicateId {
        /// The id that appears twice.
        id: String,
        /// Title of the first item with that id.
        first: String,
        /// Title of the second item with that id.
        second: String,
    },
    /// An item or section has an empty title.
    #[error("empty title in {location}")]
    EmptyTitle {
        /// Where the empty title is (section path or item id).
        location: String,
    },
    /// An id is not a dotted path of lowercase slugs.
    #[error("invalid item id `{id}`: {reason}")]
    InvalidId {
        /// The offending id.
        id: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A threshold's bounds contradict each other, or a value cannot be compared.
    #[error("inconsistent threshold for `{metric}`: {reason}")]
    InvalidThreshold {
        /// The threshold's metric name.
        metric: String,
        /// Why it is inconsistent.
        reason: String,
    },
    /// An item depends (`after`) on an id that is not in the checklist.
    #[error("item `{item}` depends on unknown item `{after}`")]
    UnknownDependency {
        /// The item declaring the dependency.
        item: String,
        /// The missing id.
        after: String,
    },
    /// A child item names a parent that is not an earlier item of its section.
    #[error("item `{item}` is nested under `{parent}`, which is not an earlier item of the same section")]
    UnknownParent {
        /// The child item.
        item: String,
        /// The parent id it names.
        parent: String,
    },
    /// Item dependencies form a cycle.
    #[error("dependency cycle through item `{item}`")]
    DependencyCycle {
        /// One item on the cycle.
        item: String,
    },
    /// A default probe binding names an unknown item, or a target key that is malformed or read
    /// as two kinds.
    #[error("default binding of `{item}`: {reason}")]
    InvalidBinding {
        /// The item of the binding.
        item: String,
        /// What is wrong.
        reason: String,
    },
    /// A duration or unit string could not be parsed.
    #[error("invalid {what} `{input}`: {reason}")]
    Parse {
        /// What was being parsed ("duration", "unit", ...).
        what: &'static str,
        /// The input text.
        input: String,
        /// Why it failed.
        reason: String,
    },
}
