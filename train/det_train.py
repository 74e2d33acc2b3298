"""Train the face detector on the WIDER pool (train/split/wider_train.txt).

Resumable: a checkpoint is written after every epoch to --out (last.pt, and
best.pt by validation AP for faces >= 32 px). Example (every run: models/README.md):
  nice -n 10 /usr/bin/python3 train/det_train.py --epochs 24 \
      --out /var/tmp/agecam-train/det
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import det_data  # noqa: E402
import det_eval  # noqa: E402
from det_export import detector_from_acnn  # noqa: E402
from det_model import FPN, MEAN, SCALE, WIDTH, Detector, anchors, flatten_outputs, widen  # noqa: E402


def make_batch(entries, images, idx, rng, size, anc, anc_xyxy, zoom=0.0):
    xs, labels, tbs, tls, mls = [], [], [], [], []
    for i in idx:
        e = entries[i]
        im, b, lm, ok = det_data.augment(images[i], e[3], e[4], rng, size, zoom)
        lab, tb, tl, ml = det_data.match(anc, anc_xyxy, b, lm, ok)
        xs.append(im)
        labels.append(lab)
        tbs.append(tb)
        tls.append(tl)
        mls.append(ml)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous().float()
    x = (det_data.jitter(x, rng) - MEAN[0]) * SCALE[0]
    return (x, torch.from_numpy(np.stack(labels)), torch.from_numpy(np.stack(tbs)),
            torch.from_numpy(np.stack(tls)), torch.from_numpy(np.stack(mls)))


def delta_iou(pred, target):
    """IoU of the boxes two delta vectors (N, 4) decode to from the same
    anchor. IoU does not change when both boxes are scaled by the anchor's
    size, so a unit anchor at the origin stands in for it."""
    unit = torch.tensor([[0.0, 0.0, 1.0, 1.0]]).expand(len(pred), 4)
    p, t = det_eval.decode_boxes(pred, unit), det_eval.decode_boxes(target, unit)
    iw = (torch.minimum(p[:, 2], t[:, 2]) - torch.maximum(p[:, 0], t[:, 0])).clamp(min=0)
    ih = (torch.minimum(p[:, 3], t[:, 3]) - torch.maximum(p[:, 1], t[:, 1])).clamp(min=0)
    inter = iw * ih
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    return inter / (area(p) + area(t) - inter + 1e-9)


def loss_fn(outs, label, tbox, tldm, mldm, neg_ratio=3, iou_cls=0.0):
    """Face/background loss is a cross-entropy against a face target t: 1 on
    positive anchors, 0 elsewhere (ignored anchors are never selected).
    iou_cls > 0: a positive's t is min(1, IoU / iou_cls) of its predicted box
    with its face (IoU-aware scores: a box that sits badly on a face, a
    second box or one on part of it, learns to score lower than the
    well-placed one, which is what AP and NMS rank by)."""
    cls, box, ldm = flatten_outputs(outs)
    pos = label == 1
    npos = pos.sum(1)
    t = pos.float()
    if iou_cls > 0 and pos.any():
        with torch.no_grad():
            t[pos] = (delta_iou(box[pos].float(), tbox[pos]) / iou_cls).clamp(max=1.0)
    logp = F.log_softmax(cls, -1)
    ce = -(t * logp[..., 1] + (1 - t) * logp[..., 0])
    # online hard negative mining: per image the neg_ratio*npos hardest
    neg_loss = torch.where(label == 0, ce.detach(), torch.full_like(ce, -1.0))
    order = neg_loss.argsort(1, descending=True)
    rank = order.argsort(1)
    k = (npos * neg_ratio).clamp(min=16)[:, None]
    neg = (rank < k) & (label == 0)
    n = max(1, int(npos.sum()))
    l_cls = ce[pos | neg].sum() / n
    l_box = F.smooth_l1_loss(box[pos], tbox[pos], reduction="sum") / n
    lm = pos & (mldm > 0)
    l_ldm = F.smooth_l1_loss(ldm[lm], tldm[lm], reduction="sum") / max(1, int(lm.sum()))
    return l_cls, l_box, l_ldm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--val-images", type=int, default=250)
    ap.add_argument("--val-every", type=int, default=1, help="validate every N epochs (and the last)")
    ap.add_argument("--val-longest", type=int, default=640)
    ap.add_argument("--out", default="/var/tmp/agecam-train/det")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--zoom", type=float, default=0.0,
                    help="share of training crops built around one large face scaled to "
                    "64-288 px (det_data.augment); 0 keeps the plain sampling")
    ap.add_argument("--iou-cls", type=float, default=0.0,
                    help="IoU-aware face scores: a positive anchor's target is min(1, IoU / this) of "
                    "its predicted box (e.g. 0.75); 0 keeps hard labels")
    ap.add_argument("--init", help="start from an exported detector (.acnn, e.g. models/"
                    "det-640x640.acnn) with a fresh optimizer and schedule; its BN layers stay "
                    "frozen (the file holds them folded); ignored when --out holds last.pt. "
                    "When --width/--fpn are wider than the file, the file's network is grown "
                    "into the wider one with its outputs unchanged (det_model.widen)")
    ap.add_argument("--width", help="channels of stem, s4, s8, s16, s32 stages (default: the "
                    "--init file's, else %s)" % ",".join(map(str, WIDTH)))
    ap.add_argument("--fpn", type=int, help="LFPN / context-module channels (default: the --init "
                    "file's, else %d)" % FPN)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    entries = det_data.parse_labels(os.path.join(det_data.ROOT, "labels.txt"))
    det_data.write_split(entries)
    train = [e for e in entries if not det_data.is_val(e[0])]
    val = [e for e in entries if det_data.is_val(e[0])][:args.val_images]
    t0 = time.time()
    train_img = det_data.load_images(train)
    val_img = det_data.load_images(val)
    print("loaded %d train / %d val images in %.0f s" % (len(train), len(val), time.time() - t0),
          flush=True)

    last = os.path.join(args.out, "last.pt")
    ck = torch.load(last) if os.path.exists(last) else None
    src = detector_from_acnn(args.init) if ck is None and args.init else None
    if ck is not None:  # a run keeps the widths it started with
        width, args.fpn = tuple(ck.get("width", WIDTH)), ck.get("fpn", FPN)
    else:
        width = tuple(int(v) for v in args.width.split(",")) if args.width else (
            src.width if src is not None else WIDTH)
        if args.fpn is None:
            args.fpn = src.fpn if src is not None else FPN
    model = Detector(width, args.fpn)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    start, best, frozen_bn = 0, -1.0, False
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start, best = ck["epoch"] + 1, ck["best"]
        frozen_bn = ck.get("frozen_bn", False)
        print("resumed at epoch %d (best %.4f)" % (start, best), flush=True)
    elif src is not None:
        widen(src, model)
        frozen_bn = True
        print("initialised from %s, widths %s/%d -> %s/%d (BN frozen)"
              % (args.init, src.width, src.fpn, model.width, model.fpn), flush=True)

    anc = anchors(args.size, args.size).numpy()
    anc_xyxy = np.concatenate([anc[:, :2] - anc[:, 2:] / 2, anc[:, :2] + anc[:, 2:] / 2], 1)
    steps = len(train) // args.batch
    total = steps * args.epochs
    warm = min(300, total // 10)
    for epoch in range(start, args.epochs):
        rng = np.random.default_rng(args.seed * 1000 + epoch)
        perm = rng.permutation(len(train))
        model.train()
        if frozen_bn:
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        t0 = time.time()
        acc = np.zeros(3)
        for s in range(steps):
            it = epoch * steps + s
            lr = args.lr * (min(1.0, (it + 1) / warm) if it < warm
                            else 0.5 * (1 + math.cos(math.pi * (it - warm) / (total - warm))))
            for g in opt.param_groups:
                g["lr"] = lr
            batch = make_batch(train, train_img, perm[s * args.batch:(s + 1) * args.batch],
                               rng, args.size, anc, anc_xyxy, args.zoom)
            l_cls, l_box, l_ldm = loss_fn(model(batch[0]), *batch[1:], iou_cls=args.iou_cls)
            loss = l_cls + 2.0 * l_box + 0.5 * l_ldm
            opt.zero_grad()
            loss.backward()
            opt.step()
            acc += [l_cls.item(), l_box.item(), l_ldm.item()]
            if s % 50 == 0:
                print("  ep %d step %d/%d lr %.5f cls %.3f box %.3f ldm %.3f"
                      % (epoch, s, steps, lr, *(acc / (s + 1))), flush=True)
        tt = time.time() - t0
        t1 = time.time()
        if (epoch + 1) % args.val_every and epoch + 1 != args.epochs:
            aps = {">=64": float("nan"), "32-64": float("nan"), "16-32": float("nan")}
            key = -1.0
        else:
            aps = det_eval.evaluate(model, val, val_img, longest=args.val_longest)
            key = aps[">=64"] * 0.5 + aps["32-64"] * 0.5
        print("epoch %d train %.0fs loss cls %.3f box %.3f ldm %.3f | val AP >=64 %.3f "
              "32-64 %.3f 16-32 %.3f (%.0fs)"
              % (epoch, tt, *(acc / steps), aps[">=64"], aps["32-64"], aps["16-32"],
                 time.time() - t1), flush=True)
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
              "best": max(best, key), "aps": aps,
              "frozen_bn": frozen_bn, "width": model.width, "fpn": model.fpn}
        torch.save(ck, last + ".tmp")
        os.replace(last + ".tmp", last)
        if key > best:
            best = key
            torch.save(ck, os.path.join(args.out, "best.pt"))
        torch.save(ck, os.path.join(args.out, "epoch%02d.pt" % epoch))


if __name__ == "__main__":
    main()
