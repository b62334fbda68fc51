//! Entries of a layer or directory, and the bounded walks that produce them.
//!
//! A layer is read in one streaming pass: compressed bytes → decompressor (picked by magic bytes)
//! → a counter that enforces [`Limits`] → the `tar` crate. Only the bytes a visitor asks for with
//! [`Entry::head`] or [`Entry::contents`] are buffered. Entry names are normalised; absolute names
//! and names that climb above the root with `..` are refused with [`ArtifactError::UnsafePath`]
//! (Docker would silently re-root them, but such entries only come from hostile or broken tars).
//!
//! Truncation: the `tar` crate reports EOF inside a header, but a short entry body only shows up
//! as a short read, so every entry is drained and its length checked. A stream that ends cleanly
//! at a header boundary (no end-of-archive blocks) or inside the padding after the last entry's
//! data (what umoci 0.4 writes) is accepted; anything else is [`ArtifactError::Truncated`].

use crate::error::ArtifactError;
use crate::image::Progress;
use std::cell::Cell;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Bytes of an entry kept by [`Entry::head`].
const HEAD_LEN: u64 = 512;
/// Tar block size.
const BLOCK: u64 = 512;
/// Below this many decompressed bytes the compression ratio is not checked (tiny layers of
/// empty files compress extremely well and are harmless).
const RATIO_FLOOR: u64 = 1 << 20;
/// Deepest directory nesting [`walk_directory`] descends into.
const MAX_DIR_DEPTH: usize = 256;

/// Bounds applied to everything read from a layer or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single entry read into memory by [`Entry::contents`] (default 512 MiB).
    pub max_file_size: u64,
    /// Largest decompressed size of one layer, and of a compressed outer archive (default 32 GiB).
    pub max_layer_bytes: u64,
    /// Most entries in one layer or directory walk (default 5 000 000).
    pub max_entries: u64,
    /// Largest ratio of decompressed to compressed bytes (default 10 000: a legitimate file of
    /// zeros already compresses about 1000:1 under gzip); checked once a layer has produced
    /// more than 1 MiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_size: 512 << 20,
            max_layer_bytes: 32 << 30,
            max_entries: 5_000_000,
            max_ratio: 10_000,
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link; the target exactly as stored.
    Symlink {
        /// The link target as written (relative or absolute, not resolved).
        target: String,
    },
    /// A hard link to an earlier entry.
    Hardlink {
        /// The normalised absolute path of the linked entry.
        target: String,
    },
    /// A whiteout: the entry's path names a file or directory deleted from lower layers.
    Whiteout,
    /// An opaque-directory marker: the entry's path names a directory whose lower contents are hidden.
    OpaqueDir,
    /// Devices, FIFOs, sockets.
    Other,
}

/// Where an entry's bytes come from.
enum EntryData<'a> {
    /// The body of a tar entry; I/O errors are mapped by `errors` (given the entry path).
    Stream {
        reader: &'a mut dyn Read,
        errors: &'a dyn Fn(io::Error, &str) -> ArtifactError,
    },
    /// A file on disk, opened on first read.
    File { path: PathBuf, file: Option<File> },
    /// No data (directories, links, whiteouts).
    Empty,
}

/// One entry of a layer or directory walk.
pub struct Entry<'a> {
    path: String,
    kind: EntryKind,
    mode: u32,
    size: u64,
    data: EntryData<'a>,
    /// Bytes read so far (a prefix of the entry).
    buffer: Vec<u8>,
    /// Bytes consumed from `data` and thrown away (only by [`Entry::finish`]).
    discarded: u64,
    max_file_size: u64,
}

impl<'a> Entry<'a> {
    fn new(path: String, kind: EntryKind, mode: u32, size: u64, data: EntryData<'a>) -> Self {
        Entry {
            path,
            kind,
            mode,
            size,
            data,
            buffer: Vec::new(),
            discarded: 0,
            max_file_size: Limits::default().max_file_size,
        }
    }

