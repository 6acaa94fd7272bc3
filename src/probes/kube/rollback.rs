//! Rolling a Deployment back to its previous revision, as `kubectl rollout undo` does: find
//! the ReplicaSet of the previous revision (`deployment.kubernetes.io/revision`) and patch the
//! Deployment's pod template to that ReplicaSet's template.
//!
//! Safe by construction:
//! - the patch carries the Deployment's `metadata.resourceVersion` as a precondition: when
//!   the Deployment changed between planning and patching (another rollout, an operator's
//!   edit), the API server answers 409 Conflict and nothing is mixed; [`apply`] reports it as
//!   "changed since the rollback was planned";
//! - a gate rolls back on a *Fail* only by default ([`RollbackTrigger`]): a denied or
//!   timed-out API call (an Error) is reported, not acted on;
//! - give the rollback its own deadline (a fresh [`ProbeContext`] with its own timeout), not
//!   what the checks left;
//! - applying (not a dry run) needs an explicit namespace and kube context: see the
//!   `kube_gate` example.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks::status::{owned_replica_sets, revision};
use super::live::{DEFAULT_PAGE_SIZE, api_error, list_all};
use super::source::selector_text;
use crate::probe::{ProbeContext, ProbeError};

/// The label the Deployment controller adds to ReplicaSet templates; not part of the
/// Deployment's own template.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// What a rollback does (or did).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RollbackPlan {
    /// The namespace.
    pub namespace: String,
    /// The Deployment.
    pub deployment: String,
    /// The Deployment's current revision.
    pub current_revision: Option<i64>,
    /// The Deployment's `resourceVersion` the plan was made from: the patch's precondition.
    pub resource_version: String,
    /// The revision rolled back to.
    pub target_revision: i64,
    /// The ReplicaSet holding the target revision's template.
    pub target_replica_set: String,
    /// The JSON merge patch (RFC 7386) sent to the Deployment: `{"spec":{"template":...}}`.
    pub patch: Value,
    /// Whether the current template already is the target (nothing to patch).
    pub already_current: bool,
    /// Whether the patch was sent with `dryRun=All` (validated, not persisted).
    pub dry_run: bool,
    /// Whether a patch was sent.
    pub sent: bool,
}

/// Finds the previous revision of Deployment `namespace/name` and builds the patch, without
/// sending it. One GET of the Deployment, one paginated LIST of its ReplicaSets.
///
/// # Errors
/// API errors (see [`api_error`]); not found when the Deployment has
/// no previous ReplicaSet.
pub async fn plan(cx: &ProbeContext, client: &Client, namespace: &str, name: &str) -> Result<RollbackPlan, ProbeError> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let d = cx
        .run(deployments.get(name))
        .await
        .map_err(|e| e.context(format!("get deployment {namespace}/{name}")))?
        .map_err(|e| api_error(&e, "get", &format!("deployments.apps/{name}"), Some(namespace)))?;
    let spec = &d.spec;
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let mut lp = ListParams::default().limit(DEFAULT_PAGE_SIZE);
    let labels = selector_text(&spec.selector);
    if spec.selector.match_expressions.is_none() && labels != "<all>" {
        lp = lp.labels(&labels);
    }
    let rs = list_all(cx, &rs_api, &lp, "replicasets.apps", Some(namespace)).await?;
    plan_from(&d, &rs)
}

/// Builds the rollback plan from a Deployment and the ReplicaSets of its namespace (pure).
///
/// # Errors
/// Not found when no owned ReplicaSet has a revision below the Deployment's.
pub fn plan_from(d: &Deployment, replica_sets: &[ReplicaSet]) -> Result<RollbackPlan, ProbeError> {
    let namespace = d.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let name = d.metadata.name.clone().unwrap_or_default();
    let Some(resource_version) = d.metadata.resource_version.clone().filter(|v| !v.is_empty()) else {
        return Err(ProbeError::protocol(format!(
            "Deployment {namespace}/{name} has no resourceVersion: refusing a rollback without a precondition"
        )));
    };
    let owned: Vec<&ReplicaSet> = owned_replica_sets(replica_sets, d).collect();
    let current = revision(&d.metadata).or_else(|| owned.iter().filter_map(|r| revision(&r.metadata)).max());
    let target = owned
        .iter()
        .filter_map(|r| Some((revision(&r.metadata)?, *r)))
        .filter(|(rev, _)| current.is_none_or(|c| *rev < c))
        .max_by_key(|(rev, _)| *rev);
    let Some((target_revision, rs)) = target else {
        return Err(ProbeError::not_found(format!(
            "Deployment {namespace}/{name} has no previous revision to roll back to (current revision {}, {} owned ReplicaSets)",
            current.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into()),
            owned.len()
        )));
    };
    let mut template = rs.spec.template.clone().ok_or_else(|| {
        ProbeError::protocol(format!(
            "ReplicaSet {namespace}/{} has no pod template",
            rs.metadata.name.as_deref().unwrap_or("")
        ))
    })?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let current_template = Some(&d.spec.template);
    let target_v = serde_json::to_value(&template).unwrap_or(Value::Null);
    let current_v = current_template.map(serde_json::to_value).transpose().ok().flatten().unwrap_or(Value::Null);
    let diff = merge_diff(&current_v, &target_v);
    let already_current = diff.is_none();
    let patch = serde_json::json!({
        "metadata": { "resourceVersion": resource_version },
        "spec": { "template": diff.unwrap_or(Value::Object(Default::default())) }
    });
    Ok(RollbackPlan {
        namespace,
        deployment: name,
        current_revision: current,
        resource_version,
        target_revision,
        target_replica_set: rs.metadata.name.clone().unwrap_or_default(),
        patch,
        already_current,
        dry_run: true,
        sent: false,
    })
}

