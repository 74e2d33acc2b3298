#!/bin/bash
# Boots Debian's kernel under qemu (software emulation) with an initramfs
# that loads vivid and runs vivid_check; passes when every check printed
# PASS on the serial console. Exit 77 (skip) when qemu, busybox or the kernel
# package is missing. usage: run_vivid.sh VIVID_CHECK FACE_JPG MKDEMO WORKDIR
set -uo pipefail
CHECK=$1 FACE=$2 MKDEMO=$3 WORK=$4
skip() { echo "SKIP: $*"; exit 77; }
QEMU=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox; do
  # the VM has no libraries: only busybox-static's binary will run there
  [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && BUSYBOX=$b && break
done
[ -n "$BUSYBOX" ] || skip "busybox-static not installed"
# the kernel: a linux-image .deb (unpacked here, never installed)
DEB=${AGECAM_KERNEL_DEB:-}
if [ -z "$DEB" ]; then
  DEB=$(ls -1 /var/cache/agecam/linux-image-*-amd64_*.deb /var/cache/apt/archives/linux-image-*-amd64_*.deb \
        2>/dev/null | grep -v -- '-dbg_' | sort -V | tail -1)
fi
[ -n "$DEB" ] && [ -f "$DEB" ] || skip "no linux-image-*-amd64 .deb (.ci/deps downloads one to /var/cache/agecam)"
mkdir -p "$WORK"
KDIR="$WORK/kernel-$(basename "$DEB" .deb)"
if [ ! -f "$KDIR/.unpacked" ]; then
  rm -rf "$KDIR" && mkdir -p "$KDIR"
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$KDIR" --wildcards './boot/vmlinuz-*' \
    './lib/modules/*/kernel/drivers/media/*' || { echo "cannot unpack $DEB"; exit 1; }
  touch "$KDIR/.unpacked"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
MODS=$(ls -d "$KDIR"/lib/modules/*/kernel | head -1)
# vivid's dependencies in load order, read from each module's .modinfo
declare -A PATHOF
while read -r ko; do PATHOF[$(basename "$ko" .ko)]=$ko; done < <(find "$MODS" -name '*.ko')
ORDER=()
visit() {
  local m=$1 d
  for seen in "${ORDER[@]:-}"; do [ "$seen" = "$m" ] && return 0; done
  [ -n "${PATHOF[$m]:-}" ] || { echo "module $m not found in $DEB"; exit 1; }
  for d in $(tr '\0' '\n' < "${PATHOF[$m]}" | sed -n 's/^depends=//p' | tr ',' ' '); do visit "$d"; done
  ORDER+=("$m")
}
visit vivid
ROOT="$WORK/initramfs"
rm -rf "$ROOT" && mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp,modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
cp "$(dirname "$0")/init.sh" "$ROOT/init" && chmod 755 "$ROOT/init"
cp "$CHECK" "$ROOT/vivid_check"
cp "$FACE" "$ROOT/face.jpg"
# a moving face, fed through vivid's output by `vivid_check feed`
"$MKDEMO" "$FACE" "$ROOT/feed" 8 >/dev/null || { echo "mkdemo failed"; exit 1; }
for m in "${ORDER[@]}"; do cp "${PATHOF[$m]}" "$ROOT/modules/"; done
printf '%s\n' "${ORDER[@]}" | grep -vx vivid > "$ROOT/modules/order"
(cd "$ROOT" && find . | "$BUSYBOX" cpio -o -H newc > "$WORK/initramfs.cpio" 2>/dev/null) \
  || { echo "cpio failed"; exit 1; }
echo "kernel $(basename "$VMLINUZ"), modules: ${ORDER[*]}"
LOG="$WORK/console.log"
# no -accel: KVM is not usable on the build machines, TCG is
timeout 240 "$QEMU" -m 512 -smp 1 -nographic -no-reboot -nodefaults -serial stdio \
  -kernel "$VMLINUZ" -initrd "$WORK/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" > "$LOG" 2>&1
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
