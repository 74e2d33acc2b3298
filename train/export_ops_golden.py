"""Golden test for the AcnnWriter itself: a small PyTorch graph that uses
every op the writer offers (grouped/strided/padded conv + BN, depthwise,
max pool, nearest upsample by factor and to a size, concat, add, SE, GAP,
FC on a spatial input, softmax, activations), exported with AcnnWriter and
paired with PyTorch's outputs. The C test (tests/nn, nn_golden_ops) loads
both, so a writer bug (e.g. a wrong weight layout) fails CI without torch.

    /usr/bin/python3 train/export_ops_golden.py   # writes tests/golden/ops.{acnn,bin}
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acnn  # noqa: E402
import smlf  # noqa: E402

H, W, C = 11, 13, 5


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(C, 12, 3, 2, 1, bias=True)
        self.bn1 = nn.BatchNorm2d(12)
        self.c2 = nn.Conv2d(12, 18, (3, 1), 1, (1, 0), groups=3, bias=False)
        self.bn2 = nn.BatchNorm2d(18)
        self.dw = nn.Conv2d(18, 18, 5, 1, 2, groups=18, bias=False)
        self.se = smlf.SE(18)
        self.c3 = nn.Conv2d(C, 18, 7, 2, 3, bias=True)
        self.fc = nn.Linear(6 * 7 * 36, 10)
        self.p1 = nn.Conv2d(36, 4, 1)

    def forward(self, x):
        a = F.leaky_relu(self.bn1(self.c1(x)), 0.1)            # 6x7x12
        b = self.bn2(self.c2(a))                               # 6x7x18
        d = torch.relu(self.dw(b))
        s = self.se(d) + b                                     # SE + residual
        e = self.c3(x)                                         # 6x7x18
        cat = torch.cat([s, e], 1)                             # 6x7x36
        fc = self.fc(torch.flatten(cat, 1))                    # NCHW flatten order
        sm = torch.softmax(self.p1(cat), 1)
        pool = F.max_pool2d(cat, 3, 2, 1)                      # 3x4x36
        up = F.interpolate(pool, scale_factor=2, mode="nearest")  # 6x8
        up2 = torch.sigmoid(F.interpolate(e, size=(H, W), mode="nearest"))
        gap = cat.mean((2, 3), keepdim=True)
        return dict(fc=fc, softmax=sm, up=up, up2=up2, gap=gap)


def build(m):
    w = acnn.AcnnWriter(W, H, C)
    a = w.conv(0, m.c1, m.bn1, act="leaky", alpha=0.1)
    b = w.conv(a, m.c2, m.bn2)
    d = w.conv(b, m.dw, act="relu")
    s = w.add(w.se(d, m.se), b)
    e = w.conv(0, m.c3)
    cat = w.concat(s, e)
    fc = w.fc(cat, m.fc)
    sm = w.softmax(w.conv(cat, m.p1))
    pool = w.maxpool(cat, 3, 2, 1)
    up = w.upsample(pool, factor=2)
    up2 = w.act(w.upsample(e, like=0), "sigmoid")
    gap = w.gap(cat)
    for t, name in [(fc, "fc"), (sm, "softmax"), (up, "up"), (up2, "up2"), (gap, "gap")]:
        w.output(t, name)
    w.meta("purpose", "writer/runtime golden test (train/export_ops_golden.py)")
    return w


def main():
    torch.manual_seed(7)
    torch.set_num_threads(1)
    m = Ops()
    with torch.no_grad():
        for bn in (m.bn1, m.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    m.eval()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = os.path.join(root, "tests", "golden", "ops")
    w = build(m)
    data = w.save(out + ".acnn")
    crc = struct.unpack_from("<I", data, 24)[0]
    rng = np.random.default_rng(3)
    cases = [rng.uniform(-2, 2, (H, W, C)).astype(np.float32) for _ in range(3)]
    with torch.no_grad(), open(out + ".bin", "wb") as f:
        outs = []
        for c in cases:
            r = m(torch.from_numpy(c).permute(2, 0, 1)[None])
            # NCHW -> NHWC, outputs concatenated in OUTS order
            outs.append(np.concatenate([r[k][0].permute(1, 2, 0).reshape(-1).numpy() if r[k].dim() == 4
                                        else r[k][0].numpy() for k in ("fc", "softmax", "up", "up2", "gap")]))
        f.write(b"ACGOLD1\0" + struct.pack("<IIIIII", crc, len(cases), H, W, C, outs[0].size))
        for c, o in zip(cases, outs):
            f.write(c.astype("<f4").tobytes())
            f.write(o.astype("<f4").tobytes())
    print(f"{out}.acnn: {len(data)} bytes, {len(w.ops)} ops; {out}.bin: {len(cases)} cases x {outs[0].size} values")


if __name__ == "__main__":
    main()
