//! Go catalogers: build info in binaries (real, built and synthesized) and go.mod files.

mod lang_image;

use lang_image::{catalog_fixture, fixture, image_file, shared_dir, sorted_name_versions};
use moat_catalog::cataloger::{Applies, Cataloger};
use moat_catalog::lang::go::{
    parse_go_buildinfo, parse_go_mod, BuildInfoError, GoBinaryCataloger, GoModCataloger,
};
use moat_core::Package;

const SENTINEL_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const SENTINEL_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

fn meta<'a>(p: &'a Package, key: &str) -> Option<&'a str> {
    p.metadata.get(key).map(String::as_str)
}

#[test]
fn debian_app_hello_go_matches_syft() {
    let Some(shared) = shared_dir() else { return };
    let binary = image_file(&shared, lang_image::GO_LAYER, "usr/local/bin/hello-go");
    assert!(GoBinaryCataloger.wants_content("/usr/local/bin/hello-go", &binary[..512]));
    let packages = GoBinaryCataloger
        .catalog("/usr/local/bin/hello-go", &binary)
        .unwrap();
    assert_eq!(
        sorted_name_versions(&packages),
        lang_image::syft_packages(&shared, "go-module")
    );
    let main = packages
        .iter()
        .find(|p| p.name == "example.com/hello-go")
        .unwrap();
    assert_eq!(meta(main, "go.build.GOOS"), Some("linux"));
    assert_eq!(meta(main, "go.build.-trimpath"), Some("true"));
    assert_eq!(meta(main, "go.toolchain"), Some("go1.19.8"));
    let stdlib = packages.iter().find(|p| p.name == "stdlib").unwrap();
    assert_eq!(
        stdlib.cpes,
        vec!["cpe:2.3:a:golang:go:1.19.8:-:*:*:*:*:*:*".to_string()]
    );
    assert_eq!(meta(stdlib, "go.main_module"), Some("example.com/hello-go"));
    insta::assert_json_snapshot!("hello_go", packages);
}

#[test]
fn ldflags_version_names_the_main_module() {
    let binary = fixture("go/hello-ldflags");
    let packages = GoBinaryCataloger
        .catalog("/usr/bin/hello-ldflags", &binary)
        .unwrap();
    insta::assert_json_snapshot!("hello_ldflags", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        vec![
            ("example.com/moat-fixture".into(), "v1.4.2".into()),
            ("stdlib".into(), "go1.19.8".into())
        ]
    );
}

/// Builds the fixture program for another OS/architecture with the installed Go toolchain.
fn go_build(goos: &str, goarch: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module example.com/cross\n\ngo 1.18\n").unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nfunc main() { println(\"hi\") }\n",
    )
    .unwrap();
    let out = dir.path().join("cross.bin");
    let status = std::process::Command::new("go")
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(dir.path())
        .env("GOOS", goos)
        .env("GOARCH", goarch)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", std::env::temp_dir().join("moat-go-cache"))
        .status();
    match status {
        Ok(s) if s.success() => std::fs::read(out).unwrap(),
        Ok(s) => panic!("go build for {goos}/{goarch} failed: {s}"),
        Err(e) => panic!("go builds the {goos}/{goarch} fixture: apt-get install golang-go ({e})"),
    }
}

#[test]
fn mach_o_and_pe_binaries_built_here() {
    for (goos, goarch, magic) in [
        ("darwin", "arm64", &b"\xcf\xfa\xed\xfe"[..]),
        ("windows", "386", &b"MZ"[..]),
    ] {
        let binary = go_build(goos, goarch);
        assert!(binary.starts_with(magic));
        assert!(GoBinaryCataloger.wants_content("/x", &binary[..64]));
        let packages = GoBinaryCataloger.catalog("/x", &binary).unwrap();
        let got = sorted_name_versions(&packages);
        assert_eq!(got.len(), 2, "{goos}: {got:?}");
        assert_eq!(got[0], ("example.com/cross".to_string(), "(devel)".to_string()));
        assert_eq!(got[1].0, "stdlib");
        assert_eq!(meta(&packages[0], "go.build.GOOS"), Some(goos));
        assert_eq!(meta(&packages[0], "go.architecture"), Some(goarch));
    }
}

/// A minimal executable ELF (one PT_LOAD mapping the whole file at `BASE`) whose payload at
/// `PAYLOAD_OFFSET` is a pre-1.18 pointer-format build info.
const BASE: u64 = 0x40_0000;
const PAYLOAD_OFFSET: usize = 0x100;

