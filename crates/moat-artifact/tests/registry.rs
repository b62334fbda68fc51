//! Registry targets through the public API, against a real registry: Debian's `docker-registry` on
//! 127.0.0.1 with the shared test images pushed by `skopeo`.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use moat_artifact::{open, ArtifactError, Entry, EntryKind, Image, OpenOptions, Opened, Target};
use moat_testkit::registry::{RegistryServer, TokenRequest, TOKEN_SERVICE};
use moat_testkit::shared::shared_images;
use sha2::{Digest, Sha256};

/// What a walk saw of one entry: kind, size and, for regular files, the sha256 of the contents.
type Seen = BTreeMap<(usize, String), (String, u64, String)>;

fn open_image(target: &str, options: &OpenOptions) -> Result<Image, ArtifactError> {
    let target = Target::parse(target)?;
    match open(&target, options)? {
        Opened::Image(image) => Ok(image),
        other => panic!("{target:?} opened as {other:?}, not an image"),
    }
}

fn insecure() -> OpenOptions {
    OpenOptions {
        insecure: true,
        ..OpenOptions::default()
    }
}

fn record(layer: usize, entry: &mut Entry<'_>, seen: &mut Seen) -> Result<(), ArtifactError> {
    let kind = format!("{:?}", entry.kind());
    let hash = if matches!(entry.kind(), EntryKind::File) {
        hex::encode(Sha256::digest(entry.contents(16 << 20)?))
    } else {
        String::new()
    };
    seen.insert((layer, entry.path().to_string()), (kind, entry.size(), hash));
    Ok(())
}

/// Walks every layer, recording every entry.
fn walk_all(image: &Image) -> Result<Seen, ArtifactError> {
    let mut seen = Seen::new();
    for index in 0..image.metadata.layers.len() {
        image.walk_layer(index, &mut |entry| record(index, entry, &mut seen))?;
    }
    Ok(seen)
}

fn contents_of(image: &Image, wanted: &str) -> Option<Vec<u8>> {
    let mut found = None;
    for index in 0..image.metadata.layers.len() {
        let walked = image.walk_layer(index, &mut |entry| {
            if entry.path() == wanted {
                found = Some(entry.contents(1 << 20)?);
            }
            Ok(())
        });
        walked.unwrap_or_else(|e| panic!("walking layer {index}: {e}"));
    }
    found
}

