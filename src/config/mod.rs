//! Declarative configuration (TOML): targets, bindings, attestations, waivers and runner
//! settings, turned into a [`Plan`].
//!
//! ```toml
//! [runner]
//! concurrency = 8
//! timeout = "30s"
//! phases = ["pre-deployment", "deployment"]
//!
//! # Targets of the checklist's default bindings (the built-in checklist's here).
//! [targets.redis]
//! address = "redis.internal:6379"
//! password = "${env:REDIS_PASSWORD}"
//!
//! [targets.junit.integration]
//! path = "target/junit/integration.xml"
//!
//! # Any item, any probe kind.
//! [bindings."pre-deployment.performance.database-connection-pooling-configured"]
//! kind = "tcp"
//! address = "pgbouncer.internal:6432"
//!
//! [attestations."pre-deployment.security.penetration-testing-performed"]
//! by = "Dana Smith"
//! role = "Security Lead"
//! at = 2026-11-20T10:00:00Z
//! evidence = "https://wiki.example.com/pentest-2026"
//!
//! [waivers."pre-deployment.performance.cdn-configured-for-static-assets"]
//! justification = "no static assets in the first release"
//! approver = "Tech Lead"
//! expires = 2026-12-31
//!
//! [not_applicable]
//! "compliance.hipaa-compliance-verified" = "no health data is processed"
//! # An item that always applies needs an approver (and may expire).
//! "pre-deployment.performance.cdn-configured-for-static-assets" = { reason = "API only", approver = "Tech Lead", expires = 2026-12-31 }
//!
//! [items."pre-deployment.security.rate-limiting-enabled"]
//! gating = true        # gate this item whatever its severity
//! exclusive = true     # run it alone, after the others (side effects)
//!
//! [sign_off."Tech Lead"]
//! name = "Sam Lee"
//! date = 2026-11-26
//! signature = "https://tickets.example.com/REL-42"   # optional
//! ```
//!
//! Readiness policy in `[runner]`: `gating = ["blocker", "critical"]` (which severities gate;
//! `[items."id"] gating` overrides per item), `allow_unverified = true` (let gating items
//! that nothing verified through, announced in every format), `min_verified = 40` or
//! `"80%"` (the coverage floor), `fail_on_warn`. See
//! [the readiness rules](crate::report#readiness).
//!
//! - `[targets]`: read through the default bindings of the plan's checklist
//!   ([`Checklist::bindings`](crate::model::Checklist::bindings); the built-in checklist
//!   carries Nexus's): for each automatable item, the key its binding reads; the value is that
//!   probe kind's spec (a table, or an array of tables for several targets). An item whose key
//!   is absent is Skipped "not configured: set `targets.redis`". `[targets]` is checked when
//!   the checklist is known, by [`Config::plan`].
//! - `[bindings]`: item id → a probe table with `kind = "..."` (any kind of the [`Registry`]:
//!   this crate's, or a user's [`ProbeSpec`](crate::probe::ProbeSpec)), or an array of them.
//!   An explicit binding replaces the default one of that item.
//! - `${env:NAME}` in any string is replaced by the environment variable at load. The values
//!   of secret fields (passwords, tokens, keys, secret headers, a command's `env`: every
//!   [`Secret`]) are registered with the plan's redactor, so they never appear in a report;
//!   other fields are plain settings (an address, a user name) and stay readable. No config
//!   error ever echoes a value read from `${env:...}`.
//! - The file must be a regular file of at most [`MAX_CONFIG_BYTES`]; a FIFO, a device or a
//!   directory is refused at once.
//! - Relative paths are relative to the working directory of the process.
//!
//! Every mistake is a [`ConfigError`] with file, line, column and key, and for an unknown item
//! id, probe kind or key the closest valid names.
//!
//! ```
//! use nexus_readiness::config::Config;
//!
//! let config = Config::from_str_named("[targets.rediss]\naddress = \"x:1\"\n", "nexus.toml")?;
//! let err = config.plan(nexus_readiness::builtin::nexus()).unwrap_err();
//! assert_eq!(err.to_string(), "nexus.toml:1:10: targets.rediss: unknown target; did you mean `targets.redis`?");
//! # Ok::<(), nexus_readiness::config::ConfigError>(())
//! ```

mod error;
mod kinds;
mod schema;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use error::{ConfigError, ConfigErrorKind};
use error::{Location, closest};
use kinds::{AnySpec, Kind, Unavailable};
pub use kinds::{NotConfigured, Registry};
pub use schema::schema;

use crate::model::{Binding, Checklist, Phase, Severity};
use crate::probe::{Attestation, BuildContext, NotApplicable, Probe, Secret, Waiver};
use crate::report::MinVerified;
use crate::run::{Plan, PlanError, Runner, RunnerBuilder};

/// Runner settings from `[runner]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RunnerSettings {
    /// How many probes run at once (default: the runner's).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Default timeout of each probe (`30s`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// Deadline of the whole run (`5m`).
    #[serde(default, with = "crate::model::duration::option")]
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Duration>,
    /// Phases to run (default: all).
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Whether a Warn on a gating item makes the run not ready.
    #[serde(default)]
    pub fail_on_warn: bool,
    /// Let gating items that nothing verified (no target) through; the verdict then reads
    /// `READY (UNVERIFIED: ...)` in every format. For exploring a config, never for a gate.
    #[serde(default)]
    pub allow_unverified: bool,
    /// The coverage floor: a count (`40`) or a percentage of the automatable items (`"80%"`)
    /// that a probe must decide for the run to be ready.
    #[serde(default)]
    pub min_verified: Option<MinVerified>,
    /// Which severities gate readiness (default `["blocker", "critical"]`); `[items."id"]
    /// gating` overrides per item.
    #[serde(default)]
    pub gating: Option<Vec<Severity>>,
}

