//! SPDX JSON: writing 2.3 and reading 2.2/2.3.
//!
//! The document describes one root package (the scanned image or directory) that CONTAINS every
//! package found plus the operating system. Licences that are not SPDX ids or valid expressions
//! become `LicenseRef-<sanitised text>` with a `hasExtractedLicensingInfos` entry holding the text,
//! which the reader maps back.

mod model;
mod read;
mod write;

pub(crate) use read::read;
pub(crate) use write::write;

/// The document's own SPDX id.
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
/// The value for "not stated".
const NOASSERTION: &str = "NOASSERTION";
/// Base of generated document namespaces. `.invalid` is reserved (RFC 2606), so the URI can never
/// collide with a real site; the namespace only has to be a unique URI.
const NAMESPACE_BASE: &str = "https://moat.invalid/spdx";
