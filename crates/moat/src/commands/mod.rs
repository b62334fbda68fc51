//! One module per subcommand.
pub mod sbom;
