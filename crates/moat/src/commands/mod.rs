//! One module per subcommand.
pub mod admission;
pub mod checks;
pub mod config;
pub mod db;
pub mod policy;
pub mod rules;
pub mod runtime;
pub mod sbom;
pub mod scan;
pub mod version;
