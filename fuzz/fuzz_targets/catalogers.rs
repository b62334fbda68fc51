//! Every cataloger on arbitrary bytes under each file name the catalogers look for: lock files
//! and manifests without a dedicated target (poetry.lock, Pipfile.lock, uv.lock, Gemfile.lock,
//! gemspecs, composer.lock, installed.json, go.mod, deps.json, packages.lock.json, pom.properties,
//! the rpm NDB and SQLite databases, …) are reached here. The first byte picks the name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_catalog::registry::{CatalogerSet, TargetKind};
use std::sync::OnceLock;

/// Paths as they appear in real images and source trees, one per format.
const PATHS: &[&str] = &[
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/status.d/base",
    "/lib/apk/db/installed",
    "/var/lib/rpm/Packages",
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/app/requirements.txt",
    "/app/poetry.lock",
    "/app/Pipfile.lock",
    "/app/uv.lock",
    "/usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
    "/usr/lib/python3/site-packages/x-1.0.egg-info/PKG-INFO",
    "/app/package-lock.json",
    "/app/node_modules/x/package.json",
    "/app/yarn.lock",
    "/app/pnpm-lock.yaml",
    "/app/Cargo.lock",
    "/app/go.mod",
    "/usr/bin/tool",
    "/app/lib/app.jar",
    "/app/Gemfile.lock",
    "/usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec",
    "/app/composer.lock",
    "/app/vendor/composer/installed.json",
    "/app/App.deps.json",
    "/app/packages.lock.json",
    "/etc/os-release",
];

fn catalogers() -> &'static CatalogerSet {
    static SET: OnceLock<CatalogerSet> = OnceLock::new();
    SET.get_or_init(|| CatalogerSet::for_target(TargetKind::Directory))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, contents)) = data.split_first() else { return };
    let path = PATHS[usize::from(pick) % PATHS.len()];
    let head = &contents[..contents.len().min(512)];
    for cataloger in catalogers().iter() {
        if cataloger.wants_path(path) || cataloger.wants_content(path, head) {
            let _ = cataloger.catalog(path, contents);
        }
    }
});
