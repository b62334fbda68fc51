//! The built-in rules and their parameters.

use super::images::{containers, pod_base, ImageName};
use super::scan_gate::ScanGate;
use super::{DigestResolver, Problem};
use crate::Patch;
use moat_misconfig::kubernetes::pss;
use moat_misconfig::{PssLevel, PssVersion};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// A built-in rule with its parsed parameters.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    PodSecurity {
        level: PssLevel,
        version: PssVersion,
    },
    AllowedRegistries {
        prefixes: Vec<String>,
    },
    ImageDigest,
    DisallowLatest,
    RequiredLabels {
        labels: Vec<(String, Option<regex::Regex>)>,
    },
    ResourceLimits {
        limits: Vec<String>,
        requests: Vec<String>,
    },
    ScanGate(Box<ScanGate>),
    DefaultSecurityContext,
    ResolveDigests,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PodSecurityParameters {
    #[serde(default = "restricted")]
    level: String,
    #[serde(default = "latest")]
    version: String,
}

fn restricted() -> String {
    "restricted".into()
}

fn latest() -> String {
    "latest".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryParameters {
    registries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParameters {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelParameters {
    labels: Vec<RequiredLabel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequiredLabel {
    key: String,
    #[serde(default)]
    allowed_regex: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceParameters {
    #[serde(default = "cpu_and_memory")]
    limits: Vec<String>,
    #[serde(default)]
    requests: Vec<String>,
}

fn cpu_and_memory() -> Vec<String> {
    vec!["cpu".into(), "memory".into()]
}

/// Reads parameters, treating an absent block as empty.
fn parameters<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, String> {
    let value = if value.is_null() {
        serde_json::json!({})
    } else {
        value.clone()
    };
    serde_json::from_value(value).map_err(|err| format!("spec.parameters: {err}"))
}

impl Rule {
    /// The rule called `name` with its `parameters`; `base` is the directory relative paths
    /// are read from.
    pub fn parse(name: &str, value: &Value, base: &Path) -> Result<Rule, String> {
        Ok(match name {
            "pod-security" => {
                let p: PodSecurityParameters = parameters(value)?;
                Rule::PodSecurity {
                    level: PssLevel::parse(&p.level).map_err(|e| format!("spec.parameters.level: {e}"))?,
                    version: PssVersion::parse(&p.version)
                        .map_err(|e| format!("spec.parameters.version: {e}"))?,
                }
            }
            "allowed-registries" => {
                let p: RegistryParameters = parameters(value)?;
                if p.registries.is_empty() {
                    return Err("spec.parameters.registries must name at least one registry".into());
                }
                Rule::AllowedRegistries {
                    prefixes: p.registries.iter().map(|r| normalise_prefix(r)).collect(),
                }
            }
            "image-digest" => parameters::<NoParameters>(value).map(|_| Rule::ImageDigest)?,
            "disallow-latest" => parameters::<NoParameters>(value).map(|_| Rule::DisallowLatest)?,
            "required-labels" => Rule::RequiredLabels {
                labels: required_labels(parameters(value)?)?,
            },
            "resource-limits" => {
                let p: ResourceParameters = parameters(value)?;
                Rule::ResourceLimits {
                    limits: p.limits,
                    requests: p.requests,
                }
            }
            "scan-gate" => Rule::ScanGate(Box::new(ScanGate::parse(value, base)?)),
            "default-security-context" => {
                parameters::<NoParameters>(value).map(|_| Rule::DefaultSecurityContext)?
            }
            "resolve-digests" => parameters::<NoParameters>(value).map(|_| Rule::ResolveDigests)?,
            "" => return Err("spec.rule is missing".into()),
            other => {
                return Err(format!(
                    "unknown spec.rule {other:?} (known: pod-security, allowed-registries, image-digest, \
                     disallow-latest, required-labels, resource-limits, scan-gate, \
                     default-security-context, resolve-digests)"
                ))
            }
        })
    }

    /// Whether the rule changes objects.
    pub fn is_mutating(&self) -> bool {
        matches!(self, Rule::DefaultSecurityContext | Rule::ResolveDigests)
    }

    /// What is wrong with an object under this rule.
    pub fn check(&self, object: &Value) -> Vec<Problem> {
        match self {
            Rule::PodSecurity { level, version } => pod_security(object, *level, *version),
            Rule::AllowedRegistries { prefixes } => each_image(object, |image, name| {
                let full = name.full_name();
                (!prefixes
                    .iter()
                    .any(|p| full == p.trim_end_matches('/') || full.starts_with(p.as_str())))
                .then(|| {
                    format!(
                        "image {image:?} is not from an allowed registry ({})",
                        prefixes.join(", ")
                    )
                })
            }),
            Rule::ImageDigest => each_image(object, |image, name| {
                name.digest
                    .is_none()
                    .then(|| format!("image {image:?} is not pinned by digest (@sha256:…)"))
            }),
            Rule::DisallowLatest => each_image(object, |image, name| {
                (name.effective_tag() == Some("latest"))
                    .then(|| format!("image {image:?} uses the latest tag; pin a version or a digest"))
            }),
            Rule::RequiredLabels { labels } => required_label_problems(object, labels),
            Rule::ResourceLimits { limits, requests } => resource_problems(object, limits, requests),
            Rule::ScanGate(gate) => each_image(object, |image, name| gate.check(image, name)),
            Rule::DefaultSecurityContext | Rule::ResolveDigests => Vec::new(),
        }
    }

    /// The patches a mutating rule asks for.
    pub fn mutate(
        &self,
        object: &Value,
        resolver: Option<&dyn DigestResolver>,
    ) -> Result<Vec<Patch>, String> {
        match self {
            Rule::DefaultSecurityContext => Ok(super::mutate::default_security_context(object)),
            Rule::ResolveDigests => super::mutate::resolve_digests(object, resolver),
            _ => Ok(Vec::new()),
        }
    }
}

/// A registry or repository prefix, normalised like image names (`nginx/` is Docker Hub's
/// `library/nginx/`), ending in `/` unless it is a bare host.
fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_end_matches('/');
    if !trimmed.contains('/') {
        return format!("{trimmed}/");
    }
    format!("{}/", ImageName::parse(trimmed).full_name())
}

fn required_labels(p: LabelParameters) -> Result<Vec<(String, Option<regex::Regex>)>, String> {
    p.labels
        .into_iter()
        .map(|label| {
            let regex = match label.allowed_regex.as_deref().filter(|r| !r.is_empty()) {
                Some(pattern) => Some(
                    regex::RegexBuilder::new(pattern)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|err| {
                            format!("spec.parameters.labels[{}].allowedRegex: {err}", label.key)
                        })?,
                ),
                None => None,
            };
            Ok((label.key, regex))
        })
        .collect()
}

/// Runs `problem` on every container image, reporting at the container's `image` field.
fn each_image(object: &Value, problem: impl Fn(&str, &ImageName) -> Option<String>) -> Vec<Problem> {
    containers(object)
        .into_iter()
        .filter_map(|container| {
            let image = container.image();
            let message = problem(image, &ImageName::parse(image))?;
            Some(Problem {
                message: format!("{} {:?}: {message}", singular(container.list), container.name),
                pointer: format!("{}/image", container.pointer),
            })
        })
        .collect()
}

fn singular(list: &str) -> &'static str {
    match list {
        "initContainers" => "initContainer",
        "ephemeralContainers" => "ephemeralContainer",
        _ => "container",
    }
}

/// Kubernetes Pod Security admission's verdict, one problem per failed check, worded like the
/// API server's (`violates PodSecurity "restricted:latest": privileged (...)`).
fn pod_security(object: &Value, level: PssLevel, version: PssVersion) -> Vec<Problem> {
    let Some(base) = pod_base(object) else {
        return Vec::new();
    };
    let null = Value::Null;
    let metadata = object.pointer(&format!("{base}/metadata")).unwrap_or(&null);
    let Some(spec) = object.pointer(&format!("{base}/spec")).filter(|s| s.is_object()) else {
        return Vec::new();
    };
    pss::evaluate(level, version, metadata, spec)
        .into_iter()
        .map(|violation| Problem {
            message: format!(
                "violates PodSecurity \"{level}:{version}\": {} ({})",
                violation.reason, violation.detail
            ),
            pointer: format!(
                "{base}{}",
                violation.pointers.first().map(String::as_str).unwrap_or("/spec")
            ),
        })
        .collect()
}

fn required_label_problems(object: &Value, labels: &[(String, Option<regex::Regex>)]) -> Vec<Problem> {
    let present = crate::review::labels_of(object);
    let mut problems = Vec::new();
    for (key, regex) in labels {
        match (present.get(key).and_then(Value::as_str), regex) {
            (None, _) => problems.push(Problem {
                message: format!("missing required label {key:?}"),
                pointer: "/metadata".into(),
            }),
            (Some(value), Some(regex)) if !regex.is_match(value) => problems.push(Problem {
                message: format!("label {key}={value:?} does not match {:?}", regex.as_str()),
                pointer: format!("/metadata/labels/{}", key.replace('~', "~0").replace('/', "~1")),
            }),
            _ => {}
        }
    }
    problems
}

fn resource_problems(object: &Value, limits: &[String], requests: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for container in containers(object) {
        if container.list == "ephemeralContainers" {
            continue;
        }
        for (section, wanted) in [("limits", limits), ("requests", requests)] {
            let missing: Vec<&str> = wanted
                .iter()
                .filter(|resource| {
                    container
                        .value
                        .pointer(&format!("/resources/{section}/{resource}"))
                        .is_none_or(Value::is_null)
                })
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                problems.push(Problem {
                    message: format!(
                        "{} {:?} has no {section} for {}",
                        singular(container.list),
                        container.name,
                        missing.join(", ")
                    ),
                    pointer: container.pointer.clone(),
                });
            }
        }
    }
    problems
}
