"""Python decoding, NMS and size-bucket AP for the detector (the same rules
as `agecam eval-det`, used for the per-epoch validation estimate).

AP rules (COCO-style size ranges, IoU 0.5): for a bucket [lo, hi) of face
size max(w, h) in original image pixels, ground truth outside the bucket is
ignored; detections are taken in score order and matched to the unmatched
in-bucket face of highest IoU >= 0.5 (true positive), else to any ignored
face with IoU >= 0.5 (ignored), else they are false positives only if their
own size lies in the bucket. AP is the area under the all-point
interpolated precision/recall curve (VOC 2010+).
"""
import numpy as np
import torch

from det_model import VARIANCE, anchors, flatten_outputs

BUCKETS = ((64, 1e9, ">=64"), (32, 64, "32-64"), (16, 32, "16-32"))


def decode_boxes(box, anc):
    """SSD box deltas (N, 4) on anchors (N, 4) cxcywh -> boxes (N, 4) xyxy."""
    v0, v1 = VARIANCE
    cx = anc[:, 0] + box[:, 0] * v0 * anc[:, 2]
    cy = anc[:, 1] + box[:, 1] * v0 * anc[:, 3]
    w = anc[:, 2] * torch.exp(box[:, 2] * v1)
    h = anc[:, 3] * torch.exp(box[:, 3] * v1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def decode(cls, box, ldm, anc):
    v0 = VARIANCE[0]
    score = torch.softmax(cls, -1)[..., 1]
    b = decode_boxes(box, anc)
    lx = anc[:, 0:1] + ldm[:, 0::2] * v0 * anc[:, 2:3]
    ly = anc[:, 1:2] + ldm[:, 1::2] * v0 * anc[:, 3:4]
    lm = torch.stack([lx, ly], 2).reshape(-1, 10)
    return score, b, lm


def nms(boxes, scores, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        ix0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        iy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        ix1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        iy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= thr]
    return np.array(keep, np.int64)


def letterbox(img, longest):
    """Scale so the longest side is `longest`, pad right/bottom to a multiple
    of 32 -> (float HxWx3, scale)."""
    from PIL import Image
    h, w = img.shape[:2]
    s = longest / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    im = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR), np.float32)
    ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
    out = np.full((ph, pw, 3), 127.5, np.float32)  # normalises to 0, as the C letterbox
    out[:nh, :nw] = im
    return out, s


def unmirror(b, lm, width):
    """Boxes (N, 4) and landmarks (N, 10) found in the mirrored input of
    this width, mapped back; left and right eyes and mouth corners trade
    places (the twin of ac_detpost_unmirror)."""
    b = np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], 1)
    lm = lm.reshape(-1, 5, 2).copy()
    lm[:, :, 0] = width - lm[:, :, 0]
    lm = lm[:, [1, 0, 2, 4, 3]].reshape(-1, 10)
    return b, lm


@torch.no_grad()
def candidates(model, img, longest=640, score_thr=0.02, mean=127.5, scale=1 / 128.0, flip=False):
    """Decoded faces scoring >= score_thr, before NMS, in image pixels:
    (scores, boxes, landmarks). flip: also run on the mirrored input tensor
    (as `agecam --flip`) and return both passes' candidates."""
    im, s = letterbox(img, longest)
    x = torch.from_numpy((im - mean) * scale).permute(2, 0, 1)[None]
    anc = anchors(im.shape[0], im.shape[1])
    parts = []
    for mirrored in (False, True) if flip else (False,):
        cls, box, ldm = flatten_outputs(model(torch.flip(x, [3]) if mirrored else x))
        sc, b, lm = (t.numpy() for t in decode(cls[0], box[0], ldm[0], anc))
        if mirrored:
            b, lm = unmirror(b, lm, im.shape[1])
        parts.append((sc, b, lm))
    sc, b, lm = (np.concatenate(p) for p in zip(*parts))
    m = sc >= score_thr
    return sc[m], b[m] / s, lm[m] / s


def merge(parts, nms_thr=0.4):
    """One NMS over several candidate sets (passes or input sizes), as
    ac_detect merges its passes: the 2000 best, at most 750 kept."""
    sc, b, lm = (np.concatenate(p) for p in zip(*parts))
    top = np.argsort(-sc)[:2000]
    sc, b, lm = sc[top], b[top], lm[top]
    k = nms(b, sc, nms_thr)[:750]
    return b[k], sc[k], lm[k]


def detect(model, img, longest=640, score_thr=0.02, nms_thr=0.4, mean=127.5, scale=1 / 128.0,
           flip=False):
    """flip: also run on the mirrored input tensor (as `agecam --flip`) and
    merge both passes' candidates in one NMS."""
    return merge([candidates(model, img, longest, score_thr, mean, scale, flip)], nms_thr)


def iou_one(b, gts):
    ix0 = np.maximum(b[0], gts[:, 0])
    iy0 = np.maximum(b[1], gts[:, 1])
    ix1 = np.minimum(b[2], gts[:, 2])
    iy1 = np.minimum(b[3], gts[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    a = (b[2] - b[0]) * (b[3] - b[1])
    ag = (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1])
    return inter / (a + ag - inter + 1e-9)


def bucket_ap(results, lo, hi):
    """results: list of (det boxes xyxy, scores, gt boxes xywh)."""
    recs = []
    npos = 0
    for dets, scores, gt in results:
        g = gt.copy()
        g[:, 2:] += g[:, :2]
        gs = np.maximum(gt[:, 2], gt[:, 3])
        inb = (gs >= lo) & (gs < hi)
        npos += int(inb.sum())
        used = np.zeros(len(g), bool)
        for i in np.argsort(-scores, kind="stable"):
            d = dets[i]
            iou = iou_one(d, g) if len(g) else np.zeros(0)
            cand = np.where(inb & ~used, iou, -1)
            if len(cand) and cand.max() >= 0.5:
                used[int(cand.argmax())] = True
                recs.append((scores[i], 1))
                continue
            if len(iou) and np.where(~inb, iou, -1).max() >= 0.5:
                continue
            ds = max(d[2] - d[0], d[3] - d[1])
            if lo <= ds < hi:
                recs.append((scores[i], 0))
    if npos == 0:
        return float("nan")
    recs.sort(key=lambda r: -r[0])
    tp = np.cumsum([r[1] for r in recs]) if recs else np.zeros(0)
    fp = np.cumsum([1 - r[1] for r in recs]) if recs else np.zeros(0)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0], rec, [1]])
    mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def evaluate(model, entries, images, longest=640, flip=False):
    model.eval()
    results = []
    for e, img in zip(entries, images):
        b, s, _ = detect(model, img, longest, flip=flip)
        results.append((b, s, e[3]))
    return {name: bucket_ap(results, lo, hi) for lo, hi, name in BUCKETS}
