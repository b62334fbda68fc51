#!/usr/bin/env bash
# What vulnerability matching costs on top of the inventory: imports the shared OSV and secdb
# advisories (median of N fresh imports; goal: under 10 s), then times `moat sbom` and
# `moat scan` on the same image, both with the layer cache off and with it warm (goal: scan
# adds at most 20% to sbom's wall time).
#
#   bench/scan-overhead.sh [IMAGE.tar] [RUNS]
#
# Needs: the shared data beside the checkout (or $MOAT_SHARED), GNU time (/usr/bin/time).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${MOAT_SHARED:-$here/../shared}
image=${1:-$shared/images/debian-app.tar}
runs=${2:-5}
for p in "$image" "$shared/conformance/osv" "$shared/conformance/secdb"; do
  [ -e "$p" ] || { echo "missing: $p" >&2; exit 2; }
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/moat-target}
cargo build --release --locked -q -p moat --manifest-path "$here/Cargo.toml"
moat=$CARGO_TARGET_DIR/release/moat
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# timed NAME COMMAND...: wall seconds of each of $runs runs into $work/NAME.runs
timed() {
  local name=$1; shift
  : > "$work/$name.runs"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e' -o "$work/time.txt" "$@" > /dev/null 2> "$work/$name.stderr" \
      || { echo "$name failed:" >&2; cat "$work/$name.stderr" >&2; exit 1; }
    cat "$work/time.txt" >> "$work/$name.runs"
  done
  printf '%-22s median %6.3f s   (runs: %s)\n' "$name" "$(median < "$work/$name.runs")" "$(tr '\n' ' ' < "$work/$name.runs")"
}

db=$work/moat.db
timed import bash -c "rm -f '$db' && '$moat' db import --db '$db' '$shared/conformance/osv' '$shared/conformance/secdb'"
ls -l "$db" | awk '{printf "database size: %.1f MiB\n", $5/1048576}'

timed sbom-nocache "$moat" sbom "$image" -q -f json --no-cache
timed scan-nocache "$moat" scan "$image" -q -f json --no-cache --db "$db"
"$moat" sbom "$image" -q -f json --cache-dir "$work/cache" > /dev/null
timed sbom-warm "$moat" sbom "$image" -q -f json --cache-dir "$work/cache"
timed scan-warm "$moat" scan "$image" -q -f json --cache-dir "$work/cache" --db "$db"

ratio() { echo "scale=3; $(median < "$work/$1.runs") / $(median < "$work/$2.runs")" | bc -l; }
echo "image: $image, $runs runs each"
echo "import median: $(median < "$work/import.runs") s  (goal < 10 s)"
echo "scan/sbom, no layer cache: $(ratio scan-nocache sbom-nocache)  (goal <= 1.2)"
echo "scan/sbom, warm layer cache: $(ratio scan-warm sbom-warm)"
