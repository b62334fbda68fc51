//! The squash: which layers' findings are visible in the final filesystem.
//!
//! Layers are applied bottom to top as a container runtime would: a file in a higher layer
//! replaces the same path below; a whiteout deletes a path and everything under it; an opaque
//! directory hides everything lower layers put below it. Findings are kept per file, so deciding
//! visibility per file is exact. (A higher layer that replaces a directory by a file is not
//! modelled: runtimes reject such layers in practice.)

use crate::analyzer::SpecialFile;
use crate::layer::LayerResult;
use moat_core::{Misconfiguration, Package, SecretFinding, TextLocation, Warning};
use std::collections::{BTreeMap, HashSet};

/// The visible result of a stack of layers.
#[derive(Debug, Default)]
pub struct Squashed {
    /// Visible packages, their locations' layers filled in.
    pub packages: Vec<Package>,
    /// Visible support files by path.
    pub support: BTreeMap<String, String>,
    /// Warnings from every layer (including files that were later deleted).
    pub warnings: Vec<Warning>,
    /// Secrets from every layer, also in files a later layer deletes or replaces: the bytes are
    /// still in the image for anyone who pulls it.
    pub secrets: Vec<SecretFinding>,
    /// Misconfigurations in the files the final filesystem shows.
    pub misconfigurations: Vec<Misconfiguration>,
    /// Setuid, setgid and world-writable entries the final filesystem shows.
    pub special_files: Vec<SpecialFile>,
}

/// What the layers above the one being applied have done, seen from below.
#[derive(Default)]
struct Upper {
    paths: HashSet<String>,
    deleted: HashSet<String>,
    opaque: HashSet<String>,
}

impl Upper {
    fn hides(&self, path: &str) -> bool {
        if self.paths.contains(path) || self.deleted.contains(path) {
            return true;
        }
        ancestors(path).any(|dir| self.deleted.contains(dir) || self.opaque.contains(dir))
    }

    fn absorb(&mut self, layer: &LayerResult) {
        self.paths.extend(layer.paths.iter().cloned());
        self.deleted.extend(layer.whiteouts.iter().cloned());
        self.opaque.extend(layer.opaque_dirs.iter().cloned());
    }
}

/// Proper ancestors of an absolute path: `/a/b/c` gives `/a/b`, `/a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut end = path.len();
    std::iter::from_fn(move || {
        let cut = path[..end].rfind('/')?;
        end = cut;
        (cut > 0).then(|| &path[..cut])
    })
}

/// Squashes layers (bottom first), each with its layer id (`None` for a directory target).
pub fn squash(layers: &[(Option<String>, LayerResult)]) -> Squashed {
    let mut out = Squashed::default();
    let mut upper = Upper::default();
    for (layer_id, layer) in layers.iter().rev() {
        for found in layer.found.iter().filter(|f| !upper.hides(&f.path)) {
            for package in &found.packages {
                let mut package = package.clone();
                for location in package.locations.iter_mut().filter(|l| l.layer.is_none()) {
                    location.layer = layer_id.clone();
                }
                out.packages.push(package);
            }
        }
        for (path, text) in layer.support.iter().filter(|(p, _)| !upper.hides(p)) {
            out.support.entry(path.clone()).or_insert_with(|| text.clone());
        }
        collect_analyzed(&mut out, layer_id, layer, &upper);
        out.warnings
            .extend(layer.warnings.iter().map(|(path, message)| Warning {
                path: path.clone(),
                layer: layer_id.clone(),
                message: message.clone(),
            }));
        upper.absorb(layer);
    }
    out
}

