//! Which advisory keys an inventory package is looked up under: the OSV ecosystem (with the
//! distribution release for OS packages), the package name the data uses, and the version to
//! compare.

use moat_core::{Distro, Package, PackageType};

/// One lookup: `(ecosystem, name)` in the store, and the version to test against the ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The OSV ecosystem, with release for OS packages (`Debian:12`, `Alpine:v3.18`, `PyPI`).
    pub ecosystem: String,
    /// The package name as the advisories spell it.
    pub name: String,
    /// The installed version, in the form the ranges use.
    pub version: String,
    /// What of the package was compared, for the match reason.
    pub matched_on: String,
}

/// Why a package has no queries, when it should have some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatchable {
    /// The explanation, naming the package.
    pub reason: String,
}

/// The lookups for `package` on `distro`; an OS package on an unknown or unsupported
/// distribution yields `Err` with the reason (the scan reports it once per distribution).
pub fn queries_for(package: &Package, distro: Option<&Distro>) -> Result<Vec<Query>, Unmatchable> {
    if package.version.is_empty() || package.version == "(devel)" {
        return Ok(Vec::new());
    }
    let language = |ecosystem: &str, name: String| {
        Ok(vec![Query {
            ecosystem: ecosystem.to_string(),
            name,
            version: package.version.clone(),
            matched_on: "package".to_string(),
        }])
    };
    match package.package_type {
        PackageType::Python => language("PyPI", package.name.clone()),
        PackageType::Npm => language("npm", package.name.clone()),
        PackageType::RustCrate => language("crates.io", package.name.clone()),
        PackageType::Gem => language("RubyGems", package.name.clone()),
        PackageType::PhpComposer => language("Packagist", package.name.clone()),
        PackageType::Dotnet => language("NuGet", package.name.clone()),
        PackageType::JavaArchive => match &package.namespace {
            Some(group) => language("Maven", format!("{group}:{}", package.name)),
            None => Ok(Vec::new()),
        },
        PackageType::GoModule => Ok(go_queries(package)),
        PackageType::Deb | PackageType::Apk | PackageType::Rpm => os_queries(package, distro),
        PackageType::Binary => Ok(Vec::new()),
    }
}

/// A Go module, or the standard library at the binary's toolchain version (`go1.19.8` is
/// `1.19.8` in the Go vulnerability database).
fn go_queries(package: &Package) -> Vec<Query> {
    if package.name == "stdlib" {
        let version = package.version.trim_start_matches("go").to_string();
        return vec![Query {
            ecosystem: "Go".to_string(),
            name: "stdlib".to_string(),
            matched_on: format!("Go toolchain {}", package.version),
            version,
        }];
    }
    vec![Query {
        ecosystem: "Go".to_string(),
        name: package.name.clone(),
        version: package.version.clone(),
        matched_on: "package".to_string(),
    }]
}

/// The OSV ecosystems that hold advisories for `distro`'s release, and whether that
/// distribution's data is keyed by source package.
fn os_ecosystems(distro: &Distro) -> Option<(Vec<String>, bool)> {
    let release = distro.version_id.as_str();
    let major = release.split('.').next().unwrap_or(release);
    let minor_release = release.split('.').take(2).collect::<Vec<_>>().join(".");
    let with_release = |name: &str, release: &str| match release.is_empty() {
        true => None,
        false => Some(vec![format!("{name}:{release}")]),
    };
    let ecosystems = match distro.id.as_str() {
        "debian" => (with_release("Debian", major)?, true),
        "ubuntu" => (
            vec![format!("Ubuntu:{release}"), format!("Ubuntu:{release}:LTS")],
            true,
        ),
        "alpine" => (with_release("Alpine", &format!("v{minor_release}"))?, true),
        "wolfi" => (vec!["Wolfi".to_string()], true),
        "chainguard" => (vec!["Chainguard".to_string()], true),
        "rocky" => (with_release("Rocky Linux", major)?, false),
        "almalinux" => (with_release("AlmaLinux", major)?, false),
        "mageia" => (with_release("Mageia", major)?, false),
        "opensuse-leap" => (with_release("openSUSE", &format!("Leap {release}"))?, false),
        _ => return None,
    };
    Some(ecosystems)
}

