//! Python catalogers: installed core metadata and declared dependencies.

mod lang_image;

use lang_image::{
    assert_all_found_by, catalog_fixture, catalog_layer, fixture, for_each_fixture_prefix, owned_pairs,
    shared_dir, sorted_name_versions, VENV_LAYER,
};
use moat_catalog::cataloger::{Applies, CatalogError, Cataloger};
use moat_catalog::lang::python::{
    parse_pipfile_lock, parse_poetry_lock, parse_python_metadata, parse_requirements, parse_uv_lock,
    PythonInstalledCataloger, PythonPackageCataloger,
};
use moat_core::Package;

const SITE: &str = "/usr/lib/python3/dist-packages";

#[test]
fn dist_info_with_license_expression_golden() {
    let path = format!("{SITE}/attrs-23.2.0.dist-info/METADATA");
    let p = parse_python_metadata(&path, &fixture("python/attrs-23.2.0.dist-info.METADATA")).unwrap();
    insta::assert_json_snapshot!("python_attrs_metadata", p);
    assert_eq!(p.licenses, vec!["MIT"]);
    assert_eq!(
        p.metadata.get("python.requires_python").map(String::as_str),
        Some(">=3.7")
    );
}

#[test]
fn licence_text_falls_back_to_classifiers_and_crlf_is_read() {
    let path = format!("{SITE}/Flask_Login-0.6.3.dist-info/METADATA");
    let p = parse_python_metadata(&path, &fixture("python/Flask_Login-0.6.3.dist-info.METADATA")).unwrap();
    insta::assert_json_snapshot!("python_flask_login_metadata", p);
    assert_eq!(p.name, "flask-login");
    assert_eq!(p.version, "0.6.3");
    assert_eq!(p.licenses, vec!["MIT", "Apache-2.0"]);
}

#[test]
fn egg_info_pkg_info_and_single_file_egg_info() {
    let path = format!("{SITE}/zope.interface-5.4.0-py3.11.egg-info/PKG-INFO");
    let zope = parse_python_metadata(&path, &fixture("python/zope.interface.egg-info.PKG-INFO")).unwrap();
    assert_eq!(
        (zope.name.as_str(), zope.version.as_str()),
        ("zope-interface", "5.4.0")
    );
    assert_eq!(zope.licenses, vec!["ZPL 2.1"]);
    let path = format!("{SITE}/python_apt-2.6.0.egg-info");
    let apt = catalog_fixture(
        &PythonInstalledCataloger,
        &path,
        "python/python_apt-2.6.0.egg-info",
    );
    insta::assert_json_snapshot!("python_apt_egg_info", apt);
}

#[test]
fn metadata_without_name_or_version_is_an_error() {
    let err = parse_python_metadata("/x/METADATA", b"Metadata-Version: 2.1\nVersion: 1.0\n").unwrap_err();
    assert!(matches!(err, CatalogError::Malformed { .. }));
    assert!(
        err.to_string().contains("/x/METADATA") && err.to_string().contains("Name"),
        "{err}"
    );
    assert!(
        parse_python_metadata("/x/METADATA", b"Name: a\n\nVersion: 1.0\n").is_err(),
        "body is not headers"
    );
    assert!(parse_python_metadata("/x/METADATA", b"\xff\xfe\x00garbage").is_err());
}

#[test]
fn installed_paths() {
    let c = PythonInstalledCataloger;
    assert_eq!(c.applies(), Applies::Everywhere);
    assert!(c.wants_path("/app/venv/lib/python3.11/site-packages/Django-3.2.dist-info/METADATA"));
    assert!(c.wants_path("/usr/lib/python3/dist-packages/foo-1.0.egg-info/PKG-INFO"));
    assert!(c.wants_path("/usr/lib/python3/dist-packages/foo-1.0.egg-info"));
    assert!(!c.wants_path("/usr/lib/python3/dist-packages/foo-1.0.dist-info/RECORD"));
    assert!(!c.wants_path("/src/foo/PKG-INFO"));
}

#[test]
fn requirements_keeps_exact_pins_only() {
    let packages = parse_requirements("/src/requirements.txt", &fixture("python/requirements.txt")).unwrap();
    insta::assert_json_snapshot!("python_requirements", packages);
    let expected = owned_pairs(&[
        ("asgiref", "3.7.2"),
        ("django", "3.2.25"),
        ("pyyaml", "5.4.1"),
        ("requests", "2.31.0"),
        ("typing-extensions", "4.9.0"),
    ]);
    assert_eq!(sorted_name_versions(&packages), expected);
    assert!(parse_requirements("/src/requirements.txt", b"a==1\xff").is_err());
}

