//! The Dockerfile checks' fixed descriptions, ids `DF001`…, with the CIS Docker Benchmark
//! controls they map to and the ids Trivy (`DS…`), hadolint (`DL…`) and Checkov
//! (`CKV_DOCKER_…`) give the same problem.

use moat_core::standards::CIS_DOCKER;
use moat_core::{CheckInfo, ComplianceRef, ConfigKind, Severity};

const fn cis(control: &'static str) -> ComplianceRef {
    ComplianceRef {
        standard: CIS_DOCKER,
        control,
    }
}

const fn check(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    description: &'static str,
    remediation: &'static str,
    references: &'static [ComplianceRef],
    aliases: &'static [&'static str],
) -> CheckInfo {
    CheckInfo {
        id,
        title,
        severity,
        kind: ConfigKind::Dockerfile,
        description,
        remediation,
        references,
        aliases,
    }
}

const CIS_USER: &[ComplianceRef] = &[cis("4.1")];
const CIS_BASE: &[ComplianceRef] = &[cis("4.2")];
const CIS_PACKAGES: &[ComplianceRef] = &[cis("4.3")];
const CIS_HEALTHCHECK: &[ComplianceRef] = &[cis("4.6")];
const CIS_UPDATE: &[ComplianceRef] = &[cis("4.7")];
const CIS_ADD: &[ComplianceRef] = &[cis("4.9")];
const CIS_SECRETS: &[ComplianceRef] = &[cis("4.10")];
const CIS_VERIFIED: &[ComplianceRef] = &[cis("4.11")];
const CIS_SSH: &[ComplianceRef] = &[cis("5.6")];
const NONE: &[ComplianceRef] = &[];

pub(crate) const NO_USER: CheckInfo = check(
    "DF001",
    "Final stage sets no USER",
    Severity::High,
    "The final stage (and the stages it builds on) has no USER instruction, so the container \
     runs as root unless its base image sets a user; a breakout or a writable host mount is then \
     a root compromise.",
    "Create an unprivileged user and switch to it with USER (e.g. `USER 10001`) in the final stage.",
    CIS_USER,
    &["DS002", "CKV_DOCKER_3"],
);

pub(crate) const ROOT_USER: CheckInfo = check(
    "DF002",
    "Last USER is root",
    Severity::High,
    "The last USER of the final stage is root (or uid 0), so the container runs as root.",
    "Switch to an unprivileged user after the steps that need root (e.g. `USER 10001`).",
    CIS_USER,
    &["DS002", "DL3002", "CKV_DOCKER_8"],
);

pub(crate) const UNPINNED_IMAGE: CheckInfo = check(
    "DF003",
    "Image not pinned to a version",
    Severity::Medium,
    "A FROM or COPY --from image has no tag or uses `latest`, so each build may get a different \
     image: builds are not reproducible and an unreviewed base can slip in.",
    "Name a version tag (`debian:12.5-slim`), ideally with its digest (`@sha256:…`).",
    CIS_BASE,
    &["DS001", "DL3006", "DL3007", "CKV_DOCKER_7"],
);

pub(crate) const ADD_FOR_COPY: CheckInfo = check(
    "DF004",
    "ADD used where COPY serves",
    Severity::Low,
    "ADD of a local file that is not an archive does what COPY does, plus implicit archive \
     extraction and URL fetching that make the step's effect harder to see.",
    "Use COPY for local files; keep ADD for archives you mean to extract.",
    CIS_ADD,
    &["DS005", "DL3020", "CKV_DOCKER_4"],
);

pub(crate) const ADD_URL: CheckInfo = check(
    "DF005",
    "ADD fetches a remote URL",
    Severity::Medium,
    "ADD downloads the URL at build time without verifying what it got: a changed or \
     compromised file goes into the image unnoticed.",
    "Give ADD a `--checksum=sha256:…`, or download with curl and verify the checksum in RUN.",
    CIS_ADD,
    &["CKV_DOCKER_4"],
);

pub(crate) const PIPE_TO_SHELL: CheckInfo = check(
    "DF006",
    "Remote script piped to a shell",
    Severity::High,
    "RUN downloads a script with curl or wget and runs it straight away (`curl … | sh`): \
     whatever the server returns runs as root in the build, unverified.",
    "Download the script to a file, verify its checksum or signature, then run it.",
    CIS_VERIFIED,
    &[],
);

