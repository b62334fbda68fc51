#!/usr/bin/env python3
"""Compares misconfiguration findings of Moat and its peers on the same folder.

Reads the JSON each tool wrote (paths given on the command line), prints per input file what
each tool reported, then checks that every problem a peer reports is reported by Moat too: a
peer finding is covered when Moat reports, in the same file, a check whose aliases include the
peer's id. Peer findings Moat does not cover must be listed, with the reason, in the gaps file;
the exit status is 1 when one is neither covered nor listed.
"""
import json
import os
import re
import sys
from collections import defaultdict


def norm_id(text):
    """DS-0002, DS002 and AVD-DS-0002 are the same id: letters, then the number without zeros."""
    text = text.upper().removeprefix("AVD-")
    match = re.fullmatch(r"([A-Z_0-9]*?[A-Z_])[-_]?0*(\d+)", text)
    return f"{match.group(1).rstrip('_-')}{match.group(2)}" if match else text


def rel(path, root):
    path = path.lstrip("/") if not os.path.isabs(path) or not path.startswith(root) else os.path.relpath(path, root)
    return os.path.normpath(path.removeprefix(root.rstrip("/") + "/"))


def moat_findings(path, root):
    report = json.load(open(path))
    out = defaultdict(list)
    for item in report.get("misconfigurations", []):
        file = rel(item["location"]["path"], root)
        out[file].append((item["check_id"], item["location"]["start_line"], [norm_id(a) for a in item.get("aliases", [])]))
    return out


def trivy_findings(path, root):
    report = json.load(open(path))
    out = defaultdict(list)
    for result in report.get("Results", []) or []:
        file = rel(result["Target"], root)
        for item in result.get("Misconfigurations", []) or []:
            if item.get("Status", "FAIL") != "FAIL":
                continue
            line = (item.get("CauseMetadata") or {}).get("StartLine", 0)
            out[file].append((item["ID"], line))
    return out


def checkov_findings(path, root):
    data = json.load(open(path))
    reports = data if isinstance(data, list) else [data]
    out = defaultdict(list)
    for report in reports:
        for item in (report.get("results") or {}).get("failed_checks", []):
            file = rel(item["file_path"], root)
            line = (item.get("file_line_range") or [0])[0]
            out[file].append((item["check_id"], line))
    return out


def hadolint_findings(path, root):
    out = defaultdict(list)
    for item in json.load(open(path)):
        if item["code"].startswith("SC"):
            continue  # ShellCheck findings inside RUN: shell lint, not container configuration
        out[rel(item["file"], root)].append((item["code"], item["line"]))
    return out


def read_gaps(path):
    gaps = {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            tool, check, reason = line.rstrip("\n").split("\t", 2)
            gaps[(tool, norm_id(check))] = reason
    return gaps


def main():
    root, moat_json, trivy_json, checkov_json, hadolint_json, gaps_file = sys.argv[1:7]
    moat = moat_findings(moat_json, root)
    peers = {
        "trivy": trivy_findings(trivy_json, root),
        "checkov": checkov_findings(checkov_json, root),
        "hadolint": hadolint_findings(hadolint_json, root),
    }
    gaps = read_gaps(gaps_file)
    files = sorted(set(moat) | {f for found in peers.values() for f in found})
    missing = []
    explained = []
    for file in files:
        print(f"== {file}")
        print(f"   moat     ({len(moat[file]):2}): " + " ".join(sorted({c for c, _, _ in moat[file]})))
        for tool, found in peers.items():
            print(f"   {tool:8} ({len(found[file]):2}): " + " ".join(sorted({c for c, _ in found[file]})))
        aliases = {a for _, _, item_aliases in moat[file] for a in item_aliases}
        for tool, found in peers.items():
            for check in sorted({c for c, _ in found[file]}):
                if norm_id(check) in aliases:
                    continue
                reason = gaps.get((tool, norm_id(check)))
                (explained if reason else missing).append((file, tool, check, reason))
    print()
    print(f"peer findings Moat does not report, with the reason ({len(explained)}):")
    for file, tool, check, reason in explained:
        print(f"   {tool} {check} in {file}: {reason}")
    if missing:
        print(f"\nNOT COVERED and not explained ({len(missing)}):")
        for file, tool, check, _ in missing:
            print(f"   {tool} {check} in {file}")
        return 1
    print("\nevery other peer finding is reported by Moat in the same file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
