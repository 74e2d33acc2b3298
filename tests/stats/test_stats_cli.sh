#!/bin/bash
# agecam stats against a scripted writer: unique visitors counted once per
# track, passers-by filtered, window/band counts, no double counting across
# consumer runs, a torn last state record dropped on replay, open tracks of a
# crashed or restarted writer finished, JSON/CSV output.
# usage: test_stats_cli.sh AGECAM RINGSCRIPT
set -u
AGECAM=$1 RINGSCRIPT=$2
NAME=agecam-test-stats-$$
T=$(mktemp -d /tmp/agecam-stats-XXXXXX)
STATE=$T/visits.log
cleanup() { kill $WPID $FPID 2>/dev/null; rm -rf "$T"; rm -f /dev/shm/$NAME; }
WPID= FPID=
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.out "$T"/*.err "$STATE"; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; fail "timed out waiting for $1"; }
NOW=1700001800 # 22:30 UTC: the 15m windows reported are 22:00, 22:15, 22:30
stats() { "$AGECAM" stats --ring $NAME --state "$STATE" --now $NOW --window 15m,1h --last 3 --min-dwell 5s "$@"; }
row() { grep "^$1,$2,[^,]*,$3," "$4" | cut -d, -f5-; } # window_s start band file -> visitors,mean,median,dwell

mkfifo "$T/fifo"
"$RINGSCRIPT" <"$T/fifo" &
WPID=$!
exec 3>"$T/fifo"
cat >&3 <<SCRIPT
create $NAME 64
clock 1700000000
new 0 1 8 1 0.9
new 0 2 30 3 0.9
new 0 3 70 5 0.9
advance 1
end 0 3 70 5 0.9
advance 9
end 0 2 31 2 0.9
advance 50
update 0 1 9 1 0.9
end 0 1 9 1 0.9
advance 900
new 0 4 40 3 0.9
advance 20
update 0 4 41 3 0.9
health 0 14.5 1 3 1
touch $T/phase1
SCRIPT
wait_file "$T/phase1"

# Run 1: tracks 1 (60 s) and 2 (10 s) count; 3 (1 s) is a passer-by; 4 is still in view.
stats --format csv >"$T/run1.out" 2>"$T/run1.err" || fail "run 1"
W0=2023-11-14T22:00:00Z W1=2023-11-14T22:15:00Z
[ "$(row 900 $W0 all "$T/run1.out")" = "2,20.00,20.00,35.0" ] || fail "run 1 window 22:00 all"
[ "$(row 900 $W0 0-12 "$T/run1.out")" = "1,9.00,9.00,60.0" ] || fail "run 1 band 0-12"
[ "$(row 900 $W0 25-34 "$T/run1.out")" = "1,31.00,31.00,10.0" ] || fail "run 1 band 25-34"
[ "$(row 900 $W0 65+ "$T/run1.out")" = "0,,," ] || fail "run 1: passer-by counted"
[ "$(row 900 $W1 all "$T/run1.out")" = "0,,," ] || fail "run 1: open track counted"
[ "$(row 3600 $W0 all "$T/run1.out")" = "2,20.00,20.00,35.0" ] || fail "run 1 hour"
[ "$(grep -c . "$STATE")" -eq 2 ] || fail "run 1 state lines"

# Run 2 re-reads the same ring: nobody is counted twice.
stats --format csv >"$T/run2.out" 2>"$T/run2.err" || fail "run 2"
cmp -s "$T/run1.out" "$T/run2.out" || fail "run 2 differs"
[ "$(grep -c . "$STATE")" -eq 2 ] || fail "run 2 duplicated state"

# Track 4 leaves after 40 s: counted in the 22:15 window.
printf 'advance 20\nend 0 4 42 3 0.9\ntouch %s\n' "$T/phase2" >&3
wait_file "$T/phase2"
stats --format csv >"$T/run3.out" 2>"$T/run3.err" || fail "run 3"
[ "$(row 900 $W1 35-44 "$T/run3.out")" = "1,42.00,42.00,40.0" ] || fail "run 3 track 4"
[ "$(row 3600 $W0 all "$T/run3.out")" = "3,27.33,31.00,36.7" ] || fail "run 3 hour"
[ "$(grep -c . "$STATE")" -eq 3 ] || fail "run 3 state lines"

# Crash mid-write: the last record is torn. Replay drops it with a warning...
truncate -s -25 "$STATE"
stats --no-ring --format csv >"$T/run4.out" 2>"$T/run4.err" || fail "run 4"
grep -q "torn last record" "$T/run4.err" || fail "run 4: no torn warning"
[ "$(row 3600 $W0 all "$T/run4.out")" = "2,20.00,20.00,35.0" ] || fail "run 4 replay"
[ "$(grep -c . "$STATE")" -eq 2 ] && [ "$(tail -c 1 "$STATE" | od -An -c | tr -d ' ')" = '\n' ] || fail "run 4: torn bytes not trimmed"
# ...and the ring still holds track 4's END, so it comes back.
stats --format csv >"$T/run5.out" 2>"$T/run5.err" || fail "run 5"
cmp -s "$T/run3.out" "$T/run5.out" || fail "run 5 did not restore run 3's counts"

# Writer restart seen by a following consumer: the old writer's open track 5
# (30 s) never gets an END but is counted from its last sighting.
"$AGECAM" stats --ring $NAME --state "$STATE" --now $NOW --window 15m,1h --last 3 --min-dwell 5s \
  --follow --json >"$T/follow.out" 2>"$T/follow.err" &
FPID=$!
# the follower must hold the old ring before it is replaced (a slow start on
# a loaded machine would otherwise only ever see the new one)
for _ in $(seq 200); do grep -q "/dev/shm/$NAME" /proc/$FPID/maps 2>/dev/null && break; sleep 0.05; done
grep -q "/dev/shm/$NAME" /proc/$FPID/maps || fail "follower never mapped the ring"
printf 'new 0 5 25 3 0.9\nadvance 30\nupdate 0 5 26 3 0.9\ntouch %s\n' "$T/phase3" >&3
wait_file "$T/phase3"
printf 'create %s 64\nadvance 5\nnew 0 1 60 4 0.9\nadvance 10\nupdate 0 1 61 4 0.9\ntouch %s\n' $NAME "$T/phase4" >&3
wait_file "$T/phase4"
for _ in $(seq 200); do [ "$(grep -c . "$STATE")" -ge 4 ] && break; sleep 0.05; done
[ "$(grep -c . "$STATE")" -eq 4 ] || fail "restart: open track not finished"
grep -q " 0 5 [0-9]* [0-9]* 26.00 " "$STATE" || fail "restart: track 5 record"

# The new writer is killed (no clean close): its open track 1 (10 s) counts too.
exec 3>&-
kill -9 $WPID; wait $WPID 2>/dev/null; WPID=
for _ in $(seq 200); do [ "$(grep -c . "$STATE")" -ge 5 ] && break; sleep 0.05; done
[ "$(grep -c . "$STATE")" -eq 5 ] || fail "writer crash: open track not finished"
kill -TERM $FPID; wait $FPID; rc=$?; FPID=
[ $rc -eq 0 ] || fail "follow exit status $rc"
grep -q '"visitors_total":5' "$T/follow.out" || fail "follow report"
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); assert d["visitors_total"] == 5, d' "$T/follow.out" || fail "follow JSON"
fi
stats --no-ring >"$T/table.out" 2>&1 || fail "table"
grep -q "^window 3600s 2023-11-14T22:00:00Z .. 2023-11-14T23:00:00Z: 5 visitors" "$T/table.out" || fail "table header"
grep -Eq "^  55-64 +1 +61.0 +61.0 +10.0$" "$T/table.out" || fail "table row"

# Disk full (the state file may not grow): a clear error, the visit still
# counts in the report, the exit status says it is unsaved, the file is intact.
head -3 "$STATE" >"$T/full.log"
cp "$T/full.log" "$T/full.before"
# (output goes through a pipe: the file-size limit applies to every regular file)
( trap '' XFSZ; ulimit -S -f 0; exec "$AGECAM" stats --ring $NAME --state "$T/full.log" --now $NOW \
    --window 1h --last 1 --min-dwell 5s --format csv ) 2>&1 | cat >"$T/full.out"
rc=${PIPESTATUS[0]}
[ $rc -eq 1 ] || fail "disk full: exit status $rc"
grep -q "cannot save visits to $T/full.log: File too large; counting on in memory" "$T/full.out" || fail "disk full message"
grep -q "1 visits not yet saved" "$T/full.out" || fail "disk full: pending not reported"
[ "$(row 3600 $W0 all "$T/full.out" | cut -d, -f1)" = 4 ] || fail "disk full: visit not counted"
cmp -s "$T/full.log" "$T/full.before" || fail "disk full: state file changed"

# Bad input gets a clear error.
stats --bands 0-10,20+ 2>/dev/null; [ $? -eq 2 ] || fail "bad bands accepted"
stats --window 0 2>/dev/null; [ $? -eq 2 ] || fail "bad window accepted"
stats --no-ring --listen 192.0.2.1:9464 2>"$T/listen.err"; [ $? -eq 1 ] || fail "non-loopback listen accepted"
grep -q "loopback" "$T/listen.err" || fail "listen message"
"$AGECAM" stats --no-ring --state "$T" 2>"$T/dir.err"; [ $? -eq 1 ] || fail "directory as state file accepted"
echo "stats cli: ok"
