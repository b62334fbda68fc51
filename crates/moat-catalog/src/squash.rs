//! The squash: which layers' findings are visible in the final filesystem.
//!
//! Layers are applied bottom to top as a container runtime would: a file in a higher layer
//! replaces the same path below; a whiteout deletes a path and everything under it; an opaque
//! directory hides everything lower layers put below it. Findings are kept per file, so deciding
//! visibility per file is exact. (A higher layer that replaces a directory by a file is not
//! modelled: runtimes reject such layers in practice.)

use crate::layer::LayerResult;
use moat_core::{Package, Warning};
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
}