fn put(buf: &mut Vec<u8>, value: u64, size: usize, big_endian: bool) {
    let bytes = if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    if big_endian {
        buf.extend_from_slice(&bytes[8 - size..]);
    } else {
        buf.extend_from_slice(&bytes[..size]);
    }
}

fn pointer_format_elf(wide: bool, big_endian: bool, version: &[u8], modinfo: &[u8]) -> Vec<u8> {
    let ptr = if wide { 8 } else { 4 };
    // Payload: header (32) | version string header | modinfo string header | version | modinfo.
    let hdr_at = BASE + PAYLOAD_OFFSET as u64;
    let vhdr = hdr_at + 32;
    let mhdr = vhdr + 2 * ptr as u64;
    let vdata = mhdr + 2 * ptr as u64;
    let mdata = vdata + version.len() as u64;
    let mut payload = b"\xff Go buildinf:".to_vec();
    payload.push(ptr as u8);
    payload.push(u8::from(big_endian));
    put(&mut payload, vhdr, ptr, big_endian);
    put(&mut payload, mhdr, ptr, big_endian);
    payload.resize(32, 0);
    for (addr, len) in [(vdata, version.len()), (mdata, modinfo.len())] {
        put(&mut payload, addr, ptr, big_endian);
        put(&mut payload, len as u64, ptr, big_endian);
    }
    payload.extend_from_slice(version);
    payload.extend_from_slice(modinfo);

    let total = (PAYLOAD_OFFSET + payload.len()) as u64;
    let (ehsize, phsize) = if wide { (64u64, 56u64) } else { (52, 32) };
    let mut elf = vec![
        0x7f,
        b'E',
        b'L',
        b'F',
        if wide { 2 } else { 1 },
        if big_endian { 2 } else { 1 },
        1,
    ];
    elf.resize(16, 0);
    put(&mut elf, 2, 2, big_endian); // ET_EXEC
    put(&mut elf, if wide { 62 } else { 8 }, 2, big_endian); // x86-64 / MIPS
    put(&mut elf, 1, 4, big_endian);
    put(&mut elf, BASE, ptr, big_endian); // entry
    put(&mut elf, ehsize, ptr, big_endian); // phoff
    put(&mut elf, 0, ptr, big_endian); // shoff
    put(&mut elf, 0, 4, big_endian); // flags
    for value in [ehsize, phsize, 1, if wide { 64 } else { 40 }, 0, 0] {
        put(&mut elf, value, 2, big_endian);
    }
    put(&mut elf, 1, 4, big_endian); // PT_LOAD
    if wide {
        put(&mut elf, 6, 4, big_endian);
        for value in [0, BASE, BASE, total, total, 0x1000] {
            put(&mut elf, value, 8, big_endian);
        }
    } else {
        for value in [0, BASE, BASE, total, total, 6, 0x1000] {
            put(&mut elf, value, 4, big_endian);
        }
    }
    elf.resize(PAYLOAD_OFFSET, 0);
    elf.extend_from_slice(&payload);
    elf
}

fn framed(text: &str) -> Vec<u8> {
    let mut v = SENTINEL_START.to_vec();
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(&SENTINEL_END);
    v
}

const OLD_MODINFO: &str = "path\texample.com/old/cmd/tool\n\
    mod\texample.com/old\tv1.2.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
    dep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n\
    dep\tgolang.org/x/sys\tv0.0.0-20200116001909-b77594299b42\n\
    =>\tgithub.com/fork/sys\tv0.1.0\th1:BBBB=\n\
    dep\texample.com/local\tv0.0.0\n\
    =>\t../local\t\n";

#[test]
fn pointer_format_little_endian_64() {
    let elf = pointer_format_elf(true, false, b"go1.16.15", &framed(OLD_MODINFO));
    let info = parse_go_buildinfo(&elf).unwrap().expect("build info");
    assert_eq!(info.go_version, "go1.16.15");
    assert_eq!(info.mod_info.path.as_deref(), Some("example.com/old/cmd/tool"));
    let packages = GoBinaryCataloger.catalog("/bin/tool", &elf).unwrap();
    insta::assert_json_snapshot!("pointer_format", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        vec![
            ("../local".into(), "".into()),
            ("example.com/old".into(), "v1.2.0".into()),
            ("github.com/fork/sys".into(), "v0.1.0".into()),
            ("github.com/pkg/errors".into(), "v0.9.1".into()),
            ("stdlib".into(), "go1.16.15".into()),
        ]
    );
}

