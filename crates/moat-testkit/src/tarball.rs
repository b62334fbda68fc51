//! Tars, layers, docker archives and OCI layouts synthesized for tests.
//!
//! [`raw_tar`] writes ustar headers by hand, so that names the `tar` crate's builder refuses
//! (`../x`, `/abs`) and links of any shape can be produced; the image writers put such layers in
//! a `docker save` archive ([`write_docker_archive`], [`write_docker_archive_blobs`]) or an OCI
//! image layout ([`write_layout`]).

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// One tar member for [`raw_tar`]: name, type flag, data (link target for links).
pub struct Member<'a> {
    /// The name exactly as written in the header (at most 100 bytes).
    pub name: &'a str,
    /// The ustar type flag: `b'0'` file, `b'1'` hard link, `b'2'` symlink, `b'5'` directory.
    pub kind: u8,
    /// The file's contents, or the link target for links.
    pub data: &'a [u8],
}

/// A regular file member.
pub fn file<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
    Member {
        name,
        kind: b'0',
        data,
    }
}

/// A directory member.
pub fn dir(name: &str) -> Member<'_> {
    Member {
        name,
        kind: b'5',
        data: b"",
    }
}

/// A symbolic link member `name -> target`.
pub fn symlink<'a>(name: &'a str, target: &'a str) -> Member<'a> {
    Member {
        name,
        kind: b'2',
        data: target.as_bytes(),
    }
}

/// A 512-byte ustar header written by hand, so that names the `tar` crate's builder refuses
/// (`../x`, `/abs`) can be produced.
pub fn raw_header(name: &str, kind: u8, size: u64, link: &str) -> [u8; 512] {
    assert!(
        name.len() <= 100,
        "tar member name {name:?} is longer than 100 bytes"
    );
    assert!(
        link.len() <= 100,
        "tar link target {link:?} is longer than 100 bytes"
    );
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of `members` (links take their target from `data`), with the end-of-archive blocks.
pub fn raw_tar(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        let is_link = m.kind == b'1' || m.kind == b'2';
        let (size, link) = if is_link {
            let target = std::str::from_utf8(m.data).expect("link targets are UTF-8");
            (0, target)
        } else {
            (m.data.len() as u64, "")
        };
        out.extend_from_slice(&raw_header(m.name, m.kind, size, link));
        if !is_link {
            out.extend_from_slice(m.data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One image of an OCI layout for [`write_layout`]: its platform and its layers (plain tars,
/// stored gzip-compressed).
pub struct OciImage<'a> {
    /// `(os, architecture)`.
    pub platform: (&'a str, &'a str),
    /// The layers, bottom first, as uncompressed tars.
    pub layers: Vec<Vec<u8>>,
}

/// Writes `data` as a blob of the OCI layout `dir` and returns its digest.
pub fn write_blob(dir: &Path, data: &[u8]) -> String {
    let digest = sha256(data);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let parent = path.parent().expect("a blob path has a parent");
    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    digest
}

/// Writes one image's blobs (layers, config, manifest); returns (manifest digest, manifest size).
pub fn write_image(dir: &Path, image: &OciImage<'_>) -> (String, usize) {
    let mut layer_descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        let blob = gzip(layer);
        let digest = write_blob(dir, &blob);
        layer_descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": blob.len()
        }));
        diff_ids.push(sha256(layer));
        history.push(serde_json::json!({"created_by": format!("step {i}")}));
    }
    history.push(serde_json::json!({"created_by": "CMD [\"sh\"]", "empty_layer": true}));
    let config = serde_json::json!({
        "architecture": image.platform.1, "os": image.platform.0,
        "config": {"User": "1000", "Env": ["PATH=/bin"], "Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}},
                   "Healthcheck": {"Test": ["CMD", "true"]}, "Labels": {"a": "b"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = serde_json::to_vec(&config).expect("JSON");
    let config_digest = write_blob(dir, &config);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layer_descs,
    });
    let manifest = serde_json::to_vec(&manifest).expect("JSON");
    (write_blob(dir, &manifest), manifest.len())
}

/// Writes a complete OCI image layout with one image per entry of `images`; `tag` names the
/// top-level entry. With more than one image, index.json points at a nested image index.
pub fn write_layout(dir: &Path, images: &[OciImage<'_>], tag: &str) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    write_file(&dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#);
    let descs: Vec<_> = images
        .iter()
        .map(|img| {
            let (digest, size) = write_image(dir, img);
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                "platform": {"os": img.platform.0, "architecture": img.platform.1},
            })
        })
        .collect();
    let top = if descs.len() == 1 {
        let mut d = descs[0].clone();
        d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        d
    } else {
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs,
        }))
        .expect("JSON");
        let digest = write_blob(dir, &index);
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        })
    };
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    write_file(
        &dir.join("index.json"),
        &serde_json::to_vec(&index).expect("JSON"),
    );
}

