//! Java archives (`.jar`, `.war`, `.ear`, Jenkins plugins, …): Maven coordinates from
//! `pom.properties`, else name and version from the file name and `MANIFEST.MF` the way syft
//! picks them; nested archives (`BOOT-INF/lib`, `WEB-INF/lib`, jars in ears) are read
//! recursively with bounded depth and a bounded total of decompressed bytes.

pub mod manifest;
pub mod naming;

use crate::cataloger::{CatalogError, Cataloger};
use manifest::{parse_manifest, parse_pom_properties, Manifest, PomProperties};
use moat_core::{Package, PackageType};
use std::io::{Cursor, Read};

/// File extensions of Java archives.
const ARCHIVE_EXTENSIONS: [&str; 9] = ["jar", "war", "ear", "jpi", "hpi", "par", "sar", "nar", "kar"];
/// How deep archives nest before the walk stops (the outer archive is depth 0).
const MAX_DEPTH: usize = 4;
/// Total decompressed bytes read from nested entries of one outer archive.
const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// Largest manifest or `pom.properties` read.
const MAX_SMALL_ENTRY: u64 = 1024 * 1024;
/// Most entries looked at in one archive.
const MAX_ENTRIES: usize = 200_000;
/// Largest outer archive read.
const MAX_ARCHIVE_SIZE: u64 = 256 * 1024 * 1024;
/// The cataloger's name.
const NAME: &str = "java-archive-cataloger";

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JarError {
    /// The zip container is invalid.
    #[error("{location}: {source}")]
    Zip {
        /// Archive path (`outer.jar:inner.jar` for nested ones).
        location: String,
        /// The zip error.
        source: zip::result::ZipError,
    },
    /// Reading an entry failed.
    #[error("{location}: entry {entry}: {source}")]
    Entry {
        /// Archive path.
        location: String,
        /// Entry name.
        entry: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The archive has more entries than the limit.
    #[error("{location}: {count} entries, more than {MAX_ENTRIES}")]
    TooManyEntries {
        /// Archive path.
        location: String,
        /// Entry count.
        count: usize,
    },
}

/// Whether `path` names a Java archive by its extension.
pub fn is_java_archive(path: &str) -> bool {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    !path.ends_with('/') && ARCHIVE_EXTENSIONS.contains(&ext.as_str())
}

/// Finds Java packages in archives.
#[derive(Debug, Default)]
pub struct JavaArchiveCataloger;

impl Cataloger for JavaArchiveCataloger {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        2
    }

    fn wants_path(&self, path: &str) -> bool {
        is_java_archive(path)
    }

    fn max_size(&self) -> u64 {
        MAX_ARCHIVE_SIZE
    }

    fn catalog(&self, path: &str, contents: &[u8]) -> Result<Vec<Package>, CatalogError> {
        parse_java_archive(path, contents).map_err(|e| CatalogError::malformed("java archive", e.to_string()))
    }
}

/// Bounds on the walk of one outer archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JarLimits {
    /// How deep archives nest before the walk stops (the outer archive is depth 0).
    pub max_depth: usize,
    /// Total decompressed bytes read from entries, nested archives included.
    pub max_total_bytes: u64,
}

impl Default for JarLimits {
    fn default() -> Self {
        JarLimits {
            max_depth: MAX_DEPTH,
            max_total_bytes: MAX_TOTAL_BYTES,
        }
    }
}

/// Reads the packages of the archive at `path` (and of archives nested in it) with the default
/// limits. An invalid outer archive is an error; an invalid nested one is skipped.
pub fn parse_java_archive(path: &str, contents: &[u8]) -> Result<Vec<Package>, JarError> {
    parse_java_archive_with_limits(path, contents, JarLimits::default())
}

/// [`parse_java_archive`] with explicit limits.
pub fn parse_java_archive_with_limits(
    path: &str,
    contents: &[u8],
    limits: JarLimits,
) -> Result<Vec<Package>, JarError> {
    let mut walk = Walk {
        remaining_bytes: limits.max_total_bytes,
        max_depth: limits.max_depth,
        packages: Vec::new(),
    };
    walk.archive(path, path, contents, 0)?;
    Ok(walk.packages)
}

/// What was found inside one archive before its packages are made.
#[derive(Default)]
struct Contents {
    poms: Vec<(String, PomProperties)>,
    manifest: Option<Manifest>,
    nested: Vec<usize>,
}

struct Walk {
    remaining_bytes: u64,
    max_depth: usize,
    packages: Vec<Package>,
}

impl Walk {
    fn archive(
        &mut self,
        location: &str,
        file_name: &str,
        data: &[u8],
        depth: usize,
    ) -> Result<(), JarError> {
        let zip_err = |source| JarError::Zip {
            location: location.to_string(),
            source,
        };
        let mut zip = zip::ZipArchive::new(Cursor::new(data)).map_err(zip_err)?;
        if zip.len() > MAX_ENTRIES {
            return Err(JarError::TooManyEntries {
                location: location.to_string(),
                count: zip.len(),
            });
        }
        let found = self.scan(&mut zip, location)?;
        self.packages.extend(packages_of(location, file_name, &found));
        if depth >= self.max_depth {
            return Ok(());
        }
        for index in found.nested {
            self.nested(&mut zip, location, index, depth)?;
        }
        Ok(())
    }

