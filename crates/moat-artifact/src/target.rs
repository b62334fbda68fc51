//! Parsing the TARGET argument: transport prefixes, plain paths (sniffed) and image references.
//!
//! The image reference grammar (docker/distribution `reference`) is small and has no maintained
//! Rust crate without async/registry baggage, so it is written here: `[domain/]path[:tag][@digest]`.

use crate::archive::NOT_A_TAR;
use crate::error::ArtifactError;
use crate::walk::{decompressor, peek_magic, Compression};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Default registry for references without a domain.
pub const DOCKER_HUB: &str = "docker.io";
/// Most tar members looked at when sniffing a file.
const SNIFF_MAX_ENTRIES: usize = 100_000;
/// Bytes of a file examined to recognise an SBOM.
const SNIFF_JSON_BYTES: u64 = 1 << 20;
/// Bytes read first to tell JSON (or SPDX tag-value) from anything else.
const SNIFF_FIRST_BYTES: u64 = 4096;

/// What the user asked to scan (the TARGET argument of every command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `docker-archive:FILE`, or a plain file path that is a docker save tar (.tar / .tar.gz).
    DockerArchive(PathBuf),
    /// `oci:DIR[:TAG]`, or a plain directory holding `oci-layout`.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, if any.
        tag: Option<String>,
    },
    /// `oci-archive:FILE[:TAG]`, or a plain file that holds `oci-layout`.
    OciArchive {
        /// The tar file.
        file: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, if any.
        tag: Option<String>,
    },
    /// `dir:PATH` or a plain path that is a directory.
    Directory(PathBuf),
    /// `host[:port]/repo:tag`, `repo@sha256:…`, `registry:REF` (`docker:REF` is accepted as a
    /// synonym: images are always pulled from the registry, there is no daemon access).
    Registry(RegistryReference),
    /// `sbom:FILE`, or a plain file holding a CycloneDX or SPDX document.
    Sbom(PathBuf),
    /// `file:PATH`: one regular file, for secret and configuration scanning.
    File(PathBuf),
}

impl Target {
    /// Parses a target; looks at the filesystem for plain paths.
    pub fn parse(input: &str) -> Result<Target, ArtifactError> {
        if input.is_empty() {
            return Err(invalid(input, "empty target"));
        }
        if let Some(target) = parse_prefixed(input)? {
            return Ok(target);
        }
        let path = Path::new(input);
        match path.symlink_metadata() {
            Ok(_) => sniff_path(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => parse_missing_path(input),
            Err(e) => Err(ArtifactError::io(input, e)),
        }
    }
}

/// Handles the explicit `transport:` forms; `None` when there is no known prefix.
fn parse_prefixed(input: &str) -> Result<Option<Target>, ArtifactError> {
    let Some((scheme, rest)) = input.split_once(':') else {
        return Ok(None);
    };
    let non_empty = |what: &str| {
        if rest.is_empty() {
            Err(invalid(input, &format!("{scheme}: needs a {what}")))
        } else {
            Ok(PathBuf::from(rest))
        }
    };
    let target = match scheme {
        "docker-archive" => Target::DockerArchive(non_empty("file")?),
        "dir" => Target::Directory(non_empty("directory")?),
        "sbom" => Target::Sbom(non_empty("file")?),
        "file" => Target::File(non_empty("file")?),
        "registry" | "docker" => Target::Registry(RegistryReference::parse(rest)?),
        "oci" | "oci-dir" => {
            let (dir, tag) = split_path_tag(rest, input)?;
            Target::OciLayout { dir, tag }
        }
        "oci-archive" => {
            let (file, tag) = split_path_tag(rest, input)?;
            Target::OciArchive { file, tag }
        }
        _ => return Ok(None),
    };
    Ok(Some(target))
}

/// Splits `PATH[:TAG]`: the whole text is the path when it exists, otherwise the part after the
/// last `:` (with no `/` in it) is the tag.
fn split_path_tag(rest: &str, input: &str) -> Result<(PathBuf, Option<String>), ArtifactError> {
    if rest.is_empty() {
        return Err(invalid(input, "needs a path"));
    }
    if Path::new(rest).exists() {
        return Ok((PathBuf::from(rest), None));
    }
    match rest.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') && !path.is_empty() => {
            if tag.is_empty() {
                return Err(invalid(input, "empty tag after ':'"));
            }
            Ok((PathBuf::from(path), Some(tag.to_string())))
        }
        _ => Ok((PathBuf::from(rest), None)),
    }
}

