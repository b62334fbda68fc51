//! Berkeley DB hash databases, as rpm used them for `/var/lib/rpm/Packages` until rpm 4.16
//! (RHEL/CentOS/Rocky/Alma 7 and 8, Amazon Linux 2, older Fedora and SUSE).
//!
//! Hand-written because no crate reads Berkeley DB files, and linking libdb is not an option
//! (licence and unsafe FFI). Layout, as rpm's own read-only reader (`bdb_ro.c`) walks it:
//! page 0 is the hash meta page (magic `0x061561` at byte 12, version at 16, page size at 20,
//! last page at 32, max bucket at 72, 32 `spares` at 96); every other page starts with a 26-byte
//! header (page number at 8, next page at 16, entry count at 20, high-free offset at 22, type at
//! 25) followed by a `u16` offset per entry. Hash pages hold key/value pairs; an item is either
//! inline (`H_KEYDATA` 1: type byte then data) or off-page (`H_OFFPAGE` 3: type, 3 pad bytes,
//! first overflow page, total length); overflow pages (type 7) carry `high-free` bytes of data
//! at byte 26 and chain through their next-page field. Integers are in the writer's byte order,
//! told by the magic.

use crate::cataloger::CatalogError;
use std::collections::HashSet;

const FORMAT: &str = "rpm Berkeley DB";
const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_HASH: u8 = 13;
const PAGE_OVERFLOW: u8 = 7;
const ITEM_KEYDATA: u8 = 1;
const ITEM_OFFPAGE: u8 = 3;

/// The values of a hash database, plus the entries that could not be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BdbValues {
    /// Each value, in bucket order.
    pub values: Vec<Vec<u8>>,
    /// One message per entry or page that was skipped.
    pub problems: Vec<String>,
}

/// The database's geometry, from the meta page.
struct Db<'a> {
    bytes: &'a [u8],
    swapped: bool,
    page_size: usize,
    page_count: usize,
    max_bucket: u32,
    spares: [u32; 32],
}

/// Reads every value of a Berkeley DB hash database held in `bytes`. The meta page must be
/// sound; damaged pages and entries after it are skipped and reported in
/// [`BdbValues::problems`].
pub fn read_hash_values(bytes: &[u8]) -> Result<BdbValues, CatalogError> {
    let db = Db::open(bytes)?;
    let mut out = BdbValues::default();
    let mut visited = HashSet::new();
    for bucket in 0..=db.max_bucket {
        let mut page = db.bucket_page(bucket);
        while let Some(number) = page {
            if !visited.insert(number) {
                out.problems
                    .push(format!("bucket {bucket}: page {number} seen twice (loop)"));
                break;
            }
            page = match db.hash_page(number) {
                Ok(hash_page) => {
                    db.read_pairs(&hash_page, &mut out);
                    hash_page.next
                }
                Err(problem) => {
                    out.problems.push(format!("bucket {bucket}: {problem}"));
                    None
                }
            };
        }
    }
    Ok(out)
}

/// A hash page: its number, the next page of the bucket and its entry offsets.
struct HashPage<'a> {
    number: usize,
    data: &'a [u8],
    next: Option<usize>,
    offsets: Vec<usize>,
}

impl<'a> Db<'a> {
    fn open(bytes: &'a [u8]) -> Result<Db<'a>, CatalogError> {
        let raw_magic = bytes
            .get(12..16)
            .ok_or_else(|| malformed("shorter than a meta page"))?;
        let magic_le = u32::from_le_bytes([raw_magic[0], raw_magic[1], raw_magic[2], raw_magic[3]]);
        let swapped = match magic_le {
            HASH_MAGIC => false,
            m if m.swap_bytes() == HASH_MAGIC => true,
            m if m == BTREE_MAGIC || m.swap_bytes() == BTREE_MAGIC => {
                return Err(malformed(
                    "a btree database, not the hash database rpm uses for Packages",
                ))
            }
            _ => return Err(malformed("no Berkeley DB hash magic")),
        };
        let mut db = Db {
            bytes,
            swapped,
            page_size: 0,
            page_count: 0,
            max_bucket: 0,
            spares: [0; 32],
        };
        let meta = |at: usize| db.u32_at(at).ok_or_else(|| malformed("truncated meta page"));
        let version = meta(16)?;
        if !(8..=10).contains(&version) {
            return Err(malformed(format!("unsupported hash version {version}")));
        }
        let page_size = meta(20)? as usize;
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(malformed(format!("bad page size {page_size}")));
        }
        let last_page = meta(32)? as usize;
        let max_bucket = meta(72)?;
        let mut spares = [0u32; 32];
        for (i, spare) in spares.iter_mut().enumerate() {
            *spare = meta(96 + 4 * i)?;
        }
        let page_count = (bytes.len() / page_size).min(last_page.saturating_add(1));
        if max_bucket as usize >= page_count {
            return Err(malformed(format!(
                "max bucket {max_bucket} but only {page_count} pages"
            )));
        }
        db.page_size = page_size;
        db.page_count = page_count;
        db.max_bucket = max_bucket;
        db.spares = spares;
        Ok(db)
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        read_u32(self.bytes, at, self.swapped)
    }

