#!/usr/bin/env bash
# CPU use of `moat runtime watch` (eBPF source, Falco's falco_rules.yaml loaded) while a
# container opens files at a steady RATE per second (default 10,000 openat calls/s, every one
# of them a traced syscall the agent decodes, attributes and matches against the rules).
# Prints the achieved syscall rate, the agent's CPU time over the window as % of one core,
# and the agent's own event counters.
#
#   bench/runtime-cpu.sh            # RATE=10000 SECONDS_=30
#
# Needs root, podman with runc, the shared data beside the checkout (or $MOAT_SHARED).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${MOAT_SHARED:-$here/../shared}
rate=${RATE:-10000}
seconds=${SECONDS_:-30}
rules=$shared/conformance/falco/rules/falco_rules.yaml
image_tar=$shared/images/debian-app.tar
for f in "$rules" "$image_tar"; do [ -f "$f" ] || { echo "missing: $f" >&2; exit 2; }; done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/moat-target}
cargo build --release --locked -q -p moat --manifest-path "$here/Cargo.toml"
moat=$CARGO_TARGET_DIR/release/moat

work=$(mktemp -d)
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$work/containers.conf
watcher= service= container=
cleanup() {
  [ -n "$container" ] && podman rm -f -t 0 "$container" > /dev/null 2>&1 || true
  [ -n "$watcher" ] && kill -INT "$watcher" 2>/dev/null && wait "$watcher" 2>/dev/null || true
  [ -n "$service" ] && kill "$service" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

podman system service --time=0 "unix://$work/podman.sock" & service=$!
image=$(podman load -q -i "$image_tar" | sed -n 's/^Loaded image: //p' | tail -1)
container=$(podman run -d --name moat-cpu-bench "$image" sleep 3600)
for _ in $(seq 50); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done

"$moat" runtime watch --source ebpf --rules "$rules" --container-api "$work/podman.sock" \
  -o "$work/alerts.jsonl" 2> "$work/watch.err" & watcher=$!
for _ in $(seq 100); do grep -q "rules from" "$work/watch.err" && break; sleep 0.1; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$watcher/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu_ticks)
start=$(date +%s.%N)
achieved=$(podman exec "$container" python3 -c "
import os, time
rate, seconds = $rate, $seconds
n, start = 0, time.monotonic()
while True:
    elapsed = time.monotonic() - start
    if elapsed >= seconds:
        break
    while n < int(elapsed * rate):
        os.close(os.open('/etc/hostname', os.O_RDONLY))
        n += 1
    time.sleep(0.001)
print(round(n / seconds))
")
end=$(date +%s.%N)
after=$(cpu_ticks)
kill -INT "$watcher"; wait "$watcher" || true; watcher=
python3 - "$before" "$after" "$hz" "$start" "$end" "$achieved" <<'PY'
import sys
before, after, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
wall = float(sys.argv[5]) - float(sys.argv[4])
cpu = (after - before) / hz
print(f"container: {sys.argv[6]} openat/s for {wall:.1f} s")
print(f"moat runtime watch: {cpu:.2f} s CPU = {100 * cpu / wall:.2f}% of one core")
PY
grep "kernel events" "$work/watch.err" || tail -5 "$work/watch.err"
