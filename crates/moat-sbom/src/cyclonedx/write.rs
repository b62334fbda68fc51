//! Inventory → CycloneDX 1.5/1.6 JSON.

use super::model::{Bom, Component, Dependency, License, LicenseChoice, Metadata, Property};
use super::props;
use super::vulnerability::Vulnerability;
use crate::ids::{self, sanitize_id};
use crate::license::{classify, join_with_and, LicenseKind};
use crate::{CycloneDxVersion, SbomError, WriteOptions};
use moat_core::{Distro, Evidence, Inventory, Package, SourceDescription, SourceKind};
use std::collections::{BTreeMap, BTreeSet};

/// Writes `inventory` (already normalized) as a CycloneDX JSON document, with a
/// `vulnerabilities` array when `vulnerabilities` is not empty.
pub(crate) fn write(
    inventory: &Inventory,
    options: &WriteOptions,
    canonical: &[u8],
    vulnerabilities: &[Vulnerability],
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    let bom = build_bom(inventory, options, canonical, vulnerabilities)?;
    crate::write_pretty_json(&bom, out)
}

fn build_bom(
    inventory: &Inventory,
    options: &WriteOptions,
    canonical: &[u8],
    vulnerabilities: &[Vulnerability],
) -> Result<Bom, SbomError> {
    let spec = options.cyclonedx_version.as_str();
    let serial = ids::uuid_from_digest(&serial_digest(spec, canonical, vulnerabilities)?);
    let root = source_component(&inventory.source);
    let refs = package_refs(&inventory.packages);
    let mut components: Vec<Component> = inventory
        .packages
        .iter()
        .zip(&refs)
        .map(|(p, r)| package_component(p, r))
        .collect();
    if let Some(distro) = &inventory.distro {
        components.push(distro_component(distro));
    }
    let dependencies = vec![Dependency {
        reference: root.bom_ref.clone().unwrap_or_default(),
        depends_on: components.iter().filter_map(|c| c.bom_ref.clone()).collect(),
    }];
    Ok(Bom {
        schema: Some(format!("http://cyclonedx.org/schema/bom-{spec}.schema.json")),
        bom_format: "CycloneDX".to_string(),
        spec_version: spec.to_string(),
        serial_number: Some(format!("urn:uuid:{serial}")),
        version: 1,
        metadata: Some(Metadata {
            timestamp: Some(ids::creation_timestamp()?),
            tools: Some(tools(options)),
            component: Some(root),
        }),
        components,
        dependencies,
        vulnerabilities: vulnerabilities.to_vec(),
    })
}

/// The digest the serial number is made from: the spec version and the inventory, and the
/// vulnerabilities when there are any (so an SBOM without them keeps its serial number).
fn serial_digest(
    spec: &str,
    canonical: &[u8],
    vulnerabilities: &[Vulnerability],
) -> Result<[u8; 32], SbomError> {
    if vulnerabilities.is_empty() {
        return Ok(ids::digest(&[b"cyclonedx", spec.as_bytes(), canonical]));
    }
    let listed = serde_json::to_vec(vulnerabilities).map_err(SbomError::Serialize)?;
    Ok(ids::digest(&[b"cyclonedx", spec.as_bytes(), canonical, &listed]))
}

/// `metadata.tools` in the 1.5+ object form.
fn tools(options: &WriteOptions) -> serde_json::Value {
    let version = if options.tool_version.is_empty() {
        "unknown"
    } else {
        options.tool_version.as_str()
    };
    serde_json::json!({
        "components": [{ "type": "application", "name": "moat", "version": version }]
    })
}

/// The component describing the scanned image or directory.
fn source_component(source: &SourceDescription) -> Component {
    let name = [&source.name, &source.user_input]
        .into_iter()
        .find(|n| !n.is_empty())
        .cloned();
    let name = name.unwrap_or_else(|| "unknown".to_string());
    let version = source.image_id.clone().or_else(|| source.manifest_digest.clone());
    let component_type = match source.kind {
        SourceKind::Image => "container",
        SourceKind::Directory | SourceKind::Sbom => "file",
    };
    let bom_ref = format!(
        "moat-source-{}",
        ids::short_hash(&[name.as_bytes(), version.as_deref().unwrap_or("").as_bytes()])
    );
    Component {
        bom_ref: Some(bom_ref),
        component_type: component_type.to_string(),
        name,
        version,
        properties: source_properties(source),
        ..Component::default()
    }
}

fn source_properties(source: &SourceDescription) -> Vec<Property> {
    let kind = match source.kind {
        SourceKind::Image => "image",
        SourceKind::Directory => "directory",
        SourceKind::Sbom => "sbom",
    };
    let mut properties = vec![Property::new(props::SOURCE_KIND, kind)];
    if let Some(id) = &source.image_id {
        properties.push(Property::new(props::IMAGE_ID, id));
    }
    if let Some(digest) = &source.manifest_digest {
        properties.push(Property::new(props::MANIFEST_DIGEST, digest));
    }
    properties.extend(source.tags.iter().map(|t| Property::new(props::IMAGE_TAG, t)));
    if let Some(platform) = &source.platform {
        properties.push(Property::new(props::PLATFORM, platform));
    }
    properties
}

