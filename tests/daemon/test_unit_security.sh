#!/bin/bash
# agecamd's units must stay hardened: systemd-analyze exposure <= 2.0 each.
# usage: test_unit_security.sh UNIT...   (skips without systemd-analyze)
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skip"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rc=0
for unit in "$@"; do
  f=$unit
  # a template is analysed as one of its instances
  case $(basename "$unit") in *@.service) f=$tmp/$(basename "${unit%@.service}")@test.service; cp "$unit" "$f";; esac
  out=$(systemd-analyze security --offline=true --threshold=20 "$f" 2>&1); r=$?
  echo "$(basename "$unit"): $(echo "$out" | tail -1)"
  if [ $r -ne 0 ]; then echo "$out" | grep '✗'; rc=1; fi
  echo "$out" | grep -q 'Overall exposure level' || { echo "no exposure figure"; rc=1; }
done
exit $rc
