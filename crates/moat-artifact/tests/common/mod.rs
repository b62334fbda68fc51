//! Helpers shared by the integration tests: locating /work/shared and synthesizing archives.
#![allow(dead_code)]

use moat_artifact::{ArtifactError, Entry, EntryKind};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shared test images folder, or `None` (after printing why) when MOAT_NO_SHARED=1.
pub fn shared_images() -> Option<PathBuf> {
    let root = std::env::var_os("MOAT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let images = root.join("images");
    if images.is_dir() {
        return Some(images);
    }
    if std::env::var("MOAT_NO_SHARED").as_deref() == Ok("1") {
        eprintln!(
            "skipping: shared images missing at {} (MOAT_NO_SHARED=1)",
            images.display()
        );
        return None;
    }
    panic!(
        "shared test images missing at {} (set MOAT_SHARED, or MOAT_NO_SHARED=1 to skip)",
        images.display()
    );
}

/// One tar member for [`raw_tar`]: name, type flag, data (link target for links).
pub struct Member<'a> {
    pub name: &'a str,
    pub kind: u8,
    pub data: &'a [u8],
}

pub fn file<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
    Member {
        name,
        kind: b'0',
        data,
    }
}

pub fn dir(name: &str) -> Member<'_> {
    Member {
        name,
        kind: b'5',
        data: b"",
    }
}

/// A 512-byte ustar header written by hand, so that names the `tar` crate's builder refuses
/// (`../x`, `/abs`) can be produced.
pub fn raw_header(name: &str, kind: u8, size: u64, link: &str) -> [u8; 512] {
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
            (0, std::str::from_utf8(m.data).unwrap())
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

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// What a walk saw, in order: (path, kind, size).
pub type Seen = Vec<(String, EntryKind, u64)>;

/// Walks with a visitor that records every entry.
pub fn recorder(seen: &mut Seen) -> impl FnMut(&mut Entry<'_>) -> Result<(), ArtifactError> + '_ {
    move |e: &mut Entry<'_>| {
        seen.push((e.path().to_string(), e.kind().clone(), e.size()));
        Ok(())
    }
}

/// Writes an OCI image layout with one image per (platform, layers) and returns the manifest digests.
/// With more than one image the layout's index.json points at a nested image index.
pub struct OciImage<'a> {
    pub platform: (&'a str, &'a str),
    pub layers: Vec<Vec<u8>>,
}

pub fn write_blob(dir: &Path, data: &[u8]) -> String {
    let digest = sha256(data);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
    digest
}

/// Writes one image's blobs; returns (manifest digest, manifest size).
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
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = write_blob(dir, &config);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layer_descs,
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    (write_blob(dir, &manifest), manifest.len())
}

/// Writes a complete layout; `tag` names the top-level entry.
pub fn write_layout(dir: &Path, images: &[OciImage<'_>], tag: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
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
        .unwrap();
        let digest = write_blob(dir, &index);
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        })
    };
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Tars a directory (for OCI archives), members relative to it.
pub fn tar_dir(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).unwrap();
    let mut builder = tar::Builder::new(file);
    builder.append_dir_all(".", dir).unwrap();
    builder.finish().unwrap();
}

/// Writes a docker-archive: manifest.json + config + layers (gzip), returning the path.
pub fn write_docker_archive(out: &Path, layers: &[Vec<u8>], missing_layer: bool) {
    let mut builder = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut names = Vec::new();
    let mut diff_ids = Vec::new();
    for layer in layers {
        let blob = gzip(layer);
        let name = format!("{}.tar.gz", sha256(&blob).trim_start_matches("sha256:"));
        diff_ids.push(sha256(layer));
        if !missing_layer {
            append(&mut builder, &name, &blob);
        }
        names.push(name);
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_name = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    append(&mut builder, &config_name, &config);
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["synth:1"], "Layers": names}]);
    append(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    builder.finish().unwrap();
}

pub fn append<W: Write>(builder: &mut tar::Builder<W>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, data).unwrap();
}
