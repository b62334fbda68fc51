//! Helpers shared by the OS cataloger tests: the shared test images, a map of support files, and
//! minimal writers for rpm header blobs and the Berkeley DB and ndb database formats (written
//! from the format descriptions in the catalogers' module docs, for test fixtures only).
#![allow(dead_code)]

use moat_catalog::cataloger::SupportFiles;
use std::collections::BTreeMap;
use std::io::Read;

#[allow(unused_imports)] // not every test file that includes this module needs it
pub use moat_testkit::shared::shared_dir;

/// Files of a docker-archive image (`manifest.json` + gzip layer tars) that match `want`, as the
/// top-most layer that has each one holds them (no whiteout handling: tests pick files that are
/// never deleted).
pub fn image_files(image: &std::path::Path, want: &dyn Fn(&str) -> bool) -> BTreeMap<String, Vec<u8>> {
    let outer = std::fs::read(image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    let members = tar_members(&outer, &|_| true);
    let manifest: serde_json::Value =
        serde_json::from_slice(&members["manifest.json"]).expect("manifest.json");
    let layers = manifest[0]["Layers"].as_array().expect("Layers").clone();
    let mut found = BTreeMap::new();
    for layer in layers {
        let name = layer.as_str().expect("layer name");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(members[name].as_slice())
            .read_to_end(&mut plain)
            .expect("gunzip layer");
        for (path, data) in tar_members(&plain, &|p| want(&format!("/{p}"))) {
            found.insert(format!("/{path}"), data);
        }
    }
    found
}

fn tar_members(bytes: &[u8], want: &dyn Fn(&str) -> bool) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .expect("path")
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        if want(&path) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read member");
            out.insert(path, data);
        }
    }
    out
}

/// Support files held in a map.
#[derive(Default)]
pub struct MapSupport(pub BTreeMap<String, Vec<u8>>);

impl MapSupport {
    /// A view holding `(path, text)` pairs.
    pub fn of(files: &[(&str, &str)]) -> MapSupport {
        MapSupport(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
        )
    }
}

impl SupportFiles for MapSupport {
    fn get(&self, path: &str) -> Option<&[u8]> {
        self.0.get(path).map(Vec::as_slice)
    }
}