    /// The absolute normalised path, e.g. `/usr/bin/x`: never contains `..`, `//` or a trailing `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What the entry is.
    pub fn kind(&self) -> &EntryKind {
        &self.kind
    }

    /// Permission bits (`0o7777` mask).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Size of the entry's data in bytes (0 for anything but files).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first `min(size, 512)` bytes, read once and kept.
    pub fn head(&mut self) -> Result<&[u8], ArtifactError> {
        let want = self.size.min(HEAD_LEN);
        self.fill(want)?;
        let end = usize::try_from(want).unwrap_or(usize::MAX).min(self.buffer.len());
        Ok(self.buffer.get(..end).unwrap_or(&[]))
    }

    /// The whole file (including the head). [`ArtifactError::TooLarge`] if the entry is larger
    /// than `limit` or than [`Limits::max_file_size`].
    pub fn contents(&mut self, limit: u64) -> Result<Vec<u8>, ArtifactError> {
        let limit = limit.min(self.max_file_size);
        if self.size > limit {
            return Err(ArtifactError::TooLarge {
                what: format!("file {}", self.path),
                limit,
            });
        }
        self.fill(self.size)?;
        if (self.buffer.len() as u64) < self.size {
            let streamed = io::Error::other("the entry was already read as a stream");
            return Err(self.map_error(streamed, &self.path));
        }
        Ok(self.buffer.clone())
    }

    /// Reads the whole file as a stream (the bytes already read first), without keeping it in
    /// memory: for files too large for [`Entry::contents`]. After streaming, `contents` fails for
    /// files larger than what was buffered before. Errors from the stream can be turned into
    /// [`ArtifactError`]s that name the layer and entry with [`Entry::stream_error`].
    pub fn stream(&mut self) -> EntryStream<'_, 'a> {
        EntryStream {
            entry: self,
            position: 0,
        }
    }

    /// The [`ArtifactError`] for an I/O error met while reading this entry's [`Entry::stream`].
    pub fn stream_error(&self, error: io::Error) -> ArtifactError {
        self.map_error(error, &self.path)
    }

    /// Reads until `buffer` holds `want` bytes (or the whole entry).
    fn fill(&mut self, want: u64) -> Result<(), ArtifactError> {
        let have = self.buffer.len() as u64;
        if have >= want || self.discarded > 0 {
            return Ok(());
        }
        let missing = want - have;
        let reserve = usize::try_from(missing.min(1 << 20)).unwrap_or(0);
        self.buffer.reserve(reserve);
        let read = match open_reader(&mut self.data)? {
            Some(reader) => reader.take(missing).read_to_end(&mut self.buffer),
            None => return Ok(()),
        };
        match read {
            Ok(n) if n as u64 == missing => Ok(()),
            Ok(_) => Err(self.short_read()),
            Err(e) => Err(self.map_error(e, &self.path)),
        }
    }

    fn map_error(&self, error: io::Error, entry: &str) -> ArtifactError {
        match &self.data {
            EntryData::Stream { errors, .. } => errors(error, entry),
            EntryData::File { path, .. } => ArtifactError::io(path.display().to_string(), error),
            EntryData::Empty => ArtifactError::io(entry, error),
        }
    }

    /// The error for an entry whose data ended before its declared size.
    fn short_read(&self) -> ArtifactError {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "entry data ends early");
        self.map_error(eof, &self.path)
    }

    /// Reads and discards what the visitor left unread, checking the entry is complete.
    fn finish(&mut self) -> Result<(), ArtifactError> {
        if !matches!(self.data, EntryData::Stream { .. }) {
            return Ok(());
        }
        let consumed = self.buffer.len() as u64 + self.discarded;
        let missing = self.size.saturating_sub(consumed);
        if missing == 0 {
            return Ok(());
        }
        let copied = match open_reader(&mut self.data)? {
            Some(reader) => io::copy(&mut reader.take(missing), &mut io::sink()),
            None => Ok(0),
        };
        match copied {
            Ok(n) if n == missing => {
                self.discarded += n;
                Ok(())
            }
            Ok(_) => Err(self.short_read()),
            Err(e) => Err(self.map_error(e, &self.path)),
        }
    }
}

