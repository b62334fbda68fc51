//! The advisory store: OSV records (and Alpine secdb entries turned into OSV records), the KEV
//! catalog and EPSS scores, kept in one SQLite file and queried by (ecosystem, package).
//!
//! [`Store::import`] reads files, directories and zip archives (OSV JSON and YAML, Alpine and
//! Wolfi secdb, CISA KEV, FIRST EPSS) in one transaction; [`update::update`] downloads OSV's
//! per-ecosystem archives and swaps the rebuilt database in atomically.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod feeds;
mod import;
mod input;
pub mod osv;
pub mod parse;
mod secdb;
mod store;
pub mod update;
pub mod validate;

pub use error::DbError;
pub use import::{ImportProblem, ImportSummary};
pub use store::{default_path, SourceStatus, Status, Store, SCHEMA_VERSION};
