//! One module per subcommand.
pub mod sbom;
pub mod version;
