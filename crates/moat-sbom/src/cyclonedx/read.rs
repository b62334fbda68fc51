//! CycloneDX JSON (1.2–1.7) → Inventory.
//!
//! Every component with a purl, or with a Moat/syft package type property, becomes a package
//! (nested `components` included); the `operating-system` component becomes the distribution.
//! Components without either (trivy's per-file `application` groupings, files) are skipped.

use super::model::{Bom, Component, LicenseChoice, Property};
use super::props;
use crate::purl::{self, PurlParts};
use crate::{SbomError, MAX_PACKAGES};
use moat_core::{
    Distro, Evidence, Inventory, Location, Package, PackageType, SourceDescription, SourceKind, SourcePackage,
};
use std::collections::BTreeMap;

/// Deepest component nesting followed.
const MAX_DEPTH: usize = 64;
/// Highest location index accepted in `…:location:N:…` properties.
const MAX_LOCATION_INDEX: usize = 10_000;
/// Spec versions this reader understands.
const SUPPORTED: &[&str] = &["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

/// Reads a CycloneDX JSON document.
pub(crate) fn read(bytes: &[u8], origin: &str) -> Result<Inventory, SbomError> {
    let bom: Bom =
        serde_json::from_slice(bytes).map_err(|e| SbomError::json(origin, "CycloneDX document", &e))?;
    if !SUPPORTED.contains(&bom.spec_version.as_str()) {
        return Err(SbomError::UnsupportedVersion {
            origin: origin.to_string(),
            format: "CycloneDX",
            version: bom.spec_version.clone(),
        });
    }
    let mut reader = Reader {
        origin,
        packages: Vec::new(),
        distro: None,
    };
    reader.walk(&bom.components, 0)?;
    let root = bom.metadata.as_ref().and_then(|m| m.component.as_ref());
    Ok(Inventory {
        source: source_description(root, origin),
        distro: reader.distro,
        packages: reader.packages,
        warnings: Vec::new(),
    })
}

struct Reader<'a> {
    origin: &'a str,
    packages: Vec<Package>,
    distro: Option<Distro>,
}

impl Reader<'_> {
    fn walk(&mut self, components: &[Component], depth: usize) -> Result<(), SbomError> {
        if depth > MAX_DEPTH {
            return Err(SbomError::limit(
                self.origin,
                "component nesting depth",
                MAX_DEPTH,
            ));
        }
        for component in components {
            self.visit(component);
            if self.packages.len() > MAX_PACKAGES {
                return Err(SbomError::limit(self.origin, "components", MAX_PACKAGES));
            }
            self.walk(&component.components, depth + 1)?;
        }
        Ok(())
    }

    fn visit(&mut self, component: &Component) {
        if component.component_type == "operating-system" {
            if self.distro.is_none() {
                self.distro = Some(distro(component));
            }
            return;
        }
        if let Some(package) = package(component) {
            self.packages.push(package);
        }
    }
}

/// The scanned target as the BOM's metadata names it.
fn source_description(root: Option<&Component>, origin: &str) -> SourceDescription {
    let empty = Vec::new();
    let properties = root.map(|r| &r.properties).unwrap_or(&empty);
    let image_id = property(properties, props::IMAGE_ID)
        .or_else(|| property(properties, "aquasecurity:trivy:ImageID"))
        .map(str::to_string);
    SourceDescription {
        kind: SourceKind::Sbom,
        user_input: origin.to_string(),
        name: root
            .map(|r| r.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| origin.to_string()),
        image_id,
        manifest_digest: property(properties, props::MANIFEST_DIGEST).map(str::to_string),
        tags: properties_named(properties, props::IMAGE_TAG)
            .map(str::to_string)
            .collect(),
        repo_digests: Vec::new(),
        platform: property(properties, props::PLATFORM).map(str::to_string),
        layers: Vec::new(),
    }
}

fn distro(component: &Component) -> Distro {
    let field = |key: &str| {
        property(&component.properties, &format!("{}{key}", props::DISTRO_PREFIX))
            .or_else(|| property(&component.properties, &format!("syft:distro:{key}")))
            .map(str::to_string)
    };
    let id_like: Vec<String> =
        properties_named(&component.properties, &format!("{}idLike", props::DISTRO_PREFIX))
            .map(str::to_string)
            .collect();
    Distro {
        id: field("id").unwrap_or_else(|| component.name.to_ascii_lowercase()),
        version_id: field("versionID")
            .or_else(|| component.version.clone())
            .unwrap_or_default(),
        name: field("name").unwrap_or_default(),
        pretty_name: field("prettyName")
            .or_else(|| component.description.clone())
            .unwrap_or_default(),
        codename: field("versionCodename").unwrap_or_default(),
        id_like,
    }
}

