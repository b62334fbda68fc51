//! A small hand-built scan report for the writer tests: two packages of a Debian image and four
//! findings (one in CISA's KEV catalog with EPSS figures, one without a fix, one suppressed by
//! a VEX statement); and the same report with two secrets and three misconfigurations.
#![allow(dead_code)]

use moat_core::{
    AffectedPackage, ConfigKind, CvssRating, DatabaseInfo, Distro, EpssScore, FixStatus, Inventory, KevEntry,
    LayerInfo, MatchReason, Misconfiguration, Package, PackageType, Report, SecretFinding, Severity,
    SourceDescription, SourceKind, SuppressedFinding, TextLocation, VulnerabilityFinding, Warning,
};
use moat_report::{Format, WriteOptions};

pub const LAYER_BASE: &str = "sha256:9bd65a6a3fd3b3bfd9f13a38f123ea95884c4e6a054edcfb6334930a8f033032";
pub const LAYER_APP: &str = "sha256:7ec79cfb43d7733d3401b69bdf1d7afe454655dfbc88e2e695e445df47ae66d3";
pub const SUPPRESSED_BY: &str = "openvex vex.json: not_affected (vulnerable_code_not_in_execute_path)";

pub fn source() -> SourceDescription {
    SourceDescription {
        kind: SourceKind::Image,
        user_input: "docker-archive:debian-app.tar".to_string(),
        name: "registry.example/debian-app:1.0".to_string(),
        image_id: Some("sha256:d311f56795a8e58d5e371aa26caa05d9a28f4743799c6aa0c9fddd639ab54ce2".to_string()),
        manifest_digest: None,
        tags: vec!["registry.example/debian-app:1.0".to_string()],
        repo_digests: Vec::new(),
        platform: Some("linux/amd64".to_string()),
        layers: vec![LayerInfo {
            digest: "sha256:dbb0f5866567ff5a0c2315427ac5a21efac24352a6df8befdfcd107ae1cb40aa".to_string(),
            diff_id: LAYER_BASE.to_string(),
            media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".to_string(),
            size: 49_700_000,
            created_by: "mmdebstrap bookworm".to_string(),
        }],
    }
}