/// A value for a header tag.
pub enum TagValue<'a> {
    Str(&'a str),
    I18n(&'a str),
    Int32(u32),
}

/// Builds an rpm header blob (index count, data length, entries, data store) with an
/// immutable-region tag first, as rpm stores headers in its database.
pub fn header_blob(tags: &[(i32, TagValue<'_>)]) -> Vec<u8> {
    let mut entries: Vec<(i32, u32, u32, u32)> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, value) in tags {
        match value {
            TagValue::Str(s) | TagValue::I18n(s) => {
                let kind = if matches!(value, TagValue::Str(_)) { 6 } else { 9 };
                entries.push((*tag, kind, data.len() as u32, 1));
                data.extend_from_slice(s.as_bytes());
                data.push(0);
            }
            TagValue::Int32(n) => {
                while !data.len().is_multiple_of(4) {
                    data.push(0);
                }
                entries.push((*tag, 4, data.len() as u32, 1));
                data.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
    // Region trailer: tag 63, BIN, negative offset of the region's index, count 16.
    let index_count = entries.len() as u32 + 1;
    let trailer_offset = data.len() as u32;
    data.extend_from_slice(&63i32.to_be_bytes());
    data.extend_from_slice(&7u32.to_be_bytes());
    data.extend_from_slice(&(-(index_count as i32 * 16)).to_be_bytes());
    data.extend_from_slice(&16u32.to_be_bytes());
    entries.insert(0, (63, 7, trailer_offset, 16));
    let mut blob = Vec::new();
    blob.extend_from_slice(&index_count.to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for (tag, kind, offset, count) in entries {
        blob.extend_from_slice(&tag.to_be_bytes());
        blob.extend_from_slice(&kind.to_be_bytes());
        blob.extend_from_slice(&offset.to_be_bytes());
        blob.extend_from_slice(&count.to_be_bytes());
    }
    blob.extend_from_slice(&data);
    blob
}

/// A package header with the usual tags.
pub fn package_blob(
    name: &str,
    epoch: Option<u32>,
    version: &str,
    release: &str,
    arch: &str,
    srpm: &str,
    license: &str,
) -> Vec<u8> {
    let mut tags = vec![
        (1000, TagValue::Str(name)),
        (1001, TagValue::Str(version)),
        (1002, TagValue::Str(release)),
        (1004, TagValue::I18n("a test package")),
        (1009, TagValue::Int32(4096)),
        (1011, TagValue::Str("Moat Test Vendor")),
        (1014, TagValue::Str(license)),
        (1022, TagValue::Str(arch)),
        (1044, TagValue::Str(srpm)),
    ];
    if let Some(e) = epoch {
        tags.insert(3, (1003, TagValue::Int32(e)));
    }
    header_blob(&tags)
}

/// Byte order for the Berkeley DB writer.
#[derive(Clone, Copy)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// A minimal Berkeley DB hash writer: `buckets` buckets (a power of two), one hash page per
/// bucket (page `1 + bucket`), every value stored off-page in a chain of overflow pages placed
/// after the bucket pages, keys inline (4-byte record numbers).
pub fn bdb_hash(records: &[(u32, Vec<u8>)], page_size: usize, buckets: u32, endian: Endian) -> Vec<u8> {
    let mut pages: Vec<Vec<u8>> = vec![vec![0; page_size]; 1 + buckets as usize];
    let mut per_bucket: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); buckets as usize];
    for (key, value) in records {
        let first = pages.len() as u32;
        let chunk_len = page_size - 26;
        let chunks: Vec<&[u8]> = value.chunks(chunk_len).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let number = pages.len() as u32;
            let next = if i + 1 < chunks.len() { number + 1 } else { 0 };
            let mut page = vec![0u8; page_size];
            page_header(&mut page, number, next, 1, chunk.len() as u16, 7, endian);
            page[26..26 + chunk.len()].copy_from_slice(chunk);
            pages.push(page);
        }
        per_bucket[(*key % buckets) as usize].push((*key, first, value.len() as u32));
    }
    for (bucket, items) in per_bucket.iter().enumerate() {
        let number = 1 + bucket as u32;
        let page = &mut pages[number as usize];
        let mut high = page_size;
        let mut offsets = Vec::new();
        for (key, first, len) in items {
            high -= 5;
            page[high] = 1;
            page[high + 1..high + 5].copy_from_slice(&endian.u32(*key));
            offsets.push(high as u16);
            high -= 12;
            page[high] = 3;
            page[high + 4..high + 8].copy_from_slice(&endian.u32(*first));
            page[high + 8..high + 12].copy_from_slice(&endian.u32(*len));
            offsets.push(high as u16);
        }
        for (i, off) in offsets.iter().enumerate() {
            page[26 + 2 * i..28 + 2 * i].copy_from_slice(&endian.u16(*off));
        }
        page_header(page, number, 0, offsets.len() as u16, high as u16, 13, endian);
    }
    let last = pages.len() as u32 - 1;
    let meta = &mut pages[0];
    meta[12..16].copy_from_slice(&endian.u32(0x061561));
    meta[16..20].copy_from_slice(&endian.u32(9));
    meta[20..24].copy_from_slice(&endian.u32(page_size as u32));
    meta[25] = 8;
    meta[32..36].copy_from_slice(&endian.u32(last));
    meta[72..76].copy_from_slice(&endian.u32(buckets - 1));
    meta[76..80].copy_from_slice(&endian.u32(buckets - 1));
    meta[80..84].copy_from_slice(&endian.u32((buckets / 2).max(1) - 1));
    // Bucket b lives on page 1 + b: spares[i] = 1 for every split point.
    for i in 0..32 {
        meta[96 + 4 * i..100 + 4 * i].copy_from_slice(&endian.u32(1));
    }
    pages.concat()
}

fn page_header(page: &mut [u8], number: u32, next: u32, entries: u16, high: u16, kind: u8, endian: Endian) {
    page[8..12].copy_from_slice(&endian.u32(number));
    page[16..20].copy_from_slice(&endian.u32(next));
    page[20..22].copy_from_slice(&endian.u16(entries));
    page[22..24].copy_from_slice(&endian.u16(high));
    page[25] = kind;
}

/// A minimal ndb `Packages.db` writer: one slot page, blobs appended after it.
pub fn ndb(blobs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut file = vec![0u8; 4096];
    file[0..4].copy_from_slice(b"RpmP");
    file[8..12].copy_from_slice(&1u32.to_le_bytes());
    file[12..16].copy_from_slice(&1u32.to_le_bytes());
    file[16..20].copy_from_slice(&(blobs.len() as u32 + 1).to_le_bytes());
    for slot in 0..(4096 - 32) / 16 {
        file[32 + slot * 16..36 + slot * 16].copy_from_slice(b"Slot");
    }
    for (i, (index, blob)) in blobs.iter().enumerate() {
        let block_offset = file.len() / 16;
        let total = 16 + blob.len() + 12;
        let blocks = total.div_ceil(16);
        let mut region = vec![0u8; blocks * 16];
        region[0..4].copy_from_slice(b"BlbS");
        region[4..8].copy_from_slice(&index.to_le_bytes());
        region[8..12].copy_from_slice(&1_700_000_000u32.to_le_bytes());
        region[12..16].copy_from_slice(&(blob.len() as u32).to_le_bytes());
        region[16..16 + blob.len()].copy_from_slice(blob);
        let tail = blocks * 16 - 12;
        region[tail + 4..tail + 8].copy_from_slice(&(blob.len() as u32).to_le_bytes());
        region[tail + 8..tail + 12].copy_from_slice(b"BlbE");
        let slot = 32 + i * 16;
        file[slot + 4..slot + 8].copy_from_slice(&index.to_le_bytes());
        file[slot + 8..slot + 12].copy_from_slice(&(block_offset as u32).to_le_bytes());
        file[slot + 12..slot + 16].copy_from_slice(&(blocks as u32).to_le_bytes());
        file.extend_from_slice(&region);
    }
    file
}
