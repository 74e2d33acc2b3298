#!/bin/bash
# ASan + UBSan over every test suite but the vivid VM, then a fuzz smoke run of every
# libFuzzer target (tests/fuzz, the model loader) for AGECAM_FUZZ_SECONDS
# each (default 20). One clang build serves both: the libraries carry
# sanitizers and coverage (-fsanitize=fuzzer-no-link), the fuzz targets link
# libFuzzer. Each fuzz run is recorded as one test in a testlog.json of its
# own; a crash leaves its input under $AGECAM_CI_DIR/artifacts/.
set -uo pipefail
: "${AGECAM_CI_DIR:?run from .ci/run}"
command -v clang >/dev/null || { echo "clang missing"; exit 77; }
B=$AGECAM_CI_DIR/build
T0=$SECONDS
[ -d "$B/meson-private" ] && re=--reconfigure || re=
CC=clang CXX=clang++ meson setup $re "$B" -Doptimization=1 -Ddebug=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true \
  -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' \
  -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' \
  >"$AGECAM_CI_DIR/setup.log" 2>&1 || { cat "$AGECAM_CI_DIR/setup.log"; exit 1; }
# Everything but the statically linked programs (agecamd-static, the vivid VM
# binaries): sanitizer runtimes cannot link statically.
mapfile -t targets < <(meson introspect "$B" --targets | python3 -c '
import json, os, sys
b = sys.argv[1]
for t in json.load(sys.stdin):
    if t["name"].endswith("-static") or "/tests/vivid/" in t["defined_in"]:
        continue
    for f in t["filename"]:
        print(os.path.relpath(f, b))' "$B")
ninja -C "$B" -j2 "${targets[@]}" >"$AGECAM_CI_DIR/build.log" 2>&1 || { tail -50 "$AGECAM_CI_DIR/build.log"; exit 1; }
echo "asan-fuzz: build $((SECONDS - T0)) s"
T1=$SECONDS
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
meson test -C "$B" --no-rebuild --print-errorlogs --num-processes 2 --no-suite vivid \
  --timeout-multiplier 3 || rc=1
echo "asan-fuzz: unit+fuzz suites under ASan/UBSan $((SECONDS - T1)) s"

# ---- fuzz smoke ----
T2=$SECONDS
secs=${AGECAM_FUZZ_SECONDS:-20}
log=$AGECAM_CI_DIR/fuzz/meson-logs/testlog.json
mkdir -p "$(dirname "$log")"
: >"$log"
fuzz_one() { # name binary max_len seed...
  local name=$1 res=OK line
  line=$(bash tests/fuzz/run_target.sh "$1" "$2" "$3" "$secs" 0 "$AGECAM_CI_DIR" "${@:4}") || { res=FAIL; rc=1; }
  echo "$line"
  local execs
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$AGECAM_CI_DIR/fuzz-$name.log")
  printf '{"name": "fuzz_smoke_%s", "result": "%s", "execs": %s}\n' "$name" "$res" "${execs:-0}" >>"$log"
}
for t in config cmdline image mjpeg ring; do
  fuzz_one "$t" "$B/tests/fuzz/fuzz_$t" 16384 tests/fuzz/"$t"/*
done
fuzz_one nn_load "$B/tests/fuzz/fuzz_nn_load" 8192 tests/fuzz/nn_load/*
echo "asan-fuzz: fuzz smoke $((SECONDS - T2)) s"
exit $rc
