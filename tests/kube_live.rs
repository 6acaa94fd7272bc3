//! The live Kubernetes checks through a real `kube::Client`, built from a kubeconfig file that
//! points at an in-process HTTP server speaking the Kubernetes list/get/patch JSON (lists
//! paginated with `metadata.continue`, errors as `Status` objects).
#![cfg(feature = "kube")]

mod common;

use nexus_readiness::probe::BuildContext;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret, Service, ServiceAccount};
use nexus_readiness::probe::{Observation, Probe, ProbeContext, ProbeError, ProbeErrorKind, ProbeSpec, Verdict};
use nexus_readiness::probes::kube::{KubeSpec, rollback};
use serde_json::{Value, json};

// ---------------------------------------------------------------- the fake API server

#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: String,
}

#[derive(Default)]
struct Fake {
    /// Collection path -> items.
    collections: BTreeMap<String, Vec<Value>>,
    requests: Vec<Req>,
    /// Path prefix -> (code, reason, message).
    errors: Vec<(String, u16, String, String)>,
    delay: Option<Duration>,
}

type Shared = Arc<Mutex<Fake>>;

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    });
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The value at a JSON pointer, created as needed.
fn json_pointer_mut<'v>(v: &'v mut Value, ptr: &str) -> &'v mut Value {
    ptr.split('/').skip(1).fold(v, |cur, seg| {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !cur.is_object() {
            *cur = json!({});
        }
        cur.as_object_mut().unwrap().entry(seg).or_insert(Value::Null)
    })
}

/// The apiVersion and list kind of a collection path, as the API server names them
/// (`apps/v1`, `ReplicaSetList`): typed Go clients refuse a generic `List`.
fn list_kind(path: &str) -> (String, String) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (gv, discovery_path) = match parts.as_slice() {
        ["api", v, ..] => (v.to_string(), format!("/api/{v}")),
        ["apis", g, v, ..] => (format!("{g}/{v}"), format!("/apis/{g}/{v}")),
        _ => ("v1".into(), String::new()),
    };
    let resource = parts.last().copied().unwrap_or("");
    let kind = discovery(&discovery_path)
        .and_then(|d| {
            d["resources"]
                .as_array()?
                .iter()
                .find(|r| r["name"] == resource)
                .and_then(|r| r["kind"].as_str().map(str::to_string))
        })
        .map(|k| format!("{k}List"))
        .unwrap_or_else(|| "List".into());
    (gv, kind)
}

/// The discovery documents kubectl reads to map `deployment/x` to a resource: the legacy
/// (unaggregated) forms, which clients fall back to when the server does not offer the
/// aggregated ones.
fn discovery(path: &str) -> Option<Value> {
    let verbs = ["get", "list", "watch", "create", "update", "patch", "delete"];
    let res = |name: &str, kind: &str, namespaced: bool, short: &[&str]| {
        json!({"name": name, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced, "kind": kind,
               "verbs": verbs, "shortNames": short})
    };
    let list = |gv: &str, resources: Vec<Value>| json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources});
    let groups =
        [("apps", "v1"), ("batch", "v1"), ("autoscaling", "v2"), ("networking.k8s.io", "v1"), ("policy", "v1")];
    Some(match path {
        "/version" => json!({"major": "1", "minor": "37", "gitVersion": "v1.37.0", "platform": "linux/amd64"}),
        "/api" => json!({"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        }).collect::<Vec<_>>()}),
        "/api/v1" => list(
            "v1",
            vec![
                res("pods", "Pod", true, &["po"]),
                res("services", "Service", true, &["svc"]),
                res("namespaces", "Namespace", false, &["ns"]),
                res("nodes", "Node", false, &["no"]),
                res("secrets", "Secret", true, &[]),
                res("configmaps", "ConfigMap", true, &["cm"]),
                res("serviceaccounts", "ServiceAccount", true, &["sa"]),
            ],
        ),
        "/apis/apps/v1" => list(
            "apps/v1",
            vec![
                res("deployments", "Deployment", true, &["deploy"]),
                res("replicasets", "ReplicaSet", true, &["rs"]),
                res("statefulsets", "StatefulSet", true, &["sts"]),
                res("daemonsets", "DaemonSet", true, &["ds"]),
            ],
        ),
        "/apis/batch/v1" => {
            list("batch/v1", vec![res("jobs", "Job", true, &[]), res("cronjobs", "CronJob", true, &["cj"])])
        }
        "/apis/autoscaling/v2" => {
            list("autoscaling/v2", vec![res("horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"])])
        }
        "/apis/networking.k8s.io/v1" => {
            list("networking.k8s.io/v1", vec![res("networkpolicies", "NetworkPolicy", true, &["netpol"])])
        }
        "/apis/policy/v1" => {
            list("policy/v1", vec![res("poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"])])
        }
        _ => return None,
    })
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn labels_match(item: &Value, selector: &str) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|t| {
        let (k, v) = t.split_once('=').unwrap();
        item["metadata"]["labels"][k].as_str() == Some(v)
    })
}

