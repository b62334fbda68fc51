//! Shared helpers for the moat-sbom integration tests: a realistic inventory built in code (the
//! read-only shared test data is located by `moat_testkit::shared`).
#![allow(dead_code)]

use moat_core::{
    Distro, Evidence, Inventory, LayerInfo, Location, Package, PackageType, SourceDescription, SourceKind,
    SourcePackage,
};
use moat_sbom::{Format, WriteOptions};

pub const LAYER_BASE: &str = "sha256:9bd65a6a3fd3b3bfd9f13a38f123ea95884c4e6a054edcfb6334930a8f033032";
pub const LAYER_APP: &str = "sha256:7ec79cfb43d7733d3401b69bdf1d7afe454655dfbc88e2e695e445df47ae66d3";

fn package(
    ty: PackageType,
    name: &str,
    version: &str,
    purl: &str,
    path: &str,
    layer: &str,
    found_by: &str,
) -> Package {
    let mut package = Package::new(ty, name, version, path, found_by);
    package.purl = purl.to_string();
    if let Some(location) = package.locations.first_mut() {
        location.layer = Some(layer.to_string());
    }
    package
}

/// The image source used by the sample inventories.
pub fn image_source() -> SourceDescription {
    SourceDescription {
        kind: SourceKind::Image,
        user_input: "docker-archive:debian-app.tar".to_string(),
        name: "registry.example/debian-app:1.0".to_string(),
        image_id: Some("sha256:d311f56795a8e58d5e371aa26caa05d9a28f4743799c6aa0c9fddd639ab54ce2".to_string()),
        manifest_digest: Some(
            "sha256:e48c8640ddbad630add82d9a2b56130645fae1921ae557aae8f6652ac0b416d9".to_string(),
        ),
        tags: vec!["registry.example/debian-app:1.0".to_string()],
        repo_digests: Vec::new(),
        platform: Some("linux/amd64".to_string()),
        layers: vec![LayerInfo {
            digest: "sha256:dbb0f5866567ff5a0c2315427ac5a21efac24352a6df8befdfcd107ae1cb40aa".to_string(),
            diff_id: LAYER_BASE.to_string(),
            media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".to_string(),
            size: 49_700_000,
            created_by: "mmdebstrap bookworm".to_string(),
        }],
    }
}

