//! Go build information read from a binary without running it.
//!
//! Hand-written on top of `object` because no crate reads Go build info (see CRATES.md). The
//! linker stores a 32-byte header (`\xff Go buildinf:`, pointer size, flags) in `.go.buildinfo`
//! (ELF), `__go_buildinfo` (Mach-O) or the data section (PE). Go >= 1.18 stores the toolchain
//! version and the module text inline after the header as varint-prefixed strings; older
//! toolchains store two pointers to Go string headers, which are resolved through the
//! segments' virtual addresses.

use object::{Object, ObjectSection, ObjectSegment};

/// Magic bytes that open the build info header.
const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Size of the build info header.
const HEADER_LEN: usize = 32;
/// Flag bit: pointers are big-endian.
const FLAG_BIG_ENDIAN: u8 = 0x1;
/// Flag bit: strings follow the header inline (Go >= 1.18).
const FLAG_INLINE: u8 = 0x2;
/// Largest toolchain version string accepted.
const MAX_VERSION_LEN: u64 = 4 * 1024;
/// Largest module info text accepted.
const MAX_MODINFO_LEN: u64 = 16 * 1024 * 1024;
/// Most header candidates tried when scanning a binary without a named section.
const MAX_CANDIDATES: usize = 16;
/// Most modules accepted in one module info text.
const MAX_MODULES: usize = 100_000;
/// Length of the sentinels that frame the module info text.
const SENTINEL_LEN: usize = 16;

/// Why a binary's Go build information could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildInfoError {
    /// The data ended before a field at this file offset.
    #[error("truncated build info at offset {offset}")]
    Truncated {
        /// File offset of the field that did not fit.
        offset: u64,
    },
    /// The header's pointer size is not 4 or 8.
    #[error("unsupported pointer size {0}")]
    PointerSize(u8),
    /// A virtual address points outside every file-backed segment.
    #[error("address {address:#x} is not mapped by any segment")]
    Unmapped {
        /// The virtual address.
        address: u64,
    },
    /// The pointer format needs the object's segments, but the container did not parse.
    #[error("pointer-format build info in a binary that does not parse: {0}")]
    Container(String),
    /// A string is longer than the limit.
    #[error("{what} is {len} bytes, more than the limit of {limit}")]
    TooLong {
        /// Which string.
        what: &'static str,
        /// Its declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A varint did not end within ten bytes.
    #[error("bad varint at offset {offset}")]
    Varint {
        /// File offset of the varint.
        offset: u64,
    },
    /// A line of the module info text is malformed.
    #[error("module info line {line}: {message}")]
    ModInfo {
        /// 1-based line number within the module info text.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// One module named in the build info.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Module {
    /// Module path (`golang.org/x/text`).
    pub path: String,
    /// Module version (`v0.3.7`, `(devel)`), empty for local replacements.
    pub version: String,
    /// The `h1:` checksum, where recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
    /// The module that replaced this one (`=>` line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Box<Module>>,
}

/// The module info text, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ModInfo {
    /// Import path of the main package (`path` line).
    pub path: Option<String>,
    /// The main module (`mod` line).
    pub main: Option<Module>,
    /// Dependencies (`dep` lines), in order.
    pub deps: Vec<Module>,
    /// Build settings (`build` lines) as key/value pairs, in order.
    pub settings: Vec<(String, String)>,
}

impl ModInfo {
    /// The value of build setting `key`, if present.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Everything read from a Go binary's build info.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildInfo {
    /// Toolchain version as recorded (`go1.19.8`, `go1.22.0 X:boringcrypto`).
    pub go_version: String,
    /// The module info, empty for binaries built without module support.
    pub mod_info: ModInfo,
}

