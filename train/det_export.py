"""Export the face detector (train/det_model.py) to .acnn (models/FORMAT.md).

    /usr/bin/python3 train/det_export.py --checkpoint /var/tmp/agecam-train/det/best.pt \
        --size 320x240 --out models/det-320x240.acnn

The input size is fixed per file (the runtime plans its arena for it), so one
file is exported per detector input size; both sides must be multiples of 16.
Outputs: one tensor per pyramid level ("head_s8", "head_s16", "head_s32"),
raw logits/deltas; src/detect does max-in-out, decoding and NMS. The anchor
layout travels in META (det_levels, det_maxout_bg, det_variance) so C never
hard-codes it.
"""
import argparse
import datetime
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acnn  # noqa: E402
import acnn_read  # noqa: E402
import det_model  # noqa: E402
from export import git_commit  # noqa: E402


def convbn(w, x, seq):
    return w.conv(x, seq[0], seq[1], act="relu" if len(seq) == 3 else "none")


def dwsep(w, x, seq):
    return convbn(w, convbn(w, x, seq[0]), seq[1])


def seq_dwsep(w, x, stage):
    for block in stage:
        x = dwsep(w, x, block)
    return x


def cpm(w, x, m):
    a = dwsep(w, x, m.b3)
    mid = dwsep(w, x, m.b5a)
    b = dwsep(w, mid, m.b5b)
    c = dwsep(w, b, m.b7)
    return w.concat(w.concat(a, b), c)


def build_graph(model, in_w, in_h, writer=acnn.AcnnWriter):
    w = writer(in_w, in_h, 3, mean=det_model.MEAN, scale=det_model.SCALE,
               num_classes=1, kind=acnn.KIND_DETECTOR)
    x = convbn(w, 0, model.stem)
    x = seq_dwsep(w, x, model.stage2)
    c3 = seq_dwsep(w, x, model.stage3)
    c4 = seq_dwsep(w, c3, model.stage4)
    c5 = seq_dwsep(w, c4, model.stage5)
    p4 = convbn(w, c4, model.lat4)
    l3 = convbn(w, c3, model.lat3)
    p3 = w.add(l3, w.upsample(p4, factor=2))
    p5 = convbn(w, c5, model.lat5)
    for i, (f, m, head) in enumerate(zip([p3, p4, p5], model.cpm, model.heads)):
        y = w.conv(cpm(w, f, m), head)
        w.output(y, "head_s%d" % det_model.LEVELS[i][0])
    return w