/// A reader over an entry's whole data: the bytes [`Entry`] already holds, then the rest, read
/// straight from the layer or file without being kept.
pub struct EntryStream<'e, 'a> {
    entry: &'e mut Entry<'a>,
    position: usize,
}

impl Read for EntryStream<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let entry = &mut *self.entry;
        if let Some(held) = entry.buffer.get(self.position..).filter(|rest| !rest.is_empty()) {
            let n = held.len().min(out.len());
            out[..n].copy_from_slice(&held[..n]);
            self.position += n;
            return Ok(n);
        }
        let consumed = entry.buffer.len() as u64 + entry.discarded;
        let missing = entry.size.saturating_sub(consumed);
        if missing == 0 || out.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(missing).unwrap_or(usize::MAX).min(out.len());
        let reader = match open_reader(&mut entry.data) {
            Ok(Some(reader)) => reader,
            Ok(None) => return Ok(0),
            Err(err) => return Err(io::Error::other(err.to_string())),
        };
        let n = reader.read(&mut out[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "entry data ends early",
            ));
        }
        entry.discarded += n as u64;
        Ok(n)
    }
}

/// The reader behind an entry's data, opening the file if needed; `None` for entries without data.
fn open_reader<'d>(data: &'d mut EntryData<'_>) -> Result<Option<&'d mut dyn Read>, ArtifactError> {
    match data {
        EntryData::Stream { reader, .. } => Ok(Some(&mut **reader)),
        EntryData::File { path, file } => {
            if file.is_none() {
                let opened =
                    File::open(&*path).map_err(|e| ArtifactError::io(path.display().to_string(), e))?;
                *file = Some(opened);
            }
            Ok(file.as_mut().map(|f| f as &mut dyn Read))
        }
        EntryData::Empty => Ok(None),
    }
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("size", &self.size)
            .finish()
    }
}

/// Which limit stopped a layer stream.
#[derive(Debug, Clone, Copy)]
enum LimitHit {
    Bytes,
    Ratio,
}

/// Counters shared by the readers of one layer stream.
#[derive(Default)]
struct StreamState {
    compressed: Cell<u64>,
    decompressed: Cell<u64>,
    eof: Cell<bool>,
    limit: Cell<Option<LimitHit>>,
}

/// Counts compressed bytes and reports them as progress.
struct CompressedCounter<'p, R> {
    inner: R,
    state: Rc<StreamState>,
    progress: Option<&'p dyn Progress>,
}

impl<R: Read> Read for CompressedCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.compressed.set(self.state.compressed.get() + n as u64);
        if let Some(p) = self.progress {
            if n > 0 {
                p.advance(n as u64);
            }
        }
        Ok(n)
    }
}

/// Counts decompressed bytes, notes EOF and enforces the size and ratio limits.
struct DecompressedCounter<R> {
    inner: R,
    state: Rc<StreamState>,
    limits: Limits,
    check_ratio: bool,
}

impl<R: Read> Read for DecompressedCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.state.eof.set(true);
        }
        let total = self.state.decompressed.get() + n as u64;
        self.state.decompressed.set(total);
        if total > self.limits.max_layer_bytes {
            return Err(self.hit(LimitHit::Bytes));
        }
        let allowed = self
            .state
            .compressed
            .get()
            .max(1)
            .saturating_mul(self.limits.max_ratio);
        if self.check_ratio && total > RATIO_FLOOR && total > allowed {
            return Err(self.hit(LimitHit::Ratio));
        }
        Ok(n)
    }
}

impl<R> DecompressedCounter<R> {
    fn hit(&self, what: LimitHit) -> io::Error {
        self.state.limit.set(Some(what));
        io::Error::other("layer limit exceeded")
    }
}

/// Compression detected from a stream's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Detects gzip (`1f 8b`) and zstd (`28 b5 2f fd`) magic numbers.
    pub(crate) fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Reads up to 4 bytes and returns them with a reader that yields the whole stream again.
