//! PHP catalogers: Composer's installed.json and composer.lock.

mod lang_image;

use lang_image::{
    assert_all_found_by, catalog_fixture, fixture, for_each_fixture_prefix, owned_pairs, sorted_name_versions,
};
use moat_catalog::cataloger::{Applies, CatalogError, Cataloger};
use moat_catalog::lang::php::{
    parse_composer_lock, parse_installed_json, PhpComposerLockCataloger, PhpInstalledCataloger,
};

#[test]
fn installed_json_v2_golden() {
    let path = "/var/www/vendor/composer/installed.json";
    let packages = parse_installed_json(path, &fixture("php/installed.v2.json")).unwrap();
    insta::assert_json_snapshot!("php_installed_v2", packages);
    let expected = owned_pairs(&[
        ("monolog/monolog", "3.5.0"),
        ("phpunit/phpunit", "10.5.5"),
        ("psr/log", "3.0.0"),
        ("symfony/polyfill-mbstring", "v1.28.0"),
    ]);
    assert_eq!(sorted_name_versions(&packages), expected);
    let phpunit = packages.iter().find(|p| p.name == "phpunit/phpunit").unwrap();
    assert_eq!(phpunit.metadata.get("php.dev").map(String::as_str), Some("true"));
    assert_eq!(phpunit.licenses, vec!["BSD-3-Clause"]);
}

#[test]
fn installed_json_v1_array() {
    let packages = parse_installed_json(
        "/app/vendor/composer/installed.json",
        &fixture("php/installed.v1.json"),
    )
    .unwrap();
    assert_eq!(
        sorted_name_versions(&packages),
        owned_pairs(&[
            ("guzzlehttp/guzzle", "6.5.5"),
            ("paragonie/random_compat", "v9.99.100")
        ])
    );
    let random = packages
        .iter()
        .find(|p| p.name == "paragonie/random_compat")
        .unwrap();
    assert_eq!(
        random.licenses,
        vec!["MIT"],
        "a single licence string is accepted"
    );
}

#[test]
fn composer_lock_golden() {
    let packages = parse_composer_lock("/app/composer.lock", &fixture("php/composer.lock")).unwrap();
    insta::assert_json_snapshot!("php_composer_lock", packages);
    assert_eq!(packages.len(), 4);
    let dev: Vec<&str> = packages
        .iter()
        .filter(|p| p.metadata.contains_key("php.dev"))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(dev, vec!["mockery/mockery"]);
}

#[test]
fn malformed_files_are_errors_with_position() {
    let err = parse_composer_lock(
        "/app/composer.lock",
        b"{\n  \"packages\": [\n    {\"name\": }\n]}",
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CatalogError::Malformed {
            format: "composer.lock",
            ..
        }
    ));
    assert!(
        err.to_string().contains("/app/composer.lock") && err.to_string().contains("line 3"),
        "{err}"
    );
    let err = parse_installed_json("/v/composer/installed.json", b"{\"packages\": 5}").unwrap_err();
    assert!(err.to_string().contains("not an array"), "{err}");
    assert!(parse_installed_json("/v/composer/installed.json", b"\"text\"").is_err());
    assert!(parse_composer_lock("/app/composer.lock", b"[]").is_err());
}

#[test]
fn cataloger_paths_and_targets() {
    assert_eq!(PhpInstalledCataloger.applies(), Applies::Everywhere);
    assert_eq!(PhpComposerLockCataloger.applies(), Applies::DirectoriesOnly);
    assert!(PhpInstalledCataloger.wants_path("/var/www/html/vendor/composer/installed.json"));
    assert!(!PhpInstalledCataloger.wants_path("/var/www/html/vendor/composer/installed.php"));
    assert!(PhpComposerLockCataloger.wants_path("/var/www/html/composer.lock"));
    assert!(!PhpComposerLockCataloger.wants_path("/var/www/html/composer.json"));
    let found = catalog_fixture(&PhpComposerLockCataloger, "/a/composer.lock", "php/composer.lock");
    assert_all_found_by(&found, "php-composer-lock-cataloger");
}

#[test]
fn truncated_inputs_never_panic() {
    let files = [
        "php/installed.v1.json",
        "php/installed.v2.json",
        "php/composer.lock",
    ];
    for_each_fixture_prefix(&files, |prefix| {
        let _ = parse_installed_json("/v/composer/installed.json", prefix);
        let _ = parse_composer_lock("/v/composer.lock", prefix);
    });
}
