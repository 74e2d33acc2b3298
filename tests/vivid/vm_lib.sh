# Shared by the vivid VM tests (sourced): finds qemu, busybox-static and a
# Debian kernel package, unpacks the kernel and the media modules, lays out
# an initramfs holding busybox and vivid with its dependencies, boots it.
# Exits 77 (skip) when qemu, busybox-static or the kernel package is missing.

skip() { echo "SKIP: $*"; exit 77; }

# vm_prepare WORKDIR INIT_SCRIPT: sets QEMU, BUSYBOX, VMLINUZ, ROOT (the
# initramfs tree, with /init, /bin/busybox, /modules/*.ko and
# /modules/order: vivid's dependencies in load order, vivid itself last)
vm_prepare() {
  local work=$1 init=$2
  QEMU=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
  BUSYBOX=""
  for b in /bin/busybox /usr/bin/busybox; do
    # the VM has no libraries: only busybox-static's binary will run there
    [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && BUSYBOX=$b && break
  done
  [ -n "$BUSYBOX" ] || skip "busybox-static not installed"
  # the kernel: a linux-image .deb (unpacked here, never installed)
  local deb=${AGECAM_KERNEL_DEB:-}
  if [ -z "$deb" ]; then
    deb=$(ls -1 /var/cache/agecam/linux-image-*-amd64_*.deb /var/cache/apt/archives/linux-image-*-amd64_*.deb \
          2>/dev/null | grep -v -- '-dbg_' | sort -V | tail -1)
  fi
  [ -n "$deb" ] && [ -f "$deb" ] || skip "no linux-image-*-amd64 .deb (.ci/deps downloads one to /var/cache/agecam)"
  mkdir -p "$work"
  # unpacked once next to the work folders, shared by the VM tests
  local kdir
  kdir="$(cd "$work/.." && pwd)/kernel-$(basename "$deb" .deb)"
  if [ ! -f "$kdir/.unpacked" ]; then
    rm -rf "$kdir" && mkdir -p "$kdir"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards './boot/vmlinuz-*' \
      './lib/modules/*/kernel/drivers/media/*' || { echo "cannot unpack $deb"; rm -rf "$kdir"; exit 1; }
    touch "$kdir/.unpacked"
  fi
  VMLINUZ=$(ls "$kdir"/boot/vmlinuz-* | head -1)
  local mods
  mods=$(ls -d "$kdir"/lib/modules/*/kernel | head -1)
  # vivid's dependencies in load order, read from each module's .modinfo
  declare -gA PATHOF=()
  while read -r ko; do PATHOF[$(basename "$ko" .ko)]=$ko; done < <(find "$mods" -name '*.ko')
  ORDER=()
  _vm_visit vivid
  ROOT="$work/initramfs"
  rm -rf "$ROOT" && mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp,modules}
  cp "$BUSYBOX" "$ROOT/bin/busybox"
  cp "$init" "$ROOT/init" && chmod 755 "$ROOT/init"
  for m in "${ORDER[@]}"; do cp "${PATHOF[$m]}" "$ROOT/modules/"; done
  printf '%s\n' "${ORDER[@]}" | grep -vx vivid > "$ROOT/modules/order"
  echo "kernel $(basename "$VMLINUZ"), modules: ${ORDER[*]}"
}

_vm_visit() {
  local m=$1 d seen
  for seen in "${ORDER[@]:-}"; do [ "$seen" = "$m" ] && return 0; done
  [ -n "${PATHOF[$m]:-}" ] || { echo "module $m not found in the kernel package"; exit 1; }
  for d in $(tr '\0' '\n' < "${PATHOF[$m]}" | sed -n 's/^depends=//p' | tr ',' ' '); do _vm_visit "$d"; done
  ORDER+=("$m")
}

# vm_boot WORKDIR TIMEOUT_S [KERNEL_ARGS]: packs $ROOT and boots it; the
# serial console goes to WORKDIR/console.log; VM_QEMU_ARGS adds options.
# Returns qemu's status.
vm_boot() {
  local work limit=$2 extra=${3:-}
  work=$(cd "$1" && pwd) # the cpio runs from inside $ROOT
  (cd "$ROOT" && find . | "$BUSYBOX" cpio -o -H newc > "$work/initramfs.cpio" 2>/dev/null) \
    || { echo "cpio failed"; exit 1; }
  # no -accel: KVM is not usable on the build machines, TCG is
  timeout "$limit" "$QEMU" ${VM_QEMU_ARGS:-} -m 512 -smp 1 -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$VMLINUZ" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 $extra" > "$work/console.log" 2>&1
}