pub fn debian_12() -> Distro {
    Distro {
        id: "debian".to_string(),
        version_id: "12".to_string(),
        name: "Debian GNU/Linux".to_string(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".to_string(),
        codename: "bookworm".to_string(),
        id_like: Vec::new(),
    }
}

pub fn libc6() -> Package {
    let mut package = Package::new(
        PackageType::Deb,
        "libc6",
        "2.36-9+deb12u1",
        "/var/lib/dpkg/status",
        "dpkg-db-cataloger",
    );
    package.purl = "pkg:deb/debian/libc6@2.36-9%2Bdeb12u1?arch=amd64&distro=debian-12".to_string();
    package.arch = Some("amd64".to_string());
    package.licenses = vec!["LGPL-2.1-or-later".to_string()];
    if let Some(location) = package.locations.first_mut() {
        location.layer = Some(LAYER_BASE.to_string());
    }
    package
}

pub fn log4j_core() -> Package {
    let mut package = Package::new(
        PackageType::JavaArchive,
        "log4j-core",
        "2.14.1",
        "/app/lib/app.jar:BOOT-INF/lib/log4j-core-2.14.1.jar",
        "java-archive-cataloger",
    );
    package.namespace = Some("org.apache.logging.log4j".to_string());
    package.purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1".to_string();
    package.licenses = vec!["Apache-2.0".to_string()];
    if let Some(location) = package.locations.first_mut() {
        location.layer = Some(LAYER_APP.to_string());
    }
    package
}

fn cvss(version: &str, vector: &str, score: f64, source: &str) -> CvssRating {
    CvssRating {
        version: version.to_string(),
        vector: vector.to_string(),
        score,
        severity: Severity::from_cvss_score(score),
        source: source.to_string(),
    }
}

fn reason(record: &str, source: &str, ecosystem: &str, package: &str, range: &str) -> MatchReason {
    MatchReason {
        record: record.to_string(),
        source: source.to_string(),
        ecosystem: ecosystem.to_string(),
        package: package.to_string(),
        matched_on: "package".to_string(),
        range: range.to_string(),
    }
}

/// Log4Shell: CRITICAL, fixed, in KEV, with EPSS figures, two CVSS vectors and an alias.
pub fn log4shell() -> VulnerabilityFinding {
    VulnerabilityFinding {
        id: "CVE-2021-44228".to_string(),
        aliases: vec!["GHSA-jfh8-c2jp-5v3q".to_string()],
        title: "Remote code injection in Log4j".to_string(),
        description: "Apache Log4j2 JNDI features do not protect against attacker controlled LDAP endpoints."
            .to_string(),
        severity: Severity::Critical,
        severity_source: "cvss-v3.1".to_string(),
        cvss: vec![
            cvss(
                "3.1",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                10.0,
                "GHSA-jfh8-c2jp-5v3q",
            ),
            cvss(
                "4.0",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
                "GHSA-jfh8-c2jp-5v3q",
            ),
        ],
        package: AffectedPackage::of(&log4j_core()),
        fixed_versions: vec!["2.12.2".to_string(), "2.15.0".to_string()],
        status: FixStatus::Fixed,
        kev: Some(KevEntry {
            date_added: "2021-12-10".to_string(),
            due_date: "2021-12-24".to_string(),
            known_ransomware: true,
        }),
        epss: Some(EpssScore {
            score: 0.94358,
            percentile: 0.99957,
            date: "2026-11-20".to_string(),
        }),
        matched_by: vec![reason(
            "GHSA-jfh8-c2jp-5v3q",
            "osv:Maven",
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            "ECOSYSTEM: introduced 2.13.0, fixed 2.15.0",
        )],
        references: vec![
            "https://logging.apache.org/log4j/2.x/security.html".to_string(),
            "https://nvd.nist.gov/vuln/detail/CVE-2021-44228".to_string(),
        ],
        published: "2021-12-10T00:00:00Z".to_string(),
        modified: "2025-10-22T00:15:09.123Z".to_string(),
    }
}

/// A second Log4j CVE, suppressed by a VEX statement.
pub fn log4j_followup() -> VulnerabilityFinding {
    VulnerabilityFinding {
        id: "CVE-2021-45046".to_string(),
        aliases: vec!["GHSA-7rjr-3q55-vv33".to_string()],
        title: "Incomplete fix for Apache Log4j vulnerability".to_string(),
        description: String::new(),
        severity: Severity::Critical,
        severity_source: "cvss-v3.1".to_string(),
        cvss: vec![cvss(
            "3.1",
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H",
            9.0,
            "GHSA-7rjr-3q55-vv33",
        )],
        package: AffectedPackage::of(&log4j_core()),
        fixed_versions: vec!["2.16.0".to_string()],
        status: FixStatus::Fixed,
        kev: None,
        epss: None,
        matched_by: vec![reason(
            "GHSA-7rjr-3q55-vv33",
            "osv:Maven",
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            "ECOSYSTEM: introduced 2.13.0, fixed 2.16.0",
        )],
        references: vec!["https://github.com/advisories/GHSA-7rjr-3q55-vv33".to_string()],
        published: "2021-12-14".to_string(),
        modified: String::new(),
    }
}

/// Looney Tunables in glibc: HIGH, fixed by the distribution.
pub fn looney_tunables() -> VulnerabilityFinding {
    VulnerabilityFinding {
        id: "CVE-2023-4911".to_string(),
        aliases: vec!["DSA-5514-1".to_string()],
        title: "glibc: buffer overflow in ld.so leading to privilege escalation through GLIBC_TUNABLES"
            .to_string(),
        description: "A buffer overflow was discovered in the GNU C Library's dynamic loader ld.so."
            .to_string(),
        severity: Severity::High,
        severity_source: "cvss-v3.1".to_string(),
        cvss: vec![cvss(
            "3.1",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.8,
            "CVE-2023-4911",
        )],
        package: AffectedPackage::of(&libc6()),
        fixed_versions: vec!["2.36-9+deb12u3".to_string()],
        status: FixStatus::Fixed,
        kev: None,
        epss: None,
        matched_by: vec![reason(
            "DSA-5514-1",
            "osv:Debian",
            "Debian:12",
            "glibc",
            "ECOSYSTEM: introduced 0, fixed 2.36-9+deb12u3",
        )],
        references: vec!["https://security-tracker.debian.org/tracker/CVE-2023-4911".to_string()],
        published: "2023-10-03T18:15:10Z".to_string(),
        modified: "2024-11-21T08:36:15Z".to_string(),
    }
}

/// A glibc issue the distribution rates low and has not fixed; no CVSS vector.
pub fn unfixed_glibc() -> VulnerabilityFinding {
    VulnerabilityFinding {
        id: "CVE-2010-4756".to_string(),
        aliases: Vec::new(),
        title: String::new(),
        description: "The glob implementation in the GNU C Library allows remote authenticated users to cause a denial of service.\nSecond line."
            .to_string(),
        severity: Severity::Low,
        severity_source: "ecosystem".to_string(),
        cvss: Vec::new(),
        package: AffectedPackage::of(&libc6()),
        fixed_versions: Vec::new(),
        status: FixStatus::Unfixed,
        kev: None,
        epss: None,
        matched_by: vec![reason(
            "CVE-2010-4756",
            "osv:Debian",
            "Debian:12",
            "glibc",
            "ECOSYSTEM: introduced 0",
        )],
        references: Vec::new(),
        published: String::new(),
        modified: String::new(),
    }
}

/// The sample report: normalized, with its inventory.
pub fn sample_report() -> Report {
    let mut inventory = Inventory {
        source: source(),
        distro: Some(debian_12()),
        packages: vec![log4j_core(), libc6()],
        warnings: Vec::new(),
    };
    inventory.normalize();
    let mut report = Report {
        source: source(),
        distro: Some(debian_12()),
        database: Some(DatabaseInfo {
            path: "/var/cache/moat/db.sqlite".to_string(),
            updated_at: "2026-11-20T06:00:00Z".to_string(),
            sources: vec!["osv (2400 records)".to_string()],
        }),
        vulnerabilities: vec![log4shell(), unfixed_glibc(), looney_tunables()],
        secrets: Vec::new(),
        misconfigurations: Vec::new(),
        suppressed: vec![SuppressedFinding {
            finding: log4j_followup(),
            suppressed_by: SUPPRESSED_BY.to_string(),
        }],
        warnings: vec![Warning {
            path: "/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA".to_string(),
            layer: Some(LAYER_BASE.to_string()),
            message: "not UTF-8".to_string(),
        }],
        inventory: Some(inventory),
    };
    report.normalize();
    report
}

/// The AWS key id of [`aws_key_secret`], before redaction.
pub const AWS_KEY_ID: &str = "AKIAZC2XABCDEFGH7KZJ";
/// The GitHub token of [`github_token_secret`], before redaction.
pub const GITHUB_TOKEN: &str = "ghp_R8cT4vQ2mZ7pLx9wK3nB6yH1sD5fJ0gA2eUo";

/// An AWS access key id on line 3 of a file of the app layer, redacted as a scan leaves it.
pub fn aws_key_secret() -> SecretFinding {
    let mut location = TextLocation::at("/app/config/.env", 3, 19);
    location.end_column = 39;
    location.layer = Some(LAYER_APP.to_string());
    let mut secret = SecretFinding {
        rule_id: "aws-access-token".to_string(),
        title: "AWS access key id".to_string(),
        severity: Severity::Critical,
        location,
        secret: AWS_KEY_ID.to_string(),
        line: format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}"),
        entropy: Some(3.75),
        redacted: false,
    };
    secret.redact();
    secret
}

