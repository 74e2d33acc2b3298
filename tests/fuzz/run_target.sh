#!/bin/bash
# One libFuzzer run of one target over a scratch copy of its seeds, for the
# CI smoke (.ci/jobs/50-asan-fuzz.sh) and the long local runs
# (docs/RELIABILITY.md). Prints "fuzz NAME: S s, N execs, OK|FAIL" and
# exits 1 on a crash, leak, timeout or sanitizer report (the input is kept
# under OUT/artifacts/).
# usage: run_target.sh NAME BINARY MAX_LEN SECONDS RUNS OUT SEED...
#   RUNS 0 = until SECONDS; SECONDS 0 = until RUNS
set -uo pipefail
name=$1 bin=$2 maxlen=$3 secs=$4 runs=$5 out=$6
shift 6
work=$out/corpus/$name
mkdir -p "$work" "$out/artifacts"
cp -r "$@" "$work/"
t0=$SECONDS res=OK
limits=(-max_total_time="$secs")
[ "$runs" -gt 0 ] && limits+=(-runs="$runs")
"$bin" "${limits[@]}" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" -print_final_stats=1 \
  -artifact_prefix="$out/artifacts/$name-" "$work" >"$out/fuzz-$name.log" 2>&1 || res=FAIL
execs=$(awk '/stat::number_of_executed_units/{print $2}' "$out/fuzz-$name.log")
echo "fuzz $name: $((SECONDS - t0)) s, ${execs:-?} execs, $res"
[ $res = OK ] || { tail -40 "$out/fuzz-$name.log"; exit 1; }