/// A protobuf length-delimited field.
fn pb(field: u32, bytes: &[u8]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    varint(u64::from(field << 3 | 2), &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// The OpenAPI v2 document (gnostic's `openapi.v2.Document` protobuf) of what kubectl asks:
/// PATCH of apps/v1 Deployments takes `dryRun`.
fn openapi_v2() -> Vec<u8> {
    let query = [pb(2, b"query"), pb(4, b"dryRun")].concat(); // QueryParameterSubSchema: in, name
    let parameter = pb(1, &pb(2, &pb(3, &query))); // ParametersItem > Parameter > NonBodyParameter
    let gvk = pb(2, b"group: apps\nkind: Deployment\nversion: v1\n"); // Any.yaml
    let extension = [pb(1, b"x-kubernetes-group-version-kind"), pb(2, &gvk)].concat(); // NamedAny
    let patch = [pb(8, &parameter), pb(13, &extension)].concat(); // Operation: parameters, vendor_extension
    let path = [pb(1, b"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"), pb(2, &pb(8, &patch))].concat();
    [pb(1, b"2.0"), pb(8, &pb(2, &path))].concat() // Document: swagger, paths (Paths.path = 2)
}

async fn handle(State(fake): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let delay = {
        let mut f = fake.lock().unwrap();
        f.requests.push(Req {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        f.delay
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if let Some(doc) = discovery(&path) {
        return axum::Json(doc).into_response();
    }
    if path == "/openapi/v2" {
        // kubectl 1.20 (Debian's kubernetes-client) reads the OpenAPI v2 document, in protobuf,
        // to see whether a kind supports server-side dry run; later ones read /openapi/v3 and
        // accept its 404.
        return ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], openapi_v2()).into_response();
    }
    if matches!(query_param(&query, "watch"), Some("true" | "1")) {
        // A watch that sees no change: held open a moment, then ended (clients re-watch).
        tokio::time::sleep(Duration::from_millis(500)).await;
        return ([(axum::http::header::CONTENT_TYPE, "application/json")], "").into_response();
    }
    let mut f = fake.lock().unwrap();
    if let Some((_, code, reason, message)) = f.errors.iter().find(|(p, ..)| path.starts_with(p.as_str())) {
        return status(*code, reason, message);
    }
    if let Some(items) = f.collections.get(&path) {
        // LIST with limit/continue and labelSelector.
        let selector = query_param(&query, "labelSelector").map(decode).unwrap_or_default();
        let field = query_param(&query, "fieldSelector").map(decode).unwrap_or_default();
        let name = field.strip_prefix("metadata.name=").map(|n| n.trim_start_matches('='));
        let items: Vec<&Value> = items
            .iter()
            .filter(|i| labels_match(i, &selector))
            .filter(|i| name.is_none_or(|n| i["metadata"]["name"] == n))
            .collect();
        let start: usize = query_param(&query, "continue").map(|c| c.parse().unwrap()).unwrap_or(0);
        let limit: usize = query_param(&query, "limit").map(|c| c.parse().unwrap()).unwrap_or(usize::MAX);
        let end = start.saturating_add(limit).min(items.len());
        let mut meta = json!({"resourceVersion": "100"});
        if end < items.len() {
            meta["continue"] = json!(end.to_string());
        }
        let (api_version, kind) = list_kind(&path);
        return axum::Json(
            json!({"apiVersion": api_version, "kind": kind, "metadata": meta, "items": items[start..end]}),
        )
        .into_response();
    }
    // GET or PATCH of one object: collection/name.
    let (collection, name) = path.rsplit_once('/').unwrap();
    if method == Method::PATCH
        && let Some(obj) =
            f.collections.get_mut(collection).and_then(|items| items.iter_mut().find(|i| i["metadata"]["name"] == name))
    {
        // A merge patch, as the API server applies it: metadata.resourceVersion in the patch is a
        // precondition (409 Conflict when the object changed); dryRun validates without storing.
        let patch: Value = serde_json::from_slice(&body).unwrap();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.starts_with("application/json-patch+json") {
            // RFC 6902, as `kubectl rollout undo` sends it.
            let mut patched = obj.clone();
            for op in patch.as_array().unwrap() {
                let ptr = op["path"].as_str().unwrap();
                match op["op"].as_str().unwrap() {
                    "replace" | "add" => *json_pointer_mut(&mut patched, ptr) = op["value"].clone(),
                    "remove" => *json_pointer_mut(&mut patched, ptr) = Value::Null,
                    other => return status(422, "Invalid", &format!("unsupported op {other}")),
                }
            }
            if !query.contains("dryRun=All") {
                *obj = patched.clone();
            }
            return axum::Json(patched).into_response();
        }
        if let Some(want) = patch["metadata"]["resourceVersion"].as_str()
            && obj["metadata"]["resourceVersion"].as_str() != Some(want)
        {
            let kind = collection.rsplit('/').next().unwrap();
            return status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on {kind}.apps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                ),
            );
        }
        let mut patched = obj.clone();
        merge_patch(&mut patched, &patch);
        if !query.contains("dryRun=All") {
            let rv: u64 = obj["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).unwrap_or(0);
            patched["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
            *obj = patched.clone();
        }
        return axum::Json(patched).into_response();
    }
    let found = f.collections.get(collection).and_then(|items| items.iter().find(|i| i["metadata"]["name"] == name));
    match (found, &method) {
        (Some(obj), &Method::GET | &Method::PATCH) => axum::Json(obj.clone()).into_response(),
        (None, _) if f.collections.contains_key(collection) || collection.ends_with("/namespaces") => {
            status(404, "NotFound", &format!("{} \"{name}\" not found", collection.rsplit('/').next().unwrap()))
        }
        // An unregistered collection is empty, as on a real API server.
        _ if method == Method::GET => {
            axum::Json(json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []})).into_response()
        }
        _ => status(405, "MethodNotAllowed", "unsupported"),
    }
}

struct Cluster {
    fake: Shared,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let fake: Shared = Arc::default();
        let app = Router::new().fallback(handle).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: nexus\nusers:\n- name: tester\n  user:\n    token: test-token\n"
            ),
        )
        .unwrap();
        Cluster { fake, kubeconfig, _dir: dir }
    }

    fn add<T: serde::Serialize>(&self, collection: &str, items: &[T]) {
        let mut f = self.fake.lock().unwrap();
        let e = f.collections.entry(collection.to_string()).or_default();
        e.extend(items.iter().map(|i| serde_json::to_value(i).unwrap()));
    }

    fn fail(&self, prefix: &str, code: u16, reason: &str, message: &str) {
        self.fake.lock().unwrap().errors.push((prefix.into(), code, reason.into(), message.into()));
    }

    fn requests(&self) -> Vec<Req> {
        self.fake.lock().unwrap().requests.clone()
    }

    fn clear_requests(&self) {
        self.fake.lock().unwrap().requests.clear();
    }

    fn spec(&self, check: &str, extra: &str) -> KubeSpec {
        let text = format!(
            "check = {check:?}\nkubeconfig = {:?}\nnamespace = \"nexus\"\n{extra}",
            self.kubeconfig.display().to_string()
        );
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    async fn check(&self, check: &str, extra: &str) -> Result<Observation, ProbeError> {
        self.spec(check, extra)
            .build(&BuildContext::detached())?
            .check(&ProbeContext::new().with_timeout(Duration::from_secs(10)))
            .await
    }

    async fn client(&self) -> kube::Client {
        nexus_readiness::probes::kube::live::client(Some(&self.kubeconfig), None, None).await.unwrap()
    }
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/nexus/deployments";
const REPLICASETS: &str = "/apis/apps/v1/namespaces/nexus/replicasets";
const PODS: &str = "/api/v1/namespaces/nexus/pods";
const SERVICES: &str = "/api/v1/namespaces/nexus/services";
const SECRETS: &str = "/api/v1/namespaces/nexus/secrets";
const SERVICEACCOUNTS: &str = "/api/v1/namespaces/nexus/serviceaccounts";
const NODES: &str = "/api/v1/nodes";
const NAMESPACES: &str = "/api/v1/namespaces";

// ---------------------------------------------------------------- objects

fn deployment(name: &str, replicas: i32, ready: i32, revision: i64) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "nexus", "uid": format!("uid-{name}"), "generation": 4, "resourceVersion": "7",
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": "nexus-api",
                    "containers": [{
                        "name": "server", "image": format!("registry.example.com/{name}:{revision}.0.0"), "imagePullPolicy": "Always",
                        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "nexus-db", "key": "password"}}}]
                    }]
                }
            }
        },
        "status": {"observedGeneration": 4, "replicas": replicas, "updatedReplicas": ready, "readyReplicas": ready, "availableReplicas": ready}
    }))
    .unwrap()
}

