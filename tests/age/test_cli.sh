#!/bin/bash
# agecam estimate / eval end to end on the shipped models: output lines,
# bad images reported and counted without stopping the run, labels errors,
# and the C and Python evaluators agreeing on the same predictions.
# usage: test_cli.sh AGECAM SOURCE_ROOT
set -u
AGECAM=$1
ROOT=$2
MODEL=$ROOT/models/smlf-small.acnn
PY=/usr/bin/python3
T=$(mktemp -d /tmp/agecam-test-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# --- estimate --------------------------------------------------------------
"$AGECAM" estimate --help | grep -q -- "--model" || fail "estimate --help"
"$AGECAM" estimate >/dev/null 2>&1; [ $? -eq 2 ] || fail "estimate without images should exit 2"

cp "$ROOT/tests/data/astronaut.jpg" "$T/face.jpg"
printf 'not an image' > "$T/broken.jpg"
out=$("$AGECAM" estimate --model "$MODEL" "$T/face.jpg" "$T/broken.jpg" "$T/face.jpg" 2>"$T/err")
rc=$?
[ $rc -eq 1 ] || fail "estimate with a broken image should exit 1, got $rc"
[ "$(echo "$out" | grep -c "^$T/face.jpg  age [0-9.]*  std [0-9.]*  top ")" -eq 2 ] ||
  fail "estimate lines: $out"
grep -q "broken.jpg: not a decodable JPEG/PNG image" "$T/err" || fail "broken image message: $(cat "$T/err")"

# model lookup through $AGECAM_MODEL_DIR, and a missing model
AGECAM_MODEL_DIR=$ROOT/models "$AGECAM" estimate --small --json "$T/face.jpg" > "$T/est.json" ||
  fail "estimate via AGECAM_MODEL_DIR"
grep -q '"age": [0-9.]*, "std": [0-9.]*, "top": \[{"class": ' "$T/est.json" || fail "estimate --json: $(cat "$T/est.json")"
AGECAM_MODEL_DIR=$T/nowhere "$AGECAM" estimate --model "$T/nowhere/x.acnn" "$T/face.jpg" 2>"$T/err" &&
  fail "missing model accepted"
grep -q "nowhere/x.acnn" "$T/err" || fail "missing model message: $(cat "$T/err")"

# --- eval ------------------------------------------------------------------
mkdir -p "$T/set/a"
cp "$ROOT/tests/data/astronaut.jpg" "$T/set/a/1.jpg"
cp "$ROOT/tests/data/astronaut.jpg" "$T/set/a/2.jpg"
head -c 3000 "$ROOT/tests/data/astronaut.jpg" > "$T/set/a/truncated.jpg"
printf 'path,age,gender,race,extra\na/1.jpg,40,1,0,x\na/2.jpg,70,1,3,y\na/missing.jpg,20,0,0,z\na/truncated.jpg,30,0,1,w\n' > "$T/set/labels.csv"
"$AGECAM" eval --model "$MODEL" --labels "$T/set/labels.csv" --root "$T/set" --json \
  --predictions "$T/pred.csv" > "$T/eval.json" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] || fail "eval exit $rc: $(cat "$T/err")"
grep -q '"failed": 2, .*"count": 2,' "$T/eval.json" || fail "eval counts: $(cat "$T/eval.json")"
grep -q "missing.jpg: No such file" "$T/err" || fail "missing image not reported: $(cat "$T/err")"
grep -q "truncated.jpg" "$T/err" || fail "truncated image not reported: $(cat "$T/err")"
[ "$(wc -l < "$T/pred.csv")" -eq 3 ] || fail "predictions file: $(cat "$T/pred.csv")"
# parallel workers give the same predictions, in csv order
"$AGECAM" eval --model "$MODEL" --labels "$T/set/labels.csv" --root "$T/set" --jobs 3 \
  --predictions "$T/pred3.csv" > /dev/null 2>&1
cmp -s "$T/pred.csv" "$T/pred3.csv" || fail "--jobs 3 predictions differ: $(cat "$T/pred3.csv")"
# same image, truths 40 and 70: MAE65 = (|p-40| + |p-65|) / 2 and MAE = (|p-40| + |p-70|) / 2
"$AGECAM" eval --model "$MODEL" --labels "$T/set/labels.csv" --root "$T/set" > "$T/eval.txt" 2>/dev/null
grep -q "^band 65+        1 faces" "$T/eval.txt" || fail "eval table: $(cat "$T/eval.txt")"
grep -q "^race 3          1 faces" "$T/eval.txt" || fail "eval race rows: $(cat "$T/eval.txt")"

printf 'path,gender\na/1.jpg,1\n' > "$T/nolabel.csv"
"$AGECAM" eval --model "$MODEL" --labels "$T/nolabel.csv" --root "$T/set" 2>"$T/err" && fail "csv without age accepted"
grep -q "nolabel.csv: line 1: header lacks the 'age' column" "$T/err" || fail "missing column message: $(cat "$T/err")"
printf 'path,age\na/1.jpg,forty\n' > "$T/badage.csv"
"$AGECAM" eval --model "$MODEL" --labels "$T/badage.csv" --root "$T/set" 2>"$T/err" && fail "bad age accepted"
grep -q "badage.csv: line 2: bad age 'forty'" "$T/err" || fail "bad age message: $(cat "$T/err")"

# --- quantize ----------------------------------------------------------------
# calibrates on the readable crops of the list (the broken ones are skipped
# with a message), writes a model that loads with its 1x1 convs in int8 and
# estimates within a year of the float model on the same face
"$AGECAM" quantize --model "$MODEL" --labels "$T/set/labels.csv" --root "$T/set" \
  --out "$T/q8.acnn" --images 10 > "$T/q.txt" 2>"$T/err" || fail "quantize: $(cat "$T/err")"
