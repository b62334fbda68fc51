//! The error type of this crate. Every variant names the file, entry, layer or URL that failed.

/// Every way reading a target can fail. Each variant names the file, entry, layer or URL.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading or opening a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A document (manifest, config, index, tar header…) does not have the expected shape.
    #[error("malformed {what}: {message}")]
    Malformed {
        /// What was being read, e.g. `manifest.json in img.tar`.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A layer entry whose name is absolute or escapes the root with `..`.
    #[error("unsafe path {entry:?} in layer {layer}: absolute names and `..` components are refused")]
    UnsafePath {
        /// The layer (digest or file) holding the entry.
        layer: String,
        /// The entry name as written in the tar.
        entry: String,
    },
    /// Something is larger than a configured limit.
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large, e.g. `entry /usr/lib/x in layer sha256:…`.
        what: String,
        /// The limit that was exceeded.
        limit: u64,
    },
    /// A layer or compressed archive decompresses to far more bytes than it holds: a
    /// decompression bomb.
    #[error("{what}: decompressed size exceeds {limit} times its compressed size (decompression bomb?)")]
    CompressionRatio {
        /// What was being decompressed: `layer …` or `compressed archive …`.
        what: String,
        /// The configured ratio limit.
        limit: u64,
    },
    /// A blob named by a manifest or index is not present.
    #[error("blob {digest} is missing: expected at {path}")]
    MissingBlob {
        /// The digest the manifest names.
        digest: String,
        /// Where the blob was looked for (file, or member of an archive).
        path: String,
    },
    /// Content does not hash to the digest that names it.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was hashed.
        what: String,
        /// The digest that was expected.
        expected: String,
        /// The digest of the bytes actually read.
        actual: String,
    },
    /// A layer stream ended early (inside a tar header, inside an entry's data, or in the compressed stream).
    #[error("layer {layer} is truncated{}", in_entry(entry))]
    Truncated {
        /// The layer concerned.
        layer: String,
        /// The entry being read when the stream ended; empty when it ended between entries.
        entry: String,
    },
    /// A layer stream could not be decoded (bad compression data or a bad tar header).
    #[error("layer {layer} is corrupt{}: {message}", in_entry(entry))]
    CorruptLayer {
        /// The layer concerned.
        layer: String,
        /// The entry being read; empty when the failure was between entries.
        entry: String,
        /// What went wrong.
        message: String,
    },
    /// A file given as a target is neither an image, a directory nor an SBOM.
    #[error("{path} is not a container image, OCI layout or SBOM: {reason} (to scan one file for secrets or misconfigurations, give it as file:{path})")]
    NotAnImage {
        /// The file concerned.
        path: String,
        /// Why it was not recognised.
        reason: String,
    },
    /// The target text could not be understood.
    #[error("invalid target {input:?}: {message}")]
    InvalidTarget {
        /// The text the user gave.
        input: String,
        /// What is wrong with it.
        message: String,
    },
    /// An image reference does not follow the reference grammar.
    #[error("invalid image reference {input:?}: {message}")]
    InvalidReference {
        /// The reference text.
        input: String,
        /// What is wrong with it.
        message: String,
    },
    /// An image index has no image for the wanted platform.
    #[error("no image for platform {wanted} in {what}; available: {}", available.join(", "))]
    NoMatchingPlatform {
        /// The platform asked for.
        wanted: String,
        /// The platforms the index offers.
        available: Vec<String>,
        /// The index concerned.
        what: String,
    },
    /// A tag asked for is not in an OCI layout's index.
    #[error("tag {tag:?} not found in {path}; available: {}", available.join(", "))]
    TagNotFound {
        /// The tag asked for.
        tag: String,
        /// The layout or archive.
        path: String,
        /// The tags present.
        available: Vec<String>,
    },
    /// A layer index outside the image.
    #[error("layer index {index} out of range: the image has {count} layers")]
    NoSuchLayer {
        /// The index asked for.
        index: usize,
        /// How many layers the image has.
        count: usize,
    },
    /// A registry request failed.
    #[error("registry request {url} failed: {message}")]
    Registry {
        /// The URL requested.
        url: String,
        /// What went wrong (status and body summary).
        message: String,
    },
    /// Authenticating to a registry failed.
    #[error("authentication to {registry} failed: {message}")]
    Auth {
        /// The registry host.
        registry: String,
        /// What went wrong.
        message: String,
    },
}

/// Formats the optional entry part of a layer error message.
fn in_entry(entry: &str) -> String {
    if entry.is_empty() {
        String::new()
    } else {
        format!(" inside entry {entry:?}")
    }
}

impl ArtifactError {
    /// An [`ArtifactError::Io`] for `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> ArtifactError {
        ArtifactError::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`ArtifactError::Malformed`] for `what`.
    pub fn malformed(what: impl Into<String>, message: impl Into<String>) -> ArtifactError {
        ArtifactError::Malformed {
            what: what.into(),
            message: message.into(),
        }
    }
}