fn replica_set(deploy: &str, revision: i64, image: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("{deploy}-rs{revision}"), "namespace": "nexus",
                     "labels": {"app": deploy, "pod-template-hash": format!("h{revision}")},
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy, "uid": format!("uid-{deploy}"), "controller": true}]},
        "spec": {
            // The API server defaults replicas; kubectl relies on it.
            "replicas": 0,
            "selector": {"matchLabels": {"app": deploy, "pod-template-hash": format!("h{revision}")}},
            "template": {
                "metadata": {"labels": {"app": deploy, "pod-template-hash": format!("h{revision}")}},
                "spec": {"serviceAccountName": "nexus-api", "containers": [{
                    "name": "server", "image": image,
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                    "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "nexus-db", "key": "password"}}}]
                }]}
            }
        }
    }))
    .unwrap()
}

fn pod(app: &str, i: usize, ready: bool, restarts: i32, waiting: Option<&str>) -> Pod {
    let mut state = json!({"running": {"startedAt": "2026-11-26T10:00:00Z"}});
    if let Some(reason) = waiting {
        state = json!({"waiting": {"reason": reason, "message": "back-off 5m0s restarting failed container"}});
    }
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{app}-{i}"), "namespace": "nexus", "labels": {"app": app, "pod-template-hash": "h3"}},
        "spec": {"containers": [{"name": "server", "image": "x:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "" } else { "ContainersNotReady" }}],
            "containerStatuses": [{"name": "server", "image": "x:1", "imageID": "", "ready": ready, "restartCount": restarts,
                                   "state": state, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]
        }
    }))
    .unwrap()
}

fn pending_pod(app: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{app}-pending"), "namespace": "nexus", "labels": {"app": app}},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu"}]}
    }))
    .unwrap()
}

fn node(name: &str, gpus: u32, ready: bool) -> Node {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"allocatable": {"cpu": "64", "nvidia.com/gpu": gpus.to_string()},
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }}]}
    }))
    .unwrap()
}

fn lb_service(name: &str, app: &str, ip: Option<&str>) -> Service {
    let ingress = ip.map(|ip| json!([{"ip": ip}])).unwrap_or(json!([]));
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "nexus"},
        "spec": {"type": "LoadBalancer", "selector": {"app": app}, "ports": [{"port": 443}]},
        "status": {"loadBalancer": {"ingress": ingress}}
    }))
    .unwrap()
}

fn findings(obs: &Observation) -> Vec<String> {
    obs.evidence
        .iter()
        .filter(|(k, _)| k.starts_with("finding.") && !k.ends_with(".at"))
        .map(|(_, v)| v.to_string())
        .collect()
}

fn assert_finding(obs: &Observation, text: &str) {
    let f = findings(obs);
    assert!(f.iter().any(|l| l == text), "missing finding {text:?} in {f:#?}");
}

// ---------------------------------------------------------------- live checks