#[test]
fn poetry_lock_golden() {
    let packages = parse_poetry_lock("/src/poetry.lock", &fixture("python/poetry.lock")).unwrap();
    insta::assert_json_snapshot!("python_poetry_lock", packages);
    assert_eq!(packages.len(), 5);
    let pytest = packages.iter().find(|p| p.name == "pytest").unwrap();
    assert_eq!(
        pytest.metadata.get("python.category").map(String::as_str),
        Some("dev")
    );
    let err = parse_poetry_lock("/src/poetry.lock", b"[[package]]\nname = \"a\"\nversion = ").unwrap_err();
    assert!(
        err.to_string().contains("poetry.lock") && err.to_string().contains("line 3"),
        "{err}"
    );
}

#[test]
fn pipfile_lock_golden() {
    let packages = parse_pipfile_lock("/src/Pipfile.lock", &fixture("python/Pipfile.lock")).unwrap();
    insta::assert_json_snapshot!("python_pipfile_lock", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        owned_pairs(&[
            ("flask", "3.0.0"),
            ("markupsafe", "2.1.3"),
            ("pytest-cov", "4.1.0")
        ])
    );
    let err = parse_pipfile_lock("/src/Pipfile.lock", b"{\"default\": {\n  \"a\": [}").unwrap_err();
    assert!(
        err.to_string().contains("Pipfile.lock") && err.to_string().contains("line 2"),
        "{err}"
    );
}

#[test]
fn uv_lock_skips_the_project_and_virtual_members() {
    let packages = parse_uv_lock("/src/uv.lock", &fixture("python/uv.lock")).unwrap();
    insta::assert_json_snapshot!("python_uv_lock", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        owned_pairs(&[("anyio", "4.2.0"), ("idna", "3.6"), ("sniffio", "1.3.0")])
    );
}

#[test]
fn declared_cataloger_dispatch() {
    let c = PythonPackageCataloger;
    assert_eq!(c.applies(), Applies::DirectoriesOnly);
    for path in [
        "/a/requirements.txt",
        "/a/requirements-dev.txt",
        "/a/dev-requirements.txt",
        "/a/poetry.lock",
    ] {
        assert!(c.wants_path(path), "{path}");
    }
    assert!(c.wants_path("/a/Pipfile.lock") && c.wants_path("/a/uv.lock"));
    assert!(!c.wants_path("/a/requirements.in") && !c.wants_path("/a/Pipfile"));
    let found = catalog_fixture(&c, "/a/uv.lock", "python/uv.lock");
    assert_all_found_by(&found, "python-package-cataloger");
    assert_eq!(found.len(), 3);
}

#[test]
fn debian_app_venv_matches_syft() {
    let Some(shared) = shared_dir() else { return };
    let packages = catalog_layer(&shared, VENV_LAYER, &PythonInstalledCataloger);
    let expected = lang_image::syft_packages(&shared, "python");
    assert_eq!(expected.len(), 12);
    assert_eq!(sorted_name_versions(&packages), expected);
    let django = packages.iter().find(|p| p.name == "django").unwrap();
    assert_eq!(
        django.primary_path(),
        "/app/venv/lib/python3.11/site-packages/Django-3.2.dist-info/METADATA"
    );
    assert_eq!(django.licenses, vec!["BSD-3-Clause"]);
    let certifi = packages.iter().find(|p| p.name == "certifi").unwrap();
    assert_eq!(certifi.licenses, vec!["MPL-2.0"]);
    assert_all_found_by(&packages, "python-installed-package-cataloger");
}

#[test]
fn truncated_inputs_never_panic() {
    let metadata_files = [
        "python/attrs-23.2.0.dist-info.METADATA",
        "python/Flask_Login-0.6.3.dist-info.METADATA",
    ];
    for_each_fixture_prefix(&metadata_files, |prefix| {
        let _ = parse_python_metadata("/m/METADATA", prefix);
    });
    for_each_fixture_prefix(&["python/requirements.txt"], |prefix| {
        assert!(parse_requirements("/m/requirements.txt", prefix).is_ok());
    });
    for (file, parse) in [
        (
            "python/poetry.lock",
            parse_poetry_lock as fn(&str, &[u8]) -> Result<Vec<Package>, CatalogError>,
        ),
        ("python/uv.lock", parse_uv_lock),
        ("python/Pipfile.lock", parse_pipfile_lock),
    ] {
        for_each_fixture_prefix(&[file], |prefix| {
            let _ = parse("/m/lock", prefix);
        });
    }
}
