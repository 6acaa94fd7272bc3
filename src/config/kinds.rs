use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::{Schema, SchemaGenerator};
use toml::de::ValueDeserializer;

use crate::probe::{BuildContext, Observation, Probe, ProbeContext, ProbeError, ProbeSpec};

/// A spec read from a config file, its type erased: what the registry hands back.
pub(crate) trait AnySpec: Send + Sync + fmt::Debug {
    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError>;
}

impl<S: ProbeSpec> AnySpec for S {
    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
        ProbeSpec::build(self, cx)
    }
}

type Deserialize_ = for<'i> fn(ValueDeserializer<'i>) -> Result<Arc<dyn AnySpec>, toml::de::Error>;
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn deserialize<S: ProbeSpec>(de: ValueDeserializer<'_>) -> Result<Arc<dyn AnySpec>, toml::de::Error> {
    S::deserialize(de).map(|s| Arc::new(s) as Arc<dyn AnySpec>)
}

fn schema<S: ProbeSpec>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<S>()
}

/// One registered kind.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Compiled in: how to read its spec and its schema.
    Available { deserialize: Deserialize_, schema: SchemaFn },
    /// A kind of this crate whose feature this build lacks.
    #[allow(dead_code)] // built only where a feature is off
    Unavailable { feature: &'static str },
}

/// The probe kinds a config file may name: each one's spec type, read from a TOML table and
/// described in the generated JSON Schema.
///
/// [`Registry::new`] holds every kind compiled into this build (each backend registers its
/// own; a kind whose crate feature is off is known by name and bound to an Error saying which
/// feature to enable). A user's kind is registered the same way and has the same powers: it
/// works in `[bindings]`, in `[targets]` (when the checklist's [default
/// binding](crate::model::Binding) names it) and in [`schema`](crate::config::schema).
///
/// ```
/// use std::sync::Arc;
/// use nexus_readiness::config::{Config, Registry};
/// use nexus_readiness::prelude::*;
///
/// /// Kind `postgres`: a PostgreSQL server that accepts connections.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct PostgresSpec {
///     /// `host:port`.
///     address: String,
/// }
///
/// impl ProbeSpec for PostgresSpec {
///     const KIND: &'static str = "postgres";
///     fn build(&self, _cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeError> {
///         Ok(Arc::new(nexus_readiness::probes::net::TcpProbe::new(&self.address)))
///     }
/// }
///
/// let mut registry = Registry::new();
/// registry.register::<PostgresSpec>();
/// let text = r#"
/// [bindings."pre-deployment.performance.database-connection-pooling-configured"]
/// kind = "postgres"
/// address = "127.0.0.1:5432"
/// "#;
/// let config = Config::loader().registry(registry).from_str(text, "nexus.toml")?;
/// # Ok::<(), nexus_readiness::config::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    kinds: BTreeMap<String, Kind>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("kinds", &self.kinds.keys().collect::<Vec<_>>()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with every kind of this crate (those whose feature is off are known by name).
    pub fn new() -> Self {
        let mut registry = Self::empty();
        crate::probes::register_all(&mut registry);
        registry
    }

    /// A registry with no kinds at all.
    pub fn empty() -> Self {
        Registry { kinds: BTreeMap::new() }
    }

    /// Registers the kind `S::KIND`. A kind registered under a name already present replaces
    /// it (a user's kind may take over a built-in name).
    pub fn register<S: ProbeSpec>(&mut self) -> &mut Self {
        self.kinds.insert(S::KIND.to_string(), Kind::Available { deserialize: deserialize::<S>, schema: schema::<S> });
        self
    }

    /// Registers kinds of this crate that this build lacks, with the feature that enables them.
    #[allow(dead_code)] // called only where a feature is off
    pub(crate) fn unavailable(&mut self, kinds: &[&str], feature: &'static str) -> &mut Self {
        for k in kinds {
            self.kinds.entry(k.to_string()).or_insert(Kind::Unavailable { feature });
        }
        self
    }

    /// Whether `kind` is registered (compiled in or not).
    pub fn contains(&self, kind: &str) -> bool {
        self.kinds.contains_key(kind)
    }

    /// Whether `kind` is registered and compiled into this build.
    pub fn is_available(&self, kind: &str) -> bool {
        matches!(self.kinds.get(kind), Some(Kind::Available { .. }))
    }

    /// The crate feature `kind` needs, when this build lacks it.
    pub fn missing_feature(&self, kind: &str) -> Option<&'static str> {
        match self.kinds.get(kind) {
            Some(Kind::Unavailable { feature }) => Some(feature),
            _ => None,
        }
    }

    /// Every kind a config may name, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }

    pub(crate) fn get(&self, kind: &str) -> Option<Kind> {
        self.kinds.get(kind).copied()
    }
}

/// The probe bound to an item whose target key is absent from the config: it reports
/// "not configured: set `key`" (Skipped), never Pass.
#[derive(Debug, Clone)]
pub struct NotConfigured {
    key: String,
    kind: String,
}

impl NotConfigured {
    /// A probe of `kind` waiting for `key`.
    pub fn new(key: impl Into<String>, kind: impl Into<String>) -> Self {
        NotConfigured { key: key.into(), kind: kind.into() }
    }

    /// The config key that would enable the item.
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[async_trait]
impl Probe for NotConfigured {
    fn target(&self) -> String {
        format!("{} (not configured: {})", self.kind, self.key)
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        Err(ProbeError::not_configured(&self.key))
    }
}

/// The probe bound where a config names a kind this build was compiled without.
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    pub(crate) kind: String,
    pub(crate) feature: String,
    pub(crate) key: String,
}

#[async_trait]
impl Probe for Unavailable {
    fn target(&self) -> String {
        format!("{} ({})", self.kind, self.key)
    }

    async fn check(&self, _cx: &ProbeContext) -> Result<Observation, ProbeError> {
        Err(ProbeError::missing_dependency(format!(
            "{}: probe kind `{}` needs the `{}` feature of nexus-readiness",
            self.key, self.kind, self.feature
        )))
    }
}