/// The RFC 7386 merge patch turning `from` into `to`, or None when they are equal: objects
/// recurse, removed keys become null, anything else (arrays included) is replaced whole.
pub fn merge_diff(from: &Value, to: &Value) -> Option<Value> {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = serde_json::Map::new();
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => {
                        if let Some(d) = merge_diff(av, bv) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), bv.clone());
                    }
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (a, b) if a == b => None,
        (_, b) => Some(b.clone()),
    }
}

/// Rolls Deployment `namespace/name` back to its previous revision: [`plan`] then [`apply`].
/// With `dry_run` (the safe default for gates) the patch is sent with `dryRun=All`: the API
/// server validates and admits it without persisting anything.
///
/// # Errors
/// See [`plan`] and [`apply`].
pub async fn rollback(
    cx: &ProbeContext,
    client: &Client,
    namespace: &str,
    name: &str,
    dry_run: bool,
) -> Result<RollbackPlan, ProbeError> {
    let plan = plan(cx, client, namespace, name).await?;
    apply(cx, client, plan, dry_run).await
}

/// Sends a planned rollback. The patch carries the `resourceVersion` the plan was made from:
/// if the Deployment changed since, the API server refuses it (409 Conflict) and this returns
/// an error saying so, without retrying on the new state.
///
/// # Errors
/// A conflict when the Deployment changed since the plan; the PATCH's other API errors.
pub async fn apply(
    cx: &ProbeContext,
    client: &Client,
    mut plan: RollbackPlan,
    dry_run: bool,
) -> Result<RollbackPlan, ProbeError> {
    plan.dry_run = dry_run;
    if plan.already_current {
        return Ok(plan);
    }
    let (namespace, name) = (plan.namespace.clone(), plan.deployment.clone());
    let api: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let mut pp = PatchParams::default();
    if dry_run {
        pp = pp.dry_run();
    }
    cx.run(api.patch(&name, &pp, &Patch::Merge(&plan.patch)))
        .await
        .map_err(|e| e.context(format!("patch deployment {namespace}/{name}")))?
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 409 => ProbeError::protocol(format!(
                "Deployment {namespace}/{name} changed since the rollback was planned (resourceVersion {} is no longer current): refusing to mix templates; plan the rollback again",
                plan.resource_version
            )),
            _ => api_error(&e, "patch", &format!("deployments.apps/{name}"), Some(&namespace)),
        })?;
    plan.sent = true;
    Ok(plan)
}

/// When a gate rolls back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RollbackTrigger {
    /// Only when a check *failed*: it looked and the deployment is bad. An error (the API
    /// denied a call, timed out) is reported, not acted on. The default.
    #[default]
    OnFail,
    /// When a check failed or could not decide.
    OnFailOrError,
}

impl RollbackTrigger {
    /// Whether to roll back, given whether any check failed and whether any errored.
    pub fn should_roll_back(self, failed: bool, errored: bool) -> bool {
        match self {
            RollbackTrigger::OnFail => failed,
            RollbackTrigger::OnFailOrError => failed || errored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diff_nulls_removed_keys_and_replaces_arrays() {
        let a = json!({"metadata": {"labels": {"app": "x", "v": "2"}}, "spec": {"containers": [{"name": "a", "image": "i:2"}]}});
        let b = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "i:1"}]}});
        assert_eq!(
            merge_diff(&a, &b).unwrap(),
            json!({"metadata": {"labels": {"v": null}}, "spec": {"containers": [{"name": "a", "image": "i:1"}]}})
        );
        assert_eq!(merge_diff(&a, &a), None);
    }

    #[test]
    fn a_gate_rolls_back_on_fail_only_by_default() {
        let t = RollbackTrigger::default();
        assert!(t.should_roll_back(true, false));
        assert!(!t.should_roll_back(false, true), "an error is reported, not acted on");
        assert!(RollbackTrigger::OnFailOrError.should_roll_back(false, true));
        assert!(!RollbackTrigger::OnFailOrError.should_roll_back(false, false));
    }
}
