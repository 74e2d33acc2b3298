"""det_data.augment --zoom: a zoomed crop holds one of the image's large faces
at a size inside ZOOM_SIZES, with its box and landmarks moved with it; images
without a large face fall back to the plain sampling; zoom 0 draws the same
random numbers as before the option existed. Needs torch (det_data imports it)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_data  # noqa: E402

fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok


img = np.zeros((400, 500, 3), np.uint8)
# a 60x60 face with a bright square marking it, and two small ones
img[100:160, 200:260] = 255
boxes = np.array([[200, 100, 60, 60], [20, 20, 8, 8], [400, 300, 10, 12]], np.float32)
ldm = np.full((3, 10), -1, np.float32)
ldm[0] = [215, 120, 245, 120, 230, 135, 218, 148, 242, 148]
lo, hi = det_data.ZOOM_SIZES
sizes = []
for seed in range(200):
    rng = np.random.default_rng(seed)
    im, b, lm, ok = det_data.augment(img, boxes, ldm, rng, 320, zoom=1.0)
    s = np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
    big = np.nonzero(ok)[0]   # only the large face carries landmarks
    if len(big) != 1:
        check(False, "seed %d: the zoomed face is in the crop" % seed)
        continue
    k = big[0]
    sizes.append(s[k])
    x0, y0, x1, y1 = b[k]
    # box edges may be clipped at the crop border: test the inside only
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    if not (im[cy, cx] > 200).all():
        check(False, "seed %d: the box centre lies on the face's pixels" % seed)
    # landmarks scaled with the box (flip swaps left and right)
    ex = sorted([lm[k, 0], lm[k, 2]])
    if not (x0 - 1 <= ex[0] < ex[1] <= x1 + 1):
        check(False, "seed %d: eye landmarks inside the face box" % seed)
sizes = np.array(sizes)
check(len(sizes) == 200, "every zoomed crop holds the large face")
# unclipped boxes keep their size; clipped ones only shrink
check(sizes.max() <= hi * 1.01 and np.median(sizes) >= lo, "zoomed face size within %g-%g px" % (lo, hi))
check(np.percentile(sizes, 90) > 2 * np.percentile(sizes, 10), "zoomed sizes spread over the range")

# no face of >= ZOOM_MIN_FACE: zoom=1 must still give a valid crop
small = boxes[1:]
for seed in range(20):
    im, b, lm, ok = det_data.augment(img, small, ldm[1:], np.random.default_rng(seed), 320, zoom=1.0)
    if im.shape != (320, 320, 3):
        check(False, "fallback crop shape")

# zoom 0 replays the plain sampling exactly
r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
a = [det_data.augment(img, boxes, ldm, r1, 320) for _ in range(20)]
z = [det_data.augment(img, boxes, ldm, r2, 320, zoom=0.0) for _ in range(20)]
check(all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in zip(a, z)),
      "zoom 0 draws the same crops as no zoom")
check(r1.random() == r2.random(), "zoom 0 leaves the generator where it was")
print("%d failed" % fails)
sys.exit(1 if fails else 0)