/// A plain argument that is not on disk: an image reference, unless it obviously names a file.
fn parse_missing_path(input: &str) -> Result<Target, ArtifactError> {
    let looks_like_file = input.starts_with(['/', '.', '~'])
        || [".tar", ".tar.gz", ".tgz", ".json", ".zst", ".spdx", ".cdx"]
            .iter()
            .any(|ext| input.ends_with(ext));
    if looks_like_file {
        return Err(invalid(input, "no such file or directory"));
    }
    RegistryReference::parse(input)
        .map(Target::Registry)
        .map_err(|e| {
            invalid(
                input,
                &format!("not a file or directory, and not an image reference ({e})"),
            )
        })
}

fn invalid(input: &str, message: &str) -> ArtifactError {
    ArtifactError::InvalidTarget {
        input: input.to_string(),
        message: message.to_string(),
    }
}

/// Decides what an existing path holds.
fn sniff_path(path: &Path) -> Result<Target, ArtifactError> {
    let shown = path.display().to_string();
    let meta = path.metadata().map_err(|e| ArtifactError::io(&shown, e))?;
    if meta.is_dir() {
        if path.join("oci-layout").is_file() {
            return Ok(Target::OciLayout {
                dir: path.to_path_buf(),
                tag: None,
            });
        }
        return Ok(Target::Directory(path.to_path_buf()));
    }
    if looks_like_sbom(path)? {
        return Ok(Target::Sbom(path.to_path_buf()));
    }
    match sniff_tar(path)? {
        TarKind::DockerArchive => Ok(Target::DockerArchive(path.to_path_buf())),
        TarKind::OciArchive => Ok(Target::OciArchive {
            file: path.to_path_buf(),
            tag: None,
        }),
        TarKind::NotATar(reason) => Err(ArtifactError::NotAnImage { path: shown, reason }),
    }
}

/// True when the file starts like a CycloneDX or SPDX JSON document, or is SPDX tag-value.
fn looks_like_sbom(path: &Path) -> Result<bool, ArtifactError> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|e| ArtifactError::io(&shown, e))?;
    let mut head = Vec::new();
    (&mut file)
        .take(SNIFF_FIRST_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| ArtifactError::io(&shown, e))?;
    if !starts_like_json(&head) {
        let text = String::from_utf8_lossy(&head);
        return Ok(text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with("SPDXVersion:"));
    }
    // Only a JSON document is read further, to find the format's marker key.
    file.take(SNIFF_JSON_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| ArtifactError::io(&shown, e))?;
    let text = String::from_utf8_lossy(&head);
    Ok(text.contains("\"bomFormat\"") || text.contains("\"spdxVersion\""))
}

/// True when the bytes, after a byte-order mark and white space, open a JSON object.
fn starts_like_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// What a tar file holds.
enum TarKind {
    DockerArchive,
    OciArchive,
    NotATar(String),
}

/// Lists the members of a (possibly compressed) tar looking for `manifest.json` / `oci-layout`.
///
/// `docker save` writes `manifest.json` last, so a plain tar is listed with seeks over member
/// data; a compressed one has to be streamed.
fn sniff_tar(path: &Path) -> Result<TarKind, ArtifactError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| ArtifactError::io(&shown, e))?;
    let (compression, stream) = peek_magic(BufReader::new(file)).map_err(|e| ArtifactError::io(&shown, e))?;
    if compression == Compression::None {
        let file = File::open(path).map_err(|e| ArtifactError::io(&shown, e))?;
        let file_len = file.metadata().map_err(|e| ArtifactError::io(&shown, e))?.len();
        let mut archive = tar::Archive::new(file);
        return classify_members(archive.entries_with_seek(), &shown, Some(file_len));
    }
    let reader = decompressor(compression, stream).map_err(|e| ArtifactError::io(&shown, e))?;
    let mut archive = tar::Archive::new(reader);
    classify_members(archive.entries(), &shown, None)
}

