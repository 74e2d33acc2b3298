#!/bin/bash
# One-command side-by-side bench (docs/PERFORMANCE.md): builds the runtime
# (build-perf, release), converts the shipped models to ONNX, installs
# onnxruntime-node outside the repository if missing, and runs
# bench/compare.py with any extra arguments (--rounds, --runs, --json).
# Needs: python3-opencv and torch for /usr/bin/python3, node + npm.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${AGECAM_PERF_BUILD:-build-perf}
ONNX=${AGECAM_ONNX_DIR:-/var/tmp/agecam-bench}
ORT=${AGECAM_ORT_DIR:-/var/tmp/agecam-ort}
[ -d "$BUILD" ] || meson setup "$BUILD" -Dbuildtype=release >/dev/null
ninja -C "$BUILD" tests/nn/bench_nn >/dev/null
mkdir -p "$ONNX"
for v in full small; do
  if [ ! -s "$ONNX/smlf-$v.onnx" ] || [ "models/smlf-$v.acnn" -nt "$ONNX/smlf-$v.onnx" ]; then
    /usr/bin/python3 bench/acnn_to_onnx.py "models/smlf-$v.acnn" "$ONNX/smlf-$v.onnx" 2>/dev/null
  fi
done
if [ ! -d "$ORT/node_modules/onnxruntime-node" ]; then
  mkdir -p "$ORT"
  [ -f "$ORT/package.json" ] || echo '{"name":"agecam-ort","private":true}' >"$ORT/package.json"
  # --ignore-scripts: the CPU binaries ship in the package; the install
  # script would only fetch GPU extras
  (cd "$ORT" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >/dev/null)
fi
exec python3 bench/compare.py --build "$BUILD" --onnx-dir "$ONNX" --ort-dir "$ORT" "$@"
