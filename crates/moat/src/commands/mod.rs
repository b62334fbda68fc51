//! One module per subcommand.
pub mod db;
pub mod sbom;
pub mod scan;
pub mod version;
