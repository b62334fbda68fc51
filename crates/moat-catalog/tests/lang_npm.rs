//! JavaScript catalogers: package.json files and npm, yarn and pnpm lock files.

mod lang_image;

use lang_image::{
    assert_all_found_by, catalog_fixture, catalog_layer, fixture, owned_pairs, shared_dir,
    sorted_name_versions, NODE_LAYER,
};
use moat_catalog::cataloger::{Applies, CatalogError, Cataloger};
use moat_catalog::lang::npm::{
    parse_package_json, parse_package_lock, parse_pnpm_lock, parse_yarn_lock, JavascriptLockCataloger,
    JavascriptPackageCataloger,
};
use moat_core::Package;

fn malformed_message(err: CatalogError) -> String {
    assert!(matches!(err, CatalogError::Malformed { .. }), "{err:?}");
    err.to_string()
}

#[test]
fn scoped_package_json_golden() {
    let path = "/app/node_modules/@babel/code-frame/package.json";
    let p = parse_package_json(path, &fixture("npm/scoped.package.json"))
        .unwrap()
        .unwrap();
    insta::assert_json_snapshot!("npm_scoped_package_json", p);
    assert_eq!(p.name, "@babel/code-frame");
    assert_eq!(
        p.metadata.get("npm.author").map(String::as_str),
        Some("The Babel Team <team@babeljs.io>")
    );
}

#[test]
fn package_json_licence_shapes() {
    let legacy = parse_package_json("/p/package.json", &fixture("npm/legacy-licenses.package.json"))
        .unwrap()
        .unwrap();
    assert_eq!(legacy.licenses, vec!["AFLv2.1", "BSD-3-Clause"]);
    let object = parse_package_json("/p/package.json", &fixture("npm/license-object.package.json"))
        .unwrap()
        .unwrap();
    assert_eq!(object.licenses, vec!["MIT"]);
    assert!(!object.metadata.contains_key("npm.private"));
}

