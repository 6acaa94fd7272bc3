//! Image references, pull policies and pull secrets.

use std::collections::BTreeSet;

use super::util::{has_have, ns_of, plural};
use super::{Check, CheckOutcome, Evaluator, Finding, KubeCheck};
use crate::probe::ProbeError;
use crate::probes::kube::source::{Origin, ResourceKind};

/// Images are tagged with a version or pinned by digest, with a pull policy that fits.
///
/// - untagged or `latest`: error (kube-score `container-image-tag`, Polaris `tagNotSpecified`);
///   with `IfNotPresent` a second error: nodes keep whatever `latest` they pulled first;
/// - a version tag with a policy other than `Always` (unset defaults to `IfNotPresent`):
///   warning, since a re-pushed tag is not pulled again. kube-score fails every policy but
///   `Always` (`container-image-pull-policy`); we only warn, because a version tag is usually
///   immutable in a registry with tag immutability, and recommend digests;
/// - a digest with `Always`: warning (a digest never changes, so `Always` only adds registry
///   round-trips and a registry outage to every restart); digests pass with any other policy,
///   where kube-score would still ask for `Always`.
#[derive(Debug)]
pub(crate) struct ImageTag;

impl KubeCheck for ImageTag {
    fn name(&self) -> &'static str {
        "image-tag"
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(image_tag(ev))
    }
}

fn image_tag(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let mut pinned = 0;
    for w in &ev.workloads {
        for (c, _) in w.containers() {
            let Some(image) = c.image.as_deref().filter(|i| !i.trim().is_empty()) else {
                out.push(Finding::error(w.object(), "is not set").container(&c.name).field("image"));
                continue;
            };
            let policy = c.image_pull_policy.as_deref();
            match image_ref(image) {
                ImageRef::Digest => {
                    pinned += 1;
                    if policy == Some("Always") {
                        out.push(
                            Finding::warn(
                                w.object(),
                                format!("is Always for digest-pinned image {image:?}: a digest never changes"),
                            )
                            .container(&c.name)
                            .field("imagePullPolicy"),
                        );
                    }
                }
                ImageRef::Tag(tag) if tag != "latest" => {
                    if policy != Some("Always") {
                        let now =
                            policy.map(|p| format!("is {p}")).unwrap_or_else(|| "is not set (IfNotPresent)".into());
                        out.push(
                        Finding::warn(
                            w.object(),
                            format!("{now} with mutable tag {tag:?}: a re-pushed tag is not pulled again; pin a digest or set Always"),
                        )
                        .container(&c.name)
                        .field("imagePullPolicy"),
                    );
                    }
                }
                r => {
                    let what = if matches!(r, ImageRef::Untagged) {
                        "has no tag (resolves to latest)"
                    } else {
                        "uses tag latest"
                    };
                    out.push(
                        Finding::error(w.object(), format!("{image:?} {what}: pin a version or digest"))
                            .container(&c.name)
                            .field("image"),
                    );
                    if policy == Some("IfNotPresent") {
                        out.push(
                            Finding::error(
                                w.object(),
                                format!("is IfNotPresent with {image:?}: nodes keep whatever latest they pulled first"),
                            )
                            .container(&c.name)
                            .field("imagePullPolicy"),
                        );
                    }
                }
            }
        }
    }
    let n = ev.container_count(true);
    CheckOutcome::new(
        Check::ImageTag.as_str(),
        out,
        format!(
            "{n} {} in {} use versioned images ({pinned} pinned by digest)",
            plural(n, "container", "containers"),
            ev.workloads_text()
        ),
    )
}

/// Image pull secrets are configured on the pod or its service account.
#[derive(Debug)]
pub(crate) struct PullSecrets;

impl KubeCheck for PullSecrets {
    fn name(&self) -> &'static str {
        "pull-secrets"
    }

    fn needs(&self) -> &'static [ResourceKind] {
        &[ResourceKind::ServiceAccounts, ResourceKind::Secrets]
    }

    fn run(&self, ev: &Evaluator<'_>) -> Result<CheckOutcome, ProbeError> {
        Ok(pull_secrets(ev))
    }
}

fn pull_secrets(ev: &Evaluator<'_>) -> CheckOutcome {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for w in &ev.workloads {
        let spec = w.pod_spec;
        let mut names: Vec<String> =
            spec.and_then(|s| s.image_pull_secrets.as_ref()).into_iter().flatten().map(|r| r.name.clone()).collect();
        let sa_name =
            spec.and_then(|s| s.service_account_name.as_deref().or(s.service_account.as_deref())).unwrap_or("default");
        let sa = ev
            .snap
            .service_accounts
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(sa_name) && ns_of(&s.metadata) == w.namespace());
        match sa {
            Some(sa) => names.extend(sa.image_pull_secrets.iter().flatten().map(|r| r.name.clone())),
            None if ev.snap.origin == Origin::Live && sa_name != "default" => out.push(
                Finding::error(w.object(), format!("names ServiceAccount {sa_name:?}, which does not exist"))
                    .field("spec.template.spec.serviceAccountName"),
            ),
            None => {}
        }
        names.retain(|n| !n.is_empty());
        if names.is_empty() {
            out.push(
                Finding::error(w.object(), format!("is not set on the pod template nor on ServiceAccount {sa_name:?}"))
                    .field("imagePullSecrets"),
            );
            continue;
        }
        for name in names {
            let secret = ev
                .snap
                .secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(&name) && ns_of(&s.metadata) == w.namespace());
            match secret {
                None if ev.snap.origin == Origin::Live => out.push(
                    Finding::error(w.object(), format!("names Secret {name:?}, which does not exist"))
                        .field("imagePullSecrets"),
                ),
                None => {
                    seen.insert(name);
                }
                Some(s) => {
                    let ty = s.type_.as_deref().unwrap_or("Opaque");
                    if ty == "kubernetes.io/dockerconfigjson" {
                        seen.insert(name);
                    } else {
                        out.push(
                            Finding::error(
                                format!("Secret {}/{name}", w.namespace()),
                                format!("is {ty:?}, not \"kubernetes.io/dockerconfigjson\""),
                            )
                            .field("type"),
                        );
                    }
                }
            }
        }
    }
    let names: Vec<String> = seen.into_iter().collect();
    CheckOutcome::new(
        Check::PullSecrets.as_str(),
        out,
        format!("{} {} image pull secrets ({})", ev.workloads_text(), has_have(&ev.workloads), names.join(", ")),
    )
}

/// How an image reference pins its version.
#[derive(Debug, PartialEq, Eq)]
enum ImageRef<'a> {
    Digest,
    Tag(&'a str),
    Untagged,
}

fn image_ref(image: &str) -> ImageRef<'_> {
    if image.contains('@') {
        return ImageRef::Digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => ImageRef::Tag(tag),
        _ => ImageRef::Untagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(image_ref("nginx"), ImageRef::Untagged);
        assert_eq!(image_ref("registry:5000/nexus/api"), ImageRef::Untagged);
        assert_eq!(image_ref("registry:5000/nexus/api:1.2.3"), ImageRef::Tag("1.2.3"));
        assert_eq!(image_ref("nexus/api@sha256:abc"), ImageRef::Digest);
        assert_eq!(image_ref("nexus/api:latest"), ImageRef::Tag("latest"));
    }
}
