//! Language ecosystem catalogers.
use crate::cataloger::Cataloger;

pub mod dotnet;
pub mod go;
pub mod java;
pub mod npm;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;

/// The last component of a `/`-separated path: the file name that lock and manifest catalogers
/// match on.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every language cataloger, in registry order.
pub fn catalogers() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(rust::CargoLockCataloger),
        Box::new(rust::CargoAuditableCataloger),
        Box::new(go::GoBinaryCataloger),
        Box::new(go::GoModCataloger),
        Box::new(java::JavaArchiveCataloger),
        Box::new(dotnet::DotnetDepsCataloger),
        Box::new(dotnet::DotnetPackagesLockCataloger),
        Box::new(python::PythonInstalledCataloger),
        Box::new(python::PythonPackageCataloger),
        Box::new(npm::JavascriptPackageCataloger),
        Box::new(npm::JavascriptLockCataloger),
        Box::new(ruby::RubyGemspecCataloger),
        Box::new(ruby::RubyGemfileLockCataloger),
        Box::new(php::PhpInstalledCataloger),
        Box::new(php::PhpComposerLockCataloger),
    ]
}
