"""Measure the 5-point landmark template of UTKFace "aligned & cropped"
chips with our detector: the mean landmark positions, in the 200x200 chip
frame, of the most confident central face of each chip. The 10 numbers go
into AC_ALIGN_TEMPLATE (src/align/ac_align.c) so that ac_align warps a
detected face into the frame the age net was trained on.

    nice -n 10 /usr/bin/python3 train/det_template.py \
        --checkpoint /var/tmp/agecam-train/det/best.pt --n 400

Uses UTKFace training-split chips (train/split/utk_train.csv), every k-th
row so the sample spans ages and sources. Also prints the mean ratio of chip
side to detected box side (the "expanded box" factor).
"""
import argparse
import csv
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import det_eval  # noqa: E402
import det_model  # noqa: E402

UTK = "/work/shared/data/utkface"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--min-score", type=float, default=0.8)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = det_model.from_checkpoint(ck)
    model.load_state_dict(ck["model"])
    model.eval()
    rows = list(csv.DictReader(open(os.path.join(os.path.dirname(__file__), "split",
                                                 "utk_train.csv"))))
    step = max(1, len(rows) // a.n)
    lms, sides, used, skipped = [], [], 0, 0
    for r in rows[::step][:a.n]:
        chip = np.asarray(Image.open(os.path.join(UTK, r["path"])).convert("RGB"))
        h, w = chip.shape[:2]
        # the face fills the chip; centre it on a grey canvas twice its size
        # so that at 320 px it spans 80-160 px, well inside the training
        # face sizes, with some context around it
        img = np.full((2 * h, 2 * w, 3), 127, np.uint8)
        img[h // 2:h // 2 + h, w // 2:w // 2 + w] = chip
        boxes, scores, lm = det_eval.detect(model, img, longest=320, score_thr=0.3)
        off = np.array([w // 2, h // 2] * 2, np.float32)
        boxes = boxes - off
        lm = lm - np.tile(off[:2], 5)
        if len(boxes) == 0:
            skipped += 1
            continue
        c = (boxes[:, :2] + boxes[:, 2:]) / 2
        central = np.hypot(c[:, 0] - w / 2, c[:, 1] - h / 2) < 0.2 * w
        cand = np.nonzero(central & (scores >= a.min_score))[0]
        if len(cand) == 0:
            skipped += 1
            continue
        i = cand[np.argmax(scores[cand])]
        k = 200.0 / w  # chips are 200x200; scale in case one is not
        lms.append(lm[i] * k)
        sides.append(max(boxes[i, 2] - boxes[i, 0], boxes[i, 3] - boxes[i, 1]) * k)
        used += 1
    lms = np.array(lms)
    med = np.median(lms, 0)
    mean = lms.mean(0)
    print("chips used %d, skipped %d" % (used, skipped))
    print("mean   template:", " ".join("%.2f" % v for v in mean))
    print("median template:", " ".join("%.2f" % v for v in med))
    # dlib aligns to a left-right symmetric mean face, so the chip template
    # is symmetric about x = 100: average the median with its mirror image
    mir = med.reshape(5, 2)[[1, 0, 2, 4, 3]].copy()
    mir[:, 0] = 200.0 - mir[:, 0]
    sym = (med.reshape(5, 2) + mir) / 2
    print("symmetrised median (AC_ALIGN_TEMPLATE):",
          ", ".join("%.1ff" % v for v in sym.reshape(-1)))
    print("std per coordinate:", " ".join("%.2f" % v for v in lms.std(0)))
    print("chip side / box side: mean %.3f median %.3f (box max side mean %.1f px)"
          % (np.mean(200.0 / np.array(sides)), np.median(200.0 / np.array(sides)),
             np.mean(sides)))


if __name__ == "__main__":
    main()