/// One probe spec read from the config, with where it was written; built into a probe by
/// [`Config::plan`], with the plan's checklist in its [`BuildContext`].
#[derive(Debug, Clone)]
struct Bound {
    loc: Location,
    kind: String,
    spec: Option<Arc<dyn AnySpec>>,
    /// The feature that would compile `kind` in, when `spec` is `None`.
    feature: &'static str,
}

impl Bound {
    fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Probe>, ProbeErrorMessage> {
        match &self.spec {
            Some(spec) => spec.build(cx).map_err(|e| ProbeErrorMessage(e.message)),
            None => Ok(Arc::new(Unavailable {
                kind: self.kind.clone(),
                feature: self.feature.to_string(),
                key: self.loc.key.clone(),
            })),
        }
    }
}

/// The message of a spec's build error.
struct ProbeErrorMessage(String);

/// An entry of `[attestations]`, `[waivers]` or `[not_applicable]` with its location.
#[derive(Debug, Clone)]
struct Entry<T> {
    loc: Location,
    item: String,
    value: T,
}

/// A loaded config file: apply it to a checklist with [`Config::plan`].
#[derive(Clone)]
pub struct Config {
    name: String,
    runner: RunnerSettings,
    /// The config text: `[targets]` is read when the checklist (its default bindings) is known.
    source: Arc<str>,
    loader: Loader,
    bindings: Vec<Entry<Vec<Bound>>>,
    attestations: Vec<Entry<Attestation>>,
    waivers: Vec<Entry<Waiver>>,
    not_applicable: Vec<Entry<NotApplicable>>,
    items: Vec<Entry<ItemSettings>>,
    sign_off: Vec<Entry<SignOffEntry>>,
    secrets: Vec<Secret>,
}

/// An entry of `[items."id"]`: per-item policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ItemSettings {
    /// Whether the item gates readiness, whatever its severity.
    #[serde(default)]
    pub gating: Option<bool>,
    /// Run the item alone, after every other item (a probe with side effects).
    #[serde(default)]
    pub exclusive: Option<bool>,
}

/// An entry of `[sign_off."Role"]`.
#[derive(Debug, Clone)]
struct SignOffEntry {
    name: String,
    date: String,
    signature: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("runner", &self.runner)
            .field("bindings", &self.bindings.iter().map(|e| &e.item).collect::<Vec<_>>())
            .field("attestations", &self.attestations.len())
            .field("waivers", &self.waivers.len())
            .field("not_applicable", &self.not_applicable.len())
            .field("items", &self.items.len())
            .field("sign_off", &self.sign_off.len())
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

type EnvSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Options for loading a config: custom probe kinds and where `${env:NAME}` is read from.
///
/// ```
/// use nexus_readiness::config::Config;
///
/// let config = Config::loader()
///     .env_source(|name| (name == "REDIS_PASSWORD").then(|| "s3cret-pass".to_string()))
///     .from_str("[targets.redis]\naddress = \"127.0.0.1:6379\"\npassword = \"${env:REDIS_PASSWORD}\"\n", "nexus.toml")?;
/// let plan = config.plan(nexus_readiness::builtin::nexus())?;
/// assert_eq!(plan.redactor().redact("pw s3cret-pass"), "pw [redacted]");
/// # Ok::<(), nexus_readiness::config::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Loader {
    registry: Registry,
    env: Option<EnvSource>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader").field("registry", &self.registry).field("env", &self.env.is_some()).finish()
    }
}

impl Loader {
    /// Uses `registry` for the probe kinds (default: [`Registry::new`], every kind of this
    /// crate; register a user's kinds into it).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Reads `${env:NAME}` from `source` instead of the process environment.
    pub fn env_source<F>(mut self, source: F) -> Self
    where
        F: Fn(&str) -> Option<String> + Send + Sync + 'static,
    {
        self.env = Some(Arc::new(source));
        self
    }

    /// Loads a config file.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = crate::probes::file::read_regular(path, MAX_CONFIG_BYTES).map_err(|e| {
            let message = match e {
                crate::probes::file::ReadError::Io(e) => format!("cannot read the config file: {e}"),
                crate::probes::file::ReadError::NotRegular(what) => {
                    format!("the config file is {what}, not a regular file")
                }
                crate::probes::file::ReadError::TooLarge(cap) => {
                    format!("the config file is larger than the {cap}-byte limit")
                }
            };
            ConfigError::new(ConfigErrorKind::Io, &name, message)
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::Io,
                &name,
                format!("the config file is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            )
        })?;
        self.from_str(&text, &name)
    }

    /// Loads config text; `name` stands for the file in errors.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key.
    pub fn from_str(&self, text: &str, name: &str) -> Result<Config, ConfigError> {
        let mut l = Load { text, file: name, loader: self, env_values: Vec::new() };
        let (config, secrets) = crate::probe::collect_secrets(|| l.run());
        let mut config = config?;
        config.secrets = secrets;
        Ok(config)
    }

    /// The registry of probe kinds this loader reads.
    pub fn kinds(&self) -> &Registry {
        &self.registry
    }
}

