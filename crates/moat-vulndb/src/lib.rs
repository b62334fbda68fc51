//! The advisory store: OSV records (and Alpine secdb entries turned into OSV records), the KEV
//! catalog and EPSS scores, kept in one SQLite file and queried by (ecosystem, package).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod osv;
