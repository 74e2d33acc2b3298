#!/bin/bash
# A full /dev/shm must be a clean error when the ring is created, not a
# SIGBUS at the first store to a page tmpfs could not give (ftruncate
# reserves nothing). Runs in a private mount namespace with a 64 KiB tmpfs
# on /dev/shm; skipped (77) where unprivileged namespaces are not allowed.
# usage: test_shm_full.sh RINGSCRIPT
set -u
RS=$1
unshare -rm true 2>/dev/null || { echo "no user+mount namespaces here: skipped"; exit 77; }
exec unshare -rm bash -s "$RS" <<'INNER'
RS=$1
mount -t tmpfs -o size=64k none /dev/shm || { echo "cannot mount a tmpfs: skipped"; exit 77; }
fail=0
E=$(mktemp)
# 8192 records do not fit in 64 KiB: creating must fail with ENOSPC
printf 'create big 8192\n' | "$RS" 2>"$E"; rc=$?
cat "$E"
if [ $rc -ge 128 ]; then echo "FAIL: ringscript died of signal $((rc - 128))"; fail=1
elif [ $rc -eq 0 ]; then echo "FAIL: a ring larger than /dev/shm was created"; fail=1
elif ! grep -q "No space left on device" "$E"; then echo "FAIL: no ENOSPC in the error"; fail=1; fi
ls /dev/shm | grep -q big && { echo "FAIL: the failed ring's file was left in /dev/shm"; fail=1; }
# a ring that fits still works on the same tmpfs
printf 'create small 16\nhealth 1 10 0 0 1\n' | "$RS" || { echo "FAIL: a small ring failed"; fail=1; }
[ $fail -eq 0 ] && echo PASS
exit $fail
INNER
