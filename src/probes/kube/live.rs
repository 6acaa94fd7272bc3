//! Reading a live cluster into a [`Snapshot`]: one paginated LIST per resource kind and
//! namespace (never a GET per pod), with API errors turned into [`ProbeError`]s that say what
//! was denied or missing.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use super::source::{Origin, ResourceKind, Snapshot};
use crate::probe::{ProbeContext, ProbeError, ProbeErrorKind};

/// The default LIST page size.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Builds a client from a kubeconfig file (and context), or, with neither, the default
/// configuration (in-cluster service account, then `KUBECONFIG` / `~/.kube/config`).
///
/// `read_timeout` bounds each API response.
///
/// # Errors
/// Misconfigured when the kubeconfig cannot be read or has no such context; not configured
/// (`kubeconfig`) when no configuration can be inferred.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    read_timeout: Option<Duration>,
) -> Result<Client, ProbeError> {
    let options = KubeConfigOptions { context: context.map(str::to_string), ..KubeConfigOptions::default() };
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path).map_err(|e| {
                ProbeError::misconfigured(format!("cannot read kubeconfig {}", path.display())).with_source(&e)
            })?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| ProbeError::misconfigured(format!("kubeconfig {}", path.display())).with_source(&e))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ProbeError::misconfigured("kubeconfig").with_source(&e))?,
        None => Config::infer().await.map_err(|e| {
            let mut err = ProbeError::not_configured("kubeconfig");
            err.message = format!("{}: no in-cluster config nor kubeconfig found ({e})", err.message);
            err
        })?,
    };
    if read_timeout.is_some() {
        config.read_timeout = read_timeout;
    }
    // kube builds its TLS config from rustls's process-default crypto provider. When more than
    // one provider is compiled in (ring here, aws-lc-rs through reqwest or the AWS SDK), rustls
    // cannot pick one and panics; install ring unless the application already chose.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    Client::try_from(config).map_err(|e| ProbeError::misconfigured("cannot build a Kubernetes client").with_source(&e))
}

