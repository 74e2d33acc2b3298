#!/bin/bash
# agecam tail against a scripted writer: waits for the ring, prints events in
# order, reports the exact gap after a flood, follows a writer restart, exits
# 0 on SIGINT; then -n/--once/--json on the ring left behind.
# usage: test_tail.sh AGECAM RINGSCRIPT
set -u
AGECAM=$1 RINGSCRIPT=$2
NAME=agecam-test-tail-$$
T=$(mktemp -d /tmp/agecam-tail-XXXXXX)
cleanup() { kill $TAILPID $WPID 2>/dev/null; rm -rf "$T"; rm -f /dev/shm/$NAME; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- tail stdout"; cat "$T/out"; echo "--- tail stderr"; cat "$T/err"; exit 1; }
wait_for() { # pattern file
  for _ in $(seq 200); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
  fail "timed out waiting for '$1' in $2"
}

"$AGECAM" tail --ring $NAME >"$T/out" 2>"$T/err" &
TAILPID=$!
wait_for "waiting for ring" "$T/err"

mkfifo "$T/fifo"
"$RINGSCRIPT" <"$T/fifo" &
WPID=$!
exec 3>"$T/fifo"
cat >&3 <<SCRIPT
create $NAME 16
clock 1700000000
new 0 1 30 3 0.9
advance 5
update 0 1 31 2.5 0.91
health 0 15 1 0 1
advance 10
end 0 1 31.5 2 0.92
SCRIPT
wait_for "track 1 end" "$T/out"
echo "flood 40" >&3
wait_for "^2023.* track 999 " "$T/out"
cat >&3 <<SCRIPT
create $NAME 16
flood 20
advance 60
new 1 1 50 4 0.8
SCRIPT
wait_for "cam1 track 1 new" "$T/out"
exec 3>&-
wait $WPID || fail "ringscript failed"
kill -INT $TAILPID
wait $TAILPID; rc=$?
[ $rc -eq 0 ] || fail "tail exit status $rc after SIGINT"

# Before the restart: the four events, in order, with their fields.
grep -q "^-- attached to the ring (writer pid [0-9]*)$" "$T/out" || fail "no attach notice after waiting"
grep -v '^--' "$T/out" | grep -v 'track 999 ' | head -4 >"$T/ev"
sed -n 1p "$T/ev" | grep -q '^2023-11-14T22:13:20.000Z cam0 track 1 new    age 30.0 std 3.0 range 24-36 q 0.90$' || fail "line 1"
sed -n 2p "$T/ev" | grep -q '^2023-11-14T22:13:25.000Z cam0 track 1 update age 31.0 std 2.5 range 26-36 q 0.91$' || fail "line 2"
sed -n 3p "$T/ev" | grep -q '^2023-11-14T22:13:25.000Z cam0 health fps 15.0 .* faces 1 .* drops 0 camera online$' || fail "line 3"
sed -n 4p "$T/ev" | grep -q '^2023-11-14T22:13:35.000Z cam0 track 1 end    age 31.5 std 2.0 range 28-36 q 0.92 dwell 15.0s$' || fail "line 4"

# The flood of 40 into 16 slots: every record printed or counted, none both.
sed '/^-- ring recreated/,$d' "$T/out" >"$T/before"
sed -n '/^-- ring recreated/,$p' "$T/out" >"$T/after"
printed=$(grep -c 'track 999 ' "$T/before")
missed=$(grep '^-- missed [0-9]* records$' "$T/before" | awk '{s += $3} END {print s + 0}')
[ "$missed" -gt 0 ] || fail "no gap reported after a flood"
[ $((printed + missed)) -eq 40 ] || fail "printed $printed + missed $missed != 40"

# The new ring's 20-record flood, mostly overwritten before the reattach: same accounting.
printed2=$(grep -c 'track 999 ' "$T/after")
missed2=$(grep '^-- missed [0-9]* records$' "$T/after" | awk '{s += $3} END {print s + 0}')
[ $((printed2 + missed2)) -eq 20 ] || fail "after restart: printed $printed2 + missed $missed2 != 20"

# Restart followed: notice, then the new ring's first record.
grep -q '^-- ring recreated by a restarted writer' "$T/out" || fail "no restart notice"
awk '/^-- ring recreated/ {r = 1} r && /cam1 track 1 new/ {ok = 1} END {exit !ok}' "$T/out" || fail "new ring's record not after the notice"

# -n / --once on what the ring still holds (the writer closed it on exit)
"$AGECAM" tail --ring $NAME --once -n 5 >"$T/once" 2>&1 || fail "--once failed: $(cat "$T/once")"
[ "$(wc -l <"$T/once")" -eq 5 ] && tail -1 "$T/once" | grep -q 'cam1 track 1 new' || fail "--once -n 5: $(cat "$T/once")"
"$AGECAM" tail --ring $NAME --once -n 0 >"$T/none" || fail "-n 0"
[ ! -s "$T/none" ] || fail "-n 0 printed something"
"$AGECAM" tail --ring $NAME --once --json >"$T/json" || fail "--json"
grep -q '"kind":"new"' "$T/json" && grep -q '"track":1' "$T/json" && grep -q '"age":50.00' "$T/json" || fail "json: $(cat "$T/json")"
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/json" || fail "invalid JSON"
fi
"$AGECAM" tail --ring agecam-test-no-such-ring-$$ --once 2>"$T/noring" && fail "--once on a missing ring succeeded"
grep -q "No such file" "$T/noring" || fail "missing ring message: $(cat "$T/noring")"
"$AGECAM" tail --bogus 2>/dev/null; [ $? -eq 2 ] || fail "bad option not exit 2"
timeout 5 "$AGECAM" tail --ring a/b 2>/dev/null; [ $? -eq 2 ] || fail "bad ring name not exit 2"
"$AGECAM" tail --help | grep -q -- "--exit-on-idle" || fail "--help"
# --exit-on-idle ends a follow on a quiet ring
timeout 10 "$AGECAM" tail --ring $NAME --exit-on-idle 0.3 >/dev/null || fail "--exit-on-idle did not exit 0"
cat "$T/out" | grep -v "track 999 "
echo "tail: ok (flood: $printed printed, $missed missed; after restart $printed2 printed, $missed2 missed)"