    fn scan(&mut self, zip: &mut Zip<'_>, location: &str) -> Result<Contents, JarError> {
        let mut found = Contents::default();
        for index in 0..zip.len() {
            let Ok(entry) = zip.by_index(index) else { continue };
            let name = entry.name().to_string();
            drop(entry);
            if is_pom_properties(&name) {
                let text = self.read_text(zip, location, index, &name)?;
                if let Some(pom) = text.as_deref().and_then(parse_pom_properties) {
                    found.poms.push((name, pom));
                }
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                found.manifest = self
                    .read_text(zip, location, index, &name)?
                    .as_deref()
                    .map(parse_manifest);
            } else if is_java_archive(&name) {
                found.nested.push(index);
            }
        }
        Ok(found)
    }

    fn read_text(
        &mut self,
        zip: &mut Zip<'_>,
        location: &str,
        index: usize,
        name: &str,
    ) -> Result<Option<String>, JarError> {
        let bytes = self.read_entry(zip, location, index, name, MAX_SMALL_ENTRY)?;
        Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Reads one entry when it fits both `limit` and the remaining byte budget; `None` otherwise.
    fn read_entry(
        &mut self,
        zip: &mut Zip<'_>,
        location: &str,
        index: usize,
        name: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, JarError> {
        let Ok(entry) = zip.by_index(index) else {
            return Ok(None);
        };
        let cap = limit.min(self.remaining_bytes);
        if entry.size() > cap {
            tracing::debug!(
                location,
                entry = name,
                size = entry.size(),
                "java archive entry over the size budget"
            );
            return Ok(None);
        }
        let mut bytes = Vec::new();
        let read = entry.take(cap + 1).read_to_end(&mut bytes);
        read.map_err(|source| JarError::Entry {
            location: location.to_string(),
            entry: name.to_string(),
            source,
        })?;
        if bytes.len() as u64 > cap {
            // The declared size lied (a zip bomb): give up on this entry and spend the budget.
            self.remaining_bytes = self.remaining_bytes.saturating_sub(cap);
            return Ok(None);
        }
        self.remaining_bytes = self.remaining_bytes.saturating_sub(bytes.len() as u64);
        Ok(Some(bytes))
    }

    fn nested(
        &mut self,
        zip: &mut Zip<'_>,
        location: &str,
        index: usize,
        depth: usize,
    ) -> Result<(), JarError> {
        let name = match zip.by_index(index) {
            Ok(entry) => entry.name().to_string(),
            Err(_) => return Ok(()),
        };
        let Some(bytes) = self.read_entry(zip, location, index, &name, MAX_ARCHIVE_SIZE)? else {
            return Ok(());
        };
        let inner = format!("{location}:{name}");
        if let Err(err) = self.archive(&inner, &name, &bytes, depth + 1) {
            tracing::debug!(%err, "skipping unreadable nested java archive");
        }
        Ok(())
    }
}

type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

fn is_pom_properties(name: &str) -> bool {
    name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties")
}

/// One package per `pom.properties`; without any, one package named after the file name and
/// manifest (none when neither gives a name).
fn packages_of(location: &str, file_name: &str, found: &Contents) -> Vec<Package> {
    let manifest = found.manifest.as_ref();
    let license = manifest
        .and_then(|m| m.main_value("Bundle-License"))
        .map(crate::license::to_spdx);
    if !found.poms.is_empty() {
        let only_one = found.poms.len() == 1;
        return found
            .poms
            .iter()
            .map(|(entry, pom)| {
                let mut p = pom_package(location, entry, pom);
                if only_one {
                    p.licenses.extend(license.clone());
                }
                p
            })
            .collect();
    }
    let guess = naming::guess_from_file_name(file_name);
    let name = naming::select_name(manifest, &guess);
    if name.is_empty() {
        return Vec::new();
    }
    let version = naming::select_version(manifest, &guess);
    let group = manifest.and_then(naming::group_id_from_manifest);
    let mut p = new_package(location, &name, &version, group);
    let source = if guess.name.is_empty() {
        "manifest"
    } else {
        "file-name"
    };
    p.metadata.insert("java.name_source".into(), source.into());
    p.licenses.extend(license);
    vec![p]
}

fn pom_package(location: &str, entry: &str, pom: &PomProperties) -> Package {
    let group = Some(pom.group_id.clone()).filter(|g| !g.is_empty());
    let mut p = new_package(location, &pom.artifact_id, &pom.version, group);
    p.metadata
        .insert("java.name_source".into(), "pom.properties".into());
    p.metadata.insert("java.pom_properties".into(), entry.to_string());
    p.metadata
        .insert("maven.artifactId".into(), pom.artifact_id.clone());
    if !pom.group_id.is_empty() {
        p.metadata.insert("maven.groupId".into(), pom.group_id.clone());
    }
    p
}

fn new_package(location: &str, name: &str, version: &str, group: Option<String>) -> Package {
    let mut p = Package::new(PackageType::JavaArchive, name, version, location, NAME);
    p.cpes.extend(naming::cpe(group.as_deref(), name, version));
    p.metadata
        .insert("java.virtual_path".into(), location.to_string());
    p.namespace = group;
    p
}
