//! rpm's own "ndb" package database, `Packages.db` (SUSE and openSUSE since rpm 4.16).
//!
//! Hand-written because no crate reads it. Layout (rpm's `lib/backend/ndb/rpmpkg.c`), all
//! integers little-endian: a 32-byte header (magic `RpmP`, version 0, generation, number of slot
//! pages, next package index); then the slot pages (4096 bytes each; on page 0 the slots start
//! after the header), each slot 16 bytes: magic `Slot`, package index, block offset, block count
//! (offset 0 = free slot). Blocks are 16 bytes; a blob at `offset * 16` starts with magic `BlbS`,
//! package index, timestamp and length, followed by the header blob and a 12-byte tail
//! (adler32, length, magic `BlbE`).

use crate::cataloger::CatalogError;

const FORMAT: &str = "rpm ndb";
const HEADER_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
const PAGE_SIZE: usize = 4096;
const BLOB_HEAD_SIZE: usize = 16;
const BLOB_TAIL_SIZE: usize = 12;

/// The package blobs of an ndb database, plus the slots that could not be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NdbBlobs {
    /// (package index, header blob), in slot order.
    pub blobs: Vec<(u32, Vec<u8>)>,
    /// One message per slot that was skipped.
    pub problems: Vec<String>,
}

/// One used slot.
struct Slot {
    number: usize,
    package: u32,
    block_offset: usize,
    block_count: usize,
}

/// Reads every package blob of an ndb `Packages.db` held in `bytes`.
pub fn read_blobs(bytes: &[u8]) -> Result<NdbBlobs, CatalogError> {
    if le_u32(bytes, 0) != Some(HEADER_MAGIC) {
        return Err(malformed("no `RpmP` magic"));
    }
    let version = le_u32(bytes, 4).ok_or_else(|| malformed("truncated header"))?;
    if version != 0 {
        return Err(malformed(format!("unsupported version {version}")));
    }
    let slot_pages = le_u32(bytes, 12).ok_or_else(|| malformed("truncated header"))? as usize;
    if slot_pages == 0 || slot_pages.saturating_mul(PAGE_SIZE) > bytes.len() {
        return Err(malformed(format!(
            "{slot_pages} slot pages do not fit in {} bytes",
            bytes.len()
        )));
    }
    let mut out = NdbBlobs::default();
    for slot in used_slots(bytes, slot_pages, &mut out.problems) {
        match blob(bytes, &slot) {
            Ok(blob) => out.blobs.push((slot.package, blob.to_vec())),
            Err(problem) => out.problems.push(format!(
                "slot {} (package {}): {problem}",
                slot.number, slot.package
            )),
        }
    }
    Ok(out)
}

fn used_slots(bytes: &[u8], slot_pages: usize, problems: &mut Vec<String>) -> Vec<Slot> {
    let mut slots = Vec::new();
    let end = slot_pages * PAGE_SIZE;
    for (number, at) in (HEADER_SIZE..end).step_by(SLOT_SIZE).enumerate() {
        let field = |delta: usize| le_u32(bytes, at + delta).unwrap_or(0);
        if field(0) != SLOT_MAGIC {
            problems.push(format!("slot {number}: bad magic"));
            continue;
        }
        let (package, block_offset, block_count) = (field(4), field(8) as usize, field(12) as usize);
        if block_offset == 0 {
            continue;
        }
        slots.push(Slot {
            number,
            package,
            block_offset,
            block_count,
        });
    }
    slots
}

fn blob<'a>(bytes: &'a [u8], slot: &Slot) -> Result<&'a [u8], String> {
    let start = slot
        .block_offset
        .checked_mul(BLOCK_SIZE)
        .ok_or("block offset overflows")?;
    let span = slot
        .block_count
        .checked_mul(BLOCK_SIZE)
        .ok_or("block count overflows")?;
    let region = start
        .checked_add(span)
        .and_then(|end| bytes.get(start..end))
        .ok_or("blob lies past the end of the file")?;
    if le_u32(region, 0) != Some(BLOB_MAGIC) {
        return Err("bad blob magic".to_string());
    }
    if le_u32(region, 4) != Some(slot.package) {
        return Err("blob belongs to another package".to_string());
    }
    let len = le_u32(region, 12).ok_or("truncated blob head")? as usize;
    if BLOB_HEAD_SIZE + len + BLOB_TAIL_SIZE > region.len() {
        return Err(format!(
            "blob length {len} exceeds its {} blocks",
            slot.block_count
        ));
    }
    Ok(&region[BLOB_HEAD_SIZE..BLOB_HEAD_SIZE + len])
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn malformed(message: impl Into<String>) -> CatalogError {
    CatalogError::malformed(FORMAT, message)
}