#[test]
fn registry_image_by_tag_and_digest_reads_like_the_docker_archive() {
    let Some(images) = shared_images() else { return };
    let Some(server) = RegistryServer::start() else {
        return;
    };
    let archive = images.join("rpm-sample.tar");
    server.push(&archive, "test/rpm-sample:1", None);
    let host = server.host();

    let pulled = open_image(&format!("{host}/test/rpm-sample:1"), &insecure())
        .unwrap_or_else(|e| panic!("opening the registry image: {e}"));
    let local = open_image(
        &format!("docker-archive:{}", archive.display()),
        &OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("opening {}: {e}", archive.display()));

    let (served_digest, raw) = server.raw_manifest("test/rpm-sample:1");
    let meta = &pulled.metadata;
    assert_eq!(meta.manifest_digest.as_deref(), Some(served_digest.as_str()));
    assert_eq!(meta.repo_tags, [format!("{host}/test/rpm-sample:1")]);
    assert_eq!(
        meta.repo_digests,
        [format!("{host}/test/rpm-sample@{served_digest}")]
    );
    assert_eq!(meta.config_digest, local.metadata.config_digest);
    assert_eq!(meta.config, local.metadata.config);
    // skopeo recompresses layers on push: blob digests differ, the uncompressed tars (diff_ids) do not.
    let diff_ids =
        |image: &Image| -> Vec<String> { image.metadata.layers.iter().map(|l| l.diff_id.clone()).collect() };
    assert_eq!(diff_ids(&pulled), diff_ids(&local));
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{e}"));
    let served: Vec<(String, u64)> = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["digest"].as_str().unwrap_or_default().to_string(),
                l["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let pulled_blobs: Vec<(String, u64)> = meta.layers.iter().map(|l| (l.digest.clone(), l.size)).collect();
    assert_eq!(pulled_blobs, served);
    assert_eq!(meta.layers.len(), 2);

    let seen = walk_all(&pulled).unwrap_or_else(|e| panic!("walking the registry image: {e}"));
    assert_eq!(
        seen,
        walk_all(&local).unwrap_or_else(|e| panic!("walking the archive: {e}"))
    );
    assert!(
        seen.keys().any(|(_, path)| path == "/var/lib/rpm/rpmdb.sqlite"),
        "{:?}",
        seen.keys()
    );
    let os_release = contents_of(&pulled, "/etc/os-release").unwrap_or_default();
    assert!(String::from_utf8_lossy(&os_release).contains("Rocky Linux"));

    let by_digest = open_image(&format!("{host}/test/rpm-sample@{served_digest}"), &insecure())
        .unwrap_or_else(|e| panic!("opening by digest: {e}"));
    assert_eq!(by_digest.metadata.manifest_digest, meta.manifest_digest);
    assert_eq!(by_digest.metadata.layers, meta.layers);
    assert_eq!(walk_all(&by_digest).ok().as_ref(), Some(&seen));

    let unknown = open_image(&format!("{host}/test/rpm-sample:no-such-tag"), &insecure());
    let message = unknown.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
    assert!(
        message.contains("manifest unknown") && message.contains("no-such-tag"),
        "{message}"
    );

    let secure = open_image(&format!("{host}/test/rpm-sample:1"), &OpenOptions::default());
    let message = secure.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
    assert!(
        message.contains("https://") && message.contains("--insecure"),
        "{message}"
    );
}

/// The stored file of a blob in the registry's filesystem storage.
fn stored_blob(storage: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    let prefix = hex.get(..2).unwrap_or_default();
    storage.join(format!(
        "storage/docker/registry/v2/blobs/sha256/{prefix}/{hex}/data"
    ))
}

#[test]
fn a_layer_altered_in_the_registry_fails_the_walk() {
    let Some(images) = shared_images() else { return };
    let Some(server) = RegistryServer::start() else {
        return;
    };
    server.push(&images.join("busybox-static.tar"), "test/busybox:1", None);
    let target = format!("{}/test/busybox:1", server.host());
    let image = open_image(&target, &insecure()).unwrap_or_else(|e| panic!("{e}"));
    let layer = image
        .metadata
        .layers
        .first()
        .map(|l| l.digest.clone())
        .unwrap_or_default();
    let blob = stored_blob(server.dir(), &layer);

    // Change the gzip header's MTIME: the layer still decompresses to the same tar, but its digest changes.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&blob)
        .unwrap_or_else(|e| panic!("{}: {e}", blob.display()));
    let mut header = [0u8; 10];
    file.read_exact(&mut header).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header[..2], [0x1f, 0x8b], "the layer is gzip");
    file.seek(SeekFrom::Start(4))
        .and_then(|_| file.write_all(&[header[4] ^ 0x55]))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(file);

    let error = walk_all(&image)
        .err()
        .unwrap_or_else(|| panic!("an altered layer must not walk cleanly"));
    let message = error.to_string();
    assert!(
        message.contains("digest mismatch") && message.contains(&layer),
        "{message}"
    );
}

#[test]
fn a_password_protected_registry_takes_credentials_from_the_docker_config() {
    let Some(images) = shared_images() else { return };
    let Some(server) = RegistryServer::start_with_basic_auth("scanner", "pa55word") else {
        return;
    };
    server.push(
        &images.join("busybox-static.tar"),
        "private/busybox:1",
        Some("scanner:pa55word"),
    );
    let target = format!("{}/private/busybox:1", server.host());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode("scanner:pa55word");
    let json = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, server.host());
    std::fs::write(&config, json).unwrap_or_else(|e| panic!("{e}"));

    let options = OpenOptions {
        docker_config: Some(config),
        ..insecure()
    };
    let image = open_image(&target, &options).unwrap_or_else(|e| panic!("{e}"));
    let seen = walk_all(&image).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        seen.keys().any(|(_, path)| path == "/bin/busybox"),
        "{:?}",
        seen.keys()
    );

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap_or_else(|e| panic!("{e}"));
    let anonymous = OpenOptions {
        docker_config: Some(empty),
        ..insecure()
    };
    match open_image(&target, &anonymous) {
        Err(ArtifactError::Auth { registry, message }) => {
            assert_eq!(registry, server.host());
            assert!(message.contains("no credentials"), "{message}");
        }
        other => panic!("expected an Auth error, got {:?}", other.map(|i| i.metadata)),
    }
}

