//! Matching the debian-app inventory (catalogued once, outside the timing) against all of the
//! shared OSV and secdb advisories (imported once into a temporary database): the work
//! `moat scan` adds to `moat sbom`.

use criterion::{criterion_group, criterion_main, Criterion};
use moat_artifact::{open, OpenOptions, Opened, Target};
use moat_catalog::{catalog_image, CatalogOptions};
use moat_core::Inventory;
use moat_match::match_inventory;
use moat_testkit::shared::shared_dir;
use moat_vulndb::Store;

fn debian_app_inventory(image: &std::path::Path) -> Inventory {
    let target = Target::parse(&format!("docker-archive:{}", image.display())).expect("target");
    let Opened::Image(opened) = open(&target, &OpenOptions::default()).expect("image opens") else {
        panic!("{} is not an image", image.display());
    };
    catalog_image(&opened, "debian-app", &CatalogOptions::default()).expect("inventory")
}

fn bench_match(c: &mut Criterion) {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("moat.db");
    let mut store = Store::create(&db).expect("database");
    store
        .import(&[shared.join("conformance/osv"), shared.join("conformance/secdb")])
        .expect("import");
    drop(store);
    let store = Store::open(&db).expect("database");
    let inventory = debian_app_inventory(&shared.join("images/debian-app.tar"));
    c.bench_function("match debian-app inventory", |b| {
        b.iter(|| match_inventory(&inventory, &store).expect("match"))
    });
    c.bench_function("open the database", |b| {
        b.iter(|| Store::open(&db).expect("database"))
    });
}

criterion_group!(benches, bench_match);
criterion_main!(benches);