pub(crate) const SECRET_ENV: CheckInfo = check(
    "DF007",
    "Secret in ENV or ARG",
    Severity::Critical,
    "An ENV or ARG whose name says it holds a credential has a literal value: it is stored in \
     the image config or build history, readable by anyone who can pull the image.",
    "Pass secrets with BuildKit secret mounts (`RUN --mount=type=secret,id=…`) at build time \
     and with the orchestrator's secrets at run time.",
    CIS_SECRETS,
    &["DS031", "DL3064"],
);

pub(crate) const NO_ASSUME_YES: CheckInfo = check(
    "DF008",
    "Package install may prompt",
    Severity::Low,
    "apt-get, yum or dnf install runs without `-y`, so it waits for an answer the build cannot \
     give, or relies on defaults that change.",
    "Add `-y` (`apt-get install -y …`, `yum install -y …`).",
    NONE,
    &["DS021", "DL3014", "DL3030", "DL3038"],
);

pub(crate) const INSTALL_RECOMMENDS: CheckInfo = check(
    "DF009",
    "apt-get install without --no-install-recommends",
    Severity::Low,
    "apt installs recommended packages too, which adds software (and vulnerabilities) the \
     image does not need.",
    "Add `--no-install-recommends` to apt-get install.",
    CIS_PACKAGES,
    &["DS029", "DL3015"],
);

pub(crate) const APT_UNPINNED: CheckInfo = check(
    "DF010",
    "apt packages not pinned",
    Severity::Low,
    "apt-get install names packages without versions, so rebuilds install whatever is current.",
    "Pin versions: `apt-get install -y curl=7.88.1-10+deb12u5`.",
    NONE,
    &["DL3008"],
);

pub(crate) const APT_LISTS: CheckInfo = check(
    "DF011",
    "apt lists left in the layer",
    Severity::Low,
    "RUN runs `apt-get update` but does not remove /var/lib/apt/lists in the same RUN, so the \
     package index stays in the image layer.",
    "End the RUN with `&& rm -rf /var/lib/apt/lists/*` (or use a cache mount for the lists).",
    NONE,
    &["DL3009"],
);

pub(crate) const UPDATE_ALONE: CheckInfo = check(
    "DF012",
    "Package index update alone",
    Severity::Medium,
    "A RUN updates the package index without installing in the same RUN; the cached layer \
     keeps a stale index and later installs get outdated or missing packages.",
    "Update and install in one RUN: `apt-get update && apt-get install -y …`.",
    CIS_UPDATE,
    &["DS017", "CKV_DOCKER_5"],
);

pub(crate) const APT_NOT_APT_GET: CheckInfo = check(
    "DF013",
    "apt used instead of apt-get",
    Severity::Low,
    "`apt` is meant for people at a terminal; its interface and output are not stable for \
     scripts.",
    "Use apt-get (or apt-cache) in Dockerfiles.",
    NONE,
    &["DL3027", "CKV_DOCKER_9"],
);

pub(crate) const DIST_UPGRADE: CheckInfo = check(
    "DF014",
    "apt-get dist-upgrade in the build",
    Severity::Low,
    "dist-upgrade (or full-upgrade) may install, remove or replace packages across the image, \
     so the base image no longer says what the image holds.",
    "Use a newer base image instead; if needed, run `apt-get upgrade` for fixes only.",
    NONE,
    &["DS024", "DL3005"],
);

pub(crate) const APK_CACHE: CheckInfo = check(
    "DF015",
    "apk add without --no-cache",
    Severity::Low,
    "apk add keeps the package index in /var/cache/apk, adding it to the image layer.",
    "Use `apk add --no-cache …`.",
    NONE,
    &["DS025", "DL3019"],
);

pub(crate) const APK_UNPINNED: CheckInfo = check(
    "DF016",
    "apk packages not pinned",
    Severity::Low,
    "apk add names packages without versions, so rebuilds install whatever is current.",
    "Pin versions: `apk add --no-cache curl=8.5.0-r0`.",
    NONE,
    &["DL3018"],
);

pub(crate) const RPM_CLEAN: CheckInfo = check(
    "DF017",
    "yum/dnf cache not cleaned",
    Severity::Low,
    "yum or dnf installs without `clean all` in the same RUN, leaving package metadata and \
     downloaded packages in the layer.",
    "End the RUN with `&& yum clean all` (or `dnf clean all`).",
    NONE,
    &["DS015", "DS019", "DL3032", "DL3040"],
);

pub(crate) const RPM_UNPINNED: CheckInfo = check(
    "DF018",
    "yum/dnf packages not pinned",
    Severity::Low,
    "yum or dnf install names packages without versions, so rebuilds install whatever is \
     current.",
    "Pin versions: `yum install -y httpd-2.4.6`.",
    NONE,
    &["DL3033", "DL3041"],
);

