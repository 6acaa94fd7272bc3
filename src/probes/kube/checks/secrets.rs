//! Secrets out of environment values and ConfigMaps; debug flags; required configuration.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::EnvVar;

use super::util::{allowed_text, ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{Origin, ResourceKind, Workload};

/// No sensitive-looking inline environment values; ConfigMaps hold no secrets.
#[derive(Debug)]
pub(crate) struct SecretsInjection;

impl KubeCheck for SecretsInjection {
    fn name(&self) -> &'static str {
        "secrets-injection"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ConfigMaps]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(secrets_injection(ev))
    }
}

fn is_sensitive_name(ev: &Evaluator<'_>, name: &str) -> bool {
    if ev.cfg.env_not_sensitive.iter().any(|n| n == name) {
        return false;
    }
    crate::probe::is_sensitive_key(&name.replace(['.', ' '], "_"))
}

fn secrets_injection(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let mut from_refs = 0;
    for w in &ev.workloads {
        for (c, _) in w.containers() {
            for e in c.env.iter().flatten() {
                if e.value_from.as_ref().is_some_and(|v| v.secret_key_ref.is_some()) {
                    from_refs += 1;
                }
                let Some(v) = e.value.as_deref().filter(|v| !v.is_empty()) else { continue };
                if looks_like_private_key(v) {
                    out.push(
                        Finding::error(
                            w.object(),
                            "holds an inline private key: use a secretKeyRef or a secret volume",
                        )
                        .container(&c.name)
                        .field(format!("env.{}", e.name)),
                    );
                } else if is_sensitive_name(ev, &e.name) {
                    out.push(
                        Finding::error(
                            w.object(),
                            "has an inline value that looks sensitive: use a secretKeyRef or a secret volume",
                        )
                        .container(&c.name)
                        .field(format!("env.{}", e.name)),
                    );
                }
            }
        }
    }
    let namespaces: BTreeSet<&str> = ev.workloads.iter().map(|w| w.namespace()).collect();
    let mut cms = 0;
    for cm in &ev.snap.config_maps {
        if !namespaces.contains(ns_of(&cm.metadata)) {
            continue;
        }
        cms += 1;
        let object = format!("ConfigMap {}/{}", ns_of(&cm.metadata), cm.metadata.name.as_deref().unwrap_or(""));
        for (k, v) in cm.data.iter().flatten() {
            if looks_like_private_key(v) {
                out.push(
                    Finding::error(&object, "holds a private key: move it to a Secret").field(format!("data.{k}")),
                );
            } else if !v.is_empty() && is_sensitive_name(ev, k) {
                out.push(
                    Finding::error(&object, "looks like a secret: move it to a Secret").field(format!("data.{k}")),
                );
            }
        }
    }
    CheckOutcome::new(
        Check::SecretsInjection.as_str(),
        out,
        format!(
            "no sensitive inline values in {} ({from_refs} env values from secretKeyRef) nor in {cms} {}",
            ev.workloads_text(),
            plural(cms, "configmap", "configmaps")
        ),
    )
}

/// Debug flags off and log level allowed, from container environment variables.
#[derive(Debug)]
pub(crate) struct DebugDisabled;

impl KubeCheck for DebugDisabled {
    fn name(&self) -> &'static str {
        "debug-disabled"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ConfigMaps]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(debug_disabled(ev))
    }
}