/// Turns a kube error on `verb resource` (in `namespace`) into a [`ProbeError`] that says what
/// was denied or missing: 401/403 permission denied (with the API server's message, which
/// names the user, verb and resource), 404 not found, 5xx and connection failures
/// unreachable, timeouts timeout.
pub fn api_error(e: &kube::Error, verb: &str, resource: &str, namespace: Option<&str>) -> ProbeError {
    let what = match namespace {
        Some(ns) => format!("{verb} {resource} in namespace {ns}"),
        None => format!("{verb} {resource}"),
    };
    match e {
        kube::Error::Api(s) => {
            let msg = s.message.trim();
            let reason = if s.reason.is_empty() { String::new() } else { format!(" {}", s.reason) };
            match s.code {
                401 => ProbeError::permission_denied(format!("unauthorized (401{reason}) to {what}: {msg}")),
                403 => ProbeError::permission_denied(format!("forbidden (403{reason}): cannot {what}: {msg}")),
                404 => ProbeError::not_found(format!("not found (404{reason}) on {what}: {msg}")),
                429 => ProbeError::unreachable(format!("api server throttled (429{reason}) {what}: {msg}")),
                c if c >= 500 => ProbeError::unreachable(format!("api server error ({c}{reason}) on {what}: {msg}")),
                c => ProbeError::protocol(format!("api server answered {c}{reason} on {what}: {msg}")),
            }
        }
        kube::Error::SerdeError(_) => {
            ProbeError::protocol(format!("cannot decode the answer to {what}")).with_source(e)
        }
        other => {
            let text = error_chain(other);
            let lower = text.to_ascii_lowercase();
            if lower.contains("timed out") || lower.contains("timeout") || lower.contains("elapsed") {
                ProbeError::new(ProbeErrorKind::Timeout, format!("timed out on {what}: {text}"))
            } else {
                ProbeError::unreachable(format!("cannot {what}: {text}"))
            }
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Lists every object of `api`, page by page (`limit` + `continue`).
///
/// # Errors
/// See [`api_error`]; a timeout of `cx` says which request was in flight.
pub async fn list_all<K>(
    cx: &ProbeContext,
    api: &Api<K>,
    params: &ListParams,
    resource: &str,
    namespace: Option<&str>,
) -> Result<Vec<K>, ProbeError>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    for_each_page(cx, api, params, resource, namespace, |page| items.extend(page)).await?;
    Ok(items)
}

/// Lists `api` page by page (`limit` + `continue`), handing each page to `f` and keeping
/// none: memory holds one page, whatever the number of objects.
///
/// # Errors
/// See [`api_error`]; a timeout of `cx` says which request was in flight.
pub async fn for_each_page<K, F>(
    cx: &ProbeContext,
    api: &Api<K>,
    params: &ListParams,
    resource: &str,
    namespace: Option<&str>,
    mut f: F,
) -> Result<(), ProbeError>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
    F: FnMut(Vec<K>),
{
    let mut token: Option<String> = None;
    loop {
        let mut lp = params.clone();
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let what = || match namespace {
            Some(ns) => format!("list {resource} in namespace {ns}"),
            None => format!("list {resource}"),
        };
        let page = cx
            .run(api.list(&lp))
            .await
            .map_err(|e| e.context(what()))?
            .map_err(|e| api_error(&e, "list", resource, namespace))?;
        let next = page.metadata.continue_.filter(|c| !c.is_empty());
        f(page.items);
        match next {
            Some(c) => token = Some(c),
            None => break,
        }
    }
    Ok(())
}

async fn list_ns<K>(
    cx: &ProbeContext,
    client: &Client,
    ns: &str,
    kind: ResourceKind,
    page: u32,
) -> Result<Vec<K>, ProbeError>
where
    K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    list_all(cx, &api, &ListParams::default().limit(page), kind.resource(), Some(ns)).await
}

/// Reads `kinds` from namespace `namespace` (nodes cluster-wide; the namespace object by one
/// GET) into a live snapshot: one paginated LIST per kind.
///
/// Secret data is dropped as soon as the secrets are listed.
///
/// # Errors
/// The first request that fails (see [`api_error`]).
pub async fn fetch(
    cx: &ProbeContext,
    client: &Client,
    namespace: &str,
    kinds: &[ResourceKind],
    page_size: u32,
) -> Result<Snapshot, ProbeError> {
    let mut snap = Snapshot::new(Origin::Live);
    let page = page_size.max(1);
    let mut kinds = kinds.to_vec();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let ns = namespace;
        match kind {
            ResourceKind::Deployments => snap.deployments = list_ns::<Deployment>(cx, client, ns, kind, page).await?,
            ResourceKind::StatefulSets => {
                snap.stateful_sets = list_ns::<StatefulSet>(cx, client, ns, kind, page).await?
            }
            ResourceKind::DaemonSets => snap.daemon_sets = list_ns::<DaemonSet>(cx, client, ns, kind, page).await?,
            ResourceKind::ReplicaSets => snap.replica_sets = list_ns::<ReplicaSet>(cx, client, ns, kind, page).await?,
            ResourceKind::Pods => snap.pods = list_ns::<Pod>(cx, client, ns, kind, page).await?,
            ResourceKind::Jobs => snap.jobs = list_ns::<Job>(cx, client, ns, kind, page).await?,
            ResourceKind::CronJobs => snap.cron_jobs = list_ns::<CronJob>(cx, client, ns, kind, page).await?,
            ResourceKind::Pdbs => snap.pdbs = list_ns::<PodDisruptionBudget>(cx, client, ns, kind, page).await?,
            ResourceKind::PrometheusRules | ResourceKind::ServiceMonitors | ResourceKind::PodMonitors => {
                let (kind_name, plural) = match kind {
                    ResourceKind::PrometheusRules => ("PrometheusRule", "prometheusrules"),
                    ResourceKind::ServiceMonitors => ("ServiceMonitor", "servicemonitors"),
                    _ => ("PodMonitor", "podmonitors"),
                };
                let gvk = GroupVersionKind::gvk("monitoring.coreos.com", "v1", kind_name);
                let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
                let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
                let items = list_all(cx, &api, &ListParams::default().limit(page), kind.resource(), Some(ns)).await?;
                for o in items {
                    let mut v = serde_json::to_value(&o)
                        .map_err(|e| ProbeError::protocol(format!("cannot encode a {kind_name}")).with_source(&e))?;
                    v["kind"] = serde_json::Value::String(kind_name.into());
                    snap.custom.push(v);
                }
            }
            ResourceKind::Services => snap.services = list_ns::<Service>(cx, client, ns, kind, page).await?,
            ResourceKind::Hpas => snap.hpas = list_ns::<HorizontalPodAutoscaler>(cx, client, ns, kind, page).await?,
            ResourceKind::NetworkPolicies => {
                snap.network_policies = list_ns::<NetworkPolicy>(cx, client, ns, kind, page).await?;
            }
            ResourceKind::ConfigMaps => snap.config_maps = list_ns::<ConfigMap>(cx, client, ns, kind, page).await?,
            ResourceKind::ServiceAccounts => {
                snap.service_accounts = list_ns::<ServiceAccount>(cx, client, ns, kind, page).await?;
            }
            ResourceKind::Secrets => {
                for s in list_ns::<Secret>(cx, client, ns, kind, page).await? {
                    snap.push_secret(s);
                }
            }
            ResourceKind::Nodes => {
                let api: Api<Node> = Api::all(client.clone());
                snap.nodes = list_all(cx, &api, &ListParams::default().limit(page), kind.resource(), None).await?;
            }
            ResourceKind::Namespaces => {
                let api: Api<Namespace> = Api::all(client.clone());
                let got = cx
                    .run(api.get_opt(ns))
                    .await
                    .map_err(|e| e.context(format!("get namespace {ns}")))?
                    .map_err(|e| api_error(&e, "get", "namespaces", None))?;
                snap.namespaces.extend(got);
            }
        }
        snap.loaded.push(kind);
    }
    Ok(snap)
}