/// Tars a directory (for OCI archives), members relative to it.
pub fn tar_dir(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let mut builder = tar::Builder::new(file);
    builder
        .append_dir_all(".", dir)
        .unwrap_or_else(|e| panic!("tarring {}: {e}", dir.display()));
    builder
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

/// One layer of a synthesized docker archive: the blob as stored in the archive and its diff id.
pub struct LayerBlob {
    /// The bytes stored in the archive (compressed or not, well-formed or not).
    pub blob: Vec<u8>,
    /// What the image config lists for the layer: the sha256 of the uncompressed tar.
    pub diff_id: String,
}

impl LayerBlob {
    /// The layer `tar`, stored gzip-compressed.
    pub fn gzip(tar: &[u8]) -> LayerBlob {
        LayerBlob {
            blob: gzip(tar),
            diff_id: sha256(tar),
        }
    }
}

/// A layer holding one file `name` of `size` zero bytes, zstd-compressed: a decompression bomb
/// when `size` is large. Built streaming, so the uncompressed tar is never held in memory.
pub fn zstd_zeros_layer(name: &str, size: u64) -> LayerBlob {
    /// Hashes what it passes on (the uncompressed tar, for the diff id).
    struct Hashing<W> {
        hasher: Sha256,
        inner: W,
    }
    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hasher.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    let mut out = Hashing {
        hasher: Sha256::new(),
        inner: encoder,
    };
    let padding = size.next_multiple_of(512) - size;
    let zeros = vec![0u8; 1 << 20];
    out.write_all(&raw_header(name, b'0', size, ""))
        .expect("zstd into memory");
    let mut left = size + padding + 1024;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(zeros.len());
        out.write_all(&zeros[..n]).expect("zstd into memory");
        left -= n as u64;
    }
    let diff_id = format!("sha256:{}", hex::encode(out.hasher.finalize()));
    let blob = out.inner.finish().expect("zstd into memory");
    LayerBlob { blob, diff_id }
}

/// Writes a docker-archive to `out`: manifest.json + config + the layers, each stored gzip.
/// With `missing_layer`, manifest.json and the config name the layers but their blobs are left out.
pub fn write_docker_archive(out: &Path, layers: &[Vec<u8>], missing_layer: bool) {
    let blobs: Vec<LayerBlob> = layers.iter().map(|layer| LayerBlob::gzip(layer)).collect();
    write_docker_archive_blobs(out, &blobs, missing_layer);
}

/// Writes a docker-archive to `out` from layer blobs stored as given (the member name is the
/// blob's sha256, with `.tar.gz`, `.tar.zst` or `.tar` after its magic bytes). With
/// `missing_layer`, manifest.json and the config name the layers but their blobs are left out.
pub fn write_docker_archive_blobs(out: &Path, layers: &[LayerBlob], missing_layer: bool) {
    let file = std::fs::File::create(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let mut builder = tar::Builder::new(file);
    let mut names = Vec::new();
    for layer in layers {
        let extension = match layer.blob.get(..4) {
            Some([0x1f, 0x8b, ..]) => "tar.gz",
            Some([0x28, 0xb5, 0x2f, 0xfd]) => "tar.zst",
            _ => "tar",
        };
        let name = format!(
            "{}.{extension}",
            sha256(&layer.blob).trim_start_matches("sha256:")
        );
        if !missing_layer {
            append(&mut builder, &name, &layer.blob);
        }
        names.push(name);
    }
    let diff_ids: Vec<&str> = layers.iter().map(|layer| layer.diff_id.as_str()).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("JSON");
    let config_name = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    append(&mut builder, &config_name, &config);
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["synth:1"], "Layers": names}]);
    append(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest).expect("JSON"),
    );
    builder
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

/// Appends a regular file `name` holding `data` (mode 0644) with the `tar` crate's builder.
pub fn append<W: Write>(builder: &mut tar::Builder<W>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, name, data)
        .unwrap_or_else(|e| panic!("appending {name}: {e}"));
}

fn write_file(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tars_read_back_with_the_tar_crate() {
        let tar = raw_tar(&[dir("etc/"), file("etc/a", b"hello"), symlink("etc/b", "a")]);
        assert_eq!(tar.len() % 512, 0);
        let mut archive = tar::Archive::new(&tar[..]);
        let seen: Vec<(String, u64, Option<String>)> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let link = e.link_name().expect("link name").map(|l| l.display().to_string());
                (e.path().expect("path").display().to_string(), e.size(), link)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("etc/".to_string(), 0, None),
                ("etc/a".to_string(), 5, None),
                ("etc/b".to_string(), 0, Some("a".to_string())),
            ]
        );
    }

    #[test]
    fn the_zstd_zeros_layer_is_a_tar_of_one_file_matching_its_diff_id() {
        let layer = zstd_zeros_layer("zeros", 1000);
        let tar = zstd::decode_all(&layer.blob[..]).expect("zstd");
        assert_eq!(sha256(&tar), layer.diff_id);
        assert_eq!(tar.len(), 512 + 1024 + 1024);
        let mut archive = tar::Archive::new(&tar[..]);
        let sizes: Vec<u64> = archive
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry").size())
            .collect();
        assert_eq!(sizes, [1000]);
    }
}