/// Lookups for an OS package: under the source package where the distribution's data is
/// keyed by it (Debian, Ubuntu, Alpine), else under the binary name and then the source name.
fn os_queries(package: &Package, distro: Option<&Distro>) -> Result<Vec<Query>, Unmatchable> {
    let Some(distro) = distro else {
        return Err(Unmatchable {
            reason: "no distribution detected: OS packages are not matched".to_string(),
        });
    };
    let Some((ecosystems, by_source)) = os_ecosystems(distro) else {
        return Err(Unmatchable {
            reason: format!(
                "no advisory data for distribution {:?} {:?}: its OS packages are not matched",
                distro.id, distro.version_id
            ),
        });
    };
    let source = package.source.as_ref().filter(|s| !s.name.is_empty());
    let mut keys = Vec::new();
    match (by_source, source) {
        (true, Some(source)) => {
            let version = match source.version.is_empty() {
                true => package.version.clone(),
                false => source.version.clone(),
            };
            let matched_on = format!("source package {} {version}", source.name);
            keys.push((source.name.clone(), version, matched_on));
        }
        (false, Some(source)) if source.name != package.name => {
            keys.push((
                package.name.clone(),
                package.version.clone(),
                "package".to_string(),
            ));
            let matched_on = format!("source package {} {}", source.name, package.version);
            keys.push((source.name.clone(), package.version.clone(), matched_on));
        }
        _ => keys.push((
            package.name.clone(),
            package.version.clone(),
            "package".to_string(),
        )),
    }
    Ok(ecosystems
        .iter()
        .flat_map(|ecosystem| {
            keys.iter().map(move |(name, version, matched_on)| Query {
                ecosystem: ecosystem.clone(),
                name: name.clone(),
                version: version.clone(),
                matched_on: matched_on.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_core::SourcePackage;

    fn distro(id: &str, version_id: &str) -> Distro {
        Distro {
            id: id.to_string(),
            version_id: version_id.to_string(),
            ..Distro::default()
        }
    }

    fn package(package_type: PackageType, name: &str, version: &str) -> Package {
        Package::new(package_type, name, version, "/x", "test")
    }

    #[test]
    fn debian_packages_are_looked_up_by_source_and_release() {
        let mut libssl = package(PackageType::Deb, "libssl3", "3.0.11-1~deb12u2+b1");
        libssl.source = Some(SourcePackage {
            name: "openssl".to_string(),
            version: "3.0.11-1~deb12u2".to_string(),
        });
        let queries = queries_for(&libssl, Some(&distro("debian", "12"))).expect("debian is known");
        assert_eq!(queries.len(), 1);
        assert_eq!(queries[0].ecosystem, "Debian:12");
        assert_eq!(queries[0].name, "openssl");
        assert_eq!(queries[0].version, "3.0.11-1~deb12u2");
    }

    #[test]
    fn alpine_release_is_major_minor_with_v() {
        let musl = package(PackageType::Apk, "musl", "1.2.3-r4");
        let queries = queries_for(&musl, Some(&distro("alpine", "3.18.4"))).expect("alpine is known");
        assert_eq!(queries[0].ecosystem, "Alpine:v3.18");
    }

    #[test]
    fn rpm_packages_try_binary_then_source_name() {
        let mut libs = package(PackageType::Rpm, "openssl-libs", "1:1.1.1k-1.el8");
        libs.source = Some(SourcePackage {
            name: "openssl".to_string(),
            version: String::new(),
        });
        let queries = queries_for(&libs, Some(&distro("rocky", "8.4"))).expect("rocky is known");
        let names: Vec<_> = queries
            .iter()
            .map(|q| (q.ecosystem.as_str(), q.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("Rocky Linux:8", "openssl-libs"), ("Rocky Linux:8", "openssl")]
        );
    }

    #[test]
    fn os_packages_without_a_known_distribution_are_reported() {
        let busybox = package(PackageType::Apk, "busybox", "1.36.1-r0");
        assert!(queries_for(&busybox, None).is_err());
        assert!(queries_for(&busybox, Some(&distro("plan9", "4"))).is_err());
    }

    #[test]
    fn go_stdlib_uses_the_toolchain_version() {
        let stdlib = package(PackageType::GoModule, "stdlib", "go1.19.8");
        let queries = queries_for(&stdlib, None).expect("language packages need no distro");
        assert_eq!(queries[0].version, "1.19.8");
        assert_eq!(queries[0].matched_on, "Go toolchain go1.19.8");
        let devel = package(PackageType::GoModule, "example.com/app", "(devel)");
        assert!(queries_for(&devel, None).expect("no error").is_empty());
    }
}
