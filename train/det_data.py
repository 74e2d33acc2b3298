"""WIDER pool loading, deterministic split, augmentation and anchor matching
for the detector. Images are decoded once and kept in memory."""
import hashlib
import os

import numpy as np
import torch
from PIL import Image

from det_model import VARIANCE

ROOT = "/work/shared/data/wider"
SPLIT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "split")
DAS_SIZES = (16, 32, 64, 128, 256)
MIN_TRAIN_FACE = 10.0   # faces smaller than this at detector input: ignored
ZOOM_MIN_FACE = 24.0    # --zoom: faces this large (sqrt area, image px) and up
ZOOM_SIZES = (64.0, 288.0)   # --zoom: their size in the crop, log-uniform
FLIP_LDM = [2, 3, 0, 1, 4, 5, 8, 9, 6, 7]   # swap eyes and mouth corners


def parse_labels(path):
    """-> list of (relpath, w, h, boxes (n,4) xywh, ldm (n,10) with -1 unknown)."""
    out = []
    cur = None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line[1:].split()
                if len(parts) != 3:
                    raise ValueError("%s:%d: bad image line" % (path, lineno))
                cur = [parts[0], int(parts[1]), int(parts[2]), [], []]
                out.append(cur)
                continue
            v = [float(t) for t in line.split()]
            if cur is None or len(v) not in (4, 14):
                raise ValueError("%s:%d: bad face line" % (path, lineno))
            cur[3].append(v[:4])
            cur[4].append(v[4:] if len(v) == 14 else [-1.0] * 10)
    return [(p, w, h, np.array(b, np.float32).reshape(-1, 4),
             np.array(l, np.float32).reshape(-1, 10)) for p, w, h, b, l in out]


def is_val(relpath):
    """Deterministic 20% validation split by image (md5 of the path)."""
    return hashlib.md5(relpath.encode()).digest()[0] % 5 == 0


def write_split(entries):
    os.makedirs(SPLIT_DIR, exist_ok=True)
    for name, want in (("wider_train.txt", False), ("wider_val.txt", True)):
        with open(os.path.join(SPLIT_DIR, name), "w") as f:
            for e in entries:
                if is_val(e[0]) == want:
                    f.write(e[0] + "\n")


def load_images(entries, root=ROOT):
    return [np.asarray(Image.open(os.path.join(root, "images", e[0])).convert("RGB"))
            for e in entries]


def _crop_resize(img, x0, y0, side, scale, out):
    """Square window (x0, y0, side) of img scaled by `scale` into out
    (out x out), outside filled grey. Antialiased via PIL resize."""
    h, w = img.shape[:2]
    canvas = np.full((out, out, 3), 127, np.uint8)
    cx0, cy0 = max(0, int(np.ceil(x0))), max(0, int(np.ceil(y0)))
    cx1, cy1 = min(w, int(np.ceil(x0 + side))), min(h, int(np.ceil(y0 + side)))
    if cx1 <= cx0 or cy1 <= cy0:
        return canvas
    px0, py0 = max(0, int(round((cx0 - x0) * scale))), max(0, int(round((cy0 - y0) * scale)))
    pw = max(1, int(round((cx1 - cx0) * scale)))
    ph = max(1, int(round((cy1 - cy0) * scale)))
    crop = np.asarray(Image.fromarray(img[cy0:cy1, cx0:cx1]).resize((pw, ph), Image.BILINEAR))
    pw, ph = min(pw, out - px0), min(ph, out - py0)
    if pw > 0 and ph > 0:
        canvas[py0:py0 + ph, px0:px0 + pw] = crop[:ph, :pw]
    return canvas


def _crop_around(box, size, target, out, rng):
    """A crop that scales a face of `size` px to `target` px: -> (scale, side,
    x0, y0), a random square window of `side` image pixels that holds the face
    box (or, when the face is larger, lies inside it)."""
    scale = float(np.clip(target / size, 0.2, 4.0))
    side = out / scale
    bx, by, bw, bh = box
    lo_x, hi_x = bx + bw - side, bx
    lo_y, hi_y = by + bh - side, by
    return (scale, side, rng.uniform(min(lo_x, hi_x), max(lo_x, hi_x)),
            rng.uniform(min(lo_y, hi_y), max(lo_y, hi_y)))


