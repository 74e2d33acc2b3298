#!/bin/bash
# The stats service unit must stay hardened: systemd-analyze exposure <= 2.0.
# usage: test_unit_security.sh UNITFILE   (skips without systemd-analyze)
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skip"; exit 77; }
out=$(systemd-analyze security --offline=true --threshold=20 "$1" 2>&1); rc=$?
echo "$out" | tail -1
[ $rc -eq 0 ] || { echo "$out" | grep '✗'; exit 1; }