impl Config {
    /// Options for loading: custom kinds, environment source.
    pub fn loader() -> Loader {
        Loader::default()
    }

    /// Loads a config file (built-in probe kinds, the process environment).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Loader::default().load(path)
    }

    /// Loads config text; `name` stands for the file in errors.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key.
    pub fn from_str_named(text: &str, name: &str) -> Result<Config, ConfigError> {
        Loader::default().from_str(text, name)
    }

    /// Loads config text with custom probe kinds.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key.
    pub fn from_str_with(text: &str, name: &str, registry: &Registry) -> Result<Config, ConfigError> {
        Loader::default().registry(registry.clone()).from_str(text, name)
    }

    /// The file name given at load.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `[runner]` settings.
    pub fn runner_settings(&self) -> &RunnerSettings {
        &self.runner
    }

    /// The values of the secret fields (passwords, tokens, keys, secret headers, a command's
    /// `env`) read at load, in `[bindings]`; those of `[targets]` are read when the checklist is
    /// known, by [`Config::plan`]. The plan registers both with its redactor
    /// ([`Plan::redactor`]). Values of other fields are not secrets, even when read from
    /// `${env:...}`.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// A runner builder with the `[runner]` settings applied (concurrency, probe timeout,
    /// deadline, phases, fail-on-warn, allow-unverified, min-verified); add observers or a
    /// clock before `build()`.
    pub fn runner(&self) -> RunnerBuilder {
        let r = &self.runner;
        let mut b = Runner::builder().fail_on_warn(r.fail_on_warn).allow_unverified(r.allow_unverified);
        if let Some(m) = r.min_verified {
            b = b.min_verified(m);
        }
        if let Some(n) = r.concurrency {
            b = b.concurrency(n);
        }
        if let Some(t) = r.timeout {
            b = b.probe_timeout(t);
        }
        if let Some(d) = r.deadline {
            b = b.deadline(d);
        }
        if !r.phases.is_empty() {
            b = b.phases(r.phases.iter().copied());
        }
        b
    }

    /// Applies the config to `checklist`: default bindings (configured targets, or a
    /// [`NotConfigured`] probe naming the key), explicit bindings, attestations, waivers,
    /// not-applicable marks, the gating policy (`[runner] gating`, `[items]`), sign-offs and
    /// secrets.
    ///
    /// Default bindings of items the checklist does not have are ignored (the config may be
    /// used with a custom checklist); explicit entries naming an unknown item are errors.
    ///
    /// # Errors
    /// [`ConfigErrorKind::UnknownItem`] with the closest ids, [`ConfigErrorKind::Plan`] for an
    /// always-applicable item marked not applicable without an approver or an unknown
    /// sign-off role; all with file and line.
    pub fn plan(&self, checklist: Checklist) -> Result<Plan, ConfigError> {
        let mut plan = Plan::new(checklist);
        for s in &self.secrets {
            plan.secret(s);
        }
        if let Some(g) = &self.runner.gating {
            plan.gate_severities(g.iter().copied());
        }
        let plan_err = |e: PlanError, loc: &Location| -> ConfigError {
            match e {
                PlanError::UnknownItem { id, closest } => {
                    ConfigError::new(ConfigErrorKind::UnknownItem, &self.name, format!("unknown item id `{id}`"))
                        .at(loc)
                        .suggest(closest)
                }
                other => ConfigError::new(ConfigErrorKind::Plan, &self.name, other.to_string()).at(loc),
            }
        };
        let mut l = Load { text: &self.source, file: &self.name, loader: &self.loader, env_values: Vec::new() };
        let (targets, target_secrets) = crate::probe::collect_secrets(|| l.read_targets(plan.checklist()));
        let targets = targets?;
        for s in &target_secrets {
            plan.secret(s);
        }
        let build = |item: &str, b: &Bound, plan: &Plan| -> Result<Arc<dyn Probe>, ConfigError> {
            let checklist = plan.checklist();
            let mut cx = BuildContext::new(checklist).key(&b.loc.key);
            if let Some(i) = checklist.item(item) {
                cx = cx.item(i);
            }
            b.build(&cx).map_err(|e| l.err(ConfigErrorKind::InvalidProbe, e.0).at(&b.loc))
        };
        let explicit: Vec<&str> = self.bindings.iter().map(|e| e.item.as_str()).collect();
        let defaults: Vec<Binding> = plan.checklist().bindings.clone();
        for b in &defaults {
            if explicit.contains(&b.item.as_str()) {
                continue;
            }
            match targets.get(b.item.as_str()) {
                Some(bound) => {
                    for p in bound {
                        let probe = build(&b.item, p, &plan)?;
                        plan.bind_arc(&b.item, probe).map_err(|e| plan_err(e, &p.loc))?;
                    }
                }
                None => {
                    plan.bind(&b.item, NotConfigured::new(&b.target, &b.kind))
                        .map_err(|e| plan_err(e, &Location::default()))?;
                }
            }
        }
        for e in &self.bindings {
            if plan.checklist().item(&e.item).is_none() {
                let closest = plan.checklist().closest_ids(&e.item, 3).into_iter().map(ToString::to_string).collect();
                return Err(plan_err(PlanError::UnknownItem { id: e.item.clone(), closest }, &e.loc));
            }
            for p in &e.value {
                let probe = build(&e.item, p, &plan)?;
                plan.bind_arc(&e.item, probe).map_err(|err| plan_err(err, &e.loc))?;
            }
        }
        for e in &self.attestations {
            plan.attest(&e.item, e.value.clone()).map_err(|err| plan_err(err, &e.loc))?;
        }
        for e in &self.waivers {
            plan.waive(&e.item, e.value.clone()).map_err(|err| plan_err(err, &e.loc))?;
        }
        for e in &self.not_applicable {
            plan.mark_not_applicable(&e.item, e.value.clone()).map_err(|err| plan_err(err, &e.loc))?;
        }
        for e in &self.items {
            if plan.is_gating(&e.item).is_none() {
                let closest = plan.checklist().closest_ids(&e.item, 3).into_iter().map(ToString::to_string).collect();
                return Err(plan_err(PlanError::UnknownItem { id: e.item.clone(), closest }, &e.loc));
            }
            if let Some(g) = e.value.gating {
                plan.gating(&e.item, g).map_err(|err| plan_err(err, &e.loc))?;
            }
            if let Some(x) = e.value.exclusive {
                plan.exclusive(&e.item, x).map_err(|err| plan_err(err, &e.loc))?;
            }
        }
        for e in &self.sign_off {
            let s = &e.value;
            let signature = s.signature.clone().unwrap_or_else(|| format!("signed in {}", self.name));
            plan.sign_off(&e.item, s.name.clone(), s.date.clone(), signature).map_err(|err| plan_err(err, &e.loc))?;
        }
        Ok(plan)
    }
}

