#!/usr/bin/env bash
# Load on the admission webhook: `moat admission serve` with every Gatekeeper general-library
# policy (each template.yaml and its samples' constraint.yaml) plus restricted Pod Security
# Standards, answering a typical pod AdmissionReview at a constant rate over HTTPS.
# Prints requests sent, errors, achieved rps and latency p50/p90/p99/max.
#
#   bench/admission-load.sh            # RPS=500 DURATION=30s CONCURRENCY=64 PORT=18443
#
# Needs: the shared data beside the checkout (or $MOAT_SHARED), curl. Traffic stays on 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${MOAT_SHARED:-$here/../shared}
library=$shared/conformance/gatekeeper/general
rps=${RPS:-500}
duration=${DURATION:-30s}
concurrency=${CONCURRENCY:-64}
port=${PORT:-18443}
[ -d "$library" ] || { echo "missing: $library" >&2; exit 2; }

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/moat-target}
cargo build --release --locked -q -p moat --manifest-path "$here/Cargo.toml"
cargo build --release --locked -q -p moat-admission --example load --manifest-path "$here/Cargo.toml"
moat=$CARGO_TARGET_DIR/release/moat
load=$CARGO_TARGET_DIR/release/examples/load

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" && wait "$server" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$moat" admission certs --dir "$work/certs" --service moat-admission --namespace moat-system > /dev/null

cat > "$work/restricted.yaml" <<'EOF'
apiVersion: policy.moat.dev/v1alpha1
kind: MoatPolicy
metadata: {name: restricted}
spec:
  rule: pod-security
  parameters: {level: restricted, version: latest}
EOF

# Every template, then every sample constraint, as absolute paths in the configuration.
{
  echo "listen: 127.0.0.1:$port"
  echo "tls: {certFile: certs/tls.crt, keyFile: certs/tls.key}"
  echo "decisionLog: decisions.log"
  echo "reloadInterval: 0s"
  echo "policies:"
  echo "- restricted.yaml"
  for template in "$library"/*/template.yaml; do
    echo "- \"$template\""
  done
  for constraint in "$library"/*/samples/*/constraint.yaml; do
    echo "- \"$constraint\""
  done
} > "$work/admission.yaml"
templates=$(ls "$library"/*/template.yaml | wc -l)
constraints=$(ls "$library"/*/samples/*/constraint.yaml | wc -l)

# A typical pod, as a ReplicaSet controller creates it for a Deployment.
cat > "$work/review.json" <<'EOF'
{
  "apiVersion": "admission.k8s.io/v1",
  "kind": "AdmissionReview",
  "request": {
    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"},
    "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
    "requestResource": {"group": "", "version": "v1", "resource": "pods"},
    "namespace": "shop",
    "operation": "CREATE",
    "userInfo": {
      "username": "system:serviceaccount:kube-system:replicaset-controller",
      "uid": "5c2a9f0e-3a43-4f3e-9d1f-0f1b2c3d4e5f",
      "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
    },
    "object": {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {
        "generateName": "frontend-7d4b9c8f6d-",
        "namespace": "shop",
        "labels": {"app": "frontend", "pod-template-hash": "7d4b9c8f6d", "owner": "web-team"},
        "annotations": {"prometheus.io/scrape": "true"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "frontend-7d4b9c8f6d",
          "uid": "0b6b7c2e-8a55-4c1b-9d7e-6f2f0a1b2c3d", "controller": true, "blockOwnerDeletion": true}]
      },
      "spec": {
        "serviceAccountName": "frontend",
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
          "name": "frontend",
          "image": "registry.example.com/shop/frontend:1.14.2",
          "ports": [{"containerPort": 8080, "protocol": "TCP"}],
          "env": [{"name": "LOG_LEVEL", "value": "info"}],
          "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
          "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
          "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}, "periodSeconds": 10},
          "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true}
        }]
      }
    },
    "oldObject": null,
    "dryRun": false,
    "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
  }
}
EOF

"$moat" admission serve --config "$work/admission.yaml" > "$work/server.log" 2>&1 &
server=$!
ca=$work/certs/ca.crt
base=https://127.0.0.1:$port
ready=
for _ in $(seq 600); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the webhook exited:" >&2; cat "$work/server.log" >&2; exit 1
  fi
  if curl -sf --cacert "$ca" "$base/readyz" > "$work/ready.txt" 2>/dev/null; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { echo "the webhook was not ready after 120 s:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "policies: restricted PSS + $templates Gatekeeper templates, $constraints constraints ($(cat "$work/ready.txt"))"

"$load" --url "$base/validate" --ca "$ca" --body "$work/review.json" \
  --rps "$rps" --duration "$duration" --concurrency "$concurrency"

echo "decision log lines: $(wc -l < "$work/decisions.log")"
curl -sf --cacert "$ca" "$base/metrics" | grep -E '^moat_admission_(decisions|errors)_total' || true
