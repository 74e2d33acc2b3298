"""Age error through the whole run-time face path, against the age net on
the chips themselves: how much detection, landmarks and alignment cost.

Every k-th row of a labelled UTKFace list is pasted, centred, on a grey
canvas twice its size (as train/det_template.py does, so the face is not
cut by the image edge), and `agecam faces --json` detects, filters, aligns
and estimates it; `agecam eval --predictions` estimates the chips as they
are. Both are scored on the faces the path accepted (first face per image).

    /usr/bin/python3 train/eval_pipeline_age.py --agecam build-dev/src/tools/agecam \
        --labels train/split/utk_val.csv --root ../shared/data/utkface --every 5

Nothing is written outside a temporary folder; needs PIL and numpy.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from eval_age import BANDS, band


def report(name, pred, truth):
    e = np.abs(pred - truth)
    which = np.array([band(t) for t in truth])
    cells = " / ".join("%.2f" % e[which == i].mean() if (which == i).any() else "-"
                       for i in range(len(BANDS)))
    print("%-12s MAE %.3f  bias %+.2f  bands %s: %s"
          % (name, e.mean(), (pred - truth).mean(), " / ".join(BANDS), cells))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agecam", required=True, help="the agecam binary")
    ap.add_argument("--labels", required=True, help="csv with path,age")
    ap.add_argument("--root", required=True)
    ap.add_argument("--every", type=int, default=5, help="use every k-th row")
    ap.add_argument("--det-model", help="detector .acnn for agecam faces --model")
    ap.add_argument("--age-model", help="age .acnn for both (default: agecam's)")
    a = ap.parse_args()
    with open(a.labels, newline="") as f:
        rows = list(csv.DictReader(f))[::a.every]
    truth = np.array([float(r["age"]) for r in rows])
    pipe = np.full(len(rows), np.nan)
    with tempfile.TemporaryDirectory() as tmp:
        sub = os.path.join(tmp, "chips.csv")
        with open(sub, "w") as f:
            f.write("path,age\n")
            for r in rows:
                f.write("%s,%s\n" % (r["path"], r["age"]))
        preds = os.path.join(tmp, "pred.csv")
        cmd = [a.agecam, "eval", "--labels", sub, "--root", a.root, "--predictions", preds]
        if a.age_model:
            cmd += ["--model", a.age_model]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(preds, newline="") as f:
            chip = np.array([float(r["pred"]) for r in csv.DictReader(f)])
        for i, r in enumerate(rows):
            with Image.open(os.path.join(a.root, r["path"])) as im:
                im = im.convert("RGB")
                canvas = Image.new("RGB", (2 * im.width, 2 * im.height), (128, 128, 128))
                canvas.paste(im, (im.width // 2, im.height // 2))
            p = os.path.join(tmp, "face.png")
            canvas.save(p)
            cmd = [a.agecam, "faces", "--json", p]
            if a.det_model:
                cmd += ["--model", a.det_model]
            if a.age_model:
                cmd += ["--age-model", a.age_model]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
            face = json.loads(out[0]) if out else {}
            if face.get("age") is not None:
                pipe[i] = face["age"]
    ok = ~np.isnan(pipe)
    if len(chip) != len(rows) or not ok.any():
        sys.exit("eval_pipeline_age: no usable results")
    print("%d images, %d with an estimated face (the others: no face found, or "
          "rejected by the quality filters)" % (len(rows), ok.sum()))
    report("chip", chip[ok], truth[ok])
    report("face path", pipe[ok], truth[ok])


if __name__ == "__main__":
    main()
