#!/bin/bash
# Boots Debian's kernel under qemu (software emulation) with an initramfs
# that loads vivid and runs vivid_check; passes when every check printed
# PASS on the serial console. Exit 77 (skip) when qemu, busybox or the kernel
# package is missing. usage: run_vivid.sh VIVID_CHECK FACE_JPG MKDEMO WORKDIR
set -uo pipefail
CHECK=$1 FACE=$2 MKDEMO=$3 WORK=$4
. "$(dirname "$0")/vm_lib.sh"
vm_prepare "$WORK" "$(dirname "$0")/init.sh"
cp "$CHECK" "$ROOT/vivid_check"
cp "$FACE" "$ROOT/face.jpg"
# a moving face, fed through vivid's output by `vivid_check feed`
"$MKDEMO" "$FACE" "$ROOT/feed" 8 >/dev/null || { echo "mkdemo failed"; exit 1; }
LOG="$WORK/console.log"
vm_boot "$WORK" 240
rc=$?
tr -d '\r' < "$LOG" | grep -E 'AGECAM-VIVID|^/dev/video|^    (YUYV|NV12)|^v4l2:' | cut -c1-400
[ $rc -eq 0 ] || echo "qemu exit status $rc (124 = timed out)"
clean=$(tr -d '\r' < "$LOG")
fail=0
for c in format-YUYV format-NV12 format-YUYV-scaled buf-error colorimetry slow-consumer capture-frames stall loss wait-for-device loop feed; do
  grep -q "^AGECAM-VIVID $c PASS" <<<"$clean" || { echo "missing PASS for $c"; fail=1; }
done
grep -q '^/dev/video0  .*(vivid' <<<"$clean" || { echo "capture --list did not show vivid"; fail=1; }
grep -q '"driver": "vivid"' <<<"$clean" || { echo "capture --list --json did not show vivid"; fail=1; }
grep -q '^AGECAM-VIVID DONE' <<<"$clean" || { echo "VM did not finish (see $LOG)"; fail=1; }
grep -q 'FAIL' <<<"$clean" && fail=1
[ $fail -eq 0 ] && echo "vivid VM test passed" || { echo "--- console tail ---"; tr -d '\r' < "$LOG" | tail -40; }
exit $fail