/// Reads the Go build info of a binary. `Ok(None)` when the data holds no build info header
/// (not a Go binary).
pub fn parse_go_buildinfo(data: &[u8]) -> Result<Option<BuildInfo>, BuildInfoError> {
    let parsed = object::File::parse(data);
    let candidates = match &parsed {
        Ok(file) => named_section_offsets(file),
        Err(_) => Vec::new(),
    };
    let candidates = if candidates.is_empty() {
        scan_for_magic(data)
    } else {
        candidates
    };
    let mut first_error = None;
    for offset in candidates {
        match read_at(data, offset, parsed.as_ref().ok()) {
            Ok(info) => return Ok(Some(info)),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(None),
    }
}

/// File offsets of the named build info sections that start with the magic.
fn named_section_offsets(file: &object::File<'_>) -> Vec<usize> {
    file.sections()
        .filter(|s| matches!(s.name(), Ok(".go.buildinfo") | Ok("__go_buildinfo")))
        .filter_map(|s| s.file_range())
        .filter_map(|(start, _)| usize::try_from(start).ok())
        .collect()
}

/// Offsets of the magic at 16-byte aligned positions (the linker aligns the header to 16 bytes
/// and file offsets keep that alignment).
fn scan_for_magic(data: &[u8]) -> Vec<usize> {
    (0..data.len())
        .step_by(16)
        .filter(|&off| data.get(off..off + MAGIC.len()) == Some(MAGIC))
        .take(MAX_CANDIDATES)
        .collect()
}

fn read_at(data: &[u8], offset: usize, file: Option<&object::File<'_>>) -> Result<BuildInfo, BuildInfoError> {
    let header = slice(data, offset, HEADER_LEN)?;
    if header.get(..MAGIC.len()) != Some(MAGIC) {
        return Err(BuildInfoError::Truncated {
            offset: offset as u64,
        });
    }
    let ptr_size = header.get(14).copied().unwrap_or_default();
    let flags = header.get(15).copied().unwrap_or_default();
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        read_inline(data, offset + HEADER_LEN)?
    } else {
        read_pointers(data, offset, ptr_size, flags & FLAG_BIG_ENDIAN != 0, file)?
    };
    let text = strip_sentinels(&modinfo);
    Ok(BuildInfo {
        go_version: lossy(&version),
        mod_info: parse_modinfo(&lossy(text))?,
    })
}

fn read_inline(data: &[u8], mut offset: usize) -> Result<(Vec<u8>, Vec<u8>), BuildInfoError> {
    let version = read_varint_string(data, &mut offset, "toolchain version", MAX_VERSION_LEN)?;
    let modinfo = read_varint_string(data, &mut offset, "module info", MAX_MODINFO_LEN)?;
    Ok((version.to_vec(), modinfo.to_vec()))
}

fn read_varint_string<'a>(
    data: &'a [u8],
    offset: &mut usize,
    what: &'static str,
    limit: u64,
) -> Result<&'a [u8], BuildInfoError> {
    let len = read_uvarint(data, offset)?;
    if len > limit {
        return Err(BuildInfoError::TooLong { what, len, limit });
    }
    let len = len as usize;
    let bytes = slice(data, *offset, len)?;
    *offset += len;
    Ok(bytes)
}

fn read_uvarint(data: &[u8], offset: &mut usize) -> Result<u64, BuildInfoError> {
    let start = *offset;
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *data.get(*offset).ok_or(BuildInfoError::Truncated {
            offset: *offset as u64,
        })?;
        *offset += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(BuildInfoError::Varint { offset: start as u64 })
}

/// Reads the pre-1.18 layout: two pointers to Go string headers `{data, len}`.
fn read_pointers(
    data: &[u8],
    offset: usize,
    ptr_size: u8,
    big_endian: bool,
    file: Option<&object::File<'_>>,
) -> Result<(Vec<u8>, Vec<u8>), BuildInfoError> {
    if ptr_size != 4 && ptr_size != 8 {
        return Err(BuildInfoError::PointerSize(ptr_size));
    }
    let file = file.ok_or_else(|| BuildInfoError::Container("no segments to map addresses".into()))?;
    let reader = AddressReader {
        data,
        file,
        ptr_size: usize::from(ptr_size),
        big_endian,
    };
    let version_ptr = reader.word_at_offset(offset + 16)?;
    let modinfo_ptr = reader.word_at_offset(offset + 16 + usize::from(ptr_size))?;
    let version = reader.go_string(version_ptr, "toolchain version", MAX_VERSION_LEN)?;
    let modinfo = reader.go_string(modinfo_ptr, "module info", MAX_MODINFO_LEN)?;
    Ok((version, modinfo))
}

