#!/bin/bash
# valgrind memcheck on agecamd end to end: the main CI build's daemon on the
# demo frames (dir: source, the full pipeline: capture, detector when a
# det-320x240 model is there, alignment, age net, tracker, ring), read by a
# ring consumer, a SIGHUP reload in the middle, then SIGTERM. Any memcheck
# error or definite leak fails (exit status 99 from valgrind).
# Time under valgrind is bounded by AGECAM_VG_SECONDS (default 40) after the
# first frame is through.
set -uo pipefail
: "${AGECAM_CI_DIR:?run from .ci/run}"
command -v valgrind >/dev/null || { echo "valgrind missing"; exit 77; }
B=${AGECAM_MAIN_BUILD:?run from .ci/run}
[ -x "$B/src/daemon/agecamd" ] || { echo "no main build"; exit 77; }
D=$AGECAM_CI_DIR
secs=${AGECAM_VG_SECONDS:-40}
mkdir -p "$D/frames"
"$B/tests/data/mkdemo" tests/data/astronaut.jpg "$D/frames" 8 2 320 240 150 >/dev/null || exit 1
det=$PWD/models/det-320x240.acnn
[ -f "$det" ] && detect="backend = net
model = $det" || detect="backend = none"
NAME=agecam-vg-$$
cat >"$D/vg.conf" <<CONF
[camera]
source = dir:$D/frames
width = 320
height = 240
fps = 5
loop = true
[detect]
$detect
[age]
model = $PWD/models/smlf-small.acnn
threads = 1
[ring]
name = $NAME
capacity = 256
health_interval_ms = 500
CONF
valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --track-origins=yes --log-file="$D/memcheck.log" \
  "$B/src/daemon/agecamd" -c "$D/vg.conf" >"$D/agecamd.log" 2>&1 &
PID=$!
# the reload comes after the first frame is through (up to 3 min: under
# valgrind a loaded machine took 16 s for one frame), so that memcheck sees
# a pipeline stopped while running, not while loading; then secs/2 more
for i in $(seq 900); do
  grep -q "ready: first frame processed" "$D/agecamd.log" && break
  kill -0 $PID 2>/dev/null || break
  sleep 0.2
done
sleep $((secs / 2))
kill -HUP $PID 2>/dev/null
timeout $((secs / 2)) "$B/src/tools/agecam" tail --ring "$NAME" -f >"$D/tail.out" 2>&1
kill -TERM $PID 2>/dev/null
for i in $(seq 300); do kill -0 $PID 2>/dev/null || break; sleep 0.2; done
kill -0 $PID 2>/dev/null && { echo "agecamd under valgrind did not stop"; kill -9 $PID; }
wait $PID; rc=$?
rm -f "/dev/shm/$NAME"
grep -E "ERROR SUMMARY|definitely lost" "$D/memcheck.log"
res=OK
if [ $rc -ne 0 ]; then
  res=FAIL; echo "agecamd exit $rc"; tail -40 "$D/memcheck.log"; tail -20 "$D/agecamd.log"
fi
grep -q "ready: first frame processed" "$D/agecamd.log" || { res=FAIL; echo "never processed a frame"; }
mkdir -p "$D/meson-logs"
printf '{"name": "valgrind_agecamd", "result": "%s"}\n' $res >"$D/meson-logs/testlog.json"
[ $res = OK ]