grep -q "q8.acnn: 28 1x1 convolutions in int8, calibrated on 2 crops" "$T/q.txt" || fail "quantize output: $(cat "$T/q.txt")"
grep -q "missing.jpg" "$T/err" || fail "quantize: missing image not reported"
f=$("$AGECAM" estimate --model "$MODEL" --json "$T/face.jpg" | sed 's/.*"age": \([0-9.]*\).*/\1/')
q=$("$AGECAM" estimate --model "$T/q8.acnn" --json "$T/face.jpg" | sed 's/.*"age": \([0-9.]*\).*/\1/')
awk -v f="$f" -v q="$q" 'BEGIN { d = f - q; exit !(d < 1 && d > -1 && f != q) }' ||
  fail "int8 estimate $q vs float $f"
"$AGECAM" quantize --model "$T/q8.acnn" --labels "$T/set/labels.csv" --root "$T/set" --out "$T/q8b.acnn" \
  2>"$T/err" && fail "quantize of a quantised model accepted"
grep -q "already quantised" "$T/err" || fail "requantise message: $(cat "$T/err")"
printf 'path,age
a/truncated.jpg,30
' > "$T/bad.csv"
"$AGECAM" quantize --model "$MODEL" --labels "$T/bad.csv" --root "$T/set" --out "$T/q8c.acnn" \
  2>"$T/err" && fail "quantize with no usable image accepted"
grep -q "no image could be used" "$T/err" || fail "no-image message: $(cat "$T/err")"
[ -e "$T/q8c.acnn" ] && fail "a failed quantize left a file"
"$AGECAM" quantize --model "$MODEL" --labels "$T/set/labels.csv" --out "$T/x.acnn" --percentile 0 2>/dev/null
[ $? -eq 2 ] || fail "bad --percentile should exit 2"

# --- bench (a smoke run, not a timing) -------------------------------------
"$AGECAM" bench --list | grep -q "^age/full/scalar/net" || fail "bench --list"
"$AGECAM" bench --runs 2 --filter age/small --model-dir "$ROOT/models" --json > "$T/bench.json" ||
  fail "bench exit status"
for c in age/small/scalar/net age/small/fast/net age/small/fast/estimate; do
  grep -q "{\"name\": \"$c\", [^}]*\"median_ms\": [0-9.]*, [^}]*\"peak_rss_kb\": [0-9]*, \"input\": 64, \"params\": [0-9]" \
    "$T/bench.json" || fail "bench row $c: $(cat "$T/bench.json")"
done
grep -q "age/full" "$T/bench.json" && fail "bench --filter ignored"
"$AGECAM" bench --runs 1 --filter small/fast/net --model-dir "$T/nowhere" > "$T/bench.txt" ||
  fail "bench with missing models should skip, not fail"
grep -q "age/small/fast/net *skipped: .*nowhere/smlf-small.acnn" "$T/bench.txt" || fail "bench skip: $(cat "$T/bench.txt")"
# camera-side cost: converting one frame (no model needed)
"$AGECAM" bench --runs 2 --filter capture/ --json > "$T/bench-cap.json" || fail "bench capture exit status"
for c in capture/yuyv/640x480 capture/nv12/640x480 capture/mjpeg/640x480 capture/mjpeg/1280x720; do
  grep -q "{\"name\": \"$c\", [^}]*\"median_ms\": [0-9.]*, [^}]*\"src_bytes\": [0-9]" "$T/bench-cap.json" ||
    fail "bench row $c: $(cat "$T/bench-cap.json")"
done

# --- C and Python metrics on the same predictions -------------------------
cat > "$T/toy.csv" <<'EOF'
path,age,gender,race
a.jpg,10,0,0
"b,1.jpg",30,1,0
c.jpg,70,0,1
d.jpg,50,1,
e.jpg,15.0,0,1
f.jpg,3,1,2
EOF
cat > "$T/toy_pred.csv" <<'EOF'
path,pred
a.jpg,12
"b,1.jpg",27.5
c.jpg,60
d.jpg,50.5
e.jpg,15
EOF
"$AGECAM" eval --labels "$T/toy.csv" --from-predictions "$T/toy_pred.csv" --json > "$T/c.json" 2>"$T/err"
grep -q "f.jpg: no prediction" "$T/err" || fail "missing prediction not reported"
grep -q '"mae": 3, "mae_clip65": 2, "bias": -2,' "$T/c.json" || fail "toy metrics in C: $(cat "$T/c.json")"
if [ -x "$PY" ]; then
  "$PY" "$ROOT/train/eval_age.py" --labels "$T/toy.csv" --from-predictions "$T/toy_pred.csv" --json \
    > "$T/py.json" 2>/dev/null || fail "eval_age.py --from-predictions"
  "$PY" - "$T/c.json" "$T/py.json" <<'EOF' || fail "C and Python metrics differ"
import json, sys
c, p = (json.load(open(f)) for f in sys.argv[1:])
skip = {"images_per_s", "model", "labels"}
def same(a, b, where):
    if isinstance(a, dict):
        ok = set(a) - skip == set(b) - skip
        if not ok:
            print(where, "keys", sorted(set(a) ^ set(b)))
        return ok and all(same(a[k], b[k], where + "." + k) for k in a if k not in skip)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y, where) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        ok = abs(a - b) < 1e-7
    else:
        ok = a == b
    if not ok:
        print(where, a, b)
    return ok
sys.exit(0 if same(c, p, "") else 1)
EOF
fi

[ $fails -eq 0 ] && echo "age cli: all checks passed"
exit $((fails > 0))
