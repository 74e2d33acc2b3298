"""Writes resize_golden.bin: cases of (in_w, in_h, out_w, out_h, uint8 RGB
input, float32 output of train/preprocess.resize_float). The C test checks
src/common/ac_resize against it, which is what keeps Python evaluation and
the C runtime feeding the network the same numbers."""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "train"))
from preprocess import resize_float  # noqa: E402

rng = np.random.default_rng(7)
cases = [(200, 200, 112, 112), (200, 200, 64, 64), (37, 53, 112, 112), (160, 120, 80, 60),
         (17, 9, 5, 7), (96, 150, 64, 64)]
with open(os.path.join(os.path.dirname(__file__), "resize_golden.bin"), "wb") as f:
    f.write(struct.pack("<I", len(cases)))
    for iw, ih, ow, oh in cases:
        img = rng.integers(0, 256, (ih, iw, 3), dtype=np.uint8)
        out = resize_float(img, oh, ow).astype("<f4")
        f.write(struct.pack("<4I", iw, ih, ow, oh))
        f.write(img.tobytes())
        f.write(out.tobytes())