#[tokio::test]
async fn pods_ready_pass_and_fail_with_reasons() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 3, 3, 3), deployment("worker", 2, 0, 1)]);
    c.add(
        PODS,
        &[pod("nexus-api", 0, true, 0, None), pod("nexus-api", 1, true, 0, None), pod("nexus-api", 2, true, 1, None)],
    );
    c.add(PODS, &[pod("worker", 0, false, 9, Some("CrashLoopBackOff")), pending_pod("worker")]);

    let obs = c.check("pods-ready", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{obs:?}");
    assert_eq!(obs.summary, "3 pods of 1 deployment running and ready");

    let obs = c.check("pods-ready", "name = \"worker\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(
        &obs,
        r#"error: Pod nexus/worker-0: is not ready: phase Running; container "server" waiting: CrashLoopBackOff (back-off 5m0s restarting failed container); Ready=False ContainersNotReady"#,
    );
    assert_finding(
        &obs,
        "error: Pod nexus/worker-pending: is not ready: phase Pending; PodScheduled=False Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu",
    );

    // A workload without pods fails, saying which selector matched nothing.
    c.add(DEPLOYMENTS, &[deployment("idle", 1, 0, 1)]);
    let obs = c.check("pods-ready", "name = \"idle\"").await.unwrap();
    assert_eq!(obs.summary, "Deployment nexus/idle: no pods match its selector app=idle");
}

#[tokio::test]
async fn rollout_complete() {
    let c = Cluster::start().await;
    let mut behind = deployment("worker", 3, 1, 2);
    behind.metadata.generation = Some(5);
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 3, 3, 3), behind]);
    let obs = c.check("rollout-complete", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "rollout of 1 deployment complete");
    let obs = c.check("rollout-complete", "name = \"worker\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, "error: Deployment nexus/worker: status.observedGeneration is 4, behind generation 5");
    assert_finding(&obs, "error: Deployment nexus/worker: status.readyReplicas is 1, want 3");
}

#[tokio::test]
async fn restart_loops() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 2, 2, 3), deployment("worker", 1, 0, 1)]);
    c.add(PODS, &[pod("nexus-api", 0, true, 2, None), pod("nexus-api", 1, true, 3, None)]);
    c.add(PODS, &[pod("worker", 0, false, 1, Some("CrashLoopBackOff")), pod("worker", 1, true, 12, None)]);
    let obs = c.check("restart-loops", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "2 containers of 1 deployment restarted at most 3 times");
    let obs = c.check("restart-loops", "name = \"worker\"").await.unwrap();
    assert_finding(
        &obs,
        r#"error: Pod nexus/worker-0 container "server": restarted 1 times (limit 3), CrashLoopBackOff; last exit 137 OOMKilled"#,
    );
    assert_finding(
        &obs,
        r#"error: Pod nexus/worker-1 container "server": restarted 12 times (limit 3); last exit 137 OOMKilled"#,
    );
    // The limit is configurable.
    let obs = c.check("restart-loops", "name = \"nexus-api\"\n[config]\nmax_restarts = 2").await.unwrap();
    assert_eq!(
        obs.summary,
        r#"Pod nexus/nexus-api-1 container "server": restarted 3 times (limit 2); last exit 137 OOMKilled"#
    );
}

#[tokio::test]
async fn load_balancer() {
    let c = Cluster::start().await;
    c.add(
        DEPLOYMENTS,
        &[deployment("nexus-api", 1, 1, 1), deployment("worker", 1, 1, 1), deployment("batch", 1, 1, 1)],
    );
    c.add(
        SERVICES,
        &[lb_service("nexus-lb", "nexus-api", Some("203.0.113.7")), lb_service("worker-lb", "worker", None)],
    );
    let obs = c.check("load-balancer", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1 LoadBalancer service has an ingress address (nexus/nexus-lb=203.0.113.7)");
    let obs = c.check("load-balancer", "name = \"worker\"").await.unwrap();
    assert_eq!(
        obs.summary,
        "Service nexus/worker-lb: status.loadBalancer.ingress has no ingress address (load balancer not provisioned)"
    );
    let err = c.check("load-balancer", "name = \"batch\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
    assert_eq!(err.message, "no Service of type LoadBalancer selects the pods of 1 deployment");
}

#[tokio::test]
async fn gpu_nodes() {
    let c = Cluster::start().await;
    c.add(NODES, &[node("gpu-a", 8, true), node("gpu-b", 8, true), node("gpu-c", 8, false), node("cpu-a", 0, true)]);
    let obs = c.check("gpu-nodes", "[config]\ngpu_nodes_min = 2\ngpus_min = 16").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Warn, "a NotReady GPU node is a warning: {obs:?}");
    assert_eq!(
        obs.summary,
        "Node gpu-c: status.conditions.Ready is not Ready (KubeletNotReady); its 8 GPUs do not count"
    );
    assert_eq!(
        obs.evidence.get("checked"),
        Some("2 Ready GPU nodes with 16 allocatable nvidia.com/gpu: gpu-a(8), gpu-b(8)")
    );
    let obs = c.check("gpu-nodes", "[config]\ngpu_nodes_min = 3\ngpus_min = 24").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, "error: cluster: has 2 Ready GPU nodes, want at least 3");
    assert_finding(&obs, "error: cluster: has 16 allocatable nvidia.com/gpu on Ready nodes, want at least 24");
    let err = c.check("gpu-nodes", "").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotConfigured);
    // Only nodes were listed: the check does not need workloads.
    assert!(c.requests().iter().all(|r| r.path == NODES), "{:?}", c.requests());
}

#[tokio::test]
async fn rollback_possible() {
    let c = Cluster::start().await;
    let mut no_history = deployment("worker", 1, 1, 1);
    no_history.spec.revision_history_limit = Some(0);
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 3), no_history, deployment("fresh", 1, 1, 1)]);
    c.add(
        REPLICASETS,
        &[replica_set("nexus-api", 3, "api:3"), replica_set("nexus-api", 2, "api:2"), replica_set("fresh", 1, "f:1")],
    );
    let obs = c.check("rollback-possible", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "rollback possible: nexus-api to revision 2");
    let obs = c.check("rollback-possible", "name = \"worker\"").await.unwrap();
    assert_eq!(
        obs.summary,
        "Deployment nexus/worker: spec.revisionHistoryLimit is 0: no old ReplicaSet is kept to roll back to"
    );
    let obs = c.check("rollback-possible", "name = \"fresh\"").await.unwrap();
    assert_eq!(obs.summary, "Deployment nexus/fresh: has no previous ReplicaSet to roll back to (current revision 1)");
}

