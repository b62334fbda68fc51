//! Test support shared by the Moat crates' tests; used only as a dev-dependency.
//!
//! - [`shared`]: the read-only reference data in `../shared` (`MOAT_SHARED`), with the
//!   `MOAT_NO_SHARED=1` escape hatch.
//! - [`tarball`]: tars, layers, docker archives and OCI layouts built byte by byte, including the
//!   hostile ones the `tar` crate's builder refuses to write.
//! - [`schema`]: validating output against JSON schemas on disk.
//! - [`registry`]: a real registry (Debian's `docker-registry`) on 127.0.0.1, fed with `skopeo`.
//!
//! Everything here panics on failure, naming what failed: a broken fixture is a failed test.
//! The crate depends on no other Moat crate, so any of them (moat-artifact's own unit tests
//! included) can use it without a dependency cycle.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod podman;
pub mod registry;
pub mod schema;
pub mod shared;
pub mod tarball;
