//! Package URLs (purl) and CPE names for cataloged packages.
//!
//! Purls follow the purl specification's type rules through the `packageurl` crate (encoding,
//! qualifier order). OS packages carry `arch`, `distro` and `upstream` (source package) qualifiers
//! the way syft writes them, rpm epochs go to the `epoch` qualifier.

use moat_core::{Distro, Package, PackageType};
use packageurl::PackageUrl;

/// The package URL for `package`, given the detected distribution.
pub fn package_url(package: &Package, distro: Option<&Distro>) -> String {
    match build(package, distro) {
        Ok(purl) => purl,
        // The crate rejects only empty names/types; fall back to a generic purl so the package
        // is still listed and identifiable.
        Err(_) => format!(
            "pkg:generic/{}@{}",
            encode(&package.name),
            encode(&package.version)
        ),
    }
}

fn build(package: &Package, distro: Option<&Distro>) -> Result<String, packageurl::Error> {
    let ty = package.package_type;
    let (namespace, name) = split_name(package, distro);
    let mut version = package.version.clone();
    let mut purl = PackageUrl::new(ty.purl_type(), name.clone())?;
    if let Some(ns) = namespace.as_deref().filter(|ns| !ns.is_empty()) {
        purl.with_namespace(ns.to_string());
    }
    if ty == PackageType::Rpm {
        if let Some((epoch, rest)) = split_epoch(&version) {
            purl.add_qualifier("epoch", epoch.to_string())?;
            version = rest.to_string();
        }
    }
    if ty == PackageType::GoModule && name == "stdlib" {
        version = version.trim_start_matches("go").to_string();
    }
    if !version.is_empty() {
        purl.with_version(version);
    }
    if ty.is_os() {
        add_os_qualifiers(&mut purl, package, distro)?;
    }
    Ok(purl.to_string())
}

fn add_os_qualifiers(
    purl: &mut PackageUrl<'_>,
    package: &Package,
    distro: Option<&Distro>,
) -> Result<(), packageurl::Error> {
    if let Some(arch) = package.arch.as_deref().filter(|a| !a.is_empty()) {
        purl.add_qualifier("arch", arch.to_string())?;
    }
    if let Some(distro) = distro {
        purl.add_qualifier("distro", distro.purl_qualifier())?;
    }
    if let Some(upstream) = upstream(package) {
        purl.add_qualifier("upstream", upstream)?;
    }
    Ok(())
}

/// The `upstream` qualifier: the source package, when it differs from the binary package.
fn upstream(package: &Package) -> Option<String> {
    let source = package.source.as_ref()?;
    match package.package_type {
        // rpm names the source rpm file, as syft does.
        PackageType::Rpm => Some(match source.version.is_empty() {
            true => source.name.clone(),
            false => format!("{}-{}.src.rpm", source.name, source.version),
        }),
        _ => {
            let version_differs = !source.version.is_empty() && source.version != package.version;
            if version_differs {
                Some(format!("{}@{}", source.name, source.version))
            } else if source.name != package.name {
                Some(source.name.clone())
            } else {
                None
            }
        }
    }
}

/// Splits a package name into purl namespace and name by the ecosystem's rules.
fn split_name(package: &Package, distro: Option<&Distro>) -> (Option<String>, String) {
    let name = package.name.clone();
    match package.package_type {
        PackageType::Deb | PackageType::Rpm | PackageType::Apk => {
            let vendor = distro
                .map(|d| d.id.clone())
                .unwrap_or_else(|| default_vendor(package.package_type).to_string());
            (Some(vendor), name)
        }
        PackageType::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, rest)) => (Some(format!("@{scope}")), rest.to_string()),
            None => (None, name),
        },
        PackageType::GoModule | PackageType::PhpComposer => match name.rsplit_once('/') {
            Some((ns, rest)) => (Some(ns.to_string()), rest.to_string()),
            None => (None, name),
        },
        _ => (package.namespace.clone(), name),
    }
}

fn default_vendor(ty: PackageType) -> &'static str {
    match ty {
        PackageType::Deb => "debian",
        PackageType::Apk => "alpine",
        _ => "redhat",
    }
}