#[tokio::test]
async fn static_checks_run_live_too() {
    let c = Cluster::start().await;
    let mut d = deployment("nexus-api", 1, 1, 3);
    d.spec.template.spec.as_mut().unwrap().containers[0].resources.as_mut().unwrap().limits = None;
    c.add(DEPLOYMENTS, &[d]);
    let obs = c.check("resource-limits", "name = \"nexus-api\"").await.unwrap();
    assert_finding(&obs, r#"error: Deployment nexus/nexus-api container "server": resources.limits.memory is not set"#);
    let obs = c.check("image-tag", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
}

#[tokio::test]
async fn pull_secrets_must_exist_with_docker_config_type() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 1)]);
    let sa: ServiceAccount = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "nexus-api", "namespace": "nexus"}, "imagePullSecrets": [{"name": "regcred"}]}))
    .unwrap();
    c.add(SERVICEACCOUNTS, &[sa]);
    let obs = c.check("pull-secrets", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(
        obs.summary,
        r#"Deployment nexus/nexus-api: imagePullSecrets names Secret "regcred", which does not exist"#
    );

    let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": "nexus"}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": "c2VjcmV0LXZhbHVlLW5ldmVyLXByaW50ZWQ="}}))
    .unwrap();
    c.add(SECRETS, &[secret]);
    let obs = c.check("pull-secrets", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass, "{obs:?}");
    assert_eq!(obs.summary, "1 deployment has image pull secrets (regcred)");
    assert!(!format!("{obs:?}").contains("c2VjcmV0"), "secret data leaked");
}

#[tokio::test]
async fn env_config_checks_references_live() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 1)]);
    let obs = c.check("env-config", "name = \"nexus-api\"").await.unwrap();
    assert_eq!(obs.summary, "Secret nexus/nexus-db: does not exist");
}

#[tokio::test]
async fn pod_security_reads_the_namespace() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 1)]);
    let obs = c.check("pod-security", "name = \"nexus-api\"").await.unwrap();
    assert_finding(&obs, "error: Namespace nexus: does not exist");
    let ns: Namespace = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "nexus", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}))
    .unwrap();
    c.add(NAMESPACES, &[ns]);
    let obs = c.check("pod-security", "name = \"nexus-api\"").await.unwrap();
    assert_finding(
        &obs,
        r#"error: Namespace nexus: metadata.labels.pod-security.kubernetes.io/enforce is "privileged": use baseline or restricted"#,
    );
}

// ---------------------------------------------------------------- requests

#[tokio::test]
async fn lists_are_paginated_and_there_is_no_get_per_pod() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1200, 1200, 1)]);
    let pods: Vec<Pod> = (0..1200).map(|i| pod("nexus-api", i, true, 0, None)).collect();
    c.add(PODS, &pods);
    let obs = c.check("pods-ready", "name = \"nexus-api\"\nkind = \"Deployment\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "1200 pods of 1 deployment running and ready");
    let reqs = c.requests();
    let pod_lists: Vec<&Req> = reqs.iter().filter(|r| r.path == PODS).collect();
    assert_eq!(pod_lists.len(), 3, "1200 pods in pages of 500");
    assert!(pod_lists.iter().all(|r| r.method == "GET" && r.query.contains("limit=500")));
    assert!(pod_lists[1].query.contains("continue=500") && pod_lists[2].query.contains("continue=1000"));
    assert!(!reqs.iter().any(|r| r.path.starts_with(&format!("{PODS}/"))), "no GET per pod");
    assert_eq!(
        reqs.len(),
        4,
        "3 pod pages + 1 deployment list: {:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(!reqs.iter().any(|r| r.path.contains("secrets")), "pods-ready lists only what it needs");

    c.clear_requests();
    c.check("pods-ready", "name = \"nexus-api\"\nkind = \"Deployment\"\npage_size = 100").await.unwrap();
    assert_eq!(c.requests().iter().filter(|r| r.path == PODS).count(), 12);
}

// ---------------------------------------------------------------- API errors

#[tokio::test]
async fn unauthorized_is_permission_denied() {
    let c = Cluster::start().await;
    c.fail("/", 401, "Unauthorized", "Unauthorized");
    let err = c.check("pods-ready", "name = \"nexus-api\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(
        err.message,
        "unauthorized (401 Unauthorized) to list deployments.apps in namespace nexus: Unauthorized"
    );
    assert!(!err.message.contains("test-token"));
}

#[tokio::test]
async fn forbidden_names_the_missing_verb_and_resource() {
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 1)]);
    let msg = r#"pods is forbidden: User "system:serviceaccount:ci:gate" cannot list resource "pods" in API group "" in the namespace "nexus""#;
    c.fail(PODS, 403, "Forbidden", msg);
    let err = c.check("pods-ready", "name = \"nexus-api\"\nkind = \"Deployment\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::PermissionDenied);
    assert_eq!(err.message, format!("forbidden (403 Forbidden): cannot list pods in namespace nexus: {msg}"));
}