/// Decides the archive kind from the member names. With `file_len` (a seekable plain tar, whose
/// member data is skipped rather than read), a member that runs past the end is reported as a
/// truncated archive, which the skipping reader would otherwise not notice.
fn classify_members<R: Read>(
    entries: io::Result<tar::Entries<'_, R>>,
    shown: &str,
    file_len: Option<u64>,
) -> Result<TarKind, ArtifactError> {
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => return Ok(TarKind::NotATar(format!("not a tar archive ({e})"))),
    };
    let mut has_layout = false;
    let mut has_index = false;
    for (i, entry) in entries.enumerate() {
        let entry = match entry {
            Ok(entry) => entry,
            // The tar crate reports a bad header as `Other`, quoting its bytes: not shown.
            Err(e) if i == 0 && e.kind() == io::ErrorKind::Other => {
                return Ok(TarKind::NotATar(NOT_A_TAR.to_string()))
            }
            Err(e) if i == 0 => return Ok(TarKind::NotATar(format!("not a tar archive ({e})"))),
            Err(e) => {
                return Err(ArtifactError::malformed(
                    format!("tar archive {shown}"),
                    e.to_string(),
                ))
            }
        };
        if i >= SNIFF_MAX_ENTRIES {
            break;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let end = entry.raw_file_position().saturating_add(entry.size());
        if file_len.is_some_and(|len| end > len) {
            return Err(ArtifactError::malformed(
                format!("tar archive {shown}"),
                format!("member {name:?} extends past the end of the file (truncated archive?)"),
            ));
        }
        match name.trim_start_matches("./") {
            "manifest.json" => return Ok(TarKind::DockerArchive),
            "oci-layout" => has_layout = true,
            "index.json" => has_index = true,
            _ => {}
        }
    }
    if has_layout || has_index {
        return Ok(TarKind::OciArchive);
    }
    Ok(TarKind::NotATar(
        "no manifest.json (docker-archive) or oci-layout/index.json (OCI archive) in it".to_string(),
    ))
}

/// A reference to an image in a registry, per the docker reference grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryReference {
    /// Registry host (and port): `docker.io` by default (the client talks to `registry-1.docker.io`).
    pub registry: String,
    /// Repository path; `library/` is prefixed for single-name Docker Hub images.
    pub repository: String,
    /// Tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// Digest (`sha256:…`), if pinned.
    pub digest: Option<String>,
}

impl RegistryReference {
    /// Parses `[domain[:port]/]path[:tag][@digest]`.
    pub fn parse(s: &str) -> Result<Self, ArtifactError> {
        let bad = |message: &str| ArtifactError::InvalidReference {
            input: s.to_string(),
            message: message.to_string(),
        };
        if s.is_empty() || s.len() > 1024 {
            return Err(bad("must be 1 to 1024 characters"));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(validate_digest(d).map_err(|m| bad(&m))?)),
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_tag.get(last_slash..).and_then(|tail| tail.rfind(':')) {
            Some(i) => {
                let colon = last_slash + i;
                let tag = name_tag.get(colon + 1..).unwrap_or("");
                validate_tag(tag).map_err(|m| bad(&m))?;
                (name_tag.get(..colon).unwrap_or(""), Some(tag.to_string()))
            }
            None => (name_tag, None),
        };
        let (registry, repository) = split_domain(name).map_err(|m| bad(&m))?;
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(RegistryReference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// True for Docker Hub.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }
}

impl fmt::Display for RegistryReference {
    /// The canonical form `registry/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits the name into registry and repository, applying the Docker Hub defaults.
fn split_domain(name: &str) -> Result<(String, String), String> {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if is_domain_like(first) => (first.to_string(), rest.to_string()),
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    let domain = match domain.as_str() {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        _ => domain,
    };
    validate_domain(&domain)?;
    if path.len() > 255 {
        return Err("repository name longer than 255 characters".to_string());
    }
    for component in path.split('/') {
        validate_path_component(component)?;
    }
    let path = if domain == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    Ok((domain, path))
}

/// The first component is a registry when it has a `.` or `:`, is `localhost`, or has capitals.
fn is_domain_like(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())
}

fn validate_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or("unclosed '[' in registry host")?;
        if v6.is_empty() || !v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!("invalid IPv6 registry host {domain:?}"));
        }
        (None, after.strip_prefix(':'))
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        let ok_label = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(ok_label) {
            return Err(format!("invalid registry host {domain:?}"));
        }
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("invalid registry port in {domain:?}"));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn validate_path_component(component: &str) -> Result<(), String> {
    let err = || format!("invalid repository path component {component:?}");
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return Err(err());
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        if alnum(&b) {
            i += 1;
            continue;
        }
        let run_end = (i..bytes.len())
            .find(|&j| bytes.get(j).is_some_and(alnum))
            .unwrap_or(bytes.len());
        let separator = component.get(i..run_end).unwrap_or("");
        let valid =
            separator == "." || separator == "_" || separator == "__" || separator.chars().all(|c| c == '-');
        if !valid || separator.is_empty() {
            return Err(err());
        }
        i = run_end;
    }
    Ok(())
}