#[test]
fn pointer_format_big_endian_32() {
    let elf = pointer_format_elf(
        false,
        true,
        b"go1.15.2",
        &framed("path\tex.com/m\nmod\tex.com/m\t(devel)\t\n"),
    );
    let packages = GoBinaryCataloger.catalog("/bin/m", &elf).unwrap();
    assert_eq!(
        sorted_name_versions(&packages),
        vec![
            ("ex.com/m".into(), "(devel)".into()),
            ("stdlib".into(), "go1.15.2".into())
        ]
    );
}

#[test]
fn broken_build_info_is_an_error_not_a_panic() {
    let good = pointer_format_elf(true, false, b"go1.16.15", &framed(OLD_MODINFO));
    // Cut inside the strings: the pointers now point past the end of the segment's file data.
    let cut = &good[..good.len() - 40];
    assert!(parse_go_buildinfo(cut).is_err());
    let err = GoBinaryCataloger.catalog("/bin/cut", cut).unwrap_err();
    assert!(err.to_string().contains("/bin/cut"), "{err}");

    // Inline format whose modinfo length runs past the end of the file.
    let mut inline = b"\x7fELF-not-really".to_vec();
    inline.resize(32, 0);
    inline.extend_from_slice(b"\xff Go buildinf:\x08\x02");
    inline.resize(64, 0);
    inline.extend_from_slice(b"\x08go1.21.0\xff\x7f");
    assert!(matches!(
        parse_go_buildinfo(&inline),
        Err(BuildInfoError::Truncated { .. })
    ));

    // Bad pointer size.
    let mut bad = good.clone();
    bad[PAYLOAD_OFFSET + 14] = 3;
    assert_eq!(parse_go_buildinfo(&bad), Err(BuildInfoError::PointerSize(3)));

    // Every prefix of a real binary: never a panic.
    let real = fixture("go/hello-ldflags");
    for cut in (0..real.len()).step_by(real.len() / 97) {
        let _ = parse_go_buildinfo(&real[..cut]);
    }
}

#[test]
fn non_go_binaries_give_nothing() {
    assert_eq!(
        GoBinaryCataloger
            .catalog("/bin/x", b"\x7fELF\x02\x01\x01garbage")
            .unwrap(),
        vec![]
    );
    assert_eq!(
        catalog_fixture(&GoBinaryCataloger, "/bin/a", "rust/hello-auditable"),
        vec![]
    );
}

#[test]
fn go_mod_golden() {
    let contents = fixture("go/go.mod");
    assert!(GoModCataloger.wants_path("/src/api/go.mod"));
    assert!(!GoModCataloger.wants_path("/src/api/go.sum"));
    assert_eq!(GoModCataloger.applies(), Applies::DirectoriesOnly);
    let module = parse_go_mod(&contents).unwrap();
    assert_eq!(module.module.as_deref(), Some("example.com/shop/api"));
    assert_eq!(module.go_version.as_deref(), Some("1.21"));
    let packages = GoModCataloger.catalog("/src/api/go.mod", &contents).unwrap();
    insta::assert_json_snapshot!("go_mod", packages);
    assert_eq!(
        sorted_name_versions(&packages),
        vec![
            ("github.com/fork/gin".into(), "v1.9.2-patched".into()),
            ("github.com/google/uuid".into(), "v1.4.0".into()),
            ("github.com/quoted/mod".into(), "v0.2.0".into()),
            ("golang.org/x/net".into(), "v0.19.0".into()),
            ("golang.org/x/text".into(), "v0.13.0".into()),
        ]
    );
    let text = packages.iter().find(|p| p.name == "golang.org/x/text").unwrap();
    assert_eq!(meta(text, "go.indirect"), Some("true"));
}

#[test]
fn bad_go_mod_names_the_line() {
    let err = GoModCataloger
        .catalog("/x/go.mod", b"module a\n\nrequire (\n\tonly-a-path\n)\n")
        .unwrap_err();
    assert!(err.to_string().contains("line 4"), "{err}");
    assert!(err.to_string().contains("/x/go.mod"), "{err}");
    assert!(parse_go_mod(b"replace a => \n").is_err());
    assert!(parse_go_mod(b"\xff\xfe").is_err());
}
