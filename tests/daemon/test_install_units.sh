#!/bin/bash
# The systemd units as meson installs them: `meson install --destdir` into a
# scratch root, then for every unit: it is in the unit directory systemd
# reads (systemd.pc's, or prefix/lib/systemd/system), no @placeholder@ is
# left, the program in ExecStart= and the settings file it names were
# installed at exactly those paths, `systemd-analyze verify --root` accepts
# it and `systemd-analyze security --offline=true` puts it at 2.0 or below.
# Skips (77) without meson or systemd-analyze, or with
# -Dsystemdsystemunitdir=no. usage: test_install_units.sh BUILD UNITDIR SECURITY_SH
set -uo pipefail
build=$1 unitdir=$2 security=$3
[ "$unitdir" != no ] || { echo "units not installed (-Dsystemdsystemunitdir=no): skip"; exit 77; }
command -v meson >/dev/null || { echo "meson not in PATH: skip"; exit 77; }
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skip"; exit 77; }
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
meson install -C "$build" --no-rebuild --destdir "$root/dest" --quiet > "$root/install.log" 2>&1 \
  || { cat "$root/install.log"; echo "FAIL: meson install"; exit 1; }
dest=$root/dest
# systemd-analyze verify --root needs the system's own units (targets,
# slices) and tools (kill for ExecReload=) in that root: those come from
# this machine or are stubs; every path of ours must be there for real
vroot=$root/vroot
mkdir -p "$vroot/usr/lib/systemd" "$vroot/bin" "$vroot/etc"
cp -a "$dest/." "$vroot/"
for d in /lib/systemd/system /usr/lib/systemd/system; do
  [ -d "$d" ] && [ ! -L "$d" ] && { mkdir -p "$vroot$d"; cp -an "$d/." "$vroot$d/" 2>/dev/null; }
done
[ -e "$vroot/bin/kill" ] || { printf '#!/bin/sh\n' > "$vroot/bin/kill"; chmod 755 "$vroot/bin/kill"; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
units=()
for u in agecamd.service agecamd@.service agecam-stats.service; do
  f=$dest$unitdir/$u
  [ -f "$f" ] || { bad "$u not installed in $unitdir"; continue; }
  units+=("$f")
  grep -nE '@[a-z_]+@' "$f" && bad "$u: placeholder left"
  exec=$(sed -n 's/^ExecStart=//p' "$f")
  prog=${exec%% *}
  [ -x "$dest$prog" ] && echo "$u: ExecStart $prog installed" || bad "$u: ExecStart $prog not installed"
  if [[ $exec =~ --config\ ([^ ]+) ]]; then
    conf=${BASH_REMATCH[1]}
    case $conf in
      *%i*) [ -d "$dest$(dirname "$conf")" ] && echo "$u: settings folder $(dirname "$conf") installed" \
              || bad "$u: settings folder $(dirname "$conf") missing" ;;
      *) [ -f "$dest$conf" ] && echo "$u: settings $conf installed" || bad "$u: settings $conf not installed" ;;
    esac
  fi
  # a template is verified as one of its instances
  name=$u
  [[ $u == *@.service ]] && name=${u%@.service}@test.service
  cp "$f" "$vroot$unitdir/$name"
  out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$vroot" --man=no "$vroot$unitdir/$name" 2>&1)
  if [ $? -eq 0 ] && [ -z "$out" ]; then echo "$u: systemd-analyze verify clean"; else echo "$out"; bad "$u: verify"; fi
done
[ ${#units[@]} -gt 0 ] && { bash "$security" "${units[@]}" || bad "security exposure"; }
exit $fail