pub(crate) fn peek_magic<R: Read>(mut reader: R) -> io::Result<(Compression, impl Read)> {
    let mut magic = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut magic)?;
    let compression = Compression::detect(&magic);
    Ok((compression, io::Cursor::new(magic).chain(reader)))
}

/// Wraps `reader` in the decompressor for `compression`.
pub(crate) fn decompressor<'r, R: Read + 'r>(
    compression: Compression,
    reader: R,
) -> io::Result<Box<dyn Read + 'r>> {
    Ok(match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
    })
}

/// Context for turning stream I/O errors into errors naming the layer and entry.
struct LayerContext<'l> {
    label: &'l str,
    limits: Limits,
    state: Rc<StreamState>,
}

impl LayerContext<'_> {
    fn error(&self, error: io::Error, entry: &str) -> ArtifactError {
        let layer = self.label.to_string();
        match self.state.limit.get() {
            Some(LimitHit::Bytes) => {
                return ArtifactError::TooLarge {
                    what: format!("decompressed size of layer {layer}"),
                    limit: self.limits.max_layer_bytes,
                }
            }
            Some(LimitHit::Ratio) => {
                return ArtifactError::CompressionRatio {
                    what: format!("layer {layer}"),
                    limit: self.limits.max_ratio,
                }
            }
            None => {}
        }
        let entry = entry.to_string();
        if error.kind() == io::ErrorKind::UnexpectedEof || self.state.eof.get() {
            ArtifactError::Truncated { layer, entry }
        } else {
            ArtifactError::CorruptLayer {
                layer,
                entry,
                message: error.to_string(),
            }
        }
    }

    /// True when the stream ended inside the padding after the last entry's data: accepted.
    fn ended_in_padding(&self, last_data_end: u64) -> bool {
        let end = self.state.decompressed.get();
        let padded = last_data_end.div_ceil(BLOCK).saturating_mul(BLOCK);
        self.state.eof.get() && self.state.limit.get().is_none() && end >= last_data_end && end < padded
    }
}

/// The visitor callback of every walk.
pub type Visitor<'v> = dyn FnMut(&mut Entry<'_>) -> Result<(), ArtifactError> + 'v;

/// Walks a layer blob given as a byte stream (gzip, zstd or plain tar, detected by magic bytes),
/// calling `visit` for each entry in tar order. `label` names the layer in errors.
pub fn walk_layer_stream(
    reader: impl Read,
    label: &str,
    limits: &Limits,
    visit: &mut Visitor<'_>,
) -> Result<(), ArtifactError> {
    walk_layer_with_progress(reader, label, limits, None, visit)
}

/// [`walk_layer_stream`] reporting compressed bytes consumed to `progress`.
pub(crate) fn walk_layer_with_progress(
    reader: impl Read,
    label: &str,
    limits: &Limits,
    progress: Option<&dyn Progress>,
    visit: &mut Visitor<'_>,
) -> Result<(), ArtifactError> {
    let context = LayerContext {
        label,
        limits: *limits,
        state: Rc::default(),
    };
    let counted = CompressedCounter {
        inner: reader,
        state: context.state.clone(),
        progress,
    };
    let (compression, stream) = peek_magic(counted).map_err(|e| context.error(e, ""))?;
    let decoded = decompressor(compression, stream).map_err(|e| context.error(e, ""))?;
    let limited = DecompressedCounter {
        inner: decoded,
        state: context.state.clone(),
        limits: *limits,
        check_ratio: compression != Compression::None,
    };
    let mut archive = tar::Archive::new(limited);
    let entries = archive.entries().map_err(|e| context.error(e, ""))?;
    walk_tar_entries(entries, &context, limits, visit)?;
    if compression != Compression::None {
        // Read the compressed stream to its end so a missing or bad gzip trailer (checksum,
        // length) or a cut zstd frame after the tar's end-of-archive blocks is still reported.
        io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| context.error(e, ""))?;
    }
    Ok(())
}

