//! .NET catalogers: deps.json and packages.lock.json.

mod lang_image;

use lang_image::{catalog_fixture, name_versions_in_order};
use moat_catalog::cataloger::{Applies, Cataloger};
use moat_catalog::lang::dotnet::{DotnetDepsCataloger, DotnetPackagesLockCataloger};

#[test]
fn deps_json_golden() {
    let path = "/app/ShopApi.deps.json";
    assert!(DotnetDepsCataloger.wants_path(path));
    assert!(!DotnetDepsCataloger.wants_path("/app/ShopApi.runtimeconfig.json"));
    assert_eq!(DotnetDepsCataloger.applies(), Applies::Everywhere);
    let packages = catalog_fixture(&DotnetDepsCataloger, path, "dotnet/ShopApi.deps.json");
    insta::assert_json_snapshot!("deps_json", packages);
    assert_eq!(
        name_versions_in_order(&packages),
        vec![
            ("Newtonsoft.Json".into(), "13.0.1".into()),
            ("Serilog".into(), "2.10.0".into())
        ]
    );
}

#[test]
fn packages_lock_golden() {
    let path = "/src/ShopApi/packages.lock.json";
    assert!(DotnetPackagesLockCataloger.wants_path(path));
    assert_eq!(DotnetPackagesLockCataloger.applies(), Applies::DirectoriesOnly);
    let packages = catalog_fixture(&DotnetPackagesLockCataloger, path, "dotnet/packages.lock.json");
    insta::assert_json_snapshot!("packages_lock", packages);
    assert_eq!(
        name_versions_in_order(&packages),
        vec![
            ("Newtonsoft.Json".into(), "13.0.1".into()),
            ("Serilog".into(), "2.10.0".into()),
            ("Serilog".into(), "3.1.1".into()),
            ("Serilog.Sinks.Console".into(), "4.1.0".into()),
        ]
    );
    let newtonsoft = &packages[0];
    assert_eq!(
        newtonsoft
            .metadata
            .get("dotnet.target_frameworks")
            .map(String::as_str),
        Some("net6.0,net8.0")
    );
    assert_eq!(
        newtonsoft
            .metadata
            .get("dotnet.dependency_type")
            .map(String::as_str),
        Some("Direct")
    );
}

#[test]
fn malformed_files_are_errors() {
    let err = DotnetDepsCataloger
        .catalog("/a/x.deps.json", b"{\"libraries\": {")
        .unwrap_err();
    assert!(err.to_string().contains("/a/x.deps.json"), "{err}");
    let no_slash = br#"{"libraries": {"Newtonsoft.Json": {"type": "package"}}}"#;
    assert!(DotnetDepsCataloger.catalog("/a/x.deps.json", no_slash).is_err());
    assert!(DotnetPackagesLockCataloger
        .catalog("/a/packages.lock.json", b"[1,2]")
        .is_err());
    let wrong_shape = br#"{"dependencies": {"net6.0": {"A": {"type": 5}}}}"#;
    assert!(DotnetPackagesLockCataloger
        .catalog("/a/packages.lock.json", wrong_shape)
        .is_err());
}
