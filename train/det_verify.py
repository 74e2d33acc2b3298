"""Second-stage face verifier for the detector's candidates.

Why: on the validation split most of the detector's lost AP on faces >= 32 px
is confident false positives far from any face (bodies, floors, the back of
a head; models/README.md, "Face verifier"). The detector scores a 200 px box
from a stride-32 cell whose receptive field sees only part of it; the
verifier sees the whole candidate, resampled to a fixed size; the two
probabilities are combined as sqrt(p_det * p_verify), and the box moves
where the verifier puts it (src/detect/ac_verify.h).

The crop: a square of side CONTEXT x max(w, h) around the box centre,
sampled into SIDE x SIDE pixels with the warp of src/align/ac_align.c
(bilinear, n x n supersampling when shrinking, black outside the image);
`crop()` is its numpy twin.

Training data come from the detector's own candidates on the training split
(`agecam detect --score 0.02` output, one '# relpath' line per image, as
written by the loop in models/README.md): IoU >= 0.5 with a labelled face is
a face, IoU < 0.3 with every labelled face (tiny ones included) is not,
0.3-0.5 trains only the box refinement (a second head: where the labelled
face lies relative to the candidate, `encode`); the labelled faces
themselves (jittered) are added as faces. Validation-split images are
never read.

    det_verify.py build --candidates A.txt,B.txt --out DATA.npz
    det_verify.py train --data DATA.npz --out DIR [--epochs N]
    det_verify.py teach --data DATA.npz --checkpoints A,B --out T.npz
    det_verify.py train --data DATA.npz --teacher T.npz --kd K --out DIR
    det_verify.py train --data A.npz,B.npz --teacher TA.npz,TB.npz ...
    det_verify.py score --checkpoint CK --candidates C.txt --out C-verified.txt
    det_verify.py export --checkpoint CK --out models/face-verify.acnn [--golden F]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import det_data

HERE = os.path.dirname(os.path.abspath(__file__))
WIDER = det_data.ROOT
SIDE = 32
CONTEXT = 1.5
REG_SCALE = (10.0, 5.0)  # box refinement: centre (crop sides), log size
IGNORE = 255
# ac_detect_settings.refine_max: the refinement moves all the way only faces
# under this many pixels at the network's input (models/README.md, "Face verifier")
REFINE_MAX = 32.0
# ac_detect_settings.refine_large: the larger faces move this share of the way
REFINE_LARGE = 0.5


def load_labels(path):
    """relpath -> labelled boxes (n, 4) xyxy."""
    out = {}
    for rel, _, _, xywh, _ in det_data.parse_labels(path):
        out[rel] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    return out


def load_candidates(path):
    """`agecam detect` output: '# relpath', then 'face i box x0 y0 x1 y1 score s ...'."""
    out, cur = {}, None
    for line in open(path):
        if line.startswith("# "):
            cur = line[2:].strip()
            out[cur] = []
        elif line.startswith("face "):
            t = line.split()
            out[cur].append([float(x) for x in t[3:7]] + [float(t[8])])
    return {k: np.array(v, np.float32).reshape(-1, 5) for k, v in out.items()}


def crop_transform(box):
    """Image -> crop similarity {a, 0, tx, ty} for a box (x0, y0, x1, y1),
    float32 as src/detect/ac_verify.c computes it."""
    f = np.float32
    x0, y0, x1, y1 = (f(v) for v in box[:4])
    s = f(CONTEXT) * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) * f(0.5), (y0 + y1) * f(0.5)
    a = f(SIDE) / s
    return a, -a * (cx - s * f(0.5)), -a * (cy - s * f(0.5))


def crop(img, box):
    """numpy twin of ac_align_warp for the transform of crop_transform."""
    h, w = img.shape[:2]
    a, tx, ty = crop_transform(box)
    f = np.float32
    ia = f(1) / a
    itx, ity = -(ia * tx), -(ia * ty)
    shrink = f(1) / a
    ns = min(int(math.ceil(shrink)) if shrink > 1 else 1, 8)
    sub = (np.arange(ns, dtype=np.float32) + f(0.5)) / f(ns)
    c = (np.arange(SIDE, dtype=np.float32)[:, None] + sub[None, :]).reshape(-1)  # SIDE*ns
    xs = ia * c + itx - f(0.5)
    ys = ia * c + ity - f(0.5)
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    fx, fy = xs - x0, ys - y0
    acc = np.zeros((len(c), len(c), 3), np.float32)
    imgf = img.astype(np.float32)
    for j in (0, 1):
        yy = y0 + j
        wy = fy if j else 1 - fy
        vy = (yy >= 0) & (yy < h) & (wy != 0)
        for i in (0, 1):
            xx = x0 + i
            wx = fx if i else 1 - fx
            vx = (xx >= 0) & (xx < w)
            wgt = wy[:, None] * wx[None, :] * (vy[:, None] & vx[None, :])
            pix = imgf[np.clip(yy, 0, h - 1)][:, np.clip(xx, 0, w - 1)]
            acc += wgt[..., None] * pix
    acc = acc.reshape(SIDE, ns, SIDE, ns, 3).sum((1, 3)) * f(1.0 / (ns * ns)) + f(0.5)
    return np.minimum(acc, f(255)).astype(np.uint8)


def read_image(rel):
    from PIL import Image
    return np.asarray(Image.open(os.path.join(WIDER, "images", rel)).convert("RGB"))


def encode(box, gt):
    """Box refinement target: the labelled face gt relative to candidate box
    (centre offset in crop sides x REG_SCALE[0], log size ratio x REG_SCALE[1])."""
    w, h = box[2] - box[0], box[3] - box[1]
    s = CONTEXT * max(w, h)
    gw, gh = gt[2] - gt[0], gt[3] - gt[1]
    return np.array([((gt[0] + gt[2]) - (box[0] + box[2])) * 0.5 / s * REG_SCALE[0],
                     ((gt[1] + gt[3]) - (box[1] + box[3])) * 0.5 / s * REG_SCALE[0],
                     math.log(gw / w) * REG_SCALE[1], math.log(gh / h) * REG_SCALE[1]], np.float32)


def decode(box, d):
    """Inverse of encode, as src/detect/ac_verify.c applies it (size ratio
    clamped to [1/2, 2])."""
    w, h = box[2] - box[0], box[3] - box[1]
    s = CONTEXT * max(w, h)
    cx = (box[0] + box[2]) * 0.5 + d[0] / REG_SCALE[0] * s
    cy = (box[1] + box[3]) * 0.5 + d[1] / REG_SCALE[0] * s
    lim = math.log(2.0) * REG_SCALE[1]
    nw = w * math.exp(min(max(d[2], -lim), lim) / REG_SCALE[1])
    nh = h * math.exp(min(max(d[3], -lim), lim) / REG_SCALE[1])
    return np.array([cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2], np.float32)


def candidate_label(best_iou, kept_box=False):
    """1 face, 0 not, IGNORE: neither, but the box refinement learns from it.
    kept_box: the detector will not refine this candidate (refine_max), so
    its box is what users get: under IoU 0.5 it is not a face."""
    if best_iou >= 0.5:
        return 1
    return 0 if best_iou < 0.3 or kept_box else IGNORE


def build(a):
    rng = np.random.default_rng(a.seed)
    labels = load_labels(os.path.join(WIDER, "labels.txt"))
    train = set(open(os.path.join(HERE, "split", "wider_train.txt")).read().split())
    cands = [load_candidates(p) for p in a.candidates.split(",")]
    # detector input of each file: only --mid-negative needs it
    sizes = ([tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")] if a.mid_negative
             else [None] * len(cands))
    if len(sizes) != len(cands):
        sys.exit("--sizes: one WxH per --candidates file")
    xs, ys, regs, srcs = [], [], [], []
    for rel in sorted(train):
        per = [(c[rel], sz) for c, sz in zip(cands, sizes) if rel in c]
        if not per:
            continue
        img = read_image(rel)
        gt = labels.get(rel, np.zeros((0, 4), np.float32))
        for c, sz in per:
            in_scale = min(sz[0] / img.shape[1], sz[1] / img.shape[0]) if sz else 0.0
            iou = det_data.iou_matrix(c[:, :4], gt)
            m = iou.max(1) if len(gt) else np.zeros(len(c))
            for k, (box, best) in enumerate(zip(c, m)):
                side = max(box[2] - box[0], box[3] - box[1])
                if side < a.min_size:
                    continue
                # most candidates are low-scored non-faces: keep a share of those
                if best < 0.3 and box[4] < 0.1 and rng.random() > a.keep_low:
                    continue
                xs.append(crop(img, box))
                ys.append(candidate_label(best, side * in_scale >= REFINE_MAX))
                regs.append(encode(box, gt[iou[k].argmax()]) if best >= 0.3 else np.full(4, np.nan, np.float32))
                srcs.append(box[4])
        for g in gt:
            side = max(g[2] - g[0], g[3] - g[1])
            if side < max(a.min_size, 10):
                continue
            # the detector's boxes are not the labeller's: jitter centre and size
            d = rng.normal(0, 0.08, 4) * side
            b = g + d.astype(np.float32)
            if b[2] - b[0] < 4 or b[3] - b[1] < 4:
                continue
            xs.append(crop(img, b))
            ys.append(1)
            regs.append(encode(b, g))
            srcs.append(-1.0)
    x, y = np.stack(xs), np.array(ys, np.uint8)
    np.savez(a.out, x=x, y=y, reg=np.stack(regs), det=np.array(srcs, np.float32))
    print(f"{len(y)} crops, {int((y == 1).sum())} faces, {int((y == 0).sum())} non-faces, "
          f"{int((y == IGNORE).sum())} for box refinement only -> {a.out}")


class Verifier(nn.Module):
    """~0.1 M parameters, ~3.7 M multiply-adds per candidate at width 1;
    width scales every layer's channels (the multiply-adds ~ width^2)."""

    def __init__(self, width=1.0):
        super().__init__()
        c = [3] + [int(round(k * width)) for k in (16, 32, 32, 64, 64)]
        spec = [(c[i], c[i + 1], s) for i, s in enumerate((2, 1, 2, 1, 2))]
        self.width = width
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, s, 1, bias=False) for i, o, s in spec)
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for _, o, _ in spec)
        self.fc1 = nn.Linear(c[-1] * (SIDE // 8) ** 2, int(round(32 * width)))
        self.fc2 = nn.Linear(self.fc1.out_features, 1)
        self.fc_box = nn.Linear(self.fc1.out_features, 4)

    def forward(self, x):
        """(face logit (N,), box refinement (N, 4), see encode)"""
        for c, b in zip(self.convs, self.bns):
            x = F.relu(b(c(x)))
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(h).squeeze(1), self.fc_box(h)


def to_tensor(x):
    return (torch.from_numpy(x).permute(0, 3, 1, 2).float() - 127.5) / 127.5


def augment(x, gen):
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    gain = 0.7 + 0.6 * torch.rand(len(x), 1, 1, 1, generator=gen)
    gray = torch.rand(len(x), generator=gen) < 0.1
    x = torch.where(gray[:, None, None, None], x.mean(1, keepdim=True).expand_as(x), x)
    return ((x + 1) * gain - 1).clamp(-1, 1), flip


def face_targets(y, tp=None, kd=0.0):
    """The face target of each crop: its label (1 face, else 0), or, when
    distilling, (1 - kd) x label + kd x the teachers' mean probability tp
    (teach()). IGNORE crops' targets are not used (their weight is 0)."""
    t = (y == 1).float()
    return t if tp is None else (1 - kd) * t + kd * tp


def load_data(data, teacher=None):
    """Crops, labels, box targets and teachers' probabilities (or None) of
    one or more build() outputs, comma-separated, concatenated in order;
    teacher lists one teach() output per data file."""
    paths = data.split(",")
    tpaths = teacher.split(",") if teacher else []
    if tpaths and len(tpaths) != len(paths):
        sys.exit(f"--teacher: one teach() output per --data file ({len(paths)}), not {len(tpaths)}")
    xs, ys, regs, tps = [], [], [], []
    for k, path in enumerate(paths):
        d = np.load(path)
        xs.append(d["x"])
        ys.append(d["y"])
        regs.append(d["reg"])
        if tpaths:
            tps.append(np.load(tpaths[k])["p"])
            if len(tps[-1]) != len(ys[-1]):
                sys.exit(f"{tpaths[k]}: {len(tps[-1])} crops, {path}: {len(ys[-1])}")
    cat = (lambda v: v[0]) if len(paths) == 1 else np.concatenate
    y = torch.from_numpy(cat(ys).astype(np.float32))
    tp = torch.from_numpy(cat(tps)) if tps else None
    return cat(xs), y, torch.from_numpy(cat(regs)), tp


def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    x, y, reg, tp = load_data(a.data, a.teacher)
    soft = face_targets(y, tp, a.kd)
    os.makedirs(a.out, exist_ok=True)
    net = Verifier(a.width).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=5e-4)
    steps = a.epochs * math.ceil(len(y) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=steps, pct_start=0.1)
    pos_w = float((y == 0).sum() / max(1, (y == 1).sum()))
    flip_reg = torch.tensor([-1.0, 1.0, 1.0, 1.0])
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    for ep in range(a.epochs):
        net.train()
        t0, tot, n = time.time(), 0.0, 0
        perm = torch.randperm(len(y), generator=gen)
        for k in range(0, len(y), a.batch):
            idx = perm[k:k + a.batch]
            xb, flip = augment(to_tensor(x[idx.numpy()]), gen)
            xb = xb.contiguous(memory_format=torch.channels_last)
            yb, rb = y[idx], reg[idx]
            rb = torch.where(flip[:, None], rb * flip_reg, rb)  # mirrored crop: mirrored offset
            logit, box = net(xb)
            # classes weighted equally: non-faces outnumber faces several times
            w = torch.where(yb == 1, torch.tensor(pos_w ** 0.5), torch.tensor(pos_w ** -0.5))
            w = torch.where(yb == IGNORE, torch.tensor(0.0), w)
            loss = F.binary_cross_entropy_with_logits(logit, soft[idx], weight=w, reduction="sum") / len(idx)
            has = ~torch.isnan(rb[:, 0])
            if has.any():
                loss = loss + a.box_weight * F.smooth_l1_loss(box[has], rb[has], reduction="sum") / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
            n += len(idx)
        rec = {"epoch": ep, "loss": tot / n, "seconds": round(time.time() - t0, 1)}
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        torch.save({"model": net.state_dict(), "epoch": ep, "width": a.width}, os.path.join(a.out, "last.pt"))


def load_net(path):
    ck = torch.load(path, map_location="cpu")
    net = Verifier(ck.get("width", 1.0))
    net.load_state_dict(ck["model"])
    return net.eval()


@torch.no_grad()
def verify(net, img, boxes):
    """(probabilities (N,), refined boxes (N, 4)) for candidate boxes."""
    if len(boxes) == 0:
        return np.zeros(0, np.float32), np.zeros((0, 4), np.float32)
    logit, d = net(to_tensor(np.stack([crop(img, b) for b in boxes])))
    return torch.sigmoid(logit).numpy(), np.stack([decode(b, dd) for b, dd in zip(boxes, d.numpy())])


def rescore(c, p, refined, w, h, thr, nms_thr, in_scale=1.0, refine_max=REFINE_MAX,
            refine_large=REFINE_LARGE):
    """As ac_detect applies the verifier to candidates c (N, 5): new score
    sqrt(det * p), refined boxes where the candidate's longest side times
    in_scale (the network's input pixels per image pixel) is under
    refine_max, elsewhere refine_large of the way from the candidate's box
    to the refined one, clipped to the image, kept at >= thr, then NMS
    again -> (boxes (M, 4), scores (M,)) sorted by score."""
    from det_eval import nms
    s = np.sqrt(c[:, 4] * p)
    side = np.maximum(c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]) * in_scale
    k = np.float32(refine_large)
    large = c[:, :4] + k * (refined - c[:, :4])
    b = np.where((side < refine_max)[:, None], refined, large).astype(np.float32)
    b[:, 0] = np.maximum(b[:, 0], 0)
    b[:, 1] = np.maximum(b[:, 1], 0)
    b[:, 2] = np.minimum(b[:, 2], w)
    b[:, 3] = np.minimum(b[:, 3], h)
    ok = (s >= thr) & (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, s = b[ok], s[ok]
    keep = nms(b, s, nms_thr) if len(s) else np.zeros(0, np.int64)
    return b[keep], s[keep]


def score(a):
    """Writes the candidates as the C detector with this verifier would
    return them (same format as `agecam detect`, boxes and scores only)."""
    torch.set_num_threads(a.threads)
    net = load_net(a.checkpoint)
    cands = load_candidates(a.candidates)
    with open(a.out, "w") as out:
        for rel, c in cands.items():
            out.write(f"# {rel}\n")
            if len(c) == 0:
                continue
            img = read_image(rel)
            p, refined = verify(net, img, c)
            h, w = img.shape[:2]
            in_scale = min(a.size[0] / w, a.size[1] / h)
            b, s = rescore(c, p, refined, w, h, a.score, a.nms, in_scale, a.refine_max, a.refine_large)
            for i in range(len(s)):
                out.write(f"face {i} box {b[i, 0]:.1f} {b[i, 1]:.1f} {b[i, 2]:.1f} {b[i, 3]:.1f} score {s[i]:.4f}\n")


@torch.no_grad()
def teach(a):
    """The mean face probability of one or more verifiers on every crop of
    DATA, each the average of the crop and its mirror (as the C detector's
    mirror look): soft targets for train --teacher."""
    torch.set_num_threads(a.threads)
    x = np.load(a.data)["x"]
    nets = [load_net(c) for c in a.checkpoints.split(",")]
    p = np.zeros(len(x), np.float32)
    for k in range(0, len(x), 2048):
        xb = to_tensor(x[k:k + 2048])
        xm = xb.flip(3)
        for net in nets:
            p[k:k + 2048] += 0.5 * (torch.sigmoid(net(xb)[0]) + torch.sigmoid(net(xm)[0])).numpy()
    p /= len(nets)
    np.savez(a.out, p=p)
    print(f"{a.out}: {len(p)} crops, teachers {a.checkpoints}")


def export(a):
    sys.path.insert(0, HERE)
    from acnn import KIND_VERIFIER, AcnnWriter
    net = load_net(a.checkpoint)
    w = AcnnWriter(SIDE, SIDE, 3, mean=(127.5,) * 3, scale=(1 / 127.5,) * 3, num_classes=1, kind=KIND_VERIFIER)
    t = 0
    for c, b in zip(net.convs, net.bns):
        t = w.conv(t, c, b, act="relu")
    h = w.fc(t, net.fc1, act="relu")
    w.output(w.fc(h, net.fc2, act="sigmoid"), "face_prob")
    w.output(w.fc(h, net.fc_box), "box")  # see encode()
    w.meta("arch", f"face-verify side={SIDE} context={CONTEXT} width={net.width}")
    w.meta("checkpoint", os.path.basename(a.checkpoint))
    w.save(a.out)
    print(f"{a.out}: {sum(p.numel() for p in net.parameters())} parameters")
    if a.golden:
        # a synthetic image and three boxes (one partly outside): crops and
        # probabilities for tests/detect/test_verify.c
        rng = np.random.default_rng(5)
        img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        boxes = np.array([[10, 8, 50, 52], [40.5, 20.25, 79.5, 58], [-6, -4, 14, 20]], np.float32)
        crops = np.stack([crop(img, b) for b in boxes])
        p, refined = verify(net, img, boxes)
        with open(a.golden, "wb") as f:
            f.write(img.tobytes() + boxes.tobytes() + crops.tobytes() + p.astype(np.float32).tobytes()
                    + refined.astype(np.float32).tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--candidates", required=True, help="comma-separated agecam detect outputs")
    b.add_argument("--out", required=True)
    b.add_argument("--sizes", default="640x640,320x240",
                   help="the detector input WxH of each candidates file, in the same order")
    b.add_argument("--mid-negative", action="store_true",
                   help="candidates of IoU 0.3-0.5 the detector keeps unrefined (refine_max) are non-faces")
    b.add_argument("--min-size", type=float, default=8)
    b.add_argument("--keep-low", type=float, default=0.15, help="share of non-faces scored < 0.1 kept")
    b.add_argument("--seed", type=int, default=1)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, help="build() output(s), comma-separated")
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--box-weight", type=float, default=1.0, help="weight of the box refinement loss")
    t.add_argument("--width", type=float, default=1.0, help="channel multiplier of every layer")
    t.add_argument("--teacher", help="teach() output(s) for DATA, one per file: distil its probabilities")
    t.add_argument("--kd", type=float, default=0.5, help="weight of the teacher in the face target")
    h = sub.add_parser("teach")
    h.add_argument("--data", required=True)
    h.add_argument("--checkpoints", required=True, help="comma-separated verifier checkpoints")
    h.add_argument("--out", required=True)
    h.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("score")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--candidates", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--score", type=float, default=0.02)
    s.add_argument("--nms", type=float, default=0.4)
    s.add_argument("--size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(640, 640),
                   help="the detector input WxH the candidates came from")
    s.add_argument("--refine-max", type=float, default=REFINE_MAX)
    s.add_argument("--refine-large", type=float, default=REFINE_LARGE)
    e = sub.add_parser("export")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--golden")
    a = ap.parse_args()
    dict(build=build, train=train, teach=teach, score=score, export=export)[a.cmd](a)


if __name__ == "__main__":
    main()