/// The entry loop of a layer walk.
fn walk_tar_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    context: &LayerContext<'_>,
    limits: &Limits,
    visit: &mut Visitor<'_>,
) -> Result<(), ArtifactError> {
    let mut count: u64 = 0;
    let mut last_data_end: u64 = 0;
    let errors = |e: io::Error, entry: &str| context.error(e, entry);
    for item in entries {
        let mut tar_entry = match item {
            Ok(entry) => entry,
            Err(_) if context.ended_in_padding(last_data_end) => break,
            Err(e) => return Err(context.error(e, "")),
        };
        count += 1;
        if count > limits.max_entries {
            return Err(ArtifactError::TooLarge {
                what: format!("number of entries in layer {}", context.label),
                limit: limits.max_entries,
            });
        }
        let name = String::from_utf8_lossy(&tar_entry.path_bytes()).into_owned();
        let size = tar_entry.size();
        last_data_end = tar_entry.raw_file_position().saturating_add(size);
        let classified = classify(&tar_entry, &name, context.label)?;
        let mode = tar_entry.header().mode().unwrap_or(0) & 0o7777;
        let visible = classified.is_some();
        let (path, kind) = classified.unwrap_or((name, EntryKind::Other));
        let data = EntryData::Stream {
            reader: &mut tar_entry,
            errors: &errors,
        };
        let mut entry = Entry::new(path, kind, mode, size, data);
        entry.max_file_size = limits.max_file_size;
        if visible {
            visit(&mut entry)?;
        }
        entry.finish()?;
    }
    Ok(())
}

/// Normalised path and kind of a tar entry; `None` for entries not shown to visitors.
fn classify<R: Read>(
    entry: &tar::Entry<'_, R>,
    name: &str,
    layer: &str,
) -> Result<Option<(String, EntryKind)>, ArtifactError> {
    let entry_type = entry.header().entry_type();
    if entry_type.is_pax_global_extensions() {
        return Ok(None);
    }
    let Some(path) = normalise_entry_path(name, layer)? else {
        return Ok(None);
    };
    let (parent, base) = split_parent(&path);
    if let Some(hidden) = base.strip_prefix(".wh.") {
        if hidden == ".wh..opq" {
            return Ok(Some((parent.to_string(), EntryKind::OpaqueDir)));
        }
        if hidden.starts_with(".wh.") || hidden.is_empty() {
            return Ok(None);
        }
        return Ok(Some((join_path(parent, hidden), EntryKind::Whiteout)));
    }
    let kind = match entry_type {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink {
            target: link_target(entry),
        },
        tar::EntryType::Link => {
            let raw = link_target(entry);
            let shown = format!("{name} -> {raw}");
            let target = normalise_entry_path(&raw, layer)
                .map_err(|_| ArtifactError::UnsafePath {
                    layer: layer.to_string(),
                    entry: shown,
                })?
                .ok_or_else(|| {
                    ArtifactError::malformed(
                        format!("layer {layer}"),
                        format!("hard link {name:?} points at the root"),
                    )
                })?;
            EntryKind::Hardlink { target }
        }
        _ => EntryKind::Other,
    };
    Ok(Some((path, kind)))
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    entry
        .link_name_bytes()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Splits `/a/b/c` into (`/a/b`, `c`); the parent of `/c` is `/`.
fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", path.get(1..).unwrap_or("")),
        Some(i) => (path.get(..i).unwrap_or("/"), path.get(i + 1..).unwrap_or("")),
        None => ("/", path),
    }
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Normalises a tar entry name to an absolute path (`./usr/bin/` → `/usr/bin`); `None` for the
/// root itself. Absolute names and names escaping the root with `..` are [`ArtifactError::UnsafePath`].
pub(crate) fn normalise_entry_path(name: &str, layer: &str) -> Result<Option<String>, ArtifactError> {
    let unsafe_path = || ArtifactError::UnsafePath {
        layer: layer.to_string(),
        entry: name.to_string(),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(unsafe_path)?;
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        // The root itself (`./`, or `/` as umoci writes it): not shown, not unsafe.
        return Ok(None);
    }
    if name.starts_with('/') {
        return Err(unsafe_path());
    }
    Ok(Some(format!("/{}", parts.join("/"))))
}

