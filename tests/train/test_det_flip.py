"""det_eval's mirror pass (the Python twin of `agecam --flip`): the
un-mirroring on a hand-computed case (the one tests/detect/test_detpost.c
uses), and on a random detector the merged faces cover every single-pass
face (kept, or beaten by a higher-scored box over it). Needs torch."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_eval  # noqa: E402
from det_fixture import random_detector  # noqa: E402

b = np.array([[10, 5, 30, 25]], np.float32)
lm = np.array([[14, 10, 26, 11, 20, 15, 15, 20, 25, 21]], np.float32)
b2, lm2 = det_eval.unmirror(b, lm, 100)
assert np.array_equal(b2, [[70, 5, 90, 25]]), b2
assert np.array_equal(lm2, [[74, 11, 86, 10, 80, 15, 75, 21, 85, 20]]), lm2

torch.manual_seed(0)
model = random_detector(3)
with torch.no_grad():  # the prior-initialised face bias would keep every score near 0.01
    for h in model.heads:
        h.bias.zero_()
img = (np.random.default_rng(1).random((96, 128, 3)) * 255).astype(np.uint8)
one, s1, _ = det_eval.detect(model, img, 128, score_thr=0.5)
two, s2, _ = det_eval.detect(model, img, 128, score_thr=0.5, flip=True)
print(f"{len(one)} faces in one pass, {len(two)} with the mirror pass")
assert len(one) > 0 and len(two) > 0
for bb, ss in zip(one, s1):
    iou = det_eval.iou_one(bb, two)
    assert ((iou > 0.4) & (s2 >= ss)).any(), (bb, ss)
print("ok")
