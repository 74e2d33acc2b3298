#!/bin/bash
# Soak: agecamd on a dir: source at full speed (realtime off, looped) for
# DURATION seconds while readers join and leave (some frozen for a while so a
# small ring laps them, some SIGKILLed mid-read). Frames go through at
# their own size (640x480 demo frames: the detector finds the faces, so
# tracks, ages and NEW/UPDATE/END records flow, not only HEALTH); the ring
# holds 16 records and HEALTH comes every 100 ms, so a reader frozen for 3 s
# is lapped every time. Asserts, after a warm-up of
# a fifth of the run (at least 10 s):
#   - RSS growth under 1 % (the highest VmRSS of the first five 2-s samples
#     after warm-up vs the highest of the last five: a peak-to-peak compare,
#     so one sample caught mid-frame cannot pass a leak or fail a flat run);
#   - no fd leak (the fewest open fds of the first five samples after warm-up
#     equals that of the last five: a frame's file may be open at a sample);
#   - no stall: after warm-up, never 2 s or more without a HEALTH record
#     showing frames done (per-second fps min/median/max are printed as
#     figures: on a shared 2-core machine one slow second is not a fault);
#   - exact miss accounting in every reader (soak_reader checks each call);
#   - the daemon still up at the end and stopping cleanly on SIGTERM.
# usage: soak.sh AGECAMD SOAK_READER FRAMES_DIR AGE_MODEL DURATION_S [OUTDIR]
# The detector runs when models/det-320x240.acnn exists (else detect.backend
# = none). One-hour run: soak.sh ... 3600 (see docs/RELIABILITY.md).
set -uo pipefail
AGECAMD=$1 READER=$2 FRAMES=$3 MODEL=$4 DUR=$5
OUT=${6:-$(mktemp -d /tmp/agecam-soak-XXXXXX)}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NAME=agecam-soak-$$
DET=$ROOT/models/det-320x240.acnn
if [ -f "$DET" ]; then detect="backend = net
model = $DET"; else detect="backend = none"; fi
fail=0
: >"$OUT/soak.txt"
say() { echo "soak: $*" | tee -a "$OUT/soak.txt"; }
cat >"$OUT/soak.conf" <<CONF
[camera]
source = dir:$FRAMES
width = 0
height = 0
loop = true
realtime = false
[detect]
$detect
[age]
model = $MODEL
threads = 1
[ring]
name = $NAME
capacity = 16
health_interval_ms = 100
CONF
"$AGECAMD" -c "$OUT/soak.conf" >"$OUT/agecamd.log" 2>&1 &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -f /dev/shm/$NAME' EXIT
rss() { awk '/^VmRSS/{print $2}' /proc/$PID/status 2>/dev/null; }
fds() { ls /proc/$PID/fd 2>/dev/null | wc -l; }
# readers start once the ring exists (model loading can take a while)
for i in $(seq 600); do [ -e /dev/shm/$NAME ] && break; sleep 0.1; done
[ -e /dev/shm/$NAME ] || { say "no ring after 60 s"; tail "$OUT/agecamd.log"; exit 1; }
WARM=$((DUR / 5)); [ $WARM -lt 10 ] && WARM=10
# the steady reader: whole run, never pauses: must miss nothing
"$READER" "$NAME" $((DUR - 2)) 0 "$WARM" >"$OUT/steady.out" 2>"$OUT/steady.err" &
STEADY=$!
T0=$SECONDS rss0= fd0= n=0 killed=0 joined=0
declare -a kids=() rsss=() fdss=()
RANDOM=42
while [ $((SECONDS - T0)) -lt $DUR ]; do
  kill -0 $PID 2>/dev/null || { say "agecamd died"; fail=1; break; }
  if [ $((SECONDS - T0)) -ge $WARM ]; then
    rsss+=("$(rss)") fdss+=("$(fds)")
    if [ ${#rsss[@]} -eq 5 ]; then
      rss0=$(printf '%s\n' "${rsss[@]}" | sort -n | tail -1)
      fd0=$(printf '%s\n' "${fdss[@]}" | sort -n | head -1)
      say "after ${WARM} s warm-up (+10 s): peak RSS ${rss0} kB, ${fd0} fds"
    fi
  fi
  # readers join (lifetime 3-10 s, frozen 3 s every 2 s) ...
  if [ $((DUR - (SECONDS - T0))) -gt 12 ]; then
    n=$((n + 1)) joined=$((joined + 1))
    "$READER" "$NAME" $((3 + RANDOM % 8)) 3000 >"$OUT/reader$n.out" 2>"$OUT/reader$n.err" &
    kids+=($!)
  fi
  sleep 2
  # ... and every third one is killed mid-read
  if [ ${#kids[@]} -gt 0 ] && [ $((RANDOM % 3)) -eq 0 ]; then
    k=${kids[$((RANDOM % ${#kids[@]}))]}
    kill -9 "$k" 2>/dev/null && killed=$((killed + 1))
  fi
done
rss1=$( ((${#rsss[@]} >= 10)) && printf '%s\n' "${rsss[@]: -5}" | sort -n | tail -1)
fd1=$( ((${#fdss[@]} >= 10)) && printf '%s\n' "${fdss[@]: -5}" | sort -n | head -1)
say "after ${DUR} s: peak RSS of the last 10 s ${rss1:-?} kB, ${fd1} fds; readers joined ${joined}, killed ${killed}"
for k in "${kids[@]}"; do
  wait "$k"; rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 137 ] || { say "reader $k: exit $rc"; cat "$OUT"/reader*.err | head; fail=1; }
done
wait $STEADY || { say "steady reader failed: $(cat "$OUT/steady.err")"; fail=1; }
read -r rec missed errs flo fmed fhi stall <"$OUT/steady.out" || true
say "steady reader: ${rec:-0} records, ${missed:-?} missed, fps min/median/max ${flo:-?}/${fmed:-?}/${fhi:-?}, longest stall ${stall:-?} s"
lapped=$(grep -h . "$OUT"/reader*.out 2>/dev/null | awk '{r+=$1; m+=$2} END {print r + 0, m + 0}')
say "lapped readers: ${lapped% *} records, ${lapped#* } counted missed, accounting exact"
[ "${lapped#* }" -gt 0 ] || { say "no reader was lapped: miss accounting not exercised"; fail=1; }
[ "${missed:-1}" = 0 ] || { say "steady reader missed records"; fail=1; }
[ "${rec:-0}" -gt 0 ] || { say "steady reader got nothing"; fail=1; }
if [ -n "$rss0" ] && [ -n "$rss1" ]; then
  growth=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN{printf "%.2f", (b - a) * 100 / a}')
  say "RSS growth after warm-up: ${growth} %"
  awk -v g="$growth" 'BEGIN{exit !(g < 1.0)}' || { say "RSS grew 1 % or more"; fail=1; }
  [ "$fd0" = "$fd1" ] || { say "fd count changed: $fd0 -> $fd1"; ls -l /proc/$PID/fd >>"$OUT/soak.txt"; fail=1; }
else
  say "no RSS sample (run too short or daemon gone)"; fail=1
fi
awk -v med="${fmed:-0}" -v st="${stall:-999}" 'BEGIN{exit !(med > 0 && st < 2.0)}' ||
  { say "pipeline stalled or idle (median fps ${fmed:-?}, longest stall ${stall:-?} s)"; fail=1; }
kill -TERM $PID
for i in $(seq 100); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
if kill -0 $PID 2>/dev/null; then say "agecamd ignored SIGTERM"; fail=1; else
  wait $PID; rc=$?; [ $rc -eq 0 ] || { say "agecamd exit $rc"; fail=1; }; fi
[ $fail -eq 0 ] && say "PASS" || { say "FAIL"; tail -20 "$OUT/agecamd.log"; }
exit $fail
