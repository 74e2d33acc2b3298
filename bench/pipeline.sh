#!/bin/bash
# Whole-pipeline benchmark: agecamd on a 640x480 dir source with N moving
# faces (made by tests/data/mkdemo from the bundled portrait, PORTRAIT px per
# copy), played in real time at FPS, detection on every frame. Prints the
# frames/s the detector kept up with, frames dropped, faces aged per second,
# peak RSS and CPU time per frame (GNU time). A benchmark, not a test.
# (The 320x240 detector needs faces of ~60 px or more in a 640x480 frame:
# the portrait's face is about a third of its side, so 2 copies of 300 px.)
#   AGECAMD=build/src/daemon/agecamd-static (V4L2/dir only, no FFmpeg/libcamera) to compare
#   DET=models/det-640x640.acnn for the larger detector input (small faces), DET_THREADS=2
#   bench/pipeline.sh [BUILD=build] [FRAMES=300] [FACES=2] [AGE_THREADS=2] [MODEL=small|full] [FPS=30] [PORTRAIT=300] [ROWS=1]
# (5 faces: ROWS=2 PORTRAIT=200 puts them in two rows at ~33 px at the detector's input)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; FRAMES=${2:-300}; FACES=${3:-2}; THREADS=${4:-2}; VARIANT=${5:-small}
FPS=${6:-30}; PORTRAIT=${7:-300}; ROWS=${8:-1}
AGECAMD=${AGECAMD:-$B/src/daemon/agecamd}
[ -x "$AGECAMD" ] || { echo "build first: meson setup $B && ninja -C $B"; exit 1; }
ring=agecam-bench-$$
T=$(mktemp -d); trap 'rm -rf "$T" "/dev/shm/$ring"' EXIT
"$B/tests/data/mkdemo" tests/data/astronaut.jpg "$T/frames" "$FRAMES" "$FACES" 640 480 "$PORTRAIT" "$ROWS" >/dev/null
/usr/bin/time -v -o "$T/time.txt" "$AGECAMD" --source "dir:$T/frames" \
  --detector-model "${DET:-models/det-320x240.acnn}" --model "models/smlf-$VARIANT.acnn" --ring "$ring" \
  --set camera.realtime=true --set camera.fps="$FPS" --set camera.loop=false --set detect.every=1 \
  --set age.threads="$THREADS" --set detect.threads="${DET_THREADS:-1}" --set camera.width=640 --set camera.height=480 2>"$T/log.txt" &
pid=$!
# the daemon keeps running after its source ends: stop it when it says so
for _ in $(seq 1 600); do
  grep -q "source finished" "$T/log.txt" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
kill -TERM $pid 2>/dev/null || true
wait $pid || true
frames=$(sed -n 's/.*detect \([0-9]*\) items \([0-9.]*\) ms\/item.*/\1/p' "$T/log.txt" | tail -1)
det_ms=$(sed -n 's/.*detect \([0-9]*\) items \([0-9.]*\) ms\/item.*/\2/p' "$T/log.txt" | tail -1)
faces=$(sed -n 's/.*faces estimated \([0-9]*\).*/\1/p' "$T/log.txt" | tail -1)
cap=$(sed -n 's/.*capture \([0-9]*\) items.*/\1/p' "$T/log.txt" | tail -1)
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time.txt")
user=$(sed -n 's/.*User time (seconds): //p' "$T/time.txt")
sys=$(sed -n 's/.*System time (seconds): //p' "$T/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time.txt")
python3 - "$frames" "$faces" "$cap" "$wall" "$user" "$sys" "$rss" "$det_ms" "$FACES" "$THREADS" "$VARIANT" "$T/log.txt" "$FPS" <<'PY'
import sys
frames, faces, cap, wall, user, sys_t, rss, det_ms, nf, th, var, log, fps = sys.argv[1:]
def secs(s):
    p = [float(x) for x in s.split(":")]
    return sum(v * 60 ** (len(p) - 1 - i) for i, v in enumerate(p))
frames, faces, cap = int(frames or 0), int(faces or 0), int(cap or 0)
w = secs(wall)
cpu = float(user) + float(sys_t)
print(f"pipeline 640x480, {nf} faces per frame, age model {var}, {th} age threads, detection every frame")
print(f"  frames through the detector {frames} of {cap} captured ({cap - frames} dropped), {w:.1f} s wall")
print(f"  frames/s            {frames / w:.1f}  (source paced at {fps} fps; start-up and shutdown included)")
print(f"  faces aged/s        {faces / w:.1f}")
print(f"  detector ms/frame   {float(det_ms or 0):.2f}")
print(f"  CPU ms/frame        {1000 * cpu / max(frames, 1):.1f}  (user+sys over all threads)")
print(f"  peak RSS            {int(rss) / 1024:.1f} MiB")
PY