#[tokio::test]
async fn not_found_and_server_errors() {
    let c = Cluster::start().await;
    c.fail("/apis/autoscaling/v2", 404, "NotFound", "the server could not find the requested resource");
    c.add(DEPLOYMENTS, &[deployment("nexus-api", 1, 1, 1)]);
    let err = c.check("autoscaling", "name = \"nexus-api\"\nkind = \"Deployment\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert_eq!(
        err.message,
        "not found (404 NotFound) on list horizontalpodautoscalers.autoscaling in namespace nexus: the server could not find the requested resource"
    );

    c.fail(DEPLOYMENTS, 500, "InternalError", "etcdserver: request timed out");
    let err = c.check("image-tag", "name = \"nexus-api\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Unreachable);
    assert_eq!(
        err.message,
        "api server error (500 InternalError) on list deployments.apps in namespace nexus: etcdserver: request timed out"
    );
}

#[tokio::test]
async fn slow_api_server_times_out() {
    let c = Cluster::start().await;
    c.fake.lock().unwrap().delay = Some(Duration::from_secs(5));
    let probe =
        c.spec("image-tag", "name = \"nexus-api\"\nkind = \"Deployment\"").build(&BuildContext::detached()).unwrap();
    let started = std::time::Instant::now();
    let err = probe.check(&ProbeContext::new().with_timeout(Duration::from_millis(300))).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.kind, ProbeErrorKind::Timeout);
    assert!(err.message.starts_with("list deployments.apps in namespace nexus: probe timed out after"), "{err}");

    // The per-request timeout from the spec bounds a request without a probe deadline.
    let probe = c
        .spec("image-tag", "name = \"nexus-api\"\nkind = \"Deployment\"\nrequest_timeout = \"300ms\"")
        .build(&BuildContext::detached())
        .unwrap();
    let err = probe.check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Timeout, "{err}");
    assert!(err.message.starts_with("timed out on list deployments.apps in namespace nexus"), "{err}");
}

#[tokio::test]
async fn unreachable_api_server() {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, format!("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{}}\n")).unwrap();
    let spec: KubeSpec =
        toml::from_str(&format!("check = \"image-tag\"\nkubeconfig = {:?}", path.display().to_string())).unwrap();
    let err = spec.build(&BuildContext::detached()).unwrap().check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Unreachable, "{err}");
    assert!(err.message.starts_with("cannot list deployments.apps in namespace default: "), "{err}");

    let spec: KubeSpec = toml::from_str("check = \"image-tag\"\nkubeconfig = \"/nonexistent/kubeconfig\"").unwrap();
    let err = spec.build(&BuildContext::detached()).unwrap().check(&ProbeContext::new()).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Misconfigured);
    assert!(err.message.starts_with("cannot read kubeconfig /nonexistent/kubeconfig"), "{err}");
}

// ---------------------------------------------------------------- rollback

fn rollback_cluster(c: &Cluster) {
    let mut d = deployment("nexus-api", 2, 2, 3);
    let t = d.spec.template.spec.as_mut().unwrap();
    t.containers[0].image = Some("api:3".into());
    d.spec.template.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("canary".into(), "yes".into());
    c.add(DEPLOYMENTS, &[d]);
    c.add(
        REPLICASETS,
        &[
            replica_set("nexus-api", 3, "api:3"),
            replica_set("nexus-api", 2, "api:2"),
            replica_set("nexus-api", 1, "api:1"),
            replica_set("other", 5, "o:5"),
        ],
    );
}

#[tokio::test]
async fn rollback_dry_run_sends_a_dry_run_patch() {
    let c = Cluster::start().await;
    rollback_cluster(&c);
    let client = c.client().await;
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(10));
    let plan = rollback(&cx, &client, "nexus", "nexus-api", true).await.unwrap();
    assert_eq!((plan.current_revision, plan.target_revision), (Some(3), 2));
    assert_eq!(plan.target_replica_set, "nexus-api-rs2");
    assert!(plan.sent && plan.dry_run && !plan.already_current);
    let expected = json!({"metadata": {"resourceVersion": "7"}, "spec": {"template": {
        "metadata": {"labels": {"canary": null}},
        "spec": {"containers": [{"name": "server", "image": "api:2",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "nexus-db", "key": "password"}}}]}]}
    }}});
    assert_eq!(plan.patch, expected);
    let reqs = c.requests();
    let patch: Vec<&Req> = reqs.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patch.len(), 1);
    assert_eq!(patch[0].path, format!("{DEPLOYMENTS}/nexus-api"));
    assert!(patch[0].query.contains("dryRun=All"), "{}", patch[0].query);
    assert_eq!(patch[0].content_type, "application/merge-patch+json");
    assert_eq!(serde_json::from_str::<Value>(&patch[0].body).unwrap(), expected);
    let rs_list = reqs.iter().find(|r| r.path == REPLICASETS).unwrap();
    assert!(decode(&rs_list.query).contains("labelSelector=app=nexus-api"), "{}", rs_list.query);
}

#[tokio::test]
async fn rollback_for_real_and_plan_only() {
    let c = Cluster::start().await;
    rollback_cluster(&c);
    let client = c.client().await;
    let cx = ProbeContext::new();
    let plan = rollback::plan(&cx, &client, "nexus", "nexus-api").await.unwrap();
    assert!(!plan.sent);
    assert!(c.requests().iter().all(|r| r.method == "GET"), "planning sends no PATCH");

    let applied = rollback(&cx, &client, "nexus", "nexus-api", false).await.unwrap();
    assert!(applied.sent && !applied.dry_run);
    let reqs = c.requests();
    let patch = reqs.iter().find(|r| r.method == "PATCH").unwrap();
    assert!(!patch.query.contains("dryRun"), "{}", patch.query);
    assert_eq!(serde_json::from_str::<Value>(&patch.body).unwrap(), applied.patch);
    assert_eq!(applied.patch["spec"]["template"]["spec"]["containers"][0]["image"], "api:2");
    // The API server stored the rolled-back template.
    let stored: Deployment = c.client().await.pipe_get("nexus", "nexus-api").await;
    assert_eq!(stored.spec.template.spec.unwrap().containers[0].image.as_deref(), Some("api:2"));
    assert_eq!(stored.metadata.resource_version.as_deref(), Some("8"));

    // No previous revision: not found, nothing patched.
    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("fresh", 1, 1, 1)]);
    c.add(REPLICASETS, &[replica_set("fresh", 1, "f:1")]);
    let err = rollback(&cx, &c.client().await, "nexus", "fresh", false).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert_eq!(
        err.message,
        "Deployment nexus/fresh has no previous revision to roll back to (current revision 1, 1 owned ReplicaSets)"
    );
    assert!(!c.requests().iter().any(|r| r.method == "PATCH"));

    // A missing deployment is a 404 naming it.
    let err = rollback(&cx, &c.client().await, "nexus", "ghost", true).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotFound);
    assert!(
        err.message.starts_with("not found (404 NotFound) on get deployments.apps/ghost in namespace nexus"),
        "{err}"
    );
}

