//! Dockerfiles: the parser (directives, escapes, continuations, heredocs, flags, exec vs shell
//! form, variable substitution and stages), every check on a bad and a good example, syntax
//! errors, inline ignores and hostile input.

use moat_core::ConfigKind;
use moat_misconfig::dockerfile::{
    self, parse, BaseImage, Body, Command, Dockerfile, Instruction, Keyword, Parsed,
};
use moat_misconfig::{scan_file, FileOutcome, ScanOptions};

fn scan(text: &str) -> FileOutcome {
    scan_file(
        "Dockerfile",
        text,
        ConfigKind::Dockerfile,
        &ScanOptions::default(),
    )
}

fn parsed(text: &str) -> Dockerfile {
    let Parsed { dockerfile, errors } = parse("Dockerfile", text);
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    dockerfile
}

/// The lines at which check `id` fired, in order.
fn lines_of(outcome: &FileOutcome, id: &str) -> Vec<u32> {
    outcome
        .findings
        .iter()
        .filter(|f| f.check_id == id)
        .map(|f| f.location.start_line)
        .collect()
}

/// Every instruction of every stage, FROM included.
fn all_instructions(dockerfile: &Dockerfile) -> Vec<&Instruction> {
    dockerfile
        .stages
        .iter()
        .flat_map(|s| std::iter::once(&s.from).chain(s.instructions.iter()))
        .collect()
}

const GOOD: &str = r#"# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22.3
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ ./cmd/
RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server

FROM debian:12.5-slim@sha256:2bc5c236e9b262645a323e9088dfa3bb1ecb16cc75811daf40a23a824d665be9
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311 curl=7.88.1-10+deb12u5 \
    && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL https://example.com/sums.txt | grep server > /tmp/sums
RUN groupadd --system app && useradd --system --gid app --uid 10001 app
WORKDIR /srv/app
COPY --from=build --chown=app:app --chmod=755 /out/server /srv/app/server
ENV APP_PORT=8080 PASSWORD_FILE=/run/secrets/db
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["curl", "-fsS", "http://localhost:8080/health"]
ENTRYPOINT ["/srv/app/server"]
CMD ["--port", "8080"]
"#;

#[test]
fn a_well_written_dockerfile_has_no_findings() {
    let outcome = scan(GOOD);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert!(outcome.findings.is_empty(), "{:#?}", outcome.findings);
}

#[test]
fn the_good_dockerfile_parses_into_stages() {
    let dockerfile = parsed(GOOD);
    assert_eq!(dockerfile.directives[0].name, "syntax");
    assert_eq!(dockerfile.directives[0].value, "docker/dockerfile:1");
    assert_eq!(dockerfile.global_args.len(), 1);
    assert_eq!(dockerfile.stages.len(), 2);
    let build = &dockerfile.stages[0];
    assert_eq!(build.name.as_deref(), Some("build"));
    match &build.base {
        BaseImage::Image(image) => {
            assert_eq!(image.name, "golang");
            assert_eq!(image.tag.as_deref(), Some("1.22.3-bookworm"));
        }
        other => panic!("unexpected base {other:?}"),
    }
    let run = &dockerfile.stages[1].instructions[1];
    assert_eq!(run.keyword, Keyword::Run);
    assert_eq!((run.line, run.end_line), (12, 14));
    assert_eq!(dockerfile.stages[1].label(), "stage 1");
}

// ----- parser -----