/// Splits `1:1.1.1k-1.el8` into (`1`, `1.1.1k-1.el8`); `None` when there is no numeric epoch.
pub fn split_epoch(version: &str) -> Option<(&str, &str)> {
    let (epoch, rest) = version.split_once(':')?;
    (!epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit())).then_some((epoch, rest))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A CPE 2.3 name guessed from the package identity, for ecosystems whose vulnerability data is
/// keyed by CPE (language packages and binaries); `None` for OS packages, whose advisories are
/// keyed by distribution package names.
pub fn generated_cpe(package: &Package) -> Option<String> {
    if package.package_type.is_os() || package.version.is_empty() {
        return None;
    }
    let product = package.name.rsplit('/').next().unwrap_or(&package.name);
    let vendor = match package.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns.rsplit(['.', '/']).next().unwrap_or(product),
        _ => product,
    };
    Some(format!(
        "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
        cpe_escape(&vendor.to_ascii_lowercase()),
        cpe_escape(&product.to_ascii_lowercase()),
        cpe_escape(&package.version)
    ))
}

/// Escapes a CPE 2.3 formatted-string component: every character other than letters, digits and
/// `_`, `-`, `.` is preceded by a backslash.
fn cpe_escape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for c in component.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_core::SourcePackage;

    fn debian() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: "12".into(),
            ..Distro::default()
        }
    }

    #[test]
    fn deb_purl_carries_arch_distro_and_upstream() {
        let mut p = Package::new(
            PackageType::Deb,
            "bsdutils",
            "1:2.38.1-5+deb12u3",
            "/var/lib/dpkg/status",
            "t",
        );
        p.arch = Some("amd64".into());
        p.source = Some(SourcePackage {
            name: "util-linux".into(),
            version: "2.38.1-5+deb12u3".into(),
        });
        assert_eq!(
            package_url(&p, Some(&debian())),
            "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3"
        );
    }

    #[test]
    fn rpm_epoch_becomes_a_qualifier() {
        let mut p = Package::new(
            PackageType::Rpm,
            "openssl",
            "1:1.1.1k-1.el8",
            "/var/lib/rpm/rpmdb.sqlite",
            "t",
        );
        p.arch = Some("x86_64".into());
        p.source = Some(SourcePackage {
            name: "openssl".into(),
            version: "1.1.1k-1.el8".into(),
        });
        let rocky = Distro {
            id: "rocky".into(),
            version_id: "8.4".into(),
            ..Distro::default()
        };
        assert_eq!(
            package_url(&p, Some(&rocky)),
            "pkg:rpm/rocky/openssl@1.1.1k-1.el8?arch=x86_64&distro=rocky-8.4&epoch=1&upstream=openssl-1.1.1k-1.el8.src.rpm"
        );
    }

    #[test]
    fn language_purls_split_namespaces() {
        let npm = Package::new(PackageType::Npm, "@babel/core", "7.0.0", "/p", "t");
        assert_eq!(package_url(&npm, None), "pkg:npm/%40babel/core@7.0.0");
        let go = Package::new(PackageType::GoModule, "stdlib", "go1.19.8", "/b", "t");
        assert_eq!(package_url(&go, None), "pkg:golang/stdlib@1.19.8");
        let main = Package::new(
            PackageType::GoModule,
            "example.com/hello-go",
            "(devel)",
            "/b",
            "t",
        );
        assert_eq!(
            package_url(&main, None),
            "pkg:golang/example.com/hello-go@(devel)"
        );
        let mut jar = Package::new(PackageType::JavaArchive, "log4j", "1.2.17", "/a.jar", "t");
        jar.namespace = Some("log4j".into());
        assert_eq!(package_url(&jar, None), "pkg:maven/log4j/log4j@1.2.17");
        let py = Package::new(PackageType::Python, "PyYAML", "5.3", "/m", "t");
        assert_eq!(package_url(&py, None), "pkg:pypi/pyyaml@5.3");
    }

    #[test]
    fn cpes_are_escaped_and_skip_os_packages() {
        let p = Package::new(PackageType::Npm, "lodash", "4.17.15", "/p", "t");
        assert_eq!(
            generated_cpe(&p).as_deref(),
            Some("cpe:2.3:a:lodash:lodash:4.17.15:*:*:*:*:*:*:*")
        );
        let deb = Package::new(PackageType::Deb, "bash", "5.2", "/s", "t");
        assert_eq!(generated_cpe(&deb), None);
    }
}