trait GetDeployment {
    async fn pipe_get(self, ns: &str, name: &str) -> Deployment;
}

impl GetDeployment for kube::Client {
    async fn pipe_get(self, ns: &str, name: &str) -> Deployment {
        kube::Api::<Deployment>::namespaced(self, ns).get(name).await.unwrap()
    }
}

#[tokio::test]
async fn a_rollback_is_refused_when_the_deployment_changed_since_it_was_planned() {
    let c = Cluster::start().await;
    rollback_cluster(&c);
    let client = c.client().await;
    // Its own deadline, not what the checks left.
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(10));
    let plan = rollback::plan(&cx, &client, "nexus", "nexus-api").await.unwrap();
    assert_eq!(plan.resource_version, "7");
    assert_eq!(plan.patch["metadata"]["resourceVersion"], "7", "the patch carries its precondition");
    // Meanwhile someone rolls out a new template: the resourceVersion moves on.
    {
        let mut f = c.fake.lock().unwrap();
        let d = &mut f.collections.get_mut(DEPLOYMENTS).unwrap()[0];
        d["metadata"]["resourceVersion"] = json!("9");
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("api:4");
    }
    let err = rollback::apply(&cx, &client, plan, false).await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::Protocol);
    assert_eq!(
        err.message,
        "Deployment nexus/nexus-api changed since the rollback was planned (resourceVersion 7 is no longer current): refusing to mix templates; plan the rollback again"
    );
    let stored: Deployment = client.clone().pipe_get("nexus", "nexus-api").await;
    let image = stored.spec.template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("api:4"), "nothing was mixed into the new template");
    // Planned again on the current state, it goes through.
    let applied = rollback(&cx, &client, "nexus", "nexus-api", false).await.unwrap();
    assert_eq!(applied.resource_version, "9");
    assert!(applied.sent);

    // A Deployment without a resourceVersion (never from a real server) is not patched blind.
    let c = Cluster::start().await;
    let mut d = serde_json::to_value(deployment("bare", 1, 1, 2)).unwrap();
    d["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    c.add(DEPLOYMENTS, &[d]);
    c.add(REPLICASETS, &[replica_set("bare", 2, "b:2"), replica_set("bare", 1, "b:1")]);
    let err = rollback(&cx, &c.client().await, "nexus", "bare", true).await.unwrap_err();
    assert_eq!(err.message, "Deployment nexus/bare has no resourceVersion: refusing a rollback without a precondition");
    assert!(!c.requests().iter().any(|r| r.method == "PATCH"));
}

#[tokio::test]
async fn daemonset_and_statefulset_rollouts() {
    let c = Cluster::start().await;
    let ds = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "gpu-exporter", "namespace": "nexus", "generation": 2},
        "spec": {"selector": {"matchLabels": {"app": "gpu-exporter"}},
                 "template": {"metadata": {"labels": {"app": "gpu-exporter"}}, "spec": {"containers": [{"name": "exporter", "image": "dcgm:3"}]}}},
        "status": {"observedGeneration": 2, "desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberMisscheduled": 0,
                   "numberReady": 3, "updatedNumberScheduled": 4, "numberAvailable": 3}
    });
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "cache", "namespace": "nexus", "generation": 1},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "cache"}},
                 "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}}},
        "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                   "currentRevision": "cache-1", "updateRevision": "cache-1"}
    });
    c.add("/apis/apps/v1/namespaces/nexus/daemonsets", &[ds]);
    c.add("/apis/apps/v1/namespaces/nexus/statefulsets", &[sts]);
    let obs = c.check("rollout-complete", "name = \"gpu-exporter\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail);
    assert_finding(&obs, "error: DaemonSet nexus/gpu-exporter: status.numberReady is 3, want 4");
    assert_finding(&obs, "error: DaemonSet nexus/gpu-exporter: status.numberAvailable is 3, want 4");
    let obs = c.check("rollout-complete", "name = \"cache\"\nkind = \"StatefulSet\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Pass);
    assert_eq!(obs.summary, "rollout of 1 statefulset complete");
    let err = c.check("rollback-possible", "name = \"cache\"").await.unwrap_err();
    assert_eq!(err.kind, ProbeErrorKind::NotApplicable);
}

// ---------------------------------------------------------------- the real kubectl

/// `kubectl --kubeconfig <fake> ARGS...`: (exit success, stdout, stderr).
async fn kubectl(bin: &std::path::Path, c: &Cluster, args: &[&str]) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(args)
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Drops nulls and empty objects/arrays, which Go and Rust serialise differently.
fn prune(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), prune(v)))
                .filter(|(_, v)| !(v.is_null() || v.as_object().is_some_and(|o| o.is_empty())))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(prune).collect()),
        other => other.clone(),
    }
}