fn debug_disabled(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let mut seen = 0;
    for w in &ev.workloads {
        for (c, init) in w.containers() {
            if init {
                continue;
            }
            // envFrom ConfigMaps first, then env (which wins).
            let mut values: BTreeMap<&str, (Option<&str>, String)> = BTreeMap::new();
            for src in c.env_from.iter().flatten() {
                let Some(cm) = &src.config_map_ref else { continue };
                let prefix = src.prefix.as_deref().unwrap_or("");
                for name in ev.cfg.env_allowed.keys() {
                    let Some(key) = name.strip_prefix(prefix) else { continue };
                    if let Some(v) = ev.config_map_value(w.namespace(), &cm.name, key) {
                        values.insert(name, (Some(v), format!("envFrom ConfigMap {}", cm.name)));
                    }
                }
            }
            for e in c.env.iter().flatten() {
                if !ev.cfg.env_allowed.contains_key(&e.name) {
                    continue;
                }
                let name = ev.cfg.env_allowed.get_key_value(&e.name).map(|(k, _)| k.as_str()).unwrap_or("");
                values.insert(name, env_value(ev, w, e));
            }
            for (name, (value, from)) in values {
                seen += 1;
                let allowed = &ev.cfg.env_allowed[name];
                let field = format!("env.{name}");
                match value {
                    Some(v) if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) => {}
                    Some(v) => out.push(
                        Finding::error(w.object(), format!("is {v:?} ({from}): allowed {}", allowed_text(allowed)))
                            .container(&c.name)
                            .field(field),
                    ),
                    None => out.push(
                        Finding::warn(w.object(), format!("comes from {from}, which could not be read"))
                            .container(&c.name)
                            .field(field),
                    ),
                }
            }
        }
    }
    let names: Vec<&str> = ev.cfg.env_allowed.keys().map(String::as_str).collect();
    CheckOutcome::new(
        Check::DebugDisabled.as_str(),
        out,
        format!("{} ({seen} set) in {} have allowed values", names.join(", "), ev.workloads_text()),
    )
}

fn env_value<'a>(ev: &Evaluator<'a>, w: &Workload<'a>, e: &'a EnvVar) -> (Option<&'a str>, String) {
    if let Some(src) = &e.value_from {
        if let Some(r) = &src.config_map_key_ref {
            return (
                ev.config_map_value(w.namespace(), &r.name, &r.key),
                format!("ConfigMap {} key {}", r.name, r.key),
            );
        }
        if let Some(r) = &src.secret_key_ref {
            return (None, format!("Secret {} key {}", r.name, r.key));
        }
        return (None, "valueFrom".into());
    }
    (Some(e.value.as_deref().unwrap_or("")), "inline".into())
}

/// Required ConfigMaps and Secrets exist in the namespace (and, live, every reference does).
#[derive(Debug)]
pub(crate) struct EnvConfig;

impl KubeCheck for EnvConfig {
    fn name(&self) -> &'static str {
        "env-config"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ConfigMaps, ResourceKind::Secrets]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        env_config(ev)
    }
}

fn env_config(ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
    let ns = ev.selector.ns();
    let mut required_cm: BTreeSet<String> = ev.cfg.required_config_maps.iter().cloned().collect();
    let mut required_secret: BTreeSet<String> = ev.cfg.required_secrets.iter().cloned().collect();
    if ev.snap.origin == Origin::Live {
        for w in &ev.workloads {
            let (cms, secrets) = references(w);
            required_cm.extend(cms);
            required_secret.extend(secrets);
        }
    }
    if required_cm.is_empty() && required_secret.is_empty() {
        return Err(ProbeError::not_configured("kube.config.required_config_maps"));
    }
    let mut out = Vec::new();
    let exists_cm =
        |n: &str| ev.snap.config_maps.iter().any(|c| c.metadata.name.as_deref() == Some(n) && ns_of(&c.metadata) == ns);
    let exists_secret =
        |n: &str| ev.snap.secrets.iter().any(|c| c.metadata.name.as_deref() == Some(n) && ns_of(&c.metadata) == ns);
    for n in &required_cm {
        if !exists_cm(n) {
            out.push(Finding::error(format!("ConfigMap {ns}/{n}"), "does not exist"));
        }
    }
    for n in &required_secret {
        if !exists_secret(n) {
            out.push(Finding::error(format!("Secret {ns}/{n}"), "does not exist"));
        }
    }
    Ok(CheckOutcome::new(
        Check::EnvConfig.as_str(),
        out,
        format!(
            "{} {} and {} {} exist in namespace {ns}",
            required_cm.len(),
            plural(required_cm.len(), "configmap", "configmaps"),
            required_secret.len(),
            plural(required_secret.len(), "secret", "secrets")
        ),
    ))
}

