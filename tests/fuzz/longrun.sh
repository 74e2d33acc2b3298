#!/bin/bash
# The long local fuzz run recorded in docs/RELIABILITY.md: every target for
# RUNS executions (default 10 million) or at most CAP seconds each, one after
# another, on the ASan/UBSan/libFuzzer build that .ci/jobs/50-asan-fuzz.sh
# makes (or any -Dfuzzing=true build).
# usage: tests/fuzz/longrun.sh BUILD [OUT=/tmp/agecam-fuzz-long] [RUNS=10000000] [CAP=3600] [TARGETS...]
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$1 OUT=${2:-/tmp/agecam-fuzz-long} RUNS=${3:-10000000} CAP=${4:-3600}
shift $(($# < 4 ? $# : 4))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image mjpeg cmdline ring config nn_load)
mkdir -p "$OUT"
rc=0
for t in "${targets[@]}"; do
  # tiny models (mkseeds.py) keep the loader target fast; its shipped-model
  # and golden-model inputs run in the nn_fuzz_corpus test
  [ "$t" = nn_load ] && set -- 8192 tests/fuzz/nn_load/* || set -- 16384 tests/fuzz/"$t"/*
  bash tests/fuzz/run_target.sh "$t" "$B/tests/fuzz/fuzz_$t" "$1" "$CAP" "$RUNS" "$OUT" "${@:2}" \
    >"$OUT/last.txt" || rc=1
  tee -a "$OUT/summary.txt" <"$OUT/last.txt"
done
exit $rc
