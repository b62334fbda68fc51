//! The active policy set with the settings it runs under, how it is loaded, and how its
//! source files are fingerprinted to notice changes.

use crate::config::{Config, Exemptions};
use crate::decide::Rules;
use crate::AdmissionError;
use moat_policy::builtin::DigestResolver;
use moat_policy::{Inventory, Limits, PolicySet, PolicySummary};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Everything a request is decided with; replaced whole on reload, so a request sees one
/// consistent version from start to end.
pub(crate) struct Active {
    pub(crate) rules: Rules,
    pub(crate) exemptions: Exemptions,
    pub(crate) request_timeout: Duration,
    pub(crate) mutation: bool,
    pub(crate) policies: PolicySet,
    /// The inventory files' objects, then the policy files' non-policy objects.
    pub(crate) inventory: Inventory,
    pub(crate) summary: PolicySummary,
}

impl Active {
    /// Loads the policies and inventory `config` names (blocking: call off the async runtime);
    /// built-ins that resolve image digests use `resolver`.
    pub(crate) fn load(
        config: &Config,
        resolver: Option<&Arc<dyn DigestResolver>>,
    ) -> Result<Active, AdmissionError> {
        let limits = Limits {
            time: config.policy_timeout,
            max_object_bytes: config.max_request_bytes,
            ..Limits::default()
        };
        let mut policies = PolicySet::load(&config.policies, limits).map_err(AdmissionError::Policies)?;
        if let Some(resolver) = resolver {
            policies = policies.with_digest_resolver(resolver.clone());
        }
        // Inventory files are read by the same reader as policy files; what they hold besides
        // plain objects is not evaluated.
        let inventory_set = PolicySet::load(&config.inventory, limits).map_err(AdmissionError::Inventory)?;
        let inventory = Inventory::from_objects(
            inventory_set
                .inventory()
                .objects()
                .iter()
                .chain(policies.inventory().objects())
                .cloned(),
        );
        Ok(Active {
            rules: Rules {
                mode: config.mode,
                failure_policy: config.failure_policy,
            },
            exemptions: config.exemptions.clone(),
            request_timeout: config.request_timeout,
            mutation: config.mutation,
            summary: policies.summary(),
            policies,
            inventory,
        })
    }

    /// How many policies are enforced: constraints, ValidatingAdmissionPolicy bindings and
    /// built-in policies (validating and mutating). Templates and unbound
    /// ValidatingAdmissionPolicies evaluate nothing on their own.
    pub(crate) fn policy_count(&self) -> usize {
        let s = &self.summary;
        s.constraints + s.bindings + s.builtins + s.mutations
    }
}

/// Size and modification time of every file a configuration reads, to notice changes by
/// polling. Polling rather than file-system notifications: it sees Kubernetes' ConfigMap and
/// Secret volume updates (a symlink swapped over a directory) the same way as edits and
/// renames, and costs a few `stat` calls per interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint(Vec<(PathBuf, Option<(SystemTime, u64)>)>);

/// How deep directories are walked, which also ends symlink loops.
const MAX_WALK_DEPTH: usize = 16;

impl Fingerprint {
    /// The fingerprint of `paths`: files as they are, directories by the `.yaml`, `.yml` and
    /// `.json` files under them (hidden entries skipped), missing paths as missing.
    pub(crate) fn of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Fingerprint {
        let mut entries = Vec::new();
        for path in paths {
            walk(path, 0, &mut entries);
        }
        Fingerprint(entries)
    }

    /// The files a configuration's policies and inventory come from, and the configuration
    /// file itself.
    pub(crate) fn of_sources(config: &Config) -> Fingerprint {
        let paths = config
            .source
            .iter()
            .chain(&config.policies)
            .chain(&config.inventory);
        Fingerprint::of(paths.map(PathBuf::as_path))
    }

    /// The certificate and key files.
    pub(crate) fn of_tls(config: &Config) -> Fingerprint {
        Fingerprint::of([config.tls.cert_file.as_path(), config.tls.key_file.as_path()])
    }
}

fn walk(path: &Path, depth: usize, entries: &mut Vec<(PathBuf, Option<(SystemTime, u64)>)>) {
    let metadata = std::fs::metadata(path).ok();
    let Some(metadata) = metadata else {
        entries.push((path.to_path_buf(), None));
        return;
    };
    if !metadata.is_dir() {
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        entries.push((path.to_path_buf(), Some((modified, metadata.len()))));
        return;
    }
    if depth >= MAX_WALK_DEPTH {
        return;
    }
    let mut children: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(listing) => listing.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => {
            entries.push((path.to_path_buf(), None));
            return;
        }
    };
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let wanted = child.is_dir()
            || matches!(
                child.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            );
        if !name.starts_with('.') && wanted {
            walk(&child, depth + 1, entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_changes_with_files_added_changed_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir(&policies).unwrap();
        std::fs::write(policies.join("a.yaml"), "a: 1\n").unwrap();
        std::fs::write(policies.join("notes.txt"), "ignored").unwrap();
        let of = || Fingerprint::of([policies.as_path(), dir.path().join("none.yaml").as_path()]);
        let first = of();
        assert_eq!(first.0.len(), 2, "{first:?}");
        assert_eq!(of(), first);
        std::fs::write(policies.join("notes.txt"), "still ignored").unwrap();
        assert_eq!(of(), first);
        std::fs::write(policies.join("a.yaml"), "a: 12\n").unwrap();
        let second = of();
        assert_ne!(second, first);
        std::fs::write(policies.join("b.json"), "{}").unwrap();
        let third = of();
        assert_ne!(third, second);
        std::fs::remove_file(policies.join("b.json")).unwrap();
        assert_eq!(of(), second);
    }
}
