//! Ruby catalogers: installed gemspecs and Gemfile.lock.

mod lang_image;

use lang_image::{
    assert_all_found_by, catalog_fixture, fixture, for_each_fixture_prefix, owned_pairs, sorted_name_versions,
};
use moat_catalog::cataloger::{Applies, CatalogError, Cataloger};
use moat_catalog::lang::ruby::{
    parse_gemfile_lock, parse_gemspec, RubyGemfileLockCataloger, RubyGemspecCataloger,
};

const SPECS: &str = "/usr/local/bundle/specifications";

#[test]
fn installed_gemspec_golden() {
    let path = format!("{SPECS}/rack-2.2.8.gemspec");
    let packages = catalog_fixture(&RubyGemspecCataloger, &path, "ruby/rack-2.2.8.gemspec");
    insta::assert_json_snapshot!("ruby_rack_gemspec", packages);
    assert_eq!(sorted_name_versions(&packages), owned_pairs(&[("rack", "2.2.8")]));
    assert_eq!(packages[0].licenses, vec!["MIT"]);
}

#[test]
fn platform_gemspec_keeps_platform_in_metadata() {
    let path = format!("{SPECS}/nokogiri-1.15.5-x86_64-linux.gemspec");
    let p = parse_gemspec(&path, &fixture("ruby/nokogiri-1.15.5-x86_64-linux.gemspec")).unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str()), ("nokogiri", "1.15.5"));
    assert_eq!(p.licenses, vec!["MIT", "Apache-2.0"]);
    assert_eq!(
        p.metadata.get("gem.platform").map(String::as_str),
        Some("x86_64-linux")
    );
}

#[test]
fn stub_line_is_the_fallback_for_non_literal_assignments() {
    let p = parse_gemspec(
        "/g/specifications/bundler-2.4.22.gemspec",
        &fixture("ruby/stub-only.gemspec"),
    )
    .unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str()), ("bundler", "2.4.22"));
    assert_eq!(p.licenses, vec!["MIT"]);
}

#[test]
fn gemspec_without_name_is_an_error() {
    let err = parse_gemspec(
        "/g/specifications/x.gemspec",
        b"Gem::Specification.new do |s|\n  s.version = \"1.0\"\nend\n",
    )
    .unwrap_err();
    assert!(matches!(err, CatalogError::Malformed { .. }));
    assert!(
        err.to_string().contains("/g/specifications/x.gemspec") && err.to_string().contains("name"),
        "{err}"
    );
    assert!(parse_gemspec("/g/specifications/x.gemspec", b"\xff\xfe\x00").is_err());
}

#[test]
fn gemspec_paths() {
    assert_eq!(RubyGemspecCataloger.applies(), Applies::Everywhere);
    assert!(RubyGemspecCataloger.wants_path("/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec"));
    assert!(RubyGemspecCataloger
        .wants_path("/usr/share/rubygems-integration/all/specifications/rexml-3.2.5.gemspec"));
    assert!(
        !RubyGemspecCataloger.wants_path("/src/mygem/mygem.gemspec"),
        "a source gemspec is not an installed gem"
    );
}

#[test]
fn gemfile_lock_golden() {
    let packages = parse_gemfile_lock("/app/Gemfile.lock", &fixture("ruby/Gemfile.lock")).unwrap();
    insta::assert_json_snapshot!("ruby_gemfile_lock", packages);
    let got: Vec<(String, String, Option<String>)> = packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.metadata.get("gem.platform").cloned(),
            )
        })
        .collect();
    let nokogiri: Vec<_> = got.iter().filter(|(n, _, _)| n == "nokogiri").collect();
    assert_eq!(nokogiri.len(), 2, "one per platform");
    assert!(nokogiri.iter().all(|(_, v, _)| v == "1.15.5"));
    assert_eq!(
        packages.len(),
        9,
        "GIT, PATH and GEM specs; dependency lines are not packages"
    );
    assert!(!got.iter().any(|(n, _, _)| n == "ruby" || n == "x86_64-linux"));
}

#[test]
fn gemfile_lock_errors_name_the_line() {
    let lock = b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack 2.2.8\n";
    let err = parse_gemfile_lock("/app/Gemfile.lock", lock).unwrap_err();
    assert!(
        err.to_string().contains("line 4") && err.to_string().contains("/app/Gemfile.lock"),
        "{err}"
    );
    assert!(parse_gemfile_lock("/app/Gemfile.lock", b"GEM\n\xff").is_err());
}

#[test]
fn gemfile_lock_cataloger() {
    assert_eq!(RubyGemfileLockCataloger.applies(), Applies::DirectoriesOnly);
    assert!(RubyGemfileLockCataloger.wants_path("/app/Gemfile.lock"));
    assert!(!RubyGemfileLockCataloger.wants_path("/app/Gemfile"));
    let found = catalog_fixture(
        &RubyGemfileLockCataloger,
        "/app/Gemfile.lock",
        "ruby/Gemfile.lock",
    );
    assert_all_found_by(&found, "ruby-gemfile-lock-cataloger");
}

#[test]
fn truncated_inputs_never_panic() {
    let gemspecs = [
        "ruby/rack-2.2.8.gemspec",
        "ruby/nokogiri-1.15.5-x86_64-linux.gemspec",
    ];
    for_each_fixture_prefix(&gemspecs, |prefix| {
        let _ = parse_gemspec("/g/specifications/x.gemspec", prefix);
    });
    for_each_fixture_prefix(&["ruby/Gemfile.lock"], |prefix| {
        let _ = parse_gemfile_lock("/app/Gemfile.lock", prefix);
    });
}