pub fn debian_12() -> Distro {
    Distro {
        id: "debian".to_string(),
        version_id: "12".to_string(),
        name: "Debian GNU/Linux".to_string(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".to_string(),
        codename: "bookworm".to_string(),
        id_like: Vec::new(),
    }
}

/// The deb package libc6, with a source package and distro qualifiers in its purl.
pub fn libc6() -> Package {
    let mut p = package(
        PackageType::Deb,
        "libc6",
        "2.36-9+deb12u4",
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
        "/var/lib/dpkg/status",
        LAYER_BASE,
        "dpkg-db-cataloger",
    );
    p.arch = Some("amd64".to_string());
    p.source = Some(SourcePackage {
        name: "glibc".to_string(),
        version: String::new(),
    });
    p.licenses = vec!["LGPL-2.1-or-later".to_string(), "GPL-2.0-or-later".to_string()];
    p.cpes = vec![
        "cpe:2.3:a:libc6:libc6:2.36-9\\+deb12u4:*:*:*:*:*:*:*".to_string(),
        "cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*".to_string(),
    ];
    p.locations.push(Location {
        path: "/usr/share/doc/libc6/copyright".to_string(),
        layer: Some(LAYER_BASE.to_string()),
        evidence: Evidence::Supporting,
    });
    p
}

/// A deb whose only licence is free text no SPDX id matches.
pub fn tzdata() -> Package {
    let mut p = package(
        PackageType::Deb,
        "tzdata",
        "2024a-0+deb12u1",
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
        "/var/lib/dpkg/status",
        LAYER_BASE,
        "dpkg-db-cataloger",
    );
    p.arch = Some("all".to_string());
    p.licenses = vec!["public-domain".to_string(), "BSD-like".to_string()];
    p
}

/// An rpm with an epoch.
pub fn openssl_libs() -> Package {
    let mut p = package(
        PackageType::Rpm,
        "openssl-libs",
        "1:3.0.7-27.el9",
        "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.3&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm",
        "/var/lib/rpm/rpmdb.sqlite",
        LAYER_BASE,
        "rpm-db-cataloger",
    );
    p.arch = Some("x86_64".to_string());
    p.source = Some(SourcePackage {
        name: "openssl".to_string(),
        version: "3.0.7-27.el9".to_string(),
    });
    p.licenses = vec!["Apache-2.0".to_string()];
    p
}

/// A scoped npm package.
pub fn babel_core() -> Package {
    let mut p = package(
        PackageType::Npm,
        "@babel/core",
        "7.23.0",
        "pkg:npm/%40babel/core@7.23.0",
        "/app/node/node_modules/@babel/core/package.json",
        LAYER_APP,
        "javascript-package-cataloger",
    );
    p.licenses = vec!["MIT".to_string()];
    p
}

/// The same npm package installed twice at different paths.
pub fn ms_twice() -> [Package; 2] {
    let mut first = package(
        PackageType::Npm,
        "ms",
        "2.0.0",
        "pkg:npm/ms@2.0.0",
        "/app/node/node_modules/ms/package.json",
        LAYER_APP,
        "javascript-package-cataloger",
    );
    first.licenses = vec!["MIT".to_string()];
    let mut second = first.clone();
    second.locations = vec![Location {
        path: "/app/node/node_modules/debug/node_modules/ms/package.json".to_string(),
        layer: Some(LAYER_APP.to_string()),
        evidence: Evidence::Primary,
    }];
    [first, second]
}

/// A Maven artifact with a group id, nested in a jar.
pub fn log4j_core() -> Package {
    let mut p = package(
        PackageType::JavaArchive,
        "log4j-core",
        "2.14.1",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        "/app/lib/app.jar:BOOT-INF/lib/log4j-core-2.14.1.jar",
        LAYER_APP,
        "java-archive-cataloger",
    );
    p.namespace = Some("org.apache.logging.log4j".to_string());
    p.licenses = vec!["Apache-2.0".to_string()];
    p.cpes = vec!["cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*".to_string()];
    p.metadata
        .insert("maven.artifactId".to_string(), "log4j-core".to_string());
    p.metadata.insert(
        "maven.groupId".to_string(),
        "org.apache.logging.log4j".to_string(),
    );
    p
}

/// The Go standard library found in a binary.
pub fn go_stdlib() -> Package {
    let mut p = package(
        PackageType::GoModule,
        "stdlib",
        "go1.21.5",
        "pkg:golang/stdlib@1.21.5",
        "/usr/local/bin/hello-go",
        LAYER_APP,
        "go-module-binary-cataloger",
    );
    p.licenses = vec!["BSD-3-Clause".to_string()];
    p.cpes = vec!["cpe:2.3:a:golang:go:1.21.5:-:*:*:*:*:*:*".to_string()];
    p.metadata
        .insert("go.toolchain".to_string(), "go1.21.5".to_string());
    p
}

/// A Python package with a compound licence expression.
pub fn cryptography() -> Package {
    let mut p = package(
        PackageType::Python,
        "cryptography",
        "41.0.3",
        "pkg:pypi/cryptography@41.0.3",
        "/app/venv/lib/python3.11/site-packages/cryptography-41.0.3.dist-info/METADATA",
        LAYER_APP,
        "python-installed-package-cataloger",
    );
    p.licenses = vec!["MIT OR Apache-2.0".to_string()];
    p
}

/// A package mixing a compound expression with free text: CycloneDX must join them.
pub fn mixed_licences() -> Package {
    let mut p = package(
        PackageType::Python,
        "mixed-lic",
        "1.0",
        "pkg:pypi/mixed-lic@1.0",
        "/app/venv/lib/python3.11/site-packages/mixed_lic-1.0.dist-info/METADATA",
        LAYER_APP,
        "python-installed-package-cataloger",
    );
    p.licenses = vec!["MIT OR Apache-2.0".to_string(), "Custom License v2".to_string()];
    p
}

/// A binary package without any purl.
pub fn busybox_binary() -> Package {
    let mut p = Package::new(
        PackageType::Binary,
        "busybox",
        "1.36.1",
        "/bin/busybox",
        "binary-cataloger",
    );
    p.cpes = vec!["cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*".to_string()];
    p
}

/// Every sample package (round-trips exactly through CycloneDX).
pub fn exact_packages() -> Vec<Package> {
    let mut packages = vec![
        libc6(),
        tzdata(),
        openssl_libs(),
        babel_core(),
        log4j_core(),
        go_stdlib(),
        cryptography(),
        busybox_binary(),
    ];
    packages.extend(ms_twice());
    packages
}

/// The realistic inventory: every sample package, an image source, Debian 12.
pub fn realistic_inventory() -> Inventory {
    let mut packages = exact_packages();
    packages.push(mixed_licences());
    let mut inventory = Inventory {
        source: image_source(),
        distro: Some(debian_12()),
        packages,
        warnings: Vec::new(),
    };
    inventory.normalize();
    inventory
}

/// A small inventory for snapshots.
pub fn small_inventory() -> Inventory {
    let mut inventory = Inventory {
        source: image_source(),
        distro: Some(debian_12()),
        packages: vec![libc6(), cryptography(), tzdata()],
        warnings: Vec::new(),
    };
    inventory.normalize();
    inventory
}

/// Writes `inventory` in `format` with default options (CycloneDX 1.6, tool version 0.1.0).
pub fn render(inventory: &Inventory, format: Format, options: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    moat_sbom::write(inventory, format, options, &mut out).expect("write succeeds");
    out
}

pub fn options() -> WriteOptions {
    WriteOptions {
        tool_version: "0.1.0".to_string(),
        ..WriteOptions::default()
    }
}