#[test]
fn escape_directive_switches_to_backtick() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\ `\n    && echo done\nWORKDIR C:\\app\n";
    let dockerfile = parsed(text);
    assert_eq!(dockerfile.escape, '`');
    let stage = &dockerfile.stages[0];
    assert_eq!(stage.instructions[0].text, "dir C:\\     && echo done");
    assert_eq!(stage.instructions[0].end_line, 4);
    match &stage.instructions[1].body {
        Body::Workdir(path) => assert_eq!(path.value.as_deref(), Some("C:\\app")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directive_after_a_comment_is_a_comment() {
    let dockerfile = parsed("# hello\n# escape=`\nFROM alpine:3.19\n");
    assert!(dockerfile.directives.is_empty());
    assert_eq!(dockerfile.escape, '\\');
}

#[test]
fn continuations_skip_comments_and_blank_lines() {
    let text = "FROM alpine:3.19\nRUN echo a \\\n  # a comment inside\n\n  b \\\n  c\nUSER 1\n";
    let dockerfile = parsed(text);
    let run = &dockerfile.stages[0].instructions[0];
    assert_eq!(run.body, Body::Run(Command::Shell("echo a   b   c".into())));
    assert_eq!((run.line, run.end_line), (2, 6));
    assert_eq!(dockerfile.stages[0].instructions[1].line, 7);
}

#[test]
fn heredocs_are_read() {
    let text = "FROM alpine:3.19\nRUN <<EOF\napk add --no-cache curl=8.5.0-r0\nEOF\nRUN <<-'ONE' cat >/a && cat <<\"TWO\" >/b\n\tfirst $HOME\n\tONE\nsecond\nTWO\nCOPY <<EOF /etc/motd\nhello\nEOF\nUSER 1\n";
    let dockerfile = parsed(text);
    let stage = &dockerfile.stages[0];
    let first = &stage.instructions[0];
    assert_eq!(first.heredocs.len(), 1);
    assert_eq!(first.heredocs[0].content, "apk add --no-cache curl=8.5.0-r0\n");
    assert_eq!((first.line, first.end_line), (2, 4));
    let second = &stage.instructions[1];
    assert_eq!(second.heredocs.len(), 2);
    assert_eq!(second.heredocs[0].delimiter, "ONE");
    assert!(second.heredocs[0].strip_tabs);
    assert!(!second.heredocs[0].expand);
    assert_eq!(second.heredocs[0].content, "first $HOME\n");
    assert_eq!(second.heredocs[1].content, "second\n");
    assert_eq!((second.line, second.end_line), (5, 9));
    let copy = &stage.instructions[2];
    match &copy.body {
        Body::Copy(transfer) => {
            assert_eq!(transfer.sources[0].raw, "<<EOF");
            assert_eq!(transfer.destination.value.as_deref(), Some("/etc/motd"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(copy.heredocs[0].content, "hello\n");
    assert_eq!(stage.instructions[3].line, 13);
}

#[test]
fn exec_and_shell_forms_and_flags() {
    let text = "FROM --platform=$BUILDPLATFORM alpine:3.19 AS base\nRUN --mount=type=cache,target=/root/.cache --network=none [\"sh\", \"-c\", \"echo hi\"]\nCOPY --link --chown=1:1 --chmod=644 [\"a b\", \"/dst/\"]\nCMD echo hi\nENTRYPOINT [\"/bin/app\"]\nSHELL [\"/bin/ash\", \"-c\"]\nHEALTHCHECK NONE\n";
    let dockerfile = parsed(text);
    let stage = &dockerfile.stages[0];
    assert_eq!(stage.from.flag("platform"), Some("$BUILDPLATFORM"));
    let run = &stage.instructions[0];
    assert_eq!(run.flag("mount"), Some("type=cache,target=/root/.cache"));
    assert_eq!(run.flag("network"), Some("none"));
    assert_eq!(
        run.body,
        Body::Run(Command::Exec(vec!["sh".into(), "-c".into(), "echo hi".into()]))
    );
    let copy = &stage.instructions[1];
    assert_eq!(copy.flag("link"), Some(""));
    assert_eq!(copy.flag("chown"), Some("1:1"));
    match &copy.body {
        Body::Copy(transfer) => {
            assert!(transfer.json);
            assert_eq!(transfer.sources[0].value.as_deref(), Some("a b"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        stage.instructions[2].body,
        Body::Cmd(Command::Shell("echo hi".into()))
    );
    assert_eq!(
        stage.instructions[3].body,
        Body::Entrypoint(Command::Exec(vec!["/bin/app".into()]))
    );
    assert_eq!(
        stage.instructions[4].body,
        Body::Shell(vec!["/bin/ash".into(), "-c".into()])
    );
    assert_eq!(stage.instructions[5].body, Body::Healthcheck(None));
}

#[test]
fn variables_are_substituted_with_stage_scoping() {
    let text = r#"ARG REGISTRY=docker.io
ARG TAG
ARG BASE=alpine
FROM ${REGISTRY}/library/${BASE}:${VERSION:-3.19} AS one
ARG BASE
ENV DIR=/srv NAME="my app" EMPTY=
WORKDIR $DIR/${NAME:+named}
USER ${USER_ID:-1000}
FROM one AS two
WORKDIR ${DIR}/two
WORKDIR ${BASE:-none}
FROM busybox:$TAG
"#;
    let dockerfile = parsed(text);
    let one = &dockerfile.stages[0];
    match &one.base {
        BaseImage::Image(image) => {
            assert_eq!(image.name, "docker.io/library/alpine");
            assert_eq!(image.tag.as_deref(), Some("3.19"));
        }
        other => panic!("{other:?}"),
    }
    let workdir = |stage: usize, index: usize| match &dockerfile.stages[stage].instructions[index].body {
        Body::Workdir(word) => word.value.clone(),
        Body::User(word) => word.value.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(workdir(0, 2), Some("/srv/named".into()));
    assert_eq!(workdir(0, 3), Some("1000".into()));
    assert_eq!(dockerfile.stages[1].base, BaseImage::Stage(0));
    assert_eq!(
        workdir(1, 0),
        Some("/srv/two".into()),
        "ENV is inherited by child stages"
    );
    assert_eq!(workdir(1, 1), Some("none".into()), "ARG is not inherited");
    assert!(matches!(dockerfile.stages[2].base, BaseImage::Unresolved(_)));
}

#[test]
fn env_forms() {
    let text = "FROM alpine:3.19\nENV A=1 B=\"two words\" C='$A'\nENV LEGACY value with spaces\nLABEL a=b \"c d\"=e\nARG X Y=2\n";
    let dockerfile = parsed(text);
    let stage = &dockerfile.stages[0];
    match &stage.instructions[0].body {
        Body::Env(pairs) => {
            let values: Vec<(&str, Option<&str>)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.value.as_deref()))
                .collect();
            assert_eq!(
                values,
                vec![("A", Some("1")), ("B", Some("two words")), ("C", Some("$A"))]
            );
        }
        other => panic!("{other:?}"),
    }
    match &stage.instructions[1].body {
        Body::Env(pairs) => assert_eq!(pairs[0].1.value.as_deref(), Some("value with spaces")),
        other => panic!("{other:?}"),
    }
    match &stage.instructions[2].body {
        Body::Label(pairs) => assert_eq!(pairs[1].0, "c d"),
        other => panic!("{other:?}"),
    }
    match &stage.instructions[3].body {
        Body::Arg(args) => {
            assert_eq!(args[0], ("X".to_string(), None));
            assert_eq!(args[1].1.as_ref().and_then(|w| w.value.as_deref()), Some("2"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_from_names_stages_indexes_and_images() {
    let text = "FROM alpine:3.19 AS Build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --from=nginx /c /c\nCOPY --from=nginx:1.25 /d /d\n";
    let dockerfile = parsed(text);
    assert_eq!(dockerfile.stages[0].name.as_deref(), Some("build"));
    assert_eq!(dockerfile.stages[1].base, BaseImage::Scratch);
    assert_eq!(dockerfile.stage_named("BUILD").map(|s| s.index), Some(0));
    assert_eq!(dockerfile.stage_named("0").map(|s| s.index), Some(0));
    let outcome = scan(text);
    assert_eq!(lines_of(&outcome, "DF003"), vec![5]);
}

#[test]
fn onbuild_and_keywords_in_any_case() {
    let dockerfile = parsed("from alpine:3.19\nonbuild run echo hi\nUser 1\n");
    let stage = &dockerfile.stages[0];
    match &stage.instructions[0].body {
        Body::Onbuild(Some(trigger)) => assert_eq!(trigger.keyword, Keyword::Run),
        other => panic!("{other:?}"),
    }
    assert_eq!(stage.instructions[1].keyword, Keyword::User);
    assert_eq!(all_instructions(&dockerfile).len(), 3);
}

#[test]
fn crlf_line_endings_are_accepted() {
    let dockerfile = parsed("FROM alpine:3.19\r\nRUN a \\\r\n  b\r\nUSER 1\r\n");
    assert_eq!(dockerfile.stages[0].instructions[0].text, "a   b");
}

// ----- syntax errors -----

fn errors(text: &str) -> Vec<(u32, String)> {
    parse("dir/Dockerfile", text)
        .errors
        .into_iter()
        .map(|e| {
            assert_eq!(e.path, "dir/Dockerfile");
            (e.line, e.message)
        })
        .collect()
}

#[test]
fn syntax_errors_name_their_line() {
    let cases: &[(&str, u32, &str)] = &[
        ("FROM alpine:3.19\nFORM x\n", 2, "unknown instruction"),
        ("RUN echo\nFROM alpine:3.19\n", 1, "before the first FROM"),
        ("# only a comment\n", 0, "no FROM"),
        ("ARG A=1\n", 1, "no FROM"),
        ("FROM alpine:3.19\nRUN <<EOF\necho\n", 2, "unterminated heredoc"),
        ("FROM alpine:3.19\nCMD ['a', 'b']\n", 2, "JSON"),
        (
            "FROM alpine:3.19\nSHELL /bin/bash -c\n",
            2,
            "SHELL requires the JSON form",
        ),
        ("FROM alpine:3.19\nRUN\n", 2, "requires arguments"),
        ("FROM alpine:3.19\nCOPY onlyone\n", 2, "source and a destination"),
        ("FROM\n", 1, "requires arguments"),
        ("FROM a b c d\n", 1, "optional `AS name`"),
        ("FROM alpine:3.19\nENV X\n", 2, "no value"),
        ("FROM alpine:3.19\nHEALTHCHECK curl x\n", 2, "NONE or CMD"),
        ("# escape=x\nFROM alpine:3.19\n", 1, "invalid escape"),
        ("FROM a:1 AS x\nFROM b:1 AS x\n", 2, "duplicate stage name"),
    ];
    for (text, line, fragment) in cases {
        let found = errors(text);
        assert!(
            found.iter().any(|(l, m)| l == line && m.contains(fragment)),
            "{text:?}: expected {fragment:?} at line {line}, got {found:?}"
        );
    }
}

#[test]
fn the_rest_is_checked_after_an_error() {
    let text = "FROM alpine:3.19\nBOGUS thing\nRUN sudo make\nUSER 1\n";
    let outcome = scan(text);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].line, 2);
    assert_eq!(lines_of(&outcome, "DF022"), vec![3]);
}

#[test]
fn the_shell_form_of_a_bracketed_test_is_not_an_error() {
    let dockerfile = parsed("FROM alpine:3.19\nRUN [ -f /etc/x ] && rm /etc/x\n");
    assert!(matches!(
        dockerfile.stages[0].instructions[0].body,
        Body::Run(Command::Shell(_))
    ));
}

// ----- checks: each fires on a bad example at its line, not on a good one -----

/// A check's bad and good Dockerfiles and the lines it must report in the bad one.
struct Case {
    id: &'static str,
    bad: &'static str,
    lines: &'static [u32],
    good: &'static str,
}

const TAIL: &str = "USER 10001\nHEALTHCHECK CMD [\"true\"]\n";

const CASES: &[Case] = &[
    Case {
        id: "DF001",
        bad: "FROM alpine:3.19\nRUN true\n",
        lines: &[1],
        good: "FROM alpine:3.19 AS base\nUSER app\nFROM base\nRUN true\n",
    },
    Case {
        id: "DF002",
        bad: "FROM alpine:3.19\nUSER app\nRUN true\nUSER 0:0\n",
        lines: &[4],
        good: "FROM alpine:3.19\nUSER root\nRUN true\nUSER app\n",
    },
    Case {
        id: "DF003",
        bad: "ARG V=latest\nFROM alpine AS a\nFROM debian:$V\nFROM a\n",
        lines: &[2, 3],
        good: "ARG V=3.19\nFROM alpine:$V AS a\nFROM scratch\nFROM a\nFROM debian@sha256:2bc5c236e9b262645a323e9088dfa3bb1ecb16cc75811daf40a23a824d665be9\nFROM localhost:5000/app:1.2\n",
    },
    Case {
        id: "DF004",
        bad: "FROM alpine:3.19\nADD app.py /app/\nADD <<EOF /etc/x\nhi\nEOF\n",
        lines: &[2, 3],
        good: "FROM alpine:3.19\nADD rootfs.tar.xz /\nCOPY app.py /app/\n",
    },
    Case {
        id: "DF005",
        bad: "FROM alpine:3.19\nADD https://example.com/tool.tar.gz /opt/\n",
        lines: &[2],
        good: "FROM alpine:3.19\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tar.gz /opt/\nADD https://github.com/moby/buildkit.git#v0.14.1 /src\n",
    },
    Case {
        id: "DF006",
        bad: "FROM alpine:3.19\nRUN set -o pipefail && curl -fsSL https://get.example.com | sh\nRUN sh -c \"$(wget -qO- https://x)\"\n",
        lines: &[2, 3],
        good: "FROM alpine:3.19\nRUN curl -fsSLo /tmp/i.sh https://get.example.com && sha256sum -c sums && sh /tmp/i.sh\n",
    },
    Case {
        id: "DF007",
        bad: "ARG GITHUB_TOKEN=ghp_abcdef\nFROM alpine:3.19\nENV DB_PASSWORD=hunter2 \\\n    MODE=prod\nARG AWS_SECRET_ACCESS_KEY=abc\nENV API_KEY sk_live_1234\n",
        lines: &[1, 3, 5, 6],
        good: "ARG GITHUB_TOKEN\nFROM alpine:3.19\nENV DB_PASSWORD=$DB_PASSWORD PASSWORD_FILE=/run/secrets/pw TOKEN_URL=https://x\nENV USE_TOKEN=true GPG_KEY=E3FF2839C048B25C084DEBE9B26995E310250568\n",
    },
    Case {
        id: "DF008",
        bad: "FROM debian:12\nRUN apt-get update && apt-get install --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\nRUN yum install httpd-2.4 && yum clean all\n",
        lines: &[2, 3],
        good: "FROM debian:12\nRUN apt-get update && apt-get -qy install --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\nRUN apt-get install --yes --no-install-recommends a=1\nRUN dnf install -y b-1.0 && dnf clean all\n",
    },
    Case {
        id: "DF009",
        bad: "FROM debian:12\nRUN apt-get install -y curl=1\n",
        lines: &[2],
        good: "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=1\n",
    },
    Case {
        id: "DF010",
        bad: "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl git=1:2.39\n",
        lines: &[2],
        good: "FROM debian:12\nRUN apt-get install -y --no-install-recommends -t bookworm-backports curl=7.88 ./local.deb \"$EXTRA\"\n",
    },
    Case {
        id: "DF011",
        bad: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl=1\n",
        lines: &[2],
        good: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y --no-install-recommends git=1\n",
    },
    Case {
        id: "DF012",
        bad: "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl=1\nRUN apk update\n",
        lines: &[2, 4],
        good: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\nRUN apk update && apk add --no-cache a=1\n",
    },
    Case {
        id: "DF013",
        bad: "FROM debian:12\nRUN apt install -y curl\n",
        lines: &[2],
        good: "FROM debian:12\nRUN echo apt install && apt-cache policy curl\n",
    },
    Case {
        id: "DF014",
        bad: "FROM debian:12\nRUN apt-get update && apt-get -y dist-upgrade && rm -rf /var/lib/apt/lists/*\n",
        lines: &[2],
        good: "FROM debian:12\nRUN apt-get update && apt-get -y upgrade && rm -rf /var/lib/apt/lists/*\n",
    },
    Case {
        id: "DF015",
        bad: "FROM alpine:3.19\nRUN apk add --update curl=8.5\n",
        lines: &[2],
        good: "FROM alpine:3.19\nRUN apk add --no-cache curl=8.5\nRUN --mount=type=cache,target=/var/cache/apk apk add git=2\n",
    },
    Case {
        id: "DF016",
        bad: "FROM alpine:3.19\nRUN apk add --no-cache --virtual .deps curl git~2\n",
        lines: &[2],
        good: "FROM alpine:3.19\nRUN apk add --no-cache --virtual .deps curl=8.5.0-r0 git~2\n",
    },
    Case {
        id: "DF017",
        bad: "FROM fedora:40\nRUN dnf install -y nginx-1.24\nRUN yum install -y httpd-2.4\n",
        lines: &[2, 3],
        good: "FROM fedora:40\nRUN dnf install -y nginx-1.24 && dnf clean all\nRUN yum -y install httpd-2.4 && rm -rf /var/cache/yum\n",
    },
    Case {
        id: "DF018",
        bad: "FROM fedora:40\nRUN dnf install -y nginx python3-devel && dnf clean all\nRUN microdnf install tar && microdnf clean all\n",
        lines: &[2, 3],
        good: "FROM fedora:40\nRUN dnf install -y --setopt install_weak_deps=False nginx-1.24.0 ./local.rpm && dnf clean all\n",
    },
    Case {
        id: "DF019",
        bad: "FROM python:3.12\nRUN pip install flask==3.0.2\n",
        lines: &[2],
        good: "FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.2\nENV PIP_NO_CACHE_DIR=1\nRUN pip3 install requests==2.31.0\n",
    },
    Case {
        id: "DF020",
        bad: "FROM python:3.12\nRUN python3 -m pip install --no-cache-dir flask requests==2.31\n",
        lines: &[2],
        good: "FROM python:3.12\nRUN pip install --no-cache-dir -r requirements.txt . 'flask[async]==3.0.2' git+https://github.com/x/y@v1\n",
    },
    Case {
        id: "DF021",
        bad: "FROM node:20\nRUN npm install -g express @angular/cli\n",
        lines: &[2],
        good: "FROM node:20\nRUN npm ci && npm install -g express@4.19.2 @angular/cli@17.3.0 && npm install\n",
    },
    Case {
        id: "DF022",
        bad: "FROM debian:12\nRUN sudo -u app make\n",
        lines: &[2],
        good: "FROM debian:12\nRUN echo sudo && useradd sudoer\n",
    },
    Case {
        id: "DF023",
        bad: "FROM debian:12\nEXPOSE 80 22/tcp\nEXPOSE 20-30\n",
        lines: &[2, 3],
        good: "FROM debian:12\nEXPOSE 80 2222 443/tcp\n",
    },
    Case {
        id: "DF024",
        bad: "FROM alpine:3.19 AS a\nHEALTHCHECK CMD [\"true\"]\nFROM alpine:3.19\nUSER 1\n",
        lines: &[3],
        good: "FROM alpine:3.19 AS a\nHEALTHCHECK CMD [\"true\"]\nFROM a\nFROM alpine:3.19\nHEALTHCHECK NONE\n",
    },
    Case {
        id: "DF025",
        bad: "FROM alpine:3.19\nHEALTHCHECK CMD [\"a\"]\nHEALTHCHECK CMD [\"b\"]\n",
        lines: &[3],
        good: "FROM alpine:3.19 AS a\nHEALTHCHECK CMD [\"a\"]\nFROM alpine:3.19\nHEALTHCHECK CMD [\"b\"]\n",
    },
    Case {
        id: "DF026",
        bad: "FROM alpine:3.19\nWORKDIR app\nARG D=rel\nWORKDIR $D\n",
        lines: &[2, 4],
        good: "FROM alpine:3.19\nWORKDIR /app\nARG D\nWORKDIR $D\nWORKDIR C:\\\\app\n",
    },
    Case {
        id: "DF027",
        bad: "FROM alpine:3.19\nENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]\nENTRYPOINT [\"c\"]\n",
        lines: &[3, 4],
        good: "FROM alpine:3.19 AS a\nENTRYPOINT [\"a\"]\nFROM a\nENTRYPOINT [\"b\"]\n",
    },
    Case {
        id: "DF028",
        bad: "FROM alpine:3.19\nCMD [\"a\"]\nCMD [\"b\"]\n",
        lines: &[3],
        good: "FROM alpine:3.19\nENTRYPOINT [\"a\"]\nCMD [\"b\"]\n",
    },
    Case {
        id: "DF029",
        bad: "FROM alpine:3.19\nENTRYPOINT /bin/app --flag\nCMD python app.py\n",
        lines: &[2, 3],
        good: "FROM alpine:3.19\nENTRYPOINT [\"/bin/app\"]\nCMD [\"--flag\"]\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\n",
    },
    Case {
        id: "DF030",
        bad: "FROM alpine:3.19\nMAINTAINER me@example.com\n",
        lines: &[2],
        good: "FROM alpine:3.19\nLABEL org.opencontainers.image.authors=me@example.com\n",
    },
    Case {
        id: "DF031",
        bad: "FROM alpine:3.19\nRUN cd /tmp && make\n",
        lines: &[2],
        good: "FROM alpine:3.19\nWORKDIR /tmp\nRUN make && echo cd\n",
    },
    Case {
        id: "DF032",
        bad: "FROM alpine:3.19\nCOPY . .\nCOPY ./ /app/\n",
        lines: &[2, 3],
        good: "FROM alpine:3.19 AS a\nCOPY src/ /src/\nFROM alpine:3.19\nCOPY --from=a . /app/\n",
    },
    Case {
        id: "DF033",
        bad: "FROM debian:12\nRUN curl -fsSL https://x | tar xz\nSHELL [\"/bin/bash\", \"-c\"]\nRUN ls | wc -l\n",
        lines: &[2, 4],
        good: "FROM debian:12\nRUN set -eux -o pipefail; curl -fsSL https://x | tar xz\nRUN a || b\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN ls | wc -l\nSHELL [\"pwsh\", \"-Command\"]\nRUN Get-Item x | Remove-Item\n",
    },
    Case {
        id: "DF034",
        bad: "FROM alpine:3.19\nRUN chmod -R 777 /app\nCOPY --chmod=0666 a /a\nRUN chmod o+w /b\n",
        lines: &[2, 3, 4],
        good: "FROM alpine:3.19\nRUN chmod 1777 /tmp && chmod -R 755 /app && chmod u+x /b\nCOPY --chmod=644 a /a\n",
    },
    Case {
        id: "DF035",
        bad: "FROM alpine:3.19\nRUN curl -o a https://x\nRUN wget https://y\nRUN wget https://z\n",
        lines: &[3],
        good: "FROM alpine:3.19\nRUN curl -o a https://x\nRUN curl -o b https://y\n",
    },
    Case {
        id: "DF036",
        bad: "FROM alpine:3.19\nRUN apk add --no-cache curl=8.5.0-r0\nRUN mkdir /app\nWORKDIR /app\nRUN true\n",
        lines: &[3],
        good: "FROM alpine:3.19\nRUN apk add --no-cache curl=8.5.0-r0 && mkdir /app\nRUN a | b\nRUN c\n",
    },
    Case {
        id: "DF037",
        bad: "FROM alpine:3.19\nUSER 1000\nUSER app:app\n",
        lines: &[3],
        good: "FROM alpine:3.19\nUSER app\nUSER 10001:10001\n",
    },
];

/// The good examples of checks that are not about the final stage get a USER and a HEALTHCHECK
/// appended, so only the check under test can fire.
fn with_tail(id: &str, text: &str) -> String {
    if matches!(id, "DF001" | "DF002" | "DF024") {
        text.to_string()
    } else if text.contains("HEALTHCHECK") {
        format!("{text}USER 10001\n")
    } else {
        format!("{text}{TAIL}")
    }
}

#[test]
fn every_check_fires_on_its_bad_example_at_the_right_lines() {
    for case in CASES {
        let outcome = scan(case.bad);
        assert!(outcome.errors.is_empty(), "{}: {:?}", case.id, outcome.errors);
        assert_eq!(
            lines_of(&outcome, case.id),
            case.lines,
            "{} on {:?}",
            case.id,
            case.bad
        );
    }
}

#[test]
fn no_check_fires_on_its_good_example() {
    for case in CASES {
        let text = with_tail(case.id, case.good);
        let outcome = scan(&text);
        assert!(outcome.errors.is_empty(), "{}: {:?}", case.id, outcome.errors);
        assert_eq!(
            lines_of(&outcome, case.id),
            Vec::<u32>::new(),
            "{} on {text:?}",
            case.id
        );
    }
}

#[test]
fn every_check_has_a_case_and_a_description() {
    let ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    let catalog: Vec<&str> = dockerfile::CHECKS.iter().map(|c| c.id).collect();
    assert_eq!(ids, catalog);
    for check in dockerfile::CHECKS {
        assert_eq!(check.kind, ConfigKind::Dockerfile);
        assert!(!check.title.is_empty() && !check.description.is_empty() && !check.remediation.is_empty());
    }
}

#[test]
fn findings_carry_location_stage_references_and_aliases() {
    let text = "FROM debian:12 AS build\nRUN true\nFROM build\nRUN apt-get update && \\\n    apt-get install -y \\\n      curl\n";
    let outcome = scan(text);
    let apt = outcome.findings.iter().find(|f| f.check_id == "DF009").unwrap();
    assert_eq!(apt.location.path, "Dockerfile");
    assert_eq!((apt.location.start_line, apt.location.start_column), (4, 1));
    assert_eq!(apt.location.end_line, 6);
    assert_eq!(apt.resource.as_deref(), Some("stage 1"));
    assert_eq!(
        apt.references,
        vec!["CIS Docker Benchmark v1.6.0 4.3".to_string()]
    );
    assert!(apt.aliases.contains(&"DL3015".to_string()));
    let user = outcome.findings.iter().find(|f| f.check_id == "DF001").unwrap();
    assert_eq!((user.location.start_line, user.location.end_line), (3, 6));
    let named = scan("FROM debian:latest AS build\nUSER 1\n");
    let pin = named.findings.iter().find(|f| f.check_id == "DF003").unwrap();
    assert_eq!(pin.resource.as_deref(), Some("stage \"build\""));
}

#[test]
fn only_the_final_stage_user_matters() {
    let root_builder = "FROM alpine:3.19 AS build\nUSER root\nFROM alpine:3.19\nUSER 10001\n";
    let outcome = scan(root_builder);
    assert!(lines_of(&outcome, "DF001").is_empty());
    assert!(lines_of(&outcome, "DF002").is_empty());
    let root_final = "FROM alpine:3.19 AS build\nUSER 10001\nFROM alpine:3.19\nUSER root\n";
    assert_eq!(lines_of(&scan(root_final), "DF002"), vec![4]);
    let none_final = "FROM alpine:3.19 AS build\nUSER 10001\nFROM alpine:3.19\nRUN true\n";
    assert_eq!(lines_of(&scan(none_final), "DF001"), vec![3]);
    let inherited_root = "FROM alpine:3.19 AS base\nUSER root\nFROM base\nRUN true\n";
    assert_eq!(lines_of(&scan(inherited_root), "DF002"), vec![2]);
    let unknown = "FROM alpine:3.19\nARG APP_USER\nUSER $APP_USER\n";
    let outcome = scan(unknown);
    assert!(lines_of(&outcome, "DF001").is_empty() && lines_of(&outcome, "DF002").is_empty());
}

#[test]
fn heredoc_scripts_are_checked_but_heredoc_data_is_not() {
    let script = "FROM debian:12\nRUN <<EOF\nset -e\napt-get install -y --no-install-recommends curl\nEOF\n";
    assert_eq!(lines_of(&scan(script), "DF010"), vec![2]);
    let data = "FROM debian:12\nRUN cat <<EOF > /etc/notes\napt-get install curl\nEOF\n";
    assert!(lines_of(&scan(data), "DF010").is_empty());
}

#[test]
fn the_copy_context_check_respects_dockerignore() {
    let options = ScanOptions {
        has_dockerignore: true,
        ..ScanOptions::default()
    };
    let outcome = scan_file(
        "Dockerfile",
        "FROM alpine:3.19\nCOPY . .\n",
        ConfigKind::Dockerfile,
        &options,
    );
    assert!(lines_of(&outcome, "DF032").is_empty());
}

#[test]
fn inline_ignores_silence_findings() {
    let text = "FROM alpine:3.19\n# moat:ignore=DF022\nRUN sudo make\nRUN sudo make install # moat:ignore=DF022\nRUN sudo true\nUSER 1\n";
    assert_eq!(lines_of(&scan(text), "DF022"), vec![5]);
    let header = "# moat:ignore=DF024,DF001\nFROM alpine:3.19\n";
    let outcome = scan(header);
    assert!(lines_of(&outcome, "DF024").is_empty() && lines_of(&outcome, "DF001").is_empty());
}

#[test]
fn skipped_checks_are_not_reported() {
    let mut options = ScanOptions::default();
    options.skip_checks.insert("DF003".to_string());
    let outcome = scan_file(
        "Dockerfile",
        "FROM alpine\nUSER 1\n",
        ConfigKind::Dockerfile,
        &options,
    );
    assert!(lines_of(&outcome, "DF003").is_empty());
    assert_eq!(lines_of(&scan("FROM alpine\nUSER 1\n"), "DF003"), vec![1]);
}

#[test]
fn dockerfile_names_are_detected() {
    assert_eq!(
        moat_misconfig::detect_kind("a/b/Dockerfile.prod", b""),
        Some(ConfigKind::Dockerfile)
    );
    assert_eq!(
        moat_misconfig::detect_kind("api.Containerfile", b""),
        Some(ConfigKind::Dockerfile)
    );
    assert!(!dockerfile::is_dockerfile_name("Dockerfile.dockerignore"));
}

#[test]
fn hostile_input_never_panics() {
    let inputs = [
        "",
        "\\",
        "FROM",
        "FROM a\nRUN \\",
        "FROM a\nRUN <<",
        "FROM a\nRUN <<-\n",
        "FROM a\nRUN <<EOF <<EOF\nEOF\n",
        "FROM ${\nUSER ${:-}\nWORKDIR ${A:+${B:-}}\n",
        "FROM a\nRUN echo \"unterminated\nRUN 'x\n",
        "FROM a\nRUN $(( ( ` \\\n",
        "FROM a\nCOPY --from= x y\nADD --chmod= \"\" \"\"\n",
        "FROM a\nONBUILD\nONBUILD ONBUILD RUN x\nEXPOSE 99999999999999999999-1\n",
        "FROM a\nRUN chmod\nRUN apt-get\nRUN pip install -r\nRUN sudo\nRUN env\nRUN python -m\n",
        "# escape=`\nFROM a `\n`\n",
        "FROM a\nENV =x\nLABEL \"\nARG =\n",
        "FROM é\nRUN ü | ß\nUSER 日本\n",
    ];
    for input in inputs {
        let outcome = scan(input);
        for finding in &outcome.findings {
            assert!(finding.location.start_line >= 1, "{input:?}: {finding:?}");
        }
    }
}

#[test]
fn every_prefix_and_splice_of_the_examples_is_handled() {
    let mut texts: Vec<&str> = vec![GOOD];
    texts.extend(CASES.iter().flat_map(|c| [c.bad, c.good]));
    let noise = ["\\", "`", "\"", "'", "<<", "$", "${", "[", "\n", "|", "#"];
    for text in texts {
        for (cut, _) in text.char_indices() {
            let prefix = &text[..cut];
            let outcome = scan(prefix);
            assert!(outcome.findings.iter().all(|f| f.location.start_line >= 1));
            let spliced = format!("{prefix}{}{}", noise[cut % noise.len()], &text[cut..]);
            let outcome = scan(&spliced);
            assert!(outcome
                .findings
                .iter()
                .all(|f| f.location.end_line >= f.location.start_line));
        }
    }
}