class _ConvOrder(acnn.AcnnWriter):
    """A writer that also notes which (conv, bn) modules became CONV ops."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.convs = []

    def conv(self, x, conv, bn=None, act="none", alpha=0.0):
        self.convs.append((conv, bn))
        return super().conv(x, conv, bn, act, alpha)


def load_acnn(model, path):
    """The inverse of the export: model's weights from an exported detector
    file, for fine-tuning a shipped detector whose checkpoint is gone. The
    file holds BN folded into the convs, so each BN becomes an identity
    (running mean 0, variance 1 - eps, gamma 1) carrying the folded bias as
    beta; train such a model with its BN layers in eval mode (frozen
    statistics), as det_train.py --init does."""
    f = acnn_read.read(path)
    if f["meta"].get("arch") != "pyramidbox-lite":
        raise acnn_read.AcnnError(f"{path}: not a detector file (arch {f['meta'].get('arch')!r})")
    order = build_graph(model, f["info"][0], f["info"][1], writer=_ConvOrder).convs
    recs = [op for op in f["ops"] if op["op"] == acnn.OP["conv"]]
    if len(recs) != len(order):
        raise acnn_read.AcnnError(f"{path}: {len(recs)} convs, this network has {len(order)}")
    with torch.no_grad():
        for i, ((conv, bn), op) in enumerate(zip(order, recs)):
            w, b = acnn_read.conv_weights(f, op)
            if w.shape != tuple(conv.weight.shape) or (op["sh"], op["sw"]) != tuple(conv.stride):
                raise acnn_read.AcnnError(f"{path}: conv {i} is {w.shape}, the network's "
                                          f"{tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w))
            if bn is None:
                conv.bias.copy_(torch.from_numpy(b))
            else:
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(b))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)


def detector_from_acnn(path):
    """A Detector of the widths an exported file records (files from before
    widths were recorded have det_model's defaults), loaded from it."""
    meta = acnn_read.read(path)["meta"]
    width = meta.get("det_width")
    model = det_model.Detector(tuple(int(v) for v in width.split(",")) if width
                               else det_model.WIDTH, int(meta.get("det_fpn", det_model.FPN)))
    load_acnn(model, path)
    return model


def write_golden(path, model, data, in_w, in_h, seed=7):
    """Inputs: two seeded uniform tensors and a gradient/checker image;
    reference: every head output, NHWC, concatenated in OUTS order."""
    rng = np.random.default_rng(seed)
    cases = [rng.uniform(-1, 1, (in_h, in_w, 3)).astype(np.float32) for _ in range(2)]
    yy, xx = np.mgrid[0:in_h, 0:in_w].astype(np.float32)
    img = np.stack([255 * xx / (in_w - 1), 255 * yy / (in_h - 1),
                    255.0 * (((xx // 8) + (yy // 8)) % 2)], -1)
    cases.append(((img - det_model.MEAN[0]) * det_model.SCALE[0]).astype(np.float32))
    outs = []
    with torch.no_grad():
        for c in cases:
            ys = model(torch.from_numpy(c).permute(2, 0, 1)[None].contiguous())
            outs.append(np.concatenate([y[0].permute(1, 2, 0).reshape(-1).numpy() for y in ys]))
    crc = struct.unpack_from("<I", data, 24)[0]
    with open(path, "wb") as f:
        f.write(b"ACGOLD1\0" + struct.pack("<IIIIII", crc, len(cases), in_h, in_w, 3, outs[0].size))
        for c, o in zip(cases, outs):
            f.write(c.astype("<f4").tobytes())
            f.write(o.astype("<f4").tobytes())


def parse_size(s):
    a, b = s.lower().split("x")
    return int(a), int(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--size", default="320x240", help="input WxH, multiples of 32")
    ap.add_argument("--out", required=True)
    ap.add_argument("--golden", help="also write golden vectors (tests/nn/test_nn_golden.c format)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    in_w, in_h = parse_size(a.size)
    if in_w % 16 or in_h % 16:
        sys.exit("--size: both sides must be multiples of 16 (LFPN 2x upsampling)")
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = det_model.from_checkpoint(ck)
    model.load_state_dict(ck["model"])
    model.eval()
    w = build_graph(model, in_w, in_h)
    levels = ";".join("%d:%s" % (s, ",".join(str(x) for x in sizes))
                      for s, sizes in det_model.LEVELS)
    meta = dict(arch="pyramidbox-lite", det_levels=levels, det_maxout_bg=det_model.MAXOUT_BG,
                det_variance="%g,%g" % det_model.VARIANCE, init="checkpoint",
                det_width=",".join(map(str, model.width)), det_fpn=model.fpn,
                checkpoint=os.path.abspath(a.checkpoint), epochs=ck.get("epoch", -1) + 1,
                export_date=datetime.datetime.now(datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"),
                git_commit=git_commit(),
                params_torch=sum(p.numel() for p in model.parameters()),
                macs=det_model.count_macs(model, in_h, in_w))
    for k, v in sorted((ck.get("aps") or {}).items()):
        meta["val_ap_" + k.replace(">=", "ge").replace("-", "_")] = "%.4f" % v
    for k, v in meta.items():
        w.meta(k, v)
    data = w.save(a.out)
    assert w.params == meta["params_torch"], (w.params, meta["params_torch"])
    if a.golden:
        write_golden(a.golden, model, data, in_w, in_h)
    print("%s: %d bytes, %d params, %.1f M MACs, %d ops" % (
        a.out, len(data), w.params, meta["macs"] / 1e6, len(w.ops)))


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