/// Reads pointer-sized words and strings by virtual address.
struct AddressReader<'d, 'f> {
    data: &'d [u8],
    file: &'f object::File<'d>,
    ptr_size: usize,
    big_endian: bool,
}

impl AddressReader<'_, '_> {
    fn word_at_offset(&self, offset: usize) -> Result<u64, BuildInfoError> {
        let bytes = slice(self.data, offset, self.ptr_size)?;
        let mut buf = [0u8; 8];
        if self.big_endian {
            buf[8 - bytes.len()..].copy_from_slice(bytes);
            Ok(u64::from_be_bytes(buf))
        } else {
            buf[..bytes.len()].copy_from_slice(bytes);
            Ok(u64::from_le_bytes(buf))
        }
    }

    fn offset_of(&self, address: u64) -> Result<usize, BuildInfoError> {
        let mapped = self.file.segments().find_map(|seg| {
            let (file_start, file_size) = seg.file_range();
            let delta = address.checked_sub(seg.address())?;
            (delta < file_size)
                .then(|| file_start.checked_add(delta))
                .flatten()
        });
        let mapped = mapped.or_else(|| self.section_offset(address));
        mapped
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(BuildInfoError::Unmapped { address })
    }

    /// Fallback for containers whose segments carry no file ranges (PE sections).
    fn section_offset(&self, address: u64) -> Option<u64> {
        self.file.sections().find_map(|sec| {
            let (file_start, file_size) = sec.file_range()?;
            let delta = address.checked_sub(sec.address())?;
            (delta < file_size)
                .then(|| file_start.checked_add(delta))
                .flatten()
        })
    }

    fn go_string(&self, header_addr: u64, what: &'static str, limit: u64) -> Result<Vec<u8>, BuildInfoError> {
        let header = self.offset_of(header_addr)?;
        let data_ptr = self.word_at_offset(header)?;
        let len = self.word_at_offset(header + self.ptr_size)?;
        if len > limit {
            return Err(BuildInfoError::TooLong { what, len, limit });
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let start = self.offset_of(data_ptr)?;
        Ok(slice(self.data, start, len as usize)?.to_vec())
    }
}

fn slice(data: &[u8], offset: usize, len: usize) -> Result<&[u8], BuildInfoError> {
    offset
        .checked_add(len)
        .and_then(|end| data.get(offset..end))
        .ok_or(BuildInfoError::Truncated {
            offset: offset as u64,
        })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Removes the 16-byte sentinels around the module info text, as `debug/buildinfo` does.
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let len = modinfo.len();
    if len > 2 * SENTINEL_LEN && modinfo.get(len - SENTINEL_LEN - 1) == Some(&b'\n') {
        modinfo.get(SENTINEL_LEN..len - SENTINEL_LEN).unwrap_or(modinfo)
    } else {
        modinfo
    }
}

/// Parses the module info text (`path`, `mod`, `dep`, `=>`, `build` lines, tab-separated).
pub fn parse_modinfo(text: &str) -> Result<ModInfo, BuildInfoError> {
    let mut info = ModInfo::default();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let err = |message: &str| BuildInfoError::ModInfo {
            line: line_no,
            message: message.to_string(),
        };
        let (keyword, rest) = line.split_once('\t').unwrap_or((line, ""));
        match keyword {
            "path" => info.path = Some(rest.to_string()),
            "mod" => info.main = Some(parse_module(rest).ok_or_else(|| err("bad mod line"))?),
            "dep" => {
                if info.deps.len() >= MAX_MODULES {
                    return Err(err("too many dependencies"));
                }
                info.deps
                    .push(parse_module(rest).ok_or_else(|| err("bad dep line"))?);
            }
            "=>" => apply_replacement(&mut info, rest).ok_or_else(|| err("misplaced or bad => line"))?,
            "build" => {
                if info.settings.len() >= MAX_MODULES {
                    return Err(err("too many build settings"));
                }
                info.settings
                    .push(parse_setting(rest).ok_or_else(|| err("bad build line"))?);
            }
            _ => {}
        }
    }
    Ok(info)
}

