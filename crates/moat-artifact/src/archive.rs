//! Random access to the members of an outer tar (docker-archive, OCI archive).
//!
//! Member offsets are indexed once; members are then read with `File` + seek, so a layer is never
//! held in memory. A compressed outer tar (`img.tar.gz`) cannot be seeked, so it is first
//! decompressed to a temporary file, bounded by [`Limits`].

use crate::error::ArtifactError;
use crate::walk::{decompressor, peek_magic, Compression, Limits};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Most symlink hops followed when resolving a member name.
const MAX_LINK_HOPS: usize = 8;
/// Buffer size for member readers.
const READ_BUFFER: usize = 64 * 1024;
/// Why a file whose first block is not a tar header is refused. The `tar` crate's own message
/// would quote that block's bytes.
pub(crate) const NOT_A_TAR: &str = "not a tar archive (it does not start with a valid tar header)";

/// One member of the outer tar.
#[derive(Debug, Clone)]
struct Member {
    offset: u64,
    size: u64,
    /// For symlinks and hard links: the member they point at (normalised name).
    link: Option<String>,
}

/// An indexed, seekable tar file.
#[derive(Debug)]
pub(crate) struct TarFile {
    /// The plain tar to read (the user's file, or a decompressed temporary copy).
    path: PathBuf,
    /// The user's file, for messages.
    shown: String,
    /// Keeps the temporary copy alive (deleted on drop).
    _temp: Option<tempfile::TempPath>,
    members: BTreeMap<String, Member>,
}

impl TarFile {
    /// Opens and indexes `path`, decompressing it to a temporary file first when it is gzip or zstd.
    pub(crate) fn open(path: &Path, limits: &Limits) -> Result<TarFile, ArtifactError> {
        let shown = path.display().to_string();
        let mut file = File::open(path).map_err(|e| ArtifactError::io(&shown, e))?;
        let mut magic = Vec::new();
        (&mut file)
            .take(4)
            .read_to_end(&mut magic)
            .map_err(|e| ArtifactError::io(&shown, e))?;
        let (plain, temp) = match Compression::detect(&magic) {
            Compression::None => (path.to_path_buf(), None),
            _ => {
                let temp = decompress_to_temp(path, &shown, limits)?;
                (temp.to_path_buf(), Some(temp))
            }
        };
        let members = index_members(&plain, &shown, limits)?;
        Ok(TarFile {
            path: plain,
            shown,
            _temp: temp,
            members,
        })
    }

    /// The user's file name, for messages.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// `Ok(true)` when the archive has a member of that name that leads to data, `Ok(false)` when
    /// it has none; a member that is a broken link (a loop, too long a chain, a missing target) is
    /// an error naming the links, not a missing member.
    pub(crate) fn contains(&self, name: &str) -> Result<bool, ArtifactError> {
        if !self.members.contains_key(&normalise_member(name)) {
            return Ok(false);
        }
        self.resolve(name).map(|_| true)
    }

    /// Follows links to the member holding the data; a missing member is [`ArtifactError::MissingBlob`].
    fn resolve(&self, name: &str) -> Result<&Member, ArtifactError> {
        let mut chain = vec![normalise_member(name)];
        loop {
            let current = chain.last().map(String::as_str).unwrap_or_default();
            let member = self
                .members
                .get(current)
                .ok_or_else(|| ArtifactError::MissingBlob {
                    digest: name.to_string(),
                    path: format!("{} in {}", current, self.shown),
                })?;
            let Some(target) = &member.link else {
                return Ok(member);
            };
            let looped = chain.contains(target);
            chain.push(target.clone());
            let problem = if looped {
                "is a link loop"
            } else if chain.len() > MAX_LINK_HOPS {
                "is a chain of too many links"
            } else {
                continue;
            };
            let links: Vec<String> = chain.iter().map(|m| format!("{m:?}")).collect();
            return Err(ArtifactError::malformed(
                format!("tar archive {}", self.shown),
                format!("member {name:?} {problem}: {}", links.join(" -> ")),
            ));
        }
    }

    /// Size of a member.
    pub(crate) fn size(&self, name: &str) -> Result<u64, ArtifactError> {
        Ok(self.resolve(name)?.size)
    }

    /// Reads a whole member of at most `max` bytes.
    pub(crate) fn read_small(&self, name: &str, max: u64) -> Result<Vec<u8>, ArtifactError> {
        let size = self.size(name)?;
        if size > max {
            return Err(ArtifactError::TooLarge {
                what: format!("{name} in {}", self.shown),
                limit: max,
            });
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.reader(name)?
            .read_to_end(&mut data)
            .map_err(|e| ArtifactError::io(format!("{name} in {}", self.shown), e))?;
        Ok(data)
    }

    /// A buffered reader over one member that errors if the file ends before the member does.
    pub(crate) fn reader(&self, name: &str) -> Result<Box<dyn Read + Send>, ArtifactError> {
        let member = self.resolve(name)?;
        let what = format!("{name} in {}", self.shown);
        let mut file = File::open(&self.path).map_err(|e| ArtifactError::io(&self.shown, e))?;
        file.seek(SeekFrom::Start(member.offset))
            .map_err(|e| ArtifactError::io(&what, e))?;
        let reader = ExactReader {
            inner: file.take(member.size),
            remaining: member.size,
        };
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, reader)))
    }
}