#[test]
fn package_json_without_version_is_skipped_and_bad_json_is_an_error() {
    assert!(
        parse_package_json("/p/package.json", &fixture("npm/no-version.package.json"))
            .unwrap()
            .is_none()
    );
    assert!(
        parse_package_json("/p/package.json", br#"{"name": 3, "version": "1.0.0"}"#)
            .unwrap()
            .is_none()
    );
    let message = malformed_message(
        parse_package_json("/p/package.json", b"{\n  \"name\": \"a\",\n  oops\n}").unwrap_err(),
    );
    assert!(
        message.contains("package.json") && message.contains("/p/package.json"),
        "{message}"
    );
    assert!(message.contains("line 3 column 3"), "{message}");
    assert!(parse_package_json("/p/package.json", b"[1, 2]").is_err());
}

#[test]
fn package_lock_v1_nested_tree() {
    let packages =
        parse_package_lock("/src/package-lock.json", &fixture("npm/package-lock.v1.json")).unwrap();
    insta::assert_json_snapshot!("npm_package_lock_v1", packages);
    let expected = owned_pairs(&[
        ("@types/node", "14.18.63"),
        ("debug", "2.6.9"),
        ("ms", "2.0.0"),
        ("ms", "2.1.1"),
        ("ms", "2.1.3"),
        ("send", "0.17.1"),
    ]);
    assert_eq!(
        sorted_name_versions(&packages),
        expected,
        "nested versions kept, duplicates and file: entries dropped"
    );
    let types = packages.iter().find(|p| p.name == "@types/node").unwrap();
    assert_eq!(types.metadata.get("npm.dev").map(String::as_str), Some("true"));
}

#[test]
fn package_lock_v3_packages_map() {
    let packages =
        parse_package_lock("/src/package-lock.json", &fixture("npm/package-lock.v3.json")).unwrap();
    insta::assert_json_snapshot!("npm_package_lock_v3", packages);
    let expected = owned_pairs(&[
        ("@scope/ui", "1.0.0"),
        ("@types/express", "4.17.21"),
        ("express", "4.18.2"),
        ("ms", "2.0.0"),
        ("ms", "2.1.3"),
        ("string-width", "4.2.3"),
        ("tiny-git-dep", "1.0.0"),
    ]);
    assert_eq!(
        sorted_name_versions(&packages),
        expected,
        "root and link entries skipped; `name` wins over the path"
    );
}

#[test]
fn malformed_package_lock_names_format_and_position() {
    let message = malformed_message(
        parse_package_lock("/src/package-lock.json", b"{\n\"packages\": {\n\"x\": 1,,\n").unwrap_err(),
    );
    assert!(
        message.starts_with("package-lock.json: /src/package-lock.json:"),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    let message =
        malformed_message(parse_package_lock("/l", br#"{"packages": {"node_modules/a": 7}}"#).unwrap_err());
    assert!(message.contains("node_modules/a"), "{message}");
}

#[test]
fn deep_v1_tree_is_an_error_not_a_stack_overflow() {
    let mut doc = String::from("{\"dependencies\":");
    for _ in 0..100 {
        doc.push_str("{\"a\":{\"version\":\"1.0.0\",\"dependencies\":");
    }
    doc.push_str("{}");
    for _ in 0..100 {
        doc.push_str("}}");
    }
    doc.push('}');
    assert!(parse_package_lock("/deep/package-lock.json", doc.as_bytes()).is_err());
}

#[test]
fn yarn_v1_multi_spec_entries() {
    let packages = parse_yarn_lock("/src/yarn.lock", &fixture("npm/yarn.v1.lock")).unwrap();
    insta::assert_json_snapshot!("npm_yarn_v1", packages);
    let expected = owned_pairs(&[
        ("@babel/code-frame", "7.23.5"),
        ("chalk", "2.4.2"),
        ("lodash", "4.17.15"),
        ("ms", "2.0.0"),
        ("ms", "2.1.3"),
    ]);
    assert_eq!(
        sorted_name_versions(&packages),
        expected,
        "one package per entry, aliases resolved to the real name"
    );
}

#[test]
fn yarn_v1_errors_carry_the_line() {
    let message = malformed_message(
        parse_yarn_lock("/y/yarn.lock", b"# yarn lockfile v1\n\na@^1:\n  resolved \"x\"\n").unwrap_err(),
    );
    assert!(
        message.contains("yarn.lock v1") && message.contains("line 3") && message.contains("no version"),
        "{message}"
    );
    let message = malformed_message(
        parse_yarn_lock("/y/yarn.lock", b"a@^1:\n  version \"1.0.0\"\nnot a header\n").unwrap_err(),
    );
    assert!(message.contains("line 3"), "{message}");
    let message = malformed_message(parse_yarn_lock("/y/yarn.lock", b"  version \"1.0.0\"\n").unwrap_err());
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn yarn_berry_golden() {
    let packages = parse_yarn_lock("/src/yarn.lock", &fixture("npm/yarn.berry.lock")).unwrap();
    insta::assert_json_snapshot!("npm_yarn_berry", packages);
    let expected = owned_pairs(&[
        ("@babel/code-frame", "7.23.5"),
        ("ms", "2.1.3"),
        ("resolve", "1.22.8"),
        ("semver", "7.6.0"),
        ("version-like", "1.10"),
    ]);
    assert_eq!(
        sorted_name_versions(&packages),
        expected,
        "workspace, link and patch entries skipped"
    );
    let message = malformed_message(
        parse_yarn_lock(
            "/y/yarn.lock",
            b"__metadata:\n  version: 8\n\"a@npm:1\":\n  version: [\n",
        )
        .unwrap_err(),
    );
    assert!(
        message.contains("yarn.lock (berry)") && message.contains("line"),
        "{message}"
    );
}

#[test]
fn pnpm_v5_slash_keys_and_peer_suffixes() {
    let packages = parse_pnpm_lock("/src/pnpm-lock.yaml", &fixture("npm/pnpm-lock.v5.yaml")).unwrap();
    insta::assert_json_snapshot!("npm_pnpm_v5", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        owned_pairs(&[
            ("@babel/core", "7.12.0"),
            ("lodash", "4.17.21"),
            ("supports-color", "8.1.1")
        ])
    );
}

#[test]
fn pnpm_v6_at_keys_and_named_url_entries() {
    let packages = parse_pnpm_lock("/src/pnpm-lock.yaml", &fixture("npm/pnpm-lock.v6.yaml")).unwrap();
    insta::assert_json_snapshot!("npm_pnpm_v6", packages);
    let expected = owned_pairs(&[
        ("@types/react", "18.2.48"),
        ("loose-envify", "1.4.0"),
        ("react", "18.2.0"),
        ("react-dom", "18.2.0"),
        ("tiny-dep", "0.2.0"),
    ]);
    assert_eq!(sorted_name_versions(&packages), expected);
}

#[test]
fn pnpm_v9_packages_section() {
    let packages = parse_pnpm_lock("/src/pnpm-lock.yaml", &fixture("npm/pnpm-lock.v9.yaml")).unwrap();
    insta::assert_json_snapshot!("npm_pnpm_v9", packages);
    let expected = owned_pairs(&[
        ("@tanstack/query-core", "5.17.19"),
        ("@tanstack/react-query", "5.17.19"),
        ("js-tokens", "4.0.0"),
        ("react", "18.2.0"),
    ]);
    assert_eq!(sorted_name_versions(&packages), expected);
}

#[test]
fn malformed_pnpm_names_format_and_position() {
    let message = malformed_message(
        parse_pnpm_lock(
            "/p/pnpm-lock.yaml",
            b"lockfileVersion: '9.0'\npackages:\n  a@1: [\n",
        )
        .unwrap_err(),
    );
    assert!(
        message.starts_with("pnpm-lock.yaml: /p/pnpm-lock.yaml:") && message.contains("line"),
        "{message}"
    );
    assert!(parse_pnpm_lock("/p/pnpm-lock.yaml", b"").unwrap().is_empty());
    assert!(parse_pnpm_lock("/p/pnpm-lock.yaml", b"\xff").is_err());
}

#[test]
fn cataloger_paths_and_targets() {
    assert_eq!(JavascriptPackageCataloger.applies(), Applies::Everywhere);
    assert_eq!(JavascriptLockCataloger.applies(), Applies::DirectoriesOnly);
    assert!(JavascriptPackageCataloger.wants_path("/app/node/node_modules/@babel/core/package.json"));
    assert!(!JavascriptPackageCataloger.wants_path("/app/node/package-lock.json"));
    for path in [
        "/a/package-lock.json",
        "/a/npm-shrinkwrap.json",
        "/a/yarn.lock",
        "/a/pnpm-lock.yaml",
    ] {
        assert!(JavascriptLockCataloger.wants_path(path), "{path}");
    }
    assert!(!JavascriptLockCataloger.wants_path("/a/package.json"));
    let found = catalog_fixture(
        &JavascriptLockCataloger,
        "/a/pnpm-lock.yaml",
        "npm/pnpm-lock.v9.yaml",
    );
    assert_eq!(found.len(), 4);
    assert_all_found_by(&found, "javascript-lock-cataloger");
}

#[test]
fn debian_app_node_modules_match_syft() {
    let Some(shared) = shared_dir() else { return };
    let packages = catalog_layer(&shared, NODE_LAYER, &JavascriptPackageCataloger);
    assert_eq!(
        packages.len(),
        53,
        "50 top-level + nested send/node_modules/ms + minimist + the project"
    );
    // Layer 7 deletes node_modules/minimist: what the squash would drop.
    let whiteout = "/app/node/node_modules/minimist/";
    let (deleted, kept): (Vec<Package>, Vec<Package>) = packages
        .into_iter()
        .partition(|p| p.primary_path().starts_with(whiteout));
    assert_eq!(
        sorted_name_versions(&deleted),
        owned_pairs(&[("minimist", "1.2.0")])
    );
    let expected = lang_image::syft_packages(&shared, "npm");
    assert_eq!(expected.len(), 52);
    assert_eq!(sorted_name_versions(&kept), expected);
    let root = kept.iter().find(|p| p.name == "demo-web").unwrap();
    assert_eq!(root.primary_path(), "/app/node/package.json");
    assert_eq!(root.licenses, vec!["UNLICENSED"]);
    let nested = kept
        .iter()
        .find(|p| p.name == "ms" && p.version == "2.1.1")
        .unwrap();
    assert_eq!(
        nested.primary_path(),
        "/app/node/node_modules/send/node_modules/ms/package.json"
    );
    let qs = kept.iter().find(|p| p.name == "qs").unwrap();
    assert_eq!(qs.licenses, vec!["BSD-3-Clause"]);
}

#[test]
fn debian_app_package_lock_matches_node_modules() {
    let Some(shared) = shared_dir() else { return };
    let lock = lang_image::image_file(&shared, NODE_LAYER, "app/node/package-lock.json");
    let from_lock = JavascriptLockCataloger
        .catalog("/app/node/package-lock.json", &lock)
        .unwrap();
    let installed = catalog_layer(&shared, NODE_LAYER, &JavascriptPackageCataloger);
    let without_root: Vec<Package> = installed.into_iter().filter(|p| p.name != "demo-web").collect();
    assert_eq!(from_lock.len(), 52);
    assert_eq!(
        sorted_name_versions(&from_lock),
        sorted_name_versions(&without_root)
    );
    let nested = from_lock
        .iter()
        .find(|p| p.name == "ms" && p.version == "2.1.1")
        .unwrap();
    assert_eq!(
        nested.metadata.get("npm.path").map(String::as_str),
        Some("node_modules/send/node_modules/ms")
    );
}

/// Every prefix of `data`, and `data` with each byte in turn replaced by a structural character.
fn mangled(data: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let prefixes = (0..data.len()).map(|end| data[..end].to_vec());
    let flips = (0..data.len()).step_by(7).map(|at| {
        let mut copy = data.to_vec();
        copy[at] = b"\n:\"{[-@ "[at % 8];
        copy
    });
    prefixes.chain(flips)
}

#[test]
fn mangled_lock_files_never_panic() {
    for (file, parse) in [
        (
            "npm/yarn.v1.lock",
            parse_yarn_lock as fn(&str, &[u8]) -> Result<Vec<Package>, CatalogError>,
        ),
        ("npm/yarn.berry.lock", parse_yarn_lock),
        ("npm/pnpm-lock.v5.yaml", parse_pnpm_lock),
        ("npm/pnpm-lock.v6.yaml", parse_pnpm_lock),
        ("npm/pnpm-lock.v9.yaml", parse_pnpm_lock),
        ("npm/package-lock.v1.json", parse_package_lock),
        ("npm/package-lock.v3.json", parse_package_lock),
    ] {
        let data = fixture(file);
        let mut ok = 0;
        for input in mangled(&data) {
            ok += usize::from(parse("/m/lock", &input).is_ok());
        }
        assert!(ok > 0, "{file}: some prefixes parse");
    }
}