/// The package a component describes, or `None` when it describes no package.
fn package(component: &Component) -> Option<Package> {
    let properties = &component.properties;
    let parts = component.purl.as_deref().and_then(purl::parse);
    let declared_type = property(properties, props::TYPE)
        .or_else(|| property(properties, "syft:package:type"))
        .and_then(PackageType::from_name);
    let package_type = declared_type.or_else(|| parts.as_ref().map(|p| purl::package_type_for(&p.ty)))?;
    let name = match (&component.name, &parts) {
        (name, _) if !name.is_empty() => name.clone(),
        (_, Some(parts)) => parts.full_name(),
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    Some(Package {
        name,
        version: version(component, parts.as_ref()),
        package_type,
        namespace: namespace(component, parts.as_ref()),
        purl: component.purl.clone().unwrap_or_default(),
        cpes: cpes(component),
        licenses: component.licenses.iter().filter_map(license_text).collect(),
        arch: property(properties, props::ARCH)
            .map(str::to_string)
            .or_else(|| parts.as_ref()?.arch.clone()),
        source: source_package(properties, parts.as_ref()),
        locations: locations(properties),
        found_by: found_by(properties),
        metadata: metadata(properties),
    })
}

fn version(component: &Component, parts: Option<&PurlParts>) -> String {
    component
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .or_else(|| parts.and_then(|p| p.version.clone()))
        .unwrap_or_default()
}

/// The component's group, or for Maven the purl namespace (syft writes no group).
fn namespace(component: &Component, parts: Option<&PurlParts>) -> Option<String> {
    if let Some(group) = component.group.clone().filter(|g| !g.is_empty()) {
        return Some(group);
    }
    let parts = parts.filter(|p| p.ty == "maven")?;
    parts.namespace.clone().filter(|ns| !ns.is_empty())
}

fn cpes(component: &Component) -> Vec<String> {
    let extra = component
        .properties
        .iter()
        .filter(|p| p.name == props::CPE || p.name == "syft:cpe23")
        .filter_map(|p| p.value.clone());
    component
        .cpe
        .clone()
        .filter(|c| !c.is_empty())
        .into_iter()
        .chain(extra)
        .collect()
}

fn license_text(choice: &LicenseChoice) -> Option<String> {
    if let Some(expression) = choice.expression.as_deref().filter(|e| !e.trim().is_empty()) {
        return Some(expression.trim().to_string());
    }
    let license = choice.license.as_ref()?;
    [&license.id, &license.name, &license.url]
        .into_iter()
        .flatten()
        .map(|text| text.trim())
        .find(|text| !text.is_empty())
        .map(str::to_string)
}

fn source_package(properties: &[Property], parts: Option<&PurlParts>) -> Option<SourcePackage> {
    let named = |name_key: &str, version_key: &str| {
        property(properties, name_key)
            .filter(|n| !n.is_empty())
            .map(|name| SourcePackage {
                name: name.to_string(),
                version: property(properties, version_key).unwrap_or("").to_string(),
            })
    };
    named(props::SOURCE_NAME, props::SOURCE_VERSION)
        .or_else(|| named("aquasecurity:trivy:SrcName", "aquasecurity:trivy:SrcVersion"))
        .or_else(|| parts?.source_package())
}

/// Locations from `moat:location:N:*` or `syft:location:N:*` properties, else trivy's file path.
fn locations(properties: &[Property]) -> Vec<Location> {
    let mut indexed: BTreeMap<usize, Location> = BTreeMap::new();
    for property in properties {
        let Some((index, field)) = location_property(&property.name) else {
            continue;
        };
        let Some(value) = property.value.as_deref() else {
            continue;
        };
        let entry = indexed.entry(index).or_insert_with(|| Location::primary(""));
        match field {
            "path" => entry.path = value.to_string(),
            "layer" | "layerID" => entry.layer = Some(value.to_string()),
            "evidence" if value == "supporting" => entry.evidence = Evidence::Supporting,
            _ => {}
        }
    }
    let mut locations: Vec<Location> = indexed.into_values().filter(|l| !l.path.is_empty()).collect();
    if locations.is_empty() {
        if let Some(path) = property(properties, "aquasecurity:trivy:FilePath").filter(|p| !p.is_empty()) {
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            let layer = property(properties, "aquasecurity:trivy:LayerDiffID").map(str::to_string);
            locations.push(Location {
                path,
                layer,
                evidence: Evidence::Primary,
            });
        }
    }
    locations
}

/// `(N, field)` of a `moat:location:N:field` or `syft:location:N:field` property name.
fn location_property(name: &str) -> Option<(usize, &str)> {
    let rest = name
        .strip_prefix(props::LOCATION_PREFIX)
        .or_else(|| name.strip_prefix("syft:location:"))?;
    let (index, field) = rest.split_once(':')?;
    let index: usize = index.parse().ok().filter(|i| *i <= MAX_LOCATION_INDEX)?;
    Some((index, field))
}

fn found_by(properties: &[Property]) -> String {
    property(properties, props::FOUND_BY)
        .or_else(|| property(properties, "syft:package:foundBy"))
        .unwrap_or("cyclonedx-sbom-reader")
        .to_string()
}

fn metadata(properties: &[Property]) -> BTreeMap<String, String> {
    properties
        .iter()
        .filter_map(|p| {
            Some((
                p.name.strip_prefix(props::METADATA_PREFIX)?.to_string(),
                p.value.clone()?,
            ))
        })
        .collect()
}

/// The value of the first property called `name`.
fn property<'a>(properties: &'a [Property], name: &str) -> Option<&'a str> {
    properties
        .iter()
        .filter(|p| p.name == name)
        .find_map(|p| p.value.as_deref())
}

fn properties_named<'a>(properties: &'a [Property], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    properties
        .iter()
        .filter(move |p| p.name == name)
        .filter_map(|p| p.value.as_deref())
}