/// A GitHub token in the image config's Env, which has no line; redacted.
pub fn github_token_secret() -> SecretFinding {
    let mut secret = SecretFinding {
        rule_id: "github-pat".to_string(),
        title: "GitHub personal access token".to_string(),
        severity: Severity::High,
        location: TextLocation::file("<image config> Env"),
        secret: GITHUB_TOKEN.to_string(),
        line: format!("GITHUB_TOKEN={GITHUB_TOKEN}"),
        entropy: None,
        redacted: false,
    };
    secret.redact();
    secret
}

/// The Dockerfile's last USER is root (line 3, a whole-line finding without columns).
pub fn dockerfile_root_user() -> Misconfiguration {
    Misconfiguration {
        check_id: "DF002".to_string(),
        title: "Last USER is root".to_string(),
        severity: Severity::High,
        kind: ConfigKind::Dockerfile,
        message: "the last USER instruction of stage \"runtime\" sets root".to_string(),
        remediation: "Add USER with an unprivileged user (e.g. USER 10001) after the steps that need root."
            .to_string(),
        resource: None,
        location: TextLocation::at("Dockerfile", 3, 0),
        references: vec!["CIS Docker Benchmark v1.6.0 4.1".to_string()],
        aliases: vec!["DS002".to_string(), "DL3002".to_string()],
    }
}

