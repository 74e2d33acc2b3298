"""Does running the detector at several input sizes and merging the faces
(one NMS, as the mirror pass is merged) raise AP? A diagnostic, with the
Python twin of the C detector on the validation split:

    /usr/bin/python3 train/det_multiscale.py --checkpoint train/checkpoints/det-best.pt \
        --sizes 320,480,640,800

prints AP (>= 64 / 32-64 / 16-32 px) for each size alone and for every
combination of them. Each size's candidates are computed once, so the
combinations cost only NMS. ~6 min for four sizes on one core.
"""
import argparse
import itertools
import os
import sys

import torch

import det_data
import det_eval
import det_model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--sizes", default="320,480,640,800", help="longest sides, comma-separated")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = det_model.from_checkpoint(ck)
    model.load_state_dict(ck["model"])
    model.eval()
    val = [e for e in det_data.parse_labels(os.path.join(det_data.ROOT, "labels.txt")) if det_data.is_val(e[0])]
    images = det_data.load_images(val)
    sizes = [int(v) for v in a.sizes.split(",")]
    cands = {n: [det_eval.candidates(model, img, n) for img in images] for n in sizes}

    def report(combo):
        res = []
        for i, e in enumerate(val):
            b, s, _ = det_eval.merge([cands[n][i] for n in combo])
            res.append((b, s, e[3]))
        aps = [det_eval.bucket_ap(res, lo, hi) for lo, hi, _ in det_eval.BUCKETS]
        print("%-20s %s" % ("+".join(map(str, combo)), " / ".join("%.4f" % v for v in aps)))
        sys.stdout.flush()

    for r in range(1, len(sizes) + 1):
        for combo in itertools.combinations(sizes, r):
            report(combo)


if __name__ == "__main__":
    main()