fn parse_module(rest: &str) -> Option<Module> {
    let mut fields = rest.split('\t');
    let path = fields.next().filter(|p| !p.is_empty())?.to_string();
    let version = fields.next().unwrap_or_default().to_string();
    let sum = fields.next().filter(|s| !s.is_empty()).map(str::to_string);
    Some(Module {
        path,
        version,
        sum,
        replace: None,
    })
}

fn apply_replacement(info: &mut ModInfo, rest: &str) -> Option<()> {
    let replacement = parse_module(rest)?;
    let target = match info.deps.last_mut() {
        Some(dep) => dep,
        None => info.main.as_mut()?,
    };
    if target.replace.is_some() {
        return None;
    }
    target.replace = Some(Box::new(replacement));
    Some(())
}

/// `key=value`, where key and value may be Go-quoted strings.
fn parse_setting(rest: &str) -> Option<(String, String)> {
    let (key, value) = if rest.starts_with('"') {
        let (key, used) = unquote_prefix(rest)?;
        (key, rest.get(used..)?.strip_prefix('=')?)
    } else {
        let (key, value) = rest.split_once('=')?;
        (key.to_string(), value)
    };
    if key.is_empty() {
        return None;
    }
    let value = if value.starts_with('"') {
        unquote_prefix(value)?.0
    } else {
        value.to_string()
    };
    Some((key, value))
}

/// Decodes a Go double-quoted string at the start of `s`; returns it and the bytes consumed.
fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, esc) = chars.next()?;
                match esc {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' | '"' | '\'' => out.push(esc),
                    'x' => {
                        let hi = chars.next()?.1.to_digit(16)?;
                        let lo = chars.next()?.1.to_digit(16)?;
                        out.push(char::from_u32(hi * 16 + lo)?);
                    }
                    _ => return None,
                }
            }
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_and_inline_header() {
        let mut data = MAGIC.to_vec();
        data.extend([8, FLAG_INLINE]);
        data.resize(HEADER_LEN, 0);
        data.push(8);
        data.extend(b"go1.21.0");
        let modinfo = b"path\tex.com/a\nmod\tex.com/a\t(devel)\t\n";
        data.push(modinfo.len() as u8);
        data.extend(modinfo);
        let info = parse_go_buildinfo(&data).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.21.0");
        assert_eq!(info.mod_info.main.unwrap().version, "(devel)");
    }

    #[test]
    fn quoted_settings() {
        let (k, v) = parse_setting(r#"-ldflags="-X main.version=1.2.3 -s""#).unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("-ldflags", "-X main.version=1.2.3 -s"));
        let (k, v) = parse_setting(r#""we\"ird"=x"#).unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("we\"ird", "x"));
        assert!(parse_setting(r#"-ldflags="unterminated"#).is_none());
    }

    #[test]
    fn replacement_without_module_is_an_error() {
        let err = parse_modinfo("=>\tex.com/b\tv1.0.0\t\n").unwrap_err();
        assert!(matches!(err, BuildInfoError::ModInfo { line: 1, .. }));
    }

    #[test]
    fn overlong_varint() {
        let data = [0xffu8; 12];
        let mut offset = 0;
        assert_eq!(
            read_uvarint(&data, &mut offset),
            Err(BuildInfoError::Varint { offset: 0 })
        );
    }
}
