//! Reading scan targets: container images in every common transport, directories and SBOM files.
//!
//! A [`Target`] is parsed from the user's text, [`open`] turns it into an [`Opened`] source, and an
//! image's layers are walked one at a time, streaming, with every entry's path normalised and
//! bounded by [`Limits`]. Nothing is ever extracted to disk.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive;
mod error;
mod image;
mod oci;
mod registry;
mod target;
mod walk;

pub use error::ArtifactError;
pub use image::{open, History, Image, ImageConfig, ImageMetadata, OpenOptions, Opened, Platform, Progress};
pub use registry::resolve_digest;
pub use target::{RegistryReference, Target, DOCKER_HUB};
pub use walk::{
    walk_directory, walk_file, walk_layer_stream, Entry, EntryKind, EntryStream, Limits, Visitor,
};