/// `[\w][\w.-]{0,127}`
fn validate_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    let first_ok = chars.next().is_some_and(word);
    if !first_ok || tag.len() > 128 || !chars.all(|c| word(c) || c == '.' || c == '-') {
        return Err(format!("invalid tag {tag:?}"));
    }
    Ok(())
}

/// `algorithm:hex`; sha256 digests must have 64 lower-case hex digits.
fn validate_digest(digest: &str) -> Result<String, String> {
    let err = || format!("invalid digest {digest:?}");
    let (algorithm, hex) = digest.split_once(':').ok_or_else(err)?;
    let alg_ok = !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    let hex_ok = hex.len() >= 32
        && hex
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c));
    let sha_ok = algorithm != "sha256"
        || (hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    if alg_ok && hex_ok && sha_ok {
        Ok(digest.to_string())
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> String {
        RegistryReference::parse(s)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(reference("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(reference("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(reference("bitnami/redis"), "docker.io/bitnami/redis:latest");
        assert_eq!(
            reference("index.docker.io/library/alpine"),
            "docker.io/library/alpine:latest"
        );
    }

    #[test]
    fn hosts_ports_and_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(reference("localhost/app"), "localhost/app:latest");
        assert_eq!(reference("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(reference("ghcr.io/o/r:t"), "ghcr.io/o/r:t");
        assert_eq!(
            reference(&format!("alpine@{digest}")),
            format!("docker.io/library/alpine@{digest}")
        );
        assert_eq!(
            reference(&format!("q.io/x:1@{digest}")),
            format!("q.io/x:1@{digest}")
        );
        assert_eq!(reference("[::1]:5000/x"), "[::1]:5000/x:latest");
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "Alpine",
            "a:",
            "a@sha256:12",
            "a//b",
            "-a",
            "a:t@",
            "a b",
            "ghcr.io/",
            "a__-b",
        ] {
            assert!(RegistryReference::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(RegistryReference::parse("my_repo/a-b.c__d").is_ok());
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            Target::parse("oci:/nonexistent/layout:v2").ok(),
            Some(Target::OciLayout {
                dir: "/nonexistent/layout".into(),
                tag: Some("v2".into())
            })
        );
        assert_eq!(
            Target::parse("docker-archive:x.tar").ok(),
            Some(Target::DockerArchive("x.tar".into()))
        );
        assert!(matches!(
            Target::parse("registry:ghcr.io/a/b"),
            Ok(Target::Registry(_))
        ));
        assert!(matches!(Target::parse("busybox:1.36"), Ok(Target::Registry(_))));
        assert!(matches!(
            Target::parse("./missing.tar"),
            Err(ArtifactError::InvalidTarget { .. })
        ));
    }
}
