//! Distribution detection: os-release for each supported family, the older release files,
//! distroless Debian, and the three shared images.

mod os_support;

use moat_catalog::distro::{detect, parse_os_release, DISTRO_FILES};
use moat_core::{Distro, Package, PackageType};
use os_support::{image_files, shared_dir, MapSupport};
use std::collections::BTreeMap;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/os/os-release");

fn os_release(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture")
}

fn detect_files(files: &[(&str, &str)]) -> Option<Distro> {
    detect(&MapSupport::of(files), &[])
}

fn short(d: &Distro) -> (String, String) {
    (d.id.clone(), d.version_id.clone())
}

#[test]
fn os_release_fixtures_golden() {
    let names = [
        "almalinux-9",
        "alpine-3.18",
        "amzn-2023",
        "centos-7",
        "chainguard",
        "debian-12",
        "distroless-debian-12",
        "fedora-39",
        "opensuse-leap-15",
        "rhel-9",
        "rocky-9",
        "sles-15",
        "tricky",
        "ubuntu-22.04",
        "wolfi",
    ];
    let parsed: BTreeMap<&str, Distro> = names
        .iter()
        .map(|n| (*n, parse_os_release(&os_release(n)).expect(n)))
        .collect();
    let ids: Vec<(String, String)> = parsed.values().map(short).collect();
    assert_eq!(
        ids,
        [
            ("almalinux", "9.3"),
            ("alpine", "3.18.4"),
            ("amzn", "2023"),
            ("centos", "7"),
            ("chainguard", "20230214"),
            ("debian", "12"),
            ("debian", "12"),
            ("fedora", "39"),
            ("opensuse-leap", "15.5"),
            ("rhel", "9.3"),
            ("rocky", "9.3"),
            ("sles", "15.5"),
            ("my-os", "1.0"),
            ("ubuntu", "22.04"),
            ("wolfi", "20230201"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let tricky = &parsed["tricky"];
    assert_eq!(tricky.name, r#"My "Quoted" OS"#);
    assert_eq!(tricky.pretty_name, r"My OS 1.0 $HOME `x` \ done");
    assert_eq!(tricky.id_like, vec!["debian", "ubuntu"]);
    insta::assert_json_snapshot!("distro_os_release", parsed);
}

#[test]
fn etc_os_release_wins_over_usr_lib() {
    let d = detect_files(&[
        ("/etc/os-release", &os_release("ubuntu-22.04")),
        ("/usr/lib/os-release", &os_release("debian-12")),
    ]);
    assert_eq!(short(&d.unwrap()), ("ubuntu".into(), "22.04".into()));
    let d = detect_files(&[("/usr/lib/os-release", &os_release("debian-12"))]).unwrap();
    assert_eq!((d.id.as_str(), d.codename.as_str()), ("debian", "bookworm"));
}

#[test]
fn release_files_without_os_release() {
    let cases: [(&str, &str, (&str, &str)); 9] = [
        ("/etc/alpine-release", "3.18.4\n", ("alpine", "3.18.4")),
        ("/etc/debian_version", "12.15\n", ("debian", "12")),
        (
            "/etc/redhat-release",
            "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n",
            ("rhel", "7.9"),
        ),
        (
            "/etc/centos-release",
            "CentOS release 6.10 (Final)\n",
            ("centos", "6.10"),
        ),
        (
            "/etc/system-release",
            "Amazon Linux AMI release 2018.03\n",
            ("amzn", "2018.03"),
        ),
        (
            "/etc/rocky-release",
            "Rocky Linux release 8.4 (Green Obsidian)\n",
            ("rocky", "8.4"),
        ),
        (
            "/etc/lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n",
            ("ubuntu", "14.04"),
        ),
        (
            "/etc/SuSE-release",
            "SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\nPATCHLEVEL = 3\n",
            ("sles", "12.3"),
        ),
        (
            "/etc/SuSE-release",
            "openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin\n",
            ("opensuse", "13.2"),
        ),
    ];
    for (path, text, (id, version)) in cases {
        assert!(DISTRO_FILES.contains(&path), "{path} is kept by the pipeline");
        let d = detect_files(&[(path, text)]).unwrap_or_else(|| panic!("{path}: nothing detected"));
        assert_eq!(short(&d), (id.to_string(), version.to_string()), "{path}");
    }
    let sid = detect_files(&[("/etc/debian_version", "trixie/sid\n")]).unwrap();
    assert_eq!(
        (sid.id.as_str(), sid.version_id.as_str(), sid.codename.as_str()),
        ("debian", "", "trixie")
    );
}

#[test]
fn distroless_debian_from_status_d_base_files() {
    let mut base = Package::new(
        PackageType::Deb,
        "base-files",
        "12.4+deb12u5",
        "/var/lib/dpkg/status.d/base-files",
        "t",
    );
    base.arch = Some("amd64".into());
    let d = detect(&MapSupport::default(), &[base.clone()]).unwrap();
    assert_eq!(short(&d), ("debian".into(), "12".into()));
    // The same package in a full status file is not a distroless marker.
    base.locations[0].path = "/var/lib/dpkg/status".into();
    assert_eq!(detect(&MapSupport::default(), &[base]), None);
}

#[test]
fn nothing_to_detect_is_none() {
    assert_eq!(detect_files(&[]), None);
    assert_eq!(detect_files(&[("/etc/os-release", "# empty\n")]), None);
    assert_eq!(detect_files(&[("/etc/os-release", "\u{0}\u{1}garbage")]), None);
}

#[test]
fn shared_images() {
    let Some(shared) = shared_dir() else { return };
    let wanted = |p: &str| DISTRO_FILES.contains(&p);
    let distro = |image: &str| {
        let files = image_files(&shared.join("images").join(image), &wanted);
        detect(&MapSupport(files), &[])
    };
    let rocky = distro("rpm-sample.tar").expect("rocky");
    assert_eq!(short(&rocky), ("rocky".into(), "8.4".into()));
    assert_eq!(rocky.id_like, vec!["rhel", "centos", "fedora"]);
    assert_eq!(rocky.pretty_name, "Rocky Linux 8.4 (Green Obsidian)");
    let debian = distro("debian-app.tar").expect("debian");
    assert_eq!(
        (
            debian.id.as_str(),
            debian.version_id.as_str(),
            debian.codename.as_str()
        ),
        ("debian", "12", "bookworm")
    );
    assert_eq!(distro("busybox-static.tar"), None);
}