    fn u16_in(&self, page: &[u8], at: usize) -> Option<usize> {
        let b = page.get(at..at + 2)?;
        let value = if self.swapped {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        };
        Some(value as usize)
    }

    /// The first page of a bucket: `bucket + spares[bit length of bucket]`.
    fn bucket_page(&self, bucket: u32) -> Option<usize> {
        let bits = (u32::BITS - bucket.leading_zeros()) as usize;
        let page = u64::from(bucket) + u64::from(*self.spares.get(bits)?);
        usize::try_from(page).ok()
    }

    fn page(&self, number: usize) -> Result<&'a [u8], String> {
        if number == 0 || number >= self.page_count {
            return Err(format!(
                "page {number} is outside the database ({} pages)",
                self.page_count
            ));
        }
        let start = number * self.page_size;
        let page = self
            .bytes
            .get(start..start + self.page_size)
            .ok_or(format!("page {number} is truncated"))?;
        let stored = read_u32(page, 8, self.swapped).unwrap_or(u32::MAX) as usize;
        if stored != number {
            return Err(format!("page {number} says it is page {stored}"));
        }
        Ok(page)
    }

    fn next_of(&self, page: &[u8]) -> Option<usize> {
        read_u32(page, 16, self.swapped)
            .filter(|&n| n != 0)
            .map(|n| n as usize)
    }

    fn hash_page(&self, number: usize) -> Result<HashPage<'a>, String> {
        let data = self.page(number)?;
        let kind = data.get(25).copied().unwrap_or(0);
        if kind != PAGE_HASH && kind != PAGE_HASH_UNSORTED {
            return Err(format!("page {number} has type {kind}, not a hash page"));
        }
        let max_entries = (self.page_size - PAGE_HEADER) / 2;
        let count = self.u16_in(data, 20).unwrap_or(0).min(max_entries);
        let offsets = (0..count)
            .filter_map(|i| self.u16_in(data, PAGE_HEADER + 2 * i))
            .collect();
        Ok(HashPage {
            number,
            data,
            next: self.next_of(data),
            offsets,
        })
    }

    /// Reads the value of each key/value pair on a page (keys sit at even entries).
    fn read_pairs(&self, page: &HashPage<'_>, out: &mut BdbValues) {
        let min_offset = PAGE_HEADER + 2 * page.offsets.len();
        for pair in 0..page.offsets.len() / 2 {
            let key_offset = page.offsets[2 * pair];
            let value_offset = page.offsets[2 * pair + 1];
            let bounds_ok = key_offset >= min_offset
                && value_offset >= min_offset
                && key_offset < self.page_size
                && value_offset < key_offset;
            if !bounds_ok {
                out.problems
                    .push(format!("page {}: entry {pair} has bad offsets", page.number));
                continue;
            }
            let item = &page.data[value_offset..key_offset];
            match self.item_value(item) {
                Ok(value) => out.values.push(value),
                Err(problem) => out
                    .problems
                    .push(format!("page {}: entry {pair}: {problem}", page.number)),
            }
        }
    }

    fn item_value(&self, item: &[u8]) -> Result<Vec<u8>, String> {
        match item.first().copied() {
            Some(ITEM_KEYDATA) => Ok(item[1..].to_vec()),
            Some(ITEM_OFFPAGE) => {
                let first = read_u32(item, 4, self.swapped).ok_or("truncated off-page item")? as usize;
                let total = read_u32(item, 8, self.swapped).ok_or("truncated off-page item")? as usize;
                self.overflow(first, total)
            }
            Some(other) => Err(format!("unsupported item type {other}")),
            None => Err("empty item".to_string()),
        }
    }

    /// Follows an overflow chain, collecting exactly `total` bytes.
    fn overflow(&self, first: usize, total: usize) -> Result<Vec<u8>, String> {
        if total == 0 || total > self.bytes.len() {
            return Err(format!("overflow length {total} is impossible"));
        }
        let mut out = Vec::with_capacity(total);
        let mut next = Some(first);
        let mut steps = 0usize;
        while out.len() < total {
            let number = next.ok_or("overflow chain ends early")?;
            steps += 1;
            if steps > self.page_count {
                return Err("overflow chain loops".to_string());
            }
            let page = self.page(number)?;
            if page.get(25) != Some(&PAGE_OVERFLOW) {
                return Err(format!("page {number} is not an overflow page"));
            }
            let len = self.u16_in(page, 22).unwrap_or(0);
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + len)
                .ok_or(format!("overflow page {number} overruns"))?;
            if out.len() + chunk.len() > total {
                return Err(format!(
                    "overflow page {number} holds more than the item's length"
                ));
            }
            out.extend_from_slice(chunk);
            next = self.next_of(page);
            if chunk.is_empty() && out.len() < total {
                return Err(format!("overflow page {number} is empty"));
            }
        }
        Ok(out)
    }
}

fn read_u32(bytes: &[u8], at: usize, swapped: bool) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if swapped {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn malformed(message: impl Into<String>) -> CatalogError {
    CatalogError::malformed(FORMAT, message)
}