pub(crate) const PIP_CACHE: CheckInfo = check(
    "DF019",
    "pip install without --no-cache-dir",
    Severity::Low,
    "pip keeps downloaded packages in its cache directory, adding them to the image layer.",
    "Use `pip install --no-cache-dir …` or set `ENV PIP_NO_CACHE_DIR=1`.",
    NONE,
    &["DL3042"],
);

pub(crate) const PIP_UNPINNED: CheckInfo = check(
    "DF020",
    "pip packages not pinned",
    Severity::Low,
    "pip install names packages without versions, so rebuilds install whatever is current.",
    "Pin versions (`flask==3.0.2`) or install from a pinned requirements file (`-r`).",
    NONE,
    &["DL3013"],
);

pub(crate) const NPM_UNPINNED: CheckInfo = check(
    "DF021",
    "npm packages not pinned",
    Severity::Low,
    "npm install names packages without versions, so rebuilds install whatever is current.",
    "Pin versions (`express@4.19.2`) or install from a lockfile with `npm ci`.",
    NONE,
    &["DL3016"],
);

pub(crate) const SUDO: CheckInfo = check(
    "DF022",
    "sudo used in RUN",
    Severity::Medium,
    "RUN already runs as the current USER; sudo adds a setuid binary and a tty-dependent tool \
     to the image and behaves unpredictably in builds.",
    "Run the step as root (USER root before it, USER back after), or use gosu/su-exec at run \
     time.",
    NONE,
    &["DS010", "DL3004", "CKV2_DOCKER_1"],
);

pub(crate) const SSH_PORT: CheckInfo = check(
    "DF023",
    "Port 22 exposed",
    Severity::Medium,
    "EXPOSE 22 suggests an SSH daemon runs in the container, which adds an attack surface and \
     bypasses the runtime's exec and audit controls.",
    "Remove EXPOSE 22 and the SSH daemon; use `docker exec` / `kubectl exec` for access.",
    CIS_SSH,
    &["DS004", "CKV_DOCKER_1"],
);

pub(crate) const NO_HEALTHCHECK: CheckInfo = check(
    "DF024",
    "No HEALTHCHECK in the final stage",
    Severity::Low,
    "Without a healthcheck the runtime cannot tell a hung service from a healthy one.",
    "Add a HEALTHCHECK that probes the service (or `HEALTHCHECK NONE` to say none applies).",
    CIS_HEALTHCHECK,
    &["DS026", "CKV_DOCKER_2"],
);

pub(crate) const MULTIPLE_HEALTHCHECKS: CheckInfo = check(
    "DF025",
    "Multiple HEALTHCHECK instructions",
    Severity::Low,
    "Only the last HEALTHCHECK of a stage takes effect; the earlier ones are dead code that \
     misleads readers.",
    "Keep one HEALTHCHECK per stage.",
    CIS_HEALTHCHECK,
    &["DS023", "DL3012"],
);

pub(crate) const RELATIVE_WORKDIR: CheckInfo = check(
    "DF026",
    "WORKDIR is a relative path",
    Severity::Low,
    "A relative WORKDIR depends on the previous WORKDIR (or the base image's), so the \
     directory the next steps run in is easy to get wrong.",
    "Use an absolute path: `WORKDIR /srv/app`.",
    NONE,
    &["DS009", "DL3000", "CKV_DOCKER_10"],
);

pub(crate) const MULTIPLE_ENTRYPOINTS: CheckInfo = check(
    "DF027",
    "Multiple ENTRYPOINT instructions",
    Severity::Medium,
    "Only the last ENTRYPOINT of a stage takes effect; the earlier ones are dead code that \
     misleads readers.",
    "Keep one ENTRYPOINT per stage.",
    NONE,
    &["DS007", "DL4004"],
);

pub(crate) const MULTIPLE_CMDS: CheckInfo = check(
    "DF028",
    "Multiple CMD instructions",
    Severity::Medium,
    "Only the last CMD of a stage takes effect; the earlier ones are dead code that misleads \
     readers.",
    "Keep one CMD per stage.",
    NONE,
    &["DS016", "DL4003"],
);

pub(crate) const SHELL_FORM: CheckInfo = check(
    "DF029",
    "CMD or ENTRYPOINT in shell form",
    Severity::Low,
    "In shell form the process runs under `/bin/sh -c`, which does not forward signals: the \
     container ignores `docker stop` until it is killed. A shell-form ENTRYPOINT also ignores CMD.",
    "Use the JSON (exec) form: `CMD [\"python\", \"app.py\"]`.",
    NONE,
    &["DL3025"],
);