/// The fake API server answers the real `kubectl` as a cluster would: `get` lists the same
/// objects the probes read, `rollout status` agrees with `rollout-complete`, and `rollout undo
/// --dry-run=server` sends the template our `rollback()` restores, as a dry run.
#[tokio::test]
async fn kubectl_agrees_with_the_fake_api_server() {
    let Some(bin) = common::require_binary("kubectl") else { return };
    let c = Cluster::start().await;
    rollback_cluster(&c);
    c.add(DEPLOYMENTS, &[deployment("stuck", 3, 1, 1)]);

    // kubectl get: the same objects.
    let (ok, out, err) = kubectl(&bin, &c, &["get", "deployments", "-n", "nexus", "-o", "json"]).await;
    assert!(ok, "kubectl get failed: {err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let stored = c.fake.lock().unwrap().collections[DEPLOYMENTS].clone();
    assert_eq!(listed["items"].as_array().unwrap(), &stored, "kubectl get shows other objects");
    let (ok, out, err) = kubectl(&bin, &c, &["get", "rs", "-n", "nexus", "-l", "app=nexus-api", "-o", "name"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["replicaset.apps/nexus-api-rs3", "replicaset.apps/nexus-api-rs2", "replicaset.apps/nexus-api-rs1"]
    );

    // kubectl rollout status: the same verdict as rollout-complete.
    let (ok, out, err) =
        kubectl(&bin, &c, &["rollout", "status", "deployment/nexus-api", "-n", "nexus", "--timeout=10s"]).await;
    assert!(ok, "rollout status nexus-api: {out}{err}");
    assert!(out.contains("deployment \"nexus-api\" successfully rolled out"), "{out}");
    assert_eq!(c.check("rollout-complete", "name = \"nexus-api\"").await.unwrap().verdict, Verdict::Pass);
    let (ok, out, err) =
        kubectl(&bin, &c, &["rollout", "status", "deployment/stuck", "-n", "nexus", "--timeout=2s"]).await;
    assert!(!ok, "rollout status of an incomplete rollout succeeded: {out}");
    assert!(out.contains("Waiting for deployment \"stuck\" rollout to finish"), "{out}{err}");
    let obs = c.check("rollout-complete", "name = \"stuck\"").await.unwrap();
    assert_eq!(obs.verdict, Verdict::Fail, "{obs:?}");

    // kubectl rollout undo --dry-run=server: the previous revision's template, not stored.
    c.clear_requests();
    let (ok, out, err) =
        kubectl(&bin, &c, &["rollout", "undo", "deployment/nexus-api", "-n", "nexus", "--dry-run=server"]).await;
    assert!(ok, "rollout undo: {out}{err}\n{:#?}", c.requests());
    assert!(out.contains("deployment.apps/nexus-api rolled back (server dry run)"), "{out}");
    let reqs = c.requests();
    let patch = reqs.iter().find(|r| r.method == "PATCH").expect("kubectl sent a PATCH");
    assert_eq!(patch.path, format!("{DEPLOYMENTS}/nexus-api"));
    assert!(patch.query.contains("dryRun=All"), "{}", patch.query);
    let ops: Value = serde_json::from_str(&patch.body).unwrap();
    let kubectl_template =
        ops.as_array().unwrap().iter().find(|o| o["path"] == "/spec/template").unwrap()["value"].clone();
    let stored = c.fake.lock().unwrap().collections[DEPLOYMENTS][0].clone();
    assert_eq!(stored["spec"]["template"]["spec"]["containers"][0]["image"], "api:3", "a dry run stored the patch");

    let client = c.client().await;
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(10));
    let plan = rollback(&cx, &client, "nexus", "nexus-api", true).await.unwrap();
    assert_eq!(plan.target_revision, 2);
    let mut ours = stored.clone();
    merge_patch(&mut ours, &plan.patch);
    assert_eq!(
        prune(&ours["spec"]["template"]),
        prune(&kubectl_template),
        "kubectl and rollback() restore different templates"
    );
}

/// `pods-ready` and `restart-loops` count pods page by page, keeping no page: with pages of 2
/// and each workload's pods spread over pages, the observation is the one a whole snapshot
/// gives.
#[tokio::test]
async fn paged_pod_checks_agree_with_a_whole_snapshot() {
    use nexus_readiness::probes::kube::{Check, CheckConfig, ResourceKind, WorkloadSelector, evaluate, live};

    let c = Cluster::start().await;
    c.add(DEPLOYMENTS, &[deployment("a", 3, 3, 1), deployment("b", 2, 1, 1), deployment("idle", 1, 0, 1)]);
    c.add(
        PODS,
        &[
            pod("a", 0, true, 0, None),
            pod("b", 0, true, 5, None),
            pod("a", 1, true, 0, None),
            pod("b", 1, false, 9, Some("CrashLoopBackOff")),
            pod("a", 2, true, 4, None),
        ],
    );
    let client = c.client().await;
    let cx = ProbeContext::new().with_timeout(Duration::from_secs(10));
    let mut kinds = ResourceKind::WORKLOADS.to_vec();
    kinds.push(ResourceKind::Pods);
    let snap = live::fetch(&cx, &client, "nexus", &kinds, 500).await.unwrap();
    for (name, check) in [("pods-ready", Check::PodsReady), ("restart-loops", Check::RestartLoops)] {
        c.clear_requests();
        let paged = c.check(name, "page_size = 2").await.unwrap();
        let pod_pages = c.requests().iter().filter(|r| r.path == PODS).count();
        assert_eq!(pod_pages, 3, "{name}: 5 pods in pages of 2");
        let whole = evaluate(&snap, &WorkloadSelector::namespace("nexus"), check, &CheckConfig::default()).unwrap();
        assert_eq!(paged, whole.to_observation(), "{name}");
        assert_eq!(paged.verdict, Verdict::Fail, "{name}: {paged:?}");
    }
    let obs = c.check("pods-ready", "page_size = 2").await.unwrap();
    assert_finding(&obs, "error: Deployment nexus/idle: no pods match its selector app=idle");
    assert!(obs.evidence.get("checked").is_some_and(|c| c.starts_with("5 pods of 3 deployments")), "{obs:?}");
}