/// The operating-system component, as syft writes it.
fn distro_component(distro: &Distro) -> Component {
    let bom_ref = match distro.version_id.is_empty() {
        true => format!("os:{}", distro.id),
        false => format!("os:{}@{}", distro.id, distro.version_id),
    };
    let mut properties = Vec::new();
    let mut push = |key: &str, value: &str| {
        if !value.is_empty() {
            properties.push(Property::new(format!("{}{key}", props::DISTRO_PREFIX), value));
        }
    };
    push("id", &distro.id);
    push("versionID", &distro.version_id);
    push("name", &distro.name);
    push("prettyName", &distro.pretty_name);
    push("versionCodename", &distro.codename);
    for like in &distro.id_like {
        push("idLike", like);
    }
    Component {
        bom_ref: Some(bom_ref),
        component_type: "operating-system".to_string(),
        name: distro.id.clone(),
        version: non_empty(&distro.version_id),
        description: non_empty(&distro.pretty_name),
        properties,
        ..Component::default()
    }
}

/// Stable, unique bom-refs: the purl, with a `package-id` qualifier when the purl is shared.
pub(crate) fn package_refs(packages: &[Package]) -> Vec<String> {
    let bases: Vec<String> = packages.iter().map(ref_base).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for base in &bases {
        *counts.entry(base.as_str()).or_default() += 1;
    }
    let mut used = BTreeSet::new();
    let mut refs = Vec::with_capacity(packages.len());
    for (package, base) in packages.iter().zip(&bases) {
        let mut candidate = match counts.get(base.as_str()) {
            Some(1) => base.clone(),
            _ => {
                let separator = if base.contains('?') { '&' } else { '?' };
                format!("{base}{separator}package-id={}", ids::package_id(package))
            }
        };
        let mut suffix = 2;
        while used.contains(&candidate) {
            candidate = format!("{base}-{suffix}");
            suffix += 1;
        }
        used.insert(candidate.clone());
        refs.push(candidate);
    }
    refs
}

fn ref_base(package: &Package) -> String {
    if package.purl.is_empty() {
        format!(
            "moat:{}/{}@{}",
            package.package_type, package.name, package.version
        )
    } else {
        package.purl.clone()
    }
}

fn package_component(package: &Package, bom_ref: &str) -> Component {
    Component {
        bom_ref: Some(bom_ref.to_string()),
        component_type: "library".to_string(),
        group: package.namespace.clone().filter(|ns| !ns.is_empty()),
        name: package.name.clone(),
        version: non_empty(&package.version),
        licenses: licenses(&package.licenses),
        cpe: package.cpes.first().cloned(),
        purl: non_empty(&package.purl),
        properties: package_properties(package),
        ..Component::default()
    }
}

/// CycloneDX licences: one `expression` when any licence is compound (CycloneDX cannot mix the
/// two forms), otherwise `license.id` for known SPDX ids and `license.name` for the rest.
pub(crate) fn licenses(licenses: &[String]) -> Vec<LicenseChoice> {
    let licenses: Vec<String> = licenses
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let kinds: Vec<LicenseKind> = licenses.iter().map(|l| classify(l)).collect();
    if kinds.iter().any(|k| matches!(k, LicenseKind::Expression(_))) {
        let expression = join_with_and(&licenses, |l| match classify(l) {
            LicenseKind::Id(text) | LicenseKind::Ref(text) | LicenseKind::Expression(text) => text,
            LicenseKind::Text(text) => format!("LicenseRef-{}", sanitize_id(&text)),
        });
        return vec![LicenseChoice {
            license: None,
            expression: Some(expression),
        }];
    }
    kinds
        .into_iter()
        .map(|kind| {
            let license = match kind {
                LicenseKind::Id(id) => License {
                    id: Some(id),
                    ..License::default()
                },
                LicenseKind::Ref(text) | LicenseKind::Text(text) | LicenseKind::Expression(text) => License {
                    name: Some(text),
                    ..License::default()
                },
            };
            LicenseChoice {
                license: Some(license),
                expression: None,
            }
        })
        .collect()
}

fn package_properties(package: &Package) -> Vec<Property> {
    let mut properties = vec![Property::new(props::TYPE, package.package_type.as_str())];
    if !package.found_by.is_empty() {
        properties.push(Property::new(props::FOUND_BY, &package.found_by));
    }
    if let Some(arch) = package.arch.as_deref().filter(|a| !a.is_empty()) {
        properties.push(Property::new(props::ARCH, arch));
    }
    if let Some(source) = &package.source {
        properties.push(Property::new(props::SOURCE_NAME, &source.name));
        if !source.version.is_empty() {
            properties.push(Property::new(props::SOURCE_VERSION, &source.version));
        }
    }
    properties.extend(
        package
            .cpes
            .iter()
            .skip(1)
            .map(|cpe| Property::new(props::CPE, cpe)),
    );
    for (index, location) in package.locations.iter().enumerate() {
        let prefix = format!("{}{index}", props::LOCATION_PREFIX);
        properties.push(Property::new(format!("{prefix}:path"), &location.path));
        if let Some(layer) = &location.layer {
            properties.push(Property::new(format!("{prefix}:layer"), layer));
        }
        if location.evidence == Evidence::Supporting {
            properties.push(Property::new(format!("{prefix}:evidence"), "supporting"));
        }
    }
    for (key, value) in &package.metadata {
        properties.push(Property::new(format!("{}{key}", props::METADATA_PREFIX), value));
    }
    properties
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

impl CycloneDxVersion {
    /// The spec version string (`1.5`, `1.6`).
    pub fn as_str(self) -> &'static str {
        match self {
            CycloneDxVersion::V1_5 => "1.5",
            CycloneDxVersion::V1_6 => "1.6",
        }
    }
}