pub(crate) const MAINTAINER: CheckInfo = check(
    "DF030",
    "MAINTAINER is deprecated",
    Severity::Low,
    "MAINTAINER is deprecated; tools read the maintainer from labels.",
    "Use `LABEL org.opencontainers.image.authors=\"…\"`.",
    NONE,
    &["DS022", "DL4000", "CKV_DOCKER_6"],
);

pub(crate) const CD_IN_RUN: CheckInfo = check(
    "DF031",
    "cd used in RUN",
    Severity::Low,
    "`cd` in RUN changes directory for that RUN only, which makes later steps' directory easy \
     to misread.",
    "Use WORKDIR to change directory.",
    NONE,
    &["DS013", "DL3003"],
);

pub(crate) const COPY_CONTEXT: CheckInfo = check(
    "DF032",
    "Whole build context copied without .dockerignore",
    Severity::Medium,
    "COPY . copies the whole build context and there is no .dockerignore, so .git, .env files, \
     keys and local build output end up in the image.",
    "Add a .dockerignore, or copy only the files the image needs.",
    CIS_SECRETS,
    &[],
);

pub(crate) const NO_PIPEFAIL: CheckInfo = check(
    "DF033",
    "RUN pipe without pipefail",
    Severity::Low,
    "A RUN with a pipe succeeds when the last command does, even if an earlier one failed \
     (`curl … | tar x` with a failed download), unless pipefail is set.",
    "Set `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` before the RUN, or start it \
     with `set -o pipefail &&`.",
    NONE,
    &["DL4006"],
);

pub(crate) const WORLD_WRITABLE: CheckInfo = check(
    "DF034",
    "World-writable permissions",
    Severity::Medium,
    "chmod 777 (or another world-writable mode) lets any user in the container change the \
     files, including programs that root runs.",
    "Grant the least access needed (e.g. `chmod 755`, or chown to the service user).",
    NONE,
    &[],
);

pub(crate) const CURL_AND_WGET: CheckInfo = check(
    "DF035",
    "Both curl and wget used",
    Severity::Low,
    "The Dockerfile downloads with both curl and wget, so the image carries two download tools \
     where one serves.",
    "Use one of the two throughout.",
    NONE,
    &["DS014", "DL4001"],
);

pub(crate) const CONSECUTIVE_RUNS: CheckInfo = check(
    "DF036",
    "Consecutive RUN instructions",
    Severity::Low,
    "Each RUN makes a layer; consecutive RUNs that could be one add layers and keep files an \
     earlier RUN meant to delete (caches, package lists) in the image.",
    "Join consecutive RUN instructions with `&&` (and clean up in the same RUN).",
    NONE,
    &["DL3059"],
);

pub(crate) const NAMED_USER: CheckInfo = check(
    "DF037",
    "USER names a user instead of a numeric id",
    Severity::Low,
    "A user name is resolved inside the container, so the runtime and Kubernetes \
     (runAsNonRoot) cannot tell whether it is root; a numeric UID can be verified.",
    "Use a numeric UID (and GID), e.g. `USER 10001:10001`.",
    CIS_USER,
    &["DL3066"],
);

/// Every Dockerfile check, in id order.
pub(crate) const ALL: &[CheckInfo] = &[
    NO_USER,
    ROOT_USER,
    UNPINNED_IMAGE,
    ADD_FOR_COPY,
    ADD_URL,
    PIPE_TO_SHELL,
    SECRET_ENV,
    NO_ASSUME_YES,
    INSTALL_RECOMMENDS,
    APT_UNPINNED,
    APT_LISTS,
    UPDATE_ALONE,
    APT_NOT_APT_GET,
    DIST_UPGRADE,
    APK_CACHE,
    APK_UNPINNED,
    RPM_CLEAN,
    RPM_UNPINNED,
    PIP_CACHE,
    PIP_UNPINNED,
    NPM_UNPINNED,
    SUDO,
    SSH_PORT,
    NO_HEALTHCHECK,
    MULTIPLE_HEALTHCHECKS,
    RELATIVE_WORKDIR,
    MULTIPLE_ENTRYPOINTS,
    MULTIPLE_CMDS,
    SHELL_FORM,
    MAINTAINER,
    CD_IN_RUN,
    COPY_CONTEXT,
    NO_PIPEFAIL,
    WORLD_WRITABLE,
    CURL_AND_WGET,
    CONSECUTIVE_RUNS,
    NAMED_USER,
];