def augment(img, boxes, ldm, rng, out=320, zoom=0.0):
    """Data-anchor-sampling or random square crop, flip (jitter: jitter()).
    boxes xywh in image pixels -> (image out x out, boxes xyxy, ldm, ldm_ok).
    zoom: share of crops that instead scale a face of >= ZOOM_MIN_FACE px to
    ZOOM_SIZES (0 draws nothing extra from rng, so older runs replay)."""
    h, w = img.shape[:2]
    sizes = np.sqrt(boxes[:, 2] * boxes[:, 3]) if len(boxes) else np.zeros(0)
    cand = np.nonzero(sizes >= 6)[0]
    big = np.nonzero(sizes >= ZOOM_MIN_FACE)[0]
    if zoom > 0 and len(big) and rng.random() < zoom:
        # Large faces are rare in the pool (~6 % of the faces in training
        # crops are >= 64 px), and boxes on parts of them (a mouth, hair)
        # were among the false positives at >= 64 px: show more of them.
        # Measured (models/README.md): raises recall, not precision.
        i = big[rng.integers(len(big))]
        target = float(np.exp(rng.uniform(*np.log(ZOOM_SIZES))))
        scale, side, x0, y0 = _crop_around(boxes[i], sizes[i], target, out, rng)
    elif len(cand) and rng.random() < 0.6:
        # PyramidBox data-anchor-sampling: rescale a random face to a random
        # anchor size no larger than one step above its own nearest anchor.
        i = cand[rng.integers(len(cand))]
        near = int(np.argmin(np.abs(np.array(DAS_SIZES) - sizes[i])))
        target = DAS_SIZES[rng.integers(0, min(near + 1, len(DAS_SIZES) - 1) + 1)]
        target *= 2 ** rng.uniform(-0.5, 0.5)
        scale, side, x0, y0 = _crop_around(boxes[i], sizes[i], target, out, rng)
    else:
        side = rng.uniform(0.3, 1.0) * max(h, w)
        scale = out / side
        x0 = rng.uniform(min(0, w - side), max(0, w - side))
        y0 = rng.uniform(min(0, h - side), max(0, h - side))
    im = _crop_resize(img, x0, y0, side, scale, out)
    b = boxes.copy()
    b[:, 2:] += b[:, :2]
    b = (b - [x0, y0, x0, y0]) * scale
    lm = ldm.copy()
    ok = lm[:, 0] >= 0
    lm = (lm - np.tile([x0, y0], 5)) * scale
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    keep = (cx >= 0) & (cx < out) & (cy >= 0) & (cy < out)
    b, lm, ok = np.clip(b[keep], 0, out), lm[keep], ok[keep]
    if rng.random() < 0.5:
        im = im[:, ::-1]
        b = np.stack([out - b[:, 2], b[:, 1], out - b[:, 0], b[:, 3]], 1)
        lm = lm[:, FLIP_LDM]
        lm[:, 0::2] = out - lm[:, 0::2]
    return np.ascontiguousarray(im), b.astype(np.float32), lm.astype(np.float32), ok


def jitter(x, rng):
    """Colour jitter on a float (B, 3, H, W) batch in 0..255."""
    b = x.shape[0]
    t = lambda v: torch.from_numpy(v.astype(np.float32))[:, None, None, None]  # noqa: E731
    x = x * t(rng.uniform(0.6, 1.4, b)) + t(rng.uniform(-32, 32, b))  # contrast, brightness
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * t(rng.uniform(0.5, 1.5, b))              # saturation
    return x.clamp_(0, 255)


def iou_matrix(a, b):
    """a (N,4), b (M,4) xyxy -> (N,M)."""
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (aa[:, None] + ab[None, :] - inter + 1e-9)


def encode(anc, boxes, ldm):
    """anc (N,4) cxcywh, boxes (N,4) xyxy, ldm (N,10) -> deltas."""
    v0, v1 = VARIANCE
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    bw = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-3)
    bh = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
    d = np.stack([(cx - anc[:, 0]) / (v0 * anc[:, 2]), (cy - anc[:, 1]) / (v0 * anc[:, 3]),
                  np.log(bw / anc[:, 2]) / v1, np.log(bh / anc[:, 3]) / v1], 1)
    lx = (ldm[:, 0::2] - anc[:, 0:1]) / (v0 * anc[:, 2:3])
    ly = (ldm[:, 1::2] - anc[:, 1:2]) / (v0 * anc[:, 3:4])
    dl = np.stack([lx, ly], 2).reshape(-1, 10)
    return d.astype(np.float32), dl.astype(np.float32)


def match(anc, anc_xyxy, boxes, ldm, ok, pos_iou=0.35, neg_iou=0.3):
    """-> label (N,) 1 face / 0 background / -1 ignored, box deltas, landmark
    deltas, landmark mask."""
    n = len(anc)
    label = np.zeros(n, np.int64)
    tbox = np.zeros((n, 4), np.float32)
    tldm = np.zeros((n, 10), np.float32)
    mldm = np.zeros(n, np.float32)
    if len(boxes) == 0:
        return label, tbox, tldm, mldm
    size = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    big = size >= MIN_TRAIN_FACE
    iou = iou_matrix(anc_xyxy, boxes)
    if (~big).any():
        label[iou[:, ~big].max(1) >= 0.15] = -1
    if not big.any():
        return label, tbox, tldm, mldm
    iou = iou[:, big]
    boxes, ldm, ok = boxes[big], ldm[big], ok[big]
    best_gt = iou.argmax(1)
    best_iou = iou.max(1)
    label[(best_iou >= neg_iou) & (best_iou < pos_iou) & (label == 0)] = -1
    pos = best_iou >= pos_iou
    # every face keeps its best anchor, even between anchor sizes
    ba = iou.argmax(0)
    good = iou[ba, np.arange(len(ba))] >= 0.1
    best_gt[ba[good]] = np.arange(len(ba))[good]
    pos[ba[good]] = True
    label[pos] = 1
    idx = np.nonzero(pos)[0]
    g = best_gt[idx]
    tbox[idx], tldm[idx] = encode(anc[idx], boxes[g], ldm[g])
    mldm[idx] = ok[g].astype(np.float32)
    return label, tbox, tldm, mldm
