//! Turning import paths into file contents: files as given, directories walked for advisory
//! files (`.json`, `.yaml`, `.yml`, `.csv`, `.gz`, `.zip`), zip members, gzip unpacked, all
//! within size bounds. Any path that cannot be read fails the whole import, naming it.

use crate::error::DbError;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest single advisory file or unpacked member accepted.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The most bytes one import reads in all (unpacked), against archive bombs.
const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// One file to parse: its name for messages (`dir/x.json`, `all.zip:GO-1.json`) and bytes.
#[derive(Debug)]
pub struct Input {
    /// The path, or archive and member.
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// Every advisory file under `paths`, in a stable order.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, DbError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|e| DbError::input(path.display(), e))?;
        match metadata.is_dir() {
            true => walk(path, &mut files)?,
            false => files.push(path.clone()),
        }
    }
    let mut reader = Reader::default();
    for file in files {
        reader.read_one(&file)?;
    }
    Ok(reader.inputs)
}

fn is_advisory_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".json", ".yaml", ".yml", ".csv", ".gz", ".zip"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Collects advisory files under `dir`, sorted by name; symbolic links are not followed.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DbError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| DbError::input(dir.display(), e))?
        .collect::<Result<_, _>>()
        .map_err(|e| DbError::input(dir.display(), e))?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| DbError::input(path.display(), e))?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if kind.is_file() && is_advisory_name(&entry.file_name().to_string_lossy()) {
            files.push(path);
        }
    }
    Ok(())
}

/// The inputs read so far and their total size.
#[derive(Default)]
struct Reader {
    inputs: Vec<Input>,
    total: u64,
}

impl Reader {
    fn read_one(&mut self, path: &Path) -> Result<(), DbError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| DbError::input(&name, e))?;
        let bytes = self.read_bounded(file, &name)?;
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            return self.read_zip(bytes, &name);
        }
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let unpacked = self.read_bounded(flate2::read::GzDecoder::new(bytes.as_slice()), &name)?;
            let inner = name.strip_suffix(".gz").unwrap_or(&name).to_string();
            self.inputs.push(Input {
                name: inner,
                bytes: unpacked,
            });
            return Ok(());
        }
        self.inputs.push(Input { name, bytes });
        Ok(())
    }

    /// The advisory members of a zip archive (OSV's `all.zip`), each read in full so that a
    /// damaged member (bad CRC, cut short) fails the import.
    fn read_zip(&mut self, bytes: Vec<u8>, name: &str) -> Result<(), DbError> {
        let zip_error = |e: zip::result::ZipError| DbError::input(name, format!("bad zip archive: {e}"));
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_error)?;
        for index in 0..archive.len() {
            let member = archive.by_index(index).map_err(zip_error)?;
            if !member.is_file() || !is_advisory_name(member.name()) {
                continue;
            }
            let member_name = format!("{name}:{}", member.name());
            let content = self.read_bounded(member, &member_name)?;
            self.inputs.push(Input {
                name: member_name,
                bytes: content,
            });
        }
        Ok(())
    }

    /// Reads at most [`MAX_FILE_BYTES`] from `reader` (and at most [`MAX_TOTAL_BYTES`] in
    /// all); more is an error naming `name`.
    fn read_bounded(&mut self, reader: impl Read, name: &str) -> Result<Vec<u8>, DbError> {
        let mut bytes = Vec::new();
        reader
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| DbError::input(name, e))?;
        let size = bytes.len() as u64;
        if size > MAX_FILE_BYTES {
            return Err(DbError::input(
                name,
                format!("larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        self.total += size;
        if self.total > MAX_TOTAL_BYTES {
            return Err(DbError::input(
                name,
                format!("the import would read more than {MAX_TOTAL_BYTES} bytes in all"),
            ));
        }
        Ok(bytes)
    }
}
