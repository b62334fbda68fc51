//! The rpm header blob as the rpm database stores it (no lead, no magic): a big-endian index
//! count and data length, that many 16-byte index entries (tag, type, offset, count), then the
//! data store. Only the few tags a package inventory needs are decoded.
//!
//! Hand-written: the rpm crates on crates.io read whole `.rpm` files (lead + signature + header)
//! rather than bare database blobs, and pull in compression stacks this needs none of.

use crate::cataloger::CatalogError;
use serde::Serialize;

const FORMAT: &str = "rpm header";

/// Largest index count rpm itself accepts (`hdrchkTags`).
const MAX_INDEX_ENTRIES: usize = 0xffff;
/// Largest data store rpm itself accepts (`hdrchkData`).
const MAX_DATA_LEN: usize = 0x0fff_ffff;
const ENTRY_LEN: usize = 16;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_SIZE: i32 = 1009;
const TAG_VENDOR: i32 = 1011;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;
const TAG_LONGSIZE: i32 = 5009;

const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The facts read from one installed package's header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `EPOCH`, when the package has one.
    pub epoch: Option<u32>,
    /// `ARCH`.
    pub arch: String,
    /// `SOURCERPM` file name (`openssl-1.1.1k-1.el8.src.rpm`); empty for source and pubkey
    /// headers.
    pub source_rpm: String,
    /// `LICENSE`.
    pub license: String,
    /// `VENDOR`.
    pub vendor: String,
    /// `SIZE` (or `LONGSIZE`): installed size in bytes.
    pub size: Option<u64>,
}

impl RpmHeader {
    /// `[epoch:]version-release`; an epoch of 0 is left out, as rpm prints it.
    pub fn full_version(&self) -> String {
        let base = if self.release.is_empty() {
            self.version.clone()
        } else {
            format!("{}-{}", self.version, self.release)
        };
        match self.epoch {
            Some(epoch) if epoch > 0 => format!("{epoch}:{base}"),
            _ => base,
        }
    }
}

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: i32,
    kind: u32,
    offset: usize,
}

/// Parses a header blob. Every offset and count is checked against the blob; a malformed blob
/// is an error, never a panic.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, CatalogError> {
    let index_count = be_u32(blob, 0).ok_or_else(|| malformed("shorter than 8 bytes"))? as usize;
    let data_len = be_u32(blob, 4).ok_or_else(|| malformed("shorter than 8 bytes"))? as usize;
    if index_count == 0 || index_count > MAX_INDEX_ENTRIES {
        return Err(malformed(format!("index count {index_count} out of range")));
    }
    if data_len > MAX_DATA_LEN {
        return Err(malformed(format!("data length {data_len} out of range")));
    }
    let data_start = 8 + index_count * ENTRY_LEN;
    let data = blob.get(data_start..data_start + data_len).ok_or_else(|| {
        malformed(format!(
            "{index_count} entries and {data_len} data bytes exceed the {}-byte blob",
            blob.len()
        ))
    })?;
    let mut header = RpmHeader::default();
    for index in 0..index_count {
        let entry = read_entry(blob, 8 + index * ENTRY_LEN)?;
        if entry.offset >= data.len() && is_wanted(entry.tag) {
            return Err(malformed(format!("tag {} points past the data store", entry.tag)));
        }
        apply(&mut header, entry, data);
    }
    if header.name.is_empty() {
        return Err(malformed("no NAME tag"));
    }
    if header.version.is_empty() {
        return Err(malformed(format!("{}: no VERSION tag", header.name)));
    }
    Ok(header)
}

fn malformed(message: impl Into<String>) -> CatalogError {
    CatalogError::malformed(FORMAT, message)
}

fn is_wanted(tag: i32) -> bool {
    matches!(
        tag,
        TAG_NAME
            | TAG_VERSION
            | TAG_RELEASE
            | TAG_EPOCH
            | TAG_SIZE
            | TAG_VENDOR
            | TAG_LICENSE
            | TAG_ARCH
            | TAG_SOURCERPM
            | TAG_LONGSIZE
    )
}

fn read_entry(blob: &[u8], at: usize) -> Result<Entry, CatalogError> {
    let field = |delta: usize| be_u32(blob, at + delta).ok_or_else(|| malformed("truncated index entry"));
    Ok(Entry {
        tag: field(0)? as i32,
        kind: field(4)?,
        offset: field(8)? as usize,
    })
}

fn apply(header: &mut RpmHeader, entry: Entry, data: &[u8]) {
    let text = || string_at(data, entry);
    match entry.tag {
        TAG_NAME => header.name = text(),
        TAG_VERSION => header.version = text(),
        TAG_RELEASE => header.release = text(),
        TAG_ARCH => header.arch = text(),
        TAG_SOURCERPM => header.source_rpm = text(),
        TAG_LICENSE => header.license = text(),
        TAG_VENDOR => header.vendor = text(),
        TAG_EPOCH => header.epoch = integer_at(data, entry).and_then(|e| u32::try_from(e).ok()),
        TAG_SIZE if header.size.is_none() => header.size = integer_at(data, entry),
        TAG_LONGSIZE => header.size = integer_at(data, entry),
        _ => {}
    }
}

/// The first string of a STRING, STRING_ARRAY or I18NSTRING entry; empty for other types.
fn string_at(data: &[u8], entry: Entry) -> String {
    if !matches!(entry.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
        return String::new();
    }
    let Some(rest) = data.get(entry.offset..) else {
        return String::new();
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// The first value of an integer entry.
fn integer_at(data: &[u8], entry: Entry) -> Option<u64> {
    let at = entry.offset;
    match entry.kind {
        TYPE_INT16 => data
            .get(at..at + 2)
            .map(|b| u64::from(u16::from_be_bytes([b[0], b[1]]))),
        TYPE_INT32 => be_u32(data, at).map(u64::from),
        TYPE_INT64 => data
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes),
        _ => None,
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    slice.try_into().ok().map(u32::from_be_bytes)
}

/// Splits a source rpm file name into (name, `version-release`):
/// `openssl-1.1.1k-1.el8.src.rpm` gives (`openssl`, `1.1.1k-1.el8`). `None` when it does not
/// have that shape.
pub fn split_source_rpm(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".rpm")?;
    let stem = stem
        .strip_suffix(".src")
        .or_else(|| stem.strip_suffix(".nosrc"))
        .unwrap_or(stem);
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_string(), format!("{version}-{release}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_source_rpm("openssl-1.1.1k-1.el8.src.rpm"),
            Some(("openssl".into(), "1.1.1k-1.el8".into()))
        );
        assert_eq!(
            split_source_rpm("python3-pip-21.2.3-7.el9.src.rpm"),
            Some(("python3-pip".into(), "21.2.3-7.el9".into()))
        );
        assert_eq!(split_source_rpm("nonsense"), None);
        assert_eq!(split_source_rpm("a-b.rpm"), None);
    }

    #[test]
    fn rejects_short_and_oversized_blobs() {
        assert!(parse_header(&[]).is_err());
        assert!(parse_header(&[0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(parse_header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn full_version_leaves_out_epoch_zero() {
        let mut h = RpmHeader {
            version: "1.1.1k".into(),
            release: "1.el8".into(),
            ..RpmHeader::default()
        };
        assert_eq!(h.full_version(), "1.1.1k-1.el8");
        h.epoch = Some(0);
        assert_eq!(h.full_version(), "1.1.1k-1.el8");
        h.epoch = Some(1);
        assert_eq!(h.full_version(), "1:1.1.1k-1.el8");
    }
}
