//! Reading package URLs found in SBOMs back into Moat's package facts.

use moat_core::{PackageType, SourcePackage};
use packageurl::PackageUrl;
use std::str::FromStr;

/// The parts of a package URL that Moat uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PurlParts {
    /// purl type (`deb`, `pypi`, …).
    pub ty: String,
    /// Namespace (`debian`, `org.apache.log4j`, `@scope`), if any.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Version, if any.
    pub version: Option<String>,
    /// `arch` qualifier.
    pub arch: Option<String>,
    /// `upstream` qualifier (source package).
    pub upstream: Option<String>,
}

/// Parses a purl; `None` when it is not a valid package URL.
pub(crate) fn parse(purl: &str) -> Option<PurlParts> {
    let parsed = PackageUrl::from_str(purl).ok()?;
    let qualifier = |key: &str| {
        parsed
            .qualifiers()
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.to_string())
    };
    Some(PurlParts {
        ty: parsed.ty().to_ascii_lowercase(),
        namespace: parsed.namespace().map(str::to_string),
        name: parsed.name().to_string(),
        version: parsed.version().map(str::to_string),
        arch: qualifier("arch"),
        upstream: qualifier("upstream"),
    })
}

/// Moat's package type for a purl type; `binary` for types Moat has no cataloger for.
pub(crate) fn package_type_for(purl_type: &str) -> PackageType {
    PackageType::ALL
        .into_iter()
        .find(|t| *t != PackageType::Binary && t.purl_type() == purl_type)
        .unwrap_or(PackageType::Binary)
}

impl PurlParts {
    /// The name as Moat spells it: npm scopes and Go/composer module paths keep their namespace.
    pub(crate) fn full_name(&self) -> String {
        match (self.ty.as_str(), self.namespace.as_deref()) {
            ("npm" | "golang" | "composer", Some(ns)) if !ns.is_empty() => format!("{ns}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// The source package told by the `upstream` qualifier (`name` or `name@version`), for the
    /// OS package types that spell it that way.
    pub(crate) fn source_package(&self) -> Option<SourcePackage> {
        if !matches!(self.ty.as_str(), "deb" | "apk") {
            return None;
        }
        let upstream = self.upstream.as_deref().filter(|u| !u.is_empty())?;
        let (name, version) = upstream.split_once('@').unwrap_or((upstream, ""));
        Some(SourcePackage {
            name: name.to_string(),
            version: version.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scoped_npm_and_maven() {
        let npm = parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(npm.full_name(), "@babel/core");
        let maven = parse("pkg:maven/org.apache.log4j/log4j@1.2.17").unwrap();
        assert_eq!(maven.namespace.as_deref(), Some("org.apache.log4j"));
        assert_eq!(maven.full_name(), "log4j");
        assert_eq!(package_type_for(&maven.ty), PackageType::JavaArchive);
    }

    #[test]
    fn reads_os_qualifiers() {
        let deb = parse("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc")
            .unwrap();
        assert_eq!(deb.version.as_deref(), Some("2.36-9+deb12u4"));
        assert_eq!(deb.arch.as_deref(), Some("amd64"));
        assert_eq!(
            deb.source_package(),
            Some(SourcePackage {
                name: "glibc".into(),
                version: String::new()
            })
        );
    }

    #[test]
    fn maps_types() {
        assert_eq!(package_type_for("pypi"), PackageType::Python);
        assert_eq!(package_type_for("golang"), PackageType::GoModule);
        assert_eq!(package_type_for("generic"), PackageType::Binary);
        assert_eq!(package_type_for("swift"), PackageType::Binary);
        assert!(parse("not a purl").is_none());
    }
}