/// The top-level sections.
const SECTIONS: &[&str] =
    &["runner", "targets", "bindings", "attestations", "waivers", "not_applicable", "items", "sign_off"];

type Value<'a> = Spanned<DeValue<'a>>;

/// Largest config file read (4 MiB).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// One load in progress.
struct Load<'a> {
    text: &'a str,
    file: &'a str,
    loader: &'a Loader,
    /// Every value read from `${env:...}`, longest first: never echoed in an error.
    env_values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttestation {
    by: String,
    #[serde(default)]
    role: Option<String>,
    at: toml::Value,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    expires: Option<toml::Value>,
    #[serde(default, with = "crate::model::duration::option")]
    max_age: Option<std::time::Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotApplicable {
    reason: String,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    expires: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignOff {
    name: String,
    date: toml::Value,
    #[serde(default)]
    signature: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    justification: String,
    approver: String,
    expires: toml::Value,
}

fn quote_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

fn join_key(prefix: &str, k: &str) -> String {
    if prefix.is_empty() { quote_key(k) } else { format!("{prefix}.{}", quote_key(k)) }
}

fn contains(span: &Range<usize>, at: usize) -> bool {
    span.start <= at && at < span.end.max(span.start + 1)
}

/// The dotted key whose key or value span holds `at`.
fn key_at(table: &DeTable<'_>, at: usize, prefix: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let path = join_key(prefix, k.get_ref());
        if contains(&k.span(), at) {
            return Some(path);
        }
        if contains(&v.span(), at) {
            return match v.get_ref() {
                DeValue::Table(t) => key_at(t, at, &path).or(Some(path)),
                DeValue::Array(a) => {
                    for (i, e) in a.iter().enumerate() {
                        if let DeValue::Table(t) = e.get_ref()
                            && contains(&e.span(), at)
                        {
                            return key_at(t, at, &format!("{path}[{i}]")).or(Some(path));
                        }
                    }
                    Some(path)
                }
                _ => Some(path),
            };
        }
    }
    // Tables declared with headers (`[a.b]`) have spans that may not cover their keys; look
    // deeper anyway.
    for (k, v) in table.iter() {
        if let DeValue::Table(t) = v.get_ref()
            && let Some(p) = key_at(t, at, &join_key(prefix, k.get_ref()))
        {
            return Some(p);
        }
    }
    None
}

/// Extracts `` `a`, `b` `` names from a serde "expected one of" message.
fn expected_names(message: &str) -> Vec<&str> {
    let Some(rest) = message.split("expected ").nth(1) else { return Vec::new() };
    rest.split('`').skip(1).step_by(2).collect()
}

impl<'a> Load<'a> {
    fn err(&self, kind: ConfigErrorKind, message: impl Into<String>) -> ConfigError {
        ConfigError::new(kind, self.file, self.hide_env(message.into()))
    }

    /// `message` without any value read from `${env:...}`: whole values of 4 characters or
    /// more anywhere, shorter ones where they stand quoted (`"ab"`, `` `ab` ``), so that a
    /// short value does not garble the message.
    fn hide_env(&self, mut message: String) -> String {
        for v in &self.env_values {
            if v.is_empty() {
                continue;
            }
            let escaped = format!("{v:?}");
            let escaped = &escaped[1..escaped.len() - 1];
            let forms: Vec<String> = if v.chars().count() >= 4 {
                vec![v.clone(), escaped.to_string()]
            } else {
                [v.as_str(), escaped]
                    .iter()
                    .flat_map(|f| [format!("\"{f}\""), format!("`{f}`"), format!("'{f}'")])
                    .collect()
            };
            for f in forms {
                if message.contains(&f) {
                    let hidden = if f.starts_with(['"', '`', '\'']) {
                        format!("{}[env value]{}", &f[..1], &f[f.len() - 1..])
                    } else {
                        "[env value]".to_string()
                    };
                    message = message.replace(&f, &hidden);
                }
            }
        }
        message
    }

    fn loc(&self, span: &Range<usize>, key: impl Into<String>) -> Location {
        Location::new(self.text, span, key)
    }

    /// A serde/toml error, located and classified.
    fn toml_error(&self, e: &toml::de::Error, root: &DeTable<'_>, fallback: &Location) -> ConfigError {
        let msg = e.message().trim_end_matches('\n').to_string();
        let kind = if msg.starts_with("unknown field") {
            ConfigErrorKind::UnknownKey
        } else if msg.starts_with("missing field") {
            ConfigErrorKind::MissingKey
        } else {
            ConfigErrorKind::InvalidValue
        };
        let mut err = self.err(kind, msg.clone());
        match e.span() {
            Some(span) => {
                let key = key_at(root, span.start, "").unwrap_or_else(|| fallback.key.clone());
                err = err.at(&self.loc(&span, key));
            }
            None => err = err.at(fallback),
        }
        if kind == ConfigErrorKind::UnknownKey {
            // "unknown field `adress`, expected one of `address`, ..." -> suggest the closest.
            let unknown = msg.split('`').nth(1).unwrap_or("");
            let names = expected_names(&msg);
            err = err.suggest(closest(unknown, names.iter().copied(), 3));
            err.message = format!("unknown key `{unknown}`");
        }
        err
    }

    fn de<T: serde::de::DeserializeOwned>(
        &self,
        v: &Value<'a>,
        root: &DeTable<'_>,
        loc: &Location,
    ) -> Result<T, ConfigError> {
        T::deserialize(ValueDeserializer::from(v.clone())).map_err(|e| self.toml_error(&e, root, loc))
    }

    fn run(&mut self) -> Result<Config, ConfigError> {
        let mut root = DeTable::parse(self.text).map_err(|e| {
            let mut err = self.err(ConfigErrorKind::Syntax, format!("invalid TOML: {}", e.message().trim_end()));
            if let Some(span) = e.span() {
                err = err.at(&self.loc(&span, ""));
            }
            err
        })?;
        // Resolve ${env:NAME} everywhere first, so every later error sees final values.
        for (k, v) in root.get_mut().iter_mut() {
            let path = quote_key(k.get_ref());
            self.resolve_env(v, &path)?;
        }
        let root = root.into_inner();
        let mut config = Config {
            name: self.file.to_string(),
            runner: RunnerSettings::default(),
            source: Arc::from(self.text),
            loader: self.loader.clone(),
            bindings: Vec::new(),
            attestations: Vec::new(),
            waivers: Vec::new(),
            not_applicable: Vec::new(),
            items: Vec::new(),
            sign_off: Vec::new(),
            secrets: Vec::new(),
        };
        for (k, v) in root.iter() {
            let key = k.get_ref().as_ref();
            let loc = self.loc(&k.span(), quote_key(key));
            match key {
                "runner" => config.runner = self.de(v, &root, &loc)?,
                // Read by `Config::plan`, through the checklist's default bindings.
                "targets" => self.expect_table(v, "targets")?,
                "bindings" => config.bindings = self.bindings(v, &root)?,
                "attestations" => config.attestations = self.entries(v, &root, "attestations", Self::attestation)?,
                "waivers" => config.waivers = self.entries(v, &root, "waivers", Self::waiver)?,
                "not_applicable" => {
                    config.not_applicable = self.entries(v, &root, "not_applicable", Self::not_applicable)?;
                }
                "items" => config.items = self.entries(v, &root, "items", Self::item_settings)?,
                "sign_off" => config.sign_off = self.entries(v, &root, "sign_off", Self::sign_off)?,
                other => {
                    return Err(self
                        .err(ConfigErrorKind::UnknownKey, format!("unknown section `{other}`"))
                        .at(&loc)
                        .suggest(closest(other, SECTIONS.iter().copied(), 3)));
                }
            }
        }
        Ok(config)
    }

    fn resolve_env(&mut self, v: &mut Value<'a>, path: &str) -> Result<(), ConfigError> {
        let span = v.span();
        match v.get_mut() {
            DeValue::String(s) if s.contains("${") => {
                let resolved = self.substitute(s, &span, path)?;
                *s = Cow::Owned(resolved);
            }
            DeValue::Table(t) => {
                for (k, v) in t.iter_mut() {
                    let p = join_key(path, k.get_ref());
                    self.resolve_env(v, &p)?;
                }
            }
            DeValue::Array(a) => {
                for (i, e) in a.iter_mut().enumerate() {
                    self.resolve_env(e, &format!("{path}[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Replaces `${env:NAME}`; `$${` stays a literal `${`.
    fn substitute(&mut self, s: &str, span: &Range<usize>, path: &str) -> Result<String, ConfigError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find("${") {
            if rest[..pos].ends_with('$') {
                out.push_str(&rest[..pos - 1]);
                out.push_str("${");
                rest = &rest[pos + 2..];
                continue;
            }
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            let Some(end) = after.find('}') else {
                return Err(self
                    .err(ConfigErrorKind::InvalidValue, "unclosed `${` (write `${env:NAME}`, or `$${` for a literal)")
                    .at(&self.loc(span, path)));
            };
            let expr = &after[..end];
            let Some(name) = expr.strip_prefix("env:") else {
                return Err(self
                    .err(
                        ConfigErrorKind::InvalidValue,
                        format!("unknown reference `${{{expr}}}` (only `${{env:NAME}}` is supported)"),
                    )
                    .at(&self.loc(span, path)));
            };
            let value = match &self.loader.env {
                Some(f) => f(name),
                None => std::env::var(name).ok(),
            };
            let Some(value) = value else {
                return Err(self
                    .err(ConfigErrorKind::MissingEnv, format!("environment variable `{name}` is not set"))
                    .at(&self.loc(span, path)));
            };
            out.push_str(&value);
            if !self.env_values.contains(&value) {
                self.env_values.push(value);
                // Longest first, so that a value containing another is hidden whole.
                self.env_values.sort_by_key(|v| std::cmp::Reverse(v.len()));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Turns a probe table (without `kind`) into a probe.
    fn probe(
        &self,
        kind: &str,
        v: &Value<'_>,
        root: &DeTable<'_>,
        loc: &Location,
        kind_loc: &Location,
    ) -> Result<Bound, ConfigError> {
        match self.loader.registry.get(kind) {
            Some(Kind::Available { deserialize, .. }) => {
                let spec =
                    deserialize(ValueDeserializer::from(v.clone())).map_err(|e| self.toml_error(&e, root, loc))?;
                Ok(Bound { loc: loc.clone(), kind: kind.to_string(), spec: Some(spec), feature: "" })
            }
            Some(Kind::Unavailable { feature }) => {
                Ok(Bound { loc: loc.clone(), kind: kind.to_string(), spec: None, feature })
            }
            None => {
                let kinds = self.loader.registry.kinds();
                Err(self
                    .err(ConfigErrorKind::UnknownKind, format!("unknown probe kind `{kind}`"))
                    .at(kind_loc)
                    .suggest(closest(kind, kinds.iter().copied(), 3)))
            }
        }
    }

    /// A value that is one table or an array of tables.
    fn tables<'v>(
        &self,
        v: &'v Value<'a>,
        loc: &Location,
        what: &str,
    ) -> Result<Vec<(&'v Value<'a>, Location)>, ConfigError> {
        match v.get_ref() {
            DeValue::Table(_) => Ok(vec![(v, loc.clone())]),
            DeValue::Array(a) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(i, e)| match e.get_ref() {
                    DeValue::Table(_) => Ok((e, self.loc(&e.span(), format!("{}[{i}]", loc.key)))),
                    other => Err(self
                        .err(
                            ConfigErrorKind::InvalidValue,
                            format!("expected a table ({what}), found {}", other.type_str()),
                        )
                        .at(&self.loc(&e.span(), format!("{}[{i}]", loc.key)))),
                })
                .collect(),
            other => Err(self
                .err(ConfigErrorKind::InvalidValue, format!("expected a table ({what}), found {}", other.type_str()))
                .at(&self.loc(&v.span(), loc.key.clone()))),
        }
    }

    fn expect_table(&self, v: &Value<'a>, path: &str) -> Result<(), ConfigError> {
        match v.get_ref() {
            DeValue::Table(_) => Ok(()),
            other => Err(self
                .err(ConfigErrorKind::InvalidValue, format!("expected a table, found {}", other.type_str()))
                .at(&self.loc(&v.span(), path))),
        }
    }

    /// Reads `[targets]` through the default bindings of `checklist`: item id -> specs.
    fn read_targets(&mut self, checklist: &Checklist) -> Result<BTreeMap<String, Vec<Bound>>, ConfigError> {
        let mut root = DeTable::parse(self.text)
            .map_err(|e| self.err(ConfigErrorKind::Syntax, format!("invalid TOML: {}", e.message().trim_end())))?;
        let mut out = BTreeMap::new();
        // Every section, so that no value read from the environment is echoed in an error.
        for (k, v) in root.get_mut().iter_mut() {
            let path = quote_key(k.get_ref());
            self.resolve_env(v, &path)?;
        }
        let root = root.into_inner();
        let Some(v) = root.get("targets") else { return Ok(out) };
        out = self.targets(v, &root, checklist)?;
        Ok(out)
    }

    fn targets(
        &self,
        v: &Value<'a>,
        root: &DeTable<'_>,
        checklist: &Checklist,
    ) -> Result<BTreeMap<String, Vec<Bound>>, ConfigError> {
        let keys = checklist.target_keys();
        if keys.is_empty() {
            if let DeValue::Table(t) = v.get_ref()
                && let Some((k, _)) = t.iter().next()
            {
                let loc = self.loc(&k.span(), format!("targets.{}", quote_key(k.get_ref())));
                return Err(self
                    .err(
                        ConfigErrorKind::UnknownKey,
                        format!(
                            "unknown target: checklist `{}` has no default bindings; bind its items under [bindings]",
                            checklist.id
                        ),
                    )
                    .at(&loc));
            }
            return Ok(BTreeMap::new());
        }
        let mut found: Vec<(&str, &str, Value<'a>, Location)> = Vec::new();
        self.collect_targets(v, "targets", &keys, &mut found)?;
        let mut out: BTreeMap<String, Vec<Bound>> = BTreeMap::new();
        for (key, kind, value, loc) in &found {
            let uses: Vec<&Binding> = checklist.bindings.iter().filter(|b| b.target == *key).collect();
            for (table, tloc) in self.tables(value, loc, &format!("the `{kind}` spec"))? {
                for b in &uses {
                    // The fields this item fills in, parsed so that they read like the user's.
                    let defaults_text = toml::to_string(&b.defaults).unwrap_or_default();
                    let defaults = DeTable::parse(&defaults_text).map(Spanned::into_inner).unwrap_or_default();
                    let mut t: Value<'_> = table.clone();
                    let span = t.span();
                    if let DeValue::Table(map) = t.get_mut() {
                        if let Some(k) = map.get("kind") {
                            if k.get_ref().as_str() != Some(kind) {
                                return Err(self
                                    .err(
                                        ConfigErrorKind::InvalidValue,
                                        format!("`{key}` takes a `{kind}` spec; remove `kind` or bind the item under [bindings]"),
                                    )
                                    .at(&self.loc(&k.span(), format!("{}.kind", tloc.key))));
                            }
                            map.remove("kind");
                        }
                        for (field, value) in defaults.iter() {
                            if !map.contains_key(field.get_ref().as_ref()) {
                                map.insert(
                                    Spanned::new(span.clone(), field.get_ref().clone()),
                                    Spanned::new(span.clone(), value.get_ref().clone()),
                                );
                            }
                        }
                    }
                    let bound = self.probe(kind, &t, root, &tloc, &tloc)?;
                    out.entry(b.item.clone()).or_default().push(bound);
                }
            }
        }
        Ok(out)
    }

    fn collect_targets<'k>(
        &self,
        v: &Value<'a>,
        path: &str,
        keys: &[(&'k str, &'k str)],
        found: &mut Vec<(&'k str, &'k str, Value<'a>, Location)>,
    ) -> Result<(), ConfigError> {
        let DeValue::Table(t) = v.get_ref() else {
            return Err(self
                .err(ConfigErrorKind::InvalidValue, format!("expected a table, found {}", v.get_ref().type_str()))
                .at(&self.loc(&v.span(), path)));
        };
        for (k, value) in t.iter() {
            let p = format!("{path}.{}", k.get_ref());
            let loc = self.loc(&k.span(), p.clone());
            if let Some((key, kind)) = keys.iter().find(|(key, _)| *key == p) {
                found.push((key, kind, value.clone(), loc));
            } else if keys.iter().any(|(key, _)| key.starts_with(&format!("{p}."))) {
                self.collect_targets(value, &p, keys, found)?;
            } else {
                return Err(self.err(ConfigErrorKind::UnknownKey, "unknown target").at(&loc).suggest(closest(
                    &p,
                    keys.iter().map(|(k, _)| *k),
                    3,
                )));
            }
        }
        Ok(())
    }

    fn bindings(&self, v: &Value<'a>, root: &DeTable<'_>) -> Result<Vec<Entry<Vec<Bound>>>, ConfigError> {
        let DeValue::Table(t) = v.get_ref() else {
            return Err(self
                .err(ConfigErrorKind::InvalidValue, "expected a table of item id = probe")
                .at(&self.loc(&v.span(), "bindings")));
        };
        let mut out = Vec::new();
        for (k, value) in t.iter() {
            let item = k.get_ref().to_string();
            let loc = self.loc(&k.span(), join_key("bindings", &item));
            let mut probes = Vec::new();
            for (table, tloc) in self.tables(value, &loc, "a probe with `kind`")? {
                let mut t = table.clone();
                let DeValue::Table(map) = t.get_mut() else { continue };
                let Some(kind_v) = map.remove("kind") else {
                    return Err(self
                        .err(
                            ConfigErrorKind::MissingKey,
                            "missing `kind` (the probe kind, such as \"tcp\" or \"redis\")",
                        )
                        .at(&tloc));
                };
                let kind_loc = self.loc(&kind_v.span(), format!("{}.kind", tloc.key));
                let Some(kind) = kind_v.get_ref().as_str() else {
                    return Err(self
                        .err(
                            ConfigErrorKind::InvalidValue,
                            format!("expected a string, found {}", kind_v.get_ref().type_str()),
                        )
                        .at(&kind_loc));
                };
                probes.push(self.probe(kind, &t, root, &tloc, &kind_loc)?);
            }
            out.push(Entry { loc, item, value: probes });
        }
        Ok(out)
    }

    fn entries<T>(
        &self,
        v: &Value<'a>,
        root: &DeTable<'_>,
        section: &str,
        parse: fn(&Self, &Value<'a>, &DeTable<'_>, &Location) -> Result<T, ConfigError>,
    ) -> Result<Vec<Entry<T>>, ConfigError> {
        let DeValue::Table(t) = v.get_ref() else {
            return Err(self
                .err(ConfigErrorKind::InvalidValue, "expected a table keyed by item id")
                .at(&self.loc(&v.span(), section)));
        };
        let mut out = Vec::new();
        for (k, value) in t.iter() {
            let item = k.get_ref().to_string();
            let loc = self.loc(&k.span(), join_key(section, &item));
            let parsed = parse(self, value, root, &loc)?;
            out.push(Entry { loc, item, value: parsed });
        }
        Ok(out)
    }

    fn attestation(&self, v: &Value<'a>, root: &DeTable<'_>, loc: &Location) -> Result<Attestation, ConfigError> {
        let raw: RawAttestation = self.de(v, root, loc)?;
        let at = self.time(&raw.at, &format!("{}.at", loc.key), loc)?;
        let mut a = Attestation::new(raw.by, at);
        if let Some(r) = raw.role {
            a = a.role(r);
        }
        if let Some(e) = raw.evidence {
            a = a.evidence(e);
        }
        if let Some(x) = &raw.expires {
            a = a.expires(self.date(x, &format!("{}.expires", loc.key), loc)?);
        }
        if let Some(m) = raw.max_age {
            a = a.max_age(m);
        }
        Ok(a)
    }

    /// A reason string, or a table with `reason`, `approver` and `expires`.
    fn not_applicable(&self, v: &Value<'a>, root: &DeTable<'_>, loc: &Location) -> Result<NotApplicable, ConfigError> {
        if !matches!(v.get_ref(), DeValue::Table(_)) {
            return self.reason(v, root, loc).map(NotApplicable::new);
        }
        let raw: RawNotApplicable = self.de(v, root, loc)?;
        if raw.reason.trim().is_empty() {
            return Err(self.err(ConfigErrorKind::InvalidValue, "the reason is empty").at(loc));
        }
        let mut na = NotApplicable::new(raw.reason);
        if let Some(a) = raw.approver {
            if a.trim().is_empty() {
                return Err(self.err(ConfigErrorKind::InvalidValue, "the approver is empty").at(loc));
            }
            na = na.approver(a);
        }
        if let Some(x) = &raw.expires {
            na = na.expires(self.date(x, &format!("{}.expires", loc.key), loc)?);
        }
        Ok(na)
    }

    fn item_settings(&self, v: &Value<'a>, root: &DeTable<'_>, loc: &Location) -> Result<ItemSettings, ConfigError> {
        self.de(v, root, loc)
    }

    fn sign_off(&self, v: &Value<'a>, root: &DeTable<'_>, loc: &Location) -> Result<SignOffEntry, ConfigError> {
        let raw: RawSignOff = self.de(v, root, loc)?;
        let date = self.date(&raw.date, &format!("{}.date", loc.key), loc)?;
        if raw.name.trim().is_empty() {
            return Err(self.err(ConfigErrorKind::InvalidValue, "the name is empty").at(loc));
        }
        Ok(SignOffEntry { name: raw.name, date: date.to_string(), signature: raw.signature })
    }

    fn waiver(&self, v: &Value<'a>, root: &DeTable<'_>, loc: &Location) -> Result<Waiver, ConfigError> {
        if let DeValue::Table(t) = v.get_ref()
            && !t.contains_key("expires")
        {
            return Err(self
                .err(
                    ConfigErrorKind::WaiverWithoutExpiry,
                    "waiver has no `expires` date (a waiver never lasts forever: add expires = YYYY-MM-DD)",
                )
                .at(loc));
        }
        let raw: RawWaiver = self.de(v, root, loc)?;
        let expires = self.date(&raw.expires, &format!("{}.expires", loc.key), loc)?;
        Ok(Waiver::new(raw.justification, raw.approver, expires))
    }

    fn reason(&self, v: &Value<'a>, _root: &DeTable<'_>, loc: &Location) -> Result<String, ConfigError> {
        match v.get_ref().as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
            Some(_) => Err(self.err(ConfigErrorKind::InvalidValue, "the reason is empty").at(loc)),
            None => Err(self
                .err(
                    ConfigErrorKind::InvalidValue,
                    format!("expected a reason (string), found {}", v.get_ref().type_str()),
                )
                .at(loc)),
        }
    }

    fn time(&self, v: &toml::Value, key: &str, loc: &Location) -> Result<DateTime<Utc>, ConfigError> {
        let text = match v {
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::String(s) => s.clone(),
            other => {
                return Err(self
                    .err(ConfigErrorKind::InvalidValue, format!("expected a date-time, found {}", other.type_str()))
                    .at(loc)
                    .key(key));
            }
        };
        let t = text.trim();
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").map(|d| d.and_utc()))
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").map(|d| d.and_utc()))
            .or_else(|_| {
                NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| {
                self.err(ConfigErrorKind::InvalidValue, format!("invalid date-time `{t}` (write 2026-11-20T10:00:00Z)"))
                    .at(loc)
                    .key(key)
            })
    }

    fn date(&self, v: &toml::Value, key: &str, loc: &Location) -> Result<NaiveDate, ConfigError> {
        let text = match v {
            toml::Value::Datetime(d) => match d.date {
                Some(date) => date.to_string(),
                None => String::new(),
            },
            toml::Value::String(s) => s.clone(),
            other => {
                return Err(self
                    .err(ConfigErrorKind::InvalidValue, format!("expected a date, found {}", other.type_str()))
                    .at(loc)
                    .key(key));
            }
        };
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            self.err(ConfigErrorKind::InvalidValue, format!("invalid date `{text}` (write 2026-12-31)"))
                .at(loc)
                .key(key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_names_are_read_from_serde_messages() {
        assert_eq!(
            expected_names("unknown field `adress`, expected one of `address`, `timeout`"),
            vec!["address", "timeout"]
        );
        assert_eq!(expected_names("unknown field `x`, expected `path`"), vec!["path"]);
    }

    #[test]
    fn keys_are_quoted_when_needed() {
        assert_eq!(join_key("bindings", "a.b"), "bindings.\"a.b\"");
        assert_eq!(join_key("targets", "redis"), "targets.redis");
    }
}