/// A privileged container in a Kubernetes Deployment, line 12, column 9; the message holds
/// characters markup formats must escape.
pub fn privileged_pod() -> Misconfiguration {
    let mut location = TextLocation::at("deploy/web.yaml", 12, 9);
    location.end_column = 25;
    Misconfiguration {
        check_id: "PSS-privileged".to_string(),
        title: "Privileged container".to_string(),
        severity: Severity::Critical,
        kind: ConfigKind::Kubernetes,
        message: "container \"app\" sets privileged: true <&> shares the host's devices".to_string(),
        remediation: "Remove securityContext.privileged or set it to false.".to_string(),
        resource: Some("Deployment default/web".to_string()),
        location,
        references: vec![
            "Kubernetes Pod Security Standards Baseline".to_string(),
            "NSA/CISA Kubernetes Hardening Guide v1.2 Pod security".to_string(),
        ],
        aliases: vec!["KSV017".to_string()],
    }
}

/// The image config has no HEALTHCHECK: about the config as a whole, line 0.
pub fn no_healthcheck() -> Misconfiguration {
    Misconfiguration {
        check_id: "IMG002".to_string(),
        title: "Image has no HEALTHCHECK".to_string(),
        severity: Severity::Low,
        kind: ConfigKind::ImageConfig,
        message: "the image config defines no healthcheck".to_string(),
        remediation: "Add a HEALTHCHECK instruction that probes the service.".to_string(),
        resource: None,
        location: TextLocation::file("<image config>"),
        references: vec!["CIS Docker Benchmark v1.6.0 4.6".to_string()],
        aliases: Vec::new(),
    }
}

/// The sample report with two secrets and three misconfigurations, normalized.
pub fn full_report() -> Report {
    let mut report = sample_report();
    report.secrets = vec![github_token_secret(), aws_key_secret()];
    report.misconfigurations = vec![privileged_pod(), no_healthcheck(), dockerfile_root_user()];
    report.normalize();
    report
}

/// A scan for secrets and misconfigurations only: no advisory data, no vulnerabilities.
pub fn findings_only_report() -> Report {
    let mut report = full_report();
    report.database = None;
    report.vulnerabilities.clear();
    report.suppressed.clear();
    report.inventory = None;
    report
}

pub fn options() -> WriteOptions {
    WriteOptions {
        tool_version: "0.1.0".to_string(),
        color: false,
        show_suppressed: false,
    }
}

/// `report` written in `format`.
pub fn render(report: &Report, format: Format, options: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    moat_report::write(report, format, options, &mut out).expect("writing to memory succeeds");
    out
}

pub fn render_text(report: &Report, format: Format, options: &WriteOptions) -> String {
    String::from_utf8(render(report, format, options)).expect("output is UTF-8")
}

pub fn render_json(report: &Report, format: Format) -> serde_json::Value {
    serde_json::from_slice(&render(report, format, &options())).expect("output is JSON")
}

/// Removes ANSI colour sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for end in chars.by_ref() {
                if end == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
