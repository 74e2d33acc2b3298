#!/bin/bash
# Capture plugins: the daemon maps FFmpeg only when a file: source is used,
# and a missing, corrupt or wrong-version plugin is a clear error, never a
# crash. usage: test_capplugin.sh AGECAM AGECAMD PLUGIN_BUILD_DIR BAD_PLUGIN_DIR MKDEMO PORTRAIT INSTALLED_PLUGIN_DIR
set -uo pipefail
AGECAM=$1 AGECAMD=$2 GOOD=$3 BAD=$4 MKDEMO=$5 PORTRAIT=$6 INSTALLED=$7
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/agecam-plugin-XXXXXX)
RING=agecam-test-plugin-$$
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T" /dev/shm/$RING' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ -e "$GOOD/agecam-capture-file.so" ] || { echo "built without FFmpeg: nothing to test"; exit 77; }

# 1. the good plugin, named explicitly
AGECAM_PLUGIN_DIR=$GOOD "$AGECAM" capture --list --json >"$T/list.json" 2>/dev/null
grep -q '"file": true' "$T/list.json" || fail "plugin dir $GOOD: file backend not found"

# 2. nothing there: reported absent, and a file: source names the plugin
mkdir "$T/empty"
AGECAM_PLUGIN_DIR=$T/empty "$AGECAM" capture --list --json >"$T/list2.json" 2>/dev/null
grep -q '"file": false' "$T/list2.json" || fail "empty plugin dir: file backend still listed"
: >"$T/clip.mp4"
AGECAM_PLUGIN_DIR=$T/empty "$AGECAM" capture --source "file:$T/clip.mp4" --frames 1 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "agecam-capture-file.so not found in $T/empty" "$T/e" ||
  fail "missing plugin: rc $rc, $(cat "$T/e")"

# 2b. a copy of the program outside the build tree never falls back to the
# build tree's plugins (only to the installed folder)
cp "$AGECAM" "$T/agecam"
if [ ! -e "$INSTALLED/agecam-capture-file.so" ]; then
  "$T/agecam" capture --list --json >"$T/list3.json" 2>/dev/null
  grep -q '"file": false' "$T/list3.json" || fail "a copy outside the build tree loaded the build tree's plugin"
fi

# 3. a file that is no shared object
mkdir "$T/junk" && head -c 4096 /dev/urandom >"$T/junk/agecam-capture-file.so"
AGECAM_PLUGIN_DIR=$T/junk "$AGECAM" capture --source "file:$T/clip.mp4" --frames 1 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "capture plugin unavailable: .*agecam-capture-file.so: invalid ELF header" "$T/e" ||
  fail "corrupt plugin: rc $rc, $(cat "$T/e")"

# 4. right symbol, wrong ABI
AGECAM_PLUGIN_DIR=$BAD "$AGECAM" capture --source "file:$T/clip.mp4" --frames 1 >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "plugin ABI differs" "$T/e" || fail "wrong-ABI plugin: rc $rc, $(cat "$T/e")"

# 5. agecamd on a dir: source maps neither FFmpeg nor libcamera
"$MKDEMO" "$PORTRAIT" "$T/frames" 4 1 320 240 150 >/dev/null || fail "mkdemo"
"$AGECAMD" --source "dir:$T/frames" --ring $RING --model "$ROOT/models/smlf-small.acnn" \
  --detector-model "$ROOT/models/det-320x240.acnn" --set camera.loop=true >"$T/d.log" 2>&1 &
PID=$!
for _ in $(seq 200); do grep -q "ready" "$T/d.log" && break; sleep 0.05; done
grep -q "ready" "$T/d.log" || fail "agecamd not ready: $(tail -3 "$T/d.log")"
if grep -E "libav(codec|format)|libcamera" /proc/$PID/maps >"$T/maps"; then
  fail "agecamd on a dir: source maps $(awk '{print $6}' "$T/maps" | sort -u | tr '\n' ' ')"
fi
kill -TERM $PID; wait $PID; rc=$?; PID=
[ $rc -eq 0 ] || fail "agecamd exit $rc"

# 6. the daemon names a missing plugin too, and exits with an error
AGECAM_PLUGIN_DIR=$T/empty "$AGECAMD" --source "file:$T/clip.mp4" --ring $RING \
  --model "$ROOT/models/smlf-small.acnn" --detector-model "$ROOT/models/det-320x240.acnn" >"$T/d2.log" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q "agecam-capture-file.so not found" "$T/d2.log" ||
  fail "agecamd with no plugin: rc $rc, $(tail -2 "$T/d2.log")"

[ $fails -eq 0 ] && echo "capture plugins: all checks passed"
exit $((fails > 0))
