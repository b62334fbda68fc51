//! Directory walks: sorted order, kinds, symlink loops, contents.

mod common;

use common::{recorder, Seen};
use moat_artifact::{walk_directory, ArtifactError, EntryKind, Limits};
use std::os::unix::fs::symlink;

#[test]
fn walks_sorted_without_following_symlink_loops() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("etc/ssl")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=test\n").unwrap();
    std::fs::write(root.join("etc/ssl/cert.pem"), "pem").unwrap();
    std::fs::create_dir(root.join("loop")).unwrap();
    symlink("..", root.join("loop/up")).unwrap();
    symlink("self", root.join("self")).unwrap();
    symlink("b", root.join("a")).unwrap();
    symlink("a", root.join("b")).unwrap();
    symlink("/", root.join("rootlink")).unwrap();

    let mut seen = Seen::new();
    let mut warnings = Vec::new();
    walk_directory(root, &Limits::default(), &mut recorder(&mut seen), &mut |p, m| {
        warnings.push(format!("{p}: {m}"))
    })
    .unwrap();
    let link = |t: &str| EntryKind::Symlink {
        target: t.to_string(),
    };
    let expect = vec![
        ("/a".to_string(), link("b"), 0),
        ("/b".to_string(), link("a"), 0),
        ("/etc".to_string(), EntryKind::Dir, 0),
        ("/etc/os-release".to_string(), EntryKind::File, 8),
        ("/etc/ssl".to_string(), EntryKind::Dir, 0),
        ("/etc/ssl/cert.pem".to_string(), EntryKind::File, 3),
        ("/loop".to_string(), EntryKind::Dir, 0),
        ("/loop/up".to_string(), link(".."), 0),
        ("/rootlink".to_string(), link("/"), 0),
        ("/self".to_string(), link("self"), 0),
    ];
    assert_eq!(seen, expect);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn reads_contents_and_bounds_entries() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..5 {
        std::fs::write(tmp.path().join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    let mut contents = Vec::new();
    walk_directory(
        tmp.path(),
        &Limits::default(),
        &mut |e| {
            contents.push((e.path().to_string(), e.head()?.to_vec(), e.contents(100)?));
            Ok(())
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(contents.len(), 5);
    assert_eq!(
        contents[3],
        ("/f3".to_string(), b"file 3".to_vec(), b"file 3".to_vec())
    );

    let err = walk_directory(
        tmp.path(),
        &Limits::default(),
        &mut |e| e.contents(3).map(|_| ()),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, ArtifactError::TooLarge { limit: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("/f0"), "{err}");

    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let err = walk_directory(tmp.path(), &limits, &mut |_| Ok(()), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, ArtifactError::TooLarge { limit: 3, .. }), "{err:?}");
}

#[test]
fn missing_root_is_an_io_error_naming_it() {
    let err = walk_directory(
        std::path::Path::new("/nonexistent/moat-root"),
        &Limits::default(),
        &mut |_| Ok(()),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, ArtifactError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/moat-root"), "{err}");
}
