use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kind of package, named as syft names them so outputs line up with the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageType {
    /// Debian/Ubuntu package from the dpkg database.
    Deb,
    /// Alpine/Wolfi package from the apk database.
    Apk,
    /// RPM package from the rpm database.
    Rpm,
    /// Python distribution (PyPI).
    Python,
    /// npm package.
    Npm,
    /// Rust crate.
    RustCrate,
    /// Go module (from binaries or go.mod).
    GoModule,
    /// Java archive / Maven artifact.
    JavaArchive,
    /// Ruby gem.
    Gem,
    /// PHP Composer package.
    PhpComposer,
    /// .NET (NuGet) package.
    Dotnet,
    /// A binary identified by its content.
    Binary,
}

impl PackageType {
    /// Every package type, in a stable order.
    pub const ALL: [PackageType; 12] = [
        PackageType::Deb,
        PackageType::Apk,
        PackageType::Rpm,
        PackageType::Python,
        PackageType::Npm,
        PackageType::RustCrate,
        PackageType::GoModule,
        PackageType::JavaArchive,
        PackageType::Gem,
        PackageType::PhpComposer,
        PackageType::Dotnet,
        PackageType::Binary,
    ];

    /// The name used in outputs (`deb`, `go-module`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Python => "python",
            PackageType::Npm => "npm",
            PackageType::RustCrate => "rust-crate",
            PackageType::GoModule => "go-module",
            PackageType::JavaArchive => "java-archive",
            PackageType::Gem => "gem",
            PackageType::PhpComposer => "php-composer",
            PackageType::Dotnet => "dotnet",
            PackageType::Binary => "binary",
        }
    }

    /// Parses the output name back (`deb`, `go-module`, …).
    pub fn from_name(name: &str) -> Option<PackageType> {
        PackageType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The package URL type (`pkg:<type>/…`) for this kind of package.
    pub fn purl_type(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Python => "pypi",
            PackageType::Npm => "npm",
            PackageType::RustCrate => "cargo",
            PackageType::GoModule => "golang",
            PackageType::JavaArchive => "maven",
            PackageType::Gem => "gem",
            PackageType::PhpComposer => "composer",
            PackageType::Dotnet => "nuget",
            PackageType::Binary => "generic",
        }
    }

    /// True for packages managed by the operating system's package manager.
    pub fn is_os(self) -> bool {
        matches!(self, PackageType::Deb | PackageType::Apk | PackageType::Rpm)
    }
}

impl std::fmt::Display for PackageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How strongly a file shows that a package is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// The file the package was read from (a database, manifest, lock file or binary).
    Primary,
    /// A file that supports the finding (for example a copyright file).
    Supporting,
}

/// Where a package was found: a path in the squashed filesystem and the layer that holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Absolute path inside the image or directory, `/`-separated, e.g. `/var/lib/dpkg/status`.
    /// For files inside archives (nested jars) the inner path follows a `:`.
    pub path: String,
    /// The layer's diff id (`sha256:…` of the uncompressed layer tar) when scanning an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Whether this file is the primary evidence.
    pub evidence: Evidence,
}

impl Location {
    /// A primary-evidence location without a layer (filled in by the layer walk).
    pub fn primary(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            layer: None,
            evidence: Evidence::Primary,
        }
    }
}

/// The source package an OS binary package was built from (dpkg `Source:`, rpm `SOURCERPM`,
/// apk `origin`). Vulnerability data for distributions is keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    /// Source package name.
    pub name: String,
    /// Source package version (may differ from the binary's, e.g. binNMUs `+b1`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// One package found in an image or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Package name as its ecosystem spells it (for Maven: the artifact id; for npm: with scope,
    /// `@scope/name`; for Go: the module path).
    pub name: String,
    /// Version as its ecosystem spells it (rpm: `[epoch:]version-release`, dpkg: full version).
    pub version: String,
    /// The kind of package.
    #[serde(rename = "type")]
    pub package_type: PackageType,
    /// Maven group id, where the ecosystem has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Package URL per the purl specification; filled in by the catalog once the
    /// distribution is known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purl: String,
    /// CPE 2.3 names, where the ecosystem needs them for vulnerability matching.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// Declared licences, each an SPDX expression where it could be mapped, otherwise the raw text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Architecture (OS packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package (OS packages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// Files that evidence the package, primary first.
    pub locations: Vec<Location>,
    /// Name of the cataloger that found it (`dpkg-db-cataloger`, …).
    pub found_by: String,
    /// Extra ecosystem facts that writers may show (`go.toolchain`, `maven.artifactId`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Package {
    /// A package with the given identity and one primary location, everything else empty.
    pub fn new(
        package_type: PackageType,
        name: impl Into<String>,
        version: impl Into<String>,
        path: impl Into<String>,
        found_by: impl Into<String>,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            package_type,
            namespace: None,
            purl: String::new(),
            cpes: Vec::new(),
            licenses: Vec::new(),
            arch: None,
            source: None,
            locations: vec![Location::primary(path)],
            found_by: found_by.into(),
            metadata: BTreeMap::new(),
        }
    }

    /// The primary location's path (the first location).
    pub fn primary_path(&self) -> &str {
        self.locations.first().map(|l| l.path.as_str()).unwrap_or("")
    }

    /// The key that identifies a package in the inventory: type, namespace, name, version and
    /// primary path. Two findings with the same key are the same package.
    pub fn sort_key(&self) -> (PackageType, &str, &str, &str, &str) {
        (
            self.package_type,
            self.name.as_str(),
            self.version.as_str(),
            self.namespace.as_deref().unwrap_or(""),
            self.primary_path(),
        )
    }
}
