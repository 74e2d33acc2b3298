#!/bin/bash
# agecam detect / eval-det / faces end to end with the shipped detector on the
# NASA portrait (tests/data/astronaut.jpg), whose face box was marked by hand:
# x 178..268, y 66..176 (hairline to chin), eyes near (203, 102) and (247, 103).
# Also: bad input gets a clear message and a non-zero exit, never a crash.
# usage: test_cli.sh AGECAM SOURCE_ROOT
set -u
AGECAM=$1
ROOT=$2
MODEL=$ROOT/models/det-320x240.acnn
PY=/usr/bin/python3
T=$(mktemp -d /tmp/agecam-test-det-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
IMG=$ROOT/tests/data/astronaut.jpg

# --- detect ------------------------------------------------------------------
"$AGECAM" detect --help | grep -q -- "--out" || fail "detect --help"
"$AGECAM" detect >/dev/null 2>&1; [ $? -eq 2 ] || fail "detect without an image should exit 2"
out=$("$AGECAM" detect --model "$MODEL" --out "$T/annot.jpg" "$IMG" 2>"$T/err")
[ $? -eq 0 ] || fail "detect exit: $(cat "$T/err")"
[ -s "$T/annot.jpg" ] || fail "annotated image not written"
# the best face overlaps the hand-marked box (IoU >= 0.5) with its eyes
# within 10 px of the marked points: the shipped detector's mean landmark
# error on the validation faces is 0.082 of the face's longer side (det45;
# 0.085-0.086 before; models/README.md), 9-10 px on this 110 px face; a
# decoding error is far larger (so is a left/right mix-up of the mirror
# pass's landmarks, with --flip)
check_portrait() { # OUTPUT WHAT
  echo "$1" | head -1 | awk '
    { x0=$4; y0=$5; x1=$6; y1=$7; s=$9; lx=$11; ly=$12; rx=$13; ry=$14
      ix=(x1<268?x1:268)-(x0>178?x0:178); iy=(y1<176?y1:176)-(y0>66?y0:66)
      inter=(ix>0&&iy>0)?ix*iy:0; iou=inter/((x1-x0)*(y1-y0)+90*110-inter)
      ok = $1=="face" && iou>=0.5 && s>=0.5 && (lx-203)^2+(ly-102)^2<=100 && (rx-247)^2+(ry-103)^2<=100
      if (!ok) exit 1 }' ||
    fail "$2: astronaut face not found where marked: $(echo "$1" | head -1)"
  # no second confident face in a portrait
  echo "$1" | tail -1 | grep -q "^1 face in" || fail "$2: extra faces: $1"
}
check_portrait "$out" detect
out=$("$AGECAM" detect --model "$MODEL" --flip "$IMG" 2>"$T/err")
[ $? -eq 0 ] || fail "detect --flip exit: $(cat "$T/err")"
check_portrait "$out" "detect --flip"
"$AGECAM" detect --model "$MODEL" --json "$IMG" | head -1 |
  grep -q '^{"image":".*astronaut.jpg","face":0,"box":\[[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*\],"score":[0-9.]*,"landmarks":\[\([0-9.]*,\)\{9\}[0-9.]*\]}$' ||
  fail "detect --json: $("$AGECAM" detect --model "$MODEL" --json "$IMG" | head -1)"

# model lookup through $AGECAM_MODEL_DIR and --size
AGECAM_MODEL_DIR=$ROOT/models "$AGECAM" detect --size 320x240 "$IMG" | grep -q "^1 face in" ||
  fail "detect via AGECAM_MODEL_DIR"
AGECAM_MODEL_DIR=$T "$AGECAM" detect --size 64x64 "$IMG" 2>"$T/err" && fail "missing det-64x64 accepted"
grep -q "det-64x64.acnn" "$T/err" || fail "missing model message: $(cat "$T/err")"
"$AGECAM" detect --model "$MODEL" --size 12 "$IMG" 2>/dev/null; [ $? -eq 2 ] || fail "bad --size"
"$AGECAM" detect --model "$MODEL" --score 2 "$IMG" 2>/dev/null; [ $? -eq 2 ] || fail "bad --score"
# an age model is not a detector
"$AGECAM" detect --model "$ROOT/models/smlf-small.acnn" "$IMG" 2>"$T/err" && fail "age model accepted"
grep -q "not a face detector" "$T/err" || fail "wrong model kind message: $(cat "$T/err")"
# corrupt model and image
head -c 1000 "$MODEL" > "$T/trunc.acnn"
"$AGECAM" detect --model "$T/trunc.acnn" "$IMG" 2>"$T/err" && fail "truncated model accepted"
[ -s "$T/err" ] || fail "truncated model: no message"
head -c 2000 "$IMG" > "$T/trunc.jpg"
"$AGECAM" detect --model "$MODEL" "$T/trunc.jpg" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "truncated image exit $rc"
grep -q "trunc.jpg" "$T/err" || fail "truncated image message: $(cat "$T/err")"

# the face verifier: with it the portrait is found as before; a detector or
# a truncated file given as the verifier is refused with a message
VER=$ROOT/models/face-verify.acnn
out=$("$AGECAM" detect --model "$MODEL" --verifier "$VER" "$IMG" 2>"$T/err")
[ $? -eq 0 ] || fail "detect --verifier exit: $(cat "$T/err")"
check_portrait "$out" "detect --verifier"
"$AGECAM" detect --model "$MODEL" --verifier none "$IMG" | grep -q "^1 face in" || fail "--verifier none"
"$AGECAM" detect --model "$MODEL" --verifier "$MODEL" "$IMG" 2>"$T/err" && fail "detector accepted as verifier"
grep -q "not a face verifier" "$T/err" || fail "verifier kind message: $(cat "$T/err")"
head -c 1000 "$VER" > "$T/vtrunc.acnn"
"$AGECAM" detect --model "$MODEL" --verifier "$T/vtrunc.acnn" "$IMG" 2>"$T/err" && fail "truncated verifier accepted"
grep -q "verifier .*vtrunc.acnn" "$T/err" || fail "truncated verifier message: $(cat "$T/err")"

# --- eval-det -------------------------------------------------------------------
mkdir -p "$T/set/images/a"
cp "$IMG" "$T/set/images/a/1.jpg"
printf '# a/1.jpg 512 512\n178 66 90 110\n' > "$T/set/labels.txt"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/labels.txt" --root "$T/set" --json \
  > "$T/ev.json" 2>"$T/err" || fail "eval-det exit: $(cat "$T/err")"
grep -q '"images":1,.*"flip":false,.*"ap_ge64":1.0000,"faces_ge64":1,.*"ap_16_32":null' "$T/ev.json" ||
  fail "eval-det json: $(cat "$T/ev.json")"
# the verifier in use is reported
"$AGECAM" eval-det --model "$MODEL" --verifier "$VER" --labels "$T/set/labels.txt" --root "$T/set" --json \
  > "$T/ev.json" 2>"$T/err" || fail "eval-det --verifier exit: $(cat "$T/err")"
grep -q '"verifier":".*face-verify.acnn",.*"ap_ge64":1.0000' "$T/ev.json" || fail "eval-det --verifier json: $(cat "$T/ev.json")"
"$AGECAM" eval-det --model "$MODEL" --verifier none --labels "$T/set/labels.txt" --root "$T/set" --json |
  grep -q '"verifier":null,' || fail "eval-det --verifier none json"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/labels.txt" --root "$T/set" --json --flip \
  > "$T/ev.json" 2>"$T/err" || fail "eval-det --flip exit: $(cat "$T/err")"
grep -q '"images":1,.*"flip":true,.*"ap_ge64":1.0000,"faces_ge64":1' "$T/ev.json" ||
  fail "eval-det --flip json: $(cat "$T/ev.json")"
# a list naming no image, a wrong image size, a missing image, bad labels
echo "nothing.jpg" > "$T/list"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/labels.txt" --root "$T/set" --list "$T/list" \
  2>"$T/err" && fail "empty list accepted"
printf '# a/1.jpg 500 512\n180 70 90 110\n' > "$T/set/bad.txt"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/bad.txt" --root "$T/set" 2>"$T/err" &&
  fail "wrong size accepted"
grep -q "labels say 500x512" "$T/err" || fail "size message: $(cat "$T/err")"
printf '# a/2.jpg 512 512\n' > "$T/set/bad.txt"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/bad.txt" --root "$T/set" 2>"$T/err" &&
  fail "missing image accepted"
grep -q "a/2.jpg" "$T/err" || fail "missing image message: $(cat "$T/err")"
printf '# a/1.jpg 512 512\n180 70 90\n' > "$T/set/bad.txt"
"$AGECAM" eval-det --model "$MODEL" --labels "$T/set/bad.txt" --root "$T/set" 2>"$T/err" &&
  fail "bad labels accepted"
grep -q "bad.txt:2:" "$T/err" || fail "bad labels message: $(cat "$T/err")"

# --- faces ----------------------------------------------------------------------
if [ -f "$ROOT/models/smlf-small.acnn" ]; then
  out=$("$AGECAM" faces --model "$MODEL" --age-model "$ROOT/models/smlf-small.acnn" --json "$IMG" 2>"$T/err")
  [ $? -eq 0 ] || fail "faces exit: $(cat "$T/err")"
  echo "$out" | head -1 | grep -q '"face":0,.*"age":[0-9.]*,"std":[0-9.]*,"quality":"ok"' ||
    fail "faces: $out"
  # a size filter above the face rejects it and counts it
  "$AGECAM" faces --model "$MODEL" --age-model "$ROOT/models/smlf-small.acnn" --min-size 400 "$IMG" 2>/dev/null |
    grep -q "0 aged; rejected: size 1, pose 0, blur 0" || fail "faces --min-size"
fi

[ $fails -eq 0 ] && echo "detect CLI: ok"
exit $fails