/// Writes a docker config.json in `dir` holding `user:password` for `registry`.
fn docker_config(dir: &Path, name: &str, registry: &str, user_password: &str) -> OpenOptions {
    let config = dir.join(name);
    let auth = base64::engine::general_purpose::STANDARD.encode(user_password);
    let json = format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#);
    std::fs::write(&config, json).unwrap_or_else(|e| panic!("{e}"));
    OpenOptions {
        docker_config: Some(config),
        ..insecure()
    }
}

/// Opens `target`, expecting an authentication error; returns (registry, message).
fn auth_failure(target: &str, options: &OpenOptions) -> (String, String) {
    match open_image(target, options) {
        Err(ArtifactError::Auth { registry, message }) => (registry, message),
        other => panic!("expected an Auth error, got {:?}", other.map(|i| i.metadata)),
    }
}

/// The token request Moat should make for a pull of `repository`.
fn pull_request(user: Option<&str>, granted: bool, repository: &str) -> TokenRequest {
    TokenRequest {
        user: user.map(str::to_string),
        granted,
        service: Some(TOKEN_SERVICE.to_string()),
        scopes: vec![format!("repository:{repository}:pull")],
    }
}

#[test]
fn a_token_auth_registry_gives_moat_a_pull_token_for_the_docker_config_credentials() {
    let Some(images) = shared_images() else { return };
    let Some(server) = RegistryServer::start_with_token_auth("scanner", "t0ken-pa55") else {
        return;
    };
    let archive = images.join("rpm-sample.tar");
    server.push(&archive, "private/rpm-sample:1", Some("scanner:t0ken-pa55"));
    let pushed = server.token_requests().len();
    assert!(pushed > 0, "skopeo pushed without a token");
    let host = server.host();
    let target = format!("{host}/private/rpm-sample:1");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = || server.log_tail();

    let options = docker_config(dir.path(), "config.json", &host, "scanner:t0ken-pa55");
    let pulled = open_image(&target, &options).unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", log()));
    let seen = walk_all(&pulled).unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", log()));
    // One token, asked for with the credentials and exactly the pull scope, served every request.
    assert_eq!(
        server.token_requests().get(pushed..).unwrap_or_default(),
        [pull_request(Some("scanner"), true, "private/rpm-sample")]
    );

    let local = open_image(
        &format!("docker-archive:{}", archive.display()),
        &OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("opening {}: {e}", archive.display()));
    let (served_digest, _) = server.raw_manifest("private/rpm-sample:1");
    let meta = &pulled.metadata;
    assert_eq!(meta.manifest_digest.as_deref(), Some(served_digest.as_str()));
    assert_eq!(meta.config_digest, local.metadata.config_digest);
    assert_eq!(meta.config, local.metadata.config);
    let diff_ids =
        |image: &Image| -> Vec<String> { image.metadata.layers.iter().map(|l| l.diff_id.clone()).collect() };
    assert_eq!(diff_ids(&pulled), diff_ids(&local));
    assert_eq!(meta.layers.len(), 2);
    assert_eq!(
        seen,
        walk_all(&local).unwrap_or_else(|e| panic!("walking the archive: {e}"))
    );
    assert!(
        seen.keys().any(|(_, path)| path == "/var/lib/rpm/rpmdb.sqlite"),
        "{:?}",
        seen.keys()
    );

    let asked = server.token_requests().len();
    let wrong = docker_config(dir.path(), "wrong.json", &host, "scanner:wrong");
    let (registry, message) = auth_failure(&target, &wrong);
    assert_eq!(registry, host);
    assert!(
        message.contains("HTTP 401")
            && message.contains("UNAUTHORIZED")
            && message.contains("are the credentials right"),
        "{message}"
    );
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap_or_else(|e| panic!("{e}"));
    let anonymous = OpenOptions {
        docker_config: Some(empty),
        ..insecure()
    };
    let (registry, message) = auth_failure(&target, &anonymous);
    assert_eq!(registry, host);
    assert!(
        message.contains("HTTP 401") && message.contains("no credentials") && message.contains("empty.json"),
        "{message}"
    );
    assert_eq!(
        server.token_requests().get(asked..).unwrap_or_default(),
        [
            pull_request(Some("scanner"), false, "private/rpm-sample"),
            pull_request(None, false, "private/rpm-sample"),
        ]
    );
}
