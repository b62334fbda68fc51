//! Hostile and broken input, each synthesized here: every case must give a typed error whose
//! message names the file, layer or entry, and never a panic.

mod common;

use common::{recorder, Seen};
use moat_artifact::{open, walk_layer_stream, ArtifactError, EntryKind, Limits, OpenOptions, Opened, Target};
use moat_testkit::tarball::{dir, file, gzip, raw_tar, sha256, symlink, write_docker_archive, Member};

fn walk_bytes(bytes: &[u8], limits: &Limits) -> Result<Seen, ArtifactError> {
    let mut seen = Seen::new();
    walk_layer_stream(bytes, "test-layer", limits, &mut recorder(&mut seen))?;
    Ok(seen)
}

/// Walks and reads every file's contents (so truncation is seen inside the entry by the visitor).
fn walk_reading(bytes: &[u8], limits: &Limits) -> Result<usize, ArtifactError> {
    let mut total = 0;
    walk_layer_stream(bytes, "test-layer", limits, &mut |e| {
        total += e.contents(u64::MAX)?.len();
        Ok(())
    })?;
    Ok(total)
}

fn big_file() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn layer_entries_are_normalised_and_whiteouts_recognised() {
    let data = big_file();
    let tar = raw_tar(&[
        dir("./"),
        dir("./etc/"),
        file("./etc/os-release", b"ID=test\n"),
        file("usr//bin/./tool", &data),
        file("etc/.wh.passwd", b""),
        file("var/cache/.wh..wh..opq", b""),
        Member {
            name: "bin/sh",
            kind: b'2',
            data: b"busybox",
        },
        Member {
            name: "bin/ash",
            kind: b'1',
            data: b"./usr/bin/tool",
        },
        file(".wh..wh.plnk", b""),
    ]);
    let seen = walk_bytes(&tar, &Limits::default()).unwrap();
    let expect = vec![
        ("/etc".to_string(), EntryKind::Dir, 0),
        ("/etc/os-release".to_string(), EntryKind::File, 8),
        ("/usr/bin/tool".to_string(), EntryKind::File, 10_000),
        ("/etc/passwd".to_string(), EntryKind::Whiteout, 0),
        ("/var/cache".to_string(), EntryKind::OpaqueDir, 0),
        (
            "/bin/sh".to_string(),
            EntryKind::Symlink {
                target: "busybox".into(),
            },
            0,
        ),
        (
            "/bin/ash".to_string(),
            EntryKind::Hardlink {
                target: "/usr/bin/tool".into(),
            },
            0,
        ),
    ];
    assert_eq!(seen, expect);
    assert_eq!(walk_reading(&tar, &Limits::default()).unwrap(), 8 + 10_000);
    // Compressed forms give the same entries.
    assert_eq!(walk_bytes(&gzip(&tar), &Limits::default()).unwrap(), expect);
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    assert_eq!(walk_bytes(&zst, &Limits::default()).unwrap(), expect);
}