/// Walks a directory tree (never following symlinks out of it, never crossing into /proc, /sys, /dev
/// when root is "/", other mounts are allowed), giving entries with paths relative to root made
/// absolute ("/etc/os-release"). Unreadable files/dirs go to `warn(path, message)` and the walk
/// goes on. Entries come depth-first, siblings sorted by name, so the order is stable.
pub fn walk_directory(
    root: &Path,
    limits: &Limits,
    visit: &mut Visitor<'_>,
    warn: &mut dyn FnMut(&str, &str),
) -> Result<(), ArtifactError> {
    let meta = fs::metadata(root).map_err(|e| ArtifactError::io(root.display().to_string(), e))?;
    if !meta.is_dir() {
        return Err(ArtifactError::io(
            root.display().to_string(),
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let is_system_root = root.canonicalize().map(|p| p == Path::new("/")).unwrap_or(false);
    let mut walker = DirWalker {
        limits: *limits,
        is_system_root,
        seen_dirs: HashSet::from([(meta.dev(), meta.ino())]),
        count: 0,
        stack: Vec::new(),
    };
    walker.push_children(root, "", 0, warn);
    while let Some(item) = walker.stack.pop() {
        walker.visit_item(item, visit, warn)?;
    }
    Ok(())
}

/// Gives one regular file to `visit` as an entry named `/<file name>`, read lazily from disk
/// (the single-file counterpart of [`walk_directory`]).
pub fn walk_file(path: &Path, limits: &Limits, visit: &mut Visitor<'_>) -> Result<(), ArtifactError> {
    let shown = path.display().to_string();
    let meta = fs::metadata(path).map_err(|e| ArtifactError::io(&shown, e))?;
    if !meta.is_file() {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(ArtifactError::io(&shown, error));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let data = EntryData::File {
        path: path.to_path_buf(),
        file: None,
    };
    let mut entry = Entry::new(format!("/{name}"), EntryKind::File, meta.mode(), meta.len(), data);
    entry.max_file_size = limits.max_file_size;
    visit(&mut entry)
}

/// A pending directory-walk entry.
struct DirItem {
    full: PathBuf,
    rel: String,
    depth: usize,
}

struct DirWalker {
    limits: Limits,
    is_system_root: bool,
    seen_dirs: HashSet<(u64, u64)>,
    count: u64,
    stack: Vec<DirItem>,
}

impl DirWalker {
    /// Pushes the children of `dir`, sorted, so that they pop in name order.
    fn push_children(&mut self, dir: &Path, rel: &str, depth: usize, warn: &mut dyn FnMut(&str, &str)) {
        let shown = if rel.is_empty() { "/" } else { rel };
        let reader = match fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => return warn(shown, &format!("cannot read directory: {e}")),
        };
        let mut names = Vec::new();
        for item in reader {
            match item {
                Ok(entry) => names.push(entry.file_name()),
                Err(e) => warn(shown, &format!("cannot list directory: {e}")),
            }
        }
        names.sort();
        for name in names.into_iter().rev() {
            let child_rel = format!("{rel}/{}", name.to_string_lossy());
            if self.is_system_root && depth == 0 && is_pseudo_fs(&child_rel) {
                continue;
            }
            self.stack.push(DirItem {
                full: dir.join(&name),
                rel: child_rel,
                depth: depth + 1,
            });
        }
    }

    fn visit_item(
        &mut self,
        item: DirItem,
        visit: &mut Visitor<'_>,
        warn: &mut dyn FnMut(&str, &str),
    ) -> Result<(), ArtifactError> {
        let meta = match fs::symlink_metadata(&item.full) {
            Ok(m) => m,
            Err(e) => {
                warn(&item.rel, &format!("cannot stat: {e}"));
                return Ok(());
            }
        };
        self.count += 1;
        if self.count > self.limits.max_entries {
            return Err(ArtifactError::TooLarge {
                what: "number of entries in the directory walk".to_string(),
                limit: self.limits.max_entries,
            });
        }
        let file_type = meta.file_type();
        let mode = meta.mode() & 0o7777;
        let (kind, size, data) = if file_type.is_symlink() {
            let target = match fs::read_link(&item.full) {
                Ok(t) => t.to_string_lossy().into_owned(),
                Err(e) => {
                    warn(&item.rel, &format!("cannot read link: {e}"));
                    String::new()
                }
            };
            (EntryKind::Symlink { target }, 0, EntryData::Empty)
        } else if file_type.is_dir() {
            (EntryKind::Dir, 0, EntryData::Empty)
        } else if file_type.is_file() {
            let data = EntryData::File {
                path: item.full.clone(),
                file: None,
            };
            (EntryKind::File, meta.len(), data)
        } else {
            (EntryKind::Other, 0, EntryData::Empty)
        };
        let mut entry = Entry::new(item.rel.clone(), kind, mode, size, data);
        entry.max_file_size = self.limits.max_file_size;
        visit(&mut entry)?;
        if file_type.is_dir() {
            self.descend(&item, &meta, warn);
        }
        Ok(())
    }

    /// Queues a directory's children unless it is too deep or was already seen (bind-mount loops).
    fn descend(&mut self, item: &DirItem, meta: &fs::Metadata, warn: &mut dyn FnMut(&str, &str)) {
        if item.depth >= MAX_DIR_DEPTH {
            warn(
                &item.rel,
                &format!("not descending: deeper than {MAX_DIR_DEPTH} levels"),
            );
            return;
        }
        if !self.seen_dirs.insert((meta.dev(), meta.ino())) {
            warn(
                &item.rel,
                "not descending: directory already visited (mount loop)",
            );
            return;
        }
        self.push_children(&item.full, &item.rel, item.depth, warn);
    }
}

fn is_pseudo_fs(rel: &str) -> bool {
    matches!(rel, "/proc" | "/sys" | "/dev")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        let n = |s| normalise_entry_path(s, "l").ok().flatten();
        assert_eq!(n("./usr/bin/"), Some("/usr/bin".to_string()));
        assert_eq!(n("a//b/./c"), Some("/a/b/c".to_string()));
        assert_eq!(n("a/../b"), Some("/b".to_string()));
        assert_eq!(n("./"), None);
        assert_eq!(n("/"), None);
        assert!(normalise_entry_path("../x", "l").is_err());
        assert!(normalise_entry_path("a/../../x", "l").is_err());
        assert!(normalise_entry_path("/abs", "l").is_err());
    }

    #[test]
    fn splits_parents() {
        assert_eq!(split_parent("/a"), ("/", "a"));
        assert_eq!(split_parent("/a/b/c"), ("/a/b", "c"));
    }

    fn map_io(e: io::Error, entry: &str) -> ArtifactError {
        ArtifactError::io(entry.to_string(), e)
    }

    fn stream_entry<'a>(reader: &'a mut &[u8], size: u64) -> Entry<'a> {
        Entry::new(
            "/f".to_string(),
            EntryKind::File,
            0o644,
            size,
            EntryData::Stream {
                reader,
                errors: &map_io,
            },
        )
    }

    #[test]
    fn streams_held_bytes_then_the_rest_and_reports_short_data() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        let mut reader: &[u8] = &data;
        let mut entry = stream_entry(&mut reader, data.len() as u64 + 3);
        assert_eq!(entry.head().unwrap().len(), 512);
        let mut out = Vec::new();
        let err = entry.stream().read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(out, data, "everything there was, in order, before the error");
        assert!(
            entry.contents(1 << 20).is_err(),
            "contents after streaming is refused"
        );
    }

    #[test]
    fn detects_compression() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(Compression::detect(b"usr/"), Compression::None);
        assert_eq!(Compression::detect(&[]), Compression::None);
    }
}