/// A reader that turns an early EOF into [`io::ErrorKind::UnexpectedEof`].
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "archive member ends {} bytes early (truncated archive?)",
                    self.remaining
                ),
            ));
        }
        self.remaining = self.remaining.saturating_sub(n as u64);
        Ok(n)
    }
}

/// Strips `./` and leading `/` from a member name.
fn normalise_member(name: &str) -> String {
    name.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Resolves a link target relative to the directory of the member holding it.
fn link_member(member: &str, target: &str) -> String {
    if target.starts_with('/') {
        return normalise_member(target);
    }
    let mut parts: Vec<&str> = member.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Lists member offsets with `entries_with_seek` (skips data without reading it).
fn index_members(
    plain: &Path,
    shown: &str,
    limits: &Limits,
) -> Result<BTreeMap<String, Member>, ArtifactError> {
    let file = File::open(plain).map_err(|e| ArtifactError::io(shown, e))?;
    let file_len = file.metadata().map_err(|e| ArtifactError::io(shown, e))?.len();
    let malformed = |message: String| ArtifactError::malformed(format!("tar archive {shown}"), message);
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries_with_seek()
        .map_err(|e| malformed(e.to_string()))?;
    let mut members = BTreeMap::new();
    for (count, entry) in entries.enumerate() {
        let entry = match entry {
            Ok(entry) => entry,
            // The tar crate reports a bad header as `Other`, quoting its bytes: not shown.
            Err(e) if count == 0 && e.kind() == io::ErrorKind::Other => {
                return Err(ArtifactError::NotAnImage {
                    path: shown.to_string(),
                    reason: NOT_A_TAR.to_string(),
                })
            }
            Err(e) => return Err(malformed(e.to_string())),
        };
        if count as u64 >= limits.max_entries {
            return Err(ArtifactError::TooLarge {
                what: format!("number of members of {shown}"),
                limit: limits.max_entries,
            });
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = normalise_member(&raw_name);
        let (offset, size) = (entry.raw_file_position(), entry.size());
        if offset.saturating_add(size) > file_len {
            return Err(malformed(format!(
                "member {raw_name:?} extends past the end of the file (truncated archive?)"
            )));
        }
        let entry_type = entry.header().entry_type();
        let link = match entry_type {
            tar::EntryType::Symlink => Some(link_member(&name, &link_name(&entry))),
            tar::EntryType::Link => Some(normalise_member(&link_name(&entry))),
            _ => None,
        };
        if entry_type.is_file() || link.is_some() {
            members.insert(name, Member { offset, size, link });
        }
    }
    Ok(members)
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    entry
        .link_name_bytes()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Decompresses a gzip/zstd outer archive into a temporary file, bounded by the layer limits.
fn decompress_to_temp(
    path: &Path,
    shown: &str,
    limits: &Limits,
) -> Result<tempfile::TempPath, ArtifactError> {
    let file = File::open(path).map_err(|e| ArtifactError::io(shown, e))?;
    let compressed = file.metadata().map_err(|e| ArtifactError::io(shown, e))?.len();
    let (compression, stream) = peek_magic(BufReader::new(file)).map_err(|e| ArtifactError::io(shown, e))?;
    let mut reader = decompressor(compression, stream).map_err(|e| ArtifactError::io(shown, e))?;
    let by_ratio = compressed.saturating_mul(limits.max_ratio).max(1 << 20);
    let bound = limits.max_layer_bytes.min(by_ratio);
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| ArtifactError::io(std::env::temp_dir().display().to_string(), e))?;
    let (mut out, temp_path) = temp.into_parts();
    let copied = io::copy(&mut (&mut reader).take(bound.saturating_add(1)), &mut out)
        .map_err(|e| decompress_error(shown, e))?;
    if copied > bound {
        if bound == limits.max_layer_bytes {
            return Err(ArtifactError::TooLarge {
                what: format!("decompressed size of {shown}"),
                limit: limits.max_layer_bytes,
            });
        }
        return Err(ArtifactError::CompressionRatio {
            what: format!("compressed archive {shown}"),
            limit: limits.max_ratio,
        });
    }
    Ok(temp_path)
}

/// A failure to decompress the outer archive (not a layer: the layer variants would call it one).
fn decompress_error(shown: &str, error: io::Error) -> ArtifactError {
    let message = if error.kind() == io::ErrorKind::UnexpectedEof {
        "the compressed stream ends early (truncated file?)".to_string()
    } else {
        error.to_string()
    };
    ArtifactError::malformed(format!("compressed archive {shown}"), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_and_links() {
        assert_eq!(normalise_member("./a//b"), "a/b");
        assert_eq!(link_member("x/layer.tar", "../y/layer.tar"), "y/layer.tar");
        assert_eq!(link_member("blobs/sha256/a", "b"), "blobs/sha256/b");
    }
}