#[test]
fn head_and_contents_limits() {
    let data = big_file();
    let tar = raw_tar(&[file("a", &data), file("b", b"short")]);
    let mut heads = Vec::new();
    let result = walk_layer_stream(&tar[..], "L", &Limits::default(), &mut |e| {
        heads.push(e.head()?.to_vec());
        if e.path() == "/a" {
            let all = e.contents(20_000)?;
            assert_eq!(all, data);
            let err = e.contents(100).unwrap_err();
            assert!(matches!(err, ArtifactError::TooLarge { limit: 100, .. }), "{err}");
            assert!(err.to_string().contains("/a"), "{err}");
        }
        Ok(())
    });
    result.unwrap();
    assert_eq!(heads, vec![data[..512].to_vec(), b"short".to_vec()]);
    let small = Limits {
        max_file_size: 1000,
        ..Limits::default()
    };
    let err = walk_reading(&tar, &small).unwrap_err();
    assert!(
        matches!(err, ArtifactError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
}

#[test]
fn truncated_tar_inside_file_data_names_layer_and_entry() {
    let tar = raw_tar(&[file("ok", b"fine"), file("usr/lib/big.so", &big_file())]);
    let cut = &tar[..512 + 512 + 512 + 4000];
    for reading in [false, true] {
        let err = if reading {
            walk_reading(cut, &Limits::default()).map(|_| ())
        } else {
            walk_bytes(cut, &Limits::default()).map(|_| ())
        }
        .unwrap_err();
        assert!(
            matches!(&err, ArtifactError::Truncated { entry, .. } if entry == "/usr/lib/big.so"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("test-layer") && msg.contains("/usr/lib/big.so"),
            "{msg}"
        );
    }
}

#[test]
fn truncated_tar_inside_header_is_an_error() {
    let tar = raw_tar(&[file("a", b"x"), file("b", b"y")]);
    let cut = &tar[..1024 + 100];
    let err = walk_bytes(cut, &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Truncated { layer, .. } if layer == "test-layer"),
        "{err:?}"
    );
}

#[test]
fn clean_end_without_trailer_or_padding_is_accepted() {
    let tar = raw_tar(&[file("a", b"x"), file("b", b"yy")]);
    // No end-of-archive blocks: ends exactly at a header boundary.
    assert_eq!(walk_bytes(&tar[..2048], &Limits::default()).unwrap().len(), 2);
    // umoci 0.4 style: last file not padded.
    assert_eq!(walk_bytes(&tar[..1536 + 2], &Limits::default()).unwrap().len(), 2);
    // One byte short of the data is truncation.
    let err = walk_bytes(&tar[..1536 + 1], &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::Truncated { entry, .. } if entry == "/b"),
        "{err:?}"
    );
}

#[test]
fn truncated_gzip_layer_names_the_layer() {
    let tar = raw_tar(&[file("etc/a", &big_file()), file("etc/b", &big_file())]);
    let gz = gzip(&tar);
    for cut in [gz.len() / 2, gz.len() - 4, 12] {
        let err = walk_reading(&gz[..cut], &Limits::default()).unwrap_err();
        assert!(
            matches!(err, ArtifactError::Truncated { .. }),
            "cut {cut}: {err:?}"
        );
        assert!(err.to_string().contains("test-layer"), "{err}");
    }
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let err = walk_bytes(&zst[..zst.len() / 2], &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ArtifactError::Truncated { .. } | ArtifactError::CorruptLayer { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("test-layer"), "{err}");
}

#[test]
fn corrupt_gzip_and_bad_header_are_corrupt_layer_errors() {
    let tar = raw_tar(&[file("etc/a", &big_file())]);
    let mut gz = gzip(&tar);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let err = walk_bytes(&gz, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ArtifactError::CorruptLayer { .. } | ArtifactError::Truncated { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("test-layer"), "{err}");

    let mut bad = raw_tar(&[file("a", b"x")]);
    bad[150] ^= 1; // checksum no longer matches
    let err = walk_bytes(&bad, &Limits::default()).unwrap_err();
    assert!(matches!(err, ArtifactError::CorruptLayer { .. }), "{err:?}");
}

#[test]
fn gzip_bomb_hits_the_ratio_and_size_limits() {
    let zeros = vec![0u8; 20 << 20];
    let tar = raw_tar(&[file("bomb", &zeros)]);
    let gz = gzip(&tar);
    assert!(gz.len() < 100_000);
    let ratio = Limits {
        max_ratio: 50,
        ..Limits::default()
    };
    let err = walk_bytes(&gz, &ratio).unwrap_err();
    assert!(
        matches!(err, ArtifactError::CompressionRatio { limit: 50, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("test-layer"), "{err}");

    let size = Limits {
        max_layer_bytes: 4 << 20,
        ..Limits::default()
    };
    let err = walk_bytes(&gz, &size).unwrap_err();
    assert!(
        matches!(err, ArtifactError::TooLarge { limit, .. } if limit == 4 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("test-layer"), "{err}");
    // Deflate cannot exceed ~1032:1, so a looser ratio lets the same stream through.
    let loose = Limits {
        max_ratio: 5000,
        ..Limits::default()
    };
    assert_eq!(walk_bytes(&gz, &loose).unwrap().len(), 1);
}

#[test]
fn too_many_entries() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let members: Vec<Member<'_>> = names.iter().map(|n| file(n, b"")).collect();
    let tar = raw_tar(&members);
    let err = walk_bytes(
        &tar,
        &Limits {
            max_entries: 10,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, ArtifactError::TooLarge { limit: 10, .. }),
        "{err:?}"
    );
}

#[test]
fn parent_and_absolute_entry_names_are_refused() {
    for name in ["../x", "a/../../x", "/abs", "/etc/passwd"] {
        let tar = raw_tar(&[file("ok", b"1"), file(name, b"2")]);
        let err = walk_bytes(&tar, &Limits::default()).unwrap_err();
        match &err {
            ArtifactError::UnsafePath { layer, entry } => {
                assert_eq!(layer, "test-layer");
                assert_eq!(entry, name);
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
    }
    let tar = raw_tar(&[Member {
        name: "link",
        kind: b'1',
        data: b"../../etc/shadow",
    }]);
    let err = walk_bytes(&tar, &Limits::default()).unwrap_err();
    assert!(matches!(err, ArtifactError::UnsafePath { .. }), "{err:?}");
    assert!(err.to_string().contains("../../etc/shadow"), "{err}");
}

#[test]
fn docker_archive_with_missing_layer_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("missing.tar");
    write_docker_archive(&path, &[raw_tar(&[file("a", b"1")])], true);
    let err = open(&Target::DockerArchive(path.clone()), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ArtifactError::MissingBlob { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("missing.tar") && msg.contains(".tar.gz"), "{msg}");
}

#[test]
fn synthesized_docker_archive_opens_and_walks() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ok.tar");
    let layers = [raw_tar(&[file("a", b"1")]), raw_tar(&[file(".wh.a", b"")])];
    write_docker_archive(&path, &layers, false);
    let Ok(Opened::Image(image)) = open(
        &Target::parse(path.to_str().unwrap()).unwrap(),
        &OpenOptions::default(),
    ) else {
        panic!("open")
    };
    assert_eq!(image.metadata.repo_tags, ["synth:1"]);
    assert_eq!(image.metadata.layers[1].diff_id, sha256(&layers[1]));
    let mut seen = Seen::new();
    image.walk_layer(1, &mut recorder(&mut seen)).unwrap();
    assert_eq!(seen, vec![("/a".to_string(), EntryKind::Whiteout, 0)]);
    let err = image.walk_layer(2, &mut |_| Ok(())).unwrap_err();
    assert!(
        matches!(err, ArtifactError::NoSuchLayer { index: 2, count: 2 }),
        "{err:?}"
    );
}

#[test]
fn truncated_docker_archive_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("whole.tar");
    let layer: Vec<u8> = raw_tar(&[file(
        "data",
        &(0..200_000u32).map(|i| (i * 7 % 256) as u8).collect::<Vec<_>>(),
    )]);
    write_docker_archive(&path, &[layer], false);
    let bytes = std::fs::read(&path).unwrap();
    let cut_path = tmp.path().join("cut.tar");
    std::fs::write(&cut_path, &bytes[..bytes.len() / 2]).unwrap();
    let err = open(&Target::DockerArchive(cut_path), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cut.tar"), "{err}");
}

#[test]
fn a_compressed_outer_archive_bomb_is_named_as_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("image.tar");
    write_docker_archive(&plain, &[raw_tar(&[file("a", b"1")])], false);
    // The outer tar: 8 MiB of zeros ahead of the image's own members, then gzip over it all.
    let mut outer = raw_tar(&[file("padding", &vec![0u8; 8 << 20])]);
    outer.truncate(outer.len() - 1024);
    outer.extend_from_slice(&std::fs::read(&plain).unwrap());
    let packed = tmp.path().join("image.tar.gz");
    std::fs::write(&packed, gzip(&outer)).unwrap();
    let options = OpenOptions {
        limits: Limits {
            max_ratio: 50,
            ..Limits::default()
        },
        ..OpenOptions::default()
    };
    let err = open(&Target::DockerArchive(packed), &options).unwrap_err();
    assert!(
        matches!(err, ArtifactError::CompressionRatio { limit: 50, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("compressed archive ") && message.contains("image.tar.gz"),
        "{message}"
    );
}

#[test]
fn non_image_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "just some text, not an image\n".repeat(40)).unwrap();
    let err = Target::parse(text.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ArtifactError::NotAnImage { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");

    let plain_tar = tmp.path().join("files.tar");
    std::fs::write(&plain_tar, raw_tar(&[file("hello", b"hi")])).unwrap();
    let err = Target::parse(plain_tar.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, ArtifactError::NotAnImage { .. }), "{err:?}");
    assert!(err.to_string().contains("files.tar"), "{err}");

    let err = open(&Target::DockerArchive(plain_tar), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ArtifactError::NotAnImage { .. }), "{err:?}");

    let empty = tmp.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        Target::parse(empty.to_str().unwrap()),
        Err(ArtifactError::NotAnImage { .. })
    ));
}

#[test]
fn sboms_and_layouts_are_sniffed() {
    let tmp = tempfile::tempdir().unwrap();
    let cdx = tmp.path().join("bom.json");
    std::fs::write(&cdx, br#"  {"bomFormat": "CycloneDX", "specVersion": "1.6"}"#).unwrap();
    assert_eq!(
        Target::parse(cdx.to_str().unwrap()).unwrap(),
        Target::Sbom(cdx.clone())
    );
    let spdx = tmp.path().join("sbom.spdx.json");
    std::fs::write(&spdx, br#"{"spdxVersion": "SPDX-2.3"}"#).unwrap();
    assert_eq!(Target::parse(spdx.to_str().unwrap()).unwrap(), Target::Sbom(spdx));
    let other_json = tmp.path().join("other.json");
    std::fs::write(&other_json, br#"{"name": "x"}"#).unwrap();
    assert!(matches!(
        Target::parse(other_json.to_str().unwrap()),
        Err(ArtifactError::NotAnImage { .. })
    ));
    let d = tmp.path().join("rootfs");
    std::fs::create_dir(&d).unwrap();
    assert_eq!(
        Target::parse(d.to_str().unwrap()).unwrap(),
        Target::Directory(d.clone())
    );
    assert!(matches!(
        open(&Target::Directory(d.clone()), &OpenOptions::default()),
        Ok(Opened::Directory(_))
    ));
    assert!(matches!(
        open(&Target::Sbom(cdx), &OpenOptions::default()),
        Ok(Opened::Sbom(_))
    ));
}

#[test]
fn mutated_layers_never_panic() {
    let data = big_file();
    let tar = raw_tar(&[
        dir("d/"),
        file("d/a", &data),
        Member {
            name: "d/l",
            kind: b'2',
            data: b"a",
        },
        file("d/.wh.x", b""),
    ]);
    let gz = gzip(&tar);
    let mut state: u32 = 0x1234_5678;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let limits = Limits {
        max_file_size: 1 << 16,
        max_layer_bytes: 1 << 20,
        max_entries: 100,
        max_ratio: 100,
    };
    for round in 0..400 {
        let mut bytes = if round % 2 == 0 { tar.clone() } else { gz.clone() };
        for _ in 0..1 + next() % 8 {
            let at = next() % bytes.len();
            bytes[at] = next() as u8;
        }
        if round % 5 == 0 {
            bytes.truncate(next() % bytes.len());
        }
        let _ = walk_reading(&bytes, &limits);
    }
}

#[test]
fn outer_tar_links_that_lead_nowhere_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let open_tar = |name: &str, members: &[Member<'_>]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, raw_tar(members)).unwrap();
        open(&Target::DockerArchive(path), &OpenOptions::default()).unwrap_err()
    };
    let err = open_tar(
        "loop.tar",
        &[symlink("manifest.json", "m2"), symlink("m2", "./manifest.json")],
    );
    assert!(matches!(err, ArtifactError::Malformed { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("loop.tar") && msg.contains(r#"link loop: "manifest.json" -> "m2" -> "manifest.json""#),
        "{msg}"
    );

    let names: Vec<String> = (0..12).map(|i| format!("l{i}")).collect();
    let mut chain = vec![symlink("manifest.json", "l0")];
    chain.extend(names.windows(2).map(|pair| symlink(&pair[0], &pair[1])));
    let msg = open_tar("chain.tar", &chain).to_string();
    assert!(
        msg.contains("chain.tar") && msg.contains("too many links"),
        "{msg}"
    );

    let err = open_tar("dangling.tar", &[symlink("manifest.json", "gone.json")]);
    assert!(matches!(err, ArtifactError::MissingBlob { .. }), "{err:?}");
    assert!(err.to_string().contains("gone.json in"), "{err}");
}
