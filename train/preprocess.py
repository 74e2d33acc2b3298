"""Preprocessing shared by training, Python evaluation and the C runtime.

The age net sees the whole aligned face chip (the UTKFace chip frame, which is
the aligned face box expanded 1.2x) resized to the model input with a
separable, antialiased bilinear (triangle) filter in float, then normalised
as (x - MEAN) * SCALE. src/common/ac_resize.c implements the same filter, so
Python and C feed the network the same numbers.
"""
import functools

import numpy as np

MEAN = (127.5, 127.5, 127.5)
SCALE = (1 / 127.5, 1 / 127.5, 1 / 127.5)


@functools.lru_cache(maxsize=64)
def resize_weights(n_in, n_out):
    """Rows: output samples; columns: input samples. Triangle filter whose
    support widens with the downscale factor (antialiasing)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    w = np.zeros((n_out, n_in), dtype=np.float64)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo = max(int(np.floor(center - support)), 0)
        hi = min(int(np.ceil(center + support)), n_in)
        for i in range(lo, hi):
            t = 1.0 - abs((i + 0.5 - center) / support)
            if t > 0:
                w[o, i] = t
        s = w[o].sum()
        if s > 0:
            w[o] /= s
    return w.astype(np.float32)


def resize_float(img, out_h, out_w):
    """img: HxWx3 uint8 -> out_h x out_w x 3 float32 (not rounded)."""
    h, w = img.shape[:2]
    wy = resize_weights(h, out_h)
    wx = resize_weights(w, out_w)
    x = img.astype(np.float32)
    # horizontal pass first, as in C
    tmp = (wx @ x.transpose(1, 0, 2).reshape(w, -1)).reshape(out_w, h, 3).transpose(1, 0, 2)
    return (wy @ np.ascontiguousarray(tmp).reshape(h, -1)).reshape(out_h, out_w, 3)


def normalize(x):
    return (x - np.array(MEAN, np.float32)) * np.array(SCALE, np.float32)