/// Takes one layer's analyzer findings and special files into the squash.
fn collect_analyzed(out: &mut Squashed, layer_id: &Option<String>, layer: &LayerResult, upper: &Upper) {
    let stamp = |location: &mut TextLocation| {
        if location.layer.is_none() {
            location.layer = layer_id.clone();
        }
    };
    for analyzed in &layer.analyzed {
        for secret in &analyzed.findings.secrets {
            let mut secret = secret.clone();
            stamp(&mut secret.location);
            out.secrets.push(secret);
        }
        if upper.hides(&analyzed.path) {
            continue;
        }
        for finding in &analyzed.findings.misconfigurations {
            let mut finding = finding.clone();
            stamp(&mut finding.location);
            out.misconfigurations.push(finding);
        }
    }
    for special in layer.special_files.iter().filter(|f| !upper.hides(&f.path)) {
        let mut special = special.clone();
        special.layer.clone_from(layer_id);
        out.special_files.push(special);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::FoundFile;
    use moat_core::PackageType;

    fn layer(found: &[&str], paths: &[&str], whiteouts: &[&str], opaque: &[&str]) -> LayerResult {
        LayerResult {
            found: found
                .iter()
                .map(|p| FoundFile {
                    path: p.to_string(),
                    packages: vec![Package::new(PackageType::Npm, *p, "1", *p, "t")],
                })
                .collect(),
            paths: found.iter().chain(paths).map(|p| p.to_string()).collect(),
            whiteouts: whiteouts.iter().map(|p| p.to_string()).collect(),
            opaque_dirs: opaque.iter().map(|p| p.to_string()).collect(),
            ..LayerResult::default()
        }
    }

    fn names(s: &Squashed) -> Vec<&str> {
        let mut v: Vec<&str> = s.packages.iter().map(|p| p.name.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn whiteouts_opaque_dirs_and_overwrites_hide_lower_files() {
        let layers = vec![
            (
                Some("l0".into()),
                layer(
                    &[
                        "/a/x/package.json",
                        "/b/package.json",
                        "/c/d/package.json",
                        "/keep/package.json",
                    ],
                    &[],
                    &[],
                    &[],
                ),
            ),
            (
                Some("l1".into()),
                layer(&["/b/package.json"], &[], &["/a/x"], &["/c"]),
            ),
        ];
        let s = squash(&layers);
        assert_eq!(names(&s), vec!["/b/package.json", "/keep/package.json"]);
        let b = s.packages.iter().find(|p| p.name == "/b/package.json").unwrap();
        assert_eq!(b.locations[0].layer.as_deref(), Some("l1"));
    }

    #[test]
    fn a_whiteout_does_not_hide_files_of_its_own_layer() {
        let layers = vec![(
            Some("l0".into()),
            layer(&["/a/package.json"], &[], &["/a"], &["/"]),
        )];
        assert_eq!(names(&squash(&layers)), vec!["/a/package.json"]);
    }

    #[test]
    fn ancestors_walks_up_to_the_root_child() {
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), vec!["/a/b", "/a"]);
        assert_eq!(ancestors("/a").count(), 0);
    }

    fn analyzed(path: &str) -> crate::layer::AnalyzedFile {
        let secret = SecretFinding {
            rule_id: "r".into(),
            title: "t".into(),
            severity: moat_core::Severity::High,
            location: TextLocation::at(path, 2, 1),
            secret: "s".into(),
            line: "l".into(),
            entropy: None,
            redacted: false,
        };
        let check = moat_core::CheckInfo {
            id: "X1",
            title: "t",
            severity: moat_core::Severity::Low,
            kind: moat_core::ConfigKind::Dockerfile,
            description: "d",
            remediation: "r",
            references: &[],
            aliases: &[],
        };
        crate::layer::AnalyzedFile {
            path: path.to_string(),
            findings: crate::analyzer::FileFindings {
                secrets: vec![secret],
                misconfigurations: vec![Misconfiguration::new(&check, "m", TextLocation::at(path, 3, 1))],
                warnings: Vec::new(),
            },
        }
    }

    #[test]
    fn secrets_survive_deletion_but_misconfigurations_and_modes_do_not() {
        let special = |path: &str| SpecialFile {
            path: path.to_string(),
            mode: 0o4755,
            directory: false,
            layer: None,
        };
        let lower = LayerResult {
            paths: vec![
                "/app/.env".into(),
                "/app/Dockerfile".into(),
                "/bin/su".into(),
                "/bin/x".into(),
            ],
            analyzed: vec![analyzed("/app/.env"), analyzed("/app/Dockerfile")],
            special_files: vec![special("/bin/su"), special("/bin/x")],
            ..LayerResult::default()
        };
        let upper = LayerResult {
            whiteouts: vec!["/app/.env".into(), "/bin/x".into()],
            ..LayerResult::default()
        };
        let s = squash(&[(Some("l0".into()), lower), (Some("l1".into()), upper)]);
        let secret_paths: Vec<(&str, Option<&str>)> = s
            .secrets
            .iter()
            .map(|f| (f.location.path.as_str(), f.location.layer.as_deref()))
            .collect();
        assert_eq!(
            secret_paths,
            vec![("/app/.env", Some("l0")), ("/app/Dockerfile", Some("l0"))]
        );
        let misconfig_paths: Vec<&str> = s
            .misconfigurations
            .iter()
            .map(|m| m.location.path.as_str())
            .collect();
        assert_eq!(misconfig_paths, vec!["/app/Dockerfile"]);
        assert_eq!(s.misconfigurations[0].location.layer.as_deref(), Some("l0"));
        let special_paths: Vec<&str> = s.special_files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(special_paths, vec!["/bin/su"]);
        assert_eq!(s.special_files[0].layer.as_deref(), Some("l0"));
    }
}