/// ConfigMap and Secret names a workload's pod template references (env, envFrom, volumes),
/// leaving out optional references.
fn references(w: &Workload<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let Some(spec) = w.pod_spec else { return (cms, secrets) };
    for (c, _) in w.containers() {
        for e in c.env.iter().flatten() {
            let Some(src) = &e.value_from else { continue };
            if let Some(r) = src.config_map_key_ref.as_ref().filter(|r| r.optional != Some(true)) {
                cms.insert(r.name.clone());
            }
            if let Some(r) = src.secret_key_ref.as_ref().filter(|r| r.optional != Some(true)) {
                secrets.insert(r.name.clone());
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = e.config_map_ref.as_ref().filter(|r| r.optional != Some(true)) {
                cms.insert(r.name.clone());
            }
            if let Some(r) = e.secret_ref.as_ref().filter(|r| r.optional != Some(true)) {
                secrets.insert(r.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = v.config_map.as_ref().filter(|c| c.optional != Some(true)) {
            cms.insert(cm.name.clone());
        }
        if let Some(s) = v.secret.as_ref().filter(|s| s.optional != Some(true))
            && let Some(n) = &s.secret_name
        {
            secrets.insert(n.clone());
        }
    }
    cms.retain(|n| !n.is_empty());
    secrets.retain(|n| !n.is_empty());
    (cms, secrets)
}

/// Whether a value holds a private key in any armour: PEM and OpenSSH (`-----BEGIN ...
/// PRIVATE KEY-----`), RFC 4716 (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`), PGP private key
/// blocks, PuTTY key files, and any of these base64-encoded once (a common way to squeeze a
/// key into a single-line variable). Case-insensitive.
fn looks_like_private_key(v: &str) -> bool {
    fn armoured(v: &str) -> bool {
        let u = v.to_ascii_uppercase();
        (u.contains("BEGIN") && u.contains("PRIVATE KEY")) || u.contains("PUTTY-USER-KEY-FILE")
    }
    if armoured(v) {
        return true;
    }
    // base64 of "-----BEGIN" / "---- BEGIN" / "PuTTY-User-Key-File"
    ["LS0tLS1CRUdJT", "LS0tLSBCRUdJT", "UHVUVFktVXNlci1LZXktRmlsZ"].iter().any(|p| v.trim_start().starts_with(p))
        && base64_prefix(v.trim()).is_some_and(|d| armoured(&d))
}

/// Decodes the leading standard-base64 characters of `v` (up to 4 KiB), ignoring line breaks.
fn base64_prefix(v: &str) -> Option<String> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in v.bytes().filter(|c| !c.is_ascii_whitespace()).take(4096) {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => break,
        };
        acc = (acc << 6) | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensitive(name: &str) -> bool {
        crate::probe::is_sensitive_key(&name.replace(['.', ' '], "_"))
    }

    #[test]
    fn sensitive_names() {
        for n in [
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "API_TOKEN",
            "STRIPE_KEY",
            "api-key",
            "SSH_KEY_CONTENT",
            "TLS_KEY_DATA",
            "SIGNING_KEY_PEM",
            "tls.key",
        ] {
            assert!(sensitive(n), "{n}");
        }
        for n in ["LOG_LEVEL", "PORT", "KEYCLOAK_URL", "CACHE_KEY_PREFIX"] {
            assert!(!sensitive(n), "{n}");
        }
    }

    #[test]
    fn private_keys_in_any_armour() {
        for v in [
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nP2/5",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none",
            "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
            "-----begin private key-----",
        ] {
            assert!(looks_like_private_key(v), "{v}");
        }
        for v in ["-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----", "info"] {
            assert!(!looks_like_private_key(v), "{v}");
        }
    }
}
